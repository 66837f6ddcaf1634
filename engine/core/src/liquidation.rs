//! Liquidation, in order, when an account's value falls below its maintenance requirement:
//!
//! 1. settle its funding and cancel all its orders;
//! 2. close positions into the book in steps (`liquidation_step` of the position each, the
//!    largest maintenance requirement first), immediate-or-cancel, never at a price worse than
//!    the bankruptcy price, paying the taker fee plus a liquidation fee to the insurance fund
//!    (capped so the account is not pushed below zero); stop as soon as the account is back
//!    above maintenance;
//! 3. if the book could not restore it: the insurance fund takes over each remaining
//!    position at the bankruptcy price, as long as the fund stays above its own maintenance
//!    requirement; otherwise the position is assigned at the bankruptcy price to the opposite
//!    positions named by the step (auto-deleveraging), in their order;
//! 4. negative collateral left on a flat account is bad debt: the insurance fund pays it, and
//!    its own collateral may go negative, which is the record of unabsorbed bad debt.
//!
//! The bankruptcy price of a position is the price at which closing it brings the account's
//! value to zero: `mark - value / size`, rounded against the liquidated account (down for a
//! long, up for a short) and kept within 1..=[`MAX_PRICE`].
//!
//! The step names the deleveraging counterparties because a guest holds only the accounts its
//! batch touches: the engine ranks every account ([`Exchange::deleverage_ranking`]), the
//! state machine checks each one it uses (an opposite position in that market).

use alloc::vec::Vec;

use crate::account::Account;
use crate::error::{CancelReason, Fatal, RejectReason, TxError};
use crate::event::{Event, LiquidationVia};
use crate::exchange::{ActiveOrder, Exchange, StepContext, Tx};
use crate::fixed::{Lots, MAX_PRICE, Price, Quote, RATE_ONE, div_ceil, div_floor, to_quote};
use crate::margin::Health;
use crate::market::{Market, MarketStatus};
use crate::order::{SelfTradePrevention, Side, TimeInForce};
use crate::{AccountId, INSURANCE_FUND, MarketId};

/// The accounts to deleverage against, per market, best candidate first.
pub type DeleverageLists = Vec<(MarketId, Vec<AccountId>)>;

/// The price at which closing `account`'s whole position in `market` leaves its value at zero.
pub fn bankruptcy_price(account: &Account, markets: &[Market], market: MarketId) -> Option<Price> {
    let size = i128::from(account.size(market));
    if size == 0 {
        return None;
    }
    let value = Health::of(account, markets).ok()?.value;
    let mark = i128::from(markets.get(usize::from(market))?.state.mark_price);
    let price = if size > 0 {
        div_floor(mark * size - value, size)
    } else {
        div_ceil(mark * -size + value, -size)
    };
    Price::try_from(price.clamp(1, i128::from(MAX_PRICE))).ok()
}

impl Exchange {
    /// Runs a liquidation step (see the module documentation).
    pub(crate) fn liquidate(
        &mut self,
        account: AccountId,
        deleverage: &DeleverageLists,
        ctx: &mut StepContext,
    ) -> Result<(), Fatal> {
        let checked = self.check_liquidatable(account, deleverage, ctx.now)?;
        let cancelled = match checked {
            Ok(()) => self.run_tx(ctx, |tx| {
                tx.settle_all(account)?;
                tx.cancel_all_with(account, None, CancelReason::Liquidation)
            })?,
            Err(reason) => Err(reason),
        };
        // Until the orders are cancelled nothing has changed: the request is refused whole.
        if let Err(reason) = cancelled {
            ctx.refused = Some(reason);
            ctx.events
                .push(Event::LiquidationRejected { account, reason });
            return Ok(());
        }
        let markets = self.liquidation_order(account)?;
        for &market in &markets {
            self.close_into_book(account, market, ctx)?;
        }
        if self.liquidatable(account)? {
            for &market in &markets {
                self.backstop(account, market, deleverage, ctx)?;
            }
        }
        self.cover_bad_debt(account, ctx)
    }

