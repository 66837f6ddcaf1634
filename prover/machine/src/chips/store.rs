//! Stores: `sb`, `sh`, `sw`.
//!
//! A row reads `rs1` and `rs2`, proves the effective address and the word it falls in (see
//! [`super::address`]), and writes that word in memory, from `p` (before) to `n` (after):
//! - `sw`: `n = rs2` (the offset must be 0);
//! - `sh`: the half of `p` the offset's high bit selects becomes `rs2`'s low half (the offset's
//!   low bit must be 0);
//! - `sb`: the byte of that half the offset's low bit selects becomes `rs2`'s low byte.
//!
//! The selected half of `p` and `rs2`'s low half split into bytes proven by `bytes` lookups,
//! so the new word is made of canonical limbs and bytes: it is canonical without further
//! checks.

use core::borrow::{Borrow, BorrowMut};

use p3_air::{Air, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use crate::bus::{Buses, ByteOp, send};
use crate::chips::address::{AddressCols, eval_address};
use crate::chips::instruction::{InstructionCols, eval_instruction};
use crate::chips::lookup::LookupCounts;
use crate::chips::{TraceGenerator, trace_from_rows};
use crate::columns::impl_columns;
use crate::config::F;
use crate::gadgets::{
    AccessCols, Word, WriteCols, eval_read, eval_write, timestamp, word, word_expr,
};
use crate::record::{ExecutionRecord, slot};
use crate::rom::Op;

const OPS: [Op; 3] = [Op::Sb, Op::Sh, Op::Sw];

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct StoreCols<T> {
    pub instruction: InstructionCols<T>,
    /// One-hot: sb, sh, sw.
    pub op: [T; 3],
    pub a: Word<T>,
    pub b: Word<T>,
    pub address: AddressCols<T>,
    /// The half of the old word the offset selects, its bytes and their AND.
    pub half: T,
    pub half_bytes: [T; 2],
    pub half_and: T,
    /// The bytes of `b`'s low half and their AND.
    pub b_bytes: [T; 2],
    pub b_and: T,
    /// The selected half after a byte or half store (zero for `sw`).
    pub new_half: T,
    /// The word after the store (the word before is the write's previous value).
    pub new_word: Word<T>,
    pub rs1_access: AccessCols<T>,
    pub rs2_access: AccessCols<T>,
    pub memory_access: WriteCols<T>,
}

impl_columns!(StoreCols, STORE_WIDTH);

#[derive(Clone, Debug, Default)]
pub struct StoreChip;

fn bytes_of(half: u32) -> [u32; 2] {
    [half & 0xff, half >> 8]
}

impl TraceGenerator for StoreChip {
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
            .filter(|event| OPS.contains(&event.instruction.op))
            .collect();
        trace_from_rows(STORE_WIDTH, events.into_iter(), |row, event| {
            let cols: &mut StoreCols<F> = row.borrow_mut();
            let op = event.instruction.op;
            cols.instruction.fill(event);
            cols.op = OPS.map(|candidate| F::from_bool(candidate == op));
            let (a, b) = (event.a(), event.b());
            cols.a = word(a);
            cols.b = word(b);
            cols.address.fill(a, event.instruction.imm, lookups);
            let address = a.wrapping_add(event.instruction.imm);
            let access = event.memory.expect("a store writes memory");
            let shift = if address & 2 == 0 { 0 } else { 16 };
            let half = (access.prev_value >> shift) & 0xffff;
            let half_bytes = bytes_of(half);
            cols.half = F::from_u32(half);
            cols.half_bytes = half_bytes.map(F::from_u32);
            cols.half_and = F::from_u32(half_bytes[0] & half_bytes[1]);
            lookups.byte_op(ByteOp::And, half_bytes[0] as u8, half_bytes[1] as u8);
            let b_bytes = bytes_of(b & 0xffff);
            cols.b_bytes = b_bytes.map(F::from_u32);
            cols.b_and = F::from_u32(b_bytes[0] & b_bytes[1]);
            lookups.byte_op(ByteOp::And, b_bytes[0] as u8, b_bytes[1] as u8);
            // A word store replaces the whole word: no half is selected.
            if op != Op::Sw {
                cols.new_half = F::from_u32((access.value >> shift) & 0xffff);
            }
            cols.new_word = word(access.value);
            cols.rs1_access.fill(&event.rs1, lookups);
            cols.rs2_access
                .fill(&event.rs2.expect("a store reads rs2"), lookups);
            cols.memory_access.fill(&access, lookups);
        })
    }

    fn max_cycles_per_row(&self) -> u64 {
        1
    }
}

