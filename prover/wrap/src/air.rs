//! The AIR constraints at the out-of-domain point in R1CS: the per-table check of p3-batch-stark
//! 0.9.0-rc.2's `verify_batch` (`VerifierData::verify_constraints_with_lookups`), LogUp
//! included, and the cross-table LogUp terminal sum.
//!
//! For every table the native verifier
//!
//! 1. evaluates the trace domain's selectors at `zeta` (`selectors_at_point` of the coset `H`
//!    of `N = 2^n` rows, shift 1): `Z = zeta^N - 1`, `is_first_row = Z / (zeta - 1)`,
//!    `is_last_row = Z / (zeta - g^-1)`, `is_transition = zeta - g^-1`, `inv_vanishing = 1 / Z`
//!    (a `zeta` on `H`, `Z = 0`, is rejected);
//! 2. folds the AIR's constraints and then LogUp's (per lookup the fraction pin
//!    `U * f - V = 0`, then the accumulator's first-row, transition and last-row constraints
//!    against the table's committed terminal) in emission order, `acc = acc * alpha + c`: the
//!    constraint emitted `i`-th of `K` carries `alpha^(K - 1 - i)`;
//! 3. recomposes `quotient(zeta) = sum_i zps_i * q_i(zeta)` from the opened chunks, `zps_i` the
//!    product over the other chunk domains `D_j` of `Z_Dj(zeta) / Z_Dj(first point of D_i)`;
//! 4. checks `folded * inv_vanishing = quotient(zeta)`;
//!
//! and, after every table, that the terminals sum to zero. [`verify`] does all of it.
//!
//! The constraints are p3's own symbolic ones: [`TableConstraints::new`] (shared with the
//! recursion programs, in `gnomon_machine::verification`) runs the AIR and the
//! LogUp gadget through `InteractionSymbolicBuilder` (as `get_symbolic_constraints` does) when
//! the circuit is built, so they are circuit constants, as are the table's heights (the
//! proof's degree bits are the circuit's shape) and the bus layout of the LogUp challenges.
//! The expression DAG is evaluated once per shared node (p3 shares subtrees by `Arc`, LogUp's
//! prefix and suffix products heavily).
//!
//! Costs. Opened values are extension elements, so a product of two of them is the 7-constraint
//! unreduced [`ExtVar::mul`]; products by constants, sums and differences are free; a product's
//! operand is reduced once it is large (once per shared node, not once per product it enters)
//! or where the product would overflow. LogUp combines a tuple by Horner's rule in `beta`
//! (`elt + acc * beta`), a product chain whose bound grows at each element; such chains are
//! recognized in the expression and evaluated as `sum_k t_k beta^k` against powers of `beta`
//! computed once for all tables (7 constraints a term, no reduction), the same value. The fold
//! does not run Horner over every constraint (a multiplication and a reduction each): with
//! `m` = [`ALPHA_BLOCK`] it sums each block of `m` constraints against `1, alpha, ..,
//! alpha^(m-1)` (7 constraints a term, no reduction) and runs Horner with `alpha^m` over the
//! blocks; the powers are computed once for all tables, as are `zeta^(2^k)` and the selectors
//! of each height.
//!
//! The caller must bind what this takes as given, exactly as natively: the transcript that
//! draws the LogUp challenges `(alpha, beta)`, the folding `alpha` and `zeta` (after observing
//! the degree bits, commitments, public values and terminals: [`crate::transcript::replay`],
//! over the same public-value and terminal variables), and the opened values, which
//! the PCS verifier ([`crate::pcs`]) checks against the commitments. The proof-shape checks of
//! `verify_batch` are the shape's: a proof whose widths, chunk counts or terminals disagree has
//! no witness ([`TableOpenings::new_witness`] returns [`OpeningsError::Shape`]), and [`MachineShape::new`] checks the LogUp
//! multiplicity bound on the shape's heights. Not supported (asserted when built): periodic
//! columns and zero-knowledge configurations (the machine's outer configuration has neither).

use std::collections::HashMap;
use std::sync::Arc;

use ark_bn254::Fr;
use ark_r1cs_std::GR1CSVar;
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};
use gnomon_machine::verification::Emitted;
pub use gnomon_machine::verification::{DEGREE, MachineShape, TableConstraints};
use p3_air::symbolic::{
    BaseEntry, BaseLeaf, ExtEntry, ExtLeaf, SymbolicExpr, SymbolicExpression, SymbolicExpressionExt,
};
use p3_baby_bear::BabyBear;
use p3_batch_stark::proof::OpenedValuesWithLookups;
use p3_field::{BasedVectorSpace, Field, PrimeCharacteristicRing, TwoAdicField};
use p3_lookup::LookupTerminal;

use crate::babybear::BabyBearVar;
use crate::extension::{Ext, ExtVar};

/// Constraints folded per block against `1, alpha, .., alpha^(m - 1)` before one Horner step
/// by `alpha^m` (see the module documentation): a Horner step costs a reduction of the
/// accumulator (about 600 constraints), the powers about 280 each, once for all tables.
pub const ALPHA_BLOCK: usize = 32;

/// The LogUp challenges of each of `shape`'s tables as the gadget reads them,
/// `[prefix[bus], beta]` per lookup, from the pair the transcript draws: `beta^W` costs a few
/// multiplications, the prefixes are linear.
pub fn lookup_challenges(
    shape: &MachineShape,
    alpha: &ExtVar,
    beta: &ExtVar,
) -> Result<LookupChallenges, SynthesisError> {
    // gamma = beta^W by square-and-multiply.
    let width = shape.max_message_width();
    let mut gamma = ExtVar::constant(Ext::ONE);
    for bit in (0..usize::BITS - width.leading_zeros()).rev() {
        gamma = gamma.square()?.reduce_weak()?;
        if (width >> bit) & 1 == 1 {
            gamma = gamma.mul(beta)?.reduce_weak()?;
        }
    }
    shape
        .bus_ids()
        .iter()
        .map(|buses| {
            let mut challenges = Vec::with_capacity(2 * buses.len());
            for &bus in buses {
                let offset =
                    gamma.mul(&ExtVar::constant(Ext::from(BabyBear::from_usize(bus + 1))))?;
                challenges.push(alpha.add(&offset)?);
                challenges.push(beta.clone());
            }
            Ok(challenges)
        })
        .collect::<Result<_, _>>()
        .map(|tables| LookupChallenges {
            tables,
            beta_powers: vec![ExtVar::constant(Ext::ONE), beta.clone()],
        })
}

