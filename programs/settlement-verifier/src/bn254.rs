//! The alt_bn128 point checks a verifying key needs: Solana's syscalls on chain, solana-bn254
//! (the same arkworks code the validator runs behind them) everywhere else. Points are
//! big-endian, as groth16-solana takes them.

/// `G1_ADD_BE` and `PAIRING_BE`, the syscall's operation codes.
#[cfg(target_os = "solana")]
mod ops {
    pub const G1_ADD: u64 = 0;
    pub const PAIRING: u64 = 3;
}

#[cfg(target_os = "solana")]
fn group_op(op: u64, input: &[u8], result: &mut [u8]) -> bool {
    // SAFETY: the syscall reads `input.len()` bytes of `input` and writes at most the
    // operation's result size (64 bytes for an addition, 32 for a pairing) into `result`,
    // which the callers size for it.
    let rc = unsafe {
        pinocchio::syscalls::sol_alt_bn128_group_op(
            op,
            input.as_ptr(),
            input.len() as u64,
            result.as_mut_ptr(),
        )
    };
    rc == 0
}

/// Whether `point` is a G1 point (the identity included): adding the identity to it succeeds
/// only for a point on the curve.
pub(crate) fn is_g1(point: &[u8; 64]) -> bool {
    let mut input = [0u8; 128];
    input[..64].copy_from_slice(point);
    #[cfg(target_os = "solana")]
    {
        group_op(ops::G1_ADD, &input, &mut [0u8; 64])
    }
    #[cfg(not(target_os = "solana"))]
    {
        solana_bn254::prelude::alt_bn128_g1_addition_be(&input).is_ok()
    }
}

/// Whether every one of `points` is a G2 point of the prime-order subgroup: a pairing of each
/// with the G1 identity succeeds only then (it computes nothing else of use).
pub(crate) fn are_g2(points: &[&[u8; 128]; 3]) -> bool {
    let mut input = [0u8; 3 * 192];
    for (pair, point) in input.chunks_exact_mut(192).zip(points) {
        pair[64..].copy_from_slice(*point);
    }
    #[cfg(target_os = "solana")]
    {
        group_op(ops::PAIRING, &input, &mut [0u8; 32])
    }
    #[cfg(not(target_os = "solana"))]
    {
        solana_bn254::prelude::alt_bn128_pairing_be(&input).is_ok()
    }
}
