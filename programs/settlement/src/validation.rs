//! Every check an instruction makes before it changes anything (Phoenix v1 style): one
//! function per instruction, run through Anchor's `access_control` before the processor, and
//! the loaders of the accounts Anchor cannot type (the trader PDAs a chunk names). Anchor
//! itself checks what the account structs declare: signers, account owners and discriminators,
//! and PDA seeds with the stored canonical bumps.

use anchor_lang::prelude::*;
use anchor_lang::system_program;
use anchor_spl::token::{Mint, TokenAccount};
use gnomon_settlement_verifier::batch::{self as core, EMPTY_LIST_HASH, ListEntry, list_hash};
use gnomon_settlement_verifier::inputs::commitment_elements;
use gnomon_settlement_verifier::verify::{VerifyError, verify_batch};

use crate::args::{
    BalanceChunk, BatchHeader, InitializeParams, Proof, VerifyingKey, WithdrawalChunk,
};
use crate::error::SettlementError;
use crate::instructions::{ApplyBalances, Deposit, SubmitBatch, TraderTransfer};
use crate::state::{Exchange, TRADER_SEED, Trader, queue_slot};

pub fn initialize_exchange(params: &InitializeParams) -> Result<()> {
    commitment(&params.program_commitment)?;
    verifying_key(&params.verifying_key)?;
    require!(params.escape_delay_slots > 0, SettlementError::InvalidDelay);
    require!(
        params.rotation_delay_slots > 0,
        SettlementError::InvalidDelay
    );
    Ok(())
}

/// The signer is the exchange's admin.
pub fn admin(exchange: &Exchange, signer: &Signer) -> Result<()> {
    require_keys_eq!(signer.key(), exchange.admin, SettlementError::NotAdmin);
    Ok(())
}

pub fn rotate_program(
    ctx: &Context<crate::instructions::AdminUpdate>,
    program_commitment: &[u8; 32],
    key: &VerifyingKey,
) -> Result<()> {
    admin(&ctx.accounts.exchange, &ctx.accounts.admin)?;
    commitment(program_commitment)?;
    verifying_key(key)
}

pub fn deposit(ctx: &Context<Deposit>, amount: u64) -> Result<()> {
    let accounts = &ctx.accounts;
    let exchange = &accounts.exchange;
    open_for_business(exchange)?;
    collateral(exchange, &accounts.collateral_mint, &accounts.owner_token)?;
    vault(exchange, &accounts.vault)?;
    require!(amount > 0, SettlementError::ZeroAmount);
    // The engine keeps collateral in i64 and refuses larger deposits: one in the queue would
    // block every batch after it.
    require!(
        i64::try_from(amount).is_ok(),
        SettlementError::AmountTooLarge
    );
    let waiting = exchange.deposit_count - exchange.consumed_deposits;
    require!(
        waiting < crate::state::DEPOSIT_QUEUE_CAPACITY as u64,
        SettlementError::DepositQueueFull
    );
    Ok(())
}

pub fn submit_batch(ctx: &Context<SubmitBatch>, header: &BatchHeader, proof: &Proof) -> Result<()> {
    let exchange = &ctx.accounts.exchange;
    require_keys_eq!(
        ctx.accounts.operator.key(),
        exchange.operator,
        SettlementError::NotOperator
    );
    open_for_business(exchange)?;
    require!(
        header.exchange_id == exchange.exchange_id,
        SettlementError::WrongExchangeId
    );
    require!(!exchange.applying(), SettlementError::PreviousBatchPending);
    require!(
        header.batch_number == exchange.next_batch_number(),
        SettlementError::BatchOutOfOrder
    );
    require!(
        header.prior_root == exchange.state_root,
        SettlementError::PriorRootMismatch
    );
    let deposits = &header.deposits;
    require!(
        deposits.first_sequence == exchange.consumed_deposits
            && deposits.chain_before == exchange.consumed_chain
            && deposits.end_sequence >= deposits.first_sequence,
        SettlementError::DepositRangeMismatch
    );
    require!(
        deposits.end_sequence <= exchange.deposit_count,
        SettlementError::DepositsNotQueued
    );
    require!(
        exchange.chain_at(deposits.end_sequence) == Some(deposits.chain_after),
        SettlementError::DepositChainMismatch
    );
    let (program_commitment, verifying_key) = exchange.program_at(Clock::get()?.slot);
    verify_batch(
        &verifying_key.into(),
        &proof.into(),
        program_commitment,
        &header.into(),
    )
    .map_err(|error| match error {
        VerifyError::NonCanonicalCommitment => SettlementError::NonCanonicalCommitment,
        VerifyError::ProofRejected => SettlementError::InvalidProof,
    })?;
    Ok(())
}