/// The challenges of a batch without lookups: none.
fn no_lookup_challenges(shape: &MachineShape) -> LookupChallenges {
    LookupChallenges {
        tables: vec![Vec::new(); shape.tables().len()],
        beta_powers: Vec::new(),
    }
}

/// The LogUp challenges of a batch laid out per table ([`lookup_challenges`]),
/// and the powers of `beta`, computed as far as a table needs them and shared by all.
#[derive(Clone, Debug)]
pub struct LookupChallenges {
    tables: Vec<Vec<ExtVar>>,
    /// `1, beta, beta^2, ..` (each below `2^31` a limb); empty without lookups.
    beta_powers: Vec<ExtVar>,
}

impl LookupChallenges {
    /// Table `index`'s challenges, `[prefix[bus], beta]` per lookup.
    pub fn table(&self, index: usize) -> &[ExtVar] {
        &self.tables[index]
    }

    /// `beta^0 .. beta^(count - 1)`.
    fn beta_powers(&mut self, count: usize) -> Result<&[ExtVar], SynthesisError> {
        let beta = self.beta_powers[1].clone();
        while self.beta_powers.len() < count {
            let last = self.beta_powers.last().expect("beta itself");
            let next = last.mul(&beta)?.reduce_weak()?;
            self.beta_powers.push(next);
        }
        Ok(&self.beta_powers[..count])
    }
}

/// One table's opened values (at `zeta` and at `g * zeta`, as the proof opens them) and its
/// LogUp terminal, in the circuit.
#[derive(Clone, Debug)]
pub struct TableOpenings {
    pub main_local: Vec<ExtVar>,
    /// `None` when the AIR reads no next row (natively: zeros).
    pub main_next: Option<Vec<ExtVar>>,
    pub preprocessed_local: Vec<ExtVar>,
    pub preprocessed_next: Option<Vec<ExtVar>>,
    /// The permutation columns flattened to base columns: `4` per extension column.
    pub permutation_local: Vec<ExtVar>,
    pub permutation_next: Vec<ExtVar>,
    /// Per chunk, its `4` base columns.
    pub quotient_chunks: Vec<Vec<ExtVar>>,
    /// The table's committed LogUp terminal, if it has lookups.
    pub terminal: Option<ExtVar>,
}

fn missing() -> SynthesisError {
    SynthesisError::AssignmentMissing
}

