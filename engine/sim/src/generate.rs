//! Random batches from a seed: a market maker quoting ladders around each market's index,
//! traders with modest collateral placing every kind of order, cancelling and modifying
//! them, moving collateral in and out and handing trading to session keys; the index walking
//! with occasional shocks, so that positions go under water and get liquidated (into the
//! book, onto the insurance fund, deleveraged), and the clock jumping over funding hours.
//!
//! Actions are drawn blind, as real traders send them: some are refused (an order the margin
//! rules reject, a fill-or-kill that cannot fill), which the ledger records as ticks.

use gnomon_core::action::{Action, AdminAction, OrderRequest};
use gnomon_core::batch::SealedBatch;
use gnomon_core::event::{Event, LiquidationVia};
use gnomon_core::fixed::{HOUR_MS, Price};
use gnomon_core::market::MarketStatus;
use gnomon_core::order::{Execution, SelfTradePrevention, Side, TimeInForce, Trigger, TriggerKind};
use gnomon_core::{AccountId, MarketId};

use crate::{Rng, Sim, USDC, unit_market, usdc};

/// The shape of a generated exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Profile {
    pub markets: u16,
    /// Traders opened before the first batch (more arrive through deposits).
    pub traders: u32,
    /// Each trader's first deposit, USDC.
    pub trader_usdc: i64,
    /// Levels the market maker quotes on each side of each market.
    pub maker_levels: u64,
}

impl Default for Profile {
    fn default() -> Self {
        Self {
            markets: 2,
            traders: 12,
            trader_usdc: 400,
            maker_levels: 5,
        }
    }
}

/// What the generated steps did, counted from their events: what a test over generated
/// batches can check it exercised.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    pub fills: u64,
    pub triggers: u64,
    pub book_liquidations: u64,
    pub backstops: u64,
    pub deleverages: u64,
    pub bad_debts: u64,
    pub funding_hours: u64,
    pub deposits: u64,
    pub withdrawals: u64,
    pub session_keys: u64,
    pub market_status_changes: u64,
    /// Trader actions refused (recorded as ticks).
    pub refused_actions: u64,
}

impl Coverage {
    fn note(&mut self, event: &Event) {
        match event {
            Event::Filled { .. } => self.fills += 1,
            Event::Triggered { .. } => self.triggers += 1,
            Event::Liquidated { via, .. } => match via {
                LiquidationVia::Book { .. } => self.book_liquidations += 1,
                LiquidationVia::Backstop => self.backstops += 1,
                LiquidationVia::Deleverage { .. } => self.deleverages += 1,
            },
            Event::BadDebt { .. } => self.bad_debts += 1,
            Event::FundingRate { hours, .. } => self.funding_hours += hours,
            Event::Deposited { .. } => self.deposits += 1,
            Event::Withdrawn { .. } => self.withdrawals += 1,
            Event::SessionKeySet { .. } => self.session_keys += 1,
            Event::MarketStatusChanged { .. } => self.market_status_changes += 1,
            Event::ActionRejected { .. } => self.refused_actions += 1,
            _ => {}
        }
    }
}

/// Where key seeds of generated traders start (the named scenarios use small seeds).
const TRADER_SEEDS: u32 = 10_000;
/// Distance between the maker's levels, quote atoms (0.5 USDC).
const LEVEL_STEP: Price = 500_000;

/// A generated exchange that produces batches.
#[derive(Clone, Debug)]
pub struct Generator {
    sim: Sim,
    rng: Rng,
    profile: Profile,
    maker: AccountId,
    traders: Vec<AccountId>,
    /// Each market's index price.
    index: Vec<Price>,
    next_seed: u32,
    /// Steps the open batch may still take.
    budget: usize,
    coverage: Coverage,
}

