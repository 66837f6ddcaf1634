//! Aggregation: the segment proofs of a run folded into one proof, by a tree of recursion
//! programs that verify proofs whole ([`crate::batch::verify`]).
//!
//! - A leaf program verifies one segment proof of the RV32IM machine at one shape (its tables'
//!   heights), makes the native segment verifier's checks on its public values (limbs below
//!   `2^16`, flags boolean, `x0` zero at the start, an untouched memory keeps its root, at most
//!   `2^MAX_SEGMENT_LOG2` cycles) and states the segment as a [`statement`]. The segment's
//!   verifying key (its preprocessed commitment, which holds the user program's text) is a
//!   witness: one leaf program serves every user program, and the statement names the key.
//! - The leaf join verifies two leaf proofs and joins their statements. A child's verifying key
//!   must be in the catalog: a Merkle tree of the leaf programs' keys, one per supported
//!   segment shape, whose root is a constant of the leaf join.
//! - The node join verifies two proofs, each of the leaf join (its key a constant) or of the
//!   node join itself; a program cannot hold its own key, so the node join takes it as the
//!   witness `aggregation key`, requires it of every child that claims to be a node join and
//!   states it. The final verifier checks that the statement's aggregation key is the node
//!   join's. Both joins are padded to one shape, so the node join verifies either, and every
//!   final proof has that shape.
//!
//! Joining (left, right): the same user key, program and text end; the right starts where the
//! left ends (next segment index, pc, registers, memory root); the left has not halted. The
//! joined statement starts as the left and ends as the right. An odd proof out is joined with
//! itself as a single child: its statement passes through, unchained.
//!
//! The final verifier ([`AggregationKeys::verify`]) checks the root's statement against the
//! user program's keys: its verifying key, commitment and text end, segment 0 starting at the
//! entry with zeroed registers and the initial memory root, a halt with exit code 0.
//!
//! The wrap-ready step ([`WrapReadyKeys`]) re-proves the root in the outer configuration, at
//! one fixed shape, for the Groth16 wrap: a shrink program verifies the root, makes the final
//! verifier's checks that do not depend on the user program, and states the root's statement;
//! an outer program verifies the shrink proof and is proven in the outer configuration.
//!
//! This module owns the statement and the five programs. It must never let a proof's
//! statement be taken from anywhere but its verified public values, nor accept a child whose
//! verifying key it has not bound.

use std::collections::BTreeMap;

use p3_air::BaseAir;
use p3_baby_bear::Poseidon2BabyBear;
use p3_batch_stark::CommonData;
use p3_field::{PrimeCharacteristicRing, PrimeField32};
use p3_lookup::check_multiplicity_height_bound;
use p3_maybe_rayon::prelude::*;
use p3_symmetric::{
    CryptographicHasher, PaddingFreeSponge, PseudoCompressionFunction, TruncatedPermutation,
};
use serde::{Deserialize, Serialize};

use gnomon_machine::chips::MIN_HEIGHT;
use gnomon_machine::config::{EF, F, Inner, InnerConfig, StarkParameters, permutation};
use gnomon_machine::public_values::offset as segment;
use gnomon_machine::segment::{MAX_SEGMENT_LOG2, MachineKeys, SegmentProof};

use crate::batch::{self, BatchCheck, BatchProofCells, WitnessError};
use crate::merkle::{self, Digest};
use crate::program::{Builder, Felt, Program};
use crate::proof::{ProveError, RecursionKeys, RecursionProof, VerifyError, degree_bits_of};

mod wrap_ready;
pub use wrap_ready::{WrapReadyKeys, WrapReadyProof};

/// The public values of every aggregation proof: a span of segments of one run.
///
/// Words are two 16-bit limbs (low first), digests eight elements, as in segment proofs.
pub mod statement {
    /// Digest of the segments' verifying key (their preprocessed commitment).
    pub const USER_KEY: usize = 0;
    pub const PROGRAM: usize = 8;
    pub const TEXT_END_PAGE: usize = 16;
    pub const START_INDEX: usize = 17;
    pub const START_PC: usize = 18;
    pub const START_REGISTERS: usize = 19;
    pub const ROOT_BEFORE: usize = 83;
    pub const END_INDEX: usize = 91;
    pub const END_PC: usize = 92;
    pub const END_REGISTERS: usize = 93;
    pub const ROOT_AFTER: usize = 157;
    pub const HALTED: usize = 165;
    pub const EXIT_CODE: usize = 166;
    pub const INPUT_DIGEST: usize = 168;
    pub const OUTPUT_DIGEST: usize = 184;
    /// Digest of the node join's verifying key (zero in leaves and leaf joins).
    pub const AGGREGATION_KEY: usize = 200;
    pub const LEN: usize = 208;
}

