//! Column groups and constraints that many tables share.

use p3_air::AirBuilder;
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;

use crate::bus::{Buses, receive, send};
use crate::chips::lookup::LookupCounts;
use crate::config::F;
use crate::record::Access;

/// A word as two 16-bit limbs, low first.
pub type Word<T> = [T; 2];

/// The limbs of `value`.
pub fn word(value: u32) -> Word<F> {
    [F::from_u32(value & 0xffff), F::from_u32(value >> 16)]
}

/// A word of trace variables as expressions.
pub fn word_expr<AB: AirBuilder>(word: &Word<AB::Var>) -> Word<AB::Expr> {
    [word[0].into(), word[1].into()]
}

/// `1 << 16` as a field constant.
pub fn limb_base<E: PrimeCharacteristicRing>() -> E {
    E::from_u32(1 << 16)
}

/// Proof that an access at a known timestamp follows the previous access to the same address:
/// `ts - prev_ts - 1 = diff[0] + 256 * diff[1]` with both parts below 2^16, so the gap is
/// below 2^24 + 2^16 and never a wrapped negative number. The previous value is the accessed
/// value for reads, or a [`WriteCols::prev_value`] for writes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct AccessCols<T> {
    pub prev_ts: T,
    pub diff: [T; 2],
}

/// An access that may change the value: the previous value too.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct WriteCols<T> {
    pub prev_value: Word<T>,
    pub access: AccessCols<T>,
}

impl AccessCols<F> {
    /// Fills the columns for `access` and counts its range checks.
    pub fn fill(&mut self, access: &Access, lookups: &mut LookupCounts) {
        let gap = access.ts - access.prev_ts - 1;
        let diff = [gap & 0xff, gap >> 8];
        self.prev_ts = F::from_u32(access.prev_ts);
        self.diff = diff.map(F::from_u32);
        diff.into_iter().for_each(|part| lookups.range16(part));
    }
}

impl WriteCols<F> {
    pub fn fill(&mut self, access: &Access, lookups: &mut LookupCounts) {
        self.prev_value = word(access.prev_value);
        self.access.fill(access, lookups);
    }
}

/// Constrains one memory access when `enabled` (a boolean expression): the value at `address`
/// was `prev` since `cols.prev_ts`, which is before `ts`, and is `value` from `ts` on.
pub fn eval_access<AB: InteractionBuilder>(
    builder: &mut AB,
    address: AB::Expr,
    prev: Word<AB::Expr>,
    value: Word<AB::Expr>,
    ts: AB::Expr,
    cols: &AccessCols<AB::Var>,
    enabled: AB::Expr,
) {
    let gap = ts.clone() - cols.prev_ts.into() - AB::Expr::ONE;
    let diff = cols.diff[0].into() + cols.diff[1].into() * AB::Expr::from_u32(256);
    builder.when(enabled.clone()).assert_eq(gap, diff);
    // A disabled access leaves its columns at zero, so no row holds a value nothing checks.
    let disabled = AB::Expr::ONE - enabled.clone();
    builder.when(disabled.clone()).assert_zero(cols.prev_ts);
    builder.when(disabled).assert_zeros(cols.diff);
    builder.range16(cols.diff[0].into(), send(enabled.clone()));
    builder.range16(cols.diff[1].into(), send(enabled.clone()));
    builder.memory(
        address.clone(),
        prev,
        cols.prev_ts.into(),
        receive(enabled.clone()),
    );
    builder.memory(address, value, ts, send(enabled));
}

/// [`eval_access`] for a read: the value does not change.
pub fn eval_read<AB: InteractionBuilder>(
    builder: &mut AB,
    address: AB::Expr,
    value: Word<AB::Expr>,
    ts: AB::Expr,
    cols: &AccessCols<AB::Var>,
    enabled: AB::Expr,
) {
    eval_access(builder, address, value.clone(), value, ts, cols, enabled);
}

/// [`eval_access`] for a write of `value`.
pub fn eval_write<AB: InteractionBuilder>(
    builder: &mut AB,
    address: AB::Expr,
    value: Word<AB::Expr>,
    ts: AB::Expr,
    cols: &WriteCols<AB::Var>,
    enabled: AB::Expr,
) {
    let prev = word_expr::<AB>(&cols.prev_value);
    builder
        .when(AB::Expr::ONE - enabled.clone())
        .assert_zeros(cols.prev_value);
    eval_access(builder, address, prev, value, ts, &cols.access, enabled);
}

/// The memory timestamp of `slot` of the instruction at `clk` (see `record::timestamp`).
pub fn timestamp<E: PrimeCharacteristicRing>(clk: E, slot: u32) -> E {
    clk * E::from_u32(4) + E::from_u32(slot + 1)
}
