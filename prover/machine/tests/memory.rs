//! Loads, stores and paging: memory proven across pages, the memory roots moved from the
//! prior state to the new one.

mod common;

use common::*;
use gnomon_executor::Input;
use gnomon_executor::isa::Opcode;

/// Stores and loads of every width and offset, over three data pages, repeated with changing
/// values until well past one 2^10-cycle segment.
fn memory_program() -> gnomon_executor::Program {
    let (base, value, scratch) = (5u8, 6u8, 7u8);
    let mut text = vec![op(Opcode::Lui, base, 0, 0, DATA)];
    let mut round = 0u32;
    while text.len() < 1200 {
        let page = (round % 3) * 1024;
        text.push(op(Opcode::Addi, value, value, 0, 0x7a5 + round));
        text.push(op(Opcode::Lui, scratch, 0, 0, 0x8000_0000 ^ (round << 12)));
        text.push(op(Opcode::Add, value, value, scratch, 0));
        for (store, offset) in [
            (Opcode::Sw, 0),
            (Opcode::Sh, 6),
            (Opcode::Sh, 4),
            (Opcode::Sb, 9),
            (Opcode::Sb, 10),
            (Opcode::Sb, 15),
        ] {
            text.push(op(store, 0, base, value, page + offset));
        }
        for (load, offset) in [
            (Opcode::Lw, 0),
            (Opcode::Lw, 4),
            (Opcode::Lh, 6),
            (Opcode::Lhu, 6),
            (Opcode::Lh, 4),
            (Opcode::Lb, 9),
            (Opcode::Lbu, 10),
            (Opcode::Lb, 15),
            (Opcode::Lbu, 12),
            (Opcode::Lw, 2000),
        ] {
            let rd = 10 + (text.len() % 8) as u8;
            text.push(op(load, rd, base, 0, page + offset));
            text.push(op(Opcode::Add, scratch, scratch, rd, 0));
        }
        // Loads into x0 read memory and write nothing (compilers emit them for volatile
        // reads whose value is unused).
        text.push(op(Opcode::Lw, 0, base, 0, page));
        text.push(op(Opcode::Lb, 0, base, 0, page + 15));
        round += 1;
    }
    let data: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let data_size = 3 * 1024;
    program_with_data_size(&text, &data, data_size)
}

fn program_with_data_size(text: &[u32], data: &[u8], size: u32) -> gnomon_executor::Program {
    gnomon_executor::Program::from_elf(&gnomon_executor::write_elf(text, DATA, data, size)).unwrap()
}

#[test]
fn proves_loads_stores_and_paging() {
    let program = memory_program();
    let segments = segments(&program, &Input::new(), 10, 1200);
    let keys = keys(&program);
    let values = prove_and_verify(&keys, &segments[0]);
    assert!(values.touched);
    assert_eq!(values.memory_root_before, program.memory_tree().root());
    assert_eq!(values.memory_root_after, segments[0].memory_root_after);
    assert_ne!(values.memory_root_before, values.memory_root_after);
    assert_eq!(segments[0].pages.len(), 4);
}

#[test]
fn every_memory_column_is_constrained() {
    let program = memory_program();
    let segment = &segments(&program, &Input::new(), 10, 1200)[0];
    assert_every_column_is_constrained(
        &keys(&program),
        segment,
        &["Load", "Store", "Page", "Merkle"],
        2,
    );
}

#[test]
fn debug_memory_traces() {
    let program = memory_program();
    let segment = &segments(&program, &Input::new(), 10, 1200)[0];
    let keys = keys(&program);
    let (record, traces) = keys.traces(segment);
    gnomon_machine::debug::check_traces(&keys, &traces, &record.public_values.to_field_elements())
        .unwrap();
}
