//! `FP25519_MUL`, `FP25519_ADD`, `FP25519_SUB`: arithmetic modulo p = 2^255 - 19, the base
//! field of Curve25519, on 256-bit operands in memory.
//!
//! A row takes the call from the `ecall` table on the `syscall` bus (`a0` the pointer to x,
//! `a1` to y), reads y's 8 words, then reads each of x's words and overwrites it with the
//! result's in one access, access `i` at `timestamp(clk + 1 + i, 0)`, in the executor's order
//! (y first, so that x's accesses see y's when the buffers are one). It holds x, y, the result
//! r and a quotient q as bytes and proves the integer identity
//!
//! ```text
//! lhs = q p + r,  r < p,  where lhs is x y, x + y or x + 3p - y
//! ```
//!
//! (3p exceeds every 256-bit y, so the difference is a non-negative integer). Given lhs, one
//! pair (q, r) satisfies it: r is the canonical residue, the value the executor writes.
//!
//! Why this is sound:
//! - Every byte of x, y, r and q is below 256: byte pairs are looked up on the `bytes` bus.
//!   y's bytes make the limbs of the words read, x's those of the words each update finds,
//!   r's those it leaves (so memory stays canonical).
//! - The identity is checked as polynomials in X = 256: `lhs(X) - q(X) p(X) - r(X) =
//!   (X - 256) c(X)`, coefficient by coefficient, with each carry `c_k` range-checked to
//!   `[-2^15, 2^15)`. A coefficient of `x(X) y(X)` or of `q(X) p(X)` sums at most 32 products
//!   of two bytes (p has 32), below 2^21, so every coefficient equation has terms below 2^24
//!   in absolute value: it holds over the integers, not just modulo BabyBear's p, and at
//!   X = 256 the polynomial identity is the integer identity.
//! - `r + s = p - 1`, limb by limb with 16-bit slack limbs `s_i` and boolean carries: r < p.
//! - Pointers are bounded as for SHA-256 (see [`super::sha256_syscall::eval_pointer`]): the
//!   accesses balance the memory bus only at aligned words of data memory.

use core::borrow::{Borrow, BorrowMut};

use gnomon_executor::fp25519::{self, Op};
use gnomon_guest_abi::syscall;
use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use crate::bus::{Buses, ByteOp, receive, send};
use crate::chips::lookup::LookupCounts;
use crate::chips::sha256_syscall::{count_pointer, eval_pointer};
use crate::chips::{MAX_CONSTRAINT_DEGREE, TraceGenerator, trace_from_rows};
use crate::columns::impl_columns;
use crate::config::F;
use crate::gadgets::{AccessCols, Word, eval_access, eval_read, timestamp, word};
use crate::record::ExecutionRecord;

const WORDS: usize = syscall::FP25519_WORDS as usize;
/// Bytes of an operand or of the result.
const BYTES: usize = 4 * WORDS;
/// Bytes of the quotient: `x y / p < 2^258`.
const QUOTIENT_BYTES: usize = BYTES + 1;
/// Coefficients of `lhs(X) - q(X) p(X) - r(X)`: up to the degree of `q(X) p(X)`.
const COEFFICIENTS: usize = QUOTIENT_BYTES + BYTES - 1;
/// Bytes whose range is checked in pairs: x, y, r and all of q but its top byte.
const PAIRED_BYTES: usize = 4 * BYTES;
/// A carry `c` is range-checked as `c + CARRY_OFFSET` below 2^16.
const CARRY_OFFSET: i64 = 1 << 15;

/// The syscalls, in the order of the row's flags.
const OPS: [(u32, Op); 3] = [
    (syscall::FP25519_MUL, Op::Mul),
    (syscall::FP25519_ADD, Op::Add),
    (syscall::FP25519_SUB, Op::Sub),
];

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Fp25519Cols<T> {
    /// One-hot in the order of [`OPS`] on a call's row, zero on padding.
    pub op: [T; 3],
    /// The `ecall`'s cycle.
    pub clk: T,
    /// `a0` (x), `a1` (y), `a2` (unused, as the `ecall` table hands it on).
    pub args: [Word<T>; 3],
    pub x: [T; BYTES],
    pub y: [T; BYTES],
    pub result: [T; BYTES],
    pub quotient: [T; QUOTIENT_BYTES],
    /// `a & b` of each pair of [`PAIRED_BYTES`], as the `bytes` bus carries it.
    pub pair_and: [T; PAIRED_BYTES / 2],
    /// `c_0 .. c_{n-2}` of `(X - 256) c(X)`.
    pub carries: [T; COEFFICIENTS - 1],
    /// `p - 1 - r` in 16-bit limbs, and the carries of `r + s = p - 1` between them.
    pub slack: [T; BYTES / 2],
    pub slack_carries: [T; BYTES / 2 - 1],
    /// The reads of y.
    pub reads: [AccessCols<T>; WORDS],
    /// The accesses that read x's words and leave the result's.
    pub updates: [AccessCols<T>; WORDS],
}

