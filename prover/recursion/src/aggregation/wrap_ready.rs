//! The wrap-ready step: the root of an aggregation tree re-proven in the outer configuration
//! (Poseidon2 over BN254 for the Merkle trees and the transcript), at one fixed shape, so that
//! one Groth16 circuit verifies every run's final proof. Two programs:
//!
//! - The *shrink* program verifies one proof of the leaf join or of the node join (both of the
//!   joins' common shape; their keys are constants here, as this program is built after both)
//!   and checks what the statement of a whole run says whatever the user program: the child's
//!   key is the one its role names, a node join's stated aggregation key is the node join's,
//!   the span starts at segment 0 with zeroed registers, and it halts with exit code 0. It
//!   states the child's statement unchanged. It is proven in the inner configuration with the
//!   wrap-ready parameters (few queries, a large blowup): cheap to prove with BabyBear hashing,
//!   and cheap to verify.
//! - The *outer* program verifies one shrink proof (its key a constant) and states its
//!   statement; it is proven in the outer configuration. Verifying the shrink proof's 21
//!   queries rather than a join's 50 makes it about half the size, and the outer
//!   configuration's BN254 hashing is what dominates the step's cost.
//!
//! What depends on the user program (its verifying key, commitment, text end, entry and
//! initial memory) is left to the final verifier: natively [`WrapReadyKeys::verify`], in the
//! wrap circuit its constants.

use p3_field::PrimeCharacteristicRing;

use gnomon_machine::config::{EF, F, Inner, Outer, StarkParameters};
use gnomon_machine::segment::MachineKeys;

use super::{
    AggregatedRun, AggregationError, AggregationKeys, AggregationProof, Role, constant_digest,
    key_digest, names, run_of, statement, verify_child,
};
use crate::batch::{self, BatchCheck, BatchProofCells};
use crate::program::{Builder, Program};
use crate::proof::{RecursionKeys, RecursionProof};

/// A run's wrap-ready proof: its public values are the run's [`statement`].
pub type WrapReadyProof = RecursionProof<Outer>;

/// The wrap-ready programs of one set of aggregation keys.
pub struct WrapReadyKeys {
    shrink: RecursionKeys<Inner>,
    /// The check of shrink proofs, with the shrink program's key fixed.
    shrink_check: BatchCheck,
    outer: RecursionKeys<Outer>,
}

impl std::fmt::Debug for WrapReadyKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WrapReadyKeys")
            .field("shrink", &self.shrink)
            .field("outer", &self.outer)
            .finish_non_exhaustive()
    }
}

/// The shrink program of `aggregation`: verifies a join proof whose key is the leaf join's or
/// the node join's, checks the statement's program-independent rules and states it.
pub(super) fn shrink_program(aggregation: &AggregationKeys) -> Program {
    use statement::*;
    let mut builder = Builder::default();
    let leaf_join_key = constant_digest(&mut builder, key_digest(aggregation.leaf_join.common()));
    let node_join_key = constant_digest(&mut builder, key_digest(aggregation.node_join.common()));
    let child = verify_child(&mut builder, &aggregation.join_check);
    let is_leaf_join = builder.witness_felt();
    builder.assert_bool(is_leaf_join);
    // A leaf join states no aggregation key (zeros); a node join states the one it was
    // verified under, which must be the node join's.
    let zero = builder.constant_felt(F::ZERO);
    for k in 0..8 {
        let key = builder.select(is_leaf_join, leaf_join_key[k], node_join_key[k]);
        builder.assert_eq(child.key[k], key);
        let stated = builder.select(is_leaf_join, zero, node_join_key[k]);
        builder.assert_eq(child.statement[AGGREGATION_KEY + k], stated);
    }
    let values = &child.statement;
    builder.assert_zero(values[START_INDEX]);
    for &limb in &values[START_REGISTERS..START_REGISTERS + 64] {
        builder.assert_zero(limb);
    }
    let one = builder.constant_felt(F::ONE);
    builder.assert_eq(values[HALTED], one);
    builder.assert_zero(values[EXIT_CODE]);
    builder.assert_zero(values[EXIT_CODE + 1]);
    for &value in values {
        builder.public(value);
    }
    builder.build()
}

