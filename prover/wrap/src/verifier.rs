//! The verifier circuit: a whole run of a program, checked in R1CS with two public inputs,
//! from one of two final proofs in the outer configuration: a run proven in one segment of the
//! RV32IM machine, or a run's wrap-ready proof (aggregation's root re-proven by the recursion
//! machine).
//!
//! [`VerifierCircuit`] composes the crate's parts over shared variables, in `verify_batch`'s
//! order: the proof's public values and every table's opened values and terminal are
//! witnessed once; [`transcript::replay`] draws the challenges after them; [`air::verify`]
//! checks the constraints at `zeta` on those very variables; the PCS claims are built from
//! them (the main, quotient, preprocessed and permutation rounds, at `zeta` and, per table,
//! at `g * zeta`), against the caps the transcript observed, and [`pcs::verify`] continues the
//! same challenger. Nothing the PCS opens is witnessed twice.
//!
//! The statement is what the native verifier accepts for a whole run exiting with 0, and what
//! the settlement program needs from it:
//!
//! - public input 1 is the program commitment packed as `settlement_verifier::inputs` packs it,
//!   and it is the commitment of the program the circuit was built for, with its text end,
//!   entry and initial memory root;
//! - public input 2 is the SHA-256 of the output the guest committed, first byte cleared;
//! - for a one-segment proof ([`VerifierShape::new`]), `gnomon_machine::run::verify_run`'s
//!   rules: the segment is the first (index 0), starts with zeroed registers, and halts with
//!   exit code 0; it has at most `2^MAX_SEGMENT_LOG2` cycles; an untouched memory keeps its
//!   root; its words' limbs are below `2^16` and its flags are bits (what
//!   `PublicValues::from_field_elements` requires);
//! - for a wrap-ready proof ([`VerifierShape::aggregated`]), the segments' verifying key is the
//!   program's; the wrap-ready program itself checked the rest of a whole run (segment 0,
//!   zeroed registers, a halt with 0, the aggregation keys), and the leaves the limbs and
//!   flags.
//!
//! What the circuit fixes ([`VerifierShape`]): the program, the parameters and every table's
//! height (and, for wrap-ready proofs, the wrap-ready program, whose preprocessed commitment
//! holds the aggregation keys). A one-segment proof of other heights needs another circuit,
//! and another setup; every wrap-ready proof of the program's runs has the circuit's shape.

use ark_bn254::Fr;
use ark_ff::PrimeField;
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::FieldVar;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use gnomon_executor::ProgramCommitment;
use gnomon_machine::chips::MachineAir;
use gnomon_machine::config::{Hashing, Inner, Outer, OuterConfig, StarkParameters};
use gnomon_machine::public_values::{PublicValues, offset};
use gnomon_machine::run::{RunError, verify_run};
use gnomon_machine::segment::{MAX_SEGMENT_LOG2, MachineKeys, SegmentProof, VerifyError};
use gnomon_machine::verification::MachineShape;
use gnomon_machine::verification::opening::{BatchOpenings, Source, check_preprocessed_heights};
use gnomon_recursion::aggregation::{
    AggregationError, WrapReadyKeys, WrapReadyProof, segment_key, statement,
};
use gnomon_recursion::tables::RecursionAir;
use gnomon_settlement_verifier::inputs::{commitment_input, digest_input};
use p3_air::{Air, BaseAir};
use p3_baby_bear::BabyBear;
use p3_batch_stark::{BatchProof, CommonData};
use p3_field::{PrimeField32, TwoAdicField};
use p3_lookup::{InteractionSymbolicBuilder, check_multiplicity_height_bound};

use crate::air::{self, OpeningsError, TableOpenings};
use crate::babybear::{BabyBearVar, fr_to_biguint, witness_bits};
use crate::extension::{Ext, ExtVar};
use crate::pcs::{self, CommitmentClaims, FriProofVar, FriProofWitness, OpeningShape, PointClaim};
use crate::transcript::{self, BatchCommitmentsVar, TranscriptShape};

/// How many public inputs the circuit has: the program commitment and the output digest.
pub const PUBLIC_INPUTS: usize = 2;

