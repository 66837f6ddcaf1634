//! Perps batches proven and verified by the zkVM prover: the run proof's claim is exactly the
//! batch's public output (and the public input the on-chain verifier will take). A signed
//! batch, its signatures checked on the FP25519 precompiles, also folds into one final proof.

use gnomon_core::batch::{SealedBatch, StepKind, public_input};
use gnomon_core::fixed::HOUR_MS;
use gnomon_e2e::{assert_guest_reproduces, guest_input, perps};
use gnomon_executor::{Options, SegmentSize, SyscallKind, trace};
use gnomon_machine::config::StarkParameters;
use gnomon_machine::run::{prove_run, verify_run};
use gnomon_machine::segment::{MachineKeys, SegmentProof};
use gnomon_recursion::aggregation::{AggregationKeys, shapes_of};
use gnomon_sim::{Sim, USDC, unit_market, usdc};

/// A batch with deposits (one opening an account), an hourly funding settlement and a
/// liquidation into the book: witness checks, the deposit chain, funding, matching and both
/// state roots, in few cycles, and no signature.
fn small_batch() -> SealedBatch {
    let mut sim = Sim::new(vec![unit_market()]);
    sim.fund_insurance(1_000);
    let maker = sim.trader(1, 100_000);
    let trader = sim.trader(2, 100);
    sim.oracle(0, usdc(100));
    sim.sell(maker, 9, usdc(100));
    sim.buy(trader, 9, usdc(100));
    sim.buy(maker, 20, usdc(93));
    sim.seal();
    // A fresh price just before the hour, then the proven batch just after it.
    sim.now = HOUR_MS - 10_000;
    sim.oracle(0, usdc(93));
    sim.seal();
    sim.now = HOUR_MS + 10_000;
    assert!(
        sim.exchange()
            .liquidatable_accounts(sim.now)
            .contains(&trader)
    );
    sim.deposit(maker, 5 * USDC);
    sim.trader(3, 50);
    sim.tick();
    sim.liquidate(trader);
    sim.seal()
}

/// A batch with a signed oracle price and a signed order that fills a resting one: two
/// ed25519 verifications by `gnomon-ed25519` on the FP25519 precompiles.
fn signed_batch() -> SealedBatch {
    let mut sim = Sim::new(vec![unit_market()]);
    let maker = sim.trader(1, 100_000);
    let taker = sim.trader(2, 100_000);
    sim.oracle(0, usdc(100));
    sim.sell(maker, 5, usdc(100));
    sim.seal();
    sim.oracle(0, usdc(101));
    sim.buy(taker, 5, usdc(100));
    sim.seal()
}

/// A batch's run, proven.
struct ProvenRun {
    report: gnomon_executor::Report,
    keys: MachineKeys,
    proofs: Vec<SegmentProof>,
}

/// Proves `batch` in segments of `2^segment_log2` cycles and checks that the run proof claims
/// exactly the guest's output (and the public input the on-chain verifier will take).
fn prove_and_check(batch: &SealedBatch, segment_log2: u32) -> ProvenRun {
    let expected = assert_guest_reproduces(batch);
    let options = Options {
        segment_size: SegmentSize::new(segment_log2).expect("a valid size"),
        ..Options::default()
    };
    let (execution, segments) = trace(
        perps(),
        &guest_input(&batch.input, &batch.witness),
        &options,
    );
    assert_eq!(execution.report.cycles, expected.report.cycles);
    let keys: MachineKeys = MachineKeys::new(perps(), StarkParameters::testing());
    let proofs = prove_run(&keys, &segments).expect("the run proves");
    let claim = verify_run(&keys, &proofs).expect("the proofs verify");
    assert_eq!(claim.exit_code, 0);
    assert_eq!(claim.cycles, expected.report.cycles);
    let bytes = |words: [u32; 8]| -> [u8; 32] {
        let mut out = [0; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(words) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    };
    let halt = expected.halt().expect("halted");
    assert_eq!(bytes(claim.input_digest), halt.input_digest);
    assert_eq!(bytes(claim.output_digest), halt.output_digest);
    assert_eq!(
        public_input(&bytes(claim.output_digest)),
        batch.output.digest(),
        "the proof's output digest is the batch output's public input"
    );
    ProvenRun {
        report: execution.report,
        keys,
        proofs,
    }
}

#[test]
fn a_batch_proves_and_the_proof_claims_its_output() {
    let batch = small_batch();
    assert!(
        batch
            .input
            .steps
            .iter()
            .any(|step| matches!(step.kind, StepKind::Liquidate { .. }))
    );
    prove_and_check(&batch, 18);
}

#[test]
fn a_signed_batch_proves_with_the_field_precompiles() {
    let report = prove_and_check(&signed_batch(), 18).report;
    let multiplications = report.syscall(SyscallKind::Fp25519Mul).calls;
    // Two signatures verified together: about 5,300 multiplications and squarings.
    assert!(multiplications > 4_000, "{multiplications}");
    assert!(report.segments >= 2, "{report}");
}

#[test]
fn a_signed_batch_aggregates_into_one_final_proof() {
    let batch = signed_batch();
    let run = prove_and_check(&batch, 18);
    let claim = verify_run(&run.keys, &run.proofs).expect("the proofs verify");
    let aggregation = AggregationKeys::new(
        &run.keys,
        &shapes_of(&run.proofs),
        StarkParameters::testing(),
    )
    .expect("aggregation keys for the run's shapes");
    let last = aggregation
        .aggregate(&run.keys, &run.proofs)
        .expect("the run aggregates");
    let aggregated = aggregation
        .verify(&run.keys, &last)
        .expect("the final proof verifies");
    assert_eq!(aggregated.segments as usize, claim.segments);
    assert_eq!(aggregated.output_digest, claim.output_digest);
}
