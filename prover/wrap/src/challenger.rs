//! The Fiat-Shamir transcript of the outer configuration in R1CS: a step-by-step mirror of
//! Plonky3's `MultiField32Challenger<BabyBear, Bn254, Poseidon2, 3, 2>` (p3-challenger
//! 0.9.0-rc.2, `multi_field_challenger.rs` over `duplex_challenger.rs`).
//!
//! - Observed BabyBear values queue up; 16 of them (2 rate cells of 8, `reduce_packed` with
//!   radix `2^31`, little-endian) or any pending ones before a digest or a sample are absorbed
//!   by `absorb_rate_padded_with_tag`: the rate cells are overwritten (zero-padded), the count
//!   of values is added to the first capacity cell, and the state is permuted.
//! - A digest (one BN254 element; a cap is its roots one by one) is absorbed the same way with
//!   the tag 1, after the pending values.
//! - Sampling splits a rate cell into 7 base-`p` limbs (`split_pf_to_field_order_limbs`),
//!   popped from the last limb of the last cell; an exhausted queue permutes the state again.
//!
//! Splitting a cell is where soundness needs care: the limbs `c_0..c_6` are checked canonical,
//! the remaining high part `h` is range-checked against `floor((r - 1) / p^7)`, and when `h`
//! equals that maximum the low part is checked against the rest of `r - 1`, so the decomposition
//! is the unique one of the integer below the BN254 modulus `r`. A cell is split only when a
//! sample needs it.

use ark_bn254::Fr;
use ark_ff::PrimeField;
use ark_r1cs_std::GR1CSVar;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::FieldVar;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};
use num_bigint::BigUint;

use crate::babybear::{
    BabyBearVar, P, biguint_to_fr, fr_to_biguint, witness_bits, witness_canonical,
};
use crate::extension::ExtVar;
use crate::poseidon2::{WIDTH, permute};

/// BN254 elements absorbed and squeezed per permutation.
const RATE: usize = 2;
/// BabyBear values packed into one absorbed BN254 element.
const ABSORB_LIMBS: usize = 8;
/// Radix of the absorb packing.
const RADIX_BITS: u32 = 31;
/// BabyBear limbs drawn from one squeezed BN254 element.
const SQUEEZE_LIMBS: usize = 7;

/// A sampled BabyBear value with its 31 little-endian bits.
#[derive(Clone, Debug)]
struct Limb {
    value: BabyBearVar,
    bits: Vec<Boolean<Fr>>,
}

/// The transcript: see the module documentation.
#[derive(Clone, Debug)]
pub struct ChallengerVar {
    sponge_state: [FpVar<Fr>; WIDTH],
    /// Observed values not yet absorbed (canonical).
    f_buffer: Vec<BabyBearVar>,
    /// The inner duplex challenger's output buffer.
    output_buffer: Vec<FpVar<Fr>>,
    /// Squeezed cells not yet split; with `squeeze_limbs` after them, the native
    /// `f_squeeze_buffer`.
    squeeze_cells: Vec<FpVar<Fr>>,
    squeeze_limbs: Vec<Limb>,
}

impl Default for ChallengerVar {
    fn default() -> Self {
        Self::new()
    }
}

impl ChallengerVar {
    /// The transcript at its start (an all-zero state).
    pub fn new() -> Self {
        Self {
            sponge_state: std::array::from_fn(|_| FpVar::zero()),
            f_buffer: Vec::new(),
            output_buffer: Vec::new(),
            squeeze_cells: Vec::new(),
            squeeze_limbs: Vec::new(),
        }
    }

    fn clear_squeeze(&mut self) {
        self.squeeze_cells.clear();
        self.squeeze_limbs.clear();
    }

