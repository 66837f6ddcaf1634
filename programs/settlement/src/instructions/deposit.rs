//! `deposit`: tokens move from the trader's token account into the vault, and the deposit
//! joins the queue and the chain that the next batches must consume in order.

use anchor_lang::prelude::*;
use anchor_spl::token::{self, Mint, Token, TokenAccount, TransferChecked};
use gnomon_settlement_verifier::batch::deposit_chain_next;

use crate::error::SettlementError;
use crate::events::Deposited;
use crate::state::{EXCHANGE_SEED, Exchange, QueuedDeposit, queue_slot};

#[derive(Accounts)]
pub struct Deposit<'info> {
    pub owner: Signer<'info>,
    #[account(
        mut,
        seeds = [EXCHANGE_SEED, exchange.collateral_mint.as_ref()],
        bump = exchange.bump,
    )]
    pub exchange: Box<Account<'info, Exchange>>,
    pub collateral_mint: Box<Account<'info, Mint>>,
    #[account(mut)]
    pub owner_token: Box<Account<'info, TokenAccount>>,
    #[account(mut)]
    pub vault: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

pub fn process(ctx: Context<Deposit>, amount: u64) -> Result<()> {
    token::transfer_checked(
        CpiContext::new(
            ctx.accounts.token_program.key(),
            TransferChecked {
                from: ctx.accounts.owner_token.to_account_info(),
                mint: ctx.accounts.collateral_mint.to_account_info(),
                to: ctx.accounts.vault.to_account_info(),
                authority: ctx.accounts.owner.to_account_info(),
            },
        ),
        amount,
        ctx.accounts.collateral_mint.decimals,
    )?;
    let owner = ctx.accounts.owner.key();
    let exchange = &mut ctx.accounts.exchange;
    let sequence = exchange.deposit_count;
    let chain = deposit_chain_next(&exchange.deposit_chain, sequence, &owner.to_bytes(), amount);
    exchange.deposit_queue[queue_slot(sequence)] = QueuedDeposit {
        owner,
        amount,
        chain_after: chain,
        reclaimed: false,
    };
    exchange.deposit_chain = chain;
    exchange.deposit_count = sequence.checked_add(1).ok_or(SettlementError::Overflow)?;
    emit!(Deposited {
        exchange: exchange.key(),
        owner,
        sequence,
        amount,
        chain,
    });
    Ok(())
}
