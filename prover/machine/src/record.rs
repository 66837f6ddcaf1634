//! From an executor segment to the events the tables prove.
//!
//! [`ExecutionRecord::new`] replays a segment's steps once, assigning every register and memory
//! access its timestamp and the previous value and timestamp of the same address, which is what
//! the offline memory check needs. The executor's trace is re-checked on the way: a step whose
//! register or memory values disagree with the replay is a bug in Gnomon, reported as such.

use std::collections::{BTreeMap, HashMap};

use gnomon_executor::Digest;
use gnomon_executor::commitment::{DEPTH, PAGE_WORDS, Page, poseidon2, word_elements};
use p3_field::{PrimeCharacteristicRing, PrimeField32};
use p3_symmetric::Permutation as _;

use crate::config::F;
use gnomon_executor::trace::{MemoryAccess, SyscallRecord};
use gnomon_executor::{ProgramCommitment, Segment};
use gnomon_guest_abi::{memory, syscall};

use crate::public_values::PublicValues;
use crate::rom::{Op, Rom, RomInstruction};

/// The timestamp of memory slot `slot` of the instruction at cycle `clk` of a segment.
pub fn timestamp(clk: u32, slot: u32) -> u32 {
    4 * clk + slot + 1
}

/// Slots of an instruction's memory accesses.
pub mod slot {
    pub const RS1: u32 = 0;
    pub const RS2: u32 = 1;
    pub const DATA: u32 = 2;
    pub const RD: u32 = 3;
}

/// One access to a memory word or register: what was there, since when, and what is there now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Access {
    /// Word address; registers are words `0..32`.
    pub address: u32,
    pub prev_value: u32,
    pub prev_ts: u32,
    pub value: u32,
    pub ts: u32,
}

/// One executed instruction other than `ecall`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstructionEvent {
    pub pc: u32,
    pub clk: u32,
    pub next_pc: u32,
    pub instruction: RomInstruction,
    /// The read of `rs1` (of `x0` for instructions without one).
    pub rs1: Access,
    /// The read of `rs2`, for instructions whose second operand is a register.
    pub rs2: Option<Access>,
    /// The data word of a load or store.
    pub memory: Option<Access>,
    /// The write of `rd`, when `write_rd` is set.
    pub rd: Option<Access>,
    /// What the instruction computed for `rd`, written or not.
    pub result: u32,
}

impl InstructionEvent {
    /// The first operand: the value of `rs1`.
    pub fn a(&self) -> u32 {
        self.rs1.value
    }

    /// The second operand: the value of `rs2`, or the immediate.
    pub fn b(&self) -> u32 {
        self.rs2.map_or(self.instruction.imm, |access| access.value)
    }
}

/// One `ecall`: the reads of `t0, a0, a1, a2` and the memory words the syscall touched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyscallEvent {
    pub pc: u32,
    pub clk: u32,
    pub number: u32,
    pub args: [u32; 3],
    /// Reads of `t0`, `a0`, `a1`, `a2`, in slots 0 to 3 of the `ecall`'s cycle.
    pub registers: [Access; 4],
    /// The syscall's word accesses, one per extra cycle it costs.
    pub words: Vec<Access>,
}

/// One Poseidon2 permutation, as a table asks the Poseidon2 table for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permutation {
    pub input: [F; 16],
    pub output: [F; 16],
}

impl Permutation {
    pub fn of(input: [F; 16]) -> Self {
        Self {
            input,
            output: poseidon2().permute(input),
        }
    }
}

/// The sponge absorptions that hash `page` (see `gnomon_executor::commitment`): 64
/// permutations, each taking four words in its rate and the previous output's capacity.
fn page_sponge(page: &Page) -> Vec<Permutation> {
    let mut capacity = [F::ZERO; 8];
    page.chunks_exact(4)
        .map(|words| {
            let mut input = [F::ZERO; 16];
            for (limbs, &word) in input[..8].chunks_exact_mut(2).zip(words) {
                limbs.copy_from_slice(&word_elements(word));
            }
            input[8..].copy_from_slice(&capacity);
            let permutation = Permutation::of(input);
            capacity.copy_from_slice(&permutation.output[8..]);
            permutation
        })
        .collect()
}

/// The digest a sponge or compression leaves in the first half of its last output.
pub fn digest_of(permutation: &Permutation) -> Digest {
    permutation.output[..8].try_into().expect("8 elements")
}

