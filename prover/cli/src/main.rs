//! `gnomon`: the command line of the Gnomon zkVM.
//!
//! It owns argument parsing and presentation only; every verb is a thin layer over the library
//! crates (`gnomon-build`, `gnomon-executor`, `gnomon-machine`, `gnomon-wrap`), which hold the
//! behaviour and its tests. `demo` is the one orchestration here: it drives the engine
//! (`gnomon-engine`), the local Solana runtime (`gnomon-localnet`) and the settlement
//! program's client through the whole path, and tests it end to end (`tests/demo.rs`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use gnomon_build::{GuestCrate, Toolchain};
use gnomon_executor::{Execution, Exit, Input, Options, Program, SegmentSize};
use gnomon_machine::config::{Hashing, Inner, Outer, StarkParameters};
use gnomon_machine::run::{RunProof, verify_run};
use gnomon_machine::segment::{MAX_SEGMENT_LOG2, MachineKeys};

mod aggregate;
mod demo;
mod localnet;
mod wrap;

/// Process exit code when the guest halted with a non-zero exit code.
const EXIT_GUEST_FAILED: u8 = 3;
/// Process exit code when the guest trapped.
const EXIT_GUEST_TRAPPED: u8 = 4;

#[derive(Parser)]
#[command(
    name = "gnomon",
    version,
    about = "Gnomon: a RISC-V zkVM for verifiable perps settlement",
    after_help = "Exit status: 0 on success, 1 on a usage or I/O error, 3 when the guest exits \
                  non-zero, 4 when the guest traps."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the exchange engine: trader API, sequencer, write-ahead log, batching, proving
    /// jobs (a local demo without --config).
    Engine(gnomon_engine::EngineArgs),
    /// The whole path on this machine: a local Solana runtime with the settlement program,
    /// the engine trading a scenario (fills, funding, a liquidation, a withdrawal), its batch
    /// proven, aggregated and wrapped in Groth16, settled on chain and read back.
    Demo(demo::DemoArgs),
    /// A local Solana runtime with the settlement program and an exchange opened for an
    /// engine configuration, funded wallets, served over JSON-RPC until stopped.
    Localnet(localnet::LocalnetArgs),
    /// Build guest programs reproducibly for the zkVM target.
    Build {
        /// Guest crate directories (e.g. guest/programs/fibonacci).
        #[arg(required = true)]
        guests: Vec<PathBuf>,
        /// Copy each ELF to <DIR>/<name>.elf and write its program commitment to
        /// <DIR>/<name>.commitment.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Run a guest ELF and print its public output, exit code and cost.
    Execute {
        elf: PathBuf,
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        run: RunArgs,
        /// Record the segment traces the prover needs (slower), and report page counts.
        #[arg(long)]
        trace: bool,
    },
    /// Run a guest, prove every segment of the run, verify the proofs and write them.
    Prove {
        elf: PathBuf,
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        run: RunArgs,
        /// Where to write the run proof (default: the ELF's path with extension `.proof`).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        stark: StarkArgs,
    },
    /// Verify a run proof against a guest ELF and print what it proves.
    Verify {
        elf: PathBuf,
        proof: PathBuf,
        #[command(flatten)]
        stark: StarkArgs,
    },
    /// Print the program commitment of a guest ELF.
    Commitment { elf: PathBuf },
    /// Write, or extend, a catalog of segment shapes for aggregation: the bounding shape of
    /// the segment size, which holds every segment any run can have, and the cheaper shape
    /// that holds every segment of this run (each table at its tallest among them), unless
    /// another shape of the catalog already holds it. Runs proven with `gnomon prove
    /// --aggregate --catalog FILE` share one set of aggregation keys and one Groth16 circuit.
    Catalog {
        elf: PathBuf,
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        run: RunArgs,
        /// The catalog file (JSON: a list of shapes, each a list of degree bits per table).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Run the Groth16 setup of the circuit that verifies final proofs of this program and
    /// shape (a single-party development setup: never for real collateral).
    Setup {
        elf: PathBuf,
        /// A final proof whose shape the circuit takes: one segment (`gnomon prove --outer`),
        /// or with --aggregate a run's final proof (`gnomon prove --aggregate`).
        proof: PathBuf,
        /// Where to write the keys.
        #[arg(long, value_name = "DIR")]
        keys: PathBuf,
        #[command(flatten)]
        kind: FinalArgs,
    },
    /// Wrap a final proof in a Groth16 proof for the settlement program.
    Wrap {
        elf: PathBuf,
        proof: PathBuf,
        /// The keys `gnomon setup` wrote for this program and shape.
        #[arg(long, value_name = "DIR")]
        keys: PathBuf,
        /// Where to write the proof and its inputs (default: the proof's path with extension
        /// `.groth16`).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        kind: FinalArgs,
    },
    /// Check a wrapped proof with groth16-solana's verifier, as the settlement program does.
    #[command(name = "verify-groth16")]
    VerifyGroth16 {
        wrapped: PathBuf,
        #[arg(long, value_name = "DIR")]
        keys: PathBuf,
    },
}

/// Which final proofs a Groth16 circuit verifies.
#[derive(clap::Args)]
struct FinalArgs {
    /// The final proof was made with --insecure-test-parameters.
    #[arg(long)]
    insecure_test_parameters: bool,
    /// The final proof is an aggregated run's (`gnomon prove --aggregate`).
    #[arg(long)]
    aggregate: bool,
}

impl FinalArgs {
    fn kind(&self) -> wrap::FinalKind {
        wrap::FinalKind {
            insecure_test_parameters: self.insecure_test_parameters,
            aggregate: self.aggregate,
        }
    }
}

#[derive(clap::Args)]
struct StarkArgs {
    /// Prove and verify with test parameters: a handful of FRI queries, no security at all.
    #[arg(long)]
    insecure_test_parameters: bool,
    /// Use the outer configuration (Poseidon2 over BN254, blowup 16, 21 queries): the proofs
    /// the Groth16 wrap verifies.
    #[arg(long, conflicts_with = "aggregate")]
    outer: bool,
    /// Fold the segment proofs into one final proof by recursion (aggregation).
    #[arg(long)]
    aggregate: bool,
    /// Prove every segment at a shape of this catalog (`gnomon catalog`), so that the final
    /// proof is made and verified with the catalog's keys whatever the run: without one, the
    /// keys are built for the run's own segment shapes.
    #[arg(long, value_name = "FILE", requires = "aggregate")]
    catalog: Option<PathBuf>,
}

impl StarkArgs {
    fn parameters(&self) -> StarkParameters {
        match (self.insecure_test_parameters, self.outer) {
            (true, _) => StarkParameters::testing(),
            (false, false) => StarkParameters::production(),
            (false, true) => StarkParameters::outer(),
        }
    }
}

#[derive(clap::Args)]
struct InputArgs {
    /// The stdin stream: a file of frames (u32 little-endian length, bytes, zero padding to 4).
    #[arg(long, value_name = "FILE")]
    stdin: Option<PathBuf>,
    /// The hint stream, in the same format.
    #[arg(long, value_name = "FILE")]
    hints: Option<PathBuf>,
    /// Append a stdin frame given in hex (repeatable), e.g. the borsh encoding of a value.
    #[arg(long = "frame-hex", value_name = "HEX")]
    frames: Vec<String>,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Segments hold at most 2^K cycles.
    #[arg(long = "segment-log2", value_name = "K", default_value_t = SegmentSize::default().log2())]
    segment_log2: u32,
    /// Stop with an error after this many cycles.
    #[arg(long, value_name = "CYCLES")]
    cycle_limit: Option<u64>,
}

impl InputArgs {
    fn load(&self) -> Result<Input> {
        let read = |path: &Option<PathBuf>| -> Result<Vec<u8>> {
            path.as_ref().map_or(Ok(Vec::new()), |path| {
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))
            })
        };
        let mut input = Input::from_streams(read(&self.stdin)?, read(&self.hints)?)?;
        for frame in &self.frames {
            input.write_frame(&decode_hex(frame)?);
        }
        Ok(input)
    }
}

