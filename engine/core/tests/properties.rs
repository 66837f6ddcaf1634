//! Property tests over random sequences of signed actions, oracle moves, time jumps,
//! deposits and liquidations. After every step:
//!
//! - conservation of collateral (the balance sheet balances);
//! - the book is never crossed;
//! - price-time priority: the resting orders a step trades with (or expires while matching)
//!   are a prefix of each side's priority order before the step;
//! - no negative collateral on a flat account except the insurance fund's recorded bad debt;
//! - positions net to zero and open interest is the long side;
//! - the funding pool never holds less than it owes, and holds less than one atom of residue
//!   right after a sweep;
//! - a rejected action or liquidation leaves the state exactly as it was.
//!
//! At the end the guest's replay of the batch from witnesses equals the engine's output.

use std::collections::BTreeSet;

use gnomon_core::INSURANCE_FUND;
use gnomon_core::OrderId;
use gnomon_core::account::Account;
use gnomon_core::action::{Action, Ed25519Verifier, OrderRequest};
use gnomon_core::batch::verify_batch;
use gnomon_core::error::CancelReason;
use gnomon_core::event::Event;
use gnomon_core::exchange::{Exchange, GlobalState};
use gnomon_core::fixed::{FUNDING_ONE, HOUR_MS};
use gnomon_core::hash::NativePoseidon2;
use gnomon_core::order::{Execution, SelfTradePrevention, Side, TimeInForce, Trigger, TriggerKind};
use gnomon_core::sha256::SoftSha256;
use gnomon_sim::*;
use proptest::prelude::*;

const TRADERS: u8 = 5;

#[derive(Clone, Debug)]
enum Op {
    Limit {
        trader: u8,
        buy: bool,
        lots: u8,
        offset: i8,
        tif: u8,
        reduce_only: bool,
        stp: u8,
    },
    Market {
        trader: u8,
        buy: bool,
        lots: u8,
        slippage: u8,
    },
    Trigger {
        trader: u8,
        buy: bool,
        lots: u8,
        offset: i8,
        take_profit: bool,
        market: bool,
    },
    Cancel {
        trader: u8,
        pick: u8,
    },
    CancelAll {
        trader: u8,
    },
    Modify {
        trader: u8,
        pick: u8,
        offset: i8,
        lots: u8,
    },
    Withdraw {
        trader: u8,
        usdc: u16,
    },
    Deposit {
        trader: u8,
        usdc: u16,
    },
    Oracle {
        move_permille: i16,
    },
    Advance {
        ms: u32,
    },
    Liquidate {
        trader: u8,
    },
    LiquidateAll,
}

fn op() -> impl Strategy<Value = Op> {
    let trader = 0..TRADERS;
    prop_oneof![
        6 => (trader.clone(), any::<bool>(), 1..40u8, -20..20i8, 0..4u8, prop::bool::weighted(0.15), 0..3u8)
            .prop_map(|(trader, buy, lots, offset, tif, reduce_only, stp)| Op::Limit { trader, buy, lots, offset, tif, reduce_only, stp }),
        2 => (trader.clone(), any::<bool>(), 1..40u8, 0..20u8).prop_map(|(trader, buy, lots, slippage)| Op::Market { trader, buy, lots, slippage }),
        1 => (trader.clone(), any::<bool>(), 1..40u8, -20..20i8, any::<bool>(), any::<bool>())
            .prop_map(|(trader, buy, lots, offset, take_profit, market)| Op::Trigger { trader, buy, lots, offset, take_profit, market }),
        2 => (trader.clone(), any::<u8>()).prop_map(|(trader, pick)| Op::Cancel { trader, pick }),
        1 => trader.clone().prop_map(|trader| Op::CancelAll { trader }),
        2 => (trader.clone(), any::<u8>(), -20..20i8, 1..40u8).prop_map(|(trader, pick, offset, lots)| Op::Modify { trader, pick, offset, lots }),
        1 => (trader.clone(), 0..3_000u16).prop_map(|(trader, usdc)| Op::Withdraw { trader, usdc }),
        1 => (trader.clone(), 0..3_000u16).prop_map(|(trader, usdc)| Op::Deposit { trader, usdc }),
        3 => (-150..150i16).prop_map(|move_permille| Op::Oracle { move_permille }),
        1 => (0..2 * HOUR_MS as u32).prop_map(|ms| Op::Advance { ms }),
        1 => trader.clone().prop_map(|trader| Op::Liquidate { trader }),
        1 => Just(Op::LiquidateAll),
    ]
}

