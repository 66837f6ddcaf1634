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

use crate::verify::{Proof, VerifyingKey};

/// An arkworks verifying key in the verifier's format; `None` unless it has exactly the
/// batch statement's [`PUBLIC_INPUTS`](crate::inputs::PUBLIC_INPUTS) public inputs.
pub fn verifying_key(vk: &ark_groth16::VerifyingKey<Bn254>) -> Option<VerifyingKey> {
    let ic: Vec<[u8; 64]> = vk.gamma_abc_g1.iter().map(g1_bytes).collect();
    Some(VerifyingKey {
        alpha_g1: g1_bytes(&vk.alpha_g1),
        beta_g2: g2_bytes(&vk.beta_g2),
        gamma_g2: g2_bytes(&vk.gamma_g2),
        delta_g2: g2_bytes(&vk.delta_g2),
        ic: ic.try_into().ok()?,
    })
}

/// The Rust source of a constant holding `vk` (as [`crate::vk`] does), after `header` (its
/// documentation, imports and the constant's declaration up to `= VerifyingKey {`).
pub fn verifying_key_source(vk: &VerifyingKey, header: &str) -> String {
    let mut source = String::from(header);
    source += &format!("    alpha_g1: {},\n", byte_array(&vk.alpha_g1, 1));
    source += &format!("    beta_g2: {},\n", byte_array(&vk.beta_g2, 1));
    source += &format!("    gamma_g2: {},\n", byte_array(&vk.gamma_g2, 1));
    source += &format!("    delta_g2: {},\n", byte_array(&vk.delta_g2, 1));
    source += "    ic: [\n";
    for point in &vk.ic {
        source += &format!("        {},\n", byte_array(point, 2));
    }
    source += "    ],\n};\n";
    source
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
