//! Groth16 verification of a batch proof with groth16-solana (the `alt_bn128` syscalls on
//! chain, arkworks natively).
//!
//! A [`Proof`] is in groth16-solana's byte format: points uncompressed and big-endian, `a`
//! already negated (the prover negates it off chain, which saves the program the work),
//! G2 coordinates as `x.c1 | x.c0 | y.c1 | y.c0`. Uncompressed points cost 128 more bytes of
//! instruction data than compressed ones and save about 14k compute units of decompression.

use groth16_solana::groth16::{Groth16Verifier, Groth16Verifyingkey};

use crate::batch::BatchHeader;
use crate::inputs::{PUBLIC_INPUTS, public_inputs};

/// Bytes of an encoded [`Proof`].
pub const PROOF_LEN: usize = 256;

/// A Groth16 proof over BN254 in groth16-solana's format (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Proof {
    /// `-A`, a G1 point.
    pub a: [u8; 64],
    /// `B`, a G2 point.
    pub b: [u8; 128],
    /// `C`, a G1 point.
    pub c: [u8; 64],
}

impl Proof {
    /// `a || b || c`.
    pub fn to_bytes(&self) -> [u8; PROOF_LEN] {
        let mut out = [0u8; PROOF_LEN];
        out[..64].copy_from_slice(&self.a);
        out[64..192].copy_from_slice(&self.b);
        out[192..].copy_from_slice(&self.c);
        out
    }

    /// The inverse of [`Self::to_bytes`].
    pub fn from_bytes(bytes: &[u8; PROOF_LEN]) -> Self {
        let mut proof = Self {
            a: [0; 64],
            b: [0; 128],
            c: [0; 64],
        };
        proof.a.copy_from_slice(&bytes[..64]);
        proof.b.copy_from_slice(&bytes[64..192]);
        proof.c.copy_from_slice(&bytes[192..]);
        proof
    }
}

/// Why a batch proof was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyError {
    /// The program commitment has an element that is not a canonical BabyBear value.
    NonCanonicalCommitment,
    /// The verifying key does not have one input point per public input plus one.
    VerifyingKeyShape,
    /// The pairing check failed, or a proof point is not on its curve: the proof is not a
    /// proof of this batch by this program (a tampered proof, a tampered header, another
    /// program's proof: the verifier cannot tell these apart, by design).
    ProofRejected,
}

/// Checks `proof` against `vk` for the batch `header` run by the program `commitment`.
pub fn verify_batch(
    vk: &Groth16Verifyingkey,
    proof: &Proof,
    commitment: &[u8; 32],
    header: &BatchHeader,
) -> Result<(), VerifyError> {
    let inputs: [[u8; 32]; PUBLIC_INPUTS] =
        public_inputs(commitment, header).ok_or(VerifyError::NonCanonicalCommitment)?;
    verify_inputs(vk, proof, &inputs)
}

/// Checks `proof` against `vk` for the public inputs `inputs` (big-endian scalars).
pub fn verify_inputs(
    vk: &Groth16Verifyingkey,
    proof: &Proof,
    inputs: &[[u8; 32]; PUBLIC_INPUTS],
) -> Result<(), VerifyError> {
    let mut verifier = Groth16Verifier::new(&proof.a, &proof.b, &proof.c, inputs, vk)
        .map_err(|_| VerifyError::VerifyingKeyShape)?;
    verifier.verify().map_err(|_| VerifyError::ProofRejected)
}

/// SHA-256 of `vk`'s points in order (alpha, beta, gamma, delta, the input points): the id an
/// exchange records, so that a program upgrade that changes the key cannot take effect
/// silently.
pub fn verifying_key_id(vk: &Groth16Verifyingkey) -> [u8; 32] {
    use crate::sha256::hashv;
    let fixed: [&[u8]; 4] = [
        &vk.vk_alpha_g1,
        &vk.vk_beta_g2,
        &vk.vk_gamma_g2,
        &vk.vk_delta_g2,
    ];
    let mut digest = hashv(&fixed);
    // The input points are chained on one at a time (no allocation): id = H(H(fixed) || ic_0
    // || ...) would need a buffer, so the id is the chain H(...H(H(fixed) || ic_0)... || ic_n).
    for point in vk.vk_ic {
        digest = hashv(&[&digest, point]);
    }
    digest
}
