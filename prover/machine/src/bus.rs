//! The buses that join the tables, and the exact tuple each one carries.
//!
//! A bus is a LogUp multiset argument: across all tables of one segment proof, every tuple sent
//! on a bus (positive count) is received (negative count) exactly as often. Tables never see
//! each other's columns; everything they agree on travels here.
//!
//! | bus | tuple | sent by | received by |
//! |---|---|---|---|
//! | `state` | `(pc, clk)` | the boundary (start), every instruction row (its successor) | every instruction row (itself), the boundary (end) |
//! | `program` | `(pc, op, rd, rs1, rs2, imm_lo, imm_hi, b_is_imm, write_rd)` | every instruction row | the program table, with multiplicity |
//! | `memory` | `(address, value_lo, value_hi, ts)` | page-in and register-in (ts 0), every access (new value, its ts) | every access (previous value and ts), page-out and register-out |
//! | `range16` | `(value)` with value < 2^16 | any table | the lookup table, with multiplicity |
//! | `bytes` | `(op, a, b, a op b)` for bytes a, b | bitwise tables | the lookup table, with multiplicity |
//! | `halt` | `(exit_lo, exit_hi, input digest (16 limbs), output digest (16 limbs))` | the syscall table on HALT | the boundary, if the segment halted |
//! | `poseidon2` | `(input[16], output[16])` | page hashing, the Merkle table, the precompile | the Poseidon2 table, with multiplicity |
//! | `merkle` | `(phase, level, index, digest[8])` | page hashing (leaves), the Merkle table (parents) | the Merkle table (touched children), the boundary (roots) |
//! | `syscall` | `(number, clk, a0 limbs, a1 limbs, a2 limbs)` | the `ecall` table, for HALT and the precompiles | the table of that syscall |
//! | `read` | `(clk, word address, words written, words left)` | the `ecall` table (start), each word written (next) | each word written (itself), the `ecall` table (end) |
//! | `sha256` | `(state in (16 limbs), block (32 limbs), state out (16 limbs))` | the SHA-256 syscall table | the SHA-256 compression table, with multiplicity |
//!
//! Conventions: a word travels as two 16-bit limbs, low first. A memory `address` is a word
//! address (byte address / 4); the register file is addressed as words `0..32`, which no data
//! page can hold (data pages start above the text). Timestamps are segment-relative: the
//! instruction at cycle `clk` accesses memory at `4 * clk + slot + 1` (slot 0: rs1, 1: rs2,
//! 2: data, 3: rd); timestamp 0 is the state the segment started from.

use core::ops::Neg;

use p3_field::PrimeCharacteristicRing;
use p3_lookup::{Count, InteractionBuilder};

pub const STATE: &str = "state";
pub const PROGRAM: &str = "program";
pub const MEMORY: &str = "memory";
pub const RANGE16: &str = "range16";
pub const BYTES: &str = "bytes";
pub const HALT: &str = "halt";
pub const POSEIDON2: &str = "poseidon2";
pub const SYSCALL: &str = "syscall";
pub const READ: &str = "read";
pub const SHA256: &str = "sha256";
pub const MERKLE: &str = "merkle";

/// A message sent `flag` times (`flag` is a boolean the AIR constrains).
pub fn send<E>(flag: E) -> Count<E> {
    Count::bounded(flag, 1)
}

/// A message received `flag` times (`flag` is a boolean the AIR constrains).
pub fn receive<E: Neg<Output = E>>(flag: E) -> Count<E> {
    -Count::bounded(flag, 1)
}

/// The fields of an instruction as the program table provides them.
#[derive(Clone, Debug)]
pub struct Fetch<E> {
    pub pc: E,
    pub op: E,
    pub rd: E,
    pub rs1: E,
    pub rs2: E,
    pub imm: [E; 2],
    pub b_is_imm: E,
    pub write_rd: E,
}

impl<E> Fetch<E> {
    fn into_tuple(self) -> [E; 9] {
        let [imm_lo, imm_hi] = self.imm;
        [
            self.pc,
            self.op,
            self.rd,
            self.rs1,
            self.rs2,
            imm_lo,
            imm_hi,
            self.b_is_imm,
            self.write_rd,
        ]
    }
}

/// Typed senders and receivers for every bus, so that no table spells a tuple by hand.
pub trait Buses: InteractionBuilder {
    fn state(&mut self, pc: Self::Expr, clk: Self::Expr, count: Count<Self::Expr>) {
        self.push_interaction(STATE, [pc, clk], count);
    }

    fn program(&mut self, fetch: Fetch<Self::Expr>, count: Count<Self::Expr>) {
        self.push_interaction(PROGRAM, fetch.into_tuple(), count);
    }

    fn memory(
        &mut self,
        address: Self::Expr,
        value: [Self::Expr; 2],
        ts: Self::Expr,
        count: Count<Self::Expr>,
    ) {
        let [lo, hi] = value;
        self.push_interaction(MEMORY, [address, lo, hi, ts], count);
    }

    fn range16(&mut self, value: Self::Expr, count: Count<Self::Expr>) {
        self.push_interaction(RANGE16, [value], count);
    }

    /// An `ecall` handed to the table of its syscall. `clk` is the `ecall`'s cycle: its word
    /// accesses happen at the cycles after it, access `i` at `timestamp(clk + 1 + i, 0)`.
    fn syscall(
        &mut self,
        number: Self::Expr,
        clk: Self::Expr,
        args: [[Self::Expr; 2]; 3],
        count: Count<Self::Expr>,
    ) {
        let fields = [number, clk].into_iter().chain(args.into_iter().flatten());
        self.push_interaction(SYSCALL, fields, count);
    }

    /// A SHA-256 compression of `block` into `state_in`, giving `state_out` (words as in
    /// FIPS 180-4, each as two limbs).
    fn sha256(
        &mut self,
        state_in: [[Self::Expr; 2]; 8],
        block: [[Self::Expr; 2]; 16],
        state_out: [[Self::Expr; 2]; 8],
        count: Count<Self::Expr>,
    ) {
        let fields = state_in.into_iter().chain(block).chain(state_out).flatten();
        self.push_interaction(SHA256, fields, count);
    }

    fn byte_op(
        &mut self,
        op: ByteOp,
        a: Self::Expr,
        b: Self::Expr,
        result: Self::Expr,
        count: Count<Self::Expr>,
    ) {
        let op = Self::Expr::from_u32(op as u32);
        self.push_interaction(BYTES, [op, a, b, result], count);
    }
}

impl<AB: InteractionBuilder> Buses for AB {}

/// Senders and receivers of the memory commitment's buses.
pub trait CommitmentBuses: InteractionBuilder {
    fn poseidon2(
        &mut self,
        input: [Self::Expr; 16],
        output: [Self::Expr; 16],
        count: Count<Self::Expr>,
    ) {
        self.push_interaction(POSEIDON2, input.into_iter().chain(output), count);
    }

    /// A node of the memory tree in `phase` 0 (before the segment) or 1 (after it).
    fn merkle(
        &mut self,
        phase: Self::Expr,
        level: Self::Expr,
        index: Self::Expr,
        digest: [Self::Expr; 8],
        count: Count<Self::Expr>,
    ) {
        self.push_interaction(
            MERKLE,
            [phase, level, index].into_iter().chain(digest),
            count,
        );
    }
}

impl<AB: InteractionBuilder> CommitmentBuses for AB {}

/// The byte operations the lookup table provides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum ByteOp {
    And = 1,
    Or = 2,
    Xor = 3,
}
