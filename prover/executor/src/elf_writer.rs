//! Writing minimal guest ELFs from instruction words, for hand-written programs: tests of the
//! executor and of the prover, and tools that emit machine code directly.

use gnomon_guest_abi::memory::TEXT_START;

const HEADER_SIZE: u32 = 52;
const PROGRAM_HEADER_SIZE: u32 = 32;
const SEGMENT_ALIGN: u32 = 0x1000;

/// A static, little-endian RV32IM executable: `text` at `TEXT_START` (also the entry point),
/// then a writable segment at `data_address` holding `data` followed by zeros up to
/// `data_size` bytes. `data_address` must be a multiple of 4 KiB above the text.
pub fn write_elf(text: &[u32], data_address: u32, data: &[u8], data_size: u32) -> Vec<u8> {
    assert!(
        data_address.is_multiple_of(SEGMENT_ALIGN),
        "the data segment is page-aligned"
    );
    assert!(data.len() as u32 <= data_size, "the data fits its segment");
    let text: Vec<u8> = text.iter().flat_map(|word| word.to_le_bytes()).collect();
    let text_offset = SEGMENT_ALIGN;
    let data_offset = text_offset + (text.len() as u32).next_multiple_of(SEGMENT_ALIGN);

    let mut file = Vec::new();
    let push16 = |file: &mut Vec<u8>, value: u16| file.extend_from_slice(&value.to_le_bytes());
    let push32 = |file: &mut Vec<u8>, value: u32| file.extend_from_slice(&value.to_le_bytes());
    // e_ident: magic, 32-bit, little-endian, version 1, System V ABI.
    file.extend_from_slice(&[0x7f, b'E', b'L', b'F', 1, 1, 1, 0]);
    file.resize(16, 0);
    push16(&mut file, 2); // ET_EXEC
    push16(&mut file, 243); // EM_RISCV
    push32(&mut file, 1); // EV_CURRENT
    push32(&mut file, TEXT_START); // entry
    push32(&mut file, HEADER_SIZE); // program header table
    push32(&mut file, 0); // no section headers
    push32(&mut file, 0); // flags: soft-float ABI, no compressed instructions
    for value in [HEADER_SIZE as u16, PROGRAM_HEADER_SIZE as u16, 2, 40, 0, 0] {
        push16(&mut file, value);
    }
    let segments = [
        (
            text_offset,
            TEXT_START,
            text.len() as u32,
            text.len() as u32,
            5,
        ), // R X
        (data_offset, data_address, data.len() as u32, data_size, 6), // R W
    ];
    for (offset, address, file_size, memory_size, flags) in segments {
        for value in [
            1,
            offset,
            address,
            address,
            file_size,
            memory_size,
            flags,
            SEGMENT_ALIGN,
        ] {
            push32(&mut file, value); // PT_LOAD
        }
    }
    file.resize(text_offset as usize, 0);
    file.extend_from_slice(&text);
    file.resize(data_offset as usize, 0);
    file.extend_from_slice(data);
    file
}
