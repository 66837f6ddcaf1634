//! What an operator's client sends (host only): the addresses of the program's accounts, the
//! instructions that settle a batch, and the plan of `apply_balances` chunks that carries a
//! batch's lists in transactions that fit Solana's size limit. The engine's settlement driver
//! and the tests build their transactions here, so there is one encoding of each.

use anchor_lang::prelude::*;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{InstructionData, ToAccountMetas};
use gnomon_settlement_verifier::batch::{self as core, EMPTY_LIST_HASH, list_hash};

use crate::args::{
    BalanceChunk, BatchHeader, InitializeParams, Proof, SettledBalance, Withdrawal, WithdrawalChunk,
};
use crate::state::{EXCHANGE_SEED, PENDING_SEED, TRADER_SEED, VAULT_SEED};

/// Entries (balances and withdrawals together) in one `apply_balances` chunk: each brings a
/// trader account, and a transaction of this many distinct new traders, with a compute-unit
/// limit instruction, fits 1,232 bytes and the compute budget (the program's tests check both).
pub const APPLY_CHUNK_ENTRIES: usize = 8;

/// The exchange account of the exchange whose collateral is `mint`.
pub fn exchange_address(mint: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[EXCHANGE_SEED, mint.as_ref()], &crate::ID).0
}

/// The exchange's token vault.
pub fn vault_address(exchange: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[VAULT_SEED, exchange.as_ref()], &crate::ID).0
}

/// The account of engine account `account`.
pub fn trader_address(exchange: &Pubkey, account: u32) -> Pubkey {
    Pubkey::find_program_address(
        &[TRADER_SEED, exchange.as_ref(), &account.to_le_bytes()],
        &crate::ID,
    )
    .0
}

/// The pending-batch account of batch `batch`.
pub fn pending_address(exchange: &Pubkey, batch: u64) -> Pubkey {
    Pubkey::find_program_address(
        &[PENDING_SEED, exchange.as_ref(), &batch.to_le_bytes()],
        &crate::ID,
    )
    .0
}

/// `initialize_exchange` of the exchange of collateral `mint`, signed and paid by `admin`.
pub fn initialize_exchange(
    admin: &Pubkey,
    mint: &Pubkey,
    params: &InitializeParams,
) -> Instruction {
    let exchange = exchange_address(mint);
    Instruction {
        program_id: crate::ID,
        accounts: crate::accounts::InitializeExchange {
            admin: *admin,
            collateral_mint: *mint,
            exchange,
            vault: vault_address(&exchange),
            token_program: anchor_spl::token::ID,
            system_program: anchor_lang::system_program::ID,
        }
        .to_account_metas(None),
        data: crate::instruction::InitializeExchange { params: *params }.data(),
    }
}

/// `deposit` of `amount` from `owner`'s token account `owner_token` into the exchange of
/// collateral `mint`.
pub fn deposit(owner: &Pubkey, mint: &Pubkey, owner_token: &Pubkey, amount: u64) -> Instruction {
    let exchange = exchange_address(mint);
    Instruction {
        program_id: crate::ID,
        accounts: crate::accounts::Deposit {
            owner: *owner,
            exchange,
            collateral_mint: *mint,
            owner_token: *owner_token,
            vault: vault_address(&exchange),
            token_program: anchor_spl::token::ID,
        }
        .to_account_metas(None),
        data: crate::instruction::Deposit { amount }.data(),
    }
}

/// `claim_withdrawal` of what settled batches released to engine account `account`, paid to
/// its owner's token account `owner_token`.
pub fn claim_withdrawal(
    owner: &Pubkey,
    mint: &Pubkey,
    account: u32,
    owner_token: &Pubkey,
) -> Instruction {
    let exchange = exchange_address(mint);
    Instruction {
        program_id: crate::ID,
        accounts: crate::accounts::TraderTransfer {
            owner: *owner,
            exchange,
            trader: trader_address(&exchange, account),
            collateral_mint: *mint,
            owner_token: *owner_token,
            vault: vault_address(&exchange),
            token_program: anchor_spl::token::ID,
        }
        .to_account_metas(None),
        data: crate::instruction::ClaimWithdrawal {}.data(),
    }
}

/// `submit_batch` of `header` with `proof`, opening the pending account `pending` (the
/// batch's own, [`pending_address`], unless a test wants another).
pub fn submit_batch(
    operator: &Pubkey,
    exchange: &Pubkey,
    pending: &Pubkey,
    header: &BatchHeader,
    proof: &Proof,
) -> Instruction {
    Instruction {
        program_id: crate::ID,
        accounts: crate::accounts::SubmitBatch {
            operator: *operator,
            exchange: *exchange,
            pending_batch: *pending,
            system_program: anchor_lang::system_program::ID,
        }
        .to_account_metas(None),
        data: crate::instruction::SubmitBatch {
            header: *header,
            proof: *proof,
        }
        .data(),
    }
}

