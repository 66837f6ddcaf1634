//! Account layouts. Every account starts with Anchor's 8-byte discriminator, then a layout
//! `version` byte and its canonical PDA `bump`; every field after them has a fixed size, so
//! each account's size is a constant ([`Exchange::SIZE`], [`Trader::SIZE`],
//! [`PendingBatch::SIZE`]) and a later version can be told apart and migrated.
//!
//! PDAs (all with the canonical bump, stored at creation and checked on every use):
//!
//! | account | seeds |
//! |---|---|
//! | [`Exchange`] | `"exchange"`, collateral mint |
//! | vault (SPL token account, authority: the exchange) | `"vault"`, exchange |
//! | [`Trader`] | `"trader"`, exchange, engine account id (`u32` LE) |
//! | [`PendingBatch`] | `"pending"`, exchange, batch number (`u64` LE) |
//!
//! Traders are keyed by the engine's account id, not by wallet: one wallet may hold several
//! engine accounts, and a batch names accounts by id.

use anchor_lang::prelude::*;

use crate::args::VerifyingKey;

/// Layout version of every account this program writes.
pub const LAYOUT_VERSION: u8 = 1;

/// Seed prefixes.
pub const EXCHANGE_SEED: &[u8] = b"exchange";
pub const VAULT_SEED: &[u8] = b"vault";
pub const TRADER_SEED: &[u8] = b"trader";
pub const PENDING_SEED: &[u8] = b"pending";

/// Deposits that can wait in the queue for a batch to consume them. A full queue refuses new
/// deposits until the next batch: a bounded queue is what lets `submit_batch` check the chain
/// at any point a batch may stop consuming (each slot keeps the chain after its deposit).
pub const DEPOSIT_QUEUE_CAPACITY: usize = 32;

/// A deposit waiting for a batch.
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq, InitSpace,
)]
pub struct QueuedDeposit {
    pub owner: Pubkey,
    pub amount: u64,
    /// The deposit chain after this deposit.
    pub chain_after: [u8; 32],
    /// Refunded through the escape hatch (never consumed by a batch).
    pub reclaimed: bool,
}

/// The exchange: configuration, the proven state, the deposit queue and the escape hatch.
#[account]
#[derive(Debug, Default, InitSpace)]
pub struct Exchange {
    pub version: u8,
    pub bump: u8,
    pub vault_bump: u8,
    /// Deposits and batches are refused while set (the escape hatch keeps running).
    pub paused: bool,
    /// The escape hatch is open: no batch is accepted ever again.
    pub escaped: bool,
    /// The engine's exchange id, which every batch must carry.
    pub exchange_id: [u8; 32],
    pub admin: Pubkey,
    pub operator: Pubkey,
    pub collateral_mint: Pubkey,
    pub vault: Pubkey,
    /// The guest program batches must be proven with (eight little-endian BabyBear
    /// elements, `ProgramCommitment::to_bytes`).
    pub program_commitment: [u8; 32],
    /// The Groth16 verifying key batches are checked against: the key of the exchange's
    /// setup of the wrap circuit for that program.
    pub verifying_key: VerifyingKey,
    /// A rotation waiting for its delay: the commitment and key it installs, and the slot
    /// from which it applies (0: none).
    pub pending_commitment: [u8; 32],
    pub pending_verifying_key: VerifyingKey,
    pub rotation_slot: u64,
    pub rotation_delay_slots: u64,
    /// The state root of the last accepted batch (the genesis root before the first).
    pub state_root: [u8; 32],
    /// The last accepted batch.
    pub last_batch: u64,
    /// The last batch whose balances and withdrawals are all applied; equal to `last_batch`
    /// unless a batch is being applied.
    pub applied_batch: u64,
    /// Deposits received (the next deposit's sequence number) and the chain over all of them.
    pub deposit_count: u64,
    pub deposit_chain: [u8; 32],
    /// Deposits consumed by accepted batches, and the chain after them.
    pub consumed_deposits: u64,
    pub consumed_chain: [u8; 32],
    /// Slot of the last fully applied batch (or of initialization).
    pub last_settlement_slot: u64,
    /// Slots without a settled batch after which the escape hatch opens.
    pub escape_delay_slots: u64,
    /// Deposits `consumed_deposits..deposit_count`, sequence `s` in slot
    /// `s % DEPOSIT_QUEUE_CAPACITY`.
    pub deposit_queue: [QueuedDeposit; DEPOSIT_QUEUE_CAPACITY],
}

impl Exchange {
    /// Bytes of the account, discriminator included.
    pub const SIZE: usize = 8 + Self::INIT_SPACE;

    /// Whether a batch has been accepted but not fully applied.
    pub fn applying(&self) -> bool {
        self.applied_batch != self.last_batch
    }