    fn check_liquidatable(
        &mut self,
        account: AccountId,
        deleverage: &DeleverageLists,
        now: u64,
    ) -> Result<Result<(), RejectReason>, Fatal> {
        self.journal_accounts([account]);
        if account == INSURANCE_FUND {
            return Ok(Err(RejectReason::SystemAccount));
        }
        let Some(state) = self.lookup(account)? else {
            return Ok(Err(RejectReason::UnknownAccount));
        };
        let mut seen_markets = Vec::new();
        for (market, accounts) in deleverage {
            let mut sorted = accounts.clone();
            sorted.sort_unstable();
            let duplicate = sorted.windows(2).any(|pair| pair[0] == pair[1]);
            let invalid = sorted.iter().any(|&id| {
                id == account || id == INSURANCE_FUND || id >= self.global.next_account_id
            });
            if duplicate || invalid || seen_markets.contains(market) {
                return Ok(Err(RejectReason::InvalidDeleverageList));
            }
            seen_markets.push(*market);
        }
        let fresh = |market: MarketId| {
            self.market(market)
                .is_some_and(|market| market.oracle_fresh(now))
        };
        if !state
            .positions
            .iter()
            .all(|position| fresh(position.market))
        {
            return Ok(Err(RejectReason::StaleOraclePrice));
        }
        match Health::of(state, &self.global.markets) {
            Ok(health) if health.liquidatable() => Ok(Ok(())),
            Ok(_) => Ok(Err(RejectReason::NotLiquidatable)),
            Err(reason) => Ok(Err(reason)),
        }
    }

    fn liquidatable(&self, account: AccountId) -> Result<bool, Fatal> {
        let Some(state) = self.lookup(account)? else {
            return Ok(false);
        };
        Ok(Health::of(state, &self.global.markets).is_ok_and(|health| health.liquidatable()))
    }

    /// The account's markets, largest maintenance requirement first (then by market id).
    fn liquidation_order(&self, account: AccountId) -> Result<Vec<MarketId>, Fatal> {
        let Some(state) = self.lookup(account)? else {
            return Ok(Vec::new());
        };
        let mut markets: Vec<(i128, MarketId)> = state
            .positions
            .iter()
            .filter_map(|position| {
                let market = self.market(position.market)?;
                let notional =
                    i128::from(position.size.unsigned_abs()) * i128::from(market.state.mark_price);
                Some((
                    market.config.maintenance_requirement(notional),
                    position.market,
                ))
            })
            .collect();
        markets.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        Ok(markets.into_iter().map(|(_, market)| market).collect())
    }

    /// Step 2 for one market: immediate-or-cancel steps into the book until the account is
    /// healthy, the position is closed, or the book has nothing at an acceptable price.
    fn close_into_book(
        &mut self,
        account: AccountId,
        market_id: MarketId,
        ctx: &mut StepContext,
    ) -> Result<(), Fatal> {
        let Some(market) = self.market(market_id) else {
            return Ok(());
        };
        if market.state.status == MarketStatus::Halted {
            return Ok(());
        }
        let (tick, min_lots) = (market.config.tick_size, market.config.min_order_lots);
        let step_share = i128::from(market.config.liquidation_step);
        let Some(original) = self
            .lookup(account)?
            .map(|state| state.size(market_id).unsigned_abs())
        else {
            return Ok(());
        };
        let chunk = div_ceil(i128::from(original) * step_share, i128::from(RATE_ONE));
        let chunk = Lots::try_from(chunk).unwrap_or(original).max(min_lots);
        while self.liquidatable(account)? {
            let Some(state) = self.lookup(account)? else {
                break;
            };
            let size = state.size(market_id);
            let Some(bankruptcy) = bankruptcy_price(state, &self.global.markets, market_id) else {
                break;
            };
            let side = if size > 0 { Side::Sell } else { Side::Buy };
            // Never trade beyond the bankruptcy price: a sell's limit rounds up to the tick, a
            // buy's down.
            let limit = match side {
                Side::Sell => bankruptcy.div_ceil(tick).saturating_mul(tick),
                Side::Buy => bankruptcy / tick * tick,
            };
            if limit == 0 || limit > MAX_PRICE {
                break;
            }
            let lots = chunk.min(size.unsigned_abs());
            let filled = self.run_tx(ctx, |tx| {
                let id = tx.allocate_order_id();
                tx.execute(&ActiveOrder {
                    id,
                    account,
                    client_order_id: 0,
                    market: market_id,
                    side,
                    lots,
                    limit,
                    time_in_force: TimeInForce::ImmediateOrCancel,
                    reduce_only: true,
                    self_trade: SelfTradePrevention::ExpireTaker,
                    liquidation: true,
                })
            })?;
            if !matches!(filled, Ok(lots) if lots > 0) {
                break;
            }
        }
        Ok(())
    }

