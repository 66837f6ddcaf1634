//! Every order type, cancel and modify path, self-trade prevention, limits, validation and
//! authorization, through signed steps on a ledger.

use gnomon_core::action::{Action, AdminAction};
use gnomon_core::batch::StepKind;
use gnomon_core::error::{CancelReason, RejectReason};
use gnomon_core::event::Event;
use gnomon_core::market::MarketStatus;
use gnomon_core::order::{Execution, SelfTradePrevention, Side, TimeInForce, Trigger, TriggerKind};
use gnomon_sim::*;

fn setup() -> (Sim, u32, u32, u32) {
    let mut h = Sim::new(vec![unit_market()]);
    let a = h.trader(1, 10_000);
    let b = h.trader(2, 10_000);
    let c = h.trader(3, 10_000);
    h.oracle(0, usdc(100));
    (h, a, b, c)
}

#[test]
fn limit_orders_match_by_price_then_time() {
    let (mut h, a, b, c) = setup();
    let a_order = placed(&h.sell(a, 5, usdc(101)));
    let b_order = placed(&h.sell(b, 5, usdc(100)));
    let c_order = placed(&h.sell(c, 5, usdc(100)));
    let d = h.trader(4, 10_000);
    let events = h.buy(d, 12, usdc(101));
    assert_eq!(filled_makers(&events), vec![b_order, c_order, a_order]);
    assert_eq!(
        fills(&events),
        vec![
            (b, d, usdc(100), 5),
            (c, d, usdc(100), 5),
            (a, d, usdc(101), 2)
        ]
    );
    let book = &h.exchange().market(0).unwrap().book;
    assert_eq!(book.resting(a_order).map(|order| order.lots), Some(3));
    assert_eq!(book.best_bid(), None, "the taker filled completely");
    assert_eq!(h.size(d), 12);
    h.assert_balanced();
}

#[test]
fn fees_are_charged_to_the_taker_and_rebated_to_the_maker() {
    let (mut h, a, b, _) = setup();
    h.sell(a, 10, usdc(100));
    let events = h.buy(b, 10, usdc(100));
    // Notional 1000 USDC: taker 0.05% = 0.5 USDC, maker -0.01% = a 0.1 USDC rebate.
    assert!(events.iter().any(|event| matches!(
        event,
        Event::Filled {
            taker_fee: 500_000,
            maker_fee: -100_000,
            ..
        }
    )));
    assert_eq!(h.collateral(b), 10_000 * USDC - 500_000);
    assert_eq!(h.collateral(a), 10_000 * USDC + 100_000);
    assert_eq!(h.exchange().global().fees_collected, 400_000);
    h.assert_balanced();
}

#[test]
fn immediate_or_cancel_fills_what_it_can() {
    let (mut h, a, b, _) = setup();
    h.sell(a, 10, usdc(100));
    let events = h.limit(b, Side::Buy, 25, usdc(100), TimeInForce::ImmediateOrCancel);
    assert_eq!(fills(&events).len(), 1);
    let id = placed(&events);
    assert_eq!(cancels(&events), vec![(id, 15, CancelReason::Unfilled)]);
    assert_eq!(h.exchange().market(0).unwrap().book.best_bid(), None);
}

#[test]
fn fill_or_kill_fills_completely_or_not_at_all() {
    let (mut h, a, b, _) = setup();
    h.sell(a, 10, usdc(100));
    let before = h.exchange().clone();
    let events = h.limit(b, Side::Buy, 11, usdc(100), TimeInForce::FillOrKill);
    assert_eq!(rejection(&events), Some(RejectReason::FillOrKillNotFilled));
    assert_eq!(h.exchange().market(0), before.market(0), "book untouched");
    assert_eq!(
        h.exchange().account(b),
        before.account(b),
        "account untouched"
    );
    let events = h.limit(b, Side::Buy, 10, usdc(100), TimeInForce::FillOrKill);
    assert_eq!(fills(&events), vec![(a, b, usdc(100), 10)]);
}

