//! The precompiles end to end: a program that compresses the FIPS 180-4 "abc" block, then
//! compresses again with a block that overlaps the state, permutes a Poseidon2 state in place
//! twice, and halts with the compressed state as its input digest.

mod common;

use common::*;
use gnomon_executor::Input;
use gnomon_executor::commitment::poseidon2;
use gnomon_executor::isa::Opcode;
use gnomon_guest_abi::{memory, syscall};
use gnomon_machine::config::F;
use gnomon_machine::segment::ProveError;
use p3_field::{PrimeCharacteristicRing, PrimeField32};
use p3_symmetric::Permutation;

const T0: u8 = 5;
const A0: u8 = 10;
const A1: u8 = 11;

/// Where the program keeps the SHA-256 state, its block and the Poseidon2 state.
const STATE: u32 = DATA;
const BLOCK: u32 = DATA + 32;
const PERMUTED: u32 = DATA + 128;

const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

fn abc_block() -> [u32; 16] {
    let mut block = [0u32; 16];
    block[0] = 0x6162_6380;
    block[15] = 24;
    block
}

/// A Poseidon2 input with the largest canonical element and a few ordinary ones.
fn permutation_input() -> [u32; 16] {
    core::array::from_fn(|i| match i {
        0 => F::ORDER_U32 - 1,
        1 => 0x77ff_ffff,
        _ => (i as u32).wrapping_mul(0x0123_4567) % F::ORDER_U32,
    })
}

fn compress(state_in: [u32; 8], block: [u32; 16]) -> [u32; 8] {
    let mut state = state_in;
    let mut bytes = [0u8; 64];
    for (chunk, word) in bytes.chunks_exact_mut(4).zip(block) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    sha2::compress256(&mut state, &[bytes.into()]);
    state
}

fn precompile_program() -> gnomon_executor::Program {
    let text = [
        op(Opcode::Lui, A0, 0, 0, STATE),
        op(Opcode::Addi, A1, A0, 0, BLOCK - STATE),
        op(Opcode::Addi, T0, 0, 0, syscall::SHA256_COMPRESS),
        op(Opcode::Ecall, 0, 0, 0, 0),
        // Again, with the block at the state: its first 8 words are the state just written.
        op(Opcode::Addi, A1, A0, 0, 0),
        op(Opcode::Ecall, 0, 0, 0, 0),
        op(Opcode::Addi, A0, A0, 0, PERMUTED - STATE),
        op(Opcode::Addi, T0, 0, 0, syscall::POSEIDON2_PERMUTE),
        op(Opcode::Ecall, 0, 0, 0, 0),
        // The same permutation again, now of the output.
        op(Opcode::Ecall, 0, 0, 0, 0),
        // HALT with exit code 0 and the compressed state (then the block) as digests.
        op(Opcode::Addi, A1, A0, 0, STATE.wrapping_sub(PERMUTED)),
        op(Opcode::Addi, A0, 0, 0, 0),
        op(Opcode::Addi, T0, 0, 0, syscall::HALT),
        op(Opcode::Ecall, 0, 0, 0, 0),
    ];
    let mut words = [0u32; 48];
    words[..8].copy_from_slice(&IV);
    words[8..24].copy_from_slice(&abc_block());
    words[32..48].copy_from_slice(&permutation_input());
    let data: Vec<u8> = words.iter().flat_map(|word| word.to_le_bytes()).collect();
    program(&text, &data)
}

fn segment() -> gnomon_executor::Segment {
    let segments = segments(&precompile_program(), &Input::new(), 20, u64::MAX);
    assert_eq!(segments.len(), 1);
    segments.into_iter().next().unwrap()
}

/// The word at byte address `address` after the segment.
fn word_after(segment: &gnomon_executor::Segment, address: u32) -> u32 {
    let word = address / memory::WORD_SIZE;
    segment.pages[&(word / memory::PAGE_WORDS)].after[(word % memory::PAGE_WORDS) as usize]
}

