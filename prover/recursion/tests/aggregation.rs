//! Aggregation end to end at the testing parameters: a run's segment proofs fold into one
//! final proof that says what `verify_run` says of them; every way of joining proofs that are
//! not consecutive segments of one run that exits with 0 fails.

use std::sync::OnceLock;

use gnomon_executor::{Input, Options, Program as Elf, SegmentSize, trace};
use gnomon_machine::config::{F, Inner, StarkParameters};
use gnomon_machine::run::{prove_run, verify_run};
use gnomon_machine::segment::{MachineKeys, SegmentProof};
use gnomon_recursion::aggregation::{
    AggregationError, AggregationKeys, AggregationProof, Role, WrapReadyKeys, WrapReadyProof,
    statement,
};
use gnomon_recursion::{ProveError, RecursionProof, RunError};
use p3_field::PrimeCharacteristicRing;

/// A guest's keys and the proofs of its run on `input`, in segments of 2^10 cycles.
fn run(name: &str, input: &Input) -> (MachineKeys<Inner>, Vec<SegmentProof<Inner>>) {
    let path = format!("{}/../../guest/elf/{name}.elf", env!("CARGO_MANIFEST_DIR"));
    let elf = Elf::from_elf(&std::fs::read(path).unwrap()).unwrap();
    let options = Options {
        segment_size: SegmentSize::new(10).unwrap(),
        ..Options::default()
    };
    let (_, segments) = trace(&elf, input, &options);
    let keys = MachineKeys::<Inner>::new(&elf, StarkParameters::testing());
    let proofs = prove_run(&keys, &segments).unwrap();
    (keys, proofs)
}

struct Fixture {
    fibonacci: (MachineKeys<Inner>, Vec<SegmentProof<Inner>>),
    /// A run of another program, which exits with 7.
    exits: (MachineKeys<Inner>, Vec<SegmentProof<Inner>>),
    /// The segment shapes of both runs, in the keys' catalog order.
    shapes: Vec<Vec<usize>>,
    keys: AggregationKeys,
    leaves: Vec<AggregationProof>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut input = Input::new();
        input.write(&60u32);
        let fibonacci = run("fibonacci", &input);
        let mut input = Input::new();
        input.write(&String::from("exit"));
        let exits = run("faults", &input);
        let mut shapes: Vec<Vec<usize>> = fibonacci
            .1
            .iter()
            .chain(&exits.1)
            .map(|proof| proof.proof.degree_bits.clone())
            .collect();
        shapes.sort();
        shapes.dedup();
        let keys = AggregationKeys::new(&fibonacci.0, &shapes, StarkParameters::testing()).unwrap();
        let leaves = fibonacci
            .1
            .iter()
            .map(|proof| keys.prove_leaf(&fibonacci.0, proof).unwrap())
            .collect();
        Fixture {
            fibonacci,
            exits,
            shapes,
            keys,
            leaves,
        }
    })
}

fn copy(proof: &AggregationProof) -> AggregationProof {
    AggregationProof::from_bytes(&proof.to_bytes()).unwrap()
}

/// The wrap-ready program of the fixture's keys, at the testing parameters.
fn wrap_ready() -> &'static WrapReadyKeys {
    static KEYS: OnceLock<WrapReadyKeys> = OnceLock::new();
    KEYS.get_or_init(|| WrapReadyKeys::new(&fixture().keys, StarkParameters::testing()))
}

fn fails_to_prove<T>(result: Result<T, AggregationError>) -> bool {
    matches!(
        result,
        Err(AggregationError::Prove(ProveError::Run(
            RunError::AssertionFailed { .. }
        )))
    )
}

#[test]
fn a_run_folds_into_one_final_proof_of_what_verify_run_says() {
    let fixture = fixture();
    let (machine, proofs) = &fixture.fibonacci;
    assert!(proofs.len() >= 3, "{} segments", proofs.len());
    let claim = verify_run(machine, proofs).unwrap();
    let last = fixture.keys.aggregate(machine, proofs).unwrap();
    assert_eq!(last.role, Role::NodeJoin);
    assert_eq!(
        last.proof.proof.degree_bits,
        fixture.keys.final_degree_bits()
    );
    let aggregated = fixture.keys.verify(machine, &last).unwrap();
    assert_eq!(aggregated.segments as usize, claim.segments);
    assert_eq!(aggregated.input_digest, claim.input_digest);
    assert_eq!(aggregated.output_digest, claim.output_digest);

    // A final proof speaks for its program only.
    let (other, _) = &fixture.exits;
    assert!(matches!(
        fixture.keys.verify(other, &last),
        Err(AggregationError::Statement(_))
    ));
    // A leaf is not final; a tampered final proof does not verify.
    assert!(matches!(
        fixture.keys.verify(machine, &fixture.leaves[0]),
        Err(AggregationError::NotFinal)
    ));
    let mut tampered = copy(&last);
    tampered.proof.public_values[statement::OUTPUT_DIGEST] += F::ONE;
    assert!(matches!(
        fixture.keys.verify(machine, &tampered),
        Err(AggregationError::Verify(_))
    ));
    let mut relabeled = copy(&last);
    relabeled.role = Role::LeafJoin;
    assert!(fixture.keys.verify(machine, &relabeled).is_err());
}