#[test]
fn post_only_never_takes() {
    let (mut h, a, b, _) = setup();
    h.sell(a, 10, usdc(100));
    let events = h.limit(b, Side::Buy, 1, usdc(100), TimeInForce::PostOnly);
    assert_eq!(rejection(&events), Some(RejectReason::PostOnlyWouldCross));
    let events = h.limit(b, Side::Buy, 1, usdc(99), TimeInForce::PostOnly);
    let id = placed(&events);
    assert!(
        h.exchange()
            .market(0)
            .unwrap()
            .book
            .resting(id)
            .is_some_and(|order| order.post_only)
    );
    // A modify that would cross is refused too.
    let events = h.act(
        b,
        Action::Modify {
            market: 0,
            order_id: id,
            price: usdc(100),
            lots: 1,
        },
    );
    assert_eq!(rejection(&events), Some(RejectReason::PostOnlyWouldCross));
}

#[test]
fn market_orders_stop_at_their_worst_price() {
    let (mut h, a, b, c) = setup();
    h.sell(a, 5, usdc(100));
    h.sell(b, 5, usdc(102));
    let events = h.market_order(c, Side::Buy, 10, usdc(101));
    assert_eq!(fills(&events), vec![(a, c, usdc(100), 5)]);
    assert_eq!(
        cancels(&events),
        vec![(placed(&events), 5, CancelReason::Unfilled)]
    );
    assert_eq!(
        h.exchange().market(0).unwrap().book.best_ask(),
        Some(usdc(102))
    );
}

#[test]
fn reduce_only_orders_cannot_open_or_flip() {
    let (mut h, a, b, c) = setup();
    let mut request = limit(0, Side::Sell, 5, usdc(100), TimeInForce::ImmediateOrCancel);
    request.reduce_only = true;
    assert_eq!(
        rejection(&h.order(a, request)),
        Some(RejectReason::ReduceOnlyWouldIncrease)
    );
    h.sell(b, 3, usdc(100));
    h.buy(a, 3, usdc(100));
    h.buy(c, 10, usdc(99));
    // Long 3: a reduce-only sell of 5 sells 3 and cancels the rest.
    request.execution = Execution::Limit {
        price: usdc(99),
        time_in_force: TimeInForce::ImmediateOrCancel,
    };
    let events = h.order(a, request);
    assert_eq!(fills(&events), vec![(c, a, usdc(99), 3)]);
    assert_eq!(
        cancels(&events),
        vec![(placed(&events), 2, CancelReason::ReduceOnly)]
    );
    assert_eq!(h.size(a), 0);
    // A resting reduce-only order whose position is gone is cancelled when it is reached.
    h.sell(b, 2, usdc(100));
    h.buy(a, 2, usdc(100));
    let mut resting = limit(0, Side::Sell, 5, usdc(101), TimeInForce::GoodTillCancel);
    resting.reduce_only = true;
    let resting_id = placed(&h.order(a, resting));
    let events = h.buy(b, 5, usdc(101));
    assert_eq!(fills(&events), vec![(a, b, usdc(101), 2)]);
    assert!(cancels(&events).contains(&(resting_id, 3, CancelReason::ReduceOnly)));
    h.assert_balanced();
}

#[test]
fn stop_loss_fires_when_the_mark_falls_through_it() {
    let (mut h, maker, trader, _) = setup();
    h.sell(maker, 5, usdc(100));
    h.buy(trader, 5, usdc(100));
    let stop = triggered(
        Side::Sell,
        5,
        Trigger {
            kind: TriggerKind::StopLoss,
            price: usdc(95),
        },
        Execution::Market {
            worst_price: usdc(90),
        },
    );
    let stop_id = placed(&h.order(trader, stop));
    h.buy(maker, 5, usdc(93));
    h.advance(1_000);
    // Mark = median(index 96, mid (one-sided: index), last 100) = 96: not yet.
    let events = h.oracle(0, usdc(96));
    assert!(
        !events
            .iter()
            .any(|event| matches!(event, Event::Triggered { .. }))
    );
    h.advance(1_000);
    let events = h.oracle(0, usdc(94));
    assert!(
        events.iter().any(
            |event| matches!(event, Event::Triggered { order_id, .. } if *order_id == stop_id)
        )
    );
    assert_eq!(fills(&events), vec![(maker, trader, usdc(93), 5)]);
    assert_eq!(h.size(trader), 0);
    h.assert_balanced();
}