impl RunArgs {
    fn options(&self) -> Result<Options> {
        Ok(Options {
            segment_size: SegmentSize::new(self.segment_log2)?,
            cycle_limit: self.cycle_limit.unwrap_or(u64::MAX),
        })
    }
}

fn decode_hex(text: &str) -> Result<Vec<u8>> {
    let text = text.trim().trim_start_matches("0x");
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        bail!("{text:?} is not an even number of hex digits");
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&text[i..i + 2], 16).with_context(|| format!("bad hex {text:?}"))
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn load_program(path: &Path) -> Result<Program> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Program::from_elf(&bytes).with_context(|| format!("loading {}", path.display()))
}

fn build(guests: &[PathBuf], out: Option<&Path>) -> Result<()> {
    let toolchain = Toolchain::locate()?;
    for dir in guests {
        let guest = GuestCrate::open(dir)?;
        let elf = guest.build(&toolchain)?;
        let program = load_program(&elf)?;
        let commitment = program.commitment();
        println!(
            "{}: {} (commitment {commitment})",
            guest.package,
            elf.display()
        );
        if let Some(out) = out {
            std::fs::create_dir_all(out)?;
            let target = out.join(format!("{}.elf", guest.package));
            std::fs::copy(&elf, &target)
                .with_context(|| format!("copying to {}", target.display()))?;
            std::fs::write(
                out.join(format!("{}.commitment", guest.package)),
                format!("{commitment}\n"),
            )?;
        }
    }
    Ok(())
}

