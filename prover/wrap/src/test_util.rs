//! Deterministic randomness for tests (splitmix64), independent of `rand`'s versions.

use p3_baby_bear::BabyBear;
use p3_bn254::Bn254;
use p3_field::{BasedVectorSpace, PrimeCharacteristicRing};

use crate::babybear::P;
use crate::extension::Ext;

pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x1234_5678)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    pub(crate) fn babybear(&mut self) -> BabyBear {
        BabyBear::from_u32(self.below(u64::from(P)) as u32)
    }

    pub(crate) fn ext(&mut self) -> Ext {
        Ext::from_basis_coefficients_fn(|_| self.babybear())
    }

    /// A uniform-looking BN254 element (top limb masked below the modulus's top bits).
    pub(crate) fn bn254(&mut self) -> Bn254 {
        Bn254::new([self.next(), self.next(), self.next(), self.next() >> 3])
    }
}

/// The committed ELF of the guest program `name`.
pub(crate) fn guest(name: &str) -> gnomon_executor::Program {
    let path = format!("{}/../../guest/elf/{name}.elf", env!("CARGO_MANIFEST_DIR"));
    gnomon_executor::Program::from_elf(&std::fs::read(path).expect("the guest is built"))
        .expect("a committed guest loads")
}
