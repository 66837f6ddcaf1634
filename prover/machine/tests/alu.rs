//! Segment proofs of the ALU, branch and jump tables: every operation on corner values, loops
//! with every branch taken and not taken, calls and returns, random programs checked against
//! the executor; and malicious provers against every column of each table.

mod common;

use std::collections::HashMap;

use common::*;
use gnomon_executor::isa::Opcode;
use gnomon_executor::{Input, Program, Segment};
use gnomon_machine::debug::check_traces;

/// Operands every operation meets: zero, one, minus one, the extremes, shift amounts around
/// 32, limb boundaries.
const CORNERS: [u32; 12] = [
    0,
    1,
    u32::MAX,
    0x8000_0000,
    0x7fff_ffff,
    31,
    32,
    33,
    0x0000_ffff,
    0xffff_8000,
    0x1234_5678,
    (-7i32) as u32,
];

/// The register that holds `CORNERS[i]`.
fn corner(i: usize) -> u8 {
    i as u8 + 1
}

const REGISTER_OPS: [Opcode; 18] = [
    Opcode::Add,
    Opcode::Sub,
    Opcode::Sll,
    Opcode::Slt,
    Opcode::Sltu,
    Opcode::Xor,
    Opcode::Srl,
    Opcode::Sra,
    Opcode::Or,
    Opcode::And,
    Opcode::Mul,
    Opcode::Mulh,
    Opcode::Mulhsu,
    Opcode::Mulhu,
    Opcode::Div,
    Opcode::Divu,
    Opcode::Rem,
    Opcode::Remu,
];

/// `lui` and `addi` that put `value` in `rd`.
fn load_constant(code: &mut Vec<u32>, rd: u8, value: u32) {
    let upper = value.wrapping_add(0x800) & 0xffff_f000;
    code.push(op(Opcode::Lui, rd, 0, 0, upper));
    code.push(op(Opcode::Addi, rd, rd, 0, value.wrapping_sub(upper)));
}

/// A tiny assembler: instructions, labels, and branches and jumps to labels.
#[derive(Default)]
struct Assembler {
    code: Vec<u32>,
    labels: HashMap<&'static str, usize>,
    fixups: Vec<(usize, Opcode, u8, u8, u8, &'static str)>,
}

impl Assembler {
    fn push(&mut self, opcode: Opcode, rd: u8, rs1: u8, rs2: u8, imm: u32) {
        self.code.push(op(opcode, rd, rs1, rs2, imm));
    }

    fn label(&mut self, name: &'static str) {
        self.labels.insert(name, self.code.len());
    }

    fn refer(&mut self, opcode: Opcode, rd: u8, rs1: u8, rs2: u8, label: &'static str) {
        self.fixups
            .push((self.code.len(), opcode, rd, rs1, rs2, label));
        self.code.push(0);
    }

    fn branch(&mut self, opcode: Opcode, rs1: u8, rs2: u8, label: &'static str) {
        self.refer(opcode, 0, rs1, rs2, label);
    }

    fn jal(&mut self, rd: u8, label: &'static str) {
        self.refer(Opcode::Jal, rd, 0, 0, label);
    }

