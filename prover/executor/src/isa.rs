//! RV32IM instruction decoding and encoding.
//!
//! [`decode`] accepts exactly the RV32I base integer instructions and the M extension, with
//! every reserved bit checked: anything else (compressed instructions, CSR access, `fence.i`,
//! a shift amount with bit 5 set, an unknown `funct7`) decodes to [`Opcode::Illegal`], which
//! traps when executed. [`Instruction::encode`] is its inverse, for tests and tools.

use std::fmt;

/// An RV32IM operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Opcode {
    Lui,
    Auipc,
    Jal,
    Jalr,
    Beq,
    Bne,
    Blt,
    Bge,
    Bltu,
    Bgeu,
    Lb,
    Lh,
    Lw,
    Lbu,
    Lhu,
    Sb,
    Sh,
    Sw,
    Addi,
    Slti,
    Sltiu,
    Xori,
    Ori,
    Andi,
    Slli,
    Srli,
    Srai,
    Add,
    Sub,
    Sll,
    Slt,
    Sltu,
    Xor,
    Srl,
    Sra,
    Or,
    And,
    Mul,
    Mulh,
    Mulhsu,
    Mulhu,
    Div,
    Divu,
    Rem,
    Remu,
    Fence,
    Ecall,
    Ebreak,
    Illegal,
}

/// The encoding format of an opcode: which fields it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    R,
    I,
    S,
    B,
    U,
    J,
    /// `fence`, `ecall`, `ebreak`: fixed encodings (a fence's ordering bits are kept in `imm`).
    System,
}

impl Opcode {
    /// Every opcode, in declaration order.
    pub const ALL: [Opcode; 49] = [
        Opcode::Lui,
        Opcode::Auipc,
        Opcode::Jal,
        Opcode::Jalr,
        Opcode::Beq,
        Opcode::Bne,
        Opcode::Blt,
        Opcode::Bge,
        Opcode::Bltu,
        Opcode::Bgeu,
        Opcode::Lb,
        Opcode::Lh,
        Opcode::Lw,
        Opcode::Lbu,
        Opcode::Lhu,
        Opcode::Sb,
        Opcode::Sh,
        Opcode::Sw,
        Opcode::Addi,
        Opcode::Slti,
        Opcode::Sltiu,
        Opcode::Xori,
        Opcode::Ori,
        Opcode::Andi,
        Opcode::Slli,
        Opcode::Srli,
        Opcode::Srai,
        Opcode::Add,
        Opcode::Sub,
        Opcode::Sll,
        Opcode::Slt,
        Opcode::Sltu,
        Opcode::Xor,
        Opcode::Srl,
        Opcode::Sra,
        Opcode::Or,
        Opcode::And,
        Opcode::Mul,
        Opcode::Mulh,
        Opcode::Mulhsu,
        Opcode::Mulhu,
        Opcode::Div,
        Opcode::Divu,
        Opcode::Rem,
        Opcode::Remu,
        Opcode::Fence,
        Opcode::Ecall,
        Opcode::Ebreak,
        Opcode::Illegal,
    ];

    pub fn format(self) -> Format {
        use Opcode::*;
        match self {
            Lui | Auipc => Format::U,
            Jal => Format::J,
            Beq | Bne | Blt | Bge | Bltu | Bgeu => Format::B,
            Sb | Sh | Sw => Format::S,
            Jalr | Lb | Lh | Lw | Lbu | Lhu | Addi | Slti | Sltiu | Xori | Ori | Andi | Slli
            | Srli | Srai => Format::I,
            Add | Sub | Sll | Slt | Sltu | Xor | Srl | Sra | Or | And | Mul | Mulh | Mulhsu
            | Mulhu | Div | Divu | Rem | Remu => Format::R,
            Fence | Ecall | Ebreak | Illegal => Format::System,
        }
    }

    /// The assembler mnemonic.
    pub fn mnemonic(self) -> &'static str {
        use Opcode::*;
        match self {
            Lui => "lui",
            Auipc => "auipc",
            Jal => "jal",
            Jalr => "jalr",
            Beq => "beq",
            Bne => "bne",
            Blt => "blt",
            Bge => "bge",
            Bltu => "bltu",
            Bgeu => "bgeu",
            Lb => "lb",
            Lh => "lh",
            Lw => "lw",
            Lbu => "lbu",
            Lhu => "lhu",
            Sb => "sb",
            Sh => "sh",
            Sw => "sw",
            Addi => "addi",
            Slti => "slti",
            Sltiu => "sltiu",
            Xori => "xori",
            Ori => "ori",
            Andi => "andi",
            Slli => "slli",
            Srli => "srli",
            Srai => "srai",
            Add => "add",
            Sub => "sub",
            Sll => "sll",
            Slt => "slt",
            Sltu => "sltu",
            Xor => "xor",
            Srl => "srl",
            Sra => "sra",
            Or => "or",
            And => "and",
            Mul => "mul",
            Mulh => "mulh",
            Mulhsu => "mulhsu",
            Mulhu => "mulhu",
            Div => "div",
            Divu => "divu",
            Rem => "rem",
            Remu => "remu",
            Fence => "fence",
            Ecall => "ecall",
            Ebreak => "ebreak",
            Illegal => "illegal",
        }
    }
}

