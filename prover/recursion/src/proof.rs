//! Proving and verifying runs of one recursion program, in the inner configuration (the
//! aggregation tree's proofs) or the outer one (the wrap-ready final proof).

use p3_air::BaseAir;
use p3_batch_stark::{
    BatchProof, CommonData, ProverData, StarkInstance, prove_batch, verify_batch,
};
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;
use serde::{Deserialize, Serialize};

use gnomon_machine::config::{Config, EF, F, Hashing, Inner, Outer, StarkParameters, stark_config};

use crate::program::{Memory, Program, RunError};
use crate::tables::RecursionAir;

/// A hashing recursion proofs are made in. The batch STARK over the recursion tables is
/// instantiated for each here, out of line, so that the crates and tests that prove do not
/// compile the prover again (as `gnomon_machine::config::Hashing::prove` does for the machine).
pub trait RecursionHashing: Hashing {
    #[doc(hidden)]
    fn commit_recursion_tables(
        config: &Config<Self>,
        airs: &[RecursionAir],
        degree_bits: &[usize],
    ) -> ProverData<Config<Self>>;

    #[doc(hidden)]
    fn prove_recursion(
        config: &Config<Self>,
        instances: &[StarkInstance<'_, Config<Self>, RecursionAir>],
        prover_data: &ProverData<Config<Self>>,
    ) -> Result<BatchProof<Config<Self>>, String>;

    #[doc(hidden)]
    fn verify_recursion(
        config: &Config<Self>,
        airs: &[RecursionAir],
        proof: &BatchProof<Config<Self>>,
        public_values: &[Vec<F>],
        common: &CommonData<Config<Self>>,
    ) -> Result<(), String>;
}

macro_rules! instantiate_recursion {
    ($hashing:ty) => {
        impl RecursionHashing for $hashing {
            #[inline(never)]
            fn commit_recursion_tables(
                config: &Config<Self>,
                airs: &[RecursionAir],
                degree_bits: &[usize],
            ) -> ProverData<Config<Self>> {
                ProverData::from_airs_and_degrees(config, airs, degree_bits)
                    .expect("committing to the preprocessed tables cannot fail")
            }

            #[inline(never)]
            fn prove_recursion(
                config: &Config<Self>,
                instances: &[StarkInstance<'_, Config<Self>, RecursionAir>],
                prover_data: &ProverData<Config<Self>>,
            ) -> Result<BatchProof<Config<Self>>, String> {
                prove_batch(config, instances, prover_data).map_err(|error| format!("{error:?}"))
            }

            #[inline(never)]
            fn verify_recursion(
                config: &Config<Self>,
                airs: &[RecursionAir],
                proof: &BatchProof<Config<Self>>,
                public_values: &[Vec<F>],
                common: &CommonData<Config<Self>>,
            ) -> Result<(), String> {
                verify_batch(config, airs, proof, public_values, common)
                    .map_err(|error| format!("{error:?}"))
            }
        }
    };
}

instantiate_recursion!(Inner);
instantiate_recursion!(Outer);

/// A program's tables and the commitment to their preprocessed columns, in the configuration
/// of `H`: what proving and verifying its runs needs.
pub struct RecursionKeys<H: RecursionHashing = Inner> {
    program: Program,
    parameters: StarkParameters,
    airs: Vec<RecursionAir>,
    config: Config<H>,
    prover_data: ProverData<Config<H>>,
    /// Every table's height, fixed by the program.
    degree_bits: Vec<usize>,
}

impl<H: RecursionHashing> std::fmt::Debug for RecursionKeys<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecursionKeys")
            .field("instructions", &self.program.instructions().len())
            .field("degree_bits", &self.degree_bits)
            .finish_non_exhaustive()
    }
}

/// Why a run could not be proven.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    #[error("the program does not run on this witness: {0}")]
    Run(#[from] RunError),
    #[error("the STARK prover failed: {0}")]
    Stark(String),
    #[error("these keys only verify: their proving data was not kept")]
    VerifyingOnly,
}

/// Why a proof was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("the proof does not decode: {0}")]
    Malformed(String),
    #[error("the proof has tables of 2^{found:?} rows; the program's are 2^{expected:?}")]
    WrongShape {
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("the proof has {found} public values; the program has {expected}")]
    WrongPublicValueCount { expected: usize, found: usize },
    #[error("the STARK does not verify: {0}")]
    Stark(String),
}

/// A proof of one run, with its public values.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct RecursionProof<H: Hashing = Inner> {
    pub public_values: Vec<F>,
    pub proof: BatchProof<Config<H>>,
}

impl<H: Hashing> std::fmt::Debug for RecursionProof<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecursionProof")
            .field("public_values", &self.public_values)
            .field("degree_bits", &self.proof.degree_bits)
            .finish_non_exhaustive()
    }
}

impl<H: Hashing> RecursionProof<H> {
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("a proof serializes into a Vec")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, VerifyError> {
        postcard::from_bytes(bytes).map_err(|error| VerifyError::Malformed(error.to_string()))
    }
}

/// Every table's degree bits, from its preprocessed trace.
fn heights(airs: &[RecursionAir]) -> Vec<usize> {
    airs.iter()
        .map(|air| {
            let height = air
                .preprocessed_trace()
                .expect("every recursion table is preprocessed")
                .height();
            height.trailing_zeros() as usize
        })
        .collect()
}

