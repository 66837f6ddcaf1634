//! BabyBear arithmetic in R1CS over the BN254 scalar field, with lazy reduction.
//!
//! A [`BabyBearVar`] is one BN254 variable holding a non-negative integer whose value modulo
//! `p = 2^31 - 2^27 + 1` is the BabyBear element, together with a bound known at synthesis time
//! (`0 <= value <= bound`). Additions and multiplications grow the bound instead of reducing;
//! a subtraction adds the smallest multiple of `p` that keeps the result non-negative. Before a
//! bound would reach [`BOUND_BITS`] bits the operands are reduced, so the integer never wraps
//! around the BN254 modulus (about 2^253.6) and congruences modulo `p` stay exact.
//!
//! [`BabyBearVar::reduce`] witnesses a quotient and a remainder, checks the remainder below `p`
//! (31 bits, then: if its four top bits are all one, its 27 low bits are zero) and the quotient
//! by its bit length, and enforces `value = q * p + r`; [`BabyBearVar::mul_reduced`] folds the
//! product into that equation (67 constraints for canonical operands), and
//! [`BabyBearVar::reduce_weak`] only bounds the remainder below `2^31` (4 fewer: what the
//! automatic reductions use, since only the bound matters there). Zero and equality checks
//! need no remainder: `value = q * p` with `q` range-checked.

use ark_bn254::Fr;
use ark_ff::{AdditiveGroup, BigInteger, PrimeField as ArkPrimeField};
use ark_r1cs_std::GR1CSVar;
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::FieldVar;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::select::CondSelectGadget;
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};
use num_bigint::BigUint;
use p3_baby_bear::BabyBear;
use p3_field::{PrimeCharacteristicRing, PrimeField32};

/// The BabyBear modulus.
pub const P: u32 = 0x7800_0001;

/// Bounds stay below `2^BOUND_BITS`: far enough below the BN254 modulus that `q * p + r` for
/// any quotient of a reduction cannot wrap.
pub const BOUND_BITS: u64 = 250;

/// A BabyBear element held lazily: see the module documentation.
#[derive(Clone, Debug)]
pub struct BabyBearVar {
    value: FpVar<Fr>,
    bound: BigUint,
    /// A witness range-checked to 31 bits only, for a Merkle opening to bind (see
    /// [`BabyBearVar::new_opened_witness`]); any arithmetic drops it.
    opened: bool,
}

pub(crate) fn fr_to_biguint(value: Fr) -> BigUint {
    BigUint::from_bytes_le(&value.into_bigint().to_bytes_le())
}

pub(crate) fn biguint_to_fr(value: &BigUint) -> Fr {
    Fr::from_le_bytes_mod_order(&value.to_bytes_le())
}

fn limit() -> BigUint {
    BigUint::from(1u8) << BOUND_BITS
}

fn p_big() -> BigUint {
    BigUint::from(P)
}

/// Witnesses `bits` little-endian bits of `value` (`None` without an assignment) and returns
/// them with their sum as a linear combination. Costs one constraint per bit.
pub(crate) fn witness_bits(
    cs: &ConstraintSystemRef<Fr>,
    value: Option<&BigUint>,
    bits: u64,
) -> Result<(Vec<Boolean<Fr>>, FpVar<Fr>), SynthesisError> {
    let mut out = Vec::with_capacity(bits as usize);
    let mut sum = FpVar::<Fr>::zero();
    let mut weight = Fr::from(1u8);
    for index in 0..bits {
        let bit = Boolean::new_witness(cs.clone(), || {
            value
                .map(|value| value.bit(index))
                .ok_or(SynthesisError::AssignmentMissing)
        })?;
        sum += FpVar::from(bit.clone()) * weight;
        weight.double_in_place();
        out.push(bit);
    }
    Ok((out, sum))
}

