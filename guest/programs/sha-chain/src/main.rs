//! Benchmark workload: reads `(iterations: u32, seed: [u8; 32])` and hashes the seed that many
//! times with software SHA-256 (pure ALU and memory work, no precompile); commits the result.
#![no_std]
#![no_main]

use sha2::Digest;

gnomon_guest::entrypoint!(main);

fn main() {
    let (iterations, mut digest): (u32, [u8; 32]) = gnomon_guest::io::read();
    for _ in 0..iterations {
        digest = sha2::Sha256::digest(digest).into();
    }
    gnomon_guest::io::commit(&digest);
}
