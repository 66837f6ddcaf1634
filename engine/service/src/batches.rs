//! The sealed batches, kept on disk so proving survives a restart and the settlement driver
//! can read what it submits. Nothing prunes them yet (a batch could go once its settlement is
//! final).
//!
//! The sequencer hands each sealed batch to the proving queue before it writes the snapshot
//! after it: from then on the log no longer recreates the batch, so the queue must already
//! hold it durably. [`BatchStore`] keeps `batches/<number>.batch` (`crc32 u32 LE ||
//! borsh(input, witness, output)`) and, once the batch is done, `batches/<number>.status` (the
//! final [`BatchStatus`] as JSON, with the same CRC prefix). Both are written whole (a
//! temporary file, fsynced, renamed, the directory fsynced). A restarted queue takes back every
//! batch without a final status. A damaged status only means the batch is proven again; a
//! damaged batch is an error, since the log cannot recreate it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use borsh::BorshDeserialize;
use gnomon_core::batch::{BatchInput, BatchOutput, BatchWitness, SealedBatch};

use crate::files::{files_with_extension, read_checked, write_checked};
use crate::prover::BatchStatus;

/// A sealed batch as it is kept: `borsh(input, witness, output)`.
pub(crate) fn encode(batch: &SealedBatch) -> Vec<u8> {
    borsh::to_vec(&(&batch.input, &batch.witness, &batch.output))
        .expect("writing to a vector cannot fail")
}

/// The sealed batch `bytes` keep, or `None` for bytes that are not one.
pub(crate) fn decode(bytes: &[u8]) -> Option<SealedBatch> {
    let (input, witness, output) =
        <(BatchInput, BatchWitness, BatchOutput)>::try_from_slice(bytes).ok()?;
    Some(SealedBatch {
        input,
        witness,
        output,
    })
}

/// The batch directory.
#[derive(Clone, Debug)]
pub struct BatchStore {
    dir: PathBuf,
}

impl BatchStore {
    pub fn open(dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    fn name(number: u64, extension: &str) -> String {
        format!("{number:020}.{extension}")
    }

    /// Keeps `batch` durably (once: a batch the log recreates after a crash is already here).
    pub fn save(&self, batch: &SealedBatch) -> io::Result<()> {
        let name = Self::name(batch.input.batch_number, "batch");
        if self.dir.join(&name).exists() {
            return Ok(());
        }
        write_checked(&self.dir, &name, &encode(batch))
    }

    /// Records that batch `number` is done with `status`.
    pub fn finish(&self, number: u64, status: &BatchStatus) -> io::Result<()> {
        let payload = serde_json::to_vec(status)?;
        write_checked(&self.dir, &Self::name(number, "status"), &payload)
    }

    /// Every kept batch in order, with its final status if it is done.
    pub fn load(&self) -> io::Result<Vec<(SealedBatch, Option<BatchStatus>)>> {
        let mut batches = Vec::new();
        for path in files_with_extension(&self.dir, "batch")? {
            let batch = read_batch(&path)?;
            let status = self.status(batch.input.batch_number)?;
            batches.push((batch, status));
        }
        Ok(batches)
    }

    /// Batch `number`, if it is kept.
    pub fn read(&self, number: u64) -> io::Result<Option<SealedBatch>> {
        match read_batch(&self.dir.join(Self::name(number, "batch"))) {
            Ok(batch) => Ok(Some(batch)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }

    fn status(&self, number: u64) -> io::Result<Option<BatchStatus>> {
        let path = self.dir.join(Self::name(number, "status"));
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        let status = read_checked(&bytes).and_then(|payload| serde_json::from_slice(payload).ok());
        if status.is_none() {
            tracing::warn!(path = %path.display(), "a damaged batch status; the batch is proven again");
        }
        Ok(status)
    }
}

/// The sealed batch kept at `path`.
fn read_batch(path: &Path) -> io::Result<SealedBatch> {
    let bytes = fs::read(path)?;
    let damaged = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the sealed batch {} is damaged", path.display()),
        )
    };
    let payload = read_checked(&bytes).ok_or_else(damaged)?;
    decode(payload).ok_or_else(damaged)
}
