//! A recursion program verifies a batch proof: the transcript to `zeta`, every table's
//! constraints (AIR and LogUp), the LogUp terminals' sum and the opening proof (FRI). On a
//! real proof of the recursion machine it draws the native verifier's `zeta` and passes, and
//! the run is proven; any tampered commitment, opened value, terminal, public value, proof of
//! work, Merkle path, opened row, fold or final polynomial fails it, and so does a proof of
//! another program.

use gnomon_machine::config::{EF, F, Hashing, Inner, StarkParameters};
use gnomon_machine::verification::batch_shape;
use gnomon_machine::verification::opening::OpeningWitness;
use gnomon_recursion::batch::{self, BatchCheck, BatchProofCells};
use gnomon_recursion::program::{Builder, Felt};
use gnomon_recursion::{Program, RecursionKeys, RecursionProof, RunError};
use p3_batch_stark::BatchVerifierTranscript;
use p3_field::{BasedVectorSpace, PrimeCharacteristicRing};
use p3_lookup::LogUpGadget;

/// A proof of a small program with every table in use: arithmetic, a permutation, publics.
fn inner() -> (RecursionKeys, RecursionProof) {
    let mut builder = Builder::default();
    let x = builder.witness_ext();
    let square = builder.mul(x, x);
    let input: [Felt; 16] = std::array::from_fn(|_| builder.witness_felt());
    let output = builder.poseidon2(input);
    let sum = builder.add(output[0], output[1]);
    builder.public(sum);
    builder.public(output[2]);
    let c = builder.constant_ext(EF::from(F::from_u32(3)));
    let shifted = builder.add(square, c);
    let w = builder.witness_ext();
    builder.assert_eq(shifted, w);
    let keys = RecursionKeys::<Inner>::new(builder.build(), StarkParameters::testing());
    let x_value = EF::from_basis_coefficients_fn(|k| F::from_u32(k as u32 + 2));
    let witness: Vec<EF> = std::iter::once(x_value)
        .chain((0..16).map(|lane| EF::from(F::from_u32(lane))))
        .chain(std::iter::once(
            x_value * x_value + EF::from(F::from_u32(3)),
        ))
        .collect();
    let proof = keys.prove(&witness).unwrap();
    keys.verify(&proof).unwrap();
    (keys, proof)
}

fn check_of(keys: &RecursionKeys, proof: &RecursionProof) -> BatchCheck {
    let names: Vec<String> = keys
        .airs()
        .iter()
        .map(|air| air.name().to_string())
        .collect();
    BatchCheck::new(
        &names,
        keys.airs(),
        keys.common(),
        &keys.parameters(),
        &proof.proof.degree_bits,
    )
    .unwrap()
}

/// The opening proof of `proof` as the program's witness takes it.
fn opening(keys: &RecursionKeys, proof: &RecursionProof) -> OpeningWitness<[F; 8]> {
    OpeningWitness::of_batch::<Inner, _>(
        keys.airs(),
        keys.common(),
        &keys.parameters(),
        &proof.proof,
        &keys.instance_public_values(&proof.public_values),
    )
    .unwrap()
}

/// The program's witness for `proof`, its opening proof laid out as `opening`.
fn witness_of(
    check: &BatchCheck,
    keys: &RecursionKeys,
    proof: &RecursionProof,
    opening: &OpeningWitness<[F; 8]>,
) -> Vec<EF> {
    let public_values = keys.instance_public_values(&proof.public_values);
    batch::witness(check, keys.common(), &proof.proof, &public_values, opening).unwrap()
}

/// The check as a program, with `zeta`'s coordinates public.
fn program(check: &BatchCheck) -> Program {
    let mut builder = Builder::default();
    let cells = BatchProofCells::allocate(&mut builder, check);
    let challenges = batch::verify(&mut builder, check, &cells);
    for coordinate in builder.coordinates(challenges.zeta) {
        builder.public(coordinate);
    }
    builder.build()
}

