//! Multiplication: `mul`, `mulh`, `mulhsu`, `mulhu`.
//!
//! One row computes the 64-bit product `A * B mod 2^64` of the operands extended to 64 bits
//! (with their sign for the signed operands of `mulh` and `mulhsu`, with zeros otherwise),
//! from bytes: byte `j >= 4` of `A` is `255 * sign_a`. The product's four 16-bit limbs come
//! out of a schoolbook convolution, limb `L` gathering the byte products at byte positions
//! `2L` and `2L + 1` (positions 8 and up are beyond 64 bits, so the sign bytes never meet):
//! `sum_{i+j=2L} A_i B_j + 256 sum_{i+j=2L+1} A_i B_j + carry_(L-1) = r_L + 2^16 carry_L`.
//! `mul` writes the low word, the others the high word.
//!
//! Soundness:
//! - Lookups on the `bytes` bus prove every operand byte a byte: `(a_0, a_1)`, `(b_0, b_1)`
//!   and `(a_2, b_2)` as operands of a XOR (whose result is a column of its own), and `a_3`,
//!   `b_3` as operands of `x & 128 = 128 * msb`, which also proves `msb` to be their top bit.
//!   So the bytes are those of the words read from `rs1` and `rs2`.
//! - The product limbs are range-checked, and so is each carry; `4 * (carry_0 + ... +
//!   carry_3)` is range-checked too, which bounds every carry below 2^14 (honest carries stay
//!   below 2^11). Then each limb equation has both sides below 2^30 (the left side below
//!   2^28), so it holds over the integers, and the four together say that the limbs are
//!   `A * B mod 2^64`.
//! - `result` is the limb pair the instruction writes, `other` the other half, so the limbs
//!   the equations see are `r_(0,1) = is_high ? other : result` and the reverse; the written
//!   word is range-checked.
//! - The flags select behaviour, so they are part of the operation:
//!   `op = Mul + 3 is_high - a_signed - b_signed`, with `b_signed <= a_signed <= is_high`, so
//!   each operation has exactly one encoding.

use core::borrow::{Borrow, BorrowMut};

