//! What the engine publishes: per-group updates (events with their log positions, book level
//! changes with per-market sequence numbers), and which accounts an event concerns.

use std::collections::BTreeMap;

use gnomon_core::event::{Event, LiquidationVia};
use gnomon_core::exchange::Exchange;
use gnomon_core::fixed::{Lots, Price, Timestamp};
use gnomon_core::order::Side;
use gnomon_core::{AccountId, MarketId};
use serde::Serialize;

/// One event as streamed: the log position of the step that produced it and its time.
#[derive(Clone, Debug, Serialize)]
pub struct Stamped {
    pub position: u64,
    pub timestamp_ms: Timestamp,
    pub event: Event,
}

/// A change of one price level; `lots` 0 removes the level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LevelChange {
    pub side: Side,
    pub price: Price,
    pub lots: Lots,
}

/// The level changes of one market since its previous delta. A client applies deltas in
/// `sequence` order on top of a snapshot with the sequence before the first one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BookDelta {
    pub market: MarketId,
    pub sequence: u64,
    pub changes: Vec<LevelChange>,
}

/// What one durable group commit made visible.
#[derive(Clone, Debug, Default)]
pub struct Update {
    pub events: Vec<Stamped>,
    pub books: Vec<BookDelta>,
}

/// Aggregated lots per price level.
type Levels = BTreeMap<(Side, Price), Lots>;

/// The aggregated levels last published for every market (with the market's last delta
/// sequence), for computing deltas.
#[derive(Debug, Default)]
pub struct BookMirror {
    markets: BTreeMap<MarketId, (u64, Levels)>,
}

impl BookMirror {
    /// The deltas that bring the published books to `exchange`'s.
    pub fn diff(&mut self, exchange: &Exchange) -> Vec<BookDelta> {
        let mut deltas = Vec::new();
        for (id, market) in exchange.global().markets.iter().enumerate() {
            let Ok(id) = MarketId::try_from(id) else {
                break;
            };
            let current: Levels = [Side::Buy, Side::Sell]
                .into_iter()
                .flat_map(|side| {
                    market
                        .book
                        .depth(side, usize::MAX)
                        .into_iter()
                        .map(move |(price, lots)| ((side, price), lots))
                })
                .collect();
            let (sequence, published) = self.markets.entry(id).or_default();
            let mut changes: Vec<LevelChange> = current
                .iter()
                .filter(|(level, lots)| published.get(level) != Some(lots))
                .map(|(&(side, price), &lots)| LevelChange { side, price, lots })
                .collect();
            changes.extend(
                published
                    .keys()
                    .filter(|level| !current.contains_key(level))
                    .map(|&(side, price)| LevelChange {
                        side,
                        price,
                        lots: 0,
                    }),
            );
            if !changes.is_empty() {
                *sequence += 1;
                *published = current;
                deltas.push(BookDelta {
                    market: id,
                    sequence: *sequence,
                    changes,
                });
            }
        }
        deltas
    }

    /// The sequence of `market`'s last delta (0 before any).
    pub fn sequence(&self, market: MarketId) -> u64 {
        self.markets
            .get(&market)
            .map_or(0, |(sequence, _)| *sequence)
    }
}

/// The accounts an event concerns, for per-account streams.
pub fn event_accounts(event: &Event) -> [Option<AccountId>; 2] {
    match *event {
        Event::Filled {
            taker_account,
            maker_account,
            ..
        } => [Some(taker_account), Some(maker_account)],
        Event::Liquidated {
            account,
            via: LiquidationVia::Deleverage { counterparty },
            ..
        } => [Some(account), Some(counterparty)],
        Event::Liquidated {
            account,
            via: LiquidationVia::Book { maker_account, .. },
            ..
        } => [Some(account), Some(maker_account)],
        Event::OrderAccepted { account, .. }
        | Event::OrderModified { account, .. }
        | Event::ActionAccepted { account, .. }
        | Event::ActionRejected { account, .. }
        | Event::OrderRejected { account, .. }
        | Event::Cancelled { account, .. }
        | Event::Triggered { account, .. }
        | Event::Liquidated { account, .. }
        | Event::LiquidationRejected { account, .. }
        | Event::LiquidationIncomplete { account, .. }
        | Event::BadDebt { account, .. }
        | Event::FundingPaid { account, .. }
        | Event::Deposited { account, .. }
        | Event::Withdrawn { account, .. }
        | Event::SessionKeySet { account, .. } => [Some(account), None],
        Event::FundingRate { .. }
        | Event::FundingResidue { .. }
        | Event::OraclePrice { .. }
        | Event::OracleRejected { .. }
        | Event::MarketAdded { .. }
        | Event::MarketStatusChanged { .. }
        | Event::AdminRejected { .. } => [None, None],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gnomon_sim::{Sim, unit_market, usdc};

    #[test]
    fn deltas_carry_exactly_the_changed_levels_in_sequence() {
        let mut sim = Sim::new(vec![unit_market()]);
        sim.oracle(0, usdc(100));
        let maker = sim.trader(1, 10_000);
        let taker = sim.trader(2, 10_000);
        let mut mirror = BookMirror::default();
        assert!(mirror.diff(sim.exchange()).is_empty());

        sim.sell(maker, 5, usdc(101));
        sim.sell(maker, 5, usdc(102));
        let deltas = mirror.diff(sim.exchange());
        assert_eq!(deltas.len(), 1);
        assert_eq!(deltas[0].sequence, 1);
        assert_eq!(deltas[0].changes.len(), 2);

        let events = sim.buy(taker, 5, usdc(101));
        let deltas = mirror.diff(sim.exchange());
        assert_eq!(
            deltas[0].changes,
            vec![LevelChange {
                side: Side::Sell,
                price: usdc(101),
                lots: 0
            }]
        );
        assert_eq!(deltas[0].sequence, 2);
        assert_eq!(mirror.sequence(0), 2);

        let fill = events
            .iter()
            .find(|event| matches!(event, Event::Filled { .. }))
            .expect("a fill");
        assert_eq!(event_accounts(fill), [Some(taker), Some(maker)]);
    }
}
