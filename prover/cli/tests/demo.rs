//! `gnomon demo` end to end with the test parameters: a batch traded on the engine, proven,
//! aggregated and wrapped, settled by the settlement program on the local runtime, and the
//! balances the chain holds afterwards equal to the engine's.

use std::process::Command;

use serde_json::Value;

#[test]
fn the_demo_settles_its_proven_batch_and_reads_the_engines_balances_back_from_the_chain() {
    let work = std::env::temp_dir().join(format!("gnomon-cli-demo-{}", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_gnomon"))
        .args(["demo", "--insecure-test-parameters", "--work"])
        .arg(&work)
        .output()
        .expect("gnomon runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(work.join("report.json")).unwrap()).unwrap();
    let _ = std::fs::remove_dir_all(&work);

    // Every stage ran, in order, and the batch settled with both kinds of transaction.
    let stages: Vec<&str> = report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|stage| stage["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages[..2], ["rehearsal", "setup"], "{stages:?}");
    for stage in ["proving", "wrap_ready", "wrapping"] {
        assert!(stages.contains(&stage), "{stage} missing from {stages:?}");
    }
    let settlement = &report["settlement"];
    assert_eq!(settlement["settled"], true, "{settlement}");
    assert!(settlement["submitted"].is_string());
    assert!(!settlement["applied"].as_array().unwrap().is_empty());

    // The chain's root is the batch's new root, its balances are the engine's (the demo
    // checks each against the batch output and fails otherwise), and the scenario did what
    // it says: five accounts touched, the long liquidated below its deposit, one claim.
    assert_eq!(report["state_root"], report["new_root"]);
    assert_ne!(report["prior_root"], report["new_root"]);
    assert_eq!(report["groth16_bytes"], 320);
    assert_eq!(report["actions"], 6);
    let balances = report["balances"].as_array().unwrap();
    let collateral = |trader: &str| {
        balances
            .iter()
            .find(|balance| balance["trader"] == trader)
            .and_then(|balance| balance["collateral"].as_i64())
            .unwrap_or_else(|| panic!("{trader} is not settled: {balances:?}"))
    };
    assert!(
        collateral("long") < 150_000_000,
        "the long was not liquidated"
    );
    assert!(
        collateral("maker") < 10_000_000_000,
        "the withdrawal is not settled"
    );
    assert_eq!(
        report["claims"][0],
        serde_json::json!(["maker", 1_000_000_000u64])
    );
    assert!(stdout.contains("settled on chain"), "{stdout}");
}
