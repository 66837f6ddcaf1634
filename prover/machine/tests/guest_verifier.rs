//! The `stark-verifier` guest runs Plonky3's verifier inside the zkVM on proofs in the segment
//! prover's configuration: it accepts what the native verifier accepts, with the Poseidon2
//! precompile and in software, and exits non-zero on what it rejects.

mod keccak_proof;

use gnomon_executor::{Options, execute};
use gnomon_machine::config::{EF, StarkParameters};
use keccak_proof::{KeccakProof, guest, input, prove, statement, verify};
use p3_field::PrimeCharacteristicRing;

/// Runs the guest on `proof`; the journal when it exits 0, `None` when it fails.
fn run_guest(
    proof: &KeccakProof,
    parameters: StarkParameters,
    use_precompile: bool,
) -> Option<Vec<u8>> {
    let execution = execute(
        &guest(),
        &input(proof, parameters, use_precompile),
        &Options::default(),
    );
    execution.succeeded().then_some(execution.journal)
}

#[test]
fn accepts_a_valid_proof_with_the_precompile_and_in_software() {
    let parameters = StarkParameters::testing();
    let proof = prove(1, parameters);
    assert!(verify(&proof, parameters));
    for use_precompile in [true, false] {
        assert_eq!(
            run_guest(&proof, parameters, use_precompile),
            Some(statement(&proof))
        );
    }
}

#[test]
fn rejects_what_the_native_verifier_rejects() {
    let parameters = StarkParameters::testing();
    let tampered: [fn(&mut KeccakProof); 3] = [
        |proof| proof.opened_values.trace_local[7] += EF::ONE,
        |proof| proof.opened_values.quotient_chunks[0][0] += EF::ONE,
        |proof| proof.degree_bits += 1,
    ];
    for tamper in tampered {
        let mut proof = prove(1, parameters);
        tamper(&mut proof);
        assert!(!verify(&proof, parameters));
        assert_eq!(run_guest(&proof, parameters, true), None);
    }

    let proof = prove(1, parameters);
    let other = StarkParameters {
        num_queries: parameters.num_queries + 1,
        ..parameters
    };
    assert!(!verify(&proof, other));
    assert_eq!(run_guest(&proof, other, true), None);
}
