//! The effective address of a load or store, `rs1 + imm` modulo 2^32, and the memory word it
//! falls in.
//!
//! The sum is proven limb by limb with boolean carries and range-checked limbs; the high limb
//! is also bounded to `1..=2^14`, so the address as a field element (`lo + 2^16 hi`) is the
//! address itself, not a 32-bit value that wrapped around the field, and at least 0x10000, so
//! it can never name the register file, which the memory bus carries at words 0 to 31 (data
//! memory starts above the text, itself above 0x10000). The byte offset
//! within the word is two boolean bits `r`, and the word address is `(address - r) / 4` in the
//! field. If the bits are not the address's low bits, that quotient is no integer, hence no
//! address any page or register ever holds, and the access can never balance the memory bus:
//! an access is provable only at the word its address is really in.

use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::InteractionBuilder;

use crate::bus::{Buses, send};
use crate::chips::lookup::LookupCounts;
use crate::config::F;
use crate::gadgets::{Word, limb_base, word};

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct AddressCols<T> {
    pub address: Word<T>,
    pub carry: [T; 2],
    /// The byte offset within the word, low bit first.
    pub offset: [T; 2],
}

impl AddressCols<F> {
    /// Fills the columns for `base + imm` and counts the range checks.
    pub fn fill(&mut self, base: u32, imm: u32, lookups: &mut LookupCounts) {
        let address = base.wrapping_add(imm);
        let low = (base & 0xffff) + (imm & 0xffff);
        let high = (base >> 16) + (imm >> 16) + (low >> 16);
        self.address = word(address);
        self.carry = [low >> 16, high >> 16].map(F::from_u32);
        self.offset = [address & 1, (address >> 1) & 1].map(F::from_u32);
        lookups.range16(address & 0xffff);
        lookups.range16(address >> 16);
        lookups.range16(4 * ((address >> 16) - 1));
    }
}

/// Constrains `cols.address = base + imm` on rows where `enabled`, and returns the word
/// address `(address - offset) / 4`.
pub fn eval_address<AB: InteractionBuilder<F = F>>(
    builder: &mut AB,
    base: &Word<AB::Expr>,
    imm: &Word<AB::Expr>,
    cols: &AddressCols<AB::Var>,
    enabled: AB::Expr,
) -> AB::Expr {
    let [low, high] = cols.address.map(Into::<AB::Expr>::into);
    let [carry_low, carry_high] = cols.carry.map(Into::<AB::Expr>::into);
    builder.assert_bools(cols.carry);
    builder.assert_bools(cols.offset);
    builder.assert_eq(
        base[0].clone() + imm[0].clone(),
        low.clone() + carry_low.clone() * limb_base::<AB::Expr>(),
    );
    builder.assert_eq(
        base[1].clone() + imm[1].clone() + carry_low,
        high.clone() + carry_high * limb_base::<AB::Expr>(),
    );
    builder.range16(low.clone(), send(enabled.clone()));
    builder.range16(high.clone(), send(enabled.clone()));
    builder.range16(
        (high.clone() - AB::Expr::ONE) * AB::Expr::from_u32(4),
        send(enabled),
    );
    let offset = cols.offset[0].into() + cols.offset[1].into() * AB::Expr::TWO;
    let quarter: AB::Expr = F::from_u32(4).inverse().into();
    (low - offset) * quarter + high * AB::Expr::from_u32(1 << 14)
}
