//! `POSEIDON2_PERMUTE`: the syscall's memory accesses, and the permutation they ask for.
//!
//! A row takes the call from the `ecall` table on the `syscall` bus (`a0` the pointer to 16
//! words), requests the Poseidon2 permutation of the words it finds there on the `poseidon2`
//! bus (input and output elements `lo + 2^16 hi`), and leaves the output in their place.
//!
//! The executor reads word `i` at the cycle `clk + 1 + i` and writes it at `clk + 17 + i`.
//! Nothing else runs during the syscall's cycles and its 16 addresses are distinct, so each
//! word's read is immediately followed by its write: the row proves both as one access at the
//! write's timestamp, from the value the word had before the syscall to the output (the read's
//! own memory tuple would be sent and received right back, so leaving it out changes no sum).
//!
//! Why this is sound:
//! - The pointer is bounded and divided by 4 as for `SHA256_COMPRESS` (see
//!   [`super::sha256_syscall`]): only an aligned buffer in data memory balances the memory bus.
//! - Every input is a canonical field element, as the executor requires (it traps otherwise):
//!   its high limb is below `0x7800`, or it is `0x7800` with a zero low limb (`p - 1`). Inputs
//!   come from memory, so their limbs are below 2^16; then `0x77ff - hi + top` is below 2^16
//!   exactly when `hi <= 0x77ff` or `top` holds, and `top` forces `(hi, lo) = (0x7800, 0)`.
//! - Every output is written as the canonical limbs of the permutation's output element `v`:
//!   both limbs are range-checked, and the same bound on the high limb excludes `v + p` and
//!   `v + 2 p`, the other limb pairs below 2^32 that make the same element.

use core::borrow::{Borrow, BorrowMut};

use gnomon_guest_abi::syscall;
use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::{PrimeCharacteristicRing, PrimeField32};
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use crate::bus::{Buses, CommitmentBuses, receive, send};
use crate::chips::lookup::LookupCounts;
use crate::chips::sha256_syscall::{count_pointer, eval_pointer};
use crate::chips::{MAX_CONSTRAINT_DEGREE, TraceGenerator, trace_from_rows};
use crate::columns::impl_columns;
use crate::config::F;
use crate::gadgets::{AccessCols, Word, eval_access, limb_base, timestamp, word, word_expr};
use crate::record::{Access, ExecutionRecord};

const WIDTH: usize = syscall::POSEIDON2_WIDTH as usize;

/// The high limb of `p - 1`, the largest canonical element (whose low limb is 0).
const TOP_HIGH: u32 = (F::ORDER_U32 - 1) >> 16;
const _: () = assert!(F::ORDER_U32 - 1 == TOP_HIGH << 16);

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Poseidon2SyscallCols<T> {
    pub is_real: T,
    /// The `ecall`'s cycle.
    pub clk: T,
    /// `a0` (the state), `a1` and `a2` (unused, as the `ecall` table hands them on).
    pub args: [Word<T>; 3],
    pub input: [Word<T>; WIDTH],
    pub output: [Word<T>; WIDTH],
    /// Whether each input and output word is `p - 1`.
    pub input_top: [T; WIDTH],
    pub output_top: [T; WIDTH],
    /// Word `i` from its value before the syscall (the input) to the output.
    pub accesses: [AccessCols<T>; WIDTH],
}

impl_columns!(Poseidon2SyscallCols, POSEIDON2_SYSCALL_WIDTH);

#[derive(Clone, Debug, Default)]
pub struct Poseidon2SyscallChip;

/// The value `0x77ff - hi + top` whose range check bounds a canonical element's high limb.
fn bound(value: u32) -> u32 {
    let high = value >> 16;
    (TOP_HIGH - 1 + u32::from(high == TOP_HIGH)) - high
}

impl TraceGenerator for Poseidon2SyscallChip {
    fn max_rows(&self, budget: super::SegmentBudget) -> u64 {
        budget.calls(syscall::POSEIDON2_PERMUTE)
    }

