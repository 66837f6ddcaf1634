//! The proving queue on PostgreSQL, shared by the engine and worker processes on any number of
//! machines.
//!
//! Two tables hold everything: `gnomon_batches` (each sealed batch, its summary, its status,
//! and the proving plan it was queued with, so that every process moves it through the same
//! jobs) and `gnomon_jobs` (one row per job, with its current lease). The queue keeps
//! no state of its own: a restarted engine or worker finds every batch and job where it was.
//!
//! - Leasing takes the first open job in batch order with `FOR UPDATE SKIP LOCKED`, so that
//!   concurrent workers never take the same job nor wait on each other, and stamps it with a
//!   fresh lease id and an expiry on the server's clock (workers' clocks never matter).
//! - A job whose lease has expired is open again: a worker that dies mid-job loses nothing.
//!   Live workers renew their leases while they work, so only a dead worker's job is taken.
//! - Completing a job is one transaction: it closes the job only if the lease is still the
//!   job's current one (a late result of an expired lease is ignored), then locks the batch's
//!   row, advances its status and inserts the jobs that become ready. Completions of one
//!   batch's jobs are serialized by that row lock, so none of them is lost.
//! - Waiting workers poll: a job takes seconds to minutes, so a poll interval of
//!   [`POLL_INTERVAL`] costs nothing that matters and needs no listener connection.
//!
//! A completion that cannot be recorded (the database is unreachable) is lost with its lease,
//! and the job is done again once the lease expires.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use gnomon_core::batch::SealedBatch;
use postgres::{Client, NoTls, Transaction};

use super::{BatchStatus, BatchSummary, Job, JobQueue, Lease, Outcome, Plan, Task, advance};
use crate::batches;

/// How often a waiting worker asks for a job.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// The schema, created by the first process that connects (under an advisory lock, as
/// concurrent `CREATE ... IF NOT EXISTS` statements can collide).
const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS gnomon_batches (
        number BIGINT PRIMARY KEY,
        batch BYTEA NOT NULL,
        summary TEXT NOT NULL,
        status TEXT NOT NULL,
        plan TEXT,
        failed BOOLEAN NOT NULL DEFAULT false
    );
    CREATE TABLE IF NOT EXISTS gnomon_jobs (
        id BIGSERIAL PRIMARY KEY,
        batch BIGINT NOT NULL REFERENCES gnomon_batches (number),
        task TEXT NOT NULL,
        attempt INTEGER NOT NULL DEFAULT 0,
        lease BIGINT UNIQUE,
        worker TEXT,
        expires TIMESTAMPTZ,
        done BOOLEAN NOT NULL DEFAULT false
    );
    CREATE INDEX IF NOT EXISTS gnomon_jobs_open ON gnomon_jobs (batch, id) WHERE NOT done;
    CREATE SEQUENCE IF NOT EXISTS gnomon_leases;
";

/// Any key of `pg_advisory_xact_lock`, fixed: the schema's creation is serialized on it.
const SCHEMA_LOCK: i64 = 0x676e_6f6d_6f6e;

/// The first open job, in batch order, leased to `$1` for `$2` milliseconds.
const LEASE: &str = "
    WITH next AS (
        SELECT job.id FROM gnomon_jobs job
        JOIN gnomon_batches batch ON batch.number = job.batch
        WHERE NOT job.done AND NOT batch.failed
            AND (job.lease IS NULL OR job.expires <= now())
        ORDER BY job.batch, job.id
        LIMIT 1
        FOR UPDATE OF job SKIP LOCKED
    )
    UPDATE gnomon_jobs job
    SET lease = nextval('gnomon_leases'), attempt = job.attempt + 1, worker = $1,
        expires = now() + $2::float8 * interval '1 millisecond'
    FROM next WHERE job.id = next.id
    RETURNING job.batch, job.task, job.attempt, job.lease";

/// Why the queue could not do something.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] postgres::Error),
    #[error("the queue's row of batch {batch} is damaged: {what}")]
    Damaged { batch: u64, what: &'static str },
}

/// The proving queue in a PostgreSQL database.
pub struct PostgresQueue {
    config: postgres::Config,
    lease_time: Duration,
    plan: Option<Plan>,
    client: Mutex<Option<Client>>,
}

impl std::fmt::Debug for PostgresQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresQueue")
            .field("lease_time", &self.lease_time)
            .field("plan", &self.plan)
            .finish_non_exhaustive()
    }
}

impl PostgresQueue {
    /// Connects to the database of `config`, creating the queue's tables if they are missing.
    /// Leases last `lease_time`; batches this process pushes are proven with `plan` (`None`:
    /// only executed), whatever process completes their jobs.
    pub fn connect(
        config: postgres::Config,
        lease_time: Duration,
        plan: Option<Plan>,
    ) -> Result<Self, QueueError> {
        let mut client = config.connect(NoTls)?;
        let mut transaction = client.transaction()?;
        transaction.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
        transaction.batch_execute(SCHEMA)?;
        transaction.commit()?;
        Ok(Self {
            config,
            lease_time,
            plan,
            client: Mutex::new(Some(client)),
        })
    }

