//! The memory tree above the touched pages: from their hashes before and after the segment, and
//! the untouched sibling subtrees, to the memory roots before and after.
//!
//! A row is one node on a touched path, computed in both phases: the parent `index` at
//! `level + 1` of the children `2 index` and `2 index + 1` at `level`. A child on a touched path
//! is received from the `merkle` bus (a page's hash from the paging table, or a node another
//! row computed), one phase per tuple; any other child is a witness the row holds, the same in
//! both phases. Each phase's compression (`compress(left, right)` = the first half of the
//! Poseidon2 permutation of `left | right`) is requested on the `poseidon2` bus, and the parent
//! is sent on the `merkle` bus for its own parent row, or, at level 19 and index 0, for the
//! boundary, which holds the roots to the public values.
//!
//! Why this is sound: a leaf at page `P` reaches the root tuple at level 19 and index 0 only if
//! `P < 2^19` and its path follows `P`'s bits (each step sets `index = (index - bit) / 2`), so
//! the leaves sit where their page numbers say. Every tuple sent is received exactly once and
//! the boundary receives one root per phase, so there is one tree: no page or node can be
//! computed twice in two versions. Witness children are equal in both phases, so the only
//! difference between the roots is the touched pages' contents, and by collision resistance the
//! witnesses are the true untouched subtrees of the prior root.

use core::borrow::{Borrow, BorrowMut};

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use crate::bus::{CommitmentBuses, receive, send};
use crate::chips::lookup::LookupCounts;
use crate::chips::{TraceGenerator, trace_from_rows};
use crate::columns::impl_columns;
use crate::config::F;
use crate::record::ExecutionRecord;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct MerkleCols<T> {
    pub is_real: T,
    pub level: T,
    pub index: T,
    /// Whether the left and right children are on touched paths.
    pub touched: [T; 2],
    /// Per phase, the permutation input `left | right`.
    pub children: [[T; 16]; 2],
    /// Per phase, the permutation output; its first half is the parent.
    pub outputs: [[T; 16]; 2],
}

impl_columns!(MerkleCols, MERKLE_WIDTH);

#[derive(Clone, Debug, Default)]
pub struct MerkleChip;

impl TraceGenerator for MerkleChip {
    /// At most one node per touched page on each level.
    fn max_rows(&self, budget: super::SegmentBudget) -> u64 {
        budget.merkle_nodes()
    }

    fn generate_trace(&self, record: &ExecutionRecord, _: &mut LookupCounts) -> RowMajorMatrix<F> {
        trace_from_rows(MERKLE_WIDTH, record.merkle.iter(), |row, node| {
            let cols: &mut MerkleCols<F> = row.borrow_mut();
            cols.is_real = F::ONE;
            cols.level = F::from_u32(node.level);
            cols.index = F::from_u32(node.index);
            cols.touched = node.touched.map(F::from_bool);
            cols.children = node.compressions.map(|compression| compression.input);
            cols.outputs = node.compressions.map(|compression| compression.output);
        })
    }
}

impl BaseAir<F> for MerkleChip {
    fn width(&self) -> usize {
        MERKLE_WIDTH
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for MerkleChip {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let cols: &MerkleCols<AB::Var> = main.current_slice().borrow();
        let is_real: AB::Expr = cols.is_real.into();
        builder.assert_bools([cols.is_real, cols.touched[0], cols.touched[1]]);
        for touched in cols.touched {
            builder
                .when_ne(cols.is_real, AB::Expr::ONE)
                .assert_zero(touched);
        }
        // A witness child is the same subtree in both phases.
        for (side, touched) in cols.touched.into_iter().enumerate() {
            for element in 8 * side..8 * side + 8 {
                builder
                    .when_ne(touched, AB::Expr::ONE)
                    .assert_eq(cols.children[0][element], cols.children[1][element]);
            }
        }

        let level: AB::Expr = cols.level.into();
        let index: AB::Expr = cols.index.into();
        for phase in 0..2 {
            let phase_value = AB::Expr::from_usize(phase);
            for (side, touched) in cols.touched.into_iter().enumerate() {
                let child: [AB::Expr; 8] =
                    core::array::from_fn(|i| cols.children[phase][8 * side + i].into());
                let position = index.clone() * AB::Expr::TWO + AB::Expr::from_usize(side);
                builder.merkle(
                    phase_value.clone(),
                    level.clone(),
                    position,
                    child,
                    receive(touched.into()),
                );
            }
            builder.poseidon2(
                cols.children[phase].map(Into::into),
                cols.outputs[phase].map(Into::into),
                send(is_real.clone()),
            );
            let parent: [AB::Expr; 8] = core::array::from_fn(|i| cols.outputs[phase][i].into());
            builder.merkle(
                phase_value,
                level.clone() + AB::Expr::ONE,
                index.clone(),
                parent,
                send(is_real.clone()),
            );
        }
    }
}