impl Generator {
    /// An exchange set up from `seed`: insurance fund, maker, traders, first prices and
    /// quotes. The setup steps open the first batch.
    pub fn new(seed: u64, profile: Profile) -> Self {
        let markets = (0..profile.markets).map(|_| unit_market()).collect();
        let mut sim = Sim::new(markets);
        // A thin fund: big moves exhaust it, and deleveraging follows.
        sim.fund_insurance(50);
        let maker = sim.trader(TRADER_SEEDS, 10_000_000);
        let mut generator = Self {
            sim,
            rng: Rng::new(seed),
            profile,
            maker,
            traders: Vec::new(),
            index: vec![usdc(100); usize::from(profile.markets)],
            next_seed: TRADER_SEEDS + 1,
            budget: usize::MAX,
            coverage: Coverage::default(),
        };
        for _ in 0..profile.traders {
            generator.open_trader();
        }
        for market in 0..profile.markets {
            generator.sim.oracle(market, usdc(100));
            generator.requote(market);
        }
        generator
    }

    /// The exchange.
    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    /// What the steps so far did.
    pub fn coverage(&self) -> Coverage {
        self.coverage
    }

    fn note(&mut self, events: &[Event]) {
        for event in events {
            self.coverage.note(event);
        }
    }

    /// Adds random steps until the open batch holds `steps` of them (or a little more when
    /// the open batch already holds more, e.g. the setup), then seals it.
    pub fn batch(&mut self, steps: usize) -> SealedBatch {
        self.budget = steps.saturating_sub(self.sim.ledger.pending_steps().len());
        while self.budget > 0 {
            self.random_op();
        }
        self.sim.seal()
    }

    fn spend(&mut self, steps: usize) -> bool {
        if self.budget >= steps {
            self.budget -= steps;
            true
        } else {
            false
        }
    }

    fn open_trader(&mut self) {
        let seed = self.next_seed;
        self.next_seed += 1;
        let account = self.sim.trader(seed, self.profile.trader_usdc);
        self.coverage.deposits += 1;
        self.traders.push(account);
    }

    /// The maker's ladder around the index: cancel everything in the market, then
    /// `maker_levels` levels a side.
    fn requote(&mut self, market: MarketId) {
        let maker = self.maker;
        let events = self.sim.act(
            maker,
            Action::CancelAll {
                market: Some(market),
            },
        );
        self.note(&events);
        let tick = unit_market().tick_size;
        let center = self.index[usize::from(market)] / tick * tick;
        for level in 1..=self.profile.maker_levels {
            for side in [Side::Buy, Side::Sell] {
                let price = match side {
                    Side::Buy => center.saturating_sub(level * LEVEL_STEP).max(tick),
                    Side::Sell => center + level * LEVEL_STEP,
                };
                let lots = 10 + self.rng.below(30);
                let events = self.sim.order(
                    maker,
                    crate::limit(market, side, lots, price, TimeInForce::GoodTillCancel),
                );
                self.note(&events);
            }
        }
    }

    fn requote_steps(&self) -> usize {
        1 + 2 * self.profile.maker_levels as usize
    }

    fn random_market(&mut self) -> MarketId {
        self.rng.below(u64::from(self.profile.markets)) as MarketId
    }

    fn random_trader(&mut self) -> AccountId {
        *self.rng.pick(&self.traders).expect("traders")
    }

    fn random_side(&mut self) -> Side {
        if self.rng.chance(50) {
            Side::Buy
        } else {
            Side::Sell
        }
    }

    /// A price `ticks` half-USDC levels from the index (clamped above zero).
    fn near(&self, market: MarketId, levels: i64) -> Price {
        let tick = unit_market().tick_size as i64;
        let index = self.index[usize::from(market)] as i64 / tick * tick;
        (index + levels * LEVEL_STEP as i64).max(tick) as Price
    }

