//! Addition and subtraction: `add`, `sub`, `addi`, and what decoding folds into them (`lui`,
//! `auipc`, `fence`).
//!
//! With `x = is_sub ? c : a` and `z = is_sub ? a : c`, one row proves `x + b = z + carry * 2^32`
//! limb by limb with boolean carries and range-checked result limbs: for an addition `c = a + b`,
//! for a subtraction `c + b = a`, both modulo 2^32.

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

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct AddSubCols<T> {
    pub instruction: InstructionCols<T>,
    pub is_sub: T,
    pub a: Word<T>,
    pub b: Word<T>,
    pub c: Word<T>,
    pub carry: [T; 2],
    pub rs1_access: AccessCols<T>,
    pub rs2_access: AccessCols<T>,
    pub rd_access: WriteCols<T>,
}

impl_columns!(AddSubCols, ADD_SUB_WIDTH);

#[derive(Clone, Debug, Default)]
pub struct AddSubAir;

impl TraceGenerator for AddSubAir {
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
            .filter(|event| matches!(event.instruction.op, Op::Add | Op::Sub))
            .collect();
        trace_from_rows(ADD_SUB_WIDTH, events.into_iter(), |row, event| {
            let cols: &mut AddSubCols<F> = row.borrow_mut();
            cols.instruction.fill(event);
            let is_sub = event.instruction.op == Op::Sub;
            let (a, b, c) = (event.a(), event.b(), event.result);
            cols.is_sub = F::from_bool(is_sub);
            cols.a = word(a);
            cols.b = word(b);
            cols.c = word(c);
            // Limb carries of x + b, where x is c for a subtraction and a for an addition.
            let x = if is_sub { c } else { a };
            let low = (x & 0xffff) + (b & 0xffff);
            let high = (x >> 16) + (b >> 16) + (low >> 16);
            cols.carry = [low >> 16, high >> 16].map(F::from_u32);
            lookups.range16(c & 0xffff);
            lookups.range16(c >> 16);
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

impl BaseAir<F> for AddSubAir {
    fn width(&self) -> usize {
        ADD_SUB_WIDTH
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }

    /// Degree 3 leaves room to pack two bus interactions into one auxiliary column.
    fn max_constraint_degree(&self) -> Option<usize> {
        Some(crate::chips::MAX_CONSTRAINT_DEGREE)
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for AddSubAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let cols: &AddSubCols<AB::Var> = main.current_slice().borrow();
        let instruction = &cols.instruction;
        let is_real: AB::Expr = instruction.is_real.into();
        let is_sub: AB::Expr = cols.is_sub.into();
        let [a, b, c] = [&cols.a, &cols.b, &cols.c].map(word_expr::<AB>);

        builder.assert_bool(cols.is_sub);
        builder.assert_bools(cols.carry);
        // The second operand is the immediate when the instruction has one.
        for (limb, imm) in b.iter().zip(instruction.imm) {
            builder
                .when(instruction.b_is_imm)
                .assert_eq(limb.clone(), imm);
        }
        let x =
            |limb: usize| a[limb].clone() + is_sub.clone() * (c[limb].clone() - a[limb].clone());
        let z =
            |limb: usize| c[limb].clone() + is_sub.clone() * (a[limb].clone() - c[limb].clone());
        builder.assert_eq(
            x(0) + b[0].clone(),
            z(0) + cols.carry[0].into() * limb_base::<AB::Expr>(),
        );
        builder.assert_eq(
            x(1) + b[1].clone() + cols.carry[0].into(),
            z(1) + cols.carry[1].into() * limb_base::<AB::Expr>(),
        );
        builder.range16(c[0].clone(), send(is_real.clone()));
        builder.range16(c[1].clone(), send(is_real.clone()));

        let op = AB::Expr::from_u32(Op::Add as u32)
            + is_sub * AB::Expr::from_u32(Op::Sub as u32 - Op::Add as u32);
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
            c,
            timestamp(clk, slot::RD),
            &cols.rd_access,
            instruction.write_rd.into(),
        );
    }
}