    fn finish(mut self) -> Vec<u32> {
        for (at, opcode, rd, rs1, rs2, label) in self.fixups {
            let offset = (self.labels[label] as i32 - at as i32) * 4;
            self.code[at] = op(opcode, rd, rs1, rs2, offset as u32);
        }
        self.code
    }
}

/// Every register operation on every pair of corner values, every immediate operation with
/// corner immediates, then a jump to itself forever.
fn alu_program() -> Program {
    let mut code = Vec::new();
    for (i, &value) in CORNERS.iter().enumerate() {
        load_constant(&mut code, corner(i), value);
    }
    let mut rd = 0u8;
    let mut next_rd = || {
        rd = (rd + 1) % 16;
        // x0 too, so that writes to it are exercised.
        if rd == 0 { 0 } else { 15 + rd }
    };
    for opcode in REGISTER_OPS {
        for i in 0..CORNERS.len() {
            for j in 0..CORNERS.len() {
                code.push(op(opcode, next_rd(), corner(i), corner(j), 0));
            }
        }
    }
    let immediates = [0, 1, 0xffff_ffff, 0xffff_f800, 0x7ff, 0x555];
    let immediate_ops = [
        Opcode::Slti,
        Opcode::Sltiu,
        Opcode::Xori,
        Opcode::Ori,
        Opcode::Andi,
    ];
    for opcode in immediate_ops {
        for imm in immediates {
            for i in 0..CORNERS.len() {
                code.push(op(opcode, next_rd(), corner(i), 0, imm));
            }
        }
    }
    for opcode in [Opcode::Slli, Opcode::Srli, Opcode::Srai] {
        for shamt in [0, 1, 7, 8, 9, 15, 16, 17, 23, 24, 31] {
            for i in 0..CORNERS.len() {
                code.push(op(opcode, next_rd(), corner(i), 0, shamt));
            }
        }
    }
    code.push(op(Opcode::Jal, 0, 0, 0, 0));
    program(&code, &[])
}

/// A loop that takes and skips every kind of branch, calls a function with `jal` and returns
/// with `jalr`, jumps through `jalr` with an odd and a negative offset, and starts over
/// forever.
fn control_program() -> Program {
    let (i, n, half, min, minus_one, link, target) = (1, 2, 3, 4, 5, 6, 7);
    let mut asm = Assembler::default();
    asm.label("start");
    asm.push(Opcode::Addi, i, 0, 0, 0);
    asm.push(Opcode::Addi, n, 0, 0, 24);
    asm.push(Opcode::Addi, half, 0, 0, 12);
    asm.push(Opcode::Lui, min, 0, 0, 0x8000_0000);
    asm.push(Opcode::Addi, minus_one, 0, 0, u32::MAX);
    asm.label("loop");
    asm.push(Opcode::Addi, i, i, 0, 1);
    // Each branch either skips the counter after it or not; x10.. count the fallthroughs.
    let skips = [
        (Opcode::Beq, i, half),
        (Opcode::Bne, i, half),
        (Opcode::Blt, i, half),
        (Opcode::Bge, i, half),
        (Opcode::Bltu, i, half),
        (Opcode::Bgeu, i, half),
        (Opcode::Blt, min, i),
        (Opcode::Bge, minus_one, i),
        (Opcode::Bltu, minus_one, i),
        (Opcode::Bgeu, min, i),
        (Opcode::Beq, min, min),
        (Opcode::Bne, minus_one, min),
    ];
    let labels = [
        "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11",
    ];
    for (k, ((opcode, rs1, rs2), label)) in skips.into_iter().zip(labels).enumerate() {
        asm.branch(opcode, rs1, rs2, label);
        let counter = 10 + k as u8;
        asm.push(Opcode::Addi, counter, counter, 0, 1);
        asm.label(label);
    }
    // A call and its return; a call that does not link.
    asm.jal(link, "function");
    asm.jal(0, "after_function");
    asm.push(Opcode::Addi, 30, 30, 0, 1);
    asm.label("after_function");
    // jalr to an odd address (bit 0 is cleared) and with a negative offset, linking.
    asm.push(Opcode::Auipc, target, 0, 0, 0);
    asm.push(Opcode::Jalr, 0, target, 0, 12 + 1);
    asm.push(Opcode::Addi, 30, 30, 0, 1);
    asm.push(Opcode::Auipc, target, 0, 0, 0);
    asm.push(Opcode::Addi, target, target, 0, 20);
    asm.push(Opcode::Jalr, 8, target, 0, (-4i32) as u32);
    asm.push(Opcode::Addi, 30, 30, 0, 1);
    // Backward branch: the loop runs n times, then starts over.
    asm.branch(Opcode::Blt, i, n, "loop");
    asm.jal(0, "start");
    asm.label("function");
    asm.push(Opcode::Addi, 9, 9, 0, 3);
    asm.push(Opcode::Jalr, 0, link, 0, 0);
    program(&asm.finish(), &[])
}

/// SplitMix64, for reproducible random programs without a dependency.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u32) -> u32 {
        (self.next() % u64::from(bound)) as u32
    }
}

/// One step of a random program: an instruction, or a control transfer over the next
/// `1..=3` steps (a pair `auipc`, `jalr` is one step, so that nothing lands between the two).
enum Step {
    Plain(u32),
    Branch(Opcode, u8, u8, usize),
    Jal(u8, usize),
    /// `auipc base, 0; jalr rd, base, offset (+ 1 when odd)`.
    Jalr {
        rd: u8,
        base: u8,
        odd: bool,
        over: usize,
    },
}

