//! The engine's configuration file (TOML). Every field has a default; with no file at all the
//! engine runs a local demo: two markets on the development keys, a simulated oracle, the
//! faucet on, data under `./gnomon-data`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use gnomon_core::exchange::Exchange;
use gnomon_executor::SegmentSize;
use gnomon_machine::config::StarkParameters;
use gnomon_machine::segment::{MAX_SEGMENT_LOG2, read_catalog};
use gnomon_sim::{USDC, exchange_config, unit_market, usdc};
use serde::Deserialize;

use crate::oracle::{OracleFeed, ReplayFeed, SimulatedFeed};
use crate::prover::Plan;
use crate::sequencer::Timers;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub api: Api,
    pub storage: Storage,
    pub batching: Batching,
    pub oracle: Oracle,
    pub markets: Markets,
    pub prover: Prover,
    pub chain: Chain,
}

/// The settlement program on Solana. Without `rpc_url`, no deposits come from the chain (the
/// faucet is the demo's source); with it, the faucet must be off (both would number deposits).
/// With `operator_keypair` too, the engine submits its proven batches for settlement.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Chain {
    pub rpc_url: Option<String>,
    /// The settlement program's exchange account, base58.
    pub exchange_address: Option<String>,
    /// The exchange's operator key (a Solana CLI keypair file), which pays for and signs the
    /// settlement transactions.
    pub operator_keypair: Option<PathBuf>,
    /// An RPC endpoint of the same cluster that the engine publishes in `GET /v1/status` for
    /// browsers (the web app's wallet deposits and claims). Never `rpc_url` by default: that
    /// one may carry the operator's credentials.
    pub public_rpc_url: Option<String>,
    pub poll_ms: u64,
}