/// Witnesses a canonical BabyBear value (below `p`) and returns its 31 little-endian bits and
/// its value. Costs 35 constraints: 31 bits, and `top * low = 0` where `top` is the product of
/// bits 27..31 (3 constraints) and `low` the sum of bits 0..27.
pub(crate) fn witness_canonical(
    cs: &ConstraintSystemRef<Fr>,
    value: Option<u32>,
) -> Result<(Vec<Boolean<Fr>>, FpVar<Fr>), SynthesisError> {
    let big = value.map(BigUint::from);
    let (bits, sum) = witness_bits(cs, big.as_ref(), 31)?;
    enforce_bits_below_p(&bits)?;
    Ok((bits, sum))
}

/// Given 31 little-endian bits, enforces that their value is below `p = 2^31 - 2^27 + 1`:
/// a value at least `p` has bits 27..31 all set and some lower bit set.
fn enforce_bits_below_p(bits: &[Boolean<Fr>]) -> Result<(), SynthesisError> {
    debug_assert_eq!(bits.len(), 31);
    let mut top = FpVar::from(bits[27].clone());
    for bit in &bits[28..31] {
        top *= FpVar::from(bit.clone());
    }
    let mut low = FpVar::<Fr>::zero();
    let mut weight = Fr::from(1u8);
    for bit in &bits[..27] {
        low += FpVar::from(bit.clone()) * weight;
        weight.double_in_place();
    }
    top.mul_equals(&low, &FpVar::zero())
}

impl BabyBearVar {
    /// A constant.
    pub fn constant(value: BabyBear) -> Self {
        let value = value.as_canonical_u32();
        Self {
            value: FpVar::Constant(Fr::from(value)),
            bound: BigUint::from(value),
            opened: false,
        }
    }

    /// A witness, checked canonical (35 constraints).
    pub fn new_witness(
        cs: ConstraintSystemRef<Fr>,
        value: impl FnOnce() -> Result<BabyBear, SynthesisError>,
    ) -> Result<Self, SynthesisError> {
        let value = value().ok().map(|value| value.as_canonical_u32());
        let (_, sum) = witness_canonical(&cs, value)?;
        Ok(Self::from_canonical_sum(sum))
    }

    /// A value opened from a Merkle tree: a witness range-checked to 31 bits only (31
    /// constraints, not 35), which [`crate::merkle::hash_leaf`] hashes as it is. The leaf
    /// packing `sum (v_i + 1) 2^(31 i)` is injective on digits `v_i + 1` in `[1, 2^31]`, so a
    /// digit that hashes to the committed (canonical) leaf is the canonical value: the opening
    /// checks what the comparison with `p` would. Use it only for values an opening binds.
    pub fn new_opened_witness(
        cs: ConstraintSystemRef<Fr>,
        value: impl FnOnce() -> Result<BabyBear, SynthesisError>,
    ) -> Result<Self, SynthesisError> {
        Self::opened_from_integer(cs, value().ok().map(|value| value.as_canonical_u32()))
    }

    /// An opened witness holding `integer` (below `2^31`; tests use it to open non-canonical
    /// integers).
    pub(crate) fn opened_from_integer(
        cs: ConstraintSystemRef<Fr>,
        integer: Option<u32>,
    ) -> Result<Self, SynthesisError> {
        let (_, sum) = witness_bits(&cs, integer.map(BigUint::from).as_ref(), 31)?;
        Ok(Self {
            value: sum,
            bound: (BigUint::from(1u8) << 31u8) - 1u8,
            opened: true,
        })
    }

    /// `if bit { b } else { a }` and `if bit { a } else { b }` for two values below `2^31`
    /// (canonical or opened), marked opened: one constraint. Only for a pair a Merkle opening
    /// binds (the leaf hash forces each 31-bit digit to the committed canonical value).
    pub(crate) fn select_pair_opened(
        bit: &Boolean<Fr>,
        a: &Self,
        b: &Self,
    ) -> Result<(Self, Self), SynthesisError> {
        let weak = (BigUint::from(1u8) << 31u8) - 1u8;
        assert!(
            a.bound <= weak && b.bound <= weak,
            "selected values are below 2^31"
        );
        let first = FpVar::conditionally_select(bit, &b.value, &a.value)?;
        let second = &a.value + &b.value - &first;
        let opened = |value| Self {
            value,
            bound: weak.clone(),
            opened: true,
        };
        Ok((opened(first), opened(second)))
    }

