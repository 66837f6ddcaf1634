//! Price history: candles of each market's trades, with the mark and index prices at their
//! close, at fixed intervals.
//!
//! Candles are folded from the trades and oracle prices a commit writes, inside its
//! transaction. Each candle remembers the last record it folded (log position and index in the
//! step), so a step recorded again after a crash is not counted twice.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use gnomon_core::MarketId;
use gnomon_core::fixed::{Lots, Price, Timestamp};
use redb::{ReadableTable, Table, TableDefinition};
use serde::{Deserialize, Serialize};

use super::{HistoryError, MarketKey};

/// A candle's length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Interval {
    #[serde(rename = "1m")]
    Minute,
    #[serde(rename = "1h")]
    Hour,
    #[serde(rename = "1d")]
    Day,
}

impl Interval {
    const ALL: [Self; 3] = [Self::Minute, Self::Hour, Self::Day];

    pub fn ms(self) -> u64 {
        match self {
            Self::Minute => 60_000,
            Self::Hour => 3_600_000,
            Self::Day => 86_400_000,
        }
    }

    fn tag(self) -> u8 {
        self as u8
    }
}

/// One interval of a market: its trades' open, high, low, close and volume (none when nothing
/// traded), and the mark and index prices last published in it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Candle {
    pub start_ms: Timestamp,
    pub open: Option<Price>,
    pub high: Option<Price>,
    pub low: Option<Price>,
    pub close: Option<Price>,
    /// Lots traded.
    pub volume: Lots,
    pub trades: u32,
    pub mark: Option<Price>,
    pub index: Option<Price>,
}

/// A record that moves candles.
#[derive(Clone, Copy, Debug)]
pub(super) enum Tick {
    Trade { price: Price, lots: Lots },
    Oracle { index: Price, mark: Price },
}

/// A tick with the key of the record it came from.
#[derive(Clone, Copy, Debug)]
pub(super) struct CandleUpdate {
    pub key: MarketKey,
    pub timestamp_ms: Timestamp,
    pub tick: Tick,
}

/// `(market, interval tag, start)`.
type CandleKey = (MarketId, u8, u64);
/// The candle's fields, then the log position and step index of the last record folded in.
type CandleValue = (
    Option<Price>,
    Option<Price>,
    Option<Price>,
    Option<Price>,
    Lots,
    u32,
    Option<Price>,
    Option<Price>,
    u64,
    u32,
);
pub(super) const CANDLES: TableDefinition<CandleKey, CandleValue> = TableDefinition::new("candles");

impl Candle {
    fn fold(&mut self, tick: Tick) {
        match tick {
            Tick::Trade { price, lots } => {
                self.open.get_or_insert(price);
                self.high = Some(self.high.map_or(price, |high| high.max(price)));
                self.low = Some(self.low.map_or(price, |low| low.min(price)));
                self.close = Some(price);
                self.volume += lots;
                self.trades += 1;
            }
            Tick::Oracle { index, mark } => {
                self.mark = Some(mark);
                self.index = Some(index);
            }
        }
    }

    fn stored(&self, last: (u64, u32)) -> CandleValue {
        (
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            self.trades,
            self.mark,
            self.index,
            last.0,
            last.1,
        )
    }

    fn from_stored(start_ms: Timestamp, value: CandleValue) -> (Self, (u64, u32)) {
        let (open, high, low, close, volume, trades, mark, index, position, ordinal) = value;
        let candle = Self {
            start_ms,
            open,
            high,
            low,
            close,
            volume,
            trades,
            mark,
            index,
        };
        (candle, (position, ordinal))
    }
}

/// Folds `updates` (in log order) into the candles of every interval.
pub(super) fn fold(
    table: &mut Table<CandleKey, CandleValue>,
    updates: &[CandleUpdate],
) -> Result<(), HistoryError> {
    // Each touched candle, with the last record folded into it (none for a new candle).
    let mut touched: BTreeMap<CandleKey, (Candle, Option<(u64, u32)>)> = BTreeMap::new();
    for update in updates {
        let (market, position, ordinal) = update.key;
        for interval in Interval::ALL {
            let start_ms = update.timestamp_ms - update.timestamp_ms % interval.ms();
            let key = (market, interval.tag(), start_ms);
            let (candle, last) = match touched.entry(key) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => {
                    let stored = match table.get(key)? {
                        Some(value) => {
                            let (candle, last) = Candle::from_stored(start_ms, value.value());
                            (candle, Some(last))
                        }
                        None => {
                            let candle = Candle {
                                start_ms,
                                ..Candle::default()
                            };
                            (candle, None)
                        }
                    };
                    entry.insert(stored)
                }
            };
            if last.is_none_or(|last| (position, ordinal) > last) {
                candle.fold(update.tick);
                *last = Some((position, ordinal));
            }
        }
    }
    for (key, (candle, last)) in touched {
        if let Some(last) = last {
            table.insert(key, candle.stored(last))?;
        }
    }
    Ok(())
}

/// The newest `limit` candles of `market` at `interval`, newest first.
pub(super) fn newest(
    table: &impl ReadableTable<CandleKey, CandleValue>,
    market: MarketId,
    interval: Interval,
    limit: usize,
) -> Result<Vec<Candle>, HistoryError> {
    let range = (market, interval.tag(), 0)..=(market, interval.tag(), u64::MAX);
    let mut candles = Vec::new();
    for entry in table.range(range)?.rev().take(limit) {
        let (key, value) = entry?;
        let (_, _, start_ms) = key.value();
        candles.push(Candle::from_stored(start_ms, value.value()).0);
    }
    Ok(candles)
}