    /// An order: two in five take liquidity (market orders, or limits through the touch),
    /// the others rest around the index; some wait for a trigger.
    fn random_request(&mut self, market: MarketId) -> OrderRequest {
        let side = self.random_side();
        let lots = 1 + self.rng.below(25);
        let toward = match side {
            Side::Buy => 1,
            Side::Sell => -1,
        };
        let execution = if self.rng.chance(15) {
            let slippage = 1 + self.rng.below(6) as i64;
            Execution::Market {
                worst_price: self.near(market, toward * slippage),
            }
        } else {
            let time_in_force = *self
                .rng
                .pick(&[
                    TimeInForce::GoodTillCancel,
                    TimeInForce::GoodTillCancel,
                    TimeInForce::ImmediateOrCancel,
                    TimeInForce::FillOrKill,
                    TimeInForce::PostOnly,
                ])
                .expect("non-empty");
            let levels = if self.rng.chance(30) {
                self.rng.between(1, 4) as i64
            } else {
                -(self.rng.between(0, 6) as i64)
            };
            Execution::Limit {
                price: self.near(market, toward * levels),
                time_in_force,
            }
        };
        let trigger = if self.rng.chance(10) {
            let kind = if self.rng.chance(50) {
                TriggerKind::StopLoss
            } else {
                TriggerKind::TakeProfit
            };
            let levels = self.rng.between(0, 8) as i64 - 4;
            Some(Trigger {
                kind,
                price: self.near(market, levels),
            })
        } else {
            None
        };
        OrderRequest {
            market,
            side,
            lots,
            execution,
            trigger,
            reduce_only: self.rng.chance(10),
            client_order_id: if self.rng.chance(30) {
                1 + self.rng.below(1_000)
            } else {
                0
            },
            self_trade: *self
                .rng
                .pick(&[
                    SelfTradePrevention::ExpireMaker,
                    SelfTradePrevention::ExpireTaker,
                    SelfTradePrevention::ExpireBoth,
                ])
                .expect("non-empty"),
        }
    }

    fn random_op(&mut self) {
        let roll = self.rng.below(100);
        match roll {
            0..=34 => {
                if self.spend(1) {
                    let trader = self.random_trader();
                    let market = self.random_market();
                    let request = self.random_request(market);
                    let events = self.sim.order(trader, request);
                    self.note(&events);
                }
            }
            35..=44 => self.cancel_or_modify(true),
            45..=52 => self.cancel_or_modify(false),
            53..=55 => {
                if self.spend(1) {
                    let trader = self.random_trader();
                    let market = self.rng.chance(50).then(|| self.random_market());
                    let events = self.sim.act(trader, Action::CancelAll { market });
                    self.note(&events);
                }
            }
            56..=59 => {
                if self.spend(1) {
                    let trader = self.random_trader();
                    let amount = (1 + self.rng.below(200)) * USDC as u64;
                    let events = self.sim.act(trader, Action::Withdraw { amount });
                    self.note(&events);
                }
            }
            60..=63 => {
                if self.spend(1) {
                    let trader = self.random_trader();
                    let atoms = (1 + self.rng.below(300) as i64) * USDC;
                    self.sim.deposit(trader, atoms);
                    self.coverage.deposits += 1;
                }
            }
            64 => {
                if self.spend(1) {
                    self.open_trader();
                }
            }
            65..=66 => {
                if self.spend(1) {
                    let trader = self.random_trader();
                    let seed = self.next_seed;
                    self.next_seed += 1;
                    let expires = self.sim.now + self.rng.between(1, 4) * HOUR_MS;
                    self.sim.set_session(trader, seed, expires);
                    self.coverage.session_keys += 1;
                }
            }
            67 => self.toggle_market_status(),
            68..=69 => {
                if self.spend(1) {
                    self.sim.advance(self.rng.below(3_000));
                    let events = self.sim.tick();
                    self.note(&events);
                }
            }
            70..=89 => self.move_price(),
            _ => self.jump_time(),
        }
        self.sim.advance(self.rng.between(10, 800));
    }

