//! The segment prover's transcript as recursion-program code: p3-challenger 0.9.0-rc.2's
//! `DuplexChallenger<BabyBear, Poseidon2, 16, 8>`, step for step.
//!
//! - Observing buffers a value and forgets buffered outputs; eight buffered values are absorbed
//!   at once.
//! - Absorbing overwrites the first rate cells with the buffered values, zeroes the rest of the
//!   rate, adds their count to the first capacity cell, and permutes. The outputs are the new
//!   rate cells.
//! - Sampling absorbs first if anything is buffered (or no output is left), then takes the last
//!   output. An extension element is four samples, its coordinates in order.
//! - `sample_bits(n)` keeps the low `n` bits of a sample's canonical value; a proof-of-work
//!   witness is observed, and the next `sample_bits(bits)` must be zero (at zero difficulty
//!   the witness must be zero, and is not observed).
//!
//! The program computes exactly what the native challenger does, so a transcript the program
//! replays draws the native verifier's challenges.

use gnomon_machine::config::F;
use p3_field::PrimeCharacteristicRing;

use crate::program::{Builder, Ext, Felt, POSEIDON2_WIDTH};

const RATE: usize = 8;

#[derive(Clone, Debug)]
pub struct Challenger {
    state: [Felt; POSEIDON2_WIDTH],
    input: Vec<Felt>,
    output: Vec<Felt>,
}

impl Challenger {
    /// The transcript at its start: a zero state, nothing buffered.
    pub fn new(builder: &mut Builder) -> Self {
        let zero = builder.constant_felt(F::ZERO);
        Self {
            state: [zero; POSEIDON2_WIDTH],
            input: Vec::new(),
            output: Vec::new(),
        }
    }

    fn duplex(&mut self, builder: &mut Builder) {
        let absorbed = self.input.len();
        if absorbed > 0 {
            let zero = builder.constant_felt(F::ZERO);
            for (index, cell) in self.state[..RATE].iter_mut().enumerate() {
                *cell = self.input.get(index).copied().unwrap_or(zero);
            }
            let length = builder.constant_felt(F::from_usize(absorbed));
            self.state[RATE] = builder.add(self.state[RATE], length);
            self.input.clear();
        }
        self.state = builder.poseidon2(self.state);
        self.output = self.state[..RATE].to_vec();
    }

    pub fn observe(&mut self, builder: &mut Builder, value: Felt) {
        self.output.clear();
        self.input.push(value);
        if self.input.len() == RATE {
            self.duplex(builder);
        }
    }

    pub fn observe_all(&mut self, builder: &mut Builder, values: &[Felt]) {
        for &value in values {
            self.observe(builder, value);
        }
    }

    /// Observes an extension element's coordinates.
    pub fn observe_ext(&mut self, builder: &mut Builder, value: Ext) {
        let coordinates = builder.coordinates(value);
        self.observe_all(builder, &coordinates);
    }

    pub fn sample(&mut self, builder: &mut Builder) -> Felt {
        if !self.input.is_empty() || self.output.is_empty() {
            self.duplex(builder);
        }
        self.output.pop().expect("a duplexing leaves eight outputs")
    }

    pub fn sample_ext(&mut self, builder: &mut Builder) -> Ext {
        let coordinates = std::array::from_fn(|_| self.sample(builder));
        builder.ext_from_coordinates(coordinates)
    }

    /// The low `bits` bits of a sample, least significant first.
    pub fn sample_bits(&mut self, builder: &mut Builder, bits: usize) -> Vec<Felt> {
        let sample = self.sample(builder);
        builder.bits(sample, bits)
    }

    /// Asserts that `witness` is a proof of work of `bits` bits at this point of the
    /// transcript. At zero difficulty the witness must be zero and nothing is observed (p3's
    /// canonical witnesses).
    pub fn check_witness(&mut self, builder: &mut Builder, bits: usize, witness: Felt) {
        if bits == 0 {
            builder.assert_zero(witness);
            return;
        }
        self.observe(builder, witness);
        for bit in self.sample_bits(builder, bits) {
            builder.assert_zero(bit);
        }
    }
}
