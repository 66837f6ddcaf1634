//! Proving jobs: sealed batches handed to prover workers through a queue, and their status.
//!
//! A batch goes through these jobs ([`Task`]): executing the perps guest over it (which checks
//! that the guest commits exactly the engine's output before any proving time is spent, and
//! counts the segments), proving its segments in groups, each group an independent job that
//! any worker can take, and verifying that the segment proofs are one run with the batch's
//! output (joining them into the run proof). With [`Plan::aggregate`], the segment proofs are
//! then folded into one final proof by recursion: jobs of leaves (each verifies one segment
//! proof), then one job per join, level by level up to the root, and the wrap-ready step,
//! which re-proves the root in the outer configuration as the batch's final proof. Each job depends only on proofs in the [`ProofStore`], a directory
//! that a multi-machine deployment shares. Wrapping the final proof in Groth16 will be one more
//! kind of job.
//!
//! A job is leased, not popped: a worker renews its lease while it works, and the job of a
//! worker that dies stops being renewed and becomes available again when the lease times out.
//! Two queues implement [`JobQueue`]: [`LocalQueue`], in process, for a single machine, and
//! [`PostgresQueue`], shared by the engine and worker processes (`gnomon engine --worker`) on
//! any number of machines through PostgreSQL (`FOR UPDATE SKIP LOCKED`).

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use gnomon_core::batch::{SealedBatch, StepKind, public_input};
use gnomon_executor::{Input, Options, Program, SegmentSize, execute, execute_traced};
use gnomon_machine::config::StarkParameters;
use gnomon_machine::run::{RunProof, verify_run};
use gnomon_machine::segment::{MachineKeys, SegmentProof};
use gnomon_recursion::aggregation::{
    AggregatedRunProof, AggregationKeys, AggregationProof, WrapReadyKeys, parameters_for, shapes_of,
};
use gnomon_wrap::keys::{KeysDir, aggregated_circuit, split_wrapped};
use gnomon_wrap::verifier::{VerifierShape, VerifierWitness};
use serde::{Deserialize, Serialize};

use crate::batches::BatchStore;

mod postgres;
pub use postgres::{PostgresQueue, QueueError};

/// Where a batch is on its way to settlement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BatchStatus {
    Queued,
    /// A worker is executing the guest over the batch.
    Running {
        worker: String,
        attempt: u32,
    },
    /// The guest reproduced the engine's output under the executor (the last stage when the
    /// engine does not prove).
    Executed {
        cycles: u64,
        segments: u64,
    },
    /// Segment proofs are being made; `proving_ms` adds up the workers' time.
    Proving {
        cycles: u64,
        segments: u64,
        proven: u64,
        proving_ms: u64,
    },
    /// The segment proofs verify as one run with the batch's output and are being folded into
    /// one proof: `done` nodes of tree level `level` (0: the leaves) are proven; one level
    /// past the root's, the wrap-ready step.
    Aggregating {
        cycles: u64,
        segments: u64,
        proving_ms: u64,
        level: u32,
        done: u64,
    },
    /// The final proof verifies and is being wrapped in a Groth16 proof.
    Wrapping {
        cycles: u64,
        segments: u64,
        proving_ms: u64,
    },
    /// Every segment is proven, and the proofs verify as one run that commits the batch's
    /// output (aggregating: the wrap-ready final proof verifies, and says so; wrapping: so
    /// does its Groth16 proof). `proof_bytes` is the size of the run proof, of the final
    /// proof when aggregating, or of the Groth16 proof and its public inputs when wrapping.
    /// `proving_ms` is the STARK's time (segments, aggregation, wrap-ready), `groth16_ms` the
    /// wrap's, when there is one.
    Proven {
        cycles: u64,
        segments: u64,
        proving_ms: u64,
        proof_bytes: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        groth16_ms: Option<u64>,
    },
    Failed {
        reason: String,
    },
}

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "snake_case")]
pub enum Task {
    /// Run the guest over the batch and compare its output with the engine's.
    Execute,
    /// Prove segments `first..first + count` of the run.
    ProveSegments { first: u64, count: u64 },
    /// Check that the run's `segments` segment proofs are one run with the batch's output;
    /// `aggregate`: keep them for the aggregation jobs.
    VerifyRun { segments: u64, aggregate: bool },
    /// Prove the aggregation leaves of segments `first..first + count` (each verifies one
    /// segment proof).
    ProveLeaves { first: u64, count: u64 },
    /// Prove node `index` of tree level `level` from its children at `level - 1` (two, or
    /// one without `pair`).
    Join { level: u32, index: u64, pair: bool },
    /// Re-prove the root (the node of level `root_level`) in the outer configuration: the
    /// batch's final proof, the one the Groth16 wrap takes.
    WrapReady { root_level: u32 },
    /// Wrap the final proof in a Groth16 proof for the settlement program.
    Groth16,
}

/// How batches are proven, fixed when a batch is queued so that whichever process completes
/// its jobs moves it through the same ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Segments (and leaves) one proving job proves.
    pub segments_per_job: u64,
    /// Fold the segment proofs into one proof by recursion, after checking them as one run.
    pub aggregate: bool,
    /// Wrap the final proof in a Groth16 proof, the one the settlement program checks.
    #[serde(default)]
    pub groth16: bool,
}

impl Plan {
    pub fn new(segments_per_job: u64, aggregate: bool) -> Self {
        Self {
            segments_per_job: segments_per_job.max(1),
            aggregate,
            groth16: false,
        }
    }

    /// This plan, aggregating and then wrapping in Groth16.
    pub fn wrapped(self) -> Self {
        Self {
            aggregate: true,
            groth16: true,
            ..self
        }
    }
}

/// The nodes of level `level` of the aggregation tree of `segments` segment proofs: the
/// leaves at level 0, then each level joins the one below in pairs (an odd one out alone),
/// up to the root, the first level above the leaves with one node.
pub fn tree_level_size(segments: u64, level: u32) -> u64 {
    (0..level).fold(segments, |size, _| size.div_ceil(2))
}

/// One job on one batch.
#[derive(Clone, Debug)]
pub struct Job {
    pub batch: Arc<SealedBatch>,
    pub task: Task,
    pub attempt: u32,
}

/// What a worker reports at the end of a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Executed {
        cycles: u64,
        segments: u64,
    },
    SegmentsProven {
        count: u64,
        proving_ms: u64,
    },
    /// The segment proofs checked as one run: `proof_bytes` is the run proof's size (0 when
    /// aggregating, which writes no run proof).
    Verified {
        proof_bytes: u64,
    },
    /// Nodes of the aggregation tree proven (leaves or one join).
    Aggregated {
        nodes: u64,
        proving_ms: u64,
    },
    /// The wrap-ready proof made and verified as the batch's final proof.
    Final {
        proving_ms: u64,
        proof_bytes: u64,
    },
    /// The Groth16 proof made and checked as the settlement program checks it.
    Wrapped {
        proving_ms: u64,
        proof_bytes: u64,
    },
    Failed {
        reason: String,
    },
}

/// A job taken by a worker until its lease expires.
#[derive(Clone, Debug)]
pub struct Lease {
    pub id: u64,
    pub job: Job,
}