fn print_execution(execution: &Execution, seconds: f64) {
    if !execution.stdout.is_empty() {
        println!(
            "--- guest stdout\n{}",
            String::from_utf8_lossy(&execution.stdout)
        );
    }
    if !execution.stderr.is_empty() {
        eprintln!(
            "--- guest stderr\n{}",
            String::from_utf8_lossy(&execution.stderr)
        );
    }
    match &execution.exit {
        Exit::Halted(halt) => {
            println!("exit code     {}", halt.exit_code);
            println!("input digest  {}", hex(&halt.input_digest));
            println!("output digest {}", hex(&halt.output_digest));
        }
        Exit::Trapped(trap) => println!("trapped       {trap}"),
    }
    println!(
        "public output {} bytes: {}",
        execution.journal.len(),
        hex(&execution.journal)
    );
    if let Ok(text) = std::str::from_utf8(&execution.journal)
        && !text.is_empty()
        && text.chars().all(|c| !c.is_control() || c.is_whitespace())
    {
        println!("  as text     {text:?}");
    }
    print!("{}", execution.report);
    let megahertz = execution.report.cycles as f64 / seconds / 1e6;
    println!("time          {seconds:.3} s ({megahertz:.1} MHz)");
}

fn print_claim(
    program: &Program,
    exit_code: u32,
    input_digest: &[u32; 8],
    output_digest: &[u32; 8],
) {
    let digest = |words: &[u32; 8]| {
        hex(&words
            .iter()
            .flat_map(|word| word.to_be_bytes())
            .collect::<Vec<_>>())
    };
    println!("program       {}", program.commitment());
    println!("exit code     {exit_code}");
    println!("input digest  {}", digest(input_digest));
    println!("output digest {}", digest(output_digest));
}

/// A run proven segment by segment and verified.
struct ProvenRun<H: Hashing> {
    program: Program,
    keys: MachineKeys<H>,
    proofs: Vec<gnomon_machine::segment::SegmentProof<H>>,
    claim: gnomon_machine::run::RunClaim,
}

/// Runs the guest, proves every segment and verifies the run, reporting each step.
/// Proves a run's segments, each at its own shape, or at the cheapest shape of `catalog` that
/// holds it.
fn prove_segments<H: Hashing>(
    elf: &Path,
    input: &Input,
    options: &Options,
    parameters: StarkParameters,
    catalog: Option<&[Vec<usize>]>,
) -> Result<ProvenRun<H>> {
    if options.segment_size.log2() > MAX_SEGMENT_LOG2 {
        bail!(
            "segments of 2^{} cycles are too long to prove: at most 2^{MAX_SEGMENT_LOG2}",
            options.segment_size.log2()
        );
    }
    let program = load_program(elf)?;
    let start = Instant::now();
    let (execution, segments) = gnomon_executor::trace(&program, input, options);
    let executed = start.elapsed().as_secs_f64();
    if let Exit::Trapped(trap) = &execution.exit {
        bail!("the guest trapped, so the run cannot be proven: {trap}");
    }
    let keys = MachineKeys::<H>::new(&program, parameters);
    println!(
        "executed      {} cycles in {} segments ({executed:.3} s)",
        execution.report.cycles,
        segments.len()
    );
    let start = Instant::now();
    let proofs = match catalog {
        Some(catalog) => gnomon_machine::run::prove_run_in(&keys, &segments, catalog)?,
        None => gnomon_machine::run::prove_run(&keys, &segments)?,
    };
    let proving = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let claim = verify_run(&keys, &proofs)?;
    let verifying = start.elapsed().as_secs_f64();
    let cycles = execution.report.cycles as f64;
    println!(
        "proved        in {proving:.2} s ({:.1} kHz)",
        cycles / proving / 1e3
    );
    println!("verified      in {:.1} ms", verifying * 1e3);
    Ok(ProvenRun {
        program,
        keys,
        proofs,
        claim,
    })
}