#[test]
fn a_one_segment_prefix_is_not_a_whole_run() {
    let fixture = fixture();
    let (machine, _) = &fixture.fibonacci;
    // The first segment alone, joined as a single child: a valid join, but no halt.
    let single = fixture.keys.prove_join(&fixture.leaves[0], None).unwrap();
    assert!(matches!(
        fixture.keys.verify(machine, &single),
        Err(AggregationError::Statement("the halt"))
    ));
}

/// A worker's keys, with the proving data of the leaf join only: they prove leaf joins that
/// the full keys take as children, and refuse the other jobs with a typed error.
#[test]
fn keys_proving_one_role_prove_its_jobs_only() {
    let fixture = fixture();
    let (machine, proofs) = &fixture.fibonacci;
    let worker = AggregationKeys::proving(
        machine,
        &fixture.shapes,
        StarkParameters::testing(),
        |role| role == Role::LeafJoin,
    )
    .unwrap();
    let leaves = &fixture.leaves;
    assert_eq!(leaves.len(), 3);
    let left = worker.prove_join(&leaves[0], Some(&leaves[1])).unwrap();
    let right = fixture.keys.prove_join(&leaves[2], None).unwrap();
    let root = fixture.keys.prove_join(&left, Some(&right)).unwrap();
    fixture.keys.verify(machine, &root).unwrap();
    assert!(matches!(
        worker.prove_leaf(machine, &proofs[0]),
        Err(AggregationError::Prove(ProveError::VerifyingOnly))
    ));
    assert!(matches!(
        worker.prove_join(&left, Some(&right)),
        Err(AggregationError::Prove(ProveError::VerifyingOnly))
    ));
}

#[test]
fn children_out_of_order_or_with_a_gap_fail() {
    let fixture = fixture();
    let leaves = &fixture.leaves;
    assert!(fails_to_prove(
        fixture.keys.prove_join(&leaves[1], Some(&leaves[0]))
    ));
    assert!(fails_to_prove(
        fixture.keys.prove_join(&leaves[0], Some(&leaves[2]))
    ));
    let first = fixture
        .keys
        .prove_join(&leaves[0], Some(&leaves[1]))
        .unwrap();
    let second = fixture.keys.prove_join(&leaves[2], None).unwrap();
    assert!(fails_to_prove(
        fixture.keys.prove_join(&second, Some(&first))
    ));
    fixture.keys.prove_join(&first, Some(&second)).unwrap();
}

#[test]
fn children_of_different_programs_fail() {
    let fixture = fixture();
    let (other, proofs) = &fixture.exits;
    let other_leaf = fixture.keys.prove_leaf(other, &proofs[0]).unwrap();
    assert!(fails_to_prove(
        fixture
            .keys
            .prove_join(&fixture.leaves[0], Some(&other_leaf))
    ));
}

#[test]
fn a_run_that_exits_non_zero_has_no_final_proof() {
    let fixture = fixture();
    let (other, proofs) = &fixture.exits;
    assert_eq!(verify_run(other, proofs).unwrap().exit_code, 7);
    let last = fixture.keys.aggregate(other, proofs).unwrap();
    assert!(matches!(
        fixture.keys.verify(other, &last),
        Err(AggregationError::ExitCode(7))
    ));
    // The wrap-ready program refuses it itself.
    assert!(fails_to_prove(wrap_ready().prove(&fixture.keys, &last)));
}

#[test]
fn the_root_is_re_proven_in_the_outer_configuration() {
    let fixture = fixture();
    let machine = &fixture.fibonacci.0;
    let last = AggregationProof::from_bytes(&FINAL).unwrap();
    let expected = fixture.keys.verify(machine, &last).unwrap();
    let wrap_ready = wrap_ready();
    let proof = wrap_ready.prove(&fixture.keys, &last).unwrap();
    assert_eq!(proof.proof.degree_bits, wrap_ready.keys().degree_bits());
    assert_eq!(proof.public_values, last.proof.public_values);
    let proof = WrapReadyProof::from_bytes(&proof.to_bytes()).unwrap();
    assert_eq!(wrap_ready.verify(machine, &proof).unwrap(), expected);

    // It speaks for its program only, and for the statement it was proven with.
    assert!(matches!(
        wrap_ready.verify(&fixture.exits.0, &proof),
        Err(AggregationError::Statement(_))
    ));
    let mut tampered = WrapReadyProof::from_bytes(&proof.to_bytes()).unwrap();
    tampered.public_values[statement::OUTPUT_DIGEST] += F::ONE;
    assert!(matches!(
        wrap_ready.verify(machine, &tampered),
        Err(AggregationError::Verify(_))
    ));
    // Only a join is a root; a join of a prefix (no halt) is refused by the program, and a
    // node join said to be a leaf join has no witness.
    assert!(matches!(
        wrap_ready.prove(&fixture.keys, &fixture.leaves[0]),
        Err(AggregationError::NotFinal)
    ));
    let prefix = fixture.keys.prove_join(&fixture.leaves[0], None).unwrap();
    assert!(fails_to_prove(wrap_ready.prove(&fixture.keys, &prefix)));
    let mut relabeled = AggregationProof::from_bytes(&FINAL).unwrap();
    relabeled.role = Role::LeafJoin;
    assert!(wrap_ready.prove(&fixture.keys, &relabeled).is_err());
}