/// A digest, natively.
pub type NativeDigest = [F; 8];

/// The digest of a verifying key (a preprocessed commitment's cap): its values hashed as a
/// Merkle leaf is ([`merkle::hash_leaf`]).
pub(crate) fn key_digest(common: &CommonData<InnerConfig>) -> NativeDigest {
    let cap = common
        .preprocessed
        .as_ref()
        .expect("the machine's and the recursion programs' batches are preprocessed")
        .commitment
        .roots();
    PaddingFreeSponge::<Poseidon2BabyBear<16>, 16, 8, 8>::new(permutation())
        .hash_iter(cap.iter().flatten().copied())
}

fn compress_native(left: NativeDigest, right: NativeDigest) -> NativeDigest {
    TruncatedPermutation::<Poseidon2BabyBear<16>, 2, 8, 16>::new(permutation())
        .compress([left, right])
}

/// The digest a statement names `machine`'s segments' verifying key by ([`statement::USER_KEY`]).
pub fn segment_key(machine: &MachineKeys<Inner>) -> NativeDigest {
    key_digest(machine.common())
}

/// The leaf programs' keys as a Merkle tree (padded to a power of two with its last key).
#[derive(Clone, Debug)]
struct Catalog {
    /// From the keys up to the root.
    layers: Vec<Vec<NativeDigest>>,
}

impl Catalog {
    fn new(keys: Vec<NativeDigest>) -> Self {
        let mut layer = keys;
        let last = *layer.last().expect("at least one leaf program");
        layer.resize(layer.len().next_power_of_two(), last);
        let mut layers = vec![layer];
        while layers.last().expect("a layer").len() > 1 {
            let next = layers
                .last()
                .expect("a layer")
                .chunks(2)
                .map(|pair| compress_native(pair[0], pair[1]))
                .collect();
            layers.push(next);
        }
        Self { layers }
    }

    fn depth(&self) -> usize {
        self.layers.len() - 1
    }

    fn root(&self) -> NativeDigest {
        self.layers.last().expect("a layer")[0]
    }

    /// The witness of key `index`'s membership: its bits, then its siblings from the bottom.
    fn path(&self, index: usize) -> Vec<EF> {
        let bits = (0..self.depth()).map(|level| EF::from(F::from_bool(index >> level & 1 == 1)));
        let siblings = self.layers[..self.depth()]
            .iter()
            .enumerate()
            .flat_map(|(level, layer)| layer[(index >> level) ^ 1].map(EF::from));
        bits.chain(siblings).collect()
    }
}

/// What made an aggregation proof, which decides how a parent verifies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// A leaf of the catalog's key at this position.
    Leaf(usize),
    LeafJoin,
    NodeJoin,
}

/// A proof of the aggregation tree: a leaf, or a join of two.
#[derive(Debug, Serialize, Deserialize)]
pub struct AggregationProof {
    pub role: Role,
    pub proof: RecursionProof,
}

impl AggregationProof {
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("a proof serializes into a Vec")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AggregationError> {
        decode(bytes)
    }
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, AggregationError> {
    postcard::from_bytes(bytes)
        .map_err(|error| AggregationError::Verify(VerifyError::Malformed(error.to_string())))
}

/// A run's final proof (its wrap-ready proof) with the segment shapes its aggregation keys
/// were built for: the catalog is the prover's to choose (every leaf program is a whole
/// verifier), and the verifier rebuilds the keys from it. A deployment fixes it at setup.
#[derive(Debug, Serialize, Deserialize)]
pub struct AggregatedRunProof {
    pub shapes: Vec<Vec<usize>>,
    pub proof: WrapReadyProof,
}

impl AggregatedRunProof {
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("a proof serializes into a Vec")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AggregationError> {
        decode(bytes)
    }
}

/// What the final proof of a run says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AggregatedRun {
    /// SHA-256 of the input the guest consumed (big-endian words).
    pub input_digest: [u32; 8],
    /// SHA-256 of the output the guest committed.
    pub output_digest: [u32; 8],
    pub segments: u32,
}

