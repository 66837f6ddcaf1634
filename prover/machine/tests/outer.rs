//! The outer configuration (Poseidon2 over BN254, the hash the Groth16 wrap verifies): the same
//! machine proves and verifies a guest run in it, and its verifier rejects what the inner one
//! rejects.
//!
//! The tests use the testing parameters (blowup 2, few queries): a proof with the outer
//! production parameters (blowup 16) costs about 85 s per segment on this 2-core machine, since
//! every segment commits the 2^16-row lookup table through Poseidon2 over BN254. The `prove`
//! bench proves one with them.

use gnomon_executor::{Input, Options, Program, SegmentSize, trace};
use gnomon_machine::config::{F, Inner, Outer, StarkParameters};
use gnomon_machine::run::{RunError, RunProof, prove_run, verify_run};
use gnomon_machine::segment::{MachineKeys, SegmentProof, VerifyError};
use p3_field::PrimeCharacteristicRing;
use proptest::prelude::*;

fn fibonacci() -> Program {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../guest/elf/fibonacci.elf");
    Program::from_elf(&std::fs::read(path).unwrap()).unwrap()
}

/// fibonacci(90) (2,838 cycles) in two segments of 2^11 cycles, in the outer configuration.
fn outer_run() -> &'static (MachineKeys<Outer>, Vec<SegmentProof<Outer>>) {
    static RUN: std::sync::OnceLock<(MachineKeys<Outer>, Vec<SegmentProof<Outer>>)> =
        std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        let program = fibonacci();
        let mut input = Input::new();
        input.write(&90u32);
        let options = Options {
            segment_size: SegmentSize::new(11).unwrap(),
            ..Options::default()
        };
        let (execution, segments) = trace(&program, &input, &options);
        assert!(execution.halt().is_ok());
        let keys = MachineKeys::<Outer>::new(&program, StarkParameters::testing());
        let proofs = prove_run(&keys, &segments).expect("the run proves");
        (keys, proofs)
    })
}

#[test]
fn a_guest_run_proves_and_verifies_in_the_outer_configuration() {
    let (keys, proofs) = outer_run();
    let claim = verify_run(keys, proofs).expect("the run verifies");
    assert_eq!(claim.exit_code, 0);
    assert!(claim.segments > 1, "the run spans several segments");

    let bytes = RunProof::<Outer> {
        segments: proofs
            .iter()
            .map(|proof| decode(&proof.to_bytes()))
            .collect(),
    }
    .to_bytes();
    let decoded = RunProof::<Outer>::from_bytes(&bytes).unwrap();
    assert_eq!(verify_run(keys, &decoded.segments).unwrap(), claim);
}

fn decode(bytes: &[u8]) -> SegmentProof<Outer> {
    SegmentProof::from_bytes(bytes).unwrap()
}

#[test]
fn wrong_public_values_are_rejected() {
    let (keys, proofs) = outer_run();
    let proof = &proofs[0];
    let mut lied = proof.public_values.clone();
    let end_pc = gnomon_machine::public_values::offset::END_PC;
    lied[end_pc] += F::ONE;
    let forged = SegmentProof::<Outer> {
        public_values: lied,
        proof: decode(&proof.to_bytes()).proof,
    };
    assert!(matches!(
        keys.verify_segment(&forged),
        Err(VerifyError::Stark(_))
    ));
}

#[test]
fn proofs_of_one_configuration_do_not_verify_in_the_other() {
    let program = fibonacci();
    let (outer_keys, outer_proofs) = outer_run();
    let inner_keys = MachineKeys::<Inner>::new(&program, StarkParameters::testing());
    let as_inner = SegmentProof::<Inner>::from_bytes(&outer_proofs[0].to_bytes());
    if let Ok(proof) = as_inner {
        assert!(inner_keys.verify_segment(&proof).is_err());
    }

    let mut input = Input::new();
    input.write(&90u32);
    let options = Options {
        segment_size: SegmentSize::new(11).unwrap(),
        ..Options::default()
    };
    let (_, segments) = trace(&program, &input, &options);
    let inner = inner_keys.prove_segment(&segments[0]).unwrap();
    if let Ok(proof) = SegmentProof::<Outer>::from_bytes(&inner.to_bytes()) {
        assert!(outer_keys.verify_segment(&proof).is_err());
    }
}

#[test]
fn the_parameters_are_part_of_the_key() {
    let (_, proofs) = outer_run();
    for parameters in [
        StarkParameters {
            num_queries: StarkParameters::testing().num_queries + 1,
            ..StarkParameters::testing()
        },
        StarkParameters {
            cap_height: 1,
            ..StarkParameters::testing()
        },
        StarkParameters {
            log_final_poly_len: 1,
            ..StarkParameters::testing()
        },
    ] {
        let keys = MachineKeys::<Outer>::new(&fibonacci(), parameters);
        assert!(keys.verify_segment(&proofs[0]).is_err(), "{parameters:?}");
    }
}

#[test]
fn segments_out_of_order_are_rejected() {
    let (keys, proofs) = outer_run();
    let swapped: Vec<_> = [1, 0]
        .into_iter()
        .chain(2..proofs.len())
        .map(|index| decode(&proofs[index].to_bytes()))
        .collect();
    assert!(matches!(
        verify_run(keys, &swapped),
        Err(RunError::WrongStart | RunError::OutOfOrder { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn corrupted_proofs_are_rejected_without_panics(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
        truncate in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let (keys, proofs) = outer_run();
        let mut bytes = proofs[0].to_bytes();
        for (index, mask) in flips {
            let position = index.index(bytes.len());
            bytes[position] ^= mask;
        }
        if let Some(index) = truncate {
            bytes.truncate(index.index(bytes.len()));
        }
        if let Ok(proof) = SegmentProof::<Outer>::from_bytes(&bytes) {
            prop_assert!(keys.verify_segment(&proof).is_err());
        }
    }
}
