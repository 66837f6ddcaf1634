//! The Groth16 wrap of Gnomon's outer STARK (issue 6): the verifier circuit of the outer
//! configuration (`gnomon_machine::config::outer`) in R1CS over BN254, the R1CS gadgets it is
//! composed of, and its Groth16 setup and prover.
//!
//! This crate owns the in-circuit mirror of the outer configuration's primitives:
//!
//! - [`babybear`]: BabyBear arithmetic with lazy reduction (a BN254 variable and a bound).
//! - [`extension`]: the degree-4 extension `BabyBear[X] / (X^4 - 11)`.
//! - [`poseidon2`]: Poseidon2 over BN254, width 3, and the Merkle two-to-one compression.
//! - [`challenger`]: the Fiat-Shamir transcript, mirroring Plonky3's
//!   `MultiField32Challenger<BabyBear, Bn254, Poseidon2, 3, 2>` step by step.
//! - [`merkle`]: the leaf hash (`MultiField32PaddingFreeSponge`) and authentication paths of
//!   `MerkleTreeMmcs` with caps.
//! - [`fri`]: the arity-2 fold of p3-fri's `TwoAdicFriFolding`.
//! - [`pcs`]: the PCS verifier, `TwoAdicFriPcs::verify` of the outer configuration, built
//!   from the above: the core of the STARK verifier circuit.
//! - [`air`]: the AIR and LogUp constraints of every table at the out-of-domain point, checked
//!   against the recomposed quotient, and the LogUp terminal sum: the rest of
//!   p3-batch-stark's `verify_batch` after the opening.
//! - [`transcript`]: `verify_batch`'s transcript from its seed to `zeta`, which draws the
//!   challenges [`air`] takes.
//! - [`verifier`]: the circuit composed of the three over shared variables, with the run's
//!   statement and the two public inputs (the program commitment and the output digest).
//! - [`groth16`]: its setup (single-party, for development; the ceremony that replaces it is
//!   written down there), its prover, and the check a settlement program makes.
//! - [`keys`]: a setup's keys on disk, with what circuit they are for, checked before proving
//!   (`gnomon setup` writes them; `gnomon wrap` and the engine's workers read them).
//!
//! It must never accept what the native verifier rejects, nor reject what it accepts: every
//! gadget constrains each value it witnesses (range checks, canonical decompositions, no
//! unconstrained hints), lays out the same constraints with or without values (Groth16's
//! setup), and is tested against the native Plonky3 code it mirrors, on valid inputs and on
//! tampered ones. Known limits: Merkle openings take power-of-two heights no shorter than the
//! cap (every outer-configuration tree has them); the Poseidon2 round constants are
//! regenerated here by the machine's documented procedure (its copy is private) and the tests
//! compare the gadget with the machine's permutation.
//! Its circuit holds no keys (the [`keys`] module keeps a setup's keys on disk, apart from
//! it); it must never fix values the circuit should bind
//! (every proof value is a witness, every parameter a compile-time constant of the
//! configuration).
//!
//! The circuit verifies one of two kinds of final proof ([`verifier::VerifierShape`]): a run
//! proven in one segment of the RV32IM machine (one circuit per program and table heights),
//! or a run's wrap-ready proof (`gnomon_recursion::aggregation::WrapReadyKeys`: the
//! aggregation tree's root re-proven in the outer configuration by the recursion machine, at
//! one fixed shape), whose circuit serves every run of the program. The batch's `CommonData`
//! (lookups, preprocessed widths and commitment: circuit constants) comes from the keys.
//!
//! # The PCS verifier
//!
//! [`pcs::verify`] checks an opening proof of `TwoAdicFriPcs` exactly as p3-fri's
//! `Pcs::verify` does for the outer configuration (arity-2 folds, caps, the parameters of a
//! [`gnomon_machine::config::StarkParameters`]): zero-difficulty grinding witnesses are zero;
//! the transcript observes the PCS domain separator's seed, the claimed values, checks the
//! batch grinding, samples `alpha`, observes the FRI seed, then per commit round the cap
//! (grinding, `beta`), the final polynomial, checks the query grinding and samples the query
//! indices; per query the input rows open against each round's cap, the reduced openings
//! accumulate per height, the commit-phase pairs open and fold with the roll-ins, and the final
//! polynomial (Horner, at the folded index's point) must equal the folded value. Inputs:
//! [`pcs::OpeningShape`] (heights, widths, point counts: circuit constants), the claims
//! ([`pcs::CommitmentClaims`]: caps, points, values), the proof ([`pcs::FriProofVar`], from a
//! native proof by [`pcs::FriProofWitness::new`]) and the caller's [`challenger::ChallengerVar`].
//! **The caller must bind** the transcript before the opening (the caps observed when
//! committed, the opening points sampled from it: the gadget observes neither, as natively).
//! One difference from the native code, with the same accepted set: the proof's pruned Merkle
//! multi-paths are checked as one restored path per query (restored by p3's
//! `restore_and_recompute_paths`), since a circuit's layout cannot depend on which queries
//! share nodes.
//!
//! # The constraints at the out-of-domain point
//!
//! [`air::verify`] checks, for every table of a batch proof, what `verify_batch` checks after
//! the opening (`VerifierData::verify_constraints_with_lookups`): the trace domain's selectors
//! at `zeta` (`zeta^N - 1` proven invertible, as natively a point on the domain is rejected),
//! the AIR's constraints and then LogUp's (fraction pins, accumulator, terminal) folded with
//! the powers of `alpha` in emission order, the quotient recomposed from its opened chunks with
//! the chunk domains' zerofier factors, `folded * inv_vanishing = quotient(zeta)`; then that
//! the LogUp terminals sum to zero. The constraints are p3's symbolic ones
//! (`InteractionSymbolicBuilder` over the AIR and the LogUp gadget), computed when the circuit
//! is built ([`air::MachineShape::new`], from the airs, the batch's `CommonData` lookups and
//! preprocessed widths, and the degree bits: circuit constants); the LogUp challenges are laid
//! out per bus from the drawn pair ([`air::lookup_challenges`]). Opened values,
//! terminals and public values are witnesses ([`air::TableOpenings`]); the caller must bind
//! them (the PCS verifier binds the opened values, the transcript the rest) and the
//! challenges. Not supported, asserted when built: periodic columns, zero knowledge.
//! Tested on a real outer-configuration proof of a machine segment: every table satisfied,
//! and tampered main values, quotient chunks, permutation values, terminals, public values,
//! `alpha`, `zeta` or the LogUp pair, and a `zeta` on a trace domain, each unsatisfied (the
//! native verifier rejects the tampered proofs).
//!
//! # The transcript to `zeta`
//!
//! [`transcript::replay`] replays `verify_batch`'s transcript on a fresh
//! [`challenger::ChallengerVar`] (which it returns) in the native order: the seed of the batch's domain separator,
//! every table's degree bits, the main cap and the public values, the preprocessed cap, the
//! lookup grinding and the LogUp pair, the permutation cap and the terminals, the folding
//! `alpha`, the quotient cap, the out-of-domain grinding and `zeta`; it returns the
//! [`air::Challenges`] and leaves the challenger where the PCS verifier continues. The shape
//! ([`transcript::TranscriptShape`]: seed, degree bits, counts, grinding difficulties, the
//! preprocessed cap from `CommonData`) is circuit constants; the caps and grinding witnesses
//! are witnesses ([`transcript::BatchCommitmentsVar`], public for the PCS verifier to open
//! against), and the public values and terminals are the very variables [`air::verify`]
//! reads. Tested on the real segment proof: the challenges equal the native replay's and the
//! transcript with the AIR check is satisfied; a tampered main, permutation or quotient cap
//! root, public value or terminal changes the challenges and leaves it unsatisfied, as do
//! nonzero grinding witnesses at zero difficulty; at a nonzero difficulty (3 bits, witnesses
//! ground for the test) the challenges equal the native transcript's and witnesses it rejects
//! are unsatisfied.
//!
//! # The verifier circuit and its Groth16 proof
//!
//! [`verifier::VerifierCircuit`] composes the three over shared variables (see [`verifier`]):
//! one witness per opened value, drawn into the transcript before the challenges that check
//! it, read by the AIR check and claimed to the PCS at the points `zeta` and `g_i * zeta`; the
//! PCS opens against the caps the transcript observed and continues its challenger. Its
//! statement is a whole run of the circuit's program in one segment that halts with 0; its
//! public inputs are the program commitment and the output digest exactly as
//! `gnomon_settlement_verifier::inputs` computes them. [`verifier::VerifierWitness`] admits
//! only proofs the native verifier accepts (a typed [`verifier::WrapError`] otherwise).
//! Tested on a real outer-configuration run: the honest proof satisfies it with the
//! settlement inputs; tampered opened values (main, quotient, permutation at `g * zeta`),
//! public values, the output digest, opened rows, input and commit-phase paths, fold
//! siblings, commit-phase caps, the final polynomial, the main cap and either public input
//! each leave it unsatisfied; each rule of the statement is tested alone; the setup lays out
//! the same system. [`groth16`] runs the setup, proves, and verifies through
//! groth16-solana; `gnomon setup`, `gnomon wrap` and `gnomon verify-groth16` are its verbs.
//!
//! The API is small on purpose: [`babybear::BabyBearVar`] (with
//! [`babybear::BabyBearVar::new_opened_witness`] for values a Merkle opening binds),
//! [`extension::ExtVar`], [`poseidon2::permute`] / [`poseidon2::compress`],
//! [`challenger::ChallengerVar`],
//! [`merkle::hash_leaf`] / [`merkle::verify_batch`], [`fri::fold_step`] /
//! [`fri::fold_pair`] / [`fri::fold_scale`] / [`fri::next_fold_scale`], [`pcs::verify`] with
//! [`pcs::FriProofVar::new_witness`] / [`pcs::claims_witness`], [`air::verify`] with
//! [`air::MachineShape`] / [`air::TableOpenings`] / [`air::Challenges`],
//! [`transcript::replay`] with [`transcript::TranscriptShape`] /
//! [`transcript::BatchCommitmentsVar`], [`verifier::VerifierCircuit`] with
//! [`verifier::VerifierShape`] / [`verifier::VerifierWitness`], [`groth16::setup`] /
//! [`groth16::prove`] / [`groth16::verify`], and [`native`] conversions.
//!
//! # Measured constraint counts
//!
//! `cargo test -p gnomon-wrap -- --nocapture constraint_counts` prints them (and asserts the
//! bounds); as of this writing:
//!
//! | gadget | constraints |
//! |---|---|
//! | BabyBear witness, checked canonical | 35 |
//! | BabyBear witness opened from a Merkle tree (31 bits; the opening binds the rest) | 31 |
//! | BabyBear multiplication, reduced (31 quotient bits + 35 remainder + 1 fused product) | 67 |
//! | BabyBear multiplication, weakly reduced (remainder below `2^31`, not `p`) | 64 |
//! | BabyBear product checked equal to a value, unreduced (no remainder) | 33 |
//! | extension multiplication, unreduced (7-point evaluation) | 7 |
//! | extension multiplication, schoolbook (for comparison, not used) | 16 |
//! | extension multiplication, then all 4 limbs reduced | 291 |
//! | extension inverse (witnessed, checked by a product) | 291 |
//! | Poseidon2-BN254 permutation (80 S-boxes of 3) | 240 |
//! | transcript: 16 observed values (one absorb) | 240 |
//! | transcript: a sample that splits a new squeezed cell (7 limbs) | 544 |
//! | transcript: each further sample from that cell | 0 |
//! | Merkle path: 2^20 leaves, cap of 16, a one-value leaf | 4,112 |
//! | FRI fold with its scale computed from 20 index bits | 693 |
//! | FRI fold round, scale carried from the previous round, result reduced | 503 |
//! | PCS verification, outer parameters, 3 rounds of 2^16 rows (40 + 16 + 8 columns at 2, 2, 1 points): all 21 queries, transcript and witnesses | 1,371,379 |
//! | of which once: transcript, grinding, 120 powers of alpha (two ladders of 11 reduced factors, then 7 a power), claimed sums (224 cap roots absorbed one permutation each: ~54k) | 85,325 |
//! | of which per query: query points and input openings (3 paths of 16 levels) | 13,508 |
//! | per query: reduced openings (120 column-points, 5 inverses) | 1,976 |
//! | per query: 14 commit-phase openings (paths of 15 down to 2 levels) and folds | 40,572 |
//! | per query: final polynomial (4 coefficients) | 578 |
//! | per query, in all (with the opened values' range checks) | 60,354 |
//! | AIR and LogUp at `zeta`, all 23 tables of a segment (witnesses not included) | 405,691 |
//! | of which shared: powers of `alpha` (to `alpha^32`), LogUp challenges, terminal sum | 10,239 |
//! | of which the Poseidon2 table (286 constraints) | 108,461 |
//! | of which the boundary table (25 constraints, 19 lookups; with the selectors of its height and the powers of `beta`, which later tables share) | 78,219 |
//! | of which the SHA-256 syscall table (223 constraints) | 41,816 |
//! | of which the SHA-256 compression table (784 constraints) | 35,634 |
//! | of which the FP25519 table | 38,281 |
//! | of which the other 18 tables | 93,041 |
//! | batch transcript to `zeta`, same segment (testing parameters: caps of one root, no grinding; 5 squeezed cells split; witnesses not included) | 10,578 |
//! | the whole verifier circuit of a one-segment run of `fibonacci(20)`, testing parameters (`cargo bench -p gnomon-wrap --bench circuit` gives it by part) | 3,210,461 |
//! | the same at the outer parameters | 8,418,384 |
//!
//! The AIR counts barely depend on the segment's heights (only `zeta^(2^k)` and each height's
//! selectors do). Reductions dominate them: the opened values are extension elements, so every
//! product of two of them grows the bound by about 37 bits, which a reduction pays back at 4
//! constraints a bit. [`air`] reduces a shared operand once, before the products it enters
//! (LogUp's denominators, the hash tables' states after a linear layer), and combines LogUp
//! tuples against shared powers of `beta` instead of by Horner's rule (no product chain).
//!
//! Reductions are what cost: keep values unreduced through sums of products and reduce once,
//! before a comparison, an observe or a hash.

