//! Start-up code and the panic handler.

use core::fmt::Write;

use gnomon_guest_abi::{exit, fd, memory};

core::arch::global_asm!(
    r#"
    .section .text._start, "ax", @progbits
    .globl _start
_start:
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    li sp, {stack_top}
    la t0, __bss_start
    la t1, __bss_end
1:
    bgeu t0, t1, 2f
    sw zero, 0(t0)
    addi t0, t0, 4
    j 1b
2:
    call {start}
"#,
    stack_top = const memory::STACK_TOP,
    start = sym start,
);

unsafe extern "C" {
    /// Defined by [`crate::entrypoint!`].
    fn __gnomon_main();
}

extern "C" fn start() -> ! {
    // SAFETY: `entrypoint!` defines this symbol as a plain `extern "C" fn()`.
    unsafe { __gnomon_main() };
    crate::exit(exit::SUCCESS)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let _ = writeln!(crate::io::Stream(fd::STDERR), "guest panicked: {info}");
    crate::exit(exit::PANIC)
}
