//! Proving and verifying one segment.

use std::sync::Arc;

use gnomon_executor::{Program, ProgramCommitment, Segment, SegmentSize};
use p3_batch_stark::{
    BatchProof, CommonData, ProverData, StarkInstance, prove_batch, verify_batch,
};
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;
use serde::{Deserialize, Serialize};

use crate::chips::lookup::LookupCounts;
use crate::chips::{MIN_HEIGHT, MachineAir, SegmentBudget, all_airs};
use crate::config::{Config, F, Hashing, Inner, StarkParameters, stark_config};
use crate::public_values::PublicValues;
use crate::record::ExecutionRecord;
use crate::rom::Rom;

/// The most cycles a provable segment holds: timestamps `4 * clk + 4` stay below 2^24, the bound
/// the memory argument's gap checks are built for.
pub const MAX_SEGMENT_LOG2: u32 = 22;

/// A bound on the clock cycles all rows of a proof can account for together, well below
/// `p / 4`: the verifier rejects proofs whose tables could add up to more, so no chain of
/// `(pc, clk)` states can wrap around the field.
const MAX_TOTAL_CYCLES: u64 = 1 << 28;

/// Everything needed to prove and verify segments of one program: its tables, including the
/// preprocessed program table, and the commitments to the preprocessed columns, in the
/// configuration of `H` (segment proofs use [`Inner`]).
pub struct MachineKeys<H: Hashing = Inner> {
    program: ProgramCommitment,
    entry: u32,
    initial_memory_root: gnomon_executor::Digest,
    text_end: u32,
    rom: Arc<Rom>,
    airs: Vec<MachineAir>,
    parameters: StarkParameters,
    config: Config<H>,
    prover_data: ProverData<Config<H>>,
}

impl<H: Hashing> std::fmt::Debug for MachineKeys<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MachineKeys")
            .field("program", &self.program)
            .field(
                "tables",
                &self.airs.iter().map(MachineAir::name).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Why a segment could not be proven.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    #[error(
        "segment {index} has {cycles} cycles; a provable segment has at most 2^{MAX_SEGMENT_LOG2}"
    )]
    SegmentTooLong { index: u32, cycles: u32 },
    #[error("the STARK prover failed: {0}")]
    Stark(String),
    #[error("a shape of {found} tables for a machine of {expected}")]
    ShapeLength { expected: usize, found: usize },
    #[error("the {table} table has {height} rows, which a shape of {requested} cannot hold")]
    DoesNotFit {
        table: &'static str,
        height: usize,
        requested: usize,
    },
    #[error(
        "no shape of the catalog holds this segment's tables (degree bits {degree_bits:?}): \
         extend the catalog with this run (`gnomon catalog`), which changes its keys"
    )]
    OutsideCatalog { degree_bits: Vec<usize> },
    #[error(
        "the catalog does not hold every segment of 2^{segment_log2} cycles: none of its shapes \
         holds the bounding shape {bound:?} (`gnomon catalog` adds it)"
    )]
    IncompleteCatalog {
        segment_log2: u32,
        bound: Vec<usize>,
    },
}

/// Why a catalog file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("reading the catalog {}: {error}", path.display())]
    Read {
        path: std::path::PathBuf,
        error: std::io::Error,
    },
    #[error("writing the catalog {}: {error}", path.display())]
    Write {
        path: std::path::PathBuf,
        error: std::io::Error,
    },
    #[error(
        "{} is not a catalog (JSON: a list of shapes, each the degree bits of every table)",
        .0.display()
    )]
    Malformed(std::path::PathBuf),
    #[error("the catalog {} has no shapes", .0.display())]
    Empty(std::path::PathBuf),
}

