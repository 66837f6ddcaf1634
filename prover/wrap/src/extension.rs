//! The degree-4 extension of BabyBear, `BabyBear[X] / (X^4 - 11)` (Plonky3's
//! `BinomialExtensionField<BabyBear, 4>`), over lazily reduced [`BabyBearVar`] limbs.
//!
//! A product is computed unreduced in 7 constraints: the 7 coefficients of the degree-6
//! product polynomial are witnessed and checked by evaluating both sides at 0, 1, -1, 2, -2, 3
//! and infinity (a degree-6 polynomial is fixed by 7 values). The bounds keep every coefficient
//! below the BN254 modulus as an integer, so the witnessed coefficients are the integer ones;
//! folding `X^4 = 11` is then linear. Schoolbook multiplication would take 16.

use ark_bn254::Fr;
use ark_r1cs_std::GR1CSVar;
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::fields::FieldVar;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};
use num_bigint::BigUint;
use p3_baby_bear::BabyBear;
use p3_field::extension::BinomialExtensionField;
use p3_field::{BasedVectorSpace, Field, PrimeCharacteristicRing};

use crate::babybear::{BOUND_BITS, BabyBearVar, biguint_to_fr, fr_to_biguint};

/// The extension field.
pub type Ext = BinomialExtensionField<BabyBear, 4>;

/// `X^4 = W`.
const W: u32 = 11;

/// An element of [`Ext`] as 4 lazily reduced coefficients, lowest first.
#[derive(Clone, Debug)]
pub struct ExtVar {
    limbs: [BabyBearVar; 4],
}

/// The evaluation points of the product check, besides infinity.
const POINTS: [i64; 6] = [0, 1, -1, 2, -2, 3];

fn signed(value: i64) -> Fr {
    if value < 0 {
        -Fr::from(value.unsigned_abs())
    } else {
        Fr::from(value as u64)
    }
}

/// Evaluates limbs (as field variables) at `x`: linear, no constraint.
fn evaluate(limbs: &[FpVar<Fr>], x: i64) -> FpVar<Fr> {
    let mut power = Fr::from(1u8);
    let mut sum = FpVar::<Fr>::zero();
    for limb in limbs {
        sum += limb * power;
        power *= signed(x);
    }
    sum
}

impl ExtVar {
    /// From coefficients, lowest first.
    pub fn from_limbs(limbs: [BabyBearVar; 4]) -> Self {
        Self { limbs }
    }

    /// The coefficients, lowest first.
    pub fn limbs(&self) -> &[BabyBearVar; 4] {
        &self.limbs
    }

    /// A constant.
    pub fn constant(value: Ext) -> Self {
        let coefficients = value.as_basis_coefficients_slice();
        Self {
            limbs: std::array::from_fn(|i| BabyBearVar::constant(coefficients[i])),
        }
    }

    /// A witness with canonical coefficients (4 x 35 constraints).
    pub fn new_witness(
        cs: ConstraintSystemRef<Fr>,
        value: impl FnOnce() -> Result<Ext, SynthesisError>,
    ) -> Result<Self, SynthesisError> {
        let value = value().ok();
        let mut limbs = Vec::with_capacity(4);
        for i in 0..4 {
            limbs.push(BabyBearVar::new_witness(cs.clone(), || {
                value
                    .map(|value| value.as_basis_coefficients_slice()[i])
                    .ok_or(SynthesisError::AssignmentMissing)
            })?);
        }
        Ok(Self {
            limbs: limbs.try_into().expect("four limbs"),
        })
    }

    /// The base-field element `value` embedded.
    pub fn from_base(value: &BabyBearVar) -> Self {
        let zero = BabyBearVar::constant(BabyBear::ZERO);
        Self {
            limbs: [value.clone(), zero.clone(), zero.clone(), zero],
        }
    }

    /// The value, where assigned.
    pub fn value(&self) -> Result<Ext, SynthesisError> {
        let mut coefficients = [BabyBear::ZERO; 4];
        for (coefficient, limb) in coefficients.iter_mut().zip(&self.limbs) {
            *coefficient = limb.value()?;
        }
        Ok(Ext::from_basis_coefficients_slice(&coefficients).expect("four coefficients"))
    }

