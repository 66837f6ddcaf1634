//! The atomic read-modify-write calls LLVM leaves to a runtime library on this target.
//!
//! The guest target has no `A` extension and the machine runs one hart with no interrupts, so
//! LLVM lowers most atomics to plain loads and stores (`"singlethread": true`), but it still
//! emits `__atomic_fetch_add_4` and `__atomic_fetch_sub_4` (reference counts of `Arc`, as
//! Plonky3's verifier uses) as calls. With a single hart a plain read-modify-write is atomic;
//! the memory-order argument has nothing to order.

#[unsafe(no_mangle)]
unsafe extern "C" fn __atomic_fetch_add_4(pointer: *mut u32, value: u32, _order: i32) -> u32 {
    // SAFETY: the caller passes a valid, aligned pointer, as for any atomic; one hart runs.
    unsafe {
        let old = pointer.read();
        pointer.write(old.wrapping_add(value));
        old
    }
}

#[unsafe(no_mangle)]
unsafe extern "C" fn __atomic_fetch_sub_4(pointer: *mut u32, value: u32, _order: i32) -> u32 {
    // SAFETY: as above.
    unsafe {
        let old = pointer.read();
        pointer.write(old.wrapping_sub(value));
        old
    }
}
