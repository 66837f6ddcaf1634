//! The atomic read-modify-write calls LLVM leaves to a runtime library on this target.
//!
//! The guest target has no `A` extension and the machine runs one hart with no interrupts, so
//! LLVM lowers most atomics to plain loads and stores (`"singlethread": true`), but it still
//! emits `__atomic_fetch_add_4` and `__atomic_fetch_sub_4` (reference counts of `Arc`, as
//! Plonky3's verifier uses) as calls. With a single hart a plain read-modify-write is atomic;
//! the memory-order argument has nothing to order.

/// Replaces `*pointer` with `update(*pointer)` and returns the old value.
///
/// # Safety
///
/// `pointer` is valid and aligned, as for any atomic.
unsafe fn read_modify_write(pointer: *mut u32, update: impl FnOnce(u32) -> u32) -> u32 {
    // SAFETY: the caller's pointer is valid; one hart runs, so nothing interleaves.
    unsafe {
        let old = pointer.read();
        pointer.write(update(old));
        old
    }
}

#[unsafe(no_mangle)]
unsafe extern "C" fn __atomic_fetch_add_4(pointer: *mut u32, value: u32, _order: i32) -> u32 {
    // SAFETY: the caller passes a valid, aligned pointer, as for any atomic.
    unsafe { read_modify_write(pointer, |old| old.wrapping_add(value)) }
}

#[unsafe(no_mangle)]
unsafe extern "C" fn __atomic_fetch_sub_4(pointer: *mut u32, value: u32, _order: i32) -> u32 {
    // SAFETY: the caller passes a valid, aligned pointer, as for any atomic.
    unsafe { read_modify_write(pointer, |old| old.wrapping_sub(value)) }
}
