//! The verifier's building blocks as recursion programs compute what Plonky3 computes
//! natively: the transcript, canonical bit decompositions and Merkle batch openings. Each
//! program is proven and verified; wrong advice makes the run fail.

mod common;

use std::collections::BTreeMap;

use common::Rng;
use gnomon_machine::config::{EF, F, Hashing, Inner, StarkParameters};
use gnomon_recursion::challenger::Challenger;
use gnomon_recursion::merkle::{Digest, OpenedRow, verify_batch};
use gnomon_recursion::program::{Builder, Cell, Felt};
use gnomon_recursion::{Program, RecursionKeys, RunError};
use p3_challenger::{CanObserve, CanSample, CanSampleBits, FieldChallenger, GrindingChallenger};
use p3_commit::Mmcs;
use p3_field::{BasedVectorSpace, PrimeCharacteristicRing, PrimeField32};
use p3_matrix::dense::RowMajorMatrix;

/// Proves and verifies a run of `program` on `witness`; its public values.
fn prove(program: Program, witness: &[EF]) -> Vec<F> {
    let keys = RecursionKeys::<Inner>::new(program, StarkParameters::testing());
    let proof = keys.prove(witness).unwrap();
    keys.verify(&proof).unwrap();
    proof.public_values
}

enum Step {
    Observe(usize),
    ObserveExt,
    Sample,
    SampleExt,
    SampleBits(usize),
    Grind(usize),
}

#[test]
fn the_transcript_draws_the_native_challenges() {
    use Step::*;
    let script = [
        Sample,
        Observe(3),
        Sample,
        Sample,
        Observe(8),
        SampleExt,
        Observe(11),
        ObserveExt,
        SampleBits(7),
        Grind(3),
        Observe(16),
        Sample,
        Grind(5),
        SampleBits(20),
        SampleExt,
    ];
    let mut rng = Rng(7);
    let mut native = Inner::challenger();
    let mut builder = Builder::default();
    let mut challenger = Challenger::new(&mut builder);
    let mut witness = Vec::new();
    let mut expected = Vec::new();
    for step in script {
        match step {
            Observe(count) => {
                for _ in 0..count {
                    let value = rng.felt();
                    native.observe(value);
                    witness.push(EF::from(value));
                    let cell = builder.witness_felt();
                    challenger.observe(&mut builder, cell);
                }
            }
            ObserveExt => {
                let value = EF::from_basis_coefficients_fn(|_| rng.felt());
                native.observe_algebra_element(value);
                witness.push(value);
                let cell = builder.witness_ext();
                challenger.observe_ext(&mut builder, cell);
            }
            Sample => {
                expected.push(CanSample::<F>::sample(&mut native));
                let sample = challenger.sample(&mut builder);
                builder.public(sample);
            }
            SampleExt => {
                let sample: EF = native.sample_algebra_element();
                expected.extend_from_slice(sample.as_basis_coefficients_slice());
                let cell = challenger.sample_ext(&mut builder);
                for coordinate in builder.coordinates(cell) {
                    builder.public(coordinate);
                }
            }
            SampleBits(bits) => {
                let value = native.sample_bits(bits);
                expected.extend((0..bits).map(|bit| F::from_bool(value >> bit & 1 == 1)));
                for bit in challenger.sample_bits(&mut builder, bits) {
                    builder.public(bit);
                }
            }
            Grind(bits) => {
                // Grinding leaves the native transcript where checking the witness would.
                let proof_of_work = native.grind(bits);
                witness.push(EF::from(proof_of_work));
                let cell = builder.witness_felt();
                challenger.check_witness(&mut builder, bits, cell);
            }
        }
    }
    let after = CanSample::<F>::sample(&mut native);
    let sample = challenger.sample(&mut builder);
    builder.public(sample);
    expected.push(after);
    assert_eq!(prove(builder.build(), &witness), expected);
}

#[test]
fn a_wrong_proof_of_work_fails_the_run() {
    let mut native = Inner::challenger();
    native.observe(F::from_u32(42));
    let proof_of_work = native.clone().grind(8);
    let mut builder = Builder::default();
    let mut challenger = Challenger::new(&mut builder);
    let value = builder.witness_felt();
    challenger.observe(&mut builder, value);
    let cell = builder.witness_felt();
    challenger.check_witness(&mut builder, 8, cell);
    let program = builder.build();
    let witness = |pow: F| [EF::from(F::from_u32(42)), EF::from(pow)];
    assert!(program.run(&witness(proof_of_work)).is_ok());
    // Some neighbour of a valid witness fails an 8-bit check.
    let wrong = (1..=4)
        .map(|offset| proof_of_work + F::from_u32(offset))
        .find(|&candidate| !native.clone().check_witness(8, candidate))
        .expect("not every neighbour is a valid proof of work");
    assert!(matches!(
        program.run(&witness(wrong)),
        Err(RunError::AssertionFailed { .. })
    ));
}

