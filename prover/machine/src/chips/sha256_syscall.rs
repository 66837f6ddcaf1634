//! `SHA256_COMPRESS`: the syscall's memory accesses, and the compression they ask for.
//!
//! A row takes the call from the `ecall` table on the `syscall` bus (`a0` the state pointer,
//! `a1` the block pointer), and makes its 32 word accesses in the executor's order, access `i`
//! at `timestamp(clk + 1 + i, 0)`: the 8 state words read, the 16 block words read, the 8 state
//! words written. It requests `(state read, block, state written)` on the `sha256` bus, where
//! the compression table proves that the written state is the compression of what was read.
//!
//! Why this is sound:
//! - Each pointer's high limb is shown to be 1 to 2^14, so the pointer is the 32-bit value
//!   itself (below p), at least `TEXT_START` (the register file, words 0 to 31, is never named),
//!   and its word address `pointer / 4` in the field is an integer only if it is aligned (see
//!   [`super::address`]): the accesses can balance the memory bus only at the words of an
//!   aligned buffer in data memory, like the executor's.
//! - The written limbs are range-checked, which makes them the canonical output (the
//!   compression table proves them up to the choice of limb carries) and keeps memory canonical.

use core::borrow::{Borrow, BorrowMut};

use gnomon_guest_abi::syscall;
use p3_air::{Air, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use crate::bus::{Buses, receive, send};
use crate::chips::lookup::LookupCounts;
use crate::chips::syscall::word_address;
use crate::chips::{MAX_CONSTRAINT_DEGREE, TraceGenerator, trace_from_rows};
use crate::columns::impl_columns;
use crate::config::F;
use crate::gadgets::{
    AccessCols, Word, WriteCols, eval_read, eval_write, timestamp, word, word_expr,
};
use crate::record::ExecutionRecord;

const STATE: usize = syscall::SHA256_STATE_WORDS as usize;
const BLOCK: usize = syscall::SHA256_BLOCK_WORDS as usize;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Sha256SyscallCols<T> {
    pub is_real: T,
    /// The `ecall`'s cycle.
    pub clk: T,
    /// `a0` (the state), `a1` (the block), `a2` (unused, as the `ecall` table hands it on).
    pub args: [Word<T>; 3],
    pub state_in: [Word<T>; STATE],
    pub block: [Word<T>; BLOCK],
    pub state_out: [Word<T>; STATE],
    /// The reads of the state, then of the block.
    pub reads: [AccessCols<T>; STATE + BLOCK],
    pub writes: [WriteCols<T>; STATE],
}

impl_columns!(Sha256SyscallCols, SHA256_SYSCALL_WIDTH);

/// Counts the range check that bounds a pointer's high limb to 1 to 2^14 (see [`eval_pointer`]).
pub(crate) fn count_pointer(pointer: u32, lookups: &mut LookupCounts) {
    let high = (pointer >> 16)
        .checked_sub(1)
        .expect("syscall buffers lie in data memory, above the text");
    lookups.range16(4 * high);
}

/// Bounds `pointer`'s high limb to 1 to 2^14 when `enabled`, and returns its word address:
/// `4 (high - 1)` is below 2^16 only for those values (limbs from registers are below 2^16).
pub(crate) fn eval_pointer<AB: InteractionBuilder<F = F>>(
    builder: &mut AB,
    pointer: &Word<AB::Expr>,
    enabled: AB::Expr,
) -> AB::Expr {
    builder.range16(
        (pointer[1].clone() - AB::Expr::ONE) * AB::Expr::from_u32(4),
        send(enabled),
    );
    word_address(pointer)
}

#[derive(Clone, Debug, Default)]
pub struct Sha256SyscallChip;

impl TraceGenerator for Sha256SyscallChip {
    fn max_rows(&self, budget: super::SegmentBudget) -> u64 {
        budget.calls(syscall::SHA256_COMPRESS)
    }

    fn generate_trace(
        &self,
        record: &ExecutionRecord,
        lookups: &mut LookupCounts,
    ) -> RowMajorMatrix<F> {
        let calls: Vec<_> = record
            .syscalls
            .iter()
            .filter(|event| event.number == syscall::SHA256_COMPRESS)
            .collect();
        trace_from_rows(SHA256_SYSCALL_WIDTH, calls.into_iter(), |row, event| {
            let cols: &mut Sha256SyscallCols<F> = row.borrow_mut();
            cols.is_real = F::ONE;
            cols.clk = F::from_u32(event.clk);
            cols.args = event.args.map(word);
            count_pointer(event.args[0], lookups);
            count_pointer(event.args[1], lookups);
            let (reads, writes) = event.words.split_at(STATE + BLOCK);
            for (i, (access_cols, access)) in cols.reads.iter_mut().zip(reads).enumerate() {
                access_cols.fill(access, lookups);
                if i < STATE {
                    cols.state_in[i] = word(access.value);
                } else {
                    cols.block[i - STATE] = word(access.value);
                }
            }
            for ((write_cols, out), access) in
                cols.writes.iter_mut().zip(&mut cols.state_out).zip(writes)
            {
                write_cols.fill(access, lookups);
                *out = word(access.value);
                lookups.range16(access.value & 0xffff);
                lookups.range16(access.value >> 16);
            }
        })
    }
}

impl BaseAir<F> for Sha256SyscallChip {
    fn width(&self) -> usize {
        SHA256_SYSCALL_WIDTH
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }

    /// Lets batch-stark pack the row's many bus interactions two to an auxiliary column.
    fn max_constraint_degree(&self) -> Option<usize> {
        Some(MAX_CONSTRAINT_DEGREE)
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for Sha256SyscallChip {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let cols: &Sha256SyscallCols<AB::Var> = main.current_slice().borrow();
        let is_real: AB::Expr = cols.is_real.into();
        builder.assert_bool(cols.is_real);
        let args = cols.args.each_ref().map(word_expr::<AB>);
        let clk: AB::Expr = cols.clk.into();
        builder.syscall(
            AB::Expr::from_u32(syscall::SHA256_COMPRESS),
            clk.clone(),
            args.clone(),
            receive(is_real.clone()),
        );
        let state = eval_pointer(builder, &args[0], is_real.clone());
        let block = eval_pointer(builder, &args[1], is_real.clone());

        // Access i at the cycle clk + 1 + i.
        let ts = |i: usize| timestamp(clk.clone() + AB::Expr::from_usize(1 + i), 0);
        let read_words = cols.state_in.iter().chain(&cols.block);
        let addresses = (0..STATE)
            .map(|i| state.clone() + AB::Expr::from_usize(i))
            .chain((0..BLOCK).map(|i| block.clone() + AB::Expr::from_usize(i)));
        for (i, ((value, access), address)) in
            read_words.zip(&cols.reads).zip(addresses).enumerate()
        {
            eval_read(
                builder,
                address,
                word_expr::<AB>(value),
                ts(i),
                access,
                is_real.clone(),
            );
        }
        for (i, (value, access)) in cols.state_out.iter().zip(&cols.writes).enumerate() {
            let value = word_expr::<AB>(value);
            for limb in &value {
                builder.range16(limb.clone(), send(is_real.clone()));
            }
            let address = state.clone() + AB::Expr::from_usize(i);
            eval_write(
                builder,
                address,
                value,
                ts(STATE + BLOCK + i),
                access,
                is_real.clone(),
            );
        }

        builder.sha256(
            cols.state_in.each_ref().map(word_expr::<AB>),
            cols.block.each_ref().map(word_expr::<AB>),
            cols.state_out.each_ref().map(word_expr::<AB>),
            send(is_real),
        );
    }
}