#[test]
fn stop_limit_and_take_profit() {
    let (mut h, maker, trader, other) = setup();
    h.sell(maker, 5, usdc(100));
    h.buy(trader, 5, usdc(100));
    // Take profit: sell when the mark rises to 110, as a limit at 109 resting if unfilled.
    let take_profit = triggered(
        Side::Sell,
        5,
        Trigger {
            kind: TriggerKind::TakeProfit,
            price: usdc(110),
        },
        Execution::Limit {
            price: usdc(109),
            time_in_force: TimeInForce::GoodTillCancel,
        },
    );
    let id = placed(&h.order(trader, take_profit));
    // A buy stop-limit of another trader: buy when the mark rises to 105.
    let stop_buy = triggered(
        Side::Buy,
        1,
        Trigger {
            kind: TriggerKind::StopLoss,
            price: usdc(105),
        },
        Execution::Limit {
            price: usdc(104),
            time_in_force: TimeInForce::GoodTillCancel,
        },
    );
    let stop_id = placed(&h.order(other, stop_buy));
    h.advance(1_000);
    let events = h.oracle(0, usdc(111));
    // Both fire at the mark (111: index, one-sided mid = index, last 100 → median 111).
    let fired: Vec<u64> = events
        .iter()
        .filter_map(|event| match event {
            Event::Triggered { order_id, .. } => Some(*order_id),
            _ => None,
        })
        .collect();
    assert_eq!(fired, vec![id, stop_id]);
    let book = &h.exchange().market(0).unwrap().book;
    assert_eq!(
        book.resting(id).map(|order| (order.price, order.lots)),
        Some((usdc(109), 5))
    );
    assert_eq!(
        book.resting(stop_id).map(|order| (order.price, order.lots)),
        Some((usdc(104), 1))
    );
    assert_eq!(book.trigger_orders().count(), 0);
}

#[test]
fn cancels_by_id_client_id_and_all() {
    let (mut h, a, b, _) = setup();
    let mut request = limit(0, Side::Buy, 1, usdc(90), TimeInForce::GoodTillCancel);
    request.client_order_id = 77;
    let first = placed(&h.order(a, request));
    assert_eq!(
        rejection(&h.order(a, request)),
        Some(RejectReason::DuplicateClientOrderId)
    );
    let second = placed(&h.buy(a, 1, usdc(91)));
    let stop = triggered(
        Side::Sell,
        1,
        Trigger {
            kind: TriggerKind::StopLoss,
            price: usdc(50),
        },
        Execution::Market {
            worst_price: usdc(40),
        },
    );
    let third = placed(&h.order(a, stop));
    assert_eq!(
        rejection(&h.act(
            b,
            Action::Cancel {
                market: 0,
                order_id: first
            }
        )),
        Some(RejectReason::UnknownOrder)
    );
    let events = h.act(
        a,
        Action::CancelByClientId {
            market: 0,
            client_order_id: 77,
        },
    );
    assert_eq!(cancels(&events), vec![(first, 1, CancelReason::Requested)]);
    assert_eq!(
        rejection(&h.act(
            a,
            Action::Cancel {
                market: 0,
                order_id: first
            }
        )),
        Some(RejectReason::UnknownOrder)
    );
    let events = h.act(a, Action::CancelAll { market: None });
    assert_eq!(
        cancels(&events),
        vec![
            (second, 1, CancelReason::Requested),
            (third, 1, CancelReason::Requested)
        ]
    );
    assert_eq!(h.exchange().market(0).unwrap().book.open_orders_of(a), 0);
    assert!(
        rejection(&h.order(a, request)).is_none(),
        "the client id is free again"
    );
}

