//! Verifying a real segment proof of the RV32IM machine (23 tables, their LogUp buses, the
//! segment's public values, the opening proof) as a recursion program: the program passes, a
//! tampered opened value or opened row fails it, and the run is proven. This is the verifier
//! an aggregation leaf runs.

use gnomon_executor::{Input, Options, Program as Elf, SegmentSize, trace};
use gnomon_machine::config::{EF, F, Inner, StarkParameters};
use gnomon_machine::segment::MachineKeys;
use gnomon_machine::verification::opening::OpeningWitness;
use gnomon_recursion::batch::{self, BatchCheck, BatchProofCells};
use gnomon_recursion::program::Builder;
use gnomon_recursion::{RecursionKeys, RunError};
use p3_air::BaseAir;
use p3_field::PrimeCharacteristicRing;

#[test]
fn a_segment_proofs_verification_runs_and_is_proven() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../guest/elf/fibonacci.elf");
    let elf = Elf::from_elf(&std::fs::read(path).unwrap()).unwrap();
    let options = Options {
        segment_size: SegmentSize::new(12).unwrap(),
        ..Options::default()
    };
    let mut input = Input::new();
    input.write(&20u32);
    let (_, segments) = trace(&elf, &input, &options);
    let parameters = StarkParameters::testing();
    let keys = MachineKeys::<Inner>::new(&elf, parameters);
    let proof = keys.prove_segment(&segments[0]).unwrap();
    keys.verify_segment(&proof).unwrap();

    let names: Vec<String> = keys
        .airs()
        .iter()
        .map(|air| air.name().to_string())
        .collect();
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
    let public_values = keys.instance_public_values(&proof.public_values);
    let opening = OpeningWitness::of_batch::<Inner, _>(
        keys.airs(),
        keys.common(),
        &parameters,
        &proof.proof,
        &public_values,
    )
    .unwrap();
    let witness = batch::witness(
        &check,
        keys.common(),
        &proof.proof,
        &public_values,
        &opening,
    )
    .unwrap();
    program.run(&witness).unwrap();

    let mut tampered_opening = opening.clone();
    tampered_opening.queries[1].rows[0][5][0] += F::ONE;
    let tampered = batch::witness(
        &check,
        keys.common(),
        &proof.proof,
        &public_values,
        &tampered_opening,
    )
    .unwrap();
    assert!(matches!(
        program.run(&tampered),
        Err(RunError::AssertionFailed { .. })
    ));
    let mut tampered_proof = proof.proof;
    tampered_proof.opened_values.instances[3]
        .base_opened_values
        .trace_local[2] += EF::ONE;
    let tampered = batch::witness(
        &check,
        keys.common(),
        &tampered_proof,
        &public_values,
        &opening,
    )
    .unwrap();
    assert!(matches!(
        program.run(&tampered),
        Err(RunError::AssertionFailed { .. })
    ));

    let outer = RecursionKeys::<Inner>::new(program, parameters);
    let rows: Vec<String> = outer
        .airs()
        .iter()
        .map(|air| {
            format!(
                "{} {}",
                air.name(),
                air.preprocessed_trace().unwrap().values.len() / air.preprocessed_width()
            )
        })
        .collect();
    eprintln!("the check of a 23-table segment proof: {}", rows.join(", "));
    let outer_proof = outer.prove(&witness).unwrap();
    outer.verify(&outer_proof).unwrap();
}
