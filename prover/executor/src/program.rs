//! Guest programs: loading an ELF into the initial memory image.
//!
//! A loadable guest is a static, little-endian, 32-bit RISC-V executable laid out as
//! `gnomon-guest-abi`'s memory map says: one executable, read-only segment starting at
//! `TEXT_START`, then data segments between the end of the text page range and `HEAP_END`,
//! no two segments overlapping, the entry point a word-aligned address in the text. Anything
//! else is refused with an [`ElfError`] that says what is wrong; no input makes the loader
//! panic.

use std::collections::BTreeMap;
use std::ops::Range;

use elf::ElfBytes;
use elf::abi::{
    ELFCLASS32, ELFDATA2LSB, EM_RISCV, ET_EXEC, PF_W, PF_X, PT_DYNAMIC, PT_INTERP, PT_LOAD, PT_TLS,
};
use elf::endian::LittleEndian;
use gnomon_guest_abi::memory;

use crate::commitment::{MemoryTree, PAGE_WORDS, Page, ProgramCommitment};

/// Why an ELF file cannot be loaded as a guest program.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ElfError {
    #[error("not an ELF file (no \\x7fELF magic number)")]
    NotElf,
    #[error("not a valid ELF file: {0}")]
    Malformed(String),
    #[error("not a 32-bit ELF file")]
    Not32Bit,
    #[error("not a little-endian ELF file")]
    NotLittleEndian,
    #[error("not a RISC-V executable (e_machine = {0})")]
    NotRiscV(u16),
    #[error("not a static executable (e_type = {0}, expected ET_EXEC)")]
    NotExecutable(u16),
    #[error("compressed instructions (RVC) are not part of RV32IM")]
    Compressed,
    #[error("dynamic linking and thread-local storage are not supported (segment type {0:#x})")]
    UnsupportedSegment(u32),
    #[error("the ELF file has no program headers")]
    NoSegments,
    #[error("expected exactly one executable segment, found {0}")]
    TextSegmentCount(usize),
    #[error("the executable segment is writable")]
    WritableText,
    #[error("the executable segment starts at {0:#x}, not at TEXT_START ({TEXT_START:#x})", TEXT_START = memory::TEXT_START)]
    TextNotAtTextStart(u32),
    #[error("segment at {vaddr:#x} of {size} bytes lies outside {allowed:#x?}")]
    SegmentOutOfRange {
        vaddr: u64,
        size: u64,
        allowed: Range<u32>,
    },
    #[error(
        "segment at {vaddr:#x} has more file bytes ({file_size}) than memory bytes ({mem_size})"
    )]
    FileSizeExceedsMemSize {
        vaddr: u64,
        file_size: u64,
        mem_size: u64,
    },
    #[error("segments at {0:#x} and {1:#x} overlap")]
    Overlap(u32, u32),
    #[error("entry point {0:#x} is not a word-aligned address inside the text segment")]
    BadEntry(u64),
}

/// A guest program: entry point, text range and initial memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    entry: u32,
    text_end: u32,
    /// Initial memory by page index; pages absent here are zero.
    image: BTreeMap<u32, Box<Page>>,
}

const EF_RISCV_RVC: u32 = 0x1;

