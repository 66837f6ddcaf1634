//! Poseidon2 over BN254 at width 3 (`x^5`, 8 full and 56 partial rounds) as a gadget: the
//! permutation of the outer configuration (`gnomon_machine::config::outer::permutation`).
//!
//! Cost: 3 constraints per S-box (`x^2`, `x^4`, `x^5`), 8 x 3 + 56 = 80 S-boxes, so 240
//! constraints; the linear layers and round constants are free.
//!
//! The round constants are regenerated here by the same Grain LFSR procedure the machine's
//! `poseidon2_bn254` module documents (its own copy is private); the tests check this
//! gadget against the machine's permutation, so the two cannot drift apart silently.

use std::sync::OnceLock;

use ark_bn254::Fr;
use ark_ff::PrimeField;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::SynthesisError;
use num_bigint::BigUint;

use crate::babybear::biguint_to_fr;

/// The state width.
pub const WIDTH: usize = 3;
const FIELD_BITS: usize = 254;
const HALF_FULL_ROUNDS: usize = 4;
const PARTIAL_ROUNDS: usize = 56;

struct Constants {
    initial: Vec<[Fr; WIDTH]>,
    internal: Vec<Fr>,
    terminal: Vec<[Fr; WIDTH]>,
}

/// The Grain LFSR of the Poseidon parameter scripts (see the machine's `poseidon2_bn254`).
struct Grain {
    state: u128,
}

impl Grain {
    fn new(fields: &[(u64, u32)]) -> Self {
        let mut bits = Vec::with_capacity(80);
        for &(value, width) in fields {
            bits.extend((0..width).rev().map(|bit| (value >> bit) & 1 == 1));
        }
        bits.resize(80, true);
        let state = bits.iter().enumerate().fold(0u128, |state, (index, &bit)| {
            state | (u128::from(bit) << index)
        });
        let mut grain = Self { state };
        for _ in 0..160 {
            grain.clock();
        }
        grain
    }

    fn clock(&mut self) -> bool {
        let s = self.state;
        let bit = ((s >> 62) ^ (s >> 51) ^ (s >> 38) ^ (s >> 23) ^ (s >> 13) ^ s) & 1;
        self.state = (s >> 1) | (bit << 79);
        bit == 1
    }

    fn next_bit(&mut self) -> bool {
        loop {
            let keep = self.clock();
            let bit = self.clock();
            if keep {
                return bit;
            }
        }
    }

    fn next_element(&mut self) -> Fr {
        let modulus: BigUint = Fr::MODULUS.into();
        loop {
            let mut value = BigUint::ZERO;
            for _ in 0..FIELD_BITS {
                value = (value << 1u8) | BigUint::from(u8::from(self.next_bit()));
            }
            if value < modulus {
                return biguint_to_fr(&value);
            }
        }
    }
}

fn constants() -> &'static Constants {
    static CONSTANTS: OnceLock<Constants> = OnceLock::new();
    CONSTANTS.get_or_init(|| {
        let mut grain = Grain::new(&[
            (1, 2),
            (0, 4),
            (FIELD_BITS as u64, 12),
            (WIDTH as u64, 12),
            (2 * HALF_FULL_ROUNDS as u64, 10),
            (PARTIAL_ROUNDS as u64, 10),
        ]);
        let full = |grain: &mut Grain| -> Vec<[Fr; WIDTH]> {
            (0..HALF_FULL_ROUNDS)
                .map(|_| std::array::from_fn(|_| grain.next_element()))
                .collect()
        };
        let initial = full(&mut grain);
        let internal = (0..PARTIAL_ROUNDS).map(|_| grain.next_element()).collect();
        let terminal = full(&mut grain);
        Constants {
            initial,
            internal,
            terminal,
        }
    })
}

/// `x^5`: 3 constraints (none for a constant).
fn sbox(x: &FpVar<Fr>) -> FpVar<Fr> {
    let x2 = x * x;
    let x4 = &x2 * &x2;
    &x4 * x
}

/// The external linear layer: `circ(2, 1, 1)`.
fn external_linear(state: &mut [FpVar<Fr>; WIDTH]) {
    let sum = &state[0] + &state[1] + &state[2];
    for element in state.iter_mut() {
        *element += &sum;
    }
}

