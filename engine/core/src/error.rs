//! Typed reasons: why an action was rejected, why an order left the book, and the few errors
//! that invalidate a whole batch. No strings: every reason is a value the engine can map to an
//! API error and the guest can compare.

use borsh::{BorshDeserialize, BorshSerialize};
use core::fmt;

use crate::AccountId;

/// Why an action (or a triggered order, an oracle update, a liquidation) was rejected. A
/// rejection leaves the state exactly as it was, nonce included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum RejectReason {
    /// The signature does not verify for the named trader key.
    BadSignature,
    /// No account has this id.
    UnknownAccount,
    /// The account belongs to another key.
    WrongSigner,
    /// The nonce is not above the account's last used nonce.
    StaleNonce,
    /// The insurance fund's account cannot act through trader actions.
    SystemAccount,
    /// No market has this id.
    UnknownMarket,
    /// The market is halted: only cancels are accepted.
    MarketHalted,
    /// The market accepts only orders that reduce a position.
    MarketReduceOnly,
    /// The market has no oracle price yet.
    NoOraclePrice,
    /// The oracle price is older than the market's staleness bound.
    StaleOraclePrice,
    /// Zero lots, or fewer than the market's minimum order size.
    BelowMinimumSize,
    /// More lots than the largest accepted order.
    SizeTooLarge,
    /// The price is zero or above the largest accepted price.
    PriceOutOfRange,
    /// The price is not a multiple of the market's tick size.
    PriceNotOnTick,
    /// A post-only order would have taken liquidity.
    PostOnlyWouldCross,
    /// A fill-or-kill order could not be filled completely.
    FillOrKillNotFilled,
    /// A reduce-only order would not reduce the position.
    ReduceOnlyWouldIncrease,
    /// The account has as many open orders as the exchange allows.
    TooManyOpenOrders,
    /// The account already has an open order with this client order id in this market.
    DuplicateClientOrderId,
    /// The account has no open order with this id in this market.
    UnknownOrder,
    /// A modify that changes nothing.
    NothingToModify,
    /// The order, if filled, would leave the account below its initial margin.
    InsufficientMargin,
    /// The fill would take the market's open interest above its cap.
    OpenInterestCap,
    /// A deposit or withdrawal of zero.
    ZeroAmount,
    /// The withdrawal exceeds the account's free collateral or its settled collateral.
    InsufficientFreeCollateral,
    /// The account is not below its maintenance requirement.
    NotLiquidatable,
    /// A deleveraging list names an account twice, the liquidated account or the fund.
    InvalidDeleverageList,
    /// The oracle price is older than the market's current one, or from the future.
    OracleOutOfOrder,
    /// The market configuration is invalid.
    InvalidMarketConfig,
    /// An intermediate value left its range (inputs are bounded so that this is unreachable
    /// from valid markets; it is still a rejection, never a wrap).
    ArithmeticOverflow,
    /// The action is signed by the account's session key, which has expired.
    SessionExpired,
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = match self {
            Self::BadSignature => "signature does not verify",
            Self::UnknownAccount => "unknown account",
            Self::WrongSigner => "account belongs to another key",
            Self::StaleNonce => "nonce already used",
            Self::SystemAccount => "system accounts cannot trade",
            Self::UnknownMarket => "unknown market",
            Self::MarketHalted => "market halted",
            Self::MarketReduceOnly => "market is reduce-only",
            Self::NoOraclePrice => "market has no oracle price",
            Self::StaleOraclePrice => "oracle price is stale",
            Self::BelowMinimumSize => "size below the market minimum",
            Self::SizeTooLarge => "size too large",
            Self::PriceOutOfRange => "price out of range",
            Self::PriceNotOnTick => "price not a multiple of the tick size",
            Self::PostOnlyWouldCross => "post-only order would cross",
            Self::FillOrKillNotFilled => "fill-or-kill order not fully fillable",
            Self::ReduceOnlyWouldIncrease => "reduce-only order would not reduce the position",
            Self::TooManyOpenOrders => "too many open orders",
            Self::DuplicateClientOrderId => "client order id already in use",
            Self::UnknownOrder => "no such open order",
            Self::NothingToModify => "modify changes nothing",
            Self::InsufficientMargin => "insufficient margin",
            Self::OpenInterestCap => "open interest cap reached",
            Self::ZeroAmount => "zero amount",
            Self::InsufficientFreeCollateral => "insufficient free collateral",
            Self::NotLiquidatable => "account is above its maintenance requirement",
            Self::InvalidDeleverageList => "invalid deleveraging list",
            Self::OracleOutOfOrder => "oracle price out of order",
            Self::InvalidMarketConfig => "invalid market configuration",
            Self::ArithmeticOverflow => "arithmetic overflow",
            Self::SessionExpired => "session key expired",
        };
        f.write_str(message)
    }
}