/// The shapes of the catalog file at `path` (written by `gnomon catalog`).
pub fn read_catalog(path: &std::path::Path) -> Result<Vec<Vec<usize>>, CatalogError> {
    let bytes = std::fs::read(path).map_err(|error| CatalogError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    let catalog: Vec<Vec<usize>> =
        serde_json::from_slice(&bytes).map_err(|_| CatalogError::Malformed(path.to_path_buf()))?;
    if catalog.is_empty() {
        return Err(CatalogError::Empty(path.to_path_buf()));
    }
    Ok(catalog)
}

/// Writes `catalog` to the file at `path`, as [`read_catalog`] reads it.
pub fn write_catalog(path: &std::path::Path, catalog: &[Vec<usize>]) -> Result<(), CatalogError> {
    let json = serde_json::to_vec(catalog).expect("shapes serialize");
    std::fs::write(path, json).map_err(|error| CatalogError::Write {
        path: path.to_path_buf(),
        error,
    })
}

/// The degree bits of `traces`: a proof's shape.
pub fn degree_bits_of(traces: &[RowMajorMatrix<F>]) -> Vec<usize> {
    traces
        .iter()
        .map(|trace| trace.height().trailing_zeros() as usize)
        .collect()
}

/// Why a segment proof was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("the proof does not decode: {0}")]
    Malformed(String),
    #[error("the proof has {found} tables; this machine has {expected}")]
    WrongShape { expected: usize, found: usize },
    #[error("the public values are malformed (a limb above 2^16 or a flag other than 0 or 1)")]
    BadPublicValues,
    #[error("the proof is for program {found}, not {expected}")]
    WrongProgram {
        expected: ProgramCommitment,
        found: ProgramCommitment,
    },
    #[error("the proof claims a text end of page {found}, the program's is {expected}")]
    WrongTextEnd { expected: u32, found: u32 },
    #[error("register x0 is not zero at the start of the segment")]
    NonZeroX0,
    #[error("the memory root changed in a segment that touched no memory")]
    UntouchedMemoryChanged,
    #[error("the proof claims {cycles} cycles, more than a segment holds")]
    TooManyCycles { cycles: u32 },
    #[error("the tables are too tall for their clocks to be sound ({total} cycles' worth)")]
    TablesTooTall { total: u64 },
    #[error("the STARK does not verify: {0}")]
    Stark(String),
}

/// A proof of one segment, with the public values it proves.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct SegmentProof<H: Hashing = Inner> {
    pub public_values: Vec<F>,
    pub proof: BatchProof<Config<H>>,
}

impl<H: Hashing> std::fmt::Debug for SegmentProof<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentProof")
            .field("public_values", &self.public_values)
            .field("degree_bits", &self.proof.degree_bits)
            .finish_non_exhaustive()
    }
}

impl<H: Hashing> SegmentProof<H> {
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("a proof serializes into a Vec")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, VerifyError> {
        postcard::from_bytes(bytes).map_err(|error| VerifyError::Malformed(error.to_string()))
    }
}

impl<H: Hashing> MachineKeys<H> {
    /// The tables of `program` and their preprocessed commitments, for `parameters`.
    pub fn new(program: &Program, parameters: StarkParameters) -> Self {
        let rom = Arc::new(Rom::new(program));
        let airs = all_airs(rom.clone());
        let config = stark_config::<H>(parameters);
        // The preprocessed tables have fixed heights; the others' heights do not change the
        // common data, so any valid height stands in for them here.
        let degree_bits: Vec<usize> = airs
            .iter()
            .map(|air| {
                let height = p3_air::BaseAir::<F>::preprocessed_trace(air)
                    .map_or(crate::chips::MIN_HEIGHT, |trace| trace.height());
                height.trailing_zeros() as usize
            })
            .collect();
        let prover_data = H::commit_preprocessed(&config, &airs, &degree_bits);
        Self {
            program: program.commitment(),
            entry: program.entry(),
            initial_memory_root: program.memory_tree().root(),
            text_end: program.text().end,
            rom,
            airs,
            parameters,
            config,
            prover_data,
        }
    }

    /// The program commitment proofs made with these keys are for.
    pub fn program(&self) -> ProgramCommitment {
        self.program
    }

    /// Where runs of the program start.
    pub fn entry(&self) -> u32 {
        self.entry
    }

