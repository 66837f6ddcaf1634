//! Batch verification: many signatures for about 40% of the field operations of checking
//! each one, because the 252 doublings of a scalar multiplication, three quarters of a
//! single verification, are shared by every signature of a chunk; and a key that signs
//! several of a chunk's messages is decompressed once and is one term of the sum.
//!
//! Each signature passes [`crate::verify_strict`]'s parsing rules (s canonical, R and A
//! decompress and neither has small order, k = SHA-512(R || A || M) mod l), and then a
//! chunk of them is accepted when
//!
//! `[8]([sum z_i s_i]B - sum [z_i]R_i - sum [z_i k_i]A_i)` is the identity,
//!
//! with 128-bit z_i drawn from SHA-256 of everything the chunk holds (Fiat-Shamir: they
//! are fixed only once every R, A, s and k is). If any signature's own equation fails, the
//! sum vanishes for at most a 2^-128 fraction of the z's, and choosing the signatures to
//! steer the z's is a search of that size.
//!
//! What it accepts: every set of signatures that [`crate::verify_strict`] accepts one by
//! one (their equations hold exactly, so the sum is the identity for every z), and beyond
//! those only signatures whose R or A has a small-order component that the factor 8 clears:
//! the cofactored rule (ZIP-215's, and ed25519-dalek's own batch verification). Such a
//! signature satisfies `[8]R = [8]([s]B - [k]A)`, which takes the discrete logarithm of A's
//! prime-order part to produce, so it is no forgery: it is a key holder's deliberately odd
//! signature, which an honest engine (checking with `verify_strict`) refuses before it
//! reaches a batch.

use alloc::vec::Vec;
use curve25519_dalek::Scalar;
use sha2::Digest;

use crate::basepoint_table::BASEPOINT_ODD_MULTIPLES;
use crate::edwards::{Affine, Cached, Point, decompress, is_small_order};
use crate::scalar_mul::{
    BASEPOINT_WIDTH, KEY_WIDTH, multiple_index, non_adjacent_form, nonzero_digits,
};

/// Signatures per multi-scalar multiplication. Its tables (a kilobyte per point, two points
/// a signature) and digits stay under 100 KiB, so that a 2^20-cycle segment, which may touch
/// 256 KiB of memory, holds a chunk's whole working set; beyond 32 the shared doublings are
/// already under a tenth of a signature's cost.
pub const CHUNK: usize = 32;

/// Domain separation of the z's.
const TRANSCRIPT_DOMAIN: &[u8] = b"gnomon/ed25519-batch/v1";

/// A message with its signature and the key that should have made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedMessage {
    pub public_key: [u8; 32],
    pub message: Vec<u8>,
    pub signature: [u8; 64],
}

/// Whether every signature is valid under the cofactored rule (see the module
/// documentation). Chunks of [`CHUNK`] are checked one after the other; the empty batch is
/// valid.
// Kept out of line so that a guest's cycle profile can tell what it costs.
#[inline(never)]
pub fn verify_batch(signatures: &[SignedMessage]) -> bool {
    signatures.chunks(CHUNK).all(verify_chunk)
}

/// A signature whose parts passed the parsing rules; its key is the chunk's `keys[key]`.
struct Parsed {
    r: Affine,
    key: usize,
    s: Scalar,
    k: Scalar,
}

/// A key of the chunk, decompressed once however many of its signatures the chunk holds.
struct Key<'a> {
    bytes: &'a [u8; 32],
    point: Affine,
}

/// Parses `signed`, finding its key among `keys` or adding it there.
fn parse<'a>(signed: &'a SignedMessage, keys: &mut Vec<Key<'a>>) -> Option<Parsed> {
    let [r_bytes, s_bytes] = crate::split(&signed.signature);
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))?;
    let r = decompress(&r_bytes)?;
    if is_small_order(&r.y_squared) {
        return None;
    }
    let key = match keys.iter().position(|key| *key.bytes == signed.public_key) {
        Some(index) => index,
        None => {
            let key = decompress(&signed.public_key)?;
            if is_small_order(&key.y_squared) {
                return None;
            }
            keys.push(Key {
                bytes: &signed.public_key,
                point: key.point,
            });
            keys.len() - 1
        }
    };
    Some(Parsed {
        r: r.point,
        key,
        s,
        k: crate::challenge(&r_bytes, &signed.public_key, &signed.message),
    })
}

