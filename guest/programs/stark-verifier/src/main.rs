//! Verifies a Plonky3 STARK inside the zkVM: the cost measurement behind the aggregation design.
//!
//! Reads `(use_precompile: bool, parameters: [u32; 7])` from stdin and a postcard-encoded
//! uni-STARK proof of Plonky3's Keccak-f table from the hints. The configuration is the
//! segment prover's (`gnomon_machine::config::inner_config`): BabyBear, its degree-4
//! extension, Poseidon2 (width 16) for Merkle trees and transcript, FRI with binary folding.
//! `parameters` are its `StarkParameters` in declaration order: log_blowup, num_queries,
//! query_pow_bits, lookup_pow_bits, deep_pow_bits, log_final_poly_len, cap_height.
//! With `use_precompile` every Poseidon2 permutation is the `POSEIDON2_PERMUTE` syscall,
//! otherwise Plonky3's software permutation.
//!
//! Commits the proof's degree bits and trace commitment (postcard) when it verifies; a proof
//! that does not decode or verify panics, which exits non-zero.
#![no_std]
#![no_main]

extern crate alloc;

use gnomon_guest::abi::syscall::POSEIDON2_WIDTH;
use p3_baby_bear::{BabyBear, Poseidon2BabyBear, default_babybear_poseidon2_16};
use p3_challenger::DuplexChallenger;
use p3_commit::ExtensionMmcs;
use p3_dft::Radix2DitParallel;
use p3_field::PrimeField32;
use p3_field::extension::BinomialExtensionField;
use p3_fri::{FriParameters, TwoAdicFriPcs};
use p3_keccak_air::KeccakAir;
use p3_merkle_tree::MerkleTreeMmcs;
use p3_symmetric::{
    CryptographicPermutation, PaddingFreeSponge, Permutation, TruncatedPermutation,
};
use p3_uni_stark::{Proof, StarkConfig};

gnomon_guest::entrypoint!(main);

type F = BabyBear;
type EF = BinomialExtensionField<F, 4>;
const WIDTH: usize = POSEIDON2_WIDTH as usize;

/// Poseidon2 over BabyBear, width 16, with Plonky3's default constants: by the zkVM's
/// precompile or in software. Both compute the same permutation.
#[derive(Clone)]
enum Poseidon2 {
    Precompile,
    Software(Poseidon2BabyBear<WIDTH>),
}

impl Permutation<[F; WIDTH]> for Poseidon2 {
    fn permute_mut(&self, state: &mut [F; WIDTH]) {
        match self {
            Self::Precompile => {
                let mut words = state.map(|element| element.as_canonical_u32());
                gnomon_guest::syscalls::poseidon2_permute(&mut words);
                *state = words.map(F::new);
            }
            Self::Software(permutation) => permutation.permute_mut(state),
        }
    }
}

impl CryptographicPermutation<[F; WIDTH]> for Poseidon2 {}

type Hash = PaddingFreeSponge<Poseidon2, WIDTH, 8, 8>;
type Compress = TruncatedPermutation<Poseidon2, 2, 8, WIDTH>;
type ValMmcs = MerkleTreeMmcs<F, F, Hash, Compress, 2, 8>;
type Pcs = TwoAdicFriPcs<F, Radix2DitParallel<F>, ValMmcs, ExtensionMmcs<F, EF, ValMmcs>>;
type Config = StarkConfig<Pcs, EF, DuplexChallenger<F, Poseidon2, WIDTH, 8>>;

fn config(permutation: Poseidon2, parameters: [u32; 7]) -> Config {
    let [
        log_blowup,
        num_queries,
        query_pow_bits,
        lookup_pow_bits,
        deep_pow_bits,
        log_final_poly_len,
        cap_height,
    ] = parameters.map(|value| value as usize);
    let mmcs = ValMmcs::new(
        Hash::new(permutation.clone()),
        Compress::new(permutation.clone()),
        cap_height,
    );
    let fri = FriParameters {
        log_blowup,
        log_final_poly_len,
        max_log_arity: 1,
        num_queries,
        batch_proof_of_work_bits: deep_pow_bits,
        commit_proof_of_work_bits: 0,
        query_proof_of_work_bits: query_pow_bits,
        mmcs: ExtensionMmcs::new(mmcs.clone()),
    };
    let pcs = Pcs::new(Radix2DitParallel::default(), mmcs, fri);
    StarkConfig::new(pcs, DuplexChallenger::new(permutation))
        .with_lookup_proof_of_work_bits(lookup_pow_bits)
        .with_ood_proof_of_work_bits(deep_pow_bits)
}

fn main() {
    let (use_precompile, parameters): (bool, [u32; 7]) = gnomon_guest::io::read();
    let permutation = if use_precompile {
        Poseidon2::Precompile
    } else {
        Poseidon2::Software(default_babybear_poseidon2_16())
    };
    let config = config(permutation, parameters);
    let proof: Proof<Config> = postcard::from_bytes(&gnomon_guest::io::hint_vec())
        .expect("the hint is not a postcard-encoded proof");
    if let Err(error) = p3_uni_stark::verify(&config, &KeccakAir {}, &proof, &[]) {
        panic!("the proof does not verify: {error:?}");
    }
    let statement = (proof.degree_bits as u32, proof.commitments.trace);
    gnomon_guest::io::commit_slice(
        &postcard::to_allocvec(&statement).expect("encoding into a Vec cannot fail"),
    );
}
