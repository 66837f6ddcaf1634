//! `gnomon-localnet`: the local runtime as a server, for clients that expect a validator (the
//! settlement program's TypeScript suite, migrations/deploy.ts): Solana's JSON-RPC on
//! `--rpc-port`, its subscriptions on the port after it, a funded wallet, until stopped.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::Parser;
use gnomon_localnet::Localnet;
use solana_keypair::{Keypair, read_keypair_file, write_keypair_file};
use solana_signer::Signer;

/// What a wallet is funded with, as solana-test-validator funds its mint: plenty.
const WALLET_LAMPORTS: u64 = 1_000_000_000_000;

#[derive(Parser)]
#[command(about = "A local Solana runtime with the settlement program, served over JSON-RPC")]
struct Args {
    /// JSON-RPC on this port of the loopback address, subscriptions on the next (0: the first
    /// free pair).
    #[arg(long, default_value_t = 8899)]
    rpc_port: u16,
    /// A keypair file (Solana CLI format) to fund; created if it does not exist.
    #[arg(long)]
    wallet: Option<PathBuf>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut localnet = Localnet::start().await;
    if let Some(path) = &args.wallet {
        let wallet = if path.exists() {
            read_keypair_file(path).map_err(|error| format!("{}: {error}", path.display()))?
        } else {
            let wallet = Keypair::new();
            write_keypair_file(&wallet, path)
                .map_err(|error| format!("{}: {error}", path.display()))?;
            wallet
        };
        localnet.fund(&wallet.pubkey(), WALLET_LAMPORTS).await?;
        println!("wallet        {} ({})", wallet.pubkey(), path.display());
    }
    let url = localnet
        .serve_json_rpc(SocketAddr::from((Ipv4Addr::LOCALHOST, args.rpc_port)))
        .await?;
    println!("program       {}", settlement::ID);
    println!("rpc           {url} (subscriptions on the next port)");
    println!("ready");
    tokio::signal::ctrl_c().await?;
    Ok(())
}
