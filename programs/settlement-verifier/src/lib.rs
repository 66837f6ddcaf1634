//! # gnomon-settlement-verifier: what a settled batch must prove
//!
//! The verification core shared by the settlement program (on chain), the Groth16 wrap (prover
//! side) and every test: one definition of the batch header, of the chunked lists of balances
//! and withdrawals, of the two Groth16 public inputs, and of the verification itself.
//!
//! ## What it owns
//!
//! - [`batch`]: the settlement header a batch proof commits to ([`batch::BatchHeader`], 224
//!   bytes, borsh layout) and the list hashes that let the program take the balance and
//!   withdrawal lists in chunks, checking each chunk as it arrives.
//! - [`inputs`]: the two public inputs, big-endian BN254 scalars: the program commitment packed
//!   from its eight BabyBear elements, and the output digest (SHA-256 of the header with its
//!   first byte cleared).
//! - [`verify`] (feature `verify`, default): the batch verifying key
//!   ([`verify::VerifyingKey`], fixed to the statement's two inputs) and Groth16 verification of
//!   a batch proof with groth16-solana.
//! - `keys` (feature `keys`, host only): Groth16 keys and proofs from arkworks in
//!   groth16-solana's format, for the wrap's setup and prover.
//! - `test_circuit` (feature `test-circuit`, host only): an arkworks circuit with the same
//!   public-input layout, its deterministic setup and a prover, so that tests verify real
//!   proofs without running the wrap's setup; [`vk`] compiles its key in for the SBF
//!   benchmark.
//!
//! ## What it must never do
//!
//! - Need `std` or an allocator: it builds for SBF (`target_os = "solana"`) with upstream
//!   LLVM's BPF backend, which also rules out floating point, 128-bit multiplication and
//!   functions of more than five arguments.
//! - Panic on any input: malformed data is an `Err` or `None`.
//! - Trust a flag instead of a proof: acceptance is the pairing check and nothing else.
//! - Depend on the engine (`gnomon-core`): the layouts here mirror its borsh encodings, and its
//!   tests check that the mirror encodes identically.

#![no_std]

pub mod batch;
#[cfg(feature = "verify")]
mod bn254;
pub mod inputs;
#[cfg(feature = "keys")]
pub mod keys;
mod sha256;
#[cfg(feature = "test-circuit")]
pub mod test_circuit;
#[cfg(feature = "verify")]
pub mod verify;
// Generated and compared byte for byte by a test: rustfmt must leave it as written.
#[cfg(feature = "verify")]
#[rustfmt::skip]
pub mod vk;

pub use sha256::{sha256, sha256_pair};