#[test]
fn a_leaf_presented_as_a_join_and_the_reverse_fail() {
    let fixture = fixture();
    let leaves = &fixture.leaves;
    let join = fixture
        .keys
        .prove_join(&leaves[0], Some(&leaves[1]))
        .unwrap();
    let tail = fixture.keys.prove_join(&leaves[2], None).unwrap();
    // A leaf's proof where a join is expected: another shape, or another key.
    let posing_as_join = AggregationProof {
        role: Role::LeafJoin,
        proof: copy(&leaves[2]).proof,
    };
    assert!(
        fixture
            .keys
            .prove_join(&join, Some(&posing_as_join))
            .is_err()
    );
    // A join's proof where a leaf is expected.
    let posing_as_leaf = AggregationProof {
        role: Role::Leaf(0),
        proof: copy(&tail).proof,
    };
    assert!(
        fixture
            .keys
            .prove_join(&leaves[1], Some(&posing_as_leaf))
            .is_err()
    );
    // A leaf join posing as a node join: it does not verify under the node join's key (the
    // unit test of the node join shows the program refusing it where the transcript would
    // not).
    let posing_as_node = AggregationProof {
        role: Role::NodeJoin,
        proof: copy(&tail).proof,
    };
    assert!(
        fixture
            .keys
            .prove_join(&join, Some(&posing_as_node))
            .is_err()
    );
    assert!(matches!(
        fixture.keys.prove_join(&join, Some(&leaves[2])),
        Err(AggregationError::MixedChildren)
    ));
}

/// A tampered child has no witness: natively its transcript or its openings fail (the batch
/// tests show the verifier program refusing the same tampering with honest openings).
#[test]
fn a_tampered_child_fails() {
    let fixture = fixture();
    let leaves = &fixture.leaves;
    let mut tampered = copy(&leaves[1]);
    tampered.proof.public_values[statement::END_PC] += F::ONE;
    assert!(
        fixture
            .keys
            .prove_join(&leaves[0], Some(&tampered))
            .is_err()
    );
    let mut tampered = copy(&leaves[1]);
    let RecursionProof { proof, .. } = &mut tampered.proof;
    proof.opened_values.instances[1]
        .base_opened_values
        .trace_local[0] += gnomon_machine::config::EF::ONE;
    assert!(
        fixture
            .keys
            .prove_join(&leaves[0], Some(&tampered))
            .is_err()
    );
}

/// A valid final proof's bytes, to corrupt: the join of the first two segments and the third.
static FINAL: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
    let fixture = fixture();
    let leaves = &fixture.leaves;
    let first = fixture
        .keys
        .prove_join(&leaves[0], Some(&leaves[1]))
        .unwrap();
    let second = fixture.keys.prove_join(&leaves[2], None).unwrap();
    let last = fixture.keys.prove_join(&first, Some(&second)).unwrap();
    fixture.keys.verify(&fixture.fibonacci.0, &last).unwrap();
    last.to_bytes()
});

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]

    /// Corrupted final proofs decode to an error or fail to verify, and never panic.
    #[test]
    fn corrupted_final_proofs_are_rejected_without_panics(
        flips in proptest::collection::vec(
            (proptest::prelude::any::<proptest::sample::Index>(), 1u8..=255),
            1..4,
        ),
        truncate in proptest::option::of(proptest::prelude::any::<proptest::sample::Index>()),
    ) {
        let mut bytes = FINAL.clone();
        for (index, mask) in flips {
            let position = index.index(bytes.len());
            bytes[position] ^= mask;
        }
        if let Some(index) = truncate {
            bytes.truncate(index.index(bytes.len()));
        }
        if let Ok(proof) = AggregationProof::from_bytes(&bytes) {
            let fixture = fixture();
            proptest::prop_assert!(fixture.keys.verify(&fixture.fibonacci.0, &proof).is_err());
        }
    }
}