/// A page the segment touched: paged in with its contents before, out with its contents
/// after and the timestamp of the last access to each word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageEvent {
    pub index: u32,
    pub before: Box<Page>,
    pub after: Box<Page>,
    pub final_ts: Box<[u32; PAGE_WORDS]>,
    /// The hashing of the page before and after (phase 0 and 1).
    pub hashing: [Vec<Permutation>; 2],
}

/// One node of the memory tree on the paths of the touched pages, computed in both phases:
/// the parent `index` at `level + 1` of children `2 index` and `2 index + 1` at `level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MerkleEvent {
    pub level: u32,
    pub index: u32,
    /// Whether each child (left, right) is on a touched path, rather than a sibling witness.
    pub touched: [bool; 2],
    /// The compressions before and after: input `left | right`, output's first half the
    /// parent.
    pub compressions: [Permutation; 2],
}

/// Everything the tables of one segment proof are generated from.
#[derive(Clone, Debug)]
pub struct ExecutionRecord {
    pub instructions: Vec<InstructionEvent>,
    pub syscalls: Vec<SyscallEvent>,
    /// Touched pages, by increasing index.
    pub pages: Vec<PageEvent>,
    /// The nodes above the touched pages, by level, then index.
    pub merkle: Vec<MerkleEvent>,
    /// The timestamp of the last access to each register.
    pub register_final_ts: [u32; 32],
    pub public_values: PublicValues,
}

/// Replays accesses, remembering each address's latest value and timestamp.
struct Tracker<'s> {
    segment: &'s Segment,
    cells: HashMap<u32, (u32, u32)>,
}

impl Tracker<'_> {
    fn current(&self, address: u32) -> (u32, u32) {
        if let Some(&cell) = self.cells.get(&address) {
            return cell;
        }
        let initial = if address < memory::REGISTER_COUNT {
            self.segment.start_registers[address as usize]
        } else {
            let page = &self.segment.pages[&(address / PAGE_WORDS as u32)];
            page.before[address as usize % PAGE_WORDS]
        };
        (initial, 0)
    }

    /// An access at `ts` that leaves `value` (the current value for a read).
    fn access(&mut self, address: u32, value: Option<u32>, ts: u32) -> Access {
        let (prev_value, prev_ts) = self.current(address);
        let value = value.unwrap_or(prev_value);
        self.cells.insert(address, (value, ts));
        Access {
            address,
            prev_value,
            prev_ts,
            value,
            ts,
        }
    }

    /// Replays one of the executor's memory accesses at `ts`.
    fn replay(&mut self, access: &MemoryAccess, ts: u32) -> Access {
        let replayed = self.access(access.address / memory::WORD_SIZE, Some(access.after), ts);
        assert_eq!(
            replayed.prev_value, access.before,
            "replay of memory disagrees with the executor"
        );
        replayed
    }

    fn read_register(&mut self, register: u8, ts: u32, expected: u32) -> Access {
        let access = self.access(u32::from(register), None, ts);
        assert_eq!(
            access.value, expected,
            "replay of x{register} disagrees with the executor"
        );
        access
    }
}

/// What the machine computes for `op` on operands `a` and `b` (arithmetic and comparisons).
pub fn compute(op: Op, a: u32, b: u32) -> u32 {
    match op {
        Op::Add => a.wrapping_add(b),
        Op::Sub => a.wrapping_sub(b),
        Op::Xor => a ^ b,
        Op::Or => a | b,
        Op::And => a & b,
        Op::Slt => u32::from((a as i32) < (b as i32)),
        Op::Sltu => u32::from(a < b),
        Op::Sll => a << (b & 31),
        Op::Srl => a >> (b & 31),
        Op::Sra => ((a as i32) >> (b & 31)) as u32,
        Op::Mul => a.wrapping_mul(b),
        Op::Mulh => ((i64::from(a as i32) * i64::from(b as i32)) >> 32) as u32,
        Op::Mulhsu => ((i64::from(a as i32) * i64::from(b)) >> 32) as u32,
        Op::Mulhu => ((u64::from(a) * u64::from(b)) >> 32) as u32,
        Op::Div if b == 0 => u32::MAX,
        Op::Div => (a as i32).wrapping_div(b as i32) as u32,
        Op::Divu => a.checked_div(b).unwrap_or(u32::MAX),
        Op::Rem if b == 0 => a,
        Op::Rem => (a as i32).wrapping_rem(b as i32) as u32,
        Op::Remu => a.checked_rem(b).unwrap_or(a),
        Op::Beq => u32::from(a == b),
        Op::Bne => u32::from(a != b),
        Op::Blt => u32::from((a as i32) < (b as i32)),
        Op::Bge => u32::from((a as i32) >= (b as i32)),
        Op::Bltu => u32::from(a < b),
        Op::Bgeu => u32::from(a >= b),
        _ => 0,
    }
}

