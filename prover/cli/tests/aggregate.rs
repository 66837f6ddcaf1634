//! `gnomon prove --aggregate` and `gnomon verify --aggregate` on a real run (testing
//! parameters), and the final proof refused when corrupted or checked against another program.

use std::process::{Command, Output};

fn gnomon(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gnomon"))
        .args(args)
        .output()
        .expect("gnomon runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn elf(name: &str) -> String {
    format!("{}/../../guest/elf/{name}.elf", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn a_run_aggregates_into_a_final_proof_that_verifies_for_its_program_only() {
    let dir = std::env::temp_dir().join(format!("gnomon-cli-aggregate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let proof = dir.join("fibonacci.final.proof");
    let proof = proof.to_str().unwrap();
    let fibonacci = elf("fibonacci");
    let output = gnomon(&[
        "prove",
        &fibonacci,
        "--frame-hex",
        "3c000000",
        "--segment-log2",
        "10",
        "--aggregate",
        "--insecure-test-parameters",
        "--out",
        proof,
    ]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
    assert!(stdout.contains("aggregated    3 segments"), "{stdout}");

    let verify = |elf: &str, proof: &str| {
        gnomon(&[
            "verify",
            elf,
            proof,
            "--aggregate",
            "--insecure-test-parameters",
        ])
    };
    let output = verify(&fibonacci, proof);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("verified      3 segments"));

    let output = verify(&elf("sha256"), proof);
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("not a whole run of this program"));

    let mut bytes = std::fs::read(proof).unwrap();
    let corrupted = dir.join("corrupted.proof");
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&corrupted, &bytes).unwrap();
    let output = verify(&fibonacci, corrupted.to_str().unwrap());
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("does not decode"), "{stderr}");
}

/// A catalog holds the runs it was made from; a run with a taller segment is refused with the
/// way to extend it, before any aggregation.
#[test]
fn a_run_outside_the_catalog_is_refused_with_how_to_extend_it() {
    let dir = std::env::temp_dir().join(format!("gnomon-cli-catalog-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let catalog = dir.join("catalog.json");
    let catalog = catalog.to_str().unwrap();
    let fibonacci = elf("fibonacci");
    let make = |frame: &str| {
        gnomon(&[
            "catalog",
            &fibonacci,
            "--frame-hex",
            frame,
            "--segment-log2",
            "10",
            "--out",
            catalog,
        ])
    };
    let output = make("03000000");
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("catalog       1 shapes"));
    let output = make("03000000");
    assert!(text(&output.stdout).contains("already holds"));

    let output = gnomon(&[
        "prove",
        &fibonacci,
        "--frame-hex",
        "3c000000",
        "--segment-log2",
        "10",
        "--aggregate",
        "--catalog",
        catalog,
        "--insecure-test-parameters",
    ]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("no shape of the catalog"), "{stderr}");

    std::fs::write(catalog, "[]").unwrap();
    let output = make("03000000");
    assert!(text(&output.stderr).contains("has no shapes"));
    std::fs::remove_dir_all(dir).unwrap();
}