    fn absorb_rate_padded_with_tag(
        &mut self,
        values: &[FpVar<Fr>],
        tag: u8,
    ) -> Result<(), SynthesisError> {
        assert!(values.len() <= RATE);
        self.output_buffer.clear();
        for (i, cell) in self.sponge_state.iter_mut().take(RATE).enumerate() {
            *cell = values.get(i).cloned().unwrap_or_else(FpVar::zero);
        }
        self.sponge_state[RATE] += Fr::from(tag);
        self.sponge_state = permute(&self.sponge_state)?;
        self.output_buffer = self.sponge_state[..RATE].to_vec();
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SynthesisError> {
        if self.f_buffer.is_empty() {
            return Ok(());
        }
        let count = self.f_buffer.len();
        let radix = Fr::from(1u64 << RADIX_BITS);
        let packed: Vec<FpVar<Fr>> = self
            .f_buffer
            .chunks(ABSORB_LIMBS)
            .map(|chunk| {
                let mut sum = FpVar::zero();
                for value in chunk.iter().rev() {
                    sum = sum * radix + value.variable();
                }
                sum
            })
            .collect();
        self.absorb_rate_padded_with_tag(&packed, count as u8)?;
        self.f_buffer.clear();
        self.clear_squeeze();
        Ok(())
    }

    /// Observes a BabyBear value (reduced first if it is not canonical).
    pub fn observe(&mut self, value: &BabyBearVar) -> Result<(), SynthesisError> {
        self.output_buffer.clear();
        self.clear_squeeze();
        self.f_buffer.push(value.reduce()?);
        if self.f_buffer.len() == ABSORB_LIMBS * RATE {
            self.flush()?;
        }
        Ok(())
    }

    /// Observes the coefficients of an extension element, lowest first.
    pub fn observe_ext(&mut self, value: &ExtVar) -> Result<(), SynthesisError> {
        for limb in value.limbs() {
            self.observe(limb)?;
        }
        Ok(())
    }

    /// Observes a digest of one BN254 element (`Hash<BabyBear, Bn254, 1>`).
    pub fn observe_digest(&mut self, digest: &FpVar<Fr>) -> Result<(), SynthesisError> {
        self.output_buffer.clear();
        self.clear_squeeze();
        self.flush()?;
        self.absorb_rate_padded_with_tag(std::slice::from_ref(digest), 1)?;
        self.clear_squeeze();
        Ok(())
    }

    /// Observes a Merkle cap: its roots one by one, as digests.
    pub fn observe_cap(&mut self, cap: &[FpVar<Fr>]) -> Result<(), SynthesisError> {
        for root in cap {
            self.observe_digest(root)?;
        }
        Ok(())
    }

    fn sample_limb(&mut self) -> Result<Limb, SynthesisError> {
        self.flush()?;
        if self.squeeze_limbs.is_empty() && self.squeeze_cells.is_empty() {
            if self.output_buffer.is_empty() {
                self.sponge_state = permute(&self.sponge_state)?;
                self.output_buffer = self.sponge_state[..RATE].to_vec();
            }
            self.squeeze_cells = std::mem::take(&mut self.output_buffer);
        }
        if self.squeeze_limbs.is_empty() {
            let cell = self.squeeze_cells.pop().expect("a squeezed cell is left");
            self.squeeze_limbs = split_cell(&cell, None)?;
        }
        Ok(self.squeeze_limbs.pop().expect("a limb is left"))
    }

    /// Samples a BabyBear value (canonical).
    pub fn sample(&mut self) -> Result<BabyBearVar, SynthesisError> {
        Ok(self.sample_limb()?.value)
    }

    /// Samples an extension element, lowest coefficient first.
    pub fn sample_ext(&mut self) -> Result<ExtVar, SynthesisError> {
        let mut limbs = Vec::with_capacity(4);
        for _ in 0..4 {
            limbs.push(self.sample()?);
        }
        Ok(ExtVar::from_limbs(limbs.try_into().expect("four limbs")))
    }

    /// Samples `bits` bits: the low bits of a sampled value, least significant first.
    pub fn sample_bits(&mut self, bits: usize) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
        assert!(
            bits < 31,
            "requested bit count must fit within the field order"
        );
        Ok(self.sample_limb()?.bits[..bits].to_vec())
    }

    /// Checks a proof-of-work witness: observes it, and the next `bits` sampled bits must be
    /// zero. Nothing is observed when `bits` is zero, as natively.
    pub fn check_witness(
        &mut self,
        bits: usize,
        witness: &BabyBearVar,
    ) -> Result<(), SynthesisError> {
        if bits == 0 {
            return Ok(());
        }
        self.observe(witness)?;
        let sampled = self.sample_bits(bits)?;
        // Booleans sum to zero only when each is zero.
        let mut sum = FpVar::<Fr>::zero();
        for bit in &sampled {
            sum += FpVar::from(bit.clone());
        }
        sum.enforce_equal(&FpVar::zero())
    }
}

