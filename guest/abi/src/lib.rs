//! The contract between a Gnomon guest program and the zkVM that runs and proves it.
//!
//! This crate owns the numbers both sides must agree on: the memory map, the syscall numbers
//! and their register conventions, the stream descriptors and the framing of the input
//! streams. It is `no_std`, has no dependencies and holds no logic beyond `const fn` helpers,
//! so that the guest SDK, the executor and the prover's AIR constraints can all depend on it
//! without pulling anything else in. Changing any value here changes the program commitment
//! of every guest (see [`ZKVM_VERSION`]).
#![no_std]

/// Version of the machine's semantics. It is hashed into every program commitment, so a proof
/// made under other semantics never verifies against a commitment computed under these.
pub const ZKVM_VERSION: u32 = 1;

pub mod memory {
    //! The guest address space.
    //!
    //! ```text
    //! 0x0000_0000 ┌──────────────────────────┐
    //!             │ reserved                 │  any guest load or store traps; the prover
    //!             │                          │  addresses the register file here
    //! 0x0001_0000 ├──────────────────────────┤ TEXT_START
    //!             │ .text (execute only)     │  ends on a page boundary: text_end
    //!             ├──────────────────────────┤
    //!             │ .rodata .data .bss       │  read, write
    //!             │ heap ↓ grows up          │  _end .. HEAP_END
    //! HEAP_END    ├──────────────────────────┤
    //!             │ stack ↑ grows down       │  STACK_SIZE
    //! 0x2000_0000 └──────────────────────────┘ MEMORY_END = STACK_TOP
    //! ```
    //!
    //! Loads and stores are allowed in data memory, `[text_end, MEMORY_END)`, instruction
    //! fetches in `[TEXT_START, text_end)`; everything else is an access fault. Code is never
    //! data: the prover fetches instructions from a table fixed by the program, apart from the
    //! memory that loads and stores use.

    /// Bytes in a machine word.
    pub const WORD_SIZE: u32 = 4;
    /// Bytes in a memory page: the unit of the memory Merkle tree.
    pub const PAGE_SIZE: u32 = 1024;
    /// Words in a memory page.
    pub const PAGE_WORDS: u32 = PAGE_SIZE / WORD_SIZE;
    /// Where the prover's memory argument addresses the register file (word `i` is `x_i`).
    /// Registers are not part of the committed memory image: segments carry them.
    pub const REGISTERS_START: u32 = 0;
    /// Number of general-purpose registers.
    pub const REGISTER_COUNT: u32 = 32;
    /// End of the reserved low region that the guest can never access.
    pub const GUARD_END: u32 = 0x0001_0000;
    /// Where the linker script places `.text`; the entry point lies inside it.
    pub const TEXT_START: u32 = GUARD_END;
    /// End of guest memory (exclusive).
    pub const MEMORY_END: u32 = 0x2000_0000;
    /// Initial stack pointer, set by the SDK's start-up code.
    pub const STACK_TOP: u32 = MEMORY_END;
    /// Bytes reserved for the stack below [`STACK_TOP`].
    pub const STACK_SIZE: u32 = 8 << 20;
    /// End of the heap (exclusive): the allocator exits with an out-of-memory error beyond it.
    pub const HEAP_END: u32 = STACK_TOP - STACK_SIZE;
    /// Pages in the address space.
    pub const PAGE_COUNT: u32 = MEMORY_END / PAGE_SIZE;
    /// Depth of the memory Merkle tree (pages are its leaves).
    pub const MERKLE_DEPTH: u32 = PAGE_COUNT.trailing_zeros();

    const _: () = assert!(PAGE_COUNT.is_power_of_two());
    const _: () = assert!(TEXT_START.is_multiple_of(PAGE_SIZE));
    const _: () = assert!(HEAP_END.is_multiple_of(PAGE_SIZE));
    const _: () = assert!(REGISTERS_START + REGISTER_COUNT * WORD_SIZE <= GUARD_END);
}

pub mod syscall {
    //! Syscall numbers and register conventions.
    //!
    //! A guest traps into the machine with `ecall`. The syscall number is in `t0` (x5), the
    //! arguments in `a0..a2` (x10..x12), and the result, where there is one, comes back in `a0`.
    //! Every pointer argument must be word-aligned and every buffer must lie in data memory,
    //! or the run stops with a trap.

    /// Register holding the syscall number (`t0`).
    pub const REG_SYSCALL: usize = 5;
    /// Register holding the first argument and the result (`a0`).
    pub const REG_A0: usize = 10;
    /// Register holding the second argument (`a1`).
    pub const REG_A1: usize = 11;
    /// Register holding the third argument (`a2`).
    pub const REG_A2: usize = 12;

