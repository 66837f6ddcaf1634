//! `gnomon demo`: the whole path on one machine, from trades to a Groth16-verified settlement
//! on a local Solana runtime.
//!
//! 1. The local runtime (`gnomon-localnet`) starts and serves JSON-RPC; the collateral mint is
//!    created and four simulated traders get SOL and tokens.
//! 2. A rehearsal fixes the Groth16 circuit: the scenario runs once on a scratch exchange
//!    (the engine executes the batch but proves nothing), and the shape that holds every
//!    segment of its batch joins the catalog, beside the bounding shape that holds every
//!    segment of any batch (so the engine can prove whatever trading follows). The
//!    rehearsal's batch is cut later than the real one, so it holds at least the real batch's
//!    steps of every kind, and its shape proves the real batch cheaply.
//! 3. `setup`: the aggregation keys of the catalog, and the single-party development setup of
//!    the Groth16 circuit that verifies its final proofs (reused when `--work` already holds
//!    keys for the same circuit).
//! 4. The exchange is initialized on chain with the perps guest's commitment, the key of that
//!    setup and the engine's genesis root; the traders deposit.
//! 5. The engine starts on the chain (deposits credited from the program's queue, an
//!    operator key to settle) with proving, aggregation and the wrap on, and the scenario
//!    runs against its API: fills, funding ticks, a price drop and a liquidation, a
//!    withdrawal.
//! 6. Batch 1 is proven (segments, aggregation, wrap-ready, Groth16), submitted and applied by
//!    the engine's settler; the demo reads the settled balances back from the chain, checks
//!    them against the engine's batch output, claims the withdrawal, and writes the report
//!    (`report.json`, `report.md`).

mod report;
mod scenario;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use gnomon_core::batch::{Ledger, SealedBatch};
use gnomon_core::hash::NativePoseidon2;
use gnomon_engine::PERPS_ELF;
use gnomon_engine::config::{Config, FeedKind};
use gnomon_executor::{Options, Program};
use gnomon_localnet::Localnet;
use gnomon_machine::config::{Inner, StarkParameters};
use gnomon_machine::segment::{MachineKeys, write_catalog};
use gnomon_wrap::keys::{KeysDir, aggregated_circuit};
use gnomon_wrap::verifier::VerifierShape;
use settlement::InitializeParams;
use settlement::state::{Exchange, Trader};
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::aggregate;
use report::{Report, Stage};
use scenario::{Scenario, Wallet};

/// `gnomon demo`'s options.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Where the demo keeps its engines, keys and report (kept afterwards; keys in it are
    /// reused by the next run).
    #[arg(long, default_value = "gnomon-demo")]
    pub work: PathBuf,
    /// Prove with the test parameters (a handful of queries, no security): the whole path in
    /// minutes, for a look at it.
    #[arg(long)]
    pub insecure_test_parameters: bool,
    /// Segments hold at most 2^k cycles.
    #[arg(long, default_value_t = 20)]
    pub segment_log2: u32,
    /// Once the batch is settled and its balances checked, leave the withdrawal unclaimed and
    /// keep the engine and the local runtime serving (their URLs printed, then `serving`)
    /// until stopped: for the web app, whose traders' keys are the scenario's (`?seed=7001`
    /// is the maker, who withdrew).
    #[arg(long)]
    pub serve: bool,
}

/// How long the batch may take to be proven and settled.
const SETTLE_DEADLINE: Duration = Duration::from_secs(3 * 3600);

