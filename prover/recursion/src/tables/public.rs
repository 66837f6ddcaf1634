//! The public table: the proof's public values, each read from its cell.
//!
//! The values are laid out row by row, `columns` to a row: public value `r * columns + c` is
//! column `c` of row `r`. A preprocessed one-hot selector names each value row (all zero on
//! padding rows), and each column's value equals the selected row's public value (zero where
//! none is selected); it is read from the cell the program names (preprocessed) when its
//! public value exists. Every value is therefore the proof's public value and the cell's.
//!
//! Why not one row of `count` columns: every query of every proof opens one row of each
//! table, so a table's width is paid per query (and twice at the out-of-domain point), while
//! its height costs a few digests at most. With about `sqrt(count)` columns and as many
//! selectors, a proof's openings of this table shrink by an order of magnitude (for the
//! wrap-ready proof's 208 values, from 837 values per query to about 80).

use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use gnomon_machine::chips::MIN_HEIGHT;
use gnomon_machine::config::F;

use super::{base, main_row, preprocessed_row, read};
use crate::program::{Memory, Program};

#[derive(Clone, Debug)]
pub struct PublicTable {
    /// Public values.
    count: usize,
    /// Values per row: the main columns.
    columns: usize,
    /// Rows holding values (the last possibly part full): the selectors.
    rows: usize,
    /// Preprocessed: a selector per value row, then each column's cell.
    pub(super) preprocessed: RowMajorMatrix<F>,
}

impl PublicTable {
    pub fn new(program: &Program) -> Self {
        let count = program.public().len();
        let columns = count.isqrt() + usize::from(count.isqrt().pow(2) < count);
        let rows = count.div_ceil(columns);
        let width = rows + columns;
        let height = rows.next_power_of_two().max(MIN_HEIGHT);
        let mut values = vec![F::ZERO; height * width];
        for (row, addresses) in program.public().chunks(columns).enumerate() {
            let fixed = &mut values[row * width..(row + 1) * width];
            fixed[row] = F::ONE;
            for (cell, address) in fixed[rows..].iter_mut().zip(addresses) {
                *cell = address.field();
            }
        }
        Self {
            count,
            columns,
            rows,
            preprocessed: RowMajorMatrix::new(values, width),
        }
    }

    /// The value rows only: `RecursionAir::generate` pads every trace to its preprocessed
    /// height with zero rows.
    pub fn generate(&self, program: &Program, memory: &Memory) -> RowMajorMatrix<F> {
        let mut values = vec![F::ZERO; self.rows * self.columns];
        for (cell, &address) in values.iter_mut().zip(program.public()) {
            *cell = memory.coordinates(address)[0];
        }
        RowMajorMatrix::new(values, self.columns)
    }

    pub fn width(&self) -> usize {
        self.columns
    }

    /// How many public values the proof has.
    pub fn count(&self) -> usize {
        self.count
    }

    pub fn eval<AB: InteractionBuilder<F = F>>(&self, builder: &mut AB) {
        let fixed = preprocessed_row(builder);
        let (selectors, addresses) = fixed.split_at(self.rows);
        let values = main_row(builder);
        let public: Vec<AB::Expr> = builder.public_values().iter().map(|&v| v.into()).collect();
        for (column, value) in values.into_iter().enumerate() {
            // The selected row's public value in this column, and whether there is one.
            let mut expected = AB::Expr::ZERO;
            let mut exists = AB::Expr::ZERO;
            for (row, selector) in selectors.iter().enumerate() {
                if let Some(public) = public.get(row * self.columns + column) {
                    expected += selector.clone() * public.clone();
                    exists += selector.clone();
                }
            }
            builder.assert_zero(value.clone() - expected);
            read(builder, addresses[column].clone(), base(value), exists);
        }
    }
}
