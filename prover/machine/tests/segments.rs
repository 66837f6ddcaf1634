//! Segment proofs of hand-written programs: what the tables prove, and what they reject.

mod common;

use common::*;
use gnomon_executor::Input;
use gnomon_executor::isa::Opcode;
use gnomon_machine::public_values::PublicValues;
use gnomon_machine::segment::VerifyError;
use p3_field::PrimeCharacteristicRing;

/// Straight-line additions and subtractions, longer than one 2^10-cycle segment.
fn arithmetic_program() -> gnomon_executor::Program {
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
    program(&text, &[])
}

#[test]
fn proves_and_verifies_an_arithmetic_segment() {
    let program = arithmetic_program();
    let segments = segments(&program, &Input::new(), 10, 1100);
    let keys = keys(&program);
    let values = prove_and_verify(&keys, &segments[0]);
    assert_eq!(values.cycles, 1024);
    assert_eq!(values.end_registers, segments[0].end_registers);
    assert_eq!(values.end_pc, 0x1_0000 + 4 * 1024);
}

#[test]
fn every_add_sub_column_is_constrained() {
    let program = arithmetic_program();
    let segment = &segments(&program, &Input::new(), 10, 1100)[0];
    assert_every_column_is_constrained(&keys(&program), segment, &["AddSub", "Boundary"], 2);
}

#[test]
fn wrong_public_values_are_rejected() {
    let program = arithmetic_program();
    let segment = &segments(&program, &Input::new(), 10, 1100)[0];
    let keys = keys(&program);
    let proof = keys.prove_segment(segment).unwrap();
    let honest = PublicValues::from_field_elements(&proof.public_values).unwrap();

    let mut lied = proof.public_values.clone();
    let end_register = gnomon_machine::public_values::offset::END_REGISTERS + 2 * 5;
    lied[end_register] += gnomon_machine::config::F::ONE;
    let forged = gnomon_machine::segment::SegmentProof {
        public_values: lied,
        proof: proof.proof,
    };
    assert!(matches!(
        keys.verify_segment(&forged),
        Err(VerifyError::Stark(_))
    ));

    // The same proof under another program's keys.
    let other = common::program(&[op(Opcode::Addi, 1, 0, 0, 1)], &[]);
    let other_keys = common::keys(&other);
    let proof = keys.prove_segment(segment).unwrap();
    assert!(matches!(
        other_keys.verify_segment(&proof),
        Err(VerifyError::WrongProgram { .. })
    ));
    assert_eq!(honest.cycles, 1024);
}
