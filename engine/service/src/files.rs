//! Whole-file writes for the engine's durable files (snapshots, sealed batches, proofs): a
//! crash leaves the old file or the new one, never part of one.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::wal::sync_dir;

/// Writes `parts` to `path` whole: a temporary file, fsynced, renamed, the directory fsynced.
pub(crate) fn write_atomically(path: &Path, parts: &[&[u8]]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let mut file = File::create(&temporary)?;
    for part in parts {
        file.write_all(part)?;
    }
    file.sync_all()?;
    fs::rename(&temporary, path)?;
    sync_dir(dir)
}

/// Writes `crc32 u32 LE || payload` to `dir/name` with [`write_atomically`].
pub(crate) fn write_checked(dir: &Path, name: &str, payload: &[u8]) -> io::Result<()> {
    let crc = crc32fast::hash(payload).to_le_bytes();
    write_atomically(&dir.join(name), &[&crc, payload])
}

/// The payload of a file [`write_checked`] wrote, if its CRC matches.
pub(crate) fn read_checked(bytes: &[u8]) -> Option<&[u8]> {
    let (crc, payload) = bytes.split_at_checked(4)?;
    (crc32fast::hash(payload).to_le_bytes() == crc).then_some(payload)
}

/// The files of `dir` with `extension`, in name order.
pub(crate) fn files_with_extension(dir: &Path, extension: &str) -> io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<io::Result<_>>()?;
    files.retain(|path| path.extension().is_some_and(|ext| ext == extension));
    files.sort();
    Ok(files)
}
