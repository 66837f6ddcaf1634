//! The STARK configurations of Gnomon's proofs, in one place.
//!
//! Every proof is over the BabyBear field with its degree-4 extension for challenges, and uses
//! FRI with binary folding. What differs is the hash of the Merkle trees and of the Fiat-Shamir
//! transcript, which [`Hashing`] names:
//!
//! - [`Inner`]: Poseidon2 over BabyBear (width 16, Plonky3's published round constants), fast to
//!   prove with; segment proofs use it.
//! - [`Outer`]: Poseidon2 over BN254 (width 3), which a Groth16 circuit over BN254 evaluates
//!   natively; the last proof before the wrap uses it ([`outer`] has its constants and
//!   parameters).
//!
//! [`StarkParameters`] holds the numbers that decide security and cost; [`stark_config`] builds
//! the Plonky3 configuration of a [`Hashing`] from them.
//!
//! Security of [`StarkParameters::production`] (blowup 2, 100 queries, 16 bits of grinding
//! before the queries, the LogUp challenges and the out-of-domain point), as `p3-security`
//! estimates it for this machine's 23 tables at the largest segment (every table 2^22 rows,
//! all their constraints and bus interactions; `MachineKeys::security`, printed by the
//! `prove` bench): 101 bits conjectured (ethSTARK conjecture; the FRI part alone is
//! `log_blowup * queries + grinding` = 116, and the buses' fingerprint over the degree-4
//! extension is what binds), 65.9 bits proven (list-decoding regime, bound by the low-degree
//! test; more queries or a larger blowup would raise it). [`StarkParameters::testing`] is for
//! tests only: it proves the same statements with a handful of queries and no security.

pub mod outer;
pub mod poseidon2_bn254;

use p3_baby_bear::{BabyBear, Poseidon2BabyBear};
use p3_batch_stark::{BatchProof, CommonData, ProverData, StarkInstance};
use p3_challenger::{CanObserve, CanSample, DuplexChallenger, FieldChallenger, GrindingChallenger};
use p3_commit::{ExtensionMmcs, Mmcs};
use p3_dft::Radix2DitParallel;
use p3_field::Field;
use p3_field::extension::BinomialExtensionField;
use p3_fri::{FriParameters, TwoAdicFriPcs};
use p3_matrix::Dimensions;
use p3_matrix::dense::RowMajorMatrix;
use p3_merkle_tree::MerkleTreeMmcs;
use p3_symmetric::{PaddingFreeSponge, TruncatedPermutation};
use p3_uni_stark::StarkConfig;

pub use outer::{Outer, OuterConfig};

use crate::chips::MachineAir;

/// The base field.
pub type F = BabyBear;
/// The challenge field.
pub type EF = BinomialExtensionField<F, 4>;

/// The hash a configuration commits and draws challenges with: the Merkle tree scheme of its
/// trace commitments and its Fiat-Shamir transcript.
pub trait Hashing: Clone + Send + Sync + 'static {
    type Mmcs: Mmcs<
            F,
            ProverData<RowMajorMatrix<F>>: Send + Sync,
            Commitment: Send + Sync,
            Proof: Send + Sync,
            MultiProof: Send + Sync,
            Error: Send + Sync,
        > + Send
        + Sync;
    type Challenger: FieldChallenger<F>
        + GrindingChallenger<Witness = F>
        + CanObserve<<Self::Mmcs as Mmcs<F>>::Commitment>
        + CanSample<EF>
        + Clone
        + Send
        + Sync;

    /// Collision resistance of one Merkle digest, in bits: half the digest's size.
    const COLLISION_RESISTANCE_BITS: usize;

    /// The Merkle tree scheme, committing to `2^cap_height` nodes per tree instead of the root.
    fn mmcs(cap_height: usize) -> Self::Mmcs;

    /// The transcript at its start.
    fn challenger() -> Self::Challenger;

    /// One Merkle digest, as the verifier circuits take it.
    type Digest: Clone + std::fmt::Debug + PartialEq + Send + Sync;

    /// A commitment's cap, digest by digest.
    fn cap_digests(commitment: &<Self::Mmcs as Mmcs<F>>::Commitment) -> Vec<Self::Digest>;

    /// One authentication path per entry of `indices` (siblings from the leaf up to the cap's
    /// level), restored from a pruned batch opening of matrices of `dimensions` whose rows at
    /// those indices are `rows`; `None` where the opening does not reach the commitment's
    /// structure (natively a rejection).
    fn restore_paths(
        mmcs: &Self::Mmcs,
        dimensions: &[Dimensions],
        indices: &[usize],
        rows: &[Vec<Vec<F>>],
        proof: &<Self::Mmcs as Mmcs<F>>::MultiProof,
    ) -> Option<Vec<Vec<Self::Digest>>>;

    // The machine's STARK, instantiated for this hashing here, in this crate. Generic code is
    // compiled where it is instantiated; without these, every crate and test that proves
    // would compile the whole prover again (minutes each at opt-level 3).

    #[doc(hidden)]
    fn commit_preprocessed(
        config: &Config<Self>,
        airs: &[MachineAir],
        degree_bits: &[usize],
    ) -> ProverData<Config<Self>>;

    #[doc(hidden)]
    fn prove(
        config: &Config<Self>,
        instances: &[StarkInstance<'_, Config<Self>, MachineAir>],
        prover_data: &ProverData<Config<Self>>,
    ) -> Result<BatchProof<Config<Self>>, String>;

    #[doc(hidden)]
    fn verify(
        config: &Config<Self>,
        airs: &[MachineAir],
        proof: &BatchProof<Config<Self>>,
        public_values: &[Vec<F>],
        common: &CommonData<Config<Self>>,
    ) -> Result<(), String>;
}

