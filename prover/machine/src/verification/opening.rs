//! What verifying an opening proof of the configurations' PCS reads, as data, and the native
//! preparation of a proof for the verifier circuits: p3-fri 0.9.0-rc.2's `TwoAdicFriPcs` with
//! binary folding (`StarkParameters::fri`, `max_log_arity = 1`) over `MerkleTreeMmcs` with caps
//! and its `ExtensionMmcs`, for either [`Hashing`].
//!
//! - [`OpeningShape`]: the matrices of every commitment round (heights, widths, point counts),
//!   and for a batch proof ([`BatchOpenings`]) where each matrix's claimed values come from,
//!   in `commitments_with_opening_points`' round order: main, quotient, preprocessed,
//!   permutation.
//! - [`OpeningLayout`]: what the shape and the parameters fix: the domain separators' seeds
//!   of the PCS and FRI transcripts, the commit rounds, the final height.
//! - [`OpeningWitness`]: a proof as the circuits take it. The proof carries pruned Merkle
//!   multi-openings (`PrunedMerklePaths`); the circuits check one full authentication path per
//!   query, which [`OpeningWitness::new`] restores with p3's own
//!   `restore_and_recompute_paths`. The two accept the same openings: the pruned proof is
//!   valid exactly when the restored paths reach the cap.
//! - [`NativeTranscript`]: `verify_batch`'s transcript of a batch proof replayed to `zeta`,
//!   where the PCS verifier takes the challenger over.

use p3_air::BaseAir;
use p3_baby_bear::BabyBear;
use p3_batch_stark::{BatchProof, BatchVerifierTranscript, CommonData};
use p3_challenger::{CanObserve, CanSampleBits, FieldChallenger, GrindingChallenger};
use p3_commit::{CommitmentOpening, ExtensionMmcs, Mmcs};
use p3_field::coset::TwoAdicMultiplicativeCoset;
use p3_field::{BasedVectorSpace, TwoAdicField};
use p3_fri::{FriShape, PcsShape, TwoAdicFriFolding, fold_schedule};
use p3_lookup::LogUpGadget;
use p3_matrix::Dimensions;

use super::{MachineShape, Recorder, batch_shape, preprocessed_widths};
use crate::config::{Config, EF as Ext, Hashing, Pcs, StarkParameters, stark_config};

/// One committed matrix as the verifier knows it: `2^log_degree` rows of trace domain (the
/// committed LDE has `2^(log_degree + log_blowup)`), its width, and how many points it opens at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatrixShape {
    pub log_degree: usize,
    pub width: usize,
    pub num_points: usize,
}

/// The matrices of every commitment round, in commitment order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpeningShape {
    pub rounds: Vec<Vec<MatrixShape>>,
}

/// A native claim, as `Pcs::verify` takes it.
pub type Claim<H> = CommitmentOpening<
    Ext,
    <<H as Hashing>::Mmcs as Mmcs<BabyBear>>::Commitment,
    TwoAdicMultiplicativeCoset<BabyBear>,
>;

/// A native opening proof.
pub type PcsProof<H> = <Pcs<H> as p3_commit::Pcs<Ext, <H as Hashing>::Challenger>>::Proof;

impl OpeningShape {
    /// The shape of native claims.
    pub fn of_claims<H: Hashing>(claims: &[Claim<H>]) -> Self {
        Self {
            rounds: claims
                .iter()
                .map(|claim| {
                    claim
                        .matrices
                        .iter()
                        .map(|matrix| MatrixShape {
                            log_degree: matrix.domain.log_size(),
                            width: matrix.points.first().map_or(0, |p| p.values.len()),
                            num_points: matrix.points.len(),
                        })
                        .collect()
                })
                .collect(),
        }
    }
}

/// Where a batch proof's PCS matrix takes its claimed values from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The table's main trace, at `zeta` (and `g * zeta` if its constraints read the next row).
    Main(usize),
    /// Table, chunk: a quotient chunk at `zeta`.
    Quotient(usize, usize),
    /// The table's preprocessed trace, as the main one.
    Preprocessed(usize),
    /// The table's LogUp columns, at `zeta` and `g * zeta`.
    Permutation(usize),
}

/// A table that the batch preprocesses at one height is proven at another: no proof of these
/// heights verifies.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("table {0} is preprocessed at another height")]
pub struct PreprocessedHeight(pub String);

