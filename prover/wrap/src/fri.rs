//! One arity-2 FRI fold of a query, as p3-fri 0.9.0-rc.2's verifier performs it with
//! `TwoAdicFriFolding` (`verifier.rs` and `two_adic_pcs.rs`, `fold_row` with `log_arity = 1`).
//!
//! At a round whose codeword has `2^n` rows, the query's index `i` (bits `b_0 b_1 ...`) holds the
//! current folded value; its sibling is at `i ^ 1`. The pair `(lo, hi)` is ordered by `b_0`
//! (`b_0 = 0`: the folded value is `lo`), the parent index is `i >> 1`, and
//!
//! ```text
//! fold = (lo + hi) / 2 + (lo - hi) * beta / (2 s),   s = g^rev(i >> 1, n - 1),
//! ```
//!
//! with `g` the two-adic generator of order `2^n` and `rev` the bit reversal over `n - 1`
//! bits. The scale `1 / (2 s)` is a product over the parent index's bits of constants each bit
//! selects ([`fold_scale`]); from one round to the next it is carried ([`next_fold_scale`]).

use ark_bn254::Fr;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::fields::FieldVar;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::SynthesisError;
use num_bigint::BigUint;
use p3_baby_bear::BabyBear;
use p3_field::{Field, PrimeCharacteristicRing, PrimeField32, TwoAdicField};

use crate::babybear::BabyBearVar;
use crate::extension::ExtVar;

/// The round's scale `1 / (2 s)` for `s = g^rev(parent, n)`, `g` of order `2^(n + 1)`, where
/// `parent_bits` are the parent index's `n` little-endian bits: a product of constants each bit
/// selects, about 32 constraints a bit (the quotient bits of its reduction dominate).
pub fn fold_scale(parent_bits: &[Boolean<Fr>]) -> Result<BabyBearVar, SynthesisError> {
    let n = parent_bits.len();
    let generator = BabyBear::two_adic_generator(n + 1);
    // Bit j of the parent weighs 2^(n - 1 - j) once reversed.
    selected_product(BabyBear::TWO.inverse(), parent_bits, |j| {
        generator.exp_power_of_2(n - 1 - j).inverse()
    })
}

/// `start * prod_j factor(j)^(bit_j)`, reduced: one selection and one lazy product a bit.
pub(crate) fn selected_product(
    start: BabyBear,
    bits: &[Boolean<Fr>],
    factor: impl Fn(usize) -> BabyBear,
) -> Result<BabyBearVar, SynthesisError> {
    let mut product = BabyBearVar::constant(start);
    for (j, bit) in bits.iter().enumerate() {
        let factor = factor(j);
        let delta = factor - BabyBear::ONE;
        let selected =
            FpVar::<Fr>::one() + FpVar::from(bit.clone()) * Fr::from(delta.as_canonical_u32());
        // 1 + bit * (factor - 1): at most `factor` (or 1).
        let bound = BigUint::from(factor.as_canonical_u32().max(1));
        product = product.mul(&BabyBearVar::from_parts(selected, bound))?;
    }
    product.reduce()
}

/// The next round's scale from this round's: the next generator is `g^2`, and
/// `s' = (-1)^b * s^2` where `b` is the parent index's lowest bit (bit 1 of this round's
/// index), so `1 / (2 s') = (-1)^b * 2 * (1 / (2 s))^2`. A query pays [`fold_scale`] once and
/// this each round after.
pub fn next_fold_scale(
    scale: &BabyBearVar,
    parent_low_bit: &Boolean<Fr>,
) -> Result<BabyBearVar, SynthesisError> {
    let doubled_square = scale.mul(scale)?.mul_constant(BabyBear::TWO)?;
    signed(&doubled_square, parent_low_bit)?.reduce()
}

/// `value * (1 - 2 bit)`: one constraint.
fn signed(value: &BabyBearVar, bit: &Boolean<Fr>) -> Result<BabyBearVar, SynthesisError> {
    let bit = BabyBearVar::from_parts(FpVar::from(bit.clone()), BigUint::from(1u8));
    let negated = value.neg()?;
    value.add(&negated.sub(value)?.mul(&bit)?)
}