/// Why a proof's openings cannot be witnessed for a table.
#[derive(Debug, thiserror::Error)]
pub enum OpeningsError {
    /// The proof's openings do not have the table's shape (natively an `InvalidProofShape`).
    #[error("{table}: {what} does not have the table's shape")]
    Shape { table: String, what: &'static str },
    #[error(transparent)]
    Synthesis(#[from] SynthesisError),
}

impl TableOpenings {
    /// Witnesses a table's opened values and terminal (canonical limbs); `None` for the
    /// setup. Openings of another shape than the table's are an error, never a panic: they
    /// come from the proof being wrapped.
    pub fn new_witness(
        cs: ConstraintSystemRef<Fr>,
        table: &TableConstraints,
        native: Option<(&OpenedValuesWithLookups<Ext>, Option<&LookupTerminal<Ext>>)>,
    ) -> Result<Self, OpeningsError> {
        if let Some((opened, terminal)) = native {
            Self::check_shape(table, opened, terminal)?;
        }
        let ext =
            |value: Option<Ext>| ExtVar::new_witness(cs.clone(), || value.ok_or_else(missing));
        let row = |values: Option<&[Ext]>, len: usize| {
            (0..len)
                .map(|i| ext(values.map(|values| values[i])))
                .collect::<Result<Vec<_>, _>>()
        };
        let opened = native.map(|(opened, _)| opened);
        let base = opened.map(|opened| &opened.base_opened_values);
        let main_local = row(base.map(|b| b.trace_local.as_slice()), table.main_width())?;
        let main_next = if table.main_next() {
            Some(row(
                base.and_then(|b| b.trace_next.as_deref()),
                table.main_width(),
            )?)
        } else {
            None
        };
        let preprocessed_local = row(
            base.map(|b| b.preprocessed_local().unwrap_or(&[])),
            table.preprocessed_width(),
        )?;
        let preprocessed_next = if table.preprocessed_next() {
            Some(row(
                base.and_then(|b| b.preprocessed_next()),
                table.preprocessed_width(),
            )?)
        } else {
            None
        };
        let permutation_local = row(
            opened.map(|o| o.permutation_local.as_slice()),
            table.permutation_width(),
        )?;
        let permutation_next = row(
            opened.map(|o| o.permutation_next.as_slice()),
            table.permutation_width(),
        )?;
        let quotient_chunks = (0..table.num_quotient_chunks())
            .map(|c| row(base.map(|b| b.quotient_chunks[c].as_slice()), DEGREE))
            .collect::<Result<Vec<_>, _>>()?;
        let terminal = if table.num_lookups() > 0 {
            Some(ext(native.and_then(|(_, terminal)| terminal.map(|t| t.0)))?)
        } else {
            None
        };
        Ok(Self {
            main_local,
            main_next,
            preprocessed_local,
            preprocessed_next,
            permutation_local,
            permutation_next,
            quotient_chunks,
            terminal,
        })
    }

    fn check_shape(
        table: &TableConstraints,
        opened: &OpenedValuesWithLookups<Ext>,
        terminal: Option<&LookupTerminal<Ext>>,
    ) -> Result<(), OpeningsError> {
        let base = &opened.base_opened_values;
        let width = |row: Option<&[Ext]>, len: usize| row.map_or(len == 0, |row| row.len() == len);
        let checks = [
            (
                width(Some(&base.trace_local), table.main_width()),
                "the main row",
            ),
            (
                match &base.trace_next {
                    Some(next) => table.main_next() && next.len() == table.main_width(),
                    None => !table.main_next(),
                },
                "the main next row",
            ),
            (
                base.preprocessed.is_some() == (table.preprocessed_width() > 0)
                    && width(base.preprocessed_local(), table.preprocessed_width()),
                "the preprocessed row",
            ),
            (
                match base.preprocessed_next() {
                    Some(next) => {
                        table.preprocessed_next() && next.len() == table.preprocessed_width()
                    }
                    None => !table.preprocessed_next(),
                },
                "the preprocessed next row",
            ),
            (
                opened.permutation_local.len() == table.permutation_width()
                    && opened.permutation_next.len() == table.permutation_width(),
                "the permutation rows",
            ),
            (
                base.quotient_chunks.len() == table.num_quotient_chunks()
                    && base
                        .quotient_chunks
                        .iter()
                        .all(|chunk| chunk.len() == DEGREE),
                "the quotient chunks",
            ),
            (base.random.is_none(), "the zero-knowledge randomness"),
            (
                terminal.is_some() == (table.num_lookups() > 0),
                "the LogUp terminal",
            ),
        ];
        match checks.into_iter().find(|(ok, _)| !ok) {
            Some((_, what)) => Err(OpeningsError::Shape {
                table: table.name().to_string(),
                what,
            }),
            None => Ok(()),
        }
    }
}

impl TableOpenings {
    /// Panics unless the openings have `table`'s widths, next rows, chunk count and terminal.
    fn assert_shape(&self, table: &TableConstraints) {
        let name = &table.name();
        assert_eq!(self.main_local.len(), table.main_width(), "{name}");
        assert_eq!(
            self.main_next.as_ref().map(Vec::len),
            table.main_next().then_some(table.main_width()),
            "{name}"
        );
        assert_eq!(
            self.preprocessed_local.len(),
            table.preprocessed_width(),
            "{name}"
        );
        assert_eq!(
            self.preprocessed_next.as_ref().map(Vec::len),
            table
                .preprocessed_next()
                .then_some(table.preprocessed_width()),
            "{name}"
        );
        assert_eq!(
            self.permutation_local.len(),
            table.permutation_width(),
            "{name}"
        );
        assert_eq!(
            self.permutation_next.len(),
            table.permutation_width(),
            "{name}"
        );
        assert_eq!(
            self.quotient_chunks.len(),
            table.num_quotient_chunks(),
            "{name}"
        );
        assert!(
            self.quotient_chunks.iter().all(|c| c.len() == DEGREE),
            "{name}"
        );
        assert_eq!(self.terminal.is_some(), table.num_lookups() > 0, "{name}");
    }
}

/// The selectors of a trace domain of `2^n` rows at `zeta`, and `zeta^N`.
#[derive(Clone, Debug)]
struct Selectors {
    zeta_n: ExtVar,
    is_first_row: ExtVar,
    is_last_row: ExtVar,
    is_transition: ExtVar,
    inv_vanishing: ExtVar,
}

/// `zeta` with what every table shares: its powers `zeta^(2^k)` and, per height, the
/// selectors.
#[derive(Clone, Debug)]
pub struct OodPoint {
    zeta: ExtVar,
    /// `zeta^(2^k)` for `k = 0..`, each below `2^31` a limb.
    squares: Vec<ExtVar>,
    selectors: HashMap<usize, Selectors>,
}

fn system(values: &[&ExtVar]) -> ConstraintSystemRef<Fr> {
    values
        .iter()
        .flat_map(|value| value.limbs())
        .fold(ConstraintSystemRef::None, |cs, limb| {
            cs.or(limb.variable().cs())
        })
}

/// `numerator / denominator`: witnessed (canonical limbs) and checked by
/// `quotient * denominator = numerator`. Sound where the denominator is nonzero, which the
/// caller proves.
fn divide(numerator: &ExtVar, denominator: &ExtVar) -> Result<ExtVar, SynthesisError> {
    let cs = system(&[numerator, denominator]);
    let quotient = ExtVar::new_witness(cs, || {
        Ok(numerator.value()? * denominator.value()?.try_inverse().unwrap_or(Ext::ZERO))
    })?;
    quotient.mul(denominator)?.enforce_equal(numerator)?;
    Ok(quotient)
}

impl OodPoint {
    /// The out-of-domain point, as the caller's transcript sampled it.
    pub fn new(zeta: ExtVar) -> Self {
        Self {
            squares: vec![zeta.clone()],
            zeta,
            selectors: HashMap::new(),
        }
    }

    fn power_of_two(&mut self, log: usize) -> Result<ExtVar, SynthesisError> {
        while self.squares.len() <= log {
            let last = self.squares.last().expect("zeta itself");
            let next = last.square()?.reduce_weak()?;
            self.squares.push(next);
        }
        Ok(self.squares[log].clone())
    }

    /// The selectors of `2^log_degree` rows (computed once per height). Proves
    /// `zeta^N != 1` (`inv_vanishing` is an inverse), so `zeta` is off the trace domain, as
    /// natively, and both selector denominators are nonzero.
    fn selectors(&mut self, log_degree: usize) -> Result<Selectors, SynthesisError> {
        if let Some(selectors) = self.selectors.get(&log_degree) {
            return Ok(selectors.clone());
        }
        let zeta_n = self.power_of_two(log_degree)?;
        let vanishing = zeta_n.sub(&ExtVar::constant(Ext::ONE))?;
        let inv_vanishing = vanishing.inverse()?;
        let last = BabyBear::two_adic_generator(log_degree).inverse();
        let is_transition = self.zeta.sub(&ExtVar::constant(Ext::from(last)))?;
        let is_first_row = divide(&vanishing, &self.zeta.sub(&ExtVar::constant(Ext::ONE))?)?;
        let is_last_row = divide(&vanishing, &is_transition)?;
        let selectors = Selectors {
            zeta_n,
            is_first_row,
            is_last_row,
            is_transition,
            inv_vanishing,
        };
        self.selectors.insert(log_degree, selectors.clone());
        Ok(selectors)
    }
}

/// `1, alpha, .., alpha^(m-1)` (each below `2^31` a limb) and `alpha^m`, `m` =
/// [`ALPHA_BLOCK`].
#[derive(Clone, Debug)]
pub struct AlphaPowers {
    powers: Vec<ExtVar>,
    block: ExtVar,
}

impl AlphaPowers {
    /// The powers of the constraint-folding challenge (canonical, as sampled).
    pub fn new(alpha: &ExtVar) -> Result<Self, SynthesisError> {
        let mut powers = vec![ExtVar::constant(Ext::ONE), alpha.clone()];
        while powers.len() <= ALPHA_BLOCK {
            let last = powers.last().expect("alpha itself");
            let next = last.mul(alpha)?.reduce_weak()?;
            powers.push(next);
        }
        let block = powers.pop().expect("alpha^m");
        Ok(Self { powers, block })
    }

    /// `sum_i alpha^(K - 1 - i) c_i` for the constraint values `c_0..c_(K-1)` in emission
    /// order.
    fn fold(&self, values: &[ExtVar]) -> Result<ExtVar, SynthesisError> {
        let mut folded: Option<ExtVar> = None;
        // `values[K - 1 - j]` carries `alpha^j`; block `a` holds `j` in `a*m .. a*m + m`.
        let exponents: Vec<&ExtVar> = values.iter().rev().collect();
        for block in exponents.chunks(ALPHA_BLOCK).rev() {
            let mut sum = block[0].clone();
            for (value, power) in block.iter().zip(&self.powers).skip(1) {
                sum = sum.add(&value.mul(power)?)?;
            }
            folded = Some(match folded {
                None => sum,
                Some(folded) => folded.mul(&self.block)?.add(&sum)?,
            });
        }
        Ok(folded.unwrap_or_else(|| ExtVar::constant(Ext::ZERO)))
    }
}

/// `sum_k coefficients[k] X^k`: an extension element from its `4` opened base columns
/// (`from_ext_basis_coefficients`). Free: products by constants.
fn from_basis(coefficients: &[ExtVar]) -> Result<ExtVar, SynthesisError> {
    assert_eq!(coefficients.len(), DEGREE);
    let mut sum = coefficients[0].clone();
    for (k, coefficient) in coefficients.iter().enumerate().skip(1) {
        let basis = <Ext as BasedVectorSpace<BabyBear>>::ith_basis_element(k).expect("k < 4");
        sum = sum.add(&coefficient.mul(&ExtVar::constant(basis))?)?;
    }
    Ok(sum)
}

/// Operands of a product over a base expression (the AIR's own constraints) are reduced first
/// when above this many bits; see [`product`].
const BASE_REDUCE_BITS: u64 = 80;

/// The same for products in extension expressions (LogUp's).
const EXT_REDUCE_BITS: u64 = 180;

/// The product of two evaluated nodes. An operand above `reduce_bits` is reduced first (weakly)
/// and the reduced value replaces the node's in the cache, so a shared node (a hash state
/// after a linear layer, a LogUp denominator) is reduced once rather than once per product it
/// enters, and the products it enters stay small. Reducing costs about 4 constraints per bit
/// of the operand's bound, and a product's bound is about the sum of its operands' plus 37
/// bits, so where to reduce is a trade-off, settled by measuring the machine's tables
/// (`constraint_counts`): reducing only before an overflow cost 680k constraints where
/// thresholds of 100 and 180 bits cost 513k (LogUp's tuples then still combined by Horner's
/// rule); with the tuples against powers of `beta`, 100 and 180 cost 374k, 80 and 180 367k
/// (70, 90 or 120 for base products, 140 or 250 for extension ones, no better). Beyond the
/// thresholds, an operand is reduced where the product would overflow, as [`ExtVar::mul`]
/// would.
fn product<K>(
    cache: &mut HashMap<*const K, ExtVar>,
    (x, mut a): (&Arc<K>, ExtVar),
    (y, mut b): (&Arc<K>, ExtVar),
    reduce_bits: u64,
) -> Result<ExtVar, SynthesisError> {
    if a.max_bound().bits() > reduce_bits {
        a = a.reduce_weak()?;
        cache.insert(Arc::as_ptr(x), a.clone());
    }
    if b.max_bound().bits() > reduce_bits {
        b = b.reduce_weak()?;
        cache.insert(Arc::as_ptr(y), b.clone());
    }
    while !a.product_fits(&b) {
        if a.max_bound() >= b.max_bound() {
            a = a.reduce_weak()?;
            cache.insert(Arc::as_ptr(x), a.clone());
        } else {
            b = b.reduce_weak()?;
            cache.insert(Arc::as_ptr(y), b.clone());
        }
    }
    a.mul(&b)
}

/// Evaluates a table's symbolic constraints at the opened values, once per shared node.
struct Evaluator<'a> {
    openings: &'a TableOpenings,
    public_values: &'a [BabyBearVar],
    selectors: &'a Selectors,
    /// The table's challenges: `lookup.table(index)`.
    challenges: Vec<ExtVar>,
    lookup: &'a mut LookupChallenges,
    permutation_local: Vec<ExtVar>,
    permutation_next: Vec<ExtVar>,
    base_nodes: HashMap<*const SymbolicExpression<BabyBear>, ExtVar>,
    ext_nodes: HashMap<*const SymbolicExpressionExt<BabyBear, Ext>, ExtVar>,
}

/// The index of a challenge leaf.
fn challenge_index(node: &SymbolicExpressionExt<BabyBear, Ext>) -> Option<usize> {
    match node {
        SymbolicExpr::Leaf(ExtLeaf::ExtVariable(variable))
            if variable.entry == ExtEntry::Challenge =>
        {
            Some(variable.index)
        }
        _ => None,
    }
}

/// Recognizes LogUp's combination of a tuple, `elt + acc * beta` from the first element on,
/// that is `((t_(k-1) beta + ..) beta + t_1) beta + t_0` in a challenge at an odd index (the
/// `beta` slots of [`lookup_challenges`]), and returns the terms `t_0..t_(k-1)`,
/// lowest power first; three at least.
fn horner(
    mut node: &SymbolicExpressionExt<BabyBear, Ext>,
) -> Option<Vec<&SymbolicExpressionExt<BabyBear, Ext>>> {
    let mut terms = Vec::new();
    let mut challenge = None;
    while let SymbolicExpr::Add { x, y, .. } = node {
        // A sum whose right side is a product by a `beta` slot.
        let SymbolicExpr::Mul { x: a, y: b, .. } = &**y else {
            break;
        };
        let (accumulator, index) = match (challenge_index(a), challenge_index(b)) {
            (_, Some(index)) => (a, index),
            (Some(index), None) => (b, index),
            (None, None) => break,
        };
        if index % 2 == 0 || *challenge.get_or_insert(index) != index {
            break;
        }
        terms.push(&**x);
        node = &**accumulator;
    }
    terms.push(node);
    (terms.len() > 2).then_some(terms)
}

fn row_value(local: &[ExtVar], next: Option<&[ExtVar]>, offset: usize, index: usize) -> ExtVar {
    match offset {
        0 => local[index].clone(),
        // An AIR that reads no next row has it opened nowhere; natively it reads zeros.
        1 => next.map_or_else(|| ExtVar::constant(Ext::ZERO), |next| next[index].clone()),
        _ => unreachable!("symbolic windows span two rows"),
    }
}

impl Evaluator<'_> {
    /// `sum_k terms[k] beta^k`: the value of the Horner chain the terms were read from
    /// ([`horner`]; every `beta` slot holds `beta` itself), with each term multiplied by a
    /// power of `beta` shared by all tables, so no accumulator grows by a product per element
    /// (which would cost a reduction every few elements).
    fn powers_sum(
        &mut self,
        terms: &[&SymbolicExpressionExt<BabyBear, Ext>],
    ) -> Result<ExtVar, SynthesisError> {
        let powers = self.lookup.beta_powers(terms.len())?.to_vec();
        let mut sum = self.ext(terms[0])?;
        for (term, power) in terms.iter().zip(&powers).skip(1) {
            sum = sum.add(&self.ext(term)?.mul(power)?)?;
        }
        Ok(sum)
    }

