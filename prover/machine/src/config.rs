//! The STARK configuration of segment proofs, in one place.
//!
//! BabyBear base field, its degree-4 extension for challenges, Poseidon2 (width 16, Plonky3's
//! published round constants) for the Merkle trees of the trace commitments and for the
//! Fiat-Shamir transcript, FRI with binary folding. [`StarkParameters`] holds the numbers that
//! decide security and cost; [`inner_config`] builds the Plonky3 configuration from them.
//!
//! Security of [`StarkParameters::production`] (blowup 2, 100 queries, 16 bits of grinding
//! before the queries, the LogUp challenges and the out-of-domain point), as `p3-security`
//! estimates it for this machine's 22 tables at the largest segment (every table 2^22 rows,
//! all their constraints and bus interactions; `MachineKeys::security`, printed by the
//! `prove` bench): 101 bits conjectured (ethSTARK conjecture; the FRI part alone is
//! `log_blowup * queries + grinding` = 116, and the buses' fingerprint over the degree-4
//! extension is what binds), 65.9 bits proven (list-decoding regime, bound by the low-degree
//! test; more queries or a larger blowup would raise it). [`StarkParameters::testing`] is for
//! tests only: it proves the same statements with a handful of queries and no security.
//!
//! The last proof before the Groth16 wrap uses a Poseidon2-over-BN254 Merkle tree and
//! transcript instead (the wrap issue); everything here is generic over `StarkGenericConfig`
//! so that configuration slots in beside this one.

use p3_baby_bear::{BabyBear, Poseidon2BabyBear};
use p3_challenger::DuplexChallenger;
use p3_commit::ExtensionMmcs;
use p3_dft::Radix2DitParallel;
use p3_field::Field;
use p3_field::extension::BinomialExtensionField;
use p3_fri::{FriParameters, TwoAdicFriPcs};
use p3_merkle_tree::MerkleTreeMmcs;
use p3_symmetric::{PaddingFreeSponge, TruncatedPermutation};
use p3_uni_stark::StarkConfig;

/// The base field.
pub type F = BabyBear;
/// The challenge field.
pub type EF = BinomialExtensionField<F, 4>;

type Perm = Poseidon2BabyBear<16>;
type Hash = PaddingFreeSponge<Perm, 16, 8, 8>;
type Compress = TruncatedPermutation<Perm, 2, 8, 16>;
type ValMmcs = MerkleTreeMmcs<<F as Field>::Packing, <F as Field>::Packing, Hash, Compress, 2, 8>;
type ChallengeMmcs = ExtensionMmcs<F, EF, ValMmcs>;
type Challenger = DuplexChallenger<F, Perm, 16, 8>;
type Dft = Radix2DitParallel<F>;
type Pcs = TwoAdicFriPcs<F, Dft, ValMmcs, ChallengeMmcs>;

/// The configuration of segment proofs.
pub type InnerConfig = StarkConfig<Pcs, EF, Challenger>;

/// The parameters that set a configuration's security and cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StarkParameters {
    pub log_blowup: usize,
    pub num_queries: usize,
    /// Proof-of-work before the FRI queries are drawn.
    pub query_pow_bits: usize,
    /// Proof-of-work before the LogUp challenges are drawn: the buses' fingerprint error grows
    /// with the number of interactions, and this buys it back.
    pub lookup_pow_bits: usize,
    /// Proof-of-work before the out-of-domain point and the opening-batching challenge.
    pub deep_pow_bits: usize,
}

impl StarkParameters {
    /// What proofs meant to be trusted use.
    pub const fn production() -> Self {
        Self {
            log_blowup: 1,
            num_queries: 100,
            query_pow_bits: 16,
            lookup_pow_bits: 16,
            deep_pow_bits: 16,
        }
    }

    /// Fast and insecure: for tests of the constraints, never for proofs anyone relies on.
    pub const fn testing() -> Self {
        Self {
            log_blowup: 1,
            num_queries: 4,
            query_pow_bits: 1,
            lookup_pow_bits: 0,
            deep_pow_bits: 0,
        }
    }

    /// Conjectured security in bits (ethSTARK conjecture), before the field-size cap.
    pub const fn conjectured_security_bits(&self) -> usize {
        self.log_blowup * self.num_queries + self.query_pow_bits
    }
}

/// The Poseidon2 permutation of the configuration: the same one the memory commitment and
/// the `POSEIDON2_PERMUTE` precompile use.
pub fn permutation() -> Perm {
    gnomon_executor::commitment::poseidon2().clone()
}

/// The segment-proof configuration for `parameters`.
pub fn inner_config(parameters: StarkParameters) -> InnerConfig {
    let permutation = permutation();
    let hash = Hash::new(permutation.clone());
    let compress = Compress::new(permutation.clone());
    let value_mmcs = ValMmcs::new(hash, compress, 0);
    let fri = FriParameters {
        log_blowup: parameters.log_blowup,
        log_final_poly_len: 0,
        max_log_arity: 1,
        num_queries: parameters.num_queries,
        batch_proof_of_work_bits: parameters.deep_pow_bits,
        commit_proof_of_work_bits: 0,
        query_proof_of_work_bits: parameters.query_pow_bits,
        mmcs: ChallengeMmcs::new(value_mmcs.clone()),
    };
    let pcs = Pcs::new(Dft::default(), value_mmcs, fri);
    StarkConfig::new(pcs, Challenger::new(permutation))
        .with_lookup_proof_of_work_bits(parameters.lookup_pow_bits)
        .with_ood_proof_of_work_bits(parameters.deep_pow_bits)
}
