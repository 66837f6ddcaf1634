//! Conditional branches: `beq`, `bne`, `blt`, `bge`, `bltu`, `bgeu`.
//!
//! A row compares `rs1` with `rs2` (the comparison of [`CompareCols`], signed for `blt` and
//! `bge`), and goes to the target the program holds in `imm` (absolute, see [`crate::rom`])
//! when the condition holds, to `pc + 4` otherwise. It writes no register.
//!
//! Soundness:
//! - The comparison is the comparison table's (see [`crate::chips::less_than`]); its `diff`
//!   is `(a - b) mod 2^32` with canonical limbs, so `a = b` exactly when `diff_lo + diff_hi`
//!   (below 2^17, no wrap) is 0. `equal` is a boolean with `equal * diff = 0` and
//!   `(diff_lo + diff_hi) * inverse = is_real - equal`, which has a solution only when
//!   `equal` is that fact; `inverse` is pinned to 0 when `equal` is set.
//! - `taken = condition XOR negate` with `condition = is_less ? less : equal`; the kind
//!   (`is_signed`, `is_unsigned`, neither for `beq`/`bne`) and `negate` select behaviour, so
//!   they are part of the operation, `op = Beq + negate + 2 is_signed + 4 is_unsigned`, with
//!   the kinds exclusive, so that each branch has exactly one encoding.
//! - `next_pc` is a column (the state bus carries it at degree 1, sharing a column with the
//!   received state): `is_real * (pc + 4) + taken * (target - pc - 4)`. The target comes
//!   from the program table, a valid text address or 0, so it is a field element with no
//!   alias.

use core::borrow::{Borrow, BorrowMut};

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use crate::chips::instruction::{InstructionCols, eval_instruction};
use crate::chips::less_than::{CompareCols, eval_compare};
use crate::chips::lookup::LookupCounts;
use crate::chips::{TraceGenerator, trace_from_rows};
use crate::columns::impl_columns;
use crate::config::F;
use crate::gadgets::{AccessCols, Word, eval_read, limb_base, timestamp, word, word_expr};
use crate::record::{ExecutionRecord, compute, slot};
use crate::rom::Op;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct BranchCols<T> {
    pub instruction: InstructionCols<T>,
    /// `blt`/`bge`, and `bltu`/`bgeu`; neither for `beq`/`bne`.
    pub is_signed: T,
    pub is_unsigned: T,
    /// Whether the condition is negated (`bne`, `bge`, `bgeu`).
    pub negate: T,
    pub a: Word<T>,
    pub b: Word<T>,
    pub compare: CompareCols<T>,
    /// Whether `a = b`, and the inverse of `diff_lo + diff_hi` when not.
    pub equal: T,
    pub inverse: T,
    pub taken: T,
    pub next_pc: T,
    pub rs1_access: AccessCols<T>,
    pub rs2_access: AccessCols<T>,
}

impl_columns!(BranchCols, BRANCH_WIDTH);

#[derive(Clone, Debug, Default)]
pub struct BranchAir;

impl TraceGenerator for BranchAir {
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
            .filter(|event| {
                matches!(
                    event.instruction.op,
                    Op::Beq | Op::Bne | Op::Blt | Op::Bge | Op::Bltu | Op::Bgeu
                )
            })
            .collect();
        trace_from_rows(BRANCH_WIDTH, events.into_iter(), |row, event| {
            let cols: &mut BranchCols<F> = row.borrow_mut();
            cols.instruction.fill(event);
            let op = event.instruction.op;
            let (a, b) = (event.a(), event.b());
            let signed = matches!(op, Op::Blt | Op::Bge);
            cols.is_signed = F::from_bool(signed);
            cols.is_unsigned = F::from_bool(matches!(op, Op::Bltu | Op::Bgeu));
            cols.negate = F::from_bool(matches!(op, Op::Bne | Op::Bge | Op::Bgeu));
            cols.a = word(a);
            cols.b = word(b);
            cols.compare.fill(a, b, signed, lookups);
            let sum = (a.wrapping_sub(b) & 0xffff) + (a.wrapping_sub(b) >> 16);
            cols.equal = F::from_bool(a == b);
            cols.inverse = F::from_u32(sum).try_inverse().unwrap_or(F::ZERO);
            cols.taken = F::from_u32(compute(op, a, b));
            cols.next_pc = F::from_u32(event.next_pc);
            cols.rs1_access.fill(&event.rs1, lookups);
            if let Some(rs2) = &event.rs2 {
                cols.rs2_access.fill(rs2, lookups);
            }
        })
    }

    fn max_cycles_per_row(&self) -> u64 {
        1
    }
}

impl BaseAir<F> for BranchAir {
    fn width(&self) -> usize {
        BRANCH_WIDTH
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }

    fn max_constraint_degree(&self) -> Option<usize> {
        Some(crate::chips::MAX_CONSTRAINT_DEGREE)
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for BranchAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let cols: &BranchCols<AB::Var> = main.current_slice().borrow();
        let instruction = &cols.instruction;
        let is_real: AB::Expr = instruction.is_real.into();
        let [is_signed, is_unsigned, negate, equal, taken]: [AB::Expr; 5] = [
            cols.is_signed,
            cols.is_unsigned,
            cols.negate,
            cols.equal,
            cols.taken,
        ]
        .map(Into::into);
        let [a, b] = [&cols.a, &cols.b].map(word_expr::<AB>);

        builder.assert_bools([cols.is_signed, cols.is_unsigned, cols.negate]);
        builder.assert_zero(is_signed.clone() * is_unsigned.clone());
        builder
            .when_ne(instruction.is_real, AB::Expr::ONE)
            .assert_zero(cols.is_signed);
        eval_compare(
            builder,
            &a,
            &b,
            &cols.compare,
            is_real.clone(),
            is_signed.clone(),
        );

        // a = b exactly when the difference is 0.
        let diff_sum: AB::Expr = cols.compare.diff[0].into() + cols.compare.diff[1].into();
        builder.assert_bool(cols.equal);
        builder.when(cols.equal).assert_zeros(cols.compare.diff);
        builder.when(cols.equal).assert_zero(cols.inverse);
        builder.assert_eq(
            diff_sum * cols.inverse.into(),
            is_real.clone() - equal.clone(),
        );

        // taken = (is_less ? less : equal) XOR negate.
        let is_less = is_signed.clone() + is_unsigned.clone();
        let condition = equal.clone() + is_less * (cols.compare.less.into() - equal);
        builder.assert_eq(
            taken.clone(),
            condition.clone() + negate.clone() * (AB::Expr::ONE - condition * AB::Expr::TWO),
        );

        let pc: AB::Expr = instruction.pc.into();
        let fallthrough = pc + AB::Expr::from_u32(4);
        let target =
            instruction.imm[0].into() + instruction.imm[1].into() * limb_base::<AB::Expr>();
        builder.assert_eq(
            cols.next_pc,
            is_real.clone() * fallthrough.clone() + taken * (target - fallthrough),
        );

        let op = AB::Expr::from_u32(Op::Beq as u32)
            + negate
            + is_signed * AB::Expr::TWO
            + is_unsigned * AB::Expr::from_u32(4);
        eval_instruction(builder, instruction, op, cols.next_pc.into(), AB::Expr::ONE);

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
            timestamp(clk, slot::RS2),
            &cols.rs2_access,
            instruction.reads_rs2(),
        );
    }
}
