//! `gnomon prove --aggregate` and `gnomon verify --aggregate`: a run's segment proofs folded
//! into one final proof by the recursion machine, and its verification.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use gnomon_executor::{Input, Options};
use gnomon_machine::config::{Inner, StarkParameters};
use gnomon_machine::debug::peak_memory_mib;
use gnomon_machine::segment::MachineKeys;
use gnomon_recursion::aggregation::{AggregatedRunProof, AggregationKeys};

use crate::{load_program, print_claim, prove_segments, warn_if_insecure};

/// The recursion proofs' parameters for segments proven with `parameters`.
fn recursion_parameters(parameters: StarkParameters) -> StarkParameters {
    if parameters == StarkParameters::testing() {
        parameters
    } else {
        StarkParameters::recursion()
    }
}

/// Proves the run, aggregates its segment proofs with keys built for the run's segment shapes,
/// verifies the final proof and writes it.
pub fn prove(
    elf: &Path,
    input: &Input,
    options: &Options,
    out: Option<PathBuf>,
    parameters: StarkParameters,
) -> Result<()> {
    let run = prove_segments::<Inner>(elf, input, options, parameters)?;
    if run.claim.exit_code != 0 {
        bail!(
            "the run exited with code {}: only a run that exits with 0 has a final proof",
            run.claim.exit_code
        );
    }
    let mut shapes: Vec<Vec<usize>> = run
        .proofs
        .iter()
        .map(|proof| proof.proof.degree_bits.clone())
        .collect();
    shapes.sort();
    shapes.dedup();
    let start = Instant::now();
    let keys = AggregationKeys::new(&run.keys, &shapes, recursion_parameters(parameters))?;
    println!(
        "keys          {} leaf programs, final shape {:?} ({:.2} s)",
        shapes.len(),
        keys.final_degree_bits(),
        start.elapsed().as_secs_f64()
    );
    let start = Instant::now();
    let proof = keys.aggregate(&run.keys, &run.proofs)?;
    let aggregating = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let aggregated = keys.verify(&run.keys, &proof)?;
    let verifying = start.elapsed().as_secs_f64();
    let bytes = AggregatedRunProof { shapes, proof }.to_bytes();
    let out = out.unwrap_or_else(|| elf.with_extension("final.proof"));
    std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "aggregated    {} segments in {aggregating:.2} s (peak {:.0} MiB)",
        aggregated.segments,
        peak_memory_mib()
    );
    println!("verified      in {:.1} ms", verifying * 1e3);
    println!("final proof   {} bytes, {}", bytes.len(), out.display());
    print_claim(
        &run.program,
        0,
        &aggregated.input_digest,
        &aggregated.output_digest,
    );
    warn_if_insecure(parameters);
    Ok(())
}

/// Verifies a final proof against the guest ELF.
pub fn verify(elf: &Path, proof: &Path, parameters: StarkParameters) -> Result<()> {
    let program = load_program(elf)?;
    let machine = MachineKeys::<Inner>::new(&program, parameters);
    let bytes = std::fs::read(proof).with_context(|| format!("reading {}", proof.display()))?;
    let final_proof = AggregatedRunProof::from_bytes(&bytes)?;
    let start = Instant::now();
    let keys = AggregationKeys::new(
        &machine,
        &final_proof.shapes,
        recursion_parameters(parameters),
    )?;
    let building = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let aggregated = keys.verify(&machine, &final_proof.proof)?;
    println!(
        "verified      {} segments in {:.1} ms (keys built in {building:.2} s)",
        aggregated.segments,
        start.elapsed().as_secs_f64() * 1e3
    );
    print_claim(
        &program,
        0,
        &aggregated.input_digest,
        &aggregated.output_digest,
    );
    Ok(())
}
