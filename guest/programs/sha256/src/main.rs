//! Reads `(use_precompile: bool, data: Vec<u8>)`, commits SHA-256 of `data`, computed with the
//! compression precompile or in software (the `sha2` crate) as asked.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;

use sha2::Digest;

gnomon_guest::entrypoint!(main);

fn main() {
    let (use_precompile, data): (bool, Vec<u8>) = gnomon_guest::io::read();
    let digest: [u8; 32] = if use_precompile {
        gnomon_guest::sha256::sha256(&data)
    } else {
        sha2::Sha256::digest(&data).into()
    };
    gnomon_guest::io::commit(&digest);
}
