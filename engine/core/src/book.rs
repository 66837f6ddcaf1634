//! The central limit order book of one market, with price-time priority, and the market's
//! waiting trigger orders.
//!
//! Resting orders live in a slab (`Vec` of nodes plus a free list); each price level is an
//! intrusive doubly linked FIFO through the slab, so that cancelling from the middle of a level
//! is O(1) once the order's slot is found. Levels sit in a `BTreeMap` per side (best bid is the
//! last key, best ask the first); an order id → slot map finds orders; a per-account index
//! serves cancel-all, order limits and client order ids.
//!
//! The book is a pure data structure: it never checks margins or signatures; the exchange
//! decides what to insert, fill or remove. Its borsh encoding is canonical (orders in priority
//! order, triggers by id), independent of slab layout, so equal books encode and hash equally.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use borsh::io::{Error, ErrorKind, Read, Result as IoResult, Write};
use borsh::{BorshDeserialize, BorshSerialize};
use core::iter::Rev;

use crate::fixed::{Lots, MAX_LOTS, MAX_PRICE, Price};
use crate::order::{RestingOrder, Side, TriggerOrder};
use crate::{AccountId, OrderId};

const NIL: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct Node {
    order: RestingOrder,
    prev: u32,
    next: u32,
}

#[derive(Clone, Copy, Debug)]
struct Level {
    head: u32,
    tail: u32,
    lots: Lots,
}

/// One market's book.
#[derive(Clone, Debug, Default)]
pub struct Book {
    nodes: Vec<Node>,
    free: Vec<u32>,
    bids: BTreeMap<Price, Level>,
    asks: BTreeMap<Price, Level>,
    slots: BTreeMap<OrderId, u32>,
    triggers: BTreeMap<OrderId, TriggerOrder>,
    /// Trigger orders that fire when the mark is at or above their price.
    fire_rising: BTreeSet<(Price, OrderId)>,
    /// Trigger orders that fire when the mark is at or below their price.
    fire_falling: BTreeSet<(Price, OrderId)>,
    /// Open orders (resting and trigger) of each account.
    by_account: BTreeMap<AccountId, BTreeSet<OrderId>>,
    /// Non-zero client order ids of open orders.
    client_ids: BTreeMap<(AccountId, u64), OrderId>,
}