#[test]
fn modify_keeps_priority_only_when_shrinking() {
    let (mut h, a, b, c) = setup();
    let a_order = placed(&h.buy(a, 5, usdc(99)));
    let b_order = placed(&h.buy(b, 5, usdc(99)));
    let events = h.act(
        a,
        Action::Modify {
            market: 0,
            order_id: a_order,
            price: usdc(99),
            lots: 4,
        },
    );
    assert!(events.iter().any(|event| matches!(
        event,
        Event::OrderModified {
            kept_priority: true,
            lots: 4,
            ..
        }
    )));
    assert_eq!(filled_makers(&h.sell(c, 1, usdc(99))), vec![a_order]);
    // Growing loses priority.
    h.act(
        a,
        Action::Modify {
            market: 0,
            order_id: a_order,
            price: usdc(99),
            lots: 6,
        },
    );
    assert_eq!(filled_makers(&h.sell(c, 1, usdc(99))), vec![b_order]);
    // A new price that crosses trades at once.
    h.sell(c, 2, usdc(100));
    let events = h.act(
        a,
        Action::Modify {
            market: 0,
            order_id: a_order,
            price: usdc(100),
            lots: 6,
        },
    );
    assert_eq!(fills(&events), vec![(c, a, usdc(100), 2)]);
    let book = &h.exchange().market(0).unwrap().book;
    assert_eq!(
        book.resting(a_order).map(|order| (order.price, order.lots)),
        Some((usdc(100), 4))
    );
    let events = h.act(
        a,
        Action::Modify {
            market: 0,
            order_id: a_order,
            price: usdc(100),
            lots: 4,
        },
    );
    assert_eq!(rejection(&events), Some(RejectReason::NothingToModify));
}

#[test]
fn self_trade_prevention_modes() {
    let run = |mode| {
        let (mut h, a, b, _) = setup();
        let own = placed(&h.sell(a, 5, usdc(100)));
        let other = placed(&h.sell(b, 5, usdc(100)));
        let mut request = limit(0, Side::Buy, 5, usdc(100), TimeInForce::GoodTillCancel);
        request.self_trade = mode;
        let events = h.order(a, request);
        let taker = placed(&events);
        (events, own, other, taker, b)
    };
    let (events, own, other, _, b) = run(SelfTradePrevention::ExpireMaker);
    assert_eq!(cancels(&events), vec![(own, 5, CancelReason::SelfTrade)]);
    assert_eq!(filled_makers(&events), vec![other]);
    assert_eq!(fills(&events)[0].0, b);

    let (events, _, _, taker, _) = run(SelfTradePrevention::ExpireTaker);
    assert_eq!(cancels(&events), vec![(taker, 5, CancelReason::SelfTrade)]);
    assert!(fills(&events).is_empty());

    let (events, own, _, taker, _) = run(SelfTradePrevention::ExpireBoth);
    assert_eq!(
        cancels(&events),
        vec![
            (own, 5, CancelReason::SelfTrade),
            (taker, 5, CancelReason::SelfTrade)
        ]
    );
}

#[test]
fn open_order_limit() {
    let (mut h, a, _, _) = setup();
    for i in 0..50 {
        placed(&h.buy(a, 1, usdc(50) + i * 10_000));
    }
    assert_eq!(
        rejection(&h.buy(a, 1, usdc(40))),
        Some(RejectReason::TooManyOpenOrders)
    );
    // Immediate orders do not rest and are not limited.
    let events = h.limit(a, Side::Buy, 1, usdc(40), TimeInForce::ImmediateOrCancel);
    assert_eq!(rejection(&events), None);
}

