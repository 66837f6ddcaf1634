//! The write-ahead log: every sequenced step, in order, durable before it is acknowledged.
//!
//! The log is a directory of segment files named by the position of their first record
//! (`00000000000000000000.log`, ...). A record is `length u32 LE || crc32 u32 LE || payload`,
//! the CRC over the payload. Appends go to the last segment through a buffer; [`Wal::sync`]
//! writes the buffer and fsyncs, once for a whole group of appends (group commit).
//!
//! A crash can leave the last record half written. Opening the log reads every segment,
//! stops at the first record that is short or fails its CRC, and truncates the segment
//! there: that record was never synced, so it was never acknowledged. A bad record anywhere
//! but the tail of the last segment is corruption of synced data and an error.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Records larger than this are refused (a step is a few hundred bytes).
pub const MAX_RECORD: usize = 1 << 20;
const HEADER: usize = 8;

/// Why the log could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    #[error("write-ahead log I/O: {0}")]
    Io(#[from] io::Error),
    #[error("write-ahead log segment {segment} is corrupt at byte {offset} (not at its tail)")]
    Corrupt { segment: PathBuf, offset: u64 },
    #[error("record of {0} bytes exceeds the log's limit")]
    RecordTooLarge(usize),
    #[error("another process holds the log in {0}")]
    Locked(PathBuf),
}

/// An open log, positioned for appends after its last intact record.
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    segment_bytes: u64,
    writer: BufWriter<File>,
    /// Bytes in the current segment, buffered ones included.
    written: u64,
    /// Position (record index) of the next append.
    next: u64,
    /// Held (locked) while the log is open: one writer per directory.
    _lock: File,
}

impl Wal {
    /// Opens (or creates) the log in `dir` and returns it with every intact record, in order.
    /// New segments start once the current one exceeds `segment_bytes`.
    pub fn open(dir: &Path, segment_bytes: u64) -> Result<(Self, Vec<Vec<u8>>), WalError> {
        fs::create_dir_all(dir)?;
        let lock = File::create(dir.join("LOCK"))?;
        lock.try_lock()
            .map_err(|_| WalError::Locked(dir.to_path_buf()))?;
        let segments = segment_files(dir)?;
        let mut records = Vec::new();
        let mut last = None;
        for (index, (first, path)) in segments.iter().enumerate() {
            let is_last = index + 1 == segments.len();
            let mut bytes = Vec::new();
            File::open(path)?.read_to_end(&mut bytes)?;
            let (intact, end) = decode_records(&bytes);
            if end < bytes.len() as u64 && !is_last {
                return Err(WalError::Corrupt {
                    segment: path.clone(),
                    offset: end,
                });
            }
            if records.len() as u64 != *first {
                return Err(WalError::Corrupt {
                    segment: path.clone(),
                    offset: 0,
                });
            }
            records.extend(intact);
            last = Some((path.clone(), end));
        }
        let (path, end) = match last {
            Some(last) => last,
            None => (segment_path(dir, 0), 0),
        };
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)?;
        file.set_len(end)?;
        file.seek(SeekFrom::Start(end))?;
        file.sync_all()?;
        sync_dir(dir)?;
        let wal = Self {
            dir: dir.to_path_buf(),
            segment_bytes,
            writer: BufWriter::with_capacity(1 << 20, file),
            written: end,
            next: records.len() as u64,
            _lock: lock,
        };
        Ok((wal, records))
    }

    /// Position the next appended record will have.
    pub fn next_position(&self) -> u64 {
        self.next
    }

    /// Buffers a record; it is durable after the next [`Wal::sync`].
    pub fn append(&mut self, payload: &[u8]) -> Result<u64, WalError> {
        if payload.len() > MAX_RECORD {
            return Err(WalError::RecordTooLarge(payload.len()));
        }
        if self.written >= self.segment_bytes {
            self.rotate()?;
        }
        let mut header = [0u8; HEADER];
        header[..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        header[4..].copy_from_slice(&crc32fast::hash(payload).to_le_bytes());
        self.writer.write_all(&header)?;
        self.writer.write_all(payload)?;
        self.written += (HEADER + payload.len()) as u64;
        let position = self.next;
        self.next += 1;
        Ok(position)
    }

    /// Writes every buffered record and waits until the disk has them.
    pub fn sync(&mut self) -> Result<(), WalError> {
        self.writer.flush()?;
        self.writer.get_ref().sync_data()?;
        Ok(())
    }

    fn rotate(&mut self) -> Result<(), WalError> {
        self.sync()?;
        let file = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(segment_path(&self.dir, self.next))?;
        sync_dir(&self.dir)?;
        self.writer = BufWriter::with_capacity(1 << 20, file);
        self.written = 0;
        Ok(())
    }
}