/// `zeta` as the native verifier draws it for `proof`.
fn native_zeta(keys: &RecursionKeys, proof: &RecursionProof) -> EF {
    let batch = &proof.proof;
    let shape = batch_shape(keys.airs(), keys.common(), &keys.parameters());
    let public_values = keys.instance_public_values(&proof.public_values);
    let terminals: Vec<EF> = batch
        .lookup_terminals
        .iter()
        .flatten()
        .map(|t| t.0)
        .collect();
    let mut challenger = Inner::challenger();
    let mut transcript = BatchVerifierTranscript::<_, F, EF, _>::new(&mut challenger, shape);
    transcript.instance_bindings(&batch.degree_bits);
    transcript.main_phase(batch.commitments.main.clone(), &public_values);
    transcript.preprocessed_phase(
        keys.common()
            .preprocessed
            .as_ref()
            .map(|g| g.commitment.clone()),
    );
    transcript
        .lookup_phase(
            &keys.common().lookups,
            &LogUpGadget::new(),
            batch.lookup_pow_witness,
        )
        .unwrap();
    // The folding alpha: zeta, drawn after it, depends on it.
    let _alpha = transcript.permutation_phase(batch.commitments.permutation.clone(), &terminals);
    transcript.quotient_phase(
        batch.commitments.quotient_chunks.clone(),
        batch.commitments.random.clone(),
    );
    let zeta = transcript.ood_phase(batch.ood_pow_witness).unwrap();
    transcript.abort();
    zeta
}

#[test]
fn a_real_batch_proof_passes_and_the_check_is_proven() {
    let (keys, proof) = inner();
    let check = check_of(&keys, &proof);
    let witness = witness_of(&check, &keys, &proof, &opening(&keys, &proof));
    let outer = RecursionKeys::<Inner>::new(program(&check), StarkParameters::testing());
    let outer_proof = outer.prove(&witness).unwrap();
    outer.verify(&outer_proof).unwrap();
    let zeta = native_zeta(&keys, &proof);
    assert_eq!(
        outer_proof.public_values,
        zeta.as_basis_coefficients_slice()
    );
}

/// Tampering with what the out-of-domain check reads; the opening proof is the honest one.
#[test]
fn tampered_proofs_fail_the_check() {
    let (keys, proof) = inner();
    let check = check_of(&keys, &proof);
    let program = program(&check);
    let honest_opening = opening(&keys, &proof);
    let tampering: [fn(&mut RecursionProof); 8] = [
        |p| {
            p.proof.opened_values.instances[1]
                .base_opened_values
                .trace_local[8] += EF::ONE
        },
        |p| {
            p.proof.opened_values.instances[2]
                .base_opened_values
                .trace_local[100] += EF::ONE
        },
        |p| p.proof.opened_values.instances[0].permutation_local[0] += EF::ONE,
        |p| {
            p.proof.opened_values.instances[1]
                .base_opened_values
                .quotient_chunks[0][1] += EF::ONE
        },
        |p| p.proof.lookup_terminals[3].as_mut().unwrap().0 += EF::ONE,
        |p| p.public_values[0] += F::ONE,
        |p| p.proof.ood_pow_witness += F::ONE,
        |p| {
            let mut roots = p.proof.commitments.main.roots().to_vec();
            roots[0][3] += F::ONE;
            p.proof.commitments.main = p3_symmetric::MerkleCap::new(roots);
        },
    ];
    for (index, tamper) in tampering.into_iter().enumerate() {
        let mut tampered = RecursionProof::<Inner>::from_bytes(&proof.to_bytes()).unwrap();
        tamper(&mut tampered);
        let witness = witness_of(&check, &keys, &tampered, &honest_opening);
        assert!(
            matches!(program.run(&witness), Err(RunError::AssertionFailed { .. })),
            "tampering {index} passes the check"
        );
    }
}

