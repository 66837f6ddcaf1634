//! Hashing for the state commitment: Poseidon2 over BabyBear (width 16), reached through the
//! [`Permutation`] trait so that a guest can pass its precompile and the engine the software
//! permutation ([`NativePoseidon2`], Plonky3's `default_babybear_poseidon2_16`, the same
//! constants as the precompile).
//!
//! - Field elements are canonical BabyBear values as `u32` (below [`BABY_BEAR_MODULUS`]).
//! - Bytes enter as 16-bit little-endian limbs, one per element (an odd last byte is padded
//!   with a zero byte), so every element is canonical.
//! - [`hash_bytes`] is an overwrite-mode sponge of rate 8 from the all-zero state: the
//!   elements `domain_lo, domain_hi, len_0..len_3` (the domain tag and the byte length as
//!   16-bit limbs) and then the byte limbs are cut into chunks of 8 (the last one
//!   zero-padded; the length prefix makes that unambiguous); each chunk overwrites state
//!   elements 0..8 and the state is permuted; the digest is elements 0..8.
//! - [`compress`] of two digests is elements 0..8 of the permutation of their concatenation
//!   (Plonky3's `TruncatedPermutation`, as the zkVM's memory tree).

/// The state width of the permutation.
pub const WIDTH: usize = 16;
/// Elements absorbed per permutation.
pub const RATE: usize = 8;
/// The BabyBear prime, 15 * 2^27 + 1.
pub const BABY_BEAR_MODULUS: u32 = 2_013_265_921;

/// A digest: eight canonical BabyBear elements.
pub type Digest = [u32; 8];

/// Domain tag of account leaves.
pub const LEAF_DOMAIN: u32 = u32::from_be_bytes(*b"gnlf");
/// Domain tag of the global (non-account) state.
pub const GLOBAL_DOMAIN: u32 = u32::from_be_bytes(*b"gnst");

/// The Poseidon2 permutation (BabyBear, width 16, Plonky3's default round constants) on
/// canonical elements.
pub trait Permutation {
    fn permute(&self, state: &mut [u32; WIDTH]);
}

/// Whether every element of `digest` is canonical.
pub fn is_canonical(digest: &Digest) -> bool {
    digest.iter().all(|&element| element < BABY_BEAR_MODULUS)
}

/// The sponge's first elements: the domain tag and the byte length, as 16-bit limbs.
fn sponge_prefix(domain: u32, bytes: &[u8]) -> [u32; 6] {
    let length = bytes.len() as u64;
    [
        domain & 0xffff,
        domain >> 16,
        (length & 0xffff) as u32,
        ((length >> 16) & 0xffff) as u32,
        ((length >> 32) & 0xffff) as u32,
        (length >> 48) as u32,
    ]
}

/// Sponge hash of `bytes` under `domain` (see the module documentation).
pub fn hash_bytes<P: Permutation + ?Sized>(permutation: &P, domain: u32, bytes: &[u8]) -> Digest {
    let prefix = sponge_prefix(domain, bytes);
    let mut state = [0u32; WIDTH];
    state[..prefix.len()].copy_from_slice(&prefix);
    let mut filled = prefix.len();
    let mut rest = bytes;
    // A chunk at a time, each as many limbs as the rate has room for: in a guest the per-limb
    // bookkeeping of a single stream of elements cost more than the permutations.
    loop {
        let (chunk, tail) = rest.split_at(rest.len().min(2 * (RATE - filled)));
        let mut pairs = chunk.chunks_exact(2);
        for (element, pair) in state[filled..].iter_mut().zip(&mut pairs) {
            *element = u32::from(pair[0]) | (u32::from(pair[1]) << 8);
        }
        filled += chunk.len() / 2;
        if let [odd] = pairs.remainder() {
            state[filled] = u32::from(*odd);
            filled += 1;
        }
        rest = tail;
        if filled < RATE {
            // The last chunk, partial.
            state[filled..RATE].fill(0);
            permutation.permute(&mut state);
            break;
        }
        permutation.permute(&mut state);
        filled = 0;
        if rest.is_empty() {
            break;
        }
    }
    let mut digest = [0; 8];
    digest.copy_from_slice(&state[..8]);
    digest
}

