//! # gnomon-engine: the exchange service around `gnomon-core`
//!
//! Traders reach Gnomon here: signed actions come in over HTTP and WebSocket, one sequencer
//! thread orders and applies them with `gnomon-core`, a write-ahead log makes each one durable
//! before it is acknowledged, market data streams out, and sealed batches go to prover
//! workers.
//!
//! ## What it owns
//!
//! - [`api`]: the REST and WebSocket API (JSON; errors carry a stable code).
//! - [`auth`]: decoding and signature checks of trader actions, rate limits per key.
//! - [`sequencer`]: the single writer: group commit, timers, batch cuts, recovery.
//! - [`wal`] and [`snapshot`]: the durable log and the batch-boundary snapshots.
//! - [`market_data`]: book deltas with sequence numbers, per-account event routing.
//! - [`history`]: trades, funding, candles and each account's fills and funding payments in
//!   an embedded store (redb).
//! - [`oracle`]: oracle price feeds (simulated, replayed from a file).
//! - [`chain`]: Solana as the engine sees it: deposits read from the settlement program's
//!   queue, transactions sent.
//! - [`settler`]: the settlement driver, which submits proven batches and applies their
//!   balances on chain.
//! - [`prover`]: proving jobs, leased from a queue by workers.
//! - [`batches`]: the sealed batches and their final statuses on disk, so the proving queue
//!   survives a restart.
//! - [`config`]: the configuration file, with defaults that run a local demo.
//!
//! ## What it must never do
//!
//! - Decide anything the state machine decides: every step goes through `gnomon-core`,
//!   whose verdict is final, so the guest can re-execute exactly what the engine did.
//! - Acknowledge, publish or answer reads from a step before the log has it on disk.
//! - Let a malformed, unsigned or replayed request reach the state or stall the sequencer:
//!   admission (decoding, signatures, rate limits, size limits) happens before it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use anchor_lang::prelude::Pubkey;
use anyhow::Context as _;
use gnomon_core::exchange::Exchange;
use gnomon_executor::Program;
use solana_keypair::Keypair;
use tokio::sync::broadcast;

pub mod api;
pub mod auth;
pub mod batches;
pub mod chain;
pub mod client;
pub mod config;
mod files;
pub mod history;
pub mod market_data;
pub mod oracle;
pub mod prover;
pub mod sequencer;
pub mod settler;
pub mod snapshot;
pub mod wal;

use crate::auth::RateLimiter;
use crate::batches::BatchStore;
use crate::config::Config;
use crate::history::StoredHistory;
use crate::market_data::Update;
use gnomon_wrap::keys::KeysDir;

use crate::prover::{BatchProver, JobQueue, LocalQueue, PostgresQueue, ProofStore};
use crate::sequencer::{Command, Parts, Sequencer};
use crate::settler::{Settlements, Settler};
use crate::snapshot::Snapshots;
use crate::wal::Wal;

/// The perps guest the proving workers run, as committed in guest/elf.
pub const PERPS_ELF: &[u8] = include_bytes!("../../../guest/elf/perps.elf");

/// A running engine: the sequencer thread, the proving workers and the handles the API uses.
#[derive(Debug)]
pub struct Engine {
    pub(crate) commands: SyncSender<Command>,
    pub(crate) updates: broadcast::Sender<Arc<Update>>,
    pub(crate) limiter: RateLimiter,
    pub(crate) config: Config,
    pub(crate) exchange_id: [u8; 32],
    pub(crate) queue: Arc<dyn JobQueue>,
    pub(crate) settlements: Arc<Settlements>,
    sequencer: Mutex<Option<JoinHandle<anyhow::Result<()>>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    stop_workers: Arc<AtomicBool>,
}

