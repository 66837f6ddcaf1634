//! The perps guest: one batch of the exchange's state transition, proven.
//!
//! Reads the batch (`gnomon_core::batch::BatchInput`) from stdin and the witness of the prior
//! state (touched accounts with their Merkle update proofs, the global state) from the hints,
//! re-executes the batch with `gnomon_core` exactly as the engine did, checking the witness
//! against the prior state root and every trader signature (hashing on the Poseidon2 and
//! SHA-256 precompiles), and commits the settlement header
//! of the `gnomon_core::batch::BatchOutput` (its fixed-size fields and the hashes of its
//! lists), which the settlement program takes whole. An invalid batch or witness panics, so the run exits
//! non-zero and no proof of a valid transition can exist for it. Signatures are checked by
//! `gnomon_ed25519`, on the FP25519 precompiles, which accepts exactly what the engine's
//! ed25519-dalek accepts.
#![no_std]
#![no_main]

use gnomon_core::action::SignatureVerifier;
use gnomon_core::batch::{BatchInput, BatchWitness, verify_batch};
use gnomon_core::hash::Permutation;
use gnomon_core::sha256::Sha256Compression;

gnomon_guest::entrypoint!(main);

/// The zkVM's hash precompiles: Poseidon2 for the account tree, SHA-256 for the chains and
/// lists the settlement program checks.
struct Precompile;

impl Permutation for Precompile {
    fn permute(&self, state: &mut [u32; 16]) {
        gnomon_guest::syscalls::poseidon2_permute(state);
    }
}

impl Sha256Compression for Precompile {
    fn compress(&self, state: &mut [u32; 8], block: &[u32; 16]) {
        gnomon_guest::syscalls::sha256_compress(state, block);
    }
}

/// Ed25519 with ed25519-dalek's strict rules, the field arithmetic on the precompiles.
struct Ed25519Precompile;

impl SignatureVerifier for Ed25519Precompile {
    fn verify(&self, public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
        gnomon_ed25519::verify_strict(public_key, message, signature)
    }
}

fn main() {
    let input: BatchInput = gnomon_guest::io::read();
    let witness: BatchWitness = gnomon_guest::io::hint();
    match verify_batch(
        &input,
        witness,
        &Ed25519Precompile,
        &Precompile,
        &Precompile,
    ) {
        Ok(output) => gnomon_guest::io::commit_slice(&output.header_with(&Precompile)),
        Err(error) => panic!("invalid batch {}: {error}", input.batch_number),
    }
}
