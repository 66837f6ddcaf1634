//! Batches: what the engine hands the guest, what the guest commits, and the two ways of
//! producing the output: natively with the whole state ([`Ledger`]), and in the guest from
//! the prior root and witnesses alone ([`verify_batch`]). Both run the same
//! [`Exchange::apply_step`], so their outputs are equal byte for byte.
//!
//! A batch holds only steps that apply: the guest refuses a batch in which any step is
//! refused as a whole ([`crate::exchange::StepOutcome::refused`]: a bad signature, an unknown
//! account, a replayed nonce, an order the margin rules reject...), so a proof exists only
//! for batches of authorized, valid steps. The native ledger keeps that rule without
//! re-running anything: a refused step changed nothing but the clock, so it records a
//! [`StepKind::Tick`] at the step's timestamp in its place.
//!
//! # Layouts (borsh; see [`crate::action`] for the encoding rules)
//!
//! `BatchInput` = `batch_number: u64, prior_root: [u32; 8], steps: Vec<Step>`
//!
//! `Step` = `timestamp_ms: u64, kind: StepKind`, `StepKind` =
//! `0 Trader(SignedAction) | 1 Oracle(SignedOracleUpdate) | 2 Deposit(Deposit {
//! sequence: u64, owner: [u8; 32], amount: u64, account: u32 }) | 3 Liquidate { account: u32,
//! deleverage: Vec<(u16, Vec<u32>)> } | 4 Admin(SignedAdminAction) | 5 Tick`
//!
//! `BatchOutput` = `exchange_id: [u8; 32], batch_number: u64, prior_root: [u32; 8],
//! new_root: [u32; 8], time: TimeRange { start_ms: u64, end_ms: u64 },
//! deposits: DepositRange { first_sequence: u64, end_sequence: u64, chain_before: [u8; 32],
//! chain_after: [u8; 32] }, oracle_digest: [u8; 32], balances: Vec<SettledBalance {
//! account: u32, owner: [u8; 32], collateral: i64 }>, withdrawals: Vec<Withdrawal {
//! account: u32, owner: [u8; 32], amount: u64 }>`
//!
//! The fixed-size fields come first, at fixed byte offsets (`exchange_id` 0, `batch_number`
//! 32, `prior_root` 40, `new_root` 72, `time` 104, `deposits` 120, `oracle_digest` 200; the
//! lists from 232), so that the settlement program reads them without decoding the lists. `time` is the
//! exchange clock before and after the batch (the previous step's timestamp, carried over by
//! an empty batch). `balances` lists, by account id, every account the batch created or whose
//! collateral changed; `withdrawals` are in step order. The deposit chain is
//! `chain' = sha256(chain || sequence u64 LE || owner || amount u64 LE)` from 32 zero bytes,
//! the same on Solana. `oracle_digest` is SHA-256 of every market's oracle chain head after
//! the batch (32 bytes each, by market id; see [`crate::prices`]): with the oracle's public
//! feed, anyone can check which prices the batch consumed.
//!
//! # What the guest commits, and the public input
//!
//! A batch's lists can be far larger than a Solana transaction, so the guest commits the
//! fixed-size [`BatchOutput::header`] (304 bytes), which the settlement program takes whole
//! and then checks the lists against in chunks: the fixed-size fields as above (232 bytes),
//! then `balance_count: u32, balances_hash: [u8; 32], withdrawal_count: u32,
//! withdrawals_hash: [u8; 32]`, where a list hash is `sha256(borsh(first entry) || list hash
//! of the rest)`, ending in 32 zero bytes. It is byte for byte the settlement verification
//! core's `BatchHeader` (`gnomon-settlement-verifier`, whose tests check it).
//!
//! The proof binds the SHA-256 of what the guest committed. [`BatchOutput::digest`] turns it
//! into the one public input the on-chain verifier takes beside the program commitment: the
//! SHA-256 as a 32-byte big-endian integer with its first byte cleared, i.e. truncated to 248
//! bits, below BN254's scalar field modulus (about 2^253.6). Truncation, not reduction: it is
//! one byte on chain and in the circuit, and 248 bits keep 124-bit collision resistance.
//!
//! `BatchWitness` = `global: GlobalState, accounts_root: [u32; 8],
//! accounts: Vec<AccountWitness { id: u32, prior: Option<Account> }>, proof: MultiProof`:
//! the prior global state in full, every account the batch reads by ascending id with its
//! value before the batch, and one multiproof of all their leaves under the prior accounts
//! root (see [`crate::tree`]).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use borsh::{BorshDeserialize, BorshSerialize};
use core::fmt;

