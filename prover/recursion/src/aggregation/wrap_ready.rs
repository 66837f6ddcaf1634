//! The wrap-ready step: the root of an aggregation tree re-proven in the outer configuration
//! (Poseidon2 over BN254 for the Merkle trees and the transcript), at one fixed shape, so that
//! one Groth16 circuit verifies every run's final proof.
//!
//! Its program verifies one proof of the leaf join or of the node join (both of the joins'
//! common shape; their keys are constants here, as this program is built after both) and checks
//! what the statement of a whole run says whatever the user program: the child's key is the
//! one its role names, a node join's stated aggregation key is the node join's, the span
//! starts at segment 0 with zeroed registers, and it halts with exit code 0. It states the
//! child's statement unchanged. What depends on the user program (its verifying key,
//! commitment, text end, entry and initial memory) is left to the final verifier: natively
//! [`WrapReadyKeys::verify`], in the wrap circuit its constants.

use p3_field::PrimeCharacteristicRing;

use gnomon_machine::config::{EF, F, Inner, Outer, StarkParameters};
use gnomon_machine::segment::MachineKeys;

use super::{
    AggregatedRun, AggregationError, AggregationKeys, AggregationProof, Role, constant_digest,
    key_digest, run_of, statement, verify_child,
};
use crate::program::{Builder, Program};
use crate::proof::{RecursionKeys, RecursionProof};

/// A run's wrap-ready proof: its public values are the run's [`statement`].
pub type WrapReadyProof = RecursionProof<Outer>;

/// The wrap-ready program of one set of aggregation keys, in the outer configuration.
pub struct WrapReadyKeys {
    keys: RecursionKeys<Outer>,
}

impl std::fmt::Debug for WrapReadyKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WrapReadyKeys")
            .field("keys", &self.keys)
            .finish()
    }
}

/// The program of `aggregation`: verifies a join proof whose key is the leaf join's or the
/// node join's, checks the statement's program-independent rules and states it.
pub(super) fn program(aggregation: &AggregationKeys) -> Program {
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

/// The program's witness: `root` verified under `keys`, said to be a leaf join or not.
pub(super) fn witness(
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
    /// The wrap-ready program of `aggregation`'s joins, proven with `parameters`
    /// (`StarkParameters::outer` in production).
    pub fn new(aggregation: &AggregationKeys, parameters: StarkParameters) -> Self {
        Self {
            keys: RecursionKeys::new(program(aggregation), parameters),
        }
    }

    /// The recursion keys the wrap-ready proofs are made and checked with (the wrap circuit's
    /// tables, heights and preprocessed commitment).
    pub fn keys(&self) -> &RecursionKeys<Outer> {
        &self.keys
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
        let witness = witness(aggregation, root, keys, is_leaf_join)?;
        Ok(self.keys.prove(&witness)?)
    }

    /// Verifies a wrap-ready proof as a whole run of `machine`'s program that exits with 0,
    /// and returns what it says.
    pub fn verify(
        &self,
        machine: &MachineKeys<Inner>,
        proof: &WrapReadyProof,
    ) -> Result<AggregatedRun, AggregationError> {
        self.keys.verify(proof)?;
        run_of(machine, &proof.public_values)
    }
}
