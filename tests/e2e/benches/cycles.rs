//! What each action costs the perps guest, in zkVM cycles (what proving costs):
//!
//! ```sh
//! cargo bench -p gnomon-e2e --bench cycles                 # 20 actions per kind, 1,000 mixed
//! cargo bench -p gnomon-e2e --bench cycles -- --count 50 --steps 2000 --seed 7
//! cargo bench -p gnomon-e2e --bench cycles -- --flat fill   # one kind's cost, by function
//! ```
//!
//! Per kind, a batch of `count` actions is run against a baseline batch from the same state
//! (`gnomon_sim::scenarios`); the difference, divided by `count`, is what one action costs,
//! its share of the batch's state-tree updates included. Signature verification is measured
//! exactly (the cycles spent keeping each signature as the batch runs and then verifying them
//! all together, from a traced run) and reported apart. Then a generated batch of mixed steps is run, with where its cycles go.

use std::collections::BTreeMap;

use gnomon_core::batch::{SealedBatch, StepKind};
use gnomon_e2e::profile::{Spent, Target, flat, profile};
use gnomon_e2e::{guest_input, perps, perps_elf};
use gnomon_executor::Execution;
use gnomon_sim::scenarios::{Scenario, mixed, per_action};

/// What checking signatures costs: keeping each one as the batch runs (its calls count the
/// signatures), then verifying them all together.
const SIGNATURES: [Target<'static>; 2] = [
    Target {
        label: "signatures kept for the batch check",
        parts: &["5perps", "8Deferred", "6verify"],
    },
    Target {
        label: "ed25519 batch verification",
        parts: &["14gnomon_ed25519", "12verify_batch"],
    },
];

const PHASES: [Target<'static>; 6] = [
    SIGNATURES[0],
    SIGNATURES[1],
    Target {
        label: "  of which SHA-512 (software)",
        parts: &["sha512", "compress512"],
    },
    Target {
        label: "witness decoding (borsh)",
        parts: &["BatchWitness", "deserialize_reader"],
    },
    Target {
        label: "state roots (global state hash)",
        parts: &["gnomon_core4tree10state_root"],
    },
    Target {
        label: "account leaf digests",
        parts: &["gnomon_core4tree11leaf_digest"],
    },
];

struct Args {
    count: usize,
    steps: usize,
    seed: u64,
    /// Only this kind's cost per action, by function.
    flat: Option<String>,
}

