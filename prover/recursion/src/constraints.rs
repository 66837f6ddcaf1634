//! The out-of-domain constraint check of a table as recursion-program code: what p3-batch-stark
//! 0.9.0-rc.2's per-table check (and p3-uni-stark's `verify_constraints` with
//! `recompose_quotient_from_chunks`) computes natively, on the table's [`TableConstraints`]
//! (p3's own symbolic constraints, AIR and LogUp, and the chunk constants).
//!
//! 1. The trace domain's selectors at `zeta` (the subgroup of `N = 2^n` rows, shift one):
//!    `Z = zeta^N - 1`, `is_first_row = Z / (zeta - 1)`, `is_last_row = Z / (zeta - g^-1)`,
//!    `is_transition = zeta - g^-1`, `inv_vanishing = 1 / Z`. Inverting `Z` proves `zeta` is
//!    off the trace domain.
//! 2. The constraints, evaluated on the opened rows once per shared node and folded in
//!    emission order, `acc = acc * alpha + c`. LogUp's read the permutation columns (opened as
//!    four base columns each, recombined), the table's challenges and its terminal.
//! 3. `quotient(zeta) = sum_i zps_i * q_i(zeta)`, `q_i(zeta)` the opened chunk's four
//!    coordinate polynomials recombined, `zps_i` the product over the other chunk domains
//!    `D_j` of `Z_Dj(zeta) / Z_Dj(first point of D_i)` (constants but for `Z_Dj(zeta)`, which
//!    is `zeta^N * s_j^-N - 1`).
//! 4. `folded * inv_vanishing == quotient(zeta)`, asserted ([`check`]).
//!
//! The caller binds the inputs as the native verifier does: the challenges drawn by the
//! transcript after the commitments, public values and terminals, the opened values checked by
//! the PCS.

use std::collections::BTreeMap;
use std::sync::Arc;

use gnomon_machine::config::{EF, F};
use gnomon_machine::verification::{Emitted, TableConstraints};
use p3_air::symbolic::{BaseEntry, BaseLeaf, ExtEntry, ExtLeaf, SymbolicExpr};
use p3_field::{Field, PrimeCharacteristicRing, TwoAdicField};

use crate::program::{Builder, Ext, Felt};

/// The opened values a table's constraints read, its public values, and for a table with
/// lookups its LogUp challenges and terminal. A row the AIR does not read is empty (natively
/// it reads zeros).
#[derive(Clone, Debug, Default)]
pub struct Openings {
    pub main_local: Vec<Ext>,
    pub main_next: Vec<Ext>,
    pub preprocessed_local: Vec<Ext>,
    pub preprocessed_next: Vec<Ext>,
    /// The permutation columns as opened: four base-coordinate values per column.
    pub permutation_local: Vec<Ext>,
    pub permutation_next: Vec<Ext>,
    pub public_values: Vec<Felt>,
    /// `[prefix[bus], beta]` per lookup, as the LogUp gadget reads them.
    pub challenges: Vec<Ext>,
    pub terminal: Option<Ext>,
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
/// If `chunks` is not one per chunk domain.
pub fn check(
    builder: &mut Builder,
    table: &TableConstraints,
    openings: &Openings,
    zeta: Ext,
    alpha: Ext,
    chunks: &[[Ext; 4]],
) {
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
    let zero = builder.constant_ext(EF::ZERO);
    let recombine = |builder: &mut Builder, flat: &[Ext]| -> Vec<Ext> {
        flat.chunks(4)
            .map(|coordinates| {
                let coordinates: [Ext; 4] = coordinates.try_into().expect("four a column");
                builder.ext_from_coordinates(coordinates)
            })
            .collect()
    };
    let permutation_local = recombine(builder, &openings.permutation_local);
    let permutation_next = recombine(builder, &openings.permutation_next);
    let mut evaluator = Evaluator {
        builder,
        openings,
        selectors,
        zero,
        permutation_local,
        permutation_next,
        base_nodes: BTreeMap::new(),
        ext_nodes: BTreeMap::new(),
    };
    let mut folded = zero;
    for emitted in table.order() {
        let value = match *emitted {
            Emitted::Base(index) => evaluator.evaluate(&table.base_constraints()[index]),
            Emitted::Ext(index) => evaluator.evaluate(&table.ext_constraints()[index]),
        };
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
        let chunk = builder.ext_from_coordinates(*chunk);
        let term = builder.mul(zps, chunk);
        quotient = builder.add(quotient, term);
    }
    quotient
}

struct Evaluator<'a> {
    builder: &'a mut Builder,
    openings: &'a Openings,
    selectors: &'a Selectors,
    zero: Ext,
    permutation_local: Vec<Ext>,
    permutation_next: Vec<Ext>,
    /// Shared nodes (p3 shares subtrees by `Arc`), evaluated once.
    base_nodes: BTreeMap<*const SymbolicExpr<BaseLeaf<F>>, Ext>,
    ext_nodes: BTreeMap<*const SymbolicExpr<ExtLeaf<F, EF>>, Ext>,
}

