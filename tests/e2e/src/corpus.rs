//! The kept batches: `tests/corpus/<name>.borsh`, each the borsh encoding of a
//! [`CorpusBatch`]. They pin the engine's behaviour and the wire layouts, and give other
//! components (the settlement program, the prover) real batches to test against.
//! `GNOMON_BLESS=1 cargo test -p gnomon-e2e --test corpus` rewrites them from `gnomon-sim`.

use std::path::{Path, PathBuf};

use borsh::{BorshDeserialize, BorshSerialize};
use gnomon_core::batch::{BatchInput, BatchOutput, BatchWitness, SealedBatch};

/// Where the corpus lives.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus")
}

/// One kept batch: the guest's input and witness and the output it must commit.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct CorpusBatch {
    pub input: BatchInput,
    pub witness: BatchWitness,
    pub output: BatchOutput,
}

impl From<SealedBatch> for CorpusBatch {
    fn from(sealed: SealedBatch) -> Self {
        Self {
            input: sealed.input,
            witness: sealed.witness,
            output: sealed.output,
        }
    }
}

impl From<CorpusBatch> for SealedBatch {
    fn from(batch: CorpusBatch) -> Self {
        Self {
            input: batch.input,
            witness: batch.witness,
            output: batch.output,
        }
    }
}

/// Every kept batch, by file name, sorted.
pub fn read_all() -> Vec<(String, CorpusBatch)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir())
        .map(|entries| {
            entries
                .map(|entry| entry.expect("a readable corpus directory").path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "borsh"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).expect("a readable corpus file");
            let batch = borsh::from_slice(&bytes)
                .unwrap_or_else(|error| panic!("{} does not decode: {error}", path.display()));
            let name = path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, batch)
        })
        .collect()
}

/// Replaces the corpus with `batches`.
pub fn write_all(batches: &[(String, CorpusBatch)]) {
    let dir = dir();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries {
            let path = entry.expect("a readable corpus directory").path();
            if path.extension().is_some_and(|ext| ext == "borsh") {
                std::fs::remove_file(path).expect("a writable corpus");
            }
        }
    }
    std::fs::create_dir_all(&dir).expect("a writable corpus");
    for (name, batch) in batches {
        let bytes = borsh::to_vec(batch).expect("encodes");
        std::fs::write(dir.join(format!("{name}.borsh")), bytes).expect("a writable corpus");
    }
}