    /// Step 3 for one market: insurance-fund takeover, else auto-deleveraging.
    fn backstop(
        &mut self,
        account: AccountId,
        market: MarketId,
        deleverage: &DeleverageLists,
        ctx: &mut StepContext,
    ) -> Result<(), Fatal> {
        let Some(state) = self.lookup(account)? else {
            return Ok(());
        };
        let size = state.size(market);
        let Some(price) = bankruptcy_price(state, &self.global.markets, market) else {
            return Ok(());
        };
        let closing_side = if size > 0 { Side::Sell } else { Side::Buy };
        let taken = self.run_tx(ctx, |tx| {
            let trade = tx.prepare_trade(market, INSURANCE_FUND, account, size, price)?;
            if tx.health(&trade.actor)?.liquidatable() {
                return Err(RejectReason::InsufficientMargin.into());
            }
            commit_transfer(
                tx,
                market,
                trade.open_interest,
                (INSURANCE_FUND, trade.actor),
                (account, trade.counterparty),
            )?;
            tx.events.push(Event::Liquidated {
                account,
                market,
                side: closing_side,
                lots: size.unsigned_abs(),
                price,
                fee: 0,
                via: LiquidationVia::Backstop,
            });
            Ok(())
        })?;
        if taken.is_ok() {
            return Ok(());
        }
        let counterparties: &[AccountId] = deleverage
            .iter()
            .find(|(list_market, _)| *list_market == market)
            .map_or(&[], |(_, list)| list.as_slice());
        let deleveraged = self.run_tx(ctx, |tx| {
            let mut used = Vec::new();
            let mut remaining = size.unsigned_abs();
            for &counterparty in counterparties {
                if remaining == 0 {
                    break;
                }
                let opposite = tx.account(counterparty)?.size(market);
                if opposite.signum() != -size.signum() {
                    continue;
                }
                let lots = remaining.min(opposite.unsigned_abs());
                let counterparty_lots = i64::try_from(lots)
                    .map_err(|_| RejectReason::ArithmeticOverflow)?
                    * size.signum();
                let trade =
                    tx.prepare_trade(market, counterparty, account, counterparty_lots, price)?;
                commit_transfer(
                    tx,
                    market,
                    trade.open_interest,
                    (counterparty, trade.actor),
                    (account, trade.counterparty),
                )?;
                tx.events.push(Event::Liquidated {
                    account,
                    market,
                    side: closing_side,
                    lots,
                    price,
                    fee: 0,
                    via: LiquidationVia::Deleverage { counterparty },
                });
                used.push(counterparty);
                remaining -= lots;
            }
            if remaining > 0 {
                tx.events.push(Event::LiquidationIncomplete {
                    account,
                    market,
                    lots: remaining,
                });
            }
            Ok(used)
        })?;
        match deleveraged {
            // A counterparty closed out at a loss it cannot carry leaves bad debt too.
            Ok(used) => used
                .into_iter()
                .try_for_each(|counterparty| self.cover_bad_debt(counterparty, ctx)),
            Err(reason) => {
                ctx.events
                    .push(Event::LiquidationRejected { account, reason });
                Ok(())
            }
        }
    }