use crate::account::Account;
use crate::action::{SignatureVerifier, SignedAction, SignedAdminAction, SignedOracleUpdate};
use crate::error::{Fatal, RejectReason};
use crate::event::Event;
use crate::exchange::{DepositCursor, Exchange, GlobalState, StepOutcome};
use crate::fixed::Timestamp;
use crate::hash::{Digest, Permutation};
use crate::liquidation::DeleverageLists;
use crate::sha256::{Sha256, Sha256Compression, SoftSha256, sha256};
use crate::tree::{AccountTree, MultiProof, ProofError, optional_leaf, state_root};
use crate::{AccountId, MarketId};

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
pub fn deposit_chain_next<C: Sha256Compression + ?Sized>(
    compression: &C,
    chain: &[u8; 32],
    deposit: &Deposit,
) -> [u8; 32] {
    sha256(
        compression,
        &[
            chain,
            &deposit.sequence.to_le_bytes(),
            &deposit.owner,
            &deposit.amount.to_le_bytes(),
        ],
    )
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
    Oracle(SignedOracleUpdate),
    Deposit(Deposit),
    /// Liquidate `account` if it is below maintenance, deleveraging against these accounts if
    /// needed.
    Liquidate {
        account: AccountId,
        deleverage: DeleverageLists,
    },
    Admin(SignedAdminAction),
    /// Time passes: the clock moves to the step's timestamp and due funding hours settle. The
    /// ledger records one for a refused step; the engine may add them to settle funding on
    /// the hour when nothing else happens.
    Tick,
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

/// The exchange clock before and after a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TimeRange {
    pub start_ms: Timestamp,
    pub end_ms: Timestamp,
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

/// What the guest commits publicly (layout in the module documentation).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct BatchOutput {
    pub exchange_id: [u8; 32],
    pub batch_number: u64,
    pub prior_root: Digest,
    pub new_root: Digest,
    pub time: TimeRange,
    pub deposits: DepositRange,
    pub oracle_digest: [u8; 32],
    pub balances: Vec<SettledBalance>,
    pub withdrawals: Vec<Withdrawal>,
}

/// Bytes of [`BatchOutput::header`].
pub const HEADER_LEN: usize = 304;
/// Bytes of the output's fixed-size fields: the header's first bytes, and the borsh
/// encoding's.
const FIXED_LEN: usize = 232;

impl BatchOutput {
    /// What the guest commits (see the module documentation): the fixed-size fields as borsh
    /// encodes them, then each list as its length (u32) and its list hash.
    pub fn header(&self) -> [u8; HEADER_LEN] {
        self.header_with(&SoftSha256)
    }

    /// [`Self::header`], its list hashes computed with `compression` (a guest's precompile).
    pub fn header_with<C: Sha256Compression + ?Sized>(&self, compression: &C) -> [u8; HEADER_LEN] {
        let mut header = [0u8; HEADER_LEN];
        let fixed = (
            &self.exchange_id,
            self.batch_number,
            &self.prior_root,
            &self.new_root,
            &self.time,
            &self.deposits,
            &self.oracle_digest,
        );
        // Encoding into memory cannot fail; a test checks that the fields fill FIXED_LEN.
        let fixed = borsh::to_vec(&fixed).unwrap_or_default();
        header[..FIXED_LEN].copy_from_slice(&fixed);
        let lists = [
            (self.balances.len(), list_hash(compression, &self.balances)),
            (
                self.withdrawals.len(),
                list_hash(compression, &self.withdrawals),
            ),
        ];
        for ((count, hash), at) in lists.into_iter().zip([FIXED_LEN, FIXED_LEN + 36]) {
            header[at..at + 4].copy_from_slice(&(count as u32).to_le_bytes());
            header[at + 4..at + 36].copy_from_slice(&hash);
        }
        header
    }

    /// The proof's public input (see the module documentation): [`public_input`] of the
    /// SHA-256 of the [header](Self::header).
    pub fn digest(&self) -> [u8; 32] {
        public_input(&sha256(&SoftSha256, &[&self.header()]))
    }
}

/// The list hash of `entries`: `sha256(borsh(first) || list hash of the rest)`, folded from
/// the back of the list, whose end is 32 zero bytes.
fn list_hash<C: Sha256Compression + ?Sized, T: BorshSerialize>(
    compression: &C,
    entries: &[T],
) -> [u8; 32] {
    entries.iter().rev().fold([0u8; 32], |tail, entry| {
        let mut hasher = Sha256::new(compression);
        // Writing into a hasher cannot fail.
        let _ = entry.serialize(&mut hasher);
        hasher.update(&tail);
        hasher.finalize()
    })
}

