//! Trader, admin and oracle messages: their signed envelopes and the bytes that are signed.
//!
//! # Wire layout (borsh)
//!
//! Enums encode as a one-byte variant index (in declaration order) followed by the fields;
//! integers are little-endian; `Option` is a 0/1 byte then the value; `Vec` a `u32` length
//! then the items; fixed arrays are their bytes.
//!
//! `SignedAction` = `account: u32, trader: [u8; 32], nonce: u64, action: Action,
//! signature: [u8; 64]`, where `trader` is the key that signed: the account's owner or its
//! session key.
//!
//! `SignedOracleUpdate` = `update: OracleUpdate { market: u16, price: u64,
//! publish_time_ms: u64 }, signature: [u8; 64]`.
//!
//! # Signing
//!
//! The signed message is `"gnomon/action/v1" || exchange_id [32] || account u32 LE ||
//! nonce u64 LE || borsh(action)`; admin actions sign `"gnomon/admin/v1" || exchange_id ||
//! nonce u64 LE || borsh(admin action)`. The exchange id separates deployments, the prefix
//! separates message kinds, and the nonce (strictly increasing per account, gaps allowed)
//! stops replays. A rejected action changes nothing, its nonce included; once an action with
//! a higher nonce is accepted, it can never apply.
//!
//! # Session keys
//!
//! An account's owner (its Solana key) may register one session key with
//! [`Action::SetSessionKey`], signed by the owner. Until it expires, the session key signs
//! every action of the account except changing the session key; withdrawals still pay the
//! owner on Solana, so a leaked session key can trade but never take collateral away.
//!
//! # Oracle prices
//!
//! The oracle authority (the exchange config's `oracle` key) keeps one hash chain per market
//! ([`crate::prices::oracle_chain_next`]) and signs each new head: `"gnomon/oracle/v1" ||
//! exchange_id || market u16 LE || chain head [32]`. A head commits to every update of the
//! market before it, so one signature authenticates them all: the guest checks only each
//! market's last update in a batch (see [`crate::batch::verify_batch`]).

use alloc::vec::Vec;
use borsh::{BorshDeserialize, BorshSerialize};

use crate::fixed::{Lots, Price, Timestamp};
use crate::market::{MarketConfig, MarketStatus};
use crate::order::{Execution, SelfTradePrevention, Side, Trigger};
use crate::prices::OracleUpdate;
use crate::{AccountId, MarketId, OrderId};

/// Domain prefix of trader action messages.
pub const ACTION_DOMAIN: &[u8] = b"gnomon/action/v1";
/// Domain prefix of admin action messages.
pub const ADMIN_DOMAIN: &[u8] = b"gnomon/admin/v1";
/// Domain prefix of oracle messages.
pub const ORACLE_DOMAIN: &[u8] = b"gnomon/oracle/v1";

/// A new order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct OrderRequest {
    pub market: MarketId,
    pub side: Side,
    pub lots: Lots,
    pub execution: Execution,
    /// With a trigger the order waits for the mark price (stop-market, stop-limit,
    /// take-profit); without, it executes at once.
    pub trigger: Option<Trigger>,
    pub reduce_only: bool,
    /// The trader's id for the order, unique among its open orders in the market (0: none).
    pub client_order_id: u64,
    pub self_trade: SelfTradePrevention,
}

/// What a trader can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Action {
    PlaceOrder(OrderRequest),
    Cancel {
        market: MarketId,
        order_id: OrderId,
    },
    CancelByClientId {
        market: MarketId,
        client_order_id: u64,
    },
    /// Every open order of the account, in one market or in all.
    CancelAll {
        market: Option<MarketId>,
    },
    /// New price and size of a resting order. Shrinking keeps its priority; a new price or a
    /// larger size sends it to the back (and it may take liquidity at the new price).
    Modify {
        market: MarketId,
        order_id: OrderId,
        price: Price,
        lots: Lots,
    },
    /// Quote atoms to withdraw, at most the free collateral.
    Withdraw {
        amount: u64,
    },
    /// Registers (or, with `None`, revokes) the account's session key. Only the owner's key
    /// may sign it.
    SetSessionKey {
        session: Option<SessionKey>,
    },
}

/// A key that signs for an account in place of its owner until `expires_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SessionKey {
    pub key: [u8; 32],
    /// Actions stamped at or after this time are no longer authorized by the key.
    pub expires_ms: Timestamp,
}

/// A trader action as submitted: who, with which nonce, signed.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedAction {
    pub account: AccountId,
    pub trader: [u8; 32],
    pub nonce: u64,
    pub action: Action,
    pub signature: [u8; 64],
}

/// What the exchange admin can do.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum AdminAction {
    AddMarket(MarketConfig),
    SetMarketStatus {
        market: MarketId,
        status: MarketStatus,
    },
}

/// An admin action signed by the exchange's admin key.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedAdminAction {
    pub nonce: u64,
    pub action: AdminAction,
    pub signature: [u8; 64],
}

/// An oracle price with the oracle authority's signature of the market's chain head after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedOracleUpdate {
    pub update: OracleUpdate,
    pub signature: [u8; 64],
}

/// The message a trader signs for `action`.
pub fn action_message(
    exchange_id: &[u8; 32],
    account: AccountId,
    nonce: u64,
    action: &Action,
) -> Vec<u8> {
    let mut message = Vec::with_capacity(ACTION_DOMAIN.len() + 32 + 12 + 64);
    message.extend_from_slice(ACTION_DOMAIN);
    message.extend_from_slice(exchange_id);
    message.extend_from_slice(&account.to_le_bytes());
    message.extend_from_slice(&nonce.to_le_bytes());
    // Writing into a Vec cannot fail.
    let _ = action.serialize(&mut message);
    message
}

/// The message the admin signs for `action`.
pub fn admin_message(exchange_id: &[u8; 32], nonce: u64, action: &AdminAction) -> Vec<u8> {
    let mut message = Vec::with_capacity(ADMIN_DOMAIN.len() + 32 + 8 + 64);
    message.extend_from_slice(ADMIN_DOMAIN);
    message.extend_from_slice(exchange_id);
    message.extend_from_slice(&nonce.to_le_bytes());
    let _ = action.serialize(&mut message);
    message
}

/// The message the oracle authority signs: `market`'s oracle chain head (see
/// [`crate::prices::oracle_chain_next`]).
pub fn oracle_message(exchange_id: &[u8; 32], market: MarketId, chain: &[u8; 32]) -> Vec<u8> {
    let mut message = Vec::with_capacity(ORACLE_DOMAIN.len() + 32 + 2 + 32);
    message.extend_from_slice(ORACLE_DOMAIN);
    message.extend_from_slice(exchange_id);
    message.extend_from_slice(&market.to_le_bytes());
    message.extend_from_slice(chain);
    message
}

/// Checks signatures, so that the state machine does not depend on one implementation: the
/// engine uses ed25519-dalek ([`Ed25519Verifier`]), a guest may use a precompile.
pub trait SignatureVerifier {
    /// Whether `signature` is `public_key`'s signature of `message`.
    fn verify(&self, public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool;
}

/// Ed25519 (RFC 8032) verification with ed25519-dalek's strict checks (no small-order keys,
/// canonical signatures), so that a signature is valid here exactly when it is valid in the
/// guest.
#[cfg(feature = "ed25519")]
#[derive(Clone, Copy, Debug, Default)]
pub struct Ed25519Verifier;

#[cfg(feature = "ed25519")]
impl SignatureVerifier for Ed25519Verifier {
    fn verify(&self, public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
        let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(public_key) else {
            return false;
        };
        key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature))
            .is_ok()
    }
}
