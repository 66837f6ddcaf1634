//! Order entry and matching, as transaction steps.
//!
//! Matching walks the opposite side of the book from the best price, oldest order first,
//! without changing it; each fill is computed on scratch copies of both accounts and checked:
//!
//! - self-trade prevention when the maker is the taker's own order;
//! - reduce-only caps (the taker's, the maker's, and everyone's in a reduce-only market);
//! - the open-interest cap;
//! - the margin rule ([`Health::allows_fill`]) for the maker (a failing maker order is
//!   cancelled and matching goes on) and for the taker (matching stops).
//!
//! The book operations are applied when the transaction commits, so a fill-or-kill order that
//! cannot fill, or any rejection, leaves the book untouched.
//!
//! Fees: `ceil(notional * rate / 10^6)` for taker and maker alike; a negative maker rate gives
//! a rebate rounded down in size.

use alloc::vec::Vec;

use crate::action::OrderRequest;
use crate::error::{CancelReason, OrOverflow, RejectReason, TxError};
use crate::event::{Event, LiquidationVia};
use crate::exchange::{BookOp, Tx};
use crate::fixed::{Lots, MAX_LOTS, MAX_PRICE, Price, RATE_ONE, div_ceil};
use crate::margin::{Health, reduces_position};
use crate::market::{FeeSchedule, MarketConfig, MarketStatus};
use crate::order::{Execution, RestingOrder, SelfTradePrevention, Side, TimeInForce, TriggerOrder};
use crate::{AccountId, INSURANCE_FUND, MarketId, OrderId};

/// An order that trades now: a new order, a fired trigger, a modified order or a liquidation
/// step.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ActiveOrder {
    pub id: OrderId,
    pub account: AccountId,
    pub client_order_id: u64,
    pub market: MarketId,
    pub side: Side,
    pub lots: Lots,
    pub limit: Price,
    pub time_in_force: TimeInForce,
    pub reduce_only: bool,
    pub self_trade: SelfTradePrevention,
    /// A liquidation step: no margin checks for the taker, a liquidation fee on top.
    pub liquidation: bool,
}

impl ActiveOrder {
    /// The order a fired trigger becomes.
    pub fn triggered(market: MarketId, order: &TriggerOrder) -> Self {
        let (limit, time_in_force) = order.execution.limit();
        Self {
            id: order.id,
            account: order.account,
            client_order_id: order.client_order_id,
            market,
            side: order.side,
            lots: order.lots,
            limit,
            time_in_force,
            reduce_only: order.reduce_only,
            self_trade: order.self_trade,
            liquidation: false,
        }
    }
}

/// How one attempted fill ended.
enum Fill {
    Done,
    MakerRefused(CancelReason),
    TakerRefused(CancelReason),
}

fn check_lots(config: &MarketConfig, lots: Lots) -> Result<(), RejectReason> {
    if lots == 0 || lots < config.min_order_lots {
        return Err(RejectReason::BelowMinimumSize);
    }
    if lots > MAX_LOTS {
        return Err(RejectReason::SizeTooLarge);
    }
    Ok(())
}

fn check_price(config: &MarketConfig, price: Price, on_tick: bool) -> Result<(), RejectReason> {
    if price == 0 || price > MAX_PRICE {
        return Err(RejectReason::PriceOutOfRange);
    }
    if on_tick && !config.price_on_tick(price) {
        return Err(RejectReason::PriceNotOnTick);
    }
    Ok(())
}

/// The fee on `notional` at `rate` millionths, rounded up (a rebate rounds down in size).
fn fee(notional: i128, rate: i32) -> i128 {
    div_ceil(notional * i128::from(rate), i128::from(RATE_ONE))
}

