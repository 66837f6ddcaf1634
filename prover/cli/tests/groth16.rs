//! The Groth16 verbs on bad input, and `verify-groth16` on real Groth16 proofs: the settlement
//! test circuit's, which have the same format and public inputs, and the whole path of an
//! aggregated run at the testing parameters (prove --aggregate, setup, wrap, verify-groth16:
//! about 3 minutes and 4 GB on 2 cores); `setup` and `wrap` with the inputs they must refuse
//! before any setup or proving starts.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gnomon_settlement_verifier::batch::BatchHeader;
use gnomon_settlement_verifier::inputs::public_inputs;
use gnomon_settlement_verifier::test_circuit;

fn gnomon(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gnomon"))
        .args(args)
        .output()
        .expect("gnomon runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("gnomon-cli-groth16-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_owned()
}

/// A keys directory with the test circuit's verifying key, and a wrapped proof of a batch
/// header for it: 256 proof bytes and the two inputs.
fn test_circuit_wrapped(dir: &Path) -> Vec<u8> {
    let (pk, _) = test_circuit::setup();
    std::fs::write(
        dir.join("verifying.key"),
        test_circuit::verifying_key().to_bytes(),
    )
    .unwrap();
    let commitment = [5u8; 32];
    let header = BatchHeader::default();
    let proof = test_circuit::prove(&pk, &commitment, &header, 3);
    let mut bytes = proof.to_bytes().to_vec();
    bytes.extend(
        public_inputs(&commitment, &header)
            .unwrap()
            .iter()
            .flatten(),
    );
    bytes
}

#[test]
fn verify_groth16_accepts_a_proof_and_refuses_any_change() {
    let dir = scratch("verify");
    let keys = dir.to_str().unwrap();
    let wrapped = test_circuit_wrapped(&dir);
    let file = path(&dir, "proof.groth16");
    std::fs::write(&file, &wrapped).unwrap();
    let output = gnomon(&["verify-groth16", &file, "--keys", keys]);
    assert!(output.status.success(), "{}", stderr(&output));
    for position in [10, 200, 256 + 31, 256 + 63] {
        let mut changed = wrapped.clone();
        changed[position] ^= 1;
        std::fs::write(&file, &changed).unwrap();
        let output = gnomon(&["verify-groth16", &file, "--keys", keys]);
        assert_eq!(output.status.code(), Some(1), "byte {position}");
        assert!(stderr(&output).contains("rejected"), "{}", stderr(&output));
    }
    std::fs::write(&file, &wrapped[..300]).unwrap();
    let output = gnomon(&["verify-groth16", &file, "--keys", keys]);
    assert!(
        stderr(&output).contains("a wrapped proof has 320"),
        "{}",
        stderr(&output)
    );
    std::fs::write(&file, &wrapped).unwrap();
    std::fs::write(dir.join("verifying.key"), [1u8; 100]).unwrap();
    let output = gnomon(&["verify-groth16", &file, "--keys", keys]);
    assert!(
        stderr(&output).contains("not a verifying key"),
        "{}",
        stderr(&output)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// The wrap takes a run proven in one segment of the outer configuration; anything else is
/// refused with its reason before any setup or proving.
#[test]
fn setup_and_wrap_refuse_what_they_cannot_wrap() {
    let dir = scratch("refuse");
    let elf = concat!(env!("CARGO_MANIFEST_DIR"), "/../../guest/elf/fibonacci.elf");
    let proof = path(&dir, "fib.proof");
    // fibonacci(20) in segments of 2^10 cycles: two segments.
    let output = gnomon(&[
        "prove",
        elf,
        "--frame-hex",
        "14000000",
        "--segment-log2",
        "10",
        "--outer",
        "--insecure-test-parameters",
        "--out",
        &proof,
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let keys = path(&dir, "keys");
    for verb in ["setup", "wrap"] {
        let output = gnomon(&[
            verb,
            elf,
            &proof,
            "--keys",
            &keys,
            "--insecure-test-parameters",
        ]);
        assert_eq!(output.status.code(), Some(1));
        assert!(
            stderr(&output).contains("has 2 segments"),
            "{}",
            stderr(&output)
        );
    }
    // A one-segment run's proof is not an aggregated run's.
    let output = gnomon(&[
        "setup",
        elf,
        &proof,
        "--keys",
        &keys,
        "--aggregate",
        "--insecure-test-parameters",
    ]);
    assert!(
        stderr(&output).contains("is not an aggregated run proof"),
        "{}",
        stderr(&output)
    );
    std::fs::write(&proof, b"not a proof").unwrap();
    let output = gnomon(&[
        "setup",
        elf,
        &proof,
        "--keys",
        &keys,
        "--insecure-test-parameters",
    ]);
    assert!(
        stderr(&output).contains("is not a run proof"),
        "{}",
        stderr(&output)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// The whole path of runs of several segments: their final proofs (aggregated at the shapes of
/// one catalog, re-proven in the outer configuration) are wrapped by one circuit, set up once
/// for the program and catalog, and each 256-byte proof verifies with groth16-solana for its
/// settlement inputs; a changed byte does not.
#[test]
fn runs_aggregated_in_one_catalog_are_wrapped_by_one_circuit_and_verified_with_groth16_solana() {
    let dir = scratch("aggregated");
    let elf = concat!(env!("CARGO_MANIFEST_DIR"), "/../../guest/elf/fibonacci.elf");
    let catalog = path(&dir, "catalog.json");
    let keys = path(&dir, "keys");
    let run = |args: &[&str]| {
        let output = gnomon(args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        String::from_utf8(output.stdout).unwrap()
    };
    // fibonacci(20) and fibonacci(60) in segments of 2^10 cycles: two and three segments.
    let inputs = ["14000000", "3c000000"];
    for input in inputs {
        let input = ["--frame-hex", input, "--segment-log2", "10"];
        run(&[&["catalog", elf][..], &input, &["--out", &catalog]].concat());
    }
    let flags = ["--keys", &keys, "--aggregate", "--insecure-test-parameters"];
    for (index, (input, segments)) in inputs.into_iter().zip([2, 3]).enumerate() {
        let proof = path(&dir, &format!("fib{index}.final.proof"));
        let wrapped = path(&dir, &format!("fib{index}.final.groth16"));
        let proved = run(&[
            "prove",
            elf,
            "--frame-hex",
            input,
            "--segment-log2",
            "10",
            "--aggregate",
            "--catalog",
            &catalog,
            "--insecure-test-parameters",
            "--out",
            &proof,
        ]);
        assert!(
            proved.contains(&format!("verified      {segments} segments")),
            "{proved}"
        );
        if index == 0 {
            run(&[&["setup", elf, &proof][..], &flags].concat());
        }
        let wrapping = run(&[&["wrap", elf, &proof][..], &flags, &["--out", &wrapped]].concat());
        // The public inputs are the program's and the run's output, as `prove` printed them.
        let line = |text: &str, label: &str| {
            text.lines()
                .find(|line| line.starts_with(label))
                .map(|line| line[label.len()..].trim().to_owned())
                .unwrap()
        };
        let output_input = line(&wrapping, "output input");
        assert_eq!(&output_input[2..], &line(&proved, "output digest")[2..]);
        run(&["verify-groth16", &wrapped, "--keys", &keys]);
        let mut bytes = std::fs::read(&wrapped).unwrap();
        bytes[300] ^= 1;
        std::fs::write(&wrapped, &bytes).unwrap();
        let output = gnomon(&["verify-groth16", &wrapped, "--keys", &keys]);
        assert!(!output.status.success());
        assert!(stderr(&output).contains("rejected"), "{}", stderr(&output));
    }
    std::fs::remove_dir_all(dir).unwrap();
}
