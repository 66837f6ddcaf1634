//! Every example guest, built by the guest toolchain, proven and verified end to end: the
//! claim of the run proof is what the executor reports.

mod common;

use gnomon_executor::{Input, Options, Program, SegmentSize, execute, trace};
use gnomon_machine::run::{prove_run, verify_run};

fn guest(name: &str) -> Program {
    let path = format!("{}/../../guest/elf/{name}.elf", env!("CARGO_MANIFEST_DIR"));
    Program::from_elf(&std::fs::read(path).unwrap()).unwrap()
}

/// Proves a run of `name` on `input` in segments of 2^`log2` cycles, verifies it, and checks
/// the claim against the executor's halt.
fn prove_guest(name: &str, input: &Input, log2: u32) -> usize {
    let program = guest(name);
    let options = Options {
        segment_size: SegmentSize::new(log2).unwrap(),
        ..Options::default()
    };
    let expected = execute(&program, input, &options);
    let halt = expected.halt().expect("the guest halts");
    let (_, segments) = trace(&program, input, &options);
    let keys = common::keys(&program);
    let claim = verify_run(&keys, &prove_run(&keys, &segments).unwrap()).unwrap();
    assert_eq!(claim.exit_code, halt.exit_code, "{name}");
    let bytes =
        |words: [u32; 8]| -> Vec<u8> { words.iter().flat_map(|w| w.to_be_bytes()).collect() };
    assert_eq!(bytes(claim.input_digest), halt.input_digest, "{name}");
    assert_eq!(bytes(claim.output_digest), halt.output_digest, "{name}");
    assert_eq!(claim.cycles, expected.report.cycles, "{name}");
    claim.segments
}

#[test]
fn fibonacci() {
    prove_guest("fibonacci", Input::new().write(&50u32), 12);
}

#[test]
fn sha256_in_software_and_with_the_precompile() {
    let data: Vec<u8> = (0..200u8).collect();
    prove_guest("sha256", Input::new().write(&(false, data.clone())), 14);
    prove_guest("sha256", Input::new().write(&(true, data)), 14);
}

#[test]
fn sha_chain_over_several_segments() {
    let segments = prove_guest("sha-chain", Input::new().write(&(3u32, [9u8; 32])), 12);
    assert!(segments > 2);
}

#[test]
fn guests_that_exit_non_zero_prove_their_exit_code() {
    prove_guest("faults", Input::new().write(&"exit".to_string()), 14);
    prove_guest("faults", Input::new().write(&"panic".to_string()), 14);
}
