//! SHA-256: the `sol_sha256` syscall on chain (a few hundred compute units where a software
//! hash would cost tens of thousands), the `sha2` crate everywhere else. Same bytes out.

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    hashv(&[data])
}

/// SHA-256 of `first || second`.
pub fn sha256_pair(first: &[u8], second: &[u8]) -> [u8; 32] {
    hashv(&[first, second])
}

/// SHA-256 of the concatenation of `parts`.
#[cfg(target_os = "solana")]
pub(crate) fn hashv(parts: &[&[u8]]) -> [u8; 32] {
    let mut digest = [0u8; 32];
    // SAFETY: the syscall reads `parts.len()` (pointer, length) pairs, which is exactly the
    // layout of a slice of byte slices, and writes 32 bytes to `digest`.
    unsafe {
        pinocchio::syscalls::sol_sha256(
            parts.as_ptr().cast(),
            parts.len() as u64,
            digest.as_mut_ptr(),
        );
    }
    digest
}

/// SHA-256 of the concatenation of `parts`.
#[cfg(not(target_os = "solana"))]
pub(crate) fn hashv(parts: &[&[u8]]) -> [u8; 32] {
    use sha2::{Digest as _, Sha256};
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}
