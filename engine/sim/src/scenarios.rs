//! Named batches, one per action kind, for measuring what each action costs the guest.
//!
//! Each [`Scenario`] is a pair of batches sealed from the same state: `batch` holds the
//! baseline steps and then `actions` actions of one kind, `baseline` the baseline steps
//! alone. Their difference is what the actions cost, their share of the batch's state-tree
//! updates included. Every action is by a different trader (a fill touches two: the taker
//! and the maker), the worst case for tree updates: no two actions share an account's
//! Merkle update.

use gnomon_core::AccountId;
use gnomon_core::action::Action;
use gnomon_core::batch::SealedBatch;
use gnomon_core::fixed::HOUR_MS;
use gnomon_core::order::{Side, TimeInForce};

use crate::generate::{Generator, Profile};
use crate::{Sim, USDC, unit_market, usdc};

/// A measured batch and its baseline.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: &'static str,
    /// The baseline steps, then the measured actions.
    pub batch: SealedBatch,
    /// The baseline steps alone, from the same state.
    pub baseline: SealedBatch,
    pub actions: usize,
}

/// Key seeds of scenario traders start here.
const SEEDS: u32 = 1_000;

/// A sim with an insurance fund, a market priced at 100 and `traders` funded traders, its
/// setup batch sealed.
fn exchange(traders: usize, usdc_each: i64) -> (Sim, Vec<AccountId>) {
    let mut sim = Sim::new(vec![unit_market()]);
    sim.fund_insurance(10_000);
    sim.oracle(0, usdc(100));
    let accounts = (0..traders)
        .map(|i| sim.trader(SEEDS + i as u32, usdc_each))
        .collect();
    (sim, accounts)
}

/// Seals `baseline` steps alone and with `actions` after them, from `sim`'s state.
fn measure(
    name: &'static str,
    mut sim: Sim,
    count: usize,
    baseline: impl Fn(&mut Sim),
    actions: impl FnOnce(&mut Sim),
) -> Scenario {
    sim.advance(1_000);
    sim.seal();
    let mut alone = sim.clone();
    baseline(&mut alone);
    baseline(&mut sim);
    actions(&mut sim);
    Scenario {
        name,
        batch: sim.seal(),
        baseline: alone.seal(),
        actions: count,
    }
}

/// `count` resting limit orders, none crossing.
pub fn place(count: usize) -> Scenario {
    let (sim, traders) = exchange(count, 1_000);
    measure(
        "place",
        sim,
        count,
        |_| {},
        |sim| {
            for (i, &trader) in traders.iter().enumerate() {
                sim.buy(trader, 1, usdc(90) - i as u64 * 10_000);
            }
        },
    )
}

/// `count` cancels of resting orders.
pub fn cancel(count: usize) -> Scenario {
    let (mut sim, traders) = exchange(count, 1_000);
    for (i, &trader) in traders.iter().enumerate() {
        sim.buy(trader, 1, usdc(90) - i as u64 * 10_000);
    }
    measure(
        "cancel",
        sim,
        count,
        |_| {},
        |sim| {
            for &trader in &traders {
                sim.act(trader, Action::CancelAll { market: Some(0) });
            }
        },
    )
}

/// `count` immediate-or-cancel orders, each filling one resting order of another trader.
pub fn fill(count: usize) -> Scenario {
    let (mut sim, traders) = exchange(2 * count, 1_000);
    let (makers, takers) = traders.split_at(count);
    for &maker in makers {
        sim.sell(maker, 1, usdc(101));
    }
    let takers = takers.to_vec();
    measure(
        "fill",
        sim,
        count,
        |_| {},
        |sim| {
            for &taker in &takers {
                sim.limit(
                    taker,
                    Side::Buy,
                    1,
                    usdc(101),
                    TimeInForce::ImmediateOrCancel,
                );
            }
        },
    )
}

/// After a 7% drop, `count` liquidations of leveraged longs, each closing into the book.
pub fn liquidation(count: usize) -> Scenario {
    let (mut sim, traders) = exchange(count, 100);
    let maker = sim.trader(SEEDS - 1, 10_000_000);
    for &trader in &traders {
        sim.sell(maker, 9, usdc(100));
        sim.buy(trader, 9, usdc(100));
    }
    // Bids the liquidations close into.
    sim.buy(maker, 9 * count as u64, usdc(93));
    sim.advance(1_000);
    sim.oracle(0, usdc(93));
    measure(
        "liquidation",
        sim,
        count,
        |sim| {
            sim.oracle(0, usdc(93) - 10_000);
        },
        |sim| {
            for &trader in &traders {
                sim.liquidate(trader);
            }
        },
    )
}

/// `count` hourly funding settlements of a market with open positions (ticks an hour
/// apart).
pub fn funding(count: usize) -> Scenario {
    let (mut sim, traders) = exchange(2, 1_000);
    sim.sell(traders[0], 5, usdc(100));
    sim.buy(traders[1], 5, usdc(100));
    measure(
        "funding tick",
        sim,
        count,
        |_| {},
        |sim| {
            for _ in 0..count {
                sim.advance(HOUR_MS);
                sim.tick();
            }
        },
    )
}

/// `count` deposits into existing accounts.
pub fn deposit(count: usize) -> Scenario {
    let (sim, traders) = exchange(count, 100);
    measure(
        "deposit",
        sim,
        count,
        |_| {},
        |sim| {
            for &trader in &traders {
                sim.deposit(trader, 50 * USDC);
            }
        },
    )
}

/// `count` withdrawals.
pub fn withdrawal(count: usize) -> Scenario {
    let (sim, traders) = exchange(count, 100);
    measure(
        "withdrawal",
        sim,
        count,
        |_| {},
        |sim| {
            for &trader in &traders {
                sim.act(
                    trader,
                    Action::Withdraw {
                        amount: 50 * USDC as u64,
                    },
                );
            }
        },
    )
}

/// Every per-kind scenario, `count` actions each.
pub fn per_action(count: usize) -> Vec<Scenario> {
    vec![
        place(count),
        cancel(count),
        fill(count),
        liquidation(count),
        funding(count),
        deposit(count),
        withdrawal(count),
    ]
}

/// A generated batch of `steps` mixed steps (after the setup batch, which is returned
/// first) from the default [`Profile`].
pub fn mixed(seed: u64, steps: usize) -> [SealedBatch; 2] {
    let mut generator = Generator::new(seed, Profile::default());
    let setup = generator.batch(0);
    [setup, generator.batch(steps)]
}