impl Book {
    fn levels(&self, side: Side) -> &BTreeMap<Price, Level> {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    fn levels_mut(&mut self, side: Side) -> &mut BTreeMap<Price, Level> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// The highest bid.
    pub fn best_bid(&self) -> Option<Price> {
        self.bids.last_key_value().map(|(&price, _)| price)
    }

    /// The lowest ask.
    pub fn best_ask(&self) -> Option<Price> {
        self.asks.first_key_value().map(|(&price, _)| price)
    }

    /// The best price on `side`.
    pub fn best(&self, side: Side) -> Option<Price> {
        match side {
            Side::Buy => self.best_bid(),
            Side::Sell => self.best_ask(),
        }
    }

    /// Number of resting orders.
    pub fn resting_len(&self) -> usize {
        self.slots.len()
    }

    /// A resting order.
    pub fn resting(&self, id: OrderId) -> Option<&RestingOrder> {
        let slot = *self.slots.get(&id)?;
        self.nodes.get(slot as usize).map(|node| &node.order)
    }

    /// A waiting trigger order.
    pub fn trigger_order(&self, id: OrderId) -> Option<&TriggerOrder> {
        self.triggers.get(&id)
    }

    /// Number of open orders (resting and trigger) of `account`.
    pub fn open_orders_of(&self, account: AccountId) -> usize {
        self.by_account.get(&account).map_or(0, BTreeSet::len)
    }

    /// Ids of the open orders (resting and trigger) of `account`, ascending.
    pub fn order_ids_of(&self, account: AccountId) -> Vec<OrderId> {
        self.by_account
            .get(&account)
            .map(|ids| ids.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The open order of `account` with this (non-zero) client order id.
    pub fn order_by_client_id(&self, account: AccountId, client_order_id: u64) -> Option<OrderId> {
        self.client_ids.get(&(account, client_order_id)).copied()
    }

    /// Whether `id` is an open order (resting or trigger).
    pub fn contains(&self, id: OrderId) -> bool {
        self.slots.contains_key(&id) || self.triggers.contains_key(&id)
    }

    fn index(&mut self, account: AccountId, id: OrderId, client_order_id: u64) {
        self.by_account.entry(account).or_default().insert(id);
        if client_order_id != 0 {
            self.client_ids.insert((account, client_order_id), id);
        }
    }

    fn unindex(&mut self, account: AccountId, id: OrderId, client_order_id: u64) {
        if let Some(ids) = self.by_account.get_mut(&account) {
            ids.remove(&id);
            if ids.is_empty() {
                self.by_account.remove(&account);
            }
        }
        if client_order_id != 0 {
            self.client_ids.remove(&(account, client_order_id));
        }
    }

    /// Rests `order` at the back of its price level. The caller guarantees a fresh id and a
    /// non-zero size.
    pub fn insert(&mut self, order: RestingOrder) {
        let node = Node {
            order,
            prev: NIL,
            next: NIL,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.nodes[slot as usize] = node;
                slot
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        let level = self
            .levels_mut(order.side)
            .entry(order.price)
            .or_insert(Level {
                head: slot,
                tail: NIL,
                lots: 0,
            });
        let previous_tail = level.tail;
        level.tail = slot;
        level.lots = level.lots.saturating_add(order.lots);
        if previous_tail != NIL {
            self.nodes[previous_tail as usize].next = slot;
            self.nodes[slot as usize].prev = previous_tail;
        }
        self.slots.insert(order.id, slot);
        self.index(order.account, order.id, order.client_order_id);
    }

    /// Removes a resting order.
    pub fn remove(&mut self, id: OrderId) -> Option<RestingOrder> {
        let slot = self.slots.remove(&id)?;
        let Node { order, prev, next } = *self.nodes.get(slot as usize)?;
        if prev != NIL {
            self.nodes[prev as usize].next = next;
        }
        if next != NIL {
            self.nodes[next as usize].prev = prev;
        }
        let levels = self.levels_mut(order.side);
        if let Some(level) = levels.get_mut(&order.price) {
            if level.head == slot {
                level.head = next;
            }
            if level.tail == slot {
                level.tail = prev;
            }
            level.lots = level.lots.saturating_sub(order.lots);
            if level.head == NIL {
                levels.remove(&order.price);
            }
        }
        self.free.push(slot);
        self.unindex(order.account, order.id, order.client_order_id);
        Some(order)
    }

    /// Takes `lots` from a resting order (keeping its priority), removing it when nothing is
    /// left. Returns the order as it was before the fill.
    pub fn fill(&mut self, id: OrderId, lots: Lots) -> Option<RestingOrder> {
        let slot = *self.slots.get(&id)?;
        let node = self.nodes.get_mut(slot as usize)?;
        let before = node.order;
        if lots >= before.lots {
            return self.remove(id);
        }
        node.order.lots -= lots;
        if let Some(level) = self.levels_mut(before.side).get_mut(&before.price) {
            level.lots = level.lots.saturating_sub(lots);
        }
        Some(before)
    }

    /// Resting orders on the side a `taker_side` order trades against, best price first,
    /// oldest first within a price.
    pub fn makers(&self, taker_side: Side) -> Makers<'_> {
        let levels = match taker_side {
            Side::Buy => LevelIter::Ascending(self.asks.values()),
            Side::Sell => LevelIter::Descending(self.bids.values().rev()),
        };
        Makers {
            book: self,
            levels,
            cursor: NIL,
        }
    }

    /// Resting orders of `side`, in priority order.
    pub fn side_orders(&self, side: Side) -> Makers<'_> {
        self.makers(side.opposite())
    }

    /// Aggregated levels of `side`, best first, at most `count` of them.
    pub fn depth(&self, side: Side, count: usize) -> Vec<(Price, Lots)> {
        let levels = self.levels(side);
        let entries = levels.iter().map(|(&price, level)| (price, level.lots));
        match side {
            Side::Buy => entries.rev().take(count).collect(),
            Side::Sell => entries.take(count).collect(),
        }
    }

    /// The average price of filling `notional` quote atoms against `side`'s levels (the
    /// impact bid for `Side::Buy`, rounded down; the impact ask for `Side::Sell`, rounded up),
    /// or `None` when the side is too thin.
    pub fn impact_price(&self, side: Side, notional: u64) -> Option<Price> {
        let target = i128::from(notional);
        let mut filled_notional = 0i128;
        let mut filled_lots = 0i128;
        let levels = self.levels(side);
        let mut walk = |price: Price, lots: Lots| {
            let price = i128::from(price);
            let needed = (target - filled_notional + price - 1) / price;
            let take = needed.min(i128::from(lots));
            filled_notional += take * price;
            filled_lots += take;
            filled_notional >= target
        };
        let reached = match side {
            Side::Buy => levels
                .iter()
                .rev()
                .any(|(&price, level)| walk(price, level.lots)),
            Side::Sell => levels.iter().any(|(&price, level)| walk(price, level.lots)),
        };
        if !reached || filled_lots == 0 {
            return None;
        }
        let average = match side {
            Side::Buy => filled_notional / filled_lots,
            Side::Sell => (filled_notional + filled_lots - 1) / filled_lots,
        };
        Price::try_from(average).ok()
    }

    /// Adds a trigger order. The caller guarantees a fresh id.
    pub fn insert_trigger(&mut self, order: TriggerOrder) {
        let key = (order.trigger.price, order.id);
        if order.trigger.fires_rising(order.side) {
            self.fire_rising.insert(key);
        } else {
            self.fire_falling.insert(key);
        }
        self.triggers.insert(order.id, order);
        self.index(order.account, order.id, order.client_order_id);
    }

    /// Removes a trigger order.
    pub fn remove_trigger(&mut self, id: OrderId) -> Option<TriggerOrder> {
        let order = self.triggers.remove(&id)?;
        let key = (order.trigger.price, order.id);
        self.fire_rising.remove(&key);
        self.fire_falling.remove(&key);
        self.unindex(order.account, order.id, order.client_order_id);
        Some(order)
    }

    /// Ids of the trigger orders that `mark` fires, oldest first.
    pub fn fired_by(&self, mark: Price) -> Vec<OrderId> {
        let mut fired: Vec<OrderId> = self
            .fire_rising
            .range(..=(mark, OrderId::MAX))
            .chain(self.fire_falling.range((mark, 0)..))
            .map(|&(_, id)| id)
            .collect();
        fired.sort_unstable();
        fired
    }

    /// Every trigger order, by id.
    pub fn trigger_orders(&self) -> impl Iterator<Item = &TriggerOrder> {
        self.triggers.values()
    }
}

enum LevelIter<'a> {
    Ascending(alloc::collections::btree_map::Values<'a, Price, Level>),
    Descending(Rev<alloc::collections::btree_map::Values<'a, Price, Level>>),
}

/// Resting orders in priority order; see [`Book::makers`].
pub struct Makers<'a> {
    book: &'a Book,
    levels: LevelIter<'a>,
    cursor: u32,
}

impl core::fmt::Debug for Makers<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Makers")
            .field("cursor", &self.cursor)
            .finish_non_exhaustive()
    }
}

