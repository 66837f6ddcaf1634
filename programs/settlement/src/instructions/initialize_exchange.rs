//! `initialize_exchange`: creates the exchange PDA and its vault (a token account of the
//! collateral mint owned by the exchange PDA), records the guest program, the verifying key of
//! the exchange's wrap setup and the engine's genesis root.

use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::args::{InitializeParams, key_id};
use crate::events::ExchangeInitialized;
use crate::state::{
    DEPOSIT_QUEUE_CAPACITY, EXCHANGE_SEED, Exchange, LAYOUT_VERSION, QueuedDeposit, VAULT_SEED,
};

#[derive(Accounts)]
pub struct InitializeExchange<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    pub collateral_mint: Box<Account<'info, Mint>>,
    #[account(
        init,
        payer = admin,
        space = Exchange::SIZE,
        seeds = [EXCHANGE_SEED, collateral_mint.key().as_ref()],
        bump,
    )]
    pub exchange: Box<Account<'info, Exchange>>,
    #[account(
        init,
        payer = admin,
        seeds = [VAULT_SEED, exchange.key().as_ref()],
        bump,
        token::mint = collateral_mint,
        token::authority = exchange,
    )]
    pub vault: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

pub fn process(ctx: Context<InitializeExchange>, params: InitializeParams) -> Result<()> {
    let slot = Clock::get()?.slot;
    let exchange_key = ctx.accounts.exchange.key();
    let exchange = &mut ctx.accounts.exchange;
    exchange.set_inner(Exchange {
        version: LAYOUT_VERSION,
        bump: ctx.bumps.exchange,
        vault_bump: ctx.bumps.vault,
        paused: false,
        escaped: false,
        exchange_id: params.exchange_id,
        admin: ctx.accounts.admin.key(),
        operator: params.operator,
        collateral_mint: ctx.accounts.collateral_mint.key(),
        vault: ctx.accounts.vault.key(),
        program_commitment: params.program_commitment,
        verifying_key: params.verifying_key,
        pending_commitment: [0; 32],
        pending_verifying_key: Default::default(),
        rotation_slot: 0,
        rotation_delay_slots: params.rotation_delay_slots,
        state_root: params.genesis_root,
        last_batch: 0,
        applied_batch: 0,
        deposit_count: 0,
        deposit_chain: [0; 32],
        consumed_deposits: 0,
        consumed_chain: [0; 32],
        last_settlement_slot: slot,
        escape_delay_slots: params.escape_delay_slots,
        deposit_queue: [QueuedDeposit::default(); DEPOSIT_QUEUE_CAPACITY],
    });
    emit!(ExchangeInitialized {
        exchange: exchange_key,
        exchange_id: exchange.exchange_id,
        admin: exchange.admin,
        operator: exchange.operator,
        collateral_mint: exchange.collateral_mint,
        vault: exchange.vault,
        program_commitment: exchange.program_commitment,
        verifying_key_id: key_id(&exchange.verifying_key),
        genesis_root: exchange.state_root,
    });
    Ok(())
}
