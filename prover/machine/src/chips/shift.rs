//! Shifts: `sll`, `srl`, `sra`, `slli`, `srli`, `srai`.
//!
//! The shift amount is `s = b mod 32` (only the low five bits of `rs2` count), split into a bit
//! shift `t = s mod 8` and a byte shift `q = s / 8`. Both directions become one computation on
//! the bytes `a_0..a_3` of the operand, extended above with `a_j = 255 * sign` (the sign for
//! `sra`, 0 otherwise):
//! - `Y = A << u` byte by byte, where `u = t` for a left shift and `u = 8 - t` for a right
//!   shift, with `m = 2^u` and `w = 2^(8 - u)` (so `m * w = 256`). With `l_j = a_j & (w - 1)`
//!   (a lookup on the `bytes` bus), byte `j` of `Y` is
//!   `Y_j = l_j * m + (a_(j-1) - l_(j-1)) * m / 256`, the low bits of `a_j` moved up and the
//!   high bits of `a_(j-1)` moved in; both parts are exact integers, so `Y_j` is the byte.
//! - The result is a window of `Y`: `c_i = Y_(i+k)`, with the offset `k = -q` for a left shift
//!   (`a << s = (a << t) << 8q`) and `k = q + 1` for a right shift
//!   (`a >> s = (A << (8 - t)) >> 8(q + 1)`). Bytes below `Y_0` are 0, bytes from `Y_5` on are
//!   `255 * sign`.
//!
//! Soundness:
//! - The one-hot `offset` flags (booleans summing to `is_real`) fix the direction and `q`;
//!   `bits` fix `t`; `b_lo = t + 8 q + 32 k'` with `k' = (b_lo - t - 8 q) / 32` looked up on
//!   `range16` proves `t + 8 q = b mod 32`: `b_lo - t - 8 q` lies in `(-32, 2^16)`, so it is
//!   32 times an integer below 2^16 only if it is a non-negative multiple of 32.
//! - `(left ? m : w) = 2^t = (1 + bit_0)(1 + 3 bit_1)(1 + 15 bit_2)` and `m * w = 256` fix
//!   `m` and `w`, so the mask `w - 1` is the right one and the lookups fix every `l_j`; the
//!   lookups also prove the `a_j` to be bytes, so they are the bytes of the word read from
//!   `rs1`.
//! - `sign` is 0 unless the operation is `sra`; for `sra`, `range16(512 * (a_3 - 128 sign))`
//!   proves `a_3 - 128 sign` in `[0, 128)`, so `sign` is bit 7 of `a_3`.
//! - The result limbs are the selected `Y` bytes combined exactly, so they are canonical
//!   without a range check of their own.
//! - The operation `op = Sll + is_right + is_arith` binds the direction and `is_arith` on
//!   real rows; `is_arith` implies a right shift, so each operation has one encoding.

use core::borrow::{Borrow, BorrowMut};

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::{Field, PrimeCharacteristicRing};
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
    AccessCols, Word, WriteCols, eval_read, eval_write, timestamp, word, word_expr,
};
use crate::record::{ExecutionRecord, slot};
use crate::rom::Op;

/// Byte offsets of the result window: `offset[i]` selects `k = i - 3`, so left shifts use
/// `k` in `-3..=0` and right shifts `k` in `1..=4`.
const OFFSETS: usize = 8;
const FIRST_OFFSET: i32 = -3;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ShiftCols<T> {
    pub instruction: InstructionCols<T>,
    /// Whether the operation is `sra`.
    pub is_arith: T,
    /// One-hot: the window offset `k` of the result, `offset[k + 3]`.
    pub offset: [T; OFFSETS],
    /// The bits of the bit shift `t = s mod 8`.
    pub bits: [T; 3],
    /// `2^u` and `2^(8 - u)`, `u` the left shift of the bytes (`t`, or `8 - t` to the right).
    pub m: T,
    pub w: T,
    /// The sign of `a` for `sra`, else 0.
    pub sign: T,
    /// Bytes of `a`, and their low bits `a_j & (w - 1)`.
    pub a: [T; 4],
    pub low: [T; 4],
    pub b: Word<T>,
    pub c: Word<T>,
    pub rs1_access: AccessCols<T>,
    pub rs2_access: AccessCols<T>,
    pub rd_access: WriteCols<T>,
}

