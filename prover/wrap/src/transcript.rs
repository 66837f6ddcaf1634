//! The transcript of a batch proof up to `zeta` in R1CS: the in-circuit replay of p3-batch-stark
//! 0.9.0-rc.2's `BatchVerifierTranscript` as `verify_batch` drives it, from its seed to the
//! out-of-domain point, which yields the [`Challenges`] that [`crate::air::verify`] takes.
//!
//! The native verifier, on `Outer::challenger()`:
//!
//! 1. observes the seed of the domain separator of its `BatchShape` (protocol name, version,
//!    the step pattern, the instance count, every trace and preprocessed width);
//! 2. per instance, its degree bits as an extension element (`[bits, 0, 0, 0]`);
//! 3. the main commitment's cap, root by root, then every instance's public values;
//! 4. the preprocessed commitment, when the batch has one;
//! 5. when a table has lookups: checks the lookup grinding (a zero witness at zero difficulty,
//!    nothing observed), samples the LogUp pair `(alpha, beta)`, observes the permutation
//!    commitment and each present terminal in table order;
//! 6. samples the folding `alpha`, observes the quotient commitment, checks the out-of-domain
//!    grinding (zero at zero difficulty) and samples `zeta`.
//!
//! [`replay`] does the same on a [`ChallengerVar`], which then continues into the PCS
//! verifier ([`crate::pcs::verify`]). What the circuit fixes ([`TranscriptShape`]): the seed,
//! the degree bits (the proof's shape: the AIR check's heights are built from them), the
//! public-value counts, the grinding difficulties and the preprocessed commitment (the batch's
//! `CommonData`: the verifying key). What the proof supplies, as witnesses
//! ([`BatchCommitmentsVar`]): the main, permutation and quotient caps and the grinding
//! witnesses; the public values and terminals are the caller's witnesses shared with
//! [`crate::air::verify`], so the values the AIR check reads are the ones the challenges were
//! drawn after. The caps are only observed here: the PCS verifier binds them, by opening
//! against the same variables. No randomization commitment (zero knowledge is unsupported).

use ark_bn254::Fr;
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};
use gnomon_machine::config::{OuterConfig, StarkParameters};
use gnomon_machine::verification::{Recorder, batch_shape};
use p3_air::BaseAir;
use p3_baby_bear::BabyBear;
use p3_batch_stark::CommonData;
use p3_batch_stark::proof::BatchProof;
use p3_bn254::Bn254;
use p3_field::PrimeCharacteristicRing;

use crate::air::{Challenges, OpeningsError, TableOpenings};
use crate::babybear::BabyBearVar;
use crate::challenger::ChallengerVar;
use crate::extension::{Ext, ExtVar};
use crate::native;

/// What the transcript of a batch fixes when the circuit is built (see the module
/// documentation).
#[derive(Clone, Debug)]
pub struct TranscriptShape {
    /// What the domain separator's seed observes.
    seed: Vec<BabyBear>,
    degree_bits: Vec<usize>,
    public_value_counts: Vec<usize>,
    /// The preprocessed commitment's cap roots, if the batch has one.
    pub(crate) preprocessed_cap: Option<Vec<Fr>>,
    num_lookup_instances: usize,
    lookup_pow_bits: usize,
    ood_pow_bits: usize,
    /// Roots per commitment: `2^cap_height`.
    cap_len: usize,
}

impl TranscriptShape {
    /// The transcript of a batch of `airs` with the batch's `common` data, proven with
    /// `parameters` (outer configuration, no zero knowledge) at degree bits `degree_bits`: the
    /// `BatchShape` `verify_batch` builds, from the same sources.
    pub fn new<A: BaseAir<BabyBear>>(
        airs: &[A],
        common: &CommonData<OuterConfig>,
        parameters: &StarkParameters,
        degree_bits: &[usize],
    ) -> Self {
        assert_eq!(degree_bits.len(), airs.len(), "one entry per table");
        let batch = batch_shape(airs, common, parameters);
        let mut seed = Recorder(Vec::new());
        batch.domain_separator::<BabyBear, Ext>().seed(&mut seed);
        let cap_len = 1 << parameters.cap_height;
        let preprocessed_cap = common.preprocessed.as_ref().map(|g| {
            let roots = g.commitment.roots();
            assert_eq!(
                roots.len(),
                cap_len,
                "the preprocessed cap has the cap height"
            );
            roots.iter().map(|root| native::to_fr(root[0])).collect()
        });
        Self {
            seed: seed.0,
            degree_bits: degree_bits.to_vec(),
            public_value_counts: batch.public_value_counts,
            preprocessed_cap,
            num_lookup_instances: batch.num_lookup_instances,
            lookup_pow_bits: batch.lookup_pow_bits,
            ood_pow_bits: batch.ood_pow_bits,
            cap_len,
        }
    }