impl Engine {
    /// Recovers the state from the data directory (or starts at genesis) and starts the
    /// sequencer and the proving workers. With `prover.queue_url`, call it outside an async
    /// runtime: the PostgreSQL client runs a runtime of its own.
    pub fn start(config: Config) -> anyhow::Result<Arc<Self>> {
        config.check()?;
        let data = &config.storage.data_dir;
        let wal = Wal::open(&data.join("wal"), config.storage.segment_bytes)
            .with_context(|| format!("opening the log in {}", data.display()))?;
        let snapshots = Snapshots::new(data.join("snapshots"), config.storage.keep_snapshots)?;
        let genesis: Exchange = config.genesis()?;
        let exchange_id = genesis.global().config.exchange_id;
        let queue: Arc<dyn JobQueue> = match config.prover.queue()? {
            Some(database) => Arc::new(
                PostgresQueue::connect(database, config.prover.lease_time(), config.prover.plan())
                    .context("connecting to the proving queue (prover.queue_url)")?,
            ),
            None => Arc::new(
                LocalQueue::durable(
                    config.prover.lease_time(),
                    config.prover.plan(),
                    BatchStore::open(&data.join("batches"))?,
                )
                .with_context(|| format!("taking back the sealed batches in {}", data.display()))?,
            ),
        };
        let settlements = Arc::new(Settlements::open(&data.join("settlements"))?);
        let (updates, _) = broadcast::channel(config.api.feed_buffer);
        let sequencer = Sequencer::recover(Parts {
            wal,
            snapshots,
            genesis,
            timers: config.timers(),
            feed: config.oracle_feed()?,
            queue: queue.clone(),
            history: Box::new(StoredHistory::open(&data.join("history.redb"))?),
            updates: updates.clone(),
        })?;
        let (commands, receiver) = sync_channel(config.api.queue_depth);
        let sequencer = std::thread::Builder::new()
            .name("sequencer".into())
            .spawn(move || {
                sequencer.run(&receiver).map_err(|error| {
                    tracing::error!(%error, "the sequencer stopped");
                    anyhow::Error::new(error)
                })
            })?;
        let stop_workers = Arc::new(AtomicBool::new(false));
        let workers = spawn_workers(&config, queue.clone(), &stop_workers)?;
        let engine = Arc::new(Self {
            commands,
            updates,
            limiter: RateLimiter::new(config.api.rate_per_second, config.api.rate_burst),
            exchange_id,
            queue,
            settlements,
            config,
            sequencer: Mutex::new(Some(sequencer)),
            workers: Mutex::new(workers),
            stop_workers,
        });
        let chain = &engine.config.chain;
        if let (Some(url), Some(address)) = (&chain.rpc_url, &chain.exchange_address) {
            let ledger: Arc<dyn chain::Ledger> = Arc::new(chain::RpcLedger::new(url));
            let exchange = chain::parse_address(address)?;
            engine.watch_deposits(ledger.clone(), exchange)?;
            if let Some(path) = &chain.operator_keypair {
                let operator = settler::read_keypair(path)
                    .context("the operator key (chain.operator_keypair)")?;
                engine.settle(ledger, exchange, operator)?;
            }
        }
        Ok(engine)
    }

    /// Credits the deposits of the settlement program's queue in the exchange account
    /// `exchange`, polled every `chain.poll_ms` on a thread of its own.
    pub fn watch_deposits(
        &self,
        ledger: Arc<dyn chain::Ledger>,
        exchange: Pubkey,
    ) -> anyhow::Result<()> {
        let (exchange_id, commands, stop) = (
            self.exchange_id,
            self.commands.clone(),
            self.stop_workers.clone(),
        );
        let interval = self.poll_interval();
        self.spawn("deposits", move || {
            chain::watch(ledger, exchange, exchange_id, interval, commands, stop)
        })
    }

    /// Settles the proven batches on the exchange account `exchange`, signing as `operator`,
    /// on a thread of its own (see [`settler`]).
    pub fn settle(
        &self,
        ledger: Arc<dyn chain::Ledger>,
        exchange: Pubkey,
        operator: Keypair,
    ) -> anyhow::Result<()> {
        let settler = Settler::new(
            ledger,
            exchange,
            self.exchange_id,
            operator,
            ProofStore::open(&self.config.proof_dir())?,
            self.queue.clone(),
            self.settlements.clone(),
        );
        let (interval, stop) = (self.poll_interval(), self.stop_workers.clone());
        self.spawn("settler", move || settler.run(interval, &stop))
    }

    fn poll_interval(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.config.chain.poll_ms.max(1))
    }

    /// Runs `work` on a thread that [`Self::shutdown`] stops and joins.
    fn spawn(&self, name: &str, work: impl FnOnce() + Send + 'static) -> anyhow::Result<()> {
        let thread = std::thread::Builder::new().name(name.into()).spawn(work)?;
        self.workers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(thread);
        Ok(())
    }

    /// Sealed batch `number`, as the proving queue keeps it.
    pub fn sealed_batch(&self, number: u64) -> Option<gnomon_core::batch::SealedBatch> {
        self.queue.sealed(number)
    }

    /// The exchange id actions must be signed for.
    pub fn exchange_id(&self) -> [u8; 32] {
        self.exchange_id
    }

    /// Stops the proving workers and the sequencer, which first finishes (and makes durable)
    /// the commands it has; later requests are answered `engine_unavailable`. Returns the
    /// sequencer's error if it stopped on one.
    pub fn shutdown(&self) -> anyhow::Result<()> {
        self.stop_workers.store(true, Ordering::Relaxed);
        let workers = std::mem::take(&mut *self.workers.lock().unwrap_or_else(|p| p.into_inner()));
        for worker in workers {
            let _ = worker.join();
        }
        let _ = self.commands.send(sequencer::Command::Shutdown);
        let handle = self
            .sequencer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        match handle.map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => anyhow::bail!("the sequencer panicked"),
            None => Ok(()),
        }
    }

    /// Whether the sequencer thread is still serving.
    pub fn sequencer_alive(&self) -> bool {
        self.sequencer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|handle| !handle.is_finished())
    }
}

