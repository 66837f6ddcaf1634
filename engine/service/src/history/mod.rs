//! Queryable history, kept for good in an embedded store: each market's trades, funding
//! settlements and candles (see [`candles`]), and each account's fills (maker, taker,
//! liquidations) and funding payments.
//!
//! [`StoredHistory`] keeps them in a redb database next to the log. Records are keyed by
//! `(market or account, log position, index within the step)`, so replaying log records after
//! a crash writes the same keys again: recording is idempotent. The sequencer commits each group's
//! records after the log's fsync, durably (fsync) only before a snapshot, so the store always
//! holds everything up to the newest snapshot and recovery's replay fills in the rest. A deployment that wants
//! PostgreSQL implements [`History`].

use std::path::Path;

use gnomon_core::event::{Event, LiquidationVia};
use gnomon_core::fixed::{Lots, Price, Quote, Timestamp};
use gnomon_core::order::Side;
use gnomon_core::{AccountId, MarketId, OrderId};
use redb::{Database, Durability, TableDefinition};
use serde::Serialize;

use crate::market_data::Stamped;

pub mod candles;

use candles::{CANDLES, CandleUpdate, Tick};
pub use candles::{Candle, Interval};

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

/// How an account's position changed hands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Liquidity {
    /// Its resting order was taken.
    Maker,
    /// Its order took a resting one.
    Taker,
    /// Liquidated into the insurance fund at the bankruptcy price.
    Backstop,
    /// Liquidated against an opposite position (auto-deleveraging); the opposite side's fill
    /// has this liquidity too.
    Deleverage,
}

impl Liquidity {
    const ALL: [Self; 4] = [Self::Maker, Self::Taker, Self::Backstop, Self::Deleverage];
}

/// One of an account's fills: a trade seen from its side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Fill {
    pub position: u64,
    pub timestamp_ms: Timestamp,
    pub market: MarketId,
    /// The account's side.
    #[schema(value_type = String)]
    pub side: Side,
    pub price: Price,
    pub lots: Lots,
    pub liquidity: Liquidity,
    /// The account's order; none for backstop and deleverage fills.
    pub order_id: Option<OrderId>,
    /// The trading fee; negative is a rebate.
    pub fee: Quote,
    /// Whether this fill closed a liquidated position.
    pub liquidation: bool,
    /// The liquidation fee paid to the insurance fund on top of `fee`.
    pub liquidation_fee: Quote,
}

/// A funding payment of one account: positive paid, negative received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FundingPayment {
    pub position: u64,
    pub timestamp_ms: Timestamp,
    pub market: MarketId,
    pub amount: Quote,
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
    /// The newest `limit` candles of `market` at `interval`, newest first.
    fn candles(
        &self,
        market: MarketId,
        interval: Interval,
        limit: usize,
    ) -> Result<Vec<Candle>, HistoryError>;
    /// The newest `limit` fills of `account`, newest first.
    fn fills(&self, account: AccountId, limit: usize) -> Result<Vec<Fill>, HistoryError>;
    /// The newest `limit` funding payments of `account`, newest first.
    fn funding_payments(
        &self,
        account: AccountId,
        limit: usize,
    ) -> Result<Vec<FundingPayment>, HistoryError>;
}

/// `(market or account, log position, index of the record within its step)`.
type Key<P> = (P, u64, u32);
type MarketKey = Key<MarketId>;
type AccountKey = Key<AccountId>;
/// A fill's stored value: timestamp, market, buy, price, lots, liquidity (index into
/// `Liquidity::ALL`), order, fee, liquidation, liquidation fee.
type FillValue = (
    Timestamp,
    MarketId,
    bool,
    Price,
    Lots,
    u8,
    Option<OrderId>,
    Quote,
    bool,
    Quote,
);
const TRADES: TableDefinition<MarketKey, (Timestamp, Price, Lots, bool)> =
    TableDefinition::new("trades");
const FUNDING: TableDefinition<MarketKey, (Timestamp, i64, u64, i128)> =
    TableDefinition::new("funding");
const FILLS: TableDefinition<AccountKey, FillValue> = TableDefinition::new("fills");
const PAYMENTS: TableDefinition<AccountKey, (Timestamp, MarketId, Quote)> =
    TableDefinition::new("funding_payments");