/// The public input for a committed output whose SHA-256 is `output_sha256` (what a run
/// proof's output digest holds): the digest truncated to 248 bits, as a big-endian integer.
pub fn public_input(output_sha256: &[u8; 32]) -> [u8; 32] {
    let mut digest = *output_sha256;
    digest[0] = 0;
    digest
}

/// One account the batch reads.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct AccountWitness {
    pub id: AccountId,
    /// Its value before the batch (`None`: the batch creates it).
    pub prior: Option<Account>,
}

/// What the guest needs besides the input: the prior global state and the touched accounts
/// with the multiproof of their leaves.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct BatchWitness {
    pub global: GlobalState,
    pub accounts_root: Digest,
    pub accounts: Vec<AccountWitness>,
    pub proof: MultiProof,
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
    /// Step `index` is invalid (time going back, a deposit out of sequence), or read an
    /// account the witness does not hold.
    Step { index: u32, error: Fatal },
    /// Step `index` is refused as a whole; a batch holds only steps that apply.
    Refused { index: u32, reason: RejectReason },
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PriorRootMismatch => f.write_str("the witness does not match the prior root"),
            Self::WrongBatchNumber => f.write_str("batch number does not follow the state's"),
            Self::WitnessOutOfOrder => f.write_str("witness accounts out of order or inconsistent"),
            Self::Proof(error) => write!(f, "witness proof: {error}"),
            Self::Step { index, error } => write!(f, "step {index} is invalid: {error}"),
            Self::Refused { index, reason } => write!(f, "step {index} is refused: {reason}"),
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

#[derive(Clone)]
struct OpenBatch {
    prior_root: Digest,
    prior_accounts_root: Digest,
    prior_global: GlobalState,
    steps: Vec<Step>,
    withdrawals: Vec<Withdrawal>,
}

