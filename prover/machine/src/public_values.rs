//! What a segment proof says, as field elements.
//!
//! Layout (each word as two 16-bit limbs, low first; each digest as its field elements):
//!
//! | offset | length | value |
//! |---|---|---|
//! | 0 | 8 | program commitment |
//! | 8 | 1 | end of the text, in pages (data pages start here) |
//! | 9 | 1 | segment index |
//! | 10 | 1 | start pc |
//! | 11 | 1 | end pc (where the next segment resumes; the HALT's address if it halted) |
//! | 12 | 1 | cycles in the segment |
//! | 13 | 64 | registers at the start |
//! | 77 | 64 | registers at the end |
//! | 141 | 8 | memory root before |
//! | 149 | 8 | memory root after |
//! | 157 | 1 | whether any page was touched (the roots differ only if so) |
//! | 158 | 1 | whether the segment halted |
//! | 159 | 2 | exit code (0 unless halted) |
//! | 161 | 16 | SHA-256 of the input consumed (0 unless halted) |
//! | 177 | 16 | SHA-256 of the output committed (0 unless halted) |
//!
//! Two segments chain when the first's end pc, end registers and memory root after equal the
//! second's start pc, start registers and memory root before, and their indices are
//! consecutive.

use gnomon_executor::{Digest, ProgramCommitment, Segment};
use gnomon_guest_abi::memory;
use p3_field::{PrimeCharacteristicRing, PrimeField32};

use crate::config::F;

/// Offsets into the public values.
pub mod offset {
    pub const PROGRAM: usize = 0;
    pub const TEXT_END_PAGE: usize = 8;
    pub const SEGMENT_INDEX: usize = 9;
    pub const START_PC: usize = 10;
    pub const END_PC: usize = 11;
    pub const CYCLES: usize = 12;
    pub const START_REGISTERS: usize = 13;
    pub const END_REGISTERS: usize = 77;
    pub const ROOT_BEFORE: usize = 141;
    pub const ROOT_AFTER: usize = 149;
    pub const TOUCHED: usize = 157;
    pub const HALTED: usize = 158;
    pub const EXIT_CODE: usize = 159;
    pub const INPUT_DIGEST: usize = 161;
    pub const OUTPUT_DIGEST: usize = 177;
    pub const LEN: usize = 193;
}

/// The public values of a segment proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicValues {
    pub program: ProgramCommitment,
    pub text_end_page: u32,
    pub segment_index: u32,
    pub start_pc: u32,
    pub end_pc: u32,
    pub cycles: u32,
    pub start_registers: [u32; 32],
    pub end_registers: [u32; 32],
    pub memory_root_before: Digest,
    pub memory_root_after: Digest,
    pub touched: bool,
    pub halted: bool,
    pub exit_code: u32,
    pub input_digest: [u32; 8],
    pub output_digest: [u32; 8],
}

fn limbs(word: u32) -> [F; 2] {
    [F::from_u32(word & 0xffff), F::from_u32(word >> 16)]
}

fn digest_words(bytes: &[u8; 32]) -> [u32; 8] {
    core::array::from_fn(|i| u32::from_be_bytes(bytes[4 * i..4 * i + 4].try_into().expect("4")))
}

impl PublicValues {
    /// The public values of `segment` of the program with `commitment`, whose text ends at
    /// `text_end`.
    pub fn new(commitment: &ProgramCommitment, text_end: u32, segment: &Segment) -> Self {
        let halt = segment.halt.as_ref();
        Self {
            program: *commitment,
            text_end_page: text_end / memory::PAGE_SIZE,
            segment_index: segment.index,
            start_pc: segment.start_pc,
            end_pc: segment.end_pc,
            cycles: segment.cycles,
            start_registers: segment.start_registers,
            end_registers: segment.end_registers,
            memory_root_before: segment.memory_root_before,
            memory_root_after: segment.memory_root_after,
            touched: !segment.pages.is_empty(),
            halted: halt.is_some(),
            exit_code: halt.map_or(0, |halt| halt.exit_code),
            input_digest: halt.map_or([0; 8], |halt| digest_words(&halt.input_digest)),
            output_digest: halt.map_or([0; 8], |halt| digest_words(&halt.output_digest)),
        }
    }

