//! Batches: what the engine hands the guest, what the guest commits, and the two ways of
//! producing the output: natively with the whole state ([`Ledger`]), and in the guest from
//! the prior root and witnesses alone ([`verify_batch`]). Both run the same
//! [`Exchange::apply_step`], so their outputs are equal byte for byte.
//!
//! # Layouts (borsh; see [`crate::action`] for the encoding rules)
//!
//! `BatchInput` = `batch_number: u64, prior_root: [u32; 8], steps: Vec<Step>`
//!
//! `Step` = `timestamp_ms: u64, kind: StepKind`, `StepKind` =
//! `0 Trader(SignedAction) | 1 Oracle(OracleUpdate { market: u16, price: u64,
//! publish_time_ms: u64 }) | 2 Deposit(Deposit { sequence: u64, owner: [u8; 32], amount: u64,
//! account: u32 }) | 3 Liquidate { account: u32, deleverage: Vec<(u16, Vec<u32>)> } |
//! 4 Admin(SignedAdminAction)`
//!
//! `BatchOutput` = `batch_number: u64, prior_root: [u32; 8], new_root: [u32; 8],
//! deposits: DepositRange { first_sequence: u64, end_sequence: u64, chain_before: [u8; 32],
//! chain_after: [u8; 32] }, balances: Vec<SettledBalance { account: u32, owner: [u8; 32],
//! collateral: i64 }>, withdrawals: Vec<Withdrawal { account: u32, owner: [u8; 32],
//! amount: u64 }>`
//!
//! `balances` lists, by account id, every account the batch created or whose collateral
//! changed; `withdrawals` are in step order. The deposit chain is
//! `chain' = sha256(chain || sequence u64 LE || owner || amount u64 LE)` from 32 zero bytes,
//! the same on Solana.
//!
//! `BatchWitness` = `global: GlobalState, accounts_root: [u32; 8],
//! accounts: Vec<AccountWitness { id: u32, prior: Option<Account>, proof: MerkleProof }>`:
//! the prior global state in full and, by ascending id, every account the batch reads, each
//! with its proof against the tree in which the previous witnesses' accounts already hold
//! their post-batch values (a chain of update proofs).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use borsh::{BorshDeserialize, BorshSerialize};
use core::fmt;
use sha2::{Digest as _, Sha256};

use crate::AccountId;
use crate::account::Account;
use crate::action::{SignatureVerifier, SignedAction, SignedAdminAction};
use crate::error::Fatal;
use crate::event::Event;
use crate::exchange::{DepositCursor, Exchange, GlobalState};
use crate::fixed::Timestamp;
use crate::hash::{Digest, Permutation};
use crate::liquidation::DeleverageLists;
use crate::prices::OracleUpdate;
use crate::tree::{AccountTree, MerkleProof, ProofError, optional_leaf, state_root};

/// A deposit taken from the on-chain queue, credited to `account` (an existing account of
/// `owner`, or the next new one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Deposit {
    pub sequence: u64,
    pub owner: [u8; 32],
    pub amount: u64,
    pub account: AccountId,
}

/// The deposit chain after `deposit`.
pub fn deposit_chain_next(chain: &[u8; 32], deposit: &Deposit) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(chain);
    hasher.update(deposit.sequence.to_le_bytes());
    hasher.update(deposit.owner);
    hasher.update(deposit.amount.to_le_bytes());
    hasher.finalize().into()
}

/// One sequenced input.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Step {
    /// Never before the previous step's.
    pub timestamp_ms: Timestamp,
    pub kind: StepKind,
}

/// What a step carries.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum StepKind {
    Trader(SignedAction),
    Oracle(OracleUpdate),
    Deposit(Deposit),
    /// Liquidate `account` if it is below maintenance, deleveraging against these accounts if
    /// needed.
    Liquidate {
        account: AccountId,
        deleverage: DeleverageLists,
    },
    Admin(SignedAdminAction),
}

/// A batch as the guest reads it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct BatchInput {
    pub batch_number: u64,
    pub prior_root: Digest,
    pub steps: Vec<Step>,
}

/// Deposits the batch consumed: sequences `first_sequence..end_sequence`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct DepositRange {
    pub first_sequence: u64,
    pub end_sequence: u64,
    pub chain_before: [u8; 32],
    pub chain_after: [u8; 32],
}

/// An account's settled collateral after the batch. It can be negative while the account's
/// unrealized gains cover it (cross margin), and for the insurance fund after unabsorbed bad
/// debt; the account's value, not this number, is what an escape hatch must honour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SettledBalance {
    pub account: AccountId,
    pub owner: [u8; 32],
    pub collateral: i64,
}

/// Collateral to release on chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Withdrawal {
    pub account: AccountId,
    pub owner: [u8; 32],
    pub amount: u64,
}

