//! Cross-margin risk: account value, initial and maintenance requirements, free collateral,
//! leverage, the margin rule fills must pass, and the liquidation price shown to traders.
//!
//! - value = collateral + sum over positions of (size * mark - cost - pending funding)
//! - requirement = sum over positions of the market's tiered requirement of |size| * mark,
//!   each rounded up
//! - free collateral = value - initial requirement
//! - an account is liquidatable when value < maintenance requirement

use crate::MarketId;
use crate::account::Account;
use crate::error::RejectReason;
use crate::fixed::{Price, RATE_ONE, div_ceil, div_floor};
use crate::market::Market;

/// An account's risk at current marks, in quote atoms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Health {
    pub value: i128,
    pub initial: i128,
    pub maintenance: i128,
    /// Sum of |size| * mark over positions.
    pub notional: i128,
}

impl Health {
    /// Of `account`, using each market's mark price and funding index.
    pub fn of(account: &Account, markets: &[Market]) -> Result<Self, RejectReason> {
        let mut health = Self {
            value: i128::from(account.collateral),
            ..Self::default()
        };
        for position in &account.positions {
            let market = markets
                .get(usize::from(position.market))
                .ok_or(RejectReason::UnknownMarket)?;
            let mark = market.state.mark_price;
            let notional = i128::from(position.size.unsigned_abs()) * i128::from(mark);
            let funding = position
                .pending_funding(market.state.funding_index)
                .ok_or(RejectReason::ArithmeticOverflow)?;
            health.value += position.unrealized_pnl(mark) - funding;
            health.notional += notional;
            health.initial += market.config.initial_requirement(notional);
            health.maintenance += market.config.maintenance_requirement(notional);
        }
        Ok(health)
    }

    /// Value above the initial requirement.
    pub fn free_collateral(&self) -> i128 {
        self.value - self.initial
    }

    /// Whether the account meets its initial requirement.
    pub fn meets_initial(&self) -> bool {
        self.value >= self.initial
    }

    /// Whether the account may be liquidated.
    pub fn liquidatable(&self) -> bool {
        self.value < self.maintenance
    }

    /// Notional over value, millionths; `None` when the value is not positive.
    pub fn leverage(&self) -> Option<i128> {
        (self.value > 0).then(|| self.notional * i128::from(RATE_ONE) / self.value)
    }

    /// The margin rule every fill must pass for each side: the account ends above its
    /// initial requirement; or the fill only reduces risk (`reduces_position`), leaves the
    /// account's value non-negative, and leaves it above maintenance or, already below it, no
    /// deeper below it than before. The last clauses let an unhealthy trader reduce while
    /// stopping a trade at a far-off price from pushing losses onto the insurance fund: only
    /// liquidations create bad debt.
    pub fn allows_fill(before: &Self, after: &Self, reduces_position: bool) -> bool {
        if after.meets_initial() {
            return true;
        }
        let excess_before = before.value - before.maintenance;
        let excess_after = after.value - after.maintenance;
        reduces_position && after.value >= 0 && excess_after >= excess_before.min(0)
    }
}

/// Whether going from `old` to `new` lots only reduces a position (no increase, no flip).
pub fn reduces_position(old: i64, new: i64) -> bool {
    new == 0 || (new.signum() == old.signum() && new.unsigned_abs() <= old.unsigned_abs())
}

