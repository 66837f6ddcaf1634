//! Test guest that fails on purpose, so the failure paths of the SDK and the machine are
//! exercised by real compiled code. Reads the name of the fault to raise.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

gnomon_guest::entrypoint!(main);

fn main() {
    let fault: String = gnomon_guest::io::read();
    match fault.as_str() {
        "panic" => panic!("the guest was asked to panic"),
        "exit" => gnomon_guest::exit(7),
        "out-of-memory" => {
            let mut hoard = Vec::new();
            loop {
                hoard.push(Vec::<u8>::with_capacity(1 << 20));
            }
        }
        "misaligned-load" => {
            let address = core::hint::black_box(0x0010_0002usize);
            // SAFETY: deliberately invalid: the machine must trap, not the guest continue.
            let _ = unsafe { core::ptr::read_volatile(address as *const u32) };
        }
        "load-from-text" => {
            let address = core::hint::black_box(gnomon_guest::abi::memory::TEXT_START as usize);
            // SAFETY: deliberately invalid: code is not data.
            let _ = unsafe { core::ptr::read_volatile(address as *const u32) };
        }
        "store-to-text" => {
            let address = core::hint::black_box(gnomon_guest::abi::memory::TEXT_START as usize);
            // SAFETY: deliberately invalid, as above.
            unsafe { core::ptr::write_volatile(address as *mut u32, 0) };
        }
        "illegal-instruction" => {
            // SAFETY: deliberately invalid, as above.
            unsafe { core::arch::asm!(".word 0xffffffff") };
        }
        "read-past-end" => {
            let _: Vec<u8> = gnomon_guest::io::read_vec();
        }
        "print" => gnomon_guest::io::print("hello from the guest\n"),
        other => panic!("unknown fault {other:?}"),
    }
}