#[test]
fn proves_sha256_and_poseidon2_calls() {
    let program = precompile_program();
    let segment = segment();
    let values = prove_and_verify(&keys(&program), &segment);
    assert!(values.halted);
    assert_eq!(values.exit_code, 0);
    // SHA-256("abc"), FIPS 180-4 example B.1, then the overlapping compression.
    let abc = [
        0xba7816bf, 0x8f01cfea, 0x414140de, 0x5dae2223, 0xb00361a3, 0x96177a9c, 0xb410ff61,
        0xf20015ad,
    ];
    assert_eq!(compress(IV, abc_block()), abc);
    let mut overlapping = [0; 16];
    overlapping[..8].copy_from_slice(&abc);
    overlapping[8..].copy_from_slice(&abc_block()[..8]);
    assert_eq!(values.input_digest, compress(abc, overlapping));
    assert_eq!(values.output_digest, abc_block()[..8]);
    let twice = (0..2).fold(permutation_input().map(F::from_u32), |state, _| {
        poseidon2().permute(state)
    });
    for (i, element) in twice.iter().enumerate() {
        assert_eq!(
            word_after(&segment, PERMUTED + 4 * i as u32),
            element.as_canonical_u32()
        );
    }
}

#[test]
fn every_precompile_column_is_constrained() {
    // The compression table's first two rows (a digest row, round row 0) here;
    // tests/sha256_compress.rs tampers with every kind of its rows on the table alone.
    let program = precompile_program();
    assert_every_column_is_constrained(
        &keys(&program),
        &segment(),
        &["Sha256Syscall", "Poseidon2Syscall", "Sha256Compress"],
        2,
    );
}

/// A catalog's shapes are taller than most segments: every table pads itself (zero rows, the
/// Poseidon2 table's unrequested permutations of zero), and the padded proof verifies with
/// the same public values. Each segment takes the cheapest shape that holds it; a shape a
/// table does not fit in, or a preprocessed table at another height, is refused.
#[test]
fn a_segment_proves_at_the_cheapest_catalog_shape_that_holds_it() {
    let program = precompile_program();
    let keys = keys(&program);
    let segment = segment();
    let natural = keys.shape_of(&segment);
    let fixed: Vec<bool> = keys
        .airs()
        .iter()
        .map(|air| p3_air::BaseAir::<F>::preprocessed_width(air) > 0)
        .collect();
    let grown = |by: usize| -> Vec<usize> {
        natural
            .iter()
            .zip(&fixed)
            .map(|(&bits, &fixed)| if fixed { bits } else { bits + by })
            .collect()
    };
    let (taller, tallest) = (grown(1), grown(2));
    let squeezed = (0..natural.len())
        .find(|&i| !fixed[i] && natural[i] > 3)
        .expect("a table above its minimum height");
    let mut short = tallest.clone();
    short[squeezed] = natural[squeezed] - 1;

    let proof = keys
        .prove_segment_in(&segment, &[tallest.clone(), short.clone(), taller.clone()])
        .unwrap();
    assert_eq!(proof.proof.degree_bits, taller);
    let padded = keys.verify_segment(&proof).unwrap();
    let unpadded = keys.prove_segment(&segment).unwrap();
    assert_eq!(padded, keys.verify_segment(&unpadded).unwrap());

    let error = keys.prove_segment_in(&segment, &[short]).unwrap_err();
    assert!(
        matches!(error, ProveError::OutsideCatalog { .. }),
        "{error}"
    );
    let program_table = fixed.iter().position(|&fixed| fixed).unwrap();
    let mut moved = taller.clone();
    moved[program_table] += 1;
    // A shape with the program table at another height never holds a segment, however
    // cheap it is.
    let proof = keys
        .prove_segment_in(&segment, &[moved.clone(), tallest.clone()])
        .unwrap();
    assert_eq!(proof.proof.degree_bits, tallest);
    let (_, traces) = keys.traces(&segment);
    let error = keys.pad_traces(traces, &moved).unwrap_err();
    assert!(
        matches!(error, ProveError::DoesNotFit { table, .. } if table == keys.airs()[program_table].name()),
        "{error}"
    );
}