/// A decoded instruction. Fields an opcode's format does not have are zero; `imm` holds the
/// sign-extended immediate (for U-type, the value already shifted into the upper 20 bits;
/// for shifts by an immediate, the shift amount).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Instruction {
    pub opcode: Opcode,
    pub rd: u8,
    pub rs1: u8,
    pub rs2: u8,
    pub imm: u32,
}

const ILLEGAL: Instruction = Instruction {
    opcode: Opcode::Illegal,
    rd: 0,
    rs1: 0,
    rs2: 0,
    imm: 0,
};

const OP_LUI: u32 = 0b011_0111;
const OP_AUIPC: u32 = 0b001_0111;
const OP_JAL: u32 = 0b110_1111;
const OP_JALR: u32 = 0b110_0111;
const OP_BRANCH: u32 = 0b110_0011;
const OP_LOAD: u32 = 0b000_0011;
const OP_STORE: u32 = 0b010_0011;
const OP_IMM: u32 = 0b001_0011;
const OP_REG: u32 = 0b011_0011;
const OP_MISC_MEM: u32 = 0b000_1111;
const OP_SYSTEM: u32 = 0b111_0011;

const ECALL_WORD: u32 = 0x0000_0073;
const EBREAK_WORD: u32 = 0x0010_0073;

fn sign_extend(value: u32, bits: u32) -> u32 {
    let shift = 32 - bits;
    (((value << shift) as i32) >> shift) as u32
}

fn i_immediate(word: u32) -> u32 {
    ((word as i32) >> 20) as u32
}

fn s_immediate(word: u32) -> u32 {
    sign_extend(((word >> 25) << 5) | ((word >> 7) & 0x1f), 12)
}

fn b_immediate(word: u32) -> u32 {
    let value = (((word >> 31) & 1) << 12)
        | (((word >> 7) & 1) << 11)
        | (((word >> 25) & 0x3f) << 5)
        | (((word >> 8) & 0xf) << 1);
    sign_extend(value, 13)
}

fn j_immediate(word: u32) -> u32 {
    let value = (((word >> 31) & 1) << 20)
        | (((word >> 12) & 0xff) << 12)
        | (((word >> 20) & 1) << 11)
        | (((word >> 21) & 0x3ff) << 1);
    sign_extend(value, 21)
}