#[test]
fn orders_are_validated_against_the_market() {
    let (mut h, a, _, _) = setup();
    assert_eq!(
        rejection(&h.buy(a, 1, usdc(100) + 1)),
        Some(RejectReason::PriceNotOnTick)
    );
    assert_eq!(
        rejection(&h.buy(a, 0, usdc(100))),
        Some(RejectReason::BelowMinimumSize)
    );
    assert_eq!(
        rejection(&h.buy(a, 1 << 41, usdc(100))),
        Some(RejectReason::SizeTooLarge)
    );
    assert_eq!(
        rejection(&h.buy(a, 1, 0)),
        Some(RejectReason::PriceOutOfRange)
    );
    assert_eq!(
        rejection(&h.order(
            a,
            limit(3, Side::Buy, 1, usdc(100), TimeInForce::GoodTillCancel)
        )),
        Some(RejectReason::UnknownMarket)
    );
    assert_eq!(
        rejection(&h.act(a, Action::Withdraw { amount: 0 })),
        Some(RejectReason::ZeroAmount)
    );
}

#[test]
fn orders_without_an_oracle_or_with_a_stale_one_are_refused() {
    let mut h = Sim::new(vec![unit_market()]);
    let a = h.trader(1, 1_000);
    assert_eq!(
        rejection(&h.buy(a, 1, usdc(100))),
        Some(RejectReason::NoOraclePrice)
    );
    h.oracle(0, usdc(100));
    h.advance(60_001);
    assert_eq!(
        rejection(&h.buy(a, 1, usdc(100))),
        Some(RejectReason::StaleOraclePrice)
    );
}

#[test]
fn initial_margin_gates_new_risk() {
    let (mut h, maker, _, _) = setup();
    let small = h.trader(9, 100);
    h.sell(maker, 100, usdc(100));
    // 11 lots at 100: 1100 notional needs 110 of initial margin: refused.
    assert_eq!(
        rejection(&h.buy(small, 11, usdc(100))),
        Some(RejectReason::InsufficientMargin)
    );
    let events = h.buy(small, 9, usdc(100));
    assert_eq!(fills(&events).len(), 1);
    // The mark falls to 98 (oracle and a new last trade): below initial, above maintenance.
    h.buy(maker, 1, usdc(98));
    let other = h.trader(10, 1_000);
    h.sell(other, 1, usdc(98));
    h.advance(1_000);
    h.oracle(0, usdc(98));
    let health = h.exchange().health(small).unwrap();
    assert!(
        !health.meets_initial() && !health.liquidatable(),
        "{health:?}"
    );
    assert_eq!(
        rejection(&h.buy(small, 1, usdc(100))),
        Some(RejectReason::InsufficientMargin)
    );
    h.buy(maker, 10, usdc(97));
    let events = h.sell(small, 3, usdc(97));
    assert_eq!(fills(&events).len(), 1, "reducing is allowed: {events:?}");
    assert_eq!(h.size(small), 6);
}

#[test]
fn makers_that_can_no_longer_afford_a_fill_are_cancelled() {
    let (mut h, _, taker, _) = setup();
    let maker = h.trader(9, 100);
    // Each ask alone fits 100 USDC of collateral; both together do not.
    let first = placed(&h.sell(maker, 9, usdc(100)));
    let second = placed(&h.sell(maker, 9, usdc(101)));
    let events = h.buy(taker, 18, usdc(101));
    assert_eq!(filled_makers(&events), vec![first]);
    assert!(cancels(&events).contains(&(second, 9, CancelReason::InsufficientMargin)));
    let book = &h.exchange().market(0).unwrap().book;
    assert_eq!(book.best_bid(), Some(usdc(101)), "the taker's rest rests");
    assert_eq!(book.best_ask(), None);
}