    /// The field elements, in the layout of the module documentation.
    pub fn to_field_elements(&self) -> Vec<F> {
        let mut values = Vec::with_capacity(offset::LEN);
        values.extend(self.program.0);
        values.push(F::from_u32(self.text_end_page));
        values.push(F::from_u32(self.segment_index));
        values.extend([self.start_pc, self.end_pc, self.cycles].map(F::from_u32));
        values.extend(self.start_registers.iter().flat_map(|&word| limbs(word)));
        values.extend(self.end_registers.iter().flat_map(|&word| limbs(word)));
        values.extend(self.memory_root_before);
        values.extend(self.memory_root_after);
        values.push(F::from_bool(self.touched));
        values.push(F::from_bool(self.halted));
        values.extend(limbs(self.exit_code));
        values.extend(self.input_digest.iter().flat_map(|&word| limbs(word)));
        values.extend(self.output_digest.iter().flat_map(|&word| limbs(word)));
        debug_assert_eq!(values.len(), offset::LEN);
        values
    }

    /// The inverse of [`Self::to_field_elements`]; `None` if the slice has the wrong length or
    /// a value is out of its range (a limb of 2^16 or more, a flag other than 0 or 1).
    pub fn from_field_elements(values: &[F]) -> Option<Self> {
        if values.len() != offset::LEN {
            return None;
        }
        let raw = |index: usize| values[index].as_canonical_u32();
        let word = |index: usize| -> Option<u32> {
            let (lo, hi) = (raw(index), raw(index + 1));
            (lo < 1 << 16 && hi < 1 << 16).then_some(lo | hi << 16)
        };
        fn words<const N: usize>(
            word: impl Fn(usize) -> Option<u32>,
            start: usize,
        ) -> Option<[u32; N]> {
            let mut out = [0; N];
            for (i, slot) in out.iter_mut().enumerate() {
                *slot = word(start + 2 * i)?;
            }
            Some(out)
        }
        let flag = |index: usize| match raw(index) {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        };
        let digest = |start: usize| -> Digest { values[start..start + 8].try_into().expect("8") };
        Some(Self {
            program: ProgramCommitment(digest(offset::PROGRAM)),
            text_end_page: raw(offset::TEXT_END_PAGE),
            segment_index: raw(offset::SEGMENT_INDEX),
            start_pc: raw(offset::START_PC),
            end_pc: raw(offset::END_PC),
            cycles: raw(offset::CYCLES),
            start_registers: words(word, offset::START_REGISTERS)?,
            end_registers: words(word, offset::END_REGISTERS)?,
            memory_root_before: digest(offset::ROOT_BEFORE),
            memory_root_after: digest(offset::ROOT_AFTER),
            touched: flag(offset::TOUCHED)?,
            halted: flag(offset::HALTED)?,
            exit_code: word(offset::EXIT_CODE)?,
            input_digest: words(word, offset::INPUT_DIGEST)?,
            output_digest: words(word, offset::OUTPUT_DIGEST)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_elements_round_trip() {
        let values = PublicValues {
            program: ProgramCommitment([F::from_u32(3); 8]),
            text_end_page: 70,
            segment_index: 2,
            start_pc: 0x1_0000,
            end_pc: 0x1_0040,
            cycles: 1024,
            start_registers: core::array::from_fn(|i| i as u32 * 0x0101_0101),
            end_registers: core::array::from_fn(|i| u32::MAX - i as u32),
            memory_root_before: [F::ONE; 8],
            memory_root_after: [F::TWO; 8],
            touched: true,
            halted: true,
            exit_code: 0xdead_beef,
            input_digest: [7; 8],
            output_digest: [u32::MAX; 8],
        };
        let elements = values.to_field_elements();
        assert_eq!(elements.len(), offset::LEN);
        assert_eq!(PublicValues::from_field_elements(&elements), Some(values));
        let mut bad = elements.clone();
        bad[offset::HALTED] = F::TWO;
        assert_eq!(PublicValues::from_field_elements(&bad), None);
        bad = elements;
        bad[offset::START_REGISTERS] = F::from_u32(1 << 16);
        assert_eq!(PublicValues::from_field_elements(&bad), None);
    }
}
