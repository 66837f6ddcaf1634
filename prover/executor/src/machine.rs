//! The RV32IM interpreter.
//!
//! Instructions are decoded once, when the machine is built, into a table indexed by
//! `(pc - TEXT_START) / 4`; the hot loop ([`Machine::run_block`]) dispatches on that table and
//! touches a flat word array for memory. It runs a block of single-cycle instructions against a
//! "fuel" budget (what is left of the segment and of the cycle limit), so the per-instruction
//! bookkeeping is one counter; `ecall`, traps and the end of the fuel leave the block for the
//! slower paths in [`Machine::run`]. Tracing is a type parameter: with [`NoTrace`] every hook
//! compiles away.

use gnomon_guest_abi::{memory, syscall};

use crate::commitment::{PAGE_WORDS, Page};
use crate::io::Io;
use crate::isa::{Instruction, Opcode, decode};
use crate::program::Program;
use crate::report::Report;
use crate::trace::{MemoryAccess, Step, Tracer};
use crate::trap::{Trap, TrapCause};
use crate::{Halt, MAX_SYSCALL_PAGES, Options, SegmentSize};

const WORDS: usize = (memory::MEMORY_END / memory::WORD_SIZE) as usize;

/// Guest memory as one flat array of words (the register file is kept apart, in
/// [`Machine::registers`]). Untouched parts of the allocation are never written, so the
/// operating system backs them with no physical pages.
pub struct Memory {
    words: Box<[u32]>,
    /// Data memory, where loads and stores are allowed, runs from here (the end of the text)
    /// to `MEMORY_END`.
    data_start: u32,
}

impl Memory {
    fn new(program: &Program) -> Self {
        let mut words = vec![0u32; WORDS].into_boxed_slice();
        for (&index, page) in program.image() {
            let start = index as usize * PAGE_WORDS;
            words[start..start + PAGE_WORDS].copy_from_slice(&page[..]);
        }
        Self {
            words,
            data_start: program.text().end,
        }
    }

    /// Whether the words `[address, address + 4 * words)` are aligned and in data memory.
    pub(crate) fn data_words(&self, address: u32, words: u32) -> bool {
        let end = u64::from(address) + 4 * u64::from(words);
        address.is_multiple_of(4)
            && address >= self.data_start
            && end <= u64::from(memory::MEMORY_END)
    }

    /// The word at a word-aligned address the caller has checked.
    #[inline(always)]
    pub(crate) fn word(&self, address: u32) -> u32 {
        self.words[(address >> 2) as usize]
    }

    #[inline(always)]
    pub(crate) fn set_word(&mut self, address: u32, value: u32) {
        self.words[(address >> 2) as usize] = value;
    }

    /// Whether the bytes `[address, address + len)` lie in data memory.
    pub(crate) fn data_bytes(&self, address: u32, len: u32) -> bool {
        address >= self.data_start
            && u64::from(address) + u64::from(len) <= u64::from(memory::MEMORY_END)
    }

    /// Bytes `[address, address + len)`; the caller has checked the range.
    pub(crate) fn bytes(&self, address: u32, len: u32) -> impl Iterator<Item = u8> + '_ {
        (address..address + len).map(|byte| (self.word(byte & !3) >> (8 * (byte & 3))) as u8)
    }

    /// The page with index `index`.
    pub fn page(&self, index: u32) -> &Page {
        let start = index as usize * PAGE_WORDS;
        self.words[start..start + PAGE_WORDS]
            .try_into()
            .expect("a page is PAGE_WORDS long")
    }
}

/// The data pages the current segment has touched, counted as they are first touched, and
/// the most it may touch.
pub(crate) struct TouchedPages {
    /// Per page, the segment (by [`Self::segment`]) that last touched it.
    last_segment: Box<[u32]>,
    /// The current segment's number, from 1: never the zero `last_segment` starts with.
    segment: u32,
    count: u32,
    budget: u32,
}

impl TouchedPages {
    fn new(budget: u32) -> Self {
        Self {
            last_segment: vec![0; memory::PAGE_COUNT as usize].into_boxed_slice(),
            segment: 1,
            count: 0,
            budget,
        }
    }

    /// Before an access to the data word at `address`: whether the segment may make it. A
    /// page the segment had not touched yet is counted and shown to `tracer`, unless the
    /// budget is spent; then nothing changes and the access must wait for the next segment.
    #[inline(always)]
    pub(crate) fn admit<T: Tracer>(
        &mut self,
        address: u32,
        memory: &Memory,
        tracer: &mut T,
    ) -> bool {
        let page = address / memory::PAGE_SIZE;
        self.last_segment[page as usize] == self.segment || self.first_touch(page, memory, tracer)
    }

