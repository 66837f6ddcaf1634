//! What verifying a batch proof costs on chain, measured: the verification core built to
//! real SBF and run in LiteSVM with a real proof, then with a tampered header and a tampered
//! proof, which must both be refused. `scripts/bench-compute-units` runs it.

mod support;

use std::process::ExitCode;

/// groth16-solana's own figure for 2 public inputs is 82,704 CU; our public-input
/// construction adds a SHA-256 of the header and the commitment packing.
const CU_BUDGET: u64 = 100_000;
/// Solana's transaction size limit.
const TRANSACTION_LIMIT: usize = 1_232;

fn main() -> ExitCode {
    match measure() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn measure() -> Result<(), String> {
    let program = support::build_program()?;
    let commitment = support::sample_commitment();
    let header = support::sample_header();
    let proof = support::sample_proof(&commitment, &header);

    let data = support::instruction_data(&commitment, &header, &proof);
    let data_len = data.len();
    let run = support::run(&program, data);
    if !run.success {
        return Err(format!("a real proof must verify on SBF: {:?}", run.error));
    }
    println!("verify_batch on SBF (LiteSVM 0.16), 2 public inputs, uncompressed proof:");
    println!("  compute units:      {} (budget {CU_BUDGET})", run.compute_units);
    println!("  instruction data:   {data_len} bytes");
    println!(
        "  transaction:        {} bytes (limit {TRANSACTION_LIMIT})",
        run.transaction_bytes
    );
    if run.transaction_bytes > TRANSACTION_LIMIT || run.compute_units >= CU_BUDGET {
        return Err("verification is over its budget".into());
    }

    let mut tampered_header = header;
    tampered_header.new_root[0] ^= 1;
    let run = support::run(
        &program,
        support::instruction_data(&commitment, &tampered_header, &proof),
    );
    if run.success || !run.error.is_some_and(|error| error.contains("Custom(4)")) {
        return Err("a proof verified for another header".into());
    }
    let mut tampered_proof = proof;
    tampered_proof.c[40] ^= 1;
    let run = support::run(
        &program,
        support::instruction_data(&commitment, &header, &tampered_proof),
    );
    if run.success {
        return Err("a tampered proof verified".into());
    }
    println!("  a tampered header and a tampered proof are refused");
    Ok(())
}
