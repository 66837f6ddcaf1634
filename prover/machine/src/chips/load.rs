//! Loads: `lb`, `lh`, `lw`, `lbu`, `lhu`.
//!
//! A row reads `rs1`, proves the effective address and the word it falls in (see
//! [`super::address`]), reads that word `m` from memory, and writes `rd`:
//! - `lw`: `m` (the offset must be 0);
//! - `lh`, `lhu`: the half `h` selected by the offset's high bit (its low bit must be 0),
//!   sign-extended or not;
//! - `lb`, `lbu`: the byte selected by the offset within `h`, sign-extended or not.
//!
//! `h` splits into two bytes proven by a `bytes` lookup; the sign of a signed load is the top
//! bit of its byte or half, proven by range-checking the rest (`low * 512` below 2^16 for a
//! byte, `low * 2` for a half). Every limb written to `rd` is then a byte, a half read from
//! canonical memory, or a sign fill, so it is canonical without further checks.

use core::borrow::{Borrow, BorrowMut};

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::{Count, InteractionBuilder};
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

const OPS: [Op; 5] = [Op::Lb, Op::Lh, Op::Lw, Op::Lbu, Op::Lhu];

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct LoadCols<T> {
    pub instruction: InstructionCols<T>,
    /// One-hot: lb, lh, lw, lbu, lhu.
    pub op: [T; 5],
    pub a: Word<T>,
    pub address: AddressCols<T>,
    /// The memory word.
    pub memory: Word<T>,
    /// The half the offset selects, and its two bytes.
    pub half: T,
    pub half_bytes: [T; 2],
    pub half_and: T,
    /// The byte the offset selects within the half.
    pub byte: T,
    /// Signed loads: the sign bit, and the value without it.
    pub sign: T,
    pub low: T,
    /// What is written to rd.
    pub c: Word<T>,
    pub rs1_access: AccessCols<T>,
    pub memory_access: AccessCols<T>,
    pub rd_access: WriteCols<T>,
}

impl_columns!(LoadCols, LOAD_WIDTH);

#[derive(Clone, Debug, Default)]
pub struct LoadChip;

impl TraceGenerator for LoadChip {
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
        trace_from_rows(LOAD_WIDTH, events.into_iter(), |row, event| {
            let cols: &mut LoadCols<F> = row.borrow_mut();
            let op = event.instruction.op;
            cols.instruction.fill(event);
            cols.op = OPS.map(|candidate| F::from_bool(candidate == op));
            cols.a = word(event.a());
            cols.address.fill(event.a(), event.instruction.imm, lookups);
            let access = event.memory.expect("a load reads memory");
            let address = event.a().wrapping_add(event.instruction.imm);
            let value = access.value;
            cols.memory = word(value);
            let half = if address & 2 == 0 {
                value & 0xffff
            } else {
                value >> 16
            };
            let bytes = [half & 0xff, half >> 8];
            cols.half = F::from_u32(half);
            cols.half_bytes = bytes.map(F::from_u32);
            cols.half_and = F::from_u32(bytes[0] & bytes[1]);
            lookups.byte_op(ByteOp::And, bytes[0] as u8, bytes[1] as u8);
            let byte = bytes[(address & 1) as usize];
            cols.byte = F::from_u32(byte);
            let (signed, width) = match op {
                Op::Lb => (Some(byte), 8),
                Op::Lh => (Some(half), 16),
                _ => (None, 0),
            };
            if let Some(value) = signed {
                let sign = value >> (width - 1);
                let low = value & ((1 << (width - 1)) - 1);
                cols.sign = F::from_u32(sign);
                cols.low = F::from_u32(low);
                lookups.range16(low << (17 - width));
            }
            // The loaded value, not the register's: a load into x0 reads memory and writes
            // nothing, but the row still proves what it read.
            let loaded = match op {
                Op::Lw => value,
                Op::Lh => half as u16 as i16 as u32,
                Op::Lhu => half,
                Op::Lb => byte as u8 as i8 as u32,
                _ => byte,
            };
            debug_assert!(event.rd.is_none() || loaded == event.result);
            cols.c = word(loaded);
            cols.rs1_access.fill(&event.rs1, lookups);
            cols.memory_access.fill(&access, lookups);
            if let Some(rd) = &event.rd {
                cols.rd_access.fill(rd, lookups);
            }
        })
    }

    fn max_cycles_per_row(&self) -> u64 {
        1
    }
}