fn verify_chunk(chunk: &[SignedMessage]) -> bool {
    let mut keys = Vec::new();
    let mut parsed = Vec::with_capacity(chunk.len());
    for signed in chunk {
        match parse(signed, &mut keys) {
            Some(signature) => parsed.push(signature),
            None => return false,
        }
    }
    let seed = transcript_seed(chunk, &parsed);

    // The terms, all subtracted: [sum of z_i k_i over a key's signatures] for each key, then
    // [z_i]R_i for each signature. A key signing many of the chunk's messages costs one term.
    let mut key_sums = alloc::vec![WideSum::ZERO; keys.len()];
    let mut basepoint_sum = WideSum::ZERO;
    let mut weights = Vec::with_capacity(parsed.len());
    for (index, signature) in parsed.iter().enumerate() {
        let z = weight(&seed, index as u32);
        basepoint_sum.add_product(&z, &signature.s);
        key_sums[signature.key].add_product(&z, &signature.k);
        weights.push(z.bytes());
    }
    let points: Vec<Affine> = keys
        .iter()
        .map(|key| key.point)
        .chain(parsed.iter().map(|signature| signature.r))
        .collect();
    let scalars: Vec<[u8; 32]> = key_sums
        .iter()
        .map(|sum| sum.reduce().to_bytes())
        .chain(weights)
        .collect();
    let mut sum = basepoint_minus_points(&basepoint_sum.reduce(), &points, &scalars);
    for _ in 0..3 {
        sum.double();
        sum.completed_to_projective();
    }
    sum.compress() == IDENTITY_ENCODING
}

/// The identity (0, 1), compressed.
const IDENTITY_ENCODING: [u8; 32] = {
    let mut bytes = [0u8; 32];
    bytes[0] = 1;
    bytes
};

/// SHA-256 of the domain and every signature's R, A, s and k: k binds the message.
fn transcript_seed(chunk: &[SignedMessage], parsed: &[Parsed]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(TRANSCRIPT_DOMAIN);
    for (signed, signature) in chunk.iter().zip(parsed) {
        hasher.update(&signed.signature);
        hasher.update(&signed.public_key);
        hasher.update(signature.k.as_bytes());
    }
    hasher.finalize_bytes()
}

/// A signature's 128-bit weight z, little-endian words.
#[derive(Clone, Copy)]
struct Weight([u32; 4]);

impl Weight {
    /// z as the low half of a 256-bit little-endian integer.
    fn bytes(&self) -> [u8; 32] {
        let mut bytes = [0u8; 32];
        for (chunk, word) in bytes.chunks_exact_mut(4).zip(self.0) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        bytes
    }
}

/// The z of the signature at `index`: the first half of SHA-256(seed || index).
fn weight(seed: &[u8; 32], index: u32) -> Weight {
    let mut hasher = Sha256::new();
    hasher.update(seed);
    hasher.update(&index.to_le_bytes());
    let digest = hasher.finalize_bytes();
    Weight(core::array::from_fn(|at| {
        u32::from_le_bytes([
            digest[4 * at],
            digest[4 * at + 1],
            digest[4 * at + 2],
            digest[4 * at + 3],
        ])
    }))
}

/// A sum of products z * x of weights and scalars (below 2^256), as a 512-bit integer
/// reduced mod l once at the end: a chunk's sums stay below 2^390, and a schoolbook product
/// of 4 by 8 words costs a tenth of a scalar multiplication mod l.
#[derive(Clone, Copy)]
struct WideSum([u32; 16]);

impl WideSum {
    const ZERO: WideSum = WideSum([0; 16]);

    fn add_product(&mut self, weight: &Weight, scalar: &Scalar) {
        let bytes = scalar.as_bytes();
        let words: [u32; 8] = core::array::from_fn(|at| {
            u32::from_le_bytes([
                bytes[4 * at],
                bytes[4 * at + 1],
                bytes[4 * at + 2],
                bytes[4 * at + 3],
            ])
        });
        for (i, &z) in weight.0.iter().enumerate() {
            let mut carry = 0u64;
            for (j, &x) in words.iter().enumerate() {
                let total = u64::from(self.0[i + j]) + u64::from(z) * u64::from(x) + carry;
                self.0[i + j] = total as u32;
                carry = total >> 32;
            }
            for word in &mut self.0[i + 8..] {
                if carry == 0 {
                    break;
                }
                let total = u64::from(*word) + carry;
                *word = total as u32;
                carry = total >> 32;
            }
        }
    }

    fn reduce(&self) -> Scalar {
        let mut bytes = [0u8; 64];
        for (chunk, word) in bytes.chunks_exact_mut(4).zip(self.0) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        Scalar::from_bytes_mod_order_wide(&bytes)
    }
}