/// Why a proof cannot be wrapped, or a circuit cannot be built for its heights.
#[derive(Debug, thiserror::Error)]
pub enum WrapError {
    /// No proof of these heights verifies natively.
    #[error("no proof has these table heights: {0}")]
    Heights(String),
    #[error("the proof's tables have degree bits {found:?}; the circuit's are {expected:?}")]
    OtherShape {
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("the proof does not verify as a whole run of the program")]
    Rejected(#[from] RunError),
    #[error("the run exited with code {0}: only a run that exits with 0 settles")]
    ExitCode(u32),
    #[error("the keys are not the circuit's: another program or other parameters")]
    OtherKeys,
    #[error("the wrap-ready proof is not of a whole run of the program: {0}")]
    Aggregated(#[from] AggregationError),
}

impl From<VerifyError> for WrapError {
    fn from(error: VerifyError) -> Self {
        Self::Heights(error.to_string())
    }
}

/// The run's start and the program, as constants.
#[derive(Clone, Debug)]
struct Program {
    commitment: [BabyBear; 8],
    text_end_page: u32,
    entry: u32,
    initial_memory_root: [BabyBear; 8],
}

impl Program {
    fn of<H: Hashing>(keys: &MachineKeys<H>) -> Self {
        Self {
            commitment: keys.program().0,
            text_end_page: keys.text_end_page(),
            entry: keys.entry(),
            initial_memory_root: keys.initial_memory_root(),
        }
    }
}

fn names<A>(airs: &[A], name: impl Fn(&A) -> &'static str) -> Vec<String> {
    airs.iter().map(|air| name(air).to_string()).collect()
}

/// What the wrapped proof is a proof of.
#[derive(Clone, Debug)]
enum Wrapped {
    /// A whole run in one segment of the RV32IM machine: the circuit checks the run's rules.
    Segment,
    /// A run's wrap-ready proof, whose program checked the rules that do not depend on the
    /// user program; the circuit checks that its segments' verifying key is `user_key`.
    Aggregated { user_key: [BabyBear; 8] },
}

/// What the circuit fixes (see the module documentation).
#[derive(Clone, Debug)]
pub struct VerifierShape {
    wrapped: Wrapped,
    parameters: StarkParameters,
    degree_bits: Vec<usize>,
    machine: MachineShape,
    transcript: TranscriptShape,
    opening: OpeningShape,
    /// Per PCS round, per matrix, where its values come from.
    sources: Vec<Vec<Source>>,
    program: Program,
}

impl VerifierShape {
    /// The circuit of `keys`' program (in the outer configuration) for one-segment proofs
    /// whose tables have `degree_bits`; an error for heights no proof can have.
    pub fn new(keys: &MachineKeys<Outer>, degree_bits: &[usize]) -> Result<Self, WrapError> {
        keys.check_degree_bits(degree_bits)?;
        Self::of_batch(
            &names(keys.airs(), MachineAir::name),
            keys.airs(),
            keys.common(),
            keys.parameters(),
            degree_bits,
            Program::of(keys),
            Wrapped::Segment,
        )
    }

    /// The circuit of wrap-ready proofs of runs of `machine`'s program (segment keys): one
    /// shape for every run, fixed by `wrap_ready`.
    pub fn aggregated(
        wrap_ready: &WrapReadyKeys,
        machine: &MachineKeys<Inner>,
    ) -> Result<Self, WrapError> {
        let keys = wrap_ready.keys();
        Self::of_batch(
            &names(keys.airs(), RecursionAir::name),
            keys.airs(),
            keys.common(),
            keys.parameters(),
            keys.degree_bits(),
            Program::of(machine),
            Wrapped::Aggregated {
                user_key: segment_key(machine),
            },
        )
    }

    fn of_batch<A>(
        names: &[String],
        airs: &[A],
        common: &CommonData<OuterConfig>,
        parameters: StarkParameters,
        degree_bits: &[usize],
        program: Program,
        wrapped: Wrapped,
    ) -> Result<Self, WrapError>
    where
        A: BaseAir<BabyBear> + Air<InteractionSymbolicBuilder<BabyBear, Ext>>,
    {
        let heights: Vec<usize> = degree_bits.iter().map(|&bits| 1 << bits).collect();
        check_multiplicity_height_bound(&common.lookups, &heights)
            .map_err(|error| WrapError::Heights(format!("{error:?}")))?;
        let preprocessed_widths =
            gnomon_machine::verification::preprocessed_widths(common, airs.len());
        let machine = MachineShape::new(
            names,
            airs,
            &common.lookups,
            &preprocessed_widths,
            degree_bits,
        );
        let transcript = TranscriptShape::new(airs, common, &parameters, degree_bits);
        check_preprocessed_heights(names, common, degree_bits)
            .map_err(|error| WrapError::Heights(error.to_string()))?;
        let BatchOpenings {
            shape: opening,
            sources,
        } = BatchOpenings::new(&machine, common, degree_bits);
        Ok(Self {
            wrapped,
            parameters,
            degree_bits: degree_bits.to_vec(),
            machine,
            transcript,
            opening,
            sources,
            program,
        })
    }

    /// How many public values the wrapped proofs have.
    fn public_value_count(&self) -> usize {
        match self.wrapped {
            Wrapped::Segment => offset::LEN,
            Wrapped::Aggregated { .. } => statement::LEN,
        }
    }

    /// The tables' degree bits the circuit verifies proofs of.
    pub fn degree_bits(&self) -> &[usize] {
        &self.degree_bits
    }

    /// The PCS claims over the circuit's variables: caps from the transcript (the
    /// preprocessed one a constant), values from the openings, points `zeta` and
    /// `g_i * zeta` for table `i`'s next row.
    fn claims(
        &self,
        commitments: &BatchCommitmentsVar,
        openings: &[TableOpenings],
        zeta: &ExtVar,
    ) -> Result<Vec<CommitmentClaims>, SynthesisError> {
        // One variable per height, so that the PCS divides once per point and height.
        let mut by_height = std::collections::BTreeMap::new();
        for &bits in &self.degree_bits {
            if let std::collections::btree_map::Entry::Vacant(entry) = by_height.entry(bits) {
                let generator = BabyBearVar::constant(BabyBear::two_adic_generator(bits));
                entry.insert(zeta.mul_base(&generator)?.reduce()?);
            }
        }
        let next_points: Vec<&ExtVar> = self
            .degree_bits
            .iter()
            .map(|bits| &by_height[bits])
            .collect();
        let at = |point: &ExtVar, values: &[ExtVar]| PointClaim {
            point: point.clone(),
            values: values.to_vec(),
        };
        let local_and_next = |i: usize, local: &[ExtVar], next: Option<&Vec<ExtVar>>| {
            let mut points = vec![at(zeta, local)];
            points.extend(next.map(|next| at(next_points[i], next)));
            points
        };
        let constant_cap = |cap: &[Fr]| cap.iter().map(|&root| FpVar::Constant(root)).collect();
        let mut preprocessed_cap = self
            .transcript
            .preprocessed_cap
            .as_deref()
            .map(constant_cap);
        let mut claims = Vec::with_capacity(self.sources.len());
        for round in &self.sources {
            let cap = match round.first() {
                Some(Source::Main(_)) | None => commitments.main.clone(),
                Some(Source::Quotient(..)) => commitments.quotient.clone(),
                Some(Source::Preprocessed(_)) => preprocessed_cap
                    .take()
                    .expect("one preprocessed round, with a cap"),
                Some(Source::Permutation(_)) => commitments
                    .permutation
                    .clone()
                    .expect("a permutation round only with lookups"),
            };
            let matrices = round
                .iter()
                .map(|&source| match source {
                    Source::Main(i) => {
                        local_and_next(i, &openings[i].main_local, openings[i].main_next.as_ref())
                    }
                    Source::Quotient(i, chunk) => {
                        vec![at(zeta, &openings[i].quotient_chunks[chunk])]
                    }
                    Source::Preprocessed(i) => local_and_next(
                        i,
                        &openings[i].preprocessed_local,
                        openings[i].preprocessed_next.as_ref(),
                    ),
                    Source::Permutation(i) => local_and_next(
                        i,
                        &openings[i].permutation_local,
                        Some(&openings[i].permutation_next),
                    ),
                })
                .collect();
            claims.push(CommitmentClaims { cap, matrices });
        }
        Ok(claims)
    }
}

/// A proof ready to be wrapped: natively verified as a whole run exiting with 0, with its
/// opening proof laid out for the circuit and its public inputs.
pub struct VerifierWitness {
    public_values: Vec<BabyBear>,
    proof: BatchProof<OuterConfig>,
    opening: FriProofWitness,
    public_inputs: [Fr; PUBLIC_INPUTS],
}

impl std::fmt::Debug for VerifierWitness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifierWitness")
            .field("public_values", &self.public_values)
            .field("degree_bits", &self.proof.degree_bits)
            .field("public_inputs", &self.public_inputs)
            .finish_non_exhaustive()
    }
}