/// A leaf of a symbolic expression, and where its expression's shared nodes are memoized.
trait Leaf: Sized {
    fn value(&self, evaluator: &mut Evaluator<'_>) -> Ext;
    fn nodes<'e>(
        evaluator: &'e mut Evaluator<'_>,
    ) -> &'e mut BTreeMap<*const SymbolicExpr<Self>, Ext>;
}

/// `row[index]` of the current (`offset` 0) or next (1) row; an unopened row reads zeros.
fn row_value(local: &[Ext], next: &[Ext], offset: usize, index: usize, zero: Ext) -> Ext {
    match offset {
        0 => local[index],
        1 => next.get(index).copied().unwrap_or(zero),
        _ => panic!("constraints read the current and the next row only"),
    }
}

impl Leaf for BaseLeaf<F> {
    fn value(&self, evaluator: &mut Evaluator<'_>) -> Ext {
        let openings = evaluator.openings;
        match self {
            Self::Variable(variable) => match variable.entry {
                BaseEntry::Main { offset } => row_value(
                    &openings.main_local,
                    &openings.main_next,
                    offset,
                    variable.index,
                    evaluator.zero,
                ),
                BaseEntry::Preprocessed { offset } => row_value(
                    &openings.preprocessed_local,
                    &openings.preprocessed_next,
                    offset,
                    variable.index,
                    evaluator.zero,
                ),
                BaseEntry::Public => Ext::from(openings.public_values[variable.index]),
                BaseEntry::Periodic => panic!("periodic columns are not supported"),
            },
            Self::IsFirstRow => evaluator.selectors.is_first_row,
            Self::IsLastRow => evaluator.selectors.is_last_row,
            Self::IsTransition => evaluator.selectors.is_transition,
            Self::Constant(constant) => evaluator.builder.constant_ext(EF::from(*constant)),
        }
    }

    fn nodes<'e>(
        evaluator: &'e mut Evaluator<'_>,
    ) -> &'e mut BTreeMap<*const SymbolicExpr<Self>, Ext> {
        &mut evaluator.base_nodes
    }
}

impl Leaf for ExtLeaf<F, EF> {
    fn value(&self, evaluator: &mut Evaluator<'_>) -> Ext {
        match self {
            Self::Base(expression) => evaluator.evaluate(expression),
            Self::ExtVariable(variable) => match variable.entry {
                ExtEntry::Permutation { offset } => row_value(
                    &evaluator.permutation_local,
                    &evaluator.permutation_next,
                    offset,
                    variable.index,
                    evaluator.zero,
                ),
                ExtEntry::Challenge => evaluator.openings.challenges[variable.index],
                ExtEntry::PermutationValue => evaluator
                    .openings
                    .terminal
                    .expect("a table with lookups has a terminal"),
            },
            Self::ExtConstant(constant) => evaluator.builder.constant_ext(*constant),
        }
    }

    fn nodes<'e>(
        evaluator: &'e mut Evaluator<'_>,
    ) -> &'e mut BTreeMap<*const SymbolicExpr<Self>, Ext> {
        &mut evaluator.ext_nodes
    }
}

impl Evaluator<'_> {
    fn node<L: Leaf>(&mut self, node: &Arc<SymbolicExpr<L>>) -> Ext {
        let key = Arc::as_ptr(node);
        if let Some(&value) = L::nodes(self).get(&key) {
            return value;
        }
        let value = self.evaluate(node);
        L::nodes(self).insert(key, value);
        value
    }

    fn evaluate<L: Leaf>(&mut self, expression: &SymbolicExpr<L>) -> Ext {
        match expression {
            SymbolicExpr::Leaf(leaf) => leaf.value(self),
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
                self.builder.sub(self.zero, x)
            }
            SymbolicExpr::Mul { x, y, .. } => {
                let (x, y) = (self.node(x), self.node(y));
                self.builder.mul(x, y)
            }
        }
    }
}
