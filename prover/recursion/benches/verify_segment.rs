//! An aggregation leaf's cost: `cargo bench -p gnomon-recursion --bench verify_segment`.
//!
//! Proves one full segment of the `sha-chain` guest at the production parameters, builds the
//! recursion program that verifies it whole (transcript, constraints, LogUp, FRI), runs it on
//! the proof and proves the run at the production parameters. Reports the program's size, each
//! table's rows, the times of building, running and proving, peak memory and the proof's size.
//! GNOMON_BENCH_LOG2 takes comma-separated segment sizes (log2 of cycles; default 16, 20).
//! A measurement, not a test.

use std::time::Instant;

use gnomon_executor::{Input, Options, Program, SegmentSize, trace};
use gnomon_machine::config::{Inner, StarkParameters};
use gnomon_machine::debug::peak_memory_mib;
use gnomon_machine::segment::MachineKeys;
use gnomon_recursion::RecursionKeys;
use gnomon_recursion::batch::{self, BatchCheck, BatchProofCells};
use gnomon_recursion::program::Builder;
use p3_matrix::Matrix;

fn main() {
    let sizes: Vec<u32> = std::env::var("GNOMON_BENCH_LOG2").map_or_else(
        |_| vec![16, 20],
        |list| {
            list.split(',')
                .map(|size| size.trim().parse().unwrap())
                .collect()
        },
    );
    let path = format!(
        "{}/../../guest/elf/sha-chain.elf",
        env!("CARGO_MANIFEST_DIR")
    );
    let elf = Program::from_elf(&std::fs::read(path).unwrap()).unwrap();
    let parameters = StarkParameters::production();
    println!("production parameters: {parameters:?}");
    let keys = MachineKeys::<Inner>::new(&elf, parameters);
    let names: Vec<String> = keys
        .airs()
        .iter()
        .map(|air| air.name().to_string())
        .collect();
    for log2 in sizes {
        // Enough SHA-256 iterations (about 3,500 cycles each) to fill the first segment.
        let mut input = Input::new();
        input.write(&((1u32 << log2) / 3000 + 2, [0u8; 32]));
        let options = Options {
            segment_size: SegmentSize::new(log2).unwrap(),
            ..Options::default()
        };
        let (_, segments) = trace(&elf, &input, &options);
        let start = Instant::now();
        let proof = keys.prove_segment(&segments[0]).unwrap();
        let segment_proving = start.elapsed().as_secs_f64();

        let start = Instant::now();
        let check = BatchCheck::new(
            &names,
            keys.airs(),
            keys.common(),
            &parameters,
            &proof.proof.degree_bits,
        )
        .unwrap();
        let mut builder = Builder::default();
        let cells = BatchProofCells::allocate(&mut builder, &check);
        batch::verify(&mut builder, &check, &cells);
        let program = builder.build();
        let leaf = RecursionKeys::<Inner>::new(program, parameters);
        let building = start.elapsed().as_secs_f64();

        let start = Instant::now();
        let witness = batch::proof_witness(
            &check,
            keys.airs(),
            keys.common(),
            &proof.proof,
            &keys.instance_public_values(&proof.public_values),
        )
        .unwrap();
        let memory = leaf.program().run(&witness).unwrap();
        let (leaf_public_values, traces) = leaf.traces(&memory);
        let running = start.elapsed().as_secs_f64();
        let rows: Vec<String> = leaf
            .airs()
            .iter()
            .zip(&traces)
            .map(|(air, trace)| format!("{} 2^{}", air.name(), trace.height().trailing_zeros()))
            .collect();

        let start = Instant::now();
        let leaf_proof = leaf.prove_traces(&leaf_public_values, &traces).unwrap();
        let proving = start.elapsed().as_secs_f64();
        leaf.verify(&leaf_proof).unwrap();
        println!(
            "segment of 2^{log2} cycles (proven in {segment_proving:.2} s, degree bits {:?}):\n  \
             verifier program: {} instructions ({}), built in {building:.2} s\n  \
             run and traces {running:.2} s, prove {proving:.2} s, proof {:.0} KiB, \
             peak {:.0} MiB",
            proof.proof.degree_bits,
            leaf.program().instructions().len(),
            rows.join(", "),
            leaf_proof.to_bytes().len() as f64 / 1024.0,
            peak_memory_mib(),
        );
    }
}
