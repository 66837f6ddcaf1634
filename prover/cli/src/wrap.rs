//! The Groth16 verbs: `setup`, `wrap` and `verify-groth16`, over `gnomon_wrap`.
//!
//! The keys directory is `gnomon_wrap::keys::KeysDir`.
//!
//! A final proof is a run proven in one segment in the outer configuration (`gnomon prove
//! --outer`), or, with `--aggregate`, a run's wrap-ready proof (`gnomon prove --aggregate`),
//! whose circuit serves every run of the program whatever its length.
//!
//! A wrapped proof (`.groth16`) is the 256-byte proof followed by its two 32-byte public inputs.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use gnomon_machine::config::{Inner, Outer, StarkParameters};
use gnomon_machine::run::RunProof;
use gnomon_machine::segment::{MachineKeys, SegmentProof};
use gnomon_recursion::aggregation::{AggregatedRunProof, WrapReadyKeys, WrapReadyProof};
use gnomon_settlement_verifier::verify::PROOF_LEN;
use gnomon_wrap::groth16;
use gnomon_wrap::keys::{self, KeysDir, WRAPPED_LEN};
use gnomon_wrap::verifier::{VerifierShape, VerifierWitness};

use crate::{hex, load_program};

/// Which final proofs the circuit verifies: the segment parameters and the kind.
#[derive(Clone, Copy, Debug)]
pub struct FinalKind {
    /// The final proof was made with the testing parameters.
    pub insecure_test_parameters: bool,
    /// A wrap-ready proof of an aggregated run, rather than a one-segment run.
    pub aggregate: bool,
}

/// A final proof with the keys it is checked with.
enum Final {
    /// A run proven in one segment in the outer configuration.
    Segment {
        keys: Box<MachineKeys<Outer>>,
        proof: SegmentProof<Outer>,
    },
    /// A run's wrap-ready proof.
    Aggregated {
        machine: Box<MachineKeys<Inner>>,
        wrap_ready: Box<WrapReadyKeys>,
        shapes: Vec<Vec<usize>>,
        proof: WrapReadyProof,
    },
}

impl Final {
    /// The program's keys, the final proof at `path` and the circuit of its shape.
    fn load(elf: &Path, path: &Path, kind: FinalKind) -> Result<(Self, VerifierShape)> {
        let program = load_program(elf)?;
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        if kind.aggregate {
            let parameters = if kind.insecure_test_parameters {
                StarkParameters::testing()
            } else {
                StarkParameters::production()
            };
            let machine = MachineKeys::<Inner>::new(&program, parameters);
            let AggregatedRunProof { shapes, proof } = AggregatedRunProof::from_bytes(&bytes)
                .with_context(|| format!("{} is not an aggregated run proof", path.display()))?;
            let (_, wrap_ready) = crate::aggregate::keys(
                &machine,
                &shapes,
                parameters,
                crate::aggregate::Use::Verify,
            )?;
            let shape = VerifierShape::aggregated(&wrap_ready, &machine)?;
            let loaded = Self::Aggregated {
                machine: Box::new(machine),
                wrap_ready: Box::new(wrap_ready),
                shapes,
                proof,
            };
            return Ok((loaded, shape));
        }
        let parameters = if kind.insecure_test_parameters {
            StarkParameters::testing()
        } else {
            StarkParameters::outer()
        };
        let keys = Box::new(MachineKeys::<Outer>::new(&program, parameters));
        let mut run = RunProof::<Outer>::from_bytes(&bytes)
            .with_context(|| format!("{} is not a run proof", path.display()))?;
        ensure!(
            run.segments.len() == 1,
            "{} has {} segments: wrap a run of several segments with --aggregate (its final \
             proof from `gnomon prove --aggregate`)",
            path.display(),
            run.segments.len()
        );
        let proof = run.segments.remove(0);
        let shape = VerifierShape::new(&keys, &proof.proof.degree_bits)?;
        Ok((Self::Segment { keys, proof }, shape))
    }