    /// Whether this is an opened witness ([`Self::new_opened_witness`]).
    pub(crate) fn is_opened(&self) -> bool {
        self.opened
    }

    /// A variable already known to hold a value below `p`.
    pub(crate) fn from_canonical_sum(value: FpVar<Fr>) -> Self {
        Self {
            value,
            bound: BigUint::from(P - 1),
            opened: false,
        }
    }

    /// A variable and a bound the caller guarantees.
    pub(crate) fn from_parts(value: FpVar<Fr>, bound: BigUint) -> Self {
        Self {
            value,
            bound,
            opened: false,
        }
    }

    /// The underlying BN254 variable: an integer congruent to the element, at most
    /// [`Self::bound`].
    pub fn variable(&self) -> &FpVar<Fr> {
        &self.value
    }

    /// The bound on the integer [`Self::variable`] holds.
    pub fn bound(&self) -> &BigUint {
        &self.bound
    }

    /// Whether the value is known to be canonical (below `p`).
    pub fn is_canonical(&self) -> bool {
        self.bound < p_big()
    }

    /// The element's value, where assigned.
    pub fn value(&self) -> Result<BabyBear, SynthesisError> {
        let integer = fr_to_biguint(self.value.value()?) % p_big();
        Ok(BabyBear::from_u32(
            integer.to_u32_digits().first().copied().unwrap_or(0),
        ))
    }

    fn cs(&self) -> ConstraintSystemRef<Fr> {
        self.value.cs()
    }

    fn integer(&self) -> Option<BigUint> {
        self.value.value().ok().map(fr_to_biguint)
    }

    /// `self + other`, reducing an operand first if the bound would overflow.
    pub fn add(&self, other: &Self) -> Result<Self, SynthesisError> {
        if &self.bound + &other.bound >= limit() {
            return self.reduce_larger(other, |a, b| a.add(b));
        }
        Ok(Self {
            value: &self.value + &other.value,
            bound: &self.bound + &other.bound,
            opened: false,
        })
    }

    /// `self - other`: adds the smallest multiple of `p` at least `other`'s bound.
    pub fn sub(&self, other: &Self) -> Result<Self, SynthesisError> {
        let multiple = (&other.bound + P - 1u8) / p_big() * p_big();
        if &self.bound + &multiple >= limit() {
            return self.reduce_larger(other, |a, b| a.sub(b));
        }
        Ok(Self {
            value: &self.value - &other.value + biguint_to_fr(&multiple),
            bound: &self.bound + &multiple,
            opened: false,
        })
    }

    /// `-self`.
    pub fn neg(&self) -> Result<Self, SynthesisError> {
        Self::constant(BabyBear::ZERO).sub(self)
    }

    /// `self * other`, unreduced: one constraint (none if either is a constant).
    pub fn mul(&self, other: &Self) -> Result<Self, SynthesisError> {
        if &self.bound * &other.bound >= limit() {
            return self.reduce_larger(other, |a, b| a.mul(b));
        }
        Ok(Self {
            value: &self.value * &other.value,
            bound: &self.bound * &other.bound,
            opened: false,
        })
    }

    /// `self * other` for a constant: no constraint.
    pub fn mul_constant(&self, other: BabyBear) -> Result<Self, SynthesisError> {
        self.mul(&Self::constant(other))
    }

