//! Differential testing of the interpreter against an independent RISC-V implementation:
//! Debian's qemu-user (`qemu-riscv32`).
//!
//! Each case is a random straight-line-and-forward-branching RV32IM program: a prologue that
//! loads edge values (0, ±1, i32::MIN, i32::MAX, shift amounts 31/32/33, ...) into the
//! registers, a body of random instructions over every RV32IM opcode (ALU, M extension,
//! aligned loads and stores into a data page, forward branches and jumps, `jalr`), and an
//! epilogue that stores the registers and writes the data page and the registers to stdout.
//! The epilogue is the only part that differs between the two machines (Linux syscalls for
//! qemu, Gnomon's WRITE and HALT for us); the outputs must be identical byte for byte.
//!
//! The test needs `qemu-riscv32` (Debian's qemu-user, installed by scripts/setup). Without it
//! the test prints a note and passes, unless `GNOMON_CI=1` says every tool must be present.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use gnomon_executor::isa::{Instruction, Opcode};
use gnomon_executor::{Input, Options, Program, execute, write_elf};
use gnomon_guest_abi::{fd, syscall};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const TEXT: u32 = 0x0001_0000;
const DATA: u32 = 0x0002_0000;
/// Loads and stores go through this register, pointing at the middle of the data page.
const BASE: u8 = 28;
/// Holds the address of the body's first instruction, the base of `jalr` targets.
const BODY: u8 = 29;
const DUMP: u8 = 31;
/// The body writes x0..x27.
const WRITABLE: u8 = 28;
const EDGE_VALUES: [u32; 14] = [
    0,
    1,
    u32::MAX,
    0x8000_0000,
    0x7fff_ffff,
    31,
    32,
    33,
    0xffff_fffe,
    0x0000_8000,
    0x0000_ffff,
    0xffff_8000,
    0x8000_0001,
    0x1234_5678,
];

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

fn load_constant(code: &mut Vec<u32>, rd: u8, value: u32) {
    code.push(op(
        Opcode::Lui,
        rd,
        0,
        0,
        value.wrapping_add(0x800) & 0xffff_f000,
    ));
    code.push(op(
        Opcode::Addi,
        rd,
        rd,
        0,
        ((value << 20) as i32 >> 20) as u32,
    ));
}

/// Prologue and body: identical on both machines.
fn random_program(rng: &mut StdRng, length: usize, coverage: &mut BTreeSet<Opcode>) -> Vec<u32> {
    let mut code = Vec::new();
    for rd in 1..WRITABLE {
        let value = if rng.random_bool(0.75) {
            EDGE_VALUES[rng.random_range(0..EDGE_VALUES.len())]
        } else {
            rng.random()
        };
        load_constant(&mut code, rd, value);
    }
    load_constant(&mut code, BASE, DATA + 0x800);
    let body_start = code.len();
    load_constant(&mut code, BODY, TEXT + 4 * (body_start as u32 + 2));

    use Opcode::*;
    let alu = [
        Add, Sub, Sll, Slt, Sltu, Xor, Srl, Sra, Or, And, Mul, Mulh, Mulhsu, Mulhu, Div, Divu, Rem,
        Remu,
    ];
    let alu_immediate = [Addi, Slti, Sltiu, Xori, Ori, Andi];
    let shifts = [Slli, Srli, Srai];
    let loads = [(Lb, 1), (Lh, 2), (Lw, 4), (Lbu, 1), (Lhu, 2)];
    let stores = [(Sb, 1), (Sh, 2), (Sw, 4)];
    let branches = [Beq, Bne, Blt, Bge, Bltu, Bgeu];

    let body_start = code.len();
    while code.len() - body_start < length {
        let position = code.len() - body_start;
        let left = length - position;
        let rd = rng.random_range(0..WRITABLE);
        let register = |rng: &mut StdRng| rng.random_range(0..32u8);
        let (rs1, rs2) = (register(rng), register(rng));
        let imm12 = rng.random_range(-2048i32..2048) as u32;
        let instruction = match rng.random_range(0..10) {
            0..=2 => op(alu[rng.random_range(0..alu.len())], rd, rs1, rs2, 0),
            3 => op(
                alu_immediate[rng.random_range(0..alu_immediate.len())],
                rd,
                rs1,
                0,
                imm12,
            ),
            4 => op(
                shifts[rng.random_range(0..shifts.len())],
                rd,
                rs1,
                0,
                rng.random_range(0..32),
            ),
            5 => {
                let opcode = if rng.random_bool(0.5) { Lui } else { Auipc };
                op(opcode, rd, 0, 0, rng.random::<u32>() & 0xffff_f000)
            }
            6 => {
                let (opcode, width) = loads[rng.random_range(0..loads.len())];
                let offset = rng.random_range(-2048i32 / width..2048 / width) * width;
                op(opcode, rd, BASE, 0, offset as u32)
            }
            7 => {
                let (opcode, width) = stores[rng.random_range(0..stores.len())];
                let offset = rng.random_range(-2048i32 / width..2048 / width) * width;
                op(opcode, 0, BASE, rs2, offset as u32)
            }
            8 if left >= 2 => {
                // Forward: skip 0..left-1 instructions, landing at most on the epilogue.
                let skip = rng.random_range(0..left as u32);
                if rng.random_bool(0.7) {
                    let opcode = branches[rng.random_range(0..branches.len())];
                    op(opcode, 0, rs1, rs2, 4 * (skip + 1))
                } else {
                    op(Jal, rd, 0, 0, 4 * (skip + 1))
                }
            }
            9 if left >= 2 => {
                // A computed forward jump, relative to the body's start.
                let target = position as u32 + 1 + rng.random_range(0..left as u32);
                op(Jalr, rd, BODY, 0, 4 * target)
            }
            _ => op(Fence, 0, 0, 0, 0xff),
        };
        coverage.insert(gnomon_executor::isa::decode(instruction).opcode);
        code.push(instruction);
    }
    code
}

