//! What every instruction row has: its place in the execution (pc, clk), the instruction it
//! fetched, and the state transition to its successor.

use p3_air::AirBuilder;
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;

use crate::bus::{Buses, Fetch, receive, send};
use crate::config::F;
use crate::gadgets::{Word, word, word_expr};
use crate::record::InstructionEvent;

/// The columns every instruction table starts with.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct InstructionCols<T> {
    /// 1 on rows that execute an instruction, 0 on padding.
    pub is_real: T,
    pub pc: T,
    pub clk: T,
    pub rd: T,
    pub rs1: T,
    pub rs2: T,
    pub imm: Word<T>,
    pub b_is_imm: T,
    pub write_rd: T,
}

impl InstructionCols<F> {
    pub fn fill(&mut self, event: &InstructionEvent) {
        let instruction = &event.instruction;
        self.is_real = F::ONE;
        self.pc = F::from_u32(event.pc);
        self.clk = F::from_u32(event.clk);
        self.rd = F::from_u8(instruction.rd);
        self.rs1 = F::from_u8(instruction.rs1);
        self.rs2 = F::from_u8(instruction.rs2);
        self.imm = word(instruction.imm);
        self.b_is_imm = F::from_bool(instruction.b_is_imm);
        self.write_rd = F::from_bool(instruction.write_rd);
    }
}

impl<T: Copy> InstructionCols<T> {
    /// `is_real * (1 - b_is_imm)`, linear because `b_is_imm` implies `is_real`: whether the row
    /// reads `rs2`.
    pub fn reads_rs2<E: From<T> + PrimeCharacteristicRing>(&self) -> E {
        E::from(self.is_real) - E::from(self.b_is_imm)
    }
}

/// Constrains the instruction row: its flags are booleans that only real rows set, it takes
/// the state `(pc, clk)` and hands on `(next_pc, clk + cycles)`, and it executes the
/// instruction the program holds at `pc`, whose operation is `op`.
pub fn eval_instruction<AB: InteractionBuilder>(
    builder: &mut AB,
    cols: &InstructionCols<AB::Var>,
    op: AB::Expr,
    next_pc: AB::Expr,
    cycles: AB::Expr,
) {
    let is_real: AB::Expr = cols.is_real.into();
    builder.assert_bool(cols.is_real);
    builder.assert_bool(cols.b_is_imm);
    builder.assert_bool(cols.write_rd);
    // Padding rows fetch nothing, so nothing binds their flags: forbid them outright.
    builder
        .when_ne(cols.is_real, AB::Expr::ONE)
        .assert_zero(cols.b_is_imm);
    builder
        .when_ne(cols.is_real, AB::Expr::ONE)
        .assert_zero(cols.write_rd);

    let clk: AB::Expr = cols.clk.into();
    builder.state(cols.pc.into(), clk.clone(), receive(is_real.clone()));
    builder.state(next_pc, clk + cycles, send(is_real.clone()));
    let fetch = Fetch {
        pc: cols.pc.into(),
        op,
        rd: cols.rd.into(),
        rs1: cols.rs1.into(),
        rs2: cols.rs2.into(),
        imm: word_expr::<AB>(&cols.imm),
        b_is_imm: cols.b_is_imm.into(),
        write_rd: cols.write_rd.into(),
    };
    builder.program(fetch, send(is_real));
}
