//! The Gnomon zkVM executor: runs a guest program exactly as the prover will prove it.
//!
//! It owns the machine's semantics: the ELF loader ([`Program`]), the RV32IM interpreter, the
//! syscalls of `gnomon-guest-abi`, the memory commitment ([`commitment`]), the cutting of a run
//! into segments and the traces the prover consumes ([`trace`]). Two entry points share one
//! interpreter: [`execute`], the fast path that records nothing, and [`execute_traced`], which
//! also records every segment.
//!
//! Everything a guest can do to the host ends in a [`Trap`] or a [`Halt`], never in a panic,
//! unbounded host memory or undefined behaviour: misaligned and out-of-range accesses, illegal
//! instructions, bad syscall arguments and runaway loops (with a cycle limit) all trap with
//! the pc and instruction that caused them. The semantics here are the specification the
//! prover's constraints must match; this crate never depends on the prover.

pub mod commitment;
mod elf_writer;
pub mod fp25519;
mod io;
pub mod isa;
mod machine;
mod program;
mod report;
mod syscalls;
pub mod trace;
mod trap;

pub use commitment::{Digest, ProgramCommitment};
pub use elf_writer::write_elf;
pub use io::{Input, InputError, MAX_OUTPUT_BYTES};
pub use program::{ElfError, Program};
pub use report::{Report, SyscallKind, SyscallStats};
pub use trace::{PageStats, Segment};
pub use trap::{Trap, TrapCause};

use io::Io;
use machine::Machine;
use trace::{NoTrace, Recorder};

/// The size of a segment: at most `2^log2` cycles, touching at most [`Self::max_pages`] data
/// pages, making at most [`Self::max_syscalls`] syscalls and [`Self::max_sha256_calls`]
/// SHA-256 compressions. These budgets together bound every table of a segment proof (the
/// machine's `MachineKeys::bounding_shape`), so that one catalog of shapes holds every
/// segment; they are set well above what the perps guest uses (at 2^20 cycles, at most 99
/// pages and 31k syscalls a segment), so that they end few segments early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentSize(u32);

/// A segment size outside what the machine supports.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "segment size 2^{0} is not supported: choose 2^{min} to 2^{max} cycles",
    min = SegmentSize::MIN_LOG2,
    max = SegmentSize::MAX_LOG2
)]
pub struct InvalidSegmentSize(pub u32);

impl SegmentSize {
    /// The smallest segment still holds the costliest syscall (a full READ).
    pub const MIN_LOG2: u32 = 10;
    pub const MAX_LOG2: u32 = 26;

    pub fn new(log2: u32) -> Result<Self, InvalidSegmentSize> {
        if (Self::MIN_LOG2..=Self::MAX_LOG2).contains(&log2) {
            Ok(Self(log2))
        } else {
            Err(InvalidSegmentSize(log2))
        }
    }

    pub fn log2(self) -> u32 {
        self.0
    }

    pub fn cycles(self) -> u32 {
        1 << self.0
    }

    /// The most data pages a segment may touch: a segment ends early rather than touch more.
    /// Each page costs 166 Poseidon2 permutations (hashing it before and after, and its path
    /// in the memory tree), so one page per 4,096 cycles keeps the Poseidon2 table under a
    /// sixth of the instruction tables' height; the floor leaves small segments room for
    /// their stack, heap and input.
    pub fn max_pages(self) -> u32 {
        (self.cycles() >> 12).max(MIN_SEGMENT_PAGES)
    }

    /// The most syscalls a segment may make. The verifier bounds the cycles a proof's tables
    /// can account for, counting each syscall row as the costliest syscall (a full READ), so
    /// a segment of only cheap syscalls (WRITE costs one cycle) would be unprovable; the
    /// program's own syscalls cost 17 cycles or more, so this rarely ends a segment.
    pub fn max_syscalls(self) -> u32 {
        self.cycles() >> 3
    }

    /// The most SHA-256 compressions a segment may make: each takes 17 rows of the widest
    /// table (536 columns), so without this budget it alone would hold most of the bounding
    /// shape's cells.
    pub fn max_sha256_calls(self) -> u32 {
        self.cycles() >> 8
    }
}

