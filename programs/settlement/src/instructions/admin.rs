//! The accounts of the admin's instructions (`set_operator`, `set_paused`, `rotate_program`).

use anchor_lang::prelude::*;

use crate::state::{EXCHANGE_SEED, Exchange};

#[derive(Accounts)]
pub struct AdminUpdate<'info> {
    pub admin: Signer<'info>,
    #[account(
        mut,
        seeds = [EXCHANGE_SEED, exchange.collateral_mint.as_ref()],
        bump = exchange.bump,
    )]
    pub exchange: Box<Account<'info, Exchange>>,
}
