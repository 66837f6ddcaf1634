//! Test helpers: deterministic randomness (splitmix64, independent of `rand`'s versions), the
//! committed guests and their runs, and the settlement program's public inputs.

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

/// `fibonacci(20)` traced in segments of `2^log2` cycles: the program, what it committed, and
/// the segments.
pub(crate) fn fibonacci_20(
    log2: u32,
) -> (
    gnomon_executor::Program,
    Vec<u8>,
    Vec<gnomon_executor::Segment>,
) {
    let program = guest("fibonacci");
    let mut input = gnomon_executor::Input::new();
    input.write(&20u32);
    let options = gnomon_executor::Options {
        segment_size: gnomon_executor::SegmentSize::new(log2).expect("a segment size"),
        ..gnomon_executor::Options::default()
    };
    let (execution, segments) = gnomon_executor::trace(&program, &input, &options);
    (program, execution.journal, segments)
}

/// The public inputs the settlement program computes for a run of `program` that committed
/// `journal`: the packed commitment, and the SHA-256 of the journal with its first byte
/// cleared.
pub(crate) fn settlement_inputs(
    program: gnomon_executor::ProgramCommitment,
    journal: &[u8],
) -> [ark_bn254::Fr; 2] {
    use ark_ff::PrimeField;
    use gnomon_settlement_verifier::inputs::{commitment_input, digest_input};
    use sha2::Digest;
    let output: [u8; 32] = sha2::Sha256::digest(journal).into();
    [
        commitment_input(&program.to_bytes()).expect("canonical elements"),
        digest_input(&output),
    ]
    .map(|input| ark_bn254::Fr::from_be_bytes_mod_order(&input))
}
