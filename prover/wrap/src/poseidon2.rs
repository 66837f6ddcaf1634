//! Poseidon2 over BN254 at width 3 (`x^5`, 8 full and 56 partial rounds) as a gadget: the
//! permutation of the outer configuration (`gnomon_machine::config::outer::permutation`).
//!
//! Cost: 3 constraints per S-box (`x^2`, `x^4`, `x^5`), 8 x 3 + 56 = 80 S-boxes, so 240
//! constraints; the linear layers and round constants are free.
//!
//! The round constants are the machine's (`gnomon_machine::config::poseidon2_bn254`, generated
//! by the Grain LFSR procedure it documents), and the tests check this gadget against the
//! machine's permutation.

use std::sync::OnceLock;

use ark_bn254::Fr;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::SynthesisError;
use gnomon_machine::config::poseidon2_bn254::round_constants;

use crate::native::to_fr;

/// The state width.
pub const WIDTH: usize = 3;

struct Constants {
    initial: Vec<[Fr; WIDTH]>,
    internal: Vec<Fr>,
    terminal: Vec<[Fr; WIDTH]>,
}

/// The machine's round constants as arkworks scalars.
fn constants() -> &'static Constants {
    static CONSTANTS: OnceLock<Constants> = OnceLock::new();
    CONSTANTS.get_or_init(|| {
        let machine = round_constants();
        let rounds = |rounds: &[[p3_bn254::Bn254; WIDTH]]| -> Vec<[Fr; WIDTH]> {
            rounds.iter().map(|round| round.map(to_fr)).collect()
        };
        Constants {
            initial: rounds(&machine.initial),
            internal: machine.internal.iter().copied().map(to_fr).collect(),
            terminal: rounds(&machine.terminal),
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