    fn base_leaf(&self, leaf: &BaseLeaf<BabyBear>) -> ExtVar {
        match leaf {
            BaseLeaf::Variable(variable) => match variable.entry {
                BaseEntry::Main { offset } => row_value(
                    &self.openings.main_local,
                    self.openings.main_next.as_deref(),
                    offset,
                    variable.index,
                ),
                BaseEntry::Preprocessed { offset } => row_value(
                    &self.openings.preprocessed_local,
                    self.openings.preprocessed_next.as_deref(),
                    offset,
                    variable.index,
                ),
                BaseEntry::Public => ExtVar::from_base(&self.public_values[variable.index]),
                BaseEntry::Periodic => unreachable!("no periodic columns (checked when built)"),
            },
            BaseLeaf::IsFirstRow => self.selectors.is_first_row.clone(),
            BaseLeaf::IsLastRow => self.selectors.is_last_row.clone(),
            BaseLeaf::IsTransition => self.selectors.is_transition.clone(),
            BaseLeaf::Constant(constant) => ExtVar::constant(Ext::from(*constant)),
        }
    }

    /// The value of a shared node, evaluated once: p3 shares subtrees by `Arc`.
    fn memoized<N>(
        &mut self,
        node: &Arc<N>,
        nodes: fn(&mut Self) -> &mut HashMap<*const N, ExtVar>,
        evaluate: fn(&mut Self, &N) -> Result<ExtVar, SynthesisError>,
    ) -> Result<ExtVar, SynthesisError> {
        let key = Arc::as_ptr(node);
        if let Some(value) = nodes(self).get(&key) {
            return Ok(value.clone());
        }
        let value = evaluate(self, node)?;
        nodes(self).insert(key, value.clone());
        Ok(value)
    }