pub fn apply_balances(
    ctx: &Context<ApplyBalances>,
    balances: &BalanceChunk,
    withdrawals: &WithdrawalChunk,
) -> Result<()> {
    let exchange = &ctx.accounts.exchange;
    let pending = &ctx.accounts.pending_batch;
    require_keys_eq!(
        ctx.accounts.operator.key(),
        exchange.operator,
        SettlementError::NotOperator
    );
    require!(!exchange.escaped, SettlementError::ExchangeEscaped);
    chunk::<_, core::SettledBalance>(
        balances.first,
        &balances.entries,
        &balances.tail_hash,
        (pending.balances_applied, pending.balance_count),
        &pending.balances_remaining_hash,
    )?;
    chunk::<_, core::Withdrawal>(
        withdrawals.first,
        &withdrawals.entries,
        &withdrawals.tail_hash,
        (pending.withdrawals_applied, pending.withdrawal_count),
        &pending.withdrawals_remaining_hash,
    )?;
    let entries = balances.entries.len() + withdrawals.entries.len();
    let remaining = (pending.balance_count - pending.balances_applied)
        + (pending.withdrawal_count - pending.withdrawals_applied);
    require!(entries > 0 || remaining == 0, SettlementError::EmptyChunk);
    require!(
        ctx.remaining_accounts.len() == entries,
        SettlementError::TraderAccountCount
    );
    Ok(())
}

/// A chunk of a committed list: it starts at the next entry to apply, stays within the list,
/// and hashes (with the tail hash it brings) to the hash of the entries not applied yet.
fn chunk<E, C>(
    first: u32,
    entries: &[E],
    tail_hash: &[u8; 32],
    (applied, count): (u32, u32),
    remaining_hash: &[u8; 32],
) -> Result<()>
where
    for<'a> &'a E: Into<C>,
    C: ListEntry,
{
    if entries.is_empty() {
        return Ok(());
    }
    require!(first >= applied, SettlementError::ChunkAlreadyApplied);
    require!(first == applied, SettlementError::ChunkOutOfOrder);
    let end = u32::try_from(entries.len())
        .ok()
        .and_then(|length| first.checked_add(length))
        .ok_or(SettlementError::ChunkTooLong)?;
    require!(end <= count, SettlementError::ChunkTooLong);
    // The list after the last entry is empty: its hash is fixed, whatever the chunk claims.
    let ends_list = end == count;
    require!(
        !ends_list || *tail_hash == EMPTY_LIST_HASH,
        SettlementError::ChunkMismatch
    );
    let converted: Vec<C> = entries.iter().map(Into::into).collect();
    require!(
        list_hash(&converted, tail_hash) == *remaining_hash,
        SettlementError::ChunkMismatch
    );
    Ok(())
}

pub fn trader_transfer(ctx: &Context<TraderTransfer>) -> Result<()> {
    let accounts = &ctx.accounts;
    require_keys_eq!(
        accounts.owner.key(),
        accounts.trader.owner,
        SettlementError::NotTraderOwner
    );
    collateral(
        &accounts.exchange,
        &accounts.collateral_mint,
        &accounts.owner_token,
    )?;
    vault(&accounts.exchange, &accounts.vault)
}

pub fn escape(ctx: &Context<TraderTransfer>) -> Result<()> {
    trader_transfer(ctx)?;
    require!(
        ctx.accounts.exchange.escape_open(Clock::get()?.slot),
        SettlementError::EscapeHatchClosed
    );
    Ok(())
}

pub fn reclaim_deposit(ctx: &Context<Deposit>, sequence: u64) -> Result<()> {
    let accounts = &ctx.accounts;
    let exchange = &accounts.exchange;
    collateral(exchange, &accounts.collateral_mint, &accounts.owner_token)?;
    vault(exchange, &accounts.vault)?;
    require!(
        exchange.escape_open(Clock::get()?.slot),
        SettlementError::EscapeHatchClosed
    );
    require!(
        sequence < exchange.deposit_count,
        SettlementError::UnknownDeposit
    );
    require!(
        sequence >= exchange.consumed_deposits,
        SettlementError::DepositConsumed
    );
    let queued = &exchange.deposit_queue[queue_slot(sequence)];
    require_keys_eq!(
        accounts.owner.key(),
        queued.owner,
        SettlementError::NotDepositOwner
    );
    require!(!queued.reclaimed, SettlementError::DepositAlreadyReclaimed);
    Ok(())
}

