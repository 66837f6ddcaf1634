//! Instruction arguments. They mirror the verification core's types field for field (the same
//! borsh bytes, which a test checks) so that Anchor's IDL describes them to clients; the
//! conversions below hand them to the core.

use anchor_lang::prelude::*;
use gnomon_settlement_verifier::{batch as core, verify};

/// What `initialize_exchange` records.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct InitializeParams {
    /// The engine's exchange id (its `ExchangeConfig::exchange_id`): batches must carry it.
    pub exchange_id: [u8; 32],
    pub operator: Pubkey,
    /// The guest program's commitment (eight little-endian BabyBear elements).
    pub program_commitment: [u8; 32],
    /// The engine's genesis state root (its `[u32; 8]` as borsh bytes).
    pub genesis_root: [u8; 32],
    /// The Groth16 verifying key of the exchange's setup of the wrap circuit.
    pub verifying_key: VerifyingKey,
    pub escape_delay_slots: u64,
    pub rotation_delay_slots: u64,
}

/// `gnomon_settlement_verifier::verify::VerifyingKey`: groth16-solana's point format, one
/// input point per public input plus the constant.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct VerifyingKey {
    pub alpha_g1: [u8; 64],
    pub beta_g2: [u8; 128],
    pub gamma_g2: [u8; 128],
    pub delta_g2: [u8; 128],
    pub ic: [[u8; 64]; verify::INPUT_POINTS],
}

impl Default for VerifyingKey {
    fn default() -> Self {
        Self {
            alpha_g1: [0; 64],
            beta_g2: [0; 128],
            gamma_g2: [0; 128],
            delta_g2: [0; 128],
            ic: [[0; 64]; verify::INPUT_POINTS],
        }
    }
}

impl From<&VerifyingKey> for verify::VerifyingKey {
    fn from(key: &VerifyingKey) -> Self {
        Self {
            alpha_g1: key.alpha_g1,
            beta_g2: key.beta_g2,
            gamma_g2: key.gamma_g2,
            delta_g2: key.delta_g2,
            ic: key.ic,
        }
    }
}

/// The key's id (`gnomon_settlement_verifier::verify::VerifyingKey::id`), for events.
pub fn key_id(key: &VerifyingKey) -> [u8; 32] {
    verify::VerifyingKey::from(key).id()
}

impl From<&verify::VerifyingKey> for VerifyingKey {
    fn from(key: &verify::VerifyingKey) -> Self {
        Self {
            alpha_g1: key.alpha_g1,
            beta_g2: key.beta_g2,
            gamma_g2: key.gamma_g2,
            delta_g2: key.delta_g2,
            ic: key.ic,
        }
    }
}

/// `gnomon_settlement_verifier::batch::DepositRange`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DepositRange {
    pub first_sequence: u64,
    pub end_sequence: u64,
    pub chain_before: [u8; 32],
    pub chain_after: [u8; 32],
}

/// `gnomon_settlement_verifier::batch::TimeRange`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub start_ms: u64,
    pub end_ms: u64,
}

/// `gnomon_settlement_verifier::batch::BatchHeader`: what the batch proof commits to.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchHeader {
    pub exchange_id: [u8; 32],
    pub batch_number: u64,
    pub prior_root: [u8; 32],
    pub new_root: [u8; 32],
    pub time: TimeRange,
    pub deposits: DepositRange,
    pub oracle_digest: [u8; 32],
    pub balance_count: u32,
    pub balances_hash: [u8; 32],
    pub withdrawal_count: u32,
    pub withdrawals_hash: [u8; 32],
}

impl From<&BatchHeader> for core::BatchHeader {
    fn from(header: &BatchHeader) -> Self {
        let deposits = &header.deposits;
        Self {
            exchange_id: header.exchange_id,
            batch_number: header.batch_number,
            prior_root: header.prior_root,
            new_root: header.new_root,
            time: core::TimeRange {
                start_ms: header.time.start_ms,
                end_ms: header.time.end_ms,
            },
            deposits: core::DepositRange {
                first_sequence: deposits.first_sequence,
                end_sequence: deposits.end_sequence,
                chain_before: deposits.chain_before,
                chain_after: deposits.chain_after,
            },
            oracle_digest: header.oracle_digest,
            balance_count: header.balance_count,
            balances_hash: header.balances_hash,
            withdrawal_count: header.withdrawal_count,
            withdrawals_hash: header.withdrawals_hash,
        }
    }
}

/// `gnomon_settlement_verifier::verify::Proof`: groth16-solana's format, `a` negated.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Proof {
    pub a: [u8; 64],
    pub b: [u8; 128],
    pub c: [u8; 64],
}

impl From<&Proof> for verify::Proof {
    fn from(proof: &Proof) -> Self {
        Self {
            a: proof.a,
            b: proof.b,
            c: proof.c,
        }
    }
}

/// `gnomon_settlement_verifier::batch::SettledBalance`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettledBalance {
    pub account: u32,
    pub owner: Pubkey,
    pub collateral: i64,
}

impl From<&SettledBalance> for core::SettledBalance {
    fn from(entry: &SettledBalance) -> Self {
        Self {
            account: entry.account,
            owner: entry.owner.to_bytes(),
            collateral: entry.collateral,
        }
    }
}

/// `gnomon_settlement_verifier::batch::Withdrawal`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Withdrawal {
    pub account: u32,
    pub owner: Pubkey,
    pub amount: u64,
}

impl From<&Withdrawal> for core::Withdrawal {
    fn from(entry: &Withdrawal) -> Self {
        Self {
            account: entry.account,
            owner: entry.owner.to_bytes(),
            amount: entry.amount,
        }
    }
}

/// Balances `first..first + entries.len()` of the batch's list, and the list hash of the
/// balances after them (32 zero bytes when the chunk ends the list).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct BalanceChunk {
    pub first: u32,
    pub entries: Vec<SettledBalance>,
    pub tail_hash: [u8; 32],
}

/// Withdrawals `first..first + entries.len()`, as [`BalanceChunk`].
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct WithdrawalChunk {
    pub first: u32,
    pub entries: Vec<Withdrawal>,
    pub tail_hash: [u8; 32],
}