/// One arity-2 fold given the round's scale `1 / (2 s)`: `folded` is the query's value at
/// its index, `sibling` the opened value at `index ^ 1`, `first_bit` the index's lowest bit.
/// `(lo + hi) / 2 = (folded + sibling) / 2` and `lo - hi = (folded - sibling) * (1 - 2 b)`, so
/// no selection of the pair is needed: 12 constraints, unreduced.
pub fn fold_pair(
    folded: &ExtVar,
    sibling: &ExtVar,
    first_bit: &Boolean<Fr>,
    beta: &ExtVar,
    scale: &BabyBearVar,
) -> Result<ExtVar, SynthesisError> {
    let half = BabyBear::TWO.inverse();
    let sum = folded.add(sibling)?;
    let mean = ExtVar::from_limbs(
        sum.limbs()
            .iter()
            .map(|limb| limb.mul_constant(half))
            .collect::<Result<Vec<_>, _>>()?
            .try_into()
            .expect("four limbs"),
    );
    let slope = folded
        .sub(sibling)?
        .mul(beta)?
        .mul_base(&signed(scale, first_bit)?)?;
    mean.add(&slope)
}

/// One fold of a query, computing the scale from the index bits (see [`fold_pair`] and
/// [`next_fold_scale`] to carry it from round to round): `index_bits` are the current index's
/// bits (least significant first, one per level of the current codeword), `folded` the query's
/// value there and `sibling` the opened value at `index ^ 1`. Returns the value at the parent
/// index, unreduced.
pub fn fold_step(
    index_bits: &[Boolean<Fr>],
    beta: &ExtVar,
    folded: &ExtVar,
    sibling: &ExtVar,
) -> Result<ExtVar, SynthesisError> {
    let (first, parent) = index_bits.split_first().expect("at least one index bit");
    fold_pair(folded, sibling, first, beta, &fold_scale(parent)?)
}

#[cfg(test)]
pub(crate) mod tests {
    use ark_r1cs_std::alloc::AllocVar;
    use ark_relations::gr1cs::{ConstraintSystem, ConstraintSystemRef};
    use p3_fri::{FriFoldingStrategy, TwoAdicFriFolding};

    use super::*;
    use crate::extension::Ext;
    use crate::test_util::Rng;

    fn native_fold(index: usize, log_height: usize, beta: Ext, evals: [Ext; 2]) -> Ext {
        let folding = TwoAdicFriFolding::<(), ()>(std::marker::PhantomData);
        FriFoldingStrategy::<BabyBear, Ext>::fold_row(
            &folding,
            index,
            log_height,
            1,
            beta,
            evals.into_iter(),
        )
    }

    fn circuit(
        index: usize,
        log_height: usize,
        beta: Ext,
        folded: Ext,
        sibling: Ext,
    ) -> (ConstraintSystemRef<Fr>, ExtVar) {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let bits: Vec<Boolean<Fr>> = (0..log_height)
            .map(|i| Boolean::new_witness(cs.clone(), || Ok(index >> i & 1 == 1)).unwrap())
            .collect();
        let witness = |value: Ext| ExtVar::new_witness(cs.clone(), || Ok(value)).unwrap();
        let out = fold_step(&bits, &witness(beta), &witness(folded), &witness(sibling)).unwrap();
        (cs, out)
    }

    #[test]
    fn fold_matches_native() {
        let mut rng = Rng::new(21);
        for log_height in [1usize, 2, 5, 12, 20] {
            for _ in 0..4 {
                let index = rng.below(1 << log_height) as usize;
                let (beta, folded, sibling) = (rng.ext(), rng.ext(), rng.ext());
                let mut evals = [folded, sibling];
                if index & 1 == 1 {
                    evals.swap(0, 1);
                }
                let expected = native_fold(index >> 1, log_height - 1, beta, evals);
                let (cs, out) = circuit(index, log_height, beta, folded, sibling);
                assert_eq!(out.value().unwrap(), expected, "{log_height} {index}");
                out.enforce_equal(&ExtVar::constant(expected)).unwrap();
                assert!(cs.is_satisfied().unwrap());
                // A wrong claimed fold, a swapped pair or a wrong index bit fail.
                let (cs, out) = circuit(index, log_height, beta, folded, sibling);
                out.enforce_equal(&ExtVar::constant(expected + Ext::ONE))
                    .unwrap();
                assert!(!cs.is_satisfied().unwrap());
                let (cs, out) = circuit(index, log_height, beta, sibling, folded);
                out.enforce_equal(&ExtVar::constant(expected)).unwrap();
                assert!(!cs.is_satisfied().unwrap());
                if log_height > 1 {
                    let flipped = index ^ (1 << (rng.below(log_height as u64 - 1) + 1));
                    let (cs, out) = circuit(flipped, log_height, beta, folded, sibling);
                    out.enforce_equal(&ExtVar::constant(expected)).unwrap();
                    assert!(!cs.is_satisfied().unwrap());
                }
            }
        }
    }