#[test]
fn open_interest_cap_stops_new_exposure() {
    let mut config = unit_market();
    config.open_interest_cap = 10;
    let mut h = Sim::new(vec![config]);
    let a = h.trader(1, 10_000);
    let b = h.trader(2, 10_000);
    h.oracle(0, usdc(100));
    h.sell(a, 15, usdc(100));
    let events = h.limit(b, Side::Buy, 10, usdc(100), TimeInForce::ImmediateOrCancel);
    assert_eq!(fills(&events).len(), 1);
    let events = h.limit(b, Side::Buy, 1, usdc(100), TimeInForce::ImmediateOrCancel);
    assert_eq!(
        cancels(&events),
        vec![(placed(&events), 1, CancelReason::OpenInterestCap)]
    );
    assert_eq!(h.exchange().market(0).unwrap().state.open_interest, 10);
    // Reducing is still possible.
    let events = h.limit(b, Side::Sell, 4, usdc(99), TimeInForce::GoodTillCancel);
    let events_close = h.limit(a, Side::Buy, 4, usdc(99), TimeInForce::ImmediateOrCancel);
    assert!(rejection(&events).is_none());
    assert_eq!(fills(&events_close).len(), 1);
    assert_eq!(h.exchange().market(0).unwrap().state.open_interest, 6);
}

#[test]
fn withdrawals_take_only_free_settled_collateral() {
    let (mut h, maker, _, _) = setup();
    let trader = h.trader(9, 1_000);
    h.sell(maker, 50, usdc(100));
    h.buy(trader, 50, usdc(100));
    // Value 1000 - 2.5 fee, initial 500: 497.5 free.
    assert_eq!(
        rejection(&h.act(
            trader,
            Action::Withdraw {
                amount: 498 * USDC as u64
            }
        )),
        Some(RejectReason::InsufficientFreeCollateral)
    );
    let events = h.act(
        trader,
        Action::Withdraw {
            amount: 497 * USDC as u64,
        },
    );
    assert!(
        matches!(events.last(), Some(Event::Withdrawn { .. })),
        "{events:?}"
    );
    // The price rises to 120: value 500.5 + 50 * 20 = 1500.5, initial 600, free 900.5, but
    // only the 500.5 of settled collateral may leave.
    h.buy(maker, 1, usdc(120));
    let other = h.trader(10, 1_000);
    h.sell(other, 1, usdc(120));
    h.advance(1_000);
    h.oracle(0, usdc(120));
    let collateral = h.collateral(trader) as u64;
    assert!(h.exchange().health(trader).unwrap().free_collateral() > collateral as i128);
    assert_eq!(
        rejection(&h.act(
            trader,
            Action::Withdraw {
                amount: collateral + 1
            }
        )),
        Some(RejectReason::InsufficientFreeCollateral)
    );
    h.advance(60_001);
    assert_eq!(
        rejection(&h.act(trader, Action::Withdraw { amount: 1 })),
        Some(RejectReason::StaleOraclePrice)
    );
    let sealed = h.seal();
    assert_eq!(sealed.output.withdrawals.len(), 1);
    assert_eq!(sealed.output.withdrawals[0].amount, 497 * USDC as u64);
    h.assert_balanced();
}

#[test]
fn unauthorized_actions_change_nothing() {
    let (mut h, a, b, _) = setup();
    h.buy(a, 1, usdc(90));
    let snapshot = (
        h.exchange().global().clone(),
        h.exchange()
            .accounts()
            .map(|(id, account)| (id, account.clone()))
            .collect::<Vec<_>>(),
    );
    let unchanged = |h: &Sim| {
        h.exchange().global() == &snapshot.0
            && h.exchange()
                .accounts()
                .map(|(id, account)| (id, account.clone()))
                .collect::<Vec<_>>()
                == snapshot.1
    };
    let action = Action::CancelAll { market: None };

    let mut forged = h.signed(a, action);
    forged.signature[0] ^= 1;
    assert_eq!(
        rejection(&h.step(StepKind::Trader(forged))),
        Some(RejectReason::BadSignature)
    );
    assert!(unchanged(&h));

    let mut impostor = sign(2, a, 10, action);
    assert_eq!(
        rejection(&h.step(StepKind::Trader(impostor.clone()))),
        Some(RejectReason::WrongSigner)
    );
    impostor.account = 999;
    assert_eq!(
        rejection(&h.step(StepKind::Trader(impostor))),
        Some(RejectReason::UnknownAccount)
    );
    assert!(unchanged(&h));

    let fund = sign(ADMIN_SEED, 0, 1, action);
    assert_eq!(
        rejection(&h.step(StepKind::Trader(fund))),
        Some(RejectReason::SystemAccount)
    );

    let signed = h.signed(b, Action::Withdraw { amount: 1 });
    assert_eq!(rejection(&h.step(StepKind::Trader(signed.clone()))), None);
    assert_eq!(
        rejection(&h.step(StepKind::Trader(signed))),
        Some(RejectReason::StaleNonce),
        "replay"
    );
}

