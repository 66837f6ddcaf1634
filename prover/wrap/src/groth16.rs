//! The Groth16 proof of the verifier circuit ([`crate::verifier`]) over BN254: the
//! circuit-specific setup, proving, and checking a proof as the settlement program does
//! (through groth16-solana, with the key in its byte format).
//!
//! # The setup is a development setup
//!
//! [`setup`] is single-party: whoever runs it draws the toxic waste and could prove false
//! statements with it, so its keys may settle test collateral only. A production key comes
//! from a multi-party ceremony, sound if one participant destroys their share:
//!
//! 1. phase 1, circuit-independent: the powers of tau of an existing public ceremony for
//!    BN254 (the Perpetual Powers of Tau, which has enough powers for `2^28` constraints);
//! 2. phase 2, for this circuit: the R1CS exported (the constraint matrices of
//!    [`crate::verifier::VerifierCircuit`] in setup mode), a ceremony over it in which each
//!    participant contributes to `delta` and publishes a proof of contribution (the
//!    snarkjs/`phase2-bn254` protocol), then a random beacon;
//! 3. the resulting keys replace [`setup`]'s: the verifying key is exported by
//!    `gnomon_settlement_verifier::keys` into the settlement program's `vk.rs`, and its id is
//!    what the exchange records.
//!
//! The proving key is read straight from its file into arkworks' structures (no intermediate
//! copy of the file), without re-checking its points: it is the prover's own local file, and
//! a wrong key makes proofs that fail verification, never false ones.

use std::io::{Read, Write};

use ark_bn254::{Bn254, Fr};
use ark_ff::{BigInteger, PrimeField};
use ark_groth16::{Groth16, ProvingKey, VerifyingKey};
use ark_relations::gr1cs::SynthesisError;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, SerializationError};
use ark_snark::SNARK;
use ark_std::rand::rngs::StdRng;
use ark_std::rand::{CryptoRng, RngCore, SeedableRng};
use gnomon_settlement_verifier::keys::proof_bytes;
use gnomon_settlement_verifier::verify::{self, Proof, VerifyError};

use crate::verifier::{PUBLIC_INPUTS, VerifierCircuit, VerifierShape, VerifierWitness};

/// The public inputs as groth16-solana takes them: big-endian scalars.
pub type InputBytes = [[u8; 32]; PUBLIC_INPUTS];

/// A generator seeded from the operating system, for the setup's toxic waste and the
/// prover's blinding.
pub fn entropy() -> StdRng {
    StdRng::from_entropy()
}

/// Runs the circuit-specific setup of `shape`'s circuit (see the module documentation).
pub fn setup<R: RngCore + CryptoRng>(
    shape: &VerifierShape,
    rng: &mut R,
) -> Result<(ProvingKey<Bn254>, VerifyingKey<Bn254>), SynthesisError> {
    let circuit = VerifierCircuit {
        shape,
        witness: None,
    };
    Groth16::<Bn254>::circuit_specific_setup(circuit, rng)
}

/// Proves `witness` in `shape`'s circuit with the key `pk` of its setup: the 256-byte proof
/// in the settlement program's format.
pub fn prove<R: RngCore + CryptoRng>(
    pk: &ProvingKey<Bn254>,
    shape: &VerifierShape,
    witness: &VerifierWitness,
    rng: &mut R,
) -> Result<Proof, SynthesisError> {
    let circuit = VerifierCircuit {
        shape,
        witness: Some(witness),
    };
    Ok(proof_bytes(&Groth16::<Bn254>::prove(pk, circuit, rng)?))
}

/// `inputs` as big-endian scalars.
pub fn input_bytes(inputs: &[Fr; PUBLIC_INPUTS]) -> InputBytes {
    inputs.map(|input| {
        input
            .into_bigint()
            .to_bytes_be()
            .try_into()
            .expect("a BN254 scalar has 32 bytes")
    })
}

/// Checks `proof` for `inputs` against `vk` with groth16-solana's verifier: the settlement
/// program's check, run natively.
pub fn verify(
    vk: &verify::VerifyingKey,
    proof: &Proof,
    inputs: &InputBytes,
) -> Result<(), VerifyError> {
    verify::verify_inputs(vk, proof, inputs)
}

/// Writes a proving key (uncompressed: loading skips the decompression).
pub fn write_proving_key(
    pk: &ProvingKey<Bn254>,
    out: impl Write,
) -> Result<(), SerializationError> {
    pk.serialize_uncompressed(out)
}