/// Decodes one instruction word. Words that are not valid RV32IM decode to
/// [`Opcode::Illegal`].
pub fn decode(word: u32) -> Instruction {
    use Opcode::*;
    let rd = ((word >> 7) & 0x1f) as u8;
    let funct3 = (word >> 12) & 0x7;
    let rs1 = ((word >> 15) & 0x1f) as u8;
    let rs2 = ((word >> 20) & 0x1f) as u8;
    let funct7 = word >> 25;
    let make = |opcode, rd, rs1, rs2, imm| Instruction {
        opcode,
        rd,
        rs1,
        rs2,
        imm,
    };

    let opcode = match word & 0x7f {
        OP_LUI => return make(Lui, rd, 0, 0, word & 0xffff_f000),
        OP_AUIPC => return make(Auipc, rd, 0, 0, word & 0xffff_f000),
        OP_JAL => return make(Jal, rd, 0, 0, j_immediate(word)),
        OP_JALR if funct3 == 0 => return make(Jalr, rd, rs1, 0, i_immediate(word)),
        OP_BRANCH => {
            let opcode = match funct3 {
                0 => Beq,
                1 => Bne,
                4 => Blt,
                5 => Bge,
                6 => Bltu,
                7 => Bgeu,
                _ => return ILLEGAL,
            };
            return make(opcode, 0, rs1, rs2, b_immediate(word));
        }
        OP_LOAD => {
            let opcode = match funct3 {
                0 => Lb,
                1 => Lh,
                2 => Lw,
                4 => Lbu,
                5 => Lhu,
                _ => return ILLEGAL,
            };
            return make(opcode, rd, rs1, 0, i_immediate(word));
        }
        OP_STORE => {
            let opcode = match funct3 {
                0 => Sb,
                1 => Sh,
                2 => Sw,
                _ => return ILLEGAL,
            };
            return make(opcode, 0, rs1, rs2, s_immediate(word));
        }
        OP_IMM => match (funct3, funct7) {
            (0, _) => Addi,
            (2, _) => Slti,
            (3, _) => Sltiu,
            (4, _) => Xori,
            (6, _) => Ori,
            (7, _) => Andi,
            (1, 0) => return make(Slli, rd, rs1, 0, u32::from(rs2)),
            (5, 0) => return make(Srli, rd, rs1, 0, u32::from(rs2)),
            (5, 0b010_0000) => return make(Srai, rd, rs1, 0, u32::from(rs2)),
            _ => return ILLEGAL,
        },
        OP_REG => {
            let opcode = match (funct7, funct3) {
                (0, 0) => Add,
                (0b010_0000, 0) => Sub,
                (0, 1) => Sll,
                (0, 2) => Slt,
                (0, 3) => Sltu,
                (0, 4) => Xor,
                (0, 5) => Srl,
                (0b010_0000, 5) => Sra,
                (0, 6) => Or,
                (0, 7) => And,
                (1, 0) => Mul,
                (1, 1) => Mulh,
                (1, 2) => Mulhsu,
                (1, 3) => Mulhu,
                (1, 4) => Div,
                (1, 5) => Divu,
                (1, 6) => Rem,
                (1, 7) => Remu,
                _ => return ILLEGAL,
            };
            return make(opcode, rd, rs1, rs2, 0);
        }
        // A fence orders memory for other harts and devices; with one hart and no devices it
        // has no effect, but its reserved fields must still be zero.
        OP_MISC_MEM if funct3 == 0 && rd == 0 && rs1 == 0 && word >> 28 == 0 => {
            return make(Fence, 0, 0, 0, (word >> 20) & 0xff);
        }
        OP_SYSTEM if word == ECALL_WORD => return make(Ecall, 0, 0, 0, 0),
        OP_SYSTEM if word == EBREAK_WORD => return make(Ebreak, 0, 0, 0, 0),
        _ => return ILLEGAL,
    };
    make(opcode, rd, rs1, 0, i_immediate(word))
}