    /// `self * other`, reduced: the product and the reduction share one constraint,
    /// `self * other = q * p + r` (67 for canonical operands).
    pub fn mul_reduced(&self, other: &Self) -> Result<Self, SynthesisError> {
        let bound = &self.bound * &other.bound;
        let both_variables =
            !matches!(self.value, FpVar::Constant(_)) && !matches!(other.value, FpVar::Constant(_));
        if bound >= limit() || bound < p_big() || !both_variables {
            return self.mul(other)?.reduce();
        }
        let cs = self.cs().or(other.cs());
        let product = self.integer().zip(other.integer()).map(|(a, b)| a * b);
        let (q, r) = Self::witness_reduction(&cs, product.as_ref(), &bound, true)?;
        self.value
            .mul_equals(&other.value, &(q * Fr::from(P) + &r))?;
        Ok(Self::from_canonical_sum(r))
    }

    /// Witnesses `q = value / p` (bits of `bound / p`) and `r = value mod p`, canonical or
    /// only below `2^31`.
    fn witness_reduction(
        cs: &ConstraintSystemRef<Fr>,
        value: Option<&BigUint>,
        bound: &BigUint,
        canonical: bool,
    ) -> Result<(FpVar<Fr>, FpVar<Fr>), SynthesisError> {
        let p = p_big();
        let quotient = value.map(|value| value / &p);
        let remainder = value.map(|value| value % &p);
        let (_, q) = witness_bits(cs, quotient.as_ref(), (bound / &p).bits())?;
        let r = if canonical {
            let remainder = remainder.map(|r| r.to_u32_digits().first().copied().unwrap_or(0));
            witness_canonical(cs, remainder)?.1
        } else {
            witness_bits(cs, remainder.as_ref(), 31)?.1
        };
        Ok((q, r))
    }

    /// Reduces whichever operand has the larger bound and retries `op`.
    fn reduce_larger(
        &self,
        other: &Self,
        op: impl Fn(&Self, &Self) -> Result<Self, SynthesisError>,
    ) -> Result<Self, SynthesisError> {
        let weak = BigUint::from(1u8) << 31u8;
        if self.bound >= other.bound && self.bound >= weak {
            op(&self.reduce_weak()?, other)
        } else if other.bound >= weak {
            op(self, &other.reduce_weak()?)
        } else {
            unreachable!("canonical operands never overflow the bound")
        }
    }

    /// The canonical representative: `value = q * p + r`, `r < p` (35 constraints), `q` below
    /// `2^bits(bound / p)` (one per bit), one constraint for the equation. A value already
    /// known canonical costs nothing.
    pub fn reduce(&self) -> Result<Self, SynthesisError> {
        self.reduce_to(true)
    }

    /// A representative below `2^31`, not necessarily canonical: as [`Self::reduce`] less the
    /// 4 constraints of the comparison with `p`. Enough to keep bounds small; the automatic
    /// reductions use it.
    pub fn reduce_weak(&self) -> Result<Self, SynthesisError> {
        self.reduce_to(false)
    }

    fn reduce_to(&self, canonical: bool) -> Result<Self, SynthesisError> {
        let weak_bound = (BigUint::from(1u8) << 31u8) - 1u8;
        if self.is_canonical() || (!canonical && self.bound <= weak_bound) {
            return Ok(self.clone());
        }
        if let FpVar::Constant(value) = &self.value {
            let integer = fr_to_biguint(*value) % p_big();
            return Ok(Self {
                value: FpVar::Constant(biguint_to_fr(&integer)),
                bound: integer,
                opened: false,
            });
        }
        let cs = self.cs();
        let (q, r) = Self::witness_reduction(&cs, self.integer().as_ref(), &self.bound, canonical)?;
        self.value.enforce_equal(&(q * Fr::from(P) + &r))?;
        Ok(if canonical {
            Self::from_canonical_sum(r)
        } else {
            Self {
                value: r,
                bound: weak_bound,
                opened: false,
            }
        })
    }

