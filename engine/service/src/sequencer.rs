//! The sequencer: the one thread that owns the exchange state, orders every step, logs it and
//! only then lets anyone see its effects.
//!
//! Commands arrive on a bounded channel. The sequencer takes a group of them (all that are
//! waiting, up to [`MAX_GROUP`]), applies each step to the ledger and appends it to the
//! write-ahead log, runs its timers (oracle prices, liquidations, ticks, batch cuts), then
//! fsyncs the log once for the whole group. Only after that fsync are replies sent, market
//! data published and reads answered: an acknowledgment always means the step is durable,
//! and no one ever sees state that a crash could take back.
//!
//! The log holds the steps as the ledger recorded them (a refused step as a tick) and a
//! marker where each batch was sealed, so replaying it through `gnomon-core` rebuilds the
//! acknowledged state exactly. Recovery starts from the newest snapshot and replays the log
//! after it.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use borsh::{BorshDeserialize, BorshSerialize};
use gnomon_core::AccountId;
use gnomon_core::action::{Ed25519Verifier, SignatureVerifier};
use gnomon_core::batch::{Deposit, Ledger, SealedBatch, Step, StepKind, deposit_chain_next};
use gnomon_core::error::{Fatal, RejectReason};
use gnomon_core::event::Event;
use gnomon_core::exchange::Exchange;
use gnomon_core::hash::NativePoseidon2;
use gnomon_core::sha256::SoftSha256;
use tokio::sync::{broadcast, oneshot};

use crate::auth::Verified;
use crate::chain::ChainDeposit;
use crate::history::{History, HistoryError};
use crate::market_data::{BookMirror, Stamped, Update};
use crate::oracle::OracleFeed;
use crate::prover::JobQueue;
use crate::snapshot::{Snapshot, Snapshots};
use crate::wal::{Wal, WalError};

/// The most commands one group commit takes.
pub const MAX_GROUP: usize = 4096;

/// History records gathered before they are written without a read or a snapshot asking.
const HISTORY_BULK: usize = 4096;

/// A log record. Nearly every record is a step, so boxing it would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Record {
    Step(Step),
    /// The open batch was sealed here.
    Seal,
}

/// What happened to one submitted action.
#[derive(Clone, Debug)]
pub enum ActionOutcome {
    /// Applied; `position` is its place in the log.
    Accepted { position: u64, events: Vec<Event> },
    /// Refused by the state machine; nothing but the clock changed.
    Rejected {
        position: u64,
        reason: RejectReason,
        events: Vec<Event>,
    },
}

/// A read of the state, answered after the group that precedes it is durable.
pub type Read = Box<dyn FnOnce(&View<'_>) + Send>;

/// What the sequencer is asked to do.
pub enum Command {
    Submit {
        actions: Vec<Verified>,
        reply: oneshot::Sender<Vec<ActionOutcome>>,
    },
    /// A deposit from the development faucet (in production deposits come from the on-chain
    /// queue): credits `account`, or opens the next account when `None`.
    Deposit {
        owner: [u8; 32],
        amount: u64,
        account: Option<AccountId>,
        reply: oneshot::Sender<Result<AccountId, DepositRefused>>,
    },
    Read(Read),
    /// Deposits waiting in the settlement program's queue, in sequence order; those already
    /// credited are skipped.
    ChainDeposits(Vec<ChainDeposit>),
    /// Finish the group, then stop.
    Shutdown,
}

/// Why a faucet deposit was not credited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DepositRefused {
    #[error("the state machine refused the deposit: {0}")]
    Rejected(RejectReason),
    #[error("the deposit is invalid: {0}")]
    Invalid(Fatal),
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Submit { .. } => "Submit",
            Self::Deposit { .. } => "Deposit",
            Self::Read(_) => "Read",
            Self::ChainDeposits(_) => "ChainDeposits",
            Self::Shutdown => "Shutdown",
        })
    }
}