/// The [`Hashing`] methods that instantiate the machine's STARK for a concrete hashing, each
/// kept out of line so that no other crate instantiates it again.
macro_rules! instantiate_machine {
    () => {
        #[inline(never)]
        fn commit_preprocessed(
            config: &$crate::config::Config<Self>,
            airs: &[$crate::chips::MachineAir],
            degree_bits: &[usize],
        ) -> p3_batch_stark::ProverData<$crate::config::Config<Self>> {
            $crate::segment::commit_preprocessed::<Self>(config, airs, degree_bits)
        }

        #[inline(never)]
        fn prove(
            config: &$crate::config::Config<Self>,
            instances: &[p3_batch_stark::StarkInstance<
                '_,
                $crate::config::Config<Self>,
                $crate::chips::MachineAir,
            >],
            prover_data: &p3_batch_stark::ProverData<$crate::config::Config<Self>>,
        ) -> Result<p3_batch_stark::BatchProof<$crate::config::Config<Self>>, String> {
            $crate::segment::prove::<Self>(config, instances, prover_data)
        }

        #[inline(never)]
        fn verify(
            config: &$crate::config::Config<Self>,
            airs: &[$crate::chips::MachineAir],
            proof: &p3_batch_stark::BatchProof<$crate::config::Config<Self>>,
            public_values: &[Vec<$crate::config::F>],
            common: &p3_batch_stark::CommonData<$crate::config::Config<Self>>,
        ) -> Result<(), String> {
            $crate::segment::verify::<Self>(config, airs, proof, public_values, common)
        }
    };
}
pub(crate) use instantiate_machine;

/// The Plonky3 polynomial commitment scheme of a [`Hashing`].
pub type Pcs<H> = TwoAdicFriPcs<
    F,
    Radix2DitParallel<F>,
    <H as Hashing>::Mmcs,
    ExtensionMmcs<F, EF, <H as Hashing>::Mmcs>,
>;

/// The Plonky3 configuration of a [`Hashing`].
pub type Config<H> = StarkConfig<Pcs<H>, EF, <H as Hashing>::Challenger>;

/// Poseidon2 over BabyBear: the configuration of segment proofs.
#[derive(Clone, Copy, Debug)]
pub struct Inner;

type InnerPerm = Poseidon2BabyBear<16>;
type InnerHash = PaddingFreeSponge<InnerPerm, 16, 8, 8>;
type InnerCompress = TruncatedPermutation<InnerPerm, 2, 8, 16>;
type Packing = <F as Field>::Packing;

impl Hashing for Inner {
    type Mmcs = MerkleTreeMmcs<Packing, Packing, InnerHash, InnerCompress, 2, 8>;
    type Challenger = DuplexChallenger<F, InnerPerm, 16, 8>;
    type Digest = [F; 8];

