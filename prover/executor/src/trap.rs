//! Traps: the ways a guest run stops without halting.

use std::fmt;

use crate::isa;

/// Why the machine stopped without a HALT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrapCause {
    /// The word at `pc` is not an RV32IM instruction.
    IllegalInstruction,
    /// `ebreak`: Gnomon has no debugger to hand control to.
    Breakpoint,
    /// `pc` is outside the text segment.
    FetchAccessFault,
    /// A jump or taken branch to an address that is not word-aligned.
    MisalignedJump {
        target: u32,
    },
    MisalignedLoad {
        address: u32,
    },
    MisalignedStore {
        address: u32,
    },
    /// A load outside `[GUARD_END, MEMORY_END)`.
    LoadAccessFault {
        address: u32,
    },
    /// A store outside `[text_end, MEMORY_END)`: below the data, into the text, or past memory.
    StoreAccessFault {
        address: u32,
    },
    /// `ecall` with an unknown number in `t0`.
    UnknownSyscall {
        number: u32,
    },
    /// A syscall named a stream it cannot use.
    BadDescriptor {
        syscall: &'static str,
        descriptor: u32,
    },
    /// A syscall buffer that is misaligned or outside the memory it may touch.
    BadSyscallBuffer {
        syscall: &'static str,
        address: u32,
        words: u32,
    },
    /// A READ of more words than one transfer may carry.
    ReadTooLarge {
        words: u32,
    },
    /// A READ past the end of an input stream.
    ReadPastEnd {
        stream: &'static str,
        requested_words: u32,
        remaining_bytes: usize,
    },
    /// A Poseidon2 input element at or above the BabyBear modulus.
    NonCanonicalPoseidon2Input {
        address: u32,
        value: u32,
    },
    /// The guest wrote more than the host keeps of one output stream.
    OutputLimit {
        stream: &'static str,
        limit: usize,
    },
    /// The run reached its cycle limit.
    CycleLimit {
        limit: u64,
    },
}

impl fmt::Display for TrapCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::IllegalInstruction => write!(f, "illegal instruction"),
            Self::Breakpoint => write!(f, "breakpoint (ebreak)"),
            Self::FetchAccessFault => write!(f, "instruction fetch outside the text segment"),
            Self::MisalignedJump { target } => {
                write!(f, "jump to misaligned address {target:#010x}")
            }
            Self::MisalignedLoad { address } => {
                write!(f, "misaligned load from {address:#010x}")
            }
            Self::MisalignedStore { address } => {
                write!(f, "misaligned store to {address:#010x}")
            }
            Self::LoadAccessFault { address } => {
                write!(f, "load from {address:#010x}, outside data memory")
            }
            Self::StoreAccessFault { address } => {
                write!(f, "store to {address:#010x}, outside data memory")
            }
            Self::UnknownSyscall { number } => write!(f, "unknown syscall {number}"),
            Self::BadDescriptor {
                syscall,
                descriptor,
            } => {
                write!(
                    f,
                    "{syscall}: stream descriptor {descriptor} is not valid here"
                )
            }
            Self::BadSyscallBuffer {
                syscall,
                address,
                words,
            } => write!(
                f,
                "{syscall}: buffer of {words} words at {address:#010x} is misaligned or outside \
                 the memory it may use"
            ),
            Self::ReadTooLarge { words } => {
                write!(f, "READ of {words} words exceeds the limit of one transfer")
            }
            Self::ReadPastEnd {
                stream,
                requested_words,
                remaining_bytes,
            } => write!(
                f,
                "READ of {requested_words} words past the end of {stream} ({remaining_bytes} \
                 bytes left)"
            ),
            Self::NonCanonicalPoseidon2Input { address, value } => write!(
                f,
                "POSEIDON2_PERMUTE: word {value:#010x} at {address:#010x} is not a canonical \
                 BabyBear element"
            ),
            Self::OutputLimit { stream, limit } => {
                write!(f, "the guest wrote more than {limit} bytes to {stream}")
            }
            Self::CycleLimit { limit } => write!(f, "cycle limit of {limit} reached"),
        }
    }
}

/// A trap, with where it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trap {
    pub cause: TrapCause,
    /// Address of the instruction that trapped.
    pub pc: u32,
    /// The instruction word at `pc` (0 if `pc` is outside the text).
    pub instruction: u32,
    /// Cycles completed before the trap.
    pub cycle: u64,
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at pc {:#010x}", self.cause, self.pc)?;
        if self.cause != TrapCause::FetchAccessFault {
            write!(
                f,
                " ({:#010x}: {})",
                self.instruction,
                isa::decode(self.instruction)
            )?;
        }
        write!(f, " after {} cycles", self.cycle)
    }
}

impl std::error::Error for Trap {}
