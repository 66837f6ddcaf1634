//! `reclaim_deposit`: with the escape hatch open, a depositor takes back a deposit that no
//! batch consumed (its collateral never reached a trader balance, so `escape` cannot pay it).

use anchor_lang::prelude::*;

use crate::events::DepositReclaimed;
use crate::instructions::Deposit;
use crate::instructions::Payout;
use crate::instructions::escape::open_hatch;
use crate::state::queue_slot;

/// The accounts are a deposit's: the depositor, the exchange, the mint, the depositor's token
/// account and the vault.
pub fn process(ctx: Context<Deposit>, sequence: u64) -> Result<()> {
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