    /// Enforces `self = 0` in BabyBear: `value = q * p` with `q` range-checked. A nonzero
    /// constant is [`SynthesisError::Unsatisfiable`].
    pub fn enforce_zero(&self) -> Result<(), SynthesisError> {
        if let FpVar::Constant(value) = &self.value {
            return if (fr_to_biguint(*value) % p_big()) == BigUint::ZERO {
                Ok(())
            } else {
                // Constants that differ: no assignment can satisfy this.
                Err(SynthesisError::Unsatisfiable)
            };
        }
        if self.is_canonical() {
            return self.value.enforce_equal(&FpVar::zero());
        }
        let cs = self.cs();
        let p = p_big();
        let quotient = self.integer().map(|value| value / &p);
        let (_, q) = witness_bits(&cs, quotient.as_ref(), (&self.bound / &p).bits())?;
        self.value.enforce_equal(&(q * Fr::from(P)))
    }

    /// Enforces `self = other` in BabyBear.
    pub fn enforce_equal(&self, other: &Self) -> Result<(), SynthesisError> {
        self.sub(other)?.enforce_zero()
    }

    /// Whether `self = other` in BabyBear, as a boolean (both reduced first).
    pub fn is_equal(&self, other: &Self) -> Result<Boolean<Fr>, SynthesisError> {
        self.reduce()?.value.is_eq(&other.reduce()?.value)
    }
}

#[cfg(test)]
mod tests {
    use ark_relations::gr1cs::ConstraintSystem;

    use super::*;
    use crate::test_util::Rng;

    fn witness(cs: &ConstraintSystemRef<Fr>, value: BabyBear) -> BabyBearVar {
        BabyBearVar::new_witness(cs.clone(), || Ok(value)).unwrap()
    }

    #[test]
    fn arithmetic_matches_native_through_long_lazy_chains() {
        let mut rng = Rng::new(1);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let natives: Vec<BabyBear> = (0..8).map(|_| rng.babybear()).collect();
        let vars: Vec<BabyBearVar> = natives.iter().map(|&v| witness(&cs, v)).collect();
        let (mut native, mut var) = (natives[0], vars[0].clone());
        // A long chain without explicit reductions: bounds grow until automatic reduction.
        for step in 0..200 {
            let index = rng.below(8) as usize;
            match rng.below(4) {
                0 => {
                    native += natives[index];
                    var = var.add(&vars[index]).unwrap();
                }
                1 => {
                    native -= natives[index];
                    var = var.sub(&vars[index]).unwrap();
                }
                2 if step % 3 == 0 => {
                    native *= natives[index];
                    var = var.mul_reduced(&vars[index]).unwrap();
                    assert!(var.is_canonical());
                }
                2 => {
                    native *= natives[index];
                    var = var.mul(&vars[index]).unwrap();
                }
                _ => {
                    let constant = rng.babybear();
                    native = native * constant - natives[index];
                    var = var
                        .mul_constant(constant)
                        .unwrap()
                        .sub(&vars[index])
                        .unwrap();
                }
            }
            assert!(var.bound().bits() <= BOUND_BITS, "step {step}");
            assert_eq!(var.value().unwrap(), native, "step {step}");
        }
        let reduced = var.reduce().unwrap();
        assert!(reduced.is_canonical());
        assert_eq!(reduced.value().unwrap(), native);
        reduced
            .enforce_equal(&BabyBearVar::constant(native))
            .unwrap();
        var.enforce_equal(&BabyBearVar::constant(native)).unwrap();
        assert!(cs.is_satisfied().unwrap());
        // The integer the reduced variable holds is the canonical value itself.
        assert_eq!(
            reduced.variable().value().unwrap(),
            Fr::from(native.as_canonical_u32())
        );
    }