    pub(crate) fn has_lookups(&self) -> bool {
        self.num_lookup_instances > 0
    }
}

/// A batch proof's commitments and grinding witnesses, in the circuit. The caps are public so
/// that the PCS verifier opens against the very variables the transcript observed.
#[derive(Clone, Debug)]
pub struct BatchCommitmentsVar {
    pub main: Vec<FpVar<Fr>>,
    /// Present exactly when a table has lookups.
    pub permutation: Option<Vec<FpVar<Fr>>>,
    pub quotient: Vec<FpVar<Fr>>,
    /// Present exactly when a table has lookups.
    lookup_pow: Option<BabyBearVar>,
    ood_pow: BabyBearVar,
}

fn shape_error(what: &'static str) -> OpeningsError {
    OpeningsError::Shape {
        table: "the batch".into(),
        what,
    }
}

impl BatchCommitmentsVar {
    /// Witnesses a proof's commitments and grinding witnesses (`None`: no assignment, for the
    /// setup). A proof of another shape (degree bits, cap lengths, which commitments and
    /// witnesses are present) has no witness: an error, as natively it is rejected.
    pub fn new_witness(
        cs: ConstraintSystemRef<Fr>,
        shape: &TranscriptShape,
        proof: Option<&BatchProof<OuterConfig>>,
    ) -> Result<Self, OpeningsError> {
        if let Some(proof) = proof {
            if proof.degree_bits != shape.degree_bits {
                return Err(shape_error("the degree bits"));
            }
            let cap_ok = |roots: &[[Bn254; 1]]| roots.len() == shape.cap_len;
            if !cap_ok(proof.commitments.main.roots()) {
                return Err(shape_error("the main commitment"));
            }
            if !cap_ok(proof.commitments.quotient_chunks.roots()) {
                return Err(shape_error("the quotient commitment"));
            }
            match &proof.commitments.permutation {
                Some(cap) if shape.has_lookups() && cap_ok(cap.roots()) => {}
                None if !shape.has_lookups() => {}
                _ => return Err(shape_error("the permutation commitment")),
            }
            if proof.commitments.random.is_some() {
                return Err(shape_error("the randomization commitment"));
            }
            if proof.lookup_pow_witness.is_some() != shape.has_lookups() {
                return Err(shape_error("the lookup grinding witness"));
            }
        }
        let cap = |roots: Option<&[[Bn254; 1]]>| {
            (0..shape.cap_len)
                .map(|i| {
                    FpVar::new_witness(cs.clone(), || {
                        roots
                            .map(|roots| native::to_fr(roots[i][0]))
                            .ok_or(SynthesisError::AssignmentMissing)
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let base = |value: Option<BabyBear>| {
            BabyBearVar::new_witness(cs.clone(), || {
                value.ok_or(SynthesisError::AssignmentMissing)
            })
        };
        let commitments = proof.map(|p| &p.commitments);
        Ok(Self {
            main: cap(commitments.map(|c| c.main.roots()))?,
            permutation: if shape.has_lookups() {
                Some(cap(commitments.map(|c| {
                    c.permutation.as_ref().expect("checked present").roots()
                }))?)
            } else {
                None
            },
            quotient: cap(commitments.map(|c| c.quotient_chunks.roots()))?,
            lookup_pow: if shape.has_lookups() {
                Some(base(
                    proof.map(|p| p.lookup_pow_witness.expect("checked present")),
                )?)
            } else {
                None
            },
            ood_pow: base(proof.map(|p| p.ood_pow_witness))?,
        })
    }
}

/// A grinding step: natively a zero-difficulty witness is not observed but must be zero,
/// otherwise it is observed and the next `bits` sampled bits must be zero.
fn grinding(
    challenger: &mut ChallengerVar,
    bits: usize,
    witness: &BabyBearVar,
) -> Result<(), SynthesisError> {
    if bits == 0 {
        witness.enforce_equal(&BabyBearVar::constant(BabyBear::ZERO))
    } else {
        challenger.check_witness(bits, witness)
    }
}

/// Replays `verify_batch`'s transcript from its seed to `zeta` on a fresh challenger
/// (`Outer::challenger()`'s initial state) and returns the challenges it draws, with the
/// challenger where the PCS verifier takes it over. `public_values[i]` are table `i`'s and
/// `openings[i].terminal` its LogUp terminal: the very variables [`crate::air::verify`]
/// reads.
///
/// # Panics
///
/// If the public values or terminals do not have the shape's counts (the caller witnessed
/// them for this shape).
pub fn replay(
    shape: &TranscriptShape,
    proof: &BatchCommitmentsVar,
    public_values: &[Vec<BabyBearVar>],
    openings: &[TableOpenings],
) -> Result<(Challenges, ChallengerVar), SynthesisError> {
    let mut challenger = ChallengerVar::new();
    assert_eq!(public_values.len(), shape.public_value_counts.len());
    assert_eq!(openings.len(), shape.degree_bits.len());
    for &value in &shape.seed {
        challenger.observe(&BabyBearVar::constant(value))?;
    }
    // The degree bits: constants, observed as extension elements.
    for &bits in &shape.degree_bits {
        challenger.observe_ext(&ExtVar::constant(Ext::from(BabyBear::from_usize(bits))))?;
    }
    challenger.observe_cap(&proof.main)?;
    for (values, &count) in public_values.iter().zip(&shape.public_value_counts) {
        assert_eq!(values.len(), count, "a table's public values");
        for value in values {
            challenger.observe(value)?;
        }
    }
    if let Some(cap) = &shape.preprocessed_cap {
        let cap: Vec<FpVar<Fr>> = cap.iter().map(|&root| FpVar::Constant(root)).collect();
        challenger.observe_cap(&cap)?;
    }
    let lookup = if shape.has_lookups() {
        let witness = proof.lookup_pow.as_ref().expect("witnessed for this shape");
        grinding(&mut challenger, shape.lookup_pow_bits, witness)?;
        let alpha = challenger.sample_ext()?;
        let beta = challenger.sample_ext()?;
        challenger.observe_cap(
            proof
                .permutation
                .as_ref()
                .expect("witnessed for this shape"),
        )?;
        Some((alpha, beta))
    } else {
        None
    };
    let terminals: Vec<&ExtVar> = openings
        .iter()
        .filter_map(|o| o.terminal.as_ref())
        .collect();
    assert_eq!(
        terminals.len(),
        shape.num_lookup_instances,
        "one terminal per lookup table"
    );
    for terminal in terminals {
        challenger.observe_ext(terminal)?;
    }
    let alpha = challenger.sample_ext()?;
    challenger.observe_cap(&proof.quotient)?;
    grinding(&mut challenger, shape.ood_pow_bits, &proof.ood_pow)?;
    let zeta = challenger.sample_ext()?;
    Ok((
        Challenges {
            lookup,
            alpha,
            zeta,
        },
        challenger,
    ))
}

#[cfg(test)]
pub(crate) mod tests {
    use ark_relations::gr1cs::{ConstraintSystem, SynthesisMode};
    use gnomon_machine::config::{F, Hashing, Outer};
    use gnomon_machine::public_values::offset::END_PC;
    use gnomon_machine::segment::{MachineKeys, SegmentProof};
    use gnomon_machine::verification::opening::NativeTranscript;
    use p3_batch_stark::BatchVerifierTranscript;
    use p3_challenger::{CanObserve, CanSample, GrindingChallenger};
    use p3_field::BasedVectorSpace;
    use p3_lookup::{LogUpGadget, LookupTerminal};
    use p3_symmetric::MerkleCap;

    use super::*;
    use crate::air::tests::{Fixture, copy, fixture, parameters, witnesses};
    use crate::air::verify;

    /// Replays `verify_batch`'s transcript of `proof`, a batch proof of a segment of `keys`'
    /// program with the segment's `public_values`, from `Outer::challenger()` to `zeta`; `None`
    /// when a grinding witness fails its check (natively a rejection).
    pub(crate) fn replay_native(
        keys: &MachineKeys<Outer>,
        proof: &BatchProof<OuterConfig>,
        public_values: &[BabyBear],
    ) -> Option<NativeTranscript<Outer>> {
        gnomon_machine::verification::opening::replay_native(
            keys.airs(),
            keys.common(),
            &keys.parameters(),
            proof,
            &keys.instance_public_values(public_values),
        )
    }

    fn transcript_shape(fixture: &Fixture) -> TranscriptShape {
        TranscriptShape::new(
            fixture.keys.airs(),
            fixture.keys.common(),
            &parameters(),
            &fixture.proof.proof.degree_bits,
        )
    }

    /// What one circuit of the transcript and the AIR check gives.
    struct Outcome {
        challenges: (Option<(Ext, Ext)>, Ext, Ext),
        satisfied: bool,
    }

    /// The transcript of `proof` (whose degree bits must be the fixture's: its shape) over
    /// the AIR check's witnesses; `setup` lays it out without values. Returns the challenges,
    /// the witnesses and the transcript's constraints (after the witnesses).
    fn transcript(
        cs: &ConstraintSystemRef<Fr>,
        fixture: &Fixture,
        proof: &SegmentProof<Outer>,
        setup: bool,
    ) -> (Challenges, Vec<TableOpenings>, Vec<Vec<BabyBearVar>>, usize) {
        let (challenges, _, openings, public_values, count) =
            transcript_of(cs, fixture, &transcript_shape(fixture), proof, setup);
        (challenges, openings, public_values, count)
    }

    /// [`transcript`] at another shape of the same tables, with the challenger after `zeta`.
    #[allow(clippy::type_complexity)]
    fn transcript_of(
        cs: &ConstraintSystemRef<Fr>,
        fixture: &Fixture,
        shape: &TranscriptShape,
        proof: &SegmentProof<Outer>,
        setup: bool,
    ) -> (
        Challenges,
        ChallengerVar,
        Vec<TableOpenings>,
        Vec<Vec<BabyBearVar>>,
        usize,
    ) {
        if setup {
            cs.set_mode(SynthesisMode::Setup);
        }
        let (openings, public_values) = witnesses(cs, fixture, proof, setup);
        let commitments =
            BatchCommitmentsVar::new_witness(cs.clone(), shape, (!setup).then_some(&proof.proof))
                .unwrap();
        let before = cs.num_constraints();
        let (challenges, challenger) =
            replay(shape, &commitments, &public_values, &openings).unwrap();
        let count = cs.num_constraints() - before;
        (challenges, challenger, openings, public_values, count)
    }

    /// The transcript and the AIR check over shared witnesses.
    fn circuit(fixture: &Fixture, proof: &SegmentProof<Outer>) -> Outcome {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let (challenges, openings, public_values, _) = transcript(&cs, fixture, proof, false);
        verify(&fixture.shape, &openings, &public_values, &challenges).unwrap();
        let value = |v: &ExtVar| v.value().unwrap();
        Outcome {
            challenges: (
                challenges
                    .lookup
                    .as_ref()
                    .map(|(alpha, beta)| (value(alpha), value(beta))),
                value(&challenges.alpha),
                value(&challenges.zeta),
            ),
            satisfied: cs.is_satisfied().unwrap(),
        }
    }

    fn native_challenges(fixture: &Fixture) -> (Option<(Ext, Ext)>, Ext, Ext) {
        let native = &fixture.native;
        (native.lookup, native.alpha, native.zeta)
    }

    /// The challenges drawn in the circuit are the native replay's (`verify_batch`'s
    /// transcript), and the AIR check at them is satisfied.
    #[test]
    fn the_challenges_are_the_native_transcripts() {
        let fixture = fixture();
        let outcome = circuit(fixture, &fixture.proof);
        assert!(fixture.native.lookup.is_some());
        assert_eq!(outcome.challenges, native_challenges(fixture));
        assert!(outcome.satisfied);
    }

    /// Tampers with the proof (natively rejected): the circuit draws other challenges and is
    /// unsatisfied.
    fn assert_rejected(what: &str, tamper: impl Fn(&mut SegmentProof<Outer>)) {
        let fixture = fixture();
        let mut proof = copy(&fixture.proof);
        tamper(&mut proof);
        assert!(fixture.keys.verify_segment(&proof).is_err(), "{what}");
        let outcome = circuit(fixture, &proof);
        assert_ne!(outcome.challenges, native_challenges(fixture), "{what}");
        assert!(!outcome.satisfied, "{what}");
    }

    fn bump(
        cap: &MerkleCap<BabyBear, [Bn254; 1]>,
        index: usize,
    ) -> MerkleCap<BabyBear, [Bn254; 1]> {
        let mut roots = cap.roots().to_vec();
        roots[index][0] += Bn254::ONE;
        MerkleCap::new(roots)
    }

    /// A commitment only the transcript reads here (the PCS verifier opens against it later):
    /// changing one cap root changes `zeta` and `alpha`, and the honest openings no longer
    /// satisfy the AIR check.
    #[test]
    fn a_tampered_commitment_changes_the_challenges() {
        assert_rejected("main", |proof| {
            proof.proof.commitments.main = bump(&proof.proof.commitments.main, 0);
        });
        assert_rejected("permutation", |proof| {
            let cap = proof.proof.commitments.permutation.as_ref().unwrap();
            let last = cap.roots().len() - 1;
            proof.proof.commitments.permutation = Some(bump(cap, last));
        });
        assert_rejected("quotient", |proof| {
            proof.proof.commitments.quotient_chunks =
                bump(&proof.proof.commitments.quotient_chunks, 0);
        });
    }

    #[test]
    fn a_tampered_public_value_or_terminal_changes_the_challenges() {
        assert_rejected("public value", |proof| {
            proof.public_values[END_PC] += F::ONE
        });
        let index = (0..fixture().shape.tables().len())
            .find(|&i| fixture().shape.tables()[i].num_lookups() > 0)
            .unwrap();
        assert_rejected("terminal", |proof| {
            let terminal = proof.proof.lookup_terminals[index].as_ref().unwrap().0;
            proof.proof.lookup_terminals[index] = Some(LookupTerminal(terminal + Ext::ONE));
        });
    }

    /// At zero difficulty the grinding witnesses are observed by nobody, so only the check
    /// that they are zero binds them (natively `NonCanonical*PowWitness`).
    #[test]
    fn nonzero_zero_difficulty_grinding_witnesses_fail() {
        let fixture = fixture();
        assert_eq!(parameters().lookup_pow_bits, 0);
        assert_eq!(parameters().deep_pow_bits, 0);
        for lookup in [false, true] {
            let mut proof = copy(&fixture.proof);
            if lookup {
                proof.proof.lookup_pow_witness = Some(F::ONE);
            } else {
                proof.proof.ood_pow_witness = F::ONE;
            }
            assert!(fixture.keys.verify_segment(&proof).is_err());
            // The transcript alone: the AIR check does not read the witnesses.
            let cs = ConstraintSystem::<Fr>::new_ref();
            transcript(&cs, fixture, &proof, false);
            assert!(!cs.is_satisfied().unwrap(), "lookup {lookup}");
        }
    }

    /// At a nonzero difficulty (the outer parameters grind 16 bits) each grinding witness is
    /// observed and the next bits sampled must be zero: the fixture's proof with witnesses
    /// ground here for 3 bits, against the native transcript at that difficulty (which
    /// accepts them), then with a witness it rejects.
    #[test]
    fn grinding_at_a_nonzero_difficulty() {
        const BITS: usize = 3;
        let fixture = fixture();
        let mut parameters = parameters();
        parameters.lookup_pow_bits = BITS;
        parameters.deep_pow_bits = BITS;
        let (airs, common) = (fixture.keys.airs(), fixture.keys.common());
        let batch = batch_shape(airs, common, &parameters);
        let proof = &fixture.proof.proof;
        let public_values = fixture
            .keys
            .instance_public_values(&fixture.proof.public_values);
        let terminals = gnomon_machine::verification::opening::terminal_values::<Outer>(proof);
        let observe_ext = |ch: &mut <Outer as Hashing>::Challenger, value: Ext| {
            for &limb in BasedVectorSpace::<F>::as_basis_coefficients_slice(&value) {
                ch.observe(limb);
            }
        };
        // The witnesses, ground on a challenger driven in the native order; the states
        // before each grind are kept to find rejected witnesses.
        let mut ch = Outer::challenger();
        batch.domain_separator::<F, Ext>().seed(&mut ch);
        for &bits in &proof.degree_bits {
            observe_ext(&mut ch, Ext::from(F::from_usize(bits)));
        }
        ch.observe(proof.commitments.main.clone());
        for values in &public_values {
            ch.observe_slice(values);
        }
        ch.observe(common.preprocessed.as_ref().unwrap().commitment.clone());
        let before_lookup = ch.clone();
        let lookup_pow = ch.grind(BITS);
        let _: [Ext; 2] = [ch.sample(), ch.sample()];
        ch.observe(proof.commitments.permutation.clone().unwrap());
        for &terminal in &terminals {
            observe_ext(&mut ch, terminal);
        }
        let _: Ext = ch.sample();
        ch.observe(proof.commitments.quotient_chunks.clone());
        let before_ood = ch.clone();
        let ood_pow = ch.grind(BITS);
        // The native transcript accepts them.
        let mut native = Outer::challenger();
        let mut transcript =
            BatchVerifierTranscript::<_, F, Ext, _>::new(&mut native, batch.clone());
        transcript.instance_bindings(&proof.degree_bits);
        transcript.main_phase(proof.commitments.main.clone(), &public_values);
        transcript.preprocessed_phase(common.preprocessed.as_ref().map(|g| g.commitment.clone()));
        let laid_out = transcript
            .lookup_phase(&common.lookups, &LogUpGadget::new(), Some(lookup_pow))
            .expect("the lookup grinding checks");
        let alpha = transcript.permutation_phase(proof.commitments.permutation.clone(), &terminals);
        transcript.quotient_phase(proof.commitments.quotient_chunks.clone(), None);
        let zeta = transcript
            .ood_phase(ood_pow)
            .expect("the out-of-domain grinding checks");
        transcript.abort();
        let native_next: Ext = native.sample();
        let beta = laid_out.iter().find(|laid| !laid.is_empty()).unwrap()[1];
        // The circuit at that difficulty draws the same challenges.
        let shape = TranscriptShape::new(airs, common, &parameters, &proof.degree_bits);
        let with = |lookup: F, ood: F| {
            let mut tampered = copy(&fixture.proof);
            tampered.proof.lookup_pow_witness = Some(lookup);
            tampered.proof.ood_pow_witness = ood;
            let cs = ConstraintSystem::<Fr>::new_ref();
            let (challenges, mut challenger, ..) =
                transcript_of(&cs, fixture, &shape, &tampered, false);
            // The challenger is left where the PCS verifier continues: its next draw.
            let next = challenger.sample_ext().unwrap().value().unwrap();
            (challenges, next, cs.is_satisfied().unwrap())
        };
        let (challenges, next, satisfied) = with(lookup_pow, ood_pow);
        assert!(satisfied);
        assert_eq!(next, native_next);
        assert_eq!(challenges.lookup.unwrap().1.value().unwrap(), beta);
        assert_eq!(challenges.alpha.value().unwrap(), alpha);
        assert_eq!(challenges.zeta.value().unwrap(), zeta);
        // A witness the native check rejects, at either site.
        let rejected = |state: &<Outer as Hashing>::Challenger| {
            (0u32..)
                .map(F::from_u32)
                .find(|&w| !state.clone().check_witness(BITS, w))
                .unwrap()
        };
        assert!(!with(rejected(&before_lookup), ood_pow).2);
        assert!(!with(lookup_pow, rejected(&before_ood)).2);
    }

    /// A proof of another shape has no witness.
    #[test]
    fn commitments_of_another_shape_are_an_error() {
        let fixture = fixture();
        let shape = transcript_shape(fixture);
        let mut proof = copy(&fixture.proof);
        proof.proof.degree_bits[0] += 1;
        let cs = ConstraintSystem::<Fr>::new_ref();
        let error =
            BatchCommitmentsVar::new_witness(cs.clone(), &shape, Some(&proof.proof)).unwrap_err();
        assert!(error.to_string().contains("the degree bits"), "{error}");
        let mut proof = copy(&fixture.proof);
        proof.proof.commitments.permutation = None;
        let error = BatchCommitmentsVar::new_witness(cs, &shape, Some(&proof.proof)).unwrap_err();
        assert!(
            error.to_string().contains("the permutation commitment"),
            "{error}"
        );
    }

    /// The constraints of the transcript part, the same with and without values.
    pub(crate) fn transcript_count() -> usize {
        let fixture = fixture();
        let count = |setup| {
            let cs = ConstraintSystem::<Fr>::new_ref();
            transcript(&cs, fixture, &fixture.proof, setup).3
        };
        let proving = count(false);
        assert_eq!(proving, count(true));
        proving
    }
}
