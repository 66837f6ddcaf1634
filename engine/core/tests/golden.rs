//! Whole scenarios with every balance worked out by hand, in quote atoms (10^-6 USDC).
//!
//! The market has no trading fees (so the arithmetic stays readable) but a 1% liquidation
//! fee; margin is 10% initial, 5% maintenance; liquidations close 50% of a position per step.

use gnomon_core::INSURANCE_FUND;
use gnomon_core::action::Action;
use gnomon_core::action::Ed25519Verifier;
use gnomon_core::batch::verify_batch;
use gnomon_core::event::{Event, LiquidationVia};
use gnomon_core::hash::NativePoseidon2;
use gnomon_core::sha256::SoftSha256;
use gnomon_sim::*;

fn liquidations(events: &[Event]) -> Vec<(u64, u64, i64, LiquidationVia)> {
    events
        .iter()
        .filter_map(|event| match *event {
            Event::Liquidated {
                lots,
                price,
                fee,
                via,
                ..
            } => Some((lots, price, fee, via)),
            _ => None,
        })
        .collect()
}

fn bad_debt(events: &[Event]) -> Vec<i64> {
    events
        .iter()
        .filter_map(|event| match *event {
            Event::BadDebt { amount, .. } => Some(amount),
            _ => None,
        })
        .collect()
}

