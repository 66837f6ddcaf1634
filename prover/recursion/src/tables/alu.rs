//! The ALU table: one row per add, subtract, multiply or assert-equal over the degree-4
//! extension (base-field operands are extension elements with zero upper coordinates, and so
//! are their results).
//!
//! Padding rows and the unused result of an assertion are zero.

use p3_field::extension::BinomiallyExtendable;
use p3_field::{PrimeCharacteristicRing, PrimeField32};
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use gnomon_machine::chips::trace_from_rows;
use gnomon_machine::config::F;

use super::{main_row, preprocessed_row, read, write};
use crate::program::{Address, AluOp, Instruction, Memory, Program};

/// Preprocessed: is_add, is_sub, is_mul, is_assert, lhs, rhs, out, out_reads.
const PREPROCESSED: usize = 8;
/// Main: lhs[4], rhs[4], out[4].
const WIDTH: usize = 12;

#[derive(Clone, Debug)]
pub struct AluTable {
    pub(super) preprocessed: RowMajorMatrix<F>,
}

/// The table's rows, in order.
fn operations(program: &Program) -> Vec<(AluOp, Address, Address, Option<Address>)> {
    program
        .instructions()
        .iter()
        .filter_map(|instruction| match *instruction {
            Instruction::Alu { op, lhs, rhs, out } => Some((op, lhs, rhs, out)),
            _ => None,
        })
        .collect()
}

/// The product of two elements of the degree-4 extension `X^4 = W`, by coordinates.
pub(crate) fn ext_mul<E: PrimeCharacteristicRing + Clone>(a: &[E; 4], b: &[E; 4]) -> [E; 4] {
    let w = E::from_u32(<F as BinomiallyExtendable<4>>::W.as_canonical_u32());
    let term = |i: usize, j: usize| a[i].clone() * b[j].clone();
    [
        term(0, 0) + w.clone() * (term(1, 3) + term(2, 2) + term(3, 1)),
        term(0, 1) + term(1, 0) + w.clone() * (term(2, 3) + term(3, 2)),
        term(0, 2) + term(1, 1) + term(2, 0) + w * term(3, 3),
        term(0, 3) + term(1, 2) + term(2, 1) + term(3, 0),
    ]
}

impl AluTable {
    pub fn new(program: &Program) -> Self {
        let rows = operations(program);
        let preprocessed = trace_from_rows(
            PREPROCESSED,
            rows.into_iter(),
            |row, (op, lhs, rhs, out)| {
                let selector = match op {
                    AluOp::Add => 0,
                    AluOp::Sub => 1,
                    AluOp::Mul => 2,
                    AluOp::AssertEq => 3,
                };
                row[selector] = F::ONE;
                row[4] = lhs.field();
                row[5] = rhs.field();
                if let Some(out) = out {
                    row[6] = out.field();
                    row[7] = F::from_u32(program.reads(out));
                }
            },
        );
        Self { preprocessed }
    }

    pub fn generate(&self, program: &Program, memory: &Memory) -> RowMajorMatrix<F> {
        let rows = operations(program);
        trace_from_rows(WIDTH, rows.into_iter(), |row, (_, lhs, rhs, out)| {
            row[0..4].copy_from_slice(&memory.coordinates(lhs));
            row[4..8].copy_from_slice(&memory.coordinates(rhs));
            if let Some(out) = out {
                row[8..12].copy_from_slice(&memory.coordinates(out));
            }
        })
    }

    pub fn width(&self) -> usize {
        WIDTH
    }

    pub fn eval<AB: InteractionBuilder<F = F>>(&self, builder: &mut AB) {
        let fixed = preprocessed_row(builder);
        let values = main_row(builder);
        let lhs: [AB::Expr; 4] = std::array::from_fn(|k| values[k].clone());
        let rhs: [AB::Expr; 4] = std::array::from_fn(|k| values[4 + k].clone());
        let out: [AB::Expr; 4] = std::array::from_fn(|k| values[8 + k].clone());
        let [is_add, is_sub, is_mul, is_assert] = std::array::from_fn(|k| fixed[k].clone());
        let computes = is_add.clone() + is_sub.clone() + is_mul.clone();
        let is_real = computes.clone() + is_assert.clone();
        let product = ext_mul(&lhs, &rhs);
        for k in 0..4 {
            let (l, r, o) = (lhs[k].clone(), rhs[k].clone(), out[k].clone());
            builder.assert_zero(is_add.clone() * (o.clone() - l.clone() - r.clone()));
            builder.assert_zero(is_sub.clone() * (o.clone() - l.clone() + r.clone()));
            builder.assert_zero(is_mul.clone() * (o.clone() - product[k].clone()));
            builder.assert_zero(is_assert.clone() * (l.clone() - r.clone()));
            builder.assert_zero((AB::Expr::ONE - computes.clone()) * o);
            builder.assert_zero((AB::Expr::ONE - is_real.clone()) * l);
            builder.assert_zero((AB::Expr::ONE - is_real.clone()) * r);
        }
        let [lhs_address, rhs_address, out_address, out_reads] =
            std::array::from_fn(|k| fixed[4 + k].clone());
        read(builder, lhs_address, lhs, is_real.clone());
        read(builder, rhs_address, rhs, is_real);
        write(builder, out_address, out, out_reads);
    }
}

#[cfg(test)]
mod tests {
    use gnomon_machine::config::EF;
    use p3_field::BasedVectorSpace;
    use proptest::prelude::*;

    use super::*;

    fn element(coordinates: [u32; 4]) -> EF {
        EF::from_basis_coefficients_fn(|k| F::from_u32(coordinates[k]))
    }

    proptest! {
        #[test]
        fn the_constraint_product_is_the_extension_product(a: [u32; 4], b: [u32; 4]) {
            let (a, b) = (element(a), element(b));
            let coordinates = |value: EF| -> [F; 4] {
                value.as_basis_coefficients_slice().try_into().unwrap()
            };
            prop_assert_eq!(ext_mul(&coordinates(a), &coordinates(b)), coordinates(a * b));
        }
    }
}
