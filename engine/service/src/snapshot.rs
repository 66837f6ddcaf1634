//! Snapshots of the exchange at batch boundaries, so recovery replays one batch of the log,
//! not all of it.
//!
//! A snapshot file (`snapshots/<batch number>.snap`) is `crc32 u32 LE || borsh(Snapshot)`,
//! written to a temporary name, fsynced, renamed and the directory fsynced: a crash leaves the
//! old snapshot or the new one, never half of one. Loading takes the newest snapshot whose
//! CRC and decoding check out.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::PathBuf;

use borsh::{BorshDeserialize, BorshSerialize};
use gnomon_core::AccountId;
use gnomon_core::account::Account;
use gnomon_core::exchange::{Exchange, GlobalState};

use crate::files::{files_with_extension, read_checked, write_checked};

/// The state after a sealed batch and where the log goes on from it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Snapshot {
    /// Position of the first log record after the batch's seal.
    pub log_position: u64,
    pub global: GlobalState,
    pub accounts: BTreeMap<AccountId, Account>,
}

impl Snapshot {
    /// The state of `exchange` (with no batch open) and the log position it corresponds to.
    pub fn of(exchange: &Exchange, log_position: u64) -> Self {
        Self {
            log_position,
            global: exchange.global().clone(),
            accounts: exchange
                .accounts()
                .map(|(id, account)| (id, account.clone()))
                .collect(),
        }
    }

    pub fn into_exchange(self) -> Exchange {
        Exchange::from_parts(self.global, self.accounts)
    }
}

/// The snapshot directory.
#[derive(Clone, Debug)]
pub struct Snapshots {
    dir: PathBuf,
    /// Snapshots older than the newest `keep` are deleted after each write.
    keep: usize,
}

impl Snapshots {
    pub fn new(dir: PathBuf, keep: usize) -> io::Result<Self> {
        fs::create_dir_all(&dir)?;
        Ok(Self {
            dir,
            keep: keep.max(1),
        })
    }

    /// Writes `snapshot` durably.
    pub fn write(&self, snapshot: &Snapshot) -> io::Result<()> {
        let payload = borsh::to_vec(snapshot)?;
        let name = format!("{:020}.snap", snapshot.global.batch_number);
        write_checked(&self.dir, &name, &payload)?;
        for stale in self.files()?.into_iter().rev().skip(self.keep) {
            fs::remove_file(stale)?;
        }
        Ok(())
    }

    /// The newest intact snapshot, if any.
    pub fn latest(&self) -> io::Result<Option<Snapshot>> {
        for path in self.files()?.into_iter().rev() {
            if let Some(snapshot) = decode(&fs::read(&path)?) {
                return Ok(Some(snapshot));
            }
            tracing::warn!(path = %path.display(), "skipping a damaged snapshot");
        }
        Ok(None)
    }

    /// Snapshot files, oldest first.
    fn files(&self) -> io::Result<Vec<PathBuf>> {
        files_with_extension(&self.dir, "snap")
    }
}

fn decode(bytes: &[u8]) -> Option<Snapshot> {
    Snapshot::try_from_slice(read_checked(bytes)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gnomon_sim::{Sim, unit_market};

    #[test]
    fn the_newest_intact_snapshot_wins_and_damaged_ones_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let snapshots = Snapshots::new(dir.path().join("snapshots"), 2).unwrap();
        let mut sim = Sim::new(vec![unit_market()]);
        sim.trader(1, 1_000);
        sim.ledger.seal_batch();
        let first = Snapshot::of(sim.exchange(), 3);
        snapshots.write(&first).unwrap();
        sim.trader(2, 1_000);
        sim.ledger.seal_batch();
        let second = Snapshot::of(sim.exchange(), 7);
        snapshots.write(&second).unwrap();
        assert_eq!(snapshots.latest().unwrap(), Some(second.clone()));
        assert_eq!(second.clone().into_exchange(), *sim.exchange());

        let newest = snapshots.files().unwrap().pop().unwrap();
        let mut bytes = fs::read(&newest).unwrap();
        bytes[10] ^= 0x40;
        fs::write(&newest, bytes).unwrap();
        assert_eq!(snapshots.latest().unwrap(), Some(first));
    }
}
