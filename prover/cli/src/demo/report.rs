//! What the demo measured: each stage's wall time, the batch, the proofs and the settled
//! balances, as JSON (`report.json`) and as the markdown table the README quotes
//! (`report.md`).

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use gnomon_core::batch::SealedBatch;
use serde::Serialize;
use serde_json::Value;

/// A stage of the demo, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Rehearsal,
    Setup,
    SetupReused,
    /// From the engine's start until batch 1 is sealed: the scenario runs in it, then the
    /// batch waits for its age.
    Sealed,
    Executing,
    Proving,
    Aggregating,
    WrapReady,
    Wrapping,
    Settling,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Self::Rehearsal => "rehearsal (scenario on a scratch exchange, catalog)",
            Self::Setup => "setup (aggregation keys, Groth16 development keys)",
            Self::SetupReused => "setup (keys of an earlier run reused)",
            Self::Sealed => "engine start, trading, until the batch is sealed",
            Self::Executing => "guest execution, output checked",
            Self::Proving => "segment proofs",
            Self::Aggregating => "aggregation (leaves and joins)",
            Self::WrapReady => "wrap-ready final proof",
            Self::Wrapping => "Groth16 wrap",
            Self::Settling => "submit_batch and apply_balances on chain",
        }
    }
}

/// The stage a batch is in, from its status in `GET /v1/batches/{number}`.
pub fn stage_of(status: &Value) -> Stage {
    match status["status"].as_str().unwrap_or_default() {
        "proving" => Stage::Proving,
        "aggregating" => {
            let segments = status["segments"].as_u64().unwrap_or(1).max(1);
            let root_level = u64::from(64 - (segments - 1).leading_zeros());
            if status["level"].as_u64().unwrap_or(0) > root_level {
                Stage::WrapReady
            } else {
                Stage::Aggregating
            }
        }
        "wrapping" => Stage::Wrapping,
        "proven" => Stage::Settling,
        _ => Stage::Executing,
    }
}

#[derive(Debug, Serialize)]
struct Timed {
    stage: Stage,
    name: &'static str,
    seconds: f64,
}

#[derive(Debug, Serialize)]
struct Balance {
    trader: &'static str,
    account: u32,
    collateral: i64,
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    insecure_test_parameters: bool,
    segment_log2: u32,
    stages: Vec<Timed>,
    pub actions: usize,
    steps: usize,
    prior_root: String,
    new_root: String,
    cycles: u64,
    segments: u64,
    /// The Groth16 proof and its two public inputs.
    groth16_bytes: u64,
    pub final_proof_bytes: Option<u64>,
    pub settlement: Option<Value>,
    /// The exchange's state root on chain after the batch.
    pub state_root: Option<String>,
    balances: Vec<Balance>,
    claims: Vec<(&'static str, u64)>,
}

impl Report {
    pub fn new(insecure_test_parameters: bool, segment_log2: u32) -> Self {
        Self {
            insecure_test_parameters,
            segment_log2,
            ..Self::default()
        }
    }

    pub fn stage(&mut self, stage: Stage, took: Duration) {
        self.stages.push(Timed {
            stage,
            name: stage.name(),
            seconds: (took.as_secs_f64() * 10.0).round() / 10.0,
        });
    }

    pub fn batch(&mut self, batch: &SealedBatch) {
        let hex = |words: &[u32; 8]| words.iter().map(|word| format!("{word:08x}")).collect();
        self.steps = batch.input.steps.len();
        self.prior_root = hex(&batch.output.prior_root);
        self.new_root = hex(&batch.output.new_root);
    }

    /// Takes the batch's cycles, segments and proof size from its status.
    pub fn proven(&mut self, status: &Value) {
        let field = |name: &str| status[name].as_u64();
        self.cycles = field("cycles").unwrap_or(self.cycles);
        self.segments = field("segments").unwrap_or(self.segments);
        self.groth16_bytes = field("proof_bytes").unwrap_or(self.groth16_bytes);
    }

    pub fn balance(&mut self, trader: &'static str, account: u32, collateral: i64) {
        self.balances.push(Balance {
            trader,
            account,
            collateral,
        });
    }

    pub fn claimed(&mut self, trader: &'static str, amount: u64) {
        self.claims.push((trader, amount));
    }

    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(self)?)?;
        std::fs::write(dir.join("report.md"), self.markdown())?;
        Ok(())
    }

    pub fn markdown(&self) -> String {
        let usdc = |atoms: i64| format!("{:.2}", atoms as f64 / 1e6);
        let mut out = format!(
            "## gnomon demo ({} parameters, segments of 2^{} cycles)\n\n",
            if self.insecure_test_parameters {
                "INSECURE test"
            } else {
                "production"
            },
            self.segment_log2
        );
        out += "| stage | seconds |\n|---|---:|\n";
        for timed in &self.stages {
            out += &format!("| {} | {:.1} |\n", timed.name, timed.seconds);
        }
        out += &format!(
            "\n| batch 1 | |\n|---|---|\n| trader actions | {} |\n| steps | {} |\n\
             | cycles | {} |\n| segments | {} |\n| final STARK proof | {} bytes |\n\
             | Groth16 proof and public inputs | {} bytes |\n| prior root | `{}` |\n\
             | new root | `{}` |\n| root on chain | `{}` |\n",
            self.actions,
            self.steps,
            self.cycles,
            self.segments,
            self.final_proof_bytes
                .map_or_else(|| "?".into(), |bytes| bytes.to_string()),
            self.groth16_bytes,
            self.prior_root,
            self.new_root,
            self.state_root.as_deref().unwrap_or("?"),
        );
        if let Some(settlement) = &self.settlement {
            out += &format!("| settlement transactions | `{settlement}` |\n");
        }
        out += "\n| settled on chain | account | collateral (USDC) |\n|---|---:|---:|\n";
        for balance in &self.balances {
            out += &format!(
                "| {} | {} | {} |\n",
                balance.trader,
                balance.account,
                usdc(balance.collateral)
            );
        }
        out += "\nThe local runtime runs the settlement program natively and does not meter its \
                compute units: the Groth16 check's cost on SBF is measured by \
                `scripts/bench-compute-units` (README, Performance).\n";
        for (trader, amount) in &self.claims {
            out += &format!(
                "\n{trader} claimed its withdrawal of {} USDC into its token account.\n",
                usdc(*amount as i64)
            );
        }
        out
    }
}