/// The queue workers take jobs from.
pub trait JobQueue: Send + Sync {
    /// Takes a sealed batch; once this returns, the batch is the queue's to keep (the caller
    /// may write the snapshot after it). A batch the queue already has is ignored.
    fn push(&self, batch: Arc<SealedBatch>) -> std::io::Result<()>;
    /// The oldest available job, leased to `worker`; waits up to `wait` for one.
    fn lease(&self, worker: &str, wait: Duration) -> Option<Lease>;
    /// How long a lease lasts unless it is renewed.
    fn lease_time(&self) -> Duration;
    /// Extends a lease by the lease time from now: a worker renews its lease while it works,
    /// so that only a dead worker's job is ever taken back. False once the lease is lost (it
    /// expired and went to another worker, or its job is done).
    fn renew(&self, lease: &Lease) -> bool;
    /// Ends a lease with the job's outcome, which may create the batch's next jobs. A lease
    /// that already expired (and was handed to another worker) is ignored.
    fn complete(&self, lease: &Lease, outcome: Outcome);
    /// The status of every batch the queue has seen.
    fn statuses(&self) -> BTreeMap<u64, BatchStatus>;
    /// Sealed batch `number`, if the queue keeps it (the settlement driver submits its
    /// output).
    fn sealed(&self, number: u64) -> Option<SealedBatch>;
    /// What the queue knows of the batches it has seen (none, for a queue that keeps only
    /// statuses).
    fn summaries(&self) -> BTreeMap<u64, BatchSummary> {
        BTreeMap::new()
    }
}
/// A sealed batch as the engine sealed it: its steps and the state roots it moves between.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BatchSummary {
    /// Every step: trader actions, oracle updates, deposits, liquidations, ticks.
    pub steps: usize,
    /// Signed trader actions among the steps.
    pub trader_actions: usize,
    /// The state root before the batch, hex of its eight 32-bit words.
    pub prior_root: String,
    /// The state root after it.
    pub new_root: String,
    /// Time range of its steps, milliseconds.
    pub first_ms: u64,
    pub last_ms: u64,
    /// Withdrawals it settles.
    pub withdrawals: usize,
}

impl BatchSummary {
    pub fn of(batch: &SealedBatch) -> Self {
        let hex = |digest: &gnomon_core::hash::Digest| {
            digest.iter().map(|word| format!("{word:08x}")).collect()
        };
        Self {
            steps: batch.input.steps.len(),
            trader_actions: batch
                .input
                .steps
                .iter()
                .filter(|step| matches!(step.kind, StepKind::Trader(_)))
                .count(),
            prior_root: hex(&batch.output.prior_root),
            new_root: hex(&batch.output.new_root),
            first_ms: batch
                .input
                .steps
                .first()
                .map_or(0, |step| step.timestamp_ms),
            last_ms: batch.input.steps.last().map_or(0, |step| step.timestamp_ms),
            withdrawals: batch.output.withdrawals.len(),
        }
    }
}

#[derive(Debug, Default)]
struct QueueState {
    ready: VecDeque<Job>,
    leased: BTreeMap<u64, (Job, Instant)>,
    next_lease: u64,
    statuses: BTreeMap<u64, BatchStatus>,
    summaries: BTreeMap<u64, BatchSummary>,
}

impl QueueState {
    /// Takes a new batch: its summary, and its first job.
    fn admit(&mut self, batch: Arc<SealedBatch>) {
        let number = batch.input.batch_number;
        self.statuses.insert(number, BatchStatus::Queued);
        self.summaries.insert(number, BatchSummary::of(&batch));
        self.enqueue(Job {
            batch,
            task: Task::Execute,
            attempt: 0,
        });
    }

    /// Queues `job` after every job of its batch and of earlier batches: batches settle in
    /// order, so an earlier batch's proving comes before a later batch's.
    fn enqueue(&mut self, job: Job) {
        let number = batch_number(&job);
        let at = self
            .ready
            .iter()
            .position(|queued| batch_number(queued) > number)
            .unwrap_or(self.ready.len());
        self.ready.insert(at, job);
    }
}

/// The in-process queue, kept durably in a [`BatchStore`] when it has one.
#[derive(Debug)]
pub struct LocalQueue {
    lease_time: Duration,
    /// `None`: batches are executed, not proven.
    plan: Option<Plan>,
    store: Option<BatchStore>,
    state: Mutex<QueueState>,
    ready: Condvar,
}

impl LocalQueue {
    /// A queue that keeps its batches in memory only.
    pub fn new(lease_time: Duration, plan: Option<Plan>) -> Self {
        Self {
            lease_time,
            plan,
            store: None,
            state: Mutex::new(QueueState::default()),
            ready: Condvar::new(),
        }
    }

    /// A queue kept in `store`, with every batch the store holds: done ones with their final
    /// status, the others queued again from the start (their proofs are made again).
    pub fn durable(
        lease_time: Duration,
        plan: Option<Plan>,
        store: BatchStore,
    ) -> std::io::Result<Self> {
        let kept = store.load()?;
        let queue = Self {
            store: Some(store),
            ..Self::new(lease_time, plan)
        };
        {
            let mut state = queue.lock();
            for (batch, status) in kept {
                match status.filter(|status| is_final(queue.plan, status)) {
                    Some(status) => {
                        let number = batch.input.batch_number;
                        state.summaries.insert(number, BatchSummary::of(&batch));
                        state.statuses.insert(number, status);
                    }
                    None => state.admit(Arc::new(batch)),
                }
            }
        }
        Ok(queue)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The status after `job` ended with `outcome`, queueing the batch's next jobs.
    fn advance(&self, state: &mut QueueState, job: &Job, outcome: Outcome) -> BatchStatus {
        let current = state.statuses.get(&batch_number(job)).cloned();
        let (status, tasks) = advance(self.plan, current, outcome);
        for task in tasks {
            state.enqueue(Job {
                batch: job.batch.clone(),
                task,
                attempt: 0,
            });
        }
        status
    }
}

/// Whether a batch with `status` needs nothing more from a queue that proves with `plan`
/// (`None`: one that only executes).
fn is_final(plan: Option<Plan>, status: &BatchStatus) -> bool {
    match status {
        BatchStatus::Proven { .. } | BatchStatus::Failed { .. } => true,
        BatchStatus::Executed { .. } => plan.is_none(),
        _ => false,
    }
}

/// `count` items from 0 in jobs of `per_job`: each job's first item and count.
fn groups(count: u64, per_job: u64) -> impl Iterator<Item = (u64, u64)> {
    (0..count)
        .step_by(per_job as usize)
        .map(move |first| (first, per_job.min(count - first)))
}

/// The joins of tree level `level` over `segments` segments.
fn joins(segments: u64, level: u32) -> Vec<Task> {
    let size = tree_level_size(segments, level);
    let below = tree_level_size(segments, level - 1);
    (0..size)
        .map(|index| Task::Join {
            level,
            index,
            pair: 2 * index + 1 < below,
        })
        .collect()
}

/// A batch's way through its jobs, whatever queue holds them: the status after a job of a
/// batch in `current` ended with `outcome`, and the batch's jobs that this makes ready.
fn advance(
    plan: Option<Plan>,
    current: Option<BatchStatus>,
    outcome: Outcome,
) -> (BatchStatus, Vec<Task>) {
    use BatchStatus::{Aggregating, Executed, Proven, Proving, Wrapping};
    match (outcome, current, plan) {
        (Outcome::Failed { reason }, _, _) => (BatchStatus::Failed { reason }, Vec::new()),
        (Outcome::Executed { cycles, segments }, _, None) => {
            (Executed { cycles, segments }, Vec::new())
        }
        (Outcome::Executed { cycles, segments }, _, Some(plan)) => {
            let tasks = groups(segments, plan.segments_per_job)
                .map(|(first, count)| Task::ProveSegments { first, count })
                .collect();
            let status = Proving {
                cycles,
                segments,
                proven: 0,
                proving_ms: 0,
            };
            (status, tasks)
        }
        (
            Outcome::SegmentsProven { count, proving_ms },
            Some(Proving {
                cycles,
                segments,
                proven,
                proving_ms: before,
            }),
            plan,
        ) => {
            let proven = proven + count;
            let tasks = if proven == segments {
                let aggregate = plan.is_some_and(|plan| plan.aggregate);
                vec![Task::VerifyRun {
                    segments,
                    aggregate,
                }]
            } else {
                Vec::new()
            };
            let status = Proving {
                cycles,
                segments,
                proven,
                proving_ms: before + proving_ms,
            };
            (status, tasks)
        }
        (
            Outcome::Verified { proof_bytes },
            Some(Proving {
                cycles,
                segments,
                proving_ms,
                ..
            }),
            plan,
        ) => match plan {
            Some(plan) if plan.aggregate => {
                let tasks = groups(segments, plan.segments_per_job)
                    .map(|(first, count)| Task::ProveLeaves { first, count })
                    .collect();
                let status = Aggregating {
                    cycles,
                    segments,
                    proving_ms,
                    level: 0,
                    done: 0,
                };
                (status, tasks)
            }
            _ => {
                let status = Proven {
                    cycles,
                    segments,
                    proving_ms,
                    proof_bytes,
                    groth16_ms: None,
                };
                (status, Vec::new())
            }
        },
        (
            Outcome::Aggregated { nodes, proving_ms },
            Some(Aggregating {
                cycles,
                segments,
                proving_ms: before,
                level,
                done,
            }),
            _,
        ) => {
            let proving_ms = before + proving_ms;
            let done = done + nodes;
            let size = tree_level_size(segments, level);
            let (level, done, tasks) = if done < size {
                (level, done, Vec::new())
            } else if level > 0 && size == 1 {
                (level + 1, 0, vec![Task::WrapReady { root_level: level }])
            } else {
                (level + 1, 0, joins(segments, level + 1))
            };
            let status = Aggregating {
                cycles,
                segments,
                proving_ms,
                level,
                done,
            };
            (status, tasks)
        }
        (
            Outcome::Final {
                proving_ms,
                proof_bytes,
            },
            Some(Aggregating {
                cycles,
                segments,
                proving_ms: before,
                ..
            }),
            plan,
        ) => {
            let proving_ms = before + proving_ms;
            if plan.is_some_and(|plan| plan.groth16) {
                let status = Wrapping {
                    cycles,
                    segments,
                    proving_ms,
                };
                return (status, vec![Task::Groth16]);
            }
            let status = Proven {
                cycles,
                segments,
                proving_ms,
                proof_bytes,
                groth16_ms: None,
            };
            (status, Vec::new())
        }
        (
            Outcome::Wrapped {
                proving_ms,
                proof_bytes,
            },
            Some(Wrapping {
                cycles,
                segments,
                proving_ms: before,
            }),
            _,
        ) => {
            let status = Proven {
                cycles,
                segments,
                proving_ms: before,
                proof_bytes,
                groth16_ms: Some(proving_ms),
            };
            (status, Vec::new())
        }
        (outcome, current, _) => {
            tracing::warn!(?outcome, ?current, "a job ended out of turn; ignored");
            (current.unwrap_or(BatchStatus::Queued), Vec::new())
        }
    }
}

fn batch_number(job: &Job) -> u64 {
    job.batch.input.batch_number
}

impl JobQueue for LocalQueue {
    fn push(&self, batch: Arc<SealedBatch>) -> std::io::Result<()> {
        let mut state = self.lock();
        if state.statuses.contains_key(&batch.input.batch_number) {
            return Ok(());
        }
        if let Some(store) = &self.store {
            store.save(&batch)?;
        }
        state.admit(batch);
        self.ready.notify_one();
        Ok(())
    }