impl Instruction {
    /// The instruction word. `decode(i.encode()) == i` for every instruction `decode` returns
    /// except [`Opcode::Illegal`], which has no encoding (it encodes to all ones, which
    /// decodes to illegal again).
    pub fn encode(&self) -> u32 {
        use Opcode::*;
        let (rd, rs1, rs2, imm) = (
            u32::from(self.rd),
            u32::from(self.rs1),
            u32::from(self.rs2),
            self.imm,
        );
        let r = |funct7: u32, funct3: u32| {
            (funct7 << 25) | (rs2 << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | OP_REG
        };
        let i = |funct3: u32, opcode: u32| {
            ((imm & 0xfff) << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode
        };
        let shift = |funct7: u32, funct3: u32| {
            (funct7 << 25)
                | ((imm & 0x1f) << 20)
                | (rs1 << 15)
                | (funct3 << 12)
                | (rd << 7)
                | OP_IMM
        };
        let s = |funct3: u32| {
            (((imm >> 5) & 0x7f) << 25)
                | (rs2 << 20)
                | (rs1 << 15)
                | (funct3 << 12)
                | ((imm & 0x1f) << 7)
                | OP_STORE
        };
        let b = |funct3: u32| {
            (((imm >> 12) & 1) << 31)
                | (((imm >> 5) & 0x3f) << 25)
                | (rs2 << 20)
                | (rs1 << 15)
                | (funct3 << 12)
                | (((imm >> 1) & 0xf) << 8)
                | (((imm >> 11) & 1) << 7)
                | OP_BRANCH
        };
        match self.opcode {
            Lui => (imm & 0xffff_f000) | (rd << 7) | OP_LUI,
            Auipc => (imm & 0xffff_f000) | (rd << 7) | OP_AUIPC,
            Jal => {
                (((imm >> 20) & 1) << 31)
                    | (((imm >> 1) & 0x3ff) << 21)
                    | (((imm >> 11) & 1) << 20)
                    | (((imm >> 12) & 0xff) << 12)
                    | (rd << 7)
                    | OP_JAL
            }
            Jalr => i(0, OP_JALR),
            Beq => b(0),
            Bne => b(1),
            Blt => b(4),
            Bge => b(5),
            Bltu => b(6),
            Bgeu => b(7),
            Lb => i(0, OP_LOAD),
            Lh => i(1, OP_LOAD),
            Lw => i(2, OP_LOAD),
            Lbu => i(4, OP_LOAD),
            Lhu => i(5, OP_LOAD),
            Sb => s(0),
            Sh => s(1),
            Sw => s(2),
            Addi => i(0, OP_IMM),
            Slti => i(2, OP_IMM),
            Sltiu => i(3, OP_IMM),
            Xori => i(4, OP_IMM),
            Ori => i(6, OP_IMM),
            Andi => i(7, OP_IMM),
            Slli => shift(0, 1),
            Srli => shift(0, 5),
            Srai => shift(0b010_0000, 5),
            Add => r(0, 0),
            Sub => r(0b010_0000, 0),
            Sll => r(0, 1),
            Slt => r(0, 2),
            Sltu => r(0, 3),
            Xor => r(0, 4),
            Srl => r(0, 5),
            Sra => r(0b010_0000, 5),
            Or => r(0, 6),
            And => r(0, 7),
            Mul => r(1, 0),
            Mulh => r(1, 1),
            Mulhsu => r(1, 2),
            Mulhu => r(1, 3),
            Div => r(1, 4),
            Divu => r(1, 5),
            Rem => r(1, 6),
            Remu => r(1, 7),
            Fence => ((imm & 0xff) << 20) | OP_MISC_MEM,
            Ecall => ECALL_WORD,
            Ebreak => EBREAK_WORD,
            Illegal => u32::MAX,
        }
    }
}

/// ABI names of the registers, for disassembly.
pub const REGISTER_NAMES: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4",
    "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
    "t5", "t6",
];

impl fmt::Display for Instruction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |register: u8| REGISTER_NAMES[usize::from(register & 0x1f)];
        let (rd, rs1, rs2) = (name(self.rd), name(self.rs1), name(self.rs2));
        let mnemonic = self.opcode.mnemonic();
        let signed = self.imm as i32;
        match (self.opcode, self.opcode.format()) {
            (Opcode::Lb | Opcode::Lh | Opcode::Lw | Opcode::Lbu | Opcode::Lhu, _) => {
                write!(f, "{mnemonic} {rd}, {signed}({rs1})")
            }
            (_, Format::R) => write!(f, "{mnemonic} {rd}, {rs1}, {rs2}"),
            (_, Format::I) => write!(f, "{mnemonic} {rd}, {rs1}, {signed}"),
            (_, Format::S) => write!(f, "{mnemonic} {rs2}, {signed}({rs1})"),
            (_, Format::B) => write!(f, "{mnemonic} {rs1}, {rs2}, {signed}"),
            (_, Format::U) => write!(f, "{mnemonic} {rd}, {:#x}", self.imm >> 12),
            (_, Format::J) => write!(f, "{mnemonic} {rd}, {signed}"),
            (_, Format::System) => f.write_str(mnemonic),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn decodes_known_words() {
        // Words from `llvm-objdump` of a guest build.
        let cases = [
            (0x2000_0137, "lui sp, 0x20000"),
            (0xfa01_0113, "addi sp, sp, -96"),
            (0x0411_2e23, "sw ra, 92(sp)"),
            (0x0062_f863, "bgeu t0, t1, 16"),
            (0xff5f_f06f, "jal zero, -12"),
            (0x5ac0_80e7, "jalr ra, ra, 1452"),
            (0x0000_0073, "ecall"),
            (0x02c5_d533, "divu a0, a1, a2"),
            (0x4020_5093, "srai ra, zero, 2"),
        ];
        for (word, text) in cases {
            assert_eq!(decode(word).to_string(), text, "{word:#010x}");
        }
    }

    #[test]
    fn rejects_what_is_not_rv32im() {
        for word in [
            0x0000_0000, // all zero: defined illegal
            0xffff_ffff,
            0x0000_4501, // compressed c.li
            0x0200_1093, // slli with shamt[5] set
            0x3000_2573, // csrr a0, mstatus
            0x0000_100f, // fence.i
            0x0400_0033, // funct7 = 2
            0x0000_2063, // branch funct3 = 2
            0x0000_3003, // load funct3 = 3 (ld)
            0x0000_3023, // store funct3 = 3 (sd)
            0x0010_1073, // csrrw
            0x1050_0073, // wfi
        ] {
            assert_eq!(decode(word).opcode, Opcode::Illegal, "{word:#010x}");
        }
    }

    proptest! {
        #[test]
        fn encode_inverts_decode(word: u32) {
            let instruction = decode(word);
            if instruction.opcode != Opcode::Illegal {
                prop_assert_eq!(decode(instruction.encode()), instruction);
                prop_assert_eq!(instruction.encode(), word);
            }
        }
    }
}