impl BaseAir<F> for LoadChip {
    fn width(&self) -> usize {
        LOAD_WIDTH
    }

    /// Degree 3 leaves room to pack two bus interactions into one auxiliary column.
    fn max_constraint_degree(&self) -> Option<usize> {
        Some(crate::chips::MAX_CONSTRAINT_DEGREE)
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for LoadChip {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let cols: &LoadCols<AB::Var> = main.current_slice().borrow();
        let instruction = &cols.instruction;
        let is_real: AB::Expr = instruction.is_real.into();
        let [lb, lh, lw, lbu, lhu] = cols.op.map(Into::<AB::Expr>::into);
        builder.assert_bools(cols.op);
        builder.assert_eq(
            cols.op.iter().map(|&flag| flag.into()).sum::<AB::Expr>(),
            is_real.clone(),
        );
        builder.assert_bool(cols.sign);

        let a = word_expr::<AB>(&cols.a);
        let imm = word_expr::<AB>(&instruction.imm);
        let word_address = eval_address(builder, &a, &imm, &cols.address, is_real.clone());
        let [offset_low, offset_high] = cols.address.offset.map(Into::<AB::Expr>::into);
        // Alignment: words at offset 0, halves at even offsets.
        builder.assert_zero(lw.clone() * offset_low.clone());
        builder.assert_zero(lw.clone() * offset_high.clone());
        builder.assert_zero((lh.clone() + lhu.clone()) * offset_low.clone());

        // The half and byte the offset selects.
        let [memory_low, memory_high] = word_expr::<AB>(&cols.memory);
        builder.assert_eq(
            cols.half,
            memory_low.clone() + offset_high * (memory_high.clone() - memory_low.clone()),
        );
        let [byte0, byte1] = cols.half_bytes.map(Into::<AB::Expr>::into);
        builder.assert_eq(
            cols.half,
            byte0.clone() + byte1.clone() * AB::Expr::from_u32(256),
        );
        builder.byte_op(
            ByteOp::And,
            byte0.clone(),
            byte1.clone(),
            cols.half_and.into(),
            send(is_real.clone()),
        );
        builder.assert_eq(cols.byte, byte0.clone() + offset_low * (byte1 - byte0));

        // Signed loads: value = sign * 2^(width - 1) + low, with low below 2^(width - 1).
        let signed = lb.clone() + lh.clone();
        builder
            .when(lb.clone())
            .assert_eq(cols.byte, cols.sign * AB::Expr::from_u32(128) + cols.low);
        builder.when(lh.clone()).assert_eq(
            cols.half,
            cols.sign * AB::Expr::from_u32(1 << 15) + cols.low,
        );
        builder
            .when_ne(signed.clone(), AB::Expr::ONE)
            .assert_zero(cols.sign);
        builder
            .when_ne(signed.clone(), AB::Expr::ONE)
            .assert_zero(cols.low);
        let scale = lb.clone() * AB::Expr::from_u32(512) + lh.clone() * AB::Expr::TWO;
        builder.range16(cols.low.into() * scale, Count::bounded(signed, 1));

        // The value written to rd.
        let [c_low, c_high] = word_expr::<AB>(&cols.c);
        let sign: AB::Expr = cols.sign.into();
        builder.assert_eq(
            c_low.clone(),
            lw.clone() * memory_low
                + (lh.clone() + lhu) * cols.half.into()
                + (lb.clone() + lbu) * cols.byte.into()
                + lb.clone() * sign.clone() * AB::Expr::from_u32(0xff00),
        );
        builder.assert_eq(
            c_high.clone(),
            lw * memory_high + (lh + lb) * sign * AB::Expr::from_u32(0xffff),
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
            word_address,
            word_expr::<AB>(&cols.memory),
            timestamp(clk.clone(), slot::DATA),
            &cols.memory_access,
            is_real,
        );
        eval_write(
            builder,
            instruction.rd.into(),
            [c_low, c_high],
            timestamp(clk, slot::RD),
            &cols.rd_access,
            instruction.write_rd.into(),
        );
    }
}