/// Price of an offset in half-USDC steps from 100.
fn price(offset: i8) -> u64 {
    (100_000_000i64 + i64::from(offset) * 500_000) as u64
}

struct World {
    h: Sim,
    traders: Vec<u32>,
    market_maker: u32,
    index: u64,
    funding_paid: i128,
    residue_swept: i128,
}

type Snapshot = (GlobalState, Vec<(u32, Account)>);

fn snapshot(exchange: &Exchange) -> Snapshot {
    (
        exchange.global().clone(),
        exchange
            .accounts()
            .map(|(id, account)| (id, account.clone()))
            .collect(),
    )
}

impl World {
    fn new() -> Self {
        let mut h = Sim::new(vec![unit_market()]);
        h.fund_insurance(150);
        let traders = (0..TRADERS)
            .map(|seed| h.trader(u32::from(seed) + 1, 300))
            .collect();
        let market_maker = h.trader(100, 1_000_000);
        h.oracle(0, usdc(100));
        let mut world = Self {
            h,
            traders,
            market_maker,
            index: usdc(100),
            funding_paid: 0,
            residue_swept: 0,
        };
        world.requote();
        world
    }

    /// The market maker's ladder around the index: ten levels a side, half a USDC apart.
    fn requote(&mut self) -> Vec<Event> {
        let mm = self.market_maker;
        let mut events = self.h.act(mm, Action::CancelAll { market: None });
        let tick = 10_000;
        let center = self.index / tick * tick;
        for level in 1..=10u64 {
            events.extend(self.h.buy(mm, 20, center - level * 500_000));
            events.extend(self.h.sell(mm, 20, center + level * 500_000));
        }
        events
    }

    fn open_orders(&self, trader: u32) -> Vec<OrderId> {
        self.h
            .exchange()
            .market(0)
            .unwrap()
            .book
            .order_ids_of(trader)
    }

    fn request(side: Side, lots: u8, execution: Execution) -> OrderRequest {
        OrderRequest {
            market: 0,
            side,
            lots: u64::from(lots),
            execution,
            trigger: None,
            reduce_only: false,
            client_order_id: 0,
            self_trade: SelfTradePrevention::ExpireMaker,
        }
    }

    fn liquidate_all(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        for account in self.h.exchange().liquidatable_accounts(self.h.now) {
            events.extend(self.h.liquidate(account));
        }
        events
    }