    /// Runs `work` in a transaction on the connection, connecting again first if it broke.
    fn transaction<T>(
        &self,
        work: impl FnOnce(&mut Transaction<'_>) -> Result<T, QueueError>,
    ) -> Result<T, QueueError> {
        let mut guard: MutexGuard<'_, Option<Client>> = self
            .client
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = Some(self.config.connect(NoTls)?);
        }
        let client = guard.as_mut().expect("connected above");
        let mut transaction = client.transaction()?;
        let result = work(&mut transaction)?;
        transaction.commit()?;
        Ok(result)
    }

    /// The lease time as the queries take it.
    fn lease_ms(&self) -> f64 {
        self.lease_time.as_secs_f64() * 1e3
    }

    fn try_lease(&self, worker: &str) -> Result<Option<Lease>, QueueError> {
        let lease_ms = self.lease_ms();
        self.transaction(|transaction| {
            let Some(row) = transaction.query_opt(LEASE, &[&worker, &lease_ms])? else {
                return Ok(None);
            };
            let number: i64 = row.get(0);
            let (task, attempt, lease): (String, i32, i64) = (row.get(1), row.get(2), row.get(3));
            let batch = number as u64;
            let damaged = |what| QueueError::Damaged { batch, what };
            let task: Task = serde_json::from_str(&task).map_err(|_| damaged("its task"))?;
            let attempt = u32::try_from(attempt).map_err(|_| damaged("its attempt"))?;
            if task == Task::Execute {
                let running = BatchStatus::Running {
                    worker: worker.to_string(),
                    attempt,
                };
                set_status(transaction, number, &running)?;
            }
            let sealed = read_sealed(transaction, number)?.ok_or_else(|| damaged("its batch"))?;
            Ok(Some(Lease {
                id: lease as u64,
                job: Job {
                    batch: Arc::new(sealed),
                    task,
                    attempt,
                },
            }))
        })
    }

    /// Fails a batch whose row cannot be read back, rather than leasing its job forever.
    fn fail_damaged(&self, batch: u64, what: &str) {
        let reason = format!("the queue's row of the batch is damaged: {what}");
        tracing::error!(batch, reason);
        let failed = BatchStatus::Failed { reason };
        if let Err(error) =
            self.transaction(|transaction| set_status(transaction, batch as i64, &failed))
        {
            tracing::error!(batch, %error, "failing a damaged batch");
        }
    }

    fn try_complete(&self, lease: &Lease, outcome: Outcome) -> Result<(), QueueError> {
        let number = lease.job.batch.input.batch_number as i64;
        let lease_id = lease.id as i64;
        self.transaction(|transaction| {
            let closed = transaction.execute(
                "UPDATE gnomon_jobs SET done = true WHERE lease = $1 AND NOT done",
                &[&lease_id],
            )?;
            if closed == 0 {
                tracing::warn!(batch = number, "the result of an expired lease; ignored");
                return Ok(());
            }
            let row = transaction.query_one(
                "SELECT status, plan FROM gnomon_batches WHERE number = $1 FOR UPDATE",
                &[&number],
            )?;
            let (current, plan): (String, Option<String>) = (row.get(0), row.get(1));
            let current = serde_json::from_str(&current).ok();
            let plan = match plan.map(|plan| serde_json::from_str(&plan)) {
                Some(Ok(plan)) => Some(plan),
                Some(Err(_)) => {
                    let batch = number as u64;
                    return Err(QueueError::Damaged {
                        batch,
                        what: "its plan",
                    });
                }
                None => None,
            };
            let (status, tasks) = advance(plan, current, outcome);
            for task in tasks {
                insert_job(transaction, number, task)?;
            }
            set_status(transaction, number, &status)
        })
    }

    fn try_push(&self, batch: &SealedBatch) -> Result<(), QueueError> {
        let number = batch.input.batch_number as i64;
        let summary =
            serde_json::to_string(&BatchSummary::of(batch)).expect("a summary serializes");
        let queued = serde_json::to_string(&BatchStatus::Queued).expect("a status serializes");
        let plan = self
            .plan
            .map(|plan| serde_json::to_string(&plan).expect("a plan serializes"));
        self.transaction(|transaction| {
            let inserted = transaction.execute(
                "INSERT INTO gnomon_batches (number, batch, summary, status, plan)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (number) DO NOTHING",
                &[&number, &batches::encode(batch), &summary, &queued, &plan],
            )?;
            if inserted == 1 {
                insert_job(transaction, number, Task::Execute)?;
            }
            Ok(())
        })
    }

