//! The shared proving queue on PostgreSQL: workers in other connections and processes take
//! each job once, in batch order; a worker killed mid-job loses nothing.
//!
//! These tests need a PostgreSQL server: `GNOMON_TEST_POSTGRES` holds a connection string in
//! key-value form (`scripts/with-postgres` starts a throwaway server and sets it, as the
//! README's test command does). Without one they say so and pass, except in CI
//! (`GNOMON_CI=1`), where they fail.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use gnomon_core::batch::SealedBatch;
use gnomon_engine::PERPS_ELF;
use gnomon_engine::client::Trader;
use gnomon_engine::prover::{
    BatchStatus, BatchSummary, JobQueue, Lease, Outcome, Plan, PostgresQueue, QueueError, Task,
};
use gnomon_executor::Program;
use gnomon_machine::config::StarkParameters;
use gnomon_machine::segment::MachineKeys;
use gnomon_recursion::aggregation::{AggregatedRunProof, AggregationKeys, WrapReadyKeys};
use gnomon_sim::generate::{Generator, Profile};
use postgres::NoTls;
use serde_json::Value;

mod common;
use common::{dev_deposit, get, launch, spawn};

/// A fresh database on the test server, for one test: its connection string.
fn database() -> Option<String> {
    let Ok(server) = std::env::var("GNOMON_TEST_POSTGRES") else {
        assert_ne!(
            std::env::var("GNOMON_CI").as_deref(),
            Ok("1"),
            "GNOMON_CI=1 but GNOMON_TEST_POSTGRES names no server"
        );
        eprintln!("GNOMON_TEST_POSTGRES is not set: the PostgreSQL queue is not tested");
        return None;
    };
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "gnomon_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = postgres::Client::connect(&server, NoTls).expect("the test server");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("a test database");
    Some(format!("{server} dbname={name}"))
}

fn queue(database: &str, lease: Duration, plan: Option<Plan>) -> PostgresQueue {
    PostgresQueue::connect(database.parse().unwrap(), lease, plan).unwrap()
}

fn batches(count: usize) -> Vec<Arc<SealedBatch>> {
    let mut generator = Generator::new(5, Profile::default());
    (0..count).map(|_| Arc::new(generator.batch(3))).collect()
}

fn number(lease: &Lease) -> u64 {
    lease.job.batch.input.batch_number
}

const LONG: Duration = Duration::from_secs(600);

