//! # gnomon-e2e: the perps guest against the engine
//!
//! Test and benchmark support for running sealed batches through the committed perps guest
//! (`guest/elf/perps.elf`) under the executor, and the tests themselves (`tests/`):
//!
//! - `differential`: generated batches; the guest's journal is the header of the engine's
//!   output (its fixed fields and list hashes), byte for byte, and the run's digests are those of its input and output;
//! - `failing`: batches the guest must refuse (bad signatures, unknown accounts, margin
//!   breaches, replays, wrong prior roots, deposits out of order, tampered witnesses) exit
//!   non-zero with the reason;
//! - `corpus`: the kept batches under `tests/corpus/`, regenerated and replayed;
//! - `prove`: a batch proven and verified by `gnomon-machine`.
//!
//! The cycle benchmark (`cargo bench -p gnomon-e2e --bench cycles`) prints what each action
//! costs the guest.
//!
//! ## What it owns
//!
//! Running batches through the guest ([`run`], [`guest_input`]), the corpus format
//! ([`corpus`]), and attributing a run's cycles to guest functions ([`profile`]).
//!
//! ## What it must never do
//!
//! Build or change the guest: it tests the committed ELF, the bytes a proof is checked
//! against (the reproducibility test in `prover/build` ties them to the sources).

use std::sync::OnceLock;

use gnomon_core::batch::{BatchInput, BatchWitness, SealedBatch};
use gnomon_executor::{Execution, Input, Options, Program, execute};
use sha2::{Digest as _, Sha256};

pub mod corpus;
pub mod profile;

/// The committed perps guest.
pub const PERPS_ELF: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../guest/elf/perps.elf");

/// The committed perps guest's bytes.
pub fn perps_elf() -> &'static [u8] {
    static ELF: OnceLock<Vec<u8>> = OnceLock::new();
    ELF.get_or_init(|| std::fs::read(PERPS_ELF).expect("guest/elf/perps.elf"))
}

/// The committed perps guest, loaded.
pub fn perps() -> &'static Program {
    static PROGRAM: OnceLock<Program> = OnceLock::new();
    PROGRAM.get_or_init(|| Program::from_elf(perps_elf()).expect("a valid ELF"))
}

/// What the guest reads: the batch on stdin (public, hashed into the input digest), the
/// witness as a hint.
pub fn guest_input(input: &BatchInput, witness: &BatchWitness) -> Input {
    let mut stream = Input::new();
    stream.write(input).hint(witness);
    stream
}

/// Runs the perps guest on a batch.
pub fn run(input: &BatchInput, witness: &BatchWitness) -> Execution {
    execute(perps(), &guest_input(input, witness), &Options::default())
}

/// SHA-256 of the stdin stream a guest that reads all of it consumed: what its input digest
/// must be.
pub fn stdin_digest(input: &Input) -> [u8; 32] {
    Sha256::digest(input.stdin()).into()
}

/// Runs `batch` through the guest and checks that it succeeded, committed exactly the
/// engine's output and reported the digests of its input and output; returns the run.
///
/// # Panics
/// On any difference, with the guest's stderr.
pub fn assert_guest_reproduces(batch: &SealedBatch) -> Execution {
    let input = guest_input(&batch.input, &batch.witness);
    let execution = execute(perps(), &input, &Options::default());
    let halt = match execution.halt() {
        Ok(halt) if halt.exit_code == 0 => halt,
        outcome => panic!(
            "batch {} failed in the guest ({outcome:?}): {}",
            batch.input.batch_number,
            String::from_utf8_lossy(&execution.stderr)
        ),
    };
    assert!(
        execution.journal == batch.output.header(),
        "batch {}: the guest committed the header {}, the engine's output {:?} has the header {}",
        batch.input.batch_number,
        hex(&execution.journal),
        batch.output,
        hex(&batch.output.header()),
    );
    assert_eq!(halt.input_digest, stdin_digest(&input));
    let output_digest: [u8; 32] = Sha256::digest(&execution.journal).into();
    assert_eq!(halt.output_digest, output_digest);
    assert_eq!(
        gnomon_core::batch::public_input(&halt.output_digest),
        batch.output.digest()
    );
    execution
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
