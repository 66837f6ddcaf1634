//! Bitwise operations: `xor`, `or`, `and`, `xori`, `ori`, `andi`.
//!
//! The operands and the result are held as bytes; each byte of the result is looked up on the
//! `bytes` bus as `(byte_op, a_i, b_i, c_i)`, which the lookup table only provides for bytes
//! `a_i`, `b_i` and `c_i = a_i op b_i`.
//!
//! Soundness:
//! - The four lookups prove every byte of `a`, `b` and `c` to be a byte, so the limbs
//!   `x_0 + 256 x_1` and `x_2 + 256 x_3` are canonical and are the words read from `rs1` and
//!   `rs2` (or the immediate) and written to `rd`: the byte decomposition of a canonical limb
//!   is unique.
//! - The operation is the single column `byte_op`, fetched as `op = 6 - byte_op`: the
//!   instruction encodings (`Xor = 3`, `Or = 4`, `And = 5`) and the byte operations
//!   (`Xor = 3`, `Or = 2`, `And = 1`) are mirror images, so one column both names the
//!   operation the program holds at `pc` and selects the lookup table's column. A value
//!   other than 1, 2 or 3 matches no row of the lookup table, so a real row cannot balance
//!   the `bytes` bus with it.

use core::borrow::{Borrow, BorrowMut};

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use crate::bus::{ByteOp, send};
use crate::chips::instruction::{InstructionCols, eval_instruction};
use crate::chips::lookup::LookupCounts;
use crate::chips::{TraceGenerator, trace_from_rows};
use crate::columns::impl_columns;
use crate::config::F;
use crate::gadgets::{AccessCols, Word, WriteCols, eval_read, eval_write, timestamp};
use crate::record::{ExecutionRecord, slot};
use crate::rom::Op;

/// `op + byte_op` for every bitwise operation.
const OP_MIRROR: u32 = 6;
const _: () = {
    assert!(Op::Xor as u32 + ByteOp::Xor as u32 == OP_MIRROR);
    assert!(Op::Or as u32 + ByteOp::Or as u32 == OP_MIRROR);
    assert!(Op::And as u32 + ByteOp::And as u32 == OP_MIRROR);
};

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct BitwiseCols<T> {
    pub instruction: InstructionCols<T>,
    /// The [`ByteOp`] of the instruction.
    pub byte_op: T,
    /// Bytes of the operands and the result, least significant first.
    pub a: [T; 4],
    pub b: [T; 4],
    pub c: [T; 4],
    pub rs1_access: AccessCols<T>,
    pub rs2_access: AccessCols<T>,
    pub rd_access: WriteCols<T>,
}

impl_columns!(BitwiseCols, BITWISE_WIDTH);

/// The limbs of a word given as bytes.
pub(crate) fn limbs_of_bytes<E: PrimeCharacteristicRing>(bytes: &[E; 4]) -> Word<E> {
    let byte = E::from_u32(256);
    [
        bytes[0].clone() + bytes[1].clone() * byte.clone(),
        bytes[2].clone() + bytes[3].clone() * byte,
    ]
}

/// The bytes of `value` as field elements.
pub(crate) fn bytes(value: u32) -> [F; 4] {
    value.to_le_bytes().map(F::from_u8)
}

#[derive(Clone, Debug, Default)]
pub struct BitwiseAir;

impl TraceGenerator for BitwiseAir {
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
            .filter(|event| matches!(event.instruction.op, Op::Xor | Op::Or | Op::And))
            .collect();
        trace_from_rows(BITWISE_WIDTH, events.into_iter(), |row, event| {
            let cols: &mut BitwiseCols<F> = row.borrow_mut();
            cols.instruction.fill(event);
            let byte_op = match event.instruction.op {
                Op::Xor => ByteOp::Xor,
                Op::Or => ByteOp::Or,
                _ => ByteOp::And,
            };
            let (a, b) = (event.a(), event.b());
            cols.byte_op = F::from_u32(byte_op as u32);
            cols.a = bytes(a);
            cols.b = bytes(b);
            cols.c = bytes(event.result);
            for (x, y) in a.to_le_bytes().into_iter().zip(b.to_le_bytes()) {
                lookups.byte_op(byte_op, x, y);
            }
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

impl BaseAir<F> for BitwiseAir {
    fn width(&self) -> usize {
        BITWISE_WIDTH
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }

    fn max_constraint_degree(&self) -> Option<usize> {
        Some(crate::chips::MAX_CONSTRAINT_DEGREE)
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for BitwiseAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let cols: &BitwiseCols<AB::Var> = main.current_slice().borrow();
        let instruction = &cols.instruction;
        let is_real: AB::Expr = instruction.is_real.into();
        let [a, b, c] = [&cols.a, &cols.b, &cols.c].map(|bytes| bytes.map(Into::into));
        let [a_word, b_word, c_word] = [&a, &b, &c].map(limbs_of_bytes);

        // The second operand is the immediate when the instruction has one.
        for (limb, imm) in b_word.iter().zip(instruction.imm) {
            builder
                .when(instruction.b_is_imm)
                .assert_eq(limb.clone(), imm);
        }
        // The tuple of `Buses::byte_op`, whose operation is a constant; here it is a column.
        for ((x, y), z) in a.into_iter().zip(b).zip(c) {
            builder.push_interaction(
                crate::bus::BYTES,
                [cols.byte_op.into(), x, y, z],
                send(is_real.clone()),
            );
        }

        let op = AB::Expr::from_u32(OP_MIRROR) - cols.byte_op.into();
        let next_pc = instruction.pc.into() + AB::Expr::from_u32(4);
        eval_instruction(builder, instruction, op, next_pc, AB::Expr::ONE);

        let clk: AB::Expr = instruction.clk.into();
        eval_read(
            builder,
            instruction.rs1.into(),
            a_word,
            timestamp(clk.clone(), slot::RS1),
            &cols.rs1_access,
            is_real,
        );
        eval_read(
            builder,
            instruction.rs2.into(),
            b_word,
            timestamp(clk.clone(), slot::RS2),
            &cols.rs2_access,
            instruction.reads_rs2(),
        );
        eval_write(
            builder,
            instruction.rd.into(),
            c_word,
            timestamp(clk, slot::RD),
            &cols.rd_access,
            instruction.write_rd.into(),
        );
    }
}
