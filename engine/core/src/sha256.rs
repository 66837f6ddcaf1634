//! SHA-256 for what the settlement program recomputes on chain with its own SHA-256 syscall:
//! the deposit and oracle chains, the output's list hashes and the oracle digest.
//!
//! The compression function is reached through [`Sha256Compression`], as the Poseidon2
//! permutation is through [`crate::hash::Permutation`], so that a guest passes its zkVM's
//! precompile (one call per 64-byte block, where software SHA-256 costs about 4,000 cycles)
//! and the engine [`SoftSha256`]. [`Sha256`] does the padding (FIPS 180-4) around either.

/// SHA-256's compression function: folds one block, as sixteen big-endian words, into the
/// eight-word state.
pub trait Sha256Compression {
    fn compress(&self, state: &mut [u32; 8], block: &[u32; 16]);
}

/// The compression function in software (the `sha2` crate's).
#[derive(Clone, Copy, Debug, Default)]
pub struct SoftSha256;

impl Sha256Compression for SoftSha256 {
    fn compress(&self, state: &mut [u32; 8], block: &[u32; 16]) {
        let mut bytes = [0u8; 64];
        for (chunk, word) in bytes.chunks_exact_mut(4).zip(block) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        sha2::compress256(state, &[bytes.into()]);
    }
}

const INITIAL_STATE: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// Incremental SHA-256 over a compression function. It is also a [`borsh::io::Write`], so a
/// value can be hashed as it is encoded, without a buffer.
#[derive(Clone, Debug)]
pub struct Sha256<'a, C: ?Sized> {
    compression: &'a C,
    state: [u32; 8],
    block: [u8; 64],
    /// Bytes of `block` filled so far, always below 64.
    filled: usize,
    /// Message length in bytes.
    length: u64,
}

impl<'a, C: Sha256Compression + ?Sized> Sha256<'a, C> {
    pub fn new(compression: &'a C) -> Self {
        Self {
            compression,
            state: INITIAL_STATE,
            block: [0; 64],
            filled: 0,
            length: 0,
        }
    }

    pub fn update(&mut self, mut bytes: &[u8]) {
        self.length = self.length.wrapping_add(bytes.len() as u64);
        while !bytes.is_empty() {
            let taken = bytes.len().min(64 - self.filled);
            self.block[self.filled..self.filled + taken].copy_from_slice(&bytes[..taken]);
            self.filled += taken;
            bytes = &bytes[taken..];
            if self.filled == 64 {
                self.compress_block();
            }
        }
    }

    pub fn finalize(mut self) -> [u8; 32] {
        let bit_length = self.length.wrapping_mul(8);
        self.block[self.filled] = 0x80;
        self.block[self.filled + 1..].fill(0);
        if self.filled >= 56 {
            self.compress_block();
            self.block.fill(0);
        }
        self.block[56..].copy_from_slice(&bit_length.to_be_bytes());
        self.compress_block();
        let mut digest = [0u8; 32];
        for (chunk, word) in digest.chunks_exact_mut(4).zip(self.state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        digest
    }

    fn compress_block(&mut self) {
        let words = core::array::from_fn(|at| {
            let bytes = &self.block[4 * at..4 * at + 4];
            u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
        });
        self.compression.compress(&mut self.state, &words);
        self.filled = 0;
    }
}

impl<C: Sha256Compression + ?Sized> borsh::io::Write for Sha256<'_, C> {
    fn write(&mut self, bytes: &[u8]) -> borsh::io::Result<usize> {
        self.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> borsh::io::Result<()> {
        Ok(())
    }
}

/// SHA-256 of the concatenation of `parts`.
pub fn sha256<C: Sha256Compression + ?Sized>(compression: &C, parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new(compression);
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use sha2::Digest as _;

    #[test]
    fn matches_sha2_at_every_length_around_the_block_boundaries() {
        let message: Vec<u8> = (0..200u32).map(|at| (at * 37 + 11) as u8).collect();
        for length in 0..message.len() {
            let expected: [u8; 32] = sha2::Sha256::digest(&message[..length]).into();
            assert_eq!(sha256(&SoftSha256, &[&message[..length]]), expected);
            // Fed in uneven pieces, across block boundaries.
            let (head, tail) = message[..length].split_at(length / 3);
            let (middle, tail) = tail.split_at(tail.len() / 2);
            assert_eq!(sha256(&SoftSha256, &[head, middle, tail]), expected);
        }
    }
}
