//! What a run cost: cycles, instructions, syscalls, segments and pages.

use std::fmt;

use gnomon_guest_abi::syscall;

use crate::trace::PageStats;

/// The syscalls, in the order of their numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyscallKind {
    Halt,
    Read,
    Write,
    Poseidon2Permute,
    Sha256Compress,
    Fp25519Mul,
    Fp25519Add,
    Fp25519Sub,
}

impl SyscallKind {
    pub const ALL: [SyscallKind; 8] = [
        SyscallKind::Halt,
        SyscallKind::Read,
        SyscallKind::Write,
        SyscallKind::Poseidon2Permute,
        SyscallKind::Sha256Compress,
        SyscallKind::Fp25519Mul,
        SyscallKind::Fp25519Add,
        SyscallKind::Fp25519Sub,
    ];

    pub fn from_number(number: u32) -> Option<Self> {
        Some(match number {
            syscall::HALT => Self::Halt,
            syscall::READ => Self::Read,
            syscall::WRITE => Self::Write,
            syscall::POSEIDON2_PERMUTE => Self::Poseidon2Permute,
            syscall::SHA256_COMPRESS => Self::Sha256Compress,
            syscall::FP25519_MUL => Self::Fp25519Mul,
            syscall::FP25519_ADD => Self::Fp25519Add,
            syscall::FP25519_SUB => Self::Fp25519Sub,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Halt => "halt",
            Self::Read => "read",
            Self::Write => "write",
            Self::Poseidon2Permute => "poseidon2_permute",
            Self::Sha256Compress => "sha256_compress",
            Self::Fp25519Mul => "fp25519_mul",
            Self::Fp25519Add => "fp25519_add",
            Self::Fp25519Sub => "fp25519_sub",
        }
    }

    /// Whether the syscall is a precompile (an operation proven by its own table).
    pub fn is_precompile(self) -> bool {
        !matches!(self, Self::Halt | Self::Read | Self::Write)
    }
}

/// Calls of one syscall and the cycles they cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyscallStats {
    pub calls: u64,
    pub cycles: u64,
}

/// The cost of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Clock cycles: one per instruction, plus what syscalls cost beyond their `ecall`.
    pub cycles: u64,
    /// Instructions executed (an `ecall` counts as one).
    pub instructions: u64,
    /// Segments the run was cut into.
    pub segments: u64,
    /// Per syscall, indexed by [`SyscallKind`].
    pub syscalls: [SyscallStats; SyscallKind::ALL.len()],
    /// Pages paged in and out; only traced runs count them.
    pub pages: Option<PageStats>,
}

impl Report {
    pub fn syscall(&self, kind: SyscallKind) -> SyscallStats {
        self.syscalls[kind as usize]
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "cycles        {}", self.cycles)?;
        writeln!(f, "instructions  {}", self.instructions)?;
        writeln!(f, "segments      {}", self.segments)?;
        for kind in SyscallKind::ALL {
            let stats = self.syscall(kind);
            if stats.calls > 0 {
                let role = if kind.is_precompile() {
                    "precompile"
                } else {
                    "syscall"
                };
                writeln!(
                    f,
                    "{role:<10}    {:<18} {:>10} calls {:>12} cycles",
                    kind.name(),
                    stats.calls,
                    stats.cycles
                )?;
            }
        }
        if let Some(pages) = self.pages {
            writeln!(
                f,
                "pages         {} paged in and out, at most {} in one segment",
                pages.touched, pages.max_per_segment
            )?;
        }
        Ok(())
    }
}