    fn lease(&self, worker: &str, wait: Duration) -> Option<Lease> {
        let deadline = Instant::now() + wait;
        let mut state = self.lock();
        loop {
            let now = Instant::now();
            let expired: Vec<u64> = state
                .leased
                .iter()
                .filter(|(_, (_, expires))| *expires <= now)
                .map(|(&id, _)| id)
                .collect();
            for id in expired {
                if let Some((job, _)) = state.leased.remove(&id) {
                    tracing::warn!(
                        batch = batch_number(&job),
                        task = ?job.task,
                        "a proving lease expired; requeued"
                    );
                    state.ready.push_front(job);
                }
            }
            // The jobs left of a batch that failed are dropped, not run.
            let QueueState {
                ready, statuses, ..
            } = &mut *state;
            ready.retain(|job| {
                !matches!(
                    statuses.get(&batch_number(job)),
                    Some(BatchStatus::Failed { .. })
                )
            });
            if let Some(mut job) = state.ready.pop_front() {
                job.attempt += 1;
                let id = state.next_lease;
                state.next_lease += 1;
                state
                    .leased
                    .insert(id, (job.clone(), now + self.lease_time));
                if job.task == Task::Execute {
                    state.statuses.insert(
                        batch_number(&job),
                        BatchStatus::Running {
                            worker: worker.to_string(),
                            attempt: job.attempt,
                        },
                    );
                }
                return Some(Lease { id, job });
            }
            let left = deadline.checked_duration_since(now)?;
            let next_expiry = state.leased.values().map(|(_, expires)| *expires).min();
            let nap = next_expiry.map_or(left, |expiry| left.min(expiry - now));
            state = self
                .ready
                .wait_timeout(state, nap)
                .unwrap_or_else(|poison| poison.into_inner())
                .0;
        }
    }

    fn lease_time(&self) -> Duration {
        self.lease_time
    }

    fn renew(&self, lease: &Lease) -> bool {
        let mut state = self.lock();
        match state.leased.get_mut(&lease.id) {
            Some((_, expires)) => {
                *expires = Instant::now() + self.lease_time;
                true
            }
            None => false,
        }
    }

    fn complete(&self, lease: &Lease, outcome: Outcome) {
        let mut state = self.lock();
        if state.leased.remove(&lease.id).is_some() {
            let status = self.advance(&mut state, &lease.job, outcome);
            let number = batch_number(&lease.job);
            if let Some(store) = self.store.as_ref().filter(|_| is_final(self.plan, &status)) {
                // Not fatal: a batch without its final status is proven again after a restart.
                if let Err(error) = store.finish(number, &status) {
                    tracing::error!(batch = number, %error, "keeping a batch's final status");
                }
            }
            state.statuses.insert(number, status);
            self.ready.notify_all();
        }
    }

    fn statuses(&self) -> BTreeMap<u64, BatchStatus> {
        self.lock().statuses.clone()
    }

    fn summaries(&self) -> BTreeMap<u64, BatchSummary> {
        self.lock().summaries.clone()
    }

