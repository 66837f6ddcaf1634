//! `rotate_program`: the admin proposes a new guest program. It takes effect only after
//! `rotation_delay_slots`, so traders who do not trust the new program see it coming and can
//! withdraw under the old one first. The proposal carries the verifying key of the new
//! program's wrap setup: a new guest program is a new wrap circuit, so the two change
//! together.

use anchor_lang::prelude::*;

use crate::args::{VerifyingKey, key_id};
use crate::error::SettlementError;
use crate::events::ProgramRotationProposed;
use crate::instructions::AdminUpdate;

pub fn process(
    ctx: Context<AdminUpdate>,
    program_commitment: [u8; 32],
    verifying_key: VerifyingKey,
) -> Result<()> {
    let exchange = &mut ctx.accounts.exchange;
    let effective_slot = Clock::get()?
        .slot
        .checked_add(exchange.rotation_delay_slots)
        .ok_or(SettlementError::Overflow)?;
    exchange.pending_commitment = program_commitment;
    exchange.pending_verifying_key = verifying_key;
    exchange.rotation_slot = effective_slot;
    emit!(ProgramRotationProposed {
        exchange: exchange.key(),
        program_commitment,
        verifying_key_id: key_id(&verifying_key),
        effective_slot,
    });
    Ok(())
}
