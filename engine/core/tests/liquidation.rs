//! Liquidation paths beyond the golden scenario: refusals, order cancellation, steps into the
//! book, the bankruptcy-price bound, deleveraging shortfalls and unabsorbed bad debt.

use gnomon_core::INSURANCE_FUND;
use gnomon_core::batch::StepKind;
use gnomon_core::error::{CancelReason, RejectReason};
use gnomon_core::event::{Event, LiquidationVia};
use gnomon_core::order::{Execution, Side, Trigger, TriggerKind};
use gnomon_sim::*;

fn rejected(events: &[Event]) -> Option<RejectReason> {
    events.iter().find_map(|event| match *event {
        Event::LiquidationRejected { reason, .. } => Some(reason),
        _ => None,
    })
}

fn liquidated(events: &[Event]) -> Vec<(u64, u64, LiquidationVia)> {
    events
        .iter()
        .filter_map(|event| match *event {
            Event::Liquidated {
                lots, price, via, ..
            } => Some((lots, price, via)),
            _ => None,
        })
        .collect()
}

/// Alice long 95 at 100 on 1000 USDC against Bob; the maker `mm` holds 100k.
fn leveraged_long() -> (Sim, u32, u32, u32) {
    let mut h = Sim::new(vec![feeless_market()]);
    let mm = h.trader(1, 100_000);
    let alice = h.trader(2, 1_000);
    let bob = h.trader(3, 20_000);
    h.oracle(0, usdc(100));
    h.sell(bob, 95, usdc(100));
    h.buy(alice, 95, usdc(100));
    (h, mm, alice, bob)
}

fn move_price(h: &mut Sim, price: u64) {
    h.advance(1_000);
    h.oracle(0, price);
}

#[test]
fn healthy_accounts_and_bad_requests_are_refused_without_effect() {
    let (mut h, _, alice, bob) = leveraged_long();
    let before = h.exchange().clone();
    assert_eq!(
        rejected(&h.liquidate(alice)),
        Some(RejectReason::NotLiquidatable)
    );
    assert_eq!(
        rejected(&h.liquidate(INSURANCE_FUND)),
        Some(RejectReason::SystemAccount)
    );
    assert_eq!(
        rejected(&h.liquidate(77)),
        Some(RejectReason::UnknownAccount)
    );
    move_price(&mut h, usdc(94));
    for deleverage in [
        vec![(0, vec![alice])],
        vec![(0, vec![bob, bob])],
        vec![(0, vec![INSURANCE_FUND])],
    ] {
        let events = h.step(StepKind::Liquidate {
            account: alice,
            deleverage,
        });
        assert_eq!(rejected(&events), Some(RejectReason::InvalidDeleverageList));
    }
    h.advance(60_001);
    assert_eq!(
        rejected(&h.liquidate(alice)),
        Some(RejectReason::StaleOraclePrice)
    );
    assert_eq!(h.exchange().account(alice), before.account(alice));
    assert_eq!(
        h.exchange().market(0).unwrap().book,
        before.market(0).unwrap().book
    );
}

#[test]
fn liquidation_cancels_orders_then_steps_into_the_book_until_healthy() {
    let (mut h, mm, alice, _) = leveraged_long();
    // Two thin bids: the first step (48 lots) fills 20 at 93.9 and 28 at 93.8.
    h.buy(mm, 20, 93_900_000);
    h.buy(mm, 100, 93_800_000);
    // Alice's own ask keeps the mid at 94.
    let resting = placed(&h.sell(alice, 1, 94_100_000));
    let stop = placed(&h.order(
        alice,
        triggered(
            Side::Sell,
            95,
            Trigger {
                kind: TriggerKind::StopLoss,
                price: usdc(50),
            },
            Execution::Market {
                worst_price: usdc(40),
            },
        ),
    ));
    move_price(&mut h, usdc(94));
    let events = h.liquidate(alice);
    let cancelled = cancels(&events);
    assert!(cancelled.contains(&(resting, 1, CancelReason::Liquidation)));
    assert!(cancelled.contains(&(stop, 95, CancelReason::Liquidation)));
    let steps = liquidated(&events);
    assert_eq!(
        steps
            .iter()
            .map(|step| (step.0, step.1))
            .collect::<Vec<_>>(),
        vec![(20, 93_900_000), (28, 93_800_000)]
    );
    assert_eq!(h.size(alice), 47);
    assert!(!h.exchange().health(alice).unwrap().liquidatable());
    assert!(
        h.collateral(INSURANCE_FUND) > 0,
        "liquidation fees went to the fund"
    );
    h.assert_balanced();
}

