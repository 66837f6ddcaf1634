//! Proving signed perps batches: `cargo bench -p gnomon-e2e --bench prove`.
//!
//! Proves the batch of the `fill` scenario (GNOMON_BENCH_ACTIONS signed orders that each fill a
//! resting one, default 8; every signature checked on the FP25519 precompiles) in segments of
//! 2^GNOMON_BENCH_LOG2 cycles (default 20) with the production parameters, verifies the run,
//! and reports its cycles, field operations, segments, proving time, speed, peak memory and
//! proving time per action. A measurement, not a test.

use std::time::Instant;

use gnomon_e2e::{assert_guest_reproduces, guest_input, perps};
use gnomon_executor::{Options, SegmentSize, SyscallKind, trace};
use gnomon_machine::config::StarkParameters;
use gnomon_machine::debug::peak_memory_mib;
use gnomon_machine::run::{prove_run, verify_run};
use gnomon_machine::segment::MachineKeys;
use gnomon_sim::scenarios;

fn setting(name: &str, default: u32) -> u32 {
    std::env::var(name).map_or(default, |value| value.parse().expect("a number"))
}

fn main() {
    let actions = setting("GNOMON_BENCH_ACTIONS", 8) as usize;
    let log2 = setting("GNOMON_BENCH_LOG2", 20);
    let batch = scenarios::fill(actions).batch;
    let expected = assert_guest_reproduces(&batch);
    let options = Options {
        segment_size: SegmentSize::new(log2).expect("a valid segment size"),
        ..Options::default()
    };
    let (execution, segments) = trace(
        perps(),
        &guest_input(&batch.input, &batch.witness),
        &options,
    );
    let report = &execution.report;
    assert_eq!(report.cycles, expected.report.cycles);
    let field_operations: u64 = [
        SyscallKind::Fp25519Mul,
        SyscallKind::Fp25519Add,
        SyscallKind::Fp25519Sub,
    ]
    .into_iter()
    .map(|kind| report.syscall(kind).calls)
    .sum();
    println!(
        "fill batch: {actions} signed orders, {} steps, {} cycles, {field_operations} field \
         operations, {} segments of 2^{log2}",
        batch.input.steps.len(),
        report.cycles,
        segments.len()
    );

    let parameters = StarkParameters::production();
    let start = Instant::now();
    let keys: MachineKeys = MachineKeys::new(perps(), parameters);
    println!("keys: {:.1} s", start.elapsed().as_secs_f64());

    let start = Instant::now();
    let proofs = prove_run(&keys, &segments).expect("the run proves");
    let proving = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let claim = verify_run(&keys, &proofs).expect("the run verifies");
    let verifying = start.elapsed().as_secs_f64();
    assert_eq!(claim.cycles, report.cycles);
    let bytes: usize = proofs.iter().map(|proof| proof.to_bytes().len()).sum();
    println!(
        "proven in {proving:.1} s ({:.1} kHz, {:.2} s per signed order), {:.1} MiB of segment \
         proofs, verified in {:.0} ms; peak {:.0} MiB",
        report.cycles as f64 / proving / 1e3,
        proving / actions as f64,
        bytes as f64 / (1024.0 * 1024.0),
        verifying * 1e3,
        peak_memory_mib()
    );
}