    fn map2(
        &self,
        other: &Self,
        op: impl Fn(&BabyBearVar, &BabyBearVar) -> Result<BabyBearVar, SynthesisError>,
    ) -> Result<Self, SynthesisError> {
        let mut limbs = Vec::with_capacity(4);
        for (a, b) in self.limbs.iter().zip(&other.limbs) {
            limbs.push(op(a, b)?);
        }
        Ok(Self {
            limbs: limbs.try_into().expect("four limbs"),
        })
    }

    /// `self + other`.
    pub fn add(&self, other: &Self) -> Result<Self, SynthesisError> {
        self.map2(other, BabyBearVar::add)
    }

    /// `self - other`.
    pub fn sub(&self, other: &Self) -> Result<Self, SynthesisError> {
        self.map2(other, BabyBearVar::sub)
    }

    /// `self * scalar` for a base-field variable: 4 constraints, unreduced.
    pub fn mul_base(&self, scalar: &BabyBearVar) -> Result<Self, SynthesisError> {
        let mut limbs = Vec::with_capacity(4);
        for limb in &self.limbs {
            limbs.push(limb.mul(scalar)?);
        }
        Ok(Self {
            limbs: limbs.try_into().expect("four limbs"),
        })
    }

    /// Every limb reduced.
    pub fn reduce(&self) -> Result<Self, SynthesisError> {
        let mut limbs = Vec::with_capacity(4);
        for limb in &self.limbs {
            limbs.push(limb.reduce()?);
        }
        Ok(Self {
            limbs: limbs.try_into().expect("four limbs"),
        })
    }

    /// Every limb below `2^31` (see [`BabyBearVar::reduce_weak`]).
    pub fn reduce_weak(&self) -> Result<Self, SynthesisError> {
        let mut limbs = Vec::with_capacity(4);
        for limb in &self.limbs {
            limbs.push(limb.reduce_weak()?);
        }
        Ok(Self {
            limbs: limbs.try_into().expect("four limbs"),
        })
    }

    /// The largest bound of a limb.
    pub(crate) fn max_bound(&self) -> BigUint {
        self.limbs
            .iter()
            .map(|limb| limb.bound().clone())
            .max()
            .expect("four limbs")
    }

    fn is_constant(&self) -> bool {
        self.limbs
            .iter()
            .all(|limb| matches!(limb.variable(), FpVar::Constant(_)))
    }

    /// Whether `self * other` keeps its bounds without reducing an operand first.
    pub(crate) fn product_fits(&self, other: &Self) -> bool {
        // Each result coefficient is at most (1 + W) * 4 products of limb bounds.
        let worst = self.max_bound() * other.max_bound() * BigUint::from(4 * (1 + W));
        worst.bits() < BOUND_BITS
    }

    /// `self * other`, unreduced: 7 constraints (reducing an operand first when the product's
    /// bounds would overflow; 4 when either is a constant).
    pub fn mul(&self, other: &Self) -> Result<Self, SynthesisError> {
        if !self.product_fits(other) {
            return if self.max_bound() >= other.max_bound() {
                self.reduce_weak()?.mul(other)
            } else {
                self.mul(&other.reduce_weak()?)
            };
        }
        if self.is_constant() || other.is_constant() {
            return self.mul_schoolbook(other);
        }
        self.mul_evaluated(other, None)
    }