impl Program {
    /// Loads a guest ELF.
    pub fn from_elf(bytes: &[u8]) -> Result<Self, ElfError> {
        // The identification bytes are checked here so that a 64-bit or big-endian file gets
        // its own error rather than whatever parsing it with the wrong layout runs into.
        match bytes {
            [0x7f, b'E', b'L', b'F', ELFCLASS32, ELFDATA2LSB, ..] => {}
            [0x7f, b'E', b'L', b'F', ELFCLASS32, ..] => return Err(ElfError::NotLittleEndian),
            [0x7f, b'E', b'L', b'F', _, ..] => return Err(ElfError::Not32Bit),
            _ => return Err(ElfError::NotElf),
        }
        let malformed = |error: elf::ParseError| ElfError::Malformed(error.to_string());
        let file = ElfBytes::<LittleEndian>::minimal_parse(bytes).map_err(malformed)?;
        let header = &file.ehdr;
        if header.e_machine != EM_RISCV {
            return Err(ElfError::NotRiscV(header.e_machine));
        }
        if header.e_type != ET_EXEC {
            return Err(ElfError::NotExecutable(header.e_type));
        }
        if header.e_flags & EF_RISCV_RVC != 0 {
            return Err(ElfError::Compressed);
        }
        let segments = file.segments().ok_or(ElfError::NoSegments)?;

        let mut loads = Vec::new();
        for segment in segments.iter() {
            match segment.p_type {
                PT_LOAD => loads.push(segment),
                PT_DYNAMIC | PT_INTERP | PT_TLS => {
                    return Err(ElfError::UnsupportedSegment(segment.p_type));
                }
                _ => {}
            }
        }
        let texts: Vec<_> = loads
            .iter()
            .filter(|segment| segment.p_flags & PF_X != 0)
            .collect();
        let [text] = texts.as_slice() else {
            return Err(ElfError::TextSegmentCount(texts.len()));
        };
        if text.p_flags & PF_W != 0 {
            return Err(ElfError::WritableText);
        }
        if text.p_vaddr != u64::from(memory::TEXT_START) {
            return Err(ElfError::TextNotAtTextStart(text.p_vaddr as u32));
        }
        let text_range = segment_range(text, memory::TEXT_START..memory::HEAP_END)?;
        let text_end = text_range.end.next_multiple_of(memory::PAGE_SIZE);

        let mut program = Self {
            entry: 0,
            text_end,
            image: BTreeMap::new(),
        };
        let mut ranges = Vec::new();
        for segment in &loads {
            let allowed = if segment.p_flags & PF_X != 0 {
                memory::TEXT_START..text_end
            } else {
                text_end..memory::HEAP_END
            };
            let range = segment_range(segment, allowed)?;
            if segment.p_filesz > segment.p_memsz {
                return Err(ElfError::FileSizeExceedsMemSize {
                    vaddr: segment.p_vaddr,
                    file_size: segment.p_filesz,
                    mem_size: segment.p_memsz,
                });
            }
            let data = file.segment_data(segment).map_err(malformed)?;
            program.write_bytes(range.start, data);
            ranges.push(range);
        }
        ranges.sort_by_key(|range| range.start);
        for pair in ranges.windows(2) {
            if pair[0].end > pair[1].start {
                return Err(ElfError::Overlap(pair[0].start, pair[1].start));
            }
        }

        let entry = header.e_entry;
        if entry % 4 != 0 || !(u64::from(memory::TEXT_START)..u64::from(text_end)).contains(&entry)
        {
            return Err(ElfError::BadEntry(entry));
        }
        program.entry = entry as u32;
        Ok(program)
    }

    fn write_bytes(&mut self, start: u32, data: &[u8]) {
        for (offset, &byte) in data.iter().enumerate() {
            let address = start + offset as u32;
            let page = self
                .image
                .entry(address / memory::PAGE_SIZE)
                .or_insert_with(|| Box::new([0; PAGE_WORDS]));
            let word = &mut page[(address % memory::PAGE_SIZE / 4) as usize];
            let shift = 8 * (address % 4);
            *word = (*word & !(0xff << shift)) | (u32::from(byte) << shift);
        }
        self.image
            .retain(|_, page| page.iter().any(|&word| word != 0));
    }

    /// The address of the first instruction.
    pub fn entry(&self) -> u32 {
        self.entry
    }

    /// The text segment, rounded up to whole pages: instructions are fetched only here, and
    /// stores are refused here.
    pub fn text(&self) -> Range<u32> {
        memory::TEXT_START..self.text_end
    }

    /// Initial memory contents by page index (zero pages omitted).
    pub fn image(&self) -> &BTreeMap<u32, Box<Page>> {
        &self.image
    }

    /// The word at `address` in the initial image.
    pub fn word(&self, address: u32) -> u32 {
        self.image
            .get(&(address / memory::PAGE_SIZE))
            .map_or(0, |page| page[(address % memory::PAGE_SIZE / 4) as usize])
    }

    /// The memory tree of the initial image.
    pub fn memory_tree(&self) -> MemoryTree {
        MemoryTree::from_pages(self.image.iter().map(|(&index, page)| (index, &**page)))
    }

    /// The program commitment: what proofs of this program are verified against.
    pub fn commitment(&self) -> ProgramCommitment {
        ProgramCommitment::new(self.entry, self.text_end, self.memory_tree().root())
    }
}

/// The address range of a segment's memory image, if it lies inside `allowed`.
fn segment_range(
    segment: &elf::segment::ProgramHeader,
    allowed: Range<u32>,
) -> Result<Range<u32>, ElfError> {
    let out_of_range = || ElfError::SegmentOutOfRange {
        vaddr: segment.p_vaddr,
        size: segment.p_memsz,
        allowed: allowed.clone(),
    };
    let end = segment
        .p_vaddr
        .checked_add(segment.p_memsz)
        .ok_or_else(out_of_range)?;
    if segment.p_vaddr < u64::from(allowed.start) || end > u64::from(allowed.end) {
        return Err(out_of_range());
    }
    Ok(segment.p_vaddr as u32..end as u32)
}
