//! The tables of the machine. Each one proves one kind of fact and talks to the others only
//! through the buses of [`crate::bus`].

use p3_air::{Air, BaseAir};
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use gnomon_executor::SegmentSize;
use gnomon_executor::commitment::DEPTH;

use crate::config::F;
use crate::record::ExecutionRecord;

pub mod add_sub;
pub mod address;
pub mod bitwise;
pub mod boundary;
pub mod branch;
pub mod div_rem;
pub mod fp25519;
pub mod halt;
pub mod instruction;
pub mod jump;
pub mod less_than;
pub mod load;
pub mod lookup;
pub mod merkle;
pub mod mul;
pub mod page;
pub mod poseidon2;
pub mod poseidon2_syscall;
pub mod program;
pub mod read;
pub mod sha256_compress;
pub mod sha256_syscall;
pub mod shift;
pub mod store;
pub mod syscall;

use add_sub::AddSubAir;
use bitwise::BitwiseAir;
use boundary::BoundaryAir;
use branch::BranchAir;
use div_rem::DivRemAir;
use fp25519::Fp25519Chip;
use halt::HaltChip;
use jump::JumpAir;
use less_than::LessThanAir;
use load::LoadChip;
use lookup::{LookupAir, LookupCounts};
use merkle::MerkleChip;
use mul::MulAir;
use page::PageChip;
use poseidon2::Poseidon2Chip;
use poseidon2_syscall::Poseidon2SyscallChip;
use program::ProgramAir;
use read::ReadChip;
use sha256_compress::Sha256CompressChip;
use sha256_syscall::Sha256SyscallChip;
use shift::ShiftAir;
use store::StoreChip;
use syscall::SyscallChip;

/// Traces have at least this many rows, so that every table, even an empty one, has a
/// well-formed low-degree extension.
pub const MIN_HEIGHT: usize = 8;

/// The highest constraint degree the configuration allows (blowup 2: two quotient chunks).
/// A table that declares it as its `max_constraint_degree` has batch-stark pack its bus
/// interactions two to an auxiliary column even when its own constraints are of degree 2:
/// the packing budget is what the quotient's chunks allow, and a degree-2 table alone gets one
/// chunk, which packs nothing.
pub const MAX_CONSTRAINT_DEGREE: usize = 3;

/// What one segment holds at most (the budgets of `gnomon_executor::SegmentSize`): every
/// table's height is bounded by these numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentBudget {
    pub cycles: u64,
    pub pages: u64,
    pub syscalls: u64,
    pub sha256_calls: u64,
}

impl SegmentBudget {
    pub fn of(size: SegmentSize) -> Self {
        Self {
            cycles: u64::from(size.cycles()),
            pages: u64::from(size.max_pages()),
            syscalls: u64::from(size.max_syscalls()),
            sha256_calls: u64::from(size.max_sha256_calls()),
        }
    }

    /// The most calls of syscall `number`: within the syscall budgets, and each costs at
    /// least `gnomon_guest_abi::syscall::cycles(number, 0)` cycles.
    pub fn calls(self, number: u32) -> u64 {
        use gnomon_guest_abi::syscall;
        let cost = u64::from(syscall::cycles(number, 0));
        let budget = match number {
            syscall::SHA256_COMPRESS => self.sha256_calls,
            _ => self.syscalls,
        };
        (self.cycles / cost).min(budget)
    }

    /// The permutations hashing the touched pages before and after.
    pub fn page_permutations(self) -> u64 {
        2 * u64::from(page::CHUNKS) * self.pages
    }

    /// The memory tree's nodes above the touched pages: at most one per page on each level.
    pub fn merkle_nodes(self) -> u64 {
        DEPTH as u64 * self.pages
    }
}

/// Trace generation of a table from a segment's record.
pub trait TraceGenerator {
    /// The most rows (events, before padding) a segment within `budget` gives the table:
    /// [`crate::segment::MachineKeys::bounding_shape`] is made of these.
    fn max_rows(&self, budget: SegmentBudget) -> u64;

    /// The table's trace; range checks and byte operations it asks for are counted into
    /// `lookups`, which the lookup table's multiplicities are made from. (The lookup table
    /// itself is generated last, from the finished counts.)
    fn generate_trace(
        &self,
        record: &ExecutionRecord,
        lookups: &mut LookupCounts,
    ) -> RowMajorMatrix<F>;

    /// `trace` (this table's, from [`Self::generate_trace`]) extended to `height` rows, a
    /// power of two no smaller than its own: the rows added satisfy the table's constraints
    /// and send nothing. Zero rows, unless the table says otherwise.
    fn pad(&self, mut trace: RowMajorMatrix<F>, height: usize) -> RowMajorMatrix<F> {
        trace.values.resize(height * trace.width, F::default());
        trace
    }

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
    Bitwise(BitwiseAir),
    LessThan(LessThanAir),
    Shift(ShiftAir),
    Mul(MulAir),
    DivRem(DivRemAir),
    Branch(BranchAir),
    Jump(JumpAir),
    Load(LoadChip),
    Store(StoreChip),
    Syscall(SyscallChip),
    Read(ReadChip),
    Halt(HaltChip),
    Page(PageChip),
    Merkle(MerkleChip),
    Poseidon2(Poseidon2Chip),
    Sha256Syscall(Sha256SyscallChip),
    Poseidon2Syscall(Poseidon2SyscallChip),
    Sha256Compress(Sha256CompressChip),
    Fp25519(Fp25519Chip),
    Lookup(LookupAir),
}

/// Every table of the machine for a program with decoded text `rom`, in proof order. The
/// lookup table comes last: its multiplicities are what the others asked for.
pub fn all_airs(rom: std::sync::Arc<crate::rom::Rom>) -> Vec<MachineAir> {
    vec![
        MachineAir::Boundary(BoundaryAir),
        MachineAir::Program(ProgramAir::new(rom)),
        MachineAir::AddSub(AddSubAir),
        MachineAir::Bitwise(BitwiseAir),
        MachineAir::LessThan(LessThanAir),
        MachineAir::Shift(ShiftAir),
        MachineAir::Mul(MulAir),
        MachineAir::DivRem(DivRemAir),
        MachineAir::Branch(BranchAir),
        MachineAir::Jump(JumpAir),
        MachineAir::Load(LoadChip),
        MachineAir::Store(StoreChip),
        MachineAir::Syscall(SyscallChip),
        MachineAir::Read(ReadChip),
        MachineAir::Halt(HaltChip),
        MachineAir::Page(PageChip),
        MachineAir::Merkle(MerkleChip),
        MachineAir::Poseidon2(Poseidon2Chip::default()),
        MachineAir::Sha256Syscall(Sha256SyscallChip),
        MachineAir::Poseidon2Syscall(Poseidon2SyscallChip),
        MachineAir::Sha256Compress(Sha256CompressChip),
        MachineAir::Fp25519(Fp25519Chip),
        MachineAir::Lookup(LookupAir),
    ]
}