/// The outer program: verifies a proof of `check`'s shape and fixed key, and states its
/// statement.
fn outer_program(check: &BatchCheck) -> Program {
    let mut builder = Builder::default();
    let cells = BatchProofCells::allocate(&mut builder, check);
    batch::verify(&mut builder, check, &cells);
    let statement = cells
        .public_values
        .iter()
        .find(|values| !values.is_empty())
        .expect("a table with the public values");
    for &value in statement {
        builder.public(value);
    }
    builder.build()
}

/// The shrink program's witness: `root` verified under `keys`, said to be a leaf join or not.
pub(super) fn shrink_witness(
    aggregation: &AggregationKeys,
    root: &AggregationProof,
    keys: &RecursionKeys,
    is_leaf_join: bool,
) -> Result<Vec<EF>, AggregationError> {
    let mut witness = aggregation.recursion_child(&aggregation.join_check, keys, root)?;
    witness.push(F::from_bool(is_leaf_join).into());
    Ok(witness)
}

impl WrapReadyKeys {
    /// The wrap-ready programs of `aggregation`'s joins, both proven with `parameters`
    /// (`StarkParameters::outer` in production): the shrink program in the inner
    /// configuration, the outer one in the outer configuration.
    pub fn new(aggregation: &AggregationKeys, parameters: StarkParameters) -> Self {
        let shrink = RecursionKeys::<Inner>::new(shrink_program(aggregation), parameters);
        let shrink_check = BatchCheck::new(
            &names(shrink.airs(), |air| air.name()),
            shrink.airs(),
            shrink.common(),
            &parameters,
            shrink.degree_bits(),
        )
        .expect("the shrink program's own heights");
        let outer = RecursionKeys::new(outer_program(&shrink_check), parameters);
        Self {
            shrink,
            shrink_check,
            outer,
        }
    }

    /// The recursion keys the wrap-ready proofs are made and checked with (the wrap circuit's
    /// tables, heights and preprocessed commitment).
    pub fn keys(&self) -> &RecursionKeys<Outer> {
        &self.outer
    }

    /// Frees both programs' proving data: the keys still verify wrap-ready proofs and give
    /// the wrap circuit its shape (see [`RecursionKeys::forget_proving_data`]).
    pub fn forget_proving_data(&mut self) {
        self.shrink.forget_proving_data();
        self.outer.forget_proving_data();
    }

    /// The shrink program's keys (its heights, for reports).
    pub fn shrink_keys(&self) -> &RecursionKeys<Inner> {
        &self.shrink
    }

    /// Proves the wrap-ready step of `root`, a final proof of `aggregation` (a join).
    pub fn prove(
        &self,
        aggregation: &AggregationKeys,
        root: &AggregationProof,
    ) -> Result<WrapReadyProof, AggregationError> {
        let (keys, is_leaf_join) = match root.role {
            Role::Leaf(_) => return Err(AggregationError::NotFinal),
            Role::LeafJoin => (&aggregation.leaf_join, true),
            Role::NodeJoin => (&aggregation.node_join, false),
        };
        let witness = shrink_witness(aggregation, root, keys, is_leaf_join)?;
        let shrunk = self.shrink.prove(&witness)?;
        let witness = batch::proof_witness(
            &self.shrink_check,
            self.shrink.airs(),
            self.shrink.common(),
            &shrunk.proof,
            &self.shrink.instance_public_values(&shrunk.public_values),
        )?;
        Ok(self.outer.prove(&witness)?)
    }

    /// Verifies a wrap-ready proof as a whole run of `machine`'s program that exits with 0,
    /// and returns what it says.
    pub fn verify(
        &self,
        machine: &MachineKeys<Inner>,
        proof: &WrapReadyProof,
    ) -> Result<AggregatedRun, AggregationError> {
        self.outer.verify(proof)?;
        run_of(machine, &proof.public_values)
    }
}