/// The degree bits of `program`'s tables, unpadded: what [`RecursionKeys::new`] gives them.
pub fn degree_bits_of(program: &Program) -> Vec<usize> {
    heights(&RecursionAir::all(program))
}

impl<H: RecursionHashing> RecursionKeys<H> {
    /// The tables of `program` and their preprocessed commitment, for `parameters`.
    pub fn new(program: Program, parameters: StarkParameters) -> Self {
        Self::padded(program, parameters, &[])
    }

    /// As [`RecursionKeys::new`], with table `i` padded to at least `2^min_degree_bits[i]`
    /// rows (tables past the list's end are not padded): programs whose proofs must share a
    /// shape (aggregation's) are padded to a common one.
    pub fn padded(
        program: Program,
        parameters: StarkParameters,
        min_degree_bits: &[usize],
    ) -> Self {
        let mut airs = RecursionAir::all(&program);
        for (air, &bits) in airs.iter_mut().zip(min_degree_bits) {
            air.pad_to(bits);
        }
        let config = stark_config::<H>(parameters);
        let degree_bits = heights(&airs);
        let prover_data = H::commit_recursion_tables(&config, &airs, &degree_bits);
        Self {
            program,
            parameters,
            airs,
            config,
            prover_data,
            degree_bits,
        }
    }

    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Frees the proving data (the preprocessed tables' low-degree extension and its Merkle
    /// tree, most of the keys' memory): the keys still verify and still name their program,
    /// but no longer prove. A prover worker keeps the proving data of its own jobs only.
    pub fn forget_proving_data(&mut self) {
        self.prover_data.prover_only.preprocessed_prover_data = None;
    }

    pub fn parameters(&self) -> StarkParameters {
        self.parameters
    }

    pub fn airs(&self) -> &[RecursionAir] {
        &self.airs
    }

    /// Every table's height: `2^degree_bits[i]` rows.
    pub fn degree_bits(&self) -> &[usize] {
        &self.degree_bits
    }

    /// The preprocessed commitment (the program) and the buses: what a verifier needs beside
    /// the proof.
    pub fn common(&self) -> &CommonData<Config<H>> {
        &self.prover_data.common
    }

    /// Every table's trace for a run that left `memory`, and the run's public values.
    pub fn traces(&self, memory: &Memory) -> (Vec<F>, Vec<RowMajorMatrix<F>>) {
        let traces = self
            .airs
            .iter()
            .map(|air| air.generate(&self.program, memory))
            .collect();
        let public_values = self
            .airs
            .iter()
            .flat_map(|air| air.public_values(&self.program, memory))
            .collect();
        (public_values, traces)
    }

    /// Runs the program on `witness` and proves the run.
    pub fn prove(&self, witness: &[EF]) -> Result<RecursionProof<H>, ProveError> {
        let memory = self.program.run(witness)?;
        let (public_values, traces) = self.traces(&memory);
        self.prove_traces(&public_values, &traces)
    }

    /// Proves already generated traces (the tests' malicious provers tamper with them first).
    pub fn prove_traces(
        &self,
        public_values: &[F],
        traces: &[RowMajorMatrix<F>],
    ) -> Result<RecursionProof<H>, ProveError> {
        if self
            .prover_data
            .prover_only
            .preprocessed_prover_data
            .is_none()
        {
            return Err(ProveError::VerifyingOnly);
        }
        let per_instance = self.instance_public_values(public_values);
        let instances: Vec<StarkInstance<'_, Config<H>, RecursionAir>> = self
            .airs
            .iter()
            .zip(traces)
            .zip(per_instance)
            .map(|((air, trace), public_values)| StarkInstance {
                air,
                trace,
                public_values,
            })
            .collect();
        let proof = H::prove_recursion(&self.config, &instances, &self.prover_data)
            .map_err(ProveError::Stark)?;
        Ok(RecursionProof {
            public_values: public_values.to_vec(),
            proof,
        })
    }

    /// Verifies a proof of a run of this program; on success its public values are the values
    /// of the program's public cells.
    pub fn verify(&self, proof: &RecursionProof<H>) -> Result<(), VerifyError> {
        let expected = self.program.public().len();
        if proof.public_values.len() != expected {
            return Err(VerifyError::WrongPublicValueCount {
                expected,
                found: proof.public_values.len(),
            });
        }
        if proof.proof.degree_bits != self.degree_bits {
            return Err(VerifyError::WrongShape {
                expected: self.degree_bits.clone(),
                found: proof.proof.degree_bits.clone(),
            });
        }
        let per_instance = self.instance_public_values(&proof.public_values);
        H::verify_recursion(
            &self.config,
            &self.airs,
            &proof.proof,
            &per_instance,
            self.common(),
        )
        .map_err(VerifyError::Stark)
    }

    /// The public values each table is proven with: the public table's are the proof's.
    pub fn instance_public_values(&self, public_values: &[F]) -> Vec<Vec<F>> {
        self.airs
            .iter()
            .map(|air| match air {
                RecursionAir::Public(_) => public_values.to_vec(),
                _ => Vec::new(),
            })
            .collect()
    }
}
