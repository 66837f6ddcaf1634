//! Recursion programs run, prove and verify; a run that fails has no proof; every value in
//! every table is constrained; tampered proofs are rejected with typed errors.

use gnomon_machine::config::{EF, F, Inner, StarkParameters, permutation};
use gnomon_recursion::program::{Builder, Felt};
use gnomon_recursion::{RecursionKeys, RunError, VerifyError};
use p3_field::{BasedVectorSpace, PrimeCharacteristicRing};
use p3_matrix::Matrix;
use p3_symmetric::Permutation;

fn ext(seed: u32) -> EF {
    EF::from_basis_coefficients_fn(|k| F::from_u32(seed * 7 + k as u32 + 1))
}

/// `(x * y + c - x == w)` over the extension, `c = ext(seed)`, and `a * 5` over the base
/// field, with `a * 5` and `a` public; its witness is `[x, y, w, a]`.
fn arithmetic_with(seed: u32) -> (RecursionKeys, Vec<EF>) {
    let mut builder = Builder::default();
    let x = builder.witness_ext();
    let y = builder.witness_ext();
    let c = builder.constant_ext(ext(seed));
    let product = builder.mul(x, y);
    let sum = builder.add(product, c);
    let difference = builder.sub(sum, x);
    let w = builder.witness_ext();
    builder.assert_eq(difference, w);
    let a = builder.witness_felt();
    let five = builder.constant_felt(F::from_u32(5));
    let scaled = builder.mul(a, five);
    builder.public(scaled);
    builder.public(a);
    let keys = RecursionKeys::<Inner>::new(builder.build(), StarkParameters::testing());
    let (x, y) = (ext(1), ext(2));
    let witness = vec![x, y, x * y + ext(seed) - x, EF::from(F::from_u32(12))];
    (keys, witness)
}

fn arithmetic() -> (RecursionKeys, Vec<EF>) {
    arithmetic_with(9)
}

/// Poseidon2 of 16 base-field witness values, the first 8 outputs public.
fn poseidon2() -> (RecursionKeys, Vec<EF>) {
    let mut builder = Builder::default();
    let input: [Felt; 16] = std::array::from_fn(|_| builder.witness_felt());
    let output = builder.poseidon2(input);
    for value in &output[..8] {
        builder.public(*value);
    }
    let keys = RecursionKeys::<Inner>::new(builder.build(), StarkParameters::testing());
    let witness = (0..16)
        .map(|lane| EF::from(F::from_u32(lane * 3)))
        .collect();
    (keys, witness)
}

#[test]
fn arithmetic_runs_prove_and_verify() {
    let (keys, witness) = arithmetic();
    let proof = keys.prove(&witness).unwrap();
    assert_eq!(proof.public_values, [F::from_u32(60), F::from_u32(12)]);
    keys.verify(&proof).unwrap();
    keys.verify(&gnomon_recursion::RecursionProof::<Inner>::from_bytes(&proof.to_bytes()).unwrap())
        .unwrap();
}

#[test]
fn poseidon2_runs_give_the_native_permutation() {
    let (keys, witness) = poseidon2();
    let proof = keys.prove(&witness).unwrap();
    keys.verify(&proof).unwrap();
    let mut state: [F; 16] = std::array::from_fn(|lane| F::from_u32(lane as u32 * 3));
    permutation().permute_mut(&mut state);
    assert_eq!(proof.public_values, state[..8]);
}

/// Eight public values lie in three rows of the public table, the last part full. A prover
/// claiming another value in any position is refused, whether the table keeps the value the
/// program computed (the value constraint) or holds the claimed one (the read of its cell).
#[test]
fn every_public_value_is_bound() {
    let (keys, witness) = poseidon2();
    let memory = keys.program().run(&witness).unwrap();
    let (public_values, traces) = keys.traces(&memory);
    let table = keys
        .airs()
        .iter()
        .position(|air| air.name() == "Public")
        .expect("the program has public values");
    let accepted = |claimed: &[F], traces: &[p3_matrix::dense::RowMajorMatrix<F>]| {
        keys.prove_traces(claimed, traces)
            .is_ok_and(|proof| keys.verify(&proof).is_ok())
    };
    assert!(accepted(&public_values, &traces));
    for position in 0..public_values.len() {
        let mut claimed = public_values.clone();
        claimed[position] += F::ONE;
        assert!(
            !accepted(&claimed, &traces),
            "value {position} is unchecked"
        );
        let mut holding = traces.clone();
        // Row-major, `columns` to a row: value `i` is the table's `i`-th cell.
        holding[table].values[position] += F::ONE;
        assert!(
            !accepted(&claimed, &holding),
            "cell of value {position} is unread"
        );
    }
}

#[test]
fn runs_that_fail_have_no_proof() {
    let (keys, witness) = arithmetic();
    let mut wrong = witness.clone();
    wrong[2] += EF::ONE;
    assert!(matches!(
        keys.prove(&wrong),
        Err(gnomon_recursion::ProveError::Run(
            RunError::AssertionFailed { .. }
        ))
    ));
    let mut not_base = witness.clone();
    not_base[3] = ext(4);
    assert!(matches!(
        keys.prove(&not_base),
        Err(gnomon_recursion::ProveError::Run(RunError::NotBase { .. }))
    ));
    assert!(matches!(
        keys.prove(&witness[..3]),
        Err(gnomon_recursion::ProveError::Run(RunError::WitnessTooShort))
    ));
    let mut long = witness;
    long.push(EF::ONE);
    assert!(matches!(
        keys.prove(&long),
        Err(gnomon_recursion::ProveError::Run(RunError::WitnessTooLong))
    ));
}

