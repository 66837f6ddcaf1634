//! `gnomon-engine`: the exchange service (also `gnomon engine`).

use clap::Parser;
use gnomon_engine::EngineArgs;

/// Runs the Gnomon engine: trader API, sequencer, write-ahead log, batching, proving jobs.
/// With no configuration it runs a local demo on 127.0.0.1:8080.
#[derive(Debug, Parser)]
#[command(version)]
struct Arguments {
    #[command(flatten)]
    engine: EngineArgs,
}

fn main() -> anyhow::Result<()> {
    Arguments::parse().engine.run()
}
