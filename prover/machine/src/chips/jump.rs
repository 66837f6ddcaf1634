//! Jumps: `jal` and `jalr`.
//!
//! Both go to `t = (rs1 + imm) mod 2^32` with bit 0 cleared and write the link `pc + 4` to
//! `rd` (when `write_rd`). For `jalr` that is the instruction's definition; for `jal`, decoding
//! puts the absolute, word-aligned target in `imm` and `x0` in `rs1`, so the same sum is the
//! target.
//!
//! Soundness:
//! - The sum, limb by limb: `a_lo + imm_lo = 2 half + odd` and
//!   `a_hi + imm_hi = target_hi + 2^16 carry`, with `half` range-checked (so `2 half` is an
//!   even number below 2^17), `odd` and `carry` booleans and `4 target_hi` range-checked (so
//!   `target_hi < 2^14`). The low limb's carry stays inside `2 half`, so no column holds it.
//!   Both equations are below 2^18, so they hold over the integers, and then
//!   `t = 2 half + 2^16 target_hi` is an even integer below 2^31 congruent to
//!   `a + imm - odd` modulo 2^32: exactly `(a + imm) mod 2^32` with bit 0 cleared, and a field
//!   element with no alias. Every column is determined: `odd` by parity, `carry` by the bound
//!   on `target_hi`.
//! - Every text address (from `TEXT_START = 2^16` up to below `MEMORY_END = 2^29`) has a
//!   witness. Some other targets have none (those at or above `2^30 + 2^17`, and those below
//!   2^16 reached with a carry out of the low limb); no instruction lives there, so the
//!   executor traps right after such a jump and nothing provable is lost.
//! - The link is `[pc + 4 - 2^16 link_hi, link_hi]` with both limbs range-checked (the high
//!   one as `4 link_hi`), so it is the canonical word of `pc + 4 < 2^30`.
//! - `is_jalr` selects the operation, `op = Jal + is_jalr`.

use core::borrow::{Borrow, BorrowMut};

use p3_air::{Air, BaseAir, WindowAccess};
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

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct JumpCols<T> {
    pub instruction: InstructionCols<T>,
    pub is_jalr: T,
    /// The value of `rs1`.
    pub a: Word<T>,
    /// `a_lo + imm_lo = 2 half + odd`.
    pub half: T,
    pub odd: T,
    /// `a_hi + imm_hi = target_hi + 2^16 carry`.
    pub target_hi: T,
    pub carry: T,
    /// `(pc + 4) >> 16`.
    pub link_hi: T,
    pub rs1_access: AccessCols<T>,
    pub rd_access: WriteCols<T>,
}

impl_columns!(JumpCols, JUMP_WIDTH);

#[derive(Clone, Debug, Default)]
pub struct JumpAir;

impl TraceGenerator for JumpAir {
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
            .filter(|event| matches!(event.instruction.op, Op::Jal | Op::Jalr))
            .collect();
        trace_from_rows(JUMP_WIDTH, events.into_iter(), |row, event| {
            let cols: &mut JumpCols<F> = row.borrow_mut();
            cols.instruction.fill(event);
            let (a, imm) = (event.a(), event.instruction.imm);
            let low = (a & 0xffff) + (imm & 0xffff);
            let high = (a >> 16) + (imm >> 16);
            let link = event.pc + 4;
            cols.is_jalr = F::from_bool(event.instruction.op == Op::Jalr);
            cols.a = word(a);
            cols.half = F::from_u32(low >> 1);
            cols.odd = F::from_u32(low & 1);
            cols.target_hi = F::from_u32(high & 0xffff);
            cols.carry = F::from_u32(high >> 16);
            cols.link_hi = F::from_u32(link >> 16);
            lookups.range16(low >> 1);
            // A target at or above 2^30 holds no instruction: the executor traps right after
            // the jump, and the segment that ends with it has no proof (the lookup is sent,
            // with nothing to match it). Counting it would not fit the table.
            if high & 0xffff < 1 << 14 {
                lookups.range16(4 * (high & 0xffff));
            }
            lookups.range16(link & 0xffff);
            lookups.range16(4 * (link >> 16));
            cols.rs1_access.fill(&event.rs1, lookups);
            if let Some(rd) = &event.rd {
                cols.rd_access.fill(rd, lookups);
            }
        })
    }

    fn max_cycles_per_row(&self) -> u64 {
        1
    }
}

impl BaseAir<F> for JumpAir {
    fn width(&self) -> usize {
        JUMP_WIDTH
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }

    fn max_constraint_degree(&self) -> Option<usize> {
        Some(crate::chips::MAX_CONSTRAINT_DEGREE)
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for JumpAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let cols: &JumpCols<AB::Var> = main.current_slice().borrow();
        let instruction = &cols.instruction;
        let is_real: AB::Expr = instruction.is_real.into();
        let a = word_expr::<AB>(&cols.a);
        let [imm_lo, imm_hi]: [AB::Expr; 2] = instruction.imm.map(Into::into);
        let base = limb_base::<AB::Expr>();
        let four = AB::Expr::from_u32(4);

        builder.assert_bools([cols.is_jalr, cols.odd, cols.carry]);
        let half: AB::Expr = cols.half.into();
        builder.assert_eq(
            a[0].clone() + imm_lo,
            half.clone() * AB::Expr::TWO + cols.odd.into(),
        );
        builder.assert_eq(
            a[1].clone() + imm_hi,
            cols.target_hi.into() + cols.carry.into() * base.clone(),
        );
        builder.range16(half.clone(), send(is_real.clone()));
        builder.range16(cols.target_hi.into() * four.clone(), send(is_real.clone()));
        let next_pc = half * AB::Expr::TWO + cols.target_hi.into() * base.clone();

        let link_hi: AB::Expr = cols.link_hi.into();
        let link = [
            instruction.pc.into() + four.clone() - link_hi.clone() * base,
            link_hi.clone(),
        ];
        builder.range16(link[0].clone(), send(is_real.clone()));
        builder.range16(link_hi * four, send(is_real.clone()));

        let op = AB::Expr::from_u32(Op::Jal as u32) + cols.is_jalr.into();
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
        eval_write(
            builder,
            instruction.rd.into(),
            link,
            timestamp(clk, slot::RD),
            &cols.rd_access,
            instruction.write_rd.into(),
        );
    }
}
