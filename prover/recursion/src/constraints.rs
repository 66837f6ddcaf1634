//! The out-of-domain constraint check of a table as recursion-program code: what p3-uni-stark
//! 0.9.0-rc.2's `verify_constraints` and `recompose_quotient_from_chunks` compute natively,
//! for an AIR's base-field constraints (tables without lookups, no periodic columns, no zero
//! knowledge).
//!
//! 1. The trace domain's selectors at `zeta` (the subgroup of `N = 2^n` rows, shift one):
//!    `Z = zeta^N - 1`, `is_first_row = Z / (zeta - 1)`, `is_last_row = Z / (zeta - g^-1)`,
//!    `is_transition = zeta - g^-1`, `inv_vanishing = 1 / Z`. Inverting `Z` proves `zeta` is
//!    off the trace domain.
//! 2. The AIR's symbolic constraints (p3's own, from `SymbolicAirBuilder`), evaluated on the
//!    opened rows once per shared node and folded in emission order, `acc = acc * alpha + c`.
//! 3. `quotient(zeta) = sum_i zps_i * q_i(zeta)`, `q_i(zeta)` the opened chunk's four
//!    coordinate polynomials recombined, `zps_i` the product over the other chunk domains
//!    `D_j` of `Z_Dj(zeta) / Z_Dj(first point of D_i)` (constants but for `Z_Dj(zeta)`).
//! 4. `folded * inv_vanishing == quotient(zeta)`, asserted.
//!
//! The caller binds the inputs as the native verifier does: `alpha` and `zeta` drawn by the
//! transcript after the commitments and public values, the opened values checked by the PCS.

use std::collections::BTreeMap;
use std::sync::Arc;

use gnomon_machine::config::{EF, F};
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

/// A chunk of the quotient's domain: the coset `shift * <g>` of `2^log_size` points.
#[derive(Clone, Copy, Debug)]
pub struct ChunkDomain {
    pub shift: F,
    pub log_size: usize,
}

impl ChunkDomain {
    /// `Z_D(x) = (x / shift)^|D| - 1` at a point of the base field.
    fn vanishing_at(self, point: F) -> F {
        (point * self.shift.inverse()).exp_power_of_2(self.log_size) - F::ONE
    }
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

/// `sum_i alpha^(K - 1 - i) c_i` for the constraints `c_0..c_(K-1)`, in emission order.
pub fn fold(
    builder: &mut Builder,
    constraints: &[SymbolicExpression<F>],
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
    for constraint in constraints {
        let value = evaluator.evaluate(constraint);
        let scaled = evaluator.builder.mul(folded, alpha);
        folded = evaluator.builder.add(scaled, value);
    }
    folded
}

/// `quotient(zeta)` from the opened chunks (each four coordinate-polynomial values) of the
/// chunk domains `domains`.
pub fn quotient(
    builder: &mut Builder,
    zeta: Ext,
    domains: &[ChunkDomain],
    chunks: &[[Ext; 4]],
) -> Ext {
    assert_eq!(domains.len(), chunks.len(), "one opened chunk per domain");
    let one = builder.constant_ext(EF::ONE);
    let at_zeta: Vec<Ext> = domains
        .iter()
        .map(|domain| {
            let scale = builder.constant_ext(EF::from(
                domain.shift.inverse().exp_power_of_2(domain.log_size),
            ));
            let power = builder.exp_power_of_two(zeta, domain.log_size);
            let scaled = builder.mul(power, scale);
            builder.sub(scaled, one)
        })
        .collect();
    let mut quotient = builder.constant_ext(EF::ZERO);
    for (i, (domain, chunk)) in domains.iter().zip(chunks).enumerate() {
        let denominator: F = domains
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, other)| other.vanishing_at(domain.shift))
            .product();
        let mut zps = builder.constant_ext(EF::from(denominator.inverse()));
        for (j, &value) in at_zeta.iter().enumerate() {
            if j != i {
                zps = builder.mul(zps, value);
            }
        }
        let mut chunk_value = chunk[0];
        for (index, &coordinate) in chunk.iter().enumerate().skip(1) {
            let basis =
                builder.constant_ext(EF::from_basis_coefficients_fn(|k| F::from_bool(k == index)));
            let term = builder.mul(coordinate, basis);
            chunk_value = builder.add(chunk_value, term);
        }
        let term = builder.mul(zps, chunk_value);
        quotient = builder.add(quotient, term);
    }
    quotient
}

/// Asserts the out-of-domain identity `folded * inv_vanishing == quotient(zeta)`.
pub fn check(builder: &mut Builder, folded: Ext, selectors: &Selectors, quotient: Ext) {
    let product = builder.mul(folded, selectors.inv_vanishing);
    builder.assert_eq(product, quotient);
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
