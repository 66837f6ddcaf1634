//! Proofs of Plonky3's Keccak-f table in the segment prover's configuration, and the input of
//! the `stark-verifier` guest that verifies them inside the zkVM. Shared by the
//! `guest_verifier` test and bench.

use gnomon_executor::{Input, Program};
use gnomon_machine::config::{F, InnerConfig, StarkParameters, inner_config};
use p3_keccak_air::KeccakAir;

/// A uni-STARK proof in the segment prover's configuration.
pub type KeccakProof = p3_uni_stark::Proof<InnerConfig>;

pub fn guest() -> Program {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../guest/elf/stark-verifier.elf"
    );
    Program::from_elf(&std::fs::read(path).unwrap()).unwrap()
}

/// Proves `permutations` Keccak-f permutations of fixed, distinct states (the table pads to
/// a power of two of 24-row permutations).
pub fn prove(permutations: usize, parameters: StarkParameters) -> KeccakProof {
    let states = (0..permutations)
        .map(|index| {
            std::array::from_fn(|lane| {
                ((index * 25 + lane) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
            })
        })
        .collect();
    let trace = p3_keccak_air::generate_trace_rows::<F>(states, parameters.log_blowup);
    p3_uni_stark::prove(&inner_config(parameters), &KeccakAir {}, trace, &[])
        .expect("a valid Keccak-f trace proves")
}

/// Verifies `proof` natively, as the guest does.
pub fn verify(proof: &KeccakProof, parameters: StarkParameters) -> bool {
    p3_uni_stark::verify(&inner_config(parameters), &KeccakAir {}, proof, &[]).is_ok()
}

/// The guest's input: the parameters (and whether to hash with the Poseidon2 precompile) on
/// stdin, the proof as a hint.
pub fn input(proof: &KeccakProof, parameters: StarkParameters, use_precompile: bool) -> Input {
    // In the order of the fields' declaration, which the guest reads them in.
    let parameters = [
        parameters.log_blowup,
        parameters.num_queries,
        parameters.query_pow_bits,
        parameters.lookup_pow_bits,
        parameters.deep_pow_bits,
        parameters.log_final_poly_len,
        parameters.cap_height,
    ]
    .map(|value| u32::try_from(value).unwrap());
    let mut input = Input::new();
    input
        .write(&(use_precompile, parameters))
        .hint_frame(&postcard::to_allocvec(proof).unwrap());
    input
}

/// What the guest commits for a proof it accepts.
pub fn statement(proof: &KeccakProof) -> Vec<u8> {
    postcard::to_allocvec(&(proof.degree_bits as u32, &proof.commitments.trace)).unwrap()
}
