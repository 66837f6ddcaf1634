//! The streams between host and guest.
//!
//! [`Input`] builds what a guest reads: the public stdin stream and the untrusted hint stream,
//! each a sequence of frames (a little-endian `u32` length, the bytes, zero padding to a whole
//! word), the format `gnomon_guest::io::read_vec` consumes.

use borsh::BorshSerialize;
use gnomon_guest_abi::fd;

use crate::trap::TrapCause;

/// Most bytes the host keeps of each output stream; more is a trap, so a guest cannot make
/// the host run out of memory by printing.
pub const MAX_OUTPUT_BYTES: usize = 256 << 20;

/// The input streams of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Input {
    stdin: Vec<u8>,
    hints: Vec<u8>,
}

/// Why bytes are not a valid input stream.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    #[error("{stream}: frame at byte {offset} is cut short")]
    Truncated { stream: &'static str, offset: usize },
    #[error("{stream}: frame at byte {offset} has non-zero padding")]
    NonZeroPadding { stream: &'static str, offset: usize },
}

fn push_frame(stream: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).expect("a frame is shorter than 4 GiB");
    stream.extend_from_slice(&len.to_le_bytes());
    stream.extend_from_slice(bytes);
    stream.resize(stream.len().next_multiple_of(4), 0);
}

/// Checks that `stream` is a sequence of well-formed frames.
fn validate(stream: &[u8], name: &'static str) -> Result<(), InputError> {
    let mut offset = 0;
    while offset < stream.len() {
        let header = stream
            .get(offset..offset + 4)
            .ok_or(InputError::Truncated {
                stream: name,
                offset,
            })?;
        let len = u32::from_le_bytes(header.try_into().expect("4 bytes")) as usize;
        let body = offset + 4;
        let truncated = InputError::Truncated {
            stream: name,
            offset,
        };
        let end = body
            .checked_add(len.next_multiple_of(4))
            .ok_or(truncated.clone())?;
        let frame = stream.get(body..end).ok_or(truncated)?;
        if frame[len..].iter().any(|&byte| byte != 0) {
            return Err(InputError::NonZeroPadding {
                stream: name,
                offset,
            });
        }
        offset = end;
    }
    Ok(())
}

impl Input {
    pub fn new() -> Self {
        Self::default()
    }

    /// Input from raw streams (as written by [`Input::stdin`] and [`Input::hints`]).
    pub fn from_streams(stdin: Vec<u8>, hints: Vec<u8>) -> Result<Self, InputError> {
        validate(&stdin, "stdin")?;
        validate(&hints, "hints")?;
        Ok(Self { stdin, hints })
    }

    /// Appends `value`, borsh-encoded, as one stdin frame (`gnomon_guest::io::read`).
    pub fn write<T: BorshSerialize>(&mut self, value: &T) -> &mut Self {
        self.write_frame(&borsh::to_vec(value).expect("borsh encoding into a Vec cannot fail"))
    }

    /// Appends raw bytes as one stdin frame (`gnomon_guest::io::read_vec`).
    pub fn write_frame(&mut self, bytes: &[u8]) -> &mut Self {
        push_frame(&mut self.stdin, bytes);
        self
    }

    /// Appends `value`, borsh-encoded, as one hint frame (`gnomon_guest::io::hint`).
    pub fn hint<T: BorshSerialize>(&mut self, value: &T) -> &mut Self {
        self.hint_frame(&borsh::to_vec(value).expect("borsh encoding into a Vec cannot fail"))
    }

    /// Appends raw bytes as one hint frame (`gnomon_guest::io::hint_vec`).
    pub fn hint_frame(&mut self, bytes: &[u8]) -> &mut Self {
        push_frame(&mut self.hints, bytes);
        self
    }

    /// The stdin stream. A guest that reads all of it reports SHA-256 of these bytes as its
    /// input digest.
    pub fn stdin(&self) -> &[u8] {
        &self.stdin
    }

    /// The hint stream.
    pub fn hints(&self) -> &[u8] {
        &self.hints
    }
}

/// An input stream being consumed, word by word.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, position: 0 }
    }

    /// The next `words` words, or `None` (and nothing consumed) if the stream is shorter.
    pub(crate) fn take(&mut self, words: u32) -> Option<impl Iterator<Item = u32> + 'a> {
        let end = self.position.checked_add(4 * words as usize)?;
        let taken = self.bytes.get(self.position..end)?;
        self.position = end;
        Some(
            taken
                .chunks_exact(4)
                .map(|chunk| u32::from_le_bytes(chunk.try_into().expect("4"))),
        )
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }
}

/// The streams of a running machine.
#[derive(Debug)]
pub(crate) struct Io<'a> {
    pub(crate) stdin: Reader<'a>,
    pub(crate) hints: Reader<'a>,
    pub(crate) journal: Vec<u8>,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
}

impl<'a> Io<'a> {
    pub(crate) fn new(input: &'a Input) -> Self {
        Self {
            stdin: Reader::new(&input.stdin),
            hints: Reader::new(&input.hints),
            journal: Vec::new(),
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }

    /// The input stream `descriptor` names, with its name for errors.
    pub(crate) fn reader(&mut self, descriptor: u32) -> Option<(&mut Reader<'a>, &'static str)> {
        match descriptor {
            fd::STDIN => Some((&mut self.stdin, "stdin")),
            fd::HINT => Some((&mut self.hints, "hints")),
            _ => None,
        }
    }

    /// Appends `bytes` to output stream `descriptor`; bytes for any other descriptor are
    /// dropped.
    pub(crate) fn write(
        &mut self,
        descriptor: u32,
        bytes: impl ExactSizeIterator<Item = u8>,
    ) -> Result<(), TrapCause> {
        let (stream, name) = match descriptor {
            fd::STDOUT => (&mut self.stdout, "stdout"),
            fd::STDERR => (&mut self.stderr, "stderr"),
            fd::JOURNAL => (&mut self.journal, "journal"),
            _ => return Ok(()),
        };
        if stream.len() + bytes.len() > MAX_OUTPUT_BYTES {
            return Err(TrapCause::OutputLimit {
                stream: name,
                limit: MAX_OUTPUT_BYTES,
            });
        }
        stream.extend(bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_padded_and_validated() {
        let mut input = Input::new();
        input.write_frame(b"abcde").write(&7u32);
        assert_eq!(input.stdin(), b"\x05\0\0\0abcde\0\0\0\x04\0\0\0\x07\0\0\0");
        assert_eq!(
            Input::from_streams(input.stdin().to_vec(), vec![]).unwrap(),
            input
        );

        let mut padded = input.stdin().to_vec();
        padded[11] = 1;
        assert_eq!(
            Input::from_streams(padded, vec![]),
            Err(InputError::NonZeroPadding {
                stream: "stdin",
                offset: 0
            })
        );
        assert_eq!(
            Input::from_streams(vec![], vec![9, 0, 0, 0, 1]),
            Err(InputError::Truncated {
                stream: "hints",
                offset: 0
            })
        );
        assert_eq!(
            Input::from_streams(vec![1, 2], vec![]),
            Err(InputError::Truncated {
                stream: "stdin",
                offset: 0
            })
        );
    }
}
