//! `escape`: once no batch has settled for the escape delay, the owner takes the account's
//! settled collateral (what the last fully applied batch left; a batch applied halfway counts
//! for nothing). The first escape opens the hatch for good: no batch is accepted afterwards,
//! since balances paid out here could no longer match any state root.

use anchor_lang::prelude::*;

use crate::error::SettlementError;
use crate::events::{EscapeHatchOpened, Escaped};
use crate::instructions::TraderTransfer;
use crate::state::Exchange;

/// Marks the escape hatch open (the validation checked that it is), once.
pub fn open_hatch(exchange: &mut Exchange, exchange_key: Pubkey) -> Result<()> {
    if !exchange.escaped {
        exchange.escaped = true;
        emit!(EscapeHatchOpened {
            exchange: exchange_key,
            last_settlement_slot: exchange.last_settlement_slot,
            slot: Clock::get()?.slot,
        });
    }
    Ok(())
}

pub fn process(ctx: Context<TraderTransfer>) -> Result<()> {
    let exchange_key = ctx.accounts.exchange.key();
    let exchange = &mut ctx.accounts.exchange;
    open_hatch(exchange, exchange_key)?;
    let applied_batch = exchange.applied_batch;
    let trader = &mut ctx.accounts.trader;
    trader.settle(applied_batch)?;
    // Negative collateral (covered by unrealized gains while trading) pays nothing.
    let amount = u64::try_from(trader.collateral).unwrap_or(0);
    require!(amount > 0, SettlementError::NothingToEscape);
    trader.collateral = 0;
    let (account, owner) = (trader.account, trader.owner);
    ctx.accounts.payout().pay(amount)?;
    emit!(Escaped {
        exchange: exchange_key,
        account,
        owner,
        amount,
    });
    Ok(())
}
