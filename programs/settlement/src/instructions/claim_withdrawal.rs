//! `claim_withdrawal`: the owner takes everything settled batches released to the account.
//! Works in every state of the exchange, escape hatch included: released collateral is the
//! trader's.

use anchor_lang::prelude::*;

use crate::error::SettlementError;
use crate::events::WithdrawalClaimed;
use crate::instructions::TraderTransfer;

pub fn process(ctx: Context<TraderTransfer>) -> Result<()> {
    let applied_batch = ctx.accounts.exchange.applied_batch;
    let trader = &mut ctx.accounts.trader;
    trader.settle(applied_batch)?;
    let amount = trader.claimable;
    require!(amount > 0, SettlementError::NothingToClaim);
    trader.claimable = 0;
    let (account, owner) = (trader.account, trader.owner);
    ctx.accounts.payout().pay(amount)?;
    emit!(WithdrawalClaimed {
        exchange: ctx.accounts.exchange.key(),
        account,
        owner,
        amount,
    });
    Ok(())
}