    /// Stop the machine. `a0` = exit code (0 = success), `a1` = pointer to
    /// [`HALT_DIGEST_WORDS`] words: the SHA-256 digest of the input consumed, then the SHA-256
    /// digest of the public output committed, each as 8 big-endian-decoded words.
    pub const HALT: u32 = 0;
    /// Read words from an input stream. `a0` = descriptor ([`super::fd::STDIN`] or
    /// [`super::fd::HINT`]), `a1` = word-aligned destination, `a2` = number of words, at most
    /// [`MAX_READ_WORDS`]. Reading past the end of a stream is a trap.
    pub const READ: u32 = 1;
    /// Write bytes to an output stream. `a0` = descriptor ([`super::fd::STDOUT`],
    /// [`super::fd::STDERR`] or [`super::fd::JOURNAL`]), `a1` = pointer, `a2` = length in bytes.
    /// Changes no guest state and never fails: bytes for another descriptor or from outside
    /// data memory are dropped. What a proof binds of the journal is the digest passed to
    /// [`HALT`], which the SDK computes inside the guest.
    pub const WRITE: u32 = 2;
    /// Poseidon2 permutation over BabyBear, width 16, in place. `a0` = pointer to 16 words,
    /// each a canonical BabyBear element (below 2^31 - 2^27 + 1), or the run stops with a trap.
    pub const POSEIDON2_PERMUTE: u32 = 3;
    /// SHA-256 compression function. `a0` = pointer to the 8-word state (updated in place),
    /// `a1` = pointer to the 16-word message block; words are big-endian-decoded, as in
    /// FIPS 180-4.
    pub const SHA256_COMPRESS: u32 = 4;
    /// Multiplication modulo p = 2^255 - 19 (Curve25519's base field). `a0` = pointer to x,
    /// `a1` = pointer to y, each [`FP25519_WORDS`] little-endian words holding any integer
    /// below 2^256 (x and y may be the same buffer); x becomes x * y mod p, below p.
    pub const FP25519_MUL: u32 = 5;
    /// Addition modulo 2^255 - 19: as [`FP25519_MUL`], x becomes x + y mod p, below p.
    pub const FP25519_ADD: u32 = 6;
    /// Subtraction modulo 2^255 - 19: as [`FP25519_MUL`], x becomes x - y mod p, below p.
    pub const FP25519_SUB: u32 = 7;

    /// Words read by [`HALT`] through its `a1` pointer.
    pub const HALT_DIGEST_WORDS: u32 = 16;
    /// Largest number of words one [`READ`] may transfer.
    pub const MAX_READ_WORDS: u32 = 256;
    /// Width of the Poseidon2 permutation state, in words.
    pub const POSEIDON2_WIDTH: u32 = 16;
    /// Words in a SHA-256 state.
    pub const SHA256_STATE_WORDS: u32 = 8;
    /// Words in a SHA-256 message block.
    pub const SHA256_BLOCK_WORDS: u32 = 16;
    /// Words in an operand of the 2^255 - 19 field operations.
    pub const FP25519_WORDS: u32 = 8;

    /// Clock cycles a syscall costs: one for the `ecall` plus one for every memory word it
    /// reads or writes, so that the bound on cycles per segment also bounds the rows the
    /// prover needs for the segment's memory accesses.
    pub const fn cycles(number: u32, words: u32) -> u32 {
        let touched = match number {
            HALT => HALT_DIGEST_WORDS,
            READ => words,
            POSEIDON2_PERMUTE => 2 * POSEIDON2_WIDTH,
            SHA256_COMPRESS => 2 * SHA256_STATE_WORDS + SHA256_BLOCK_WORDS,
            // y is read, then each word of x is read and overwritten in one access.
            FP25519_MUL | FP25519_ADD | FP25519_SUB => 2 * FP25519_WORDS,
            _ => 0,
        };
        1 + touched
    }
}

pub mod fd {
    //! Stream descriptors for [`super::syscall::READ`] and [`super::syscall::WRITE`].
    //!
    //! Input streams are sequences of frames: a little-endian `u32` byte length, then the bytes,
    //! zero-padded to a whole number of words, so every read is word-aligned.

    /// Public input: its SHA-256 digest is part of what a proof binds.
    pub const STDIN: u32 = 0;
    /// Diagnostic output of the guest (`print`), not bound by proofs.
    pub const STDOUT: u32 = 1;
    /// Diagnostic error output (panic messages), not bound by proofs.
    pub const STDERR: u32 = 2;
    /// Public output ("journal"): its SHA-256 digest is part of what a proof binds.
    pub const JOURNAL: u32 = 3;
    /// Untrusted advice from the host: not bound by proofs; the guest checks what it uses.
    pub const HINT: u32 = 4;
}

pub mod exit {
    //! Exit codes the SDK uses for its own failures. Guest programs may use any other value.

    /// The program returned from `main`.
    pub const SUCCESS: u32 = 0;
    /// The program panicked; the message went to [`super::fd::STDERR`].
    pub const PANIC: u32 = 101;
    /// The heap reached [`super::memory::HEAP_END`].
    pub const OUT_OF_MEMORY: u32 = 102;
}
