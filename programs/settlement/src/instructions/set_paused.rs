//! `set_paused`: the admin stops or resumes deposits and batches. Claims and the escape hatch
//! keep working: a pause can delay settlement, never trap collateral (a long pause opens the
//! escape hatch like any other stop).

use anchor_lang::prelude::*;

use crate::events::PausedChanged;
use crate::instructions::AdminUpdate;

pub fn process(ctx: Context<AdminUpdate>, paused: bool) -> Result<()> {
    let exchange = &mut ctx.accounts.exchange;
    exchange.paused = paused;
    emit!(PausedChanged {
        exchange: exchange.key(),
        paused,
    });
    Ok(())
}