/// Whether the tables `common` preprocesses are committed at `degree_bits`, as every proof of
/// that batch has them; `names` name the tables.
pub fn check_preprocessed_heights<SC: p3_uni_stark::StarkGenericConfig>(
    names: &[String],
    common: &CommonData<SC>,
    degree_bits: &[usize],
) -> Result<(), PreprocessedHeight> {
    let Some(global) = &common.preprocessed else {
        return Ok(());
    };
    for &i in &global.matrix_to_instance {
        let committed = global.instances[i].as_ref().map(|meta| meta.degree_bits);
        if committed != Some(degree_bits[i]) {
            return Err(PreprocessedHeight(names[i].clone()));
        }
    }
    Ok(())
}

/// The PCS claims of a batch proof, by round and matrix.
#[derive(Clone, Debug)]
pub struct BatchOpenings {
    pub shape: OpeningShape,
    pub sources: Vec<Vec<Source>>,
}

impl BatchOpenings {
    /// The LogUp terminals of `proof`'s tables that have lookups, in table order.
    pub fn terminal_values<H: Hashing>(proof: &BatchProof<Config<H>>) -> Vec<Ext> {
        proof
            .lookup_terminals
            .iter()
            .flatten()
            .map(|t| t.0)
            .collect()
    }

    /// The claims `verify_batch` hands its PCS for proofs of `machine`'s tables at
    /// `degree_bits`, with the batch's `common` data (of which only the preprocessed tables'
    /// order is read: the claims are those of any program with these tables).
    pub fn new<SC: p3_uni_stark::StarkGenericConfig>(
        machine: &MachineShape,
        common: &CommonData<SC>,
        degree_bits: &[usize],
    ) -> Self {
        let tables = machine.tables();
        let points = |next: bool| 1 + usize::from(next);
        let matrix = |i: usize, width: usize, num_points: usize| MatrixShape {
            log_degree: degree_bits[i],
            width,
            num_points,
        };
        let mut rounds: Vec<Vec<(Source, MatrixShape)>> = vec![
            tables
                .iter()
                .enumerate()
                .map(|(i, table)| {
                    let shape = matrix(i, table.main_width(), points(table.main_next()));
                    (Source::Main(i), shape)
                })
                .collect(),
            tables
                .iter()
                .enumerate()
                .flat_map(|(i, table)| {
                    (0..table.num_quotient_chunks())
                        .map(move |chunk| (Source::Quotient(i, chunk), matrix(i, super::DEGREE, 1)))
                })
                .collect(),
        ];
        if let Some(global) = &common.preprocessed {
            let mut round = Vec::new();
            for &i in &global.matrix_to_instance {
                let shape = matrix(
                    i,
                    tables[i].preprocessed_width(),
                    points(tables[i].preprocessed_next()),
                );
                round.push((Source::Preprocessed(i), shape));
            }
            rounds.push(round);
        }
        if machine.has_lookups() {
            rounds.push(
                tables
                    .iter()
                    .enumerate()
                    .filter(|(_, table)| table.permutation_width() > 0)
                    .map(|(i, table)| {
                        let shape = matrix(i, table.permutation_width(), 2);
                        (Source::Permutation(i), shape)
                    })
                    .collect(),
            );
        }
        Self {
            shape: OpeningShape {
                rounds: rounds
                    .iter()
                    .map(|round| round.iter().map(|(_, shape)| *shape).collect())
                    .collect(),
            },
            sources: rounds
                .into_iter()
                .map(|round| round.into_iter().map(|(source, _)| source).collect())
                .collect(),
        }
    }
}

/// What an opening shape and the parameters fix.
#[derive(Clone, Debug)]
pub struct OpeningLayout {
    pub log_blowup: usize,
    pub cap_height: usize,
    pub num_queries: usize,
    pub batch_pow_bits: usize,
    pub commit_pow_bits: usize,
    pub query_pow_bits: usize,
    pub final_poly_len: usize,
    /// `L`: the tallest committed height.
    pub log_max_height: usize,
    pub log_final_height: usize,
    /// Commit-phase rounds: one per halving from `L` to the final height.
    pub num_rounds: usize,
    /// The committed heights, tallest first, without repetition.
    pub heights: Vec<usize>,
    /// What the PCS transcript's domain separator observes.
    pub pcs_seed: Vec<BabyBear>,
    /// What the FRI transcript's domain separator observes.
    pub fri_seed: Vec<BabyBear>,
}