/// The internal linear layer: `1 + diag(1, 1, 2)`.
fn internal_linear(state: &mut [FpVar<Fr>; WIDTH]) {
    let sum = &state[0] + &state[1] + &state[2];
    state[0] += &sum;
    state[1] += &sum;
    state[2] = state[2].clone() + &state[2] + &sum;
}

/// The permutation: 240 constraints.
pub fn permute(state: &[FpVar<Fr>; WIDTH]) -> Result<[FpVar<Fr>; WIDTH], SynthesisError> {
    let constants = constants();
    let mut state = state.clone();
    let full_round = |state: &mut [FpVar<Fr>; WIDTH], round: &[Fr; WIDTH]| {
        for (element, &constant) in state.iter_mut().zip(round) {
            *element = sbox(&(&*element + constant));
        }
        external_linear(state);
    };
    external_linear(&mut state);
    for round in &constants.initial {
        full_round(&mut state, round);
    }
    for &constant in &constants.internal {
        state[0] = sbox(&(&state[0] + constant));
        internal_linear(&mut state);
    }
    for round in &constants.terminal {
        full_round(&mut state, round);
    }
    Ok(state)
}

/// The two-to-one compression of the Merkle trees (`TruncatedPermutation<_, 2, 1, 3>`): the
/// first element of the permutation of `(left, right, 0)`.
pub fn compress(left: &FpVar<Fr>, right: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    let [first, _, _] = permute(&[left.clone(), right.clone(), FpVar::Constant(Fr::from(0u8))])?;
    Ok(first)
}

#[cfg(test)]
mod tests {
    use ark_r1cs_std::GR1CSVar;
    use ark_r1cs_std::alloc::AllocVar;
    use ark_r1cs_std::eq::EqGadget;
    use ark_relations::gr1cs::ConstraintSystem;
    use p3_bn254::Bn254;
    use p3_symmetric::Permutation;

    use super::*;
    use crate::native;
    use crate::test_util::Rng;

    #[test]
    fn matches_the_machine_permutation() {
        let permutation = gnomon_machine::config::outer::permutation();
        let mut rng = Rng::new(7);
        for round in 0..4 {
            let input: [Bn254; WIDTH] = std::array::from_fn(|_| rng.bn254());
            let expected = permutation.permute(input);
            let cs = ConstraintSystem::<Fr>::new_ref();
            let state: [FpVar<Fr>; WIDTH] = std::array::from_fn(|i| {
                FpVar::new_witness(cs.clone(), || Ok(native::to_fr(input[i]))).unwrap()
            });
            let output = permute(&state).unwrap();
            for i in 0..WIDTH {
                assert_eq!(
                    output[i].value().unwrap(),
                    native::to_fr(expected[i]),
                    "{round}"
                );
                output[i]
                    .enforce_equal(
                        &FpVar::new_witness(cs.clone(), || Ok(native::to_fr(expected[i]))).unwrap(),
                    )
                    .unwrap();
            }
            assert!(cs.is_satisfied().unwrap());
            assert_eq!(cs.num_constraints(), 240 + WIDTH);
            // A wrong claimed output is unsatisfied.
            let cs = ConstraintSystem::<Fr>::new_ref();
            let state: [FpVar<Fr>; WIDTH] = std::array::from_fn(|i| {
                FpVar::new_witness(cs.clone(), || Ok(native::to_fr(input[i]))).unwrap()
            });
            let output = permute(&state).unwrap();
            let wrong = native::to_fr(expected[round % WIDTH]) + Fr::from(1u8);
            output[round % WIDTH]
                .enforce_equal(&FpVar::new_witness(cs.clone(), || Ok(wrong)).unwrap())
                .unwrap();
            assert!(!cs.is_satisfied().unwrap());
        }
    }

    #[test]
    fn constant_inputs_cost_nothing_and_agree() {
        let permutation = gnomon_machine::config::outer::permutation();
        let input = [
            Bn254::new([1, 0, 0, 0]),
            Bn254::new([2, 0, 0, 0]),
            Bn254::new([3, 0, 0, 0]),
        ];
        let output = permute(&input.map(|x| FpVar::Constant(native::to_fr(x)))).unwrap();
        let expected = permutation.permute(input);
        for i in 0..WIDTH {
            assert_eq!(output[i].value().unwrap(), native::to_fr(expected[i]));
        }
    }
}
