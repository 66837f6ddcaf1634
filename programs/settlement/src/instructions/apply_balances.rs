//! `apply_balances`: the next chunk of the pending batch's balances and withdrawals. The
//! validation has checked the chunk against the committed list hashes; this stages each entry
//! on its trader account (creating the account for a new engine account), moves the cursors,
//! and settles the batch when the chunk completes both lists.
//!
//! Remaining accounts: one trader PDA per entry, the balances' first, in the chunk's order
//! (an account named twice is loaded and stored once per entry, in order).

use anchor_lang::prelude::*;

use crate::args::{BalanceChunk, WithdrawalChunk};
use crate::error::SettlementError;
use crate::events::{BalancesApplied, BatchSettled};
use crate::state::{EXCHANGE_SEED, Exchange, PENDING_SEED, PendingBatch, Trader};
use crate::validation::{TraderCreation, load_or_create_trader, store_trader};

#[derive(Accounts)]
pub struct ApplyBalances<'info> {
    /// Pays for new trader accounts; receives the pending batch's rent when it settles.
    #[account(mut)]
    pub operator: Signer<'info>,
    #[account(
        mut,
        seeds = [EXCHANGE_SEED, exchange.collateral_mint.as_ref()],
        bump = exchange.bump,
    )]
    pub exchange: Box<Account<'info, Exchange>>,
    #[account(
        mut,
        seeds = [PENDING_SEED, exchange.key().as_ref(), &exchange.last_batch.to_le_bytes()],
        bump = pending_batch.bump,
    )]
    pub pending_batch: Box<Account<'info, PendingBatch>>,
    pub system_program: Program<'info, System>,
}

pub fn process<'info>(
    ctx: Context<'info, ApplyBalances<'info>>,
    balances: BalanceChunk,
    withdrawals: WithdrawalChunk,
) -> Result<()> {
    let exchange_key = ctx.accounts.exchange.key();
    let batch = ctx.accounts.exchange.last_batch;
    let applied_batch = ctx.accounts.exchange.applied_batch;
    let creation = TraderCreation {
        payer: ctx.accounts.operator.as_ref(),
        system_program: ctx.accounts.system_program.as_ref(),
    };
    let (balance_traders, withdrawal_traders) =
        ctx.remaining_accounts.split_at(balances.entries.len());
    let stage =
        |info: &AccountInfo<'info>, account, owner, change: &dyn Fn(&mut Trader) -> Result<()>| {
            let mut trader = load_or_create_trader(info, &exchange_key, account, owner, &creation)?;
            // Whatever an earlier batch staged is settled by now: a batch is accepted only after
            // the previous one was fully applied.
            trader.settle(applied_batch)?;
            change(&mut trader)?;
            trader.last_batch = batch;
            store_trader(info, &trader)
        };
    for (entry, info) in balances.entries.iter().zip(balance_traders) {
        stage(info, entry.account, &entry.owner, &|trader: &mut Trader| {
            trader.staged_collateral = entry.collateral;
            trader.has_staged_collateral = true;
            Ok(())
        })?;
    }
    for (entry, info) in withdrawals.entries.iter().zip(withdrawal_traders) {
        stage(info, entry.account, &entry.owner, &|trader: &mut Trader| {
            trader.staged_withdrawal = trader
                .staged_withdrawal
                .checked_add(entry.amount)
                .ok_or(SettlementError::Overflow)?;
            Ok(())
        })?;
    }

    let pending = &mut ctx.accounts.pending_batch;
    // Lengths fit: the validation checked both chunks end within their lists.
    pending.balances_applied += balances.entries.len() as u32;
    pending.withdrawals_applied += withdrawals.entries.len() as u32;
    if !balances.entries.is_empty() {
        pending.balances_remaining_hash = balances.tail_hash;
    }
    if !withdrawals.entries.is_empty() {
        pending.withdrawals_remaining_hash = withdrawals.tail_hash;
    }
    emit!(BalancesApplied {
        exchange: exchange_key,
        batch_number: batch,
        balances_applied: pending.balances_applied,
        withdrawals_applied: pending.withdrawals_applied,
    });
    if !pending.complete() {
        return Ok(());
    }
    let slot = Clock::get()?.slot;
    let exchange = &mut ctx.accounts.exchange;
    exchange.applied_batch = batch;
    exchange.last_settlement_slot = slot;
    pending.close(ctx.accounts.operator.to_account_info())?;
    emit!(BatchSettled {
        exchange: exchange_key,
        batch_number: batch,
        slot,
    });
    Ok(())
}