/// The page budget of the smallest segments (see [`SegmentSize::max_pages`]).
const MIN_SEGMENT_PAGES: u32 = 128;

/// The most data pages one syscall touches: two buffers of at most one page each, each of
/// which may straddle a page boundary.
pub(crate) const MAX_SYSCALL_PAGES: u32 = 4;

const _: () = assert!(
    gnomon_guest_abi::syscall::MAX_READ_WORDS <= gnomon_guest_abi::memory::PAGE_WORDS
        && gnomon_guest_abi::syscall::SHA256_BLOCK_WORDS <= gnomon_guest_abi::memory::PAGE_WORDS
        && MAX_SYSCALL_PAGES < MIN_SEGMENT_PAGES,
    "a syscall's buffers span at most two pages each, and a fresh segment can hold them"
);

impl Default for SegmentSize {
    fn default() -> Self {
        Self(20)
    }
}

const _: () = assert!(
    gnomon_guest_abi::syscall::MAX_READ_WORDS < 1 << SegmentSize::MIN_LOG2,
    "a segment must fit the costliest syscall"
);

/// How to run a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    pub segment_size: SegmentSize,
    /// The run traps once it would exceed this many cycles.
    pub cycle_limit: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            segment_size: SegmentSize::default(),
            cycle_limit: u64::MAX,
        }
    }
}

/// How a run that reached HALT ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Halt {
    /// 0 for success; `gnomon_guest_abi::exit` lists the SDK's failure codes.
    pub exit_code: u32,
    /// SHA-256 of the stdin frames the guest consumed, as the guest computed it.
    pub input_digest: [u8; 32],
    /// SHA-256 of the journal, as the guest computed it.
    pub output_digest: [u8; 32],
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    Halted(Halt),
    Trapped(Trap),
}

/// The outcome of a run: how it ended, what it wrote and what it cost.
#[derive(Clone, Debug)]
pub struct Execution {
    pub exit: Exit,
    /// The public output, as committed.
    pub journal: Vec<u8>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub report: Report,
}

impl Execution {
    /// The halt, or the trap that prevented it.
    pub fn halt(&self) -> Result<&Halt, &Trap> {
        match &self.exit {
            Exit::Halted(halt) => Ok(halt),
            Exit::Trapped(trap) => Err(trap),
        }
    }

    /// Whether the guest halted with exit code 0.
    pub fn succeeded(&self) -> bool {
        matches!(&self.exit, Exit::Halted(halt) if halt.exit_code == 0)
    }
}

/// Runs `program` on `input` without tracing: the fast path.
pub fn execute(program: &Program, input: &Input, options: &Options) -> Execution {
    run(program, input, options, &mut NoTrace)
}

/// Runs `program` on `input`, handing every segment to `sink` as soon as it ends. A run that
/// traps delivers the segments completed before the trap, not the one it trapped in.
pub fn execute_traced(
    program: &Program,
    input: &Input,
    options: &Options,
    sink: impl FnMut(Segment),
) -> Execution {
    let mut recorder = Recorder::new(program.memory_tree(), sink);
    let mut execution = run(program, input, options, &mut recorder);
    execution.report.pages = Some(recorder.stats);
    execution
}

/// [`execute_traced`], collecting the segments.
pub fn trace(program: &Program, input: &Input, options: &Options) -> (Execution, Vec<Segment>) {
    let mut segments = Vec::new();
    let execution = execute_traced(program, input, options, |segment| segments.push(segment));
    (execution, segments)
}

fn run<T: trace::Tracer>(
    program: &Program,
    input: &Input,
    options: &Options,
    tracer: &mut T,
) -> Execution {
    let mut machine = Machine::new(program, Io::new(input), options.segment_size);
    let exit = match machine.run(options, tracer) {
        Ok(halt) => Exit::Halted(halt),
        Err(trap) => Exit::Trapped(trap),
    };
    let Machine {
        io,
        mut report,
        clock,
        ..
    } = machine;
    report.cycles = clock;
    Execution {
        exit,
        journal: io.journal,
        stdout: io.stdout,
        stderr: io.stderr,
        report,
    }
}
