//! Aggregation's cost: `cargo bench -p gnomon-recursion --bench aggregate`.
//!
//! Proves a run of the `sha-chain` guest in GNOMON_BENCH_SEGMENTS segments (default 16) of
//! 2^GNOMON_BENCH_LOG2 cycles (default 16) at the production parameters and folds the proofs
//! into one final proof, one proof at a time so that each step's time and peak memory are its
//! own. Each kind of step (the leaves of one segment shape, the leaf joins, the node joins) is
//! proven with aggregation keys that keep that step's program's proving data only, as a
//! worker taking only those jobs holds them. Reports each set of keys' build time, each
//! step's proving time and peak, the final proof's size and the whole run's time from segments
//! to the final proof; then the wrap-ready step (the root shrunk and re-proven in the outer
//! configuration at `StarkParameters::outer`): its keys, proving time, proof size,
//! verification and peak memory. A measurement, not a test.

use std::time::Instant;

use gnomon_executor::{Input, Options, Program, SegmentSize, trace};
use gnomon_machine::config::{Inner, StarkParameters};
use gnomon_machine::debug::{peak_memory_mib, reset_peak_memory};
use gnomon_machine::run::prove_run;
use gnomon_machine::segment::MachineKeys;
use gnomon_recursion::aggregation::{
    AggregationKeys, AggregationProof, Role, WrapReadyKeys, shapes_of,
};

fn variable(name: &str, default: u32) -> u32 {
    std::env::var(name).map_or(default, |value| value.trim().parse().unwrap())
}