    /// Cancels or modifies an open order of a random trader who has one (by client id one
    /// time in five); places an order when nobody has one.
    fn cancel_or_modify(&mut self, cancel: bool) {
        if !self.spend(1) {
            return;
        }
        let market = self.random_market();
        let Some(book) = self
            .sim
            .exchange()
            .market(market)
            .map(|market| &market.book)
        else {
            return;
        };
        let owners: Vec<(AccountId, u64)> = self
            .traders
            .iter()
            .filter_map(|&trader| {
                let orders = book.order_ids_of(trader);
                orders.first().map(|_| (trader, orders.len() as u64))
            })
            .collect();
        let Some(&(trader, count)) = self.rng.pick(&owners) else {
            let trader = self.random_trader();
            let request = self.random_request(market);
            let events = self.sim.order(trader, request);
            return self.note(&events);
        };
        let order_id = book.order_ids_of(trader)[self.rng.below(count) as usize];
        let client_order_id = book
            .resting(order_id)
            .map(|order| order.client_order_id)
            .or_else(|| {
                book.trigger_order(order_id)
                    .map(|order| order.client_order_id)
            })
            .unwrap_or(0);
        let action = if cancel {
            if client_order_id != 0 && self.rng.chance(20) {
                Action::CancelByClientId {
                    market,
                    client_order_id,
                }
            } else {
                Action::Cancel { market, order_id }
            }
        } else {
            let levels = self.rng.between(0, 12) as i64 - 6;
            Action::Modify {
                market,
                order_id,
                price: self.near(market, levels),
                lots: 1 + self.rng.below(25),
            }
        };
        let events = self.sim.act(trader, action);
        self.note(&events);
    }

    /// Puts a market in reduce-only, lets one trader try to close in it, and reopens it.
    fn toggle_market_status(&mut self) {
        if !self.spend(3) {
            return self.spend_rest();
        }
        let market = self.random_market();
        for status in [MarketStatus::ReduceOnly, MarketStatus::Active] {
            let events = self
                .sim
                .admin(AdminAction::SetMarketStatus { market, status });
            self.note(&events);
            if status == MarketStatus::ReduceOnly {
                let trader = self.random_trader();
                let mut request = self.random_request(market);
                request.reduce_only = true;
                let events = self.sim.order(trader, request);
                self.note(&events);
            }
        }
    }

    /// The index moves (one time in twenty a crash or squeeze of 20%, one in eight a shock of
    /// up to 15%), the maker requotes, and the engine liquidates whoever fell below
    /// maintenance.
    fn move_price(&mut self) {
        if !self.spend(1 + self.requote_steps()) {
            return self.spend_rest();
        }
        let market = self.random_market();
        let permille = if self.rng.chance(5) {
            // A crash or a squeeze (the oracle guard clamps it to 20%).
            if self.rng.chance(50) { -300 } else { 300 }
        } else if self.rng.chance(12) {
            self.rng.between(0, 300) as i64 - 150
        } else {
            self.rng.between(0, 30) as i64 - 15
        };
        let index = &mut self.index[usize::from(market)];
        *index = (*index as i64 + *index as i64 * permille / 1_000)
            .clamp(usdc(40) as i64, usdc(250) as i64) as Price;
        let price = *index;
        let events = self.sim.oracle(market, price);
        self.note(&events);
        self.requote(market);
        self.liquidate_all();
    }

    fn liquidate_all(&mut self) {
        for account in self.sim.exchange().liquidatable_accounts(self.sim.now) {
            if !self.spend(1) {
                return;
            }
            let events = self.sim.liquidate(account);
            self.note(&events);
        }
    }

    /// Up to 40 minutes pass (funding hours with them) and the oracle catches up in every
    /// market.
    fn jump_time(&mut self) {
        if !self.spend(usize::from(self.profile.markets)) {
            return self.spend_rest();
        }
        self.sim.advance(self.rng.below(40 * 60_000));
        for market in 0..self.profile.markets {
            let price = self.index[usize::from(market)];
            let events = self.sim.oracle(market, price);
            self.note(&events);
        }
    }

    /// Fills what is left of the budget with single-step actions (cancels of nothing are
    /// refused, and recorded as ticks).
    fn spend_rest(&mut self) {
        while self.budget > 0 {
            self.cancel_or_modify(true);
        }
    }
}
