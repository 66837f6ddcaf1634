//! Funding through the state machine: hourly settlement, lazy and exact payments, the
//! residue to the insurance fund, caps, hours without steps.

use gnomon_core::INSURANCE_FUND;
use gnomon_core::action::Action;
use gnomon_core::event::Event;
use gnomon_core::fixed::HOUR_MS;
use gnomon_sim::*;

fn paid(events: &[Event]) -> Vec<(u32, i64)> {
    events
        .iter()
        .filter_map(|event| match *event {
            Event::FundingPaid {
                account, amount, ..
            } => Some((account, amount)),
            _ => None,
        })
        .collect()
}

/// Alice long 3 and Bob short 3 at 100.01, no book left (a zero premium).
fn positions() -> (Sim, u32, u32) {
    let mut h = Sim::new(vec![feeless_market()]);
    let alice = h.trader(1, 1_000);
    let bob = h.trader(2, 1_000);
    h.oracle(0, 100_010_000);
    h.sell(bob, 3, 100_010_000);
    h.buy(alice, 3, 100_010_000);
    (h, alice, bob)
}

#[test]
fn payments_are_lazy_exact_and_the_residue_goes_to_the_fund() {
    let (mut h, alice, bob) = positions();
    h.now = HOUR_MS;
    let events = h.oracle(0, 100_010_000);
    // No premium: the hourly rate is the interest, 0.01% / 8 = 12_500 billionths; the index
    // grows by 12_500 * 100_010_000 = 1_250_125_000_000 (1250.125 atoms per lot).
    assert!(events.contains(&Event::FundingRate {
        market: 0,
        rate: 12_500,
        hours: 1,
        index: 1_250_125_000_000
    }));
    assert!(
        paid(&events).is_empty(),
        "nothing is paid until an account acts"
    );
    // Alice owes 3 * 1250.125 = 3750.375: she pays 3751. Bob receives 3750.
    let events = h.act(alice, Action::CancelAll { market: None });
    assert_eq!(paid(&events), vec![(alice, 3_751)]);
    let events = h.act(bob, Action::CancelAll { market: None });
    assert_eq!(paid(&events), vec![(bob, -3_750)]);
    assert_eq!(h.collateral(alice), 1_000 * USDC - 3_751);
    assert_eq!(h.collateral(bob), 1_000 * USDC + 3_750);
    let state = &h.exchange().market(0).unwrap().state;
    assert_eq!((state.funding_pool, state.funding_exposure), (1, 0));
    // The next hour sweeps the one-atom residue to the insurance fund.
    h.now = 2 * HOUR_MS;
    let events = h.oracle(0, 100_010_000);
    assert!(events.contains(&Event::FundingResidue {
        market: 0,
        amount: 1
    }));
    assert_eq!(h.collateral(INSURANCE_FUND), 1);
    assert_eq!(h.exchange().market(0).unwrap().state.funding_pool, 0);
    h.assert_balanced();
}

#[test]
fn the_rate_is_capped() {
    let mut config = feeless_market();
    config.funding.cap_per_hour = 10_000_000;
    let mut h = Sim::new(vec![config]);
    let mm = h.trader(1, 100_000);
    h.oracle(0, usdc(100));
    // Bids at 150 against an index of 100: a 50% premium, far beyond the 1% cap.
    h.buy(mm, 20, usdc(150));
    h.advance(1_000);
    h.oracle(0, usdc(100));
    h.now = HOUR_MS;
    let events = h.oracle(0, usdc(100));
    assert!(
        events.iter().any(|event| matches!(
            event,
            Event::FundingRate {
                rate: 10_000_000,
                ..
            }
        )),
        "{events:?}"
    );
}

#[test]
fn hours_without_steps_settle_at_once() {
    let (mut h, alice, _) = positions();
    h.now = 5 * HOUR_MS + 10;
    let events = h.oracle(0, 100_010_000);
    // Five hours at the interest rate.
    assert!(events.contains(&Event::FundingRate {
        market: 0,
        rate: 12_500,
        hours: 5,
        index: 5 * 1_250_125_000_000
    }));
    let events = h.act(alice, Action::CancelAll { market: None });
    // 3 * 5 * 1250.125 = 18751.875 → 18752.
    assert_eq!(paid(&events), vec![(alice, 18_752)]);
}