/// The mark price of `market` at which `account` reaches its maintenance requirement, other
/// markets' marks held fixed and the margin tier of the current size kept. `None` without a
/// position, or when no positive price liquidates it. Rounded towards the current mark (a
/// long's up, a short's down), so the warning comes early rather than late.
pub fn liquidation_price(account: &Account, markets: &[Market], market: MarketId) -> Option<Price> {
    let position = account.position(market)?;
    let market_ref = markets.get(usize::from(market))?;
    let health = Health::of(account, markets).ok()?;
    let mark = i128::from(market_ref.state.mark_price);
    let size = i128::from(position.size);
    let notional = size.abs() * mark;
    let (rate, deduction) = market_ref.config.maintenance_terms(notional);
    let others = health.maintenance - market_ref.config.maintenance_requirement(notional);
    // value(p) = value + size * (p - mark); maintenance(p) = others + (|size| p rate - deduction) / 1e6.
    // Solve value(p) = maintenance(p) for p.
    let one = i128::from(RATE_ONE);
    let numerator = one * (others - health.value + size * mark) - deduction;
    let denominator = size * one - size.abs() * rate;
    if denominator == 0 {
        return None;
    }
    let (numerator, denominator) = if denominator < 0 {
        (-numerator, -denominator)
    } else {
        (numerator, denominator)
    };
    let price = if size > 0 {
        div_ceil(numerator, denominator)
    } else {
        div_floor(numerator, denominator)
    };
    Price::try_from(price).ok().filter(|&price| price > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::tests::test_config;
    use alloc::vec;
    use alloc::vec::Vec;

    fn markets(mark: Price) -> Vec<Market> {
        let mut market = Market::new(test_config()).unwrap();
        market.state.mark_price = mark;
        vec![market]
    }

    #[test]
    fn health_of_a_long() {
        let markets = markets(11_000);
        let mut account = Account::new([1; 32]);
        account.collateral = 10_000;
        account.apply_fill(0, 10, 10_000, 0).unwrap();
        let health = Health::of(&account, &markets).unwrap();
        // value 10_000 + 10 * 11_000 - 100_000 = 20_000; notional 110_000; 5% and 2.5%.
        assert_eq!(
            health,
            Health {
                value: 20_000,
                initial: 5_500,
                maintenance: 2_750,
                notional: 110_000
            }
        );
        assert_eq!(health.free_collateral(), 14_500);
        assert_eq!(health.leverage(), Some(5_500_000));
    }

    #[test]
    fn liquidation_price_is_where_value_meets_maintenance() {
        let markets = markets(10_000);
        let mut account = Account::new([1; 32]);
        account.collateral = 10_000;
        account.apply_fill(0, 10, 10_000, 0).unwrap();
        // 10_000 + 10 (p - 10_000) = 10 p * 0.025  →  p = 90_000 / 9.75 = 9230.77, rounded up.
        let price = liquidation_price(&account, &markets, 0).unwrap();
        assert_eq!(price, 9_231);
        let check = |mark| {
            let markets = self::markets(mark);
            Health::of(&account, &markets).unwrap().liquidatable()
        };
        assert!(check(price - 1));
        assert!(!check(price));
        assert_eq!(liquidation_price(&account, &markets, 1), None);
    }

    #[test]
    fn short_liquidation_price() {
        let markets = markets(10_000);
        let mut account = Account::new([1; 32]);
        account.collateral = 10_000;
        account.apply_fill(0, -10, 10_000, 0).unwrap();
        // 10_000 - 10 (p - 10_000) = 0.25 p  →  p = 110_000 / 10.25 = 10731.7, rounded down.
        let price = liquidation_price(&account, &markets, 0).unwrap();
        assert_eq!(price, 10_731);
        let liquidatable = |mark| {
            Health::of(&account, &self::markets(mark))
                .unwrap()
                .liquidatable()
        };
        assert!(!liquidatable(price));
        assert!(liquidatable(price + 1));
    }

    #[test]
    fn the_fill_rule() {
        let healthy = Health {
            value: 100,
            initial: 50,
            maintenance: 25,
            notional: 1000,
        };
        let under_initial = Health {
            value: 40,
            initial: 50,
            maintenance: 25,
            notional: 1000,
        };
        let under_maintenance = Health {
            value: 20,
            initial: 50,
            maintenance: 25,
            notional: 1000,
        };
        assert!(Health::allows_fill(&under_initial, &healthy, false));
        assert!(!Health::allows_fill(&healthy, &under_initial, false));
        assert!(Health::allows_fill(&healthy, &under_initial, true));
        assert!(!Health::allows_fill(&healthy, &under_maintenance, true));
        let deeper = Health {
            value: 10,
            initial: 40,
            maintenance: 20,
            notional: 800,
        };
        assert!(!Health::allows_fill(&under_maintenance, &deeper, true));
        let shallower = Health {
            value: 15,
            initial: 30,
            maintenance: 15,
            notional: 600,
        };
        assert!(Health::allows_fill(&under_maintenance, &shallower, true));
        let underwater = Health {
            value: -10,
            initial: 30,
            maintenance: 15,
            notional: 600,
        };
        let less_underwater = Health {
            value: -5,
            initial: 20,
            maintenance: 10,
            notional: 400,
        };
        assert!(
            !Health::allows_fill(&underwater, &less_underwater, true),
            "a trader's fill never leaves its account below zero"
        );
        assert!(reduces_position(5, 3) && reduces_position(-5, 0) && !reduces_position(5, -1));
        assert!(!reduces_position(3, 5) && !reduces_position(0, 1));
    }
}