/// What the guest commits publicly.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct BatchOutput {
    pub batch_number: u64,
    pub prior_root: Digest,
    pub new_root: Digest,
    pub deposits: DepositRange,
    pub balances: Vec<SettledBalance>,
    pub withdrawals: Vec<Withdrawal>,
}

/// One account the batch reads, with its proof.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct AccountWitness {
    pub id: AccountId,
    /// Its value before the batch (`None`: the batch creates it).
    pub prior: Option<Account>,
    pub proof: MerkleProof,
}

/// What the guest needs besides the input: the prior global state and the touched accounts.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct BatchWitness {
    pub global: GlobalState,
    pub accounts_root: Digest,
    pub accounts: Vec<AccountWitness>,
}

/// Why a batch cannot be proven.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchError {
    /// The witness's state does not hash to the input's prior root.
    PriorRootMismatch,
    /// The input's batch number does not follow the state's.
    WrongBatchNumber,
    /// Witness accounts out of order, or inconsistent with the account count.
    WitnessOutOfOrder,
    /// A witness proof does not check.
    Proof(ProofError),
    /// The batch touched an account the witness does not hold, or a step was invalid.
    Step(Fatal),
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PriorRootMismatch => f.write_str("the witness does not match the prior root"),
            Self::WrongBatchNumber => f.write_str("batch number does not follow the state's"),
            Self::WitnessOutOfOrder => f.write_str("witness accounts out of order or inconsistent"),
            Self::Proof(error) => write!(f, "witness proof: {error}"),
            Self::Step(fatal) => write!(f, "invalid step: {fatal}"),
        }
    }
}

/// A sealed batch: the guest's input and witness, and the output it must commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedBatch {
    pub input: BatchInput,
    pub witness: BatchWitness,
    pub output: BatchOutput,
}

struct OpenBatch {
    prior_root: Digest,
    prior_accounts_root: Digest,
    prior_global: GlobalState,
    steps: Vec<Step>,
    withdrawals: Vec<Withdrawal>,
}

/// The engine's side: the whole exchange plus its account tree. Steps apply as they are
/// sequenced (events come back at once); [`Ledger::seal_batch`] closes the batch.
pub struct Ledger<P: Permutation> {
    exchange: Exchange,
    tree: AccountTree,
    permutation: P,
    root: Digest,
    open: Option<OpenBatch>,
}

impl<P: Permutation> fmt::Debug for Ledger<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ledger")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl<P: Permutation> Ledger<P> {
    /// A ledger over `exchange` (typically fresh from [`Exchange::genesis`]).
    pub fn new(exchange: Exchange, permutation: P) -> Self {
        let tree = AccountTree::from_accounts(&permutation, exchange.accounts());
        let root = state_root(&permutation, &tree.root(), exchange.global());
        Self {
            exchange,
            tree,
            permutation,
            root,
            open: None,
        }
    }

    /// The state.
    pub fn exchange(&self) -> &Exchange {
        &self.exchange
    }

    /// The state root as of the last sealed batch.
    pub fn root(&self) -> Digest {
        self.root
    }

    /// The account tree as of the last sealed batch.
    pub fn tree(&self) -> &AccountTree {
        &self.tree
    }

    /// Applies a step, opening a batch if none is open. An `Err` (an invalid step: time going
    /// back, a deposit out of sequence) changes nothing and the step is not recorded.
    pub fn apply_step<V: SignatureVerifier + ?Sized>(
        &mut self,
        step: Step,
        verifier: &V,
    ) -> Result<Vec<Event>, Fatal> {
        if self.open.is_none() {
            self.exchange.open_journal();
            self.open = Some(OpenBatch {
                prior_root: self.root,
                prior_accounts_root: self.tree.root(),
                prior_global: self.exchange.global().clone(),
                steps: Vec::new(),
                withdrawals: Vec::new(),
            });
        }
        let events = self.exchange.apply_step(&step, verifier)?;
        if let Some(open) = &mut self.open {
            open.withdrawals
                .extend(withdrawals(&self.exchange, &events));
            open.steps.push(step);
        }
        Ok(events)
    }

    /// Closes the open batch (an empty one if none is open): updates the tree, and returns the
    /// guest's input and witness and the output it must commit.
    pub fn seal_batch(&mut self) -> SealedBatch {
        let open = self.open.take().unwrap_or_else(|| OpenBatch {
            prior_root: self.root,
            prior_accounts_root: self.tree.root(),
            prior_global: self.exchange.global().clone(),
            steps: Vec::new(),
            withdrawals: Vec::new(),
        });
        let journal = self.exchange.take_journal();
        let mut accounts = Vec::with_capacity(journal.len());
        let mut balances = Vec::new();
        for (id, prior) in journal {
            let current = self.exchange.account(id);
            let proof = self.tree.proof(id);
            self.tree.set(
                &self.permutation,
                id,
                optional_leaf(&self.permutation, current),
            );
            if let Some(balance) = settled_balance(id, prior.as_ref(), current) {
                balances.push(balance);
            }
            accounts.push(AccountWitness { id, prior, proof });
        }
        self.exchange.global.batch_number += 1;
        self.root = state_root(&self.permutation, &self.tree.root(), self.exchange.global());
        let batch_number = self.exchange.global.batch_number;
        let output = BatchOutput {
            batch_number,
            prior_root: open.prior_root,
            new_root: self.root,
            deposits: deposit_range(&open.prior_global.deposits, &self.exchange.global.deposits),
            balances,
            withdrawals: open.withdrawals,
        };
        SealedBatch {
            input: BatchInput {
                batch_number,
                prior_root: open.prior_root,
                steps: open.steps,
            },
            witness: BatchWitness {
                global: open.prior_global,
                accounts_root: open.prior_accounts_root,
                accounts,
            },
            output,
        }
    }
}

