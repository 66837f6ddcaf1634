//! Comparisons: `slt`, `sltu`, `slti`, `sltiu`.
//!
//! The comparison itself is [`CompareCols`], which the branch table shares. For a signed
//! comparison both operands have their sign bit flipped first, which maps signed order onto
//! unsigned order; then `a' - b' = diff - less * 2^32` limb by limb, with `diff` range-checked
//! and boolean borrows, so `less` is 1 exactly when `a' < b'`.
//!
//! Soundness:
//! - `sign[i]` is the most significant bit of operand `i` in a signed comparison: the lookup
//!   `range16(2 * hi - 2^16 * sign)` proves `hi - 2^15 * sign` in `[0, 2^15)` (as `hi` is a
//!   canonical limb below 2^16, an odd multiple of `1/2` would have to be near `p/2`), which
//!   for a boolean `sign` is exactly "sign is the top bit of hi". In an unsigned comparison
//!   both are pinned to 0 and the lookup is not sent.
//! - Flipping bit 31 of both operands changes `a_hi - b_hi` by `2^16 * (sign_b - sign_a)`
//!   only (the `2^15` terms cancel), which is how the high-limb equation is written.
//! - Each limb equation has terms below 2^18 in absolute value, so it holds over the integers,
//!   and with `diff` limbs below 2^16 and boolean borrows it is exactly 32-bit subtraction:
//!   `less` is the final borrow, so it is 1 if and only if `a' < b'`.
//! - The result `less` is boolean, so `[less, 0]` is a canonical word for `rd`.
//! - `is_signed` selects behaviour, so it is part of the operation fetched from the program
//!   (`op = Sltu - is_signed`), which binds it on real rows; padding rows pin it to 0 because it
//!   counts the sign lookups.

use core::borrow::{Borrow, BorrowMut};

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use crate::bus::{Buses, send};
use crate::chips::instruction::{InstructionCols, eval_instruction};
use crate::chips::lookup::LookupCounts;
use crate::chips::{TraceGenerator, trace_from_rows};
use crate::columns::impl_columns;
use crate::config::F;
use crate::gadgets::{
    AccessCols, Word, WriteCols, eval_read, eval_write, limb_base, timestamp, word, word_expr,
};
use crate::record::{ExecutionRecord, slot};
use crate::rom::Op;

/// A 32-bit comparison `a < b`, signed or unsigned.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct CompareCols<T> {
    /// `(a' - b') mod 2^32`, where `'` flips bit 31 in a signed comparison.
    pub diff: Word<T>,
    /// The borrow out of the low limb.
    pub borrow: T,
    /// Whether `a < b`: the borrow out of the high limb.
    pub less: T,
    /// Bit 31 of `a` and `b` in a signed comparison, 0 in an unsigned one.
    pub sign: [T; 2],
}

impl CompareCols<F> {
    /// Fills the columns for `a < b` and counts their range checks.
    pub fn fill(&mut self, a: u32, b: u32, signed: bool, lookups: &mut LookupCounts) {
        let flip = if signed { 1 << 31 } else { 0 };
        let (x, y) = (a ^ flip, b ^ flip);
        let diff = x.wrapping_sub(y);
        self.diff = word(diff);
        self.borrow = F::from_bool((x & 0xffff) < (y & 0xffff));
        self.less = F::from_bool(x < y);
        lookups.range16(diff & 0xffff);
        lookups.range16(diff >> 16);
        if signed {
            self.sign = [a >> 31, b >> 31].map(F::from_u32);
            for operand in [a, b] {
                // 2 * hi - 2^16 * sign, the high limb without its top bit, doubled.
                lookups.range16(((operand >> 16) & 0x7fff) << 1);
            }
        } else {
            self.sign = [F::ZERO; 2];
        }
    }
}

