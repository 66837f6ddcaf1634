//! Reads `n: u32`, commits `(n, fib(n) mod 2^64)`.
#![no_std]
#![no_main]

gnomon_guest::entrypoint!(main);

fn main() {
    let n: u32 = gnomon_guest::io::read();
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a.wrapping_add(b));
    }
    gnomon_guest::io::commit(&(n, a));
}
