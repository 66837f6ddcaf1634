//! Builds the SBF verification program (`../sbf`) with Debian's rustc-web and sbpf-linker,
//! and runs it in LiteSVM.

use std::path::{Path, PathBuf};
use std::process::Command;

use gnomon_settlement_verifier::batch::{BatchHeader, DepositRange, TimeRange};
use gnomon_settlement_verifier::test_circuit;
use gnomon_settlement_verifier::verify::Proof;
use litesvm::LiteSVM;
use solana_address::Address;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_message::Message;
use solana_signer::Signer;
use solana_transaction::Transaction;

const RUSTC: &str = "/usr/bin/rustc";
const CARGO: &str = "/usr/bin/cargo";
const TARGET: &str = "sbf-solana-solana";

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sbpf_linker() -> Option<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".cargo")
        });
    let installed = cargo_home.join("bin").join("sbpf-linker");
    installed.exists().then_some(installed)
}

/// The built program, or which tools are missing (scripts/bench-compute-units installs them).
pub fn build_program() -> Result<PathBuf, String> {
    let linker = sbpf_linker();
    let missing: Vec<&str> = [
        (!Path::new(RUSTC).exists()).then_some("Debian's rustc-web (/usr/bin/rustc)"),
        (!Path::new(CARGO).exists()).then_some("Debian's cargo-web (/usr/bin/cargo)"),
        linker
            .is_none()
            .then_some("sbpf-linker (cargo install sbpf-linker@0.2.6)"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let Some(linker) = linker.filter(|_| missing.is_empty()) else {
        return Err(format!("missing {}", missing.join(", ")));
    };
    let root = manifest_dir().join("../sbf");
    let target_dir = manifest_dir().join("../../../target/sbf");
    let flags = [
        format!("-Clinker={}", linker.display()),
        "-Cpanic=abort".into(),
        "-Crelocation-model=static".into(),
        "-Clink-arg=--arch=v0".into(),
        "-Clink-arg=--llvm-args=--bpf-stack-size=4096".into(),
    ];
    const KEEP: &[&str] = &[
        "PATH",
        "HOME",
        "CARGO_HOME",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
    ];
    let status = Command::new(CARGO)
        .current_dir(&root)
        .env_clear()
        .envs(
            std::env::vars_os()
                .filter(|(key, _)| key.to_str().is_some_and(|key| KEEP.contains(&key))),
        )
        .env("RUSTC", RUSTC)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_ENCODED_RUSTFLAGS", flags.join("\x1f"))
        .env("CARGO_TARGET_DIR", &target_dir)
        .args(["build", "--release", "--locked", "--target"])
        .arg(root.join(format!("{TARGET}.json")))
        .args([
            "-Zbuild-std=core,alloc",
            "-Zbuild-std-features=compiler-builtins-mem",
            "-Zjson-target-spec",
        ])
        .status()
        .expect("cargo runs");
    if !status.success() {
        return Err("building the SBF verification program failed".into());
    }
    Ok(target_dir
        .join(TARGET)
        .join("release")
        .join("libgnomon_settlement_verifier_sbf.so"))
}

/// A batch header with every field set.
pub fn sample_header() -> BatchHeader {
    BatchHeader {
        exchange_id: [2; 32],
        batch_number: 7,
        prior_root: [3; 32],
        new_root: [4; 32],
        time: TimeRange {
            start_ms: 1_700_000_000_000,
            end_ms: 1_700_000_001_000,
        },
        deposits: DepositRange {
            first_sequence: 10,
            end_sequence: 12,
            chain_before: [5; 32],
            chain_after: [6; 32],
        },
        oracle_digest: [9; 32],
        balance_count: 40,
        balances_hash: [7; 32],
        withdrawal_count: 2,
        withdrawals_hash: [8; 32],
    }
}

/// A canonical program commitment.
pub fn sample_commitment() -> [u8; 32] {
    let mut commitment = [0u8; 32];
    for (index, chunk) in commitment.chunks_exact_mut(4).enumerate() {
        chunk.copy_from_slice(&(2_013_265_920 - index as u32 * 7_919).to_le_bytes());
    }
    commitment
}

/// A real proof of `header` by `commitment` from the test circuit.
pub fn sample_proof(commitment: &[u8; 32], header: &BatchHeader) -> Proof {
    let (pk, _) = test_circuit::setup();
    test_circuit::prove(&pk, commitment, header, 1)
}

/// The program's instruction data.
pub fn instruction_data(commitment: &[u8; 32], header: &BatchHeader, proof: &Proof) -> Vec<u8> {
    let mut data = commitment.to_vec();
    data.extend_from_slice(&header.to_bytes());
    data.extend_from_slice(&proof.to_bytes());
    data
}

/// What one run of the program gave: its result and the compute units it consumed.
#[derive(Debug)]
pub struct Run {
    pub success: bool,
    pub error: Option<String>,
    pub compute_units: u64,
    pub transaction_bytes: usize,
}

/// Loads `program` into a fresh LiteSVM and sends it one instruction with `data`.
pub fn run(program: &Path, data: Vec<u8>) -> Run {
    let mut svm = LiteSVM::new();
    let program_id = Address::new_unique();
    svm.add_program_from_file(program_id, program)
        .expect("the program loads");
    let payer = Keypair::new();
    svm.airdrop(&payer.pubkey(), 1_000_000_000)
        .expect("airdrop");
    let instruction = Instruction::new_with_bytes(program_id, &data, vec![]);
    let message = Message::new(&[instruction], Some(&payer.pubkey()));
    let transaction = Transaction::new(&[&payer], message, svm.latest_blockhash());
    let transaction_bytes = bincode_size(&transaction);
    match svm.send_transaction(transaction) {
        Ok(meta) => Run {
            success: true,
            error: None,
            compute_units: meta.compute_units_consumed,
            transaction_bytes,
        },
        Err(failed) => Run {
            success: false,
            error: Some(format!("{:?}", failed.err)),
            compute_units: failed.meta.compute_units_consumed,
            transaction_bytes,
        },
    }
}

/// The wire size of a legacy transaction: signatures and message, with compact lengths.
fn bincode_size(transaction: &Transaction) -> usize {
    let message = transaction.message.serialize();
    compact_len(transaction.signatures.len()) + 64 * transaction.signatures.len() + message.len()
}

fn compact_len(value: usize) -> usize {
    match value {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        _ => 3,
    }
}