pub fn run(args: &DemoArgs) -> Result<()> {
    if std::env::var_os("RUST_LOG").is_none() {
        // SAFETY: no other thread exists yet to read the environment concurrently.
        unsafe { std::env::set_var("RUST_LOG", "error") };
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = runtime.block_on(demo(args))?;
    report.write(&args.work)?;
    println!("{}", report.markdown());
    println!(
        "report        {} and {}",
        args.work.join("report.json").display(),
        args.work.join("report.md").display()
    );
    Ok(())
}

async fn demo(args: &DemoArgs) -> Result<Report> {
    std::fs::create_dir_all(&args.work)?;
    let work = args.work.canonicalize()?;
    for stale in ["rehearsal", "engine"] {
        let _ = std::fs::remove_dir_all(work.join(stale));
    }
    let parameters = if args.insecure_test_parameters {
        StarkParameters::testing()
    } else {
        StarkParameters::production()
    };
    let mut report = Report::new(args.insecure_test_parameters, args.segment_log2);

    println!("== a local Solana runtime with the settlement program");
    let mut chain = Localnet::start().await;
    let rpc_url = chain
        .serve_json_rpc("127.0.0.1:0".parse()?)
        .await
        .context("serving JSON-RPC")?;
    println!("rpc           {rpc_url}");
    let scenario = Scenario::new();

    println!("== rehearsal: the scenario on a scratch exchange fixes the circuit's catalog");
    let started = Instant::now();
    let catalog = rehearse(&mut chain, &rpc_url, &scenario, &work, args).await?;
    report.stage(Stage::Rehearsal, started.elapsed());
    let catalog_path = work.join("catalog.json");
    write_catalog(&catalog_path, &catalog)?;
    println!("catalog       {catalog:?}");

    println!("== setup: aggregation keys and the Groth16 circuit's development keys");
    let keys_dir = work.join("keys");
    let started = Instant::now();
    let (verifying_key, reused) =
        tokio::task::block_in_place(|| setup(&catalog, parameters, &keys_dir))?;
    report.stage(
        if reused {
            Stage::SetupReused
        } else {
            Stage::Setup
        },
        started.elapsed(),
    );
    println!("verifying key {}", hex::encode(verifying_key.id()));

    println!("== the exchange on chain; the traders deposit");
    let operator = Keypair::new();
    let operator_path = work.join("operator.json");
    std::fs::write(
        &operator_path,
        serde_json::to_string(&operator.to_bytes().to_vec())?,
    )?;
    let config = engine_config(&work.join("engine"), args);
    let (mint, wallets) =
        open_exchange(&mut chain, &config, &scenario, &operator, &verifying_key).await?;
    let exchange = settlement::client::exchange_address(&mint);
    println!("exchange      {exchange} (collateral mint {mint})");

    println!("== the engine trades, proves and settles");
    let mut config = config;
    config.chain.rpc_url = Some(rpc_url.clone());
    config.chain.public_rpc_url = Some(rpc_url.clone());
    config.chain.exchange_address = Some(exchange.to_string());
    config.chain.operator_keypair = Some(operator_path);
    config.prover.workers = 1;
    config.prover.prove = true;
    config.prover.aggregate = true;
    config.prover.catalog = Some(catalog_path);
    config.prover.groth16_keys = Some(keys_dir);
    let proof_dir = config.proof_dir();
    let trading = Instant::now();
    let running = scenario::Running::start(config).await?;
    let actions = scenario.trade(&running, &wallets).await?;
    report.actions = actions;
    let batch = running.sealed(1, Duration::from_secs(120)).await?;
    report.stage(Stage::Sealed, trading.elapsed());
    report.batch(&batch);
    wait_for_settlement(&running, &mut chain, &exchange, &mut report).await?;
    // What the web app shows a trader: the proof the chain accepted, for this batch's output.
    let detail = running.batch_detail(1).await?;
    ensure!(
        detail["groth16"]["public_inputs"][1] == hex::encode(batch.output.digest()),
        "GET /v1/batches/1 shows no Groth16 proof of the batch's output: {}",
        detail["groth16"]
    );

    println!("== settled balances, read back from the chain");
    check_settled(&mut chain, &exchange, &batch, &wallets, &mut report).await?;
    let proofs = gnomon_engine::prover::ProofStore::open(&proof_dir)?;
    report.final_proof_bytes = Some(std::fs::metadata(proofs.final_path(1))?.len());
    if args.serve {
        report.write(&work)?;
        println!("engine        {}", running.url());
        println!("rpc           {rpc_url}");
        println!("serving       until stopped (ctrl-c); the withdrawal is left to claim");
        tokio::signal::ctrl_c().await?;
    } else {
        claim(&mut chain, &mint, &batch, &wallets, &mut report).await?;
    }
    running.stop().await?;
    Ok(report)
}

/// The engine's configuration for the demo: one market at 100, the scenario's oracle
/// prices, batches cut by age.
fn engine_config(data: &Path, args: &DemoArgs) -> Config {
    let mut config = Config::default();
    config.storage.data_dir = data.to_path_buf();
    config.api.listen = "127.0.0.1:0".parse().expect("an address");
    config.api.dev_faucet = false;
    config.markets.start_prices_usdc = vec![100];
    config.oracle.feed = FeedKind::Replay;
    config.oracle.replay_file = Some(data.with_extension("prices"));
    config.oracle.interval_ms = scenario::ORACLE_INTERVAL_MS;
    config.batching.max_steps = 10_000;
    config.batching.max_age_ms = scenario::BATCH_AGE_MS;
    config.batching.tick_interval_ms = scenario::TICK_INTERVAL_MS;
    config.chain.poll_ms = 100;
    config.prover.workers = 0;
    config.prover.segment_log2 = args.segment_log2;
    config.prover.insecure_test_parameters = args.insecure_test_parameters;
    config
}

/// Runs the scenario on a scratch exchange whose engine only seals batches, and returns the
/// catalog of its first batch: the shape that holds every one of its segments.
async fn rehearse(
    chain: &mut Localnet,
    rpc_url: &str,
    scenario: &Scenario,
    work: &Path,
    args: &DemoArgs,
) -> Result<Vec<Vec<usize>>> {
    let mut config = engine_config(&work.join("rehearsal"), args);
    // Cut later than the real batch: more oracle updates and ticks, the same trading.
    config.batching.max_age_ms = scenario::BATCH_AGE_MS + scenario::REHEARSAL_EXTRA_MS;
    let scratch_operator = Keypair::new();
    // Another circuit's key (the verification core's test circuit): the scratch exchange
    // never settles.
    let (mint, wallets) = open_exchange(
        chain,
        &config,
        scenario,
        &scratch_operator,
        &gnomon_settlement_verifier::vk::VERIFYING_KEY,
    )
    .await?;
    config.chain.rpc_url = Some(rpc_url.to_owned());
    config.chain.exchange_address = Some(settlement::client::exchange_address(&mint).to_string());
    let running = scenario::Running::start(config).await?;
    scenario.trade(&running, &wallets).await?;
    let batch = running.sealed(1, Duration::from_secs(120)).await?;
    running.stop().await?;
    tokio::task::block_in_place(|| shapes_of(&batch, args.segment_log2))
}

/// The catalog of the perps guest's segments: the shape that holds every segment of
/// `batch`, which proves batches like it cheaply, and the bounding shape, which holds every
/// segment any batch can have.
fn shapes_of(batch: &SealedBatch, segment_log2: u32) -> Result<Vec<Vec<usize>>> {
    let program = Program::from_elf(PERPS_ELF)?;
    let segment_size = gnomon_executor::SegmentSize::new(segment_log2)?;
    let options = Options {
        segment_size,
        ..Options::default()
    };
    let (execution, segments) = gnomon_executor::trace(
        &program,
        &gnomon_engine::prover::guest_input(batch),
        &options,
    );
    ensure!(
        execution.succeeded(),
        "the rehearsal's batch does not run in the guest: {:?}",
        execution.exit
    );
    let machine = aggregate::shape_keys(&program);
    let ceiling = machine
        .ceiling(&segments)
        .context("the rehearsal's batch has no segments")?;
    Ok(vec![ceiling, machine.bounding_shape(segment_size)])
}

/// The Groth16 keys of the circuit that wraps final proofs aggregated at `catalog`, set up in
/// `dir` unless it already holds them; returns the verifying key and whether it was reused.
fn setup(
    catalog: &[Vec<usize>],
    parameters: StarkParameters,
    dir: &Path,
) -> Result<(gnomon_settlement_verifier::verify::VerifyingKey, bool)> {
    let program = Program::from_elf(PERPS_ELF)?;
    let machine = MachineKeys::<Inner>::new(&program, parameters);
    let (_, wrap_ready) = aggregate::keys(&machine, catalog, parameters, aggregate::Use::Verify)?;
    let shape = VerifierShape::aggregated(&wrap_ready, &machine)?;
    let circuit = aggregated_circuit(&machine, &wrap_ready, catalog, &shape);
    let keys = KeysDir::new(dir);
    if keys.check_circuit(&circuit).is_ok()
        && let Ok(verifying_key) = keys.verifying_key()
    {
        println!("setup         reusing the keys in {}", dir.display());
        return Ok((verifying_key, true));
    }
    println!("setup         single-party development keys: never for real collateral");
    let report = keys.setup(&shape, &circuit)?;
    println!(
        "setup         {} variables, proving key {} MB",
        report.variables,
        report.proving_key_bytes / 1_000_000
    );
    Ok((report.verifying_key, false))
}

/// Creates a collateral mint and its exchange (for the engine `config` starts, batches
/// proven by the perps guest under `verifying_key`, settled by `operator`), writes the
/// scenario's oracle prices, funds the scenario's traders and deposits their collateral.
/// Returns the mint and the wallets.
async fn open_exchange(
    chain: &mut Localnet,
    config: &Config,
    scenario: &Scenario,
    operator: &Keypair,
    verifying_key: &gnomon_settlement_verifier::verify::VerifyingKey,
) -> Result<(solana_pubkey::Pubkey, Vec<Wallet>)> {
    let mint = initialize_exchange(chain, config, operator, verifying_key).await?;
    std::fs::create_dir_all(&config.storage.data_dir)?;
    if let Some(prices) = &config.oracle.replay_file {
        std::fs::write(prices, scenario::replay_prices())?;
    }
    let mut wallets = Vec::new();
    for trader in scenario.traders() {
        let keypair = trader.keypair();
        chain.fund(&keypair.pubkey(), 1_000_000_000).await?;
        let token = chain
            .associated_token_account(&mint, &keypair.pubkey(), trader.deposit)
            .await?;
        chain
            .send(
                &[settlement::client::deposit(
                    &keypair.pubkey(),
                    &mint,
                    &token,
                    trader.deposit,
                )],
                &[&keypair],
            )
            .await
            .with_context(|| format!("{}'s deposit", trader.name))?;
        wallets.push(Wallet {
            trader: trader.clone(),
            token,
        });
    }
    Ok((mint, wallets))
}

/// Creates a collateral mint (6 decimals, the payer its authority) and the exchange of the
/// engine `config` starts: its exchange id and genesis root, the perps guest's commitment,
/// `verifying_key`, `operator`. Returns the mint.
pub(crate) async fn initialize_exchange(
    chain: &mut Localnet,
    config: &Config,
    operator: &Keypair,
    verifying_key: &gnomon_settlement_verifier::verify::VerifyingKey,
) -> Result<solana_pubkey::Pubkey> {
    let admin = chain.payer();
    chain.fund(&operator.pubkey(), 10_000_000_000).await?;
    let mint = chain.create_mint(6).await?;
    let genesis = config.genesis()?;
    let exchange_id = genesis.global().config.exchange_id;
    let genesis_root = Ledger::new(genesis, NativePoseidon2::default()).root();
    let params = InitializeParams {
        exchange_id,
        operator: operator.pubkey(),
        program_commitment: Program::from_elf(PERPS_ELF)?.commitment().to_bytes(),
        genesis_root: borsh::to_vec(&genesis_root)?
            .try_into()
            .map_err(|_| anyhow::anyhow!("a state root is 32 bytes"))?,
        verifying_key: verifying_key.into(),
        escape_delay_slots: 432_000,
        rotation_delay_slots: 216_000,
    };
    chain
        .send(
            &[settlement::client::initialize_exchange(
                &admin.pubkey(),
                &mint,
                &params,
            )],
            &[&admin],
        )
        .await
        .context("initializing the exchange")?;
    Ok(mint)
}

/// Follows batch 1 from its sealing through proving and settlement, timing each stage as the
/// engine reports it, until the chain has applied it.
async fn wait_for_settlement(
    running: &scenario::Running,
    chain: &mut Localnet,
    exchange: &solana_pubkey::Pubkey,
    report: &mut Report,
) -> Result<()> {
    let started = Instant::now();
    // The worker takes the batch as soon as it is sealed.
    let mut stage = Stage::Executing;
    let mut entered = Instant::now();
    loop {
        let status = running.batch_status(1).await?;
        let now = report::stage_of(&status);
        if let Some(reason) = status["reason"].as_str() {
            bail!("batch 1 failed: {reason}");
        }
        if now != stage {
            report.stage(stage, entered.elapsed());
            println!("batch 1       {}", now.name());
            report.proven(&status);
            stage = now;
            entered = Instant::now();
        }
        if stage == Stage::Settling {
            let state: Exchange = read_account(chain, exchange)
                .await?
                .context("the exchange account")?;
            if state.applied_batch >= 1 {
                report.stage(Stage::Settling, entered.elapsed());
                report.settlement = Some(status["settlement"].clone());
                return Ok(());
            }
        }
        ensure!(
            started.elapsed() < SETTLE_DEADLINE,
            "batch 1 was not settled in {SETTLE_DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn read_account<T: anchor_lang::AccountDeserialize>(
    chain: &mut Localnet,
    address: &solana_pubkey::Pubkey,
) -> Result<Option<T>> {
    let Some(data) = chain.account_data(address).await? else {
        return Ok(None);
    };
    Ok(Some(T::try_deserialize(&mut &data[..])?))
}

/// Reads every trader of the batch from the chain and checks the settled collateral against
/// the batch's output.
async fn check_settled(
    chain: &mut Localnet,
    exchange: &solana_pubkey::Pubkey,
    batch: &SealedBatch,
    wallets: &[Wallet],
    report: &mut Report,
) -> Result<()> {
    let state: Exchange = read_account(chain, exchange)
        .await?
        .context("the exchange account")?;
    // The admin owns the insurance fund's account.
    let insurance_owner = gnomon_sim::public_key(gnomon_sim::ADMIN_SEED);
    for entry in &batch.output.balances {
        let address = settlement::client::trader_address(exchange, entry.account);
        let mut trader: Trader = read_account(chain, &address)
            .await?
            .with_context(|| format!("account {} is not on chain", entry.account))?;
        trader.settle(state.applied_batch)?;
        ensure!(
            trader.collateral == entry.collateral && trader.owner.to_bytes() == entry.owner,
            "account {}: the chain holds {} for {}, the engine settled {}",
            entry.account,
            trader.collateral,
            trader.owner,
            entry.collateral
        );
        let name = match wallets
            .iter()
            .find(|wallet| wallet.trader.keypair().pubkey() == trader.owner)
        {
            Some(wallet) => wallet.trader.name,
            None if trader.owner.to_bytes() == insurance_owner => "insurance fund",
            None => "another account",
        };
        report.balance(name, entry.account, trader.collateral);
    }
    report.state_root = Some(
        state
            .state_root
            .chunks_exact(4)
            .map(|word| {
                format!(
                    "{:08x}",
                    u32::from_le_bytes([word[0], word[1], word[2], word[3]])
                )
            })
            .collect(),
    );
    Ok(())
}

/// Claims every withdrawal the batch released, into the owners' token accounts.
async fn claim(
    chain: &mut Localnet,
    mint: &solana_pubkey::Pubkey,
    batch: &SealedBatch,
    wallets: &[Wallet],
    report: &mut Report,
) -> Result<()> {
    for withdrawal in &batch.output.withdrawals {
        let Some(wallet) = wallets
            .iter()
            .find(|wallet| wallet.trader.keypair().pubkey().to_bytes() == withdrawal.owner)
        else {
            continue;
        };
        let keypair = wallet.trader.keypair();
        let before = chain.token_balance(&wallet.token).await?;
        chain
            .send(
                &[settlement::client::claim_withdrawal(
                    &keypair.pubkey(),
                    mint,
                    withdrawal.account,
                    &wallet.token,
                )],
                &[&keypair],
            )
            .await
            .with_context(|| format!("{}'s claim", wallet.trader.name))?;
        let after = chain.token_balance(&wallet.token).await?;
        ensure!(
            after.checked_sub(before) == Some(withdrawal.amount),
            "{}'s token account went from {before} to {after} claiming {}",
            wallet.trader.name,
            withdrawal.amount
        );
        report.claimed(wallet.trader.name, withdrawal.amount);
    }
    Ok(())
}
