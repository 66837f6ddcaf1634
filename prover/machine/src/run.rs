//! Whole runs: proving every segment of a run, and verifying that a sequence of segment proofs
//! is one run of the program from its start to its halt.
//!
//! What [`verify_run`] checks is what aggregation will check inside a proof: every segment
//! proof verifies against the program's keys; the first starts at the entry point with zeroed
//! registers and the program's initial memory root; each next one starts where the previous
//! ended (pc, registers, memory root) with the next index; only the last halts.

use gnomon_executor::Segment;
use p3_maybe_rayon::prelude::*;

use crate::config::{Hashing, Inner};
use crate::public_values::PublicValues;
use crate::segment::{MachineKeys, ProveError, SegmentProof, VerifyError};

/// What a verified run proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunClaim {
    pub exit_code: u32,
    /// SHA-256 of the input the guest consumed, as the guest computed it (big-endian words).
    pub input_digest: [u32; 8],
    /// SHA-256 of the output the guest committed, as the guest computed it.
    pub output_digest: [u32; 8],
    pub segments: usize,
    pub cycles: u64,
}

/// Why a sequence of segment proofs is not a run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RunError {
    #[error("a run has at least one segment")]
    Empty,
    #[error("segment {index}: {error}")]
    Segment { index: usize, error: VerifyError },
    #[error("segment {index} has index {found}")]
    OutOfOrder { index: usize, found: u32 },
    #[error(
        "the first segment does not start at the program's entry with zeroed registers and its initial memory"
    )]
    WrongStart,
    #[error("segment {index} does not start where segment {previous} ended", previous = index - 1)]
    Gap { index: usize },
    #[error("segment {index} halted before the end of the run")]
    EarlyHalt { index: usize },
    #[error("the run does not halt")]
    NoHalt,
}

/// The proofs of every segment of a run, in order: what `gnomon prove` writes.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(bound = "")]
pub struct RunProof<H: Hashing = Inner> {
    pub segments: Vec<SegmentProof<H>>,
}

impl<H: Hashing> RunProof<H> {
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("a proof serializes into a Vec")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, VerifyError> {
        postcard::from_bytes(bytes).map_err(|error| VerifyError::Malformed(error.to_string()))
    }
}

/// Proves every segment, in parallel.
pub fn prove_run<H: Hashing>(
    keys: &MachineKeys<H>,
    segments: &[Segment],
) -> Result<Vec<SegmentProof<H>>, ProveError> {
    segments
        .par_iter()
        .map(|segment| keys.prove_segment(segment))
        .collect()
}

/// Proves every segment of a run at the cheapest shape of `catalog` that holds it
/// ([`MachineKeys::prove_segment_in`]), in parallel.
pub fn prove_run_in<H: Hashing>(
    keys: &MachineKeys<H>,
    segments: &[Segment],
    catalog: &[Vec<usize>],
) -> Result<Vec<SegmentProof<H>>, ProveError> {
    segments
        .par_iter()
        .map(|segment| keys.prove_segment_in(segment, catalog))
        .collect()
}

/// Verifies that `proofs` prove one run of the program of `keys`, and returns what it proves.
pub fn verify_run<H: Hashing>(
    keys: &MachineKeys<H>,
    proofs: &[SegmentProof<H>],
) -> Result<RunClaim, RunError> {
    let values: Vec<PublicValues> = proofs
        .par_iter()
        .map(|proof| keys.verify_segment(proof))
        .collect::<Vec<_>>()
        .into_iter()
        .enumerate()
        .map(|(index, result)| result.map_err(|error| RunError::Segment { index, error }))
        .collect::<Result<_, _>>()?;
    let first = values.first().ok_or(RunError::Empty)?;
    if first.start_pc != keys.entry()
        || first.start_registers != [0; 32]
        || first.memory_root_before != keys.initial_memory_root()
    {
        return Err(RunError::WrongStart);
    }
    for (index, segment) in values.iter().enumerate() {
        if segment.segment_index as usize != index {
            return Err(RunError::OutOfOrder {
                index,
                found: segment.segment_index,
            });
        }
        if index > 0 {
            let previous = &values[index - 1];
            if segment.start_pc != previous.end_pc
                || segment.start_registers != previous.end_registers
                || segment.memory_root_before != previous.memory_root_after
            {
                return Err(RunError::Gap { index });
            }
        }
        if segment.halted && index + 1 != values.len() {
            return Err(RunError::EarlyHalt { index });
        }
    }
    let last = values.last().expect("not empty");
    if !last.halted {
        return Err(RunError::NoHalt);
    }
    Ok(RunClaim {
        exit_code: last.exit_code,
        input_digest: last.input_digest,
        output_digest: last.output_digest,
        segments: values.len(),
        cycles: values.iter().map(|segment| u64::from(segment.cycles)).sum(),
    })
}
