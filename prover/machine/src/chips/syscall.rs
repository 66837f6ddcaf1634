//! `ecall`: reading the syscall's number and arguments, advancing the clock by its cost, and
//! handing it to the table that carries it out.
//!
//! A row reads `t0`, `a0`, `a1`, `a2` (slots 0 to 3 of the `ecall`'s cycle), whose number must
//! be one of the eight syscalls (a one-hot flag per syscall, their codes summing to `t0`), and
//! moves the state to `(pc + 4, clk + cycles)` with the costs of
//! `gnomon_guest_abi::syscall::cycles` (HALT keeps the pc: the segment ends there). Then:
//! - HALT and the precompiles (POSEIDON2_PERMUTE, SHA256_COMPRESS, FP25519_*): the `syscall`
//!   bus hands `(number, clk, a0, a1, a2)` to the table of that syscall, which makes its memory
//!   accesses.
//! - READ: the descriptor must be stdin (0) or hints (4) and the word count at most 256; the
//!   row starts the chain of word writes the read table proves, sending `(clk, word address, 0,
//!   count)` on the `read` bus, and takes back its end `(clk, word address, count, 0)`.
//! - WRITE: changes no machine state, so nothing more (the executor drops what it cannot
//!   write, and traps on nothing).
//!
//! Pointers become word addresses only after their high limb is bounded to `1..=2^14` (so the
//! pointer is below p and above the register file's words) and are divided by 4 in the field,
//! so a misaligned pointer names no memory word and its accesses cannot balance (see
//! [`super::address`]).

use core::borrow::{Borrow, BorrowMut};

use gnomon_guest_abi::{fd, syscall};
use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use crate::bus::{self, Buses, receive, send};
use crate::chips::instruction::{InstructionCols, eval_instruction};
use crate::chips::lookup::LookupCounts;
use crate::chips::{TraceGenerator, trace_from_rows};
use crate::columns::impl_columns;
use crate::config::F;
use crate::gadgets::{AccessCols, Word, eval_read, timestamp, word, word_expr};
use crate::record::{ExecutionRecord, SyscallEvent};
use crate::rom::Op;

/// The syscalls, in the order of the row's flags.
pub const SYSCALLS: [u32; 8] = [
    syscall::HALT,
    syscall::READ,
    syscall::WRITE,
    syscall::POSEIDON2_PERMUTE,
    syscall::SHA256_COMPRESS,
    syscall::FP25519_MUL,
    syscall::FP25519_ADD,
    syscall::FP25519_SUB,
];

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SyscallCols<T> {
    pub instruction: InstructionCols<T>,
    /// One-hot, in the order of [`SYSCALLS`].
    pub kind: [T; SYSCALLS.len()],
    /// `t0`, `a0`, `a1`, `a2`.
    pub registers: [Word<T>; 4],
    pub register_access: [AccessCols<T>; 4],
}

impl_columns!(SyscallCols, SYSCALL_WIDTH);

/// The chain of a READ's word writes: `(clk, word address, words written, words left)`.
pub trait ReadBus: InteractionBuilder {
    fn read_chain(&mut self, tuple: [Self::Expr; 4], count: p3_lookup::Count<Self::Expr>) {
        self.push_interaction(bus::READ, tuple, count);
    }
}

impl<AB: InteractionBuilder> ReadBus for AB {}

/// The word address of a pointer whose high limb the caller has bounded to `1..=2^14`.
pub fn word_address<E: PrimeCharacteristicRing + From<F>>(pointer: &Word<E>) -> E {
    let quarter: E = F::from_u32(4).inverse().into();
    pointer[0].clone() * quarter + pointer[1].clone() * E::from_u32(1 << 14)
}

#[derive(Clone, Debug, Default)]
pub struct SyscallChip;

fn fill(cols: &mut SyscallCols<F>, event: &SyscallEvent, lookups: &mut LookupCounts) {
    let instruction = &mut cols.instruction;
    instruction.is_real = F::ONE;
    instruction.pc = F::from_u32(event.pc);
    instruction.clk = F::from_u32(event.clk);
    cols.kind = SYSCALLS.map(|number| F::from_bool(number == event.number));
    let values = [event.number, event.args[0], event.args[1], event.args[2]];
    cols.registers = values.map(word);
    for (access_cols, access) in cols.register_access.iter_mut().zip(&event.registers) {
        access_cols.fill(access, lookups);
    }
    if event.number == syscall::READ {
        lookups.range16(event.args[2] + (0xffff - syscall::MAX_READ_WORDS));
        lookups.range16(4 * ((event.args[1] >> 16) - 1));
    }
}