fn main() {
    let segments = variable("GNOMON_BENCH_SEGMENTS", 16);
    let log2 = variable("GNOMON_BENCH_LOG2", 16);
    let path = format!(
        "{}/../../guest/elf/sha-chain.elf",
        env!("CARGO_MANIFEST_DIR")
    );
    let elf = Program::from_elf(&std::fs::read(path).unwrap()).unwrap();
    let parameters = StarkParameters::production();
    println!(
        "segments: {parameters:?}\nrecursion: {:?}",
        StarkParameters::recursion()
    );
    let machine = MachineKeys::<Inner>::new(&elf, parameters);
    // About 3,500 cycles per SHA-256 iteration: enough to reach the last segment.
    let iterations = ((segments - 1) << log2) / 3500 + 2;
    let mut input = Input::new();
    input.write(&(iterations, [0u8; 32]));
    let options = Options {
        segment_size: SegmentSize::new(log2).unwrap(),
        ..Options::default()
    };
    let (_, run) = trace(&elf, &input, &options);
    let start = Instant::now();
    let proofs = prove_run(&machine, &run).unwrap();
    let proving = start.elapsed().as_secs_f64();
    println!(
        "{} segments of at most 2^{log2} cycles, proven in {proving:.1} s",
        proofs.len()
    );

    // Each kind of step is proven as a worker that takes only that kind of job would: with
    // the proving data of its own program only (every program still verifies its proofs,
    // which is all a parent's witness needs).
    let shapes = shapes_of(&proofs);
    let keys_proving = |role: Role| {
        let start = Instant::now();
        let keys =
            AggregationKeys::proving(&machine, &shapes, StarkParameters::recursion(), |kept| {
                kept == role
            })
            .unwrap();
        println!(
            "keys proving {role:?}: {} leaf programs (tables 2^{:?}), joins 2^{:?}, built in {:.1} s",
            shapes.len(),
            keys.leaf_degree_bits(),
            keys.final_degree_bits(),
            start.elapsed().as_secs_f64()
        );
        keys
    };

    let aggregation = Instant::now();
    // Per step: its time and its own peak (the process's resident memory while it ran,
    // including the keys and proofs held).
    let mut times: Vec<(Role, f64, f64)> = Vec::new();
    let mut timed = |role: Role, step: &mut dyn FnMut() -> AggregationProof| {
        reset_peak_memory();
        let start = Instant::now();
        let proof = step();
        times.push((role, start.elapsed().as_secs_f64(), peak_memory_mib()));
        proof
    };
    let mut leaves: Vec<Option<AggregationProof>> = proofs.iter().map(|_| None).collect();
    for (position, shape) in shapes.iter().enumerate() {
        let keys = keys_proving(Role::Leaf(position));
        for (proof, leaf) in proofs.iter().zip(&mut leaves) {
            if &proof.proof.degree_bits == shape {
                *leaf = Some(timed(Role::Leaf(0), &mut || {
                    keys.prove_leaf(&machine, proof).unwrap()
                }));
            }
        }
    }
    let mut level: Vec<AggregationProof> = leaves.into_iter().map(Option::unwrap).collect();
    let mut held = Role::LeafJoin;
    let mut keys = keys_proving(held);
    while level.len() > 1 || matches!(level[0].role, Role::Leaf(_)) {
        let role = match level[0].role {
            Role::Leaf(_) => Role::LeafJoin,
            _ => Role::NodeJoin,
        };
        if role != held {
            drop(keys);
            keys = keys_proving(role);
            held = role;
        }
        level = level
            .chunks(2)
            .map(|pair| {
                timed(role, &mut || {
                    keys.prove_join(&pair[0], pair.get(1)).unwrap()
                })
            })
            .collect();
    }
    let total = aggregation.elapsed().as_secs_f64();
    let last = level.pop().unwrap();
    let start = Instant::now();
    let claim = keys.verify(&machine, &last).unwrap();
    let verifying = start.elapsed().as_secs_f64();
    for (name, role) in [
        ("leaf", Role::Leaf(0)),
        ("leaf join", Role::LeafJoin),
        ("node join", Role::NodeJoin),
    ] {
        let steps: Vec<(f64, f64)> = times
            .iter()
            .filter(|(r, _, _)| *r == role)
            .map(|&(_, time, peak)| (time, peak))
            .collect();
        if !steps.is_empty() {
            println!(
                "{name}: {} proofs, {:.1} s each on average (max {:.1} s), peak {:.0} MiB at most",
                steps.len(),
                steps.iter().map(|(time, _)| time).sum::<f64>() / steps.len() as f64,
                steps.iter().map(|&(time, _)| time).fold(0.0, f64::max),
                steps.iter().map(|&(_, peak)| peak).fold(0.0, f64::max)
            );
        }
    }
    println!(
        "final proof: {} segments, {:.0} KiB, verified in {:.1} ms; aggregation {total:.1} s, \
         segments to final proof {:.1} s",
        claim.segments,
        last.to_bytes().len() as f64 / 1024.0,
        verifying * 1e3,
        proving + total,
    );

    // The wrap-ready step's worker proves no aggregation program.
    drop(keys);
    let keys = AggregationKeys::proving(&machine, &shapes, StarkParameters::recursion(), |_| false)
        .unwrap();
    let start = Instant::now();
    let wrap_ready = WrapReadyKeys::new(&keys, StarkParameters::outer());
    println!(
        "wrap-ready keys ({:?}): shrink tables 2^{:?}, outer tables 2^{:?}, built in {:.1} s",
        StarkParameters::outer(),
        wrap_ready.shrink_keys().degree_bits(),
        wrap_ready.keys().degree_bits(),
        start.elapsed().as_secs_f64()
    );
    reset_peak_memory();
    let start = Instant::now();
    let outer = wrap_ready.prove(&keys, &last).unwrap();
    let wrapping = start.elapsed().as_secs_f64();
    let start = Instant::now();
    assert_eq!(wrap_ready.verify(&machine, &outer).unwrap(), claim);
    println!(
        "wrap-ready proof: proven in {wrapping:.1} s, {:.0} KiB, verified in {:.1} ms; \
         segments to wrap-ready proof {:.1} s; peak {:.0} MiB while proving it",
        outer.to_bytes().len() as f64 / 1024.0,
        start.elapsed().as_secs_f64() * 1e3,
        proving + total + wrapping,
        peak_memory_mib()
    );
}
