//! `gnomon-engine`: the exchange service (also `gnomon engine`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use gnomon_engine::config::Config;

/// Runs the Gnomon engine: trader API, sequencer, write-ahead log, batching, proving jobs.
/// With no configuration it runs a local demo on 127.0.0.1:8080.
#[derive(Debug, Parser)]
#[command(version)]
struct Arguments {
    /// TOML configuration file (see engine/service/src/config.rs for every key).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Overrides api.listen.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Overrides storage.data_dir.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let arguments = Arguments::parse();
    let mut config = match &arguments.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(listen) = arguments.listen {
        config.api.listen = listen;
    }
    if let Some(data_dir) = arguments.data_dir {
        config.storage.data_dir = data_dir;
    }
    gnomon_engine::run(config)
}