    /// The number the next batch must carry.
    pub fn next_batch_number(&self) -> u64 {
        self.last_batch.saturating_add(1)
    }

    /// Whether a proposed rotation takes effect at `slot`.
    pub fn rotation_due(&self, slot: u64) -> bool {
        self.rotation_slot != 0 && slot >= self.rotation_slot
    }

    /// The program commitment and verifying key batches are checked against at `slot`.
    pub fn program_at(&self, slot: u64) -> (&[u8; 32], &VerifyingKey) {
        if self.rotation_due(slot) {
            (&self.pending_commitment, &self.pending_verifying_key)
        } else {
            (&self.program_commitment, &self.verifying_key)
        }
    }

    /// Whether the escape hatch is open at `slot`: opened already, or no batch settled for the
    /// escape delay.
    pub fn escape_open(&self, slot: u64) -> bool {
        self.escaped
            || slot
                >= self
                    .last_settlement_slot
                    .saturating_add(self.escape_delay_slots)
    }

    /// The deposits no batch has consumed yet, from sequence `from` on (the engine reads them
    /// to credit them), with their sequence numbers.
    pub fn waiting_deposits(&self, from: u64) -> impl Iterator<Item = (u64, &QueuedDeposit)> {
        (from.max(self.consumed_deposits)..self.deposit_count)
            .map(|sequence| (sequence, &self.deposit_queue[queue_slot(sequence)]))
    }

    /// The deposit chain after the first `count` deposits, if the queue still holds it:
    /// `count` between the consumed and the received counts.
    pub fn chain_at(&self, count: u64) -> Option<[u8; 32]> {
        if count == self.consumed_deposits {
            return Some(self.consumed_chain);
        }
        if count <= self.consumed_deposits || count > self.deposit_count {
            return None;
        }
        Some(self.deposit_queue[queue_slot(count - 1)].chain_after)
    }
}

/// The queue slot of deposit `sequence`.
pub fn queue_slot(sequence: u64) -> usize {
    (sequence % DEPOSIT_QUEUE_CAPACITY as u64) as usize
}

/// An engine account's settled state.
///
/// Entries of a batch being applied are staged, not settled: they take effect together when
/// the whole batch is applied (read through [`Trader::settle`]), so a batch applied halfway
/// (an operator that stops between chunks) never mixes new balances with old ones in what
/// claims and the escape hatch pay.
#[account]
#[derive(Debug, InitSpace)]
pub struct Trader {
    pub version: u8,
    pub bump: u8,
    pub exchange: Pubkey,
    /// The engine's account id.
    pub account: u32,
    /// The wallet that owns the account (and signs claims and escapes).
    pub owner: Pubkey,
    /// Settled collateral (negative while unrealized gains covered it).
    pub collateral: i64,
    /// Withdrawals released by settled batches and not claimed yet.
    pub claimable: u64,
    /// The last batch that had an entry for this account.
    pub last_batch: u64,
    /// Staged by batch `last_batch` while it is being applied.
    pub staged_collateral: i64,
    pub has_staged_collateral: bool,
    pub staged_withdrawal: u64,
}

impl Trader {
    /// Bytes of the account, discriminator included.
    pub const SIZE: usize = 8 + Self::INIT_SPACE;

    /// Moves what batch `last_batch` staged into the settled fields once that batch is fully
    /// applied (`applied_batch` has reached it). Idempotent.
    pub fn settle(&mut self, applied_batch: u64) -> Result<()> {
        if self.last_batch > applied_batch {
            return Ok(());
        }
        if self.has_staged_collateral {
            self.collateral = self.staged_collateral;
            self.has_staged_collateral = false;
        }
        if self.staged_withdrawal > 0 {
            self.claimable = self
                .claimable
                .checked_add(self.staged_withdrawal)
                .ok_or(crate::error::SettlementError::Overflow)?;
            self.staged_withdrawal = 0;
        }
        Ok(())
    }
}

/// A verified batch whose balances and withdrawals are being applied, chunk by chunk.
#[account]
#[derive(Debug, InitSpace)]
pub struct PendingBatch {
    pub version: u8,
    pub bump: u8,
    pub exchange: Pubkey,
    pub batch_number: u64,
    pub balance_count: u32,
    /// Balances applied so far (the next chunk starts here).
    pub balances_applied: u32,
    /// List hash of the balances not applied yet.
    pub balances_remaining_hash: [u8; 32],
    pub withdrawal_count: u32,
    pub withdrawals_applied: u32,
    pub withdrawals_remaining_hash: [u8; 32],
}

impl PendingBatch {
    /// Bytes of the account, discriminator included.
    pub const SIZE: usize = 8 + Self::INIT_SPACE;

    /// Whether every entry is applied.
    pub fn complete(&self) -> bool {
        self.balances_applied == self.balance_count
            && self.withdrawals_applied == self.withdrawal_count
    }
}