impl ExecutionRecord {
    /// Every permutation the tables ask the Poseidon2 table for, each once, with how often.
    pub fn poseidon2_requests(&self) -> Vec<([F; 16], u32)> {
        let mut counts: BTreeMap<[u32; 16], u32> = BTreeMap::new();
        let pages = self
            .pages
            .iter()
            .flat_map(|page| page.hashing.iter().flatten());
        let merkle = self.merkle.iter().flat_map(|node| &node.compressions);
        for permutation in pages.chain(merkle) {
            *counts
                .entry(permutation.input.map(|x| x.as_canonical_u32()))
                .or_default() += 1;
        }
        // The POSEIDON2_PERMUTE syscalls: their first 16 word accesses read the input, which
        // the executor has checked to be canonical.
        let permutes = self
            .syscalls
            .iter()
            .filter(|event| event.number == syscall::POSEIDON2_PERMUTE);
        for event in permutes {
            *counts
                .entry(core::array::from_fn(|i| event.words[i].value))
                .or_default() += 1;
        }
        counts
            .into_iter()
            .map(|(input, count)| (input.map(F::from_u32), count))
            .collect()
    }

    /// Replays `segment` of the program with `rom` and `commitment`.
    ///
    /// # Panics
    /// If the segment disagrees with the program (an instruction that is not in the text, a
    /// register value the replay does not reproduce): the executor and the machine must never
    /// disagree, so this is a bug in Gnomon, not bad input.
    pub fn new(
        rom: &Rom,
        commitment: &ProgramCommitment,
        text_end: u32,
        segment: &Segment,
    ) -> Self {
        let mut tracker = Tracker {
            segment,
            cells: HashMap::new(),
        };
        let mut instructions = Vec::with_capacity(segment.steps.len());
        let mut syscalls = Vec::with_capacity(segment.syscalls.len());
        let mut pending_syscalls = segment.syscalls.iter().peekable();
        let mut clk = 0u32;

        for (index, step) in segment.steps.iter().enumerate() {
            let instruction = *rom
                .get(step.pc)
                .unwrap_or_else(|| panic!("the segment executes {:#x}, outside the text", step.pc));
            let next_pc = segment
                .steps
                .get(index + 1)
                .map_or(segment.end_pc, |next| next.pc);
            if instruction.op == Op::Ecall {
                let record = pending_syscalls
                    .next_if(|record| record.step as usize == index)
                    .expect("every ecall step has its syscall record");
                let event = syscall_event(&mut tracker, step.pc, clk, record);
                clk += syscall::cycles(event.number, event.args[2]);
                syscalls.push(event);
                continue;
            }

            let rs1 = tracker.read_register(instruction.rs1, timestamp(clk, slot::RS1), step.rs1);
            let rs2 = instruction.reads_rs2().then(|| {
                tracker.read_register(instruction.rs2, timestamp(clk, slot::RS2), step.rs2)
            });
            let memory = step
                .memory
                .map(|access| tracker.replay(&access, timestamp(clk, slot::DATA)));
            let a = rs1.value;
            let b = rs2.map_or(instruction.imm, |access| access.value);
            let result = match instruction.op {
                Op::Jal | Op::Jalr => step.pc + 4,
                Op::Lb | Op::Lh | Op::Lw | Op::Lbu | Op::Lhu | Op::Sb | Op::Sh | Op::Sw => step.rd,
                op => compute(op, a, b),
            };
            let rd = instruction.write_rd.then(|| {
                assert_eq!(
                    result, step.rd,
                    "the machine computes {:?} differently",
                    instruction.op
                );
                tracker.access(
                    u32::from(instruction.rd),
                    Some(result),
                    timestamp(clk, slot::RD),
                )
            });
            instructions.push(InstructionEvent {
                pc: step.pc,
                clk,
                next_pc,
                instruction,
                rs1,
                rs2,
                memory,
                rd,
                result,
            });
            clk += 1;
        }
        assert_eq!(
            clk, segment.cycles,
            "replayed cycles disagree with the executor"
        );

        let pages = segment
            .pages
            .iter()
            .map(|(&index, transition)| {
                let mut final_ts = Box::new([0; PAGE_WORDS]);
                for (word, ts) in final_ts.iter_mut().enumerate() {
                    let address = index * PAGE_WORDS as u32 + word as u32;
                    let (value, last) = tracker.current(address);
                    assert_eq!(
                        value, transition.after[word],
                        "replay of page {index} disagrees"
                    );
                    *ts = last;
                }
                let hashing = [
                    page_sponge(&transition.before),
                    page_sponge(&transition.after),
                ];
                PageEvent {
                    index,
                    before: transition.before.clone(),
                    after: transition.after.clone(),
                    final_ts,
                    hashing,
                }
            })
            .collect::<Vec<_>>();
        let merkle = merkle_events(&pages, segment);
        let register_final_ts = core::array::from_fn(|register| {
            let (value, ts) = tracker.current(register as u32);
            assert_eq!(
                value, segment.end_registers[register],
                "replay of x{register} disagrees"
            );
            ts
        });
        let public_values = PublicValues::new(commitment, text_end, segment);
        Self {
            instructions,
            syscalls,
            pages,
            merkle,
            register_final_ts,
            public_values,
        }
    }
}