/// Stores x1..x27 after the data page, then the machine-specific write and exit.
fn epilogue(code: &mut Vec<u32>, write_and_exit: &[u32]) {
    load_constant(code, DUMP, DATA + 0x1000);
    for register in 1..WRITABLE {
        code.push(op(
            Opcode::Sw,
            0,
            DUMP,
            register,
            4 * u32::from(register - 1),
        ));
    }
    code.extend_from_slice(write_and_exit);
}

const OUTPUT_LEN: u32 = 0x1000 + 4 * (WRITABLE as u32 - 1);

fn gnomon_exit() -> Vec<u32> {
    let mut code = Vec::new();
    let register = |name| {
        gnomon_executor::isa::REGISTER_NAMES
            .iter()
            .position(|&n| n == name)
            .unwrap() as u8
    };
    let (t0, a0, a1, a2) = (
        register("t0"),
        register("a0"),
        register("a1"),
        register("a2"),
    );
    load_constant(&mut code, t0, syscall::WRITE);
    load_constant(&mut code, a0, fd::STDOUT);
    load_constant(&mut code, a1, DATA);
    load_constant(&mut code, a2, OUTPUT_LEN);
    code.push(op(Opcode::Ecall, 0, 0, 0, 0));
    load_constant(&mut code, t0, syscall::HALT);
    load_constant(&mut code, a0, 0);
    code.push(op(Opcode::Ecall, 0, 0, 0, 0));
    code
}

fn linux_exit() -> Vec<u32> {
    const A7: u8 = 17;
    const SYS_WRITE: u32 = 64;
    const SYS_EXIT: u32 = 93;
    let mut code = Vec::new();
    load_constant(&mut code, A7, SYS_WRITE);
    load_constant(&mut code, 10, 1);
    load_constant(&mut code, 11, DATA);
    load_constant(&mut code, 12, OUTPUT_LEN);
    code.push(op(Opcode::Ecall, 0, 0, 0, 0));
    load_constant(&mut code, A7, SYS_EXIT);
    load_constant(&mut code, 10, 0);
    code.push(op(Opcode::Ecall, 0, 0, 0, 0));
    code
}

fn qemu() -> Option<&'static Path> {
    let path = Path::new("/usr/bin/qemu-riscv32");
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("GNOMON_CI").as_deref() != Ok("1"),
        "qemu-riscv32 is missing (scripts/setup installs Debian's qemu-user)"
    );
    eprintln!("skipping the differential test: qemu-riscv32 is not installed");
    None
}

#[test]
fn interpreter_matches_qemu_on_random_programs() {
    let Some(qemu) = qemu() else { return };
    let directory =
        std::env::temp_dir().join(format!("gnomon-differential-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let mut coverage = BTreeSet::new();
    let cases = 300;
    for seed in 0..cases {
        let mut rng = StdRng::seed_from_u64(seed);
        let length = rng.random_range(1..120);
        let body = random_program(&mut rng, length, &mut coverage);
        let mut data = [0u8; 4096];
        rng.fill(&mut data[..]);

        let mut ours = body.clone();
        epilogue(&mut ours, &gnomon_exit());
        let program = Program::from_elf(&write_elf(&ours, DATA, &data, 0x2000)).unwrap();
        let execution = execute(&program, &Input::new(), &Options::default());
        assert!(execution.succeeded(), "seed {seed}: {:?}", execution.exit);

        let mut theirs = body.clone();
        epilogue(&mut theirs, &linux_exit());
        let path = directory.join(format!("case-{seed}.elf"));
        std::fs::write(&path, write_elf(&theirs, DATA, &data, 0x2000)).unwrap();
        // qemu-user refuses (silently, with status 1) files without the execute bit.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let output = Command::new(qemu).arg(&path).output().unwrap();
        assert!(
            output.status.success(),
            "seed {seed}: qemu failed: {output:?}"
        );

        if execution.stdout != output.stdout {
            let listing: Vec<String> = body
                .iter()
                .map(|&word| gnomon_executor::isa::decode(word).to_string())
                .collect();
            let registers = |bytes: &[u8]| -> Vec<u32> {
                bytes[0x1000..]
                    .chunks(4)
                    .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
                    .collect()
            };
            panic!(
                "seed {seed}: machines disagree\nprogram:\n{}\nours:   {:08x?}\nqemu:   {:08x?}",
                listing.join("\n"),
                registers(&execution.stdout),
                registers(&output.stdout),
            );
        }
        std::fs::remove_file(&path).unwrap();
    }
    std::fs::remove_dir(&directory).unwrap();
    let missing: Vec<_> = Opcode::ALL
        .into_iter()
        .filter(|opcode| !matches!(opcode, Opcode::Ecall | Opcode::Ebreak | Opcode::Illegal))
        .filter(|opcode| !coverage.contains(opcode))
        .collect();
    assert!(missing.is_empty(), "opcodes never generated: {missing:?}");
}