/// `floor((r - 1) / p^7)` and `(r - 1) mod p^7`, for the BN254 modulus `r`.
fn split_bounds() -> (BigUint, BigUint, BigUint) {
    let modulus: BigUint = Fr::MODULUS.into();
    let base = BigUint::from(P).pow(SQUEEZE_LIMBS as u32);
    let top = &modulus - 1u8;
    (&top / &base, &top % &base, base)
}

/// Splits a squeezed BN254 element into its 7 low base-`p` limbs, checking the whole
/// decomposition is the canonical one. `forge` (tests only) decomposes `value + r` instead:
/// an integer congruent to the value, which must be rejected.
fn split_cell(cell: &FpVar<Fr>, forge: Option<()>) -> Result<Vec<Limb>, SynthesisError> {
    let cs: ConstraintSystemRef<Fr> = cell.cs();
    let (high_max, low_max, base) = split_bounds();
    let p = BigUint::from(P);
    if let FpVar::Constant(value) = cell {
        // A transcript that has seen only constants: split natively.
        let mut integer = fr_to_biguint(*value);
        let mut limbs = Vec::with_capacity(SQUEEZE_LIMBS);
        for _ in 0..SQUEEZE_LIMBS {
            let digit = (&integer % &p)
                .to_u32_digits()
                .first()
                .copied()
                .unwrap_or(0);
            limbs.push(Limb {
                value: BabyBearVar::constant(p3_field::PrimeCharacteristicRing::from_u32(digit)),
                bits: (0..31)
                    .map(|i| Boolean::constant(digit >> i & 1 == 1))
                    .collect(),
            });
            integer /= &p;
        }
        return Ok(limbs);
    }
    let mut integer = cell.value().ok().map(fr_to_biguint);
    if forge.is_some() {
        integer = integer.map(|value| value + BigUint::from(Fr::MODULUS));
    }
    let mut limbs = Vec::with_capacity(SQUEEZE_LIMBS);
    let mut low = FpVar::<Fr>::zero();
    let mut weight = BigUint::from(1u8);
    for _ in 0..SQUEEZE_LIMBS {
        let digit = integer.as_ref().map(|value| {
            (value / &weight % &p)
                .to_u32_digits()
                .first()
                .copied()
                .unwrap_or(0)
        });
        let (bits, sum) = witness_canonical(&cs, digit)?;
        low += &sum * biguint_to_fr(&weight);
        limbs.push(Limb {
            value: BabyBearVar::from_canonical_sum(sum),
            bits,
        });
        weight *= &p;
    }
    // The high part: at most `high_max`.
    let high_value = integer.as_ref().map(|value| value / &base);
    let (_, high) = witness_bits(&cs, high_value.as_ref(), high_max.bits())?;
    if high_max != (BigUint::from(1u8) << high_max.bits()) - 1u8 {
        let slack = high_value.as_ref().map(|value| {
            if value <= &high_max {
                &high_max - value
            } else {
                BigUint::ZERO
            }
        });
        let (_, slack_sum) = witness_bits(&cs, slack.as_ref(), high_max.bits())?;
        slack_sum.enforce_equal(&(FpVar::Constant(biguint_to_fr(&high_max)) - &high))?;
    }
    // At the maximal high part, the low part is at most `low_max`.
    let at_max = high.is_eq(&FpVar::Constant(biguint_to_fr(&high_max)))?;
    let excess = FpVar::from(at_max) * (FpVar::Constant(biguint_to_fr(&low_max)) - &low);
    let excess_value = excess.value().ok().map(fr_to_biguint);
    let (_, excess_sum) = witness_bits(&cs, excess_value.as_ref(), low_max.bits())?;
    excess_sum.enforce_equal(&excess)?;
    cell.enforce_equal(&(low + high * biguint_to_fr(&base)))?;
    Ok(limbs)
}

#[cfg(test)]
pub(crate) mod tests {
    use ark_r1cs_std::alloc::AllocVar;
    use ark_relations::gr1cs::ConstraintSystem;
    use gnomon_machine::config::{Hashing, Outer};
    use p3_baby_bear::BabyBear;
    use p3_bn254::Bn254;
    use p3_challenger::{CanObserve, CanSample, CanSampleBits, GrindingChallenger};
    use p3_field::PrimeCharacteristicRing;
    use p3_symmetric::{Hash, MerkleCap};