/// The compressions that recompute both memory roots from the touched pages and the
/// segment's sibling witnesses, level by level.
fn merkle_events(pages: &[PageEvent], segment: &Segment) -> Vec<MerkleEvent> {
    // Per level: index -> (digest before, digest after, on a touched path).
    let mut level: BTreeMap<u32, ([Digest; 2], bool)> = pages
        .iter()
        .map(|page| {
            let digests = page.hashing.each_ref().map(|sponge| digest_of(&sponge[63]));
            (page.index, (digests, true))
        })
        .collect();
    let mut siblings = segment.merkle_siblings.iter().peekable();
    let mut events = Vec::new();
    if pages.is_empty() {
        return events;
    }
    for height in 0..DEPTH as u32 {
        while let Some(node) = siblings.next_if(|node| node.level == height) {
            level.insert(node.index, ([node.digest; 2], false));
        }
        let mut parents = BTreeMap::new();
        for (&index, _) in level.iter().filter(|(_, (_, touched))| *touched) {
            let parent = index / 2;
            if parents.contains_key(&parent) {
                continue;
            }
            let (left, left_touched) = level[&(2 * parent)];
            let (right, right_touched) = level[&(2 * parent + 1)];
            let compressions = [0, 1].map(|phase| {
                let mut input = [F::ZERO; 16];
                input[..8].copy_from_slice(&left[phase]);
                input[8..].copy_from_slice(&right[phase]);
                Permutation::of(input)
            });
            let digests = compressions.each_ref().map(digest_of);
            parents.insert(parent, (digests, true));
            events.push(MerkleEvent {
                level: height,
                index: parent,
                touched: [left_touched, right_touched],
                compressions,
            });
        }
        level = parents;
    }
    let (roots, _) = level[&0];
    assert_eq!(
        roots,
        [segment.memory_root_before, segment.memory_root_after],
        "replayed roots disagree"
    );
    events
}

fn syscall_event(
    tracker: &mut Tracker<'_>,
    pc: u32,
    clk: u32,
    record: &SyscallRecord,
) -> SyscallEvent {
    let registers = [
        syscall::REG_SYSCALL,
        syscall::REG_A0,
        syscall::REG_A1,
        syscall::REG_A2,
    ];
    let values = [
        record.number,
        record.args[0],
        record.args[1],
        record.args[2],
    ];
    let registers = core::array::from_fn(|slot| {
        tracker.read_register(
            registers[slot] as u8,
            timestamp(clk, slot as u32),
            values[slot],
        )
    });
    let words = (clk + 1..)
        .zip(&record.accesses)
        .map(|(cycle, access)| tracker.replay(access, timestamp(cycle, 0)))
        .collect();
    SyscallEvent {
        pc,
        clk,
        number: record.number,
        args: record.args,
        registers,
        words,
    }
}
