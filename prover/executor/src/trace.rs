//! Execution traces: what the prover needs to prove a segment, and the tracer that records it.
//!
//! A [`Segment`] holds the registers and pc at its start and end, one record per instruction
//! ([`Step`]), one per syscall ([`SyscallRecord`]), and the before and after contents of every
//! data page the segment loaded from or stored to (instructions come from the program, not from
//! memory, so text pages never appear). From those pages the segment's memory roots follow: the
//! Merkle root before is the previous segment's root after, and the root after updates the
//! pages that changed.

use std::collections::BTreeMap;

use crate::Halt;
use crate::commitment::{Digest, MemoryTree, Page, TreeNode};
use crate::machine::{Machine, Memory};

/// One memory word read or written, by its word-aligned address. A load has
/// `before == after`; a sub-word store shows the whole word before and after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryAccess {
    pub address: u32,
    pub before: u32,
    pub after: u32,
}

/// One executed instruction: its address, the values of its source registers, the value of
/// its destination register after it ran, and its data memory access if it made one. The
/// instruction itself is the word at `pc` in the program; the next pc is the next step's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub pc: u32,
    pub rs1: u32,
    pub rs2: u32,
    pub rd: u32,
    pub memory: Option<MemoryAccess>,
}

/// One `ecall`: its number, argument registers and memory accesses, in the order made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyscallRecord {
    /// Index of the `ecall` in [`Segment::steps`].
    pub step: u32,
    pub number: u32,
    /// `a0`, `a1`, `a2` at the `ecall`.
    pub args: [u32; 3],
    pub accesses: Vec<MemoryAccess>,
}

/// A page's contents when the segment first touched it and when it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageTransition {
    pub before: Box<Page>,
    pub after: Box<Page>,
}

/// A contiguous piece of a run, at most `2^segment_log2` cycles, with everything needed to
/// prove it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Position in the run, from 0.
    pub index: u32,
    /// Cycles completed before the segment began.
    pub start_clock: u64,
    /// Cycles in the segment.
    pub cycles: u32,
    pub start_pc: u32,
    /// Where the next segment resumes; for the last segment, the HALT's `ecall`.
    pub end_pc: u32,
    pub start_registers: [u32; 32],
    pub end_registers: [u32; 32],
    pub steps: Vec<Step>,
    pub syscalls: Vec<SyscallRecord>,
    /// Every page the segment touched, by page index.
    pub pages: BTreeMap<u32, PageTransition>,
    pub memory_root_before: Digest,
    pub memory_root_after: Digest,
    /// The tree nodes beside the touched pages that recompute both roots (see
    /// [`MemoryTree::siblings_of`]).
    pub merkle_siblings: Vec<TreeNode>,
    /// Set on the last segment of a run that halted.
    pub halt: Option<Halt>,
}

/// Hooks the interpreter calls; every method defaults to nothing, so the untraced
/// instantiation compiles to the bare interpreter.
pub(crate) trait Tracer {
    /// Whether syscalls should build [`SyscallRecord`]s.
    const ENABLED: bool;

    fn segment_start(&mut self, _machine: &Machine<'_>) {}
    fn segment_end(&mut self, _machine: &Machine<'_>, _halt: Option<&Halt>) {}
    /// Before the segment's first access to data page `page`, which `memory` still holds as
    /// it was.
    fn page_touched(&mut self, _page: u32, _memory: &Memory) {}
    /// After an instruction completed.
    #[inline(always)]
    fn step(&mut self, _step: Step) {}
    fn syscall(&mut self, _record: SyscallRecord) {}
}

/// The tracer of the fast path: records nothing.
pub(crate) struct NoTrace;

impl Tracer for NoTrace {
    const ENABLED: bool = false;
}

/// Page counts of a traced run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageStats {
    /// Sum over segments of the pages each touched (each is paged in and out once).
    pub touched: u64,
    /// The most pages one segment touched.
    pub max_per_segment: u32,
}

/// Records segments and hands each to `sink` as soon as it ends.
pub(crate) struct Recorder<F> {
    sink: F,
    tree: MemoryTree,
    root: Digest,
    /// Segments started so far.
    started: u32,
    start_clock: u64,
    start_pc: u32,
    start_registers: [u32; 32],
    steps: Vec<Step>,
    syscalls: Vec<SyscallRecord>,
    pages_before: BTreeMap<u32, Box<Page>>,
    pub(crate) stats: PageStats,
}

impl<F: FnMut(Segment)> Recorder<F> {
    pub(crate) fn new(tree: MemoryTree, sink: F) -> Self {
        Self {
            sink,
            root: tree.root(),
            tree,
            started: 0,
            start_clock: 0,
            start_pc: 0,
            start_registers: [0; 32],
            steps: Vec::new(),
            syscalls: Vec::new(),
            pages_before: BTreeMap::new(),
            stats: PageStats::default(),
        }
    }
}

impl<F: FnMut(Segment)> Tracer for Recorder<F> {
    const ENABLED: bool = true;

    fn segment_start(&mut self, machine: &Machine<'_>) {
        self.started += 1;
        self.start_clock = machine.clock;
        self.start_pc = machine.pc;
        self.start_registers = machine.registers;
    }

    fn segment_end(&mut self, machine: &Machine<'_>, halt: Option<&Halt>) {
        let touched: Vec<u32> = self.pages_before.keys().copied().collect();
        let merkle_siblings = self.tree.siblings_of(&touched);
        let mut pages = BTreeMap::new();
        for (index, before) in std::mem::take(&mut self.pages_before) {
            let after = Box::new(*machine.memory.page(index));
            if after != before {
                self.tree.set_page(index, &after);
            }
            pages.insert(index, PageTransition { before, after });
        }
        let root_after = self.tree.root();
        self.stats.touched += pages.len() as u64;
        self.stats.max_per_segment = self.stats.max_per_segment.max(pages.len() as u32);
        let segment = Segment {
            index: self.started - 1,
            start_clock: self.start_clock,
            cycles: (machine.clock - self.start_clock) as u32,
            start_pc: self.start_pc,
            end_pc: machine.pc,
            start_registers: self.start_registers,
            end_registers: machine.registers,
            steps: std::mem::take(&mut self.steps),
            syscalls: std::mem::take(&mut self.syscalls),
            pages,
            memory_root_before: self.root,
            memory_root_after: root_after,
            merkle_siblings,
            halt: halt.cloned(),
        };
        self.root = root_after;
        (self.sink)(segment);
    }

    fn page_touched(&mut self, page: u32, memory: &Memory) {
        self.pages_before.insert(page, Box::new(*memory.page(page)));
    }

    #[inline(always)]
    fn step(&mut self, step: Step) {
        self.steps.push(step);
    }

    fn syscall(&mut self, mut record: SyscallRecord) {
        record.step = self.steps.len() as u32 - 1;
        self.syscalls.push(record);
    }
}