    /// Runs one op; returns its events and whether it was a rejected action or liquidation
    /// (which must have changed nothing).
    fn run(&mut self, op: &Op) -> (Vec<Event>, bool) {
        let side = |buy: bool| if buy { Side::Buy } else { Side::Sell };
        let account = |trader: &u8| self.traders[usize::from(*trader)];
        let action = match *op {
            Op::Limit {
                trader,
                buy,
                lots,
                offset,
                tif,
                reduce_only,
                stp,
            } => {
                let time_in_force = [
                    TimeInForce::GoodTillCancel,
                    TimeInForce::ImmediateOrCancel,
                    TimeInForce::FillOrKill,
                    TimeInForce::PostOnly,
                ][usize::from(tif)];
                let mut request = Self::request(
                    side(buy),
                    lots,
                    Execution::Limit {
                        price: price(offset),
                        time_in_force,
                    },
                );
                request.reduce_only = reduce_only;
                request.self_trade = [
                    SelfTradePrevention::ExpireMaker,
                    SelfTradePrevention::ExpireTaker,
                    SelfTradePrevention::ExpireBoth,
                ][usize::from(stp)];
                Some((account(&trader), Action::PlaceOrder(request)))
            }
            Op::Market {
                trader,
                buy,
                lots,
                slippage,
            } => {
                let worst = if buy {
                    self.index + u64::from(slippage) * 500_000
                } else {
                    self.index
                        .saturating_sub(u64::from(slippage) * 500_000)
                        .max(1)
                };
                Some((
                    account(&trader),
                    Action::PlaceOrder(Self::request(
                        side(buy),
                        lots,
                        Execution::Market { worst_price: worst },
                    )),
                ))
            }
            Op::Trigger {
                trader,
                buy,
                lots,
                offset,
                take_profit,
                market,
            } => {
                let kind = if take_profit {
                    TriggerKind::TakeProfit
                } else {
                    TriggerKind::StopLoss
                };
                let execution = if market {
                    Execution::Market {
                        worst_price: if buy { price(40) } else { price(-40) },
                    }
                } else {
                    Execution::Limit {
                        price: price(offset),
                        time_in_force: TimeInForce::GoodTillCancel,
                    }
                };
                let mut request = Self::request(side(buy), lots, execution);
                request.trigger = Some(Trigger {
                    kind,
                    price: price(offset),
                });
                Some((account(&trader), Action::PlaceOrder(request)))
            }
            Op::Cancel { trader, pick } => {
                let orders = self.open_orders(account(&trader));
                let order_id = orders
                    .get(usize::from(pick) % orders.len().max(1))
                    .copied()
                    .unwrap_or(u64::from(pick));
                Some((
                    account(&trader),
                    Action::Cancel {
                        market: 0,
                        order_id,
                    },
                ))
            }
            Op::CancelAll { trader } => {
                Some((account(&trader), Action::CancelAll { market: None }))
            }
            Op::Modify {
                trader,
                pick,
                offset,
                lots,
            } => {
                let orders = self.open_orders(account(&trader));
                let order_id = orders
                    .get(usize::from(pick) % orders.len().max(1))
                    .copied()
                    .unwrap_or(u64::from(pick));
                Some((
                    account(&trader),
                    Action::Modify {
                        market: 0,
                        order_id,
                        price: price(offset),
                        lots: u64::from(lots),
                    },
                ))
            }
            Op::Withdraw { trader, usdc } => Some((
                account(&trader),
                Action::Withdraw {
                    amount: u64::from(usdc) * USDC as u64,
                },
            )),
            _ => None,
        };
        if let Some((account, action)) = action {
            let events = self.h.act(account, action);
            let rejected = events
                .iter()
                .any(|event| matches!(event, Event::ActionRejected { .. }));
            return (events, rejected);
        }
        match *op {
            Op::Deposit { trader, usdc } => {
                self.h.deposit(account(&trader), i64::from(usdc) * USDC);
                (Vec::new(), false)
            }
            Op::Oracle { move_permille } => {
                self.index = (self.index as i64
                    + self.index as i64 * i64::from(move_permille) / 1_000)
                    .clamp(usdc(40) as i64, usdc(250) as i64) as u64;
                let index = self.index;
                let mut events = self.h.oracle(0, index);
                // The maker follows the index, so the mark does too; then the engine
                // liquidates whoever fell below maintenance.
                events.extend(self.requote());
                events.extend(self.liquidate_all());
                (events, false)
            }
            Op::Advance { ms } => {
                // Time passes (funding hours with it) and the oracle catches up.
                self.h.advance(u64::from(ms));
                let index = self.index;
                (self.h.oracle(0, index), false)
            }
            Op::Liquidate { trader } => {
                let events = self.h.liquidate(account(&trader));
                let rejected = events
                    .iter()
                    .any(|event| matches!(event, Event::LiquidationRejected { .. }));
                (events, rejected)
            }
            Op::LiquidateAll => (self.liquidate_all(), false),
            _ => unreachable!(),
        }
    }
}

/// Resting orders of each side, in priority order.
fn priority(exchange: &Exchange) -> [Vec<OrderId>; 2] {
    let book = &exchange.market(0).unwrap().book;
    [Side::Buy, Side::Sell].map(|side| book.side_orders(side).map(|order| order.id).collect())
}