    /// [`Self::admit`] for a page the segment has not touched yet: out of the hot loop.
    #[cold]
    #[inline(never)]
    fn first_touch<T: Tracer>(&mut self, page: u32, memory: &Memory, tracer: &mut T) -> bool {
        if self.count == self.budget {
            return false;
        }
        self.last_segment[page as usize] = self.segment;
        self.count += 1;
        tracer.page_touched(page, memory);
        true
    }

    fn left(&self) -> u32 {
        self.budget - self.count
    }

    fn next_segment(&mut self) {
        self.segment += 1;
        self.count = 0;
    }
}

/// What the current segment has used of its budget, beside its pages.
#[derive(Default)]
struct SegmentUse {
    cycles: u32,
    syscalls: u32,
    sha256_calls: u32,
}

/// How a block of instructions ended.
enum BlockExit {
    /// The fuel ran out; `pc` is the next instruction.
    OutOfFuel,
    /// The instruction at `pc`, not yet executed, would touch a page past the segment's
    /// budget.
    PageBudget,
    /// `pc` is an `ecall`, not yet executed.
    Ecall,
    /// The instruction at `pc` trapped.
    Trap(TrapCause),
}

/// The machine state: registers, pc, memory, clock and I/O.
pub struct Machine<'a> {
    pub(crate) registers: [u32; 32],
    pub(crate) pc: u32,
    pub(crate) memory: Memory,
    pub(crate) pages: TouchedPages,
    /// Decoded text, indexed by `(pc - TEXT_START) / 4`.
    code: Vec<Instruction>,
    /// Cycles completed since the start of the run.
    pub(crate) clock: u64,
    pub(crate) io: Io<'a>,
    pub(crate) report: Report,
}

impl<'a> Machine<'a> {
    pub(crate) fn new(program: &Program, io: Io<'a>, segment_size: SegmentSize) -> Self {
        let code = program
            .text()
            .step_by(4)
            .map(|address| decode(program.word(address)))
            .collect();
        Self {
            registers: [0; 32],
            pc: program.entry(),
            memory: Memory::new(program),
            pages: TouchedPages::new(segment_size.max_pages()),
            code,
            clock: 0,
            io,
            report: Report::default(),
        }
    }

    /// The instruction word at `pc`, or 0 outside the text.
    pub(crate) fn instruction_word(&self, pc: u32) -> u32 {
        self.code
            .get((pc.wrapping_sub(memory::TEXT_START) >> 2) as usize)
            .filter(|_| pc.is_multiple_of(4))
            .map_or(0, Instruction::encode)
    }

    pub(crate) fn trap(&self, cause: TrapCause) -> Trap {
        Trap {
            cause,
            pc: self.pc,
            instruction: self.instruction_word(self.pc),
            cycle: self.clock,
        }
    }

    /// Runs until HALT or a trap, cutting segments of at most `2^segment_log2` cycles and
    /// [`crate::SegmentSize::max_pages`] pages and [`crate::SegmentSize::max_syscalls`]
    /// syscalls (of which [`crate::SegmentSize::max_sha256_calls`] SHA-256 compressions), and
    /// reporting each to `tracer`.
    ///
    /// A load or store that would touch a page past the budget leaves its block unexecuted
    /// and runs first thing in the next segment; a syscall touches at most
    /// [`MAX_SYSCALL_PAGES`], so the segment ends before one that might not fit.
    pub(crate) fn run<T: Tracer>(
        &mut self,
        options: &Options,
        tracer: &mut T,
    ) -> Result<Halt, Trap> {
        let segment_cycles = options.segment_size.cycles();
        let segment_syscalls = options.segment_size.max_syscalls();
        let segment_sha256_calls = options.segment_size.max_sha256_calls();
        let mut used = SegmentUse::default();
        tracer.segment_start(self);
        loop {
            let limit_left = options.cycle_limit.saturating_sub(self.clock);
            let fuel = u64::from(segment_cycles - used.cycles).min(limit_left) as u32;
            if fuel == 0 {
                if limit_left == 0 {
                    return Err(self.trap(TrapCause::CycleLimit {
                        limit: options.cycle_limit,
                    }));
                }
                self.cut_segment(tracer, &mut used);
                continue;
            }
            let (executed, exit) = self.run_block(fuel, tracer);
            self.clock += u64::from(executed);
            self.report.instructions += u64::from(executed);
            used.cycles += executed;
            match exit {
                BlockExit::OutOfFuel => {}
                BlockExit::PageBudget => self.cut_segment(tracer, &mut used),
                BlockExit::Trap(cause) => return Err(self.trap(cause)),
                BlockExit::Ecall => {
                    let cost = self.syscall_cycles();
                    let sha256 = self.registers[syscall::REG_SYSCALL] == syscall::SHA256_COMPRESS;
                    if segment_cycles - used.cycles < cost
                        || self.pages.left() < MAX_SYSCALL_PAGES
                        || used.syscalls == segment_syscalls
                        || (sha256 && used.sha256_calls == segment_sha256_calls)
                    {
                        self.cut_segment(tracer, &mut used);
                    }
                    if self.clock + u64::from(cost) > options.cycle_limit {
                        return Err(self.trap(TrapCause::CycleLimit {
                            limit: options.cycle_limit,
                        }));
                    }
                    let halt = self.syscall(tracer).map_err(|cause| self.trap(cause))?;
                    self.clock += u64::from(cost);
                    self.report.instructions += 1;
                    used.cycles += cost;
                    used.syscalls += 1;
                    used.sha256_calls += u32::from(sha256);
                    if let Some(halt) = halt {
                        self.report.segments += 1;
                        tracer.segment_end(self, Some(&halt));
                        return Ok(halt);
                    }
                    self.pc += 4;
                }
            }
        }
    }