/// Reads a proving key [`write_proving_key`] wrote.
pub fn read_proving_key(input: impl Read) -> Result<ProvingKey<Bn254>, SerializationError> {
    ProvingKey::deserialize_uncompressed_unchecked(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_big_endian_scalars() {
        let bytes = input_bytes(&[Fr::from(1u8), Fr::from(0x0102u16)]);
        assert_eq!(bytes[0][31], 1);
        assert_eq!(bytes[0][..31], [0; 31]);
        assert_eq!(bytes[1][30..], [1, 2]);
    }

    /// The gadgets' constraint systems (symbolic linear combinations, GR1CS with the R1CS
    /// predicate) go through arkworks' Groth16 as they are, and its proofs through this
    /// module's encoding and groth16-solana's verifier: a proof of a small circuit with the
    /// wrap's two public inputs verifies; the same proof against other inputs, or with a
    /// corrupted byte, does not (an error, never a panic).
    mod gadgets {
        use ark_bn254::{Bn254, Fr};
        use ark_groth16::Groth16;
        use ark_r1cs_std::alloc::AllocVar;
        use ark_r1cs_std::eq::EqGadget;
        use ark_r1cs_std::fields::fp::FpVar;
        use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
        use ark_snark::SNARK;
        use ark_std::rand::SeedableRng;
        use ark_std::rand::rngs::StdRng;
        use p3_baby_bear::BabyBear;
        use p3_field::PrimeCharacteristicRing;

        use p3_field::PrimeField32;

        use super::super::*;
        use crate::babybear::BabyBearVar;
        use crate::merkle::hash_leaf;

        /// Public: `a` and the leaf hash of `[a * b, a]` in BabyBear.
        #[derive(Clone, Copy)]
        struct Circuit {
            a: BabyBear,
            b: BabyBear,
            digest: Fr,
        }

        impl ConstraintSynthesizer<Fr> for Circuit {
            fn generate_constraints(
                self,
                cs: ConstraintSystemRef<Fr>,
            ) -> Result<(), SynthesisError> {
                let a_input =
                    FpVar::new_input(cs.clone(), || Ok(Fr::from(self.a.as_canonical_u32())))?;
                let digest = FpVar::new_input(cs.clone(), || Ok(self.digest))?;
                let a = BabyBearVar::new_witness(cs.clone(), || Ok(self.a))?;
                a.variable().enforce_equal(&a_input)?;
                let b = BabyBearVar::new_witness(cs.clone(), || Ok(self.b))?;
                let product = a.mul(&b)?;
                hash_leaf([&product, &a])?.enforce_equal(&digest)
            }
        }

        #[test]
        fn a_gadget_circuit_proves_and_verifies() {
            let (a, b) = (
                BabyBear::from_u32(123_456_789),
                BabyBear::from_u32(2_000_000_000),
            );
            let native = gnomon_machine::config::outer::permutation();
            let packed = |values: [BabyBear; 2]| {
                use p3_symmetric::CryptographicHasher;
                let hasher = p3_symmetric::MultiField32PaddingFreeSponge::<
                    BabyBear,
                    p3_bn254::Bn254,
                    _,
                    3,
                    2,
                    1,
                >::new(native)
                .unwrap();
                crate::native::to_fr(hasher.hash_iter(values)[0])
            };
            let digest = packed([a * b, a]);
            let mut rng = StdRng::seed_from_u64(1);
            let circuit = Circuit { a, b, digest };
            let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(circuit, &mut rng).unwrap();
            let proof = Groth16::<Bn254>::prove(&pk, circuit, &mut rng).unwrap();
            let inputs = [Fr::from(a.as_canonical_u32()), digest];
            assert!(Groth16::<Bn254>::verify(&vk, &inputs, &proof).unwrap());
            // As the settlement program checks it.
            let vk = gnomon_settlement_verifier::keys::verifying_key(&vk).unwrap();
            let (vk, proof) = (
                verify::VerifyingKey::from_bytes(&vk.to_bytes()).unwrap(),
                proof_bytes(&proof),
            );
            assert_eq!(verify(&vk, &proof, &input_bytes(&inputs)), Ok(()));
            for index in 0..PUBLIC_INPUTS {
                let mut other = inputs;
                other[index] += Fr::from(1u8);
                assert_eq!(
                    verify(&vk, &proof, &input_bytes(&other)),
                    Err(VerifyError::ProofRejected)
                );
            }
            let bytes = proof.to_bytes();
            for position in [0, 63, 64, 191, 192, 255] {
                let mut corrupted = bytes;
                corrupted[position] ^= 1;
                let corrupted = Proof::from_bytes(&corrupted);
                assert!(verify(&vk, &corrupted, &input_bytes(&inputs)).is_err());
            }
        }
    }
}