    /// The 7-constraint product; `tamper` (tests only) adds one to a witnessed coefficient.
    fn mul_evaluated(&self, other: &Self, tamper: Option<usize>) -> Result<Self, SynthesisError> {
        let a: Vec<FpVar<Fr>> = self.limbs.iter().map(|l| l.variable().clone()).collect();
        let b: Vec<FpVar<Fr>> = other.limbs.iter().map(|l| l.variable().clone()).collect();
        // Some limbs may be constants: take the system from any variable.
        let cs = a
            .iter()
            .chain(&b)
            .fold(ConstraintSystemRef::None, |cs, limb| cs.or(limb.cs()));
        let mut coefficients = Vec::with_capacity(7);
        let mut bounds = vec![BigUint::ZERO; 7];
        for k in 0..7 {
            for i in 0..4 {
                if k >= i && k - i < 4 {
                    bounds[k] += self.limbs[i].bound() * other.limbs[k - i].bound();
                }
            }
            coefficients.push(FpVar::new_witness(cs.clone(), || {
                let mut sum = Fr::from(0u8);
                for i in 0..4 {
                    if k >= i && k - i < 4 {
                        sum += a[i].value()? * b[k - i].value()?;
                    }
                }
                if tamper == Some(k) {
                    sum += Fr::from(1u8);
                }
                Ok(sum)
            })?);
        }
        for &x in &POINTS {
            evaluate(&a, x).mul_equals(&evaluate(&b, x), &evaluate(&coefficients, x))?;
        }
        a[3].mul_equals(&b[3], &coefficients[6])?;
        Ok(Self::fold(&coefficients, &bounds))
    }

    /// The product by schoolbook multiplication: free of constraints against a constant.
    ///
    /// A constant above `p / 2` multiplies as its negative representative, `c - p`: the
    /// term is subtracted and the coefficient offset by the smallest multiple of `p` that
    /// keeps it non-negative. The bound then grows by `p - c`, not by `c`: `-1` or `-2`
    /// (frequent in AIR constraints) cost a bit or two instead of 31.
    fn mul_schoolbook(&self, other: &Self) -> Result<Self, SynthesisError> {
        let p = BigUint::from(crate::babybear::P);
        let half = &p >> 1u8;
        let mut coefficients = Vec::with_capacity(7);
        let mut bounds = Vec::with_capacity(7);
        for k in 0..7 {
            let mut sum = FpVar::<Fr>::zero();
            let mut bound = BigUint::ZERO;
            let mut negative = BigUint::ZERO;
            for i in 0..4 {
                if k >= i && k - i < 4 {
                    let (a, b) = (&self.limbs[i], &other.limbs[k - i]);
                    // The constant operand (if either is one) and the other.
                    let constant = match (a.variable(), b.variable()) {
                        (FpVar::Constant(c), _) => Some((*c, b)),
                        (_, FpVar::Constant(c)) => Some((*c, a)),
                        _ => None,
                    };
                    match constant {
                        Some((c, variable)) => {
                            let c = fr_to_biguint(c) % &p;
                            if c > half {
                                let magnitude = &p - &c;
                                sum -= variable.variable() * biguint_to_fr(&magnitude);
                                negative += magnitude * variable.bound();
                            } else {
                                sum += variable.variable() * biguint_to_fr(&c);
                                bound += c * variable.bound();
                            }
                        }
                        None => {
                            sum += a.variable() * b.variable();
                            bound += a.bound() * b.bound();
                        }
                    }
                }
            }
            if negative > BigUint::ZERO {
                let offset = (negative + &p - 1u8) / &p * &p;
                sum += biguint_to_fr(&offset);
                bound += offset;
            }
            coefficients.push(sum);
            bounds.push(bound);
        }
        Ok(Self::fold(&coefficients, &bounds))
    }

    /// Folds a degree-6 product by `X^4 = W`.
    fn fold(coefficients: &[FpVar<Fr>], bounds: &[BigUint]) -> Self {
        let limbs = std::array::from_fn(|k| {
            if k < 3 {
                BabyBearVar::from_parts(
                    &coefficients[k] + &coefficients[k + 4] * Fr::from(W),
                    &bounds[k] + &bounds[k + 4] * BigUint::from(W),
                )
            } else {
                BabyBearVar::from_parts(coefficients[k].clone(), bounds[k].clone())
            }
        });
        Self { limbs }
    }

    /// `self^2`, unreduced.
    pub fn square(&self) -> Result<Self, SynthesisError> {
        self.mul(self)
    }

