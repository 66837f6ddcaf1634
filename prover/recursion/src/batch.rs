//! p3-batch-stark 0.9.0-rc.2's `verify_batch` as recursion-program code, for proofs in the
//! segment prover's configuration: the transcript from its seed to `zeta`, every table's
//! constraint check (AIR and LogUp, [`crate::constraints`]), the LogUp terminals' sum, and the
//! opened values against the commitments ([`crate::pcs`]).
//!
//! The native verifier, on a fresh challenger:
//!
//! 1. observes the seed of its `BatchShape`'s domain separator;
//! 2. per table, its degree bits as an extension element (`[bits, 0, 0, 0]`);
//! 3. the main commitment's cap, digest by digest, then every table's public values;
//! 4. the preprocessed commitment, when the batch has one;
//! 5. when a table has lookups: checks the lookup proof of work (at zero difficulty the witness
//!    must be zero and nothing is observed), samples the LogUp pair `(alpha, beta)`, observes
//!    the permutation commitment and each table's terminal in table order;
//! 6. samples the folding `alpha`, observes the quotient commitment, checks the out-of-domain
//!    proof of work and samples `zeta`.
//!
//! A table's LogUp challenges are `[alpha + (bus + 1) * beta^W, beta]` per lookup, `W` the
//! widest tuple of the batch. The PCS then opens, continuing the challenger, the rounds of
//! `commitments_with_opening_points`: main, quotient, preprocessed and permutation, each
//! table's rows at `zeta` and, where its constraints read the next row, at `g * zeta` (`g`
//! its trace domain's generator).
//!
//! What the program fixes ([`BatchCheck`]): the seed, the degree bits, the tables'
//! constraints, the preprocessed commitment (the batch's verifying key), the parameters and the
//! proof-of-work difficulties. What the proof supplies ([`BatchProofCells`]): everything else,
//! as witnesses.

use gnomon_machine::config::{EF, F, Inner, InnerConfig, StarkParameters};
use gnomon_machine::verification::opening::{
    BatchOpenings, OpeningError, OpeningWitness, Source, check_preprocessed_heights,
};
use gnomon_machine::verification::{MachineShape, Recorder, batch_shape, preprocessed_widths};
use p3_air::{Air, BaseAir};
use p3_batch_stark::CommonData;
use p3_batch_stark::proof::BatchProof;
use p3_field::{PrimeCharacteristicRing, TwoAdicField};
use p3_lookup::InteractionSymbolicBuilder;
use p3_symmetric::MerkleCap;

use crate::challenger::Challenger;
use crate::constraints::{self, Openings};
use crate::merkle::Digest;
use crate::pcs::{self, CommitmentClaims, OpeningCells, PointClaim};
use crate::program::{Builder, Ext, Felt};

/// What a batch proof's check fixes when the program is built.
#[derive(Clone, Debug)]
pub struct BatchCheck {
    shape: MachineShape,
    seed: Vec<F>,
    degree_bits: Vec<usize>,
    public_value_counts: Vec<usize>,
    preprocessed_cap: Option<Vec<[F; 8]>>,
    /// Whether the preprocessed commitment is a witness rather than `preprocessed_cap`.
    witnessed_preprocessed: bool,
    lookup_pow_bits: usize,
    ood_pow_bits: usize,
    /// Digests per commitment: `2^cap_height`.
    cap_len: usize,
    parameters: StarkParameters,
    openings: BatchOpenings,
}

