//! The out-of-domain constraint check of a table as recursion-program code: what p3's
//! `verify_constraints` and `recompose_quotient_from_chunks` (0.9.0-rc.2) compute natively, on
//! the table's [`TableConstraints`] (p3's own symbolic constraints, the chunk constants). For
//! now tables without lookups: LogUp's extension-field constraints come with the batch
//! verifier.
//!
//! 1. The trace domain's selectors at `zeta` (the subgroup of `N = 2^n` rows, shift one):
//!    `Z = zeta^N - 1`, `is_first_row = Z / (zeta - 1)`, `is_last_row = Z / (zeta - g^-1)`,
//!    `is_transition = zeta - g^-1`, `inv_vanishing = 1 / Z`. Inverting `Z` proves `zeta` is
//!    off the trace domain.
//! 2. The AIR's symbolic constraints (p3's own, from `SymbolicAirBuilder`), evaluated on the
//!    opened rows once per shared node and folded in emission order, `acc = acc * alpha + c`.
//! 3. `quotient(zeta) = sum_i zps_i * q_i(zeta)`, `q_i(zeta)` the opened chunk's four
//!    coordinate polynomials recombined, `zps_i` the product over the other chunk domains
//!    `D_j` of `Z_Dj(zeta) / Z_Dj(first point of D_i)` (constants but for `Z_Dj(zeta)`, which
//!    is `zeta^N * s_j^-N - 1`).
//! 4. `folded * inv_vanishing == quotient(zeta)`, asserted ([`check`]).
//!
//! The caller binds the inputs as the native verifier does: `alpha` and `zeta` drawn by the
//! transcript after the commitments and public values, the opened values checked by the PCS.

use std::collections::BTreeMap;
use std::sync::Arc;

use gnomon_machine::config::{EF, F};
use gnomon_machine::verification::{Emitted, TableConstraints};
use p3_air::symbolic::{BaseEntry, BaseLeaf, SymbolicExpr, SymbolicExpression};
use p3_field::{BasedVectorSpace, Field, PrimeCharacteristicRing, TwoAdicField};

use crate::program::{Builder, Ext, Felt};

/// The opened values a table's constraints read, and its public values.
#[derive(Clone, Debug)]
pub struct Openings {
    pub main_local: Vec<Ext>,
    pub main_next: Vec<Ext>,
    pub preprocessed_local: Vec<Ext>,
    pub preprocessed_next: Vec<Ext>,
    pub public_values: Vec<Felt>,
}

#[derive(Clone, Copy, Debug)]
pub struct Selectors {
    pub is_first_row: Ext,
    pub is_last_row: Ext,
    pub is_transition: Ext,
    pub inv_vanishing: Ext,
}

/// The selectors of a trace of `2^log_degree` rows at `zeta`.
pub fn selectors(builder: &mut Builder, zeta: Ext, log_degree: usize) -> Selectors {
    let one = builder.constant_ext(EF::ONE);
    let zeta_n = builder.exp_power_of_two(zeta, log_degree);
    let vanishing = builder.sub(zeta_n, one);
    let inv_vanishing = builder.inverse(vanishing);
    let last = builder.constant_ext(EF::from(F::two_adic_generator(log_degree).inverse()));
    let is_transition = builder.sub(zeta, last);
    let zeta_minus_one = builder.sub(zeta, one);
    let inverse = builder.inverse(zeta_minus_one);
    let is_first_row = builder.mul(vanishing, inverse);
    let inverse = builder.inverse(is_transition);
    let is_last_row = builder.mul(vanishing, inverse);
    Selectors {
        is_first_row,
        is_last_row,
        is_transition,
        inv_vanishing,
    }
}

/// Asserts the out-of-domain identity of `table`: its constraints on `openings`, folded with
/// `alpha`, times `1 / Z_H(zeta)`, equal the quotient recombined from the opened `chunks`
/// (each four coordinate-polynomial values, one per chunk domain).
///
/// # Panics
///
/// If the table has lookups (not supported yet), or `chunks` is not one per chunk domain.
pub fn check(
    builder: &mut Builder,
    table: &TableConstraints,
    openings: &Openings,
    zeta: Ext,
    alpha: Ext,
    chunks: &[[Ext; 4]],
) {
    assert_eq!(
        table.num_lookups(),
        0,
        "{}: LogUp constraints are not supported yet",
        table.name()
    );
    let selectors = selectors(builder, zeta, table.log_degree());
    let folded = fold(builder, table, openings, &selectors, alpha);
    let quotient = quotient(builder, table, zeta, chunks);
    let product = builder.mul(folded, selectors.inv_vanishing);
    builder.assert_eq(product, quotient);
}