/// History in a redb database.
pub struct StoredHistory {
    database: Database,
    trades: Vec<(MarketKey, Trade)>,
    funding: Vec<(MarketKey, FundingRecord)>,
    fills: Vec<(AccountKey, Fill)>,
    payments: Vec<(AccountKey, FundingPayment)>,
    candle_updates: Vec<CandleUpdate>,
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
            fills: Vec::new(),
            payments: Vec::new(),
            candle_updates: Vec::new(),
            step: (u64::MAX, 0),
        })
    }

    /// The next key of the step at `position`: records of one step are numbered in event
    /// order across all tables, so a replayed step gets the same keys.
    fn key<P>(&mut self, prefix: P, position: u64) -> Key<P> {
        let ordinal = if self.step.0 == position {
            self.step.1
        } else {
            0
        };
        self.step = (position, ordinal + 1);
        (prefix, position, ordinal)
    }

    fn fill(&mut self, account: AccountId, stamped: &Stamped, fill: FillParts) {
        let key = self.key(account, stamped.position);
        self.fills.push((
            key,
            Fill {
                position: stamped.position,
                timestamp_ms: stamped.timestamp_ms,
                market: fill.market,
                side: fill.side,
                price: fill.price,
                lots: fill.lots,
                liquidity: fill.liquidity,
                order_id: fill.order_id,
                fee: fill.fee,
                liquidation: fill.liquidation_fee.is_some(),
                liquidation_fee: fill.liquidation_fee.unwrap_or(0),
            },
        ));
    }
}

/// Every key of `prefix` (a market or an account).
fn prefix_range<P: Copy>(prefix: P) -> std::ops::RangeInclusive<Key<P>> {
    (prefix, 0, 0)..=(prefix, u64::MAX, u32::MAX)
}

/// What an event says about one account's fill.
struct FillParts {
    market: MarketId,
    side: Side,
    price: Price,
    lots: Lots,
    liquidity: Liquidity,
    order_id: Option<OrderId>,
    fee: Quote,
    liquidation_fee: Option<Quote>,
}

impl History for StoredHistory {
    fn record(&mut self, stamped: &Stamped) {
        let (position, timestamp_ms) = (stamped.position, stamped.timestamp_ms);
        match stamped.event {
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
            Event::Filled {
                market,
                price,
                lots,
                taker_side,
                taker_account,
                taker_order,
                taker_fee,
                maker_account,
                maker_order,
                maker_fee,
            } => {
                let trade = Trade {
                    position,
                    timestamp_ms,
                    price,
                    lots,
                    taker_side,
                };
                let key = self.key(market, position);
                self.trades.push((key, trade));
                self.candle_updates.push(CandleUpdate {
                    key,
                    timestamp_ms,
                    tick: Tick::Trade { price, lots },
                });
                let fill = |side, liquidity, order, fee| FillParts {
                    market,
                    side,
                    price,
                    lots,
                    liquidity,
                    order_id: Some(order),
                    fee,
                    liquidation_fee: None,
                };
                let maker = fill(
                    taker_side.opposite(),
                    Liquidity::Maker,
                    maker_order,
                    maker_fee,
                );
                self.fill(maker_account, stamped, maker);
                let taker = fill(taker_side, Liquidity::Taker, taker_order, taker_fee);
                self.fill(taker_account, stamped, taker);
            }
            // A liquidation into the book follows its fill (the taker's, in the same step):
            // it marks that fill rather than adding a second one for the same lots.
            Event::Liquidated {
                account,
                via: LiquidationVia::Book { .. },
                fee,
                ..
            } => {
                let taker_fill = self.fills.iter_mut().rev().find(|(key, fill)| {
                    key.0 == account && key.1 == position && fill.liquidity == Liquidity::Taker
                });
                if let Some((_, fill)) = taker_fill {
                    fill.liquidation = true;
                    fill.liquidation_fee = fee;
                }
            }
            Event::Liquidated {
                account,
                market,
                side,
                lots,
                price,
                fee,
                via,
            } => {
                let (liquidity, counterparty) = match via {
                    LiquidationVia::Deleverage { counterparty } => {
                        (Liquidity::Deleverage, Some(counterparty))
                    }
                    _ => (Liquidity::Backstop, None),
                };
                let parts = |side, liquidation_fee| FillParts {
                    market,
                    side,
                    price,
                    lots,
                    liquidity,
                    order_id: None,
                    fee: 0,
                    liquidation_fee,
                };
                self.fill(account, stamped, parts(side, Some(fee)));
                if let Some(counterparty) = counterparty {
                    self.fill(counterparty, stamped, parts(side.opposite(), None));
                }
            }
            Event::OraclePrice {
                market,
                index_price,
                mark_price,
            } => {
                let key = self.key(market, position);
                self.candle_updates.push(CandleUpdate {
                    key,
                    timestamp_ms,
                    tick: Tick::Oracle {
                        index: index_price,
                        mark: mark_price,
                    },
                });
            }
            Event::FundingPaid {
                account,
                market,
                amount,
            } => {
                let key = self.key(account, position);
                let payment = FundingPayment {
                    position,
                    timestamp_ms,
                    market,
                    amount,
                };
                self.payments.push((key, payment));
            }
            _ => {}
        }
    }