#[test]
fn proofs_of_another_shape_are_refused() {
    let (keys, proof) = inner();
    let check = check_of(&keys, &proof);
    let public_values = keys.instance_public_values(&proof.public_values);
    let opening = opening(&keys, &proof);
    let mut taller = RecursionProof::<Inner>::from_bytes(&proof.to_bytes()).unwrap();
    taller.proof.degree_bits[0] += 1;
    assert!(
        batch::witness(
            &check,
            keys.common(),
            &taller.proof,
            &public_values,
            &opening
        )
        .is_err()
    );
    let mut narrower = RecursionProof::<Inner>::from_bytes(&proof.to_bytes()).unwrap();
    narrower.proof.opened_values.instances[1]
        .base_opened_values
        .trace_local
        .pop();
    assert!(
        batch::witness(
            &check,
            keys.common(),
            &narrower.proof,
            &public_values,
            &opening
        )
        .is_err()
    );
    assert!(
        batch::witness(
            &check,
            keys.common(),
            &proof.proof,
            &public_values[..2],
            &opening
        )
        .is_err()
    );
}

/// Tampering with the opening proof: every part of it is bound.
#[test]
fn tampered_openings_fail_the_check() {
    let (keys, proof) = inner();
    let check = check_of(&keys, &proof);
    let program = program(&check);
    let honest = opening(&keys, &proof);
    assert!(
        program
            .run(&witness_of(&check, &keys, &proof, &honest))
            .is_ok()
    );
    let tampering: [fn(&mut OpeningWitness<[F; 8]>); 10] = [
        |o| o.queries[0].rows[0][1][3] += F::ONE,
        |o| o.queries[1].rows[1][0][0] += F::ONE,
        |o| o.queries[2].input_paths[0][0][5] += F::ONE,
        |o| o.queries[3].fold_siblings[1] += EF::ONE,
        |o| o.queries[0].fold_paths[0][1][0] += F::ONE,
        |o| o.commit_caps[2][0][7] += F::ONE,
        |o| o.final_poly[0] += EF::ONE,
        // The query proof of work (1 bit at the testing parameters).
        |o| o.query_pow += F::ONE,
        // Zero difficulty: the witnesses must be zero.
        |o| o.batch_pow = F::ONE,
        |o| o.commit_pows[0] = F::ONE,
    ];
    for (index, tamper) in tampering.into_iter().enumerate() {
        let mut tampered = honest.clone();
        tamper(&mut tampered);
        let witness = witness_of(&check, &keys, &proof, &tampered);
        assert!(
            matches!(program.run(&witness), Err(RunError::AssertionFailed { .. })),
            "tampering {index} passes the check"
        );
    }
}

/// A valid proof of another program (its preprocessed commitment differs) fails the check.
#[test]
fn a_proof_of_another_program_fails_the_check() {
    let (keys, proof) = inner();
    let check = check_of(&keys, &proof);
    let mut builder = Builder::default();
    let x = builder.witness_ext();
    let cube = builder.mul(x, x);
    let cube = builder.mul(cube, x);
    let input: [Felt; 16] = std::array::from_fn(|_| builder.witness_felt());
    let output = builder.poseidon2(input);
    builder.public(output[0]);
    builder.public(output[1]);
    builder.assert_eq(cube, cube);
    let other = RecursionKeys::<Inner>::new(builder.build(), StarkParameters::testing());
    let witness: Vec<EF> = (0..17).map(|k| EF::from(F::from_u32(k))).collect();
    let other_proof = other.prove(&witness).unwrap();
    other.verify(&other_proof).unwrap();
    assert_eq!(other_proof.proof.degree_bits, proof.proof.degree_bits);
    let other_opening = opening(&other, &other_proof);
    let witness = witness_of(&check, &other, &other_proof, &other_opening);
    assert!(matches!(
        program(&check).run(&witness),
        Err(RunError::AssertionFailed { .. })
    ));
}