impl OpeningLayout {
    /// # Panics
    ///
    /// On a shape no proof can have: no matrix, a matrix without points, a height beyond the
    /// two-adicity or below the final height, a final height below the cap.
    pub fn new(parameters: &StarkParameters, shape: &OpeningShape) -> Self {
        let fri = parameters.fri(());
        assert_eq!(fri.max_log_arity, 1, "arity-2 folding only");
        assert!(fri.num_queries > 0 && fri.log_blowup > 0);
        let mut heights: Vec<usize> = shape
            .rounds
            .iter()
            .flatten()
            .map(|matrix| matrix.log_degree + fri.log_blowup)
            .collect();
        assert!(!heights.is_empty(), "at least one matrix");
        assert!(
            shape.rounds.iter().flatten().all(|m| m.num_points > 0),
            "every matrix opens at a point"
        );
        heights.sort_unstable_by(|a, b| b.cmp(a));
        heights.dedup();
        let log_max_height = heights[0];
        assert!(
            log_max_height <= BabyBear::TWO_ADICITY,
            "the two-adicity bounds heights"
        );
        let log_final_height = fri.log_blowup + fri.log_final_poly_len;
        // Natively, a height below the final one is never consumed and every proof fails.
        assert!(
            heights.iter().all(|&h| h >= log_final_height),
            "every matrix reaches the final height"
        );
        let arities = fold_schedule(&heights, log_final_height, fri.max_log_arity);
        assert!(arities.iter().all(|&arity| arity == 1));
        let num_rounds = arities.len();
        assert_eq!(num_rounds, log_max_height - log_final_height);
        assert!(
            log_final_height >= parameters.cap_height,
            "every commit-phase tree reaches its cap"
        );
        let pcs_shape = PcsShape {
            claimed_evaluation_counts: shape
                .rounds
                .iter()
                .map(|round| {
                    round
                        .iter()
                        .map(|matrix| vec![matrix.width; matrix.num_points])
                        .collect()
                })
                .collect(),
            batch_pow_bits: fri.batch_proof_of_work_bits,
        };
        let mut pcs_seed = Recorder::default();
        pcs_shape
            .domain_separator::<BabyBear, Ext>()
            .seed(&mut pcs_seed);
        let fri_shape = FriShape::new(&fri, &heights, log_max_height);
        let mut fri_seed = Recorder::default();
        fri_shape
            .domain_separator::<BabyBear, Ext>()
            .seed(&mut fri_seed);
        Self {
            log_blowup: fri.log_blowup,
            cap_height: parameters.cap_height,
            num_queries: fri.num_queries,
            batch_pow_bits: fri.batch_proof_of_work_bits,
            commit_pow_bits: fri.commit_proof_of_work_bits,
            query_pow_bits: fri.query_proof_of_work_bits,
            final_poly_len: fri.final_poly_len(),
            log_max_height,
            log_final_height,
            num_rounds,
            heights,
            pcs_seed: pcs_seed.0,
            fri_seed: fri_seed.0,
        }
    }

    /// A matrix's committed height: `log_degree + log_blowup`.
    pub fn height(&self, matrix: &MatrixShape) -> usize {
        matrix.log_degree + self.log_blowup
    }

    /// The tallest committed height of one round.
    pub fn round_height(&self, round: &[MatrixShape]) -> usize {
        round
            .iter()
            .map(|matrix| self.height(matrix))
            .max()
            .expect("a commitment holds a matrix")
    }
}

/// One query's openings: per input round the opened rows (per matrix) and the authentication
/// path (from the leaf up to the cap's level); per commit round the sibling of the folded
/// value and the pair's path.
#[derive(Clone, Debug)]
pub struct QueryOpenings<D> {
    pub rows: Vec<Vec<Vec<BabyBear>>>,
    pub input_paths: Vec<Vec<D>>,
    pub fold_siblings: Vec<Ext>,
    pub fold_paths: Vec<Vec<D>>,
}

