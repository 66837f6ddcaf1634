//! Input and output streams.
//!
//! - stdin ([`read`], [`read_vec`]): the public input. Every word consumed is hashed, and the
//!   digest is bound by the proof.
//! - hints ([`hint`], [`hint_vec`]): untrusted advice from the host, not bound by the proof.
//!   A guest must check whatever it takes from here (a Merkle path against a root it trusts).
//! - journal ([`commit`], [`commit_slice`]): the public output. Hashed the same way.
//! - stdout ([`print`]): diagnostics only.
//!
//! Input streams are frames (`u32` length, bytes, zero padding to a word), written by the
//! host's stream builder; one frame is one `read_vec`. The input digest is SHA-256 over the
//! canonical encoding of the stdin frames consumed (padding hashed as zeros, whatever the
//! host sent), so it names exactly the bytes the guest acted on.

use alloc::vec::Vec;
use core::cell::UnsafeCell;

use borsh::{BorshDeserialize, BorshSerialize};
use gnomon_guest_abi::{fd, syscall};

use crate::sha256::Sha256;
use crate::syscalls;

/// Interior mutability for the SDK's globals. The guest is single-threaded and nothing here
/// is reentrant, so plain unsynchronized access is sound.
pub(crate) struct GuestCell<T>(UnsafeCell<T>);

// SAFETY: guests run on one hart without interrupts.
unsafe impl<T> Sync for GuestCell<T> {}

impl<T> GuestCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(UnsafeCell::new(value))
    }

    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: single-threaded, and `f` never reaches back into the same cell.
        f(unsafe { &mut *self.0.get() })
    }
}

impl<T: Copy> GuestCell<T> {
    pub(crate) fn get(&self) -> T {
        self.with(|value| *value)
    }

    pub(crate) fn set(&self, value: T) {
        self.with(|slot| *slot = value)
    }
}

static INPUT_DIGEST: GuestCell<Sha256> = GuestCell::new(Sha256::new());
static OUTPUT_DIGEST: GuestCell<Sha256> = GuestCell::new(Sha256::new());

/// Reads the next stdin frame and decodes it with borsh. A frame that does not decode is a
/// panic: the input is malformed and the run must not succeed.
pub fn read<T: BorshDeserialize>() -> T {
    decode(&read_vec(), "stdin")
}

/// Reads the next stdin frame as raw bytes.
pub fn read_vec() -> Vec<u8> {
    let frame = read_frame(fd::STDIN);
    INPUT_DIGEST.with(|digest| {
        digest.update(&(frame.len() as u32).to_le_bytes());
        digest.update(&frame);
        digest.update(&[0; 3][..frame.len().next_multiple_of(4) - frame.len()]);
    });
    frame
}

/// Reads the next hint frame and decodes it with borsh. Hints are untrusted: check them.
pub fn hint<T: BorshDeserialize>() -> T {
    decode(&hint_vec(), "hint")
}

/// Reads the next hint frame as raw bytes. Hints are untrusted: check them.
pub fn hint_vec() -> Vec<u8> {
    read_frame(fd::HINT)
}

/// Appends `value`, borsh-encoded, to the public output.
pub fn commit<T: BorshSerialize>(value: &T) {
    let bytes = borsh::to_vec(value).expect("borsh encoding into a Vec cannot fail");
    commit_slice(&bytes);
}

/// Appends raw bytes to the public output.
pub fn commit_slice(bytes: &[u8]) {
    OUTPUT_DIGEST.with(|digest| digest.update(bytes));
    syscalls::write(fd::JOURNAL, bytes);
}

/// Prints to the host's stdout. Not part of what a proof binds.
pub fn print(text: &str) {
    syscalls::write(fd::STDOUT, text.as_bytes());
}

/// A `core::fmt::Write` sink over an output stream, for `write!` without allocating.
pub(crate) struct Stream(pub(crate) u32);

impl core::fmt::Write for Stream {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        syscalls::write(self.0, text.as_bytes());
        Ok(())
    }
}

/// The HALT digests: SHA-256 of the stdin words consumed, then of the journal bytes.
pub(crate) fn finish_digests() -> [u32; syscall::HALT_DIGEST_WORDS as usize] {
    let input = INPUT_DIGEST.with(|digest| core::mem::take(digest).finalize_words());
    let output = OUTPUT_DIGEST.with(|digest| core::mem::take(digest).finalize_words());
    let mut words = [0; syscall::HALT_DIGEST_WORDS as usize];
    words[..8].copy_from_slice(&input);
    words[8..].copy_from_slice(&output);
    words
}

fn read_frame(stream: u32) -> Vec<u8> {
    let mut length = 0u32;
    // SAFETY: one writable word.
    unsafe { syscalls::read_words(stream, &mut length, 1) };
    let length = length as usize;
    let words = length.div_ceil(4);
    let mut frame = Vec::<u8>::with_capacity(words * 4);
    let buffer = frame.as_mut_ptr();
    if buffer.align_offset(4) == 0 {
        // SAFETY: the allocator hands out word-aligned buffers and the capacity holds `words`
        // words; READ initializes all of them, so the first `length` bytes are initialized.
        unsafe {
            syscalls::read_words(stream, buffer.cast(), words);
            frame.set_len(length);
        }
    } else {
        let mut aligned = alloc::vec![0u32; words];
        // SAFETY: `aligned` holds `words` writable words.
        unsafe { syscalls::read_words(stream, aligned.as_mut_ptr(), words) };
        frame.extend(
            aligned
                .iter()
                .flat_map(|word| word.to_le_bytes())
                .take(length),
        );
    }
    frame
}

fn decode<T: BorshDeserialize>(bytes: &[u8], stream: &str) -> T {
    match borsh::from_slice(bytes) {
        Ok(value) => value,
        Err(error) => panic!("{stream} frame does not decode: {error}"),
    }
}
