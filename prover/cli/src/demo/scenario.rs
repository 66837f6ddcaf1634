//! The demo's traders and what they do, against a running engine's API.
//!
//! Four traders deposit on chain. A maker sells to a trader who goes long at 6.7x leverage;
//! two others trade with each other; the oracle then drops from 100 to 88 and the engine
//! liquidates the long; the maker withdraws. Funding ticks run whenever the market is quiet
//! for a second.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use gnomon_core::action::Action;
use gnomon_core::batch::SealedBatch;
use gnomon_core::order::{Side, TimeInForce};
use gnomon_engine::Engine;
use gnomon_engine::client::Trader as Signer;
use gnomon_engine::config::Config;
use serde_json::{Value, json};
use solana_keypair::Keypair;

/// Quote atoms per USDC.
const USDC: u64 = 1_000_000;
/// The oracle publishes one price of [`replay_prices`] this often.
pub const ORACLE_INTERVAL_MS: u64 = 1_500;
/// A funding tick after this long without another step.
pub const TICK_INTERVAL_MS: u64 = 1_000;
/// Batches are cut this long after their first step: the scenario fits in one.
pub const BATCH_AGE_MS: u64 = 20_000;
/// The rehearsal's batch is cut this much later.
pub const REHEARSAL_EXTRA_MS: u64 = 8_000;
/// How long the scenario waits for the engine to do its part (a credit, a liquidation).
const PATIENCE: Duration = Duration::from_secs(60);

/// Market 0's index prices, one per oracle interval: 100, then a drop to 88 (replayed from
/// the top after the last).
pub fn replay_prices() -> String {
    let mut lines = String::from("# market price (quote atoms per lot)\n");
    let drop = std::iter::repeat_n(88, 16);
    for usdc in [100, 100, 100].into_iter().chain(drop) {
        lines += &format!("0 {}\n", usdc * USDC);
    }
    lines
}

/// A simulated trader: a development key (gnomon-sim's, which signs both its Solana
/// transactions and its engine actions) and its deposit.
#[derive(Clone, Debug)]
pub struct DemoTrader {
    pub name: &'static str,
    pub seed: u32,
    pub deposit: u64,
}

impl DemoTrader {
    pub fn keypair(&self) -> Keypair {
        Keypair::new_from_array(gnomon_sim::key(self.seed).to_bytes())
    }
}

/// A trader's wallet on the demo's chain: its collateral token account.
#[derive(Clone, Debug)]
pub struct Wallet {
    pub trader: DemoTrader,
    pub token: solana_pubkey::Pubkey,
}

#[derive(Debug)]
pub struct Scenario {
    traders: Vec<DemoTrader>,
}

impl Scenario {
    pub fn new() -> Self {
        let trader = |name, seed, usdc: u64| DemoTrader {
            name,
            seed,
            deposit: usdc * USDC,
        };
        Self {
            traders: vec![
                trader("maker", 7_001, 10_000),
                trader("long", 7_002, 150),
                trader("seller", 7_003, 2_000),
                trader("buyer", 7_004, 2_000),
            ],
        }
    }

    pub fn traders(&self) -> &[DemoTrader] {
        &self.traders
    }

    /// Runs the scenario; returns the number of trader actions accepted.
    pub async fn trade(&self, running: &Running, wallets: &[Wallet]) -> Result<usize> {
        running.priced().await?;
        let mut signers = Vec::new();
        for wallet in wallets {
            let account = running.account_of(&wallet.trader).await?;
            signers.push(Signer::new(wallet.trader.seed, account));
        }
        let [maker, long, seller, buyer] = &mut signers[..] else {
            bail!("the scenario has four traders");
        };
        let price = |usdc: u64| usdc * USDC;
        let order = |side, lots, usdc, tif| {
            Action::PlaceOrder(gnomon_sim::limit(0, side, lots, price(usdc), tif))
        };
        let gtc = TimeInForce::GoodTillCancel;
        let mut actions = 0;
        let mut submit = async |signed: Vec<String>| -> Result<()> {
            actions += signed.len();
            running.submit(&signed).await
        };
        submit(vec![
            maker.sign(order(Side::Sell, 10, 100, gtc)),
            maker.sign(order(Side::Buy, 3, 95, gtc)),
        ])
        .await?;
        submit(vec![long.sign(order(
            Side::Buy,
            10,
            100,
            TimeInForce::ImmediateOrCancel,
        ))])
        .await?;
        submit(vec![seller.sign(order(Side::Sell, 5, 101, gtc))]).await?;
        submit(vec![buyer.sign(order(Side::Buy, 5, 101, gtc))]).await?;
        let long_account = long.account;
        running.liquidated(long_account, 10).await?;
        submit(vec![maker.sign(Action::Withdraw {
            amount: 1_000 * USDC,
        })])
        .await?;
        Ok(actions)
    }
}

