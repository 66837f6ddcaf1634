//! Queryable history: trades and funding settlements, kept for good in an embedded store.
//!
//! [`StoredHistory`] keeps them in a redb database next to the log. Records are keyed by
//! `(market, log position, index within the step)`, so replaying log records after a crash
//! writes the same keys again: recording is idempotent. The sequencer commits each group's
//! records after the log's fsync, durably (fsync) only before a snapshot, so the store always
//! holds everything up to the newest snapshot and recovery's replay fills in the rest. A deployment that wants
//! PostgreSQL implements [`History`].

use std::path::Path;

use gnomon_core::MarketId;
use gnomon_core::event::Event;
use gnomon_core::fixed::{Lots, Price, Timestamp};
use gnomon_core::order::Side;
use redb::{Database, Durability, TableDefinition};
use serde::Serialize;

use crate::market_data::Stamped;

/// A trade as history keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Trade {
    pub position: u64,
    pub timestamp_ms: Timestamp,
    pub price: Price,
    pub lots: Lots,
    #[schema(value_type = String)]
    pub taker_side: Side,
}

/// An hourly funding settlement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FundingRecord {
    pub position: u64,
    pub timestamp_ms: Timestamp,
    pub rate: i64,
    pub hours: u64,
    pub index: i128,
}

/// The store failed.
#[derive(Debug, thiserror::Error)]
#[error("history store: {0}")]
pub struct HistoryError(String);

impl<E: Into<redb::Error>> From<E> for HistoryError {
    fn from(error: E) -> Self {
        Self(error.into().to_string())
    }
}

/// Where trades and funding records are kept and queried.
pub trait History: Send {
    /// Buffers what `stamped` adds to the history (most events add nothing).
    fn record(&mut self, stamped: &Stamped);
    /// Records buffered since the last commit.
    fn buffered(&self) -> usize;
    /// Writes every buffered record: visible to queries from then on, on disk when `durable`
    /// (the sequencer asks for that before each snapshot; the log covers the rest).
    fn commit(&mut self, durable: bool) -> Result<(), HistoryError>;
    /// The newest `limit` trades of `market`, newest first.
    fn trades(&self, market: MarketId, limit: usize) -> Result<Vec<Trade>, HistoryError>;
    /// The newest `limit` funding settlements of `market`, newest first.
    fn funding(&self, market: MarketId, limit: usize) -> Result<Vec<FundingRecord>, HistoryError>;
}

type Key = (MarketId, u64, u32);
const TRADES: TableDefinition<Key, (Timestamp, Price, Lots, bool)> = TableDefinition::new("trades");
const FUNDING: TableDefinition<Key, (Timestamp, i64, u64, i128)> = TableDefinition::new("funding");

/// History in a redb database.
pub struct StoredHistory {
    database: Database,
    trades: Vec<(Key, Trade)>,
    funding: Vec<(Key, FundingRecord)>,
    /// The step the last recorded event came from, and how many of its events were recorded.
    step: (u64, u32),
}

impl std::fmt::Debug for StoredHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredHistory").finish_non_exhaustive()
    }
}

impl StoredHistory {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, HistoryError> {
        Ok(Self {
            database: Database::create(path)?,
            trades: Vec::new(),
            funding: Vec::new(),
            step: (u64::MAX, 0),
        })
    }

    fn key(&mut self, market: MarketId, position: u64) -> Key {
        let ordinal = if self.step.0 == position {
            self.step.1
        } else {
            0
        };
        self.step = (position, ordinal + 1);
        (market, position, ordinal)
    }
}

fn market_range(market: MarketId) -> std::ops::RangeInclusive<Key> {
    (market, 0, 0)..=(market, u64::MAX, u32::MAX)
}

impl History for StoredHistory {
    fn record(&mut self, stamped: &Stamped) {
        let (position, timestamp_ms) = (stamped.position, stamped.timestamp_ms);
        match stamped.event {
            Event::Filled {
                market,
                price,
                lots,
                taker_side,
                ..
            } => {
                let key = self.key(market, position);
                let trade = Trade {
                    position,
                    timestamp_ms,
                    price,
                    lots,
                    taker_side,
                };
                self.trades.push((key, trade));
            }
            Event::FundingRate {
                market,
                rate,
                hours,
                index,
            } => {
                let key = self.key(market, position);
                let record = FundingRecord {
                    position,
                    timestamp_ms,
                    rate,
                    hours,
                    index,
                };
                self.funding.push((key, record));
            }
            _ => {}
        }
    }

    fn buffered(&self) -> usize {
        self.trades.len() + self.funding.len()
    }