/// Registers loaded with edge values, then random ALU operations, forward branches and
/// jumps, and a final jump to itself.
fn random_program(seed: u64, length: usize) -> Program {
    let mut random = Random(seed);
    let mut code = Vec::new();
    for rd in 1..32 {
        let value = if random.below(4) < 3 {
            CORNERS[random.below(CORNERS.len() as u32) as usize]
        } else {
            random.next() as u32
        };
        load_constant(&mut code, rd, value);
    }
    let immediate_ops = [
        Opcode::Addi,
        Opcode::Slti,
        Opcode::Sltiu,
        Opcode::Xori,
        Opcode::Ori,
        Opcode::Andi,
    ];
    let branches = [
        Opcode::Beq,
        Opcode::Bne,
        Opcode::Blt,
        Opcode::Bge,
        Opcode::Bltu,
        Opcode::Bgeu,
    ];
    let mut steps = Vec::with_capacity(length + 4);
    while steps.len() < length {
        let rd = random.below(32) as u8;
        let (rs1, rs2) = (random.below(32) as u8, random.below(32) as u8);
        let imm12 = (random.below(4096) as i32 - 2048) as u32;
        let over = 1 + random.below(3) as usize;
        steps.push(match random.below(12) {
            0..=5 => Step::Plain(op(REGISTER_OPS[random.below(18) as usize], rd, rs1, rs2, 0)),
            6 | 7 => Step::Plain(op(
                immediate_ops[random.below(6) as usize],
                rd,
                rs1,
                0,
                imm12,
            )),
            8 => Step::Plain(op(
                [Opcode::Slli, Opcode::Srli, Opcode::Srai][random.below(3) as usize],
                rd,
                rs1,
                0,
                random.below(32),
            )),
            9 => Step::Plain(op(
                [Opcode::Lui, Opcode::Auipc][random.below(2) as usize],
                rd,
                0,
                0,
                random.next() as u32 & 0xffff_f000,
            )),
            10 => Step::Branch(branches[random.below(6) as usize], rs1, rs2, over),
            _ if random.below(2) == 0 => Step::Jal(rd, over),
            _ => Step::Jalr {
                rd,
                base: 1 + random.below(31) as u8,
                odd: random.below(2) == 1,
                over,
            },
        });
    }
    // Transfers land at most three steps past the body.
    steps.extend([0; 3].map(|_| Step::Plain(op(Opcode::Addi, 0, 0, 0, 0))));
    steps.push(Step::Plain(op(Opcode::Jal, 0, 0, 0, 0)));

    let mut starts = Vec::with_capacity(steps.len());
    let mut at = code.len();
    for step in &steps {
        starts.push(at);
        at += if matches!(step, Step::Jalr { .. }) {
            2
        } else {
            1
        };
    }
    for (index, step) in steps.iter().enumerate() {
        let after = |over: usize| 4 * (starts[index + 1 + over] - starts[index]) as u32;
        match *step {
            Step::Plain(word) => code.push(word),
            Step::Branch(opcode, rs1, rs2, over) => code.push(op(opcode, 0, rs1, rs2, after(over))),
            Step::Jal(rd, over) => code.push(op(Opcode::Jal, rd, 0, 0, after(over))),
            Step::Jalr {
                rd,
                base,
                odd,
                over,
            } => {
                code.push(op(Opcode::Auipc, base, 0, 0, 0));
                code.push(op(Opcode::Jalr, rd, base, 0, after(over) + u32::from(odd)));
            }
        }
    }
    program(&code, &[])
}

/// The first `count` segments of 2^10 cycles of a run of `program` (which runs for ever):
/// one cycle more, so that the last of them is cut before the run stops at its limit.
fn complete_segments(program: &Program, count: u64) -> Vec<Segment> {
    segments(program, &Input::new(), 10, (count << 10) + 1)
}

/// Whether `segment` ends in the jump to itself that ends the straight-line programs.
fn ends_in_final_loop(program: &Program, segment: &Segment) -> bool {
    program.word(segment.end_pc) == op(Opcode::Jal, 0, 0, 0, 0)
}

