//! The settlement driver against the settlement program, run in solana-program-test by the
//! program's own test harness: deposits made on chain are credited by the engine, the sealed
//! batches are proven with the verification core's test circuit (whose verifying key the
//! exchange records), and the engine submits and applies them, through lost confirmations, a
//! refused proof and a restart; and over JSON-RPC, with the engine's own client against the
//! local runtime's endpoint.

#[path = "../../../programs/settlement/tests/harness/mod.rs"]
#[allow(dead_code)]
mod harness;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use gnomon_core::batch::{Ledger as StateLedger, SealedBatch};
use gnomon_core::hash::NativePoseidon2;
use gnomon_engine::batches::BatchStore;
use gnomon_engine::chain::{ChainError, Ledger, signed};
use gnomon_engine::config::{Config, FeedKind};
use gnomon_engine::prover::ProofStore;
use gnomon_engine::settler::Settlements;
use gnomon_engine::{Engine, PERPS_ELF};
use gnomon_executor::Program;
use gnomon_settlement_verifier::batch::BatchHeader;
use gnomon_settlement_verifier::{inputs, test_circuit};
use harness::{Harness, TraderWallet};
use serde_json::json;
use solana_keypair::Keypair;
use solana_program_test::BanksClient;
use solana_signature::Signature;
use solana_signer::Signer as _;

/// The program-test bank as the engine's chain, called from the engine's threads. With
/// `lose_every = n`, every n-th transaction is executed but reported lost, as a confirmation
/// that timed out.
struct Bank {
    client: BanksClient,
    runtime: tokio::runtime::Handle,
    sent: AtomicUsize,
    lose_every: usize,
}

impl Bank {
    fn new(harness: &Harness, lose_every: usize) -> Arc<Self> {
        Arc::new(Self {
            client: harness.chain.banks(),
            runtime: tokio::runtime::Handle::current(),
            sent: AtomicUsize::new(0),
            lose_every,
        })
    }
}

impl Ledger for Bank {
    fn account_data(&self, address: &Pubkey) -> Result<Option<Vec<u8>>, ChainError> {
        let client = self.client.clone();
        let account = self.runtime.block_on(client.get_account(*address));
        account
            .map(|account| account.map(|account| account.data))
            .map_err(|error| ChainError::Rpc(error.to_string()))
    }

    fn send(&self, instructions: &[Instruction], payer: &Keypair) -> Result<Signature, ChainError> {
        let client = self.client.clone();
        let blockhash = self
            .runtime
            .block_on(client.get_latest_blockhash())
            .map_err(|error| ChainError::Rpc(error.to_string()))?;
        let transaction = signed(instructions, payer, blockhash);
        let signature = transaction.signatures[0];
        self.runtime
            .block_on(client.process_transaction(transaction))
            .map_err(|error| ChainError::Transaction(error.to_string()))?;
        let sent = self.sent.fetch_add(1, Ordering::Relaxed) + 1;
        if self.lose_every > 0 && sent.is_multiple_of(self.lose_every) {
            return Err(ChainError::Rpc("the confirmation timed out".into()));
        }
        Ok(signature)
    }
}

fn config(data: &Path) -> Config {
    let mut config = Config::default();
    config.storage.data_dir = data.to_path_buf();
    config.api.dev_faucet = false;
    config.prover.workers = 0;
    config.oracle.feed = FeedKind::None;
    config.chain.poll_ms = 10;
    config.batching.max_steps = 12;
    config.batching.max_age_ms = 100;
    config.batching.tick_interval_ms = 3_600_000;
    config
}

/// Writes the Groth16 proof of `batch` where the engine's Groth16 job would (proof, then
/// public inputs), made with the test circuit's key; `tamper` flips a bit of the proof.
fn write_proof(harness: &Harness, proofs: &ProofStore, batch: &SealedBatch, tamper: bool) {
    let header = BatchHeader::from_bytes(&batch.output.header());
    let number = batch.input.batch_number;
    let proof = test_circuit::prove(&harness.pk, &harness.program, &header, number);
    let inputs = inputs::public_inputs(&harness.program, &header).unwrap();
    let mut bytes = [proof.to_bytes().as_slice(), &inputs[0], &inputs[1]].concat();
    if tamper {
        bytes[70] ^= 1;
    }
    let path = proofs.groth16_path(number);
    std::fs::write(path.with_extension("tmp"), bytes).unwrap();
    std::fs::rename(path.with_extension("tmp"), path).unwrap();
}

