//! The program as the machine sees it: every text word decoded once into the fields the
//! instruction tables fetch over the `program` bus.
//!
//! The program table is preprocessed: its contents are fixed by the ELF and committed in the
//! verifying key, so a proof can only execute the instructions of the program it claims. Why a
//! preprocessed table rather than instructions in the memory image: fetching from a fixed table
//! is one lookup, without the timestamps, range checks and paging a memory read needs, and the
//! table is committed once per program rather than paged into every segment. The cost is that
//! code is never data: loads and stores only reach memory above the text.
//!
//! Decoding folds what the assembler expressed in many forms into few operations, so that
//! fewer tables exist and each does one thing:
//! - `lui rd, imm` is `add rd, x0, imm`; `auipc rd, imm` is `add rd, x0, pc + imm`, with the sum
//!   computed here; `fence` is `add x0, x0, 0`.
//! - Immediate forms (`addi`, `slli`, ...) are their register forms with `b_is_imm` set.
//! - `jal` and branches carry their absolute target in `imm`. A target outside the text or not
//!   word-aligned becomes 0, which is no instruction's address: a taken jump there can never
//!   fetch its successor, as the executor traps there.
//! - `write_rd` is clear when `rd` is `x0` or the instruction writes no register, so `x0` is
//!   never written and always reads 0.
//! - Words that are not RV32IM instructions, and `ebreak`, decode to [`Op::Invalid`], which no
//!   table ever fetches.

use gnomon_executor::Program;
use gnomon_executor::isa::{Instruction, Opcode, decode};
use gnomon_guest_abi::memory::TEXT_START;

/// The operations the instruction tables implement. The discriminant is the `op` field of the
/// `program` bus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
pub enum Op {
    Invalid = 0,
    Add,
    Sub,
    Xor,
    Or,
    And,
    Slt,
    Sltu,
    Sll,
    Srl,
    Sra,
    Mul,
    Mulh,
    Mulhsu,
    Mulhu,
    Div,
    Divu,
    Rem,
    Remu,
    Beq,
    Bne,
    Blt,
    Bge,
    Bltu,
    Bgeu,
    Jal,
    Jalr,
    Lb,
    Lh,
    Lw,
    Lbu,
    Lhu,
    Sb,
    Sh,
    Sw,
    Ecall,
}

/// One decoded text word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RomInstruction {
    pub op: Op,
    pub rd: u8,
    pub rs1: u8,
    pub rs2: u8,
    pub imm: u32,
    pub b_is_imm: bool,
    pub write_rd: bool,
}

impl RomInstruction {
    const INVALID: Self = Self {
        op: Op::Invalid,
        rd: 0,
        rs1: 0,
        rs2: 0,
        imm: 0,
        b_is_imm: false,
        write_rd: false,
    };

