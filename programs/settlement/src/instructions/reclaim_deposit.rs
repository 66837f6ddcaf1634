//! `reclaim_deposit`: with the escape hatch open, a depositor takes back a deposit that no
//! batch consumed (its collateral never reached a trader balance, so `escape` cannot pay it).

use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::events::DepositReclaimed;
use crate::instructions::Payout;
use crate::instructions::escape::open_hatch;
use crate::state::{EXCHANGE_SEED, Exchange, queue_slot};

#[derive(Accounts)]
pub struct ReclaimDeposit<'info> {
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

pub fn process(ctx: Context<ReclaimDeposit>, sequence: u64) -> Result<()> {
    let exchange_key = ctx.accounts.exchange.key();
    let exchange = &mut ctx.accounts.exchange;
    open_hatch(exchange, exchange_key)?;
    let queued = &mut exchange.deposit_queue[queue_slot(sequence)];
    queued.reclaimed = true;
    let (owner, amount) = (queued.owner, queued.amount);
    let accounts = &ctx.accounts;
    Payout {
        exchange: &accounts.exchange,
        collateral_mint: &accounts.collateral_mint,
        vault: &accounts.vault,
        to: &accounts.owner_token,
        token_program: &accounts.token_program,
    }
    .pay(amount)?;
    emit!(DepositReclaimed {
        exchange: exchange_key,
        owner,
        sequence,
        amount,
    });
    Ok(())
}