fn args() -> Args {
    let mut args = Args {
        count: 20,
        steps: 1_000,
        seed: 1,
        flat: None,
    };
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        let mut value = || {
            words
                .next()
                .and_then(|value| value.parse().ok())
                .unwrap_or_else(|| panic!("{word} takes a number"))
        };
        match word.as_str() {
            "--count" => args.count = value() as usize,
            "--steps" => args.steps = value() as usize,
            "--seed" => args.seed = value(),
            "--flat" => args.flat = words.next(),
            // What `cargo bench` passes.
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

/// Runs a batch traced, checks that the guest reproduced the engine, and measures targets.
fn measure(batch: &SealedBatch, targets: &[Target<'_>]) -> (Execution, Vec<Spent>) {
    let input = guest_input(&batch.input, &batch.witness);
    let (execution, spent) = profile(perps_elf(), perps(), &input, targets);
    assert!(
        execution.succeeded(),
        "batch failed in the guest: {}",
        String::from_utf8_lossy(&execution.stderr)
    );
    assert_eq!(
        execution.journal,
        batch.output.header(),
        "the guest's output differs from the engine's"
    );
    (execution, spent)
}

fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The signatures checked (kept during the run) and every cycle spent on them, from the
/// spending of [`SIGNATURES`].
fn signing(spent: &[Spent]) -> Spent {
    Spent {
        calls: spent[0].calls,
        cycles: spent[0].cycles + spent[1].cycles,
    }
}

/// Per action: cycles without signatures, signatures, signature cycles, all cycles, and all
/// instructions (the prover's rows: a precompile call is many cycles but one row).
fn per_kind(scenario: &Scenario) -> [u64; 5] {
    let (batch, signed) = measure(&scenario.batch, &SIGNATURES);
    let (baseline, signed_baseline) = measure(&scenario.baseline, &SIGNATURES);
    let count = scenario.actions as u64;
    let (signed, signed_baseline) = (signing(&signed), signing(&signed_baseline));
    let rest = |execution: &Execution, spent: &Spent| execution.report.cycles - spent.cycles;
    let without = (rest(&batch, &signed) - rest(&baseline, &signed_baseline)) / count;
    let signatures = signed.calls - signed_baseline.calls;
    let signature_cycles = signed.cycles - signed_baseline.cycles;
    [
        without,
        signatures,
        signature_cycles / count,
        (batch.report.cycles - baseline.report.cycles) / count,
        (batch.report.instructions - baseline.report.instructions) / count,
    ]
}

/// The cycles one action of `scenario` adds, by function (its own instructions), most first.
fn print_flat(scenario: &Scenario) {
    let own = |batch: &SealedBatch| -> BTreeMap<String, u64> {
        let input = guest_input(&batch.input, &batch.witness);
        flat(perps_elf(), perps(), &input).1.into_iter().collect()
    };
    let (batch, baseline) = (own(&scenario.batch), own(&scenario.baseline));
    let count = scenario.actions as i64;
    let mut added: Vec<(i64, &str)> = batch
        .iter()
        .map(|(name, &cycles)| {
            let before = baseline.get(name).copied().unwrap_or(0);
            ((cycles as i64 - before as i64) / count, name.as_str())
        })
        .filter(|(cycles, _)| *cycles != 0)
        .collect();
    added.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let total: i64 = added.iter().map(|(cycles, _)| cycles).sum();
    println!(
        "{}: {total} cycles per action, by function\n",
        scenario.name
    );
    for (cycles, name) in added.iter().take(40) {
        println!("{cycles:>9}  {name}");
    }
}

fn main() {
    let args = args();
    if let Some(kind) = &args.flat {
        let scenario = per_action(args.count)
            .into_iter()
            .find(|scenario| scenario.name == kind)
            .unwrap_or_else(|| panic!("no action kind {kind}"));
        print_flat(&scenario);
        return;
    }
    println!(
        "perps guest cycles per action ({} actions of each kind, each by another trader)\n",
        args.count
    );
    println!(
        "| action | cycles per action, without signatures | signatures per action | signature cycles per action | cycles per action, all | instructions per action, all |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let mut per_signature = Vec::new();
    for scenario in per_action(args.count) {
        let [without, signatures, signature_cycles, total, instructions] = per_kind(&scenario);
        per_signature.extend((signature_cycles * args.count as u64).checked_div(signatures));
        println!(
            "| {} | {} | {:.2} | {} | {} | {} |",
            scenario.name,
            thousands(without),
            signatures as f64 / args.count as f64,
            thousands(signature_cycles),
            thousands(total),
            thousands(instructions)
        );
    }
    if let (Some(low), Some(high)) = (per_signature.iter().min(), per_signature.iter().max()) {
        println!(
            "\none ed25519 signature, verified together with the rest of its batch (gnomon-ed25519 on the FP25519 precompiles): {} to {} cycles",
            thousands(*low),
            thousands(*high)
        );
    }

    let [_, batch] = mixed(args.seed, args.steps);
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for step in &batch.input.steps {
        let kind = match step.kind {
            StepKind::Trader(_) => "trader actions",
            StepKind::Oracle(_) => "oracle updates",
            StepKind::Deposit(_) => "deposits",
            StepKind::Liquidate { .. } => "liquidations",
            StepKind::Admin(_) => "admin actions",
            StepKind::Tick => "ticks (incl. refused actions)",
        };
        *kinds.entry(kind).or_default() += 1;
    }
    let (execution, spent) = measure(&batch, &PHASES);
    let steps = batch.input.steps.len() as u64;
    let cycles = execution.report.cycles;
    let signatures = signing(&spent);
    println!(
        "\nmixed batch (seed {}): {} steps ({}), {} accounts touched, {} resting orders",
        args.seed,
        steps,
        kinds
            .iter()
            .map(|(kind, count)| format!("{count} {kind}"))
            .collect::<Vec<_>>()
            .join(", "),
        batch.witness.accounts.len(),
        batch
            .witness
            .global
            .markets
            .iter()
            .map(|market| market.book.resting_len())
            .sum::<usize>()
    );
    println!(
        "total {} cycles in {} segments of 2^20: {} per step; without the {} signature checks {} ({} per step)\n",
        thousands(cycles),
        execution.report.segments,
        thousands(cycles / steps),
        signatures.calls,
        thousands(cycles - signatures.cycles),
        thousands((cycles - signatures.cycles) / steps)
    );
    println!("| where the cycles go | calls | cycles | share |");
    println!("|---|---:|---:|---:|");
    for (target, spent) in PHASES.iter().zip(&spent) {
        println!(
            "| {} | {} | {} | {:.1}% |",
            target.label,
            thousands(spent.calls),
            thousands(spent.cycles),
            100.0 * spent.cycles as f64 / cycles as f64
        );
    }
    print!("\n{}", execution.report);
}