#[test]
fn concurrent_workers_take_each_job_once_in_batch_order() {
    let Some(database) = database() else { return };
    let all = batches(12);
    let engine = queue(&database, LONG, None);
    for batch in &all {
        engine.push(batch.clone()).unwrap();
        // A batch the log recreates after a crash is pushed again: it is not doubled.
        engine.push(batch.clone()).unwrap();
    }
    // Four workers, each with its own connection, as four processes would have.
    let taken: Vec<Vec<u64>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|index| {
                let worker = queue(&database, LONG, None);
                scope.spawn(move || {
                    let mut taken = Vec::new();
                    while let Some(lease) = worker.lease(&format!("w{index}"), Duration::ZERO) {
                        assert_eq!(lease.job.task, Task::Execute);
                        assert_eq!(lease.job.attempt, 1);
                        taken.push(number(&lease));
                        let executed = Outcome::Executed {
                            cycles: number(&lease),
                            segments: 1,
                        };
                        worker.complete(&lease, executed);
                    }
                    taken
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    for taken in &taken {
        assert!(
            taken.is_sorted(),
            "a worker took a later batch first: {taken:?}"
        );
    }
    let mut every: Vec<u64> = taken.concat();
    every.sort();
    let numbers: Vec<u64> = all.iter().map(|batch| batch.input.batch_number).collect();
    assert_eq!(every, numbers, "each job exactly once");

    let statuses = engine.statuses();
    for &number in &numbers {
        assert_eq!(
            statuses[&number],
            BatchStatus::Executed {
                cycles: number,
                segments: 1
            }
        );
    }
    assert_eq!(engine.summaries()[&numbers[3]], BatchSummary::of(&all[3]));
}

#[test]
fn a_job_whose_worker_dies_is_leased_again_and_its_late_result_ignored() {
    let Some(database) = database() else { return };
    let [first, second] = batches(2).try_into().unwrap();
    let dying = queue(&database, Duration::from_millis(300), None);
    let living = queue(&database, Duration::from_secs(600), None);
    dying.push(first.clone()).unwrap();
    dying.push(second.clone()).unwrap();
    let dead = dying.lease("dies", Duration::ZERO).expect("a job");
    assert_eq!(dead.job.batch, first);
    let other = living.lease("lives", Duration::ZERO).expect("the next job");
    assert_eq!(other.job.batch, second);
    assert!(living.lease("lives", Duration::ZERO).is_none());
    let executed = Outcome::Executed {
        cycles: 2,
        segments: 1,
    };
    living.complete(&other, executed.clone());

    let again = living
        .lease("lives", Duration::from_secs(10))
        .expect("the dead worker's job comes back when its lease expires");
    assert_eq!(again.job.batch, first);
    assert_eq!(again.job.attempt, 2);
    let late = Outcome::Failed {
        reason: "late".into(),
    };
    dying.complete(&dead, late);
    assert_eq!(
        living.statuses()[&first.input.batch_number],
        BatchStatus::Running {
            worker: "lives".into(),
            attempt: 2
        }
    );
    living.complete(&again, executed);
    assert!(
        living
            .statuses()
            .values()
            .all(|status| matches!(status, BatchStatus::Executed { .. }))
    );
}

#[test]
fn a_renewed_lease_outlasts_its_lease_time_and_a_lost_one_cannot_be_renewed() {
    let Some(database) = database() else { return };
    let (first, second) = (
        queue(&database, Duration::from_millis(300), None),
        queue(&database, Duration::from_millis(300), None),
    );
    first.push(batches(1).remove(0)).unwrap();
    let lease = first.lease("first", Duration::ZERO).unwrap();
    for _ in 0..8 {
        std::thread::sleep(Duration::from_millis(100));
        assert!(first.renew(&lease));
    }
    assert!(second.lease("second", Duration::ZERO).is_none());
    let again = second
        .lease("second", Duration::from_secs(10))
        .expect("no longer renewed, the lease expires");
    assert_eq!(again.job.attempt, 2);
    assert!(!first.renew(&lease), "the first lease is lost");
    let executed = Outcome::Executed {
        cycles: 1,
        segments: 1,
    };
    second.complete(&again, executed);
    assert!(!second.renew(&again), "a completed job's lease is over");
}

#[test]
fn a_batch_goes_through_its_proving_jobs_across_restarts_and_stops_on_a_failure() {
    let Some(database) = database() else { return };
    let [proven, failing] = batches(2).try_into().unwrap();
    let engine = queue(&database, LONG, Some(Plan::new(2, false)));
    engine.push(proven.clone()).unwrap();
    engine.push(failing.clone()).unwrap();
    let (one, two) = (proven.input.batch_number, failing.input.batch_number);
    let executed = Outcome::Executed {
        cycles: 10,
        segments: 3,
    };
    let execute = engine.lease("w", Duration::ZERO).unwrap();
    engine.complete(&execute, executed.clone());
    // The first batch's proving comes before the second batch's execution.
    let mut leases: Vec<Lease> = (0..3)
        .map(|_| engine.lease("w", Duration::ZERO).unwrap())
        .collect();
    let jobs: Vec<(u64, Task)> = leases.iter().map(|l| (number(l), l.job.task)).collect();
    assert_eq!(
        jobs,
        [
            (one, Task::ProveSegments { first: 0, count: 2 }),
            (one, Task::ProveSegments { first: 2, count: 1 }),
            (two, Task::Execute),
        ]
    );
    engine.complete(&leases.pop().unwrap(), executed);
    drop(engine);

    // A worker that proves without batches of its own: each batch's jobs were fixed when
    // the engine queued it, and the queue kept them and their leases across the restart.
    let worker = queue(&database, LONG, None);
    leases.extend(std::iter::from_fn(|| worker.lease("w", Duration::ZERO)));
    let jobs: Vec<(u64, Task)> = leases[2..]
        .iter()
        .map(|l| (number(l), l.job.task))
        .collect();
    assert_eq!(
        jobs,
        [
            (two, Task::ProveSegments { first: 0, count: 2 }),
            (two, Task::ProveSegments { first: 2, count: 1 }),
        ]
    );
    let failure = Outcome::Failed {
        reason: "segment 0: no".into(),
    };
    worker.complete(&leases[2], failure);
    for (lease, proving_ms) in leases[..2].iter().zip([5, 7]) {
        let Task::ProveSegments { count, .. } = lease.job.task else {
            panic!("{:?}", lease.job.task);
        };
        worker.complete(lease, Outcome::SegmentsProven { count, proving_ms });
    }
    // The failed batch's other job ends, and changes nothing.
    let proven_late = Outcome::SegmentsProven {
        count: 1,
        proving_ms: 1,
    };
    worker.complete(&leases[3], proven_late);
    let verify = worker.lease("w", Duration::ZERO).expect("the run's check");
    assert_eq!(
        (number(&verify), verify.job.task),
        (
            one,
            Task::VerifyRun {
                segments: 3,
                aggregate: false
            }
        )
    );
    assert!(worker.lease("w", Duration::ZERO).is_none());
    worker.complete(&verify, Outcome::Verified { proof_bytes: 99 });
    let statuses = worker.statuses();
    assert_eq!(
        statuses[&one],
        BatchStatus::Proven {
            cycles: 10,
            segments: 3,
            proving_ms: 12,
            proof_bytes: 99,
            groth16_ms: None,
        }
    );
    assert_eq!(
        statuses[&two],
        BatchStatus::Failed {
            reason: "segment 0: no".into()
        }
    );
}

#[test]
fn connecting_where_no_server_listens_is_an_error() {
    let nowhere: postgres::Config = "host=/nonexistent port=1 user=gnomon".parse().unwrap();
    let error = PostgresQueue::connect(nowhere, LONG, None).unwrap_err();
    assert!(matches!(error, QueueError::Postgres(_)), "{error}");
}

/// The engine's configuration for the process test: a quiet exchange (no oracle, no timers)
/// whose batches are cut at three steps, proven in jobs of one segment and aggregated into
/// one wrap-ready final proof, on the shared queue.
fn process_config(database: &str, proofs: &std::path::Path, workers: usize) -> String {
    format!(
        r#"
[oracle]
feed = "none"
[batching]
max_steps = 3
max_age_ms = 3600000
tick_interval_ms = 3600000
liquidation_interval_ms = 3600000
[prover]
workers = {workers}
prove = true
insecure_test_parameters = true
segment_log2 = 15
segments_per_job = 1
aggregate = true
lease_ms = 1500
queue_url = "{database}"
proof_dir = "{}"
"#,
        proofs.display()
    )
}

/// One row of `query` on the shared queue's database, read off the async runtime (the
/// synchronous client runs a runtime of its own).
async fn query_one(database: &str, query: &'static str, pattern: String) -> postgres::Row {
    let database = database.to_string();
    tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&database, NoTls).unwrap();
        client.query_one(query, &[&pattern]).unwrap()
    })
    .await
    .unwrap()
}