    use super::*;
    use crate::extension::Ext;
    use crate::native;
    use crate::test_util::Rng;

    /// Replays a random sequence of operations natively and in the circuit; every sampled value
    /// must agree. Returns the constraint system.
    fn replay(seed: u64, operations: usize) -> ConstraintSystemRef<Fr> {
        let mut rng = Rng::new(seed);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let mut native = Outer::challenger();
        let mut circuit = ChallengerVar::new();
        for step in 0..operations {
            match rng.below(8) {
                0 | 1 => {
                    // A burst of observed values, sometimes crossing the 16-value flush.
                    for _ in 0..rng.below(20) {
                        let value = rng.babybear();
                        native.observe(value);
                        let var = BabyBearVar::new_witness(cs.clone(), || Ok(value)).unwrap();
                        circuit.observe(&var).unwrap();
                    }
                }
                2 => {
                    let digest = rng.bn254();
                    native.observe(Hash::<BabyBear, _, 1>::from([digest]));
                    let var = FpVar::new_witness(cs.clone(), || Ok(native::to_fr(digest))).unwrap();
                    circuit.observe_digest(&var).unwrap();
                }
                7 => {
                    // A Merkle cap of 16 roots, observed root by root.
                    let roots: Vec<[Bn254; 1]> = (0..16).map(|_| [rng.bn254()]).collect();
                    let vars: Vec<FpVar<Fr>> = roots
                        .iter()
                        .map(|root| {
                            FpVar::new_witness(cs.clone(), || Ok(native::to_fr(root[0]))).unwrap()
                        })
                        .collect();
                    native.observe(MerkleCap::<BabyBear, [Bn254; 1]>::new(roots));
                    circuit.observe_cap(&vars).unwrap();
                }
                3 => {
                    let expected: BabyBear = native.sample();
                    let got = circuit.sample().unwrap();
                    assert_eq!(got.value().unwrap(), expected, "step {step}");
                    assert!(got.is_canonical());
                }
                4 => {
                    let expected: Ext = native.sample();
                    let got = circuit.sample_ext().unwrap();
                    assert_eq!(got.value().unwrap(), expected, "step {step}");
                }
                5 => {
                    let bits = 1 + rng.below(27) as usize;
                    let expected = native.sample_bits(bits);
                    let got = circuit.sample_bits(bits).unwrap();
                    let got = got.iter().enumerate().fold(0usize, |acc, (i, bit)| {
                        acc | (usize::from(bit.value().unwrap()) << i)
                    });
                    assert_eq!(got, expected, "step {step}");
                }
                _ => {
                    let bits = 1 + rng.below(6) as usize;
                    let witness = native.grind(bits);
                    let var = BabyBearVar::new_witness(cs.clone(), || Ok(witness)).unwrap();
                    circuit.check_witness(bits, &var).unwrap();
                }
            }
        }
        // The transcripts end in the same state: one more sample agrees.
        let expected: Ext = native.sample();
        assert_eq!(circuit.sample_ext().unwrap().value().unwrap(), expected);
        cs
    }

    #[test]
    fn random_sequences_match_native() {
        for seed in 0..6 {
            let cs = replay(seed, 40);
            assert!(cs.is_satisfied().unwrap(), "seed {seed}");
        }
    }

    /// A transcript that observed a different value, digest or cap root draws different
    /// challenges: constraining them to the honest ones is unsatisfied.
    #[test]
    fn tampered_observations_change_the_challenges() {
        let mut rng = Rng::new(98);
        let values: Vec<BabyBear> = (0..21).map(|_| rng.babybear()).collect();
        let digest = rng.bn254();
        let mut native = Outer::challenger();
        for &value in &values {
            native.observe(value);
        }
        native.observe(Hash::<BabyBear, _, 1>::from([digest]));
        let expected: Ext = native.sample();
        for tamper in 0..3 {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let mut circuit = ChallengerVar::new();
            for (i, &value) in values.iter().enumerate() {
                let value = if tamper == 1 && i == 20 {
                    value + BabyBear::ONE
                } else {
                    value
                };
                let var = BabyBearVar::new_witness(cs.clone(), || Ok(value)).unwrap();
                circuit.observe(&var).unwrap();
            }
            let mut digest = native::to_fr(digest);
            if tamper == 2 {
                digest += Fr::from(1u8);
            }
            let var = FpVar::new_witness(cs.clone(), || Ok(digest)).unwrap();
            circuit.observe_digest(&var).unwrap();
            circuit
                .sample_ext()
                .unwrap()
                .enforce_equal(&ExtVar::constant(expected))
                .unwrap();
            assert_eq!(cs.is_satisfied().unwrap(), tamper == 0, "tamper {tamper}");
        }
    }