impl<'a> Iterator for Makers<'a> {
    type Item = &'a RestingOrder;

    fn next(&mut self) -> Option<&'a RestingOrder> {
        if self.cursor == NIL {
            let level = match &mut self.levels {
                LevelIter::Ascending(levels) => levels.next()?,
                LevelIter::Descending(levels) => levels.next()?,
            };
            self.cursor = level.head;
        }
        let node = self.book.nodes.get(self.cursor as usize)?;
        self.cursor = node.next;
        Some(&node.order)
    }
}

impl PartialEq for Book {
    /// Books are equal when they hold the same orders in the same priority, whatever their
    /// slab layout.
    fn eq(&self, other: &Self) -> bool {
        self.side_orders(Side::Buy).eq(other.side_orders(Side::Buy))
            && self
                .side_orders(Side::Sell)
                .eq(other.side_orders(Side::Sell))
            && self.triggers == other.triggers
    }
}

impl Eq for Book {}

/// Layout: `u32` count and the bids in priority order (best price first, oldest first), the
/// same for the asks, then `u32` count and the trigger orders by ascending id.
impl BorshSerialize for Book {
    fn serialize<W: Write>(&self, writer: &mut W) -> IoResult<()> {
        for side in [Side::Buy, Side::Sell] {
            let orders: Vec<&RestingOrder> = self.side_orders(side).collect();
            u32::try_from(orders.len())
                .map_err(|_| Error::new(ErrorKind::InvalidData, "book too large"))?
                .serialize(writer)?;
            for order in orders {
                order.serialize(writer)?;
            }
        }
        u32::try_from(self.triggers.len())
            .map_err(|_| Error::new(ErrorKind::InvalidData, "book too large"))?
            .serialize(writer)?;
        for order in self.triggers.values() {
            order.serialize(writer)?;
        }
        Ok(())
    }
}