    /// Decodes the instruction at `pc` of a program whose text ends at `text_end`.
    pub fn decode(pc: u32, instruction: Instruction, text_end: u32) -> Self {
        use Opcode as O;
        let Instruction {
            opcode,
            rd,
            rs1,
            rs2,
            imm,
        } = instruction;
        let target = |offset: u32| {
            let target = pc.wrapping_add(offset);
            let valid = target.is_multiple_of(4) && (TEXT_START..text_end).contains(&target);
            if valid { target } else { 0 }
        };
        let register = |op| Self {
            op,
            rd,
            rs1,
            rs2,
            imm: 0,
            b_is_imm: false,
            write_rd: rd != 0,
        };
        let immediate = |op, imm| Self {
            op,
            rd,
            rs1,
            rs2: 0,
            imm,
            b_is_imm: true,
            write_rd: rd != 0,
        };
        let branch = |op| Self {
            op,
            rd: 0,
            rs1,
            rs2,
            imm: target(imm),
            b_is_imm: false,
            write_rd: false,
        };
        let load = |op| Self {
            op,
            rd,
            rs1,
            rs2: 0,
            imm,
            b_is_imm: false,
            write_rd: rd != 0,
        };
        let store = |op| Self {
            op,
            rd: 0,
            rs1,
            rs2,
            imm,
            b_is_imm: false,
            write_rd: false,
        };
        match opcode {
            O::Lui => Self {
                rs1: 0,
                ..immediate(Op::Add, imm)
            },
            O::Auipc => Self {
                rs1: 0,
                ..immediate(Op::Add, pc.wrapping_add(imm))
            },
            O::Fence => Self {
                rd: 0,
                rs1: 0,
                ..immediate(Op::Add, 0)
            },
            O::Jal => Self {
                op: Op::Jal,
                rd,
                rs1: 0,
                rs2: 0,
                imm: target(imm),
                b_is_imm: false,
                write_rd: rd != 0,
            },
            O::Jalr => Self {
                op: Op::Jalr,
                rd,
                rs1,
                rs2: 0,
                imm,
                b_is_imm: false,
                write_rd: rd != 0,
            },
            O::Beq => branch(Op::Beq),
            O::Bne => branch(Op::Bne),
            O::Blt => branch(Op::Blt),
            O::Bge => branch(Op::Bge),
            O::Bltu => branch(Op::Bltu),
            O::Bgeu => branch(Op::Bgeu),
            O::Lb => load(Op::Lb),
            O::Lh => load(Op::Lh),
            O::Lw => load(Op::Lw),
            O::Lbu => load(Op::Lbu),
            O::Lhu => load(Op::Lhu),
            O::Sb => store(Op::Sb),
            O::Sh => store(Op::Sh),
            O::Sw => store(Op::Sw),
            O::Addi => immediate(Op::Add, imm),
            O::Slti => immediate(Op::Slt, imm),
            O::Sltiu => immediate(Op::Sltu, imm),
            O::Xori => immediate(Op::Xor, imm),
            O::Ori => immediate(Op::Or, imm),
            O::Andi => immediate(Op::And, imm),
            O::Slli => immediate(Op::Sll, imm),
            O::Srli => immediate(Op::Srl, imm),
            O::Srai => immediate(Op::Sra, imm),
            O::Add => register(Op::Add),
            O::Sub => register(Op::Sub),
            O::Sll => register(Op::Sll),
            O::Slt => register(Op::Slt),
            O::Sltu => register(Op::Sltu),
            O::Xor => register(Op::Xor),
            O::Srl => register(Op::Srl),
            O::Sra => register(Op::Sra),
            O::Or => register(Op::Or),
            O::And => register(Op::And),
            O::Mul => register(Op::Mul),
            O::Mulh => register(Op::Mulh),
            O::Mulhsu => register(Op::Mulhsu),
            O::Mulhu => register(Op::Mulhu),
            O::Div => register(Op::Div),
            O::Divu => register(Op::Divu),
            O::Rem => register(Op::Rem),
            O::Remu => register(Op::Remu),
            O::Ecall => Self {
                op: Op::Ecall,
                ..Self::INVALID
            },
            O::Ebreak | O::Illegal => Self::INVALID,
        }
    }
}

impl RomInstruction {
    /// Whether the instruction reads `rs2`: register-register operations, branches, stores.
    pub fn reads_rs2(&self) -> bool {
        match self.op {
            Op::Invalid | Op::Jal | Op::Jalr | Op::Ecall => false,
            Op::Lb | Op::Lh | Op::Lw | Op::Lbu | Op::Lhu => false,
            Op::Beq | Op::Bne | Op::Blt | Op::Bge | Op::Bltu | Op::Bgeu => true,
            Op::Sb | Op::Sh | Op::Sw => true,
            _ => !self.b_is_imm,
        }
    }
}

/// The decoded text of a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rom {
    instructions: Vec<RomInstruction>,
}

impl Rom {
    pub fn new(program: &Program) -> Self {
        let text_end = program.text().end;
        let instructions = program
            .text()
            .step_by(4)
            .map(|pc| RomInstruction::decode(pc, decode(program.word(pc)), text_end))
            .collect();
        Self { instructions }
    }

    /// The instruction at `pc`, if `pc` is a text address.
    pub fn get(&self, pc: u32) -> Option<&RomInstruction> {
        if !pc.is_multiple_of(4) {
            return None;
        }
        self.instructions
            .get((pc.wrapping_sub(TEXT_START) / 4) as usize)
    }

    /// `(pc, instruction)` for every text word.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &RomInstruction)> {
        (TEXT_START..).step_by(4).zip(&self.instructions)
    }

    pub fn len(&self) -> usize {
        self.instructions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.instructions.is_empty()
    }
}