/// Proves each batch as the engine seals it, until the chain has consumed `deposits`
/// deposits and applied every accepted batch. Returns the batches proven.
async fn settle_until(harness: &mut Harness, data: &Path, from_batch: u64, deposits: u64) -> u64 {
    let store = BatchStore::open(&data.join("batches")).unwrap();
    let proofs = ProofStore::open(&data.join("proofs")).unwrap();
    let mut next = from_batch;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        while let Some(batch) = store.read(next).unwrap() {
            write_proof(harness, &proofs, &batch, false);
            next += 1;
        }
        let exchange = harness.exchange_state().await;
        if exchange.consumed_deposits == deposits && !exchange.applying() {
            return next;
        }
        assert!(
            Instant::now() < deadline,
            "the chain stopped at batch {} ({} deposits consumed)",
            exchange.last_batch,
            exchange.consumed_deposits
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every trader account on chain: owner and settled collateral (what claims and the escape
/// hatch go by, staged entries of applied batches included).
async fn settled_collateral(harness: &mut Harness) -> Vec<(Pubkey, i64)> {
    let applied = harness.exchange_state().await.applied_batch;
    let mut traders = Vec::new();
    for account in 0..32 {
        if let Some(mut trader) = harness.trader_state(account).await {
            trader.settle(applied).unwrap();
            traders.push((trader.owner, trader.collateral));
        }
    }
    traders.sort();
    traders
}

/// Starts the engine on `data`, crediting deposits from and settling on `harness`'s chain.
fn start(harness: &Harness, data: &Path, lose_every: usize) -> Arc<Engine> {
    let engine = Engine::start(config(data)).unwrap();
    engine
        .watch_deposits(Bank::new(harness, 0), harness.exchange)
        .unwrap();
    engine
        .settle(
            Bank::new(harness, lose_every),
            harness.exchange,
            harness.operator.insecure_clone(),
        )
        .unwrap();
    engine
}

/// The settlement program's exchange for the engine that `config(data)` starts: its exchange
/// id, its genesis root, the committed perps guest.
async fn exchange_of_engine(data: &Path) -> Harness {
    let genesis = config(data).genesis().unwrap();
    let exchange_id = genesis.global().config.exchange_id;
    let genesis_root = StateLedger::new(genesis, NativePoseidon2::default()).root();
    let program = Program::from_elf(PERPS_ELF)
        .unwrap()
        .commitment()
        .to_bytes();
    Harness::for_exchange(
        exchange_id,
        borsh::to_vec(&genesis_root).unwrap().try_into().unwrap(),
        program,
    )
    .await
}

/// Wallets funded with `amounts`, each deposited into the exchange.
async fn depositors(harness: &mut Harness, amounts: &[u64]) -> Vec<(TraderWallet, u64)> {
    let mut wallets = Vec::new();
    for &amount in amounts {
        let wallet = harness.trader_wallet(amount).await;
        harness.deposit(&wallet, amount).await;
        wallets.push((wallet, amount));
    }
    wallets
}

/// What the chain must hold once `wallets`' deposits are settled, sorted by owner.
fn deposited(wallets: &[(TraderWallet, u64)]) -> Vec<(Pubkey, i64)> {
    let mut expected: Vec<(Pubkey, i64)> = wallets
        .iter()
        .map(|(wallet, amount)| (wallet.keypair.pubkey(), *amount as i64))
        .collect();
    expected.sort();
    expected
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proven_batches_settle_in_order_through_lost_confirmations_a_bad_proof_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let mut h = exchange_of_engine(data).await;

    // Ten traders deposit before the engine starts: batch 1 credits them all, more entries
    // than one apply chunk holds. Every second transaction the engine sends (the first
    // chunk) lands but is reported lost.
    let amounts: Vec<u64> = (1..=10).map(|index| 1_000_000 * index).collect();
    let mut wallets = depositors(&mut h, &amounts).await;
    let engine = start(&h, data, 2);
    let next = settle_until(&mut h, data, 1, 10).await;
    tokio::task::block_in_place(|| engine.shutdown()).unwrap();
    assert_eq!(settled_collateral(&mut h).await, deposited(&wallets));

    // Two more deposits while the engine is down; after the restart, the first proof of the
    // next batch is tampered with: the engine refuses to send it and the chain stays put.
    let more = depositors(&mut h, &[7_000_000, 8_000_000]).await;
    let engine = start(&h, data, 0);
    let store = BatchStore::open(&data.join("batches")).unwrap();
    let proofs = ProofStore::open(&data.join("proofs")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let sealed = loop {
        if let Some(batch) = store.read(next).unwrap() {
            break batch;
        }
        assert!(Instant::now() < deadline, "batch {next} was not sealed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let before = h.exchange_state().await.last_batch;
    write_proof(&h, &proofs, &sealed, true);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        h.exchange_state().await.last_batch,
        before,
        "a bad proof was sent"
    );
    settle_until(&mut h, data, next, 12).await;
    tokio::task::block_in_place(|| engine.shutdown()).unwrap();
    wallets.extend(more);
    assert_eq!(settled_collateral(&mut h).await, deposited(&wallets));

    // The engine recorded every batch's transactions, and knows each one settled.
    let exchange = h.exchange_state().await;
    let records = Settlements::open(&data.join("settlements")).unwrap().all();
    assert_eq!(
        records.keys().copied().collect::<Vec<_>>(),
        (1..=exchange.applied_batch).collect::<Vec<_>>()
    );
    assert!(records.values().all(|record| record.settled));
    assert!(records[&1].submitted.is_some());
    assert_eq!(
        records[&1].applied.len(),
        1,
        "ten balances in two chunks, the first one's confirmation lost"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_configured_with_an_rpc_endpoint_credits_deposits_and_settles_over_json_rpc() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let mut h = exchange_of_engine(data).await;
    let wallets = depositors(&mut h, &[3_000_000, 4_000_000, 5_000_000]).await;

    let operator = data.join("operator.json");
    std::fs::write(&operator, json!(h.operator.to_bytes().to_vec()).to_string()).unwrap();
    let mut config = config(data);
    let endpoint = h.chain.serve_json_rpc("127.0.0.1:0".parse().unwrap()).await;
    config.chain.rpc_url = Some(endpoint.unwrap());
    config.chain.exchange_address = Some(h.exchange.to_string());
    config.chain.operator_keypair = Some(operator);
    let engine = tokio::task::block_in_place(|| Engine::start(config)).unwrap();
    settle_until(&mut h, data, 1, 3).await;
    tokio::task::block_in_place(|| engine.shutdown()).unwrap();
    assert_eq!(settled_collateral(&mut h).await, deposited(&wallets));
    let records = Settlements::open(&data.join("settlements")).unwrap().all();
    assert!(records[&1].submitted.is_some() && records[&1].settled);
}