/// Proves and verifies every segment, and checks that each proves the executor's registers.
fn prove_all(program: &Program, segments: &[Segment]) {
    let keys = keys(program);
    for segment in segments {
        // The checker names the table, row and constraint of a failure; the verifier cannot.
        let (record, traces) = keys.traces(segment);
        let public_values = record.public_values.to_field_elements();
        if let Err(failure) = check_traces(&keys, &traces, &public_values) {
            panic!("segment {}: {failure}", segment.index);
        }
        let values = prove_and_verify(&keys, segment);
        assert_eq!(values.start_pc, segment.start_pc);
        assert_eq!(values.end_pc, segment.end_pc);
        assert_eq!(values.start_registers, segment.start_registers);
        assert_eq!(values.end_registers, segment.end_registers);
        assert_eq!(values.cycles, 1 << 10);
    }
}

#[test]
fn proves_every_alu_operation_on_corner_values() {
    let program = alu_program();
    let segments = complete_segments(&program, 4);
    assert_eq!(segments.len(), 4);
    assert!(
        ends_in_final_loop(&program, &segments[3]),
        "every operation ran"
    );
    prove_all(&program, &segments);
}

#[test]
fn proves_loops_branches_calls_and_returns() {
    let program = control_program();
    let segments = complete_segments(&program, 2);
    assert_eq!(segments.len(), 2);
    prove_all(&program, &segments);
}

#[test]
fn proves_random_programs() {
    for seed in [1, 2] {
        let program = random_program(seed, 1800);
        let segments = complete_segments(&program, 2);
        assert_eq!(segments.len(), 2, "seed {seed}");
        assert!(ends_in_final_loop(&program, &segments[1]), "seed {seed}");
        prove_all(&program, &segments);
    }
}

/// A program whose first rows in each table are the interesting ones (signed operands,
/// immediates, taken branches, linking jumps), for the malicious provers.
fn column_program() -> Program {
    let mut code = Vec::new();
    load_constant(&mut code, 1, (-7i32) as u32);
    load_constant(&mut code, 2, 0x8000_0021);
    load_constant(&mut code, 3, 0x1234_5678);
    code.extend([
        op(Opcode::Xori, 4, 1, 0, 0xffff_f800),
        op(Opcode::Or, 5, 2, 3, 0),
        op(Opcode::Slt, 6, 1, 3, 0),
        op(Opcode::Sltiu, 7, 2, 0, 0x7ff),
        op(Opcode::Sra, 8, 2, 2, 0),
        op(Opcode::Slli, 9, 3, 0, 12),
        op(Opcode::Mulh, 10, 1, 2, 0),
        op(Opcode::Mulhsu, 11, 2, 3, 0),
        op(Opcode::Div, 12, 2, 1, 0),
        op(Opcode::Remu, 13, 3, 0, 0),
        // Taken, then not taken.
        op(Opcode::Blt, 0, 1, 3, 8),
        op(Opcode::Addi, 0, 0, 0, 0),
        op(Opcode::Bgeu, 0, 3, 1, 8),
        op(Opcode::Addi, 0, 0, 0, 0),
        // jalr over one instruction, to an odd address, linking; then a jal that does not.
        op(Opcode::Auipc, 14, 0, 0, 0),
        op(Opcode::Jalr, 15, 14, 0, 13),
        op(Opcode::Addi, 0, 0, 0, 0),
        op(Opcode::Jal, 0, 0, 0, 0),
    ]);
    program(&code, &[])
}

fn assert_columns_constrained(table: &str) {
    let program = column_program();
    let segment = &complete_segments(&program, 1)[0];
    assert_every_column_is_constrained(&keys(&program), segment, &[table], 2);
}

#[test]
fn every_bitwise_column_is_constrained() {
    assert_columns_constrained("Bitwise");
}

#[test]
fn every_less_than_column_is_constrained() {
    assert_columns_constrained("LessThan");
}

#[test]
fn every_shift_column_is_constrained() {
    assert_columns_constrained("Shift");
}

#[test]
fn every_mul_column_is_constrained() {
    assert_columns_constrained("Mul");
}

#[test]
fn every_div_rem_column_is_constrained() {
    assert_columns_constrained("DivRem");
}

#[test]
fn every_branch_column_is_constrained() {
    assert_columns_constrained("Branch");
}

#[test]
fn every_jump_column_is_constrained() {
    assert_columns_constrained("Jump");
}
