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

/// Points of a batch verifying key's input part: one per public input, plus the constant.
pub const INPUT_POINTS: usize = PUBLIC_INPUTS + 1;
/// Bytes of an encoded [`VerifyingKey`] (the key file `gnomon setup` writes).
pub const VERIFYING_KEY_LEN: usize = 64 + 3 * 128 + 4 + 64 * INPUT_POINTS;

/// The Groth16 verifying key of batch proofs, in groth16-solana's point format (see the
/// module documentation). Its shape is the batch statement's: exactly [`INPUT_POINTS`] input
/// points, so a key for another number of public inputs cannot be built.
///
/// The settlement program keeps one per exchange (recorded at initialization, replaced only
/// by a delayed program rotation), so every exchange runs its own setup's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifyingKey {
    pub alpha_g1: [u8; 64],
    pub beta_g2: [u8; 128],
    pub gamma_g2: [u8; 128],
    pub delta_g2: [u8; 128],
    pub ic: [[u8; 64]; INPUT_POINTS],
}

impl VerifyingKey {
    /// The points in order (alpha, beta, gamma, delta), then the input points after a 4-byte
    /// little-endian count (always [`INPUT_POINTS`]; kept so the file says its shape).
    pub fn to_bytes(&self) -> [u8; VERIFYING_KEY_LEN] {
        let mut out = [0u8; VERIFYING_KEY_LEN];
        let count = (INPUT_POINTS as u32).to_le_bytes();
        let parts: [&[u8]; 5] = [
            &self.alpha_g1,
            &self.beta_g2,
            &self.gamma_g2,
            &self.delta_g2,
            &count,
        ];
        let mut at = 0;
        for part in parts
            .into_iter()
            .chain(self.ic.iter().map(|point| &point[..]))
        {
            out[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        out
    }

    /// The inverse of [`Self::to_bytes`]; `None` for bytes of another length or another
    /// count of input points. The points themselves are checked when a proof is verified.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (alpha_g1, rest) = bytes.split_first_chunk::<64>()?;
        let (beta_g2, rest) = rest.split_first_chunk::<128>()?;
        let (gamma_g2, rest) = rest.split_first_chunk::<128>()?;
        let (delta_g2, rest) = rest.split_first_chunk::<128>()?;
        let (count, mut rest) = rest.split_first_chunk::<4>()?;
        if u32::from_le_bytes(*count) as usize != INPUT_POINTS || rest.len() != 64 * INPUT_POINTS {
            return None;
        }
        let mut ic = [[0u8; 64]; INPUT_POINTS];
        for point in &mut ic {
            let (bytes, tail) = rest.split_first_chunk::<64>()?;
            *point = *bytes;
            rest = tail;
        }
        Some(Self {
            alpha_g1: *alpha_g1,
            beta_g2: *beta_g2,
            gamma_g2: *gamma_g2,
            delta_g2: *delta_g2,
            ic,
        })
    }

    /// SHA-256 of the key's bytes ([`Self::to_bytes`]): how events, logs and operators name
    /// a key.
    pub fn id(&self) -> [u8; 32] {
        crate::sha256(&self.to_bytes())
    }

    /// Whether every point is on its curve, the G2 points in their prime-order subgroup, and
    /// none of alpha, beta, gamma and delta the identity: what a verifying key needs before it
    /// can be trusted with anything. A key with an invalid point refuses every proof; one with
    /// an identity among those four is degenerate (with gamma the identity, the pairing
    /// equation no longer involves the public inputs). The program records no such key.
    pub fn has_valid_points(&self) -> bool {
        let identity = |point: &[u8]| point.iter().all(|&byte| byte == 0);
        let degenerate = identity(&self.alpha_g1)
            || [&self.beta_g2, &self.gamma_g2, &self.delta_g2]
                .iter()
                .any(|point| identity(&point[..]));
        !degenerate
            && core::iter::once(&self.alpha_g1)
                .chain(&self.ic)
                .all(crate::bn254::is_g1)
            && crate::bn254::are_g2(&[&self.beta_g2, &self.gamma_g2, &self.delta_g2])
    }

    fn as_groth16_solana(&self) -> Groth16Verifyingkey<'_> {
        Groth16Verifyingkey {
            nr_pubinputs: PUBLIC_INPUTS,
            vk_alpha_g1: self.alpha_g1,
            vk_beta_g2: self.beta_g2,
            vk_gamma_g2: self.gamma_g2,
            vk_delta_g2: self.delta_g2,
            vk_ic: &self.ic,
            vk_commitment: None,
        }
    }
}

/// Why a batch proof was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyError {
    /// The program commitment has an element that is not a canonical BabyBear value.
    NonCanonicalCommitment,
    /// The pairing check failed, or a proof point is not on its curve: the proof is not a
    /// proof of this batch by this program (a tampered proof, a tampered header, another
    /// program's proof: the verifier cannot tell these apart, by design).
    ProofRejected,
}

/// Checks `proof` against `vk` for the batch `header` run by the program `commitment`.
pub fn verify_batch(
    vk: &VerifyingKey,
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
    vk: &VerifyingKey,
    proof: &Proof,
    inputs: &[[u8; 32]; PUBLIC_INPUTS],
) -> Result<(), VerifyError> {
    let vk = vk.as_groth16_solana();
    // `new` refuses only a key whose shape differs from the inputs', which the types rule out.
    let mut verifier = Groth16Verifier::new(&proof.a, &proof.b, &proof.c, inputs, &vk)
        .map_err(|_| VerifyError::ProofRejected)?;
    verifier.verify().map_err(|_| VerifyError::ProofRejected)
}