    fn sealed(&self, number: u64) -> Option<SealedBatch> {
        match &self.store {
            Some(store) => store.read(number).unwrap_or_else(|error| {
                tracing::error!(batch = number, %error, "reading a sealed batch");
                None
            }),
            // In memory, a batch is kept only while it has jobs.
            None => {
                let state = self.lock();
                let mut jobs = state
                    .ready
                    .iter()
                    .chain(state.leased.values().map(|(job, _)| job));
                jobs.find(|job| batch_number(job) == number)
                    .map(|job| SealedBatch::clone(&job.batch))
            }
        }
    }
}

/// The perps guest's input for `batch`: the batch on stdin, its witness as hints.
pub fn guest_input(batch: &SealedBatch) -> Input {
    let mut input = Input::new();
    input.write(&batch.input).hint(&batch.witness);
    input
}

/// Runs `batch` in the guest and compares its journal with the engine's output.
pub fn execute_batch(program: &Program, batch: &SealedBatch, options: &Options) -> Outcome {
    let execution = execute(program, &guest_input(batch), options);
    let failed = |reason: String| Outcome::Failed { reason };
    match execution.halt() {
        Ok(halt) if halt.exit_code == 0 => {}
        Ok(halt) => {
            return failed(format!(
                "the guest exited with {}: {}",
                halt.exit_code,
                String::from_utf8_lossy(&execution.stderr).trim()
            ));
        }
        Err(trap) => return failed(format!("the guest trapped: {trap}")),
    }
    if execution.journal != batch.output.header() {
        return failed("the guest committed a different output than the engine".into());
    }
    Outcome::Executed {
        cycles: execution.report.cycles,
        segments: execution.report.segments,
    }
}

/// Where proofs are kept, under one directory per batch while it is being proven: a file per
/// segment proof, then (aggregating) the segment shapes and a file per tree node. At the end:
/// - without aggregation, the batch's run proof (`batch-N.proof`, the segment proofs);
/// - aggregating, its final proof (`batch-N.final.proof`: an `AggregatedRunProof`, the
///   wrap-ready proof with the segment shapes its keys are built for, the format `gnomon
///   prove --aggregate` writes) and, wrapping, its Groth16 proof (`batch-N.groth16`: the proof
///   and its two public inputs).
///
/// Files are written whole (`files::write_atomically`), so a reader never sees part of a proof.
#[derive(Clone, Debug)]
pub struct ProofStore {
    dir: PathBuf,
}

impl ProofStore {
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self::at(dir))
    }

    /// The store in `dir`, for reading, without creating it.
    pub fn at(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    fn batch_dir(&self, batch: u64) -> PathBuf {
        self.dir.join(format!("batch-{batch:010}"))
    }

    fn segment_path(&self, batch: u64, index: u64) -> PathBuf {
        self.batch_dir(batch)
            .join(format!("segment-{index:06}.proof"))
    }

    fn shapes_path(&self, batch: u64) -> PathBuf {
        self.batch_dir(batch).join("shapes.json")
    }

    fn node_path(&self, batch: u64, level: u32, index: u64) -> PathBuf {
        self.batch_dir(batch)
            .join(format!("node-{level:02}-{index:06}.proof"))
    }

    /// Where the run proof of `batch` is, once it is proven.
    pub fn run_path(&self, batch: u64) -> PathBuf {
        self.dir.join(format!("batch-{batch:010}.proof"))
    }

    /// Where the Groth16 proof of `batch` (and its public inputs) is, once it is wrapped.
    pub fn groth16_path(&self, batch: u64) -> PathBuf {
        self.dir.join(format!("batch-{batch:010}.groth16"))
    }

    /// Where the final proof of `batch` is, once it is aggregated.
    pub fn final_path(&self, batch: u64) -> PathBuf {
        self.dir.join(format!("batch-{batch:010}.final.proof"))
    }

    fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        crate::files::write_atomically(path, &[bytes])
    }

    fn read(path: &Path) -> Result<Vec<u8>, String> {
        std::fs::read(path).map_err(|error| format!("reading {}: {error}", path.display()))
    }

    fn segment_proof(&self, batch: u64, index: u64) -> Result<SegmentProof, String> {
        SegmentProof::from_bytes(&Self::read(&self.segment_path(batch, index))?)
            .map_err(|error| format!("segment {index}: {error}"))
    }

    fn node(&self, batch: u64, level: u32, index: u64) -> Result<AggregationProof, String> {
        AggregationProof::from_bytes(&Self::read(&self.node_path(batch, level, index))?)
            .map_err(|error| format!("node {index} of level {level}: {error}"))
    }
}

/// Whether `output_digest` (a run's SHA-256 of its output) is the one `batch` commits.
fn check_output(output_digest: &[u32; 8], batch: &SealedBatch) -> Result<(), String> {
    let digest: Vec<u8> = output_digest
        .iter()
        .flat_map(|word| word.to_be_bytes())
        .collect();
    let digest: [u8; 32] = digest.try_into().expect("eight words");
    if public_input(&digest) != batch.output.digest() {
        return Err("the run proves another output than the batch's".into());
    }
    Ok(())
}

/// The keys of one set of segment shapes: the aggregation keys, and the wrap-ready keys once
/// a wrap-ready job needs them.
struct ShapeKeys {
    shapes: Vec<Vec<usize>>,
    aggregation: AggregationKeys,
    wrap_ready: std::sync::OnceLock<WrapReadyKeys>,
}

/// What a worker needs to prove: the keys of the perps guest, the segment size, the store,
/// the keys of the last set of segment shapes it aggregated, and the Groth16 keys.
pub struct BatchProver {
    keys: MachineKeys,
    options: Options,
    store: ProofStore,
    /// Segments are proven at this catalog's shapes, and aggregated with its keys, when set.
    catalog: Option<Vec<Vec<usize>>>,
    /// Built on a batch's first aggregation job, kept while batches have the same shapes.
    shape_keys: Mutex<Option<Arc<ShapeKeys>>>,
    /// The Groth16 keys of the catalog's circuit (`gnomon setup --aggregate`), for wrapping.
    groth16: Option<KeysDir>,
}

