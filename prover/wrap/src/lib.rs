//! The Groth16 wrap of Gnomon's outer STARK (issue 6): R1CS gadgets over the BN254 scalar field
//! from which the verifier circuit of the outer configuration (`gnomon_machine::config::outer`)
//! is composed.
//!
//! This crate owns the in-circuit mirror of the outer configuration's primitives:
//!
//! - [`babybear`]: BabyBear arithmetic with lazy reduction (a BN254 variable and a bound).
//! - [`extension`]: the degree-4 extension `BabyBear[X] / (X^4 - 11)`.
//! - [`poseidon2`]: Poseidon2 over BN254, width 3, and the Merkle two-to-one compression.
//! - [`challenger`]: the Fiat-Shamir transcript, mirroring Plonky3's
//!   `MultiField32Challenger<BabyBear, Bn254, Poseidon2, 3, 2>` step by step.
//! - [`merkle`]: the leaf hash (`MultiField32PaddingFreeSponge`) and authentication paths of
//!   `MerkleTreeMmcs` with caps.
//!
//! It must never accept what the native verifier rejects: every gadget constrains each value
//! it witnesses (range checks, canonical decompositions, no unconstrained hints), and each is
//! tested against the native Plonky3 code it mirrors, on valid inputs and on tampered ones.
//! It holds no keys and performs no setup; it must never fix values the circuit should bind
//! (every proof value is a witness, every parameter a compile-time constant of the
//! configuration).

pub mod babybear;
pub mod challenger;
pub mod extension;
pub mod merkle;
pub mod native;
pub mod poseidon2;

#[cfg(test)]
mod test_util;