#[test]
fn market_status_gates_orders() {
    let (mut h, a, b, _) = setup();
    let resting = placed(&h.buy(a, 1, usdc(90)));
    h.admin(AdminAction::SetMarketStatus {
        market: 0,
        status: MarketStatus::ReduceOnly,
    });
    assert_eq!(
        rejection(&h.buy(b, 1, usdc(90))),
        Some(RejectReason::MarketReduceOnly)
    );
    h.admin(AdminAction::SetMarketStatus {
        market: 0,
        status: MarketStatus::Halted,
    });
    assert_eq!(
        rejection(&h.buy(b, 1, usdc(90))),
        Some(RejectReason::MarketHalted)
    );
    let events = h.act(
        a,
        Action::Cancel {
            market: 0,
            order_id: resting,
        },
    );
    assert_eq!(
        cancels(&events),
        vec![(resting, 1, CancelReason::Requested)]
    );
    // A forged admin action is refused.
    let events = h.step(StepKind::Admin(gnomon_core::action::SignedAdminAction {
        nonce: 99,
        action: AdminAction::SetMarketStatus {
            market: 0,
            status: MarketStatus::Active,
        },
        signature: [0; 64],
    }));
    assert!(matches!(
        events.last(),
        Some(Event::AdminRejected {
            reason: RejectReason::BadSignature,
            ..
        })
    ));
    assert_eq!(
        h.exchange().market(0).unwrap().state.status,
        MarketStatus::Halted
    );
}

#[test]
fn session_keys_sign_until_they_expire_and_never_replace_themselves() {
    let (mut h, a, _, _) = setup();
    let expires_ms = h.now + 10_000;
    h.set_session(a, 50, expires_ms);
    assert_eq!(
        h.exchange().account(a).unwrap().session.map(|s| s.key),
        Some(public_key(50))
    );
    // `signed` now signs with the session key.
    let order = h.signed(
        a,
        Action::PlaceOrder(limit(
            0,
            Side::Buy,
            1,
            usdc(90),
            TimeInForce::GoodTillCancel,
        )),
    );
    assert_eq!(order.trader, public_key(50));
    assert_eq!(rejection(&h.step(StepKind::Trader(order))), None);

    let replace = h.signed(a, Action::SetSessionKey { session: None });
    assert_eq!(
        rejection(&h.step(StepKind::Trader(replace))),
        Some(RejectReason::WrongSigner),
        "a session key cannot replace itself"
    );
    let stranger = sign(51, a, 100, Action::CancelAll { market: None });
    assert_eq!(
        rejection(&h.step(StepKind::Trader(stranger))),
        Some(RejectReason::WrongSigner)
    );

    h.now = expires_ms;
    let late = sign(50, a, 101, Action::CancelAll { market: None });
    assert_eq!(
        rejection(&h.step(StepKind::Trader(late))),
        Some(RejectReason::SessionExpired)
    );
    // The owner still signs, and revokes.
    let revoke = sign(1, a, 102, Action::SetSessionKey { session: None });
    assert_eq!(rejection(&h.step(StepKind::Trader(revoke))), None);
    assert_eq!(h.exchange().account(a).unwrap().session, None);
}