    fn commit(&mut self, durable: bool) -> Result<(), HistoryError> {
        if self.buffered() == 0 && !durable {
            return Ok(());
        }
        let mut transaction = self.database.begin_write()?;
        // A non-durable commit is lost in a crash until the next durable one; recovery replays
        // the log from the newest snapshot, before which every commit was durable.
        transaction.set_durability(if durable {
            Durability::Immediate
        } else {
            Durability::None
        });
        {
            let mut trades = transaction.open_table(TRADES)?;
            for (key, trade) in self.trades.drain(..) {
                let buy = trade.taker_side == Side::Buy;
                trades.insert(key, (trade.timestamp_ms, trade.price, trade.lots, buy))?;
            }
            let mut funding = transaction.open_table(FUNDING)?;
            for (key, record) in self.funding.drain(..) {
                funding.insert(
                    key,
                    (record.timestamp_ms, record.rate, record.hours, record.index),
                )?;
            }
        }
        transaction.commit()?;
        Ok(())
    }

    fn trades(&self, market: MarketId, limit: usize) -> Result<Vec<Trade>, HistoryError> {
        self.newest(
            TRADES,
            market,
            limit,
            |position, (timestamp_ms, price, lots, buy)| Trade {
                position,
                timestamp_ms,
                price,
                lots,
                taker_side: if buy { Side::Buy } else { Side::Sell },
            },
        )
    }

    fn funding(&self, market: MarketId, limit: usize) -> Result<Vec<FundingRecord>, HistoryError> {
        self.newest(
            FUNDING,
            market,
            limit,
            |position, (timestamp_ms, rate, hours, index)| FundingRecord {
                position,
                timestamp_ms,
                rate,
                hours,
                index,
            },
        )
    }
}

impl StoredHistory {
    /// The newest `limit` records of `market` in `table`, newest first, each decoded from its
    /// log position and stored value.
    fn newest<V: redb::Value + 'static, R>(
        &self,
        table: TableDefinition<'static, Key, V>,
        market: MarketId,
        limit: usize,
        decode: impl for<'a> Fn(u64, V::SelfType<'a>) -> R,
    ) -> Result<Vec<R>, HistoryError> {
        let transaction = self.database.begin_read()?;
        let table = match transaction.open_table(table) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(error) => return Err(error.into()),
        };
        let mut records = Vec::new();
        for entry in table.range(market_range(market))?.rev().take(limit) {
            let (key, value) = entry?;
            let (_, position, _) = key.value();
            records.push(decode(position, value.value()));
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gnomon_sim::{Sim, unit_market, usdc};

    fn stamp(position: u64, events: Vec<Event>) -> Vec<Stamped> {
        events
            .into_iter()
            .map(|event| Stamped {
                position,
                timestamp_ms: 1_000 + position,
                event,
            })
            .collect()
    }

    #[test]
    fn trades_persist_newest_first_and_replays_do_not_duplicate_them() {
        let mut sim = Sim::new(vec![unit_market()]);
        sim.oracle(0, usdc(100));
        let maker = sim.trader(1, 10_000);
        let taker = sim.trader(2, 10_000);
        sim.sell(maker, 5, usdc(100));
        sim.sell(maker, 5, usdc(101));
        let sweep = sim.buy(taker, 8, usdc(101));
        let single = sim.buy(taker, 1, usdc(101));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.redb");
        let mut history = StoredHistory::open(&path).unwrap();
        assert!(history.trades(0, 10).unwrap().is_empty());
        for stamped in stamp(7, sweep.clone()).iter().chain(&stamp(8, single)) {
            history.record(stamped);
        }
        history.commit(false).unwrap();
        // A replay after a crash records the same step again.
        for stamped in &stamp(7, sweep) {
            history.record(stamped);
        }
        history.commit(true).unwrap();
        drop(history);

        let history = StoredHistory::open(&path).unwrap();
        let trades = history.trades(0, 10).unwrap();
        let summary: Vec<(u64, u64, u64)> = trades
            .iter()
            .map(|trade| (trade.position, trade.price, trade.lots))
            .collect();
        assert_eq!(
            summary,
            vec![(8, usdc(101), 1), (7, usdc(101), 3), (7, usdc(100), 5)]
        );
        assert_eq!(trades[0].taker_side, Side::Buy);
        assert_eq!(history.trades(0, 1).unwrap().len(), 1);
        assert!(history.trades(1, 10).unwrap().is_empty());
        assert!(history.funding(0, 10).unwrap().is_empty());
    }
}
