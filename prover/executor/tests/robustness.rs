//! No input makes the host panic: arbitrary and mutated ELF files, and arbitrary code run to a
//! cycle limit, end in a typed error or a trap. (Deeper, coverage-guided runs of the same
//! properties live in fuzz/.)

use gnomon_executor::{ElfError, Input, Options, Program, execute};
use proptest::prelude::*;

fn fibonacci_elf() -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../guest/elf/fibonacci.elf",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn run_briefly(program: &Program) {
    let mut input = Input::new();
    input.write(&10u32).hint_frame(&[1, 2, 3]);
    let options = Options {
        cycle_limit: 20_000,
        ..Options::default()
    };
    let _ = execute(program, &input, &options);
    let _ = gnomon_executor::trace(program, &input, &options);
}

/// A static ELF with `words` as its text at TEXT_START and one writable data page after it.
fn elf_with_text(words: &[u32]) -> Vec<u8> {
    let mut elf = fibonacci_elf();
    let program = Program::from_elf(&elf).unwrap();
    let text_offset = 0x1000;
    assert_eq!(program.entry(), 0x1_0000);
    for (chunk, word) in elf[text_offset..].chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    elf
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic_the_loader(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Program::from_elf(&bytes);
    }

    #[test]
    fn mutated_elves_load_or_fail_cleanly_and_run_without_panics(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        truncate in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let mut elf = fibonacci_elf();
        // Mutate the headers more often than the body: that is where the loader's checks are.
        for (index, value) in flips {
            let position = index.index(if value % 2 == 0 { 256 } else { elf.len() });
            elf[position] = value;
        }
        if let Some(index) = truncate {
            elf.truncate(index.index(elf.len()));
        }
        if let Ok(program) = Program::from_elf(&elf) {
            run_briefly(&program);
        }
    }

    #[test]
    fn arbitrary_code_traps_or_halts_without_panics(words in proptest::collection::vec(any::<u32>(), 1..64)) {
        let program = Program::from_elf(&elf_with_text(&words)).unwrap();
        run_briefly(&program);
    }
}

#[test]
fn loader_names_what_is_wrong() {
    let elf = fibonacci_elf();
    let with = |offset: usize, bytes: &[u8]| {
        let mut elf = elf.clone();
        elf[offset..offset + bytes.len()].copy_from_slice(bytes);
        Program::from_elf(&elf)
    };
    assert_eq!(Program::from_elf(b"not an elf"), Err(ElfError::NotElf));
    assert!(matches!(
        Program::from_elf(&elf[..40]),
        Err(ElfError::Malformed(_))
    ));
    assert_eq!(with(4, &[2]), Err(ElfError::Not32Bit));
    assert_eq!(with(5, &[2]), Err(ElfError::NotLittleEndian));
    assert_eq!(with(18, &62u16.to_le_bytes()), Err(ElfError::NotRiscV(62)));
    assert_eq!(
        with(16, &3u16.to_le_bytes()),
        Err(ElfError::NotExecutable(3))
    );
    assert_eq!(with(36, &1u32.to_le_bytes()), Err(ElfError::Compressed));
    assert_eq!(
        with(24, &0x1_0002u32.to_le_bytes()),
        Err(ElfError::BadEntry(0x1_0002))
    );
    assert_eq!(
        with(24, &0x4000_0000u32.to_le_bytes()),
        Err(ElfError::BadEntry(0x4000_0000))
    );
    // The first program header is the text segment: make it writable, then move it.
    let flags = 52 + 24;
    assert_eq!(
        with(flags, &7u32.to_le_bytes()),
        Err(ElfError::WritableText)
    );
    assert_eq!(
        with(52 + 8, &0x2_0000u32.to_le_bytes()),
        Err(ElfError::TextNotAtTextStart(0x2_0000))
    );
    // The second is data: make it executable too, or move it into the text.
    assert_eq!(
        with(52 + 32 + 24, &5u32.to_le_bytes()),
        Err(ElfError::TextSegmentCount(2))
    );
    assert!(matches!(
        with(52 + 32 + 8, &0x1_0000u32.to_le_bytes()),
        Err(ElfError::SegmentOutOfRange {
            vaddr: 0x1_0000,
            ..
        })
    ));
}