pub mod air;
pub mod babybear;
pub mod challenger;
pub mod extension;
pub mod fri;
pub mod groth16;
pub mod keys;
pub mod merkle;
pub mod native;
pub mod pcs;
pub mod poseidon2;
pub mod transcript;
pub mod verifier;

#[cfg(test)]
mod test_util;

#[cfg(test)]
mod constraint_counts {
    use ark_bn254::Fr;
    use ark_relations::gr1cs::{ConstraintSystem, ConstraintSystemRef};

    use crate::babybear::BabyBearVar;
    use crate::extension::ExtVar;
    use crate::test_util::Rng;

    fn count(build: impl FnOnce(&ConstraintSystemRef<Fr>) -> Box<dyn FnOnce()>) -> usize {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let measured = build(&cs);
        let before = cs.num_constraints();
        measured();
        cs.num_constraints() - before
    }

    /// Prints the cost of each gadget (`cargo test -p gnomon-wrap -- --nocapture
    /// constraint_counts`) and keeps each below its bound.
    #[test]
    fn constraint_counts() {
        let mut rng = Rng::new(12);
        let (a, b) = (rng.babybear(), rng.babybear());
        let (x, y) = (rng.ext(), rng.ext());
        let base_witness = {
            let cs = ConstraintSystem::<Fr>::new_ref();
            BabyBearVar::new_witness(cs.clone(), || Ok(a)).unwrap();
            cs.num_constraints()
        };
        let base_mul = count(|cs| {
            let (a, b) = (
                BabyBearVar::new_witness(cs.clone(), || Ok(a)).unwrap(),
                BabyBearVar::new_witness(cs.clone(), || Ok(b)).unwrap(),
            );
            Box::new(move || {
                a.mul_reduced(&b).unwrap();
            })
        });
        let base_mul_weak = count(|cs| {
            let (a, b) = (
                BabyBearVar::new_witness(cs.clone(), || Ok(a)).unwrap(),
                BabyBearVar::new_witness(cs.clone(), || Ok(b)).unwrap(),
            );
            Box::new(move || {
                a.mul(&b).unwrap().reduce_weak().unwrap();
            })
        });
        let base_equal_unreduced = count(|cs| {
            let (a, b) = (
                BabyBearVar::new_witness(cs.clone(), || Ok(a)).unwrap(),
                BabyBearVar::new_witness(cs.clone(), || Ok(b)).unwrap(),
            );
            Box::new(move || {
                let product = a.mul(&b).unwrap();
                product
                    .enforce_equal(&BabyBearVar::constant(
                        a.value().unwrap() * b.value().unwrap(),
                    ))
                    .unwrap();
            })
        });
        let ext_mul = count(|cs| {
            let (x, y) = (
                ExtVar::new_witness(cs.clone(), || Ok(x)).unwrap(),
                ExtVar::new_witness(cs.clone(), || Ok(y)).unwrap(),
            );
            Box::new(move || {
                x.mul(&y).unwrap();
            })
        });
        let ext_mul_reduced = count(|cs| {
            let (x, y) = (
                ExtVar::new_witness(cs.clone(), || Ok(x)).unwrap(),
                ExtVar::new_witness(cs.clone(), || Ok(y)).unwrap(),
            );
            Box::new(move || {
                x.mul(&y).unwrap().reduce().unwrap();
            })
        });
        let ext_inverse = count(|cs| {
            let x = ExtVar::new_witness(cs.clone(), || Ok(x)).unwrap();
            Box::new(move || {
                x.inverse().unwrap();
            })
        });
        let permutation = count(|cs| {
            let state: [ark_r1cs_std::fields::fp::FpVar<Fr>; 3] = std::array::from_fn(|i| {
                ark_r1cs_std::alloc::AllocVar::new_witness(cs.clone(), || Ok(Fr::from(i as u8)))
                    .unwrap()
            });
            Box::new(move || {
                let _ = crate::poseidon2::permute(&state).unwrap();
            })
        });
        let opened_witness = {
            let cs = ConstraintSystem::<Fr>::new_ref();
            BabyBearVar::new_opened_witness(cs.clone(), || Ok(a)).unwrap();
            cs.num_constraints()
        };
        let schoolbook = crate::extension::tests::schoolbook_constraints();
        let (observe16, first_sample, next_sample) = crate::challenger::tests::costs();
        let path = crate::merkle::tests::path_constraints();
        let fold = crate::fri::tests::fold_constraints(20);
        let fold_round = crate::fri::tests::fold_round_constraints();
        let (pcs_total, pcs_query, _) = crate::pcs::tests::realistic_counts();
        let (air_total, air_tables) = crate::air::tests::machine_counts();
        let transcript = crate::transcript::tests::transcript_count();
        println!("constraints per gadget (gnomon-wrap):");
        println!("  BabyBear witness, canonical:              {base_witness}");
        println!("  BabyBear witness, opened (31-bit):        {opened_witness}");
        println!("  BabyBear reduced multiplication:          {base_mul}");
        println!("  BabyBear multiplication, weakly reduced:  {base_mul_weak}");
        println!("  BabyBear product checked equal, unreduced: {base_equal_unreduced}");
        println!("  extension multiplication, unreduced:       {ext_mul}");
        println!("  extension multiplication, schoolbook:      {schoolbook} (not used)");
        println!("  extension multiplication, then reduced:    {ext_mul_reduced}");
        println!("  extension inverse (witness + check):       {ext_inverse}");
        println!("  Poseidon2-BN254 permutation:               {permutation}");
        println!("  transcript: 16 observed values (1 perm.):  {observe16}");
        println!("  transcript: sample splitting a new cell:   {first_sample}");
        println!("  transcript: next 6 samples of that cell:   {next_sample} each");
        println!("  Merkle path, 2^20 leaves, cap 16, 1 value: {path}");
        println!("  FRI fold, scale from 20 index bits:        {fold}");
        println!("  FRI fold round, scale carried, reduced:    {fold_round}");
        println!(
            "  PCS verification, 3 rounds of 2^16 rows (40 + 16 + 8 columns), outer parameters:"
        );
        println!("    all 21 queries and the transcript:       {pcs_total}");
        println!("    per query:                               {pcs_query}");
        println!(
            "  AIR and LogUp constraints at zeta, every table of a 2^11-cycle segment: {air_total}"
        );
        let shared = air_total - air_tables.iter().map(|table| table.3).sum::<usize>();
        println!("    shared (alpha powers, LogUp challenges, terminal sum): {shared}");
        println!("    table: constraints folded, quotient chunks, R1CS constraints");
        for (name, folded, chunks, count) in &air_tables {
            println!("    {name:<18} {folded:>5} {chunks:>2} {count:>9}");
        }
        println!("  batch transcript to zeta, same segment (witnesses not included): {transcript}");
        assert!(base_mul <= 67);
        assert_eq!(opened_witness, 31);
        assert!(base_mul_weak <= 64);
        assert!(ext_mul <= 7);
        assert!(permutation <= 240);
        assert!(first_sample <= 560);
        assert!(path <= 17 * 241 + 16);
        assert!(fold <= 750);
        assert!(fold_round <= 520);
        assert!(pcs_query <= 61_000, "{pcs_query}");
        assert!(pcs_total <= 1_400_000, "{pcs_total}");
        assert!(air_total <= 406_000, "{air_total}");
        assert!(transcript <= 11_000, "{transcript}");
    }
}

