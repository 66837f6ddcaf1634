//! The perps guest: one batch of the exchange's state transition, proven.
//!
//! Reads the batch (`gnomon_core::batch::BatchInput`) from stdin and the witness of the prior
//! state (touched accounts with their Merkle update proofs, the global state) from the hints,
//! re-executes the batch with `gnomon_core` exactly as the engine did, checking the witness
//! against the prior state root and every trader signature (hashing on the Poseidon2 and
//! SHA-256 precompiles), and commits the settlement header of the
//! `gnomon_core::batch::BatchOutput` (its fixed-size fields and the hashes of its lists),
//! which the settlement program takes whole. An invalid batch or witness panics, so the run
//! exits non-zero and no proof of a valid transition can exist for it.
//!
//! Signatures are checked all together once the batch has run: `gnomon_ed25519::verify_batch`
//! (the cofactored rule, on the FP25519 precompiles) shares one chain of doublings among 32
//! of them, for 40% of the field operations of checking each alone. It accepts whatever the
//! engine's ed25519-dalek `verify_strict` accepts (so every batch the engine makes proves),
//! and beyond that only a key holder's deliberately odd signatures, never a forgery (see
//! that crate). A batch refused for any reason is run again checking each signature on its
//! own, to name the step that fails.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::cell::RefCell;

use gnomon_core::action::SignatureVerifier;
use gnomon_core::batch::{BatchInput, BatchWitness, verify_batch};
use gnomon_core::hash::Permutation;
use gnomon_core::sha256::Sha256Compression;
use gnomon_ed25519::SignedMessage;

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

/// Takes every signature as valid and keeps it, to be verified in one batch after the run:
/// a batch in which one is invalid is refused then, as it would have been at its step.
#[derive(Default)]
struct Deferred {
    signatures: RefCell<Vec<SignedMessage>>,
}

impl SignatureVerifier for Deferred {
    fn verify(&self, public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
        self.signatures.borrow_mut().push(SignedMessage {
            public_key: *public_key,
            message: message.to_vec(),
            signature: *signature,
        });
        true
    }
}

impl Deferred {
    fn all_valid(&self) -> bool {
        gnomon_ed25519::verify_batch(&self.signatures.borrow())
    }
}

/// Each signature checked on its own, with ed25519-dalek's strict rules.
struct Ed25519Precompile;

impl SignatureVerifier for Ed25519Precompile {
    fn verify(&self, public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
        gnomon_ed25519::verify_strict(public_key, message, signature)
    }
}

fn witness(bytes: &[u8]) -> BatchWitness {
    borsh::from_slice(bytes).unwrap_or_else(|error| panic!("hint frame does not decode: {error}"))
}

fn main() {
    let input: BatchInput = gnomon_guest::io::read();
    let witness_bytes = gnomon_guest::io::hint_vec();
    let deferred = Deferred::default();
    let verified = verify_batch(
        &input,
        witness(&witness_bytes),
        &deferred,
        &Precompile,
        &Precompile,
    );
    if let Ok(output) = verified
        && deferred.all_valid()
    {
        gnomon_guest::io::commit_slice(&output.header_with(&Precompile));
        return;
    }
    let reason = verify_batch(
        &input,
        witness(&witness_bytes),
        &Ed25519Precompile,
        &Precompile,
        &Precompile,
    );
    match reason {
        Err(error) => panic!("invalid batch {}: {error}", input.batch_number),
        Ok(_) => panic!(
            "invalid batch {}: its signatures fail batch verification",
            input.batch_number
        ),
    }
}