/// Why aggregating or verifying failed.
#[derive(Debug, thiserror::Error)]
pub enum AggregationError {
    #[error("no segment proofs to aggregate")]
    Empty,
    #[error("no leaf program of the catalog verifies segments of degree bits {0:?}")]
    UnsupportedShape(Vec<usize>),
    #[error("a segment proof does not verify: {0}")]
    Segment(#[from] gnomon_machine::segment::VerifyError),
    #[error("a child proof has no witness: {0}")]
    Witness(#[from] WitnessError),
    #[error("no leaf program at position {0} of the catalog")]
    UnknownLeaf(usize),
    #[error("the children are not both leaves or both joins")]
    MixedChildren,
    #[error("a leaf proof is not a final proof: join it first")]
    NotFinal,
    #[error("proving failed (a child that does not verify or does not chain fails here): {0}")]
    Prove(#[from] ProveError),
    #[error("the proof does not verify: {0}")]
    Verify(#[from] VerifyError),
    #[error("the proof's statement is not a whole run of this program: {0}")]
    Statement(&'static str),
    #[error("the run exited with code {0}")]
    ExitCode(u32),
}

/// A verified child proof's statement and verifying key, as cells.
struct Child {
    statement: Vec<Felt>,
    key: Digest,
}

/// Allocates a proof of `check`'s shape and verifies it whole.
fn verify_child(builder: &mut Builder, check: &BatchCheck) -> Child {
    let cells = BatchProofCells::allocate(builder, check);
    batch::verify(builder, check, &cells);
    let statement = cells
        .public_values
        .iter()
        .find(|values| !values.is_empty())
        .expect("a table with the public values")
        .clone();
    let cap: Vec<Felt> = cells
        .preprocessed
        .as_ref()
        .expect("a witnessed verifying key")
        .iter()
        .flatten()
        .copied()
        .collect();
    let key = merkle::hash_leaf(builder, &cap);
    Child { statement, key }
}

/// The leaf: verifies a segment proof of `check`'s shape and states it.
fn leaf_program(check: &BatchCheck) -> Program {
    let mut builder = Builder::default();
    let child = verify_child(&mut builder, check);
    let values = &child.statement;
    assert_eq!(values.len(), segment::LEN);
    let limbs = [
        (segment::START_REGISTERS, 64),
        (segment::END_REGISTERS, 64),
        (segment::EXIT_CODE, 2),
        (segment::INPUT_DIGEST, 16),
        (segment::OUTPUT_DIGEST, 16),
    ];
    for (start, count) in limbs {
        for &limb in &values[start..start + count] {
            builder.assert_below_power_of_two(limb, 16);
        }
    }
    builder.assert_bool(values[segment::TOUCHED]);
    builder.assert_bool(values[segment::HALTED]);
    builder.assert_zero(values[segment::START_REGISTERS]);
    builder.assert_zero(values[segment::START_REGISTERS + 1]);
    let one = builder.constant_felt(F::ONE);
    let untouched = builder.sub(one, values[segment::TOUCHED]);
    for k in 0..8 {
        let change = builder.sub(
            values[segment::ROOT_AFTER + k],
            values[segment::ROOT_BEFORE + k],
        );
        let unexplained = builder.mul(untouched, change);
        builder.assert_zero(unexplained);
    }
    // 0 <= cycles <= 2^MAX: both cycles and 2^MAX - cycles are below 2^(MAX + 1).
    let cycles = values[segment::CYCLES];
    let bound = builder.constant_felt(F::from_u32(1 << MAX_SEGMENT_LOG2));
    let room = builder.sub(bound, cycles);
    builder.assert_below_power_of_two(cycles, MAX_SEGMENT_LOG2 + 1);
    builder.assert_below_power_of_two(room, MAX_SEGMENT_LOG2 + 1);

    let zero = builder.constant_felt(F::ZERO);
    let mut out = child.key.to_vec();
    let copy = |out: &mut Vec<Felt>, start: usize, count: usize| {
        out.extend_from_slice(&values[start..start + count]);
    };
    copy(&mut out, segment::PROGRAM, 8);
    copy(&mut out, segment::TEXT_END_PAGE, 1);
    copy(&mut out, segment::SEGMENT_INDEX, 1);
    copy(&mut out, segment::START_PC, 1);
    copy(&mut out, segment::START_REGISTERS, 64);
    copy(&mut out, segment::ROOT_BEFORE, 8);
    copy(&mut out, segment::SEGMENT_INDEX, 1);
    copy(&mut out, segment::END_PC, 1);
    copy(&mut out, segment::END_REGISTERS, 64);
    copy(&mut out, segment::ROOT_AFTER, 8);
    copy(&mut out, segment::HALTED, 1);
    copy(&mut out, segment::EXIT_CODE, 2);
    copy(&mut out, segment::INPUT_DIGEST, 16);
    copy(&mut out, segment::OUTPUT_DIGEST, 16);
    out.extend([zero; 8]);
    assert_eq!(out.len(), statement::LEN);
    for value in out {
        builder.public(value);
    }
    builder.build()
}

/// The joined statement of `left` and `right` (see the module documentation); when `single`
/// (asserted boolean) is one, `left`'s passes through. The aggregation key is left to the
/// caller.
fn join(builder: &mut Builder, left: &[Felt], right: &[Felt], single: Felt) -> Vec<Felt> {
    use statement::*;
    builder.assert_bool(single);
    for index in USER_KEY..START_INDEX {
        builder.assert_eq(left[index], right[index]);
    }
    let one = builder.constant_felt(F::ONE);
    let chained = builder.sub(one, single);
    let assert_chained_eq = |builder: &mut Builder, lhs: Felt, rhs: Felt| {
        let difference = builder.sub(lhs, rhs);
        let gated = builder.mul(chained, difference);
        builder.assert_zero(gated);
    };
    let next_index = builder.add(left[END_INDEX], one);
    assert_chained_eq(builder, next_index, right[START_INDEX]);
    assert_chained_eq(builder, left[END_PC], right[START_PC]);
    for k in 0..64 {
        assert_chained_eq(builder, left[END_REGISTERS + k], right[START_REGISTERS + k]);
    }
    for k in 0..8 {
        assert_chained_eq(builder, left[ROOT_AFTER + k], right[ROOT_BEFORE + k]);
    }
    let zero = builder.constant_felt(F::ZERO);
    assert_chained_eq(builder, left[HALTED], zero);
    let mut out = left[..END_INDEX].to_vec();
    for index in END_INDEX..AGGREGATION_KEY {
        out.push(builder.select(single, left[index], right[index]));
    }
    out
}

fn witness_digest(builder: &mut Builder) -> Digest {
    std::array::from_fn(|_| builder.witness_felt())
}

fn constant_digest(builder: &mut Builder, digest: NativeDigest) -> Digest {
    digest.map(|value| builder.constant_felt(value))
}

/// The leaf join: two leaf proofs, each key a member of the catalog.
fn leaf_join_program(check: &BatchCheck, catalog: &Catalog) -> Program {
    let mut builder = Builder::default();
    let root = constant_digest(&mut builder, catalog.root());
    let children: Vec<Child> = (0..2)
        .map(|_| {
            let child = verify_child(&mut builder, check);
            let bits: Vec<Felt> = (0..catalog.depth())
                .map(|_| builder.witness_felt())
                .collect();
            let siblings: Vec<Digest> = (0..catalog.depth())
                .map(|_| witness_digest(&mut builder))
                .collect();
            let mut digest = child.key;
            for (&bit, sibling) in bits.iter().zip(&siblings) {
                builder.assert_bool(bit);
                let pairs: [(Felt, Felt); 8] =
                    std::array::from_fn(|k| builder.swap_if(bit, digest[k], sibling[k]));
                digest = merkle::compress(
                    &mut builder,
                    pairs.map(|pair| pair.0),
                    pairs.map(|pair| pair.1),
                );
            }
            for (value, expected) in digest.into_iter().zip(root) {
                builder.assert_eq(value, expected);
            }
            child
        })
        .collect();
    let single = builder.witness_felt();
    let mut out = join(
        &mut builder,
        &children[0].statement,
        &children[1].statement,
        single,
    );
    let zero = builder.constant_felt(F::ZERO);
    out.extend([zero; 8]);
    for value in out {
        builder.public(value);
    }
    builder.build()
}

/// The node join: two proofs of the leaf join (key `leaf_join_key`) or of the node join (key
/// the witnessed aggregation key, which they state too).
fn node_join_program(check: &BatchCheck, leaf_join_key: NativeDigest) -> Program {
    let mut builder = Builder::default();
    let leaf_join_key = constant_digest(&mut builder, leaf_join_key);
    let children: Vec<Child> = (0..2).map(|_| verify_child(&mut builder, check)).collect();
    let roles: Vec<Felt> = (0..2).map(|_| builder.witness_felt()).collect();
    let aggregation_key = witness_digest(&mut builder);
    let single = builder.witness_felt();
    let one = builder.constant_felt(F::ONE);
    for (child, &is_leaf_join) in children.iter().zip(&roles) {
        builder.assert_bool(is_leaf_join);
        let is_node_join = builder.sub(one, is_leaf_join);
        for k in 0..8 {
            let expected = builder.select(is_leaf_join, leaf_join_key[k], aggregation_key[k]);
            builder.assert_eq(child.key[k], expected);
            let stated = child.statement[statement::AGGREGATION_KEY + k];
            let difference = builder.sub(stated, aggregation_key[k]);
            let gated = builder.mul(is_node_join, difference);
            builder.assert_zero(gated);
        }
    }
    let mut out = join(
        &mut builder,
        &children[0].statement,
        &children[1].statement,
        single,
    );
    out.extend(aggregation_key);
    for value in out {
        builder.public(value);
    }
    builder.build()
}

/// One leaf program: its keys and its check of segment proofs.
struct Leaf {
    keys: RecursionKeys,
    check: BatchCheck,
}

/// The aggregation programs of one machine and parameters: a leaf per supported segment
/// shape, the leaf join and the node join.
pub struct AggregationKeys {
    /// In catalog order.
    leaves: Vec<Leaf>,
    /// Each supported segment shape's leaf, by position.
    shapes: BTreeMap<Vec<usize>, usize>,
    catalog: Catalog,
    /// The check of leaf proofs, as the leaf join makes it.
    leaf_check: BatchCheck,
    leaf_join: RecursionKeys,
    /// The check of join proofs, as the node join makes it.
    join_check: BatchCheck,
    node_join: RecursionKeys,
}

impl std::fmt::Debug for AggregationKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AggregationKeys")
            .field("shapes", &self.shapes.keys().collect::<Vec<_>>())
            .field("leaf_join", &self.leaf_join)
            .field("node_join", &self.node_join)
            .finish_non_exhaustive()
    }
}

fn names<A: BaseAir<F>>(airs: &[A], name: impl Fn(&A) -> &str) -> Vec<String> {
    airs.iter().map(|air| name(air).to_string()).collect()
}

/// The check of proofs of `keys`' tables at their heights, with a witnessed verifying key.
fn check_of(keys: &RecursionKeys) -> BatchCheck {
    let names = names(keys.airs(), |air| air.name());
    BatchCheck::for_any_program(
        &names,
        keys.airs(),
        keys.common(),
        &keys.parameters(),
        keys.degree_bits(),
    )
    .expect("recursion programs are preprocessed")
}

/// The larger of two heights, table by table.
fn max_heights(a: &[usize], b: &[usize]) -> Vec<usize> {
    a.iter().zip(b).map(|(&a, &b)| a.max(b)).collect()
}

/// The parameters of the recursion proofs and of the wrap-ready proof that aggregate segments
/// proven with `segments`: `StarkParameters::recursion` and `StarkParameters::outer` in
/// production, the testing parameters throughout for segments proven with them.
pub fn parameters_for(segments: StarkParameters) -> (StarkParameters, StarkParameters) {
    if segments == StarkParameters::testing() {
        (segments, segments)
    } else {
        (StarkParameters::recursion(), StarkParameters::outer())
    }
}

/// The distinct shapes (degree bits) of a run's segment proofs, sorted: what
/// [`AggregationKeys::new`] needs to aggregate that run.
pub fn shapes_of(proofs: &[SegmentProof<Inner>]) -> Vec<Vec<usize>> {
    let mut shapes: Vec<Vec<usize>> = proofs
        .iter()
        .map(|proof| proof.proof.degree_bits.clone())
        .collect();
    shapes.sort();
    shapes.dedup();
    shapes
}

impl AggregationKeys {
    /// The aggregation programs for segment proofs of `machine`'s tables (any user program)
    /// at the heights `shapes` (each a segment proof's degree bits), whose own proofs are made
    /// with `parameters` (`StarkParameters::recursion` in production).
    pub fn new(
        machine: &MachineKeys<Inner>,
        shapes: &[Vec<usize>],
        parameters: StarkParameters,
    ) -> Result<Self, AggregationError> {
        Self::proving(machine, shapes, parameters, |_| true)
    }

    /// As [`AggregationKeys::new`], keeping the proving data only of the programs whose role
    /// `proves` accepts (a leaf by its shape's position in `shapes`): the keys of a worker
    /// that takes only those jobs. The others still verify their proofs, which is all a
    /// parent's witness needs, and each program's proving data is freed as soon as it is
    /// committed, so building the keys never holds more than the kept ones and one other.
    pub fn proving(
        machine: &MachineKeys<Inner>,
        shapes: &[Vec<usize>],
        parameters: StarkParameters,
        proves: impl Fn(Role) -> bool,
    ) -> Result<Self, AggregationError> {
        let keep = |mut keys: RecursionKeys, role: Role| {
            if !proves(role) {
                keys.forget_proving_data();
            }
            keys
        };
        let names = names(machine.airs(), |air| air.name());
        let mut programs = Vec::new();
        for shape in shapes {
            // The shapes the native verifier accepts (heights the machine's memory argument and
            // LogUp's multiplicities allow) and the prover makes (no table below its minimum).
            let unsupported = || AggregationError::UnsupportedShape(shape.clone());
            machine
                .check_degree_bits(shape)
                .map_err(|_| unsupported())?;
            if shape.iter().any(|&bits| 1 << bits < MIN_HEIGHT) {
                return Err(unsupported());
            }
            let heights: Vec<usize> = shape.iter().map(|&bits| 1 << bits).collect();
            check_multiplicity_height_bound(&machine.common().lookups, &heights)
                .map_err(|_| unsupported())?;
            let check = BatchCheck::for_any_program(
                &names,
                machine.airs(),
                machine.common(),
                &machine.parameters(),
                shape,
            )
            .expect("the machine is preprocessed");
            programs.push((shape.clone(), leaf_program(&check), check));
        }
        if programs.is_empty() {
            return Err(AggregationError::Empty);
        }
        // Every leaf at the tallest leaf's heights: the leaf join checks one shape.
        let natural: Vec<Vec<usize>> = programs
            .iter()
            .map(|(_, program, _)| degree_bits_of(program))
            .collect();
        let leaf_heights = natural
            .iter()
            .skip(1)
            .fold(natural[0].clone(), |acc, bits| max_heights(&acc, bits));
        let mut leaves = Vec::new();
        let mut shapes = BTreeMap::new();
        for (position, (shape, program, check)) in programs.into_iter().enumerate() {
            let keys = RecursionKeys::padded(program, parameters, &leaf_heights);
            leaves.push(Leaf {
                keys: keep(keys, Role::Leaf(position)),
                check,
            });
            shapes.insert(shape, position);
        }
        let catalog = Catalog::new(
            leaves
                .iter()
                .map(|leaf| key_digest(leaf.keys.common()))
                .collect(),
        );
        let leaf_check = check_of(&leaves[0].keys);
        let leaf_join_program = leaf_join_program(&leaf_check, &catalog);
        // The joins' common heights: a fixed point, as the node join's size depends on the
        // heights of the proofs it verifies, which are its own.
        let mut heights = degree_bits_of(&leaf_join_program);
        loop {
            let leaf_join = keep(
                RecursionKeys::padded(leaf_join_program.clone(), parameters, &heights),
                Role::LeafJoin,
            );
            let join_check = check_of(&leaf_join);
            let node_join_program = node_join_program(&join_check, key_digest(leaf_join.common()));
            let node_heights = degree_bits_of(&node_join_program);
            let needed = max_heights(&heights, &node_heights);
            if needed == heights {
                let node_join = RecursionKeys::padded(node_join_program, parameters, &heights);
                return Ok(Self {
                    leaves,
                    shapes,
                    catalog,
                    leaf_check,
                    leaf_join,
                    join_check,
                    node_join: keep(node_join, Role::NodeJoin),
                });
            }
            heights = needed;
        }
    }

    /// The leaf join's and the node join's heights: every final proof's shape.
    pub fn final_degree_bits(&self) -> &[usize] {
        self.node_join.degree_bits()
    }

    /// The leaf programs' heights.
    pub fn leaf_degree_bits(&self) -> &[usize] {
        self.leaves[0].keys.degree_bits()
    }

    /// Proves a leaf: verifies `proof` natively as a segment of `machine`'s program, then
    /// proves its verification by the leaf program of its shape.
    pub fn prove_leaf(
        &self,
        machine: &MachineKeys<Inner>,
        proof: &SegmentProof<Inner>,
    ) -> Result<AggregationProof, AggregationError> {
        machine.verify_segment(proof)?;
        let shape = &proof.proof.degree_bits;
        let position = *self
            .shapes
            .get(shape)
            .ok_or_else(|| AggregationError::UnsupportedShape(shape.clone()))?;
        let leaf = &self.leaves[position];
        let witness = batch::proof_witness(
            &leaf.check,
            machine.airs(),
            machine.common(),
            &proof.proof,
            &machine.instance_public_values(&proof.public_values),
        )?;
        Ok(AggregationProof {
            role: Role::Leaf(position),
            proof: leaf.keys.prove(&witness)?,
        })
    }

    /// Proves a join of `left` and `right` (both leaves, or both joins), or of `left` alone.
    /// Each node depends only on its children: a tree's levels can be farmed out.
    pub fn prove_join<'a>(
        &'a self,
        left: &'a AggregationProof,
        right: Option<&'a AggregationProof>,
    ) -> Result<AggregationProof, AggregationError> {
        let (right, single) = match right {
            Some(right) => (right, F::ZERO),
            None => (left, F::ONE),
        };
        match (left.role, right.role) {
            (Role::Leaf(left_position), Role::Leaf(right_position)) => {
                let witness = self.leaf_join_witness(
                    [(left, left_position), (right, right_position)],
                    [left_position, right_position],
                    single,
                )?;
                Ok(AggregationProof {
                    role: Role::LeafJoin,
                    proof: self.leaf_join.prove(&witness)?,
                })
            }
            (Role::LeafJoin | Role::NodeJoin, Role::LeafJoin | Role::NodeJoin) => {
                let child = |proof: &'a AggregationProof| {
                    let is_leaf_join = proof.role == Role::LeafJoin;
                    let keys = if is_leaf_join {
                        &self.leaf_join
                    } else {
                        &self.node_join
                    };
                    (proof, keys, is_leaf_join)
                };
                let witness = self.node_join_witness([child(left), child(right)], single)?;
                Ok(AggregationProof {
                    role: Role::NodeJoin,
                    proof: self.node_join.prove(&witness)?,
                })
            }
            _ => Err(AggregationError::MixedChildren),
        }
    }

    /// The leaf join's witness: each child with the position of the leaf that made it (its
    /// keys), the positions whose catalog paths are given, then `single`.
    fn leaf_join_witness(
        &self,
        children: [(&AggregationProof, usize); 2],
        paths: [usize; 2],
        single: F,
    ) -> Result<Vec<EF>, AggregationError> {
        let mut witness = Vec::new();
        for ((child, position), path) in children.into_iter().zip(paths) {
            let leaf = self
                .leaves
                .get(position)
                .ok_or(AggregationError::UnknownLeaf(position))?;
            witness.extend(self.recursion_child(&self.leaf_check, &leaf.keys, child)?);
            witness.extend(self.catalog.path(path));
        }
        witness.push(EF::from(single));
        Ok(witness)
    }

    /// The node join's witness: each child with the keys it is verified under and whether it
    /// is said to be a leaf join, then the aggregation key and `single`.
    fn node_join_witness(
        &self,
        children: [(&AggregationProof, &RecursionKeys, bool); 2],
        single: F,
    ) -> Result<Vec<EF>, AggregationError> {
        let mut witness = Vec::new();
        for (child, keys, _) in children {
            witness.extend(self.recursion_child(&self.join_check, keys, child)?);
        }
        for (_, _, is_leaf_join) in children {
            witness.push(EF::from(F::from_bool(is_leaf_join)));
        }
        witness.extend(key_digest(self.node_join.common()).map(EF::from));
        witness.push(EF::from(single));
        Ok(witness)
    }

    /// The witness of a recursion proof `child` made with `keys`, checked by `check`.
    fn recursion_child(
        &self,
        check: &BatchCheck,
        keys: &RecursionKeys,
        child: &AggregationProof,
    ) -> Result<Vec<EF>, AggregationError> {
        Ok(batch::proof_witness(
            check,
            keys.airs(),
            keys.common(),
            &child.proof.proof,
            &keys.instance_public_values(&child.proof.public_values),
        )?)
    }

    /// Aggregates the segment proofs of a run, in order, into one final proof: leaves, then
    /// joins level by level, each level's proofs in parallel.
    pub fn aggregate(
        &self,
        machine: &MachineKeys<Inner>,
        proofs: &[SegmentProof<Inner>],
    ) -> Result<AggregationProof, AggregationError> {
        let mut level: Vec<AggregationProof> = proofs
            .par_iter()
            .map(|proof| self.prove_leaf(machine, proof))
            .collect::<Result<_, _>>()?;
        if level.is_empty() {
            return Err(AggregationError::Empty);
        }
        loop {
            level = level
                .par_chunks(2)
                .map(|pair| self.prove_join(&pair[0], pair.get(1)))
                .collect::<Result<_, _>>()?;
            if level.len() == 1 {
                return Ok(level.pop().expect("one proof"));
            }
        }
    }

    /// Verifies a final proof as a whole run of `machine`'s program that exits with 0, and
    /// returns what it says.
    pub fn verify(
        &self,
        machine: &MachineKeys<Inner>,
        proof: &AggregationProof,
    ) -> Result<AggregatedRun, AggregationError> {
        let keys = match proof.role {
            Role::Leaf(_) => return Err(AggregationError::NotFinal),
            Role::LeafJoin => &self.leaf_join,
            Role::NodeJoin => &self.node_join,
        };
        keys.verify(&proof.proof)?;
        let values = &proof.proof.public_values;
        if proof.role == Role::NodeJoin
            && values[statement::AGGREGATION_KEY..statement::AGGREGATION_KEY + 8]
                != key_digest(self.node_join.common())
        {
            return Err(AggregationError::Statement("the aggregation key"));
        }
        run_of(machine, values)
    }
}

/// What a verified proof's statement `values` says, if it is a whole run of `machine`'s program
/// that exits with 0 (the leaves checked every limb below 2^16).
fn run_of(machine: &MachineKeys<Inner>, values: &[F]) -> Result<AggregatedRun, AggregationError> {
    use statement::*;
    let raw = |index: usize| values[index].as_canonical_u32();
    let word = |index: usize| raw(index) | raw(index + 1) << 16;
    let expect = |holds: bool, what| {
        if holds {
            Ok(())
        } else {
            Err(AggregationError::Statement(what))
        }
    };
    expect(
        values[USER_KEY..USER_KEY + 8] == key_digest(machine.common()),
        "the segments' verifying key",
    )?;
    expect(
        values[PROGRAM..PROGRAM + 8] == machine.program().0,
        "the program commitment",
    )?;
    expect(
        raw(TEXT_END_PAGE) == machine.text_end_page(),
        "the end of the text",
    )?;
    expect(raw(START_INDEX) == 0, "the first segment")?;
    expect(raw(START_PC) == machine.entry(), "the entry")?;
    expect(
        values[START_REGISTERS..START_REGISTERS + 64]
            .iter()
            .all(|&limb| limb == F::ZERO),
        "the registers at the start",
    )?;
    expect(
        values[ROOT_BEFORE..ROOT_BEFORE + 8] == machine.initial_memory_root(),
        "the initial memory",
    )?;
    expect(raw(HALTED) == 1, "the halt")?;
    let exit_code = word(EXIT_CODE);
    if exit_code != 0 {
        return Err(AggregationError::ExitCode(exit_code));
    }
    let words = |start: usize| std::array::from_fn(|i| word(start + 2 * i));
    Ok(AggregatedRun {
        input_digest: words(INPUT_DIGEST),
        output_digest: words(OUTPUT_DIGEST),
        segments: raw(END_INDEX) + 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the transcript cannot catch (a proof verified under its real key), the catalog and
    /// the roles do: a leaf's key must be in the catalog where its path says, and a leaf join
    /// said to be a node join must have the aggregation key, and does not.
    #[test]
    fn children_must_have_the_keys_their_roles_name() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../guest/elf/fibonacci.elf");
        let elf = gnomon_executor::Program::from_elf(&std::fs::read(path).unwrap()).unwrap();
        let options = gnomon_executor::Options {
            segment_size: gnomon_executor::SegmentSize::new(11).unwrap(),
            ..Default::default()
        };
        let mut input = gnomon_executor::Input::new();
        input.write(&3u32);
        let (_, segments) = gnomon_executor::trace(&elf, &input, &options);
        let machine = MachineKeys::<Inner>::new(&elf, StarkParameters::testing());
        let proof = machine.prove_segment(&segments[0]).unwrap();
        let mut other_shape = proof.proof.degree_bits.clone();
        other_shape[1] += 1;
        let keys = AggregationKeys::new(
            &machine,
            &[proof.proof.degree_bits.clone(), other_shape],
            StarkParameters::testing(),
        )
        .unwrap();
        let leaf = keys.prove_leaf(&machine, &proof).unwrap();
        assert_eq!(leaf.role, Role::Leaf(0));
        // A leaf's key must be the catalog's at the position its path names.
        let honest = keys
            .leaf_join_witness([(&leaf, 0), (&leaf, 0)], [0, 0], F::ONE)
            .unwrap();
        keys.leaf_join.program().run(&honest).unwrap();
        let elsewhere = keys
            .leaf_join_witness([(&leaf, 0), (&leaf, 0)], [0, 1], F::ONE)
            .unwrap();
        assert!(matches!(
            keys.leaf_join.program().run(&elsewhere),
            Err(crate::RunError::AssertionFailed { .. })
        ));
        let join = keys.prove_join(&leaf, None).unwrap();
        let honest = keys
            .node_join_witness(
                [
                    (&join, &keys.leaf_join, true),
                    (&join, &keys.leaf_join, true),
                ],
                F::ONE,
            )
            .unwrap();
        keys.node_join.program().run(&honest).unwrap();
        let posing = keys
            .node_join_witness(
                [
                    (&join, &keys.leaf_join, true),
                    (&join, &keys.leaf_join, false),
                ],
                F::ONE,
            )
            .unwrap();
        assert!(matches!(
            keys.node_join.program().run(&posing),
            Err(crate::RunError::AssertionFailed { .. })
        ));
        // The wrap-ready step's shrink program: a root's key must be the one its role names
        // (the run is one segment, so the single leaf join is whole).
        assert_eq!(segments.len(), 1);
        let shrink = wrap_ready::shrink_program(&keys);
        let honest = wrap_ready::shrink_witness(&keys, &join, &keys.leaf_join, true).unwrap();
        shrink.run(&honest).unwrap();
        let posing = wrap_ready::shrink_witness(&keys, &join, &keys.leaf_join, false).unwrap();
        assert!(matches!(
            shrink.run(&posing),
            Err(crate::RunError::AssertionFailed { .. })
        ));
    }
}
