//! Prices: the oracle index (guarded against staleness and large jumps), the EMA of the book's
//! basis to it, and the mark price.
//!
//! - index: an update must be newer than the current one and not older than `max_age_ms`
//!   when it arrives; while the current index is fresh, a move larger than `max_move` is
//!   clamped to it (after an outage, the first update is taken as is, so a stale market
//!   cannot be stuck).
//! - basis EMA, on every oracle tick: `ema += (sample - ema) * dt / (dt + tau)`, where the
//!   sample is `book mid - index` (0 with a one-sided book), rounded down; `dt / (dt + tau)`
//!   is the integer-friendly stand-in for `1 - exp(-dt / tau)`.
//! - mark = median(index + ema, book mid, last trade), a missing mid or last trade replaced
//!   by the index.
//!
//! # The oracle chain
//!
//! Each market keeps the head of its oracle authority's hash chain
//! ([`crate::market::MarketState::oracle_chain`], 32 zero bytes for a new market):
//! `head' = sha256(head || price u64 LE || publish_time_ms u64 LE)`. Every update must carry
//! the authority's signature of the head it produces ([`crate::action::oracle_message`]), so
//! an accepted update is the authority's next update for the market, in the authority's
//! order, none skipped or invented. The chain advances with every signed update, also one
//! whose price the guards above refuse (out of order, stale, out of range: an
//! [`crate::event::Event::OracleRejected`]), because later heads commit to it; an update that
//! is unsigned, for an unknown market, or published after its step's timestamp is refused
//! whole and changes nothing.

use borsh::{BorshDeserialize, BorshSerialize};

use crate::MarketId;
use crate::error::RejectReason;
use crate::fixed::{MAX_PRICE, Price, RATE_ONE, Timestamp, div_floor, median3};
use crate::funding::sample_premium;
use crate::market::Market;
use crate::sha256::{Sha256Compression, sha256};

/// An oracle price for one market, as the batch carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct OracleUpdate {
    pub market: MarketId,
    /// Quote atoms per lot.
    pub price: Price,
    /// When the oracle published it.
    pub publish_time_ms: Timestamp,
}

/// The market's oracle chain head after `update` (see the module documentation).
pub fn oracle_chain_next<C: Sha256Compression + ?Sized>(
    compression: &C,
    chain: &[u8; 32],
    update: &OracleUpdate,
) -> [u8; 32] {
    sha256(
        compression,
        &[
            chain,
            &update.price.to_le_bytes(),
            &update.publish_time_ms.to_le_bytes(),
        ],
    )
}

/// The book mid, rounded down, when both sides have orders.
pub fn book_mid(market: &Market) -> Option<Price> {
    let bid = market.book.best_bid()?;
    let ask = market.book.best_ask()?;
    Some(bid / 2 + ask / 2 + (bid % 2 + ask % 2) / 2)
}

/// Validates and applies an oracle update at `now`, then samples the premium and refreshes
/// the mark. A rejected update changes nothing.
pub(crate) fn apply_oracle(
    market: &mut Market,
    price: Price,
    publish_time_ms: Timestamp,
    now: Timestamp,
) -> Result<(), RejectReason> {
    if price == 0 || price > MAX_PRICE {
        return Err(RejectReason::PriceOutOfRange);
    }
    let state = &market.state;
    let first = state.index_price == 0;
    if publish_time_ms > now || (!first && publish_time_ms <= state.index_time_ms) {
        return Err(RejectReason::OracleOutOfOrder);
    }
    if now - publish_time_ms > market.config.oracle.max_age_ms {
        return Err(RejectReason::StaleOraclePrice);
    }
    let accepted = if market.oracle_fresh(now) {
        let previous = state.index_price;
        let band =
            u128::from(previous) * u128::from(market.config.oracle.max_move) / RATE_ONE as u128;
        let band = Price::try_from(band).unwrap_or(MAX_PRICE);
        price.clamp(
            previous.saturating_sub(band).max(1),
            previous.saturating_add(band).min(MAX_PRICE),
        )
    } else {
        price
    };
    let state = &mut market.state;
    state.index_price = accepted;
    state.index_time_ms = publish_time_ms;
    update_basis(market, now, first);
    sample_premium(market);
    refresh_mark(market);
    Ok(())
}