    /// A query folded from `2^log_height` rows down to 4, carrying `1 / s` between rounds,
    /// against the native folds; a wrong sibling at any round changes the result.
    #[test]
    fn fold_chain_matches_native() {
        let mut rng = Rng::new(22);
        let log_height = 12;
        let index = rng.below(1 << log_height) as usize;
        let rounds = log_height - 2;
        let betas: Vec<Ext> = (0..rounds).map(|_| rng.ext()).collect();
        let siblings: Vec<Ext> = (0..rounds).map(|_| rng.ext()).collect();
        let start = rng.ext();
        let mut expected = start;
        let mut native_index = index;
        let mut log_current = log_height;
        for round in 0..rounds {
            let mut evals = [expected, siblings[round]];
            if native_index & 1 == 1 {
                evals.swap(0, 1);
            }
            native_index >>= 1;
            expected = native_fold(native_index, log_current - 1, betas[round], evals);
            log_current -= 1;
        }
        for tampered_round in [None, Some(0), Some(rounds - 1)] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let bits: Vec<Boolean<Fr>> = (0..log_height)
                .map(|i| Boolean::new_witness(cs.clone(), || Ok(index >> i & 1 == 1)).unwrap())
                .collect();
            let witness = |value: Ext| ExtVar::new_witness(cs.clone(), || Ok(value)).unwrap();
            let mut folded = witness(start);
            let beta_vars: Vec<ExtVar> = betas.iter().map(|&beta| witness(beta)).collect();
            let sibling_vars: Vec<ExtVar> = (0..rounds)
                .map(|round| {
                    let extra = if tampered_round == Some(round) {
                        Ext::ONE
                    } else {
                        Ext::ZERO
                    };
                    witness(siblings[round] + extra)
                })
                .collect();
            let mut scale = fold_scale(&bits[1..]).unwrap();
            let before = cs.num_constraints();
            for round in 0..rounds {
                // Reduced each round, as hashing the next round's row needs it.
                folded = fold_pair(
                    &folded,
                    &sibling_vars[round],
                    &bits[round],
                    &beta_vars[round],
                    &scale,
                )
                .unwrap()
                .reduce()
                .unwrap();
                if round + 1 < rounds {
                    scale = next_fold_scale(&scale, &bits[round + 1]).unwrap();
                }
            }
            let per_round = (cs.num_constraints() - before) / rounds;
            assert!(per_round < 520, "{per_round}");
            if tampered_round.is_none() {
                println!("FRI fold round, scale carried, result reduced: {per_round} constraints");
            }
            if tampered_round.is_none() {
                assert_eq!(folded.value().unwrap(), expected);
            }
            folded.enforce_equal(&ExtVar::constant(expected)).unwrap();
            assert_eq!(cs.is_satisfied().unwrap(), tampered_round.is_none());
        }
    }

    /// One round of a query's folding as the verifier will run it: the fold given the
    /// carried scale, the result reduced, the next scale.
    pub(crate) fn fold_round_constraints() -> usize {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let bits: Vec<Boolean<Fr>> = (0..2)
            .map(|_| Boolean::new_witness(cs.clone(), || Ok(true)).unwrap())
            .collect();
        let witness = || ExtVar::new_witness(cs.clone(), || Ok(Ext::ONE)).unwrap();
        let (beta, folded, sibling) = (witness(), witness(), witness());
        let scale = BabyBearVar::new_witness(cs.clone(), || Ok(BabyBear::ONE)).unwrap();
        let start = cs.num_constraints();
        fold_pair(&folded, &sibling, &bits[0], &beta, &scale)
            .unwrap()
            .reduce()
            .unwrap();
        next_fold_scale(&scale, &bits[1]).unwrap();
        cs.num_constraints() - start
    }

    pub(crate) fn fold_constraints(log_height: usize) -> usize {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let bits: Vec<Boolean<Fr>> = (0..log_height)
            .map(|_| Boolean::new_witness(cs.clone(), || Ok(true)).unwrap())
            .collect();
        let witness = || ExtVar::new_witness(cs.clone(), || Ok(Ext::ONE)).unwrap();
        let (beta, folded, sibling) = (witness(), witness(), witness());
        let start = cs.num_constraints();
        fold_step(&bits, &beta, &folded, &sibling).unwrap();
        cs.num_constraints() - start
    }

    #[test]
    fn fold_cost_is_bounded() {
        assert!(fold_constraints(20) <= 750, "{}", fold_constraints(20));
    }
}
