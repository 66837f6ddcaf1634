//! The bounding shape: segments end at their page and syscall budgets, and the shape made of every table's
//! bound holds every segment, including those of programs written to fill one table as fast
//! as the cycles allow. A catalog holding it proves whatever a program does.

mod common;

use common::*;
use gnomon_executor::isa::Opcode;
use gnomon_executor::{Input, Options, Program, Segment, SegmentSize, execute, trace};
use gnomon_guest_abi::syscall;
use gnomon_machine::segment::{MAX_SEGMENT_LOG2, MachineKeys};

const T0: u8 = 5;
const BASE: u8 = 6;
const A0: u8 = 10;
const A1: u8 = 11;

/// Stores to a new page every three cycles, forever.
fn page_walker() -> Program {
    let text = [
        op(Opcode::Lui, BASE, 0, 0, DATA),
        op(Opcode::Sw, 0, BASE, BASE, 0),
        op(Opcode::Addi, BASE, BASE, 0, 1024),
        op(Opcode::Jal, 0, 0, 0, (-8i32) as u32),
    ];
    program(&text, &[0; 4])
}

/// Calls syscall `number` on buffers at `DATA` and `DATA + 64` (zeros at first), forever:
/// 100 calls in a row, then a jump back.
fn syscall_loop(number: u32) -> Program {
    let mut text = vec![
        op(Opcode::Lui, A0, 0, 0, DATA),
        op(Opcode::Addi, A1, A0, 0, 64),
        op(Opcode::Addi, T0, 0, 0, number),
    ];
    text.extend([op(Opcode::Ecall, 0, 0, 0, 0); 100]);
    text.push(op(Opcode::Jal, 0, 0, 0, (-400i32) as u32));
    program(&text, &[0; 128])
}

fn guest(name: &str) -> Program {
    let path = format!("{}/../../guest/elf/{name}.elf", env!("CARGO_MANIFEST_DIR"));
    Program::from_elf(&std::fs::read(path).unwrap()).unwrap()
}

/// The complete segments of a run cut at 2^`log2` cycles, stopped after `cycle_limit`.
fn run(program: &Program, input: &Input, log2: u32, cycle_limit: u64) -> Vec<Segment> {
    let options = Options {
        segment_size: SegmentSize::new(log2).unwrap(),
        cycle_limit,
    };
    let (traced, segments) = trace(program, input, &options);
    let fast = execute(program, input, &options);
    assert_eq!(fast.report.segments, traced.report.segments);
    segments
}

/// Checks that every segment fits the bounding shape of its size, and returns, per table,
/// the tallest of them.
fn assert_bounded(keys: &MachineKeys, segments: &[Segment], log2: u32) -> Vec<usize> {
    let bound = keys.bounding_shape(SegmentSize::new(log2).unwrap());
    let mut tallest = vec![0; bound.len()];
    for segment in segments {
        let natural = keys.shape_of(segment);
        for (index, air) in keys.airs().iter().enumerate() {
            assert!(
                natural[index] <= bound[index],
                "segment {} of 2^{log2} cycles: the {} table has 2^{} rows, above its bound 2^{}",
                segment.index,
                air.name(),
                natural[index],
                bound[index]
            );
            tallest[index] = tallest[index].max(natural[index]);
        }
    }
    tallest
}

fn table(keys: &MachineKeys, name: &str) -> usize {
    keys.airs()
        .iter()
        .position(|air| air.name() == name)
        .unwrap()
}

#[test]
fn segments_end_at_their_page_budget() {
    let program = page_walker();
    for log2 in [10, 14] {
        let size = SegmentSize::new(log2).unwrap();
        let segments = run(&program, &Input::new(), log2, 4 * u64::from(size.cycles()));
        assert!(segments.len() > 4, "the walk spans segments by pages");
        for segment in &segments {
            assert_eq!(segment.pages.len() as u32, size.max_pages());
            assert!(segment.cycles < size.cycles());
        }
    }
}

#[test]
fn the_bounding_shape_holds_segments_that_fill_each_table() {
    let walker = page_walker();
    let keys = keys(&walker);
    let segments = run(&walker, &Input::new(), 10, 8192);
    let tallest = assert_bounded(&keys, &segments, 10);
    let bound = keys.bounding_shape(SegmentSize::new(10).unwrap());
    // The page table's bound is reached exactly: the budget is what holds it.
    assert_eq!(tallest[table(&keys, "Page")], bound[table(&keys, "Page")]);

    for (number, filled) in [
        (syscall::SHA256_COMPRESS, "Sha256Compress"),
        (syscall::POSEIDON2_PERMUTE, "Poseidon2Syscall"),
        (syscall::FP25519_MUL, "Fp25519"),
        // WRITE costs one cycle: only the syscall budget holds this table.
        (syscall::WRITE, "Syscall"),
    ] {
        let program = syscall_loop(number);
        let keys = common::keys(&program);
        let segments = run(&program, &Input::new(), 10, 8192);
        let tallest = assert_bounded(&keys, &segments, 10);
        assert_eq!(tallest[table(&keys, filled)], bound[table(&keys, filled)]);
    }

    let mut sha_chain = Input::new();
    sha_chain.write(&(40u32, [1u8; 32]));
    let mut fibonacci = Input::new();
    fibonacci.write(&300u32);
    for (name, input) in [("sha-chain", sha_chain), ("fibonacci", fibonacci)] {
        let program = guest(name);
        let keys = common::keys(&program);
        for log2 in [10, 12] {
            assert_bounded(&keys, &run(&program, &input, log2, u64::MAX), log2);
        }
    }
}

#[test]
fn a_catalog_of_the_bounding_shape_alone_proves_a_segment_at_its_page_budget() {
    let program = page_walker();
    let keys = keys(&program);
    let segments = run(&program, &Input::new(), 10, 2048);
    let bound = keys.bounding_shape(SegmentSize::new(10).unwrap());
    let proof = keys
        .prove_segment_in(&segments[1], std::slice::from_ref(&bound))
        .unwrap();
    assert_eq!(proof.proof.degree_bits, bound);
    let values = keys.verify_segment(&proof).unwrap();
    assert_eq!(values.memory_root_after, segments[1].memory_root_after);
}

#[test]
fn bounding_shapes_stay_within_what_a_proof_may_hold() {
    let keys = keys(&page_walker());
    for log2 in SegmentSize::MIN_LOG2..=MAX_SEGMENT_LOG2 {
        let size = SegmentSize::new(log2).unwrap();
        let bound = keys.bounding_shape(size);
        keys.check_degree_bits(&bound).unwrap();
        // BabyBear's two-adic subgroup of 2^27 holds every table's extension at blowup 2.
        assert!(bound.iter().all(|&bits| bits < 27), "{bound:?}");
        // From 2^16 cycles on, the budgets keep the page-driven and precompile tables no
        // taller than the instruction tables.
        if log2 >= 16 {
            let instructions = bound[table(&keys, "AddSub")];
            for name in ["Page", "Merkle", "Poseidon2", "Sha256Compress", "Fp25519"] {
                assert!(
                    bound[table(&keys, name)] <= instructions,
                    "{name}: {bound:?}"
                );
            }
        }
    }
}
