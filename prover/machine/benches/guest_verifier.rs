//! What verifying a STARK costs inside the zkVM: `cargo bench -p gnomon-machine --bench guest_verifier`.
//!
//! The aggregation design rests on this measurement: recursion through the RV32IM machine
//! itself converges only if verifying two child proofs takes fewer cycles than a segment
//! holds. The `stark-verifier` guest runs Plonky3's verifier on proofs of Plonky3's Keccak-f
//! table (2,633 columns: wide, like the machine's 22 tables together) in the segment prover's
//! configuration, and this reports its cycles:
//! - at the production parameters, for tables of 2^5 to 2^15 rows (how the cost grows with
//!   the Merkle depth), with the Poseidon2 precompile and, at the smallest, in software;
//! - at 25, 50 and 100 queries (what one query costs, and the rest);
//! - the cost per query and opened column, against the columns a segment proof of the machine
//!   opens per query, which gives the estimated cost of verifying one segment proof.
//!
//! A measurement, not a test. GNOMON_BENCH_LOG2 takes a comma-separated list of Keccak-f
//! table heights (log2 of the rows) to choose others.

#[path = "../tests/keccak_proof/mod.rs"]
mod keccak_proof;

use gnomon_executor::{Options, Program, SyscallKind, execute};
use gnomon_machine::config::{Inner, StarkParameters};
use gnomon_machine::segment::MachineKeys;
use p3_air::BaseAir;
use p3_keccak_air::{NUM_KECCAK_COLS, NUM_ROUNDS};

struct Cost {
    cycles: u64,
    permutations: u64,
    proof_bytes: usize,
}

fn measure(
    program: &Program,
    log_rows: usize,
    parameters: StarkParameters,
    precompile: bool,
) -> Cost {
    let permutations = (1 << log_rows) / NUM_ROUNDS;
    let proof = keccak_proof::prove(permutations.max(1), parameters);
    assert_eq!(
        proof.degree_bits, log_rows,
        "the table has 2^{log_rows} rows"
    );
    assert!(keccak_proof::verify(&proof, parameters));
    let execution = execute(
        program,
        &keccak_proof::input(&proof, parameters, precompile),
        &Options::default(),
    );
    assert!(execution.succeeded(), "the guest accepts the proof");
    assert_eq!(execution.journal, keccak_proof::statement(&proof));
    Cost {
        cycles: execution.report.cycles,
        permutations: execution
            .report
            .syscall(SyscallKind::Poseidon2Permute)
            .calls,
        proof_bytes: postcard::to_allocvec(&proof).unwrap().len(),
    }
}

fn main() {
    let program = keccak_proof::guest();
    let production = StarkParameters::production();
    let heights: Vec<usize> = std::env::var("GNOMON_BENCH_LOG2").map_or_else(
        |_| vec![5, 10, 15],
        |list| {
            list.split(',')
                .map(|log2| log2.trim().parse().unwrap())
                .collect()
        },
    );

    println!("Keccak-f table, {NUM_KECCAK_COLS} columns, production parameters ({production:?})");
    println!(
        "{:>9} {:>10} {:>14} {:>12} {:>14}",
        "log2 rows", "proof KiB", "cycles", "Poseidon2", "software cycles"
    );
    for (index, &log_rows) in heights.iter().enumerate() {
        let cost = measure(&program, log_rows, production, true);
        // Software Poseidon2 only at the first height: the precompile's saving does not
        // depend on the table's height.
        let software = (index == 0).then(|| measure(&program, log_rows, production, false).cycles);
        println!(
            "{:>9} {:>10.0} {:>14} {:>12} {:>14}",
            log_rows,
            cost.proof_bytes as f64 / 1024.0,
            cost.cycles,
            cost.permutations,
            software.map_or_else(|| "-".into(), |cycles| cycles.to_string()),
        );
    }

    let log_rows = heights[heights.len() / 2];
    println!("\nKeccak-f table of 2^{log_rows} rows, with the precompile, by number of queries");
    println!("{:>8} {:>14} {:>12}", "queries", "cycles", "Poseidon2");
    let by_queries: Vec<(usize, Cost)> = [25, 50, 100]
        .into_iter()
        .map(|num_queries| {
            let parameters = StarkParameters {
                num_queries,
                ..production
            };
            (num_queries, measure(&program, log_rows, parameters, true))
        })
        .collect();
    for (queries, cost) in &by_queries {
        println!("{queries:>8} {:>14} {:>12}", cost.cycles, cost.permutations);
    }
    let (first, last) = (&by_queries[0], &by_queries[by_queries.len() - 1]);
    let per_query = (last.1.cycles - first.1.cycles) as f64 / (last.0 - first.0) as f64;
    let fixed = first.1.cycles as f64 - per_query * first.0 as f64;
    // Opened per query: every main column, and the quotient's chunks (degree 3: two chunks
    // of the degree-4 extension, 8 base columns).
    let keccak_columns = NUM_KECCAK_COLS + 8;
    let per_column = per_query / keccak_columns as f64;
    println!(
        "per query: {per_query:.0} cycles ({per_column:.0} per opened column); the rest: {fixed:.0} cycles"
    );

    // A segment proof of the machine opens, per query, every table's main and preprocessed
    // columns, its LogUp columns (degree-4 extension elements) and its quotient chunks.
    let sha_chain = concat!(env!("CARGO_MANIFEST_DIR"), "/../../guest/elf/sha-chain.elf");
    let sha_chain = Program::from_elf(&std::fs::read(sha_chain).unwrap()).unwrap();
    let keys = MachineKeys::<Inner>::new(&sha_chain, production);
    let machine_columns: usize = keys
        .airs()
        .iter()
        .enumerate()
        .map(|(index, air)| {
            air.width() + air.preprocessed_width() + 4 * keys.lookup_columns(index) + 8
        })
        .sum();
    let estimate = per_column * (machine_columns * production.num_queries) as f64;
    println!(
        "the machine ({} tables) opens {machine_columns} columns per query: verifying one \
         segment proof costs about {:.1} M cycles with the precompile, before its AIR \
         evaluation; a segment holds at most 2^22 = {:.1} M",
        keys.airs().len(),
        estimate / 1e6,
        f64::from(1u32 << 22) / 1e6,
    );
}