    /// Every batch's column `column` (a JSON text), decoded; a damaged one is left out.
    fn read_column<T: serde::de::DeserializeOwned>(
        &self,
        column: &str,
    ) -> Result<BTreeMap<u64, T>, QueueError> {
        let query = format!("SELECT number, {column} FROM gnomon_batches ORDER BY number");
        self.transaction(|transaction| {
            let mut values = BTreeMap::new();
            for row in transaction.query(&query, &[])? {
                let (number, text): (i64, String) = (row.get(0), row.get(1));
                match serde_json::from_str(&text) {
                    Ok(value) => {
                        values.insert(number as u64, value);
                    }
                    Err(error) => tracing::warn!(batch = number, %error, column, "unreadable"),
                }
            }
            Ok(values)
        })
    }
}

/// Sealed batch `number`, if the queue has it.
fn read_sealed(
    transaction: &mut Transaction<'_>,
    number: i64,
) -> Result<Option<SealedBatch>, QueueError> {
    let Some(row) = transaction.query_opt(
        "SELECT batch FROM gnomon_batches WHERE number = $1",
        &[&number],
    )?
    else {
        return Ok(None);
    };
    let bytes: Vec<u8> = row.get(0);
    let batch = number as u64;
    batches::decode(&bytes)
        .map(Some)
        .ok_or(QueueError::Damaged {
            batch,
            what: "its sealed batch",
        })
}

fn insert_job(transaction: &mut Transaction<'_>, batch: i64, task: Task) -> Result<(), QueueError> {
    let task = serde_json::to_string(&task).expect("a task serializes");
    transaction.execute(
        "INSERT INTO gnomon_jobs (batch, task) VALUES ($1, $2)",
        &[&batch, &task],
    )?;
    Ok(())
}

fn set_status(
    transaction: &mut Transaction<'_>,
    batch: i64,
    status: &BatchStatus,
) -> Result<(), QueueError> {
    let failed = matches!(status, BatchStatus::Failed { .. });
    let status = serde_json::to_string(status).expect("a status serializes");
    transaction.execute(
        "UPDATE gnomon_batches SET status = $2, failed = $3 WHERE number = $1",
        &[&batch, &status, &failed],
    )?;
    Ok(())
}

impl JobQueue for PostgresQueue {
    fn push(&self, batch: Arc<SealedBatch>) -> std::io::Result<()> {
        self.try_push(&batch).map_err(std::io::Error::other)
    }

    fn lease(&self, worker: &str, wait: Duration) -> Option<Lease> {
        let deadline = Instant::now() + wait;
        loop {
            match self.try_lease(worker) {
                Ok(Some(lease)) => return Some(lease),
                Ok(None) => {}
                Err(QueueError::Damaged { batch, what }) => self.fail_damaged(batch, what),
                Err(error) => tracing::error!(%error, "leasing a proving job"),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            std::thread::sleep(left.min(POLL_INTERVAL));
        }
    }

    fn lease_time(&self) -> Duration {
        self.lease_time
    }

    fn renew(&self, lease: &Lease) -> bool {
        let lease_ms = self.lease_ms();
        let renewed = self.transaction(|transaction| {
            Ok(transaction.execute(
                "UPDATE gnomon_jobs SET expires = now() + $2::float8 * interval '1 millisecond'
                 WHERE lease = $1 AND NOT done",
                &[&(lease.id as i64), &lease_ms],
            )?)
        });
        match renewed {
            Ok(rows) => rows == 1,
            Err(error) => {
                // The lease may still be ours: the worker goes on and tries again.
                tracing::error!(%error, "renewing a proving lease");
                true
            }
        }
    }

    fn complete(&self, lease: &Lease, outcome: Outcome) {
        if let Err(error) = self.try_complete(lease, outcome) {
            tracing::error!(
                batch = lease.job.batch.input.batch_number,
                %error,
                "recording a proving job's result; the job is done again after its lease"
            );
        }
    }

    fn statuses(&self) -> BTreeMap<u64, BatchStatus> {
        self.read_column("status").unwrap_or_else(|error| {
            tracing::error!(%error, "reading the batches' statuses");
            BTreeMap::new()
        })
    }

    fn sealed(&self, number: u64) -> Option<SealedBatch> {
        self.transaction(|transaction| read_sealed(transaction, number as i64))
            .unwrap_or_else(|error| {
                tracing::error!(batch = number, %error, "reading a sealed batch");
                None
            })
    }

    fn summaries(&self) -> BTreeMap<u64, BatchSummary> {
        self.read_column("summary").unwrap_or_else(|error| {
            tracing::error!(%error, "reading the batches' summaries");
            BTreeMap::new()
        })
    }
}