    fn base_node(
        &mut self,
        node: &Arc<SymbolicExpression<BabyBear>>,
    ) -> Result<ExtVar, SynthesisError> {
        self.memoized(node, |evaluator| &mut evaluator.base_nodes, Self::base)
    }

    fn base(
        &mut self,
        expression: &SymbolicExpression<BabyBear>,
    ) -> Result<ExtVar, SynthesisError> {
        match expression {
            SymbolicExpr::Leaf(leaf) => Ok(self.base_leaf(leaf)),
            SymbolicExpr::Add { x, y, .. } => self.base_node(x)?.add(&self.base_node(y)?),
            SymbolicExpr::Sub { x, y, .. } => self.base_node(x)?.sub(&self.base_node(y)?),
            SymbolicExpr::Neg { x, .. } => ExtVar::constant(Ext::ZERO).sub(&self.base_node(x)?),
            SymbolicExpr::Mul { x, y, .. } => {
                let (a, b) = (self.base_node(x)?, self.base_node(y)?);
                product(&mut self.base_nodes, (x, a), (y, b), BASE_REDUCE_BITS)
            }
        }
    }

    fn ext_leaf(&mut self, leaf: &ExtLeaf<BabyBear, Ext>) -> Result<ExtVar, SynthesisError> {
        Ok(match leaf {
            ExtLeaf::Base(expression) => self.base(expression)?,
            ExtLeaf::ExtVariable(variable) => match variable.entry {
                ExtEntry::Permutation { offset } => row_value(
                    &self.permutation_local,
                    Some(self.permutation_next.as_slice()),
                    offset,
                    variable.index,
                ),
                ExtEntry::Challenge => self.challenges[variable.index].clone(),
                ExtEntry::PermutationValue => {
                    assert_eq!(variable.index, 0, "one terminal per table");
                    self.openings
                        .terminal
                        .clone()
                        .expect("a table with lookups has a terminal")
                }
            },
            ExtLeaf::ExtConstant(constant) => ExtVar::constant(*constant),
        })
    }

    fn ext_node(
        &mut self,
        node: &Arc<SymbolicExpressionExt<BabyBear, Ext>>,
    ) -> Result<ExtVar, SynthesisError> {
        self.memoized(node, |evaluator| &mut evaluator.ext_nodes, Self::ext)
    }

    fn ext(
        &mut self,
        expression: &SymbolicExpressionExt<BabyBear, Ext>,
    ) -> Result<ExtVar, SynthesisError> {
        match expression {
            SymbolicExpr::Leaf(leaf) => self.ext_leaf(leaf),
            SymbolicExpr::Add { x, y, .. } => match horner(expression) {
                Some(terms) => self.powers_sum(&terms),
                None => self.ext_node(x)?.add(&self.ext_node(y)?),
            },
            SymbolicExpr::Sub { x, y, .. } => self.ext_node(x)?.sub(&self.ext_node(y)?),
            SymbolicExpr::Neg { x, .. } => ExtVar::constant(Ext::ZERO).sub(&self.ext_node(x)?),
            SymbolicExpr::Mul { x, y, .. } => {
                let (a, b) = (self.ext_node(x)?, self.ext_node(y)?);
                product(&mut self.ext_nodes, (x, a), (y, b), EXT_REDUCE_BITS)
            }
        }
    }
}

