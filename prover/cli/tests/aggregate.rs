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

/// `gnomon catalog` writes the bounding shape of the segment size, which holds every segment,
/// and the cheaper shape of each run it is given; a catalog that holds neither refuses a run
/// with a taller segment with the way to extend it, before any aggregation.
#[test]
fn catalogs_hold_every_run_and_a_partial_one_refuses_with_how_to_extend_it() {
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
    let stdout = text(&output.stdout);
    assert!(stdout.contains("catalog       2 shapes"), "{stdout}");
    assert!(
        stdout.contains("the bounding shape of 2^10 cycles"),
        "{stdout}"
    );
    let output = make("03000000");
    assert!(text(&output.stdout).contains("already holds"));
    let output = make("3c000000");
    assert!(text(&output.stdout).contains("catalog       3 shapes"));

    // Only the shape of the short run.
    let shapes: Vec<Vec<usize>> = serde_json::from_slice(&std::fs::read(catalog).unwrap()).unwrap();
    std::fs::write(catalog, serde_json::to_vec(&shapes[1..2]).unwrap()).unwrap();

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