/// An opening proof as the verifier circuits take it (see the module documentation).
#[derive(Clone, Debug)]
pub struct OpeningWitness<D> {
    pub batch_pow: BabyBear,
    pub commit_caps: Vec<Vec<D>>,
    pub commit_pows: Vec<BabyBear>,
    pub final_poly: Vec<Ext>,
    pub query_pow: BabyBear,
    pub queries: Vec<QueryOpenings<D>>,
}

/// Why an opening proof has no witness: natively, it is rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the opening proof does not verify natively: {0}")]
pub struct OpeningError(&'static str);

fn coefficients(value: &Ext) -> &[BabyBear] {
    value.as_basis_coefficients_slice()
}

impl<D: Clone> OpeningWitness<D> {
    /// The witness of a native opening proof of `claims`, given the challenger as the caller
    /// hands it to `Pcs::verify`: replays the transcript natively to find the query indices,
    /// runs p3's own `open_inputs` and `fold_query` to find each commit-phase row, and restores
    /// per-query authentication paths from the pruned ones. A proof of another shape, or one
    /// p3 rejects, is an error.
    pub fn new<H: Hashing<Digest = D>>(
        parameters: &StarkParameters,
        claims: &[Claim<H>],
        proof: &PcsProof<H>,
        challenger: &H::Challenger,
    ) -> Result<Self, OpeningError> {
        let shape = OpeningShape::of_claims::<H>(claims);
        let layout = OpeningLayout::new(parameters, &shape);
        if proof.commit_phase_commits.len() != layout.num_rounds
            || proof.commit_pow_witnesses.len() != layout.num_rounds
            || proof.commit_phase_openings.len() != layout.num_rounds
            || proof.final_poly.len() != layout.final_poly_len
            || proof.input_openings.len() != claims.len()
        {
            return Err(OpeningError("its shape"));
        }
        let mmcs = H::mmcs(parameters.cap_height);
        let fri = parameters.fri(ExtensionMmcs::<BabyBear, Ext, _>::new(mmcs.clone()));
        let mut ch = challenger.clone();
        ch.observe_slice(&layout.pcs_seed);
        for claim in claims {
            for matrix in &claim.matrices {
                for point in &matrix.points {
                    for value in &point.values {
                        ch.observe_slice(coefficients(value));
                    }
                }
            }
        }
        let grinding = |ch: &mut H::Challenger, bits: usize, witness| {
            if bits > 0 && !ch.check_witness(bits, witness) {
                return Err(OpeningError("a proof of work"));
            }
            Ok(())
        };
        grinding(&mut ch, layout.batch_pow_bits, proof.batch_pow_witness)?;
        let alpha: Ext = ch.sample_algebra_element();
        ch.observe_slice(&layout.fri_seed);
        let mut betas = Vec::new();
        for (cap, &witness) in proof
            .commit_phase_commits
            .iter()
            .zip(&proof.commit_pow_witnesses)
        {
            ch.observe(cap.clone());
            grinding(&mut ch, layout.commit_pow_bits, witness)?;
            betas.push(ch.sample_algebra_element::<Ext>());
        }
        for coefficient in &proof.final_poly {
            ch.observe_slice(coefficients(coefficient));
        }
        grinding(&mut ch, layout.query_pow_bits, proof.query_pow_witness)?;
        let l = layout.log_max_height;
        let indices: Vec<usize> = (0..layout.num_queries).map(|_| ch.sample_bits(l)).collect();

        // Input openings: per round, per query, the restored path.
        let mut input_paths: Vec<Vec<Vec<D>>> = Vec::new();
        for (claim, opening) in claims.iter().zip(&proof.input_openings) {
            if opening.opened_values.len() != layout.num_queries {
                return Err(OpeningError("its number of queries"));
            }
            let dims: Vec<Dimensions> = claim
                .matrices
                .iter()
                .map(|matrix| Dimensions {
                    width: matrix.points[0].values.len(),
                    height: matrix.domain.size() << layout.log_blowup,
                })
                .collect();
            let round_height = dims.iter().map(|d| d.height).max().expect("a matrix");
            let shift = l - round_height.trailing_zeros() as usize;
            let reduced: Vec<usize> = indices.iter().map(|&i| i >> shift).collect();
            let paths = H::restore_paths(
                &mmcs,
                &dims,
                &reduced,
                &opening.opened_values,
                &opening.opening_proof,
            )
            .ok_or(OpeningError("an input opening"))?;
            input_paths.push(paths);
        }
        // The fold chain, natively, for the commit-phase rows.
        let reduced_openings = p3_fri::verifier::open_inputs(
            &fri,
            l,
            &indices,
            &proof.input_openings,
            alpha,
            &mmcs,
            claims,
        )
        .map_err(|_| OpeningError("an input opening"))?;
        let log_arities = vec![1; layout.num_rounds];
        let mut group_indices = vec![Vec::new(); layout.num_rounds];
        let mut rows_by_round: Vec<Vec<Vec<Vec<Ext>>>> = vec![Vec::new(); layout.num_rounds];
        let folding = TwoAdicFriFolding::<(), ()>(std::marker::PhantomData);
        for (query, (&index, ro)) in indices.iter().zip(reduced_openings).enumerate() {
            let mut domain_index = index;
            // The final polynomial's check is the circuits' to make; the rows are what is needed.
            let _folded =
                p3_fri::verifier::fold_query::<_, BabyBear, Ext, ExtensionMmcs<BabyBear, Ext, _>>(
                    &folding,
                    query,
                    &mut domain_index,
                    &betas,
                    &log_arities,
                    &proof.commit_phase_openings,
                    ro,
                    l,
                    layout.log_final_height,
                    &mut group_indices,
                    &mut rows_by_round,
                )
                .map_err(|_| OpeningError("a commit-phase opening"))?;
        }
        let mut fold_paths: Vec<Vec<Vec<D>>> = Vec::new();
        for (round, opening) in proof.commit_phase_openings.iter().enumerate() {
            if opening.sibling_values.len() != layout.num_queries
                || opening
                    .sibling_values
                    .iter()
                    .any(|values| values.len() != 1)
            {
                return Err(OpeningError("a commit-phase opening"));
            }
            let dims = [Dimensions {
                width: 2 * super::DEGREE,
                height: 1 << (l - round - 1),
            }];
            let rows: Vec<Vec<Vec<BabyBear>>> = rows_by_round[round]
                .iter()
                .map(|rows| {
                    rows.iter()
                        .map(|row| row.iter().flat_map(|e| coefficients(e).to_vec()).collect())
                        .collect()
                })
                .collect();
            let paths = H::restore_paths(
                &mmcs,
                &dims,
                &group_indices[round],
                &rows,
                &opening.opening_proof,
            )
            .ok_or(OpeningError("a commit-phase opening"))?;
            fold_paths.push(paths);
        }
        let queries = (0..layout.num_queries)
            .map(|q| QueryOpenings {
                rows: proof
                    .input_openings
                    .iter()
                    .map(|opening| opening.opened_values[q].clone())
                    .collect(),
                input_paths: input_paths.iter().map(|paths| paths[q].clone()).collect(),
                fold_siblings: proof
                    .commit_phase_openings
                    .iter()
                    .map(|opening| opening.sibling_values[q][0])
                    .collect(),
                fold_paths: fold_paths.iter().map(|paths| paths[q].clone()).collect(),
            })
            .collect();
        Ok(Self {
            batch_pow: proof.batch_pow_witness,
            commit_caps: proof
                .commit_phase_commits
                .iter()
                .map(|cap| H::cap_digests(cap))
                .collect(),
            commit_pows: proof.commit_pow_witnesses.clone(),
            final_poly: proof.final_poly.clone(),
            query_pow: proof.query_pow_witness,
            queries,
        })
    }

    /// The witness of a batch proof's opening proof: the transcript replayed natively to
    /// `zeta`, the claims `verify_batch` makes, and [`OpeningWitness::new`]. `proof` is of
    /// `airs` with the batch's `common` data, made with `parameters`, its tables' public values
    /// `public_values`.
    pub fn of_batch<H: Hashing<Digest = D>, A: BaseAir<BabyBear>>(
        airs: &[A],
        common: &CommonData<Config<H>>,
        parameters: &StarkParameters,
        proof: &BatchProof<Config<H>>,
        public_values: &[Vec<BabyBear>],
    ) -> Result<Self, OpeningError> {
        let native = replay_native::<H, A>(airs, common, parameters, proof, public_values)
            .ok_or(OpeningError("a proof of work"))?;
        let claims = native_claims::<H, A>(airs, common, parameters, proof, native.zeta)
            .ok_or(OpeningError("its shape"))?;
        Self::new::<H>(
            parameters,
            &claims,
            &proof.opening_proof,
            &native.challenger,
        )
    }
}

/// `verify_batch`'s transcript of a batch proof, replayed natively to `zeta`.
pub struct NativeTranscript<H: Hashing> {
    /// Per table, its LogUp challenges as the transcript lays them out.
    pub laid_out: Vec<Vec<Ext>>,
    pub alpha: Ext,
    pub zeta: Ext,
    /// Where the PCS verifier takes over.
    pub challenger: H::Challenger,
}

impl<H: Hashing> std::fmt::Debug for NativeTranscript<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeTranscript")
            .field("laid_out", &self.laid_out)
            .field("alpha", &self.alpha)
            .field("zeta", &self.zeta)
            .finish_non_exhaustive()
    }
}