impl Tx<'_> {
    /// Open orders of `account` in all markets.
    fn open_orders(&self, account: AccountId) -> usize {
        self.ex
            .global
            .markets
            .iter()
            .map(|market| market.book.open_orders_of(account))
            .sum()
    }

    /// A new order: validated, accepted, then stored (trigger) or executed.
    pub(crate) fn place(
        &mut self,
        account: AccountId,
        request: &OrderRequest,
    ) -> Result<(), TxError> {
        let market = self.market(request.market)?;
        match market.state.status {
            MarketStatus::Halted => return Err(RejectReason::MarketHalted.into()),
            MarketStatus::ReduceOnly if !request.reduce_only => {
                return Err(RejectReason::MarketReduceOnly.into());
            }
            _ => {}
        }
        let config = &market.config;
        check_lots(config, request.lots)?;
        let (limit, time_in_force) = request.execution.limit();
        let is_limit = matches!(request.execution, Execution::Limit { .. });
        check_price(config, limit, is_limit)?;
        if let Some(trigger) = request.trigger {
            check_price(config, trigger.price, false)?;
        }
        if market.state.index_price == 0 {
            return Err(RejectReason::NoOraclePrice.into());
        }
        let may_rest = request.trigger.is_some()
            || matches!(
                time_in_force,
                TimeInForce::GoodTillCancel | TimeInForce::PostOnly
            );
        let max_open = usize::try_from(self.ex.global.config.max_open_orders).unwrap_or(usize::MAX);
        if may_rest && self.open_orders(account) >= max_open {
            return Err(RejectReason::TooManyOpenOrders.into());
        }
        if request.client_order_id != 0
            && market
                .book
                .order_by_client_id(account, request.client_order_id)
                .is_some()
        {
            return Err(RejectReason::DuplicateClientOrderId.into());
        }
        let id = self.allocate_order_id();
        self.events.push(Event::OrderAccepted {
            market: request.market,
            account,
            order_id: id,
            client_order_id: request.client_order_id,
            side: request.side,
            lots: request.lots,
            price: limit,
        });
        if let Some(trigger) = request.trigger {
            let order = TriggerOrder {
                id,
                account,
                client_order_id: request.client_order_id,
                side: request.side,
                lots: request.lots,
                reduce_only: request.reduce_only,
                self_trade: request.self_trade,
                trigger,
                execution: request.execution,
            };
            self.ops.push(BookOp::InsertTrigger {
                market: request.market,
                order,
            });
            return Ok(());
        }
        self.activate(&ActiveOrder {
            id,
            account,
            client_order_id: request.client_order_id,
            market: request.market,
            side: request.side,
            lots: request.lots,
            limit,
            time_in_force,
            reduce_only: request.reduce_only,
            self_trade: request.self_trade,
            liquidation: false,
        })
    }

    /// Checks an order that trades now against the account and the book (oracle freshness,
    /// reduce-only, post-only, initial margin if it may add risk), then matches it.
    pub(crate) fn activate(&mut self, order: &ActiveOrder) -> Result<(), TxError> {
        let market = self.market(order.market)?;
        if market.state.status == MarketStatus::Halted {
            return Err(RejectReason::MarketHalted.into());
        }
        let reduce_only = order.reduce_only || market.state.status == MarketStatus::ReduceOnly;
        if !reduce_only && !market.oracle_fresh(self.now) {
            return Err(RejectReason::StaleOraclePrice.into());
        }
        self.settle(order.account, order.market)?;
        let account = self.account(order.account)?;
        let size = account.size(order.market);
        if reduce_only && account.reducible(order.market, order.side.sign()) == 0 {
            return Err(RejectReason::ReduceOnlyWouldIncrease.into());
        }
        if order.time_in_force == TimeInForce::PostOnly
            && market
                .book
                .best(order.side.opposite())
                .is_some_and(|best| order.side.crosses(order.limit, best))
        {
            return Err(RejectReason::PostOnlyWouldCross.into());
        }
        let lots = i64::try_from(order.lots).or_overflow()?;
        let after_full_fill = size.checked_add(order.side.sign() * lots).or_overflow()?;
        if !reduce_only && !reduces_position(size, after_full_fill) {
            // Filled completely at the limit (or at the mark, if worse), with the taker fee:
            // still above the initial requirement?
            let mark = market.state.mark_price;
            let price = match order.side {
                Side::Buy => order.limit.max(mark),
                Side::Sell => order.limit.min(mark),
            };
            let mut what_if = self.account(order.account)?.clone();
            what_if.apply_fill(
                order.market,
                order.side.sign() * lots,
                price,
                market.state.funding_index,
            )?;
            let notional = i128::from(price) * i128::from(order.lots);
            what_if.collateral = what_if
                .collateral
                .checked_sub(
                    i64::try_from(fee(notional, market.config.fees.taker_rate)).or_overflow()?,
                )
                .or_overflow()?;
            if !self.health(&what_if)?.meets_initial() {
                return Err(RejectReason::InsufficientMargin.into());
            }
        }
        self.execute(order).map(|_| ())
    }

    /// Matches `order` against the book; the rest rests, is cancelled, or (fill-or-kill)
    /// rejects the whole transaction. Returns the lots filled.
    pub(crate) fn execute(&mut self, order: &ActiveOrder) -> Result<Lots, TxError> {
        let market = self.market(order.market)?;
        let reduce_only_market = market.state.status == MarketStatus::ReduceOnly;
        let taker_reduce_only = order.reduce_only || reduce_only_market;
        let mut remaining = order.lots;
        let mut stopped = None;
        let mut last_price = None;
        for maker in market.book.makers(order.side) {
            if remaining == 0 || !order.side.crosses(order.limit, maker.price) {
                break;
            }
            if maker.account == order.account {
                let (expire_maker, expire_taker) = match order.self_trade {
                    SelfTradePrevention::ExpireMaker => (true, false),
                    SelfTradePrevention::ExpireTaker => (false, true),
                    SelfTradePrevention::ExpireBoth => (true, true),
                };
                if expire_maker {
                    self.cancel_resting(order.market, maker, maker.lots, CancelReason::SelfTrade);
                }
                if expire_taker {
                    stopped = Some(CancelReason::SelfTrade);
                    break;
                }
                continue;
            }
            let mut lots = remaining.min(maker.lots);
            let mut taker_cap = None;
            if taker_reduce_only {
                let cap = self
                    .account(order.account)?
                    .reducible(order.market, order.side.sign());
                if cap == 0 {
                    stopped = Some(CancelReason::ReduceOnly);
                    break;
                }
                taker_cap = Some(cap);
                lots = lots.min(cap);
            }
            let mut maker_cap = None;
            if maker.reduce_only || reduce_only_market {
                let cap = self
                    .account(maker.account)?
                    .reducible(order.market, maker.side.sign());
                if cap == 0 {
                    self.cancel_resting(order.market, maker, maker.lots, CancelReason::ReduceOnly);
                    continue;
                }
                maker_cap = Some(cap);
                lots = lots.min(cap);
            }
            match self.fill(order, maker, lots, &market.config.fees)? {
                Fill::Done => {
                    remaining -= lots;
                    last_price = Some(maker.price);
                    // A reduce-only taker whose position this fill closed stops here.
                    if taker_cap == Some(lots) && remaining > 0 {
                        stopped = Some(CancelReason::ReduceOnly);
                    }
                    // A reduce-only maker whose position this fill closed cannot fill again.
                    if maker_cap == Some(lots) && lots < maker.lots {
                        self.cancel_resting(
                            order.market,
                            maker,
                            maker.lots - lots,
                            CancelReason::ReduceOnly,
                        );
                    }
                }
                Fill::MakerRefused(reason) => {
                    self.cancel_resting(order.market, maker, maker.lots, reason)
                }
                Fill::TakerRefused(reason) => stopped = Some(reason),
            }
            if stopped.is_some() {
                break;
            }
        }
        if remaining > 0 && order.time_in_force == TimeInForce::FillOrKill {
            return Err(RejectReason::FillOrKillNotFilled.into());
        }
        if let Some(price) = last_price {
            self.state(order.market)?.last_trade_price = price;
        }
        if remaining > 0 {
            let rests = matches!(
                order.time_in_force,
                TimeInForce::GoodTillCancel | TimeInForce::PostOnly
            );
            match stopped {
                None if rests => self.ops.push(BookOp::Insert {
                    market: order.market,
                    order: RestingOrder {
                        id: order.id,
                        account: order.account,
                        client_order_id: order.client_order_id,
                        side: order.side,
                        price: order.limit,
                        lots: remaining,
                        reduce_only: order.reduce_only,
                        post_only: order.time_in_force == TimeInForce::PostOnly,
                        self_trade: order.self_trade,
                    },
                }),
                _ => self.events.push(Event::Cancelled {
                    market: order.market,
                    account: order.account,
                    order_id: order.id,
                    lots: remaining,
                    reason: stopped.unwrap_or(CancelReason::Unfilled),
                }),
            }
        }
        Ok(order.lots - remaining)
    }

    /// One fill between the taker and a resting order, if both sides pass their checks.
    fn fill(
        &mut self,
        order: &ActiveOrder,
        maker: &RestingOrder,
        lots: Lots,
        fees: &FeeSchedule,
    ) -> Result<Fill, TxError> {
        let market_id = order.market;
        let price = maker.price;
        let notional = i128::from(price) * i128::from(lots);
        let taker_fee = fee(notional, fees.taker_rate);
        let maker_fee = fee(notional, fees.maker_rate);
        let signed_lots = i64::try_from(lots).or_overflow()? * order.side.sign();
        let trade =
            self.prepare_trade(market_id, order.account, maker.account, signed_lots, price)?;
        let (mut taker, mut maker_account) = (trade.actor, trade.counterparty);
        taker.collateral = to_i64(i128::from(taker.collateral) - taker_fee)?;
        maker_account.collateral = to_i64(i128::from(maker_account.collateral) - maker_fee)?;
        let cap = i128::from(self.market(market_id)?.config.open_interest_cap);
        let open_interest_before = i128::from(self.state(market_id)?.open_interest);
        if trade.open_interest > cap && trade.open_interest > open_interest_before {
            return Ok(Fill::TakerRefused(CancelReason::OpenInterestCap));
        }
        let maker_before = self.account_health(maker.account)?;
        let maker_after = self.health(&maker_account)?;
        if !Health::allows_fill(
            &maker_before,
            &maker_after,
            trade.counterparty_change.reduces(),
        ) {
            return Ok(Fill::MakerRefused(CancelReason::InsufficientMargin));
        }
        let mut liquidation_fee = 0;
        if order.liquidation {
            let after = self.health(&taker)?;
            let nominal = div_ceil(
                notional * i128::from(fees.liquidation_rate),
                i128::from(RATE_ONE),
            );
            liquidation_fee = nominal.min(after.value.max(0));
            taker.collateral = to_i64(i128::from(taker.collateral) - liquidation_fee)?;
        } else {
            let taker_before = self.account_health(order.account)?;
            let taker_after = self.health(&taker)?;
            if !Health::allows_fill(&taker_before, &taker_after, trade.actor_change.reduces()) {
                return Ok(Fill::TakerRefused(CancelReason::InsufficientMargin));
            }
        }
        self.put_account(order.account, taker);
        self.put_account(maker.account, maker_account);
        if liquidation_fee > 0 {
            self.credit(INSURANCE_FUND, liquidation_fee)?;
        }
        self.state(market_id)?.open_interest = u64::try_from(trade.open_interest).or_overflow()?;
        self.fees += taker_fee + maker_fee;
        self.ops.push(BookOp::Fill {
            market: market_id,
            order_id: maker.id,
            lots,
        });
        let taker_fee = to_i64(taker_fee)?;
        self.events.push(Event::Filled {
            market: market_id,
            price,
            lots,
            taker_side: order.side,
            taker_account: order.account,
            taker_order: order.id,
            taker_fee,
            maker_account: maker.account,
            maker_order: maker.id,
            maker_fee: to_i64(maker_fee)?,
        });
        if order.liquidation {
            self.events.push(Event::Liquidated {
                account: order.account,
                market: market_id,
                side: order.side,
                lots,
                price,
                fee: to_i64(liquidation_fee)?,
                via: LiquidationVia::Book {
                    maker_account: maker.account,
                    maker_order: maker.id,
                },
            });
        }
        Ok(Fill::Done)
    }

    /// Cancels a resting order (its `lots` still open) when the transaction commits.
    pub(crate) fn cancel_resting(
        &mut self,
        market: MarketId,
        order: &RestingOrder,
        lots: Lots,
        reason: CancelReason,
    ) {
        self.ops.push(BookOp::Remove {
            market,
            order_id: order.id,
        });
        self.events.push(Event::Cancelled {
            market,
            account: order.account,
            order_id: order.id,
            lots,
            reason,
        });
    }

    /// Cancels one of the account's open orders (resting or trigger).
    pub(crate) fn cancel(
        &mut self,
        account: AccountId,
        market_id: MarketId,
        order_id: OrderId,
    ) -> Result<(), TxError> {
        self.cancel_with(account, market_id, order_id, CancelReason::Requested)
    }

    pub(crate) fn cancel_with(
        &mut self,
        account: AccountId,
        market_id: MarketId,
        order_id: OrderId,
        reason: CancelReason,
    ) -> Result<(), TxError> {
        let book = &self.market(market_id)?.book;
        if let Some(order) = book
            .resting(order_id)
            .filter(|order| order.account == account)
        {
            self.cancel_resting(market_id, order, order.lots, reason);
            return Ok(());
        }
        if let Some(order) = book
            .trigger_order(order_id)
            .filter(|order| order.account == account)
        {
            self.ops.push(BookOp::RemoveTrigger {
                market: market_id,
                order_id,
            });
            self.events.push(Event::Cancelled {
                market: market_id,
                account,
                order_id,
                lots: order.lots,
                reason,
            });
            return Ok(());
        }
        Err(RejectReason::UnknownOrder.into())
    }

    /// Cancels every open order of the account in `market`, or in all markets.
    pub(crate) fn cancel_all(
        &mut self,
        account: AccountId,
        market: Option<MarketId>,
    ) -> Result<(), TxError> {
        self.cancel_all_with(account, market, CancelReason::Requested)
    }

    pub(crate) fn cancel_all_with(
        &mut self,
        account: AccountId,
        market: Option<MarketId>,
        reason: CancelReason,
    ) -> Result<(), TxError> {
        let markets: Vec<MarketId> = match market {
            Some(market) => {
                self.market(market)?;
                alloc::vec![market]
            }
            None => (0..self.ex.global.markets.len())
                .filter_map(|index| MarketId::try_from(index).ok())
                .collect(),
        };
        for market in markets {
            for order_id in self.market(market)?.book.order_ids_of(account) {
                self.cancel_with(account, market, order_id, reason)?;
            }
        }
        Ok(())
    }

    /// Changes a resting order's price and size.
    pub(crate) fn modify(
        &mut self,
        account: AccountId,
        market_id: MarketId,
        order_id: OrderId,
        price: Price,
        lots: Lots,
    ) -> Result<(), TxError> {
        let market = self.market(market_id)?;
        let order = *market
            .book
            .resting(order_id)
            .filter(|order| order.account == account)
            .ok_or(RejectReason::UnknownOrder)?;
        if market.state.status == MarketStatus::Halted {
            return Err(RejectReason::MarketHalted.into());
        }
        check_lots(&market.config, lots)?;
        check_price(&market.config, price, true)?;
        if price == order.price && lots == order.lots {
            return Err(RejectReason::NothingToModify.into());
        }
        if price == order.price && lots < order.lots {
            self.ops.push(BookOp::Fill {
                market: market_id,
                order_id,
                lots: order.lots - lots,
            });
            self.events.push(Event::OrderModified {
                market: market_id,
                account,
                order_id,
                price,
                lots,
                kept_priority: true,
            });
            return Ok(());
        }
        self.ops.push(BookOp::Remove {
            market: market_id,
            order_id,
        });
        self.events.push(Event::OrderModified {
            market: market_id,
            account,
            order_id,
            price,
            lots,
            kept_priority: false,
        });
        self.activate(&ActiveOrder {
            id: order_id,
            account,
            client_order_id: order.client_order_id,
            market: market_id,
            side: order.side,
            lots,
            limit: price,
            time_in_force: if order.post_only {
                TimeInForce::PostOnly
            } else {
                TimeInForce::GoodTillCancel
            },
            reduce_only: order.reduce_only,
            self_trade: order.self_trade,
            liquidation: false,
        })
    }

    /// Withdraws free collateral (never more than the settled collateral: unrealized gains
    /// stay until realized).
    pub(crate) fn withdraw(&mut self, account: AccountId, amount: u64) -> Result<(), TxError> {
        if amount == 0 {
            return Err(RejectReason::ZeroAmount.into());
        }
        self.settle_all(account)?;
        let scratch = self.account(account)?.clone();
        for position in &scratch.positions {
            if !self.market(position.market)?.oracle_fresh(self.now) {
                return Err(RejectReason::StaleOraclePrice.into());
            }
        }
        let health = self.health(&scratch)?;
        let amount_wide = i128::from(amount);
        if amount_wide > i128::from(scratch.collateral) || amount_wide > health.free_collateral() {
            return Err(RejectReason::InsufficientFreeCollateral.into());
        }
        self.credit(account, -amount_wide)?;
        self.withdrawn += amount_wide;
        self.events.push(Event::Withdrawn { account, amount });
        Ok(())
    }
}

fn to_i64(value: i128) -> Result<i64, RejectReason> {
    i64::try_from(value).ok().or_overflow()
}
