//! The verification core as a bare SBF program (no accounts): instruction data is
//! `commitment (32) || header (304) || proof (256)`; it succeeds exactly when
//! `gnomon_settlement_verifier::verify::verify_batch` accepts, and fails with the
//! [`VerifyError`](gnomon_settlement_verifier::verify::VerifyError) as a custom error
//! otherwise. Used only to measure compute units in LiteSVM.

#![no_std]

use gnomon_settlement_verifier::batch::{BatchHeader, HEADER_LEN};
use gnomon_settlement_verifier::verify::{PROOF_LEN, Proof, VerifyError, verify_batch};
use gnomon_settlement_verifier::vk::VERIFYING_KEY;

const DATA_LEN: usize = 32 + HEADER_LEN + PROOF_LEN;
/// `ProgramError::Custom(n)` is returned as `n` itself (below 2^32).
const ERROR_BAD_LENGTH: u64 = 1;

/// The loader's input with no accounts: `0u64 (accounts) || len u64 || data || program id`.
///
/// # Safety
///
/// `input` points to the serialized input the SBF loader passes to every program.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn entrypoint(input: *mut u8) -> u64 {
    // SAFETY: the loader's input starts with the account count and, with no accounts, the
    // instruction data length and the data right after it.
    let data = unsafe {
        let length = core::ptr::read_unaligned(input.add(8).cast::<u64>()) as usize;
        core::slice::from_raw_parts(input.add(16), length)
    };
    match process(data) {
        Ok(()) => 0,
        Err(code) => code,
    }
}

fn process(data: &[u8]) -> Result<(), u64> {
    let data: &[u8; DATA_LEN] = data.try_into().map_err(|_| ERROR_BAD_LENGTH)?;
    let (commitment, rest) = data.split_at(32);
    let (header, proof) = rest.split_at(HEADER_LEN);
    let commitment: &[u8; 32] = commitment.try_into().map_err(|_| ERROR_BAD_LENGTH)?;
    let header = BatchHeader::from_bytes(header.try_into().map_err(|_| ERROR_BAD_LENGTH)?);
    let proof = Proof::from_bytes(proof.try_into().map_err(|_| ERROR_BAD_LENGTH)?);
    verify_batch(&VERIFYING_KEY, &proof, commitment, &header).map_err(|error| match error {
        VerifyError::NonCanonicalCommitment => 2,
        VerifyError::ProofRejected => 4,
    })
}

/// The verification path allocates nothing (groth16-solana's is allocation-free on SBF, and so
/// is the core); a dependency still links `alloc`, so an allocator must exist: this one refuses
/// every allocation, which would abort the program rather than pass silently.
struct NoAllocator;

// SAFETY: returning null is how an allocator reports failure; `dealloc` never sees a pointer
// it did not hand out, since it hands out none.
unsafe impl core::alloc::GlobalAlloc for NoAllocator {
    unsafe fn alloc(&self, _: core::alloc::Layout) -> *mut u8 {
        core::ptr::null_mut()
    }

    unsafe fn dealloc(&self, _: *mut u8, _: core::alloc::Layout) {}
}

#[global_allocator]
static ALLOCATOR: NoAllocator = NoAllocator;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // SAFETY: the `abort` syscall takes no arguments and never returns.
    unsafe { abort() }
}

unsafe extern "C" {
    fn abort() -> !;
}