#[test]
fn bit_decompositions_are_canonical() {
    let p = F::ORDER_U32;
    let values = [
        0,
        1,
        5,
        1 << 27,
        (1 << 27) - 1,
        p - (1 << 27) - 1,
        p - 1,
        0x5555_5555,
    ];
    let mut builder = Builder::default();
    let mut decompositions = Vec::new();
    for _ in values {
        let cell = builder.witness_felt();
        let bits = builder.bits(cell, 31);
        for &bit in &bits {
            builder.public(bit);
        }
        decompositions.push(bits);
    }
    let program = builder.build();
    let witness: Vec<EF> = values.iter().map(|&v| EF::from(F::from_u32(v))).collect();
    let expected: Vec<F> = values
        .iter()
        .flat_map(|&v| (0..31).map(move |bit| F::from_bool(v >> bit & 1 == 1)))
        .collect();
    assert_eq!(prove(program.clone(), &witness), expected);

    // 5 + p fits in 31 bits: its bits recompose to 5, but they are not canonical.
    let non_canonical: BTreeMap<_, _> = decompositions[2]
        .iter()
        .enumerate()
        .map(|(bit, cell)| {
            (
                cell.address(),
                EF::from(F::from_bool((5 + p) >> bit & 1 == 1)),
            )
        })
        .collect();
    assert!(matches!(
        program.run_overriding(&witness, &non_canonical),
        Err(RunError::AssertionFailed { .. })
    ));
    // A "bit" of 2 with the bit below it cleared recomposes to the same value.
    let non_boolean = BTreeMap::from([
        (decompositions[1][0].address(), EF::ZERO),
        (decompositions[1][1].address(), EF::from(F::from_u32(2))),
    ]);
    assert!(matches!(
        program.run_overriding(&witness, &non_boolean),
        Err(RunError::AssertionFailed { .. })
    ));
}

/// Matrices of heights 2^4, 2^4, 2^3 and 2^2, committed natively with a cap of `2^cap_height`,
/// opened at `index` and checked by a program; the run's outcome.
fn open(cap_height: usize, index: usize, tamper: impl Fn(&mut Vec<EF>)) -> Result<(), RunError> {
    let mut rng = Rng(cap_height as u64 * 100 + index as u64);
    let shapes = [(16, 3), (16, 9), (8, 1), (4, 5)];
    let matrices: Vec<RowMajorMatrix<F>> = shapes
        .iter()
        .map(|&(height, width)| {
            RowMajorMatrix::new((0..height * width).map(|_| rng.felt()).collect(), width)
        })
        .collect();
    let mmcs = Inner::mmcs(cap_height);
    let (cap, data) = mmcs.commit(matrices);
    let opening = mmcs.open_batch(index, &data);

    let mut builder = Builder::default();
    let mut witness = Vec::new();
    let mut digest = |builder: &mut Builder, values: &[F; 8]| -> Digest {
        witness.extend(values.iter().map(|&v| EF::from(v)));
        std::array::from_fn(|_| builder.witness_felt())
    };
    let cap_cells: Vec<Digest> = cap
        .roots()
        .iter()
        .map(|root| digest(&mut builder, root))
        .collect();
    let siblings: Vec<Digest> = opening
        .opening_proof
        .iter()
        .map(|sibling| digest(&mut builder, sibling))
        .collect();
    let rows: Vec<OpenedRow> = opening
        .opened_values
        .iter()
        .zip(shapes)
        .map(|(values, (height, _))| {
            witness.extend(values.iter().map(|&v| EF::from(v)));
            OpenedRow {
                log_height: height.trailing_zeros() as usize,
                values: values.iter().map(|_| builder.witness_felt()).collect(),
            }
        })
        .collect();
    witness.push(EF::from(F::from_usize(index)));
    let index_cell: Felt = builder.witness_felt();
    let bits = builder.bits(index_cell, 4);
    verify_batch(&mut builder, &cap_cells, &bits, &rows, &siblings);
    let program = builder.build();
    tamper(&mut witness);
    program.run(&witness).map(|_| {
        prove(program, &witness);
    })
}

#[test]
fn merkle_openings_verify_as_natively() {
    for (cap_height, index) in [(0, 0), (0, 5), (1, 11), (2, 15)] {
        assert_eq!(
            open(cap_height, index, |_| ()),
            Ok(()),
            "cap 2^{cap_height}, index {index}"
        );
    }
}

#[test]
fn tampered_merkle_openings_fail() {
    // The witness is: the cap, the siblings, the rows, the index. Change a cap digest, a
    // sibling, an opened value of each height, or the index.
    let cap_entries = 2 * 8;
    let siblings = 3 * 8;
    let rows = 3 + 9 + 1 + 5;
    let positions = [
        0,
        cap_entries,
        cap_entries + 9,
        cap_entries + siblings + 4,
        cap_entries + siblings + 12,
        cap_entries + siblings + rows - 1,
        cap_entries + siblings + rows,
    ];
    for position in positions {
        let outcome = open(1, 6, |witness| witness[position] += EF::ONE);
        assert!(
            matches!(outcome, Err(RunError::AssertionFailed { .. })),
            "witness value {position}: {outcome:?}"
        );
    }
}