    /// The memory root runs of the program start from.
    pub fn initial_memory_root(&self) -> gnomon_executor::Digest {
        self.initial_memory_root
    }

    /// The parameters proofs made with these keys use.
    pub fn parameters(&self) -> StarkParameters {
        self.parameters
    }

    /// Where the program's text ends, in pages: data pages start there.
    pub fn text_end_page(&self) -> u32 {
        self.text_end / gnomon_guest_abi::memory::PAGE_SIZE
    }

    /// Auxiliary (LogUp) columns of table `index`, each an extension-field element: the
    /// fraction columns after same-bus packing, plus the running sum.
    pub fn lookup_columns(&self, index: usize) -> usize {
        let lookups = &self.common().lookups[index];
        if lookups.is_empty() {
            0
        } else {
            lookups.len() + 1
        }
    }

    pub fn airs(&self) -> &[MachineAir] {
        &self.airs
    }

    /// The batch STARK's common data (the preprocessed tables' commitment, the lookups): what
    /// a verifier needs beside the proof, natively or in the wrap circuit.
    pub fn common(&self) -> &CommonData<Config<H>> {
        &self.prover_data.common
    }

    /// The record of `segment`, and every table's trace for it.
    pub fn traces(&self, segment: &Segment) -> (ExecutionRecord, Vec<RowMajorMatrix<F>>) {
        let record = ExecutionRecord::new(&self.rom, &self.program, self.text_end, segment);
        let mut lookups = LookupCounts::default();
        // In table order, which puts the lookup table last, after every request is counted.
        let traces = self
            .airs
            .iter()
            .map(|air| air.generator().generate_trace(&record, &mut lookups))
            .collect();
        (record, traces)
    }

    /// The public values table `index` is proven with.
    pub fn instance_public_values_of(&self, index: usize, public_values: &[F]) -> Vec<F> {
        self.instance_public_values(public_values)
            .swap_remove(index)
    }

    /// The public values each table is proven with: the boundary's are the segment's.
    pub fn instance_public_values(&self, public_values: &[F]) -> Vec<Vec<F>> {
        self.airs
            .iter()
            .map(|air| match air {
                MachineAir::Boundary(_) | MachineAir::Page(_) => public_values.to_vec(),
                _ => Vec::new(),
            })
            .collect()
    }

    /// Proves `segment` of this program.
    pub fn prove_segment(&self, segment: &Segment) -> Result<SegmentProof<H>, ProveError> {
        let (record, traces) = self.provable_traces(segment)?;
        self.prove_traces(&record.public_values.to_field_elements(), &traces)
    }

    /// [`Self::traces`] of a segment short enough to prove.
    fn provable_traces(
        &self,
        segment: &Segment,
    ) -> Result<(ExecutionRecord, Vec<RowMajorMatrix<F>>), ProveError> {
        if segment.cycles > 1 << MAX_SEGMENT_LOG2 {
            return Err(ProveError::SegmentTooLong {
                index: segment.index,
                cycles: segment.cycles,
            });
        }
        Ok(self.traces(segment))
    }

    /// The shape (degree bits) of `segment`'s tables, unpadded.
    pub fn shape_of(&self, segment: &Segment) -> Vec<usize> {
        degree_bits_of(&self.traces(segment).1)
    }

    /// The shape that holds every one of `segments`: each table at its tallest among them;
    /// `None` for no segments.
    pub fn ceiling(&self, segments: &[Segment]) -> Option<Vec<usize>> {
        segments
            .iter()
            .map(|segment| self.shape_of(segment))
            .reduce(|a, b| a.iter().zip(&b).map(|(&a, &b)| a.max(b)).collect())
    }

    /// The shape (degree bits) that holds every segment the executor cuts at `size`: each
    /// table as tall as the most rows a segment within that size's budgets can give it
    /// (the preprocessed tables at the program's heights). A catalog that holds it proves
    /// every run at that segment size, whatever the program does.
    pub fn bounding_shape(&self, size: SegmentSize) -> Vec<usize> {
        let budget = SegmentBudget::of(size);
        self.airs
            .iter()
            .map(|air| {
                let rows = air.generator().max_rows(budget).max(MIN_HEIGHT as u64);
                rows.next_power_of_two().trailing_zeros() as usize
            })
            .collect()
    }

