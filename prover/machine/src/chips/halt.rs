//! HALT: the exit code and the digests the guest hands the machine, read from memory and sent
//! to the boundary, which holds them to the public values.
//!
//! A row takes the HALT from the `ecall` table on the `syscall` bus, reads the 16 digest words
//! at `a1` (high limb bounded to `1..=2^14` and divided by 4, as for loads and stores in
//! [`super::address`], so only an aligned buffer in data memory, never the registers, can
//! be read) at the cycles after the `ecall`, and sends `(exit code,
//! digest limbs)` on the `halt` bus. The boundary receives it exactly when the segment's public
//! values say it halted, so a segment has at most one HALT, and it is the last instruction.

use core::borrow::{Borrow, BorrowMut};

use gnomon_guest_abi::syscall;
use p3_air::{Air, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use crate::bus::{self, Buses, receive, send};
use crate::chips::lookup::LookupCounts;
use crate::chips::syscall::word_address;
use crate::chips::{TraceGenerator, trace_from_rows};
use crate::columns::impl_columns;
use crate::config::F;
use crate::gadgets::{AccessCols, Word, eval_read, timestamp, word, word_expr};
use crate::record::ExecutionRecord;

const WORDS: usize = syscall::HALT_DIGEST_WORDS as usize;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct HaltCols<T> {
    pub is_real: T,
    pub clk: T,
    /// `a0` (the exit code), `a1` (the digests' address), `a2`.
    pub args: [Word<T>; 3],
    pub digests: [Word<T>; WORDS],
    pub accesses: [AccessCols<T>; WORDS],
}

impl_columns!(HaltCols, HALT_WIDTH);

#[derive(Clone, Debug, Default)]
pub struct HaltChip;

impl TraceGenerator for HaltChip {
    /// A segment ends at its HALT.
    fn max_rows(&self, _: super::SegmentBudget) -> u64 {
        1
    }

    fn generate_trace(
        &self,
        record: &ExecutionRecord,
        lookups: &mut LookupCounts,
    ) -> RowMajorMatrix<F> {
        let halts = record
            .syscalls
            .iter()
            .filter(|event| event.number == syscall::HALT);
        let halts: Vec<_> = halts.collect();
        trace_from_rows(HALT_WIDTH, halts.into_iter(), |row, event| {
            let cols: &mut HaltCols<F> = row.borrow_mut();
            cols.is_real = F::ONE;
            cols.clk = F::from_u32(event.clk);
            cols.args = event.args.map(word);
            lookups.range16(4 * ((event.args[1] >> 16) - 1));
            for ((digest, access_cols), access) in cols
                .digests
                .iter_mut()
                .zip(&mut cols.accesses)
                .zip(&event.words)
            {
                *digest = word(access.value);
                access_cols.fill(access, lookups);
            }
        })
    }
}

impl BaseAir<F> for HaltChip {
    fn width(&self) -> usize {
        HALT_WIDTH
    }

    /// Degree 3 leaves room to pack two bus interactions into one auxiliary column.
    fn max_constraint_degree(&self) -> Option<usize> {
        Some(crate::chips::MAX_CONSTRAINT_DEGREE)
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for HaltChip {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let cols: &HaltCols<AB::Var> = main.current_slice().borrow();
        let is_real: AB::Expr = cols.is_real.into();
        builder.assert_bool(cols.is_real);
        let args = cols.args.each_ref().map(word_expr::<AB>);
        let clk: AB::Expr = cols.clk.into();
        builder.syscall(
            AB::Expr::from_u32(syscall::HALT),
            clk.clone(),
            args.clone(),
            receive(is_real.clone()),
        );
        builder.range16(
            (args[1][1].clone() - AB::Expr::ONE) * AB::Expr::from_u32(4),
            send(is_real.clone()),
        );
        let start = word_address(&args[1]);
        for (i, (digest, access)) in cols.digests.iter().zip(&cols.accesses).enumerate() {
            eval_read(
                builder,
                start.clone() + AB::Expr::from_usize(i),
                word_expr::<AB>(digest),
                timestamp(clk.clone() + AB::Expr::from_usize(1 + i), 0),
                access,
                is_real.clone(),
            );
        }
        let fields = args[0].clone().into_iter().chain(
            cols.digests
                .iter()
                .flat_map(|digest| word_expr::<AB>(digest)),
        );
        builder.push_interaction(bus::HALT, fields, send(is_real));
    }
}