    fn generate_trace(
        &self,
        record: &ExecutionRecord,
        lookups: &mut LookupCounts,
    ) -> RowMajorMatrix<F> {
        let calls: Vec<_> = record
            .syscalls
            .iter()
            .filter(|event| event.number == syscall::POSEIDON2_PERMUTE)
            .collect();
        trace_from_rows(POSEIDON2_SYSCALL_WIDTH, calls.into_iter(), |row, event| {
            let cols: &mut Poseidon2SyscallCols<F> = row.borrow_mut();
            cols.is_real = F::ONE;
            cols.clk = F::from_u32(event.clk);
            cols.args = event.args.map(word);
            count_pointer(event.args[0], lookups);
            let (reads, writes) = event.words.split_at(WIDTH);
            for (i, (read, write)) in reads.iter().zip(writes).enumerate() {
                debug_assert_eq!((write.prev_value, write.prev_ts), (read.value, read.ts));
                let access = Access {
                    address: read.address,
                    prev_value: read.prev_value,
                    prev_ts: read.prev_ts,
                    value: write.value,
                    ts: write.ts,
                };
                cols.accesses[i].fill(&access, lookups);
                cols.input[i] = word(read.value);
                cols.output[i] = word(write.value);
                cols.input_top[i] = F::from_bool(read.value >> 16 == TOP_HIGH);
                cols.output_top[i] = F::from_bool(write.value >> 16 == TOP_HIGH);
                lookups.range16(bound(read.value));
                lookups.range16(bound(write.value));
                lookups.range16(write.value & 0xffff);
                lookups.range16(write.value >> 16);
            }
        })
    }
}

impl BaseAir<F> for Poseidon2SyscallChip {
    fn width(&self) -> usize {
        POSEIDON2_SYSCALL_WIDTH
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }

    /// Lets batch-stark pack the row's many bus interactions two to an auxiliary column.
    fn max_constraint_degree(&self) -> Option<usize> {
        Some(MAX_CONSTRAINT_DEGREE)
    }
}

/// Constrains `value` (limbs below 2^16) to be a canonical element, `top` saying whether it is
/// `p - 1`, and returns the element.
fn eval_canonical<AB: InteractionBuilder<F = F>>(
    builder: &mut AB,
    value: &Word<AB::Expr>,
    top: AB::Expr,
    is_real: AB::Expr,
) -> AB::Expr {
    let [low, high] = value.clone();
    builder.assert_bool(top.clone());
    builder
        .when(top.clone())
        .assert_eq(high.clone(), AB::Expr::from_u32(TOP_HIGH));
    builder.when(top.clone()).assert_zero(low.clone());
    builder.range16(
        AB::Expr::from_u32(TOP_HIGH - 1) - high.clone() + top,
        send(is_real),
    );
    low + high * limb_base::<AB::Expr>()
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for Poseidon2SyscallChip {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let cols: &Poseidon2SyscallCols<AB::Var> = main.current_slice().borrow();
        let is_real: AB::Expr = cols.is_real.into();
        builder.assert_bool(cols.is_real);
        let args = cols.args.each_ref().map(word_expr::<AB>);
        let clk: AB::Expr = cols.clk.into();
        builder.syscall(
            AB::Expr::from_u32(syscall::POSEIDON2_PERMUTE),
            clk.clone(),
            args.clone(),
            receive(is_real.clone()),
        );
        let start = eval_pointer(builder, &args[0], is_real.clone());

        let mut input: [AB::Expr; WIDTH] = core::array::from_fn(|_| AB::Expr::ZERO);
        let mut output: [AB::Expr; WIDTH] = core::array::from_fn(|_| AB::Expr::ZERO);
        for i in 0..WIDTH {
            let before = word_expr::<AB>(&cols.input[i]);
            let after = word_expr::<AB>(&cols.output[i]);
            // Input limbs come from memory, hence below 2^16; output limbs are checked here.
            input[i] = eval_canonical(builder, &before, cols.input_top[i].into(), is_real.clone());
            for limb in &after {
                builder.range16(limb.clone(), send(is_real.clone()));
            }
            output[i] = eval_canonical(builder, &after, cols.output_top[i].into(), is_real.clone());
            // The write of word i happens at the cycle clk + 17 + i.
            let ts = timestamp(clk.clone() + AB::Expr::from_usize(1 + WIDTH + i), 0);
            let address = start.clone() + AB::Expr::from_usize(i);
            eval_access(
                builder,
                address,
                before,
                after,
                ts,
                &cols.accesses[i],
                is_real.clone(),
            );
        }
        builder.poseidon2(input, output, send(is_real));
    }
}