/// Groth16's setup synthesizes without values: every gadget must lay out exactly the same
/// constraints with and without an assignment (its choices depend on bounds and constants,
/// never on values).
#[cfg(test)]
mod setup_mode {
    use ark_bn254::Fr;
    use ark_r1cs_std::alloc::AllocVar;
    use ark_r1cs_std::boolean::Boolean;
    use ark_r1cs_std::fields::fp::FpVar;
    use ark_relations::gr1cs::{ConstraintSystem, ConstraintSystemRef, SynthesisMode};

    use crate::babybear::BabyBearVar;
    use crate::challenger::ChallengerVar;
    use crate::extension::ExtVar;
    use crate::test_util::Rng;
    use crate::{fri, merkle};

    fn synthesize(cs: &ConstraintSystemRef<Fr>) -> (usize, usize) {
        let mut rng = Rng::new(31);
        let base = |rng: &mut Rng| {
            let value = rng.babybear();
            BabyBearVar::new_witness(cs.clone(), || Ok(value)).unwrap()
        };
        let ext = |rng: &mut Rng| {
            let value = rng.ext();
            ExtVar::new_witness(cs.clone(), || Ok(value)).unwrap()
        };
        let digest = |rng: &mut Rng| {
            let value = crate::native::to_fr(rng.bn254());
            FpVar::new_witness(cs.clone(), || Ok(value)).unwrap()
        };
        let (a, b) = (base(&mut rng), base(&mut rng));
        let (x, y) = (ext(&mut rng), ext(&mut rng));
        let mut challenger = ChallengerVar::new();
        challenger.observe(&a.mul(&b).unwrap()).unwrap();
        challenger.observe_digest(&digest(&mut rng)).unwrap();
        let beta = challenger.sample_ext().unwrap();
        let bits = challenger.sample_bits(12).unwrap();
        challenger.check_witness(4, &base(&mut rng)).unwrap();
        let folded = fri::fold_step(&bits, &beta, &x.mul(&y).unwrap(), &y.inverse().unwrap())
            .unwrap()
            .reduce()
            .unwrap();
        let cap: Vec<FpVar<Fr>> = (0..4).map(|_| digest(&mut rng)).collect();
        let siblings: Vec<FpVar<Fr>> = (0..10).map(|_| digest(&mut rng)).collect();
        let rows = vec![
            merkle::OpenedRow {
                log_height: 12,
                values: folded.limbs().to_vec(),
            },
            merkle::OpenedRow {
                log_height: 9,
                values: vec![a.clone(), b.clone()],
            },
        ];
        let index: Vec<Boolean<Fr>> = bits.clone();
        merkle::verify_batch(&cap, 2, &index, &rows, &siblings).unwrap();
        a.enforce_equal(&b).unwrap();
        (cs.num_constraints(), cs.num_witness_variables())
    }

    #[test]
    fn setup_and_proving_synthesize_the_same_system() {
        let proving = ConstraintSystem::<Fr>::new_ref();
        let with_values = synthesize(&proving);
        let setup = ConstraintSystem::<Fr>::new_ref();
        setup.set_mode(SynthesisMode::Setup);
        let without_values = synthesize(&setup);
        assert_eq!(with_values, without_values);
        assert!(with_values.0 > 5_000);
    }
}
