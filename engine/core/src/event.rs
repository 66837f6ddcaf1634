//! What the state machine reports: every accepted action yields events, every rejected one a
//! rejection with its reason. The engine streams them to traders; the guest ignores them.

use borsh::{BorshDeserialize, BorshSerialize};

use crate::action::SessionKey;
use crate::error::{CancelReason, RejectReason};
use crate::fixed::{Lots, Price, Quote};
use crate::market::MarketStatus;
use crate::order::Side;
use crate::{AccountId, MarketId, OrderId};

/// How a liquidation closed lots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum LiquidationVia {
    /// Into the book, against this maker.
    Book {
        maker_account: AccountId,
        maker_order: OrderId,
    },
    /// Taken over by the insurance fund at the bankruptcy price.
    Backstop,
    /// Assigned to an opposite position at the bankruptcy price (auto-deleveraging).
    Deleverage { counterparty: AccountId },
}

/// One thing that happened.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Event {
    /// An order was accepted (placed, or a trigger order stored).
    OrderAccepted {
        market: MarketId,
        account: AccountId,
        order_id: OrderId,
        client_order_id: u64,
        side: Side,
        lots: Lots,
        /// The limit (or worst) price.
        price: Price,
    },
    /// A resting order changed; `kept_priority` when only its size shrank.
    OrderModified {
        market: MarketId,
        account: AccountId,
        order_id: OrderId,
        price: Price,
        lots: Lots,
        kept_priority: bool,
    },
    /// A trader action was accepted (its other events follow).
    ActionAccepted { account: AccountId, nonce: u64 },
    /// A trader action was rejected; the state is unchanged.
    ActionRejected {
        account: AccountId,
        nonce: u64,
        reason: RejectReason,
    },
    /// A triggered order was rejected when it fired (it is gone).
    OrderRejected {
        market: MarketId,
        account: AccountId,
        order_id: OrderId,
        reason: RejectReason,
    },
    /// A trade.
    Filled {
        market: MarketId,
        price: Price,
        lots: Lots,
        taker_side: Side,
        taker_account: AccountId,
        taker_order: OrderId,
        taker_fee: Quote,
        maker_account: AccountId,
        maker_order: OrderId,
        /// Negative: a rebate.
        maker_fee: Quote,
    },
    /// An order (or its unfilled rest) left without filling.
    Cancelled {
        market: MarketId,
        account: AccountId,
        order_id: OrderId,
        lots: Lots,
        reason: CancelReason,
    },
    /// A stop or take-profit order fired at this mark.
    Triggered {
        market: MarketId,
        account: AccountId,
        order_id: OrderId,
        mark_price: Price,
    },
    /// A liquidation closed `lots` of `account`'s position (`side` is the closing side).
    Liquidated {
        account: AccountId,
        market: MarketId,
        side: Side,
        lots: Lots,
        price: Price,
        /// Liquidation fee paid to the insurance fund.
        fee: Quote,
        via: LiquidationVia,
    },
    /// A liquidation request was rejected.
    LiquidationRejected {
        account: AccountId,
        reason: RejectReason,
    },
    /// A liquidation could not close everything: neither the book, the fund nor the named
    /// deleveraging counterparties could take these lots.
    LiquidationIncomplete {
        account: AccountId,
        market: MarketId,
        lots: Lots,
    },
    /// The insurance fund covered a liquidated account's negative collateral.
    BadDebt { account: AccountId, amount: Quote },
    /// Hourly funding settled: the rate of the first settled hour, the hours, the new index.
    FundingRate {
        market: MarketId,
        rate: i64,
        hours: u64,
        index: i128,
    },
    /// An account settled funding: positive paid, negative received.
    FundingPaid {
        account: AccountId,
        market: MarketId,
        amount: Quote,
    },
    /// Funding rounding residue moved to the insurance fund.
    FundingResidue { market: MarketId, amount: Quote },
    /// The oracle index and the resulting mark.
    OraclePrice {
        market: MarketId,
        index_price: Price,
        mark_price: Price,
    },
    /// An oracle update was refused.
    OracleRejected {
        market: MarketId,
        reason: RejectReason,
    },
    /// Collateral arrived from the on-chain deposit queue.
    Deposited {
        account: AccountId,
        sequence: u64,
        amount: u64,
    },
    /// Collateral left for the on-chain withdrawal claims.
    Withdrawn { account: AccountId, amount: u64 },
    /// The admin added a market.
    MarketAdded { market: MarketId },
    /// The admin changed a market's status.
    MarketStatusChanged {
        market: MarketId,
        status: MarketStatus,
    },
    /// An admin action was rejected.
    AdminRejected { nonce: u64, reason: RejectReason },
    /// An account registered (or revoked) its session key.
    SessionKeySet {
        account: AccountId,
        session: Option<SessionKey>,
    },
}