/// A flash crash: a partial liquidation into the book at 94, then a crash to 75.2 (a drop to
/// 60 clamped by the 20% oracle guard) that leaves two accounts bankrupt: the insurance fund
/// takes the first over, cannot absorb the second, which is deleveraged against the most
/// profitable short. Every balance is checked against the hand computation, and the guest's
/// replay of the batch from witnesses reproduces the engine's output.
#[test]
fn flash_crash_with_liquidations_backstop_and_deleveraging() {
    let mut h = Sim::new(vec![feeless_market()]);
    h.fund_insurance(300);
    let mm = h.trader(1, 100_000);
    let alice = h.trader(2, 1_000);
    let bob = h.trader(3, 20_000);
    let carol = h.trader(4, 200);
    let prior_root = h.ledger.root();
    h.oracle(0, usdc(100));

    // Bob sells 113 at 100 to Alice (95: 9500 notional, 950 initial margin on 1000) and
    // Carol (18: 1800 notional, 180 initial margin on 200).
    h.sell(bob, 113, usdc(100));
    h.buy(alice, 95, usdc(100));
    h.buy(carol, 18, usdc(100));
    // The market maker quotes 93.90 / 94.10 around where the price is heading.
    h.buy(mm, 50, 93_900_000);
    h.sell(mm, 50, 94_100_000);

    // The index falls to 94: mark = median(94 + basis 0, mid 94, last 100) = 94.
    h.advance(1_000);
    let events = h.oracle(0, usdc(94));
    assert!(events.contains(&Event::OraclePrice {
        market: 0,
        index_price: 94_000_000,
        mark_price: 94_000_000
    }));
    // Alice: value 1000 + 95 * (94 - 100) = 430 < maintenance 95 * 94 * 5% = 446.5.
    // Carol: value 200 - 108 = 92 >= 84.6: safe.
    let alice_health = h.exchange().health(alice).unwrap();
    assert_eq!(
        (alice_health.value, alice_health.maintenance),
        (430_000_000, 446_500_000)
    );
    assert!(!h.exchange().health(carol).unwrap().liquidatable());
    assert_eq!(h.exchange().liquidatable_accounts(h.now), vec![alice]);

    // Liquidating Alice: bankruptcy price floor((94 * 95 - 430) / 95) = 89.473684, so the
    // sell's limit is 89.48. One step of ceil(95 / 2) = 48 lots fills at the 93.90 bid:
    // realized 48 * 93.90 - 4800 = -292.8; fee 1% of 4507.2 = 45.072 to the fund.
    // Value after: 707.2 + 47 * 94 - 4700 - 45.072 = 380.128 >= 47 * 94 * 5% = 220.9: done.
    h.advance(1_000);
    let events = h.liquidate(alice);
    assert_eq!(
        liquidations(&events),
        vec![(
            48,
            93_900_000,
            45_072_000,
            LiquidationVia::Book {
                maker_account: mm,
                maker_order: 4
            }
        )]
    );
    assert_eq!(
        h.collateral(alice),
        1_000_000_000 - 292_800_000 - 45_072_000
    );
    assert_eq!(h.size(alice), 47);
    assert_eq!(h.collateral(INSURANCE_FUND), 345_072_000);
    assert_eq!(h.size(mm), 48);

    // The market maker pulls its quotes; the oracle prints 60, clamped to 94 * (1 - 20%).
    h.advance(1_000);
    h.act(mm, Action::CancelAll { market: None });
    h.advance(1_000);
    let events = h.oracle(0, usdc(60));
    assert!(events.contains(&Event::OraclePrice {
        market: 0,
        index_price: 75_200_000,
        mark_price: 75_200_000
    }));
    h.advance(1_000);
    h.buy(mm, 10, usdc(75));
    h.sell(mm, 10, 75_400_000);

    // Carol: value 200 + 18 * (75.2 - 100) = -246.4. Bankruptcy price
    // floor((75.2 * 18 + 246.4) / 18) = floor(88.8888...) = 88.888888: no bid near it, so
    // the fund takes the 18 lots over at that price. The fund's value after:
    // 345.072 + 18 * 75.2 - 1599.999984 = 98.672016 >= its maintenance 67.68: accepted.
    // Carol realizes 1599.999984 - 1800 = -200.000016: 16 atoms of bad debt, paid by the fund.
    h.advance(1_000);
    let events = h.liquidate(carol);
    assert_eq!(
        liquidations(&events),
        vec![(18, 88_888_888, 0, LiquidationVia::Backstop)]
    );
    assert_eq!(bad_debt(&events), vec![16]);
    assert_eq!(h.collateral(carol), 0);
    assert_eq!(h.collateral(INSURANCE_FUND), 345_072_000 - 16);
    let fund = h
        .exchange()
        .account(INSURANCE_FUND)
        .unwrap()
        .position(0)
        .copied()
        .unwrap();
    assert_eq!((fund.size, fund.cost), (18, 1_599_999_984));

    // Alice: value 662.128 + 47 * 75.2 - 4700 = -503.472; bankruptcy price
    // floor(4037.872 / 47) = 85.912170. The fund taking 47 more lots would end at
    // 345.071984 + 65 * 75.2 - (1599.999984 + 4037.871990) = -404.79999: refused. Bob, the
    // only short, is deleveraged: he buys back 47 at 85.912170, realizing
    // 47 * (100 - 85.912170) = 662.12801; Alice realizes -662.12801 and is 10 atoms short,
    // which the fund pays.
    h.advance(1_000);
    let events = h.liquidate(alice);
    assert_eq!(
        liquidations(&events),
        vec![(
            47,
            85_912_170,
            0,
            LiquidationVia::Deleverage { counterparty: bob }
        )]
    );
    assert_eq!(bad_debt(&events), vec![10]);

    // Final balances, by hand.
    assert_eq!(h.collateral(alice), 0);
    assert_eq!(h.size(alice), 0);
    assert_eq!(h.collateral(bob), 20_000_000_000 + 662_128_010);
    let bob_position = h
        .exchange()
        .account(bob)
        .unwrap()
        .position(0)
        .copied()
        .unwrap();
    assert_eq!(
        (bob_position.size, bob_position.cost),
        (-66, -6_600_000_000)
    );
    assert_eq!(h.collateral(mm), 100_000_000_000);
    assert_eq!(
        h.exchange()
            .account(mm)
            .unwrap()
            .position(0)
            .map(|p| (p.size, p.cost)),
        Some((48, 4_507_200_000))
    );
    assert_eq!(h.collateral(INSURANCE_FUND), 345_071_974);
    assert_eq!(h.exchange().market(0).unwrap().state.open_interest, 66);
    // Deposits 121_500 USDC = collateral 121_007.199984 - costs (4507.2 - 6600 + 1599.999984).
    let sheet = h.exchange().balance_sheet();
    assert_eq!(sheet.collateral, 121_007_199_984);
    assert_eq!(sheet.unrealized_pnl, 492_800_016);
    assert!(sheet.balanced());

    // The guest, holding only the witnessed accounts, reaches the same output.
    let sealed = h.seal();
    assert_eq!(sealed.input.prior_root, prior_root);
    let output = verify_batch(
        &sealed.input,
        sealed.witness.clone(),
        &Ed25519Verifier,
        &NativePoseidon2::default(),
        &SoftSha256,
    )
    .expect("the guest accepts the batch");
    assert_eq!(output, sealed.output);
    assert_eq!(output.new_root, h.ledger.root());
    let balance = |account| {
        output
            .balances
            .iter()
            .find(|balance| balance.account == account)
            .map(|b| b.collateral)
    };
    assert_eq!(balance(bob), Some(20_662_128_010));
    assert_eq!(balance(alice), Some(0));
    assert_eq!(balance(INSURANCE_FUND), Some(345_071_974));
}