fn update_basis(market: &mut Market, now: Timestamp, first: bool) {
    let index = i64::try_from(market.state.index_price).unwrap_or(i64::MAX);
    let sample = book_mid(market).map_or(0, |mid| i64::try_from(mid).unwrap_or(i64::MAX) - index);
    let state = &mut market.state;
    if first {
        state.ema_basis = sample;
    } else {
        let elapsed = i128::from(now.saturating_sub(state.ema_time_ms));
        let tau = i128::from(market.config.oracle.ema_time_constant_ms);
        let step = div_floor(
            (i128::from(sample) - i128::from(state.ema_basis)) * elapsed,
            elapsed + tau,
        );
        state.ema_basis =
            i64::try_from(i128::from(state.ema_basis) + step).unwrap_or(state.ema_basis);
    }
    state.ema_time_ms = now;
}

/// Recomputes the mark price from the index, the basis EMA, the book and the last trade.
pub(crate) fn refresh_mark(market: &mut Market) {
    let index = market.state.index_price;
    if index == 0 {
        return;
    }
    let oracle_leg =
        (i128::from(index) + i128::from(market.state.ema_basis)).clamp(1, i128::from(MAX_PRICE));
    let oracle_leg = Price::try_from(oracle_leg).unwrap_or(index);
    let mid = book_mid(market).unwrap_or(index);
    let last = if market.state.last_trade_price == 0 {
        index
    } else {
        market.state.last_trade_price
    };
    market.state.mark_price = median3(oracle_leg, mid, last);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::tests::test_config;
    use crate::order::{RestingOrder, SelfTradePrevention, Side};

    fn market() -> Market {
        Market::new(test_config()).unwrap()
    }

    fn rest(market: &mut Market, id: u64, side: Side, price: Price) {
        market.book.insert(RestingOrder {
            id,
            account: 1,
            client_order_id: 0,
            side,
            price,
            lots: 1_000,
            reduce_only: false,
            post_only: false,
            self_trade: SelfTradePrevention::ExpireMaker,
        });
    }

    #[test]
    fn the_first_price_sets_index_and_mark() {
        let mut market = market();
        apply_oracle(&mut market, 1_000_000, 1_000, 1_500).unwrap();
        assert_eq!(market.state.index_price, 1_000_000);
        assert_eq!(market.state.mark_price, 1_000_000);
        assert_eq!(
            apply_oracle(&mut market, 1_000_000, 1_000, 1_600),
            Err(RejectReason::OracleOutOfOrder)
        );
        assert_eq!(
            apply_oracle(&mut market, 1_000_000, 2_000, 1_600),
            Err(RejectReason::OracleOutOfOrder)
        );
        assert_eq!(
            apply_oracle(&mut market, 0, 1_600, 1_600),
            Err(RejectReason::PriceOutOfRange)
        );
    }

    #[test]
    fn large_moves_are_clamped_while_fresh_and_not_after_an_outage() {
        let mut market = market();
        apply_oracle(&mut market, 1_000_000, 1_000, 1_000).unwrap();
        apply_oracle(&mut market, 500_000, 2_000, 2_000).unwrap();
        assert_eq!(market.state.index_price, 900_000, "10% guard");
        // 60 s later the index is stale: the next price is taken as it is.
        apply_oracle(&mut market, 500_000, 70_000, 70_000).unwrap();
        assert_eq!(market.state.index_price, 500_000);
        assert_eq!(
            apply_oracle(&mut market, 500_000, 71_000, 140_000),
            Err(RejectReason::StaleOraclePrice),
            "a price older than the staleness bound is refused"
        );
    }

    #[test]
    fn mark_is_the_median_of_oracle_basis_mid_and_last_trade() {
        let mut market = market();
        rest(&mut market, 1, Side::Buy, 1_010_000);
        rest(&mut market, 2, Side::Sell, 1_030_000);
        apply_oracle(&mut market, 1_000_000, 1_000, 1_000).unwrap();
        // First sample: basis = mid - index = 20_000. oracle leg 1_020_000 = mid; no trade → index.
        assert_eq!(market.state.ema_basis, 20_000);
        assert_eq!(market.state.mark_price, 1_020_000);
        market.state.last_trade_price = 1_500_000;
        refresh_mark(&mut market);
        assert_eq!(
            market.state.mark_price, 1_020_000,
            "one outlier cannot move the median"
        );
        // 150 s later the EMA moves half way to a basis of 0 (book gone one-sided).
        market.book.remove(2);
        apply_oracle(&mut market, 1_000_000, 151_000, 151_000).unwrap();
        assert_eq!(market.state.ema_basis, 10_000);
    }
}