    /// `traces` (this machine's, in table order) padded to the shape `degree_bits`: each
    /// table's own padding rows up to its height there, which must be at least the trace's,
    /// and exactly it for the preprocessed tables, whose heights are the program's.
    pub fn pad_traces(
        &self,
        traces: Vec<RowMajorMatrix<F>>,
        degree_bits: &[usize],
    ) -> Result<Vec<RowMajorMatrix<F>>, ProveError> {
        if degree_bits.len() != self.airs.len() {
            return Err(ProveError::ShapeLength {
                expected: self.airs.len(),
                found: degree_bits.len(),
            });
        }
        self.airs
            .iter()
            .zip(traces)
            .zip(degree_bits)
            .map(|((air, trace), &bits)| {
                let requested = 1usize.checked_shl(bits as u32).unwrap_or(usize::MAX);
                let fixed = p3_air::BaseAir::<F>::preprocessed_width(air) > 0;
                if requested < trace.height() || (fixed && requested != trace.height()) {
                    return Err(ProveError::DoesNotFit {
                        table: air.name(),
                        height: trace.height(),
                        requested,
                    });
                }
                Ok(air.generator().pad(trace, requested))
            })
            .collect()
    }

    /// Whether tables of shape `shape` hold tables of shape `inner`: every table fits, and the
    /// preprocessed ones, whose heights are the program's, are exactly as tall.
    pub fn holds(&self, shape: &[usize], inner: &[usize]) -> bool {
        shape.len() == inner.len()
            && self
                .airs
                .iter()
                .zip(shape.iter().zip(inner))
                .all(
                    |(air, (&bits, &own))| match p3_air::BaseAir::<F>::preprocessed_width(air) {
                        0 => bits >= own,
                        _ => bits == own,
                    },
                )
    }

    /// Checks that `catalog` holds every segment the executor cuts at `size`: that one of its
    /// shapes holds [`Self::bounding_shape`].
    pub fn check_catalog(
        &self,
        catalog: &[Vec<usize>],
        size: SegmentSize,
    ) -> Result<(), ProveError> {
        let bound = self.bounding_shape(size);
        if catalog.iter().any(|shape| self.holds(shape, &bound)) {
            Ok(())
        } else {
            Err(ProveError::IncompleteCatalog {
                segment_log2: size.log2(),
                bound,
            })
        }
    }

    /// Proves `segment` at the shape of `catalog` that holds its tables with the fewest
    /// cells: every segment of a run proven in one catalog is verified by the catalog's leaf
    /// programs, so one set of aggregation keys (and one Groth16 circuit) serves every run.
    pub fn prove_segment_in(
        &self,
        segment: &Segment,
        catalog: &[Vec<usize>],
    ) -> Result<SegmentProof<H>, ProveError> {
        let (record, traces) = self.provable_traces(segment)?;
        let natural = degree_bits_of(&traces);
        let cells = |shape: &[usize]| -> u128 {
            self.airs
                .iter()
                .zip(shape)
                .map(|(air, &bits)| (p3_air::BaseAir::<F>::width(air) as u128) << bits.min(64))
                .sum()
        };
        let shape = catalog
            .iter()
            .filter(|shape| self.holds(shape, &natural))
            .min_by_key(|shape| cells(shape))
            .ok_or(ProveError::OutsideCatalog {
                degree_bits: natural,
            })?;
        let traces = self.pad_traces(traces, shape)?;
        self.prove_traces(&record.public_values.to_field_elements(), &traces)
    }