impl TraceGenerator for SyscallChip {
    fn max_rows(&self, budget: super::SegmentBudget) -> u64 {
        budget.syscalls
    }

    fn generate_trace(
        &self,
        record: &ExecutionRecord,
        lookups: &mut LookupCounts,
    ) -> RowMajorMatrix<F> {
        trace_from_rows(SYSCALL_WIDTH, record.syscalls.iter(), |row, event| {
            fill(row.borrow_mut(), event, lookups);
        })
    }

    fn max_cycles_per_row(&self) -> u64 {
        u64::from(syscall::cycles(syscall::READ, syscall::MAX_READ_WORDS))
    }
}

impl BaseAir<F> for SyscallChip {
    fn width(&self) -> usize {
        SYSCALL_WIDTH
    }

    /// Degree 3 leaves room to pack two bus interactions into one auxiliary column.
    fn max_constraint_degree(&self) -> Option<usize> {
        Some(crate::chips::MAX_CONSTRAINT_DEGREE)
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for SyscallChip {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let cols: &SyscallCols<AB::Var> = main.current_slice().borrow();
        let instruction = &cols.instruction;
        let is_real: AB::Expr = instruction.is_real.into();
        let [halt, read, write, permute, compress, fp_mul, fp_add, fp_sub] =
            cols.kind.map(Into::<AB::Expr>::into);
        let field_op = fp_mul + fp_add + fp_sub;
        builder.assert_bools(cols.kind);
        builder.assert_eq(
            cols.kind.iter().map(|&flag| flag.into()).sum::<AB::Expr>(),
            is_real.clone(),
        );
        let [number, a0, a1, a2] = cols.registers.each_ref().map(word_expr::<AB>);
        let code: AB::Expr = SYSCALLS
            .iter()
            .zip(cols.kind)
            .map(|(&code, flag)| flag.into() * AB::Expr::from_u32(code))
            .sum();
        builder.assert_eq(number[0].clone(), code);
        builder.assert_zero(number[1].clone());

        // READ: stdin or hints, at most MAX_READ_WORDS words, a pointer in data memory's range.
        builder.when(read.clone()).assert_zero(a0[1].clone());
        builder.assert_zero(
            read.clone() * a0[0].clone() * (a0[0].clone() - AB::Expr::from_u32(fd::HINT)),
        );
        builder.when(read.clone()).assert_zero(a2[1].clone());
        builder.range16(
            a2[0].clone() + AB::Expr::from_u32(0xffff - syscall::MAX_READ_WORDS),
            send(read.clone()),
        );
        builder.range16(
            (a1[1].clone() - AB::Expr::ONE) * AB::Expr::from_u32(4),
            send(read.clone()),
        );
        let start = word_address(&a1);
        let clk: AB::Expr = instruction.clk.into();
        builder.read_chain(
            [clk.clone(), start.clone(), AB::Expr::ZERO, a2[0].clone()],
            send(read.clone()),
        );
        builder.read_chain(
            [clk.clone(), start, a2[0].clone(), AB::Expr::ZERO],
            receive(read.clone()),
        );

        // The tables of the other syscalls take it from here.
        let args = [a0.clone(), a1.clone(), a2.clone()];
        builder.syscall(
            number[0].clone(),
            clk.clone(),
            args,
            send(halt.clone() + permute.clone() + compress.clone() + field_op.clone()),
        );

        let cycles = |number| AB::Expr::from_u32(syscall::cycles(number, 0));
        let cost = halt.clone() * cycles(syscall::HALT)
            + read * (cycles(syscall::READ) + a2[0].clone())
            + write * cycles(syscall::WRITE)
            + permute * cycles(syscall::POSEIDON2_PERMUTE)
            + compress * cycles(syscall::SHA256_COMPRESS)
            + field_op * cycles(syscall::FP25519_MUL);
        let next_pc = instruction.pc.into() + (AB::Expr::ONE - halt) * AB::Expr::from_u32(4);
        eval_instruction(
            builder,
            instruction,
            AB::Expr::from_u32(Op::Ecall as u32),
            next_pc,
            cost,
        );
        let registers = [
            syscall::REG_SYSCALL,
            syscall::REG_A0,
            syscall::REG_A1,
            syscall::REG_A2,
        ];
        for (slot, ((register, value), access)) in registers
            .into_iter()
            .zip(cols.registers)
            .zip(&cols.register_access)
            .enumerate()
        {
            eval_read(
                builder,
                AB::Expr::from_usize(register),
                word_expr::<AB>(&value),
                timestamp(clk.clone(), slot as u32),
                access,
                is_real.clone(),
            );
        }
    }
}