/// The intact records at the start of `bytes`, and where they end.
fn decode_records(bytes: &[u8]) -> (Vec<Vec<u8>>, u64) {
    let mut records = Vec::new();
    let mut offset = 0usize;
    while let Some(header) = bytes.get(offset..offset + HEADER) {
        let length = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
        let start = offset + HEADER;
        let Some(payload) = (length <= MAX_RECORD)
            .then(|| bytes.get(start..start + length))
            .flatten()
        else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        records.push(payload.to_vec());
        offset = start + length;
    }
    (records, offset as u64)
}

fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("{first:020}.log"))
}

fn segment_files(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let first = path
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(|name| name.strip_suffix(".log"))
            .and_then(|stem| stem.parse::<u64>().ok());
        if let Some(first) = first {
            segments.push((first, path));
        }
    }
    segments.sort();
    Ok(segments)
}

/// Makes a directory's entries (new or renamed files) durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reopen(dir: &Path) -> (Wal, Vec<Vec<u8>>) {
        Wal::open(dir, 64).expect("opens")
    }

    #[test]
    fn records_survive_reopening_across_segments() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, records) = reopen(dir.path());
        assert!(records.is_empty());
        for i in 0..20u8 {
            assert_eq!(wal.append(&[i; 10]).unwrap(), u64::from(i));
        }
        wal.sync().unwrap();
        drop(wal);
        let (mut wal, records) = reopen(dir.path());
        assert_eq!(records, (0..20u8).map(|i| vec![i; 10]).collect::<Vec<_>>());
        assert!(segment_files(dir.path()).unwrap().len() > 1);
        assert_eq!(wal.append(b"more").unwrap(), 20);
        wal.sync().unwrap();
        drop(wal);
        assert_eq!(reopen(dir.path()).1.len(), 21);
    }

    #[test]
    fn a_torn_tail_is_cut_and_appends_continue_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(dir.path(), 1 << 20).unwrap();
        wal.append(b"first").unwrap();
        wal.append(b"second").unwrap();
        wal.sync().unwrap();
        drop(wal);
        let path = segment_path(dir.path(), 0);
        let length = fs::metadata(&path).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(length - 3)
            .unwrap();
        let (mut wal, records) = Wal::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(records, vec![b"first".to_vec()]);
        wal.append(b"third").unwrap();
        wal.sync().unwrap();
        drop(wal);
        let (_, records) = Wal::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(records, vec![b"first".to_vec(), b"third".to_vec()]);
    }

    #[test]
    fn a_flipped_bit_in_the_tail_record_drops_only_that_record() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = Wal::open(dir.path(), 1 << 20).unwrap();
        wal.append(b"kept").unwrap();
        wal.append(b"flipped").unwrap();
        wal.sync().unwrap();
        drop(wal);
        let path = segment_path(dir.path(), 0);
        let mut bytes = fs::read(&path).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        fs::write(&path, bytes).unwrap();
        let (_, records) = Wal::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(records, vec![b"kept".to_vec()]);
    }

    #[test]
    fn corruption_before_the_tail_is_an_error_not_a_silent_loss() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = reopen(dir.path());
        for i in 0..20u8 {
            wal.append(&[i; 10]).unwrap();
        }
        wal.sync().unwrap();
        drop(wal);
        let first = segment_path(dir.path(), 0);
        let mut bytes = fs::read(&first).unwrap();
        bytes[HEADER] ^= 1;
        fs::write(&first, bytes).unwrap();
        assert!(matches!(
            Wal::open(dir.path(), 64),
            Err(WalError::Corrupt { .. })
        ));
    }

    #[test]
    fn one_writer_per_directory() {
        let dir = tempfile::tempdir().unwrap();
        let (wal, _) = reopen(dir.path());
        assert!(matches!(
            Wal::open(dir.path(), 64),
            Err(WalError::Locked(_))
        ));
        drop(wal);
        reopen(dir.path());
    }

    proptest::proptest! {
        #[test]
        fn decoding_arbitrary_bytes_keeps_only_whole_checked_records(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)
        ) {
            let (records, end) = decode_records(&bytes);
            proptest::prop_assert!(end as usize <= bytes.len());
            let framed: usize = records.iter().map(|record| HEADER + record.len()).sum();
            proptest::prop_assert_eq!(framed, end as usize);
        }
    }

    #[test]
    fn garbage_lengths_never_panic() {
        let mut bytes = vec![0xFF; 8];
        bytes.extend_from_slice(&[1, 2, 3]);
        assert_eq!(decode_records(&bytes), (Vec::new(), 0));
        assert_eq!(decode_records(&[1, 2]), (Vec::new(), 0));
    }
}
