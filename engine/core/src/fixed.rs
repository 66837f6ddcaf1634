//! Fixed-point units and the rounding helpers every formula uses.
//!
//! | quantity | type | unit |
//! |---|---|---|
//! | collateral, fees, PnL, notional | [`Quote`] (`i64`, `i128` in products) | quote atoms: 10^-6 USDC |
//! | order and position size | [`Lots`] (`u64`; positions `i64`, signed) | lots of the market |
//! | price (limit, oracle, mark) | [`Price`] (`u64`) | quote atoms per lot |
//! | margin fractions, fees | `u32`/`i32` | millionths ([`RATE_ONE`]) |
//! | premium, funding rates | `i64` | billionths ([`FUNDING_ONE`]) |
//! | funding index | `i128` | 10^-9 quote atoms per lot |
//! | time | [`Timestamp`] (`u64`) | milliseconds, always an input |
//!
//! Because a price is quoted per lot, the notional of `lots` at `price` is the exact integer
//! `price * lots`: trades never round. A market chooses its lot (in base-asset atoms, for the UI)
//! so that a price per lot keeps enough precision.
//!
//! Rounding, where it cannot be avoided, goes against the trader and towards the system
//! (requirements and fees round up, rebates and funding receipts round down), so that
//! conservation of collateral holds exactly.

/// Collateral amounts in quote atoms (10^-6 USDC).
pub type Quote = i64;
/// Sizes in lots.
pub type Lots = u64;
/// Prices in quote atoms per lot.
pub type Price = u64;
/// Milliseconds; the state machine never reads a clock.
pub type Timestamp = u64;

/// Decimals of the collateral (USDC).
pub const QUOTE_DECIMALS: u32 = 6;
/// One, for margin fractions and fee rates (millionths).
pub const RATE_ONE: i64 = 1_000_000;
/// One, for premiums and funding rates (billionths).
pub const FUNDING_ONE: i64 = 1_000_000_000;
/// The largest accepted price. With [`MAX_LOTS`] it bounds every notional below 2^80, so
/// products with rates and indices stay far inside `i128`.
pub const MAX_PRICE: Price = 1 << 40;
/// The largest accepted order size or open-interest cap.
pub const MAX_LOTS: Lots = 1 << 40;
/// Funding settles on every whole hour.
pub const HOUR_MS: Timestamp = 3_600_000;

/// `numerator / denominator` rounded towards negative infinity. `denominator` must be positive
/// (every caller passes a constant or a validated non-zero value).
pub(crate) fn div_floor(numerator: i128, denominator: i128) -> i128 {
    floor_div_rem(numerator, denominator).0
}

/// `numerator / denominator` rounded towards positive infinity. `denominator` must be positive.
pub(crate) fn div_ceil(numerator: i128, denominator: i128) -> i128 {
    let (quotient, remainder) = floor_div_rem(numerator, denominator);
    quotient + i128::from(remainder != 0)
}

/// The floored quotient and the (non-negative) remainder, from one division, done in 64 bits
/// when both operands fit: the values are almost always that small, and on the guest's 32-bit
/// machine a 128-bit division is a long software routine, several times a 64-bit one.
fn floor_div_rem(numerator: i128, denominator: i128) -> (i128, i128) {
    debug_assert!(denominator > 0);
    let quotient = match (i64::try_from(numerator), i64::try_from(denominator)) {
        // The denominator is positive, so the i64 division cannot overflow.
        (Ok(numerator), Ok(denominator)) => i128::from(numerator / denominator),
        _ => numerator / denominator,
    };
    let remainder = numerator - quotient * denominator;
    if remainder < 0 {
        (quotient - 1, remainder + denominator)
    } else {
        (quotient, remainder)
    }
}

/// The median of three values.
pub(crate) fn median3<T: Ord + Copy>(a: T, b: T, c: T) -> T {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    if c <= low {
        low
    } else if c >= high {
        high
    } else {
        c
    }
}

/// An amount from a 128-bit intermediate into collateral units, if it fits.
pub(crate) fn to_quote(amount: i128) -> Option<Quote> {
    Quote::try_from(amount).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_rounds_in_the_stated_direction() {
        assert_eq!(div_floor(7, 2), 3);
        assert_eq!(div_floor(-7, 2), -4);
        assert_eq!(div_ceil(7, 2), 4);
        assert_eq!(div_ceil(-7, 2), -3);
        assert_eq!(div_ceil(6, 2), 3);
        assert_eq!(div_floor(-6, 2), -3);
        let wide = i128::from(i64::MAX) * 3 + 1;
        assert_eq!(div_floor(wide, 3), i128::from(i64::MAX));
        assert_eq!(div_ceil(wide, 3), i128::from(i64::MAX) + 1);
        assert_eq!(div_floor(-wide, 3), -i128::from(i64::MAX) - 1);
        assert_eq!(div_ceil(-wide, 3), -i128::from(i64::MAX));
        assert_eq!(
            div_floor(i128::from(i64::MIN), 7),
            i128::from(i64::MIN).div_euclid(7)
        );
        assert_eq!(div_ceil(5, i128::from(u64::MAX)), 1);
    }

    #[test]
    fn median_of_three() {
        assert_eq!(median3(1, 2, 3), 2);
        assert_eq!(median3(3, 1, 2), 2);
        assert_eq!(median3(2, 3, 1), 2);
        assert_eq!(median3(5, 5, 1), 5);
    }
}
