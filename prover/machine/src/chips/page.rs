//! Paging: each touched data page enters the segment's memory argument with the contents the
//! prior memory root commits to, and leaves it with the contents the new root commits to.
//!
//! A page is two runs of 64 rows, phase 0 (in, before the segment) and phase 1 (out, after
//! it). Each row holds four words and absorbs them into the page's sponge (the hash of
//! `gnomon_executor::commitment`): its Poseidon2 permutation is requested on the `poseidon2`
//! bus with the four words' limbs as the rate and the previous row's output capacity as the
//! capacity (zero at a run's start). The run's last row sends the page hash, as a leaf of the
//! memory tree, on the `merkle` bus, where the Merkle table folds it into the roots the
//! boundary holds to the public values.
//!
//! On the `memory` bus, page-in rows send `(address, value, 0)` for their words and page-out
//! rows receive `(address, value, last access timestamp)`. So the values the segment's memory
//! accesses start from are the hashed contents before, and the values they end with are the
//! hashed contents after.
//!
//! Why this is sound:
//! - A run has exactly 64 rows (its chunk counter goes 0 to 63 and a run can neither stop
//!   before its last row nor go past it), so the hash covers the whole page.
//! - A page cannot be paged in twice (a fork of memory): its leaf would reach the Merkle table
//!   twice, and with one root received by the boundary, only one path per node can exist.
//! - No page below the end of the text is paged in (the `offset` range check on the last row
//!   of each run): code is never data, and registers (words 0 to 31) never alias memory.
//! - Words need no range checks: those paged in are bound by the hash to the prior root, whose
//!   contents were written canonical; those paged out are received from writers that range
//!   checked them.

use core::borrow::{Borrow, BorrowMut};

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use crate::bus::{Buses, CommitmentBuses, send};
use crate::chips::lookup::LookupCounts;
use crate::chips::{TraceGenerator, trace_from_rows};
use crate::columns::impl_columns;
use crate::config::F;
use crate::gadgets::{Word, word, word_expr};
use crate::public_values::offset;
use crate::record::ExecutionRecord;

/// Rows per page and phase: 256 words, four per absorption.
pub(crate) const CHUNKS: u32 = 64;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct PageCols<T> {
    pub is_real: T,
    pub page: T,
    /// 0: page-in (contents before the segment); 1: page-out (contents after).
    pub phase: T,
    /// Position of the row's four words in the page, 0 to 63.
    pub chunk: T,
    /// Whether this is the run's last row (chunk 63).
    pub last: T,
    pub words: [Word<T>; 4],
    /// Page-out: the timestamp of each word's last access; page-in: zero.
    pub final_ts: [T; 4],
    /// The sponge's capacity entering this row's permutation.
    pub capacity: [T; 8],
    /// The permutation's output; on the last row its first half is the page hash.
    pub output: [T; 16],
    /// Last row: `page - text_end_page` as `offset[0] + 2^16 offset[1]`; zero elsewhere.
    pub offset: [T; 2],
}

impl_columns!(PageCols, PAGE_WIDTH);

#[derive(Clone, Debug, Default)]
pub struct PageChip;

impl TraceGenerator for PageChip {
    /// One row per permutation hashing a touched page, before and after.
    fn max_rows(&self, budget: super::SegmentBudget) -> u64 {
        budget.page_permutations()
    }

    fn generate_trace(
        &self,
        record: &ExecutionRecord,
        lookups: &mut LookupCounts,
    ) -> RowMajorMatrix<F> {
        let text_end_page = record.public_values.text_end_page;
        let rows = record.pages.iter().flat_map(|page| {
            (0..2).flat_map(move |phase| (0..CHUNKS).map(move |chunk| (page, phase, chunk)))
        });
        let rows: Vec<_> = rows.collect();
        trace_from_rows(PAGE_WIDTH, rows.into_iter(), |row, (page, phase, chunk)| {
            let cols: &mut PageCols<F> = row.borrow_mut();
            let contents = if phase == 0 {
                &page.before
            } else {
                &page.after
            };
            let permutation = &page.hashing[phase][chunk as usize];
            let last = chunk == CHUNKS - 1;
            cols.is_real = F::ONE;
            cols.page = F::from_u32(page.index);
            cols.phase = F::from_usize(phase);
            cols.chunk = F::from_u32(chunk);
            cols.last = F::from_bool(last);
            for w in 0..4 {
                let position = (4 * chunk + w) as usize;
                cols.words[w as usize] = word(contents[position]);
                if phase == 1 {
                    cols.final_ts[w as usize] = F::from_u32(page.final_ts[position]);
                }
            }
            cols.capacity.copy_from_slice(&permutation.input[8..]);
            cols.output = permutation.output;
            if last {
                let offset = page.index - text_end_page;
                let parts = [offset & 0xffff, offset >> 16];
                cols.offset = parts.map(F::from_u32);
                lookups.range16(parts[0]);
                lookups.range16(parts[1]);
                lookups.range16(4 * parts[1]);
            }
        })
    }
}

