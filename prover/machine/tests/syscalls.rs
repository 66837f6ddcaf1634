//! The `ecall` table, READ, WRITE and HALT: a program that reads its input, writes, and halts
//! with an exit code and digests that the public values carry.

mod common;

use common::*;
use gnomon_executor::Input;
use gnomon_executor::isa::Opcode;
use gnomon_guest_abi::syscall;

const T0: u8 = 5;
const A0: u8 = 10;
const A1: u8 = 11;
const A2: u8 = 12;

fn call(text: &mut Vec<u32>, number: u32, a0: u32, a2: u32) {
    text.push(op(Opcode::Addi, T0, 0, 0, number));
    text.push(op(Opcode::Addi, A0, 0, 0, a0));
    text.push(op(Opcode::Addi, A2, 0, 0, a2));
    text.push(op(Opcode::Ecall, 0, 0, 0, 0));
}

fn syscall_program() -> gnomon_executor::Program {
    let mut text = vec![op(Opcode::Lui, A1, 0, 0, DATA)];
    call(&mut text, syscall::READ, 0, 3); // the frame of 8 bytes: 3 words
    text.push(op(Opcode::Lw, 13, A1, 0, 4));
    call(&mut text, syscall::READ, 4, 0); // an empty read of the hint stream
    call(&mut text, syscall::WRITE, 1, 5);
    call(&mut text, syscall::WRITE, 9, 5); // an unknown stream: dropped
    call(&mut text, syscall::HALT, 42, 0);
    program(&text, &[0x5a; 64])
}

fn input() -> Input {
    let mut input = Input::new();
    input.write_frame(b"gnomon!!");
    input
}

#[test]
fn proves_reads_writes_and_the_halt() {
    let program = syscall_program();
    let segments = segments(&program, &input(), 20, u64::MAX);
    assert_eq!(segments.len(), 1);
    let halt = segments[0].halt.clone().expect("the program halts");
    let values = prove_and_verify(&keys(&program), &segments[0]);
    assert!(values.halted);
    assert_eq!(values.exit_code, 42);
    assert_eq!(halt.exit_code, 42);
    // The digest words are what the program left at a1: the length word and the input, then
    // the data segment's bytes.
    assert_eq!(values.input_digest[0], 8);
    assert_eq!(values.input_digest[1], u32::from_le_bytes(*b"gnom"));
    assert_eq!(values.output_digest, [0x5a5a_5a5a; 8]);
    assert_eq!(values.end_pc, segments[0].end_pc);
}

#[test]
fn every_syscall_column_is_constrained() {
    let program = syscall_program();
    let segment = &segments(&program, &input(), 20, u64::MAX)[0];
    assert_every_column_is_constrained(&keys(&program), segment, &["Syscall", "Read", "Halt"], 2);
}