impl BorshDeserialize for Book {
    /// Rebuilds the book and its indices, refusing anything the state machine could not have
    /// produced: duplicate ids or client ids, empty orders, prices or sizes out of range,
    /// orders on the wrong side or out of priority order.
    fn deserialize_reader<R: Read>(reader: &mut R) -> IoResult<Self> {
        let invalid = |what| Error::new(ErrorKind::InvalidData, what);
        let mut book = Book::default();
        for side in [Side::Buy, Side::Sell] {
            let count = u32::deserialize_reader(reader)?;
            let mut previous: Option<Price> = None;
            for _ in 0..count {
                let order = RestingOrder::deserialize_reader(reader)?;
                let in_order = previous.is_none_or(|previous| match side {
                    Side::Buy => order.price <= previous,
                    Side::Sell => order.price >= previous,
                });
                if order.side != side || !in_order {
                    return Err(invalid("book orders out of priority order"));
                }
                if order.lots == 0
                    || order.lots > MAX_LOTS
                    || order.price == 0
                    || order.price > MAX_PRICE
                {
                    return Err(invalid("book order out of range"));
                }
                if book.contains(order.id)
                    || duplicate_client_id(&book, order.account, order.client_order_id)
                {
                    return Err(invalid("duplicate order id"));
                }
                previous = Some(order.price);
                book.insert(order);
            }
        }
        let count = u32::deserialize_reader(reader)?;
        let mut previous: Option<OrderId> = None;
        for _ in 0..count {
            let order = TriggerOrder::deserialize_reader(reader)?;
            if previous.is_some_and(|previous| order.id <= previous) || book.contains(order.id) {
                return Err(invalid("trigger orders out of order"));
            }
            if order.lots == 0
                || order.lots > MAX_LOTS
                || duplicate_client_id(&book, order.account, order.client_order_id)
            {
                return Err(invalid("trigger order out of range"));
            }
            previous = Some(order.id);
            book.insert_trigger(order);
        }
        Ok(book)
    }
}

