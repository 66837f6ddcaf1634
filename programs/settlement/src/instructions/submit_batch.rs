//! `submit_batch`: accepts a batch proven by the exchange's guest program from the current
//! state root. The checks (proof, root, number, deposits) are in
//! [`validation::submit_batch`](crate::validation::submit_batch); this records the new root,
//! consumes the deposits and opens the [`PendingBatch`] through which the batch's balances and
//! withdrawals are applied.
//!
//! Instruction data: 8 (discriminator) + 304 (header) + 256 (proof) = 568 bytes, which with
//! the four accounts fits a legacy transaction (measured by the tests).

use anchor_lang::prelude::*;

use crate::args::{BatchHeader, key_id};
use crate::error::SettlementError;
use crate::events::{BatchSubmitted, ProgramRotated};
use crate::state::{EXCHANGE_SEED, Exchange, LAYOUT_VERSION, PENDING_SEED, PendingBatch};

#[derive(Accounts)]
pub struct SubmitBatch<'info> {
    #[account(mut)]
    pub operator: Signer<'info>,
    #[account(
        mut,
        seeds = [EXCHANGE_SEED, exchange.collateral_mint.as_ref()],
        bump = exchange.bump,
    )]
    pub exchange: Box<Account<'info, Exchange>>,
    /// The next batch's: derived from the exchange's count, never from the header, so a batch
    /// with a wrong number reaches the number check instead of colliding with an account.
    #[account(
        init,
        payer = operator,
        space = PendingBatch::SIZE,
        seeds = [PENDING_SEED, exchange.key().as_ref(), &exchange.next_batch_number().to_le_bytes()],
        bump,
    )]
    pub pending_batch: Box<Account<'info, PendingBatch>>,
    pub system_program: Program<'info, System>,
}

/// Adopts a proposed program rotation whose delay has passed: the validation already checked
/// the batch against the program in force at this slot ([`Exchange::program_at`]).
fn adopt_due_rotation(exchange: &mut Exchange, exchange_key: Pubkey, slot: u64) {
    if !exchange.rotation_due(slot) {
        return;
    }
    exchange.program_commitment = exchange.pending_commitment;
    exchange.verifying_key = exchange.pending_verifying_key;
    exchange.rotation_slot = 0;
    emit!(ProgramRotated {
        exchange: exchange_key,
        program_commitment: exchange.program_commitment,
        verifying_key_id: key_id(&exchange.verifying_key),
    });
}

pub fn process(ctx: Context<SubmitBatch>, header: BatchHeader) -> Result<()> {
    let exchange_key = ctx.accounts.exchange.key();
    let exchange = &mut ctx.accounts.exchange;
    adopt_due_rotation(exchange, exchange_key, Clock::get()?.slot);
    let consumed = header
        .deposits
        .end_sequence
        .checked_sub(exchange.consumed_deposits)
        .ok_or(SettlementError::DepositRangeMismatch)?;
    exchange.state_root = header.new_root;
    exchange.last_batch = header.batch_number;
    exchange.consumed_deposits = header.deposits.end_sequence;
    exchange.consumed_chain = header.deposits.chain_after;
    ctx.accounts.pending_batch.set_inner(PendingBatch {
        version: LAYOUT_VERSION,
        bump: ctx.bumps.pending_batch,
        exchange: exchange_key,
        batch_number: header.batch_number,
        balance_count: header.balance_count,
        balances_applied: 0,
        balances_remaining_hash: header.balances_hash,
        withdrawal_count: header.withdrawal_count,
        withdrawals_applied: 0,
        withdrawals_remaining_hash: header.withdrawals_hash,
    });
    emit!(BatchSubmitted {
        exchange: exchange_key,
        batch_number: header.batch_number,
        new_root: header.new_root,
        deposits_consumed: consumed,
        balance_count: header.balance_count,
        withdrawal_count: header.withdrawal_count,
    });
    Ok(())
}