/// The state as reads see it.
#[derive(Debug)]
pub struct View<'a> {
    pub exchange: &'a Exchange,
    pub state_root: gnomon_core::hash::Digest,
    pub open_batch_steps: usize,
    /// Records in the durable log.
    pub log_position: u64,
    pub books: &'a BookMirror,
    pub history: &'a dyn History,
}

impl std::fmt::Debug for dyn History + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("History")
    }
}

impl std::fmt::Debug for dyn JobQueue + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JobQueue")
    }
}

/// When batches are cut and what runs on timers.
#[derive(Clone, Copy, Debug)]
pub struct Timers {
    pub batch_max_steps: usize,
    pub batch_max_age: Duration,
    pub oracle_interval: Duration,
    pub liquidation_interval: Duration,
    /// A tick is sequenced when nothing else happened for this long (funding settles on the
    /// hour even in a quiet market).
    pub tick_interval: Duration,
}

/// Why the sequencer stopped.
#[derive(Debug, thiserror::Error)]
pub enum SequencerError {
    #[error(transparent)]
    Wal(#[from] WalError),
    #[error("snapshot: {0}")]
    Snapshot(std::io::Error),
    #[error("handing a sealed batch to the proving queue: {0}")]
    Queue(std::io::Error),
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error("log record {position} does not decode")]
    BadRecord { position: u64 },
    #[error("log record {position} no longer applies: {fatal}")]
    Diverged { position: u64, fatal: Fatal },
    #[error("the newest snapshot is at log position {snapshot}, past the log's end {log}")]
    SnapshotPastLog { snapshot: u64, log: u64 },
}

/// The sequencer's state.
pub struct Sequencer {
    ledger: Ledger<NativePoseidon2>,
    wal: Wal,
    snapshots: Snapshots,
    timers: Timers,
    feed: Option<Box<dyn OracleFeed>>,
    queue: Arc<dyn JobQueue>,
    history: Box<dyn History>,
    books: BookMirror,
    updates: broadcast::Sender<Arc<Update>>,
    pending: Update,
    sealed: Vec<(SealedBatch, Snapshot)>,
    batch_opened: Option<Instant>,
    last_step: Instant,
    last_oracle: Instant,
    last_liquidation_scan: Instant,
}

impl std::fmt::Debug for Sequencer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequencer")
            .field("root", &self.ledger.root())
            .field("log_position", &self.wal.next_position())
            .finish_non_exhaustive()
    }
}

/// Everything the sequencer is built from.
pub struct Parts {
    pub wal: (Wal, Vec<Vec<u8>>),
    pub snapshots: Snapshots,
    /// The state at log position 0, used when there is no snapshot yet.
    pub genesis: Exchange,
    pub timers: Timers,
    pub feed: Option<Box<dyn OracleFeed>>,
    pub queue: Arc<dyn JobQueue>,
    pub history: Box<dyn History>,
    pub updates: broadcast::Sender<Arc<Update>>,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts")
            .field("timers", &self.timers)
            .finish_non_exhaustive()
    }
}

