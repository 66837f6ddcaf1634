//! Proving jobs: sealed batches handed to prover workers through a queue, and their status.
//!
//! A job is leased, not popped: a worker that dies mid-job never completes its lease, and the
//! job becomes available again when the lease times out. [`LocalQueue`] is the in-process
//! queue for a single machine; a multi-machine deployment implements [`JobQueue`] on a shared
//! system (PostgreSQL `FOR UPDATE SKIP LOCKED`, Redis streams with consumer groups).
//!
//! The worker here runs the perps guest over the batch in the executor and checks that it
//! commits exactly the output the engine expects: the first stage of proving, and what
//! catches an engine/guest disagreement before any proving time is spent.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use gnomon_core::batch::{SealedBatch, StepKind};
use gnomon_executor::{Input, Options, Program, execute};
use serde::Serialize;

/// Where a batch is on its way to settlement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BatchStatus {
    Queued,
    Running {
        worker: String,
        attempt: u32,
    },
    /// The guest reproduced the engine's output under the executor.
    Executed {
        cycles: u64,
        segments: u64,
    },
    Failed {
        reason: String,
    },
}

/// One batch to prove.
#[derive(Clone, Debug)]
pub struct Job {
    pub batch: Arc<SealedBatch>,
    pub attempt: u32,
}

/// A job taken by a worker until `expires`.
#[derive(Clone, Debug)]
pub struct Lease {
    pub id: u64,
    pub job: Job,
}

/// The queue workers take jobs from.
pub trait JobQueue: Send + Sync {
    fn push(&self, batch: Arc<SealedBatch>);
    /// The oldest available job, leased to `worker`; waits up to `wait` for one.
    fn lease(&self, worker: &str, wait: Duration) -> Option<Lease>;
    /// Ends a lease with the job's outcome. A lease that already expired (and was handed to
    /// another worker) is ignored.
    fn complete(&self, lease: &Lease, status: BatchStatus);
    /// The status of every batch the queue has seen.
    fn statuses(&self) -> BTreeMap<u64, BatchStatus>;
    /// What the queue knows of the batches it has seen (none, for a queue that keeps only
    /// statuses).
    fn summaries(&self) -> BTreeMap<u64, BatchSummary> {
        BTreeMap::new()
    }
}

/// A sealed batch as the engine sealed it: its steps and the state roots it moves between.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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

/// The in-process queue.
#[derive(Debug)]
pub struct LocalQueue {
    lease_time: Duration,
    state: Mutex<QueueState>,
    ready: Condvar,
}

impl LocalQueue {
    pub fn new(lease_time: Duration) -> Self {
        Self {
            lease_time,
            state: Mutex::new(QueueState::default()),
            ready: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

fn batch_number(job: &Job) -> u64 {
    job.batch.input.batch_number
}

impl JobQueue for LocalQueue {
    fn push(&self, batch: Arc<SealedBatch>) {
        let mut state = self.lock();
        state
            .statuses
            .insert(batch.input.batch_number, BatchStatus::Queued);
        state
            .summaries
            .insert(batch.input.batch_number, BatchSummary::of(&batch));
        state.ready.push_back(Job { batch, attempt: 0 });
        self.ready.notify_one();
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
                        "a proving lease expired; requeued"
                    );
                    state.ready.push_front(job);
                }
            }
            if let Some(mut job) = state.ready.pop_front() {
                job.attempt += 1;
                let id = state.next_lease;
                state.next_lease += 1;
                state
                    .leased
                    .insert(id, (job.clone(), now + self.lease_time));
                state.statuses.insert(
                    batch_number(&job),
                    BatchStatus::Running {
                        worker: worker.to_string(),
                        attempt: job.attempt,
                    },
                );
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

    fn complete(&self, lease: &Lease, status: BatchStatus) {
        let mut state = self.lock();
        if state.leased.remove(&lease.id).is_some() {
            state.statuses.insert(batch_number(&lease.job), status);
        }
    }

    fn statuses(&self) -> BTreeMap<u64, BatchStatus> {
        self.lock().statuses.clone()
    }

    fn summaries(&self) -> BTreeMap<u64, BatchSummary> {
        self.lock().summaries.clone()
    }
}

/// Runs `batch` in the guest and compares its journal with the engine's output.
pub fn execute_batch(program: &Program, batch: &SealedBatch) -> BatchStatus {
    let mut input = Input::new();
    input.write(&batch.input).hint(&batch.witness);
    let execution = execute(program, &input, &Options::default());
    let failed = |reason: String| BatchStatus::Failed { reason };
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
    let expected = borsh::to_vec(&batch.output).unwrap_or_default();
    if execution.journal != expected {
        return failed("the guest committed a different output than the engine".into());
    }
    BatchStatus::Executed {
        cycles: execution.report.cycles,
        segments: execution.report.segments,
    }
}

/// Takes jobs from `queue` until `stop` is set.
pub fn run_worker(
    name: &str,
    queue: &dyn JobQueue,
    program: &Program,
    stop: &std::sync::atomic::AtomicBool,
) {
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let Some(lease) = queue.lease(name, Duration::from_millis(200)) else {
            continue;
        };
        let status = execute_batch(program, &lease.job.batch);
        tracing::info!(
            batch = batch_number(&lease.job),
            ?status,
            "proving job done"
        );
        queue.complete(&lease, status);
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

    #[test]
    fn a_job_whose_worker_dies_is_leased_again_after_the_lease_time() {
        let queue = LocalQueue::new(Duration::from_millis(50));
        let [first, second] = batches(2).try_into().unwrap();
        queue.push(first.clone());
        queue.push(second);
        let dead = queue.lease("dies", Duration::ZERO).expect("a job");
        assert_eq!(dead.job.batch, first);
        let other = queue
            .lease("lives", Duration::ZERO)
            .expect("the second job");
        assert!(queue.lease("lives", Duration::ZERO).is_none());
        queue.complete(
            &other,
            BatchStatus::Executed {
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
            BatchStatus::Failed {
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
            BatchStatus::Executed {
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
