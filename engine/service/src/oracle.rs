//! Oracle price feeds: the input adapter that brings signed index prices to the sequencer.
//!
//! A feed returns signed updates chained onto each market's current oracle head. The two
//! feeds here sign with the development oracle key (gnomon-sim's), for demos and tests: a
//! simulated random walk, and a replay of prices from a file. A production feed (a
//! Pyth-style on-chain account, relayed with the authority's signature) implements the same
//! trait.

use std::path::Path;

use gnomon_core::MarketId;
use gnomon_core::action::SignedOracleUpdate;
use gnomon_core::exchange::Exchange;
use gnomon_core::fixed::{Price, Timestamp};
use gnomon_core::prices::OracleUpdate;
use gnomon_sim::{Rng, sign_oracle};

/// Produces the next oracle updates when polled.
pub trait OracleFeed: Send {
    /// Updates published at `now_ms` for `exchange`'s markets (possibly none).
    fn poll(&mut self, now_ms: Timestamp, exchange: &Exchange) -> Vec<SignedOracleUpdate>;
}

fn signed(
    exchange: &Exchange,
    market: MarketId,
    price: Price,
    now_ms: Timestamp,
) -> Option<SignedOracleUpdate> {
    let chain = exchange.market(market)?.state.oracle_chain;
    Some(sign_oracle(
        &chain,
        OracleUpdate {
            market,
            price,
            publish_time_ms: now_ms,
        },
    ))
}

/// A random walk per market from a starting price, steps of at most `step_bps` basis points.
#[derive(Debug)]
pub struct SimulatedFeed {
    rng: Rng,
    prices: Vec<Price>,
    step_bps: u64,
}

impl SimulatedFeed {
    pub fn new(seed: u64, start_prices: Vec<Price>, step_bps: u64) -> Self {
        Self {
            rng: Rng::new(seed),
            prices: start_prices,
            step_bps,
        }
    }
}

impl OracleFeed for SimulatedFeed {
    fn poll(&mut self, now_ms: Timestamp, exchange: &Exchange) -> Vec<SignedOracleUpdate> {
        let mut updates = Vec::new();
        for (index, price) in self.prices.iter_mut().enumerate() {
            let Ok(market) = MarketId::try_from(index) else {
                break;
            };
            let Some(config) = exchange.market(market).map(|market| &market.config) else {
                continue;
            };
            let step = (*price / 10_000 * self.rng.below(self.step_bps + 1)).max(config.tick_size);
            let moved = if self.rng.chance(50) {
                price.saturating_add(step)
            } else {
                price.saturating_sub(step).max(config.tick_size)
            };
            *price = moved - moved % config.tick_size;
            updates.extend(signed(exchange, market, *price, now_ms));
        }
        updates
    }
}

/// Prices from a file, one `market price` pair per line (`#` starts a comment), published one
/// line per poll and replayed from the top when the file ends.
#[derive(Debug)]
pub struct ReplayFeed {
    prices: Vec<(MarketId, Price)>,
    next: usize,
}

/// A replay file line that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}: expected `market price`")]
pub struct ReplayFileError {
    pub path: String,
    pub line: usize,
}

impl ReplayFeed {
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        let mut prices = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let content = line.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let error = || ReplayFileError {
                path: path.display().to_string(),
                line: index + 1,
            };
            let mut fields = content.split_whitespace();
            let market = fields
                .next()
                .and_then(|f| f.parse().ok())
                .ok_or_else(error)?;
            let price = fields
                .next()
                .and_then(|f| f.parse().ok())
                .ok_or_else(error)?;
            if fields.next().is_some() {
                return Err(error().into());
            }
            prices.push((market, price));
        }
        Ok(Self { prices, next: 0 })
    }
}

impl OracleFeed for ReplayFeed {
    fn poll(&mut self, now_ms: Timestamp, exchange: &Exchange) -> Vec<SignedOracleUpdate> {
        let Some(&(market, price)) = self.prices.get(self.next) else {
            return Vec::new();
        };
        self.next = (self.next + 1) % self.prices.len();
        signed(exchange, market, price, now_ms)
            .into_iter()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gnomon_core::batch::StepKind;
    use gnomon_core::event::Event;
    use gnomon_sim::{Sim, unit_market, usdc};

    fn applies(sim: &mut Sim, feed: &mut dyn OracleFeed) -> usize {
        let updates = feed.poll(sim.now, sim.exchange());
        let count = updates.len();
        for update in updates {
            let events = sim.step(StepKind::Oracle(update));
            assert!(
                matches!(events[..], [Event::OraclePrice { .. }, ..]),
                "{events:?}"
            );
        }
        sim.advance(1_000);
        count
    }

    #[test]
    fn simulated_prices_walk_on_ticks_and_chain_onto_the_market() {
        let mut sim = Sim::new(vec![unit_market(), unit_market()]);
        let mut feed = SimulatedFeed::new(1, vec![usdc(100), usdc(2_000)], 20);
        for _ in 0..50 {
            assert_eq!(applies(&mut sim, &mut feed), 2);
        }
        let price = sim.exchange().market(1).unwrap().state.index_price;
        assert_eq!(price % unit_market().tick_size, 0);
    }

    #[test]
    fn a_replay_file_is_read_strictly_and_replayed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prices");
        std::fs::write(&path, "# market price\n0 100000000\n0 100500000 # up\n").unwrap();
        let mut feed = ReplayFeed::from_file(&path).unwrap();
        let mut sim = Sim::new(vec![unit_market()]);
        for expected in [usdc(100), 100_500_000, usdc(100)] {
            applies(&mut sim, &mut feed);
            assert_eq!(
                sim.exchange().market(0).unwrap().state.index_price,
                expected
            );
        }
        std::fs::write(&path, "0 100000000 7\n").unwrap();
        let error = ReplayFeed::from_file(&path).unwrap_err().to_string();
        assert!(error.ends_with(":1: expected `market price`"), "{error}");
    }
}