impl Sequencer {
    /// Restores the acknowledged state: the newest snapshot (or genesis, which is then
    /// snapshotted), then every logged step after it. Batches sealed during the replay go to
    /// the proving queue again.
    pub fn recover(parts: Parts) -> Result<Self, SequencerError> {
        let Parts {
            wal: (wal, records),
            snapshots,
            genesis,
            timers,
            feed,
            queue,
            history,
            updates,
        } = parts;
        let snapshot = match snapshots.latest().map_err(SequencerError::Snapshot)? {
            Some(snapshot) => snapshot,
            None => {
                let snapshot = Snapshot::of(&genesis, 0);
                snapshots
                    .write(&snapshot)
                    .map_err(SequencerError::Snapshot)?;
                snapshot
            }
        };
        let start = snapshot.log_position;
        if start > records.len() as u64 {
            return Err(SequencerError::SnapshotPastLog {
                snapshot: start,
                log: records.len() as u64,
            });
        }
        let now = Instant::now();
        let mut sequencer = Self {
            ledger: Ledger::new(snapshot.into_exchange(), NativePoseidon2::default()),
            wal,
            snapshots,
            timers,
            feed,
            queue,
            history,
            books: BookMirror::default(),
            updates,
            pending: Update::default(),
            sealed: Vec::new(),
            batch_opened: None,
            last_step: now,
            last_oracle: now,
            last_liquidation_scan: now,
        };
        for (position, bytes) in (start..).zip(&records[start as usize..]) {
            let record = Record::try_from_slice(bytes)
                .map_err(|_| SequencerError::BadRecord { position })?;
            match record {
                Record::Step(step) => {
                    let timestamp_ms = step.timestamp_ms;
                    let outcome = sequencer
                        .ledger
                        .apply_step(step, &Ed25519Verifier)
                        .map_err(|fatal| SequencerError::Diverged { position, fatal })?;
                    sequencer.record_events(position, timestamp_ms, outcome.events);
                    sequencer.batch_opened.get_or_insert(now);
                }
                Record::Seal => {
                    let batch = sequencer.ledger.seal_batch();
                    sequencer
                        .queue
                        .push(Arc::new(batch))
                        .map_err(SequencerError::Queue)?;
                    sequencer.batch_opened = None;
                }
            }
        }
        sequencer.history.commit(true)?;
        sequencer.pending = Update::default();
        sequencer.books.diff(sequencer.ledger.exchange());
        tracing::info!(
            snapshot_batch = sequencer.ledger.exchange().global().batch_number,
            replayed = records.len() as u64 - start,
            "recovered"
        );
        Ok(sequencer)
    }