impl BaseAir<F> for StoreChip {
    fn width(&self) -> usize {
        STORE_WIDTH
    }

    /// Degree 3 leaves room to pack two bus interactions into one auxiliary column.
    fn max_constraint_degree(&self) -> Option<usize> {
        Some(crate::chips::MAX_CONSTRAINT_DEGREE)
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for StoreChip {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let cols: &StoreCols<AB::Var> = main.current_slice().borrow();
        let instruction = &cols.instruction;
        let is_real: AB::Expr = instruction.is_real.into();
        let [sb, sh, sw] = cols.op.map(Into::<AB::Expr>::into);
        builder.assert_bools(cols.op);
        builder.assert_eq(sb.clone() + sh.clone() + sw.clone(), is_real.clone());

        let a = word_expr::<AB>(&cols.a);
        let b = word_expr::<AB>(&cols.b);
        let imm = word_expr::<AB>(&instruction.imm);
        let word_address = eval_address(builder, &a, &imm, &cols.address, is_real.clone());
        let [offset_low, offset_high] = cols.address.offset.map(Into::<AB::Expr>::into);
        builder.assert_zero(sw.clone() * offset_low.clone());
        builder.assert_zero(sw.clone() * offset_high.clone());
        builder.assert_zero(sh.clone() * offset_low.clone());

        // The old word's selected half and its bytes; the bytes of b's low half.
        let [old_low, old_high] = word_expr::<AB>(&cols.memory_access.prev_value);
        builder.assert_eq(
            cols.half,
            old_low.clone() + offset_high.clone() * (old_high.clone() - old_low.clone()),
        );
        let [half0, half1] = cols.half_bytes.map(Into::<AB::Expr>::into);
        let base = AB::Expr::from_u32(256);
        builder.assert_eq(cols.half, half0.clone() + half1.clone() * base.clone());
        builder.byte_op(
            ByteOp::And,
            half0.clone(),
            half1.clone(),
            cols.half_and.into(),
            send(is_real.clone()),
        );
        let [b0, b1] = cols.b_bytes.map(Into::<AB::Expr>::into);
        builder.assert_eq(b[0].clone(), b0.clone() + b1.clone() * base.clone());
        builder.byte_op(
            ByteOp::And,
            b0.clone(),
            b1,
            cols.b_and.into(),
            send(is_real.clone()),
        );

        // The selected half after the store: b's low byte in place of the offset's byte (sb),
        // or b's low half (sh).
        let into_low_byte = b0.clone() + base.clone() * half1;
        let into_high_byte = half0 + base * b0;
        let byte_stored = into_low_byte.clone() + offset_low * (into_high_byte - into_low_byte);
        builder.assert_eq(
            cols.new_half,
            sb.clone() * byte_stored + sh.clone() * b[0].clone(),
        );
        // The word after: b (sw), or the old word with the selected half replaced.
        let [new_low, new_high] = word_expr::<AB>(&cols.new_word);
        let partial = sb + sh;
        builder.assert_eq(
            new_low.clone(),
            sw.clone() * b[0].clone()
                + partial.clone()
                    * (cols.new_half.into()
                        + offset_high.clone() * (old_low - cols.new_half.into())),
        );
        builder.assert_eq(
            new_high.clone(),
            sw * b[1].clone()
                + partial * (old_high.clone() + offset_high * (cols.new_half.into() - old_high)),
        );

        let op: AB::Expr = OPS
            .iter()
            .zip(cols.op)
            .map(|(op, flag)| flag.into() * AB::Expr::from_u32(*op as u32))
            .sum();
        let next_pc = instruction.pc.into() + AB::Expr::from_u32(4);
        eval_instruction(builder, instruction, op, next_pc, AB::Expr::ONE);
        let clk: AB::Expr = instruction.clk.into();
        eval_read(
            builder,
            instruction.rs1.into(),
            a,
            timestamp(clk.clone(), slot::RS1),
            &cols.rs1_access,
            is_real.clone(),
        );
        eval_read(
            builder,
            instruction.rs2.into(),
            b,
            timestamp(clk.clone(), slot::RS2),
            &cols.rs2_access,
            is_real.clone(),
        );
        eval_write(
            builder,
            word_address,
            [new_low, new_high],
            timestamp(clk, slot::DATA),
            &cols.memory_access,
            is_real,
        );
    }
}