impl VerifierWitness {
    /// Verifies `proof` natively (a one-segment run of `keys`' program that exits with 0, of
    /// `shape`'s heights) and lays it out, keeping it; every refusal is an error, never a
    /// panic.
    pub fn new(
        shape: &VerifierShape,
        keys: &MachineKeys<Outer>,
        proof: SegmentProof<Outer>,
    ) -> Result<Self, WrapError> {
        if !matches!(shape.wrapped, Wrapped::Segment)
            || keys.parameters() != shape.parameters
            || keys.program().0 != shape.program.commitment
        {
            return Err(WrapError::OtherKeys);
        }
        shape.check_degree_bits(&proof.proof.degree_bits)?;
        let claim = verify_run(keys, std::slice::from_ref(&proof))?;
        if claim.exit_code != 0 {
            return Err(WrapError::ExitCode(claim.exit_code));
        }
        let values = PublicValues::from_field_elements(&proof.public_values)
            .expect("a verified proof has well-formed public values");
        let opening = FriProofWitness::of_batch::<Outer, _>(
            keys.airs(),
            keys.common(),
            &shape.parameters,
            &proof.proof,
            &keys.instance_public_values(&proof.public_values),
        )
        .expect("a verified proof's opening verifies");
        Ok(Self {
            public_inputs: public_inputs(values.program, &values.output_digest),
            public_values: proof.public_values,
            proof: proof.proof,
            opening,
        })
    }

    /// Verifies a wrap-ready `proof` natively as a whole run of `machine`'s program that exits
    /// with 0, and lays it out.
    pub fn aggregated(
        shape: &VerifierShape,
        wrap_ready: &WrapReadyKeys,
        machine: &MachineKeys<Inner>,
        proof: WrapReadyProof,
    ) -> Result<Self, WrapError> {
        let keys = wrap_ready.keys();
        let same_key = matches!(shape.wrapped, Wrapped::Aggregated { user_key } if user_key == segment_key(machine));
        if !same_key
            || keys.parameters() != shape.parameters
            || machine.program().0 != shape.program.commitment
        {
            return Err(WrapError::OtherKeys);
        }
        shape.check_degree_bits(&proof.proof.degree_bits)?;
        let run = wrap_ready.verify(machine, &proof)?;
        let opening = FriProofWitness::of_batch::<Outer, _>(
            keys.airs(),
            keys.common(),
            &shape.parameters,
            &proof.proof,
            &keys.instance_public_values(&proof.public_values),
        )
        .expect("a verified proof's opening verifies");
        Ok(Self {
            public_inputs: public_inputs(machine.program(), &run.output_digest),
            public_values: proof.public_values,
            proof: proof.proof,
            opening,
        })
    }

    /// The public inputs the Groth16 proof of this witness is checked against.
    pub fn public_inputs(&self) -> [Fr; PUBLIC_INPUTS] {
        self.public_inputs
    }
}

impl VerifierShape {
    fn check_degree_bits(&self, found: &[usize]) -> Result<(), WrapError> {
        if found != self.degree_bits {
            return Err(WrapError::OtherShape {
                expected: self.degree_bits.clone(),
                found: found.to_vec(),
            });
        }
        Ok(())
    }
}

/// The two public inputs of a run of `program` that committed output of SHA-256
/// `output_digest` (big-endian words), as the settlement program computes them
/// (`settlement_verifier::inputs`).
pub fn public_inputs(program: ProgramCommitment, output_digest: &[u32; 8]) -> [Fr; PUBLIC_INPUTS] {
    let commitment = program.to_bytes();
    let mut digest = [0u8; 32];
    for (bytes, word) in digest.chunks_exact_mut(4).zip(output_digest) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    [
        commitment_input(&commitment).expect("canonical elements"),
        digest_input(&digest),
    ]
    .map(|input| Fr::from_be_bytes_mod_order(&input))
}

/// The verifier circuit of `shape`, with `witness` to prove or without one for the setup.
#[derive(Clone, Copy, Debug)]
pub struct VerifierCircuit<'a> {
    pub shape: &'a VerifierShape,
    pub witness: Option<&'a VerifierWitness>,
}

fn missing() -> SynthesisError {
    SynthesisError::AssignmentMissing
}

impl ConstraintSynthesizer<Fr> for VerifierCircuit<'_> {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        self.synthesize(cs, &mut ConstraintReport::default())
    }
}

/// Constraints per part of the verifier circuit ([`VerifierShape::constraint_report`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConstraintReport {
    /// The segment's public values and every table's opened values and terminal, checked
    /// canonical; the caps; the opening proof's values (31-bit checks, bound by its paths).
    pub witnesses: usize,
    /// The run's statement and the two public inputs.
    pub statement: usize,
    /// `verify_batch`'s transcript to `zeta`.
    pub transcript: usize,
    /// Every table's AIR and LogUp constraints at `zeta`, and the LogUp sum.
    pub air: usize,
    /// The PCS verifier, by part.
    pub pcs: pcs::Parts,
    pub total: usize,
}

