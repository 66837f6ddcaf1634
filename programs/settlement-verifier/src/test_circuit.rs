//! A small arkworks Groth16 circuit with the settlement public-input layout, for tests only.
//!
//! Until the wrap's `gnomon setup` generates the production verifying key, the key compiled
//! into the program ([`crate::vk`]) is this circuit's, from a setup seeded with
//! [`SETUP_SEED`]: anyone who knows the seed can prove any statement, so this key must never
//! settle real collateral. Its proofs are real Groth16 proofs all the same (the pairing check
//! runs on them exactly as it will on the wrap's), which is what the tests need: every
//! acceptance in them comes from a proof verifying, never from a flag.
//!
//! The circuit has two public inputs, `commitment` and `digest`, and one witness `product`,
//! constrained by `commitment * digest = product`. Groth16 binds every public input through
//! the verifying key's input points, so a proof for one `(commitment, digest)` pair verifies
//! for no other.

extern crate std;

use std::format;
use std::string::String;
use std::vec::Vec;

use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, PrimeField};
use ark_groth16::{Groth16, ProvingKey, VerifyingKey};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystemRef, LinearCombination, SynthesisError,
};
use ark_snark::SNARK;
use ark_std::rand::SeedableRng;
use ark_std::rand::rngs::StdRng;

use crate::batch::BatchHeader;
use crate::inputs::public_inputs;
use crate::verify::Proof;
use groth16_solana::groth16::Groth16Verifyingkey;

/// The seed of the test setup (public: see the module documentation).
pub const SETUP_SEED: u64 = 0x676e_6f6d_6f6e_5f31; // "gnomon_1"

/// `commitment * digest = product` with public `commitment` and `digest`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TestCircuit {
    /// The two public inputs as scalars; `None` during setup.
    pub inputs: Option<[Fr; 2]>,
}

impl ConstraintSynthesizer<Fr> for TestCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let value = |index: usize| {
            self.inputs
                .map(|inputs| inputs[index])
                .ok_or(SynthesisError::AssignmentMissing)
        };
        let commitment = cs.new_input_variable(|| value(0))?;
        let digest = cs.new_input_variable(|| value(1))?;
        let product = cs.new_witness_variable(|| Ok(value(0)? * value(1)?))?;
        cs.enforce_r1cs_constraint(
            || LinearCombination::from(commitment),
            || LinearCombination::from(digest),
            || LinearCombination::from(product),
        )
    }
}

/// The deterministic test setup.
pub fn setup() -> (ProvingKey<Bn254>, VerifyingKey<Bn254>) {
    let mut rng = StdRng::seed_from_u64(SETUP_SEED);
    Groth16::<Bn254>::circuit_specific_setup(TestCircuit::default(), &mut rng)
        .expect("the test circuit synthesizes")
}

/// A proof of the batch `header` run by the program `commitment` (canonical), in the
/// verifier's format. `seed` draws the prover's randomness, so tests are reproducible.
pub fn prove(
    pk: &ProvingKey<Bn254>,
    commitment: &[u8; 32],
    header: &BatchHeader,
    seed: u64,
) -> Proof {
    let inputs = public_inputs(commitment, header).expect("a canonical program commitment");
    let scalars = inputs.map(|input| Fr::from_be_bytes_mod_order(&input));
    let mut rng = StdRng::seed_from_u64(seed);
    let proof = Groth16::<Bn254>::prove(
        pk,
        TestCircuit {
            inputs: Some(scalars),
        },
        &mut rng,
    )
    .expect("the test circuit is satisfied by any inputs");
    let negated_a: G1Affine = (-proof.a.into_group()).into();
    Proof {
        a: g1_bytes(&negated_a),
        b: g2_bytes(&proof.b),
        c: g1_bytes(&proof.c),
    }
}

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

    /// The Rust source of `vk.rs` for this key (what [`crate::vk`] holds).
    pub fn to_source(&self) -> String {
        let mut source = String::from(VK_SOURCE_HEADER);
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
}

const VK_SOURCE_HEADER: &str = "\
//! The Groth16 verifying key compiled into the settlement program, in groth16-solana's format.
//!
//! GENERATED by `test_circuit::VerifyingKeyBytes::to_source`; the test
//! `the_compiled_verifying_key_is_the_test_circuit_setup` checks it and rewrites it when run
//! with `GNOMON_BLESS=1`. It is the INSECURE test circuit's key (a seeded setup, see
//! `test_circuit`) until the Groth16 wrap's `gnomon setup` writes the production key here.

use groth16_solana::groth16::Groth16Verifyingkey;

/// The verifying key of batch proofs.
pub const VERIFYING_KEY: Groth16Verifyingkey<'static> = Groth16Verifyingkey {
";

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