    /// Serves commands until every sender is gone or the log fails. A log failure stops the
    /// sequencer at once: its memory may hold steps the disk does not, so it must not
    /// acknowledge anything more (a restart recovers the durable state).
    pub fn run(mut self, commands: &Receiver<Command>) -> Result<(), SequencerError> {
        let mut group = Vec::with_capacity(MAX_GROUP);
        loop {
            match commands.recv_timeout(self.next_timer()) {
                Ok(command) => {
                    group.push(command);
                    group.extend(commands.try_iter().take(MAX_GROUP - 1));
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
            if !self.group(group.drain(..))? {
                return Ok(());
            }
        }
    }

    /// Serves one group of commands; false when one of them asked the sequencer to stop.
    fn group(&mut self, commands: impl Iterator<Item = Command>) -> Result<bool, SequencerError> {
        let start = self.wal.next_position();
        let mut submits = Vec::new();
        let mut deposits = Vec::new();
        let mut reads = Vec::new();
        let mut serving = true;
        for command in commands {
            match command {
                Command::Submit { actions, reply } => {
                    let mut outcomes = Vec::with_capacity(actions.len());
                    for verified in &actions {
                        let kind = StepKind::Trader(verified.action().clone());
                        outcomes.extend(self.apply(kind, verified)?.ok());
                    }
                    submits.push((reply, outcomes));
                }
                Command::Deposit {
                    owner,
                    amount,
                    account,
                    reply,
                } => {
                    let result = self.deposit(owner, amount, account)?;
                    deposits.push((reply, result));
                }
                Command::Read(read) => reads.push(read),
                Command::ChainDeposits(deposits) => self.credit_chain_deposits(&deposits)?,
                Command::Shutdown => serving = false,
            }
        }
        self.run_timers()?;
        let appended = self.wal.next_position() > start;
        if appended {
            self.wal.sync()?;
        }
        // Durable now: acknowledge and publish before the slower bookkeeping below.
        for (reply, outcomes) in submits {
            let _ = reply.send(outcomes);
        }
        for (reply, result) in deposits {
            let _ = reply.send(result);
        }
        if appended {
            let mut update = std::mem::take(&mut self.pending);
            update.books = self.books.diff(self.ledger.exchange());
            // No subscribers is not an error.
            let _ = self.updates.send(Arc::new(update));
        }
        // History is written in bulk: before reads (which must see it), when enough has
        // gathered, and durably before any snapshot (it must hold every event up to the
        // newest snapshot; recovery replays the log after it).
        let snapshot_due = !self.sealed.is_empty();
        if snapshot_due || !reads.is_empty() || self.history.buffered() >= HISTORY_BULK {
            self.history.commit(snapshot_due)?;
        }
        for (batch, snapshot) in self.sealed.drain(..) {
            // The queue keeps the batch before the snapshot makes the log's copy unreachable.
            self.queue
                .push(Arc::new(batch))
                .map_err(SequencerError::Queue)?;
            self.snapshots
                .write(&snapshot)
                .map_err(SequencerError::Snapshot)?;
        }
        if !reads.is_empty() {
            let view = View {
                exchange: self.ledger.exchange(),
                state_root: self.ledger.root(),
                open_batch_steps: self.ledger.pending_steps().len(),
                log_position: self.wal.next_position(),
                books: &self.books,
                history: self.history.as_ref(),
            };
            for read in reads {
                read(&view);
            }
        }
        Ok(serving)
    }

    /// Sequences a step at the current time and logs it. An invalid step (which cannot come
    /// from a trader action stamped by the sequencer's monotonic clock) is neither applied nor
    /// written to the log.
    fn apply(
        &mut self,
        kind: StepKind,
        verifier: &dyn SignatureVerifier,
    ) -> Result<Result<ActionOutcome, Fatal>, SequencerError> {
        let timestamp_ms = self.now_ms();
        let step = Step { timestamp_ms, kind };
        let outcome = match self.ledger.apply_step(step, verifier) {
            Ok(outcome) => outcome,
            Err(fatal) => {
                tracing::warn!(%fatal, "an invalid step was not sequenced");
                return Ok(Err(fatal));
            }
        };
        let recorded = self
            .ledger
            .pending_steps()
            .last()
            .cloned()
            .map(Record::Step)
            .expect("the ledger records every applied step");
        let position = self
            .wal
            .append(&borsh::to_vec(&recorded).map_err(WalError::Io)?)?;
        self.last_step = Instant::now();
        self.batch_opened.get_or_insert(self.last_step);
        let events = outcome.events.clone();
        self.record_events(position, timestamp_ms, outcome.events);
        Ok(Ok(match outcome.refused {
            None => ActionOutcome::Accepted { position, events },
            Some(reason) => ActionOutcome::Rejected {
                position,
                reason,
                events,
            },
        }))
    }

    fn record_events(&mut self, position: u64, timestamp_ms: u64, events: Vec<Event>) {
        for event in events {
            let stamped = Stamped {
                position,
                timestamp_ms,
                event,
            };
            self.history.record(&stamped);
            self.pending.events.push(stamped);
        }
    }

    fn deposit(
        &mut self,
        owner: [u8; 32],
        amount: u64,
        account: Option<AccountId>,
    ) -> Result<Result<AccountId, DepositRefused>, SequencerError> {
        let global = self.ledger.exchange().global();
        let account = account.unwrap_or(global.next_account_id);
        let deposit = Deposit {
            sequence: global.deposits.next_sequence,
            owner,
            amount,
            account,
        };
        Ok(
            match self.apply(StepKind::Deposit(deposit), &Ed25519Verifier)? {
                Ok(ActionOutcome::Accepted { .. }) => Ok(account),
                Ok(ActionOutcome::Rejected { reason, .. }) => Err(DepositRefused::Rejected(reason)),
                Err(fatal) => Err(DepositRefused::Invalid(fatal)),
            },
        )
    }

    /// Credits the deposits that come next in the queue: each to its owner's first account, or
    /// to a new one. A deposit whose chain differs from the state machine's is not credited:
    /// the program and the engine disagree, and no batch consuming it could settle.
    fn credit_chain_deposits(&mut self, deposits: &[ChainDeposit]) -> Result<(), SequencerError> {
        for queued in deposits {
            let exchange = self.ledger.exchange();
            let cursor = exchange.global().deposits;
            if queued.sequence < cursor.next_sequence {
                continue;
            }
            if queued.sequence > cursor.next_sequence {
                tracing::warn!(sequence = queued.sequence, "a gap in the deposit queue");
                return Ok(());
            }
            let account = exchange
                .accounts()
                .find(|(_, account)| account.owner == queued.owner)
                .map_or(exchange.global().next_account_id, |(id, _)| id);
            let deposit = Deposit {
                sequence: queued.sequence,
                owner: queued.owner,
                amount: queued.amount,
                account,
            };
            if deposit_chain_next(&SoftSha256, &cursor.chain, &deposit) != queued.chain_after {
                tracing::error!(
                    sequence = queued.sequence,
                    "the program's deposit chain differs from the engine's; not credited"
                );
                return Ok(());
            }
            let _ = self.apply(StepKind::Deposit(deposit), &Ed25519Verifier)?;
        }
        Ok(())
    }

    fn now_ms(&self) -> u64 {
        now_ms(self.ledger.exchange())
    }

    fn next_timer(&self) -> Duration {
        let now = Instant::now();
        let mut deadlines = vec![
            self.last_liquidation_scan + self.timers.liquidation_interval,
            self.last_step + self.timers.tick_interval,
        ];
        if self.feed.is_some() {
            deadlines.push(self.last_oracle + self.timers.oracle_interval);
        }
        if let Some(opened) = self.batch_opened {
            deadlines.push(opened + self.timers.batch_max_age);
        }
        deadlines
            .into_iter()
            .min()
            .map_or(Duration::ZERO, |deadline| {
                deadline.saturating_duration_since(now)
            })
    }

    fn run_timers(&mut self) -> Result<(), SequencerError> {
        let now = Instant::now();
        let mut prices_moved = false;
        if now >= self.last_oracle + self.timers.oracle_interval
            && let Some(feed) = &mut self.feed
        {
            self.last_oracle = now;
            let timestamp_ms = now_ms(self.ledger.exchange());
            let updates = feed.poll(timestamp_ms, self.ledger.exchange());
            prices_moved = !updates.is_empty();
            for update in updates {
                let _ = self.apply(StepKind::Oracle(update), &Ed25519Verifier)?;
            }
        }
        if prices_moved || now >= self.last_liquidation_scan + self.timers.liquidation_interval {
            self.last_liquidation_scan = now;
            let exchange = self.ledger.exchange();
            let due: Vec<_> = exchange
                .liquidatable_accounts(self.now_ms())
                .into_iter()
                .map(|account| StepKind::Liquidate {
                    account,
                    deleverage: exchange.deleverage_lists(account),
                })
                .collect();
            for kind in due {
                let _ = self.apply(kind, &Ed25519Verifier)?;
            }
        }
        if now >= self.last_step + self.timers.tick_interval {
            let _ = self.apply(StepKind::Tick, &Ed25519Verifier)?;
        }
        let full = self.ledger.pending_steps().len() >= self.timers.batch_max_steps;
        let old = self
            .batch_opened
            .is_some_and(|opened| now >= opened + self.timers.batch_max_age);
        if full || old {
            let batch = self.ledger.seal_batch();
            self.wal
                .append(&borsh::to_vec(&Record::Seal).map_err(WalError::Io)?)?;
            self.batch_opened = None;
            let snapshot = Snapshot::of(self.ledger.exchange(), self.wal.next_position());
            self.sealed.push((batch, snapshot));
        }
        Ok(())
    }
}

/// The time for the next step: the wall clock, never before the last step's time.
fn now_ms(exchange: &Exchange) -> u64 {
    let wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64);
    wall.max(exchange.global().last_timestamp_ms)
}