impl std::fmt::Debug for BatchProver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchProver")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl BatchProver {
    /// Refuses a catalog that does not hold every segment a batch can have at `segment_size`
    /// (`MachineKeys::check_catalog`): a batch outside it could never be proven.
    pub fn new(
        program: &Program,
        parameters: StarkParameters,
        segment_size: SegmentSize,
        store: ProofStore,
        catalog: Option<Vec<Vec<usize>>>,
        groth16: Option<KeysDir>,
    ) -> Result<Self, gnomon_machine::segment::ProveError> {
        let keys = MachineKeys::new(program, parameters);
        if let Some(catalog) = &catalog {
            keys.check_catalog(catalog, segment_size)?;
        }
        Ok(Self {
            keys,
            options: Options {
                segment_size,
                ..Options::default()
            },
            store,
            catalog,
            shape_keys: Mutex::new(None),
            groth16,
        })
    }

    /// Proves segments `first..first + count` of the guest's run over `batch`. The worker
    /// replays the run up to them (the executor is orders of magnitude faster than the
    /// prover) and proves each as the replay reaches it.
    fn prove_segments(
        &self,
        program: &Program,
        batch: &SealedBatch,
        first: u64,
        count: u64,
    ) -> Outcome {
        let number = batch.input.batch_number;
        let start = Instant::now();
        // One cycle past the last wanted segment: the executor hands out a segment when the
        // run goes on past it.
        let options = Options {
            cycle_limit: (first + count) * u64::from(self.options.segment_size.cycles()) + 1,
            ..self.options
        };
        let mut result: Result<u64, String> = Ok(0);
        execute_traced(program, &guest_input(batch), &options, |segment| {
            let index = u64::from(segment.index);
            if result.is_err() || !(first..first + count).contains(&index) {
                return;
            }
            let proof = match &self.catalog {
                Some(catalog) => self.keys.prove_segment_in(&segment, catalog),
                None => self.keys.prove_segment(&segment),
            };
            result = proof
                .map_err(|error| format!("segment {index}: {error}"))
                .and_then(|proof| {
                    ProofStore::write(&self.store.segment_path(number, index), &proof.to_bytes())
                        .map_err(|error| format!("storing segment {index}'s proof: {error}"))
                })
                .and_then(|()| result.clone().map(|proven| proven + 1));
        });
        match result {
            Ok(proven) if proven == count => Outcome::SegmentsProven {
                count,
                proving_ms: start.elapsed().as_millis() as u64,
            },
            Ok(proven) => Outcome::Failed {
                reason: format!(
                    "the run has {proven} of segments {first}..{}",
                    first + count
                ),
            },
            Err(reason) => Outcome::Failed { reason },
        }
    }

    /// Verifies the batch's segment proofs as one run that commits the batch's output, and
    /// joins them into the run proof; `aggregate`: keeps them instead, with their shapes, for
    /// the aggregation jobs, whose final proof replaces the run proof.
    fn verify_run(&self, batch: &SealedBatch, segments: u64, aggregate: bool) -> Outcome {
        outcome(self.join(batch, segments, aggregate), |proof_bytes| {
            Outcome::Verified { proof_bytes }
        })
    }

    fn join(&self, batch: &SealedBatch, segments: u64, aggregate: bool) -> Result<u64, String> {
        let number = batch.input.batch_number;
        let proofs = (0..segments)
            .map(|index| self.store.segment_proof(number, index))
            .collect::<Result<Vec<_>, _>>()?;
        let claim = verify_run(&self.keys, &proofs).map_err(|error| error.to_string())?;
        if claim.exit_code != 0 {
            return Err(format!("the run exited with {}", claim.exit_code));
        }
        check_output(&claim.output_digest, batch)?;
        if aggregate {
            let shapes = self.catalog.clone().unwrap_or_else(|| shapes_of(&proofs));
            let shapes = serde_json::to_vec(&shapes).expect("shapes serialize");
            ProofStore::write(&self.store.shapes_path(number), &shapes)
                .map_err(|error| format!("storing the segment shapes: {error}"))?;
            return Ok(0);
        }
        let bytes = RunProof { segments: proofs }.to_bytes();
        ProofStore::write(&self.store.run_path(number), &bytes)
            .map_err(|error| format!("storing the run proof: {error}"))?;
        let _ = std::fs::remove_dir_all(self.store.batch_dir(number));
        Ok(bytes.len() as u64)
    }

    /// The keys of `batch`'s segment shapes.
    fn shape_keys(&self, batch: u64) -> Result<Arc<ShapeKeys>, String> {
        let bytes = ProofStore::read(&self.store.shapes_path(batch))?;
        let shapes: Vec<Vec<usize>> =
            serde_json::from_slice(&bytes).map_err(|error| format!("the shapes: {error}"))?;
        self.keys_of(shapes)
    }

    /// The keys of segment shapes `shapes`: the cached ones, or built now.
    fn keys_of(&self, shapes: Vec<Vec<usize>>) -> Result<Arc<ShapeKeys>, String> {
        let mut cached = self
            .shape_keys
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(keys) = cached.as_ref()
            && keys.shapes == shapes
        {
            return Ok(keys.clone());
        }
        let (recursion, _) = parameters_for(self.keys.parameters());
        let aggregation = AggregationKeys::new(&self.keys, &shapes, recursion)
            .map_err(|error| format!("building the aggregation keys: {error}"))?;
        let keys = Arc::new(ShapeKeys {
            shapes,
            aggregation,
            wrap_ready: std::sync::OnceLock::new(),
        });
        *cached = Some(keys.clone());
        Ok(keys)
    }

    /// Proves the leaves of segments `first..first + count`.
    fn prove_leaves(&self, batch: &SealedBatch, first: u64, count: u64) -> Result<u64, String> {
        let number = batch.input.batch_number;
        let keys = &self.shape_keys(number)?.aggregation;
        for index in first..first + count {
            let segment = self.store.segment_proof(number, index)?;
            let leaf = keys
                .prove_leaf(&self.keys, &segment)
                .map_err(|error| format!("the leaf of segment {index}: {error}"))?;
            ProofStore::write(&self.store.node_path(number, 0, index), &leaf.to_bytes())
                .map_err(|error| format!("storing a leaf: {error}"))?;
        }
        Ok(count)
    }

    /// Proves node `index` of `level` from its children (the second with `pair`).
    fn prove_join(
        &self,
        batch: &SealedBatch,
        level: u32,
        index: u64,
        pair: bool,
    ) -> Result<u64, String> {
        let number = batch.input.batch_number;
        let keys = &self.shape_keys(number)?.aggregation;
        let below = level.checked_sub(1).ok_or("a join at level 0")?;
        let left = self.store.node(number, below, 2 * index)?;
        let right = match pair {
            true => Some(self.store.node(number, below, 2 * index + 1)?),
            false => None,
        };
        let node = keys
            .prove_join(&left, right.as_ref())
            .map_err(|error| format!("node {index} of level {level}: {error}"))?;
        ProofStore::write(
            &self.store.node_path(number, level, index),
            &node.to_bytes(),
        )
        .map_err(|error| format!("storing a node: {error}"))?;
        Ok(1)
    }

    /// Re-proves the root of level `root_level` in the outer configuration, verifies the
    /// result as a whole run of the perps guest committing the batch's output, and stores it
    /// as the batch's final proof. Returns its size.
    fn wrap_ready(&self, batch: &SealedBatch, root_level: u32) -> Result<u64, String> {
        let number = batch.input.batch_number;
        let keys = self.shape_keys(number)?;
        let root = self.store.node(number, root_level, 0)?;
        let wrap_ready = self.wrap_ready_keys(&keys);
        let proof = wrap_ready
            .prove(&keys.aggregation, &root)
            .map_err(|error| format!("the wrap-ready proof: {error}"))?;
        let run = wrap_ready
            .verify(&self.keys, &proof)
            .map_err(|error| format!("the final proof: {error}"))?;
        check_output(&run.output_digest, batch)?;
        let shapes = keys.shapes.clone();
        let bytes = AggregatedRunProof { shapes, proof }.to_bytes();
        ProofStore::write(&self.store.final_path(number), &bytes)
            .map_err(|error| format!("storing the final proof: {error}"))?;
        let _ = std::fs::remove_dir_all(self.store.batch_dir(number));
        Ok(bytes.len() as u64)
    }

    fn wrap_ready_keys<'a>(&self, keys: &'a ShapeKeys) -> &'a WrapReadyKeys {
        keys.wrap_ready.get_or_init(|| {
            let (_, outer) = parameters_for(self.keys.parameters());
            WrapReadyKeys::new(&keys.aggregation, outer)
        })
    }

    /// Wraps the batch's final proof in a Groth16 proof with the keys of its circuit, checks
    /// that its public inputs are the program's and the batch's output, and stores it.
    /// Returns its size (the proof and its public inputs).
    fn groth16(&self, batch: &SealedBatch) -> Result<u64, String> {
        let number = batch.input.batch_number;
        let dir = self
            .groth16
            .as_ref()
            .ok_or("this worker has no Groth16 keys (prover.groth16_keys)")?;
        let bytes = ProofStore::read(&self.store.final_path(number))?;
        let AggregatedRunProof { shapes, proof } = AggregatedRunProof::from_bytes(&bytes)
            .map_err(|error| format!("the final proof: {error}"))?;
        let keys = self.keys_of(shapes)?;
        let wrap_ready = self.wrap_ready_keys(&keys);
        let failed = |error: &dyn std::fmt::Display| format!("wrapping: {error}");
        let shape =
            VerifierShape::aggregated(wrap_ready, &self.keys).map_err(|error| failed(&error))?;
        dir.check_circuit(&aggregated_circuit(
            &self.keys,
            wrap_ready,
            &keys.shapes,
            &shape,
        ))
        .map_err(|error| failed(&error))?;
        let witness = VerifierWitness::aggregated(&shape, wrap_ready, &self.keys, proof)
            .map_err(|error| failed(&error))?;
        let wrapped = dir.wrap(&shape, &witness).map_err(|error| failed(&error))?;
        let (_, inputs) = split_wrapped(&wrapped).expect("a wrapped proof");
        if inputs[1] != batch.output.digest() {
            return Err("the Groth16 proof's output input is not the batch's".into());
        }
        ProofStore::write(&self.store.groth16_path(number), &wrapped)
            .map_err(|error| format!("storing the Groth16 proof: {error}"))?;
        Ok(wrapped.len() as u64)
    }
}

