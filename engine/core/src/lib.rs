//! # gnomon-core: the perpetual-futures state machine
//!
//! The one source of truth for Gnomon's exchange logic, compiled natively for the engine
//! (which trades in real time) and to RV32IM for the guest (which re-executes each batch
//! inside the zkVM to prove it). Same bytes in, same bytes out, on both.
//!
//! ## What it owns
//!
//! - [`market`]: market configuration (tick and lot sizes, margin tiers, fees, funding and
//!   oracle parameters, open-interest cap, status) and per-market dynamic state.
//! - [`book`]: the central limit order book (price-time priority) and trigger orders.
//! - `matching` (internal): order entry, matching, cancels, modifies, withdrawals.
//! - [`account`] and [`margin`]: collateral, positions, cross-margin risk.
//! - [`prices`] and [`funding`]: oracle index, mark price, premium, hourly funding.
//! - [`liquidation`]: book liquidation, insurance-fund backstop, auto-deleveraging.
//! - [`exchange`]: the state and the one place steps are applied, atomically.
//! - [`action`], [`event`], [`error`]: the wire vocabulary in and out.
//! - [`hash`] and [`tree`]: the Poseidon2 account tree and the state root.
//! - [`sha256`]: SHA-256 over a pluggable compression function, for the hash chains and
//!   lists the settlement program checks.
//! - [`batch`]: batch input, output and witness; the native [`batch::Ledger`] and the guest's
//!   [`batch::verify_batch`].
//!
//! Units and rounding rules are in [`fixed`].
//!
//! ## What it must never do
//!
//! - Use floating point: every quantity is an integer with a documented scale.
//! - Read a clock or draw randomness: time, prices and deposits are inputs.
//! - Depend on hash-map iteration order: state lives in `BTreeMap`s and `Vec`s.
//! - Panic on any input: malformed or unauthorized actions are rejected with a typed reason
//!   and leave the state untouched; arithmetic is checked or provably bounded.
//! - Need `std`: it is `no_std` with `alloc`, for the guest.
//!
//! ## The API the engine and the guest call
//!
//! - Engine: [`exchange::Exchange::genesis`], then a [`batch::Ledger`]:
//!   [`batch::Ledger::apply_step`] per sequenced step (returns the [`event::Event`]s),
//!   [`batch::Ledger::seal_batch`] per batch (input, witness and expected output for the
//!   prover). Queries: [`exchange::Exchange::health`], `liquidation_price`,
//!   `liquidatable_accounts`, `deleverage_lists`, the books.
//! - Guest: [`batch::verify_batch`] with its Poseidon2 precompile as the [`hash::Permutation`],
//!   its SHA-256 precompile as the [`sha256::Sha256Compression`] and a
//!   [`action::SignatureVerifier`]; then [`batch::BatchOutput::header_with`] its SHA-256.
//!
//! ## Features
//!
//! - `native-poseidon2` (default): [`hash::NativePoseidon2`], the software permutation.
//! - `ed25519` (default): [`action::Ed25519Verifier`], with ed25519-dalek.
//!
//! Both compile for the guest target too; a guest that brings its own permutation and
//! verifier can build with `default-features = false`.

#![no_std]

extern crate alloc;

pub mod account;
pub mod action;
pub mod batch;
pub mod book;
pub mod error;
pub mod event;
pub mod exchange;
pub mod fixed;
pub mod funding;
pub mod hash;
pub mod liquidation;
pub mod margin;
pub mod market;
mod matching;
pub mod order;
pub mod prices;
pub mod sha256;
pub mod tree;

/// Accounts are numbered densely; account 0 is the insurance fund.
pub type AccountId = u32;
/// A market's index in the exchange's market list.
pub type MarketId = u16;
/// Order ids are assigned by the exchange, increasing.
pub type OrderId = u64;

/// The insurance fund's account. It takes over positions as the liquidation backstop,
/// receives liquidation fees and funding rounding residue, and pays bad debt. It never acts
/// through trader actions.
pub const INSURANCE_FUND: AccountId = 0;