/// Why a proof cannot be a witness of a [`BatchCheck`]: natively, an invalid proof shape.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the proof's {0} does not have the batch's shape")]
pub struct ShapeError(pub(crate) &'static str);

impl BatchCheck {
    /// The check of batch proofs of `airs` (named `names`) with the batch's `common` data,
    /// made with `parameters` at degree bits `degree_bits`; an error for heights no proof can
    /// have (a preprocessed table at another height).
    pub fn new<A>(
        names: &[String],
        airs: &[A],
        common: &CommonData<InnerConfig>,
        parameters: &StarkParameters,
        degree_bits: &[usize],
    ) -> Result<Self, ShapeError>
    where
        A: Air<InteractionSymbolicBuilder<F, EF>>,
    {
        check_preprocessed_heights(names, common, degree_bits)
            .map_err(|_| ShapeError("preprocessed tables' heights"))?;
        Ok(Self::build(
            names,
            airs,
            common,
            parameters,
            degree_bits,
            false,
        ))
    }

    /// The check of proofs of any program with these tables at these heights: the
    /// preprocessed commitment (the program's verifying key) is a witness
    /// ([`BatchProofCells::preprocessed`]), which the caller must bind, to a key it knows or to
    /// an allow-list. `common` is any such program's (only its preprocessed tables' order and
    /// widths are read). `None` for a batch without preprocessed tables.
    pub fn for_any_program<A>(
        names: &[String],
        airs: &[A],
        common: &CommonData<InnerConfig>,
        parameters: &StarkParameters,
        degree_bits: &[usize],
    ) -> Option<Self>
    where
        A: Air<InteractionSymbolicBuilder<F, EF>>,
    {
        common.preprocessed.as_ref()?;
        Some(Self::build(
            names,
            airs,
            common,
            parameters,
            degree_bits,
            true,
        ))
    }

    fn build<A>(
        names: &[String],
        airs: &[A],
        common: &CommonData<InnerConfig>,
        parameters: &StarkParameters,
        degree_bits: &[usize],
        witnessed_preprocessed: bool,
    ) -> Self
    where
        A: Air<InteractionSymbolicBuilder<F, EF>>,
    {
        let batch = batch_shape(airs, common, parameters);
        let mut seed = Recorder::default();
        batch.domain_separator::<F, EF>().seed(&mut seed);
        let shape = MachineShape::new(
            names,
            airs,
            &common.lookups,
            &preprocessed_widths(common, airs.len()),
            degree_bits,
        );
        let openings = BatchOpenings::new(&shape, common, degree_bits);
        Self {
            shape,
            seed: seed.0,
            degree_bits: degree_bits.to_vec(),
            public_value_counts: batch.public_value_counts,
            preprocessed_cap: common
                .preprocessed
                .as_ref()
                .map(|data| data.commitment.roots().to_vec()),
            witnessed_preprocessed,
            lookup_pow_bits: batch.lookup_pow_bits,
            ood_pow_bits: batch.ood_pow_bits,
            cap_len: 1 << parameters.cap_height,
            parameters: *parameters,
            openings,
        }
    }

    /// The parameters of the proofs this checks.
    pub fn parameters(&self) -> &StarkParameters {
        &self.parameters
    }

    fn has_lookups(&self) -> bool {
        self.shape.has_lookups()
    }
}

/// A batch proof's commitments, proof-of-work witnesses, public values and opened values, as
/// program cells.
#[derive(Clone, Debug)]
pub struct BatchProofCells {
    /// The preprocessed commitment, when the batch has one: constants, or witnesses for a
    /// check made [`BatchCheck::for_any_program`].
    pub preprocessed: Option<Vec<Digest>>,
    pub main: Vec<Digest>,
    /// Present exactly when a table has lookups.
    pub permutation: Option<Vec<Digest>>,
    pub quotient: Vec<Digest>,
    /// Present exactly when a table has lookups.
    pub lookup_pow: Option<Felt>,
    pub ood_pow: Felt,
    /// Per table.
    pub public_values: Vec<Vec<Felt>>,
    /// Per table: its opened values (challenges left empty: the transcript draws them) and
    /// quotient chunks.
    pub tables: Vec<(Openings, Vec<[Ext; 4]>)>,
    pub opening: OpeningCells,
}

impl BatchProofCells {
    /// Witness cells for a proof of `check`'s shape, in the order [`witness`] lays out values.
    pub fn allocate(builder: &mut Builder, check: &BatchCheck) -> Self {
        let cap = |builder: &mut Builder| -> Vec<Digest> {
            (0..check.cap_len)
                .map(|_| std::array::from_fn(|_| builder.witness_felt()))
                .collect()
        };
        let preprocessed = check.preprocessed_cap.as_ref().map(|fixed| {
            if check.witnessed_preprocessed {
                cap(builder)
            } else {
                fixed
                    .iter()
                    .map(|digest| digest.map(|value| builder.constant_felt(value)))
                    .collect()
            }
        });
        let main = cap(builder);
        let permutation = check.has_lookups().then(|| cap(builder));
        let quotient = cap(builder);
        let lookup_pow = check.has_lookups().then(|| builder.witness_felt());
        let ood_pow = builder.witness_felt();
        let public_values = check
            .public_value_counts
            .iter()
            .map(|&count| (0..count).map(|_| builder.witness_felt()).collect())
            .collect();
        let tables = check
            .shape
            .tables()
            .iter()
            .map(|table| {
                let mut row = |width: usize| -> Vec<Ext> {
                    (0..width).map(|_| builder.witness_ext()).collect()
                };
                let main_local = row(table.main_width());
                let main_next = row(if table.main_next() {
                    table.main_width()
                } else {
                    0
                });
                let preprocessed_local = row(table.preprocessed_width());
                let preprocessed_next = row(if table.preprocessed_next() {
                    table.preprocessed_width()
                } else {
                    0
                });
                let permutation_local = row(table.permutation_width());
                let permutation_next = row(table.permutation_width());
                let chunks = (0..table.num_quotient_chunks())
                    .map(|_| std::array::from_fn(|_| builder.witness_ext()))
                    .collect();
                let terminal = (table.num_lookups() > 0).then(|| builder.witness_ext());
                let openings = Openings {
                    main_local,
                    main_next,
                    preprocessed_local,
                    preprocessed_next,
                    permutation_local,
                    permutation_next,
                    public_values: Vec::new(),
                    challenges: Vec::new(),
                    terminal,
                };
                (openings, chunks)
            })
            .collect();
        let opening = OpeningCells::allocate(builder, &check.parameters, &check.openings.shape);
        Self {
            preprocessed,
            main,
            permutation,
            quotient,
            lookup_pow,
            ood_pow,
            public_values,
            tables,
            opening,
        }
    }
}

/// The witness values of `proof` (a proof of the program whose batch data is `common`, with
/// its tables' `public_values` and its opening proof laid out as `opening`, from
/// `OpeningWitness::of_batch`) for the cells of [`BatchProofCells::allocate`], in their order;
/// a proof of another shape is an error.
pub fn witness(
    check: &BatchCheck,
    common: &CommonData<InnerConfig>,
    proof: &BatchProof<InnerConfig>,
    public_values: &[Vec<F>],
    opening: &OpeningWitness<[F; 8]>,
) -> Result<Vec<EF>, ShapeError> {
    let mut values = Vec::new();
    let push_cap = |values: &mut Vec<EF>, cap: &MerkleCap<F, [F; 8]>, what| {
        if cap.roots().len() != check.cap_len {
            return Err(ShapeError(what));
        }
        values.extend(cap.roots().iter().flatten().map(|&v| EF::from(v)));
        Ok(())
    };
    if proof.degree_bits != check.degree_bits {
        return Err(ShapeError("degree bits"));
    }
    if check.witnessed_preprocessed {
        let cap = common
            .preprocessed
            .as_ref()
            .map(|data| &data.commitment)
            .ok_or(ShapeError("preprocessed commitment"))?;
        push_cap(&mut values, cap, "preprocessed commitment")?;
    }
    let commitments = &proof.commitments;
    push_cap(&mut values, &commitments.main, "main commitment")?;
    match (&commitments.permutation, check.has_lookups()) {
        (Some(cap), true) => push_cap(&mut values, cap, "permutation commitment")?,
        (None, false) => {}
        _ => return Err(ShapeError("permutation commitment")),
    }
    push_cap(
        &mut values,
        &commitments.quotient_chunks,
        "quotient commitment",
    )?;
    if commitments.random.is_some() {
        return Err(ShapeError("randomization commitment"));
    }
    match (proof.lookup_pow_witness, check.has_lookups()) {
        (Some(witness), true) => values.push(EF::from(witness)),
        (None, false) => {}
        _ => return Err(ShapeError("lookup proof of work")),
    }
    values.push(EF::from(proof.ood_pow_witness));
    if public_values.len() != check.public_value_counts.len()
        || public_values
            .iter()
            .zip(&check.public_value_counts)
            .any(|(values, &count)| values.len() != count)
    {
        return Err(ShapeError("public values"));
    }
    values.extend(public_values.iter().flatten().map(|&v| EF::from(v)));
    let instances = &proof.opened_values.instances;
    let tables = check.shape.tables();
    if instances.len() != tables.len() || proof.lookup_terminals.len() != tables.len() {
        return Err(ShapeError("tables"));
    }
    for ((table, opened), terminal) in tables.iter().zip(instances).zip(&proof.lookup_terminals) {
        let base = &opened.base_opened_values;
        let mut row = |row: Option<&[EF]>, width: usize, what| match row {
            Some(row) if row.len() == width => {
                values.extend_from_slice(row);
                Ok(())
            }
            None if width == 0 => Ok(()),
            _ => Err(ShapeError(what)),
        };
        row(Some(&base.trace_local), table.main_width(), "main row")?;
        let main_next = if table.main_next() {
            table.main_width()
        } else {
            0
        };
        row(base.trace_next.as_deref(), main_next, "next main row")?;
        row(
            base.preprocessed_local(),
            table.preprocessed_width(),
            "preprocessed row",
        )?;
        let preprocessed_next = if table.preprocessed_next() {
            table.preprocessed_width()
        } else {
            0
        };
        row(
            base.preprocessed_next(),
            preprocessed_next,
            "next preprocessed row",
        )?;
        let permutation = table.permutation_width();
        row(
            nonempty(&opened.permutation_local),
            permutation,
            "permutation row",
        )?;
        row(
            nonempty(&opened.permutation_next),
            permutation,
            "next permutation row",
        )?;
        if base.quotient_chunks.len() != table.num_quotient_chunks() {
            return Err(ShapeError("quotient chunks"));
        }
        for chunk in &base.quotient_chunks {
            row(Some(chunk), 4, "quotient chunk")?;
        }
        match (terminal, table.num_lookups() > 0) {
            (Some(terminal), true) => values.push(terminal.0),
            (None, false) => {}
            _ => return Err(ShapeError("LogUp terminal")),
        }
    }
    values.extend(pcs::witness(
        &check.parameters,
        &check.openings.shape,
        opening,
    )?);
    Ok(values)
}

/// Why a proof has no witness.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    #[error(transparent)]
    Shape(#[from] ShapeError),
    #[error(transparent)]
    Opening(#[from] OpeningError),
}

/// The witness of `proof`, a batch proof of `airs` with the batch's `common` data and its
/// tables' `public_values`, for [`BatchProofCells::allocate`]'s cells: its cells' values with
/// its opening proof laid out (`OpeningWitness::of_batch`).
pub fn proof_witness<A: BaseAir<F>>(
    check: &BatchCheck,
    airs: &[A],
    common: &CommonData<InnerConfig>,
    proof: &BatchProof<InnerConfig>,
    public_values: &[Vec<F>],
) -> Result<Vec<EF>, WitnessError> {
    let opening = OpeningWitness::of_batch::<Inner, A>(
        airs,
        common,
        &check.parameters,
        proof,
        public_values,
    )?;
    Ok(witness(check, common, proof, public_values, &opening)?)
}

/// A row that is not opened is empty.
fn nonempty(values: &[EF]) -> Option<&[EF]> {
    (!values.is_empty()).then_some(values)
}

/// The challenges the transcript draws to `zeta`.
#[derive(Clone, Copy, Debug)]
pub struct Challenges {
    pub lookup: Option<(Ext, Ext)>,
    pub alpha: Ext,
    pub zeta: Ext,
}

/// Verifies the batch proof `proof` (see the module documentation): the transcript to `zeta`,
/// every table's constraints, the terminals' sum and the opening proof. Returns the
/// challenges to `zeta`.
pub fn verify(builder: &mut Builder, check: &BatchCheck, proof: &BatchProofCells) -> Challenges {
    let (challenges, mut challenger) = replay_transcript(builder, check, proof);
    let laid_out = lookup_challenges(builder, check, challenges.lookup);
    for (index, table) in check.shape.tables().iter().enumerate() {
        let (openings, chunks) = &proof.tables[index];
        let openings = Openings {
            public_values: proof.public_values[index].clone(),
            challenges: laid_out[index].clone(),
            ..openings.clone()
        };
        constraints::check(
            builder,
            table,
            &openings,
            challenges.zeta,
            challenges.alpha,
            chunks,
        );
    }
    let mut sum = builder.constant_ext(EF::ZERO);
    for (openings, _) in &proof.tables {
        if let Some(terminal) = openings.terminal {
            sum = builder.add(sum, terminal);
        }
    }
    builder.assert_zero(sum);
    let claims = claims(builder, check, proof, challenges.zeta);
    pcs::verify(
        builder,
        &check.parameters,
        &check.openings.shape,
        &mut challenger,
        &claims,
        &proof.opening,
    );
    challenges
}

/// The PCS claims over the proof's cells: its caps, its
/// opened values, at `zeta` and `g_i * zeta` for table `i`'s next row.
fn claims(
    builder: &mut Builder,
    check: &BatchCheck,
    proof: &BatchProofCells,
    zeta: Ext,
) -> Vec<CommitmentClaims> {
    // One point per height, so that the PCS divides once per point and height.
    let mut next_points = std::collections::BTreeMap::new();
    for &bits in &check.degree_bits {
        if let std::collections::btree_map::Entry::Vacant(entry) = next_points.entry(bits) {
            let generator = builder.constant_ext(EF::from(F::two_adic_generator(bits)));
            entry.insert(builder.mul(zeta, generator));
        }
    }
    let at = |point: Ext, values: &[Ext]| PointClaim {
        point,
        values: values.to_vec(),
    };
    let local_and_next = |i: usize, local: &[Ext], next: &[Ext], opens_next: bool| {
        let mut points = vec![at(zeta, local)];
        if opens_next {
            points.push(at(next_points[&check.degree_bits[i]], next));
        }
        points
    };
    let tables = check.shape.tables();
    check
        .openings
        .sources
        .iter()
        .map(|round| {
            let cap = match round.first() {
                Some(Source::Main(_)) | None => proof.main.clone(),
                Some(Source::Quotient(..)) => proof.quotient.clone(),
                Some(Source::Preprocessed(_)) => proof
                    .preprocessed
                    .clone()
                    .expect("a preprocessed round only with a preprocessed commitment"),
                Some(Source::Permutation(_)) => proof
                    .permutation
                    .clone()
                    .expect("a permutation round only with lookups"),
            };
            let matrices = round
                .iter()
                .map(|&source| match source {
                    Source::Main(i) => {
                        let opened = &proof.tables[i].0;
                        let (local, next) = (&opened.main_local, &opened.main_next);
                        local_and_next(i, local, next, tables[i].main_next())
                    }
                    Source::Quotient(i, chunk) => vec![at(zeta, &proof.tables[i].1[chunk])],
                    Source::Preprocessed(i) => {
                        let opened = &proof.tables[i].0;
                        let (local, next) = (&opened.preprocessed_local, &opened.preprocessed_next);
                        local_and_next(i, local, next, tables[i].preprocessed_next())
                    }
                    Source::Permutation(i) => {
                        let opened = &proof.tables[i].0;
                        let (local, next) = (&opened.permutation_local, &opened.permutation_next);
                        local_and_next(i, local, next, true)
                    }
                })
                .collect();
            CommitmentClaims { cap, matrices }
        })
        .collect()
}

/// Steps 1 to 6 of the module documentation: the challenges to `zeta`, and the challenger.
fn replay_transcript(
    builder: &mut Builder,
    check: &BatchCheck,
    proof: &BatchProofCells,
) -> (Challenges, Challenger) {
    let mut challenger = Challenger::new(builder);
    for &value in &check.seed {
        let value = builder.constant_felt(value);
        challenger.observe(builder, value);
    }
    let zero = builder.constant_felt(F::ZERO);
    for &bits in &check.degree_bits {
        let bits = builder.constant_felt(F::from_usize(bits));
        challenger.observe_all(builder, &[bits, zero, zero, zero]);
    }
    observe_cap(builder, &mut challenger, &proof.main);
    for values in &proof.public_values {
        challenger.observe_all(builder, values);
    }
    if let Some(cap) = &proof.preprocessed {
        observe_cap(builder, &mut challenger, cap);
    }
    let lookup = check.has_lookups().then(|| {
        let witness = proof.lookup_pow.expect("allocated for this shape");
        challenger.check_witness(builder, check.lookup_pow_bits, witness);
        let alpha = challenger.sample_ext(builder);
        let beta = challenger.sample_ext(builder);
        let cap = proof
            .permutation
            .as_ref()
            .expect("allocated for this shape");
        observe_cap(builder, &mut challenger, cap);
        (alpha, beta)
    });
    for (openings, _) in &proof.tables {
        if let Some(terminal) = openings.terminal {
            challenger.observe_ext(builder, terminal);
        }
    }
    let alpha = challenger.sample_ext(builder);
    observe_cap(builder, &mut challenger, &proof.quotient);
    challenger.check_witness(builder, check.ood_pow_bits, proof.ood_pow);
    let zeta = challenger.sample_ext(builder);
    (
        Challenges {
            lookup,
            alpha,
            zeta,
        },
        challenger,
    )
}

fn observe_cap(builder: &mut Builder, challenger: &mut Challenger, cap: &[Digest]) {
    for digest in cap {
        challenger.observe_all(builder, digest);
    }
}

/// Each table's LogUp challenges, `[alpha + (bus + 1) * beta^W, beta]` per lookup.
fn lookup_challenges(
    builder: &mut Builder,
    check: &BatchCheck,
    pair: Option<(Ext, Ext)>,
) -> Vec<Vec<Ext>> {
    let Some((alpha, beta)) = pair else {
        return vec![Vec::new(); check.shape.tables().len()];
    };
    let mut gamma = builder.constant_ext(EF::ONE);
    for _ in 0..check.shape.max_message_width() {
        gamma = builder.mul(gamma, beta);
    }
    check
        .shape
        .bus_ids()
        .iter()
        .map(|buses| {
            buses
                .iter()
                .flat_map(|&bus| {
                    let offset = builder.constant_ext(EF::from(F::from_usize(bus + 1)));
                    let scaled = builder.mul(gamma, offset);
                    [builder.add(alpha, scaled), beta]
                })
                .collect()
        })
        .collect()
}
