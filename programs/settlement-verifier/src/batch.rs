//! The settlement header and the chunked lists: what a batch proof commits to, laid out so that
//! a Solana program can check all of it in transactions of at most 1,232 bytes.
//!
//! # Why a header and not the whole `BatchOutput`
//!
//! A batch's balance list can be far larger than a transaction, and the `sol_sha256` syscall
//! hashes only what one instruction holds, so the program cannot recompute SHA-256 over the
//! borsh bytes of a whole `gnomon_core::batch::BatchOutput`. The guest must therefore commit
//! the fixed-size [`BatchHeader`] of its output (its journal is exactly
//! [`BatchHeader::to_bytes`]): the output's fixed-size fields as they are, and each list
//! replaced by its length and its [`list hash`](list_hash):
//!
//! ```text
//! list_hash([])          = 32 zero bytes
//! list_hash([e, rest..]) = sha256(entry_bytes(e) || list_hash(rest))
//! ```
//!
//! A hash from the back lets the program check a chunk the moment it arrives: it keeps the
//! hash of the entries not yet applied, and a chunk `e_i..e_j` comes with `list_hash` of the
//! entries after it; folding the chunk onto that must give the kept hash, and the chunk's tail
//! hash becomes the new one. A wrong chunk fails at once; no chunk is ever applied on trust.
//!
//! # Layouts (borsh; all integers little-endian)
//!
//! `BatchHeader` (304 bytes) = `exchange_id: [u8; 32], batch_number: u64, prior_root: [u8; 32],
//! new_root: [u8; 32], time: TimeRange, deposits: DepositRange, oracle_digest: [u8; 32],
//! balance_count: u32, balances_hash: [u8; 32], withdrawal_count: u32, withdrawals_hash:
//! [u8; 32]`, where the roots are the borsh bytes of the engine's `[u32; 8]` state roots,
//! `TimeRange` (16 bytes) = `start_ms: u64, end_ms: u64` and `DepositRange` (80 bytes) =
//! `first_sequence: u64, end_sequence: u64, chain_before: [u8; 32], chain_after: [u8; 32]`.
//! Its first [`FIXED_LEN`] (232) bytes are byte for byte the first 232 bytes of the borsh
//! encoding of the engine's `BatchOutput` (its fixed-size fields); the rest replaces the lists.
//!
//! `SettledBalance` (44 bytes) = `account: u32, owner: [u8; 32], collateral: i64` and
//! `Withdrawal` (44 bytes) = `account: u32, owner: [u8; 32], amount: u64`: the engine's types'
//! borsh encodings.
//!
//! The deposit chain is the engine's: `chain' = sha256(chain || sequence u64 LE || owner ||
//! amount u64 LE)` from 32 zero bytes ([`deposit_chain_next`]).

use crate::{sha256, sha256_pair};

/// Bytes of an encoded [`BatchHeader`].
pub const HEADER_LEN: usize = 304;
/// Bytes of the header that are the engine output's fixed-size fields, unchanged.
pub const FIXED_LEN: usize = 232;
/// Bytes of an encoded list entry ([`SettledBalance`] or [`Withdrawal`]).
pub const ENTRY_LEN: usize = 44;
/// The list hash of the empty list.
pub const EMPTY_LIST_HASH: [u8; 32] = [0; 32];

/// Deposits a batch consumed from the on-chain queue: sequences
/// `first_sequence..end_sequence`, moving the chain from `chain_before` to `chain_after`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DepositRange {
    pub first_sequence: u64,
    pub end_sequence: u64,
    pub chain_before: [u8; 32],
    pub chain_after: [u8; 32],
}

/// The exchange clock before and after a batch (milliseconds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub start_ms: u64,
    pub end_ms: u64,
}

/// What a batch proof commits to (see the module documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchHeader {
    /// The engine's exchange id: a proof for one exchange is no proof for another.
    pub exchange_id: [u8; 32],
    pub batch_number: u64,
    pub prior_root: [u8; 32],
    pub new_root: [u8; 32],
    pub time: TimeRange,
    pub deposits: DepositRange,
    /// SHA-256 of the markets' oracle chain heads after the batch.
    pub oracle_digest: [u8; 32],
    pub balance_count: u32,
    pub balances_hash: [u8; 32],
    pub withdrawal_count: u32,
    pub withdrawals_hash: [u8; 32],
}

