//! Raw syscalls into the machine (see `gnomon_guest_abi::syscall` for the conventions).

use core::arch::asm;

use gnomon_guest_abi::syscall;

/// Stops the machine with `code`; `digests` are the input and output SHA-256 digests.
pub(crate) fn halt(code: u32, digests: &[u32; syscall::HALT_DIGEST_WORDS as usize]) -> ! {
    // SAFETY: HALT reads the 16 words behind `a1` and never returns.
    unsafe {
        asm!(
            "ecall",
            in("t0") syscall::HALT,
            in("a0") code,
            in("a1") digests.as_ptr(),
            options(noreturn, nostack),
        )
    }
}

/// Fills `words` from input stream `fd`, in transfers of at most `MAX_READ_WORDS`.
///
/// # Safety
/// `words` must point to `len` writable words.
pub(crate) unsafe fn read_words(fd: u32, words: *mut u32, len: usize) {
    let mut done = 0;
    while done < len {
        let chunk = (len - done).min(syscall::MAX_READ_WORDS as usize);
        // SAFETY: the caller guarantees `len` writable words; READ writes `chunk` of them.
        unsafe {
            asm!(
                "ecall",
                in("t0") syscall::READ,
                in("a0") fd,
                in("a1") words.add(done),
                in("a2") chunk,
                options(nostack),
            )
        }
        done += chunk;
    }
}

/// Writes `bytes` to output stream `fd`.
pub(crate) fn write(fd: u32, bytes: &[u8]) {
    // SAFETY: WRITE only reads `bytes`.
    unsafe {
        asm!(
            "ecall",
            in("t0") syscall::WRITE,
            in("a0") fd,
            in("a1") bytes.as_ptr(),
            in("a2") bytes.len(),
            options(nostack, readonly),
        )
    }
}

/// The Poseidon2 permutation over BabyBear (width 16, Plonky3's default constants), in place.
/// Every element must be canonical (below the BabyBear modulus) or the run stops with a trap.
pub fn poseidon2_permute(state: &mut [u32; syscall::POSEIDON2_WIDTH as usize]) {
    // SAFETY: the permutation reads and writes exactly the 16 words of `state`.
    unsafe {
        asm!(
            "ecall",
            in("t0") syscall::POSEIDON2_PERMUTE,
            in("a0") state.as_mut_ptr(),
            options(nostack),
        )
    }
}

/// The SHA-256 compression function: folds one 16-word message block into `state`.
pub fn sha256_compress(
    state: &mut [u32; syscall::SHA256_STATE_WORDS as usize],
    block: &[u32; syscall::SHA256_BLOCK_WORDS as usize],
) {
    // SAFETY: the compression reads `block` and reads and writes the 8 words of `state`.
    unsafe {
        asm!(
            "ecall",
            in("t0") syscall::SHA256_COMPRESS,
            in("a0") state.as_mut_ptr(),
            in("a1") block.as_ptr(),
            options(nostack),
        )
    }
}

/// An element of Curve25519's base field as the `FP25519_*` syscalls take it: a 256-bit
/// integer in little-endian words, any value below 2^256; results are below 2^255 - 19.
pub type Fp25519 = [u32; syscall::FP25519_WORDS as usize];

/// `x = x * y mod 2^255 - 19`.
pub fn fp25519_mul(x: &mut Fp25519, y: &Fp25519) {
    fp25519(syscall::FP25519_MUL, x, y);
}

/// `x = x * x mod 2^255 - 19`.
pub fn fp25519_square(x: &mut Fp25519) {
    let x: *mut Fp25519 = x;
    // SAFETY: the syscall reads both operands before it writes x, so they may alias.
    unsafe { fp25519_raw(syscall::FP25519_MUL, x, x) }
}

/// `x = x + y mod 2^255 - 19`.
pub fn fp25519_add(x: &mut Fp25519, y: &Fp25519) {
    fp25519(syscall::FP25519_ADD, x, y);
}

/// `x = x - y mod 2^255 - 19`.
pub fn fp25519_sub(x: &mut Fp25519, y: &Fp25519) {
    fp25519(syscall::FP25519_SUB, x, y);
}

fn fp25519(number: u32, x: &mut Fp25519, y: &Fp25519) {
    // SAFETY: `x` and `y` are valid buffers of 8 words.
    unsafe { fp25519_raw(number, x, y) }
}

/// # Safety
/// `x` and `y` must point to 8 words each, `x` writable; they may be the same.
unsafe fn fp25519_raw(number: u32, x: *mut Fp25519, y: *const Fp25519) {
    // SAFETY: the operation reads the 8 words behind `a0` and `a1`, then writes those of `a0`.
    unsafe {
        asm!(
            "ecall",
            in("t0") number,
            in("a0") x,
            in("a1") y,
            options(nostack),
        )
    }
}
