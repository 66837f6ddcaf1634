//! SHA-256 on the compression precompile.

use crate::syscalls::sha256_compress;

const INITIAL_STATE: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// Incremental SHA-256 whose compressions run as one precompile call each.
#[derive(Clone, Debug)]
pub struct Sha256 {
    state: [u32; 8],
    block: [u32; 16],
    /// Bytes of `block` filled so far.
    filled: usize,
    /// Message length in bytes.
    length: u64,
}

impl Default for Sha256 {
    fn default() -> Self {
        Self::new()
    }
}

impl Sha256 {
    pub const fn new() -> Self {
        Self {
            state: INITIAL_STATE,
            block: [0; 16],
            filled: 0,
            length: 0,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.length += data.len() as u64;
        let mut bytes = data.iter();
        // Up to the next word boundary byte by byte, then whole words, then the tail.
        while self.filled % 4 != 0 {
            match bytes.next() {
                Some(&byte) => self.push_byte(byte),
                None => return,
            }
        }
        let mut words = bytes.as_slice().chunks_exact(4);
        for word in &mut words {
            self.block[self.filled / 4] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
            self.filled += 4;
            self.compress_if_full();
        }
        for &byte in words.remainder() {
            self.push_byte(byte);
        }
    }

    fn push_byte(&mut self, byte: u8) {
        let word = self.filled / 4;
        let shift = 24 - 8 * (self.filled % 4);
        if shift == 24 {
            self.block[word] = 0;
        }
        self.block[word] |= u32::from(byte) << shift;
        self.filled += 1;
        self.compress_if_full();
    }

    fn compress_if_full(&mut self) {
        if self.filled == 64 {
            sha256_compress(&mut self.state, &self.block);
            self.filled = 0;
        }
    }

    /// The digest as eight big-endian-decoded words (the final compression state).
    pub fn finalize_words(mut self) -> [u32; 8] {
        let bit_length = self.length.wrapping_mul(8);
        // The 0x80 byte lands in a word whose later bytes are already zero (a word is
        // cleared when its first byte is written).
        self.push_byte(0x80);
        let mut next_word = self.filled.div_ceil(4);
        if next_word > 14 {
            self.block[next_word..].fill(0);
            sha256_compress(&mut self.state, &self.block);
            next_word = 0;
        }
        self.block[next_word..14].fill(0);
        self.block[14] = (bit_length >> 32) as u32;
        self.block[15] = bit_length as u32;
        sha256_compress(&mut self.state, &self.block);
        self.state
    }

    pub fn finalize(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (bytes, word) in out.chunks_exact_mut(4).zip(self.finalize_words()) {
            bytes.copy_from_slice(&word.to_be_bytes());
        }
        out
    }
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(data);
    hasher.finalize()
}
