//! Test support: a deterministic stream of numbers and field elements.
#![allow(dead_code)]

use gnomon_machine::config::{EF, F};
use p3_field::{BasedVectorSpace, PrimeCharacteristicRing, PrimeField32};

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    /// A number below `bound`.
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    pub fn felt(&mut self) -> F {
        F::from_u32((self.next() % u64::from(F::ORDER_U32)) as u32)
    }

    pub fn ext(&mut self) -> EF {
        EF::from_basis_coefficients_fn(|_| self.felt())
    }
}