/// Why an order left the book (or never rested) without being filled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum CancelReason {
    /// The owner cancelled it (cancel, cancel-all).
    Requested,
    /// Immediate-or-cancel or market order: the unfilled rest.
    Unfilled,
    /// Self-trade prevention expired it.
    SelfTrade,
    /// A fill would have breached the owner's initial margin.
    InsufficientMargin,
    /// A reduce-only order with no position left to reduce.
    ReduceOnly,
    /// The market's open interest cap stopped it.
    OpenInterestCap,
    /// The owner is being liquidated.
    Liquidation,
}

impl fmt::Display for CancelReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Requested => "cancelled by its owner",
            Self::Unfilled => "unfilled remainder of an immediate order",
            Self::SelfTrade => "self-trade prevention",
            Self::InsufficientMargin => "insufficient margin",
            Self::ReduceOnly => "nothing left to reduce",
            Self::OpenInterestCap => "open interest cap reached",
            Self::Liquidation => "owner liquidated",
        })
    }
}

/// An error that invalidates the whole batch (never a trader's doing): the state must be
/// discarded. Natively it cannot happen, because every account is present; in the guest it
/// means the prover withheld a witness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fatal {
    /// The batch read an account that the witness does not hold.
    MissingWitness(AccountId),
    /// A step's timestamp is before the previous step's.
    TimestampRegression,
    /// A deposit is not the next one in the on-chain queue.
    DepositOutOfSequence,
    /// A deposit names an account owned by another key.
    DepositOwnerMismatch,
    /// A deposit names neither an existing account nor the next new one.
    DepositAccountInvalid,
    /// A deposit does not fit the account's collateral.
    DepositTooLarge,
}

impl fmt::Display for Fatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingWitness(account) => write!(f, "account {account} is not in the witness"),
            Self::TimestampRegression => f.write_str("step timestamp before the previous step's"),
            Self::DepositOutOfSequence => f.write_str("deposit out of queue sequence"),
            Self::DepositOwnerMismatch => f.write_str("deposit names an account of another owner"),
            Self::DepositAccountInvalid => {
                f.write_str("deposit names neither an account nor the next new one")
            }
            Self::DepositTooLarge => f.write_str("deposit too large"),
        }
    }
}

/// Errors of one state transition: a rejection (state untouched) or a fatal error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TxError {
    Reject(RejectReason),
    Fatal(Fatal),
}

impl From<RejectReason> for TxError {
    fn from(reason: RejectReason) -> Self {
        Self::Reject(reason)
    }
}

impl From<Fatal> for TxError {
    fn from(fatal: Fatal) -> Self {
        Self::Fatal(fatal)
    }
}

/// Checked-arithmetic results become this rejection.
pub(crate) trait OrOverflow<T> {
    fn or_overflow(self) -> Result<T, RejectReason>;
}

impl<T> OrOverflow<T> for Option<T> {
    fn or_overflow(self) -> Result<T, RejectReason> {
        self.ok_or(RejectReason::ArithmeticOverflow)
    }
}

impl<T, E> OrOverflow<T> for Result<T, E> {
    fn or_overflow(self) -> Result<T, RejectReason> {
        self.map_err(|_| RejectReason::ArithmeticOverflow)
    }
}
