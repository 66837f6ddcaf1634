//! `set_operator`: the admin names who submits and applies batches.

use anchor_lang::prelude::*;

use crate::events::OperatorChanged;
use crate::instructions::AdminUpdate;

pub fn process(ctx: Context<AdminUpdate>, operator: Pubkey) -> Result<()> {
    let exchange = &mut ctx.accounts.exchange;
    let previous = exchange.operator;
    exchange.operator = operator;
    emit!(OperatorChanged {
        exchange: exchange.key(),
        previous,
        operator,
    });
    Ok(())
}
