//! Division: `div`, `divu`, `rem`, `remu`.
//!
//! The prover supplies the quotient `q` and the remainder `r`; one row proves that they are
//! RISC-V's, for the dividend `a` and the divisor `b`:
//! - `b * q + r = a` over the integers, signed or unsigned as the operation says. As in the
//!   multiplication table, the operands are extended to 64 bits (bytes of `b` and `q`, 16-bit
//!   limbs of `r` and `a`, each extended with its sign for a signed division) and the
//!   equation is checked modulo 2^64 limb by limb, with carries. Modulo 2^64 is exact: the
//!   signed `|b q + r|` stays below 2^63, the unsigned `b q + r` below 2^64.
//! - `|r| < |b|` unless `b = 0`, and `r` is 0 or has the sign of `a`. With these, `(q, r)` is
//!   the truncated division, the only pair RISC-V allows.
//! - `b = 0`: then `q` is all ones (`-1`, or `2^32 - 1`), and `r = a` follows from the
//!   equation.
//! - Signed overflow, `i32::MIN / -1`: then the quotient `2^31` does not fit. `overflow`, set
//!   only for exactly those operands, replaces the dividend's sign extension by zeros in the
//!   equation, so it reads `-q + r = 2^31`; with `|r| < 1` that forces `q = i32::MIN`, `r = 0`.
//!   A prover that leaves `overflow` clear for those operands finds no quotient at all.
//!
//! Soundness, in detail:
//! - Bytes of `b` and `q` are proven by lookups on the `bytes` bus, `(b_0, b_1)`, `(q_0, q_1)`
//!   and `(b_2, q_2)` as operands of a XOR, and `b_3`, `q_3` as operands of
//!   `x & 128 = 128 * msb`, which also proves their top bits. `r` is range-checked; the signs
//!   of `a` and `r` (pinned to 0 in an unsigned division) by `range16(2 hi - 2^16 sign)`, as
//!   in the comparison table.
//! - The product: each carry is range-checked and so is 4 times their sum, so each carry is
//!   below 2^14 and each limb equation holds over the integers (both sides below 2^30).
//! - The sign rule: `(sign_r - sign_a) * r = 0`, limb by limb: the signs differ only when
//!   `r = 0` (and then only as `sign_a = 1, sign_r = 0`, since 0 has no top bit).
//! - The bound: `gap = |b| - |r| - 1 + 2^32 [b = 0]` is proven a 32-bit number, where
//!   `|x| = (1 - 2 sign_x) x + 2^32 sign_x`. Limb by limb, with a bias of 2^17 and a two-bit
//!   carry between the limbs; both limb equations are below 2^19 in absolute value, so they
//!   hold over the integers. For `b = 0` the `2^32` keeps the gap non-negative.
//! - `b = 0` is the flag `b_zero`: `b_zero * b = 0` and `(b_lo + b_hi) * b_inverse =
//!   is_real - b_zero`, which has a solution only if `b_zero` is set exactly when `b = 0`
//!   (the limbs are canonical, so their sum is 0 only when both are).
//! - The flags `is_signed` and `is_rem` select behaviour, so they are part of the operation:
//!   `op = Divu - is_signed + 2 is_rem`. The written word is `q` or `r`, both canonical.

use core::borrow::{Borrow, BorrowMut};

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use crate::bus::{Buses, ByteOp, send};
use crate::chips::bitwise::{bytes, limbs_of_bytes};
use crate::chips::instruction::{InstructionCols, eval_instruction};
use crate::chips::lookup::LookupCounts;
use crate::chips::mul::{
    convolution_carries, convolution_limb, count_carries, eval_carries, extended_bytes,
};
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
pub struct DivRemCols<T> {
    pub instruction: InstructionCols<T>,
    pub is_signed: T,
    /// Whether `rd` receives the remainder rather than the quotient.
    pub is_rem: T,
    pub a: Word<T>,
    pub b: [T; 4],
    pub quotient: [T; 4],
    pub remainder: Word<T>,
    /// `b_0 ^ b_1`, `q_0 ^ q_1`, `b_2 ^ q_2`: results of the lookups that prove bytes.
    pub xor: [T; 3],
    /// The top bits of `b` and `q`.
    pub msb: [T; 2],
    /// The signs of `a` and `r` in a signed division, else 0.
    pub sign: [T; 2],
    /// Set for `i32::MIN / -1`.
    pub overflow: T,
    /// Set when `b = 0`, and the inverse of `b_lo + b_hi` otherwise.
    pub b_zero: T,
    pub b_inverse: T,
    /// `|b| - |r| - 1 + 2^32 [b = 0]`, and the carry between its limbs (with a bias of 2).
    pub gap: Word<T>,
    pub gap_carry: [T; 2],
    /// Carries out of the limbs of `b * q + r`.
    pub carry: [T; 4],
    /// The word `rd` receives.
    pub result: Word<T>,
    pub rs1_access: AccessCols<T>,
    pub rs2_access: AccessCols<T>,
    pub rd_access: WriteCols<T>,
}