/// `sum_i alpha^(K - 1 - i) c_i` for the constraints `c_0..c_(K-1)`, in emission order.
fn fold(
    builder: &mut Builder,
    table: &TableConstraints,
    openings: &Openings,
    selectors: &Selectors,
    alpha: Ext,
) -> Ext {
    let mut evaluator = Evaluator {
        builder,
        openings,
        selectors,
        nodes: BTreeMap::new(),
    };
    let mut folded = evaluator.builder.constant_ext(EF::ZERO);
    for emitted in table.order() {
        let Emitted::Base(index) = *emitted else {
            panic!(
                "{}: extension-field constraints are not supported yet",
                table.name()
            );
        };
        let value = evaluator.evaluate(&table.base_constraints()[index]);
        let scaled = evaluator.builder.mul(folded, alpha);
        folded = evaluator.builder.add(scaled, value);
    }
    folded
}

/// `quotient(zeta)` from the opened chunks.
fn quotient(
    builder: &mut Builder,
    table: &TableConstraints,
    zeta: Ext,
    chunks: &[[Ext; 4]],
) -> Ext {
    assert_eq!(
        chunks.len(),
        table.num_quotient_chunks(),
        "one opened chunk per domain"
    );
    let one = builder.constant_ext(EF::ONE);
    let zeta_n = builder.exp_power_of_two(zeta, table.log_degree());
    let at_zeta: Vec<Ext> = table
        .chunk_shift_powers()
        .iter()
        .map(|&power| {
            let power = builder.constant_ext(EF::from(power));
            let scaled = builder.mul(zeta_n, power);
            builder.sub(scaled, one)
        })
        .collect();
    let mut quotient = builder.constant_ext(EF::ZERO);
    for (i, (chunk, &denominator)) in chunks.iter().zip(table.chunk_denominators()).enumerate() {
        let mut zps = builder.constant_ext(EF::from(denominator));
        for (j, &value) in at_zeta.iter().enumerate() {
            if j != i {
                zps = builder.mul(zps, value);
            }
        }
        let chunk = from_coordinate_values(builder, chunk);
        let term = builder.mul(zps, chunk);
        quotient = builder.add(quotient, term);
    }
    quotient
}

/// `sum_k coordinates[k] X^k`: a chunk's value from its four coordinate polynomials' values.
fn from_coordinate_values(builder: &mut Builder, coordinates: &[Ext; 4]) -> Ext {
    let mut value = coordinates[0];
    for (index, &coordinate) in coordinates.iter().enumerate().skip(1) {
        let basis =
            builder.constant_ext(EF::from_basis_coefficients_fn(|k| F::from_bool(k == index)));
        let term = builder.mul(coordinate, basis);
        value = builder.add(value, term);
    }
    value
}

struct Evaluator<'a> {
    builder: &'a mut Builder,
    openings: &'a Openings,
    selectors: &'a Selectors,
    /// Shared nodes (p3 shares subtrees by `Arc`), evaluated once.
    nodes: BTreeMap<*const SymbolicExpression<F>, Ext>,
}

impl Evaluator<'_> {
    fn node(&mut self, node: &Arc<SymbolicExpression<F>>) -> Ext {
        let key = Arc::as_ptr(node);
        if let Some(&value) = self.nodes.get(&key) {
            return value;
        }
        let value = self.evaluate(node);
        self.nodes.insert(key, value);
        value
    }

    fn evaluate(&mut self, expression: &SymbolicExpression<F>) -> Ext {
        match expression {
            SymbolicExpr::Leaf(leaf) => self.leaf(leaf),
            SymbolicExpr::Add { x, y, .. } => {
                let (x, y) = (self.node(x), self.node(y));
                self.builder.add(x, y)
            }
            SymbolicExpr::Sub { x, y, .. } => {
                let (x, y) = (self.node(x), self.node(y));
                self.builder.sub(x, y)
            }
            SymbolicExpr::Neg { x, .. } => {
                let x = self.node(x);
                let zero = self.builder.constant_ext(EF::ZERO);
                self.builder.sub(zero, x)
            }
            SymbolicExpr::Mul { x, y, .. } => {
                let (x, y) = (self.node(x), self.node(y));
                self.builder.mul(x, y)
            }
        }
    }

    fn leaf(&mut self, leaf: &BaseLeaf<F>) -> Ext {
        match leaf {
            BaseLeaf::Variable(variable) => {
                let row = |local: &[Ext], next: &[Ext], offset: usize| match offset {
                    0 => local[variable.index],
                    1 => next[variable.index],
                    _ => panic!("constraints read the current and the next row only"),
                };
                match variable.entry {
                    BaseEntry::Main { offset } => {
                        row(&self.openings.main_local, &self.openings.main_next, offset)
                    }
                    BaseEntry::Preprocessed { offset } => row(
                        &self.openings.preprocessed_local,
                        &self.openings.preprocessed_next,
                        offset,
                    ),
                    BaseEntry::Public => Ext::from(self.openings.public_values[variable.index]),
                    BaseEntry::Periodic => panic!("periodic columns are not supported"),
                }
            }
            BaseLeaf::IsFirstRow => self.selectors.is_first_row,
            BaseLeaf::IsLastRow => self.selectors.is_last_row,
            BaseLeaf::IsTransition => self.selectors.is_transition,
            BaseLeaf::Constant(constant) => self.builder.constant_ext(EF::from(*constant)),
        }
    }
}