/// Replays `verify_batch`'s transcript of `proof`, a batch proof of `airs` with the batch's
/// `common` data, proven with `parameters`, with its tables' `public_values`, from
/// `H::challenger()` to `zeta`; `None` when a grinding witness fails its check (natively a
/// rejection).
pub fn replay_native<H: Hashing, A: BaseAir<BabyBear>>(
    airs: &[A],
    common: &CommonData<Config<H>>,
    parameters: &StarkParameters,
    proof: &BatchProof<Config<H>>,
    public_values: &[Vec<BabyBear>],
) -> Option<NativeTranscript<H>> {
    let shape = batch_shape(airs, common, parameters);
    let terminals = terminal_values::<H>(proof);
    let mut challenger = H::challenger();
    let mut transcript =
        BatchVerifierTranscript::<_, BabyBear, Ext, _>::new(&mut challenger, shape);
    transcript.instance_bindings(&proof.degree_bits);
    transcript.main_phase(proof.commitments.main.clone(), public_values);
    transcript.preprocessed_phase(common.preprocessed.as_ref().map(|g| g.commitment.clone()));
    let laid_out = transcript
        .lookup_phase(
            &common.lookups,
            &LogUpGadget::new(),
            proof.lookup_pow_witness,
        )
        .ok()?;
    let alpha = transcript.permutation_phase(proof.commitments.permutation.clone(), &terminals);
    transcript.quotient_phase(
        proof.commitments.quotient_chunks.clone(),
        proof.commitments.random.clone(),
    );
    let zeta = transcript.ood_phase(proof.ood_pow_witness).ok()?;
    // The PCS verifier continues on the challenger, outside this replay's description.
    transcript.abort();
    Some(NativeTranscript {
        laid_out,
        alpha,
        zeta,
        challenger,
    })
}

