//! The verifier circuit's constraints by part (the circuit depends on the parameters and the
//! heights, not on the proof):
//!
//! - for a one-segment run: `fibonacci(20)` proven in one segment (2^12 cycles), at the
//!   testing parameters and at the outer ones (the same tables and heights);
//! - for wrap-ready proofs (aggregation's final proof): the aggregation keys of `sha-chain`
//!   segments of 2^16 cycles at the production parameters, recursion proofs at
//!   `StarkParameters::recursion`, and the wrap-ready step at the outer parameters (the
//!   production circuit) and at the testing ones.
//!
//! `cargo bench -p gnomon-wrap --bench circuit`

use std::time::Instant;

use gnomon_executor::{Input, Options, SegmentSize, trace};
use gnomon_machine::config::{Inner, Outer, StarkParameters};
use gnomon_machine::segment::MachineKeys;
use gnomon_recursion::aggregation::{AggregationKeys, WrapReadyKeys};
use gnomon_wrap::verifier::{ConstraintReport, VerifierShape};

const HEADER: &str = "| parameters | witnesses | statement | transcript to zeta | AIR + LogUp | PCS transcript, alpha powers, claims | input openings | reduced openings | FRI folds | final polynomial | total |\n|---|---|---|---|---|---|---|---|---|---|---|";

fn row(name: &str, shape: &VerifierShape) {
    let ConstraintReport {
        witnesses,
        statement,
        transcript,
        air,
        pcs,
        total,
    } = shape.constraint_report().expect("the circuit synthesizes");
    println!(
        "| {name} | {witnesses} | {statement} | {transcript} | {air} | {} | {} | {} | {} | {} | {total} |",
        pcs.transcript, pcs.inputs, pcs.reduced, pcs.folds, pcs.final_poly
    );
}

fn main() {
    one_segment();
    wrap_ready();
}

fn one_segment() {
    let elf = concat!(env!("CARGO_MANIFEST_DIR"), "/../../guest/elf/fibonacci.elf");
    let program = gnomon_executor::Program::from_elf(&std::fs::read(elf).expect("the guest"))
        .expect("a committed guest loads");
    let mut input = Input::new();
    input.write(&20u32);
    let options = Options {
        segment_size: SegmentSize::new(12).expect("a segment size"),
        ..Options::default()
    };
    let (_, segments) = trace(&program, &input, &options);
    assert_eq!(segments.len(), 1);
    let testing = MachineKeys::<Outer>::new(&program, StarkParameters::testing());
    let proof = testing
        .prove_segment(&segments[0])
        .expect("the segment proves");
    let degree_bits = &proof.proof.degree_bits;
    println!("fibonacci(20), one segment, table degree bits {degree_bits:?}");
    println!("{HEADER}");
    for (name, parameters) in [
        ("testing (4 queries, blowup 2)", StarkParameters::testing()),
        ("outer (21 queries, blowup 16)", StarkParameters::outer()),
    ] {
        let keys = MachineKeys::<Outer>::new(&program, parameters);
        let shape = VerifierShape::new(&keys, degree_bits).expect("the proof's heights");
        row(name, &shape);
    }
}

fn wrap_ready() {
    let elf = concat!(env!("CARGO_MANIFEST_DIR"), "/../../guest/elf/sha-chain.elf");
    let program = gnomon_executor::Program::from_elf(&std::fs::read(elf).expect("the guest"))
        .expect("a committed guest loads");
    let mut input = Input::new();
    input.write(&(40u32, [0u8; 32]));
    let options = Options {
        segment_size: SegmentSize::new(16).expect("a segment size"),
        ..Options::default()
    };
    let (_, segments) = trace(&program, &input, &options);
    let machine = MachineKeys::<Inner>::new(&program, StarkParameters::production());
    let proof = machine
        .prove_segment(&segments[0])
        .expect("the segment proves");
    let start = Instant::now();
    // The circuit needs the programs' shapes and commitments, not their proving data.
    let aggregation = AggregationKeys::proving(
        &machine,
        std::slice::from_ref(&proof.proof.degree_bits),
        StarkParameters::recursion(),
        |_| false,
    )
    .expect("the segment's shape");
    println!(
        "\nwrap-ready proofs of sha-chain segments of 2^16 cycles (degree bits {:?}); \
         aggregation keys in {:.1} s",
        proof.proof.degree_bits,
        start.elapsed().as_secs_f64()
    );
    println!("{HEADER}");
    for (name, parameters) in [
        ("outer (21 queries, blowup 16)", StarkParameters::outer()),
        ("testing (4 queries, blowup 2)", StarkParameters::testing()),
    ] {
        let start = Instant::now();
        let wrap_ready = WrapReadyKeys::new(&aggregation, parameters);
        let shape = VerifierShape::aggregated(&wrap_ready, &machine).expect("the keys' shape");
        eprintln!(
            "{name}: shrink tables 2^{:?}, outer tables 2^{:?}, keys in {:.1} s",
            wrap_ready.shrink_keys().degree_bits(),
            wrap_ready.keys().degree_bits(),
            start.elapsed().as_secs_f64()
        );
        row(name, &shape);
    }
}