    /// `1 / self`: the inverse is witnessed (canonical limbs) and `self * inverse = 1` is
    /// checked, which also proves `self != 0`.
    pub fn inverse(&self) -> Result<Self, SynthesisError> {
        let cs = self
            .limbs
            .iter()
            .fold(ConstraintSystemRef::None, |cs, limb| {
                cs.or(limb.variable().cs())
            });
        if self.is_constant() {
            let value = self.value()?;
            return Ok(Self::constant(value.try_inverse().unwrap_or(Ext::ZERO)));
        }
        let inverse =
            Self::new_witness(cs, || Ok(self.value()?.try_inverse().unwrap_or(Ext::ZERO)))?;
        self.mul(&inverse)?
            .enforce_equal(&Self::constant(Ext::ONE))?;
        Ok(inverse)
    }

    /// Enforces `self = other`, limb by limb modulo `p`.
    pub fn enforce_equal(&self, other: &Self) -> Result<(), SynthesisError> {
        for (a, b) in self.limbs.iter().zip(&other.limbs) {
            a.enforce_equal(b)?;
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use ark_relations::gr1cs::ConstraintSystem;

    use super::*;
    use crate::test_util::Rng;

    fn witness(cs: &ConstraintSystemRef<Fr>, value: Ext) -> ExtVar {
        ExtVar::new_witness(cs.clone(), || Ok(value)).unwrap()
    }

    #[test]
    fn arithmetic_matches_native() {
        let mut rng = Rng::new(3);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let natives: Vec<Ext> = (0..6).map(|_| rng.ext()).collect();
        let vars: Vec<ExtVar> = natives.iter().map(|&v| witness(&cs, v)).collect();
        let (mut native, mut var) = (natives[0], vars[0].clone());
        for step in 0..120 {
            let index = rng.below(6) as usize;
            match rng.below(5) {
                0 => {
                    native += natives[index];
                    var = var.add(&vars[index]).unwrap();
                }
                1 => {
                    native -= natives[index];
                    var = var.sub(&vars[index]).unwrap();
                }
                2 | 3 => {
                    native *= natives[index];
                    var = var.mul(&vars[index]).unwrap();
                }
                _ => {
                    let constant = rng.ext();
                    native *= constant;
                    var = var.mul(&ExtVar::constant(constant)).unwrap();
                }
            }
            assert_eq!(var.value().unwrap(), native, "step {step}");
        }
        let base = rng.babybear();
        let base_var = BabyBearVar::new_witness(cs.clone(), || Ok(base)).unwrap();
        assert_eq!(
            ExtVar::from_base(&base_var)
                .mul(&var)
                .unwrap()
                .value()
                .unwrap(),
            native * base
        );
        assert_eq!(
            var.mul_base(&base_var).unwrap().value().unwrap(),
            native * base
        );
        let inverse = var.inverse().unwrap();
        assert_eq!(inverse.value().unwrap(), native.inverse());
        var.enforce_equal(&ExtVar::constant(native)).unwrap();
        assert!(cs.is_satisfied().unwrap());
    }

    /// Operands with some constant limbs (a base element times `X`, say) take the evaluated
    /// path too.
    #[test]
    fn partially_constant_operands_multiply() {
        let mut rng = Rng::new(8);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let (a, y) = (rng.babybear(), rng.ext());
        let zero = BabyBearVar::constant(BabyBear::ZERO);
        let a_var = BabyBearVar::new_witness(cs.clone(), || Ok(a)).unwrap();
        let x = ExtVar::from_limbs([zero.clone(), a_var, zero.clone(), zero]);
        let native_x = Ext::from_basis_coefficients_fn(|i| if i == 1 { a } else { BabyBear::ZERO });
        let product = x.mul(&witness(&cs, y)).unwrap();
        assert_eq!(product.value().unwrap(), native_x * y);
        product
            .enforce_equal(&ExtVar::constant(native_x * y))
            .unwrap();
        assert!(cs.is_satisfied().unwrap());
    }

    /// Constants above `p / 2` multiply as their negatives: `x * (-2)` is congruent, its
    /// bound grows by 2 rather than by `p - 2`, and it checks equal to the native product.
    #[test]
    fn negative_constants_keep_bounds_small() {
        let mut rng = Rng::new(10);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let value = rng.ext();
        let x = witness(&cs, value);
        let minus_two = Ext::from(BabyBear::from_u32(crate::babybear::P - 2));
        let product = x.mul(&ExtVar::constant(minus_two)).unwrap();
        assert_eq!(product.value().unwrap(), value * minus_two);
        assert!(
            product.max_bound().bits() <= 33,
            "{}",
            product.max_bound().bits()
        );
        // A constant with limbs on both sides of `p / 2`.
        let mixed = Ext::from_basis_coefficients_fn(|i| {
            BabyBear::from_u32(if i % 2 == 0 {
                crate::babybear::P - 1
            } else {
                3
            })
        });
        let product = product.mul(&ExtVar::constant(mixed)).unwrap();
        assert_eq!(product.value().unwrap(), value * minus_two * mixed);
        product
            .enforce_equal(&ExtVar::constant(value * minus_two * mixed))
            .unwrap();
        assert!(cs.is_satisfied().unwrap());
    }

    /// A forged product coefficient: the evaluation check must catch it.
    #[test]
    fn forged_product_is_rejected() {
        let mut rng = Rng::new(4);
        let (a, b) = (rng.ext(), rng.ext());
        let cs = ConstraintSystem::<Fr>::new_ref();
        let product = witness(&cs, a).mul(&witness(&cs, b)).unwrap();
        product.enforce_equal(&ExtVar::constant(a * b)).unwrap();
        assert!(cs.is_satisfied().unwrap());
        // The same product claimed against a wrong value.
        let cs = ConstraintSystem::<Fr>::new_ref();
        let product = witness(&cs, a).mul(&witness(&cs, b)).unwrap();
        product
            .enforce_equal(&witness(&cs, a * b + Ext::ONE))
            .unwrap();
        assert!(!cs.is_satisfied().unwrap());
        // Tamper with each witnessed coefficient of the product polynomial in turn.
        for coefficient in 0..7 {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let (x, y) = (witness(&cs, a), witness(&cs, b));
            x.mul_evaluated(&y, Some(coefficient)).unwrap();
            assert!(!cs.is_satisfied().unwrap(), "coefficient {coefficient}");
        }
    }

    #[test]
    fn inverse_of_zero_is_unsatisfied() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let zero = witness(&cs, Ext::ZERO);
        zero.inverse().unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }

    /// A wrong inverse witness (here: the inverse of another element) fails.
    #[test]
    fn wrong_inverse_is_unsatisfied() {
        let mut rng = Rng::new(5);
        let (a, b) = (rng.ext(), rng.ext());
        let cs = ConstraintSystem::<Fr>::new_ref();
        let x = witness(&cs, a);
        let fake = witness(&cs, b.inverse());
        x.mul(&fake)
            .unwrap()
            .enforce_equal(&ExtVar::constant(Ext::ONE))
            .unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }

    pub(crate) fn mul_constraints() -> usize {
        let mut rng = Rng::new(6);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let (a, b) = (witness(&cs, rng.ext()), witness(&cs, rng.ext()));
        let before = cs.num_constraints();
        a.mul(&b).unwrap();
        cs.num_constraints() - before
    }

    /// Schoolbook multiplication of two variables, for comparison: one constraint a product.
    pub(crate) fn schoolbook_constraints() -> usize {
        let mut rng = Rng::new(6);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let (x, y) = (rng.ext(), rng.ext());
        let (a, b) = (witness(&cs, x), witness(&cs, y));
        let before = cs.num_constraints();
        let product = a.mul_schoolbook(&b).unwrap();
        assert_eq!(product.value().unwrap(), x * y);
        cs.num_constraints() - before
    }

    #[test]
    fn unreduced_multiplication_costs_7() {
        assert_eq!(mul_constraints(), 7);
    }
}
