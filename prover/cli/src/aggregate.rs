//! `gnomon prove --aggregate` and `gnomon verify --aggregate`: a run's segment proofs folded
//! into one proof by the recursion machine and re-proven in the outer configuration (the
//! wrap-ready final proof the Groth16 wrap takes), and its verification.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use gnomon_executor::{Input, Options, Program};
use gnomon_machine::config::{Inner, StarkParameters};
use gnomon_machine::debug::peak_memory_mib;
use gnomon_machine::segment::{MachineKeys, read_catalog, write_catalog};
use gnomon_recursion::aggregation::{
    AggregatedRunProof, AggregationKeys, WrapReadyKeys, parameters_for, shapes_of,
};

use crate::{load_program, print_claim, prove_segments, warn_if_insecure};

/// Whether keys are built to prove, or only to verify (without the programs' proving data,
/// most of their memory).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Use {
    Prove,
    Verify,
}

/// The aggregation keys and the wrap-ready keys of `machine`'s segments of `shapes`, proven
/// with `parameters`: recursion proofs at `StarkParameters::recursion` and the wrap-ready
/// proof at `StarkParameters::outer`, or all at the testing parameters.
pub fn keys(
    machine: &MachineKeys<Inner>,
    shapes: &[Vec<usize>],
    parameters: StarkParameters,
    used: Use,
) -> Result<(AggregationKeys, WrapReadyKeys)> {
    let (recursion, outer) = parameters_for(parameters);
    let proving = used == Use::Prove;
    let aggregation = AggregationKeys::proving(machine, shapes, recursion, |_| proving)?;
    let mut wrap_ready = WrapReadyKeys::new(&aggregation, outer);
    if !proving {
        wrap_ready.forget_proving_data();
    }
    Ok((aggregation, wrap_ready))
}

/// The keys that tell a program's table heights: heights do not depend on the parameters, so
/// the cheapest keys do.
pub fn shape_keys(program: &Program) -> MachineKeys<Inner> {
    MachineKeys::new(program, StarkParameters::testing())
}

/// Adds to the catalog at `out` (creating it) the bounding shape of the segment size, which
/// holds every segment a run can have, and the cheaper shape that holds every segment of
/// this run, unless a shape of the catalog other than the bounding one already holds it.
pub fn catalog(elf: &Path, input: &Input, options: &Options, out: &Path) -> Result<()> {
    let program = load_program(elf)?;
    let (execution, segments) = gnomon_executor::trace(&program, input, options);
    if let gnomon_executor::Exit::Trapped(trap) = &execution.exit {
        bail!("the guest trapped: {trap}");
    }
    let machine = shape_keys(&program);
    let ceiling = machine
        .ceiling(&segments)
        .context("the run has no segments")?;
    let bound = machine.bounding_shape(options.segment_size);
    let mut shapes = if out.exists() {
        read_catalog(out)?
    } else {
        Vec::new()
    };
    let mut added = Vec::new();
    if !shapes.iter().any(|shape| machine.holds(shape, &bound)) {
        shapes.push(bound.clone());
        added.push(format!(
            "the bounding shape of 2^{} cycles {bound:?}",
            options.segment_size.log2()
        ));
    }
    if !shapes
        .iter()
        .any(|shape| *shape != bound && machine.holds(shape, &ceiling))
    {
        shapes.push(ceiling.clone());
        added.push(format!("{ceiling:?} ({} segments)", segments.len()));
    }
    if added.is_empty() {
        println!(
            "the catalog {} already holds this run's segments",
            out.display()
        );
    } else {
        write_catalog(out, &shapes)?;
        println!(
            "catalog       {} shapes, {}: added {}",
            shapes.len(),
            out.display(),
            added.join(" and ")
        );
    }
    Ok(())
}

/// Proves the run, aggregates its segment proofs with keys built for `catalog` (segments
/// proven at its shapes) or for the run's own segment shapes, verifies the final proof and
/// writes it.
pub fn prove(
    elf: &Path,
    input: &Input,
    options: &Options,
    out: Option<PathBuf>,
    parameters: StarkParameters,
    catalog: Option<Vec<Vec<usize>>>,
) -> Result<()> {
    let run = prove_segments::<Inner>(elf, input, options, parameters, catalog.as_deref())?;
    if run.claim.exit_code != 0 {
        bail!(
            "the run exited with code {}: only a run that exits with 0 has a final proof",
            run.claim.exit_code
        );
    }
    let shapes = catalog.unwrap_or_else(|| shapes_of(&run.proofs));
    let start = Instant::now();
    let (keys, wrap_ready) = keys(&run.keys, &shapes, parameters, Use::Prove)?;
    println!(
        "keys          {} leaf programs, joins {:?}, wrap-ready {:?} ({:.2} s)",
        shapes.len(),
        keys.final_degree_bits(),
        wrap_ready.keys().degree_bits(),
        start.elapsed().as_secs_f64()
    );
    let start = Instant::now();
    let root = keys.aggregate(&run.keys, &run.proofs)?;
    let aggregating = start.elapsed().as_secs_f64();
    println!(
        "aggregated    {} segments in {aggregating:.2} s",
        run.proofs.len()
    );
    let start = Instant::now();
    let proof = wrap_ready.prove(&keys, &root)?;
    println!(
        "wrap-ready    in {:.2} s (peak {:.0} MiB)",
        start.elapsed().as_secs_f64(),
        peak_memory_mib()
    );
    let start = Instant::now();
    let aggregated = wrap_ready.verify(&run.keys, &proof)?;
    let verifying = start.elapsed().as_secs_f64();
    let bytes = AggregatedRunProof { shapes, proof }.to_bytes();
    let out = out.unwrap_or_else(|| elf.with_extension("final.proof"));
    std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "verified      {} segments in {:.1} ms",
        aggregated.segments,
        verifying * 1e3
    );
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
    let (_, wrap_ready) = keys(&machine, &final_proof.shapes, parameters, Use::Verify)?;
    let building = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let aggregated = wrap_ready.verify(&machine, &final_proof.proof)?;
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
