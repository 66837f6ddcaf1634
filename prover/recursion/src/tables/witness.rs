//! The witness table: one row per witness, hint or constant instruction, writing its cell.
//!
//! A constant row's value is its preprocessed constant; a witness or hint row's is the
//! prover's, in the base field when the instruction says so (hints always are). Padding rows are constants zero, read by no one.

use p3_field::{BasedVectorSpace, PrimeCharacteristicRing};
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use gnomon_machine::chips::trace_from_rows;
use gnomon_machine::config::{EF, F};

use super::{main_row, preprocessed_row, write};
use crate::program::{Address, Instruction, Memory, Program};

/// Preprocessed: address, reads, is_witness, is_base, constant[4].
const PREPROCESSED: usize = 8;
/// Main: the value.
const WIDTH: usize = 4;

#[derive(Clone, Debug)]
pub struct WitnessTable {
    pub(super) preprocessed: RowMajorMatrix<F>,
}

/// Where a row's value comes from.
#[derive(Clone, Copy)]
enum Source {
    Witness { base: bool },
    Constant(EF),
}

/// The cells the table writes, in row order.
fn written(program: &Program) -> Vec<(Address, Source)> {
    program
        .instructions()
        .iter()
        .filter_map(|instruction| match *instruction {
            Instruction::Witness { out, base } => Some((out, Source::Witness { base })),
            Instruction::Hint { out, .. } => Some((out, Source::Witness { base: true })),
            Instruction::Constant { out, value } => Some((out, Source::Constant(value))),
            _ => None,
        })
        .collect()
}

impl WitnessTable {
    pub fn new(program: &Program) -> Self {
        let rows = written(program);
        let preprocessed = trace_from_rows(PREPROCESSED, rows.into_iter(), |row, (out, source)| {
            row[0] = out.field();
            row[1] = F::from_u32(program.reads(out));
            match source {
                Source::Witness { base } => {
                    row[2] = F::ONE;
                    row[3] = F::from_bool(base);
                }
                Source::Constant(value) => {
                    row[4..].copy_from_slice(value.as_basis_coefficients_slice());
                }
            }
        });
        Self { preprocessed }
    }

    pub fn generate(&self, program: &Program, memory: &Memory) -> RowMajorMatrix<F> {
        let rows = written(program);
        trace_from_rows(WIDTH, rows.into_iter(), |row, (out, _)| {
            row.copy_from_slice(&memory.coordinates(out));
        })
    }

    pub fn width(&self) -> usize {
        WIDTH
    }

    pub fn eval<AB: InteractionBuilder<F = F>>(&self, builder: &mut AB) {
        let fixed = preprocessed_row(builder);
        let main = main_row(builder);
        let value: [AB::Expr; 4] = std::array::from_fn(|k| main[k].clone());
        let (address, reads, is_witness, is_base) = (
            fixed[0].clone(),
            fixed[1].clone(),
            fixed[2].clone(),
            fixed[3].clone(),
        );
        for k in 0..4 {
            let constant = fixed[4 + k].clone();
            builder
                .assert_zero((AB::Expr::ONE - is_witness.clone()) * (value[k].clone() - constant));
        }
        for coordinate in &value[1..] {
            builder.assert_zero(is_base.clone() * coordinate.clone());
        }
        write(builder, address, value, reads);
    }
}
