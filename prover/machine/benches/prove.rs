//! Segment proving speed: `cargo bench -p gnomon-machine --bench prove`.
//!
//! Proves one full segment of 2^16, 2^18 and 2^20 cycles of the `sha-chain` guest (software
//! SHA-256: ALU, loads and stores) with the production parameters, and one of 2^16 in the outer
//! configuration (Poseidon2 over BN254, blowup 16), and reports cycles proven per second, peak
//! memory, proof size, verification time, and what each table costs (rows, main and LogUp
//! columns, share of the committed cells); in the production configuration, also the same
//! segment padded to the bounding shape of its size (what a segment outside a catalog's
//! cheaper shapes costs). GNOMON_BENCH_LOG2 and GNOMON_BENCH_OUTER_LOG2 take comma-separated
//! lists of segment sizes to choose others. A measurement, not a test.

use std::time::Instant;

use gnomon_executor::{Input, Options, Program, SegmentSize, trace};
use gnomon_machine::config::{Hashing, Inner, Outer, StarkParameters};
use gnomon_machine::debug::peak_memory_mib;
use gnomon_machine::segment::MachineKeys;
use p3_matrix::Matrix;

/// Segment sizes from the comma-separated list in `variable`, or `default`.
fn sizes(variable: &str, default: &[u32]) -> Vec<u32> {
    std::env::var(variable).map_or_else(
        |_| default.to_vec(),
        |list| {
            list.split(',')
                .filter(|size| !size.trim().is_empty())
                .map(|size| size.trim().parse().unwrap())
                .collect()
        },
    )
}

/// Proves one segment of each size in `sizes` with `parameters` in the configuration of `H`,
/// and with `bounding`, again padded to the bounding shape.
fn bench<H: Hashing>(
    program: &Program,
    parameters: StarkParameters,
    sizes: &[u32],
    bounding: bool,
) {
    let keys = MachineKeys::<H>::new(program, parameters);
    let security = keys.security(parameters);
    println!(
        "\n{}: {parameters:?}\nsecurity: {:.1} bits conjectured, {:.1} bits proven (bound by {})",
        std::any::type_name::<H>(),
        security.conjectured_bits,
        security.proven_bits,
        security.proven_binding
    );
    println!(
        "{:>6} {:>10} {:>9} {:>9} {:>11} {:>11} {:>10}",
        "log2", "cycles", "prove s", "kHz", "peak MiB", "proof KiB", "verify ms"
    );
    for &log2 in sizes {
        // Enough SHA-256 iterations (about 3,500 cycles each) to fill the first segment.
        let iterations = (1u32 << log2) / 3000 + 2;
        let mut input = Input::new();
        input.write(&(iterations, [0u8; 32]));
        let options = Options {
            segment_size: SegmentSize::new(log2).unwrap(),
            ..Options::default()
        };
        let (_, segments) = trace(program, &input, &options);
        let segment = &segments[0];

        let start = Instant::now();
        let proof = keys.prove_segment(segment).expect("the segment proves");
        let proving = start.elapsed().as_secs_f64();
        let start = Instant::now();
        keys.verify_segment(&proof).expect("the proof verifies");
        let verifying = start.elapsed().as_secs_f64();
        println!(
            "{:>6} {:>10} {:>9.2} {:>9.1} {:>11.0} {:>11.0} {:>10.1}",
            log2,
            segment.cycles,
            proving,
            f64::from(segment.cycles) / proving / 1e3,
            peak_memory_mib(),
            proof.to_bytes().len() as f64 / 1024.0,
            verifying * 1e3,
        );

        // A table's committed cells at `height` rows: main columns and LogUp's extension ones.
        let committed = |index: usize, height: usize| {
            height
                * (p3_air::BaseAir::<gnomon_machine::config::F>::width(&keys.airs()[index])
                    + 4 * keys.lookup_columns(index))
        };
        let (_, traces) = keys.traces(segment);
        let cells: Vec<usize> = traces
            .iter()
            .enumerate()
            .map(|(index, trace)| committed(index, trace.height()))
            .collect();
        let total: usize = cells.iter().sum();
        println!(
            "       {:<12} {:>9} {:>6} {:>7} {:>7}",
            "table", "rows", "main", "logup", "cells"
        );
        for (index, (air, trace)) in keys.airs().iter().zip(&traces).enumerate() {
            println!(
                "       {:<12} {:>9} {:>6} {:>7} {:>6.1}%",
                air.name(),
                trace.height(),
                trace.width(),
                keys.lookup_columns(index),
                100.0 * cells[index] as f64 / total as f64,
            );
        }

        if bounding {
            let shape = keys.bounding_shape(options.segment_size);
            let cells: usize = shape
                .iter()
                .enumerate()
                .map(|(index, &bits)| committed(index, 1 << bits))
                .sum();
            let start = Instant::now();
            let proof = keys
                .prove_segment_in(segment, &[shape])
                .expect("the bounding shape holds the segment");
            let proving = start.elapsed().as_secs_f64();
            keys.verify_segment(&proof).expect("the proof verifies");
            println!(
                "       padded to the bounding shape: {:.0} M cells ({:.1}x), proven in {proving:.2} s, \
                 peak {:.0} MiB, proof {:.0} KiB",
                cells as f64 / 1e6,
                cells as f64 / total as f64,
                peak_memory_mib(),
                proof.to_bytes().len() as f64 / 1024.0,
            );
        }
    }
}

fn main() {
    let path = format!(
        "{}/../../guest/elf/sha-chain.elf",
        env!("CARGO_MANIFEST_DIR")
    );
    let program = Program::from_elf(&std::fs::read(path).unwrap()).unwrap();
    let testing = MachineKeys::<Inner>::new(&program, StarkParameters::testing())
        .security(StarkParameters::testing());
    println!(
        "security of the testing parameters: {:.1} bits conjectured, {:.1} bits proven",
        testing.conjectured_bits, testing.proven_bits
    );
    bench::<Inner>(
        &program,
        StarkParameters::production(),
        &sizes("GNOMON_BENCH_LOG2", &[16, 18, 20]),
        true,
    );
    bench::<Outer>(
        &program,
        StarkParameters::outer(),
        &sizes("GNOMON_BENCH_OUTER_LOG2", &[16]),
        false,
    );
}
