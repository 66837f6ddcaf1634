//! Accounts: settled collateral, positions and replay protection. One account is one leaf of
//! the account tree; its borsh encoding is what the leaf hashes.

use alloc::vec::Vec;
use borsh::{BorshDeserialize, BorshSerialize};

use crate::MarketId;
use crate::action::SessionKey;
use crate::error::{OrOverflow, RejectReason};
use crate::fixed::{FUNDING_ONE, MAX_PRICE, Price, Quote, div_ceil, to_quote};
use crate::market::MarketState;

/// A position in one market.
///
/// `cost` is the signed entry notional of the open lots (positive for a long: what was paid;
/// negative for a short: what was received), so that unrealized PnL is
/// `size * mark - cost` exactly and the entry price is `cost / size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Position {
    pub market: MarketId,
    /// Lots, positive long, negative short, never zero (flat positions are removed).
    pub size: i64,
    pub cost: Quote,
    /// The market's funding index when funding was last settled.
    pub funding_snapshot: i128,
}

impl Position {
    /// Unrealized PnL at `mark`.
    pub fn unrealized_pnl(&self, mark: Price) -> i128 {
        i128::from(self.size) * i128::from(mark) - i128::from(self.cost)
    }

    /// Funding owed at `funding_index` since the last settlement, in quote atoms: positive
    /// when the account pays (rounded up), negative when it receives (rounded down in size).
    pub fn pending_funding(&self, funding_index: i128) -> Option<i128> {
        // Settled positions (the common case) skip the 128-bit arithmetic.
        if funding_index == self.funding_snapshot {
            return Some(0);
        }
        let owed =
            i128::from(self.size).checked_mul(funding_index.checked_sub(self.funding_snapshot)?)?;
        Some(div_ceil(owed, i128::from(FUNDING_ONE)))
    }
}

/// A trader's (or the insurance fund's) account.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Account {
    /// The ed25519 key that signs for the account (and owns it on Solana).
    pub owner: [u8; 32],
    /// Settled collateral: deposits - withdrawals + realized PnL - fees - funding paid. It is
    /// negative only while unrealized gains in other markets cover it (cross margin), or, for
    /// the insurance fund, as recorded bad debt.
    pub collateral: Quote,
    /// The highest nonce used; an action must carry a higher one.
    pub last_nonce: u64,
    /// Open positions, sorted by market, none flat.
    pub positions: Vec<Position>,
    /// A key that may sign for the owner (see [`crate::action`]).
    pub session: Option<SessionKey>,
}

/// How a trade changed an account's position in one market.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PositionChange {
    pub old_size: i64,
    pub new_size: i64,
}

impl PositionChange {
    /// Change of the lots held long (open interest counts one side).
    pub fn long_delta(self) -> i128 {
        i128::from(self.new_size.max(0)) - i128::from(self.old_size.max(0))
    }

    /// Whether the change only reduced the position.
    pub fn reduces(self) -> bool {
        crate::margin::reduces_position(self.old_size, self.new_size)
    }
}

impl Account {
    /// An empty account of `owner`.
    pub fn new(owner: [u8; 32]) -> Self {
        Self {
            owner,
            collateral: 0,
            last_nonce: 0,
            positions: Vec::new(),
            session: None,
        }
    }

    /// The position in `market`.
    pub fn position(&self, market: MarketId) -> Option<&Position> {
        let index = self
            .positions
            .binary_search_by_key(&market, |position| position.market)
            .ok()?;
        self.positions.get(index)
    }

    /// Signed size in `market` (0 when flat).
    pub fn size(&self, market: MarketId) -> i64 {
        self.position(market).map_or(0, |position| position.size)
    }

    /// Lots an order on the side with sign `side_sign` can take off the position without
    /// increasing or flipping it.
    pub fn reducible(&self, market: MarketId, side_sign: i64) -> u64 {
        let size = self.size(market);
        if size.signum() == -side_sign {
            size.unsigned_abs()
        } else {
            0
        }
    }

    /// Settles funding of the position in `market` against the market's index: collateral pays
    /// (or receives) what [`Position::pending_funding`] says, the market's funding pool takes
    /// the other side, and the exposure moves by the exact owed amount. Returns what was paid.
    pub(crate) fn settle_funding(
        &mut self,
        market: MarketId,
        state: &mut MarketState,
    ) -> Result<Quote, RejectReason> {
        let Ok(index) = self
            .positions
            .binary_search_by_key(&market, |position| position.market)
        else {
            return Ok(0);
        };
        let Some(position) = self.positions.get_mut(index) else {
            return Ok(0);
        };
        let delta = state
            .funding_index
            .checked_sub(position.funding_snapshot)
            .or_overflow()?;
        if delta == 0 {
            return Ok(0);
        }
        let owed = i128::from(position.size).checked_mul(delta).or_overflow()?;
        let paid = to_quote(div_ceil(owed, i128::from(FUNDING_ONE))).or_overflow()?;
        let collateral = self.collateral.checked_sub(paid).or_overflow()?;
        let pool = state.funding_pool.checked_add(paid).or_overflow()?;
        let exposure = state.funding_exposure.checked_add(owed).or_overflow()?;
        self.collateral = collateral;
        state.funding_pool = pool;
        state.funding_exposure = exposure;
        position.funding_snapshot = state.funding_index;
        Ok(paid)
    }