/// Jobs of the shared queue leased to the worker process `pid` and not done.
async fn open_leases_of(database: &str, pid: u32) -> i64 {
    let query = "SELECT count(*) FROM gnomon_jobs
                 WHERE worker LIKE $1 AND lease IS NOT NULL AND NOT done";
    query_one(database, query, format!("%-{pid}-%"))
        .await
        .get(0)
}

/// The status of batch `number` as the engine's API reports it.
async fn batch_status(http: &reqwest::Client, base: &str, number: u64) -> Value {
    let batches = get(http, format!("{base}/v1/batches")).await;
    batches["batches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|batch| batch["batch"] == number)
        .map_or(Value::Null, |batch| batch["proof"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_processes_prove_and_aggregate_the_engines_batch_and_one_killed_mid_job_loses_nothing()
 {
    let Some(database) = tokio::task::spawn_blocking(database).await.unwrap() else {
        return;
    };
    let directory = tempfile::tempdir().unwrap();
    let proofs = directory.path().join("proofs");
    let write = |name: &str, workers| {
        let path = directory.path().join(name);
        std::fs::write(&path, process_config(&database, &proofs, workers)).unwrap();
        path
    };
    let (engine_config, worker_config) = (write("engine.toml", 0), write("worker.toml", 1));
    let engine = launch(&directory.path().join("data"), &engine_config).await;
    let http = reqwest::Client::new();
    for seed in 0..3 {
        let owner = Trader::new(200 + seed, 0).owner_hex();
        dev_deposit(&http, &engine.base, &owner, 1_000_000_000).await;
    }
    let status = get(&http, format!("{}/v1/status", engine.base)).await;
    let number = status["last_sealed_batch"].as_u64().unwrap();

    // The first worker executes the batch and is killed the moment it holds a proving job.
    let worker = worker_config.to_str().unwrap();
    let mut first = spawn(&["--config", worker, "--worker"]);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let proving = batch_status(&http, &engine.base, number).await["status"] == "proving";
        if proving && open_leases_of(&database, first.id()).await > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the first worker never took a proving job"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();

    // Two more workers share the rest, and the killed worker's job once its lease expires.
    let mut others: Vec<_> = (0..2)
        .map(|_| spawn(&["--config", worker, "--worker"]))
        .collect();
    let proven = loop {
        let status = batch_status(&http, &engine.base, number).await;
        assert_ne!(status["status"], "failed", "{status}");
        if status["status"] == "proven" || Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for other in &mut others {
        other.kill().unwrap();
        other.wait().unwrap();
    }
    engine.kill();
    assert_eq!(proven["status"], "proven", "{proven}");
    let segments = proven["segments"].as_u64().unwrap();
    assert!(
        segments > 1,
        "{segments} segments: one job would prove them all"
    );
    let path = proofs.join(format!("batch-{number:010}.final.proof"));
    let AggregatedRunProof { shapes, proof } =
        AggregatedRunProof::from_bytes(&std::fs::read(&path).unwrap()).unwrap();
    let program = Program::from_elf(PERPS_ELF).unwrap();
    let machine = MachineKeys::new(&program, StarkParameters::testing());
    let keys = AggregationKeys::new(&machine, &shapes, StarkParameters::testing()).unwrap();
    let wrap_ready = WrapReadyKeys::new(&keys, StarkParameters::testing());
    let run = wrap_ready.verify(&machine, &proof).unwrap();
    assert_eq!(u64::from(run.segments), segments);

    let query = "SELECT max(attempt), count(DISTINCT worker), bool_and(done) FROM gnomon_jobs
                 WHERE worker LIKE $1";
    let row = query_one(&database, query, "%".into()).await;
    let (attempts, workers, done): (i32, i64, bool) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(attempts, 2, "the killed worker's job was taken again, once");
    assert!(workers >= 2, "{workers} workers did the jobs");
    assert!(done);
}
