//! The outer configuration: Poseidon2 over BN254 for the Merkle trees and the transcript, so
//! that the Groth16 circuit (over BN254's scalar field) verifies the proof with native field
//! arithmetic.
//!
//! - Permutation: Poseidon2, width 3, `x^5`, 8 full and 56 partial rounds, with the round
//!   constants of the standard Grain LFSR procedure (`poseidon2_bn254`, checked against the
//!   reference implementation's known answer).
//! - Merkle leaves: a padding-free sponge of rate 2 over BN254, absorbing 8 BabyBear values per
//!   BN254 element (`2^31 ^ 8 < p`, injective); digests are one BN254 element. Inner nodes:
//!   the permutation of `(left, right, 0)`, truncated to its first element.
//! - Transcript: a duplex challenger of rate 2 over BN254 that packs observed BabyBear values
//!   the same way and splits squeezed BN254 elements into BabyBear challenges.
//! - [`StarkParameters::outer`]: blowup 16, 21 queries and 16 bits of proof-of-work before the
//!   queries (`4 * 21 + 16 = 100` conjectured bits), Merkle caps of 16 nodes, a final
//!   polynomial of 4 coefficients.

use p3_bn254::{Bn254, Poseidon2Bn254};
use p3_challenger::MultiField32Challenger;
use p3_commit::Mmcs;
use p3_matrix::Dimensions;
use p3_merkle_tree::MerkleTreeMmcs;
use p3_symmetric::{MultiField32PaddingFreeSponge, TruncatedPermutation};

use super::poseidon2_bn254::{self, WIDTH};
use super::{Config, F, Hashing, StarkParameters};

/// Absorbed (and squeezed) BN254 elements per permutation.
const RATE: usize = 2;

type Perm = Poseidon2Bn254<WIDTH>;
type LeafHash = MultiField32PaddingFreeSponge<F, Bn254, Perm, WIDTH, RATE, 1>;
type NodeCompress = TruncatedPermutation<Perm, 2, 1, WIDTH>;

/// Poseidon2 over BN254: the configuration of the proof the Groth16 circuit verifies.
#[derive(Clone, Copy, Debug)]
pub struct Outer;

impl Hashing for Outer {
    type Mmcs = MerkleTreeMmcs<F, Bn254, LeafHash, NodeCompress, 2, 1>;
    type Challenger = MultiField32Challenger<F, Bn254, Perm, WIDTH, RATE>;
    type Digest = Bn254;

    // Digests of one BN254 element: 254 bits.
    const COLLISION_RESISTANCE_BITS: usize = 127;

    fn mmcs(cap_height: usize) -> Self::Mmcs {
        let permutation = permutation();
        MerkleTreeMmcs::new(
            LeafHash::new(permutation.clone()).expect("BN254 is larger than BabyBear"),
            NodeCompress::new(permutation),
            cap_height,
        )
    }

    fn challenger() -> Self::Challenger {
        MultiField32Challenger::new(permutation()).expect("BN254 is larger than BabyBear")
    }

    fn cap_digests(commitment: &<Self::Mmcs as Mmcs<F>>::Commitment) -> Vec<Bn254> {
        commitment.roots().iter().map(|&[root]| root).collect()
    }

    fn restore_paths(
        mmcs: &Self::Mmcs,
        dimensions: &[Dimensions],
        indices: &[usize],
        rows: &[Vec<Vec<F>>],
        proof: &<Self::Mmcs as Mmcs<F>>::MultiProof,
    ) -> Option<Vec<Vec<Bn254>>> {
        let paths = mmcs
            .restore_and_recompute_paths(dimensions, indices, rows, proof)
            .ok()?;
        Some(
            paths
                .into_iter()
                .map(|path| path.siblings.into_iter().map(|[node]| node).collect())
                .collect(),
        )
    }

    super::instantiate_machine!();
}

/// The configuration of the proof the Groth16 circuit verifies.
pub type OuterConfig = Config<Outer>;

/// Poseidon2 over BN254 at width 3, with the standard round constants.
pub fn permutation() -> Perm {
    static PERMUTATION: std::sync::OnceLock<Perm> = std::sync::OnceLock::new();
    PERMUTATION
        .get_or_init(poseidon2_bn254::permutation)
        .clone()
}

impl StarkParameters {
    /// What the proof the Groth16 circuit verifies uses: few queries, which the circuit pays
    /// for in Merkle paths, bought with a large blowup.
    pub const fn outer() -> Self {
        Self {
            log_blowup: 4,
            num_queries: 21,
            query_pow_bits: 16,
            lookup_pow_bits: 16,
            deep_pow_bits: 16,
            log_final_poly_len: 2,
            cap_height: 4,
        }
    }
}