/// Starts `config.prover.workers` proving workers on `queue`, until `stop` is set.
fn spawn_workers(
    config: &Config,
    queue: Arc<dyn JobQueue>,
    stop: &Arc<AtomicBool>,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    if config.prover.workers == 0 {
        return Ok(Vec::new());
    }
    let program = Arc::new(Program::from_elf(PERPS_ELF).context("the perps guest ELF")?);
    let segment_prover = if config.prover.prove {
        Some(Arc::new(BatchProver::new(
            &program,
            config.prover.parameters(),
            config.prover.segment_size()?,
            ProofStore::open(&config.proof_dir())?,
            config.prover.catalog()?,
            config.prover.groth16_keys.as_deref().map(KeysDir::new),
        )?))
    } else {
        None
    };
    let host = hostname();
    (0..config.prover.workers)
        .map(|index| {
            let (queue, program, stop) = (queue.clone(), program.clone(), stop.clone());
            let segment_prover = segment_prover.clone();
            let name = format!("{host}-{}-{index}", std::process::id());
            Ok(std::thread::Builder::new()
                .name(format!("prover-{index}"))
                .spawn(move || {
                    prover::run_worker(
                        &name,
                        queue.as_ref(),
                        &program,
                        segment_prover.as_deref(),
                        &stop,
                    )
                })?)
        })
        .collect()
}

/// This machine's name, which names its workers in batch statuses.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "local".into())
}

/// Runs proving workers only (`gnomon engine --worker`): they take jobs from the shared queue
/// (`prover.queue_url`) until interrupted. The engine that queues the batches runs elsewhere.
pub fn run_workers(config: Config) -> anyhow::Result<()> {
    let database = config
        .prover
        .queue()?
        .context("a worker process needs the shared queue: set prover.queue_url")?;
    anyhow::ensure!(config.prover.workers > 0, "prover.workers is 0");
    let queue: Arc<dyn JobQueue> = Arc::new(
        PostgresQueue::connect(database, config.prover.lease_time(), config.prover.plan())
            .context("connecting to the proving queue (prover.queue_url)")?,
    );
    let stop = Arc::new(AtomicBool::new(false));
    let workers = spawn_workers(&config, queue, &stop)?;
    println!("gnomon workers: {} taking proving jobs", workers.len());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(shutdown_signal());
    tracing::info!("stopping the workers after their current jobs");
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.join();
    }
    Ok(())
}

/// The engine's command-line arguments (`gnomon-engine` and `gnomon engine`).
#[derive(Debug, clap::Args)]
pub struct EngineArgs {
    /// TOML configuration file (see engine/service/src/config.rs for every key); without
    /// one, the local demo.
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
    /// Overrides api.listen.
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// Overrides storage.data_dir.
    #[arg(long)]
    pub data_dir: Option<std::path::PathBuf>,
    /// Runs proving workers only, on the shared queue of prover.queue_url: no API, no
    /// sequencer. Start as many, on as many machines, as proving needs.
    #[arg(long)]
    pub worker: bool,
}

impl EngineArgs {
    /// Logs to stderr (`RUST_LOG` filters, default `info`) and runs the engine.
    pub fn run(self) -> anyhow::Result<()> {
        tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "info".into()),
            )
            .with_writer(std::io::stderr)
            .init();
        let mut config = match &self.config {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        if let Some(listen) = self.listen {
            config.api.listen = listen;
        }
        if let Some(data_dir) = self.data_dir {
            config.storage.data_dir = data_dir;
        }
        if self.worker {
            return run_workers(config);
        }
        run(config)
    }
}

/// Starts the engine and serves the API until interrupted (ctrl-c or SIGTERM). Every
/// acknowledged action is already durable, so stopping loses nothing.
pub fn run(config: Config) -> anyhow::Result<()> {
    let listener = std::net::TcpListener::bind(config.api.listen)
        .with_context(|| format!("listening on {}", config.api.listen))?;
    listener.set_nonblocking(true)?;
    // Before the runtime: a shared queue's synchronous client runs a runtime of its own.
    let engine = Engine::start(config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        tracing::info!(address = %listener.local_addr()?, "serving the API");
        println!(
            "gnomon engine listening on http://{}",
            listener.local_addr()?
        );
        tokio::select! {
            served = api::serve(engine.clone(), listener) => served?,
            _ = shutdown_signal() => tracing::info!("shutting down"),
        }
        engine.shutdown()
    })
}

async fn shutdown_signal() {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            match &mut terminate {
                Some(signal) => { signal.recv().await; }
                None => std::future::pending().await,
            }
        } => {}
    }
}