/// Adds one to each column of the first row and of the last (padding) row of every table (of
/// every row of the public table, whose rows differ), in turn, and proves the result: the
/// verifier must reject every one.
fn assert_every_value_constrained(keys: &RecursionKeys, witness: &[EF]) {
    let memory = keys.program().run(witness).unwrap();
    let (public_values, traces) = keys.traces(&memory);
    keys.verify(&keys.prove_traces(&public_values, &traces).unwrap())
        .unwrap();
    for (index, trace) in traces.iter().enumerate() {
        let name = keys.airs()[index].name();
        let rows: Vec<usize> = if name == "Public" {
            (0..trace.height()).collect()
        } else {
            vec![0, trace.height() - 1]
        };
        for column in 0..trace.width() {
            for &row in &rows {
                let mut tampered = traces.clone();
                tampered[index].values[row * trace.width() + column] += F::ONE;
                let accepted = keys
                    .prove_traces(&public_values, &tampered)
                    .is_ok_and(|proof| keys.verify(&proof).is_ok());
                assert!(!accepted, "{name}: column {column} of row {row} is free");
            }
        }
    }
}

#[test]
fn every_value_of_the_arithmetic_tables_is_constrained() {
    let (keys, witness) = arithmetic();
    assert_every_value_constrained(&keys, &witness);
}

#[test]
fn every_value_of_the_poseidon2_table_is_constrained() {
    let (keys, witness) = poseidon2();
    assert_every_value_constrained(&keys, &witness);
}

/// Tables padded beyond the program's own heights (as aggregation's are) prove and verify,
/// every row they add is as constrained as any padding row, and their proofs are not the
/// unpadded program's.
#[test]
fn padded_tables_are_constrained() {
    let requested = [4, 4, 4, 4];
    for (keys, witness) in [arithmetic(), poseidon2()] {
        let padded = RecursionKeys::<Inner>::padded(
            keys.program().clone(),
            StarkParameters::testing(),
            &requested,
        );
        let expected: Vec<usize> = keys
            .degree_bits()
            .iter()
            .zip(requested)
            .map(|(&natural, requested)| natural.max(requested))
            .collect();
        assert_eq!(padded.degree_bits(), expected);
        assert_every_value_constrained(&padded, &witness);
        let proof = padded.prove(&witness).unwrap();
        assert!(matches!(
            keys.verify(&proof),
            Err(VerifyError::WrongShape { .. })
        ));
    }
}

#[test]
fn tampered_proofs_are_rejected() {
    let (keys, witness) = arithmetic();
    let proof = keys.prove(&witness).unwrap();

    let mut wrong_public =
        gnomon_recursion::RecursionProof::<Inner>::from_bytes(&proof.to_bytes()).unwrap();
    wrong_public.public_values[0] += F::ONE;
    assert!(matches!(
        keys.verify(&wrong_public),
        Err(VerifyError::Stark(_))
    ));

    let mut missing_public =
        gnomon_recursion::RecursionProof::<Inner>::from_bytes(&proof.to_bytes()).unwrap();
    missing_public.public_values.pop();
    assert!(matches!(
        keys.verify(&missing_public),
        Err(VerifyError::WrongPublicValueCount {
            expected: 2,
            found: 1
        })
    ));

    let mut taller =
        gnomon_recursion::RecursionProof::<Inner>::from_bytes(&proof.to_bytes()).unwrap();
    taller.proof.degree_bits[1] += 1;
    assert!(matches!(
        keys.verify(&taller),
        Err(VerifyError::WrongShape { .. })
    ));

    let bytes = proof.to_bytes();
    for length in [0, 1, bytes.len() / 2, bytes.len() - 1] {
        assert!(matches!(
            gnomon_recursion::RecursionProof::<Inner>::from_bytes(&bytes[..length]),
            Err(VerifyError::Malformed(_))
        ));
    }

    // A proof of another program, even with the same tables' shapes, is not this one's.
    let (other, other_witness) = arithmetic_with(10);
    let other_proof = other.prove(&other_witness).unwrap();
    other.verify(&other_proof).unwrap();
    assert!(matches!(
        keys.verify(&other_proof),
        Err(VerifyError::Stark(_))
    ));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    #[test]
    fn corrupted_proofs_are_rejected_without_panics(
        flips in proptest::collection::vec(
            (proptest::prelude::any::<proptest::sample::Index>(), 1u8..=255),
            1..4,
        ),
        truncate in proptest::option::of(proptest::prelude::any::<proptest::sample::Index>()),
    ) {
        let (keys, bytes) = &*CORRUPTIBLE;
        let mut bytes = bytes.clone();
        for (index, mask) in flips {
            let position = index.index(bytes.len());
            bytes[position] ^= mask;
        }
        if let Some(index) = truncate {
            bytes.truncate(index.index(bytes.len()));
        }
        if let Ok(proof) = gnomon_recursion::RecursionProof::<Inner>::from_bytes(&bytes) {
            proptest::prop_assert!(keys.verify(&proof).is_err());
        }
    }
}

/// A valid proof's bytes, to corrupt.
static CORRUPTIBLE: std::sync::LazyLock<(RecursionKeys, Vec<u8>)> =
    std::sync::LazyLock::new(|| {
        let (keys, witness) = arithmetic();
        let bytes = keys.prove(&witness).unwrap().to_bytes();
        (keys, bytes)
    });
