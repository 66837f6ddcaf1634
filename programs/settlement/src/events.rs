//! Events: one for every state change, emitted with `emit!` (program logs), so an indexer can
//! rebuild the exchange's history from the transactions alone.

use anchor_lang::prelude::*;

#[event]
pub struct ExchangeInitialized {
    pub exchange: Pubkey,
    pub exchange_id: [u8; 32],
    pub admin: Pubkey,
    pub operator: Pubkey,
    pub collateral_mint: Pubkey,
    pub vault: Pubkey,
    pub program_commitment: [u8; 32],
    pub verifying_key_id: [u8; 32],
    pub genesis_root: [u8; 32],
}

#[event]
pub struct OperatorChanged {
    pub exchange: Pubkey,
    pub previous: Pubkey,
    pub operator: Pubkey,
}

#[event]
pub struct PausedChanged {
    pub exchange: Pubkey,
    pub paused: bool,
}

#[event]
pub struct ProgramRotationProposed {
    pub exchange: Pubkey,
    pub program_commitment: [u8; 32],
    pub verifying_key_id: [u8; 32],
    /// The first slot from which batches are checked against the new program.
    pub effective_slot: u64,
}

#[event]
pub struct ProgramRotated {
    pub exchange: Pubkey,
    pub program_commitment: [u8; 32],
    pub verifying_key_id: [u8; 32],
}

#[event]
pub struct Deposited {
    pub exchange: Pubkey,
    pub owner: Pubkey,
    pub sequence: u64,
    pub amount: u64,
    pub chain: [u8; 32],
}

#[event]
pub struct BatchSubmitted {
    pub exchange: Pubkey,
    pub batch_number: u64,
    pub new_root: [u8; 32],
    pub deposits_consumed: u64,
    pub balance_count: u32,
    pub withdrawal_count: u32,
}

#[event]
pub struct BalancesApplied {
    pub exchange: Pubkey,
    pub batch_number: u64,
    pub balances_applied: u32,
    pub withdrawals_applied: u32,
}

#[event]
pub struct BatchSettled {
    pub exchange: Pubkey,
    pub batch_number: u64,
    pub slot: u64,
}

#[event]
pub struct WithdrawalClaimed {
    pub exchange: Pubkey,
    pub account: u32,
    pub owner: Pubkey,
    pub amount: u64,
}

#[event]
pub struct EscapeHatchOpened {
    pub exchange: Pubkey,
    pub last_settlement_slot: u64,
    pub slot: u64,
}

#[event]
pub struct Escaped {
    pub exchange: Pubkey,
    pub account: u32,
    pub owner: Pubkey,
    pub amount: u64,
}

#[event]
pub struct DepositReclaimed {
    pub exchange: Pubkey,
    pub owner: Pubkey,
    pub sequence: u64,
    pub amount: u64,
}