    /// Proves already generated traces (the tests' malicious provers tamper with them first).
    pub fn prove_traces(
        &self,
        public_values: &[F],
        traces: &[RowMajorMatrix<F>],
    ) -> Result<SegmentProof<H>, ProveError> {
        let per_instance = self.instance_public_values(public_values);
        let instances: Vec<StarkInstance<'_, Config<H>, MachineAir>> = self
            .airs
            .iter()
            .zip(traces)
            .zip(&per_instance)
            .map(|((air, trace), public_values)| StarkInstance {
                air,
                trace,
                public_values: public_values.clone(),
            })
            .collect();
        let proof =
            H::prove(&self.config, &instances, &self.prover_data).map_err(ProveError::Stark)?;
        Ok(SegmentProof {
            public_values: public_values.to_vec(),
            proof,
        })
    }

    /// Checks that tables of `degree_bits` (a proof's heights) can hold a segment of these
    /// keys: one height per table, and no more rows in all than a segment may use.
    pub fn check_degree_bits(&self, degree_bits: &[usize]) -> Result<(), VerifyError> {
        if degree_bits.len() != self.airs.len() {
            return Err(VerifyError::WrongShape {
                expected: self.airs.len(),
                found: degree_bits.len(),
            });
        }
        let total: u64 = self
            .airs
            .iter()
            .zip(degree_bits)
            .map(|(air, &bits)| {
                let height = 1u64.checked_shl(bits as u32).unwrap_or(u64::MAX);
                height.saturating_mul(air.generator().max_cycles_per_row())
            })
            .fold(0u64, u64::saturating_add);
        if total >= MAX_TOTAL_CYCLES {
            return Err(VerifyError::TablesTooTall { total });
        }
        Ok(())
    }

    /// Verifies a segment proof of this program and returns what it proves.
    pub fn verify_segment(&self, proof: &SegmentProof<H>) -> Result<PublicValues, VerifyError> {
        let values = PublicValues::from_field_elements(&proof.public_values)
            .ok_or(VerifyError::BadPublicValues)?;
        if values.program != self.program {
            return Err(VerifyError::WrongProgram {
                expected: self.program,
                found: values.program,
            });
        }
        let text_end_page = self.text_end_page();
        if values.text_end_page != text_end_page {
            return Err(VerifyError::WrongTextEnd {
                expected: text_end_page,
                found: values.text_end_page,
            });
        }
        if values.start_registers[0] != 0 {
            return Err(VerifyError::NonZeroX0);
        }
        if !values.touched && values.memory_root_before != values.memory_root_after {
            return Err(VerifyError::UntouchedMemoryChanged);
        }
        if values.cycles > 1 << MAX_SEGMENT_LOG2 {
            return Err(VerifyError::TooManyCycles {
                cycles: values.cycles,
            });
        }
        self.check_degree_bits(&proof.proof.degree_bits)?;
        let per_instance = self.instance_public_values(&proof.public_values);
        H::verify(
            &self.config,
            &self.airs,
            &proof.proof,
            &per_instance,
            self.common(),
        )
        .map_err(VerifyError::Stark)?;
        Ok(values)
    }
}

/// Commits to the preprocessed tables: what [`Hashing::commit_preprocessed`] runs.
pub(crate) fn commit_preprocessed<H: Hashing>(
    config: &Config<H>,
    airs: &[MachineAir],
    degree_bits: &[usize],
) -> ProverData<Config<H>> {
    ProverData::from_airs_and_degrees(config, airs, degree_bits)
        .expect("committing to the preprocessed tables cannot fail")
}