fn warn_if_insecure(parameters: StarkParameters) {
    if parameters == StarkParameters::testing() {
        println!(
            "warning       proved with --insecure-test-parameters: this proof has no security"
        );
    }
}

fn prove<H: Hashing>(
    elf: &Path,
    input: &Input,
    options: &Options,
    out: Option<PathBuf>,
    parameters: StarkParameters,
) -> Result<()> {
    let run = prove_segments::<H>(elf, input, options, parameters, None)?;
    let bytes = RunProof::<H> {
        segments: run.proofs,
    }
    .to_bytes();
    let out = out.unwrap_or_else(|| elf.with_extension("proof"));
    std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    println!("proof         {} bytes, {}", bytes.len(), out.display());
    let claim = &run.claim;
    print_claim(
        &run.program,
        claim.exit_code,
        &claim.input_digest,
        &claim.output_digest,
    );
    warn_if_insecure(parameters);
    Ok(())
}

fn verify<H: Hashing>(elf: &Path, proof: &Path, parameters: StarkParameters) -> Result<()> {
    let program = load_program(elf)?;
    let keys = MachineKeys::<H>::new(&program, parameters);
    let bytes = std::fs::read(proof).with_context(|| format!("reading {}", proof.display()))?;
    let start = Instant::now();
    let claim = verify_run(&keys, &RunProof::<H>::from_bytes(&bytes)?.segments)?;
    println!(
        "verified      {} segments, {} cycles in {:.1} ms",
        claim.segments,
        claim.cycles,
        start.elapsed().as_secs_f64() * 1e3
    );
    print_claim(
        &program,
        claim.exit_code,
        &claim.input_digest,
        &claim.output_digest,
    );
    Ok(())
}

fn run() -> Result<ExitCode> {
    match Cli::parse().command {
        Command::Build { guests, out } => build(&guests, out.as_deref())?,
        Command::Execute {
            elf,
            input,
            run,
            trace,
        } => {
            let program = load_program(&elf)?;
            let (input, options) = (input.load()?, run.options()?);
            println!(
                "program       {} (commitment {})",
                elf.display(),
                program.commitment()
            );
            let start = Instant::now();
            let execution = if trace {
                gnomon_executor::execute_traced(&program, &input, &options, drop)
            } else {
                gnomon_executor::execute(&program, &input, &options)
            };
            print_execution(&execution, start.elapsed().as_secs_f64());
            return Ok(match execution.halt() {
                Ok(halt) if halt.exit_code == 0 => ExitCode::SUCCESS,
                Ok(_) => ExitCode::from(EXIT_GUEST_FAILED),
                Err(_) => ExitCode::from(EXIT_GUEST_TRAPPED),
            });
        }
        Command::Prove {
            elf,
            input,
            run,
            out,
            stark,
        } => {
            let (input, options) = (input.load()?, run.options()?);
            let parameters = stark.parameters();
            if stark.aggregate {
                let catalog = stark
                    .catalog
                    .as_deref()
                    .map(gnomon_machine::segment::read_catalog)
                    .transpose()?;
                aggregate::prove(&elf, &input, &options, out, parameters, catalog)?;
            } else if stark.outer {
                prove::<Outer>(&elf, &input, &options, out, parameters)?;
            } else {
                prove::<Inner>(&elf, &input, &options, out, parameters)?;
            }
        }
        Command::Catalog {
            elf,
            input,
            run,
            out,
        } => aggregate::catalog(&elf, &input.load()?, &run.options()?, &out)?,
        Command::Verify { elf, proof, stark } => {
            let parameters = stark.parameters();
            if stark.aggregate {
                aggregate::verify(&elf, &proof, parameters)?;
            } else if stark.outer {
                verify::<Outer>(&elf, &proof, parameters)?;
            } else {
                verify::<Inner>(&elf, &proof, parameters)?;
            }
        }
        Command::Commitment { elf } => println!("{}", load_program(&elf)?.commitment()),
        Command::Engine(engine) => engine.run()?,
        Command::Demo(args) => demo::run(&args)?,
        Command::Localnet(args) => localnet::run(&args)?,
        Command::Setup {
            elf,
            proof,
            keys,
            kind,
        } => wrap::setup(&elf, &proof, &keys, kind.kind())?,
        Command::Wrap {
            elf,
            proof,
            keys,
            out,
            kind,
        } => wrap::wrap(&elf, &proof, &keys, out, kind.kind())?,
        Command::VerifyGroth16 { wrapped, keys } => wrap::verify(&wrapped, &keys)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    run().unwrap_or_else(|error| {
        eprintln!("error: {error:#}");
        ExitCode::FAILURE
    })
}