/// [b]B - sum [c_j]P_j, projective, the c_j little-endian below 2^256: one chain of
/// doublings for every scalar, each P_j's odd multiples built once (width 5, as a single
/// verification's key), B's from the table. A position is scanned only as far as the last
/// term with a digit there or above, so short scalars placed last (the weights) are skipped
/// in the upper half.
fn basepoint_minus_points(
    basepoint_scalar: &Scalar,
    points: &[Affine],
    scalars: &[[u8; 32]],
) -> Point {
    let count = points.len();
    // Built in place: a table is a kilobyte.
    let mut tables = alloc::vec![[Cached::IDENTITY; 1 << (KEY_WIDTH - 2)]; count];
    for (point, table) in points.iter().zip(&mut tables) {
        point.odd_multiples(table);
    }
    // Position-major, so the scan of one position reads consecutive bytes.
    let mut digits = alloc::vec![0i8; 256 * count];
    // reach[p]: one past the last term with a nonzero digit at position p - 1 or above.
    let mut reach = [0usize; 257];
    for (term, scalar) in scalars.iter().enumerate() {
        nonzero_digits(scalar, KEY_WIDTH, |position, digit| {
            digits[position * count + term] = digit;
            reach[position + 1] = term + 1;
        });
    }
    for position in (0..256).rev() {
        reach[position] = reach[position].max(reach[position + 1]);
    }
    let basepoint_digits = non_adjacent_form(basepoint_scalar.as_bytes(), BASEPOINT_WIDTH);

    let mut sum = Point::identity();
    let mut started = false;
    for position in (0..256).rev() {
        if started {
            sum.completed_to_projective();
            sum.double();
        }
        let at = position * count;
        let scanned = reach[position + 1];
        for (table, &digit) in tables.iter().zip(&digits[at..at + scanned]) {
            if digit != 0 {
                if started {
                    sum.completed_to_extended();
                }
                // A positive digit subtracts its multiple.
                sum.add_cached(&table[multiple_index(digit)], digit > 0);
                started = true;
            }
        }
        let digit = basepoint_digits[position];
        if digit != 0 {
            if started {
                sum.completed_to_extended();
            }
            sum.add_affine(&BASEPOINT_ODD_MULTIPLES[multiple_index(digit)], digit < 0);
            started = true;
        }
    }
    if started {
        sum.completed_to_projective();
    }
    sum
}

/// SHA-256 for the transcript: the zkVM's precompile in the guest, the `sha2` crate
/// elsewhere.
struct Sha256 {
    #[cfg(all(target_arch = "riscv32", target_os = "none"))]
    inner: gnomon_guest::sha256::Sha256,
    #[cfg(not(all(target_arch = "riscv32", target_os = "none")))]
    inner: sha2::Sha256,
}

impl Sha256 {
    fn new() -> Self {
        Self {
            inner: Default::default(),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        self.inner.update(bytes);
    }

    fn finalize_bytes(self) -> [u8; 32] {
        self.inner.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use curve25519_dalek::EdwardsPoint;
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
    use ed25519_dalek::{Signer, SigningKey};
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};
    use std::vec::Vec;

    use super::*;
    use crate::field::counts;

    #[test]
    fn wide_sums_reduce_to_the_sum_of_the_products_mod_l() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut sum = WideSum::ZERO;
        let mut expected = Scalar::ZERO;
        for round in 0..40 {
            let weight = Weight(if round == 0 {
                [u32::MAX; 4]
            } else {
                rng.random()
            });
            let scalar = Scalar::from_bytes_mod_order(rng.random());
            let factor = Scalar::from_bytes_mod_order(weight.bytes());
            sum.add_product(&weight, &scalar);
            expected += factor * scalar;
            assert_eq!(sum.reduce(), expected, "after {round} products");
        }
    }

    #[test]
    fn multi_scalar_sums_match_dalek_with_short_and_long_scalars_in_any_order() {
        let mut rng = StdRng::seed_from_u64(12);
        for count in [1, 2, 7, 20] {
            let points: Vec<EdwardsPoint> = (0..count)
                .map(|_| ED25519_BASEPOINT_POINT * Scalar::from_bytes_mod_order(rng.random()))
                .collect();
            let scalars: Vec<Scalar> = (0..count)
                .map(|term| match term % 3 {
                    0 => Scalar::from(rng.random::<u128>()),
                    1 => Scalar::from_bytes_mod_order(rng.random()),
                    _ => Scalar::from(rng.random::<u8>()),
                })
                .collect();
            let b = Scalar::from_bytes_mod_order(rng.random());
            let expected = points
                .iter()
                .zip(&scalars)
                .fold(ED25519_BASEPOINT_POINT * b, |sum, (point, scalar)| {
                    sum - point * scalar
                });
            let affine: Vec<Affine> = points
                .iter()
                .map(|point| decompress(point.compress().as_bytes()).unwrap().point)
                .collect();
            let bytes: Vec<[u8; 32]> = scalars.iter().map(Scalar::to_bytes).collect();
            assert_eq!(
                basepoint_minus_points(&b, &affine, &bytes).compress(),
                expected.compress().to_bytes(),
                "{count} terms"
            );
        }
    }

    #[test]
    fn field_operations_per_signature_in_a_full_chunk() {
        let batch: Vec<SignedMessage> = (0..CHUNK as u8)
            .map(|seed| {
                let key = SigningKey::from_bytes(&[seed; 32]);
                SignedMessage {
                    public_key: key.verifying_key().to_bytes(),
                    message: b"order".to_vec(),
                    signature: key.sign(b"order").to_bytes(),
                }
            })
            .collect();
        let (valid, counts) = counts::of(|| verify_batch(&batch));
        assert!(valid);
        let per_signature = counts.total() / CHUNK as u32;
        std::println!("field operations per signature in a chunk of {CHUNK}: {per_signature}");
        // A regression guard: two decompressions (278 each), two tables (about 150 each),
        // about 21 + 42 additions of 13, and a 32nd of the doublings.
        assert!(per_signature < 2000, "{counts:?}");
    }
}
