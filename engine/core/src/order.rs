//! Order vocabulary shared by actions and the book: sides, time in force, triggers,
//! self-trade prevention, and the two kinds of orders the book stores.

use borsh::{BorshDeserialize, BorshSerialize};

use crate::fixed::{Lots, Price};
use crate::{AccountId, OrderId};

/// Buy (bid) or sell (ask).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    /// The other side.
    pub fn opposite(self) -> Self {
        match self {
            Self::Buy => Self::Sell,
            Self::Sell => Self::Buy,
        }
    }

    /// +1 for a buy, -1 for a sell: the sign of the position change.
    pub fn sign(self) -> i64 {
        match self {
            Self::Buy => 1,
            Self::Sell => -1,
        }
    }

    /// Whether a taker on this side with limit `limit` trades with a maker at `price`.
    pub fn crosses(self, limit: Price, price: Price) -> bool {
        match self {
            Self::Buy => price <= limit,
            Self::Sell => price >= limit,
        }
    }
}

/// How long a limit order lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum TimeInForce {
    /// Good till cancelled: the rest rests.
    GoodTillCancel,
    /// Immediate or cancel: the rest is cancelled.
    ImmediateOrCancel,
    /// Fill or kill: fills completely or the action is rejected.
    FillOrKill,
    /// Post only: rests without taking; rejected if it would cross.
    PostOnly,
}

/// How an order executes once active.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Execution {
    /// A limit order.
    Limit {
        price: Price,
        time_in_force: TimeInForce,
    },
    /// A market order: immediate or cancel, never beyond `worst_price`.
    Market { worst_price: Price },
}

impl Execution {
    /// The limit price and time in force the matcher uses.
    pub fn limit(self) -> (Price, TimeInForce) {
        match self {
            Self::Limit {
                price,
                time_in_force,
            } => (price, time_in_force),
            Self::Market { worst_price } => (worst_price, TimeInForce::ImmediateOrCancel),
        }
    }
}

/// Stop-loss or take-profit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum TriggerKind {
    /// Fires when the mark moves against the order's side: a buy stop when the mark rises to
    /// the trigger, a sell stop when it falls to it.
    StopLoss,
    /// Fires when the mark moves in favour: a buy when it falls to the trigger, a sell when
    /// it rises to it.
    TakeProfit,
}

/// A mark-price trigger. One already met when the order is placed fires at once, after the
/// placing step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Trigger {
    pub kind: TriggerKind,
    pub price: Price,
}

impl Trigger {
    /// Whether the order fires when the mark is at or above the trigger price (otherwise: at
    /// or below).
    pub fn fires_rising(self, side: Side) -> bool {
        matches!(
            (self.kind, side),
            (TriggerKind::StopLoss, Side::Buy) | (TriggerKind::TakeProfit, Side::Sell)
        )
    }

    /// Whether `mark` fires it.
    pub fn fires_at(self, side: Side, mark: Price) -> bool {
        if self.fires_rising(side) {
            mark >= self.price
        } else {
            mark <= self.price
        }
    }
}

/// What happens when a taker would trade with its own resting order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum SelfTradePrevention {
    /// Cancel the resting order and keep matching.
    ExpireMaker,
    /// Stop the taker; its rest is cancelled.
    ExpireTaker,
    /// Cancel the resting order and stop the taker.
    ExpireBoth,
}

/// An order resting in the book.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct RestingOrder {
    pub id: OrderId,
    pub account: AccountId,
    /// The trader's own id (0: none).
    pub client_order_id: u64,
    pub side: Side,
    pub price: Price,
    /// Lots still open.
    pub lots: Lots,
    pub reduce_only: bool,
    /// Rests without taking, also when modified.
    pub post_only: bool,
    /// Self-trade prevention when a modify makes it take.
    pub self_trade: SelfTradePrevention,
}

/// A stop or take-profit order waiting for the mark price.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TriggerOrder {
    pub id: OrderId,
    pub account: AccountId,
    pub client_order_id: u64,
    pub side: Side,
    pub lots: Lots,
    pub reduce_only: bool,
    pub self_trade: SelfTradePrevention,
    pub trigger: Trigger,
    pub execution: Execution,
}