/// `result` as an outcome: `done` of its value, or the failure.
fn outcome<T>(result: Result<T, String>, done: impl FnOnce(T) -> Outcome) -> Outcome {
    result.map_or_else(|reason| Outcome::Failed { reason }, done)
}

/// Does `job`: executes, proves, verifies or aggregates.
pub fn run_job(program: &Program, prover: Option<&BatchProver>, job: &Job) -> Outcome {
    let options = prover.map_or_else(Options::default, |prover| prover.options);
    let batch = &job.batch;
    let start = Instant::now();
    let elapsed = || start.elapsed().as_millis() as u64;
    match (job.task, prover) {
        (Task::Execute, _) => execute_batch(program, batch, &options),
        (Task::ProveSegments { first, count }, Some(prover)) => {
            prover.prove_segments(program, batch, first, count)
        }
        (
            Task::VerifyRun {
                segments,
                aggregate,
            },
            Some(prover),
        ) => prover.verify_run(batch, segments, aggregate),
        (Task::ProveLeaves { first, count }, Some(prover)) => {
            outcome(prover.prove_leaves(batch, first, count), |nodes| {
                Outcome::Aggregated {
                    nodes,
                    proving_ms: elapsed(),
                }
            })
        }
        (Task::Join { level, index, pair }, Some(prover)) => {
            outcome(prover.prove_join(batch, level, index, pair), |nodes| {
                Outcome::Aggregated {
                    nodes,
                    proving_ms: elapsed(),
                }
            })
        }
        (Task::Groth16, Some(prover)) => {
            outcome(prover.groth16(batch), |proof_bytes| Outcome::Wrapped {
                proving_ms: elapsed(),
                proof_bytes,
            })
        }
        (Task::WrapReady { root_level }, Some(prover)) => {
            outcome(prover.wrap_ready(batch, root_level), |proof_bytes| {
                Outcome::Final {
                    proving_ms: elapsed(),
                    proof_bytes,
                }
            })
        }
        (task, None) => Outcome::Failed {
            reason: format!("{task:?} needs a worker that proves"),
        },
    }
}

