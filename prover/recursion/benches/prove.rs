//! Recursion machine proving speed: `cargo bench -p gnomon-recursion --bench prove`.
//!
//! Proves programs shaped like a verifier's work, extension arithmetic and Poseidon2
//! permutations, at the production parameters, and reports each table's rows, the proving and
//! verifying times, peak memory and the proof's size. GNOMON_BENCH_SIZES takes
//! comma-separated `arithmetic:permutations` pairs (log2 of each count) to choose others.
//! A measurement, not a test.

use std::time::Instant;

use gnomon_machine::config::{EF, F, Inner, StarkParameters};
use gnomon_machine::debug::peak_memory_mib;
use gnomon_recursion::RecursionKeys;
use gnomon_recursion::program::{Builder, Felt};
use p3_field::PrimeCharacteristicRing;
use p3_matrix::Matrix;

/// `2^log_arithmetic` ALU rows (`x = x * x + c`, two a step) and `2^log_permutations`
/// chained permutations; the witness is `x` and the first state.
fn program(log_arithmetic: u32, log_permutations: u32) -> (RecursionKeys, Vec<EF>) {
    let mut builder = Builder::default();
    let mut x = builder.witness_ext();
    let c = builder.constant_ext(EF::from(F::from_u32(7)));
    for _ in 0..(1u32 << log_arithmetic) / 2 {
        let square = builder.mul(x, x);
        x = builder.add(square, c);
    }
    let mut state: [Felt; 16] = std::array::from_fn(|_| builder.witness_felt());
    for _ in 0..1u32 << log_permutations {
        state = builder.poseidon2(state);
    }
    builder.public(state[0]);
    let keys = RecursionKeys::<Inner>::new(builder.build(), StarkParameters::production());
    let witness = (0..17).map(|value| EF::from(F::from_u32(value))).collect();
    (keys, witness)
}

fn main() {
    let sizes: Vec<(u32, u32)> = std::env::var("GNOMON_BENCH_SIZES").map_or_else(
        |_| vec![(16, 12), (18, 14)],
        |list| {
            list.split(',')
                .map(|pair| {
                    let (arithmetic, permutations) = pair.trim().split_once(':').unwrap();
                    (arithmetic.parse().unwrap(), permutations.parse().unwrap())
                })
                .collect()
        },
    );
    println!("production parameters: {:?}", StarkParameters::production());
    for (log_arithmetic, log_permutations) in sizes {
        let (keys, witness) = program(log_arithmetic, log_permutations);
        let memory = keys.program().run(&witness).unwrap();
        let (public_values, traces) = keys.traces(&memory);
        let rows: Vec<String> = keys
            .airs()
            .iter()
            .zip(&traces)
            .map(|(air, trace)| format!("{} 2^{}", air.name(), trace.height().trailing_zeros()))
            .collect();
        let start = Instant::now();
        let proof = keys.prove_traces(&public_values, &traces).unwrap();
        let proving = start.elapsed().as_secs_f64();
        let start = Instant::now();
        keys.verify(&proof).unwrap();
        let verifying = start.elapsed().as_secs_f64();
        println!(
            "2^{log_arithmetic} ALU rows, 2^{log_permutations} permutations ({}): prove {proving:.2} s, \
             verify {:.1} ms, proof {:.0} KiB, peak {:.0} MiB",
            rows.join(", "),
            verifying * 1e3,
            proof.to_bytes().len() as f64 / 1024.0,
            peak_memory_mib(),
        );
    }
}
