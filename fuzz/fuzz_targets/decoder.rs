//! Any word decodes without panicking, prints, and re-encodes to itself when it is legal.
#![no_main]

use gnomon_executor::isa::{Opcode, decode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|word: u32| {
    let instruction = decode(word);
    let _ = instruction.to_string();
    if instruction.opcode != Opcode::Illegal {
        assert_eq!(instruction.encode(), word);
    }
});
