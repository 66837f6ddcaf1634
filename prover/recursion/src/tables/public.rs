//! The public table: the proof's public values, each read from its cell.
//!
//! Its first row holds the values, equal to the proof's public values and read from the cells
//! the program names (preprocessed); every other row is zero and reads nothing.

use p3_air::{Air, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use gnomon_machine::chips::{MAX_CONSTRAINT_DEGREE, MIN_HEIGHT};
use gnomon_machine::config::F;

use super::{base, read};
use crate::program::{Memory, Program};

#[derive(Clone, Debug)]
pub struct PublicTable {
    /// Public values: the main columns, one each.
    count: usize,
    /// Preprocessed: is_first, then the cell of each public value.
    preprocessed: RowMajorMatrix<F>,
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
}

impl BaseAir<F> for PublicTable {
    fn width(&self) -> usize {
        self.count
    }
    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<F>> {
        Some(self.preprocessed.clone())
    }
    fn preprocessed_width(&self) -> usize {
        1 + self.count
    }
    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
    fn preprocessed_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
    fn max_constraint_degree(&self) -> Option<usize> {
        Some(MAX_CONSTRAINT_DEGREE)
    }
    fn num_public_values(&self) -> usize {
        self.count
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for PublicTable {
    fn eval(&self, builder: &mut AB) {
        let fixed: Vec<AB::Expr> = builder
            .preprocessed()
            .current_slice()
            .iter()
            .map(|&v| v.into())
            .collect();
        let values: Vec<AB::Expr> = builder
            .main()
            .current_slice()
            .iter()
            .map(|&v| v.into())
            .collect();
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
