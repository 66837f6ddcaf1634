//! The Gnomon guest SDK: what a Rust program needs to run, and be proven, inside the zkVM.
//!
//! It owns the guest side of the ABI in `gnomon-guest-abi`: the start-up code (stack pointer,
//! global pointer, zeroed `.bss`), the [`entrypoint!`] that names the program's `main`, the
//! input and output streams ([`io`]), the precompile syscalls ([`syscalls`]), a bump
//! allocator that stops the run with a clear out-of-memory exit, and a panic handler that
//! prints the message and exits non-zero. On exit it hands the machine the SHA-256 digests of
//! the input consumed and the output committed: that is all a proof binds of the streams.
//!
//! It must never trust anything from the hint stream on the guest's behalf, and never let a
//! failure end in anything but a non-zero exit code.
#![no_std]

extern crate alloc;

mod atomics;
mod heap;
pub mod io;
mod runtime;
pub mod sha256;
pub mod syscalls;

pub use gnomon_guest_abi as abi;

/// Stops the program with `code` (0 = success). The digests of the input read and the output
/// committed so far are what the proof will bind.
pub fn exit(code: u32) -> ! {
    let digests = io::finish_digests();
    syscalls::halt(code, &digests)
}

/// Declares the guest program's entry point: `gnomon_guest::entrypoint!(main);` with
/// `fn main()`. Returning from `main` exits with code 0.
#[macro_export]
macro_rules! entrypoint {
    ($main:path) => {
        #[unsafe(no_mangle)]
        extern "C" fn __gnomon_main() {
            let main: fn() = $main;
            main()
        }
    };
}