use p3_air::{Air, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use crate::bus::{Buses, ByteOp, send};
use crate::chips::bitwise::{bytes, limbs_of_bytes};
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
pub struct MulCols<T> {
    pub instruction: InstructionCols<T>,
    /// Whether the instruction writes the high word (`mulh`, `mulhsu`, `mulhu`).
    pub is_high: T,
    /// Whether `a` is signed (`mulh`, `mulhsu`) and whether `b` is (`mulh`).
    pub a_signed: T,
    pub b_signed: T,
    pub a: [T; 4],
    pub b: [T; 4],
    /// `a_0 ^ a_1`, `b_0 ^ b_1`, `a_2 ^ b_2`: results of the lookups that prove bytes.
    pub xor: [T; 3],
    /// The top bits of `a` and `b`.
    pub msb: [T; 2],
    /// The product's word that `rd` receives, and its other word.
    pub result: Word<T>,
    pub other: Word<T>,
    /// Carries out of the product's four limbs.
    pub carry: [T; 4],
    pub rs1_access: AccessCols<T>,
    pub rs2_access: AccessCols<T>,
    pub rd_access: WriteCols<T>,
}

impl_columns!(MulCols, MUL_WIDTH);

/// The bytes of `value` extended to 64 bits, with its sign when `signed`.
pub(crate) fn extended_bytes(value: u32, signed: bool) -> [u64; 8] {
    let extended = if signed {
        i64::from(value as i32) as u64
    } else {
        u64::from(value)
    };
    extended.to_le_bytes().map(u64::from)
}

/// The carries out of the four 16-bit limbs of `sum_{i+j=k} x_i y_j` (`k < 8`), plus
/// `addend[L]` in limb `L`, when the limbs come out as `limbs`.
pub(crate) fn convolution_carries(
    x: &[u64; 8],
    y: &[u64; 8],
    addend: [u64; 4],
    limbs: [u64; 4],
) -> [u32; 4] {
    let mut carry = 0u64;
    core::array::from_fn(|limb| {
        let position = |k: usize| (0..=k).map(|i| x[i] * y[k - i]).sum::<u64>();
        let total = position(2 * limb) + 256 * position(2 * limb + 1) + addend[limb] + carry;
        debug_assert_eq!(total & 0xffff, limbs[limb]);
        carry = total >> 16;
        carry as u32
    })
}

/// Limb `L` of `sum_{i+j=k} x_i y_j` over byte positions `2L` and `2L + 1`, for byte
/// expressions `x`, `y` of a 64-bit product; positions 8 and up are left out.
pub(crate) fn convolution_limb<E: PrimeCharacteristicRing>(
    x: &[E; 8],
    y: &[E; 8],
    limb: usize,
) -> E {
    let position = |k: usize| -> E { (0..=k).map(|i| x[i].clone() * y[k - i].clone()).sum() };
    position(2 * limb) + position(2 * limb + 1) * E::from_u32(256)
}

/// Constrains the carry bounds of a convolution: each carry below 2^16 and their sum times 4
/// below 2^16, so each is below 2^14.
pub(crate) fn eval_carries<AB: InteractionBuilder>(
    builder: &mut AB,
    carries: &[AB::Var; 4],
    is_real: AB::Expr,
) {
    for &carry in carries {
        builder.range16(carry.into(), send(is_real.clone()));
    }
    let sum: AB::Expr = carries.iter().map(|&carry| carry.into()).sum();
    builder.range16(sum * AB::Expr::from_u32(4), send(is_real));
}

/// Counts the range checks of [`eval_carries`].
pub(crate) fn count_carries(carries: [u32; 4], lookups: &mut LookupCounts) {
    for carry in carries {
        lookups.range16(carry);
    }
    lookups.range16(4 * carries.iter().sum::<u32>());
}

#[derive(Clone, Debug, Default)]
pub struct MulAir;

impl TraceGenerator for MulAir {
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
                    Op::Mul | Op::Mulh | Op::Mulhsu | Op::Mulhu
                )
            })
            .collect();
        trace_from_rows(MUL_WIDTH, events.into_iter(), |row, event| {
            let cols: &mut MulCols<F> = row.borrow_mut();
            cols.instruction.fill(event);
            let op = event.instruction.op;
            let (a, b) = (event.a(), event.b());
            let is_high = op != Op::Mul;
            let a_signed = matches!(op, Op::Mulh | Op::Mulhsu);
            let b_signed = op == Op::Mulh;
            cols.is_high = F::from_bool(is_high);
            cols.a_signed = F::from_bool(a_signed);
            cols.b_signed = F::from_bool(b_signed);

            let (x, y) = (extended_bytes(a, a_signed), extended_bytes(b, b_signed));
            let product = (u64::from_le_bytes(x.map(|byte| byte as u8)))
                .wrapping_mul(u64::from_le_bytes(y.map(|byte| byte as u8)));
            let limbs: [u64; 4] = core::array::from_fn(|limb| (product >> (16 * limb)) & 0xffff);
            let carries = convolution_carries(&x, &y, [0; 4], limbs);
            let (low, high) = (product as u32, (product >> 32) as u32);
            let (result, other) = if is_high { (high, low) } else { (low, high) };
            debug_assert_eq!(result, event.result);

            let [a_bytes, b_bytes] = [a, b].map(u32::to_le_bytes);
            cols.a = bytes(a);
            cols.b = bytes(b);
            cols.xor = [
                a_bytes[0] ^ a_bytes[1],
                b_bytes[0] ^ b_bytes[1],
                a_bytes[2] ^ b_bytes[2],
            ]
            .map(F::from_u8);
            cols.msb = [a >> 31, b >> 31].map(F::from_u32);
            cols.result = word(result);
            cols.other = word(other);
            cols.carry = carries.map(F::from_u32);

            lookups.byte_op(ByteOp::Xor, a_bytes[0], a_bytes[1]);
            lookups.byte_op(ByteOp::Xor, b_bytes[0], b_bytes[1]);
            lookups.byte_op(ByteOp::Xor, a_bytes[2], b_bytes[2]);
            lookups.byte_op(ByteOp::And, a_bytes[3], 128);
            lookups.byte_op(ByteOp::And, b_bytes[3], 128);
            for limb in limbs {
                lookups.range16(limb as u32);
            }
            count_carries(carries, lookups);
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

impl BaseAir<F> for MulAir {
    fn width(&self) -> usize {
        MUL_WIDTH
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }

    fn max_constraint_degree(&self) -> Option<usize> {
        Some(crate::chips::MAX_CONSTRAINT_DEGREE)
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for MulAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let cols: &MulCols<AB::Var> = main.current_slice().borrow();
        let instruction = &cols.instruction;
        let is_real: AB::Expr = instruction.is_real.into();
        let [is_high, a_signed, b_signed]: [AB::Expr; 3] =
            [cols.is_high, cols.a_signed, cols.b_signed].map(Into::into);
        let a: [AB::Expr; 4] = cols.a.map(Into::into);
        let b: [AB::Expr; 4] = cols.b.map(Into::into);
        let [result, other] = [&cols.result, &cols.other].map(word_expr::<AB>);

        builder.assert_bools([cols.is_high, cols.a_signed, cols.b_signed]);
        builder.assert_zero(a_signed.clone() * (AB::Expr::ONE - is_high.clone()));
        builder.assert_zero(b_signed.clone() * (AB::Expr::ONE - a_signed.clone()));

        // The operands' bytes, and their top bits.
        let pairs = [
            (&a[0], &a[1], cols.xor[0]),
            (&a[2], &b[2], cols.xor[2]),
            (&b[0], &b[1], cols.xor[1]),
        ];
        for (x, y, xor) in pairs {
            builder.byte_op(
                ByteOp::Xor,
                x.clone(),
                y.clone(),
                xor.into(),
                send(is_real.clone()),
            );
        }
        for (top, msb) in [&a[3], &b[3]].into_iter().zip(cols.msb) {
            builder.byte_op(
                ByteOp::And,
                top.clone(),
                AB::Expr::from_u32(128),
                msb.into() * AB::Expr::from_u32(128),
                send(is_real.clone()),
            );
        }

        // The product, limb by limb.
        let extend = |bytes: &[AB::Expr; 4], msb: AB::Var, signed: AB::Expr| -> [AB::Expr; 8] {
            let fill = signed * msb.into() * AB::Expr::from_u32(255);
            core::array::from_fn(|i| bytes.get(i).cloned().unwrap_or_else(|| fill.clone()))
        };
        let x = extend(&a, cols.msb[0], a_signed.clone());
        let y = extend(&b, cols.msb[1], b_signed.clone());
        // The low word is `other` for the high operations, the high word is `result` then.
        let select = |when_high: &Word<AB::Expr>, when_low: &Word<AB::Expr>, i: usize| {
            when_low[i].clone() + is_high.clone() * (when_high[i].clone() - when_low[i].clone())
        };
        let limbs = [
            select(&other, &result, 0),
            select(&other, &result, 1),
            select(&result, &other, 0),
            select(&result, &other, 1),
        ];
        let base = limb_base::<AB::Expr>();
        let mut carry_in = AB::Expr::ZERO;
        for (limb, (value, &carry)) in limbs.into_iter().zip(&cols.carry).enumerate() {
            builder.assert_eq(
                convolution_limb(&x, &y, limb) + carry_in,
                value + carry.into() * base.clone(),
            );
            carry_in = carry.into();
        }
        eval_carries(builder, &cols.carry, is_real.clone());
        for limb in result.iter().chain(&other) {
            builder.range16(limb.clone(), send(is_real.clone()));
        }

        let op = AB::Expr::from_u32(Op::Mul as u32) + is_high * AB::Expr::from_u32(3)
            - a_signed
            - b_signed;
        let next_pc = instruction.pc.into() + AB::Expr::from_u32(4);
        eval_instruction(builder, instruction, op, next_pc, AB::Expr::ONE);

        let clk: AB::Expr = instruction.clk.into();
        eval_read(
            builder,
            instruction.rs1.into(),
            limbs_of_bytes(&a),
            timestamp(clk.clone(), slot::RS1),
            &cols.rs1_access,
            is_real,
        );
        eval_read(
            builder,
            instruction.rs2.into(),
            limbs_of_bytes(&b),
            timestamp(clk.clone(), slot::RS2),
            &cols.rs2_access,
            instruction.reads_rs2(),
        );
        eval_write(
            builder,
            instruction.rd.into(),
            result,
            timestamp(clk, slot::RD),
            &cols.rd_access,
            instruction.write_rd.into(),
        );
    }
}