impl Default for Chain {
    fn default() -> Self {
        Self {
            rpc_url: None,
            exchange_address: None,
            operator_keypair: None,
            public_rpc_url: None,
            poll_ms: 1_000,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Api {
    pub listen: SocketAddr,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Most actions in one request.
    pub max_actions: usize,
    /// Rate limit per signing key: sustained actions per second and burst.
    pub rate_per_second: u32,
    pub rate_burst: u32,
    /// Commands waiting for the sequencer before requests are turned away as overloaded.
    pub queue_depth: usize,
    /// Updates a WebSocket client may fall behind before it is disconnected.
    pub feed_buffer: usize,
    /// Serves `POST /v1/dev/deposit`, which credits collateral out of thin air. Demo only.
    pub dev_faucet: bool,
}

impl Default for Api {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 64 * 1024,
            max_actions: 50,
            rate_per_second: 20_000,
            rate_burst: 40_000,
            queue_depth: 8192,
            feed_buffer: 4096,
            dev_faucet: true,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Storage {
    pub data_dir: PathBuf,
    pub segment_bytes: u64,
    pub keep_snapshots: usize,
}

impl Default for Storage {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("gnomon-data"),
            segment_bytes: 64 << 20,
            keep_snapshots: 3,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Batching {
    pub max_steps: usize,
    pub max_age_ms: u64,
    pub liquidation_interval_ms: u64,
    pub tick_interval_ms: u64,
}

impl Default for Batching {
    fn default() -> Self {
        Self {
            max_steps: 1000,
            max_age_ms: 5_000,
            liquidation_interval_ms: 250,
            tick_interval_ms: 1_000,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedKind {
    Simulated,
    Replay,
    None,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Oracle {
    pub feed: FeedKind,
    pub interval_ms: u64,
    /// For `replay`: lines of `market price`.
    pub replay_file: Option<PathBuf>,
    /// For `simulated`.
    pub seed: u64,
    pub step_bps: u64,
}

impl Default for Oracle {
    fn default() -> Self {
        Self {
            feed: FeedKind::Simulated,
            interval_ms: 1_000,
            replay_file: None,
            seed: 1,
            step_bps: 10,
        }
    }
}

/// Markets at genesis: one unit market (one lot is one unit, 10x) per starting price.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Markets {
    pub start_prices_usdc: Vec<u64>,
}

impl Default for Markets {
    fn default() -> Self {
        Self {
            start_prices_usdc: vec![100, 2_000],
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Prover {
    /// In-process workers (0: batches wait in the queue for external workers).
    pub workers: usize,
    /// How long a job stays its worker's without a renewal. Workers renew their leases at a
    /// third of this while they work, so a dead worker's job is taken again within it.
    pub lease_ms: u64,
    /// Prove batches (segment proofs, verified as one run); off, workers only execute the
    /// guest over each batch and check its output.
    pub prove: bool,
    /// Segments hold at most 2^segment_log2 cycles.
    pub segment_log2: u32,
    /// Segments (and aggregation leaves) one proving job proves.
    pub segments_per_job: u64,
    /// With `prove`: fold each batch's segment proofs into one proof by recursion, in jobs
    /// of leaves and of joins any worker can take (each worker builds the aggregation keys
    /// of a batch's segment shapes, once per set of shapes).
    pub aggregate: bool,
    /// A catalog of segment shapes (`gnomon catalog`): segments are proven at its shapes, so
    /// that every batch is aggregated with the same keys (built once per worker). It must
    /// hold the bounding shape of `segment_log2` (which `gnomon catalog` writes), so that
    /// every batch fits. None: the keys of each batch's own shapes.
    pub catalog: Option<PathBuf>,
    /// With `aggregate` and `catalog`: the keys of the catalog's Groth16 circuit
    /// (`gnomon setup --aggregate`); each final proof is then wrapped for the settlement
    /// program.
    pub groth16_keys: Option<PathBuf>,
    /// Prove with the test parameters (a handful of queries, no security): for tests and
    /// demonstrations of the pipeline only.
    pub insecure_test_parameters: bool,
    /// The proving queue shared with worker processes (`gnomon engine --worker`): a
    /// PostgreSQL connection string, `host=... user=... dbname=...` or
    /// `postgresql://user@host/dbname`. None: the in-process queue, kept in the data directory.
    pub queue_url: Option<String>,
    /// Where workers keep proofs; the workers of a shared queue must all see this directory.
    /// None: `proofs` in the data directory.
    pub proof_dir: Option<PathBuf>,
}

impl Default for Prover {
    fn default() -> Self {
        Self {
            workers: 1,
            lease_ms: 30_000,
            prove: false,
            segment_log2: 20,
            segments_per_job: 4,
            aggregate: false,
            catalog: None,
            groth16_keys: None,
            insecure_test_parameters: false,
            queue_url: None,
            proof_dir: None,
        }
    }
}

impl Prover {
    pub fn lease_time(&self) -> Duration {
        Duration::from_millis(self.lease_ms)
    }

    /// How batches are proven, when the engine proves.
    pub fn plan(&self) -> Option<Plan> {
        self.prove.then(|| {
            let plan = Plan::new(self.segments_per_job, self.aggregate);
            match self.groth16_keys {
                Some(_) => plan.wrapped(),
                None => plan,
            }
        })
    }

    pub fn parameters(&self) -> StarkParameters {
        if self.insecure_test_parameters {
            StarkParameters::testing()
        } else {
            StarkParameters::production()
        }
    }

    /// The catalog's shapes, if there is one.
    pub fn catalog(&self) -> anyhow::Result<Option<Vec<Vec<usize>>>> {
        Ok(self.catalog.as_deref().map(read_catalog).transpose()?)
    }

    /// The shared queue's database, if there is one.
    pub fn queue(&self) -> anyhow::Result<Option<postgres::Config>> {
        self.queue_url
            .as_deref()
            .map(|url| {
                url.parse()
                    .context("prover.queue_url is not a PostgreSQL connection string")
            })
            .transpose()
    }

    pub fn segment_size(&self) -> anyhow::Result<SegmentSize> {
        anyhow::ensure!(
            self.segment_log2 <= MAX_SEGMENT_LOG2,
            "prover.segment_log2 is at most {MAX_SEGMENT_LOG2}"
        );
        Ok(SegmentSize::new(self.segment_log2)?)
    }
}

impl Config {
    /// Reads a configuration file; unknown keys and contradictions are errors.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let config: Self =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        config.check()?;
        Ok(config)
    }

    /// Refuses settings that contradict each other.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.chain.rpc_url.is_some() {
            anyhow::ensure!(
                !self.api.dev_faucet,
                "chain.rpc_url takes deposits from Solana: set api.dev_faucet = false"
            );
            anyhow::ensure!(
                self.chain.exchange_address.is_some(),
                "chain.rpc_url needs chain.exchange_address"
            );
        }
        anyhow::ensure!(
            self.chain.operator_keypair.is_none() || self.chain.rpc_url.is_some(),
            "chain.operator_keypair settles batches on the chain of chain.rpc_url: set it"
        );
        self.prover.queue()?;
        self.prover.catalog()?;
        anyhow::ensure!(
            self.prover.groth16_keys.is_none()
                || (self.prover.aggregate && self.prover.catalog.is_some()),
            "prover.groth16_keys wraps final proofs of a catalog: set prover.aggregate and \
             prover.catalog"
        );
        Ok(())
    }

    /// Where the workers of this engine keep proofs.
    pub fn proof_dir(&self) -> PathBuf {
        self.prover
            .proof_dir
            .clone()
            .unwrap_or_else(|| self.storage.data_dir.join("proofs"))
    }

    /// The exchange at log position 0: the development keys, the configured markets.
    pub fn genesis(&self) -> anyhow::Result<Exchange> {
        let markets = self
            .markets
            .start_prices_usdc
            .iter()
            .enumerate()
            .map(|(index, _)| {
                let mut market = unit_market();
                let symbol = format!("UNIT{index}-PERP");
                market.symbol = [0; 16];
                market.symbol[..symbol.len()].copy_from_slice(symbol.as_bytes());
                market
            })
            .collect();
        Exchange::genesis(exchange_config(), markets)
            .map_err(|error| anyhow::anyhow!("invalid market configuration: {error:?}"))
    }

    pub fn timers(&self) -> Timers {
        Timers {
            batch_max_steps: self.batching.max_steps.max(1),
            batch_max_age: Duration::from_millis(self.batching.max_age_ms),
            oracle_interval: Duration::from_millis(self.oracle.interval_ms.max(1)),
            liquidation_interval: Duration::from_millis(self.batching.liquidation_interval_ms),
            tick_interval: Duration::from_millis(self.batching.tick_interval_ms.max(1)),
        }
    }

    pub fn oracle_feed(&self) -> anyhow::Result<Option<Box<dyn OracleFeed>>> {
        Ok(match self.oracle.feed {
            FeedKind::None => None,
            FeedKind::Simulated => Some(Box::new(SimulatedFeed::new(
                self.oracle.seed,
                self.markets
                    .start_prices_usdc
                    .iter()
                    .map(|&price| usdc(price))
                    .collect(),
                self.oracle.step_bps,
            ))),
            FeedKind::Replay => {
                let path = self
                    .oracle
                    .replay_file
                    .as_deref()
                    .context("oracle.feed = \"replay\" needs oracle.replay_file")?;
                Some(Box::new(ReplayFeed::from_file(path)?))
            }
        })
    }
}

/// Quote atoms per USDC, for clients that size deposits.
pub const QUOTE_PER_USDC: u64 = USDC as u64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_the_demo_and_unknown_keys_are_refused() {
        let config: Config = toml::from_str("").unwrap();
        assert_eq!(config.markets.start_prices_usdc.len(), 2);
        assert_eq!(config.genesis().unwrap().global().markets.len(), 2);
        let config: Config = toml::from_str("[batching]\nmax_steps = 10\n").unwrap();
        assert_eq!(config.timers().batch_max_steps, 10);
        assert!(toml::from_str::<Config>("[batching]\nmax_step = 10\n").is_err());
        assert!(toml::from_str::<Config>("[oracle]\nfeed = \"pyth\"\n").is_err());
        let both: Config =
            toml::from_str("[chain]\nrpc_url = \"http://127.0.0.1:8899\"\n").unwrap();
        assert!(
            both.check().is_err(),
            "the faucet and the chain both number deposits"
        );
    }
}
