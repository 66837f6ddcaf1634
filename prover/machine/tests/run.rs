//! Runs: segment proofs that chain from the program's start to its halt, and the ways a
//! sequence of proofs can fail to be a run. Also the verifier's robustness to corrupted proof
//! bytes.

mod common;

use common::*;
use gnomon_executor::isa::Opcode;
use gnomon_executor::{Input, Program};
use gnomon_guest_abi::syscall;
use gnomon_machine::run::{RunError, RunProof, prove_run, verify_run};
use gnomon_machine::segment::SegmentProof;
use proptest::prelude::*;

const T0: u8 = 5;
const A0: u8 = 10;
const A1: u8 = 11;
const A2: u8 = 12;

/// Reads one word of input into x6, adds it up for about 2,500 cycles, and halts with the sum
/// as its exit code: three segments of 2^10 cycles.
fn summing_program() -> Program {
    let mut text = vec![
        op(Opcode::Lui, A1, 0, 0, DATA),
        op(Opcode::Addi, T0, 0, 0, syscall::READ),
        op(Opcode::Addi, A0, 0, 0, 0),
        op(Opcode::Addi, A2, 0, 0, 2),
        op(Opcode::Ecall, 0, 0, 0, 0),
        op(Opcode::Lw, 6, A1, 0, 4),
    ];
    while text.len() < 2500 {
        text.push(op(Opcode::Add, 7, 7, 6, 0));
        text.push(op(Opcode::Sw, 0, A1, 7, 64));
    }
    text.extend([
        op(Opcode::Add, A0, 7, 0, 0),
        op(Opcode::Addi, T0, 0, 0, syscall::HALT),
        op(Opcode::Ecall, 0, 0, 0, 0),
    ]);
    program(&text, &[0; 64])
}

fn input(value: u32) -> Input {
    let mut input = Input::new();
    input.write(&value);
    input
}

fn proofs(program: &Program, value: u32) -> Vec<SegmentProof> {
    let segments = segments(program, &input(value), 10, u64::MAX);
    assert_eq!(segments.len(), 3);
    prove_run(&keys(program), &segments).unwrap()
}

#[test]
fn a_run_verifies_from_start_to_halt() {
    let program = summing_program();
    let claim = verify_run(&keys(&program), &proofs(&program, 3)).unwrap();
    let sum = 3u32.wrapping_mul(((2500 - 6) / 2) as u32);
    assert_eq!(claim.exit_code, sum);
    assert_eq!(claim.segments, 3);
}

#[test]
fn sequences_that_are_not_one_run_are_rejected() {
    let program = summing_program();
    let keys = keys(&program);
    let run = proofs(&program, 3);
    let other = proofs(&program, 4);
    let run_bytes: Vec<Vec<u8>> = run.iter().map(SegmentProof::to_bytes).collect();
    let other_bytes: Vec<Vec<u8>> = other.iter().map(SegmentProof::to_bytes).collect();
    let decode = |bytes: &[Vec<u8>]| -> Vec<SegmentProof> {
        bytes
            .iter()
            .map(|bytes| SegmentProof::from_bytes(bytes).unwrap())
            .collect()
    };

    assert_eq!(verify_run(&keys, &[]), Err(RunError::Empty));
    // Out of order, a missing start, a segment of another run, a run cut before its halt.
    let swapped = decode(&[
        run_bytes[1].clone(),
        run_bytes[0].clone(),
        run_bytes[2].clone(),
    ]);
    assert_eq!(verify_run(&keys, &swapped), Err(RunError::WrongStart));
    let mixed = decode(&[
        run_bytes[0].clone(),
        other_bytes[1].clone(),
        run_bytes[2].clone(),
    ]);
    assert_eq!(verify_run(&keys, &mixed), Err(RunError::Gap { index: 1 }));
    let cut = decode(&run_bytes[..2]);
    assert_eq!(verify_run(&keys, &cut), Err(RunError::NoHalt));
    let skipped = decode(&[run_bytes[0].clone(), run_bytes[2].clone()]);
    assert!(matches!(
        verify_run(&keys, &skipped),
        Err(RunError::OutOfOrder { index: 1, .. })
    ));
    // A valid run of another program.
    let halt_only = [
        op(Opcode::Addi, T0, 0, 0, syscall::HALT),
        op(Opcode::Ecall, 0, 0, 0, 0),
    ];
    let other_program = common::program(&halt_only, &[0; 64]);
    assert!(matches!(
        verify_run(&common::keys(&other_program), &decode(&run_bytes)),
        Err(RunError::Segment { index: 0, .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn corrupted_proofs_are_rejected_without_panics(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
        truncate in proptest::option::of(any::<prop::sample::Index>()),
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
        if let Ok(proof) = RunProof::from_bytes(&bytes) {
            prop_assert!(verify_run(keys, &proof.segments).is_err());
        }
    }
}

static CORRUPTIBLE: std::sync::LazyLock<(gnomon_machine::segment::MachineKeys, Vec<u8>)> =
    std::sync::LazyLock::new(|| {
        let program = summing_program();
        let keys = keys(&program);
        let segments = segments(&program, &input(5), 12, u64::MAX);
        let proof = RunProof {
            segments: prove_run(&keys, &segments).unwrap(),
        };
        (keys, proof.to_bytes())
    });