/// `apply_balances` of one chunk of batch `batch`, with the trader account of each entry.
pub fn apply_balances(
    operator: &Pubkey,
    exchange: &Pubkey,
    batch: u64,
    balances: &BalanceChunk,
    withdrawals: &WithdrawalChunk,
) -> Instruction {
    let mut accounts = crate::accounts::ApplyBalances {
        operator: *operator,
        exchange: *exchange,
        pending_batch: pending_address(exchange, batch),
        system_program: anchor_lang::system_program::ID,
    }
    .to_account_metas(None);
    let entries = balances.entries.iter().map(|entry| entry.account);
    let entries = entries.chain(withdrawals.entries.iter().map(|entry| entry.account));
    accounts
        .extend(entries.map(|account| AccountMeta::new(trader_address(exchange, account), false)));
    Instruction {
        program_id: crate::ID,
        accounts,
        data: crate::instruction::ApplyBalances {
            balances: balances.clone(),
            withdrawals: withdrawals.clone(),
        }
        .data(),
    }
}

/// The chunk of `balances[balances_from..]` and `withdrawals[withdrawals_from..]` that one
/// transaction carries: up to `limit` entries, balances first, each list with the hash of
/// what follows it. A batch with empty lists is applied by one empty chunk.
pub fn next_chunk(
    balances: &[SettledBalance],
    withdrawals: &[Withdrawal],
    (balances_from, withdrawals_from): (usize, usize),
    limit: usize,
) -> (BalanceChunk, WithdrawalChunk) {
    let balances_from = balances_from.min(balances.len());
    let withdrawals_from = withdrawals_from.min(withdrawals.len());
    let balances_end = balances.len().min(balances_from + limit);
    let room = limit - (balances_end - balances_from);
    let withdrawals_end = withdrawals.len().min(withdrawals_from + room);
    let balance_chunk = BalanceChunk {
        first: balances_from as u32,
        entries: balances[balances_from..balances_end].to_vec(),
        tail_hash: balances_hash(&balances[balances_end..]),
    };
    let withdrawal_chunk = WithdrawalChunk {
        first: withdrawals_from as u32,
        entries: withdrawals[withdrawals_from..withdrawals_end].to_vec(),
        tail_hash: withdrawals_hash(&withdrawals[withdrawals_end..]),
    };
    (balance_chunk, withdrawal_chunk)
}

/// The list hash of `entries` (what a header's `balances_hash` commits to).
pub fn balances_hash(entries: &[SettledBalance]) -> [u8; 32] {
    let entries: Vec<core::SettledBalance> = entries.iter().map(Into::into).collect();
    list_hash(&entries, &EMPTY_LIST_HASH)
}

/// The list hash of `entries` (what a header's `withdrawals_hash` commits to).
pub fn withdrawals_hash(entries: &[Withdrawal]) -> [u8; 32] {
    let entries: Vec<core::Withdrawal> = entries.iter().map(Into::into).collect();
    list_hash(&entries, &EMPTY_LIST_HASH)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn balances(count: u32) -> Vec<SettledBalance> {
        (0..count)
            .map(|account| SettledBalance {
                account,
                owner: Pubkey::new_from_array([account as u8; 32]),
                collateral: i64::from(account) - 3,
            })
            .collect()
    }

    fn withdrawals(count: u32) -> Vec<Withdrawal> {
        (0..count)
            .map(|account| Withdrawal {
                account,
                owner: Pubkey::new_from_array([account as u8; 32]),
                amount: u64::from(account) + 1,
            })
            .collect()
    }

    #[test]
    fn chunks_cover_both_lists_in_order_each_with_the_hash_of_what_follows() {
        let (balances, withdrawals) = (balances(11), withdrawals(6));
        let hash_of_balances = |from: usize| balances_hash(&balances[from..]);
        let mut cursors = (0, 0);
        let mut sizes = Vec::new();
        while cursors != (balances.len(), withdrawals.len()) {
            let (b, w) = next_chunk(&balances, &withdrawals, cursors, 4);
            assert_eq!((b.first as usize, w.first as usize), cursors);
            let (b_end, w_end) = (cursors.0 + b.entries.len(), cursors.1 + w.entries.len());
            assert_eq!(b.entries, balances[cursors.0..b_end]);
            assert_eq!(w.entries, withdrawals[cursors.1..w_end]);
            assert_eq!(b.tail_hash, hash_of_balances(b_end));
            // Folding the chunk onto its tail gives the hash of everything from its start:
            // what the program checks against the pending batch.
            let chunk: Vec<core::SettledBalance> = b.entries.iter().map(Into::into).collect();
            assert_eq!(list_hash(&chunk, &b.tail_hash), hash_of_balances(cursors.0));
            sizes.push((b.entries.len(), w.entries.len()));
            cursors = (b_end, w_end);
        }
        assert_eq!(sizes, [(4, 0), (4, 0), (3, 1), (0, 4), (0, 1)]);
        let (b, w) = next_chunk(&[], &[], (0, 0), 4);
        assert!(b.entries.is_empty() && w.entries.is_empty());
        assert_eq!(
            (b.tail_hash, w.tail_hash),
            (EMPTY_LIST_HASH, EMPTY_LIST_HASH)
        );
    }
}