impl VerifierShape {
    /// The constraints of this circuit, by part, as the setup lays them out.
    pub fn constraint_report(&self) -> Result<ConstraintReport, SynthesisError> {
        let cs = ark_relations::gr1cs::ConstraintSystem::<Fr>::new_ref();
        cs.set_mode(ark_relations::gr1cs::SynthesisMode::Setup);
        let mut report = ConstraintReport::default();
        VerifierCircuit {
            shape: self,
            witness: None,
        }
        .synthesize(cs.clone(), &mut report)?;
        report.total = cs.num_constraints();
        Ok(report)
    }
}

impl VerifierCircuit<'_> {
    fn synthesize(
        self,
        cs: ConstraintSystemRef<Fr>,
        report: &mut ConstraintReport,
    ) -> Result<(), SynthesisError> {
        let mut mark = 0;
        let mut lap = |part: &mut usize| {
            let now = cs.num_constraints();
            *part += now - mark;
            mark = now;
        };
        let shape = self.shape;
        let proof = self.witness.map(|witness| &witness.proof);
        let public_values = self.witness.map(|witness| &witness.public_values);
        let inputs = self.witness.map(|witness| witness.public_inputs);
        let input = |index: usize| {
            FpVar::new_input(cs.clone(), || {
                inputs.map(|inputs| inputs[index]).ok_or_else(missing)
            })
        };
        let (program_input, output_input) = (input(0)?, input(1)?);
        let values = (0..shape.public_value_count())
            .map(|k| {
                BabyBearVar::new_witness(cs.clone(), || {
                    public_values.map(|values| values[k]).ok_or_else(missing)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        lap(&mut report.witnesses);
        let value = |index: usize| values[index].variable().clone();
        match &shape.wrapped {
            Wrapped::Segment => {
                segment_statement(&cs, &shape.program, &value, &program_input, &output_input)?
            }
            Wrapped::Aggregated { user_key } => aggregated_statement(
                &cs,
                &shape.program,
                user_key,
                &value,
                &program_input,
                &output_input,
            )?,
        }
        lap(&mut report.statement);
        let tables = shape.machine.tables();
        let openings = tables
            .iter()
            .enumerate()
            .map(|(i, table)| {
                let native = proof.map(|p| {
                    (
                        &p.opened_values.instances[i],
                        p.lookup_terminals[i].as_ref(),
                    )
                });
                TableOpenings::new_witness(cs.clone(), table, native)
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(unsatisfiable)?;
        let public_values: Vec<Vec<BabyBearVar>> = tables
            .iter()
            .map(|table| {
                if table.num_public_values() == 0 {
                    Vec::new()
                } else {
                    values.clone()
                }
            })
            .collect();
        let commitments = BatchCommitmentsVar::new_witness(cs.clone(), &shape.transcript, proof)
            .map_err(unsatisfiable)?;
        lap(&mut report.witnesses);
        let (challenges, mut challenger) =
            transcript::replay(&shape.transcript, &commitments, &public_values, &openings)?;
        lap(&mut report.transcript);
        air::verify(&shape.machine, &openings, &public_values, &challenges)?;
        lap(&mut report.air);
        let claims = shape.claims(&commitments, &openings, &challenges.zeta)?;
        lap(&mut report.pcs.transcript);
        let opening = FriProofVar::new_witness(
            cs.clone(),
            &shape.parameters,
            &shape.opening,
            self.witness.map(|witness| &witness.opening),
        )?;
        lap(&mut report.witnesses);
        pcs::verify_counted(
            &shape.parameters,
            &shape.opening,
            &mut challenger,
            &claims,
            &opening,
            &mut report.pcs,
        )
    }
}

/// A witness [`VerifierWitness::new`] admitted always has the circuit's shape.
fn unsatisfiable(_: OpeningsError) -> SynthesisError {
    SynthesisError::Unsatisfiable
}

/// `value`'s `bits` low bits, enforced to be all of it (`value < 2^bits`).
fn enforce_bits(
    cs: &ConstraintSystemRef<Fr>,
    value: &FpVar<Fr>,
    bits: u64,
) -> Result<Vec<ark_r1cs_std::boolean::Boolean<Fr>>, SynthesisError> {
    use ark_r1cs_std::GR1CSVar;
    let integer = value.value().ok().map(fr_to_biguint);
    let (out, sum) = witness_bits(cs, integer.as_ref(), bits)?;
    sum.enforce_equal(value)?;
    Ok(out)
}

/// Where a statement holds the values the user program fixes, and the output digest.
struct Layout {
    program: usize,
    text_end_page: usize,
    start_pc: usize,
    root_before: usize,
    output_digest: usize,
}

/// The public values of a variable: `value(index)`.
type Values<'a> = dyn Fn(usize) -> FpVar<Fr> + 'a;

fn constant(v: u32) -> FpVar<Fr> {
    FpVar::Constant(Fr::from(v))
}

/// The user program's values equal `program`'s and its commitment packs into the first input
/// (as `settlement_verifier::inputs` packs it); the output digest into the second.
fn program_and_output(
    cs: &ConstraintSystemRef<Fr>,
    program: &Program,
    layout: &Layout,
    value: &Values<'_>,
    program_input: &FpVar<Fr>,
    output_input: &FpVar<Fr>,
) -> Result<(), SynthesisError> {
    let equal = |index: usize, v: u32| value(index).enforce_equal(&constant(v));
    let mut packed = FpVar::zero();
    for (k, element) in program.commitment.iter().enumerate() {
        equal(layout.program + k, element.as_canonical_u32())?;
        packed = packed * constant(1 << 31) + value(layout.program + k);
    }
    packed.enforce_equal(program_input)?;
    equal(layout.text_end_page, program.text_end_page)?;
    equal(layout.start_pc, program.entry)?;
    for (k, root) in program.initial_memory_root.iter().enumerate() {
        equal(layout.root_before + k, root.as_canonical_u32())?;
    }
    // The output digest: eight big-endian words of two limbs (low first), the first byte
    // (the top byte of word 0's high limb) cleared.
    let mut digest = FpVar::zero();
    for word in 0..8 {
        let (low, high) = (
            layout.output_digest + 2 * word,
            layout.output_digest + 2 * word + 1,
        );
        enforce_bits(cs, &value(low), 16)?;
        let high_bits = enforce_bits(cs, &value(high), 16)?;
        let high = if word == 0 {
            let mut kept = FpVar::zero();
            for bit in high_bits[..8].iter().rev() {
                kept = kept.double()? + FpVar::from(bit.clone());
            }
            kept
        } else {
            value(high)
        };
        digest =
            digest * FpVar::Constant(Fr::from(1u64 << 32)) + high * constant(1 << 16) + value(low);
    }
    digest.enforce_equal(output_input)
}

/// The run's statement on a one-segment proof's public values (see the module documentation).
fn segment_statement(
    cs: &ConstraintSystemRef<Fr>,
    program: &Program,
    value: &Values<'_>,
    program_input: &FpVar<Fr>,
    output_input: &FpVar<Fr>,
) -> Result<(), SynthesisError> {
    let layout = Layout {
        program: offset::PROGRAM,
        text_end_page: offset::TEXT_END_PAGE,
        start_pc: offset::START_PC,
        root_before: offset::ROOT_BEFORE,
        output_digest: offset::OUTPUT_DIGEST,
    };
    program_and_output(cs, program, &layout, value, program_input, output_input)?;
    let equal = |index: usize, v: u32| value(index).enforce_equal(&constant(v));
    // The start of a run, and its end: a halt with exit code 0.
    equal(offset::SEGMENT_INDEX, 0)?;
    for k in 0..64 {
        equal(offset::START_REGISTERS + k, 0)?;
    }
    equal(offset::HALTED, 1)?;
    equal(offset::EXIT_CODE, 0)?;
    equal(offset::EXIT_CODE + 1, 0)?;
    // Segment rules: at most 2^MAX_SEGMENT_LOG2 cycles (`2^k - cycles` has k + 1 bits); a
    // touched flag that is a bit, and an untouched memory keeps its root.
    let limit = constant(1 << MAX_SEGMENT_LOG2);
    enforce_bits(
        cs,
        &(limit - value(offset::CYCLES)),
        u64::from(MAX_SEGMENT_LOG2) + 1,
    )?;
    let touched = value(offset::TOUCHED);
    let untouched = FpVar::one() - &touched;
    touched.mul_equals(&untouched, &FpVar::zero())?;
    for k in 0..8 {
        let change = value(offset::ROOT_AFTER + k) - value(offset::ROOT_BEFORE + k);
        untouched.mul_equals(&change, &FpVar::zero())?;
    }
    // Words' limbs below 2^16.
    for k in (0..64).map(|k| offset::END_REGISTERS + k) {
        enforce_bits(cs, &value(k), 16)?;
    }
    for k in (0..16).map(|k| offset::INPUT_DIGEST + k) {
        enforce_bits(cs, &value(k), 16)?;
    }
    Ok(())
}

/// A run's statement on a wrap-ready proof's public values: the program's values and the
/// segments' verifying key; the wrap-ready program checked the rest (see the module
/// documentation).
fn aggregated_statement(
    cs: &ConstraintSystemRef<Fr>,
    program: &Program,
    user_key: &[BabyBear; 8],
    value: &Values<'_>,
    program_input: &FpVar<Fr>,
    output_input: &FpVar<Fr>,
) -> Result<(), SynthesisError> {
    let layout = Layout {
        program: statement::PROGRAM,
        text_end_page: statement::TEXT_END_PAGE,
        start_pc: statement::START_PC,
        root_before: statement::ROOT_BEFORE,
        output_digest: statement::OUTPUT_DIGEST,
    };
    program_and_output(cs, program, &layout, value, program_input, output_input)?;
    for (k, element) in user_key.iter().enumerate() {
        value(statement::USER_KEY + k).enforce_equal(&constant(element.as_canonical_u32()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use ark_relations::gr1cs::{ConstraintSystem, SynthesisMode};
    use gnomon_executor::{Input, Options, trace};
    use gnomon_machine::config::F;
    use p3_field::PrimeCharacteristicRing;

    use super::*;
    use crate::air::tests::copy;
    use crate::extension::Ext;
    use crate::test_util::{fibonacci_20, guest, settlement_inputs};

    /// A named change to a `T`.
    type Tampering<T> = (&'static str, Box<dyn Fn(&mut T)>);

    pub(super) struct Fixture {
        pub(super) keys: MachineKeys<Outer>,
        pub(super) proof: SegmentProof<Outer>,
        shape: VerifierShape,
        /// What the guest committed.
        journal: Vec<u8>,
    }

    /// A whole run of `fibonacci(20)` in one segment, proven in the outer configuration with
    /// the testing parameters.
    pub(super) fn fixture() -> &'static Fixture {
        static FIXTURE: OnceLock<Fixture> = OnceLock::new();
        FIXTURE.get_or_init(|| {
            let (program, journal, segments) = fibonacci_20(12);
            assert_eq!(segments.len(), 1, "one segment");
            let keys = MachineKeys::<Outer>::new(&program, StarkParameters::testing());
            let proof = keys
                .prove_segment(&segments[0])
                .expect("the segment proves");
            let shape = VerifierShape::new(&keys, &proof.proof.degree_bits).unwrap();
            Fixture {
                keys,
                proof,
                shape,
                journal,
            }
        })
    }

    fn honest() -> VerifierWitness {
        let fixture = fixture();
        VerifierWitness::new(&fixture.shape, &fixture.keys, copy(&fixture.proof)).unwrap()
    }

    /// Whether the circuit of the fixture's shape is satisfied by `witness`.
    fn satisfied(witness: &VerifierWitness) -> bool {
        satisfied_by(&fixture().shape, witness)
    }

    /// Whether the circuit of `shape` is satisfied by `witness`.
    pub(super) fn satisfied_by(shape: &VerifierShape, witness: &VerifierWitness) -> bool {
        let cs = ConstraintSystem::<Fr>::new_ref();
        VerifierCircuit {
            shape,
            witness: Some(witness),
        }
        .generate_constraints(cs.clone())
        .unwrap();
        cs.is_satisfied().unwrap()
    }

    /// The constraints and witness variables, with and without values.
    fn size(witness: Option<&VerifierWitness>) -> (usize, usize, usize) {
        let cs = ConstraintSystem::<Fr>::new_ref();
        if witness.is_none() {
            cs.set_mode(SynthesisMode::Setup);
        }
        VerifierCircuit {
            shape: &fixture().shape,
            witness,
        }
        .generate_constraints(cs.clone())
        .unwrap();
        (
            cs.num_constraints(),
            cs.num_witness_variables(),
            cs.num_instance_variables(),
        )
    }

    #[test]
    fn an_honest_run_satisfies_the_circuit_with_the_settlement_inputs() {
        let fixture = fixture();
        let witness = honest();
        assert!(satisfied(&witness));
        // The inputs are those the settlement program computes.
        let expected = settlement_inputs(fixture.keys.program(), &fixture.journal);
        assert_eq!(witness.public_inputs(), expected);
        assert_ne!(expected[1], Fr::from(0u8));
    }

    /// Groth16's setup lays the circuit out without values: the same system.
    #[test]
    fn the_setup_lays_out_the_same_system() {
        let proving = size(Some(&honest()));
        let setup = size(None);
        println!(
            "verifier circuit (testing parameters): {proving:?} (constraints, witnesses, instance)"
        );
        assert_eq!(proving, setup);
        assert_eq!(proving.2, 1 + PUBLIC_INPUTS);
        // The README's figure: a regression shows here.
        assert!(proving.0 <= 3_211_000, "{proving:?}");
    }

    /// Every class of tampering with the wrapped proof leaves the circuit unsatisfied: the
    /// proof's own values (the native verifier rejects each), the opening proof's witnesses,
    /// and the public inputs.
    #[test]
    fn a_tampered_proof_or_input_is_unsatisfied() {
        let fixture = fixture();
        let mut proof_cases: Vec<Tampering<SegmentProof<Outer>>> = vec![
            (
                "a main value at zeta",
                Box::new(|p| {
                    p.proof.opened_values.instances[0]
                        .base_opened_values
                        .trace_local[0] += Ext::ONE
                }),
            ),
            (
                "a quotient chunk value",
                Box::new(|p| {
                    p.proof.opened_values.instances[1]
                        .base_opened_values
                        .quotient_chunks[0][0] += Ext::ONE
                }),
            ),
            (
                "a permutation value at g * zeta",
                Box::new(|p| {
                    let instance = p
                        .proof
                        .opened_values
                        .instances
                        .iter_mut()
                        .find(|i| !i.permutation_next.is_empty())
                        .unwrap();
                    instance.permutation_next[0] += Ext::ONE
                }),
            ),
            (
                "a public value",
                Box::new(|p| p.public_values[offset::END_PC] += F::ONE),
            ),
        ];
        proof_cases.push((
            "the output digest",
            Box::new(|p| p.public_values[offset::OUTPUT_DIGEST] += F::ONE),
        ));
        for (what, tamper) in &proof_cases {
            let mut proof = copy(&fixture.proof);
            tamper(&mut proof);
            assert!(
                VerifierWitness::new(&fixture.shape, &fixture.keys, copy(&proof)).is_err(),
                "natively rejected: {what}"
            );
            // The circuit takes it all the same, with the honest opening proof.
            let mut witness = honest();
            witness.public_values = proof.public_values;
            witness.proof = proof.proof;
            assert!(!satisfied(&witness), "{what}");
        }
        let witness_cases: Vec<Tampering<VerifierWitness>> = vec![
            (
                "an opened row",
                Box::new(|w| w.opening.queries[0].rows[0][0][0] += F::ONE),
            ),
            (
                "an input path",
                Box::new(|w| w.opening.queries[1].input_paths[2][0] += p3_bn254::Bn254::ONE),
            ),
            (
                "a fold sibling",
                Box::new(|w| w.opening.queries[0].fold_siblings[0] += Ext::ONE),
            ),
            (
                "a commit-phase cap",
                Box::new(|w| w.opening.commit_caps[0][0] += p3_bn254::Bn254::ONE),
            ),
            (
                "the final polynomial",
                Box::new(|w| w.opening.final_poly[0] += Ext::ONE),
            ),
            (
                "the main cap",
                Box::new(|w| {
                    let mut roots = w.proof.commitments.main.roots().to_vec();
                    roots[0][0] += p3_bn254::Bn254::ONE;
                    w.proof.commitments.main = p3_symmetric::MerkleCap::new(roots);
                }),
            ),
            (
                "the program input",
                Box::new(|w| w.public_inputs[0] += Fr::from(1u8)),
            ),
            (
                "the output input",
                Box::new(|w| w.public_inputs[1] += Fr::from(1u8)),
            ),
        ];
        for (what, tamper) in &witness_cases {
            let mut witness = honest();
            tamper(&mut witness);
            assert!(!satisfied(&witness), "{what}");
        }
    }

    /// The statement alone, on the fixture's public values (tampered by `tamper`) and inputs.
    fn statement_holds(tamper: impl FnOnce(&mut Vec<F>), inputs: [Fr; PUBLIC_INPUTS]) -> bool {
        let fixture = fixture();
        let mut values = fixture.proof.public_values.clone();
        tamper(&mut values);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let values: Vec<BabyBearVar> = values
            .iter()
            .map(|&v| BabyBearVar::new_witness(cs.clone(), || Ok(v)).unwrap())
            .collect();
        let input = |v: Fr| FpVar::new_input(cs.clone(), || Ok(v)).unwrap();
        let (program, output) = (input(inputs[0]), input(inputs[1]));
        let value = |index: usize| values[index].variable().clone();
        segment_statement(&cs, &fixture.shape.program, &value, &program, &output).unwrap();
        cs.is_satisfied().unwrap()
    }

    /// Each rule of the statement binds: a proof of a run that does not start at the
    /// program's start, does not halt with 0, or whose values are out of range is refused,
    /// and the public inputs are exactly the packed commitment and the truncated digest.
    #[test]
    fn the_statement_binds_the_run_and_the_inputs() {
        let inputs = honest().public_inputs();
        assert!(statement_holds(|_| {}, inputs));
        let one = F::ONE;
        let two_16 = F::from_u32(1 << 16);
        let cases: Vec<Tampering<Vec<F>>> = vec![
            (
                "a later segment",
                Box::new(move |v| v[offset::SEGMENT_INDEX] += one),
            ),
            (
                "another start",
                Box::new(move |v| v[offset::START_PC] += F::from_u32(4)),
            ),
            (
                "a register at the start",
                Box::new(move |v| v[offset::START_REGISTERS + 4] += one),
            ),
            (
                "another memory",
                Box::new(move |v| v[offset::ROOT_BEFORE + 3] += one),
            ),
            (
                "another text end",
                Box::new(move |v| v[offset::TEXT_END_PAGE] += one),
            ),
            (
                "a program element",
                Box::new(move |v| v[offset::PROGRAM + 7] += one),
            ),
            ("no halt", Box::new(move |v| v[offset::HALTED] = F::ZERO)),
            (
                "an exit code",
                Box::new(move |v| v[offset::EXIT_CODE] = one),
            ),
            (
                "a high exit code",
                Box::new(move |v| v[offset::EXIT_CODE + 1] = one),
            ),
            (
                "too many cycles",
                Box::new(|v| v[offset::CYCLES] = F::from_u32((1 << MAX_SEGMENT_LOG2) + 1)),
            ),
            (
                "a touched flag of 2",
                Box::new(|v| v[offset::TOUCHED] = F::TWO),
            ),
            (
                "a changed memory untouched",
                Box::new(|v| v[offset::TOUCHED] = F::ZERO),
            ),
            (
                "an end register limb",
                Box::new(move |v| v[offset::END_REGISTERS + 9] += two_16),
            ),
            (
                "an input digest limb",
                Box::new(move |v| v[offset::INPUT_DIGEST + 5] += two_16),
            ),
            (
                // The same digest from a limb out of range: its word is unchanged.
                "an output digest limb carried",
                Box::new(move |v| {
                    v[offset::OUTPUT_DIGEST + 2] += two_16;
                    v[offset::OUTPUT_DIGEST + 3] -= one;
                }),
            ),
            (
                "an output digest",
                Box::new(move |v| v[offset::OUTPUT_DIGEST + 15] += one),
            ),
        ];
        let fixture = fixture();
        assert_eq!(fixture.proof.public_values[offset::TOUCHED], F::ONE);
        assert!(fixture.proof.public_values[offset::OUTPUT_DIGEST + 3] != F::ZERO);
        for (what, tamper) in &cases {
            assert!(!statement_holds(tamper, inputs), "{what}");
        }
        let mut wrong = inputs;
        wrong[0] += Fr::from(1u8);
        assert!(!statement_holds(|_| {}, wrong), "the program input");
        let mut wrong = inputs;
        wrong[1] += Fr::from(1u8);
        assert!(!statement_holds(|_| {}, wrong), "the output input");
        // The digest's first byte is cleared: it is not part of the input.
        assert!(statement_holds(
            |v| v[offset::OUTPUT_DIGEST + 1] += F::from_u32(1 << 8),
            inputs
        ));
    }

    /// A circuit exists only for heights some proof can have; a witness only for a proof of
    /// the circuit's heights and program that verifies and exits with 0.
    #[test]
    fn only_verified_proofs_of_the_circuits_shape_are_witnessed() {
        let fixture = fixture();
        let bits = &fixture.proof.proof.degree_bits;
        let keys = &fixture.keys;
        assert!(matches!(
            VerifierShape::new(keys, &bits[1..]),
            Err(WrapError::Heights(_))
        ));
        assert!(matches!(
            VerifierShape::new(keys, &vec![22; bits.len()]),
            Err(WrapError::Heights(_))
        ));
        // Taller main tables make another circuit, which refuses this proof.
        let preprocessed = keys.common().preprocessed.as_ref().unwrap();
        let (taller, fixed): (Vec<usize>, Vec<usize>) =
            (0..bits.len()).partition(|&i| preprocessed.instances[i].is_none());
        let mut other = bits.clone();
        other[taller[0]] += 1;
        let shape = VerifierShape::new(keys, &other).unwrap();
        assert!(matches!(
            VerifierWitness::new(&shape, keys, copy(&fixture.proof)),
            Err(WrapError::OtherShape { .. })
        ));
        let mut other = bits.clone();
        other[fixed[0]] += 1;
        assert!(matches!(
            VerifierShape::new(keys, &other),
            Err(WrapError::Heights(_))
        ));
        // Keys of another program, or of other parameters, than the circuit's.
        let other_program = MachineKeys::<Outer>::new(&guest("sha256"), StarkParameters::testing());
        let mut other_parameters = StarkParameters::testing();
        other_parameters.num_queries += 1;
        let other_parameters = MachineKeys::<Outer>::new(&guest("fibonacci"), other_parameters);
        for keys in [&other_program, &other_parameters] {
            assert!(matches!(
                VerifierWitness::new(&fixture.shape, keys, copy(&fixture.proof)),
                Err(WrapError::OtherKeys)
            ));
        }
        // The other program's circuit at this proof's heights: its program table is another
        // height (no such circuit), or the circuit refuses this program's proof.
        match VerifierShape::new(&other_program, bits) {
            Ok(shape) => assert!(matches!(
                VerifierWitness::new(&shape, &other_program, copy(&fixture.proof)),
                Err(WrapError::Rejected(_))
            )),
            Err(error) => assert!(matches!(error, WrapError::Heights(_)), "{error}"),
        }
    }

    /// A run that halts with a non-zero exit code verifies natively but settles nothing.
    #[test]
    fn a_run_that_exits_non_zero_is_not_wrapped() {
        let program = guest("faults");
        let mut input = Input::new();
        input.write(&"exit".to_string());
        let (_, segments) = trace(&program, &input, &Options::default());
        let keys = MachineKeys::<Outer>::new(&program, StarkParameters::testing());
        let proof = keys.prove_segment(&segments[0]).unwrap();
        let shape = VerifierShape::new(&keys, &proof.proof.degree_bits).unwrap();
        assert!(matches!(
            VerifierWitness::new(&shape, &keys, proof),
            Err(WrapError::ExitCode(7))
        ));
    }
}

/// The circuit of wrap-ready proofs: aggregation's final proof of a run, in the outer
/// configuration.
#[cfg(test)]
mod aggregated_tests {
    use std::sync::OnceLock;

    use gnomon_machine::config::F;
    use gnomon_machine::run::prove_run;
    use gnomon_recursion::aggregation::AggregationKeys;
    use p3_field::PrimeCharacteristicRing;

    use super::tests::satisfied_by;
    use super::*;
    use crate::test_util::{fibonacci_20, guest, settlement_inputs};

    struct Fixture {
        machine: MachineKeys<Inner>,
        wrap_ready: WrapReadyKeys,
        proof: WrapReadyProof,
        shape: VerifierShape,
        /// What the guest committed.
        journal: Vec<u8>,
    }

    /// A run of `fibonacci(20)` in segments of 2^10 cycles, aggregated and re-proven in the
    /// outer configuration, all at the testing parameters.
    fn fixture() -> &'static Fixture {
        static FIXTURE: OnceLock<Fixture> = OnceLock::new();
        FIXTURE.get_or_init(|| {
            let (program, journal, segments) = fibonacci_20(10);
            assert!(segments.len() >= 2, "a run of several segments");
            let machine = MachineKeys::<Inner>::new(&program, StarkParameters::testing());
            let proofs = prove_run(&machine, &segments).unwrap();
            let shapes = gnomon_recursion::aggregation::shapes_of(&proofs);
            let aggregation =
                AggregationKeys::new(&machine, &shapes, StarkParameters::testing()).unwrap();
            let root = aggregation.aggregate(&machine, &proofs).unwrap();
            let wrap_ready = WrapReadyKeys::new(&aggregation, StarkParameters::testing());
            let proof = wrap_ready.prove(&aggregation, &root).unwrap();
            let shape = VerifierShape::aggregated(&wrap_ready, &machine).unwrap();
            Fixture {
                machine,
                wrap_ready,
                proof,
                shape,
                journal,
            }
        })
    }

    fn copy(proof: &WrapReadyProof) -> WrapReadyProof {
        WrapReadyProof::from_bytes(&proof.to_bytes()).unwrap()
    }

    fn honest() -> VerifierWitness {
        let fixture = fixture();
        VerifierWitness::aggregated(
            &fixture.shape,
            &fixture.wrap_ready,
            &fixture.machine,
            copy(&fixture.proof),
        )
        .unwrap()
    }

    fn satisfied(witness: &VerifierWitness) -> bool {
        satisfied_by(&fixture().shape, witness)
    }

    #[test]
    fn a_wrap_ready_proof_satisfies_the_circuit_with_the_settlement_inputs() {
        let fixture = fixture();
        let witness = honest();
        assert!(satisfied(&witness));
        let expected = settlement_inputs(fixture.machine.program(), &fixture.journal);
        assert_eq!(witness.public_inputs(), expected);
        let report = fixture.shape.constraint_report().unwrap();
        println!("wrap-ready verifier circuit (testing parameters): {report:?}");
    }

    /// Every value the proof brings is bound: tampered ones leave the circuit unsatisfied
    /// (the native verifier rejects each tampered proof), as do other public inputs.
    #[test]
    fn tampering_leaves_the_circuit_unsatisfied() {
        let fixture = fixture();
        type Tampering = (&'static str, Box<dyn Fn(&mut VerifierWitness)>);
        let public_value = |index: usize| -> Box<dyn Fn(&mut VerifierWitness)> {
            Box::new(move |w| w.public_values[index] += F::ONE)
        };
        let cases: Vec<Tampering> = vec![
            ("the output digest", public_value(statement::OUTPUT_DIGEST)),
            ("the segments' key", public_value(statement::USER_KEY + 3)),
            ("the program", public_value(statement::PROGRAM)),
            ("the entry", public_value(statement::START_PC)),
            (
                "the initial memory",
                public_value(statement::ROOT_BEFORE + 7),
            ),
            ("the segment count", public_value(statement::END_INDEX)),
            (
                "an opened value",
                Box::new(|w| {
                    w.proof.opened_values.instances[1]
                        .base_opened_values
                        .trace_local[0] += Ext::ONE
                }),
            ),
            (
                "an opened row",
                Box::new(|w| w.opening.queries[0].rows[0][0][0] += F::ONE),
            ),
            (
                "the final polynomial",
                Box::new(|w| w.opening.final_poly[0] += Ext::ONE),
            ),
            (
                "the program input",
                Box::new(|w| w.public_inputs[0] += Fr::from(1u8)),
            ),
            (
                "the output input",
                Box::new(|w| w.public_inputs[1] += Fr::from(1u8)),
            ),
        ];
        for (what, tamper) in &cases {
            let mut witness = honest();
            tamper(&mut witness);
            assert!(!satisfied(&witness), "{what}");
        }
        let mut tampered = copy(&fixture.proof);
        tampered.public_values[statement::OUTPUT_DIGEST] += F::ONE;
        assert!(matches!(
            VerifierWitness::aggregated(
                &fixture.shape,
                &fixture.wrap_ready,
                &fixture.machine,
                tampered
            ),
            Err(WrapError::Aggregated(_))
        ));
    }

    /// A wrap-ready proof is witnessed only for the circuit's program, and a segment proof
    /// never in its place.
    #[test]
    fn only_the_circuits_program_is_witnessed() {
        let fixture = fixture();
        let other = MachineKeys::<Inner>::new(&guest("sha256"), StarkParameters::testing());
        assert!(matches!(
            VerifierWitness::aggregated(
                &fixture.shape,
                &fixture.wrap_ready,
                &other,
                copy(&fixture.proof)
            ),
            Err(WrapError::OtherKeys)
        ));
        let shape = VerifierShape::aggregated(&fixture.wrap_ready, &other).unwrap();
        assert!(matches!(
            VerifierWitness::aggregated(&shape, &fixture.wrap_ready, &other, copy(&fixture.proof)),
            Err(WrapError::Aggregated(_))
        ));
        let segment = super::tests::fixture();
        assert!(matches!(
            VerifierWitness::new(
                &fixture.shape,
                &segment.keys,
                crate::air::tests::copy(&segment.proof)
            ),
            Err(WrapError::OtherKeys)
        ));
    }
}
