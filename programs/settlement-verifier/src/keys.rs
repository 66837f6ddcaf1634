//! Groth16 keys and proofs between arkworks and groth16-solana's byte format (host only).
//!
//! groth16-solana takes points uncompressed and big-endian, coordinate by coordinate (arkworks'
//! own uncompressed serialization carries flag bits it does not expect), G2 coordinates as
//! `x.c1 | x.c0 | y.c1 | y.c0`, and a proof's `A` negated (off chain, which saves the program
//! the work). The wrap's `gnomon setup` writes keys with this module and the test circuit
//! uses it too, so there is one encoding.

extern crate std;

use std::format;
use std::string::String;
use std::vec::Vec;

use ark_bn254::{Bn254, Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, PrimeField};
use ark_groth16::VerifyingKey;
use groth16_solana::groth16::Groth16Verifyingkey;

use crate::verify::Proof;

/// A verifying key in groth16-solana's byte format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyingKeyBytes {
    pub alpha_g1: [u8; 64],
    pub beta_g2: [u8; 128],
    pub gamma_g2: [u8; 128],
    pub delta_g2: [u8; 128],
    pub ic: Vec<[u8; 64]>,
}

impl VerifyingKeyBytes {
    /// The key's bytes.
    pub fn from_arkworks(vk: &VerifyingKey<Bn254>) -> Self {
        Self {
            alpha_g1: g1_bytes(&vk.alpha_g1),
            beta_g2: g2_bytes(&vk.beta_g2),
            gamma_g2: g2_bytes(&vk.gamma_g2),
            delta_g2: g2_bytes(&vk.delta_g2),
            ic: vk.gamma_abc_g1.iter().map(g1_bytes).collect(),
        }
    }

    /// The Rust source of a `vk.rs` for this key (what [`crate::vk`] holds), after `header`
    /// (its documentation and imports).
    pub fn to_source(&self, header: &str) -> String {
        let mut source = String::from(header);
        source += &format!("    nr_pubinputs: {},\n", self.ic.len() - 1);
        source += &format!("    vk_alpha_g1: {},\n", byte_array(&self.alpha_g1, 1));
        source += &format!("    vk_beta_g2: {},\n", byte_array(&self.beta_g2, 1));
        source += &format!("    vk_gamma_g2: {},\n", byte_array(&self.gamma_g2, 1));
        source += &format!("    vk_delta_g2: {},\n", byte_array(&self.delta_g2, 1));
        source += "    vk_ic: &[\n";
        for point in &self.ic {
            source += &format!("        {},\n", byte_array(point, 2));
        }
        source += "    ],\n    vk_commitment: None,\n};\n\n";
        source += "/// SHA-256 of the key's points (`verify::verifying_key_id`): the id an exchange records.\n";
        source += &format!(
            "pub const VERIFYING_KEY_ID: [u8; 32] = {};\n",
            byte_array(&self.id(), 0)
        );
        source
    }

    /// The key as groth16-solana takes it.
    pub fn as_groth16_solana(&self) -> Groth16Verifyingkey<'_> {
        Groth16Verifyingkey {
            nr_pubinputs: self.ic.len() - 1,
            vk_alpha_g1: self.alpha_g1,
            vk_beta_g2: self.beta_g2,
            vk_gamma_g2: self.gamma_g2,
            vk_delta_g2: self.delta_g2,
            vk_ic: &self.ic,
            vk_commitment: None,
        }
    }

    /// The key's id ([`crate::verify::verifying_key_id`]).
    pub fn id(&self) -> [u8; 32] {
        crate::verify::verifying_key_id(&self.as_groth16_solana())
    }

    /// The key as a file: the points in order, each input point after a 4-byte little-endian
    /// count.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + 3 * 128 + 4 + 64 * self.ic.len());
        out.extend_from_slice(&self.alpha_g1);
        out.extend_from_slice(&self.beta_g2);
        out.extend_from_slice(&self.gamma_g2);
        out.extend_from_slice(&self.delta_g2);
        out.extend_from_slice(&(self.ic.len() as u32).to_le_bytes());
        for point in &self.ic {
            out.extend_from_slice(point);
        }
        out
    }

    /// The inverse of [`Self::to_bytes`]; `None` for bytes of another length than their count
    /// says, or a key without input points. The points are checked when a proof is verified.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (alpha_g1, rest) = bytes.split_first_chunk::<64>()?;
        let (beta_g2, rest) = rest.split_first_chunk::<128>()?;
        let (gamma_g2, rest) = rest.split_first_chunk::<128>()?;
        let (delta_g2, rest) = rest.split_first_chunk::<128>()?;
        let (count, rest) = rest.split_first_chunk::<4>()?;
        let count = u32::from_le_bytes(*count) as usize;
        if count == 0 || rest.len() != count.checked_mul(64)? {
            return None;
        }
        let ic = rest
            .chunks_exact(64)
            .map(|point| point.try_into().expect("64 bytes"))
            .collect();
        Some(Self {
            alpha_g1: *alpha_g1,
            beta_g2: *beta_g2,
            gamma_g2: *gamma_g2,
            delta_g2: *delta_g2,
            ic,
        })
    }
}

/// An arkworks proof in the verifier's format: `A` negated.
pub fn proof_bytes(proof: &ark_groth16::Proof<Bn254>) -> Proof {
    let negated_a: G1Affine = (-proof.a.into_group()).into();
    Proof {
        a: g1_bytes(&negated_a),
        b: g2_bytes(&proof.b),
        c: g1_bytes(&proof.c),
    }
}

fn byte_array(bytes: &[u8], indent: usize) -> String {
    let pad = "    ".repeat(indent + 1);
    let mut out = String::from("[\n");
    for row in bytes.chunks(16) {
        out += &pad;
        let cells: Vec<String> = row.iter().map(|byte| format!("{byte}")).collect();
        out += &cells.join(", ");
        out += ",\n";
    }
    out += &"    ".repeat(indent);
    out += "]";
    out
}

fn fq_bytes(value: &Fq) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&value.into_bigint().to_bytes_be());
    out
}

fn fq2_bytes(value: &Fq2) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&fq_bytes(&value.c1));
    out[32..].copy_from_slice(&fq_bytes(&value.c0));
    out
}

/// `x || y`, big-endian field elements (coordinates one by one: arkworks' own uncompressed
/// serialization carries flag bits that groth16-solana does not expect).
pub fn g1_bytes(point: &G1Affine) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&fq_bytes(&point.x));
    out[32..].copy_from_slice(&fq_bytes(&point.y));
    out
}

/// `x.c1 || x.c0 || y.c1 || y.c0`, big-endian.
pub fn g2_bytes(point: &G2Affine) -> [u8; 128] {
    let mut out = [0u8; 128];
    out[..64].copy_from_slice(&fq2_bytes(&point.x));
    out[64..].copy_from_slice(&fq2_bytes(&point.y));
    out
}