/// Checks one table's constraints at `zeta` against its quotient (steps 1 to 4 of the module
/// documentation); `index` is the table's in the batch (its entry of `lookup`).
pub fn verify_table(
    table: &TableConstraints,
    index: usize,
    openings: &TableOpenings,
    public_values: &[BabyBearVar],
    lookup: &mut LookupChallenges,
    alpha: &AlphaPowers,
    zeta: &mut OodPoint,
) -> Result<(), SynthesisError> {
    let challenges = lookup.table(index).to_vec();
    // The shape is the circuit's: openings of another shape are a caller's bug, never a
    // proof to accept (natively an `InvalidProofShape`).
    assert_eq!(
        public_values.len(),
        table.num_public_values(),
        "{}",
        table.name()
    );
    assert_eq!(
        challenges.len(),
        2 * table.num_lookups(),
        "{}",
        table.name()
    );
    openings.assert_shape(table);
    let selectors = zeta.selectors(table.log_degree())?;
    let recompose = |flat: &[ExtVar]| {
        flat.chunks(DEGREE)
            .map(from_basis)
            .collect::<Result<Vec<_>, _>>()
    };
    let mut evaluator = Evaluator {
        openings,
        public_values,
        selectors: &selectors,
        challenges,
        lookup,
        permutation_local: recompose(&openings.permutation_local)?,
        permutation_next: recompose(&openings.permutation_next)?,
        base_nodes: HashMap::new(),
        ext_nodes: HashMap::new(),
    };
    let mut values = Vec::with_capacity(table.order().len());
    for emitted in table.order() {
        values.push(match *emitted {
            Emitted::Base(k) => evaluator.base(&table.base_constraints()[k])?,
            Emitted::Ext(k) => evaluator.ext(&table.ext_constraints()[k])?,
        });
    }
    let folded = alpha.fold(&values)?;

    // quotient(zeta) = sum_i zps_i * q_i(zeta), zps_i = prod_(j != i) Z_Dj(zeta) / Z_Dj(s_i).
    let vanishing: Vec<ExtVar> = table
        .chunk_shift_powers()
        .iter()
        .map(|&power| {
            selectors
                .zeta_n
                .mul(&ExtVar::constant(Ext::from(power)))?
                .sub(&ExtVar::constant(Ext::ONE))
        })
        .collect::<Result<_, _>>()?;
    let mut quotient = ExtVar::constant(Ext::ZERO);
    for (i, chunk) in openings.quotient_chunks.iter().enumerate() {
        let mut zps = ExtVar::constant(Ext::from(table.chunk_denominators()[i]));
        for (j, factor) in vanishing.iter().enumerate() {
            if j != i {
                zps = zps.mul(factor)?;
            }
        }
        quotient = quotient.add(&zps.mul(&from_basis(chunk)?)?)?;
    }
    folded
        .mul(&selectors.inv_vanishing)?
        .enforce_equal(&quotient)
}

/// The LogUp challenges and the folding challenge and point of a batch, as the caller's
/// transcript draws them.
#[derive(Clone, Debug)]
pub struct Challenges {
    /// The LogUp pair `(alpha, beta)`; `None` when no table has lookups (none is drawn).
    pub lookup: Option<(ExtVar, ExtVar)>,
    pub alpha: ExtVar,
    pub zeta: ExtVar,
}

/// Checks every table's constraints at `zeta` (see [`verify_table`]) and that the LogUp
/// terminals sum to zero. `public_values[i]` are table `i`'s.
pub fn verify(
    shape: &MachineShape,
    openings: &[TableOpenings],
    public_values: &[Vec<BabyBearVar>],
    challenges: &Challenges,
) -> Result<(), SynthesisError> {
    verify_counted(shape, openings, public_values, challenges, None)
}