    // Digests of 8 BabyBear elements: 248 bits.
    const COLLISION_RESISTANCE_BITS: usize = 124;

    fn mmcs(cap_height: usize) -> Self::Mmcs {
        let permutation = permutation();
        MerkleTreeMmcs::new(
            InnerHash::new(permutation.clone()),
            InnerCompress::new(permutation),
            cap_height,
        )
    }

    fn challenger() -> Self::Challenger {
        DuplexChallenger::new(permutation())
    }

    fn cap_digests(commitment: &<Self::Mmcs as Mmcs<F>>::Commitment) -> Vec<[F; 8]> {
        commitment.roots().to_vec()
    }

    fn restore_paths(
        mmcs: &Self::Mmcs,
        dimensions: &[Dimensions],
        indices: &[usize],
        rows: &[Vec<Vec<F>>],
        proof: &<Self::Mmcs as Mmcs<F>>::MultiProof,
    ) -> Option<Vec<Vec<[F; 8]>>> {
        let paths = mmcs
            .restore_and_recompute_paths(dimensions, indices, rows, proof)
            .ok()?;
        Some(paths.into_iter().map(|path| path.siblings).collect())
    }

    instantiate_machine!();
}

/// The configuration of segment proofs.
pub type InnerConfig = Config<Inner>;

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
    /// FRI stops folding at a polynomial of `2^log_final_poly_len` coefficients, sent whole.
    pub log_final_poly_len: usize,
    /// Each Merkle tree commits to its `2^cap_height` nodes of that level instead of its root,
    /// which shortens every authentication path by `cap_height`.
    pub cap_height: usize,
}

impl StarkParameters {
    /// What segment proofs meant to be trusted use.
    pub const fn production() -> Self {
        Self {
            log_blowup: 1,
            num_queries: 100,
            query_pow_bits: 16,
            lookup_pow_bits: 16,
            deep_pow_bits: 16,
            log_final_poly_len: 0,
            cap_height: 0,
        }
    }

    /// Aggregation's recursion proofs: the conjectured security of [`Self::production`]
    /// (`2 * 50 + 16 = 116` bits) with half its queries, which is what a parent pays for in
    /// Merkle paths and reduced openings, bought with a blowup of 4.
    pub const fn recursion() -> Self {
        Self {
            log_blowup: 2,
            num_queries: 50,
            ..Self::production()
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
            log_final_poly_len: 0,
            cap_height: 0,
        }
    }

    /// Conjectured security in bits (ethSTARK conjecture), before the field-size cap.
    pub const fn conjectured_security_bits(&self) -> usize {
        self.log_blowup * self.num_queries + self.query_pow_bits
    }

    /// The FRI parameters of these, over `mmcs`.
    pub fn fri<M>(&self, mmcs: M) -> FriParameters<M> {
        FriParameters {
            log_blowup: self.log_blowup,
            log_final_poly_len: self.log_final_poly_len,
            max_log_arity: 1,
            num_queries: self.num_queries,
            batch_proof_of_work_bits: self.deep_pow_bits,
            commit_proof_of_work_bits: 0,
            query_proof_of_work_bits: self.query_pow_bits,
            mmcs,
        }
    }
}

/// The Poseidon2 permutation of the inner configuration: the same one the memory commitment
/// and the `POSEIDON2_PERMUTE` precompile use.
pub fn permutation() -> InnerPerm {
    gnomon_executor::commitment::poseidon2().clone()
}

/// The configuration of `H` for `parameters`.
pub fn stark_config<H: Hashing>(parameters: StarkParameters) -> Config<H> {
    let value_mmcs = H::mmcs(parameters.cap_height);
    let fri = parameters.fri(ExtensionMmcs::new(value_mmcs.clone()));
    let pcs = Pcs::<H>::new(Radix2DitParallel::default(), value_mmcs, fri);
    StarkConfig::new(pcs, H::challenger())
        .with_lookup_proof_of_work_bits(parameters.lookup_pow_bits)
        .with_ood_proof_of_work_bits(parameters.deep_pow_bits)
}

/// The segment-proof configuration for `parameters`.
pub fn inner_config(parameters: StarkParameters) -> InnerConfig {
    stark_config::<Inner>(parameters)
}
