//! Gnomon's recursion machine: the proof system that aggregation runs STARK verifiers on.
//!
//! A recursion program ([`program`]) is straight-line code over a write-once memory of cells
//! holding elements of BabyBear's degree-4 extension: witness values, constants, addition,
//! subtraction, multiplication, equality assertions and the Poseidon2 permutation (width 16,
//! the segment prover's hash). That is what verifying a segment proof takes: the transcript and
//! Merkle paths are permutations, FRI and the constraint check are extension arithmetic. A
//! program is fixed before it runs, so its few narrow tables ([`tables`]) are preprocessed and
//! their commitment is the program; a run differs only in its witness. [`proof`] proves and
//! verifies runs with Plonky3's batch STARK in the segment prover's configuration.
//!
//! On top, the STARK verifier as program code, each piece equal to Plonky3's native one:
//! [`challenger`] (the transcript), [`merkle`] (batch openings), [`constraints`] (a table's
//! out-of-domain check), [`fri`] (folding, query points, the final polynomial), [`pcs`] (the
//! opening proof) and [`batch`] (`verify_batch` whole). [`aggregation`] builds the tree of
//! programs that folds a run's segment proofs into one.
//!
//! Why a dedicated machine rather than running the verifier as an RV32IM guest is measured in
//! `prover/AGGREGATION.md`.
//!
//! This crate owns the recursion programs' semantics and their tables. It must never accept a
//! proof whose tables are not the program's (their shape is fixed), and never let a value in a
//! trace go unconstrained, padding rows included.

pub mod aggregation;
pub mod batch;
pub mod challenger;
pub mod constraints;
pub mod fri;
pub mod merkle;
pub mod pcs;
pub mod program;
pub mod proof;
pub mod tables;

pub use program::{Builder, Ext, Felt, Program, RunError};
pub use proof::{ProveError, RecursionKeys, RecursionProof, VerifyError};
