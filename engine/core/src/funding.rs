//! Funding: premium samples on every oracle tick, hourly settlement into a cumulative index,
//! lazy and exact settlement of positions against it.
//!
//! - premium sample (billionths) = (max(impact bid - index, 0) - max(index - impact ask, 0))
//!   / index, truncated towards zero, clamped to ±100%; a side too thin for the impact
//!   notional contributes nothing.
//! - each whole hour: P = mean of the hour's samples (0 without samples);
//!   F8 = P + clamp(interest - P, -band, band); hourly rate = clamp(F8 / 8, -cap, cap)
//!   (truncated towards zero); the funding index grows by rate * index price, exactly. Hours
//!   that pass without any step settle at the rate of a zero premium, in one go.
//! - a position owes size * (index - its snapshot) / 10^9 quote atoms, settled whenever its
//!   size changes or its account acts: payers round up, receivers down, and the market's
//!   funding pool takes the other side. Since longs and shorts hold equal lots, the exact
//!   amounts cancel; the pool keeps the rounding residue, which the hourly settlement sweeps
//!   to the insurance fund (see [`crate::market::MarketState::funding_exposure`]).

use crate::fixed::{FUNDING_ONE, HOUR_MS, Timestamp};
use crate::market::{FundingParams, Market};
use crate::order::Side;

/// Adds a premium sample from the book's impact prices.
pub(crate) fn sample_premium(market: &mut Market) {
    let index = i128::from(market.state.index_price);
    if index == 0 {
        return;
    }
    let notional = market.config.funding.impact_notional;
    let impact_bid = market
        .book
        .impact_price(Side::Buy, notional)
        .map(i128::from);
    let impact_ask = market
        .book
        .impact_price(Side::Sell, notional)
        .map(i128::from);
    let above = impact_bid.map_or(0, |bid| (bid - index).max(0));
    let below = impact_ask.map_or(0, |ask| (index - ask).max(0));
    let one = i128::from(FUNDING_ONE);
    let premium = ((above - below) * one / index).clamp(-one, one);
    let state = &mut market.state;
    state.premium_sum = state.premium_sum.saturating_add(premium as i64);
    state.premium_samples = state.premium_samples.saturating_add(1);
}

/// The hourly rate (billionths) for an average premium.
pub fn hourly_rate(params: &FundingParams, premium: i64) -> i64 {
    let interest = params.interest_rate_8h.saturating_sub(premium);
    let eight_hours =
        premium.saturating_add(interest.clamp(-params.premium_band_8h, params.premium_band_8h));
    (eight_hours / 8).clamp(-params.cap_per_hour, params.cap_per_hour)
}

/// A funding settlement of one market.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Settlement {
    pub rate: i64,
    pub hours: u64,
}

/// Settles every hour boundary at or before `now`. Returns `None` when none is due (or the
/// market's first step schedules its first hour).
pub(crate) fn settle_due_hours(market: &mut Market, now: Timestamp) -> Option<Settlement> {
    let state = &mut market.state;
    let next_hour = (now / HOUR_MS).saturating_add(1).saturating_mul(HOUR_MS);
    if state.next_funding_ms == 0 {
        state.next_funding_ms = next_hour;
        return None;
    }
    if now < state.next_funding_ms {
        return None;
    }
    let hours = (now - state.next_funding_ms) / HOUR_MS + 1;
    let premium = if state.premium_samples == 0 {
        0
    } else {
        state.premium_sum / i64::from(state.premium_samples)
    };
    let params = &market.config.funding;
    let rate = hourly_rate(params, premium);
    let idle_rate = hourly_rate(params, 0);
    let price = i128::from(state.index_price);
    let increment =
        i128::from(rate) * price + i128::from(hours - 1) * i128::from(idle_rate) * price;
    state.funding_index = state.funding_index.saturating_add(increment);
    state.premium_sum = 0;
    state.premium_samples = 0;
    state.last_funding_rate = rate;
    state.next_funding_ms = next_hour;
    Some(Settlement { rate, hours })
}

/// The whole quote atoms of rounding residue the market's funding pool holds beyond what its
/// positions are owed.
pub(crate) fn sweepable_residue(market: &Market) -> i64 {
    let state = &market.state;
    let residue = (i128::from(state.funding_pool) * i128::from(FUNDING_ONE))
        .saturating_sub(state.funding_exposure);
    i64::try_from(residue.div_euclid(i128::from(FUNDING_ONE)))
        .unwrap_or(0)
        .max(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::tests::test_config;
    use crate::order::{RestingOrder, SelfTradePrevention};

    #[test]
    fn rate_follows_the_hyperliquid_shape() {
        let params = test_config().funding;
        // No premium: the interest 0.01% per 8 h, paid hourly: 12_500 billionths.
        assert_eq!(hourly_rate(&params, 0), 12_500);
        // A premium inside the band: F8 = P + (0.01% - P) = 0.01%.
        assert_eq!(hourly_rate(&params, 300_000), 12_500);
        // A large premium: F8 = P - 0.05%.
        assert_eq!(hourly_rate(&params, 10_000_000), (10_000_000 - 500_000) / 8);
        // Capped at 4% an hour.
        assert_eq!(hourly_rate(&params, 900_000_000), 40_000_000);
        assert_eq!(hourly_rate(&params, -900_000_000), -40_000_000);
    }

    #[test]
    fn hours_settle_into_the_index() {
        let mut market = Market::new(test_config()).unwrap();
        market.state.index_price = 1_000_000;
        assert_eq!(settle_due_hours(&mut market, 10), None);
        assert_eq!(market.state.next_funding_ms, HOUR_MS);
        assert_eq!(settle_due_hours(&mut market, HOUR_MS - 1), None);
        market.state.premium_sum = 20_000_000;
        market.state.premium_samples = 2;
        // Three hours due at once: one at the sampled premium (F8 = 1% - 0.05%), two idle.
        let settled = settle_due_hours(&mut market, 3 * HOUR_MS + 5).unwrap();
        assert_eq!(
            settled,
            Settlement {
                rate: 1_187_500,
                hours: 3
            }
        );
        assert_eq!(
            market.state.funding_index,
            (1_187_500 + 2 * 12_500) * 1_000_000
        );
        assert_eq!(market.state.next_funding_ms, 4 * HOUR_MS);
        assert_eq!(market.state.premium_samples, 0);
    }

    #[test]
    fn premium_comes_from_impact_prices() {
        let mut market = Market::new(test_config()).unwrap();
        market.state.index_price = 1_000_000;
        let rest = |market: &mut Market, id, side, price| {
            market.book.insert(RestingOrder {
                id,
                account: 1,
                client_order_id: 0,
                side,
                price,
                lots: 10_000,
                reduce_only: false,
                post_only: false,
                self_trade: SelfTradePrevention::ExpireMaker,
            })
        };
        // Bids 1% above the index: the impact bid is 1_010_000, the premium 1%.
        rest(&mut market, 1, Side::Buy, 1_010_000);
        rest(&mut market, 2, Side::Sell, 1_020_000);
        sample_premium(&mut market);
        assert_eq!(
            (market.state.premium_sum, market.state.premium_samples),
            (10_000_000, 1)
        );
    }

    #[test]
    fn residue_is_the_whole_atoms_beyond_the_exposure() {
        let mut market = Market::new(test_config()).unwrap();
        market.state.funding_pool = 3;
        market.state.funding_exposure = 1_500_000_000;
        assert_eq!(sweepable_residue(&market), 1);
        market.state.funding_exposure = 3_000_000_000;
        assert_eq!(sweepable_residue(&market), 0);
    }
}