fn duplicate_client_id(book: &Book, account: AccountId, client_order_id: u64) -> bool {
    client_order_id != 0 && book.order_by_client_id(account, client_order_id).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::{Execution, SelfTradePrevention, Trigger, TriggerKind};
    use alloc::vec;

    fn order(id: OrderId, side: Side, price: Price, lots: Lots) -> RestingOrder {
        RestingOrder {
            id,
            account: id as AccountId % 3,
            client_order_id: 0,
            side,
            price,
            lots,
            reduce_only: false,
            post_only: false,
            self_trade: SelfTradePrevention::ExpireMaker,
        }
    }

    fn ids(makers: Makers<'_>) -> Vec<OrderId> {
        makers.map(|order| order.id).collect()
    }

    #[test]
    fn makers_come_in_price_then_time_priority() {
        let mut book = Book::default();
        book.insert(order(1, Side::Sell, 105, 1));
        book.insert(order(2, Side::Sell, 101, 1));
        book.insert(order(3, Side::Sell, 101, 1));
        book.insert(order(4, Side::Buy, 99, 1));
        book.insert(order(5, Side::Buy, 100, 1));
        book.insert(order(6, Side::Buy, 100, 1));
        assert_eq!(ids(book.makers(Side::Buy)), vec![2, 3, 1]);
        assert_eq!(ids(book.makers(Side::Sell)), vec![5, 6, 4]);
        assert_eq!((book.best_bid(), book.best_ask()), (Some(100), Some(101)));
    }

    #[test]
    fn removal_from_the_middle_keeps_the_fifo() {
        let mut book = Book::default();
        for id in 1..=4 {
            book.insert(order(id, Side::Buy, 100, id));
        }
        assert_eq!(book.remove(2).map(|order| order.lots), Some(2));
        assert_eq!(ids(book.makers(Side::Sell)), vec![1, 3, 4]);
        assert_eq!(book.depth(Side::Buy, 5), vec![(100, 8)]);
        book.remove(1);
        book.remove(4);
        assert_eq!(ids(book.makers(Side::Sell)), vec![3]);
        book.insert(order(5, Side::Buy, 100, 1));
        assert_eq!(ids(book.makers(Side::Sell)), vec![3, 5]);
        book.remove(3);
        book.remove(5);
        assert_eq!(book.best_bid(), None);
        assert!(book.depth(Side::Buy, 5).is_empty());
        assert_eq!(book.remove(5), None);
    }

    #[test]
    fn partial_fill_keeps_priority() {
        let mut book = Book::default();
        book.insert(order(1, Side::Sell, 100, 5));
        book.insert(order(2, Side::Sell, 100, 5));
        book.fill(1, 3);
        assert_eq!(book.resting(1).map(|order| order.lots), Some(2));
        assert_eq!(ids(book.makers(Side::Buy)), vec![1, 2]);
        book.fill(1, 2);
        assert_eq!(ids(book.makers(Side::Buy)), vec![2]);
        assert_eq!(book.depth(Side::Sell, 1), vec![(100, 5)]);
    }

    #[test]
    fn impact_prices_average_the_walk() {
        let mut book = Book::default();
        book.insert(order(1, Side::Sell, 100, 10));
        book.insert(order(2, Side::Sell, 110, 10));
        book.insert(order(3, Side::Buy, 90, 10));
        // 1500 of notional: 10 lots at 100 and 5 at 110 (550 reaches it) → 1550/15 = 103.33.
        assert_eq!(book.impact_price(Side::Sell, 1500), Some(104));
        assert_eq!(book.impact_price(Side::Buy, 900), Some(90));
        assert_eq!(book.impact_price(Side::Buy, 901), None);
    }

    #[test]
    fn triggers_fire_by_direction() {
        let mut book = Book::default();
        let stop = |id, side, price, kind| TriggerOrder {
            id,
            account: 1,
            client_order_id: id,
            side,
            lots: 1,
            reduce_only: true,
            self_trade: SelfTradePrevention::ExpireMaker,
            trigger: Trigger { kind, price },
            execution: Execution::Market { worst_price: 1 },
        };
        book.insert_trigger(stop(1, Side::Sell, 90, TriggerKind::StopLoss));
        book.insert_trigger(stop(2, Side::Buy, 110, TriggerKind::StopLoss));
        book.insert_trigger(stop(3, Side::Sell, 120, TriggerKind::TakeProfit));
        book.insert_trigger(stop(4, Side::Buy, 80, TriggerKind::TakeProfit));
        assert!(book.fired_by(100).is_empty());
        assert_eq!(book.fired_by(90), vec![1]);
        assert_eq!(book.fired_by(125), vec![2, 3]);
        assert_eq!(book.fired_by(70), vec![1, 4]);
        assert_eq!(book.order_by_client_id(1, 3), Some(3));
        book.remove_trigger(3);
        assert_eq!(book.fired_by(125), vec![2]);
        assert_eq!(book.open_orders_of(1), 3);
        assert_eq!(book.order_by_client_id(1, 3), None);
    }

    #[test]
    fn encoding_is_canonical_and_round_trips() {
        let mut book = Book::default();
        book.insert(order(1, Side::Sell, 105, 1));
        book.insert(order(2, Side::Buy, 100, 2));
        book.insert(order(3, Side::Buy, 100, 3));
        book.insert(order(4, Side::Buy, 101, 3));
        book.remove(2);
        let bytes = borsh::to_vec(&book).unwrap();
        let decoded: Book = borsh::from_slice(&bytes).unwrap();
        assert_eq!(decoded, book);
        assert_eq!(borsh::to_vec(&decoded).unwrap(), bytes);
        let mut fresh = Book::default();
        fresh.insert(order(4, Side::Buy, 101, 3));
        fresh.insert(order(3, Side::Buy, 100, 3));
        fresh.insert(order(1, Side::Sell, 105, 1));
        assert_eq!(
            borsh::to_vec(&fresh).unwrap(),
            bytes,
            "independent of slab layout"
        );
    }

    #[test]
    fn decoding_refuses_out_of_order_books() {
        let mut bytes = Vec::new();
        2u32.serialize(&mut bytes).unwrap();
        order(1, Side::Buy, 100, 1).serialize(&mut bytes).unwrap();
        order(2, Side::Buy, 101, 1).serialize(&mut bytes).unwrap();
        0u32.serialize(&mut bytes).unwrap();
        0u32.serialize(&mut bytes).unwrap();
        assert!(borsh::from_slice::<Book>(&bytes).is_err());
    }
}
