//! The two Groth16 public inputs of a batch proof, each a big-endian 32-byte BN254 scalar.
//!
//! 1. The program commitment: the guest's eight BabyBear elements `e_0..e_7` (each below
//!    2^31; on chain and on disk as eight little-endian `u32`s, `ProgramCommitment::to_bytes`)
//!    packed as the integer `sum e_i * 2^(31 * (7 - i))`, below 2^248. The packing is
//!    injective because every element fits in its 31 bits.
//! 2. The output digest: SHA-256 of the batch's journal (the encoded
//!    [`BatchHeader`]) with its first byte set to zero, read
//!    big-endian, so below 2^248 (SHA-256 truncated to 248 bits).
//!
//! Both are below the BN254 scalar modulus (about 2^253.6), so no reduction is ever needed
//! and the wrap circuit and this code agree on every bit.

use crate::batch::BatchHeader;

/// How many public inputs a batch proof has.
pub const PUBLIC_INPUTS: usize = 2;
/// The BabyBear prime: program commitment elements are canonical below it.
pub const BABY_BEAR_MODULUS: u32 = 2_013_265_921;
/// Bits each commitment element occupies in the packed input.
const ELEMENT_BITS: u32 = 31;

/// The eight commitment elements of `commitment` (eight little-endian `u32`s), or `None` if
/// one is not a canonical BabyBear element.
pub fn commitment_elements(commitment: &[u8; 32]) -> Option<[u32; 8]> {
    let mut elements = [0u32; 8];
    for (element, bytes) in elements.iter_mut().zip(commitment.chunks_exact(4)) {
        let value = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        if value >= BABY_BEAR_MODULUS {
            return None;
        }
        *element = value;
    }
    Some(elements)
}

/// Public input 1: the packed program commitment, or `None` if `commitment` is not canonical.
pub fn commitment_input(commitment: &[u8; 32]) -> Option<[u8; 32]> {
    let elements = commitment_elements(commitment)?;
    // Shift the elements in from the least significant end (e_7 first), emitting whole bytes
    // from the right: 8 * 31 = 248 bits fill bytes 1..32 exactly, and byte 0 stays zero. A
    // 64-bit accumulator never holds more than 38 bits, so no wide arithmetic is needed.
    let mut out = [0u8; 32];
    let mut accumulator: u64 = 0;
    let mut pending_bits = 0;
    let mut position = out.len();
    for &element in elements.iter().rev() {
        accumulator |= u64::from(element) << pending_bits;
        pending_bits += ELEMENT_BITS;
        while pending_bits >= 8 {
            position -= 1;
            out[position] = accumulator as u8;
            accumulator >>= 8;
            pending_bits -= 8;
        }
    }
    Some(out)
}

/// Public input 2: `digest` (a SHA-256 output) with its first byte cleared.
pub fn digest_input(digest: &[u8; 32]) -> [u8; 32] {
    let mut input = *digest;
    input[0] = 0;
    input
}

/// Both public inputs of the proof of the batch `header` run by the program `commitment`, or
/// `None` if `commitment` is not canonical.
pub fn public_inputs(
    commitment: &[u8; 32],
    header: &BatchHeader,
) -> Option<[[u8; 32]; PUBLIC_INPUTS]> {
    Some([
        commitment_input(commitment)?,
        digest_input(&header.output_digest()),
    ])
}