/// Takes jobs from `queue` until `stop` is set, renewing each lease at a third of the lease
/// time while the job runs.
pub fn run_worker(
    name: &str,
    queue: &dyn JobQueue,
    program: &Program,
    prover: Option<&BatchProver>,
    stop: &std::sync::atomic::AtomicBool,
) {
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let Some(lease) = queue.lease(name, Duration::from_millis(200)) else {
            continue;
        };
        let outcome = std::thread::scope(|scope| {
            let (finished, done) = std::sync::mpsc::channel::<()>();
            let lease = &lease;
            scope.spawn(move || {
                let interval = (queue.lease_time() / 3).max(Duration::from_millis(10));
                while done.recv_timeout(interval) == Err(RecvTimeoutError::Timeout) {
                    if !queue.renew(lease) {
                        tracing::warn!(
                            batch = batch_number(&lease.job),
                            "a proving lease was lost; the job's result will be ignored"
                        );
                        break;
                    }
                }
            });
            let outcome = run_job(program, prover, &lease.job);
            drop(finished);
            outcome
        });
        tracing::info!(
            batch = batch_number(&lease.job),
            task = ?lease.job.task,
            ?outcome,
            "proving job done"
        );
        queue.complete(&lease, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gnomon_sim::generate::{Generator, Profile};

    fn batches(count: usize) -> Vec<Arc<SealedBatch>> {
        let mut generator = Generator::new(5, Profile::default());
        (0..count).map(|_| Arc::new(generator.batch(3))).collect()
    }

    /// A batch of deposits and a tick: no signatures, so about 100,000 cycles (3 traders: 110,860).
    fn small_batch(traders: u32, usdc: i64) -> Arc<SealedBatch> {
        let mut sim = gnomon_sim::Sim::new(vec![gnomon_sim::unit_market()]);
        for seed in 1..=traders {
            sim.trader(seed, usdc);
        }
        sim.advance(1_000);
        sim.tick();
        Arc::new(sim.seal())
    }

    fn prover(dir: &Path) -> BatchProver {
        prover_in(dir, None, None)
    }

    fn prover_in(
        dir: &Path,
        catalog: Option<Vec<Vec<usize>>>,
        groth16: Option<KeysDir>,
    ) -> BatchProver {
        let program = Program::from_elf(crate::PERPS_ELF).unwrap();
        BatchProver::new(
            &program,
            StarkParameters::testing(),
            SegmentSize::new(15).unwrap(),
            ProofStore::open(dir).unwrap(),
            catalog,
            groth16,
        )
        .unwrap()
    }

    /// Runs every job of `queue` in this thread, as a worker would, until none is left.
    fn drain(queue: &LocalQueue, prover: &BatchProver, mut before_each: impl FnMut(&Job)) {
        let program = Program::from_elf(crate::PERPS_ELF).unwrap();
        while let Some(lease) = queue.lease("test", Duration::ZERO) {
            before_each(&lease.job);
            queue.complete(&lease, run_job(&program, Some(prover), &lease.job));
        }
    }

    /// Proves `batch` with `plan` through a queue: its jobs' tasks in order, its segments and
    /// its proof's size.
    fn prove(prover: &BatchProver, plan: Plan, batch: &Arc<SealedBatch>) -> (Vec<Task>, u64, u64) {
        let queue = LocalQueue::new(Duration::from_secs(600), Some(plan));
        queue.push(batch.clone()).unwrap();
        let mut tasks = Vec::new();
        drain(&queue, prover, |job| tasks.push(job.task));
        match queue.statuses()[&batch.input.batch_number].clone() {
            BatchStatus::Proven {
                segments,
                proof_bytes,
                ..
            } => (tasks, segments, proof_bytes),
            status => panic!("{status:?}"),
        }
    }

    #[test]
    fn a_batch_is_proven_in_independent_jobs_and_verified_as_one_run() {
        let dir = tempfile::tempdir().unwrap();
        let prover = prover(dir.path());
        let batch = small_batch(3, 100);
        let (tasks, segments, proof_bytes) = prove(&prover, Plan::new(2, false), &batch);
        let number = batch.input.batch_number;
        assert!(segments > 2, "{segments} segments: too few to split");
        let mut expected = vec![Task::Execute];
        expected.extend((0..segments).step_by(2).map(|first| Task::ProveSegments {
            first,
            count: 2.min(segments - first),
        }));
        expected.push(Task::VerifyRun {
            segments,
            aggregate: false,
        });
        assert_eq!(tasks, expected);

        let bytes = std::fs::read(prover.store.run_path(number)).unwrap();
        assert_eq!(bytes.len() as u64, proof_bytes);
        let run = RunProof::from_bytes(&bytes).unwrap();
        let claim = verify_run(&prover.keys, &run.segments).unwrap();
        assert_eq!(claim.segments as u64, segments);
    }

    /// With a catalog: one shape that holds every segment of the batch (each table at its
    /// tallest among them), so every segment but the tallest is proven padded, and the
    /// bounding shape, without which the prover refuses the catalog; the final
    /// proof is wrapped with the Groth16 keys of the catalog's circuit, set up beforehand.
    #[test]
    fn a_batch_is_aggregated_and_wrapped_in_jobs_of_leaves_joins_and_final_steps() {
        let dir = tempfile::tempdir().unwrap();
        let batch = small_batch(3, 100);
        let unwrapped = prover(dir.path());
        let (machine, size) = (&unwrapped.keys, unwrapped.options.segment_size);
        let program = Program::from_elf(crate::PERPS_ELF).unwrap();
        let (_, segments) =
            gnomon_executor::trace(&program, &guest_input(&batch), &unwrapped.options);
        let shapes: Vec<Vec<usize>> = segments
            .iter()
            .map(|segment| machine.shape_of(segment))
            .collect();
        assert!(
            shapes.windows(2).any(|pair| pair[0] != pair[1]),
            "{shapes:?}"
        );
        let ceiling = machine.ceiling(&segments).unwrap();
        let error = machine
            .check_catalog(std::slice::from_ref(&ceiling), size)
            .unwrap_err();
        assert!(
            error.to_string().contains("does not hold every segment"),
            "{error}"
        );
        let catalog = vec![ceiling, machine.bounding_shape(size)];
        let aggregation =
            AggregationKeys::new(machine, &catalog, StarkParameters::testing()).unwrap();
        let wrap_ready = WrapReadyKeys::new(&aggregation, StarkParameters::testing());
        let shape = VerifierShape::aggregated(&wrap_ready, machine).unwrap();
        let circuit = aggregated_circuit(machine, &wrap_ready, &catalog, &shape);
        let keys_dir = dir.path().join("groth16");
        let setup = KeysDir::new(&keys_dir).setup(&shape, &circuit).unwrap();

        let prover = prover_in(
            dir.path(),
            Some(catalog.clone()),
            Some(KeysDir::new(&keys_dir)),
        );
        let plan = Plan::new(2, true).wrapped();
        let (tasks, segments, proof_bytes) = prove(&prover, plan, &batch);
        let number = batch.input.batch_number;
        let aggregation: Vec<Task> = tasks
            .into_iter()
            .skip_while(|task| !matches!(task, Task::ProveLeaves { .. }))
            .collect();
        let mut expected: Vec<Task> = groups(segments, 2)
            .map(|(first, count)| Task::ProveLeaves { first, count })
            .collect();
        let mut level = 1;
        while tree_level_size(segments, level - 1) > 1 || level == 1 {
            expected.extend(joins(segments, level));
            level += 1;
        }
        expected.push(Task::WrapReady {
            root_level: level - 1,
        });
        expected.push(Task::Groth16);
        assert_eq!(aggregation, expected);

        // The Groth16 proof passes groth16-solana's check for the program and the batch's
        // output, and no other.
        let wrapped = std::fs::read(prover.store.groth16_path(number)).unwrap();
        assert_eq!(wrapped.len() as u64, proof_bytes);
        let (proof, inputs) = split_wrapped(&wrapped).unwrap();
        let vk = &setup.verifying_key;
        gnomon_wrap::groth16::verify(vk, &proof, &inputs).unwrap();
        assert_eq!(inputs[1], batch.output.digest());
        let mut other = inputs;
        other[1] = small_batch(2, 100).output.digest();
        assert!(gnomon_wrap::groth16::verify(vk, &proof, &other).is_err());

        // The final proof it wraps verifies under keys built for the shapes it names, as a
        // run of the perps guest that commits the batch's output.
        let bytes = std::fs::read(prover.store.final_path(number)).unwrap();
        let AggregatedRunProof { shapes, proof } = AggregatedRunProof::from_bytes(&bytes).unwrap();
        assert_eq!(shapes, catalog);
        let run = wrap_ready.verify(&prover.keys, &proof).unwrap();
        assert_eq!(u64::from(run.segments), segments);
        check_output(&run.output_digest, &batch).unwrap();
        let other = small_batch(2, 100);
        assert!(check_output(&run.output_digest, &other).is_err());
        assert!(
            !prover.store.batch_dir(number).exists(),
            "the intermediate proofs are gone"
        );
    }

    #[test]
    fn the_tree_joins_pairs_level_by_level_with_an_odd_one_out_alone() {
        let shape = |segments, level| -> Vec<(u64, bool)> {
            joins(segments, level)
                .into_iter()
                .map(|task| match task {
                    Task::Join { index, pair, .. } => (index, pair),
                    task => panic!("{task:?}"),
                })
                .collect()
        };
        let sizes: Vec<u64> = (0..4).map(|level| tree_level_size(5, level)).collect();
        assert_eq!(sizes, [5, 3, 2, 1]);
        assert_eq!(shape(5, 1), [(0, true), (1, true), (2, false)]);
        assert_eq!(shape(5, 2), [(0, true), (1, false)]);
        assert_eq!(shape(5, 3), [(0, true)]);
        // A one-segment batch's root joins its leaf alone: a final proof is always a join's.
        assert_eq!(shape(1, 1), [(0, false)]);
        // The wrap-ready step follows the root's level.
        let aggregating = |level, done| BatchStatus::Aggregating {
            cycles: 1,
            segments: 5,
            proving_ms: 0,
            level,
            done,
        };
        let plan = Some(Plan::new(2, true));
        let joined = Outcome::Aggregated {
            nodes: 1,
            proving_ms: 0,
        };
        let (status, tasks) = advance(plan, Some(aggregating(3, 0)), joined);
        assert_eq!(status, aggregating(4, 0));
        assert_eq!(tasks, [Task::WrapReady { root_level: 3 }]);
    }

    #[test]
    fn the_groth16_wrap_is_timed_apart_from_the_stark() {
        let plan = Some(Plan::new(2, true).wrapped());
        let aggregating = BatchStatus::Aggregating {
            cycles: 9,
            segments: 2,
            proving_ms: 700,
            level: 2,
            done: 0,
        };
        let final_proof = Outcome::Final {
            proving_ms: 300,
            proof_bytes: 1,
        };
        let (wrapping, tasks) = advance(plan, Some(aggregating), final_proof);
        assert_eq!(tasks, [Task::Groth16]);
        let wrapped = Outcome::Wrapped {
            proving_ms: 50,
            proof_bytes: 324,
        };
        let (proven, _) = advance(plan, Some(wrapping), wrapped);
        assert_eq!(
            proven,
            BatchStatus::Proven {
                cycles: 9,
                segments: 2,
                proving_ms: 1_000,
                proof_bytes: 324,
                groth16_ms: Some(50),
            }
        );
    }

    #[test]
    fn a_tampered_leaf_fails_the_batch_at_its_join() {
        let dir = tempfile::tempdir().unwrap();
        let prover = prover(dir.path());
        let queue = LocalQueue::new(Duration::from_secs(600), Some(Plan::new(64, true)));
        let batch = small_batch(2, 100);
        let number = batch.input.batch_number;
        queue.push(batch).unwrap();
        drain(&queue, &prover, |job| {
            if let Task::Join { level: 1, .. } = job.task {
                let path = prover.store.node_path(number, 0, 1);
                let mut bytes = std::fs::read(&path).unwrap();
                let middle = bytes.len() / 2;
                bytes[middle] ^= 1;
                std::fs::write(&path, bytes).unwrap();
            }
        });
        let status = &queue.statuses()[&number];
        assert!(
            matches!(status, BatchStatus::Failed { reason } if reason.contains("level 1")),
            "{status:?}"
        );
        assert!(!prover.store.final_path(number).exists());
    }

    #[test]
    fn a_batch_whose_segment_proofs_do_not_make_its_run_fails() {
        let dir = tempfile::tempdir().unwrap();
        let prover = prover(dir.path());
        let queue = LocalQueue::new(Duration::from_secs(600), Some(Plan::new(64, false)));
        let (batch, other) = (small_batch(2, 100), small_batch(2, 200));
        queue.push(batch.clone()).unwrap();
        drain(&queue, &prover, |job| {
            if let Task::VerifyRun { .. } = job.task {
                // A corrupted proof of segment 1.
                let path = prover.store.segment_path(batch.input.batch_number, 1);
                let mut bytes = std::fs::read(&path).unwrap();
                let middle = bytes.len() / 2;
                bytes[middle] ^= 1;
                std::fs::write(&path, bytes).unwrap();
            }
        });
        assert!(matches!(
            &queue.statuses()[&batch.input.batch_number],
            BatchStatus::Failed { .. }
        ));

        // A valid run, but of another batch (same number, other deposits).
        let queue = LocalQueue::new(Duration::from_secs(600), Some(Plan::new(64, false)));
        queue.push(other.clone()).unwrap();
        let store = &prover.store;
        drain(&queue, &prover, |job| {
            if let Task::VerifyRun { segments, .. } = job.task {
                let own = store.segment_path(other.input.batch_number, 0);
                let dir = own.parent().unwrap();
                std::fs::remove_dir_all(dir).unwrap();
                let swapped = segment_proofs(&prover, &batch);
                assert_eq!(swapped.len() as u64, segments, "the runs differ in length");
                for (index, bytes) in swapped.iter().enumerate() {
                    ProofStore::write(
                        &store.segment_path(other.input.batch_number, index as u64),
                        bytes,
                    )
                    .unwrap();
                }
            }
        });
        let status = &queue.statuses()[&other.input.batch_number];
        assert!(
            matches!(status, BatchStatus::Failed { reason } if reason.contains("another output")),
            "{status:?}"
        );
    }

    /// The segment proofs of `batch`, proven directly.
    fn segment_proofs(prover: &BatchProver, batch: &SealedBatch) -> Vec<Vec<u8>> {
        let program = Program::from_elf(crate::PERPS_ELF).unwrap();
        let (_, segments) = gnomon_executor::trace(&program, &guest_input(batch), &prover.options);
        segments
            .iter()
            .map(|segment| prover.keys.prove_segment(segment).unwrap().to_bytes())
            .collect()
    }

    #[test]
    fn an_earlier_batch_is_proven_before_a_later_one_is_executed() {
        let queue = LocalQueue::new(Duration::from_secs(600), Some(Plan::new(2, false)));
        let [first, second] = batches(2).try_into().unwrap();
        queue.push(first.clone()).unwrap();
        queue.push(second.clone()).unwrap();
        let execute = queue.lease("w", Duration::ZERO).unwrap();
        queue.complete(
            &execute,
            Outcome::Executed {
                cycles: 3,
                segments: 3,
            },
        );
        let order: Vec<(u64, Task)> = std::iter::from_fn(|| queue.lease("w", Duration::ZERO))
            .map(|lease| (batch_number(&lease.job), lease.job.task))
            .collect();
        let (one, two) = (first.input.batch_number, second.input.batch_number);
        assert_eq!(
            order,
            [
                (one, Task::ProveSegments { first: 0, count: 2 }),
                (one, Task::ProveSegments { first: 2, count: 1 }),
                (two, Task::Execute),
            ]
        );
    }

    #[test]
    fn a_durable_queue_takes_back_what_was_not_done_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let open = || {
            let store = BatchStore::open(&dir.path().join("batches")).unwrap();
            LocalQueue::durable(Duration::from_secs(600), None, store).unwrap()
        };
        let [first, second, third] = batches(3).try_into().unwrap();
        let numbers = [&first, &second, &third].map(|batch| batch.input.batch_number);
        let queue = open();
        for batch in [&first, &second, &third] {
            queue.push(batch.clone()).unwrap();
        }
        let lease = queue.lease("w", Duration::ZERO).unwrap();
        let executed = Outcome::Executed {
            cycles: 7,
            segments: 1,
        };
        queue.complete(&lease, executed);
        // The second batch's worker dies with the process; the third was never started.
        let _dead = queue.lease("w", Duration::ZERO).unwrap();
        drop(queue);

        let queue = open();
        // The log's replay after the crash seals the third batch again: nothing doubles.
        queue.push(third.clone()).unwrap();
        let statuses = queue.statuses();
        assert_eq!(
            statuses[&numbers[0]],
            BatchStatus::Executed {
                cycles: 7,
                segments: 1
            }
        );
        assert_eq!(statuses[&numbers[1]], BatchStatus::Queued);
        assert_eq!(queue.summaries()[&numbers[0]], BatchSummary::of(&first));
        let leased: Vec<(u64, Task)> = std::iter::from_fn(|| queue.lease("w", Duration::ZERO))
            .map(|lease| (batch_number(&lease.job), lease.job.task))
            .collect();
        assert_eq!(
            leased,
            [(numbers[1], Task::Execute), (numbers[2], Task::Execute)]
        );
        drop(queue);

        // With proving turned on, an executed batch is not done: it is queued again.
        let store = BatchStore::open(&dir.path().join("batches")).unwrap();
        let queue = LocalQueue::durable(Duration::from_secs(600), Some(Plan::new(2, false)), store)
            .unwrap();
        assert_eq!(queue.statuses()[&numbers[0]], BatchStatus::Queued);
        drop(queue);

        // A damaged status: the batch is done again. A damaged batch: an error, not a loss.
        let batch_file = |number: u64, extension| {
            dir.path()
                .join("batches")
                .join(format!("{number:020}.{extension}"))
        };
        std::fs::write(batch_file(numbers[0], "status"), b"\0\0\0\0{}").unwrap();
        assert_eq!(open().statuses()[&numbers[0]], BatchStatus::Queued);
        let mut bytes = std::fs::read(batch_file(numbers[1], "batch")).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        std::fs::write(batch_file(numbers[1], "batch"), bytes).unwrap();
        let store = BatchStore::open(&dir.path().join("batches")).unwrap();
        let error = LocalQueue::durable(Duration::from_secs(600), None, store).unwrap_err();
        assert!(error.to_string().contains("damaged"), "{error}");
    }

    #[test]
    fn a_renewed_lease_outlasts_its_lease_time_and_a_lost_one_cannot_be_renewed() {
        let queue = LocalQueue::new(Duration::from_millis(60), None);
        queue.push(batches(1).remove(0)).unwrap();
        let lease = queue.lease("w", Duration::ZERO).unwrap();
        for _ in 0..6 {
            std::thread::sleep(Duration::from_millis(20));
            assert!(queue.renew(&lease));
        }
        assert!(queue.lease("other", Duration::ZERO).is_none());
        let again = queue
            .lease("other", Duration::from_secs(5))
            .expect("no longer renewed, the lease expires");
        assert!(!queue.renew(&lease), "the first lease is lost");
        queue.complete(
            &again,
            Outcome::Executed {
                cycles: 1,
                segments: 1,
            },
        );
        assert!(!queue.renew(&again), "a completed job's lease is over");
    }

    #[test]
    fn a_job_whose_worker_dies_is_leased_again_after_the_lease_time() {
        let queue = LocalQueue::new(Duration::from_millis(50), None);
        let [first, second] = batches(2).try_into().unwrap();
        queue.push(first.clone()).unwrap();
        queue.push(second).unwrap();
        let dead = queue.lease("dies", Duration::ZERO).expect("a job");
        assert_eq!(dead.job.batch, first);
        let other = queue
            .lease("lives", Duration::ZERO)
            .expect("the second job");
        assert!(queue.lease("lives", Duration::ZERO).is_none());
        queue.complete(
            &other,
            Outcome::Executed {
                cycles: 1,
                segments: 1,
            },
        );

        let again = queue
            .lease("lives", Duration::from_secs(5))
            .expect("the dead worker's job comes back");
        assert_eq!(again.job.batch, first);
        assert_eq!(again.job.attempt, 2);
        queue.complete(
            &dead,
            Outcome::Failed {
                reason: "late".into(),
            },
        );
        assert_eq!(
            queue.statuses()[&first.input.batch_number],
            BatchStatus::Running {
                worker: "lives".into(),
                attempt: 2
            }
        );
        queue.complete(
            &again,
            Outcome::Executed {
                cycles: 2,
                segments: 1,
            },
        );
        assert!(
            queue
                .statuses()
                .values()
                .all(|status| matches!(status, BatchStatus::Executed { .. }))
        );
    }
}