impl_columns!(DivRemCols, DIV_REM_WIDTH);

/// The 16-bit limbs of `value` extended to 64 bits.
fn extended_limbs(value: u64) -> [u64; 4] {
    core::array::from_fn(|limb| (value >> (16 * limb)) & 0xffff)
}

#[derive(Clone, Debug, Default)]
pub struct DivRemAir;

impl TraceGenerator for DivRemAir {
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
                    Op::Div | Op::Divu | Op::Rem | Op::Remu
                )
            })
            .collect();
        trace_from_rows(DIV_REM_WIDTH, events.into_iter(), |row, event| {
            let cols: &mut DivRemCols<F> = row.borrow_mut();
            cols.instruction.fill(event);
            let op = event.instruction.op;
            let (a, b) = (event.a(), event.b());
            let signed = matches!(op, Op::Div | Op::Rem);
            let is_rem = matches!(op, Op::Rem | Op::Remu);
            let (q, r) = if signed {
                (
                    crate::record::compute(Op::Div, a, b),
                    crate::record::compute(Op::Rem, a, b),
                )
            } else {
                (
                    crate::record::compute(Op::Divu, a, b),
                    crate::record::compute(Op::Remu, a, b),
                )
            };
            let overflow = signed && a == 1 << 31 && b == u32::MAX;
            let sign = |value: u32| signed && value >> 31 == 1;
            let (sign_a, sign_r) = (sign(a), sign(r));
            let sign_b = sign(b);

            cols.is_signed = F::from_bool(signed);
            cols.is_rem = F::from_bool(is_rem);
            cols.a = word(a);
            cols.b = bytes(b);
            cols.quotient = bytes(q);
            cols.remainder = word(r);
            let [b_bytes, q_bytes] = [b, q].map(u32::to_le_bytes);
            cols.xor = [
                b_bytes[0] ^ b_bytes[1],
                q_bytes[0] ^ q_bytes[1],
                b_bytes[2] ^ q_bytes[2],
            ]
            .map(F::from_u8);
            cols.msb = [b >> 31, q >> 31].map(F::from_u32);
            cols.sign = [sign_a, sign_r].map(F::from_bool);
            cols.overflow = F::from_bool(overflow);
            let b_sum = (b & 0xffff) + (b >> 16);
            cols.b_zero = F::from_bool(b == 0);
            cols.b_inverse = F::from_u32(b_sum).try_inverse().unwrap_or(F::ZERO);

            // gap = |b| - |r| - 1 + 2^32 [b = 0], and the biased carry between its limbs.
            let magnitude = |value: u32, negative: bool| {
                if negative {
                    (1u64 << 32) - u64::from(value)
                } else {
                    u64::from(value)
                }
            };
            let gap = magnitude(b, sign_b) + (u64::from(b == 0) << 32) - magnitude(r, sign_r) - 1;
            let signed_limb = |value: u32, negative: bool| {
                let limb = i64::from(value & 0xffff);
                if negative { -limb } else { limb }
            };
            let low = signed_limb(b, sign_b) - signed_limb(r, sign_r) - 1 + (1 << 17);
            let gap_carry = (low - (gap & 0xffff) as i64) >> 16;
            cols.gap = word(gap as u32);
            cols.gap_carry = [gap_carry & 1, gap_carry >> 1].map(|bit| F::from_u32(bit as u32));

            // b q + r = a, extended to 64 bits.
            let extend = |value: u32, signed: bool| {
                if signed {
                    i64::from(value as i32) as u64
                } else {
                    u64::from(value)
                }
            };
            let target = extended_limbs(extend(a, signed && !overflow));
            let carries = convolution_carries(
                &extended_bytes(b, signed),
                &extended_bytes(q, signed),
                extended_limbs(extend(r, signed)),
                target,
            );
            cols.carry = carries.map(F::from_u32);
            cols.result = word(event.result);
            debug_assert_eq!(event.result, if is_rem { r } else { q });

            lookups.byte_op(ByteOp::Xor, b_bytes[0], b_bytes[1]);
            lookups.byte_op(ByteOp::Xor, q_bytes[0], q_bytes[1]);
            lookups.byte_op(ByteOp::Xor, b_bytes[2], q_bytes[2]);
            lookups.byte_op(ByteOp::And, b_bytes[3], 128);
            lookups.byte_op(ByteOp::And, q_bytes[3], 128);
            lookups.range16(r & 0xffff);
            lookups.range16(r >> 16);
            if signed {
                for value in [a, r] {
                    lookups.range16(((value >> 16) & 0x7fff) << 1);
                }
            }
            lookups.range16((gap & 0xffff) as u32);
            lookups.range16((gap >> 16) as u32);
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

impl BaseAir<F> for DivRemAir {
    fn width(&self) -> usize {
        DIV_REM_WIDTH
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }

    fn max_constraint_degree(&self) -> Option<usize> {
        Some(crate::chips::MAX_CONSTRAINT_DEGREE)
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for DivRemAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let cols: &DivRemCols<AB::Var> = main.current_slice().borrow();
        let instruction = &cols.instruction;
        let is_real: AB::Expr = instruction.is_real.into();
        let is_signed: AB::Expr = cols.is_signed.into();
        let is_rem: AB::Expr = cols.is_rem.into();
        let a = word_expr::<AB>(&cols.a);
        let r = word_expr::<AB>(&cols.remainder);
        let b_bytes: [AB::Expr; 4] = cols.b.map(Into::into);
        let q_bytes: [AB::Expr; 4] = cols.quotient.map(Into::into);
        let [b, q] = [&b_bytes, &q_bytes].map(limbs_of_bytes);
        let [sign_a, sign_r]: [AB::Expr; 2] = cols.sign.map(Into::into);
        let [sign_b, sign_q]: [AB::Expr; 2] = cols.msb.map(|msb| is_signed.clone() * msb.into());
        let overflow: AB::Expr = cols.overflow.into();
        let b_zero: AB::Expr = cols.b_zero.into();
        let base = limb_base::<AB::Expr>();
        let ones = AB::Expr::from_u32(0xffff);

        builder.assert_bools([cols.is_signed, cols.is_rem]);
        builder
            .when_ne(instruction.is_real, AB::Expr::ONE)
            .assert_zero(cols.is_signed);

        // Bytes of b and q, their top bits, and the canonical remainder.
        let pairs = [
            (&b_bytes[0], &b_bytes[1], cols.xor[0]),
            (&q_bytes[0], &q_bytes[1], cols.xor[1]),
            (&b_bytes[2], &q_bytes[2], cols.xor[2]),
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
        for (top, msb) in [&b_bytes[3], &q_bytes[3]].into_iter().zip(cols.msb) {
            builder.byte_op(
                ByteOp::And,
                top.clone(),
                AB::Expr::from_u32(128),
                msb.into() * AB::Expr::from_u32(128),
                send(is_real.clone()),
            );
        }
        for limb in &r {
            builder.range16(limb.clone(), send(is_real.clone()));
        }

        // Signs of a and r in a signed division.
        builder.assert_bools(cols.sign);
        builder
            .when(AB::Expr::ONE - is_signed.clone())
            .assert_zeros(cols.sign);
        for (value, sign) in [(&a, &sign_a), (&r, &sign_r)] {
            builder.range16(
                value[1].clone() * AB::Expr::TWO - sign.clone() * base.clone(),
                send(is_signed.clone()),
            );
        }
        // r is 0 or has the sign of a.
        for limb in &r {
            builder.assert_zero((sign_r.clone() - sign_a.clone()) * limb.clone());
        }

        // b = 0, and then q = -1.
        builder.assert_bool(cols.b_zero);
        builder.when(cols.b_zero).assert_zeros(b.clone());
        builder.assert_eq(
            (b[0].clone() + b[1].clone()) * cols.b_inverse.into(),
            is_real.clone() - b_zero.clone(),
        );
        builder.when(cols.b_zero).assert_zero(cols.b_inverse);
        for byte in &q_bytes {
            builder
                .when(cols.b_zero)
                .assert_eq(byte.clone(), AB::Expr::from_u32(255));
        }

        // i32::MIN / -1.
        builder.assert_bool(cols.overflow);
        let mut when_overflow = builder.when(cols.overflow);
        when_overflow.assert_one(is_signed.clone());
        when_overflow.assert_zero(a[0].clone());
        when_overflow.assert_eq(a[1].clone(), AB::Expr::from_u32(0x8000));
        when_overflow.assert_eq(b[0].clone(), ones.clone());
        when_overflow.assert_eq(b[1].clone(), ones.clone());

        // b q + r = a, modulo 2^64.
        let extend = |bytes: &[AB::Expr; 4], sign: &AB::Expr| -> [AB::Expr; 8] {
            let fill = sign.clone() * AB::Expr::from_u32(255);
            core::array::from_fn(|i| bytes.get(i).cloned().unwrap_or_else(|| fill.clone()))
        };
        let x = extend(&b_bytes, &sign_b);
        let y = extend(&q_bytes, &sign_q);
        let r_fill = sign_r.clone() * ones.clone();
        let remainder = [r[0].clone(), r[1].clone(), r_fill.clone(), r_fill];
        let a_fill = sign_a.clone() * (AB::Expr::ONE - overflow) * ones;
        let target = [a[0].clone(), a[1].clone(), a_fill.clone(), a_fill];
        let mut carry_in = AB::Expr::ZERO;
        for (limb, ((addend, value), &carry)) in remainder
            .into_iter()
            .zip(target)
            .zip(&cols.carry)
            .enumerate()
        {
            builder.assert_eq(
                convolution_limb(&x, &y, limb) + addend + carry_in,
                value + carry.into() * base.clone(),
            );
            carry_in = carry.into();
        }
        eval_carries(builder, &cols.carry, is_real.clone());

        // |r| < |b| unless b = 0: gap = |b| - |r| - 1 + 2^32 [b = 0] is a 32-bit number. The
        // constants (the -1 and the bias) count on real rows only, so padding rows hold.
        builder.assert_bools(cols.gap_carry);
        let gap_carry = cols.gap_carry[0].into() + cols.gap_carry[1].into() * AB::Expr::TWO;
        let signed_limb = |limb: &AB::Expr, sign: &AB::Expr| {
            (AB::Expr::ONE - sign.clone() * AB::Expr::TWO) * limb.clone()
        };
        builder.assert_eq(
            signed_limb(&b[0], &sign_b) - signed_limb(&r[0], &sign_r)
                + is_real.clone() * AB::Expr::from_u32((1 << 17) - 1),
            cols.gap[0].into() + gap_carry.clone() * base.clone(),
        );
        builder.assert_eq(
            signed_limb(&b[1], &sign_b) - signed_limb(&r[1], &sign_r)
                + (sign_b - sign_r + b_zero) * base
                + gap_carry
                - is_real.clone() * AB::Expr::TWO,
            cols.gap[1],
        );
        for limb in cols.gap {
            builder.range16(limb.into(), send(is_real.clone()));
        }

        // rd receives the quotient or the remainder.
        for (limb, (quotient, remainder)) in cols.result.iter().zip(q.iter().zip(&r)) {
            builder.assert_eq(
                *limb,
                quotient.clone() + is_rem.clone() * (remainder.clone() - quotient.clone()),
            );
        }

        let op = AB::Expr::from_u32(Op::Divu as u32) - is_signed
            + is_rem * AB::Expr::from_u32(Op::Rem as u32 - Op::Div as u32);
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
            word_expr::<AB>(&cols.result),
            timestamp(clk, slot::RD),
            &cols.rd_access,
            instruction.write_rd.into(),
        );
    }
}
