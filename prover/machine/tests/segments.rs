//! Segment proofs of hand-written programs: what the tables prove, and what they reject.

use gnomon_executor::isa::{Instruction, Opcode};
use gnomon_executor::{Input, Options, Program, SegmentSize, trace, write_elf};
use gnomon_machine::config::StarkParameters;
use gnomon_machine::segment::MachineKeys;

const DATA: u32 = 0x0010_0000;

fn op(opcode: Opcode, rd: u8, rs1: u8, rs2: u8, imm: u32) -> u32 {
    Instruction {
        opcode,
        rd,
        rs1,
        rs2,
        imm,
    }
    .encode()
}

/// Straight-line additions and subtractions, longer than one 2^10-cycle segment.
fn arithmetic_program() -> Program {
    let mut text = vec![
        op(Opcode::Lui, 1, 0, 0, 0x8000_0000),
        op(Opcode::Addi, 2, 0, 0, (-1i32) as u32),
        op(Opcode::Auipc, 3, 0, 0, 0x1234_5000),
        op(Opcode::Fence, 0, 0, 0, 0xff),
    ];
    let mut i = 0u32;
    while text.len() < 1100 {
        let (rd, rs1, rs2) = ((i % 7 + 1) as u8, (i % 5) as u8, (i % 3 + 1) as u8);
        text.push(match i % 4 {
            0 => op(Opcode::Add, rd, rs1, rs2, 0),
            1 => op(Opcode::Sub, rd, rs1, rs2, 0),
            2 => op(
                Opcode::Addi,
                rd,
                rs1,
                0,
                (i as i32 * 37 - 2000) as u32 & 0xfff,
            ),
            _ => op(Opcode::Add, 0, rs1, rs2, 0),
        });
        i += 1;
    }
    Program::from_elf(&write_elf(&text, DATA, &[], 0x1000)).unwrap()
}

#[test]
fn proves_and_verifies_an_arithmetic_segment() {
    let program = arithmetic_program();
    let options = Options {
        segment_size: SegmentSize::new(10).unwrap(),
        cycle_limit: 1024,
    };
    let (_, segments) = trace(
        &program,
        &Input::new(),
        &Options {
            cycle_limit: u64::MAX,
            ..options
        },
    );
    let keys = MachineKeys::new(&program, StarkParameters::testing());
    let proof = keys
        .prove_segment(&segments[0])
        .expect("the segment proves");
    let values = keys.verify_segment(&proof).expect("the proof verifies");
    assert_eq!(values.cycles, 1024);
    assert_eq!(values.end_registers, segments[0].end_registers);
    let bytes = proof.to_bytes();
    let decoded = gnomon_machine::segment::SegmentProof::from_bytes(&bytes).unwrap();
    assert_eq!(keys.verify_segment(&decoded).unwrap(), values);
}
