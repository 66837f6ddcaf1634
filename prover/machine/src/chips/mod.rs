//! The tables of the machine. Each one proves one kind of fact and talks to the others only
//! through the buses of [`crate::bus`].

use p3_air::{Air, BaseAir};
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use crate::config::F;
use crate::record::ExecutionRecord;

pub mod add_sub;
pub mod address;
pub mod boundary;
pub mod instruction;
pub mod load;
pub mod lookup;
pub mod merkle;
pub mod page;
pub mod poseidon2;
pub mod program;
pub mod store;

use add_sub::AddSubAir;
use boundary::BoundaryAir;
use load::LoadChip;
use lookup::{LookupAir, LookupCounts};
use merkle::MerkleChip;
use page::PageChip;
use poseidon2::Poseidon2Chip;
use program::ProgramAir;
use store::StoreChip;

/// Traces have at least this many rows, so that every table, even an empty one, has a
/// well-formed low-degree extension.
pub const MIN_HEIGHT: usize = 8;

/// Trace generation of a table from a segment's record.
pub trait TraceGenerator {
    /// The table's trace; range checks and byte operations it asks for are counted into
    /// `lookups`, which the lookup table's multiplicities are made from. (The lookup table
    /// itself is generated last, from the finished counts.)
    fn generate_trace(
        &self,
        record: &ExecutionRecord,
        lookups: &mut LookupCounts,
    ) -> RowMajorMatrix<F>;

    /// The most clock cycles one row of the table can advance the `(pc, clk)` state by: 1 for
    /// instruction tables, 0 for tables that execute nothing. The verifier bounds the sum over
    /// all rows of all tables so that no clock can wrap around the field.
    fn max_cycles_per_row(&self) -> u64 {
        0
    }
}

/// A trace of `width` columns with one row per item, padded with zero rows to a power of two
/// (at least [`MIN_HEIGHT`]); zero rows must satisfy the table's constraints and send nothing.
pub fn trace_from_rows<T>(
    width: usize,
    items: impl ExactSizeIterator<Item = T>,
    mut fill: impl FnMut(&mut [F], T),
) -> RowMajorMatrix<F> {
    let height = items.len().next_power_of_two().max(MIN_HEIGHT);
    let mut trace = RowMajorMatrix::new(vec![F::default(); height * width], width);
    for (row, item) in trace.values.chunks_exact_mut(width).zip(items) {
        fill(row, item);
    }
    trace
}

/// Declares [`MachineAir`], the one AIR type every table of a batch proof shares, forwarding
/// every `BaseAir` method to the table (a method left out would silently take its default).
macro_rules! machine_airs {
    ($($variant:ident($air:ty)),* $(,)?) => {
        /// Every table of the machine, in the order of a segment proof.
        #[derive(Clone, Debug)]
        pub enum MachineAir {
            $($variant($air)),*
        }

        impl BaseAir<F> for MachineAir {
            fn width(&self) -> usize {
                match self { $(Self::$variant(air) => BaseAir::<F>::width(air)),* }
            }
            fn preprocessed_trace(&self) -> Option<RowMajorMatrix<F>> {
                match self { $(Self::$variant(air) => BaseAir::<F>::preprocessed_trace(air)),* }
            }
            fn preprocessed_width(&self) -> usize {
                match self { $(Self::$variant(air) => BaseAir::<F>::preprocessed_width(air)),* }
            }
            fn num_periodic_columns(&self) -> usize {
                match self { $(Self::$variant(air) => BaseAir::<F>::num_periodic_columns(air)),* }
            }
            fn periodic_columns(&self) -> std::borrow::Cow<'_, [Vec<F>]> {
                match self { $(Self::$variant(air) => BaseAir::<F>::periodic_columns(air)),* }
            }
            fn main_next_row_columns(&self) -> Vec<usize> {
                match self { $(Self::$variant(air) => BaseAir::<F>::main_next_row_columns(air)),* }
            }
            fn preprocessed_next_row_columns(&self) -> Vec<usize> {
                match self {
                    $(Self::$variant(air) => BaseAir::<F>::preprocessed_next_row_columns(air)),*
                }
            }
            fn num_constraints(&self) -> Option<usize> {
                match self { $(Self::$variant(air) => BaseAir::<F>::num_constraints(air)),* }
            }
            fn max_constraint_degree(&self) -> Option<usize> {
                match self { $(Self::$variant(air) => BaseAir::<F>::max_constraint_degree(air)),* }
            }
            fn num_public_values(&self) -> usize {
                match self { $(Self::$variant(air) => BaseAir::<F>::num_public_values(air)),* }
            }
            fn public_boundary_io(&self) -> &[p3_air::BoundaryPublic] {
                match self { $(Self::$variant(air) => BaseAir::<F>::public_boundary_io(air)),* }
            }
            fn assumes_boolean_trace(&self) -> bool {
                match self { $(Self::$variant(air) => BaseAir::<F>::assumes_boolean_trace(air)),* }
            }
            fn boolean_columns(&self) -> usize {
                match self { $(Self::$variant(air) => BaseAir::<F>::boolean_columns(air)),* }
            }
        }

        impl<AB: InteractionBuilder<F = F>> Air<AB> for MachineAir
        where
            $($air: Air<AB>),*
        {
            fn eval(&self, builder: &mut AB) {
                match self { $(Self::$variant(air) => air.eval(builder)),* }
            }
        }

        impl MachineAir {
            /// The table's name, for reports and errors.
            pub fn name(&self) -> &'static str {
                match self { $(Self::$variant(_) => stringify!($variant)),* }
            }

            /// The table's trace generation.
            pub fn generator(&self) -> &dyn TraceGenerator {
                match self { $(Self::$variant(air) => air),* }
            }
        }
    };
}

machine_airs! {
    Boundary(BoundaryAir),
    Program(ProgramAir),
    AddSub(AddSubAir),
    Load(LoadChip),
    Store(StoreChip),
    Page(PageChip),
    Merkle(MerkleChip),
    Poseidon2(Poseidon2Chip),
    Lookup(LookupAir),
}

/// Every table of the machine for a program with decoded text `rom`, in proof order. The
/// lookup table comes last: its multiplicities are what the others asked for.
pub fn all_airs(rom: std::sync::Arc<crate::rom::Rom>) -> Vec<MachineAir> {
    vec![
        MachineAir::Boundary(BoundaryAir),
        MachineAir::Program(ProgramAir::new(rom)),
        MachineAir::AddSub(AddSubAir),
        MachineAir::Load(LoadChip),
        MachineAir::Store(StoreChip),
        MachineAir::Page(PageChip),
        MachineAir::Merkle(MerkleChip),
        MachineAir::Poseidon2(Poseidon2Chip::default()),
        MachineAir::Lookup(LookupAir),
    ]
}
