//! Ed25519 signature verification for Gnomon guests, with the field arithmetic done by the
//! zkVM's `FP25519_*` precompiles.
//!
//! It owns [`verify_strict`], which must accept exactly what ed25519-dalek 2's
//! `VerifyingKey::from_bytes` followed by `verify_strict` accepts, on every input: the engine
//! checks signatures with ed25519-dalek and the perps guest re-checks them with this crate,
//! so any difference is a batch the engine accepted that cannot be proven (or worse, one it
//! rejected that can). The rules, all of them ed25519-dalek's:
//!
//! - s, the signature's second half, is canonical: below the group order l;
//! - R (its first half) and A (the key) decompress as curve25519-dalek 4 decompresses: y is
//!   the low 255 bits, not required to be below p; x is the even square root, negated when
//!   the top bit is set, even when x = 0;
//! - neither R nor A has small order;
//! - k = SHA-512(R || A || message) mod l, over the bytes as given, and the signature is
//!   valid when the canonical encoding of [s]B - [k]A is R's 32 bytes.
//!
//! Scalars are curve25519-dalek's [`Scalar`]; the curve arithmetic is this crate's own,
//! written to spend as few field operations (each one a syscall in the guest) as it can.
//! Natively the same operations run in software with the syscalls' semantics, which is how
//! the tests compare every answer with ed25519-dalek's.
//!
//! [`verify_batch`] checks many signatures at once for about 40% of the field operations,
//! under the cofactored rule: it accepts everything `verify_strict` accepts, and beyond that
//! only signatures a key's holder deliberately built with a small-order component (see its
//! module for why that is no forgery).
//!
//! It must never trust anything unchecked and never panic, whatever the bytes: a malformed
//! key or signature is simply not valid.
#![no_std]

extern crate alloc;
#[cfg(test)]
#[macro_use]
extern crate std;

mod basepoint_table;
mod batch;
mod edwards;
mod field;
mod scalar_mul;

use curve25519_dalek::Scalar;
use sha2::{Digest, Sha512};

use crate::field::Fe;

pub use batch::{CHUNK, SignedMessage, verify_batch};

/// Whether `signature` (R || s) is `public_key`'s Ed25519 signature of `message`, with
/// ed25519-dalek's strict rules (see the crate documentation).
pub fn verify_strict(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    let [r_bytes, s_bytes] = split(signature);
    let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
        return false;
    };

    // ed25519-dalek decompresses R and rejects it when that fails or when R has small order.
    // Here R is never decompressed: the encoding of [s]B - [k]A always decompresses, so an R
    // that does not can never equal it; and small order depends on y alone (the y of every
    // small-order point decompresses, with either sign bit), so R's y^2 decides it.
    let mut r_y_squared = Fe::from_bytes(&r_bytes);
    r_y_squared.square();
    if edwards::is_small_order(&r_y_squared) {
        return false;
    }

    let Some(key) = edwards::decompress(public_key) else {
        return false;
    };
    if edwards::is_small_order(&key.y_squared) {
        return false;
    }

    let k = challenge(&r_bytes, public_key, message);
    scalar_mul::basepoint_minus_key(&s, &k, &key.point).compress() == r_bytes
}

/// k = SHA-512(R || A || message) mod l. The hasher is updated in place: chaining it by value
/// would copy its 200-byte state at every step.
fn challenge(r_bytes: &[u8; 32], public_key: &[u8; 32], message: &[u8]) -> Scalar {
    let mut hasher = Sha512::new();
    hasher.update(r_bytes);
    hasher.update(public_key);
    hasher.update(message);
    Scalar::from_bytes_mod_order_wide(&hasher.finalize().into())
}

/// The two 32-byte halves of a signature.
fn split(signature: &[u8; 64]) -> [[u8; 32]; 2] {
    let mut halves = [[0u8; 32]; 2];
    halves[0].copy_from_slice(&signature[..32]);
    halves[1].copy_from_slice(&signature[32..]);
    halves
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signer, SigningKey};

    use super::*;
    use crate::field::counts;

    #[test]
    fn field_operations_per_verification() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let message = b"one order, one signature";
        let signature = key.sign(message).to_bytes();
        let public_key = key.verifying_key().to_bytes();
        let (valid, counts) = counts::of(|| verify_strict(&public_key, message, &signature));
        assert!(valid);
        std::println!(
            "field operations per verification: {} multiplications, {} squarings, {} \
             additions, {} subtractions, {} in all",
            counts.mul,
            counts.square,
            counts.add,
            counts.sub,
            counts.total()
        );
        // A regression guard: about 252 doublings of 12 operations, 70 additions of 13 or
        // 14, the key's table and two exponentiations.
        assert!(counts.total() < 4800, "{counts:?}");
    }
}
