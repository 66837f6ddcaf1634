//! The verifier circuit's constraints by part, for a real run: `fibonacci(20)` proven in one
//! segment (2^12 cycles), at the testing parameters and at the outer ones (the same tables and
//! heights; the circuit depends on the parameters and the heights, not on the proof).
//!
//! `cargo bench -p gnomon-wrap --bench circuit`

use gnomon_executor::{Input, Options, SegmentSize, trace};
use gnomon_machine::config::{Outer, StarkParameters};
use gnomon_machine::segment::MachineKeys;
use gnomon_wrap::verifier::{ConstraintReport, VerifierShape};

fn main() {
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
    println!(
        "| parameters | witnesses | statement | transcript to zeta | AIR + LogUp | PCS transcript, alpha powers, claims | input openings | reduced openings | FRI folds | final polynomial | total |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (name, parameters) in [
        ("testing (4 queries, blowup 2)", StarkParameters::testing()),
        ("outer (21 queries, blowup 16)", StarkParameters::outer()),
    ] {
        let keys = MachineKeys::<Outer>::new(&program, parameters);
        let shape = VerifierShape::new(&keys, degree_bits).expect("the proof's heights");
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
}