impl BatchHeader {
    /// The borsh encoding: the guest's journal, and the preimage of the output digest.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        let mut writer = Writer::new(&mut out);
        writer.put(&self.exchange_id);
        writer.put(&self.batch_number.to_le_bytes());
        writer.put(&self.prior_root);
        writer.put(&self.new_root);
        writer.put(&self.time.start_ms.to_le_bytes());
        writer.put(&self.time.end_ms.to_le_bytes());
        writer.put(&self.deposits.first_sequence.to_le_bytes());
        writer.put(&self.deposits.end_sequence.to_le_bytes());
        writer.put(&self.deposits.chain_before);
        writer.put(&self.deposits.chain_after);
        writer.put(&self.oracle_digest);
        writer.put(&self.balance_count.to_le_bytes());
        writer.put(&self.balances_hash);
        writer.put(&self.withdrawal_count.to_le_bytes());
        writer.put(&self.withdrawals_hash);
        out
    }

    /// The inverse of [`Self::to_bytes`] (every byte string of the length is a header).
    pub fn from_bytes(bytes: &[u8; HEADER_LEN]) -> Self {
        let mut reader = Reader { bytes, at: 0 };
        Self {
            exchange_id: reader.take(),
            batch_number: u64::from_le_bytes(reader.take()),
            prior_root: reader.take(),
            new_root: reader.take(),
            time: TimeRange {
                start_ms: u64::from_le_bytes(reader.take()),
                end_ms: u64::from_le_bytes(reader.take()),
            },
            deposits: DepositRange {
                first_sequence: u64::from_le_bytes(reader.take()),
                end_sequence: u64::from_le_bytes(reader.take()),
                chain_before: reader.take(),
                chain_after: reader.take(),
            },
            oracle_digest: reader.take(),
            balance_count: u32::from_le_bytes(reader.take()),
            balances_hash: reader.take(),
            withdrawal_count: u32::from_le_bytes(reader.take()),
            withdrawals_hash: reader.take(),
        }
    }

    /// SHA-256 of [`Self::to_bytes`]: the zkVM's output digest of a batch run, whose journal is
    /// this header.
    pub fn output_digest(&self) -> [u8; 32] {
        sha256(&self.to_bytes())
    }
}

/// An account's settled collateral after a batch (the engine's `SettledBalance`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SettledBalance {
    pub account: u32,
    pub owner: [u8; 32],
    pub collateral: i64,
}

/// Collateral a batch releases to an account's owner (the engine's `Withdrawal`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Withdrawal {
    pub account: u32,
    pub owner: [u8; 32],
    pub amount: u64,
}

/// An entry of a committed list.
pub trait ListEntry {
    /// Its borsh encoding.
    fn to_bytes(&self) -> [u8; ENTRY_LEN];
}

/// An entry already encoded (what a host that holds the engine's borsh bytes hashes).
impl ListEntry for [u8; ENTRY_LEN] {
    fn to_bytes(&self) -> [u8; ENTRY_LEN] {
        *self
    }
}

impl ListEntry for SettledBalance {
    fn to_bytes(&self) -> [u8; ENTRY_LEN] {
        entry_bytes(self.account, &self.owner, self.collateral.to_le_bytes())
    }
}

impl ListEntry for Withdrawal {
    fn to_bytes(&self) -> [u8; ENTRY_LEN] {
        entry_bytes(self.account, &self.owner, self.amount.to_le_bytes())
    }
}

fn entry_bytes(account: u32, owner: &[u8; 32], value: [u8; 8]) -> [u8; ENTRY_LEN] {
    let mut out = [0u8; ENTRY_LEN];
    let mut writer = Writer::new(&mut out);
    writer.put(&account.to_le_bytes());
    writer.put(owner);
    writer.put(&value);
    out
}

/// The list hash of `entries` followed by a tail whose list hash is `tail_hash`: folds the
/// entries from the back. `list_hash(entries, &EMPTY_LIST_HASH)` is the hash of the whole list.
pub fn list_hash<E: ListEntry>(entries: &[E], tail_hash: &[u8; 32]) -> [u8; 32] {
    entries.iter().rev().fold(*tail_hash, |hash, entry| {
        sha256_pair(&entry.to_bytes(), &hash)
    })
}

/// The deposit chain after a deposit of `amount` by `owner` with sequence number `sequence`.
pub fn deposit_chain_next(
    chain: &[u8; 32],
    sequence: u64,
    owner: &[u8; 32],
    amount: u64,
) -> [u8; 32] {
    let mut preimage = [0u8; 80];
    let mut writer = Writer::new(&mut preimage);
    writer.put(chain);
    writer.put(&sequence.to_le_bytes());
    writer.put(owner);
    writer.put(&amount.to_le_bytes());
    sha256(&preimage)
}

/// Appends to a fixed buffer whose size the caller computed; a write past its end would be a
/// bug in this module's layouts, which the tests rule out (slicing, not an unchecked write).
struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl<'a> Writer<'a> {
    fn new(out: &'a mut [u8]) -> Self {
        Self { out, at: 0 }
    }

    fn put(&mut self, bytes: &[u8]) {
        let end = self.at + bytes.len();
        self.out[self.at..end].copy_from_slice(bytes);
        self.at = end;
    }
}

/// Reads a fixed buffer in the layout order (the counterpart of [`Writer`]).
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        out.copy_from_slice(&self.bytes[self.at..self.at + N]);
        self.at += N;
        out
    }
}
