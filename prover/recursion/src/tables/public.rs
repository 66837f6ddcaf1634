//! The public table: the proof's public values, each read from its cell.
//!
//! Its first row holds the values, equal to the proof's public values and read from the cells
//! the program names (preprocessed); every other row is zero and reads nothing.

use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use gnomon_machine::chips::MIN_HEIGHT;
use gnomon_machine::config::F;

use super::{base, main_row, preprocessed_row, read};
use crate::program::{Memory, Program};

#[derive(Clone, Debug)]
pub struct PublicTable {
    /// Public values: the main columns, one each.
    count: usize,
    /// Preprocessed: is_first, then the cell of each public value.
    pub(super) preprocessed: RowMajorMatrix<F>,
}

impl PublicTable {
    pub fn new(program: &Program) -> Self {
        let count = program.public().len();
        let mut values = vec![F::ZERO; MIN_HEIGHT * (1 + count)];
        values[0] = F::ONE;
        for (cell, address) in values[1..=count].iter_mut().zip(program.public()) {
            *cell = address.field();
        }
        Self {
            count,
            preprocessed: RowMajorMatrix::new(values, 1 + count),
        }
    }

    pub fn generate(&self, program: &Program, memory: &Memory) -> RowMajorMatrix<F> {
        let mut values = vec![F::ZERO; MIN_HEIGHT * self.count];
        for (cell, &address) in values.iter_mut().zip(program.public()) {
            *cell = memory.coordinates(address)[0];
        }
        RowMajorMatrix::new(values, self.count)
    }

    pub fn width(&self) -> usize {
        self.count
    }

    pub fn eval<AB: InteractionBuilder<F = F>>(&self, builder: &mut AB) {
        let fixed = preprocessed_row(builder);
        let values = main_row(builder);
        let public: Vec<AB::Expr> = builder.public_values().iter().map(|&v| v.into()).collect();
        let is_first = fixed[0].clone();
        for (index, value) in values.into_iter().enumerate() {
            builder.assert_zero(is_first.clone() * (value.clone() - public[index].clone()));
            builder.assert_zero((AB::Expr::ONE - is_first.clone()) * value.clone());
            read(
                builder,
                fixed[1 + index].clone(),
                base(value),
                is_first.clone(),
            );
        }
    }
}