    /// Applies a fill of `delta` lots (positive bought, negative sold) at `price` to an
    /// account whose funding in `market` is settled at `funding_index`. Realized PnL goes to
    /// collateral. Reducing a position releases the matching share of its cost, rounded up,
    /// so realized PnL rounds down; what is not released now is released when the position
    /// closes, so the total realized over a position's life is exact.
    pub(crate) fn apply_fill(
        &mut self,
        market: MarketId,
        delta: i64,
        price: Price,
        funding_index: i128,
    ) -> Result<PositionChange, RejectReason> {
        let slot = self
            .positions
            .binary_search_by_key(&market, |position| position.market);
        if price > MAX_PRICE {
            return Err(RejectReason::PriceOutOfRange);
        }
        if delta == 0 {
            let size = self.size(market);
            return Ok(PositionChange {
                old_size: size,
                new_size: size,
            });
        }
        let (old_size, old_cost) = match slot {
            Ok(index) => self
                .positions
                .get(index)
                .map_or((0, 0), |position| (position.size, position.cost)),
            Err(_) => (0, 0),
        };
        let price = i128::from(price);
        let (size, cost, realized) = if old_size == 0 || old_size.signum() == delta.signum() {
            let cost = i128::from(old_cost) + i128::from(delta) * price;
            (i128::from(old_size) + i128::from(delta), cost, 0)
        } else {
            let held = i128::from(old_size.unsigned_abs());
            let traded = i128::from(delta.unsigned_abs());
            let closing = traded.min(held);
            let released = div_ceil(i128::from(old_cost) * closing, held);
            let realized = i128::from(old_size.signum()) * closing * price - released;
            let opening = traded - closing;
            if opening > 0 {
                let sign = i128::from(delta.signum());
                (sign * opening, sign * opening * price, realized)
            } else {
                let size = i128::from(old_size) + i128::from(delta);
                (size, i128::from(old_cost) - released, realized)
            }
        };
        let new_size = i64::try_from(size).ok().or_overflow()?;
        let new_cost = to_quote(cost).or_overflow()?;
        let collateral = to_quote(i128::from(self.collateral) + realized).or_overflow()?;
        self.collateral = collateral;
        match (slot, new_size) {
            (Ok(index), 0) => {
                self.positions.remove(index);
            }
            (Ok(index), _) => {
                if let Some(position) = self.positions.get_mut(index) {
                    position.size = new_size;
                    position.cost = new_cost;
                }
            }
            (Err(_), 0) => {}
            (Err(index), _) => self.positions.insert(
                index,
                Position {
                    market,
                    size: new_size,
                    cost: new_cost,
                    funding_snapshot: funding_index,
                },
            ),
        }
        Ok(PositionChange { old_size, new_size })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Account {
        Account::new([7; 32])
    }

    #[test]
    fn opening_adding_and_closing_realize_exactly() {
        let mut account = account();
        account.apply_fill(0, 3, 100, 0).unwrap();
        account.apply_fill(0, 2, 110, 0).unwrap();
        assert_eq!(
            account.position(0).map(|p| (p.size, p.cost)),
            Some((5, 520))
        );
        // Close 2 of 5: release ceil(520 * 2 / 5) = 208; realized 2 * 120 - 208 = 32.
        account.apply_fill(0, -2, 120, 0).unwrap();
        assert_eq!(account.collateral, 32);
        assert_eq!(
            account.position(0).map(|p| (p.size, p.cost)),
            Some((3, 312))
        );
        // Close the rest at 100: 300 - 312 = -12. Lifetime: sold 240 + 300, bought 520: +20.
        account.apply_fill(0, -3, 100, 0).unwrap();
        assert_eq!(account.collateral, 20);
        assert!(account.positions.is_empty());
    }

    #[test]
    fn rounding_of_a_partial_close_goes_against_the_trader_and_evens_out() {
        let mut account = account();
        account.apply_fill(0, 3, 10, 0).unwrap();
        account.apply_fill(0, 1, 11, 0).unwrap(); // 4 lots, cost 41
        account.apply_fill(0, -1, 10, 0).unwrap(); // release ceil(41/4) = 11, realize -1
        assert_eq!(account.collateral, -1);
        account.apply_fill(0, -3, 10, 0).unwrap(); // release the remaining 30, realize 0
        assert_eq!(account.collateral, -1, "bought 41, sold 40");
    }

    #[test]
    fn flipping_opens_the_rest_at_the_fill_price() {
        let mut account = account();
        account.apply_fill(0, -2, 100, 5).unwrap();
        assert_eq!(
            account
                .position(0)
                .map(|p| (p.size, p.cost, p.funding_snapshot)),
            Some((-2, -200, 5))
        );
        let change = account.apply_fill(0, 5, 90, 5).unwrap();
        assert_eq!(
            change,
            PositionChange {
                old_size: -2,
                new_size: 3
            }
        );
        assert_eq!(change.long_delta(), 3);
        assert_eq!(account.collateral, 20);
        assert_eq!(
            account.position(0).map(|p| (p.size, p.cost)),
            Some((3, 270))
        );
        assert_eq!(account.reducible(0, -1), 3);
        assert_eq!(account.reducible(0, 1), 0);
    }

    #[test]
    fn funding_rounds_payers_up_and_receivers_down() {
        let mut state = MarketState {
            funding_index: 1_500_000_000,
            ..MarketState::default()
        };
        let mut long = account();
        long.apply_fill(0, 3, 100, 1_000_000_000).unwrap();
        let mut short = account();
        short.apply_fill(0, -3, 100, 1_000_000_000).unwrap();
        // Each owes 3 * 0.5 = 1.5 atoms: the long pays 2, the short receives 1.
        assert_eq!(long.settle_funding(0, &mut state), Ok(2));
        assert_eq!(short.settle_funding(0, &mut state), Ok(-1));
        assert_eq!((long.collateral, short.collateral), (-2, 1));
        assert_eq!(state.funding_pool, 1);
        assert_eq!(state.funding_exposure, 0, "exact amounts cancel");
        assert_eq!(long.settle_funding(0, &mut state), Ok(0), "idempotent");
    }
}