/// [`verify`], recording the constraints each table's check adds (after what is shared).
pub(crate) fn verify_counted(
    shape: &MachineShape,
    openings: &[TableOpenings],
    public_values: &[Vec<BabyBearVar>],
    challenges: &Challenges,
    mut counts: Option<(&ConstraintSystemRef<Fr>, &mut Vec<usize>)>,
) -> Result<(), SynthesisError> {
    assert_eq!(openings.len(), shape.tables().len());
    assert_eq!(public_values.len(), shape.tables().len());
    assert_eq!(challenges.lookup.is_some(), shape.has_lookups());
    let mut lookup = match &challenges.lookup {
        Some((alpha, beta)) => lookup_challenges(shape, alpha, beta)?,
        None => no_lookup_challenges(shape),
    };
    let alpha = AlphaPowers::new(&challenges.alpha)?;
    let mut zeta = OodPoint::new(challenges.zeta.clone());
    for (i, table) in shape.tables().iter().enumerate() {
        let before = counts.as_ref().map(|(cs, _)| cs.num_constraints());
        verify_table(
            table,
            i,
            &openings[i],
            &public_values[i],
            &mut lookup,
            &alpha,
            &mut zeta,
        )?;
        if let (Some((cs, counts)), Some(before)) = (counts.as_mut(), before) {
            counts.push(cs.num_constraints() - before);
        }
    }
    // The single-terminal LogUp check: the batch's terminals cancel.
    let mut total = ExtVar::constant(Ext::ZERO);
    for terminal in openings.iter().filter_map(|o| o.terminal.as_ref()) {
        total = total.add(terminal)?;
    }
    total.enforce_equal(&ExtVar::constant(Ext::ZERO))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::OnceLock;

    use ark_relations::gr1cs::{ConstraintSystem, SynthesisMode};
    use gnomon_machine::config::{F, Outer, StarkParameters};
    use gnomon_machine::public_values::offset::END_PC;
    use gnomon_machine::segment::{MachineKeys, SegmentProof};

    use super::*;

    /// The challenges a proof's transcript draws, replayed natively.
    #[derive(Clone, Debug)]
    pub(crate) struct Native {
        pub(crate) lookup: Option<(Ext, Ext)>,
        laid_out: Vec<Vec<Ext>>,
        pub(crate) alpha: Ext,
        pub(crate) zeta: Ext,
    }

    pub(crate) struct Fixture {
        pub(crate) keys: MachineKeys<Outer>,
        pub(crate) proof: SegmentProof<Outer>,
        pub(crate) shape: MachineShape,
        pub(crate) native: Native,
    }

    /// The testing parameters of the machine tests (`tests/outer.rs`): the same tables and
    /// constraints as the outer parameters, proven in a fraction of the time.
    pub(crate) fn parameters() -> StarkParameters {
        StarkParameters::testing()
    }

    /// Replays `verify_batch`'s transcript up to `zeta`, with the LogUp pair recovered from
    /// its laid-out challenges.
    fn replay(
        keys: &MachineKeys<Outer>,
        shape: &MachineShape,
        proof: &SegmentProof<Outer>,
    ) -> Native {
        let native =
            crate::transcript::tests::replay_native(keys, &proof.proof, &proof.public_values)
                .expect("the fixture's grinding checks");
        // The pair itself: beta is laid out as drawn, alpha behind its first bus offset.
        let lookup = shape
            .bus_ids()
            .iter()
            .zip(&native.laid_out)
            .find_map(|(buses, laid)| {
                let &bus = buses.first()?;
                let beta = laid[1];
                let gamma = beta.exp_u64(shape.max_message_width() as u64);
                Some((laid[0] - gamma * Ext::from(F::from_usize(bus + 1)), beta))
            });
        Native {
            lookup,
            laid_out: native.laid_out,
            alpha: native.alpha,
            zeta: native.zeta,
        }
    }

    /// A real outer-configuration proof of one segment of `fibonacci(20)` (segments of 2^11
    /// cycles, the smallest the machine tests use), its shape and its challenges.
    pub(crate) fn fixture() -> &'static Fixture {
        static FIXTURE: OnceLock<Fixture> = OnceLock::new();
        FIXTURE.get_or_init(|| {
            let (program, _, segments) = crate::test_util::fibonacci_20(11);
            let keys = MachineKeys::<Outer>::new(&program, parameters());
            let proof = keys
                .prove_segment(&segments[0])
                .expect("the segment proves");
            keys.verify_segment(&proof)
                .expect("the native verifier accepts");
            let common = keys.common();
            let airs = keys.airs();
            for (i, lookups) in common.lookups.iter().enumerate() {
                assert_eq!(
                    keys.lookup_columns(i),
                    lookups.len() + usize::from(!lookups.is_empty())
                );
            }
            let names: Vec<String> = airs.iter().map(|air| air.name().to_string()).collect();
            let preprocessed_widths =
                gnomon_machine::verification::preprocessed_widths(common, airs.len());
            let shape = MachineShape::new(
                &names,
                airs,
                &common.lookups,
                &preprocessed_widths,
                &proof.proof.degree_bits,
            );
            let native = replay(&keys, &shape, &proof);
            Fixture {
                keys,
                proof,
                shape,
                native,
            }
        })
    }

    pub(crate) fn copy(proof: &SegmentProof<Outer>) -> SegmentProof<Outer> {
        SegmentProof::from_bytes(&proof.to_bytes()).unwrap()
    }

    /// Builds the circuit of every table's check for `proof` at `native`'s challenges; returns
    /// whether it is satisfied, its size (constraints after the witnesses, witness variables)
    /// and the constraints per table.
    fn circuit(
        fixture: &Fixture,
        proof: &SegmentProof<Outer>,
        native: &Native,
        setup: bool,
    ) -> (bool, (usize, usize), Vec<usize>) {
        let cs = ConstraintSystem::<Fr>::new_ref();
        if setup {
            cs.set_mode(SynthesisMode::Setup);
        }
        let ext = |v: Ext| {
            ExtVar::new_witness(cs.clone(), || (!setup).then_some(v).ok_or_else(missing)).unwrap()
        };
        let (openings, public_values) = witnesses(&cs, fixture, proof, setup);
        let challenges = Challenges {
            lookup: native.lookup.map(|(alpha, beta)| (ext(alpha), ext(beta))),
            alpha: ext(native.alpha),
            zeta: ext(native.zeta),
        };
        let before = cs.num_constraints();
        let mut per_table = Vec::new();
        verify_counted(
            &fixture.shape,
            &openings,
            &public_values,
            &challenges,
            Some((&cs, &mut per_table)),
        )
        .unwrap();
        let size = cs.num_constraints() - before;
        let satisfied = !setup && cs.is_satisfied().unwrap();
        (satisfied, (size, cs.num_witness_variables()), per_table)
    }

    /// Witnesses `proof`'s openings and terminals, and each table's public values (the
    /// segment's, shared by the tables that read them); no assignment when `setup`.
    pub(crate) fn witnesses(
        cs: &ConstraintSystemRef<Fr>,
        fixture: &Fixture,
        proof: &SegmentProof<Outer>,
        setup: bool,
    ) -> (Vec<TableOpenings>, Vec<Vec<BabyBearVar>>) {
        let segment_values: Vec<BabyBearVar> = proof
            .public_values
            .iter()
            .map(|&v| {
                BabyBearVar::new_witness(cs.clone(), || (!setup).then_some(v).ok_or_else(missing))
                    .unwrap()
            })
            .collect();
        let mut openings = Vec::new();
        let mut public_values = Vec::new();
        for (i, table) in fixture.shape.tables().iter().enumerate() {
            let native_values = (
                &proof.proof.opened_values.instances[i],
                proof.proof.lookup_terminals[i].as_ref(),
            );
            openings.push(
                TableOpenings::new_witness(cs.clone(), table, (!setup).then_some(native_values))
                    .unwrap(),
            );
            // The boundary and page tables read the segment's public values, the rest none.
            let count = fixture
                .keys
                .instance_public_values_of(i, &proof.public_values)
                .len();
            assert_eq!(count, table.num_public_values());
            public_values.push(if count == 0 {
                Vec::new()
            } else {
                segment_values.clone()
            });
        }
        (openings, public_values)
    }

    fn check(tamper: impl FnOnce(&mut SegmentProof<Outer>, &mut Native)) -> bool {
        let fixture = fixture();
        let mut proof = copy(&fixture.proof);
        let mut native = fixture.native.clone();
        tamper(&mut proof, &mut native);
        circuit(fixture, &proof, &native, false).0
    }

    /// The index of the named table.
    fn table(name: &str) -> usize {
        fixture()
            .shape
            .tables()
            .iter()
            .position(|table| table.name() == name)
            .unwrap_or_else(|| panic!("no table {name}"))
    }

    #[test]
    fn a_real_segment_proof_satisfies_every_table() {
        let fixture = fixture();
        assert!(fixture.shape.tables().len() > 20);
        assert!(fixture.shape.has_lookups());
        assert!(check(|_, _| {}));
    }

    /// The in-circuit layout of the LogUp challenges (bus prefixes from the drawn pair) is
    /// the transcript's.
    #[test]
    fn lookup_challenges_are_laid_out_as_natively() {
        let fixture = fixture();
        let cs = ConstraintSystem::<Fr>::new_ref();
        let (alpha, beta) = fixture.native.lookup.unwrap();
        let ext = |v: Ext| ExtVar::new_witness(cs.clone(), || Ok(v)).unwrap();
        let laid_out = lookup_challenges(&fixture.shape, &ext(alpha), &ext(beta)).unwrap();
        for (i, native) in fixture.native.laid_out.iter().enumerate() {
            let values: Vec<Ext> = laid_out
                .table(i)
                .iter()
                .map(|c| c.value().unwrap())
                .collect();
            assert_eq!(&values, native);
        }
        assert!(cs.is_satisfied().unwrap());
    }

    #[test]
    fn setup_lays_out_the_same_system() {
        let fixture = fixture();
        let proving = circuit(fixture, &fixture.proof, &fixture.native, false);
        let setup = circuit(fixture, &fixture.proof, &fixture.native, true);
        assert_eq!(proving.1, setup.1);
        assert_eq!(proving.2, setup.2);
    }

    /// Tampers with the proof: the circuit (at the honest transcript's challenges) and the
    /// native verifier must both reject it.
    fn assert_rejected(tamper: impl Fn(&mut SegmentProof<Outer>)) {
        let fixture = fixture();
        assert!(!check(|proof, _| tamper(proof)));
        let mut proof = copy(&fixture.proof);
        tamper(&mut proof);
        assert!(fixture.keys.verify_segment(&proof).is_err());
    }

    /// Openings of another shape are an error naming what is wrong, never a panic, and the
    /// native verifier rejects them too.
    #[test]
    fn openings_of_another_shape_are_an_error() {
        let fixture = fixture();
        let index = table("Boundary");
        type Tamper = fn(&mut OpenedValuesWithLookups<Ext>);
        let tamperings: [(&str, Tamper); 4] = [
            ("the main row", |opened| {
                opened.base_opened_values.trace_local.pop();
            }),
            ("the main next row", |opened| {
                opened.base_opened_values.trace_next = None;
            }),
            ("the permutation rows", |opened| {
                opened.permutation_next.push(Ext::ONE);
            }),
            ("the quotient chunks", |opened| {
                opened.base_opened_values.quotient_chunks[0].pop();
            }),
        ];
        for (what, tamper) in tamperings {
            let mut proof = copy(&fixture.proof);
            tamper(&mut proof.proof.opened_values.instances[index]);
            let cs = ConstraintSystem::<Fr>::new_ref();
            let table = &fixture.shape.tables()[index];
            let opened = (
                &proof.proof.opened_values.instances[index],
                proof.proof.lookup_terminals[index].as_ref(),
            );
            match TableOpenings::new_witness(cs, table, Some(opened)) {
                Err(OpeningsError::Shape { what: found, .. }) => assert_eq!(found, what),
                other => panic!("{what}: {other:?}"),
            }
            assert!(fixture.keys.verify_segment(&proof).is_err(), "{what}");
        }
        let mut proof = copy(&fixture.proof);
        proof.proof.lookup_terminals[index] = None;
        let opened = (&proof.proof.opened_values.instances[index], None);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let error = TableOpenings::new_witness(cs, &fixture.shape.tables()[index], Some(opened))
            .unwrap_err();
        assert!(error.to_string().contains("the LogUp terminal"), "{error}");
    }

    #[test]
    fn a_tampered_main_value_fails() {
        let index = table("Boundary");
        assert_rejected(|proof| {
            proof.proof.opened_values.instances[index]
                .base_opened_values
                .trace_local[0] += Ext::ONE;
        });
    }

    #[test]
    fn a_tampered_quotient_chunk_fails() {
        let last = fixture().shape.tables().len() - 1;
        assert_rejected(|proof| {
            proof.proof.opened_values.instances[last]
                .base_opened_values
                .quotient_chunks
                .last_mut()
                .unwrap()[2] += Ext::ONE;
        });
    }

    #[test]
    fn a_tampered_permutation_value_or_terminal_fails() {
        let index = (0..fixture().shape.tables().len())
            .find(|&i| fixture().shape.tables()[i].num_lookups() > 0)
            .unwrap();
        assert_rejected(|proof| {
            proof.proof.opened_values.instances[index].permutation_next[1] += Ext::ONE;
        });
        assert_rejected(|proof| {
            let terminal = proof.proof.lookup_terminals[index].as_ref().unwrap().0;
            proof.proof.lookup_terminals[index] = Some(LookupTerminal(terminal + Ext::ONE));
        });
    }

    /// With the honest transcript's challenges, a lie about the public values must fail the
    /// boundary constraints themselves (natively the transcript changes too).
    #[test]
    fn a_wrong_public_value_fails() {
        assert_rejected(|proof| proof.public_values[END_PC] += F::ONE);
    }

    #[test]
    fn a_wrong_challenge_fails() {
        assert!(!check(|_, native| native.alpha += Ext::ONE));
        assert!(!check(|_, native| native.zeta += Ext::ONE));
        assert!(!check(|_, native| {
            let (alpha, beta) = native.lookup.unwrap();
            native.lookup = Some((alpha + Ext::ONE, beta));
        }));
    }

    /// A point on the trace domain of a table: natively `OodPointInDomain`; here the
    /// vanishing polynomial has no inverse.
    #[test]
    fn zeta_on_a_trace_domain_fails() {
        assert!(!check(|_, native| {
            native.zeta = Ext::from(BabyBear::two_adic_generator(3));
        }));
    }

    /// Per table, the constraints of its check (setup mode, at the fixture's heights), with
    /// the table's name, constraint and chunk counts; and the total.
    pub(crate) fn machine_counts() -> (usize, Vec<(String, usize, usize, usize)>) {
        let fixture = fixture();
        let (_, (total, _), per_table) = circuit(fixture, &fixture.proof, &fixture.native, true);
        let tables = fixture
            .shape
            .tables()
            .iter()
            .zip(per_table)
            .map(|(table, count)| {
                (
                    table.name().to_string(),
                    table.num_constraints(),
                    table.num_quotient_chunks(),
                    count,
                )
            })
            .collect();
        (total, tables)
    }
}
