//! `rotate_program`: the admin proposes a new guest program. It takes effect only after
//! `rotation_delay_slots`, so traders who do not trust the new program see it coming and can
//! withdraw under the old one first. The proposal also records the verifying key compiled into
//! the program now, which is how a program upgrade that changes the key takes effect: batches
//! are refused while the recorded key id and the compiled one differ.

use anchor_lang::prelude::*;
use gnomon_settlement_verifier::vk::VERIFYING_KEY_ID;

use crate::error::SettlementError;
use crate::events::ProgramRotationProposed;
use crate::instructions::AdminUpdate;

pub fn process(ctx: Context<AdminUpdate>, program_commitment: [u8; 32]) -> Result<()> {
    let exchange = &mut ctx.accounts.exchange;
    let effective_slot = Clock::get()?
        .slot
        .checked_add(exchange.rotation_delay_slots)
        .ok_or(SettlementError::Overflow)?;
    exchange.pending_commitment = program_commitment;
    exchange.pending_verifying_key_id = VERIFYING_KEY_ID;
    exchange.rotation_slot = effective_slot;
    emit!(ProgramRotationProposed {
        exchange: exchange.key(),
        program_commitment,
        verifying_key_id: VERIFYING_KEY_ID,
        effective_slot,
    });
    Ok(())
}