    #[test]
    fn wrong_equalities_are_unsatisfied() {
        let mut rng = Rng::new(2);
        for _ in 0..4 {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let (a, b) = (rng.babybear(), rng.babybear());
            let product = witness(&cs, a).mul(&witness(&cs, b)).unwrap();
            product
                .enforce_equal(&witness(&cs, a * b + BabyBear::ONE))
                .unwrap();
            assert!(!cs.is_satisfied().unwrap());

            let cs = ConstraintSystem::<Fr>::new_ref();
            let product = witness(&cs, a).mul(&witness(&cs, b)).unwrap();
            product.enforce_equal(&witness(&cs, a * b)).unwrap();
            product
                .sub(&witness(&cs, a * b))
                .unwrap()
                .enforce_zero()
                .unwrap();
            assert!(cs.is_satisfied().unwrap());
        }
    }

    /// A dishonest reduction: the prover claims `r' = r + p` (not canonical) or a remainder off
    /// by one with a quotient that compensates in the integers; both must fail.
    #[test]
    fn non_canonical_witnesses_are_rejected() {
        // `p` itself and `2^31 - 1` are not canonical; `p - 1` is.
        for (value, ok) in [(P - 1, true), (P, false), (u32::MAX >> 1, false), (0, true)] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let _ = witness_canonical(&cs, Some(value)).unwrap();
            assert_eq!(cs.is_satisfied().unwrap(), ok, "{value}");
        }
        // A forged reduction: value = q * p + r with r = real remainder + p and q - 1.
        let cs = ConstraintSystem::<Fr>::new_ref();
        let a = witness(&cs, BabyBear::from_u32(P - 1));
        let square = a.mul(&a).unwrap();
        let integer = BigUint::from(P - 1) * BigUint::from(P - 1);
        let p = p_big();
        let forged_q = &integer / &p - 1u8;
        let (_, q) = witness_bits(&cs, Some(&forged_q), 31).unwrap();
        let forged_r: u32 = (&integer % &p + &p).try_into().unwrap();
        let (_, r) = witness_canonical(&cs, Some(forged_r)).unwrap();
        square
            .variable()
            .enforce_equal(&(q * Fr::from(P) + r))
            .unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }

    /// A weak reduction is congruent and below `2^31`; a remainder off by one is not accepted
    /// by the fused product check either.
    #[test]
    fn weak_reduction_and_fused_products() {
        let mut rng = Rng::new(9);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let (a, b) = (rng.babybear(), rng.babybear());
        let (x, y) = (witness(&cs, a), witness(&cs, b));
        let weak = x.mul(&y).unwrap().mul(&x).unwrap().reduce_weak().unwrap();
        assert!(weak.bound().bits() <= 31);
        assert_eq!(weak.value().unwrap(), a * b * a);
        weak.enforce_equal(&BabyBearVar::constant(a * b * a))
            .unwrap();
        let fused = x.mul_reduced(&y).unwrap();
        assert!(fused.is_canonical());
        assert_eq!(
            fused.variable().value().unwrap(),
            Fr::from((a * b).as_canonical_u32())
        );
        assert!(cs.is_satisfied().unwrap());
        // The fused equation against an incongruent remainder.
        let cs = ConstraintSystem::<Fr>::new_ref();
        let (x, y) = (witness(&cs, a), witness(&cs, b));
        let product = BigUint::from(a.as_canonical_u32()) * BigUint::from(b.as_canonical_u32());
        let (q, _) = BabyBearVar::witness_reduction(&cs, Some(&product), &product, true).unwrap();
        let wrong = (a * b + BabyBear::ONE).as_canonical_u32();
        let (_, r) = witness_canonical(&cs, Some(wrong)).unwrap();
        x.variable()
            .mul_equals(y.variable(), &(q * Fr::from(P) + r))
            .unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }

    /// The cost of a reduced multiplication of canonical values.
    pub(crate) fn reduced_mul_constraints() -> usize {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let a = witness(&cs, BabyBear::from_u32(5));
        let b = witness(&cs, BabyBear::from_u32(6));
        let before = cs.num_constraints();
        a.mul_reduced(&b).unwrap();
        cs.num_constraints() - before
    }

    #[test]
    fn reduced_multiplication_costs_at_most_67() {
        assert!(reduced_mul_constraints() <= 67);
    }
}