    /// Step 4: the insurance fund pays a flat account's negative collateral.
    fn cover_bad_debt(&mut self, account: AccountId, ctx: &mut StepContext) -> Result<(), Fatal> {
        let Some(state) = self.lookup(account)? else {
            return Ok(());
        };
        if !state.positions.is_empty() || state.collateral >= 0 {
            return Ok(());
        }
        let debt = -i128::from(state.collateral);
        let covered = self.run_tx(ctx, |tx| {
            tx.credit(account, debt)?;
            tx.credit(INSURANCE_FUND, -debt)?;
            tx.events.push(Event::BadDebt {
                account,
                amount: to_quote(debt).unwrap_or(Quote::MAX),
            });
            Ok(())
        })?;
        if let Err(reason) = covered {
            ctx.events
                .push(Event::LiquidationRejected { account, reason });
        }
        Ok(())
    }

    /// Accounts the engine should liquidate now: below maintenance (a flat account with
    /// negative collateral included), with fresh prices.
    pub fn liquidatable_accounts(&self, now: u64) -> Vec<AccountId> {
        self.accounts
            .iter()
            .filter(|&(&id, account)| {
                id != INSURANCE_FUND
                    && account.positions.iter().all(|position| {
                        self.market(position.market)
                            .is_some_and(|market| market.oracle_fresh(now))
                    })
                    && Health::of(account, &self.global.markets)
                        .is_ok_and(|health| health.liquidatable())
            })
            .map(|(&id, _)| id)
            .collect()
    }

    /// Accounts holding a position opposite to `liquidated_size` in `market`, most deserving
    /// of deleveraging first: by the product of their profit on cost and their leverage
    /// (Hyperliquid's ranking), ties by account id. The insurance fund is never ranked.
    pub fn deleverage_ranking(&self, market: MarketId, liquidated_size: i64) -> Vec<AccountId> {
        let Some(market_ref) = self.market(market) else {
            return Vec::new();
        };
        let mark = market_ref.state.mark_price;
        let one = i128::from(RATE_ONE);
        let mut ranked: Vec<(i128, AccountId)> = self
            .accounts
            .iter()
            .filter(|&(&id, _)| id != INSURANCE_FUND)
            .filter_map(|(&id, account)| {
                let position = account.position(market)?;
                if position.size.signum() != -liquidated_size.signum() {
                    return None;
                }
                let profit = position.unrealized_pnl(mark).saturating_mul(one)
                    / i128::from(position.cost).abs().max(1);
                let health = Health::of(account, &self.global.markets).ok()?;
                let score = profit.saturating_mul(health.leverage().unwrap_or(0)) / one;
                Some((score, id))
            })
            .collect();
        ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked.into_iter().map(|(_, id)| id).collect()
    }

    /// The deleveraging lists a liquidation step of `account` should carry.
    pub fn deleverage_lists(&self, account: AccountId) -> DeleverageLists {
        let Some(state) = self.accounts.get(&account) else {
            return Vec::new();
        };
        state
            .positions
            .iter()
            .map(|position| {
                let mut ranking = self.deleverage_ranking(position.market, position.size);
                ranking.retain(|&id| id != account);
                (position.market, ranking)
            })
            .collect()
    }
}

/// Applies a checked position transfer (no fees) to the scratch state.
fn commit_transfer(
    tx: &mut Tx<'_>,
    market: MarketId,
    open_interest: i128,
    (first, first_account): (AccountId, Account),
    (second, second_account): (AccountId, Account),
) -> Result<(), TxError> {
    tx.put_account(first, first_account);
    tx.put_account(second, second_account);
    tx.state(market)?.open_interest =
        u64::try_from(open_interest).map_err(|_| RejectReason::ArithmeticOverflow)?;
    Ok(())
}