fn check_priority(before: &[Vec<OrderId>; 2], events: &[Event]) -> Result<(), TestCaseError> {
    let mut takers = BTreeSet::new();
    let mut makers = BTreeSet::new();
    for event in events {
        match *event {
            Event::Filled {
                taker_order,
                maker_order,
                ..
            } => {
                takers.insert(taker_order);
                makers.insert(maker_order);
            }
            Event::OrderAccepted { order_id, .. }
            | Event::OrderModified { order_id, .. }
            | Event::Triggered { order_id, .. } => {
                takers.insert(order_id);
            }
            Event::Cancelled {
                order_id,
                reason: CancelReason::Liquidation | CancelReason::Requested,
                ..
            } => {
                takers.insert(order_id);
            }
            Event::Cancelled {
                order_id,
                reason:
                    CancelReason::SelfTrade
                    | CancelReason::InsufficientMargin
                    | CancelReason::ReduceOnly,
                ..
            } => {
                makers.insert(order_id);
            }
            _ => {}
        }
    }
    for side in before {
        let queue: Vec<OrderId> = side
            .iter()
            .copied()
            .filter(|id| !takers.contains(id))
            .collect();
        let touched = queue.iter().filter(|id| makers.contains(id)).count();
        prop_assert!(
            queue[..touched].iter().all(|id| makers.contains(id)),
            "makers {makers:?} are not a prefix of {queue:?}"
        );
    }
    Ok(())
}

fn check_invariants(world: &World) -> Result<(), TestCaseError> {
    let exchange = world.h.exchange();
    let sheet = exchange.balance_sheet();
    prop_assert!(sheet.balanced(), "conservation: {sheet:?}");
    let market = exchange.market(0).unwrap();
    if let (Some(bid), Some(ask)) = (market.book.best_bid(), market.book.best_ask()) {
        prop_assert!(bid < ask, "crossed book: {bid} >= {ask}");
    }
    let mut net = 0i64;
    let mut long = 0u64;
    for (id, account) in exchange.accounts() {
        if id != INSURANCE_FUND && account.positions.is_empty() {
            prop_assert!(
                account.collateral >= 0,
                "flat account {id} at {}",
                account.collateral
            );
        }
        let size = account.size(0);
        net += size;
        long += size.max(0) as u64;
    }
    prop_assert_eq!(net, 0);
    prop_assert_eq!(long, market.state.open_interest);
    let owed = i128::from(market.state.funding_pool) * i128::from(FUNDING_ONE)
        - market.state.funding_exposure;
    prop_assert!(owed >= 0, "funding pool short by {owed}");
    prop_assert_eq!(
        world.funding_paid,
        world.residue_swept + i128::from(market.state.funding_pool)
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_after_every_step(ops in prop::collection::vec(op(), 1..50)) {
        let mut world = World::new();
        for op in &ops {
            world.h.advance(100);
            // Time effects (funding hours) first, so that a rejected action's step changes
            // nothing at all.
            world.h.tick()
                .iter()
                .for_each(|event| if let Event::FundingResidue { amount, .. } = event { world.residue_swept += i128::from(*amount) });
            let before = snapshot(world.h.exchange());
            let book_before = priority(world.h.exchange());
            let (events, rejected) = world.run(op);
            for event in &events {
                match *event {
                    Event::FundingPaid { amount, .. } => world.funding_paid += i128::from(amount),
                    Event::FundingResidue { amount, .. } => world.residue_swept += i128::from(amount),
                    _ => {}
                }
            }
            if rejected {
                prop_assert!(snapshot(world.h.exchange()) == before, "a rejection changed the state: {op:?} {events:?}");
            }
            check_priority(&book_before, &events)?;
            check_invariants(&world)?;
        }
        // Settle everyone's funding, then sweep: less than one atom of residue is left.
        for &trader in &world.traders.clone() {
            let events = world.h.act(trader, Action::CancelAll { market: None });
            for event in &events {
                if let Event::FundingPaid { amount, .. } = event {
                    world.funding_paid += i128::from(*amount);
                }
            }
        }
        world.h.now = (world.h.now / HOUR_MS + 1) * HOUR_MS;
        for event in world.h.tick() {
            if let Event::FundingResidue { amount, .. } = event {
                world.residue_swept += i128::from(amount);
            }
        }
        check_invariants(&world)?;
        let state = &world.h.exchange().market(0).unwrap().state;
        let residue = i128::from(state.funding_pool) * i128::from(FUNDING_ONE) - state.funding_exposure;
        prop_assert!((0..i128::from(FUNDING_ONE)).contains(&residue), "residue {residue}");

        let sealed = world.h.seal();
        let output = verify_batch(&sealed.input, sealed.witness.clone(), &Ed25519Verifier, &NativePoseidon2::default(), &SoftSha256);
        prop_assert_eq!(output, Ok(sealed.output));
    }
}