/// The parent of two digests.
pub fn compress<P: Permutation + ?Sized>(permutation: &P, left: &Digest, right: &Digest) -> Digest {
    let mut state = [0u32; WIDTH];
    state[..8].copy_from_slice(left);
    state[8..].copy_from_slice(right);
    permutation.permute(&mut state);
    let mut digest = [0; 8];
    digest.copy_from_slice(&state[..8]);
    digest
}

/// Poseidon2 computed in software with Plonky3.
#[cfg(feature = "native-poseidon2")]
#[derive(Clone, Debug)]
pub struct NativePoseidon2 {
    inner: p3_baby_bear::Poseidon2BabyBear<WIDTH>,
}

#[cfg(feature = "native-poseidon2")]
impl Default for NativePoseidon2 {
    fn default() -> Self {
        Self {
            inner: p3_baby_bear::default_babybear_poseidon2_16(),
        }
    }
}

#[cfg(feature = "native-poseidon2")]
impl Permutation for NativePoseidon2 {
    fn permute(&self, state: &mut [u32; WIDTH]) {
        use p3_baby_bear::BabyBear;
        use p3_field::{PrimeCharacteristicRing, PrimeField32};
        use p3_symmetric::Permutation as _;
        let mut elements = state.map(BabyBear::from_u32);
        self.inner.permute_mut(&mut elements);
        *state = elements.map(|element| element.as_canonical_u32());
    }
}

#[cfg(all(test, feature = "native-poseidon2"))]
mod tests {
    use super::*;

    #[test]
    fn the_native_permutation_matches_plonky3_and_stays_canonical() {
        use p3_baby_bear::BabyBear;
        use p3_field::{PrimeCharacteristicRing, PrimeField32};
        use p3_symmetric::Permutation as _;
        let native = NativePoseidon2::default();
        let mut state: [u32; WIDTH] = core::array::from_fn(|i| i as u32 * 1_000_003);
        let mut reference = state.map(BabyBear::from_u32);
        p3_baby_bear::default_babybear_poseidon2_16().permute_mut(&mut reference);
        native.permute(&mut state);
        assert_eq!(state, reference.map(|element| element.as_canonical_u32()));
        assert!(state.iter().all(|&element| element < BABY_BEAR_MODULUS));
    }

    /// The module documentation's sponge, one element at a time.
    fn sponge_by_elements(domain: u32, bytes: &[u8]) -> Digest {
        let native = NativePoseidon2::default();
        let limbs = bytes
            .chunks(2)
            .map(|pair| u32::from(pair[0]) | (u32::from(pair.get(1).copied().unwrap_or(0)) << 8));
        let elements: alloc::vec::Vec<u32> = sponge_prefix(domain, bytes)
            .into_iter()
            .chain(limbs)
            .collect();
        let mut state = [0u32; WIDTH];
        for chunk in elements.chunks(RATE) {
            state[..RATE].fill(0);
            state[..chunk.len()].copy_from_slice(chunk);
            native.permute(&mut state);
        }
        state[..8].try_into().unwrap()
    }

    #[test]
    fn the_sponge_is_the_documented_one_at_every_length() {
        let native = NativePoseidon2::default();
        let bytes: alloc::vec::Vec<u8> = (0..80u32).map(|at| (at * 131 + 7) as u8).collect();
        for length in 0..bytes.len() {
            assert_eq!(
                hash_bytes(&native, LEAF_DOMAIN, &bytes[..length]),
                sponge_by_elements(LEAF_DOMAIN, &bytes[..length]),
                "{length} bytes"
            );
        }
    }

    #[test]
    fn hashing_separates_domains_lengths_and_padding() {
        let native = NativePoseidon2::default();
        let a = hash_bytes(&native, LEAF_DOMAIN, b"abc");
        assert_ne!(a, hash_bytes(&native, GLOBAL_DOMAIN, b"abc"));
        assert_ne!(a, hash_bytes(&native, LEAF_DOMAIN, b"abc\0"));
        assert_ne!(
            hash_bytes(&native, LEAF_DOMAIN, b""),
            hash_bytes(&native, LEAF_DOMAIN, b"\0\0")
        );
        assert_eq!(a, hash_bytes(&native, LEAF_DOMAIN, b"abc"));
        assert!(is_canonical(&a));
        assert_ne!(
            compress(&native, &a, &[0; 8]),
            compress(&native, &[0; 8], &a)
        );
    }
}