/// Constrains `cols` to compare `a` with `b` (canonical words), signed when `is_signed`;
/// `is_real` and `is_signed` are booleans, `is_signed` implying `is_real`.
pub fn eval_compare<AB: InteractionBuilder>(
    builder: &mut AB,
    a: &Word<AB::Expr>,
    b: &Word<AB::Expr>,
    cols: &CompareCols<AB::Var>,
    is_real: AB::Expr,
    is_signed: AB::Expr,
) {
    let base = limb_base::<AB::Expr>();
    builder.assert_bool(cols.borrow);
    builder.assert_bool(cols.less);
    builder.assert_bools(cols.sign);
    builder
        .when(AB::Expr::ONE - is_signed.clone())
        .assert_zeros(cols.sign);
    for (operand, sign) in [a, b].into_iter().zip(cols.sign) {
        let doubled_rest = operand[1].clone() * AB::Expr::TWO - sign.into() * base.clone();
        builder.range16(doubled_rest, send(is_signed.clone()));
    }
    let [sign_a, sign_b] = cols.sign.map(Into::<AB::Expr>::into);
    builder.assert_eq(
        a[0].clone() - b[0].clone() + cols.borrow.into() * base.clone(),
        cols.diff[0],
    );
    builder.assert_eq(
        a[1].clone() - b[1].clone() - (sign_a - sign_b) * base.clone() - cols.borrow.into()
            + cols.less.into() * base,
        cols.diff[1],
    );
    builder.range16(cols.diff[0].into(), send(is_real.clone()));
    builder.range16(cols.diff[1].into(), send(is_real));
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct LessThanCols<T> {
    pub instruction: InstructionCols<T>,
    pub is_signed: T,
    pub a: Word<T>,
    pub b: Word<T>,
    pub compare: CompareCols<T>,
    pub rs1_access: AccessCols<T>,
    pub rs2_access: AccessCols<T>,
    pub rd_access: WriteCols<T>,
}

impl_columns!(LessThanCols, LESS_THAN_WIDTH);

#[derive(Clone, Debug, Default)]
pub struct LessThanAir;

impl TraceGenerator for LessThanAir {
    fn max_rows(&self, budget: super::SegmentBudget) -> u64 {
        budget.cycles
    }

    fn generate_trace(
        &self,
        record: &ExecutionRecord,
        lookups: &mut LookupCounts,
    ) -> RowMajorMatrix<F> {
        let events: Vec<_> = record
            .instructions
            .iter()
            .filter(|event| matches!(event.instruction.op, Op::Slt | Op::Sltu))
            .collect();
        trace_from_rows(LESS_THAN_WIDTH, events.into_iter(), |row, event| {
            let cols: &mut LessThanCols<F> = row.borrow_mut();
            cols.instruction.fill(event);
            let signed = event.instruction.op == Op::Slt;
            let (a, b) = (event.a(), event.b());
            cols.is_signed = F::from_bool(signed);
            cols.a = word(a);
            cols.b = word(b);
            cols.compare.fill(a, b, signed, lookups);
            cols.rs1_access.fill(&event.rs1, lookups);
            if let Some(rs2) = &event.rs2 {
                cols.rs2_access.fill(rs2, lookups);
            }
            if let Some(rd) = &event.rd {
                cols.rd_access.fill(rd, lookups);
            }
        })
    }

    fn max_cycles_per_row(&self) -> u64 {
        1
    }
}

impl BaseAir<F> for LessThanAir {
    fn width(&self) -> usize {
        LESS_THAN_WIDTH
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }

    fn max_constraint_degree(&self) -> Option<usize> {
        Some(crate::chips::MAX_CONSTRAINT_DEGREE)
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for LessThanAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let cols: &LessThanCols<AB::Var> = main.current_slice().borrow();
        let instruction = &cols.instruction;
        let is_real: AB::Expr = instruction.is_real.into();
        let is_signed: AB::Expr = cols.is_signed.into();
        let [a, b] = [&cols.a, &cols.b].map(word_expr::<AB>);

        builder.assert_bool(cols.is_signed);
        builder
            .when_ne(instruction.is_real, AB::Expr::ONE)
            .assert_zero(cols.is_signed);
        for (limb, imm) in b.iter().zip(instruction.imm) {
            builder
                .when(instruction.b_is_imm)
                .assert_eq(limb.clone(), imm);
        }
        eval_compare(
            builder,
            &a,
            &b,
            &cols.compare,
            is_real.clone(),
            is_signed.clone(),
        );

        let op = AB::Expr::from_u32(Op::Sltu as u32) - is_signed;
        let next_pc = instruction.pc.into() + AB::Expr::from_u32(4);
        eval_instruction(builder, instruction, op, next_pc, AB::Expr::ONE);

        let clk: AB::Expr = instruction.clk.into();
        eval_read(
            builder,
            instruction.rs1.into(),
            a,
            timestamp(clk.clone(), slot::RS1),
            &cols.rs1_access,
            is_real,
        );
        eval_read(
            builder,
            instruction.rs2.into(),
            b,
            timestamp(clk.clone(), slot::RS2),
            &cols.rs2_access,
            instruction.reads_rs2(),
        );
        eval_write(
            builder,
            instruction.rd.into(),
            [cols.compare.less.into(), AB::Expr::ZERO],
            timestamp(clk, slot::RD),
            &cols.rd_access,
            instruction.write_rd.into(),
        );
    }
}
