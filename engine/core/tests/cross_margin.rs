//! Cross margin across two markets: requirements add up, profits in one market back
//! positions in another, and collateral may go negative while unrealized gains elsewhere
//! cover it (but never leaves the account).

use gnomon_core::action::{Action, AdminAction};
use gnomon_core::error::RejectReason;
use gnomon_core::event::Event;
use gnomon_core::order::{Side, TimeInForce};
use gnomon_sim::*;

#[test]
fn profits_in_one_market_back_risk_in_another() {
    let mut h = Sim::new(vec![feeless_market(), feeless_market()]);
    let alice = h.trader(1, 1_000);
    let mm = h.trader(2, 100_000);
    h.oracle(0, usdc(100));
    h.oracle(1, usdc(100));
    h.sell(mm, 50, usdc(100));
    h.order(
        mm,
        limit(1, Side::Sell, 60, usdc(100), TimeInForce::GoodTillCancel),
    );

    // 50 lots in market 0 and 40 in market 1: 500 + 400 of initial margin on 1000.
    h.buy(alice, 50, usdc(100));
    h.order(
        alice,
        limit(1, Side::Buy, 40, usdc(100), TimeInForce::GoodTillCancel),
    );
    // 20 more in market 1 would need 1100 in all.
    let events = h.order(
        alice,
        limit(1, Side::Buy, 20, usdc(100), TimeInForce::GoodTillCancel),
    );
    assert_eq!(rejection(&events), Some(RejectReason::InsufficientMargin));

    // Market 0 rises to 120: value 2000, initial 600 + 400; now the 20 lots fit.
    h.advance(1_000);
    h.oracle(0, usdc(120));
    let events = h.order(
        alice,
        limit(1, Side::Buy, 20, usdc(100), TimeInForce::GoodTillCancel),
    );
    assert_eq!(fills(&events), vec![(mm, alice, usdc(100), 20)]);

    // Market 1 falls to 80: value 1000 + 1000 - 1200 = 800, initial 600 + 480 = 1080,
    // maintenance 300 + 240 = 540. Below initial: only reducing is allowed.
    h.advance(1_000);
    h.oracle(1, usdc(80));
    let health = h.exchange().health(alice).unwrap();
    assert_eq!(
        (health.value, health.initial, health.maintenance),
        (800 * USDC as i128, 1_080 * USDC as i128, 540 * USDC as i128)
    );
    h.order(
        mm,
        limit(1, Side::Buy, 60, usdc(80), TimeInForce::GoodTillCancel),
    );
    // Closing market 1 at 80 realizes -1200 on 1000 of collateral: -200, covered by the
    // +1000 unrealized in market 0 (value 800 >= initial 600).
    let events = h.order(
        alice,
        limit(1, Side::Sell, 60, usdc(80), TimeInForce::ImmediateOrCancel),
    );
    assert_eq!(fills(&events).len(), 1, "{events:?}");
    assert_eq!(h.collateral(alice), -200 * USDC);
    let health = h.exchange().health(alice).unwrap();
    assert_eq!(
        (health.value, health.initial),
        (800 * USDC as i128, 600 * USDC as i128)
    );
    // Free collateral is 200, but no settled collateral can leave.
    assert_eq!(
        rejection(&h.act(alice, Action::Withdraw { amount: 1 })),
        Some(RejectReason::InsufficientFreeCollateral)
    );
    // Liquidation price in market 0: -200 + 50 (p - 100) = 2.5 p  →  p = 109.473684..., up.
    assert_eq!(h.exchange().liquidation_price(alice, 0), Some(109_473_685));
    assert_eq!(h.exchange().liquidation_price(alice, 1), None);
    h.assert_balanced();
}

#[test]
fn markets_can_be_added_and_are_independent() {
    let mut h = Sim::new(vec![feeless_market()]);
    let alice = h.trader(1, 1_000);
    let events = h.admin(AdminAction::AddMarket(unit_market()));
    assert!(events.contains(&Event::MarketAdded { market: 1 }));
    let mut invalid = unit_market();
    invalid.tick_size = 0;
    let events = h.admin(AdminAction::AddMarket(invalid));
    assert!(matches!(
        events.last(),
        Some(Event::AdminRejected {
            reason: RejectReason::InvalidMarketConfig,
            ..
        })
    ));
    // The new market has no price yet; the old one is unaffected.
    let events = h.order(
        alice,
        limit(1, Side::Buy, 1, usdc(100), TimeInForce::GoodTillCancel),
    );
    assert_eq!(rejection(&events), Some(RejectReason::NoOraclePrice));
    h.oracle(1, usdc(100));
    let id = placed(&h.order(
        alice,
        limit(1, Side::Buy, 1, usdc(99), TimeInForce::GoodTillCancel),
    ));
    assert!(h.exchange().market(1).unwrap().book.resting(id).is_some());
    assert!(h.exchange().market(0).unwrap().book.resting(id).is_none());
}