impl_columns!(ShiftCols, SHIFT_WIDTH);

#[derive(Clone, Debug, Default)]
pub struct ShiftAir;

impl TraceGenerator for ShiftAir {
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
            .filter(|event| matches!(event.instruction.op, Op::Sll | Op::Srl | Op::Sra))
            .collect();
        trace_from_rows(SHIFT_WIDTH, events.into_iter(), |row, event| {
            let cols: &mut ShiftCols<F> = row.borrow_mut();
            cols.instruction.fill(event);
            let op = event.instruction.op;
            let (a, b) = (event.a(), event.b());
            let (s, left) = (b & 31, op == Op::Sll);
            let (t, q) = (s % 8, s / 8);
            let k = if left { -(q as i32) } else { q as i32 + 1 };
            let u = if left { t } else { 8 - t };
            let (m, w) = (1u32 << u, 1u32 << (8 - u));
            let sign = op == Op::Sra && a >> 31 == 1;

            cols.is_arith = F::from_bool(op == Op::Sra);
            cols.offset[(k - FIRST_OFFSET) as usize] = F::ONE;
            cols.bits = [t & 1, (t >> 1) & 1, t >> 2].map(F::from_u32);
            cols.m = F::from_u32(m);
            cols.w = F::from_u32(w);
            cols.sign = F::from_bool(sign);
            let a_bytes = a.to_le_bytes();
            cols.a = bytes(a);
            cols.low = a_bytes.map(|byte| F::from_u32(u32::from(byte) & (w - 1)));
            cols.b = word(b);
            cols.c = word(event.result);

            for byte in a_bytes {
                lookups.byte_op(ByteOp::And, byte, (w - 1) as u8);
            }
            lookups.range16((b & 0xffff) >> 5);
            if op == Op::Sra {
                lookups.range16(512 * (u32::from(a_bytes[3]) & 0x7f));
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

impl BaseAir<F> for ShiftAir {
    fn width(&self) -> usize {
        SHIFT_WIDTH
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }

    fn max_constraint_degree(&self) -> Option<usize> {
        Some(crate::chips::MAX_CONSTRAINT_DEGREE)
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for ShiftAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let cols: &ShiftCols<AB::Var> = main.current_slice().borrow();
        let instruction = &cols.instruction;
        let is_real: AB::Expr = instruction.is_real.into();
        let is_arith: AB::Expr = cols.is_arith.into();
        let [b, c] = [&cols.b, &cols.c].map(word_expr::<AB>);
        let a: [AB::Expr; 4] = cols.a.map(Into::into);
        let low: [AB::Expr; 4] = cols.low.map(Into::into);
        let (m, w, sign): (AB::Expr, AB::Expr, AB::Expr) =
            (cols.m.into(), cols.w.into(), cols.sign.into());
        let offset_of = |i: usize| FIRST_OFFSET + i as i32;

        // The window: one offset on real rows, none on padding.
        builder.assert_bools(cols.offset);
        let offsets: AB::Expr = cols.offset.iter().map(|&flag| flag.into()).sum();
        builder.assert_eq(offsets, is_real.clone());
        let is_right: AB::Expr = (0..OFFSETS)
            .filter(|&i| offset_of(i) > 0)
            .map(|i| cols.offset[i].into())
            .sum();
        let is_left = is_real.clone() - is_right.clone();
        let byte_shift: AB::Expr = (0..OFFSETS)
            .map(|i| {
                let k = offset_of(i);
                let q = if k > 0 { k - 1 } else { -k };
                cols.offset[i].into() * AB::Expr::from_u32(q as u32)
            })
            .sum();

        // The amount: b mod 32 = t + 8 q.
        builder.assert_bools(cols.bits);
        let [bit0, bit1, bit2] = cols.bits.map(Into::<AB::Expr>::into);
        let t = bit0.clone() + bit1.clone() * AB::Expr::TWO + bit2.clone() * AB::Expr::from_u32(4);
        let above = (b[0].clone() - t - byte_shift * AB::Expr::from_u32(8))
            * AB::Expr::from(F::from_u32(32).inverse());
        builder.range16(above, send(is_real.clone()));
        for (limb, imm) in b.iter().zip(instruction.imm) {
            builder
                .when(instruction.b_is_imm)
                .assert_eq(limb.clone(), imm);
        }

        // m and w: (left ? m : w) = 2^t and m w = 256. The `- is_real` and `- 1` keep padding
        // rows, where every column is 0, satisfied.
        let power = (AB::Expr::ONE + bit0)
            * (AB::Expr::ONE + bit1 * AB::Expr::from_u32(3))
            * (AB::Expr::ONE + bit2 * AB::Expr::from_u32(15));
        builder.assert_eq(
            w.clone() + is_left * (m.clone() - w.clone()) - is_real.clone(),
            power - AB::Expr::ONE,
        );
        builder.assert_eq(
            m.clone() * w.clone(),
            is_real.clone() * AB::Expr::from_u32(256),
        );

        // The low bits of each byte, which also proves the bytes to be bytes.
        let mask = w - AB::Expr::ONE;
        for (byte, low) in a.iter().zip(&low) {
            builder.byte_op(
                ByteOp::And,
                byte.clone(),
                mask.clone(),
                low.clone(),
                send(is_real.clone()),
            );
        }

        // The sign: bit 7 of a_3 for `sra`, else 0.
        builder.assert_bool(cols.is_arith);
        builder.assert_zero(is_arith.clone() * (AB::Expr::ONE - is_right.clone()));
        builder.assert_bool(cols.sign);
        builder
            .when(AB::Expr::ONE - is_arith.clone())
            .assert_zero(sign.clone());
        builder.range16(
            (a[3].clone() - sign.clone() * AB::Expr::from_u32(128)) * AB::Expr::from_u32(512),
            send(is_arith.clone()),
        );

        // Byte j of A << u, for any j; degree 2.
        let inverse_256 = AB::Expr::from(F::from_u32(256).inverse());
        let y = |j: i32| -> AB::Expr {
            match j {
                ..0 => AB::Expr::ZERO,
                0 => low[0].clone() * m.clone(),
                1..=3 => {
                    let j = j as usize;
                    low[j].clone() * m.clone()
                        + (a[j - 1].clone() - low[j - 1].clone()) * m.clone() * inverse_256.clone()
                }
                // l_4 = sign (w - 1), and (w - 1) m = 256 - m.
                4 => {
                    sign.clone() * (AB::Expr::from_u32(256) - m.clone())
                        + (a[3].clone() - low[3].clone()) * m.clone() * inverse_256.clone()
                }
                _ => sign.clone() * AB::Expr::from_u32(255),
            }
        };
        let byte = AB::Expr::from_u32(256);
        let mut window: [AB::Expr; 2] = [AB::Expr::ZERO, AB::Expr::ZERO];
        for (i, &flag) in cols.offset.iter().enumerate() {
            let (k, flag): (i32, AB::Expr) = (offset_of(i), flag.into());
            for (limb, sum) in window.iter_mut().enumerate() {
                let first = k + 2 * limb as i32;
                *sum += flag.clone() * (y(first) + y(first + 1) * byte.clone());
            }
        }
        let [lo, hi] = window;
        builder.assert_eq(c[0].clone(), lo);
        builder.assert_eq(c[1].clone(), hi);

        let op = AB::Expr::from_u32(Op::Sll as u32) + is_right + is_arith;
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
