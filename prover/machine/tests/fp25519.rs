//! The 2^255 - 19 field operations end to end: a program that multiplies, adds and subtracts
//! extreme operands (the largest 256-bit value, p itself, zero), squares in place and subtracts
//! a value from itself, then halts; the results in memory are checked against big-integer
//! arithmetic, the segment is proven, and every column of the table is tampered with. Operands
//! that are misaligned or in the text trap in the executor (and cannot be proven: see the
//! pointer bounds of `chips::fp25519`).

mod common;

use common::*;
use gnomon_executor::Input;
use gnomon_executor::isa::Opcode;
use gnomon_guest_abi::{memory, syscall};
use num_bigint::BigUint;

const T0: u8 = 5;
const A0: u8 = 10;
const A1: u8 = 11;

fn p() -> BigUint {
    (BigUint::from(1u8) << 255u32) - 19u32
}

fn words(value: &BigUint) -> [u32; 8] {
    let mut words = [0; 8];
    for (word, digit) in words.iter_mut().zip(value.to_u32_digits()) {
        *word = digit;
    }
    words
}

/// The operand slots of the data segment, 8 words each.
const MAX: usize = 0;
const MAX_TOO: usize = 1;
const P: usize = 2;
const ZERO: usize = 3;
const SQUARED: usize = 4;
const SELF_SUB: usize = 5;
const SLOTS: usize = 6;

fn slot(index: usize) -> u32 {
    DATA + 32 * index as u32
}

fn initial(index: usize) -> BigUint {
    let max = (BigUint::from(1u8) << 256u32) - 1u32;
    match index {
        MAX | MAX_TOO => max,
        P => p(),
        ZERO => BigUint::ZERO,
        SQUARED => p() - 2u32,
        SELF_SUB => BigUint::from(0x1234_5678u32) << 200u32,
        _ => unreachable!(),
    }
}

/// `(syscall, x slot, y slot)` in program order.
const CALLS: [(u32, usize, usize); 6] = [
    (syscall::FP25519_MUL, MAX, MAX_TOO),
    (syscall::FP25519_ADD, MAX_TOO, P),
    (syscall::FP25519_SUB, ZERO, MAX),
    (syscall::FP25519_MUL, SQUARED, SQUARED),
    (syscall::FP25519_SUB, SELF_SUB, SELF_SUB),
    (syscall::FP25519_ADD, P, ZERO),
];

fn field_program() -> gnomon_executor::Program {
    let mut text = vec![];
    for (number, x, y) in CALLS {
        text.push(op(Opcode::Lui, A0, 0, 0, DATA));
        text.push(op(Opcode::Addi, A0, A0, 0, slot(x) - DATA));
        text.push(op(Opcode::Addi, A1, A0, 0, slot(y).wrapping_sub(slot(x))));
        text.push(op(Opcode::Addi, T0, 0, 0, number));
        text.push(op(Opcode::Ecall, 0, 0, 0, 0));
    }
    text.push(op(Opcode::Lui, A1, 0, 0, DATA));
    text.push(op(Opcode::Addi, A0, 0, 0, 0));
    text.push(op(Opcode::Addi, T0, 0, 0, syscall::HALT));
    text.push(op(Opcode::Ecall, 0, 0, 0, 0));
    let data: Vec<u8> = (0..SLOTS)
        .flat_map(|index| words(&initial(index)))
        .flat_map(u32::to_le_bytes)
        .collect();
    program(&text, &data)
}

/// What the slots hold after the calls, computed with big integers.
fn expected() -> Vec<BigUint> {
    let mut values: Vec<BigUint> = (0..SLOTS).map(initial).collect();
    let p = p();
    for (number, x, y) in CALLS {
        let (a, b) = (values[x].clone(), values[y].clone());
        values[x] = match number {
            syscall::FP25519_MUL => a * b % &p,
            syscall::FP25519_ADD => (a + b) % &p,
            _ => (a % &p + &p - b % &p) % &p,
        };
    }
    values
}

fn segment() -> gnomon_executor::Segment {
    let segments = segments(&field_program(), &Input::new(), 20, u64::MAX);
    assert_eq!(segments.len(), 1);
    segments.into_iter().next().unwrap()
}

#[test]
fn proves_field_operations_on_extreme_operands() {
    let program = field_program();
    let segment = segment();
    for (index, value) in expected().iter().enumerate() {
        let actual: [u32; 8] = core::array::from_fn(|i| {
            let word = (slot(index) + 4 * i as u32) / memory::WORD_SIZE;
            segment.pages[&(word / memory::PAGE_WORDS)].after[(word % memory::PAGE_WORDS) as usize]
        });
        assert_eq!(actual, words(value), "slot {index}");
    }
    let values = prove_and_verify(&keys(&program), &segment);
    assert!(values.halted);
    assert_eq!(values.exit_code, 0);
}

#[test]
fn every_field_operation_column_is_constrained() {
    assert_every_column_is_constrained(
        &keys(&field_program()),
        &segment(),
        &["Fp25519", "Syscall"],
        CALLS.len(),
    );
}

/// A call with operands at `x` and `y`, then a halt.
fn call_program(number: u32, x: u32, y: u32) -> gnomon_executor::Program {
    let text = [
        op(Opcode::Lui, A0, 0, 0, x & !0xfff),
        op(Opcode::Addi, A0, A0, 0, x & 0xfff),
        op(Opcode::Lui, A1, 0, 0, y & !0xfff),
        op(Opcode::Addi, A1, A1, 0, y & 0xfff),
        op(Opcode::Addi, T0, 0, 0, number),
        op(Opcode::Ecall, 0, 0, 0, 0),
        op(Opcode::Addi, A0, 0, 0, 0),
        op(Opcode::Addi, T0, 0, 0, syscall::HALT),
        op(Opcode::Ecall, 0, 0, 0, 0),
    ];
    program(&text, &[0; 64])
}

#[test]
fn operands_outside_aligned_data_memory_trap() {
    let text = 0x1_0000;
    for (number, name) in [
        (syscall::FP25519_MUL, "FP25519_MUL"),
        (syscall::FP25519_ADD, "FP25519_ADD"),
        (syscall::FP25519_SUB, "FP25519_SUB"),
    ] {
        assert!(
            gnomon_executor::execute(
                &call_program(number, DATA, DATA + 32),
                &Input::new(),
                &Default::default()
            )
            .succeeded()
        );
        for (x, y) in [
            (DATA + 2, DATA),
            (DATA, DATA + 1),
            (DATA, text),
            (text, DATA),
        ] {
            let execution = gnomon_executor::execute(
                &call_program(number, x, y),
                &Input::new(),
                &Default::default(),
            );
            let trap = execution.halt().expect_err("a bad buffer traps");
            assert!(
                matches!(
                    trap.cause,
                    gnomon_executor::TrapCause::BadSyscallBuffer { syscall, .. } if syscall == name
                ),
                "{:?}",
                trap.cause
            );
        }
    }
}