impl BaseAir<F> for PageChip {
    fn width(&self) -> usize {
        PAGE_WIDTH
    }

    /// Degree 3 leaves room to pack two bus interactions into one auxiliary column.
    fn max_constraint_degree(&self) -> Option<usize> {
        Some(crate::chips::MAX_CONSTRAINT_DEGREE)
    }

    fn num_public_values(&self) -> usize {
        offset::LEN
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for PageChip {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let cols: &PageCols<AB::Var> = main.current_slice().borrow();
        let next: &PageCols<AB::Var> = main.next_slice().borrow();
        let text_end_page: AB::Expr = builder.public_values()[offset::TEXT_END_PAGE].into();
        let is_real: AB::Expr = cols.is_real.into();
        let last: AB::Expr = cols.last.into();
        let phase: AB::Expr = cols.phase.into();

        builder.assert_bools([cols.is_real, cols.phase, cols.last]);
        builder
            .when_ne(cols.is_real, AB::Expr::ONE)
            .assert_zero(cols.phase);
        builder
            .when_ne(cols.is_real, AB::Expr::ONE)
            .assert_zero(cols.last);
        builder
            .when(last.clone())
            .assert_eq(cols.chunk, AB::Expr::from_u32(CHUNKS - 1));

        // Runs: a row that is not its run's last continues the run on the next row; a last
        // row is followed by a fresh run (or padding); padding is followed by padding.
        let continues = is_real.clone() - last.clone();
        let mut transition = builder.when_transition();
        transition.when(continues.clone()).assert_one(next.is_real);
        transition
            .when(continues.clone())
            .assert_eq(next.page, cols.page);
        transition
            .when(continues.clone())
            .assert_eq(next.phase, cols.phase);
        transition
            .when(continues.clone())
            .assert_eq(next.chunk, cols.chunk + AB::Expr::ONE);
        for (next_capacity, output) in next.capacity.iter().zip(&cols.output[8..]) {
            transition
                .when(continues.clone())
                .assert_eq(*next_capacity, *output);
        }
        transition.when(last.clone()).assert_zero(next.chunk);
        transition.when(last.clone()).assert_zeros(next.capacity);
        transition
            .when_ne(cols.is_real, AB::Expr::ONE)
            .assert_zero(next.is_real);
        builder.when_first_row().assert_zero(cols.chunk);
        builder.when_first_row().assert_zeros(cols.capacity);
        builder.when_last_row().assert_eq(cols.is_real, cols.last);

        // The sponge: rate = the four words' limbs, capacity chained from the previous row.
        let mut input: [AB::Expr; 16] = core::array::from_fn(|_| AB::Expr::ZERO);
        for (slot, limb) in input.iter_mut().zip(cols.words.iter().flatten()) {
            *slot = (*limb).into();
        }
        for (slot, capacity) in input[8..].iter_mut().zip(cols.capacity) {
            *slot = capacity.into();
        }
        builder.poseidon2(input, cols.output.map(Into::into), send(is_real.clone()));
        let digest: [AB::Expr; 8] = core::array::from_fn(|i| cols.output[i].into());
        builder.merkle(
            phase.clone(),
            AB::Expr::ZERO,
            cols.page.into(),
            digest,
            send(last.clone()),
        );

        // Page-in sends each word at timestamp 0; page-out receives it at its last access.
        let count = is_real.clone() - phase.clone() * AB::Expr::TWO;
        let address = cols.page * AB::Expr::from_u32(256) + cols.chunk * AB::Expr::from_u32(4);
        for (w, (value, final_ts)) in cols.words.iter().zip(cols.final_ts).enumerate() {
            builder
                .when_ne(cols.phase, AB::Expr::ONE)
                .assert_zero(final_ts);
            builder.memory(
                address.clone() + AB::Expr::from_usize(w),
                word_expr::<AB>(value),
                final_ts.into(),
                p3_lookup::Count::bounded(count.clone(), 1),
            );
        }

        // Only data pages: page - text_end_page is below 2^30 (not a wrapped negative).
        let [low, high] = cols.offset.map(Into::<AB::Expr>::into);
        builder.when(last.clone()).assert_eq(
            cols.page.into() - text_end_page,
            low.clone() + high.clone() * AB::Expr::from_u32(1 << 16),
        );
        builder
            .when_ne(cols.last, AB::Expr::ONE)
            .assert_zeros(cols.offset);
        builder.range16(low, send(last.clone()));
        builder.range16(high.clone(), send(last.clone()));
        builder.range16(high * AB::Expr::from_u32(4), send(last));
    }
}