impl_columns!(Fp25519Cols, FP25519_WIDTH);

/// The little-endian bytes of `value`, which must fit in `N` bytes.
fn bytes_of<const N: usize>(value: &num_bigint::BigUint) -> [u8; N] {
    let bytes = value.to_bytes_le();
    assert!(bytes.len() <= N, "a value of at most {N} bytes");
    let mut out = [0; N];
    out[..bytes.len()].copy_from_slice(&bytes);
    out
}

fn word_bytes(words: &fp25519::Words) -> [u8; BYTES] {
    let mut bytes = [0; BYTES];
    for (chunk, word) in bytes.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    bytes
}

/// p's and 3p's bytes, and p - 1's 16-bit limbs.
struct Constants {
    p: [u8; BYTES],
    three_p: [u8; QUOTIENT_BYTES],
    p_minus_one: [u32; BYTES / 2],
}

/// Computed once: the AIR's `eval` runs for every chunk of rows of the quotient domain.
static CONSTANTS: std::sync::LazyLock<Constants> = std::sync::LazyLock::new(Constants::new);

impl Constants {
    fn new() -> Self {
        let p = fp25519::modulus();
        let below: [u8; BYTES] = bytes_of(&(&p - 1u32));
        Self {
            p: bytes_of(&p),
            three_p: bytes_of(&(&p * 3u32)),
            p_minus_one: core::array::from_fn(|i| {
                u32::from(below[2 * i]) | u32::from(below[2 * i + 1]) << 8
            }),
        }
    }
}

/// The coefficients of `lhs(X) - q(X) p(X) - r(X)` for byte polynomials, over the integers.
fn coefficients(
    op: Op,
    x: &[i64; BYTES],
    y: &[i64; BYTES],
    q: &[i64; QUOTIENT_BYTES],
    r: &[i64; BYTES],
    constants: &Constants,
) -> [i64; COEFFICIENTS] {
    let mut e = [0i64; COEFFICIENTS];
    match op {
        Op::Mul => {
            for (i, xi) in x.iter().enumerate() {
                for (j, yj) in y.iter().enumerate() {
                    e[i + j] += xi * yj;
                }
            }
        }
        Op::Add => (0..BYTES).for_each(|k| e[k] += x[k] + y[k]),
        Op::Sub => {
            (0..BYTES).for_each(|k| e[k] += x[k] - y[k]);
            for (k, byte) in constants.three_p.iter().enumerate() {
                e[k] += i64::from(*byte);
            }
        }
    }
    for (i, qi) in q.iter().enumerate() {
        for (j, pj) in constants.p.iter().enumerate() {
            e[i + j] -= qi * i64::from(*pj);
        }
    }
    (0..BYTES).for_each(|k| e[k] -= r[k]);
    e
}