    fn buffered(&self) -> usize {
        self.trades.len()
            + self.funding.len()
            + self.fills.len()
            + self.payments.len()
            + self.candle_updates.len()
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
            let mut fills = transaction.open_table(FILLS)?;
            for (key, fill) in self.fills.drain(..) {
                fills.insert(key, fill.stored())?;
            }
            let mut candles = transaction.open_table(CANDLES)?;
            candles::fold(&mut candles, &self.candle_updates)?;
            self.candle_updates.clear();
            let mut payments = transaction.open_table(PAYMENTS)?;
            for (key, payment) in self.payments.drain(..) {
                payments.insert(key, (payment.timestamp_ms, payment.market, payment.amount))?;
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
            |position, (timestamp_ms, price, lots, buy)| {
                Ok(Trade {
                    position,
                    timestamp_ms,
                    price,
                    lots,
                    taker_side: side(buy),
                })
            },
        )
    }

    fn funding(&self, market: MarketId, limit: usize) -> Result<Vec<FundingRecord>, HistoryError> {
        self.newest(
            FUNDING,
            market,
            limit,
            |position, (timestamp_ms, rate, hours, index)| {
                Ok(FundingRecord {
                    position,
                    timestamp_ms,
                    rate,
                    hours,
                    index,
                })
            },
        )
    }

    fn candles(
        &self,
        market: MarketId,
        interval: Interval,
        limit: usize,
    ) -> Result<Vec<Candle>, HistoryError> {
        let transaction = self.database.begin_read()?;
        match transaction.open_table(CANDLES) {
            Ok(table) => candles::newest(&table, market, interval, limit),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(Vec::new()),
            Err(error) => Err(error.into()),
        }
    }

    fn fills(&self, account: AccountId, limit: usize) -> Result<Vec<Fill>, HistoryError> {
        self.newest(FILLS, account, limit, Fill::from_stored)
    }

    fn funding_payments(
        &self,
        account: AccountId,
        limit: usize,
    ) -> Result<Vec<FundingPayment>, HistoryError> {
        self.newest(
            PAYMENTS,
            account,
            limit,
            |position, (timestamp_ms, market, amount)| {
                Ok(FundingPayment {
                    position,
                    timestamp_ms,
                    market,
                    amount,
                })
            },
        )
    }
}

fn side(buy: bool) -> Side {
    if buy { Side::Buy } else { Side::Sell }
}

impl Fill {
    fn stored(&self) -> FillValue {
        let liquidity = Liquidity::ALL
            .iter()
            .position(|liquidity| *liquidity == self.liquidity)
            .expect("ALL lists every liquidity") as u8;
        (
            self.timestamp_ms,
            self.market,
            self.side == Side::Buy,
            self.price,
            self.lots,
            liquidity,
            self.order_id,
            self.fee,
            self.liquidation,
            self.liquidation_fee,
        )
    }