    /// What the circuit is for, as the keys record it.
    fn description(&self, shape: &VerifierShape) -> String {
        match self {
            Self::Segment { keys, .. } => keys::segment_circuit(keys, shape),
            Self::Aggregated {
                machine,
                wrap_ready,
                shapes,
                ..
            } => keys::aggregated_circuit(machine, wrap_ready, shapes, shape),
        }
    }

    /// Verifies the proof natively and lays it out for the circuit.
    fn witness(self, shape: &VerifierShape) -> Result<VerifierWitness> {
        Ok(match self {
            Self::Segment { keys, proof } => VerifierWitness::new(shape, &keys, proof)?,
            Self::Aggregated {
                machine,
                wrap_ready,
                proof,
                ..
            } => VerifierWitness::aggregated(shape, &wrap_ready, &machine, proof)?,
        })
    }
}

pub fn setup(elf: &Path, proof: &Path, dir: &Path, kind: FinalKind) -> Result<()> {
    let (loaded, shape) = Final::load(elf, proof, kind)?;
    println!("setup         single-party development keys: never for real collateral");
    let start = Instant::now();
    let report = KeysDir::new(dir).setup(&shape, &loaded.description(&shape))?;
    println!(
        "setup         in {:.1} s: {} variables, {} quotient terms",
        start.elapsed().as_secs_f64(),
        report.variables,
        report.quotient_terms
    );
    println!(
        "proving key   {} MB, {}",
        report.proving_key_bytes / 1_000_000,
        dir.join("proving.key").display()
    );
    println!("verifying key id {}", hex(&report.verifying_key.id()));
    Ok(())
}

pub fn wrap(
    elf: &Path,
    proof_path: &Path,
    dir: &Path,
    out: Option<PathBuf>,
    kind: FinalKind,
) -> Result<()> {
    let (loaded, shape) = Final::load(elf, proof_path, kind)?;
    let keys = KeysDir::new(dir);
    keys.check_circuit(&loaded.description(&shape))?;
    let start = Instant::now();
    let witness = loaded.witness(&shape)?;
    let verified = start.elapsed().as_secs_f64();
    let start = Instant::now();
    keys.proving_key()?;
    let loaded = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let bytes = keys.wrap(&shape, &witness)?;
    let proving = start.elapsed().as_secs_f64();
    let out = out.unwrap_or_else(|| proof_path.with_extension("groth16"));
    std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    let (_, inputs) = keys::split_wrapped(&bytes).expect("a wrapped proof");
    println!(
        "verified      the final proof natively in {:.1} ms",
        verified * 1e3
    );
    println!("proving key   loaded in {loaded:.1} s");
    println!("wrapped       in {proving:.1} s");
    println!(
        "proof         {PROOF_LEN} bytes + 2 public inputs, {}",
        out.display()
    );
    println!("program input {}", hex(&inputs[0]));
    println!("output input  {}", hex(&inputs[1]));
    Ok(())
}

pub fn verify(wrapped: &Path, dir: &Path) -> Result<()> {
    let bytes = std::fs::read(wrapped).with_context(|| format!("reading {}", wrapped.display()))?;
    let Some((proof, inputs)) = keys::split_wrapped(&bytes) else {
        bail!(
            "{} has {} bytes: a wrapped proof has {WRAPPED_LEN}",
            wrapped.display(),
            bytes.len()
        );
    };
    let vk = KeysDir::new(dir).verifying_key()?;
    let start = Instant::now();
    groth16::verify(&vk, &proof, &inputs)
        .map_err(|error| anyhow::anyhow!("the proof is rejected: {error:?}"))?;
    println!(
        "verified      with groth16-solana in {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    println!("program input {}", hex(&inputs[0]));
    println!("output input  {}", hex(&inputs[1]));
    Ok(())
}