/// An engine serving its API on loopback.
pub struct Running {
    engine: Arc<Engine>,
    server: tokio::task::JoinHandle<()>,
    http: reqwest::Client,
    base: String,
}

impl Running {
    pub async fn start(config: Config) -> Result<Self> {
        let engine = tokio::task::block_in_place(|| Engine::start(config))?;
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let base = format!("http://{}", listener.local_addr()?);
        let server = tokio::spawn({
            let engine = engine.clone();
            async move {
                if let Err(error) = gnomon_engine::api::serve(engine, listener).await {
                    eprintln!("the engine's API stopped: {error}");
                }
            }
        });
        Ok(Self {
            engine,
            server,
            http: reqwest::Client::new(),
            base,
        })
    }

    /// The engine API's base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    pub async fn stop(self) -> Result<()> {
        self.server.abort();
        let _ = self.server.await;
        tokio::task::block_in_place(|| self.engine.shutdown())
    }

    async fn get(&self, path: &str) -> Result<Value> {
        let response = self.http.get(format!("{}{path}", self.base)).send().await?;
        Ok(response.json().await?)
    }

    async fn submit(&self, actions: &[String]) -> Result<()> {
        let response: Value = self
            .http
            .post(format!("{}/v1/actions", self.base))
            .json(&json!({ "actions": actions }))
            .send()
            .await?
            .json()
            .await?;
        let results = response["results"]
            .as_array()
            .with_context(|| format!("the engine refused the request: {response}"))?;
        for result in results {
            ensure!(
                result["status"] == "accepted",
                "the engine rejected an action: {result}"
            );
        }
        Ok(())
    }

    /// Waits for `done` to hold of the engine, up to [`PATIENCE`].
    async fn until(
        &self,
        what: &str,
        mut done: impl AsyncFnMut(&Self) -> Result<bool>,
    ) -> Result<()> {
        let start = Instant::now();
        while !done(self).await? {
            ensure!(start.elapsed() < PATIENCE, "the engine did not {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    async fn priced(&self) -> Result<()> {
        self.until("publish an oracle price", async |running| {
            let markets = running.get("/v1/markets").await?;
            Ok(markets["markets"][0]["index_price"].as_u64() > Some(0))
        })
        .await
    }

    /// The engine account the trader's deposit opened, once credited.
    async fn account_of(&self, trader: &DemoTrader) -> Result<u32> {
        let owner = hex::encode(gnomon_sim::public_key(trader.seed));
        let mut found = None;
        self.until("credit the deposits", async |running| {
            for account in 0..64u32 {
                let view = running.get(&format!("/v1/accounts/{account}")).await?;
                if view["owner"] == owner.as_str() {
                    found = Some(account);
                    return Ok(true);
                }
            }
            Ok(false)
        })
        .await?;
        found.context("credited")
    }

    /// Waits until the engine has liquidated some of `account`'s long of `lots` lots.
    async fn liquidated(&self, account: u32, lots: i64) -> Result<()> {
        let mut last = Value::Null;
        let waited = self
            .until("liquidate the long", async |running| {
                last = running.get(&format!("/v1/accounts/{account}")).await?;
                Ok(last["positions"].as_array().is_some_and(|positions| {
                    positions.iter().all(|p| p["size"].as_i64() < Some(lots))
                }))
            })
            .await;
        waited.with_context(|| format!("the long's account: {last}"))
    }

    /// Batch `number` once sealed.
    pub async fn sealed(&self, number: u64, patience: Duration) -> Result<SealedBatch> {
        let start = Instant::now();
        loop {
            if let Some(batch) = self.engine.sealed_batch(number) {
                return Ok(batch);
            }
            ensure!(start.elapsed() < patience, "batch {number} was not sealed");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Batch `number` as `GET /v1/batches/{number}` reports it.
    pub async fn batch_detail(&self, number: u64) -> Result<Value> {
        self.get(&format!("/v1/batches/{number}")).await
    }

    /// Batch `number`'s proving status and settlement, as the API reports them.
    pub async fn batch_status(&self, number: u64) -> Result<Value> {
        let detail = self.batch_detail(number).await?;
        let mut status = detail["proof"].clone();
        status["settlement"] = detail["settlement"].clone();
        Ok(status)
    }
}