/// The engine's side: the whole exchange plus its account tree. Steps apply as they are
/// sequenced (events come back at once); [`Ledger::seal_batch`] closes the batch.
#[derive(Clone)]
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

    /// The steps of the open batch so far (refused ones as ticks).
    pub fn pending_steps(&self) -> &[Step] {
        self.open.as_ref().map_or(&[], |open| open.steps.as_slice())
    }

    /// Applies a step, opening a batch if none is open. An `Err` (an invalid step: time going
    /// back, a deposit out of sequence) changes nothing and the step is not recorded; a
    /// refused step is recorded as a [`StepKind::Tick`] (see the module documentation).
    pub fn apply_step<V: SignatureVerifier + ?Sized>(
        &mut self,
        step: Step,
        verifier: &V,
    ) -> Result<StepOutcome, Fatal> {
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
        let outcome = self.exchange.apply_step(&step, verifier, &SoftSha256)?;
        if let Some(open) = &mut self.open {
            open.withdrawals
                .extend(withdrawals(&self.exchange, &outcome.events));
            open.steps.push(if outcome.refused.is_some() {
                Step {
                    timestamp_ms: step.timestamp_ms,
                    kind: StepKind::Tick,
                }
            } else {
                step
            });
        }
        Ok(outcome)
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
        let ids: Vec<AccountId> = journal.keys().copied().collect();
        let proof = self.tree.multiproof(&ids);
        let mut accounts = Vec::with_capacity(journal.len());
        let mut balances = Vec::new();
        for (id, prior) in journal {
            let current = self.exchange.account(id);
            self.tree.set(
                &self.permutation,
                id,
                optional_leaf(&self.permutation, current),
            );
            if let Some(balance) = settled_balance(id, prior.as_ref(), current) {
                balances.push(balance);
            }
            accounts.push(AccountWitness { id, prior });
        }
        self.exchange.global.batch_number += 1;
        self.root = state_root(&self.permutation, &self.tree.root(), self.exchange.global());
        let batch_number = self.exchange.global.batch_number;
        let output = BatchOutput {
            exchange_id: self.exchange.global.config.exchange_id,
            batch_number,
            prior_root: open.prior_root,
            new_root: self.root,
            time: TimeRange {
                start_ms: open.prior_global.last_timestamp_ms,
                end_ms: self.exchange.global.last_timestamp_ms,
            },
            deposits: deposit_range(&open.prior_global.deposits, &self.exchange.global.deposits),
            oracle_digest: oracle_digest(&SoftSha256, &self.exchange.global),
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
                proof,
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

/// SHA-256 of every market's oracle chain head, by market id.
fn oracle_digest<C: Sha256Compression + ?Sized>(compression: &C, global: &GlobalState) -> [u8; 32] {
    let mut hasher = Sha256::new(compression);
    for market in &global.markets {
        hasher.update(&market.state.oracle_chain);
    }
    hasher.finalize()
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
/// witnessed accounts only, and returns the output to commit. Any refused step fails the
/// batch.
///
/// Oracle signatures: a market's oracle updates form a hash chain whose every head the
/// oracle authority signs, and the prior head is part of the prior state. So the signature
/// of a market's last update in the batch authenticates all of the market's updates in the
/// batch: forging an earlier one would need a second chain to the same signed head, a
/// SHA-256 collision. Only that last signature is checked; the ones before it are implied.
pub fn verify_batch<
    P: Permutation + ?Sized,
    C: Sha256Compression + ?Sized,
    V: SignatureVerifier + ?Sized,
>(
    input: &BatchInput,
    witness: BatchWitness,
    verifier: &V,
    permutation: &P,
    compression: &C,
) -> Result<BatchOutput, BatchError> {
    if state_root(permutation, &witness.accounts_root, &witness.global) != input.prior_root {
        return Err(BatchError::PriorRootMismatch);
    }
    if witness.global.batch_number.checked_add(1) != Some(input.batch_number) {
        return Err(BatchError::WrongBatchNumber);
    }
    let account_count = witness.global.next_account_id;
    let first_deposit = witness.global.deposits;
    let start_ms = witness.global.last_timestamp_ms;
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
    let implied = implied_oracle_signatures(&input.steps);
    let mut withdrawn = Vec::new();
    for (index, step) in input.steps.iter().enumerate() {
        let index = u32::try_from(index).unwrap_or(u32::MAX);
        let outcome = if implied.get(index as usize).copied().unwrap_or(false) {
            exchange.apply_step(step, &ImpliedByLaterUpdate, compression)
        } else {
            exchange.apply_step(step, verifier, compression)
        }
        .map_err(|error| BatchError::Step { index, error })?;
        if let Some(reason) = outcome.refused {
            return Err(BatchError::Refused { index, reason });
        }
        withdrawn.extend(withdrawals(&exchange, &outcome.events));
    }
    let mut leaves = Vec::with_capacity(witness.accounts.len());
    let mut balances = Vec::new();
    for account in &witness.accounts {
        let current = exchange.account(account.id);
        leaves.push((
            account.id,
            optional_leaf(permutation, account.prior.as_ref()),
            optional_leaf(permutation, current),
        ));
        if let Some(balance) = settled_balance(account.id, account.prior.as_ref(), current) {
            balances.push(balance);
        }
    }
    let root = witness
        .proof
        .update(permutation, &witness.accounts_root, &leaves)
        .map_err(BatchError::Proof)?;
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
    let global = exchange.global();
    Ok(BatchOutput {
        exchange_id: global.config.exchange_id,
        batch_number: input.batch_number,
        prior_root: input.prior_root,
        new_root: state_root(permutation, &root, global),
        time: TimeRange {
            start_ms,
            end_ms: global.last_timestamp_ms,
        },
        deposits: deposit_range(&first_deposit, &global.deposits),
        oracle_digest: oracle_digest(compression, global),
        balances,
        withdrawals: withdrawn,
    })
}

/// For each step, whether it is an oracle update followed later in the batch by another
/// update of the same market, whose signature implies its own.
fn implied_oracle_signatures(steps: &[Step]) -> Vec<bool> {
    let mut later: Vec<MarketId> = Vec::new();
    let mut implied = alloc::vec![false; steps.len()];
    for (step, flag) in steps.iter().zip(implied.iter_mut()).rev() {
        if let StepKind::Oracle(signed) = &step.kind {
            let market = signed.update.market;
            if later.contains(&market) {
                *flag = true;
            } else {
                later.push(market);
            }
        }
    }
    implied
}

/// The verifier of oracle updates whose signatures a later update's signature implies (see
/// [`verify_batch`]); used for nothing else.
struct ImpliedByLaterUpdate;

impl SignatureVerifier for ImpliedByLaterUpdate {
    fn verify(&self, _: &[u8; 32], _: &[u8], _: &[u8; 64]) -> bool {
        true
    }
}
