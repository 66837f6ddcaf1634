//! `gnomon localnet`: a local Solana runtime with the settlement program and an exchange
//! opened for an engine configuration, served over JSON-RPC until stopped: what the engine's
//! `[chain]` section and the web app's deposits and claims talk to on a machine without a
//! validator.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{Context, Result};
use gnomon_engine::config::Config;
use gnomon_localnet::Localnet;
use gnomon_wrap::keys::KeysDir;
use solana_keypair::{Keypair, write_keypair_file};
use solana_pubkey::Pubkey;
use solana_signer::Signer;

use crate::demo::initialize_exchange;

/// Token atoms per whole token: the collateral mint has 6 decimals, as USDC.
const TOKEN_ONE: u64 = 1_000_000;
/// SOL each funded trader gets for transaction fees and rent.
const TRADER_LAMPORTS: u64 = 10_000_000_000;

/// `gnomon localnet`'s options.
#[derive(Debug, clap::Args)]
pub struct LocalnetArgs {
    /// The engine's configuration (TOML; the defaults without it): its genesis fixes the
    /// exchange id and the genesis root the exchange is opened with.
    #[arg(long)]
    engine_config: Option<PathBuf>,
    /// JSON-RPC on this port of the loopback address, subscriptions on the next (0: the first
    /// free pair).
    #[arg(long, default_value_t = 8899)]
    rpc_port: u16,
    /// Where to write the exchange operator's keypair (the engine's `chain.operator_keypair`).
    #[arg(long)]
    operator: PathBuf,
    /// A `gnomon setup --aggregate` keys directory whose verifying key the exchange takes.
    /// Without it, the exchange takes the verification core's test key, and no batch of the
    /// perps guest can settle on it (deposits, withdrawal requests and claims of what the
    /// escape hatch releases still work).
    #[arg(long)]
    keys: Option<PathBuf>,
    /// A trader's wallet to fund, `ADDRESS=TOKENS`: SOL for fees, and TOKENS whole collateral
    /// tokens in its associated token account. Repeatable.
    #[arg(long = "trader", value_name = "ADDRESS=TOKENS")]
    traders: Vec<Grant>,
}

/// A wallet and the whole tokens it gets.
#[derive(Clone, Debug)]
struct Grant {
    owner: Pubkey,
    tokens: u64,
}

impl FromStr for Grant {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (owner, tokens) = text
            .split_once('=')
            .ok_or_else(|| format!("{text:?} is not ADDRESS=TOKENS"))?;
        Ok(Self {
            owner: owner
                .parse()
                .map_err(|_| format!("{owner:?} is not a base58 address"))?,
            tokens: tokens
                .parse()
                .map_err(|_| format!("{tokens:?} is not a whole number of tokens"))?,
        })
    }
}

pub fn run(args: &LocalnetArgs) -> Result<()> {
    if std::env::var_os("RUST_LOG").is_none() {
        // The bank logs every instruction otherwise.
        // SAFETY: no other thread exists yet to read the environment concurrently.
        unsafe { std::env::set_var("RUST_LOG", "error") };
    }
    let config = match &args.engine_config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let verifying_key = match &args.keys {
        Some(dir) => KeysDir::new(dir).verifying_key()?,
        None => gnomon_settlement_verifier::vk::VERIFYING_KEY,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut chain = Localnet::start().await;
        let operator = Keypair::new();
        write_keypair_file(&operator, &args.operator)
            .map_err(|error| anyhow::anyhow!("{}: {error}", args.operator.display()))?;
        let mint = initialize_exchange(&mut chain, &config, &operator, &verifying_key).await?;
        for grant in &args.traders {
            let tokens = grant
                .tokens
                .checked_mul(TOKEN_ONE)
                .context("too many tokens")?;
            chain.fund(&grant.owner, TRADER_LAMPORTS).await?;
            let account = chain
                .associated_token_account(&mint, &grant.owner, tokens)
                .await?;
            println!(
                "trader        {} ({} tokens in {account})",
                grant.owner, grant.tokens
            );
        }
        let url = chain
            .serve_json_rpc(SocketAddr::from((Ipv4Addr::LOCALHOST, args.rpc_port)))
            .await?;
        println!("program       {}", settlement::ID);
        println!("mint          {mint}");
        println!(
            "exchange      {}",
            settlement::client::exchange_address(&mint)
        );
        println!(
            "operator      {} ({})",
            operator.pubkey(),
            args.operator.display()
        );
        println!("rpc           {url} (subscriptions on the next port)");
        println!("ready");
        tokio::signal::ctrl_c().await?;
        Ok(())
    })
}
