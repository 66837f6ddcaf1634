//! # settlement: the Gnomon settlement program
//!
//! Solana holds the collateral and the truth. This program keeps the exchange's vault and its
//! state root, accepts a batch only with a Groth16 proof that the committed guest program
//! produced it from the current root, and then applies the new balances.
//!
//! ## What it owns
//!
//! - [`state`]: the accounts ([`state::Exchange`], [`state::Trader`],
//!   [`state::PendingBatch`]), their versioned fixed-size layouts and PDAs.
//! - [`validation`]: every account and state check, one function per instruction, run before
//!   the instruction (Anchor `access_control`); the processors in [`instructions`] only
//!   change state.
//! - [`instructions`]: one processor per instruction.
//! - [`error`] and [`events`]: a distinct error for every refusal, an event for every change.
//! - `client` (host only): addresses, the operator's instructions and the plan of chunks, for
//!   the engine's settlement driver and the tests.
//!
//! The batch layout, the public inputs and Groth16 verification are the verification core's
//! (`gnomon-settlement-verifier`), shared with the prover.
//!
//! ## A batch, end to end
//!
//! 1. Traders `deposit`: tokens move into the vault and `(owner, amount, sequence)` extends the
//!    deposit chain, in a bounded queue.
//! 2. The operator's engine runs a batch, the zkVM proves it, and the wrap turns the proof
//!    into Groth16 over the public inputs (program commitment, digest of the batch header).
//! 3. `submit_batch(header, proof)`: the program verifies the proof against the exchange's
//!    verifying key and program commitment, checks the header against the
//!    chain state (prior root, batch number, deposits consumed), stores the new root and opens
//!    a [`state::PendingBatch`] holding the header's list hashes.
//! 4. `apply_balances` chunks (as many transactions as the lists need): each chunk is checked
//!    against the remaining list hash at once and staged on the traders' accounts; the chunk
//!    that completes both lists settles the batch.
//! 5. Traders `claim_withdrawal` what settled batches released. If no batch settles for the
//!    escape delay, `escape` pays each trader's settled collateral and no batch is accepted
//!    again; deposits no batch consumed are refunded with `reclaim_deposit`.
//!
//! ## What it must never do
//!
//! - Move collateral or state on anything but a verified proof, a signed trader instruction,
//!   or the escape hatch's clock.
//! - Apply an entry that does not hash into the proven header, apply one twice, or let a
//!   partly applied batch change what claims and escapes pay.
//! - Panic: every refusal is a typed [`error::SettlementError`] and rolls the transaction back.

// Anchor's macros generate code that trips these lints.
#![allow(
    unexpected_cfgs,
    clippy::too_many_arguments,
    missing_debug_implementations
)]

use anchor_lang::prelude::*;

pub mod args;
#[cfg(not(target_os = "solana"))]
pub mod client;
pub mod error;
pub mod events;
pub mod instructions;
pub mod state;
pub mod validation;

pub use args::*;
pub use instructions::*;

declare_id!("2QPABszJopxnvZmJQg6V2Z7g9y2nFCQmRWqUC5ryUtWW");

#[program]
pub mod settlement {
    use super::*;

    /// Creates the exchange and its vault; the signer becomes the admin.
    #[access_control(validation::initialize_exchange(&params))]
    pub fn initialize_exchange(
        ctx: Context<InitializeExchange>,
        params: InitializeParams,
    ) -> Result<()> {
        instructions::initialize_exchange::process(ctx, params)
    }

    /// Admin: replaces the operator (who submits batches).
    #[access_control(validation::admin(&ctx.accounts.exchange, &ctx.accounts.admin))]
    pub fn set_operator(ctx: Context<AdminUpdate>, operator: Pubkey) -> Result<()> {
        instructions::set_operator::process(ctx, operator)
    }

    /// Admin: pauses or resumes deposits and batches (the escape hatch is never paused).
    #[access_control(validation::admin(&ctx.accounts.exchange, &ctx.accounts.admin))]
    pub fn set_paused(ctx: Context<AdminUpdate>, paused: bool) -> Result<()> {
        instructions::set_paused::process(ctx, paused)
    }

    /// Admin: proposes a new guest program and the verifying key of its wrap setup, which
    /// batches must use from `rotation_delay_slots` slots on.
    #[access_control(validation::rotate_program(&ctx, &program_commitment, &verifying_key))]
    pub fn rotate_program(
        ctx: Context<AdminUpdate>,
        program_commitment: [u8; 32],
        verifying_key: VerifyingKey,
    ) -> Result<()> {
        instructions::rotate_program::process(ctx, program_commitment, verifying_key)
    }

    /// A trader deposits collateral into the vault and the deposit queue.
    #[access_control(validation::deposit(&ctx, amount))]
    pub fn deposit(ctx: Context<Deposit>, amount: u64) -> Result<()> {
        instructions::deposit::process(ctx, amount)
    }

    /// Operator: a proven batch.
    #[access_control(validation::submit_batch(&ctx, &header, &proof))]
    pub fn submit_batch(
        ctx: Context<SubmitBatch>,
        header: BatchHeader,
        proof: Proof,
    ) -> Result<()> {
        instructions::submit_batch::process(ctx, header)
    }

    /// Operator: the next chunk of the pending batch's balances and withdrawals; remaining
    /// accounts are the trader PDAs of the chunk's entries, balances first, in order.
    #[access_control(validation::apply_balances(&ctx, &balances, &withdrawals))]
    pub fn apply_balances<'info>(
        ctx: Context<'info, ApplyBalances<'info>>,
        balances: BalanceChunk,
        withdrawals: WithdrawalChunk,
    ) -> Result<()> {
        instructions::apply_balances::process(ctx, balances, withdrawals)
    }

    /// A trader takes the withdrawals settled batches released.
    #[access_control(validation::trader_transfer(&ctx))]
    pub fn claim_withdrawal(ctx: Context<TraderTransfer>) -> Result<()> {
        instructions::claim_withdrawal::process(ctx)
    }

    /// After the escape delay without a settled batch: a trader takes the settled collateral.
    #[access_control(validation::escape(&ctx))]
    pub fn escape(ctx: Context<TraderTransfer>) -> Result<()> {
        instructions::escape::process(ctx)
    }

    /// Escape hatch: a depositor takes back a deposit no batch consumed.
    #[access_control(validation::reclaim_deposit(&ctx, sequence))]
    pub fn reclaim_deposit(ctx: Context<Deposit>, sequence: u64) -> Result<()> {
        instructions::reclaim_deposit::process(ctx, sequence)
    }
}
