//! The words a READ writes: one row per word, chained on the `read` bus from the `ecall`
//! table's start `(clk, address, 0, count)` to its end `(clk, address, count, 0)`.
//!
//! Row `i` of a read takes `(clk, address, i, left)`, writes a word at `address + i` at the
//! timestamp of the read's cycle `clk + 1 + i`, and hands on `(clk, address, i + 1, left - 1)`.
//! The chain balances only if there are exactly `count` rows (a row past the end would need
//! `p - 1` more rows to come back to zero, far more than any table holds). The value is the
//! input stream's: the proof does not bind it (the guest hashes what it reads from stdin into
//! its input digest, and checks what it takes from hints), but it must be a canonical word,
//! so its limbs are range-checked.

use core::borrow::{Borrow, BorrowMut};

use p3_air::{Air, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use crate::bus::{Buses, receive, send};
use crate::chips::lookup::LookupCounts;
use crate::chips::syscall::ReadBus;
use crate::chips::{TraceGenerator, trace_from_rows};
use crate::columns::impl_columns;
use crate::config::F;
use crate::gadgets::{Word, WriteCols, eval_write, timestamp, word, word_expr};
use crate::record::ExecutionRecord;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadCols<T> {
    pub is_real: T,
    pub clk: T,
    /// The word address of the read's buffer.
    pub start: T,
    pub index: T,
    pub left: T,
    pub value: Word<T>,
    pub access: WriteCols<T>,
}

impl_columns!(ReadCols, READ_WIDTH);

#[derive(Clone, Debug, Default)]
pub struct ReadChip;

impl TraceGenerator for ReadChip {
    /// One row per word read, and each word costs a cycle.
    fn max_rows(&self, budget: super::SegmentBudget) -> u64 {
        budget.cycles
    }

    fn generate_trace(
        &self,
        record: &ExecutionRecord,
        lookups: &mut LookupCounts,
    ) -> RowMajorMatrix<F> {
        let rows: Vec<_> = record
            .syscalls
            .iter()
            .filter(|event| event.number == gnomon_guest_abi::syscall::READ)
            .flat_map(|event| {
                event
                    .words
                    .iter()
                    .enumerate()
                    .map(move |(index, access)| (event, index, access))
            })
            .collect();
        trace_from_rows(
            READ_WIDTH,
            rows.into_iter(),
            |row, (event, index, access)| {
                let cols: &mut ReadCols<F> = row.borrow_mut();
                cols.is_real = F::ONE;
                cols.clk = F::from_u32(event.clk);
                cols.start = F::from_u32(event.args[1] / 4);
                cols.index = F::from_usize(index);
                cols.left = F::from_usize(event.words.len() - index);
                cols.value = word(access.value);
                lookups.range16(access.value & 0xffff);
                lookups.range16(access.value >> 16);
                cols.access.fill(access, lookups);
            },
        )
    }
}

impl BaseAir<F> for ReadChip {
    fn width(&self) -> usize {
        READ_WIDTH
    }

    /// Degree 3 leaves room to pack two bus interactions into one auxiliary column.
    fn max_constraint_degree(&self) -> Option<usize> {
        Some(crate::chips::MAX_CONSTRAINT_DEGREE)
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for ReadChip {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let cols: &ReadCols<AB::Var> = main.current_slice().borrow();
        let is_real: AB::Expr = cols.is_real.into();
        builder.assert_bool(cols.is_real);
        let [clk, start, index, left] =
            [cols.clk, cols.start, cols.index, cols.left].map(Into::<AB::Expr>::into);
        builder.read_chain(
            [clk.clone(), start.clone(), index.clone(), left.clone()],
            receive(is_real.clone()),
        );
        builder.read_chain(
            [
                clk.clone(),
                start.clone(),
                index.clone() + AB::Expr::ONE,
                left - AB::Expr::ONE,
            ],
            send(is_real.clone()),
        );
        let value = word_expr::<AB>(&cols.value);
        builder.range16(value[0].clone(), send(is_real.clone()));
        builder.range16(value[1].clone(), send(is_real.clone()));
        let ts = timestamp(clk + AB::Expr::ONE + index.clone(), 0);
        eval_write(builder, start + index, value, ts, &cols.access, is_real);
    }
}