    fn cut_segment<T: Tracer>(&mut self, tracer: &mut T, used: &mut SegmentUse) {
        self.report.segments += 1;
        tracer.segment_end(self, None);
        self.pages.next_segment();
        tracer.segment_start(self);
        *used = SegmentUse::default();
    }

    /// Cycles the `ecall` at `pc` will cost (see `gnomon_guest_abi::syscall::cycles`).
    fn syscall_cycles(&self) -> u32 {
        let number = self.registers[syscall::REG_SYSCALL];
        let words = self.registers[syscall::REG_A2].min(syscall::MAX_READ_WORDS);
        syscall::cycles(number, words)
    }

    /// Executes up to `fuel` single-cycle instructions. Returns how many completed and why
    /// it stopped; `self.pc` is then the next instruction to run (the `ecall` or the
    /// instruction that trapped, which did not complete).
    #[inline(always)]
    fn run_block<T: Tracer>(&mut self, fuel: u32, tracer: &mut T) -> (u32, BlockExit) {
        let code = &self.code[..];
        let registers = &mut self.registers;
        let memory = &mut self.memory;
        let pages = &mut self.pages;
        // The page of the block's latest data access, admitted already: most accesses are to
        // the same page as the one before.
        let mut admitted_page = u32::MAX;
        let mut pc = self.pc;
        for executed in 0..fuel {
            let Some(&instruction) = code.get((pc.wrapping_sub(memory::TEXT_START) >> 2) as usize)
            else {
                self.pc = pc;
                return (executed, BlockExit::Trap(TrapCause::FetchAccessFault));
            };
            let rs1 = registers[usize::from(instruction.rs1)];
            let rs2 = registers[usize::from(instruction.rs2)];
            let imm = instruction.imm;
            let mut next = pc.wrapping_add(4);
            let mut access = None;
            macro_rules! trap {
                ($cause:expr) => {{
                    self.pc = pc;
                    return (executed, BlockExit::Trap($cause));
                }};
            }
            macro_rules! jump {
                ($target:expr) => {{
                    let target: u32 = $target;
                    if !target.is_multiple_of(4) {
                        trap!(TrapCause::MisalignedJump { target });
                    }
                    next = target;
                }};
            }
            macro_rules! branch {
                ($taken:expr) => {{
                    if $taken {
                        jump!(pc.wrapping_add(imm));
                    }
                    0
                }};
            }
            macro_rules! admit {
                ($aligned:expr) => {{
                    let aligned: u32 = $aligned;
                    let page = aligned / memory::PAGE_SIZE;
                    if page != admitted_page {
                        if !pages.admit(aligned, memory, tracer) {
                            self.pc = pc;
                            return (executed, BlockExit::PageBudget);
                        }
                        admitted_page = page;
                    }
                }};
            }
            macro_rules! load {
                ($align:expr, $extract:expr) => {{
                    let address = rs1.wrapping_add(imm);
                    if !address.is_multiple_of($align) {
                        trap!(TrapCause::MisalignedLoad { address });
                    }
                    if !(memory.data_start..memory::MEMORY_END).contains(&address) {
                        trap!(TrapCause::LoadAccessFault { address });
                    }
                    let aligned = address & !3;
                    admit!(aligned);
                    let word = memory.word(aligned);
                    access = Some(MemoryAccess {
                        address: aligned,
                        before: word,
                        after: word,
                    });
                    ($extract)(word, 8 * (address % 4))
                }};
            }
            macro_rules! store {
                ($align:expr, $merge:expr) => {{
                    let address = rs1.wrapping_add(imm);
                    if !address.is_multiple_of($align) {
                        trap!(TrapCause::MisalignedStore { address });
                    }
                    if !(memory.data_start..memory::MEMORY_END).contains(&address) {
                        trap!(TrapCause::StoreAccessFault { address });
                    }
                    let aligned = address & !3;
                    admit!(aligned);
                    let before = memory.word(aligned);
                    let after = ($merge)(before, rs2, 8 * (address % 4));
                    memory.set_word(aligned, after);
                    access = Some(MemoryAccess {
                        address: aligned,
                        before,
                        after,
                    });
                    0
                }};
            }
            let value = match instruction.opcode {
                Opcode::Lui => imm,
                Opcode::Auipc => pc.wrapping_add(imm),
                Opcode::Jal => {
                    jump!(pc.wrapping_add(imm));
                    pc.wrapping_add(4)
                }
                Opcode::Jalr => {
                    jump!(rs1.wrapping_add(imm) & !1);
                    pc.wrapping_add(4)
                }
                Opcode::Beq => branch!(rs1 == rs2),
                Opcode::Bne => branch!(rs1 != rs2),
                Opcode::Blt => branch!((rs1 as i32) < (rs2 as i32)),
                Opcode::Bge => branch!((rs1 as i32) >= (rs2 as i32)),
                Opcode::Bltu => branch!(rs1 < rs2),
                Opcode::Bgeu => branch!(rs1 >= rs2),
                Opcode::Lb => load!(1, |word: u32, shift| (word >> shift) as u8 as i8 as u32),
                Opcode::Lh => load!(2, |word: u32, shift| (word >> shift) as u16 as i16 as u32),
                Opcode::Lw => load!(4, |word: u32, _| word),
                Opcode::Lbu => load!(1, |word: u32, shift| u32::from((word >> shift) as u8)),
                Opcode::Lhu => load!(2, |word: u32, shift| u32::from((word >> shift) as u16)),
                Opcode::Sb => store!(1, |word: u32, value: u32, shift: u32| {
                    (word & !(0xff << shift)) | ((value & 0xff) << shift)
                }),
                Opcode::Sh => store!(2, |word: u32, value: u32, shift: u32| {
                    (word & !(0xffff << shift)) | ((value & 0xffff) << shift)
                }),
                Opcode::Sw => store!(4, |_, value: u32, _| value),
                Opcode::Addi => rs1.wrapping_add(imm),
                Opcode::Slti => u32::from((rs1 as i32) < (imm as i32)),
                Opcode::Sltiu => u32::from(rs1 < imm),
                Opcode::Xori => rs1 ^ imm,
                Opcode::Ori => rs1 | imm,
                Opcode::Andi => rs1 & imm,
                Opcode::Slli => rs1 << imm,
                Opcode::Srli => rs1 >> imm,
                Opcode::Srai => ((rs1 as i32) >> imm) as u32,
                Opcode::Add => rs1.wrapping_add(rs2),
                Opcode::Sub => rs1.wrapping_sub(rs2),
                Opcode::Sll => rs1 << (rs2 & 31),
                Opcode::Slt => u32::from((rs1 as i32) < (rs2 as i32)),
                Opcode::Sltu => u32::from(rs1 < rs2),
                Opcode::Xor => rs1 ^ rs2,
                Opcode::Srl => rs1 >> (rs2 & 31),
                Opcode::Sra => ((rs1 as i32) >> (rs2 & 31)) as u32,
                Opcode::Or => rs1 | rs2,
                Opcode::And => rs1 & rs2,
                Opcode::Mul => rs1.wrapping_mul(rs2),
                Opcode::Mulh => ((i64::from(rs1 as i32) * i64::from(rs2 as i32)) >> 32) as u32,
                Opcode::Mulhsu => ((i64::from(rs1 as i32) * i64::from(rs2)) >> 32) as u32,
                Opcode::Mulhu => ((u64::from(rs1) * u64::from(rs2)) >> 32) as u32,
                Opcode::Div => match rs2 {
                    0 => u32::MAX,
                    _ => (rs1 as i32).wrapping_div(rs2 as i32) as u32,
                },
                Opcode::Divu => rs1.checked_div(rs2).unwrap_or(u32::MAX),
                Opcode::Rem => match rs2 {
                    0 => rs1,
                    _ => (rs1 as i32).wrapping_rem(rs2 as i32) as u32,
                },
                Opcode::Remu => rs1.checked_rem(rs2).unwrap_or(rs1),
                Opcode::Fence => 0,
                Opcode::Ecall => {
                    self.pc = pc;
                    return (executed, BlockExit::Ecall);
                }
                Opcode::Ebreak => trap!(TrapCause::Breakpoint),
                Opcode::Illegal => trap!(TrapCause::IllegalInstruction),
            };
            registers[usize::from(instruction.rd)] = value;
            registers[0] = 0;
            tracer.step(Step {
                pc,
                rs1,
                rs2,
                rd: registers[usize::from(instruction.rd)],
                memory: access,
            });
            pc = next;
        }
        self.pc = pc;
        (fuel, BlockExit::OutOfFuel)
    }
}