    #[test]
    fn wrong_proof_of_work_is_unsatisfied() {
        let mut rng = Rng::new(99);
        for round in 0..4 {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let mut native = Outer::challenger();
            let mut circuit = ChallengerVar::new();
            for _ in 0..rng.below(30) {
                let value = rng.babybear();
                native.observe(value);
                let var = BabyBearVar::new_witness(cs.clone(), || Ok(value)).unwrap();
                circuit.observe(&var).unwrap();
            }
            let bits = 8;
            // A candidate that fails natively.
            let mut candidate = BabyBear::from_u32(rng.below(1000) as u32);
            while native.clone().check_witness(bits, candidate) {
                candidate += BabyBear::ONE;
            }
            let var = BabyBearVar::new_witness(cs.clone(), || Ok(candidate)).unwrap();
            circuit.check_witness(bits, &var).unwrap();
            assert!(!cs.is_satisfied().unwrap(), "round {round}");
            // And the witness grind finds passes.
            let cs = ConstraintSystem::<Fr>::new_ref();
            let mut circuit_ok = ChallengerVar::new();
            let mut native_ok = Outer::challenger();
            let witness = native_ok.grind(bits);
            let var = BabyBearVar::new_witness(cs.clone(), || Ok(witness)).unwrap();
            circuit_ok.check_witness(bits, &var).unwrap();
            assert!(cs.is_satisfied().unwrap());
        }
    }

    /// A squeezed cell decomposed as the integer `value + r` (congruent, not canonical) must be
    /// rejected, whether its high part lands on the maximum (caught by the low-part check) or
    /// above it (caught by the high-part range check).
    #[test]
    fn non_canonical_splits_are_rejected() {
        let (high_max, _, base) = split_bounds();
        let modulus: BigUint = Fr::MODULUS.into();
        // Small values: value + r has high part high_max. Values near r: high part above it
        // only if high_max + 1 < 2^bits, else caught by the bit length itself.
        let near_top = &modulus - 1u8 - &base;
        for value in [BigUint::from(5u8), BigUint::from(P) * 3u8, near_top] {
            let fr = biguint_to_fr(&value);
            let cs = ConstraintSystem::<Fr>::new_ref();
            let cell = FpVar::new_witness(cs.clone(), || Ok(fr)).unwrap();
            split_cell(&cell, None).unwrap();
            assert!(cs.is_satisfied().unwrap());
            let cs = ConstraintSystem::<Fr>::new_ref();
            let cell = FpVar::new_witness(cs.clone(), || Ok(fr)).unwrap();
            split_cell(&cell, Some(())).unwrap();
            assert!(!cs.is_satisfied().unwrap(), "{value}");
        }
        let _ = high_max;
    }

    pub(crate) fn costs() -> (usize, usize, usize) {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let mut circuit = ChallengerVar::new();
        let value = BabyBearVar::new_witness(cs.clone(), || Ok(BabyBear::ONE)).unwrap();
        let start = cs.num_constraints();
        for _ in 0..16 {
            circuit.observe(&value).unwrap();
        }
        let observe16 = cs.num_constraints() - start;
        let start = cs.num_constraints();
        circuit.sample().unwrap();
        let first_sample = cs.num_constraints() - start;
        let start = cs.num_constraints();
        circuit.sample().unwrap();
        let next_sample = cs.num_constraints() - start;
        (observe16, first_sample, next_sample)
    }

    #[test]
    fn split_costs_are_bounded() {
        let (observe16, first_sample, next_sample) = costs();
        assert_eq!(observe16, 240);
        assert!(first_sample <= 560, "{first_sample}");
        assert_eq!(next_sample, 0);
    }
}