fn deposit_range(before: &DepositCursor, after: &DepositCursor) -> DepositRange {
    DepositRange {
        first_sequence: before.next_sequence,
        end_sequence: after.next_sequence,
        chain_before: before.chain,
        chain_after: after.chain,
    }
}

fn settled_balance(
    id: AccountId,
    prior: Option<&Account>,
    current: Option<&Account>,
) -> Option<SettledBalance> {
    let current = current?;
    let changed = prior.is_none_or(|prior| prior.collateral != current.collateral);
    changed.then_some(SettledBalance {
        account: id,
        owner: current.owner,
        collateral: current.collateral,
    })
}

fn withdrawals<'a>(
    exchange: &'a Exchange,
    events: &'a [Event],
) -> impl Iterator<Item = Withdrawal> + 'a {
    events.iter().filter_map(|event| match *event {
        Event::Withdrawn { account, amount } => {
            let owner = exchange
                .account(account)
                .map_or([0; 32], |account| account.owner);
            Some(Withdrawal {
                account,
                owner,
                amount,
            })
        }
        _ => None,
    })
}

/// The guest's side: checks `witness` against `input.prior_root`, runs the batch on the
/// witnessed accounts only, and returns the output to commit.
pub fn verify_batch<P: Permutation + ?Sized, V: SignatureVerifier + ?Sized>(
    input: &BatchInput,
    witness: BatchWitness,
    verifier: &V,
    permutation: &P,
) -> Result<BatchOutput, BatchError> {
    if state_root(permutation, &witness.accounts_root, &witness.global) != input.prior_root {
        return Err(BatchError::PriorRootMismatch);
    }
    if witness.global.batch_number.checked_add(1) != Some(input.batch_number) {
        return Err(BatchError::WrongBatchNumber);
    }
    let account_count = witness.global.next_account_id;
    let first_deposit = witness.global.deposits;
    let mut accounts = BTreeMap::new();
    let mut previous: Option<AccountId> = None;
    for account in &witness.accounts {
        let existed = account.id < account_count;
        if previous.is_some_and(|previous| account.id <= previous)
            || existed != account.prior.is_some()
        {
            return Err(BatchError::WitnessOutOfOrder);
        }
        previous = Some(account.id);
        if let Some(prior) = &account.prior {
            accounts.insert(account.id, prior.clone());
        }
    }
    let mut exchange = Exchange::from_parts(witness.global, accounts);
    let mut withdrawn = Vec::new();
    for step in &input.steps {
        let events = exchange
            .apply_step(step, verifier)
            .map_err(BatchError::Step)?;
        withdrawn.extend(withdrawals(&exchange, &events));
    }
    let mut root = witness.accounts_root;
    let mut balances = Vec::new();
    for account in &witness.accounts {
        let current = exchange.account(account.id);
        let old_leaf = optional_leaf(permutation, account.prior.as_ref());
        let new_leaf = optional_leaf(permutation, current);
        root = account
            .proof
            .update(permutation, &root, account.id, &old_leaf, &new_leaf)
            .map_err(BatchError::Proof)?;
        if let Some(balance) = settled_balance(account.id, account.prior.as_ref(), current) {
            balances.push(balance);
        }
    }
    // Accounts the batch created must have been witnessed (as empty leaves).
    let witnessed = |id: &AccountId| {
        witness
            .accounts
            .binary_search_by_key(id, |account| account.id)
            .is_ok()
    };
    if !exchange.accounts().all(|(id, _)| witnessed(&id)) {
        return Err(BatchError::WitnessOutOfOrder);
    }
    exchange.global.batch_number = input.batch_number;
    Ok(BatchOutput {
        batch_number: input.batch_number,
        prior_root: input.prior_root,
        new_root: state_root(permutation, &root, exchange.global()),
        deposits: deposit_range(&first_deposit, &exchange.global().deposits),
        balances,
        withdrawals: withdrawn,
    })
}