/// Proves the tables: what [`Hashing::prove`] runs.
pub(crate) fn prove<H: Hashing>(
    config: &Config<H>,
    instances: &[StarkInstance<'_, Config<H>, MachineAir>],
    prover_data: &ProverData<Config<H>>,
) -> Result<BatchProof<Config<H>>, String> {
    prove_batch(config, instances, prover_data).map_err(|error| format!("{error:?}"))
}

/// Verifies the tables' proof: what [`Hashing::verify`] runs.
pub(crate) fn verify<H: Hashing>(
    config: &Config<H>,
    airs: &[MachineAir],
    proof: &BatchProof<Config<H>>,
    public_values: &[Vec<F>],
    common: &CommonData<Config<H>>,
) -> Result<(), String> {
    verify_batch(config, airs, proof, public_values, common).map_err(|error| format!("{error:?}"))
}

/// Soundness of segment proofs made with one set of parameters, as `p3-security` estimates it
/// for this machine's tables at the largest provable segment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SecurityEstimate {
    /// ethSTARK conjecture: `log_blowup * queries + grinding`, capped by the field.
    pub conjectured_bits: f64,
    /// Proven (list- or unique-decoding regime, whichever is better), LogUp buses included.
    pub proven_bits: f64,
    /// The error source that bounds the proven figure.
    pub proven_binding: &'static str,
}

impl<H: Hashing> MachineKeys<H> {
    /// The security of proofs made with `parameters` by the tables of these keys, taking every
    /// table at `2^MAX_SEGMENT_LOG2` rows (the worst case), every table's constraints and
    /// every bus interaction together.
    pub fn security(&self, parameters: StarkParameters) -> SecurityEstimate {
        use p3_field::Field;
        use p3_security::grinding::GrindingSites;
        use p3_security::logup::{LogUpAir, security_term};
        use p3_security::shape::{InstanceShape, StarkAirParams};
        use p3_security::stark::{conjectured_security, proven_security_report};
        use p3_uni_stark::OpeningShape;

        let regime = parameters.fri(()).security_regime();
        let mut constraints = 0;
        let mut functions = 0;
        let mut interactions = 0;
        let mut widest = 0;
        for (index, air) in self.airs.iter().enumerate() {
            let symbolic = p3_lookup::InteractionSymbolicBuilder::<F, crate::config::EF>::from_air(
                air,
                p3_air::symbolic::AirLayout::from_air(air),
            );
            constraints += symbolic.base_constraints().len();
            let lookups = &self.common().lookups[index];
            interactions += lookups
                .iter()
                .map(|lookup| lookup.elements.len())
                .sum::<usize>();
            widest = lookups
                .iter()
                .flat_map(|lookup| lookup.elements.iter().map(Vec::len))
                .fold(widest, usize::max);
            functions += p3_batch_stark::num_batched_openings(
                p3_air::BaseAir::<F>::width(air),
                !p3_air::BaseAir::<F>::main_next_row_columns(air).is_empty(),
                p3_air::BaseAir::<F>::preprocessed_width(air),
                !p3_air::BaseAir::<F>::preprocessed_next_row_columns(air).is_empty(),
                2,
                lookups.len(),
                4,
                OpeningShape::new(),
            );
        }
        let air = StarkAirParams {
            num_constraints: constraints,
            max_constraint_degree: crate::chips::MAX_CONSTRAINT_DEGREE,
            num_quotient_chunks: 2,
            max_combo: 2,
        };
        let shape = InstanceShape {
            log_trace_length: MAX_SEGMENT_LOG2 as usize,
            modulus_bits: <crate::config::EF as Field>::bits(),
            collision_resistance: H::COLLISION_RESISTANCE_BITS,
            num_batched_functions: functions,
        };
        let grinding = GrindingSites {
            out_of_domain: parameters.deep_pow_bits,
            batch_combination: parameters.deep_pow_bits,
            lookup_challenge: parameters.lookup_pow_bits,
        };
        let logup = LogUpAir {
            num_interactions: interactions,
            max_message_width: widest,
        };
        let extras: Vec<_> = security_term(&logup, &shape, &grinding)
            .into_iter()
            .collect();
        let proven = proven_security_report(&regime, &air, &shape, &extras, &grinding);
        let conjectured = conjectured_security(
            &regime,
            &air,
            &shape,
            &extras.iter().map(|term| term.bits).collect::<Vec<_>>(),
            &grinding,
        );
        SecurityEstimate {
            conjectured_bits: conjectured.0,
            proven_bits: proven.security_bits(),
            proven_binding: proven.binding().1.label,
        }
    }
}