/// Fills the bytes of x, y, r and q and what the identity and `r < p` need, counting their
/// lookups. The constraints hold exactly when `lhs = q p + r` and `r < p`.
fn fill_arithmetic(
    cols: &mut Fp25519Cols<F>,
    op: Op,
    [x, y, r]: [[u8; BYTES]; 3],
    q: [u8; QUOTIENT_BYTES],
    constants: &Constants,
    lookups: &mut LookupCounts,
) {
    cols.x = x.map(F::from_u8);
    cols.y = y.map(F::from_u8);
    cols.result = r.map(F::from_u8);
    cols.quotient = q.map(F::from_u8);
    let paired: Vec<u8> = [&x[..], &y[..], &r[..], &q[..BYTES]].concat();
    for (and, pair) in cols.pair_and.iter_mut().zip(paired.chunks_exact(2)) {
        *and = F::from_u8(pair[0] & pair[1]);
        lookups.byte_op(ByteOp::And, pair[0], pair[1]);
    }
    lookups.byte_op(ByteOp::And, q[BYTES], 0);

    let e = coefficients(
        op,
        &x.map(i64::from),
        &y.map(i64::from),
        &q.map(i64::from),
        &r.map(i64::from),
        constants,
    );
    // e_k = c_{k-1} - 256 c_k.
    let mut carry = 0i64;
    for (k, column) in cols.carries.iter_mut().enumerate() {
        carry = (carry - e[k]).div_euclid(256);
        *column = F::from_i64(carry);
        lookups.range16((carry + CARRY_OFFSET) as u32);
    }

    // r + s = p - 1, limb by limb: each slack limb is what gives p - 1's limb (mod 2^16).
    let mut carry = 0;
    for (i, slack) in cols.slack.iter_mut().enumerate() {
        let limb = u32::from(r[2 * i]) | u32::from(r[2 * i + 1]) << 8;
        let s = (constants.p_minus_one[i] + (1 << 17) - limb - carry) & 0xffff;
        *slack = F::from_u32(s);
        lookups.range16(s);
        carry = (limb + s + carry) >> 16;
        if let Some(column) = cols.slack_carries.get_mut(i) {
            *column = F::from_u32(carry);
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Fp25519Chip;

impl TraceGenerator for Fp25519Chip {
    /// One row per field operation; all three cost the same.
    fn max_rows(&self, budget: super::SegmentBudget) -> u64 {
        budget.calls(syscall::FP25519_MUL)
    }

    fn generate_trace(
        &self,
        record: &ExecutionRecord,
        lookups: &mut LookupCounts,
    ) -> RowMajorMatrix<F> {
        let constants = &*CONSTANTS;
        let calls: Vec<_> = record
            .syscalls
            .iter()
            .filter_map(|event| Some((event, Op::from_syscall(event.number)?)))
            .collect();
        trace_from_rows(FP25519_WIDTH, calls.into_iter(), |row, (event, op)| {
            let cols: &mut Fp25519Cols<F> = row.borrow_mut();
            cols.op = OPS.map(|(_, flag)| F::from_bool(flag == op));
            cols.clk = F::from_u32(event.clk);
            cols.args = event.args.map(word);
            count_pointer(event.args[0], lookups);
            count_pointer(event.args[1], lookups);

            let (reads, updates) = event.words.split_at(WORDS);
            for (access_cols, access) in cols.reads.iter_mut().zip(reads) {
                access_cols.fill(access, lookups);
            }
            for (access_cols, access) in cols.updates.iter_mut().zip(updates) {
                access_cols.fill(access, lookups);
            }
            let y: fp25519::Words = core::array::from_fn(|i| reads[i].value);
            let x: fp25519::Words = core::array::from_fn(|i| updates[i].prev_value);
            let (quotient, result) = fp25519::divide(op, &x, &y);
            debug_assert!(
                updates
                    .iter()
                    .zip(result)
                    .all(|(access, word)| access.value == word),
                "the executor's result"
            );

            fill_arithmetic(
                cols,
                op,
                [word_bytes(&x), word_bytes(&y), word_bytes(&result)],
                bytes_of(&quotient),
                constants,
                lookups,
            );
        })
    }
}

impl BaseAir<F> for Fp25519Chip {
    fn width(&self) -> usize {
        FP25519_WIDTH
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }

    /// The product `op_mul * x_i * y_j` is of degree 3, which also lets batch-stark pack the
    /// row's bus interactions two to an auxiliary column.
    fn max_constraint_degree(&self) -> Option<usize> {
        Some(MAX_CONSTRAINT_DEGREE)
    }
}

/// Two bytes as a 16-bit limb.
fn limb<E: PrimeCharacteristicRing>(low: E, high: E) -> E {
    low + high * E::from_u32(256)
}

/// The words of 32 bytes.
fn words_of<E: PrimeCharacteristicRing + Clone>(bytes: &[E; BYTES]) -> [Word<E>; WORDS] {
    core::array::from_fn(|i| {
        let b = |j: usize| bytes[4 * i + j].clone();
        [limb(b(0), b(1)), limb(b(2), b(3))]
    })
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for Fp25519Chip {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let cols: &Fp25519Cols<AB::Var> = main.current_slice().borrow();
        let constants = &*CONSTANTS;
        let expr = |v: &AB::Var| -> AB::Expr { (*v).into() };
        let [mul, add, sub] = cols.op.each_ref().map(expr);
        builder.assert_bools(cols.op);
        let is_real = mul.clone() + add.clone() + sub.clone();
        builder.assert_bool(is_real.clone());
        let number = OPS
            .iter()
            .zip([&mul, &add, &sub])
            .map(|((code, _), flag)| flag.clone() * AB::Expr::from_u32(*code))
            .sum::<AB::Expr>();

        let args = cols.args.each_ref().map(|w| w.each_ref().map(expr));
        let clk = expr(&cols.clk);
        builder.syscall(number, clk.clone(), args.clone(), receive(is_real.clone()));
        let x_address = eval_pointer(builder, &args[0], is_real.clone());
        let y_address = eval_pointer(builder, &args[1], is_real.clone());

        let x = cols.x.each_ref().map(expr);
        let y = cols.y.each_ref().map(expr);
        let r = cols.result.each_ref().map(expr);
        let q = cols.quotient.each_ref().map(expr);

        // The accesses: y's words, then x's, each found holding x's word and left holding r's.
        let ts = |i: usize| timestamp(clk.clone() + AB::Expr::from_usize(1 + i), 0);
        for (i, (value, access)) in words_of(&y).into_iter().zip(&cols.reads).enumerate() {
            let address = y_address.clone() + AB::Expr::from_usize(i);
            eval_read(builder, address, value, ts(i), access, is_real.clone());
        }
        let updates = words_of(&x)
            .into_iter()
            .zip(words_of(&r))
            .zip(&cols.updates);
        for (i, ((before, after), access)) in updates.enumerate() {
            let address = x_address.clone() + AB::Expr::from_usize(i);
            let ts = ts(WORDS + i);
            eval_access(builder, address, before, after, ts, access, is_real.clone());
        }

        // Every byte below 256.
        let paired = x.iter().chain(&y).chain(&r).chain(&q[..BYTES]);
        let pairs: Vec<&AB::Expr> = paired.collect();
        for (pair, and) in pairs.chunks_exact(2).zip(&cols.pair_and) {
            builder.byte_op(
                ByteOp::And,
                pair[0].clone(),
                pair[1].clone(),
                expr(and),
                send(is_real.clone()),
            );
        }
        builder.byte_op(
            ByteOp::And,
            q[BYTES].clone(),
            AB::Expr::ZERO,
            AB::Expr::ZERO,
            send(is_real.clone()),
        );

        // lhs(X) - q(X) p(X) - r(X) = (X - 256) c(X), coefficient by coefficient.
        let carries = cols.carries.each_ref().map(expr);
        for carry in &carries {
            builder.range16(
                carry.clone() + AB::Expr::from_i64(CARRY_OFFSET),
                send(is_real.clone()),
            );
        }
        let mut e: Vec<AB::Expr> = vec![AB::Expr::ZERO; COEFFICIENTS];
        for (i, xi) in x.iter().enumerate() {
            let scaled = mul.clone() * xi.clone();
            for (j, yj) in y.iter().enumerate() {
                e[i + j] += scaled.clone() * yj.clone();
            }
        }
        for k in 0..BYTES {
            e[k] += add.clone() * (x[k].clone() + y[k].clone())
                + sub.clone() * (x[k].clone() - y[k].clone())
                - r[k].clone();
        }
        for (k, byte) in constants.three_p.iter().enumerate() {
            e[k] += sub.clone() * AB::Expr::from_u8(*byte);
        }
        for (i, qi) in q.iter().enumerate() {
            for (j, pj) in constants.p.iter().enumerate() {
                e[i + j] -= qi.clone() * AB::Expr::from_u8(*pj);
            }
        }
        let carry = |k: usize| carries.get(k).cloned().unwrap_or(AB::Expr::ZERO);
        for (k, ek) in e.into_iter().enumerate() {
            let previous = k.checked_sub(1).map_or(AB::Expr::ZERO, carry);
            builder.assert_eq(ek, previous - carry(k) * AB::Expr::from_u32(256));
        }

        // r + s = p - 1: r < p.
        builder.assert_bools(cols.slack_carries);
        let slack_carry = |i: usize| cols.slack_carries.get(i).map_or(AB::Expr::ZERO, &expr);
        for (i, slack) in cols.slack.iter().enumerate() {
            builder.range16(expr(slack), send(is_real.clone()));
            let previous = i.checked_sub(1).map_or(AB::Expr::ZERO, slack_carry);
            builder.when(is_real.clone()).assert_eq(
                limb(r[2 * i].clone(), r[2 * i + 1].clone()) + expr(slack) + previous,
                AB::Expr::from_u32(constants.p_minus_one[i])
                    + slack_carry(i) * AB::Expr::from_u32(1 << 16),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use p3_air::check_all_constraints;
    use p3_field::PrimeField32;
    use proptest::array::uniform32;
    use proptest::prelude::*;

    use super::*;

    /// A trace whose first row holds `op(x, y)` with the given quotient and result.
    fn row(
        op: Op,
        [x, y]: [[u8; BYTES]; 2],
        q: [u8; QUOTIENT_BYTES],
        r: [u8; BYTES],
    ) -> RowMajorMatrix<F> {
        let mut trace = RowMajorMatrix::new(vec![F::ZERO; 8 * FP25519_WIDTH], FP25519_WIDTH);
        let cols: &mut Fp25519Cols<F> = trace.values[..FP25519_WIDTH].borrow_mut();
        cols.op = OPS.map(|(_, flag)| F::from_bool(flag == op));
        let mut lookups = LookupCounts::default();
        fill_arithmetic(cols, op, [x, y, r], q, &CONSTANTS, &mut lookups);
        // Access i at timestamp 4 (1 + i) + 1 follows one at timestamp 0.
        let accesses = cols.reads.iter_mut().chain(cols.updates.iter_mut());
        for (i, access) in (1u32..).zip(accesses) {
            access.diff[0] = F::from_u32(4 * i);
        }
        trace
    }

    fn addition(x: [u8; BYTES], q: [u8; QUOTIENT_BYTES], r: [u8; BYTES]) -> RowMajorMatrix<F> {
        row(Op::Add, [x, [0; BYTES]], q, r)
    }

    /// Bytes drawn whole, with 0 and 255 common.
    fn operand() -> impl Strategy<Value = [u8; BYTES]> {
        uniform32(prop_oneof![Just(0u8), Just(255u8), any::<u8>()])
    }

    proptest! {
        /// Honest rows of random operands satisfy the constraints, with every carry inside
        /// its range check.
        #[test]
        fn honest_rows_of_random_operands_satisfy_the_table(x in operand(), y in operand()) {
            let words = |bytes: &[u8; BYTES]| -> fp25519::Words {
                core::array::from_fn(|i| {
                    u32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().unwrap())
                })
            };
            for (_, op) in OPS {
                let (q, r) = fp25519::divide(op, &words(&x), &words(&y));
                let trace = row(op, [x, y], bytes_of(&q), word_bytes(&r));
                prop_assert!(check_all_constraints(&Fp25519Chip, &trace, &[], None).is_ok());
                let cols: &Fp25519Cols<F> = trace.values[..FP25519_WIDTH].borrow();
                for carry in cols.carries {
                    let offset = carry + F::from_i64(CARRY_OFFSET);
                    prop_assert!(offset.as_canonical_u32() < 1 << 16);
                }
            }
        }
    }

    #[test]
    fn only_the_canonical_result_satisfies_the_row() {
        // p + 0 is 1 p + 0, and also 0 p + p: the identity alone allows both.
        let p = CONSTANTS.p;
        let mut one = [0; QUOTIENT_BYTES];
        one[0] = 1;
        let canonical = addition(p, one, [0; BYTES]);
        assert!(check_all_constraints(&Fp25519Chip, &canonical, &[], None).is_ok());
        let unreduced = addition(p, [0; QUOTIENT_BYTES], p);
        assert!(!check_all_constraints(&Fp25519Chip, &unreduced, &[], None).is_ok());
        // A result off by one, whatever the carries, breaks the identity.
        let mut wrong = [0; BYTES];
        wrong[0] = 1;
        assert!(!check_all_constraints(&Fp25519Chip, &addition(p, one, wrong), &[], None).is_ok());
    }
}