/// The LogUp terminals of `proof`'s tables that have lookups, in table order.
pub fn terminal_values<H: Hashing>(proof: &BatchProof<Config<H>>) -> Vec<Ext> {
    proof
        .lookup_terminals
        .iter()
        .flatten()
        .map(|t| t.0)
        .collect()
}

/// The claims `verify_batch` hands its PCS for `proof` at `zeta`, by p3's own construction;
/// `None` for a proof of another shape.
pub fn native_claims<H: Hashing, A: BaseAir<BabyBear>>(
    airs: &[A],
    common: &CommonData<Config<H>>,
    parameters: &StarkParameters,
    proof: &BatchProof<Config<H>>,
    zeta: Ext,
) -> Option<Vec<Claim<H>>> {
    let config = stark_config::<H>(*parameters);
    let log_num_quotient_chunks: Vec<usize> = proof
        .opened_values
        .instances
        .iter()
        .map(|instance| {
            let chunks = instance.base_opened_values.quotient_chunks.len();
            chunks.checked_ilog2().map(|bits| bits as usize)
        })
        .collect::<Option<_>>()?;
    let (claims, ..) = p3_batch_stark::verifier::commitments_with_opening_points(
        &config,
        airs,
        zeta,
        &proof.commitments,
        &proof.opened_values,
        common,
        &proof.degree_bits,
        &preprocessed_widths(common, airs.len()),
        &log_num_quotient_chunks,
    )
    .ok()?;
    Some(claims)
}
