//! A bump allocator over `[_end, HEAP_END)`.
//!
//! Guest programs are short-lived and single-threaded: never reusing freed memory costs little
//! and keeps every allocation a handful of instructions. Reaching `HEAP_END` stops the run
//! with [`exit::OUT_OF_MEMORY`] rather than returning null, so the failure says what it is.

use core::alloc::{GlobalAlloc, Layout};
use core::fmt::Write;

use gnomon_guest_abi::{exit, fd, memory};

use crate::io::GuestCell;

unsafe extern "C" {
    /// First byte after `.bss`, from the linker script.
    static _end: u8;
}

struct BumpAllocator {
    next: GuestCell<usize>,
}

#[global_allocator]
static ALLOCATOR: BumpAllocator = BumpAllocator {
    next: GuestCell::new(0),
};

impl BumpAllocator {
    fn bump(&self, start: usize, size: usize) -> *mut u8 {
        match start.checked_add(size) {
            Some(end) if end <= memory::HEAP_END as usize => {
                self.next.set(end);
                start as *mut u8
            }
            _ => out_of_memory(size),
        }
    }
}

unsafe impl GlobalAlloc for BumpAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut next = self.next.get();
        if next == 0 {
            next = core::ptr::addr_of!(_end) as usize;
        }
        // Word alignment at least, so byte buffers can receive word-sized reads directly.
        let align = layout.align().max(memory::WORD_SIZE as usize);
        let start = (next + align - 1) & !(align - 1);
        self.bump(start, layout.size())
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // The newest allocation grows in place: the common case of a Vec being pushed to.
        if ptr as usize + layout.size() == self.next.get() {
            return self.bump(ptr as usize, new_size);
        }
        // SAFETY: forwarded from the caller's contract; the regions cannot overlap because the
        // bump pointer only moves forward.
        unsafe {
            let new = self.alloc(Layout::from_size_align_unchecked(new_size, layout.align()));
            core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            new
        }
    }
}

fn out_of_memory(requested: usize) -> ! {
    let _ = writeln!(
        crate::io::Stream(fd::STDERR),
        "guest out of memory: {requested} bytes requested, heap ends at {:#x}",
        memory::HEAP_END
    );
    crate::exit(exit::OUT_OF_MEMORY)
}