    fn from_stored(position: u64, stored: FillValue) -> Result<Self, HistoryError> {
        let (timestamp_ms, market, buy, price, lots, liquidity, order_id, fee, liquidation) = (
            stored.0, stored.1, stored.2, stored.3, stored.4, stored.5, stored.6, stored.7,
            stored.8,
        );
        let liquidity = *Liquidity::ALL
            .get(usize::from(liquidity))
            .ok_or_else(|| HistoryError(format!("fill at {position}: liquidity {liquidity}")))?;
        Ok(Self {
            position,
            timestamp_ms,
            market,
            side: side(buy),
            price,
            lots,
            liquidity,
            order_id,
            fee,
            liquidation,
            liquidation_fee: stored.9,
        })
    }
}

impl StoredHistory {
    /// The newest `limit` records of `prefix` (a market or an account) in `table`, newest
    /// first, each decoded from its log position and stored value.
    fn newest<P, V, R>(
        &self,
        table: TableDefinition<'static, Key<P>, V>,
        prefix: P,
        limit: usize,
        decode: impl for<'a> Fn(u64, V::SelfType<'a>) -> Result<R, HistoryError>,
    ) -> Result<Vec<R>, HistoryError>
    where
        P: Copy + 'static,
        Key<P>: for<'a> redb::Key<SelfType<'a> = Key<P>>,
        V: redb::Value + 'static,
    {
        let transaction = self.database.begin_read()?;
        let table = match transaction.open_table(table) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(error) => return Err(error.into()),
        };
        let mut records = Vec::new();
        for entry in table.range(prefix_range(prefix))?.rev().take(limit) {
            let (key, value) = entry?;
            let (_, position, _) = key.value();
            records.push(decode(position, value.value())?);
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

    #[test]
    fn fills_and_funding_payments_are_kept_per_account() {
        let filled = |taker_account, maker_account, lots| Event::Filled {
            market: 0,
            price: 94,
            lots,
            taker_side: Side::Sell,
            taker_account,
            taker_order: 9,
            taker_fee: 5,
            maker_account,
            maker_order: 4,
            maker_fee: -1,
        };
        let liquidated = |account, via, fee| Event::Liquidated {
            account,
            market: 0,
            side: Side::Sell,
            lots: 3,
            price: 90,
            fee,
            via,
        };
        let (alice, bob, mm) = (1, 2, 3);
        let steps = [
            // Alice sells into the market maker's bid.
            stamp(10, vec![filled(alice, mm, 2)]),
            // Alice is liquidated into the book, into the fund, then against Bob.
            stamp(
                11,
                vec![
                    filled(alice, mm, 3),
                    liquidated(
                        alice,
                        LiquidationVia::Book {
                            maker_account: mm,
                            maker_order: 4,
                        },
                        7,
                    ),
                    liquidated(alice, LiquidationVia::Backstop, 0),
                    liquidated(alice, LiquidationVia::Deleverage { counterparty: bob }, 0),
                ],
            ),
            stamp(
                12,
                vec![
                    Event::FundingPaid {
                        account: bob,
                        market: 0,
                        amount: 12,
                    },
                    Event::FundingPaid {
                        account: mm,
                        market: 1,
                        amount: -12,
                    },
                ],
            ),
        ];
        let dir = tempfile::tempdir().unwrap();
        let mut history = StoredHistory::open(&dir.path().join("history.redb")).unwrap();
        // Recorded twice, as after a crash: the same keys, nothing doubled.
        for _ in 0..2 {
            for stamped in steps.iter().flatten() {
                history.record(stamped);
            }
            history.commit(false).unwrap();
        }

        let summary = |fills: Vec<Fill>| -> Vec<_> {
            fills
                .into_iter()
                .map(|fill| {
                    let liquidation = fill.liquidation.then_some(fill.liquidation_fee);
                    let (position, side, lots, liquidity) =
                        (fill.position, fill.side, fill.lots, fill.liquidity);
                    (position, side, lots, liquidity, fill.fee, liquidation)
                })
                .collect()
        };
        assert_eq!(
            summary(history.fills(alice, 10).unwrap()),
            vec![
                (11, Side::Sell, 3, Liquidity::Deleverage, 0, Some(0)),
                (11, Side::Sell, 3, Liquidity::Backstop, 0, Some(0)),
                (11, Side::Sell, 3, Liquidity::Taker, 5, Some(7)),
                (10, Side::Sell, 2, Liquidity::Taker, 5, None),
            ]
        );
        assert_eq!(
            summary(history.fills(bob, 10).unwrap()),
            vec![(11, Side::Buy, 3, Liquidity::Deleverage, 0, None)]
        );
        assert_eq!(
            summary(history.fills(mm, 10).unwrap()),
            vec![
                (11, Side::Buy, 3, Liquidity::Maker, -1, None),
                (10, Side::Buy, 2, Liquidity::Maker, -1, None),
            ]
        );
        let mm_fills = history.fills(mm, 1).unwrap();
        assert_eq!(
            (mm_fills.len(), mm_fills[0].order_id, mm_fills[0].price),
            (1, Some(4), 94)
        );
        assert_eq!(history.fills(alice, 10).unwrap()[0].order_id, None);
        assert_eq!(history.trades(0, 10).unwrap().len(), 2);

        let payments = |account| -> Vec<_> {
            let payments = history.funding_payments(account, 10).unwrap();
            payments
                .into_iter()
                .map(|payment| (payment.position, payment.market, payment.amount))
                .collect()
        };
        assert_eq!(payments(bob), vec![(12, 0, 12)]);
        assert_eq!(payments(mm), vec![(12, 1, -12)]);
        assert!(payments(alice).is_empty());
        assert!(history.fills(4, 10).unwrap().is_empty());
    }

    #[test]
    fn candles_fold_trades_and_oracle_prices_once() {
        let at = |position, timestamp_ms, event| Stamped {
            position,
            timestamp_ms,
            event,
        };
        let trade = |price, lots| Event::Filled {
            market: 0,
            price,
            lots,
            taker_side: Side::Buy,
            taker_account: 1,
            taker_order: 2,
            taker_fee: 0,
            maker_account: 3,
            maker_order: 4,
            maker_fee: 0,
        };
        let oracle = |index_price, mark_price| Event::OraclePrice {
            market: 0,
            index_price,
            mark_price,
        };
        let minute = 60_000;
        let first = [
            at(1, 10 * minute + 5, oracle(100, 101)),
            at(2, 10 * minute + 6, trade(100, 2)),
            at(2, 10 * minute + 6, trade(103, 1)),
            at(3, 10 * minute + 59_999, trade(99, 4)),
        ];
        let second = [
            at(4, 11 * minute, trade(98, 1)),
            at(5, 12 * minute + 1, oracle(97, 96)),
        ];
        let dir = tempfile::tempdir().unwrap();
        let mut history = StoredHistory::open(&dir.path().join("history.redb")).unwrap();
        for stamped in &first {
            history.record(stamped);
        }
        history.commit(true).unwrap();
        // After a restart, the log's replay records the last step again.
        drop(history);
        let mut history = StoredHistory::open(&dir.path().join("history.redb")).unwrap();
        for stamped in first[3..].iter().chain(&second) {
            history.record(stamped);
        }
        history.commit(true).unwrap();

        let candles = history.candles(0, Interval::Minute, 10).unwrap();
        let ohlcv = |candle: &Candle| {
            (
                candle.start_ms / minute,
                [candle.open, candle.high, candle.low, candle.close],
                candle.volume,
                candle.trades,
                candle.mark,
                candle.index,
            )
        };
        let none = [None; 4];
        assert_eq!(
            candles.iter().map(ohlcv).collect::<Vec<_>>(),
            vec![
                (12, none, 0, 0, Some(96), Some(97)),
                (11, [Some(98); 4], 1, 1, None, None),
                (
                    10,
                    [Some(100), Some(103), Some(99), Some(99)],
                    7,
                    3,
                    Some(101),
                    Some(100)
                ),
            ]
        );
        let hours = history.candles(0, Interval::Hour, 10).unwrap();
        assert_eq!(
            hours.iter().map(ohlcv).collect::<Vec<_>>(),
            vec![(
                0,
                [Some(100), Some(103), Some(98), Some(98)],
                8,
                4,
                Some(96),
                Some(97)
            )]
        );
        assert_eq!(history.candles(0, Interval::Minute, 1).unwrap().len(), 1);
        assert!(history.candles(1, Interval::Day, 10).unwrap().is_empty());
    }
}