#[test]
fn the_book_is_never_hit_beyond_the_bankruptcy_price() {
    let (mut h, mm, alice, bob) = leveraged_long();
    // Value at 90: 1000 - 950 = 50; bankruptcy price 90 - 50/95 = 89.47.
    h.buy(mm, 200, usdc(89));
    move_price(&mut h, usdc(90));
    let events = h.liquidate(alice);
    assert!(
        fills(&events).is_empty(),
        "the 89 bid is beyond the bankruptcy price: {events:?}"
    );
    // The empty fund cannot take the position over, so Bob is deleveraged at 89.473684.
    assert_eq!(
        liquidated(&events),
        vec![(
            95,
            89_473_684,
            LiquidationVia::Deleverage { counterparty: bob }
        )]
    );
    assert_eq!(h.size(alice), 0);
    assert_eq!(h.size(bob), 0);
    h.assert_balanced();
}

#[test]
fn a_short_list_leaves_the_rest_recorded_and_unabsorbed_debt_stays_on_the_fund() {
    let (mut h, _, alice, _) = leveraged_long();
    move_price(&mut h, usdc(80));
    // Value 1000 - 1900 = -900: the fund (empty) cannot take over, and no one is listed.
    let events = h.step(StepKind::Liquidate {
        account: alice,
        deleverage: vec![],
    });
    assert!(events.contains(&Event::LiquidationIncomplete {
        account: alice,
        market: 0,
        lots: 95
    }));
    assert_eq!(h.size(alice), 95);
    // With the list, Bob takes it at the bankruptcy price 80 + 900/95 = 89.473684 (rounded
    // against Alice), and the fund pays her 20 atoms of rounding shortfall from nothing: its
    // collateral goes negative, the record of unabsorbed bad debt.
    let events = h.liquidate(alice);
    assert_eq!(liquidated(&events).len(), 1);
    assert!(
        events
            .iter()
            .any(|event| matches!(event, Event::BadDebt { amount: 20, .. })),
        "{events:?}"
    );
    assert_eq!(h.collateral(alice), 0);
    assert_eq!(h.collateral(INSURANCE_FUND), -20);
    h.assert_balanced();
}

#[test]
fn the_engine_lists_liquidatable_accounts_and_ranks_deleveraging() {
    let mut h = Sim::new(vec![feeless_market()]);
    let alice = h.trader(2, 1_000);
    let early = h.trader(3, 10_000);
    let late = h.trader(4, 10_000);
    h.oracle(0, usdc(100));
    h.sell(early, 50, usdc(100));
    h.buy(alice, 50, usdc(100));
    h.sell(late, 45, usdc(98));
    h.buy(alice, 45, usdc(98));
    // At 93 Alice's value is 1000 - 350 - 225 = 425, below 95 * 93 * 5% = 441.75.
    move_price(&mut h, usdc(93));
    assert_eq!(h.exchange().liquidatable_accounts(h.now), vec![alice]);
    // Both shorts profit; the one who sold higher has the larger return on cost.
    assert_eq!(h.exchange().deleverage_ranking(0, 95), vec![early, late]);
    assert_eq!(
        h.exchange().deleverage_lists(alice),
        vec![(0, vec![early, late])]
    );
}