/// The trader PDA of engine account `account` named in a chunk, loaded, or created for
/// `owner` when the account is new (paid by `payer`). Checks the address (the canonical PDA),
/// that an existing account is this program's `Trader` of this exchange, and its owner.
pub fn load_or_create_trader<'info>(
    info: &AccountInfo<'info>,
    exchange: &Pubkey,
    account: u32,
    owner: &Pubkey,
    creation: &TraderCreation<'_, 'info>,
) -> Result<Trader> {
    let (address, bump) = Pubkey::find_program_address(
        &[TRADER_SEED, exchange.as_ref(), &account.to_le_bytes()],
        &crate::ID,
    );
    require_keys_eq!(info.key(), address, SettlementError::WrongTraderAccount);
    require!(info.is_writable, SettlementError::WrongTraderAccount);
    if info.owner == &crate::ID {
        let trader = Trader::try_deserialize(&mut &info.try_borrow_data()?[..])?;
        require_keys_eq!(
            trader.exchange,
            *exchange,
            SettlementError::WrongTraderAccount
        );
        require_keys_eq!(trader.owner, *owner, SettlementError::TraderOwnerMismatch);
        return Ok(trader);
    }
    require_keys_eq!(
        *info.owner,
        system_program::ID,
        SettlementError::WrongTraderAccount
    );
    creation.create(info, exchange, account, bump)?;
    Ok(Trader {
        version: crate::state::LAYOUT_VERSION,
        bump,
        exchange: *exchange,
        account,
        owner: *owner,
        collateral: 0,
        claimable: 0,
        last_batch: 0,
        staged_collateral: 0,
        has_staged_collateral: false,
        staged_withdrawal: 0,
    })
}

/// What creating a trader PDA needs: the payer and the system program.
pub struct TraderCreation<'a, 'info> {
    pub payer: &'a AccountInfo<'info>,
    pub system_program: &'a AccountInfo<'info>,
}

impl<'info> TraderCreation<'_, 'info> {
    /// Funds, allocates and assigns the PDA. Done in three steps rather than with
    /// `create_account` so that lamports someone sent to the address beforehand cannot block
    /// the account's creation.
    fn create(
        &self,
        info: &AccountInfo<'info>,
        exchange: &Pubkey,
        account: u32,
        bump: u8,
    ) -> Result<()> {
        let rent = Rent::get()?.minimum_balance(Trader::SIZE);
        let shortfall = rent.saturating_sub(info.lamports());
        let program = self.system_program.key();
        if shortfall > 0 {
            system_program::transfer(
                CpiContext::new(
                    program,
                    system_program::Transfer {
                        from: self.payer.clone(),
                        to: info.clone(),
                    },
                ),
                shortfall,
            )?;
        }
        let account_bytes = account.to_le_bytes();
        let seeds: &[&[u8]] = &[TRADER_SEED, exchange.as_ref(), &account_bytes, &[bump]];
        let signer = &[seeds];
        system_program::allocate(
            CpiContext::new_with_signer(
                program,
                system_program::Allocate {
                    account_to_allocate: info.clone(),
                },
                signer,
            ),
            Trader::SIZE as u64,
        )?;
        system_program::assign(
            CpiContext::new_with_signer(
                program,
                system_program::Assign {
                    account_to_assign: info.clone(),
                },
                signer,
            ),
            &crate::ID,
        )
    }
}

/// Writes `trader` back to its account.
pub fn store_trader(info: &AccountInfo, trader: &Trader) -> Result<()> {
    trader.try_serialize(&mut &mut info.try_borrow_mut_data()?[..])
}

/// Deposits and batches run: not paused, escape hatch not open.
fn open_for_business(exchange: &Exchange) -> Result<()> {
    require!(!exchange.escaped, SettlementError::ExchangeEscaped);
    require!(!exchange.paused, SettlementError::Paused);
    Ok(())
}

/// A program commitment of eight canonical BabyBear elements.
fn commitment(program_commitment: &[u8; 32]) -> Result<()> {
    require!(
        commitment_elements(program_commitment).is_some(),
        SettlementError::NonCanonicalCommitment
    );
    Ok(())
}

/// A key the exchange may record (`VerifyingKey::has_valid_points`).
fn verifying_key(key: &VerifyingKey) -> Result<()> {
    require!(
        gnomon_settlement_verifier::verify::VerifyingKey::from(key).has_valid_points(),
        SettlementError::InvalidVerifyingKey
    );
    Ok(())
}

/// The mint is the exchange's collateral mint, and so is the token account's.
fn collateral(
    exchange: &Exchange,
    mint: &Account<Mint>,
    token: &Account<TokenAccount>,
) -> Result<()> {
    require_keys_eq!(
        mint.key(),
        exchange.collateral_mint,
        SettlementError::WrongMint
    );
    require_keys_eq!(
        token.mint,
        exchange.collateral_mint,
        SettlementError::WrongMint
    );
    Ok(())
}

/// The vault is the exchange's.
fn vault(exchange: &Exchange, vault: &Account<TokenAccount>) -> Result<()> {
    require_keys_eq!(vault.key(), exchange.vault, SettlementError::WrongVault);
    Ok(())
}
