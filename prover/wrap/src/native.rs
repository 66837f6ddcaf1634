//! Conversions between Plonky3's field types and arkworks' BN254 scalar field.

use ark_bn254::Fr;
use ark_ff::PrimeField as _;
use p3_baby_bear::BabyBear;
use p3_bn254::Bn254;
use p3_field::{PrimeField, PrimeField32};

use crate::babybear::fr_to_biguint;

/// A Plonky3 BN254 element as an arkworks one.
pub fn to_fr(value: Bn254) -> Fr {
    Fr::from_le_bytes_mod_order(&value.as_canonical_biguint().to_bytes_le())
}

/// An arkworks BN254 scalar as a Plonky3 one.
pub fn from_fr(value: Fr) -> Bn254 {
    let digits = fr_to_biguint(value).to_u64_digits();
    let mut limbs = [0u64; 4];
    limbs[..digits.len()].copy_from_slice(&digits);
    Bn254::new(limbs)
}

/// A BabyBear element as a BN254 scalar (its canonical integer).
pub fn babybear_to_fr(value: BabyBear) -> Fr {
    Fr::from(value.as_canonical_u32())
}
