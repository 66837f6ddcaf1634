//! The tables that prove a run of a recursion program. Every one is preprocessed: the program
//! fixes each table's rows (which cells a row reads and writes, how often each written cell is
//! read), so the preprocessed commitment is the program, and only the values are the prover's.
//!
//! They share one bus, `memory`, whose tuple is `(address, value[4])`. The row that writes a
//! cell provides its tuple as often as the program reads the cell; every read asks for it once.
//! With one writer per cell, fixed by the program, a balanced bus means every read saw the
//! value written. A base-field read asks for `(address, value, 0, 0, 0)`, which only a cell
//! whose upper coordinates are zero provides.

pub mod alu;
pub mod poseidon2;
pub mod public;
pub mod witness;

use std::iter::once;

use p3_air::{Air, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;

use gnomon_machine::chips::MAX_CONSTRAINT_DEGREE;
use gnomon_machine::config::F;

use crate::program::{Memory, Program};

pub const MEMORY: &str = "memory";

/// Reads `(address, value)` once when `flag` (a preprocessed boolean) is one.
fn read<AB: InteractionBuilder>(
    builder: &mut AB,
    address: AB::Expr,
    value: [AB::Expr; 4],
    flag: AB::Expr,
) {
    builder.push_interaction(MEMORY, once(address).chain(value), Count::bounded(flag, 1));
}

/// Writes `(address, value)` for `reads` readers (a preprocessed count).
fn write<AB: InteractionBuilder>(
    builder: &mut AB,
    address: AB::Expr,
    value: [AB::Expr; 4],
    reads: AB::Expr,
) {
    builder.push_interaction(MEMORY, once(address).chain(value), Count::provided(-reads));
}

/// The current row of the preprocessed trace.
fn preprocessed_row<AB: InteractionBuilder>(builder: &AB) -> Vec<AB::Expr> {
    builder
        .preprocessed()
        .current_slice()
        .iter()
        .map(|&value| value.into())
        .collect()
}

/// The current row of the main trace.
fn main_row<AB: InteractionBuilder>(builder: &AB) -> Vec<AB::Expr> {
    builder
        .main()
        .current_slice()
        .iter()
        .map(|&value| value.into())
        .collect()
}

/// A base-field value as a cell's coordinates.
fn base<E: PrimeCharacteristicRing>(value: E) -> [E; 4] {
    [value, E::ZERO, E::ZERO, E::ZERO]
}

/// `$body` for whichever table `$air` is, bound to `$table`.
macro_rules! each_table {
    ($air:expr, $table:ident => $body:expr) => {
        match $air {
            RecursionAir::Witness($table) => $body,
            RecursionAir::Alu($table) => $body,
            RecursionAir::Poseidon2($table) => $body,
            RecursionAir::Public($table) => $body,
        }
    };
}

/// Every table of a program's proof, in proof order.
#[derive(Clone, Debug)]
pub enum RecursionAir {
    Witness(witness::WitnessTable),
    Alu(alu::AluTable),
    Poseidon2(poseidon2::Poseidon2Table),
    /// Present only when the program has public values.
    Public(public::PublicTable),
}

impl RecursionAir {
    /// The tables of `program`.
    pub fn all(program: &Program) -> Vec<Self> {
        let mut airs = vec![
            Self::Witness(witness::WitnessTable::new(program)),
            Self::Alu(alu::AluTable::new(program)),
            Self::Poseidon2(poseidon2::Poseidon2Table::new(program)),
        ];
        if !program.public().is_empty() {
            airs.push(Self::Public(public::PublicTable::new(program)));
        }
        airs
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Witness(_) => "Witness",
            Self::Alu(_) => "Alu",
            Self::Poseidon2(_) => "Poseidon2",
            Self::Public(_) => "Public",
        }
    }

    /// The table's trace for a run of `program` that left `memory`, as tall as its
    /// preprocessed trace.
    pub fn generate(&self, program: &Program, memory: &Memory) -> RowMajorMatrix<F> {
        let mut trace = each_table!(self, table => table.generate(program, memory));
        // Zero rows are padding in every table but Poseidon2's, which generates its own.
        let cells = self.preprocessed().height() * trace.width;
        trace.values.resize(cells, F::ZERO);
        trace
    }

    fn preprocessed(&self) -> &RowMajorMatrix<F> {
        each_table!(self, table => &table.preprocessed)
    }

    /// Pads the table to `2^log_height` rows (no fewer than it has): zero preprocessed rows
    /// write and read nothing in every table.
    pub fn pad_to(&mut self, log_height: usize) {
        let preprocessed = each_table!(self, table => &mut table.preprocessed);
        let height = preprocessed.height().max(1 << log_height);
        let width = preprocessed.width;
        preprocessed.values.resize(height * width, F::ZERO);
    }

    /// The table's public values for a run that left `memory`.
    pub fn public_values(&self, program: &Program, memory: &Memory) -> Vec<F> {
        match self {
            Self::Public(_) => program
                .public()
                .iter()
                .map(|&address| memory.coordinates(address)[0])
                .collect(),
            _ => Vec::new(),
        }
    }
}

// No table reads the next row.
impl BaseAir<F> for RecursionAir {
    fn width(&self) -> usize {
        each_table!(self, table => table.width())
    }
    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<F>> {
        Some(each_table!(self, table => table.preprocessed.clone()))
    }
    fn preprocessed_width(&self) -> usize {
        each_table!(self, table => table.preprocessed.width)
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
    fn preprocessed_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
    fn max_constraint_degree(&self) -> Option<usize> {
        match self {
            Self::Poseidon2(table) => table.max_constraint_degree(),
            _ => Some(MAX_CONSTRAINT_DEGREE),
        }
    }
    fn num_public_values(&self) -> usize {
        match self {
            Self::Public(table) => table.count(),
            _ => 0,
        }
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for RecursionAir {
    fn eval(&self, builder: &mut AB) {
        each_table!(self, table => table.eval(builder))
    }
}
