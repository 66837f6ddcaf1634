//! The SHA-256 compression table on its own: its outputs against the `sha2` crate, its
//! constraints, a proof with a requester that balances its bus, and malicious traces.

use core::borrow::Borrow;

use gnomon_machine::bus::Buses;
use gnomon_machine::chips::sha256_compress::{
    ROWS_PER_COMPRESSION, SHA256_COMPRESS_WIDTH, Sha256CompressChip, Sha256CompressCols,
    Sha256Request,
};
use gnomon_machine::config::{F, StarkParameters, inner_config};
use p3_air::{Air, BaseAir, WindowAccess, check_all_constraints};
use p3_batch_stark::{ProverData, StarkInstance, prove_batch, verify_batch};
use p3_field::{PrimeCharacteristicRing, PrimeField32};
use p3_lookup::InteractionBuilder;
use p3_lookup::debug_util::{LookupDebugInstance, check_lookups};
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;

/// The initial hash value of FIPS 180-4, 5.3.3.
const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// The one padded block of the message "abc" (FIPS 180-4 example B.1).
fn abc_block() -> [u32; 16] {
    let mut block = [0u32; 16];
    block[0] = 0x6162_6380;
    block[15] = 24;
    block
}

fn reference(state_in: [u32; 8], block: [u32; 16]) -> [u32; 8] {
    let mut state = state_in;
    let mut bytes = [0u8; 64];
    for (chunk, word) in bytes.chunks_exact_mut(4).zip(block) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    sha2::compress256(&mut state, &[bytes.into()]);
    state
}

/// A deterministic stream of test words (xorshift).
struct Words(u64);

impl Words {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 16) as u32
    }

    fn request(&mut self, multiplicity: u32) -> Sha256Request {
        Sha256Request {
            state_in: core::array::from_fn(|_| self.next()),
            block: core::array::from_fn(|_| self.next()),
            multiplicity,
        }
    }
}

fn cols(trace: &RowMajorMatrix<F>, row: usize) -> Sha256CompressCols<F> {
    let slice = &trace.values[row * SHA256_COMPRESS_WIDTH..(row + 1) * SHA256_COMPRESS_WIDTH];
    *Borrow::<Sha256CompressCols<F>>::borrow(slice)
}

/// The outputs the digest rows of `trace` hold, one per compression.
fn outputs(trace: &RowMajorMatrix<F>, compressions: usize) -> Vec<[u32; 8]> {
    (1..=compressions)
        .map(|index| {
            let out = cols(trace, ROWS_PER_COMPRESSION * index).out();
            out.map(|[low, high]| low.as_canonical_u32() | high.as_canonical_u32() << 16)
        })
        .collect()
}

fn assert_satisfied(trace: &RowMajorMatrix<F>) {
    let report = check_all_constraints(&Sha256CompressChip, trace, &[], Some(4));
    assert!(report.failures.is_empty(), "{:?}", report.failures);
}

#[test]
fn compresses_the_fips_example() {
    let request = Sha256Request {
        state_in: IV,
        block: abc_block(),
        multiplicity: 1,
    };
    let trace = Sha256CompressChip::trace(&[request]);
    assert_eq!(trace.height(), 32);
    assert_satisfied(&trace);
    let digest = outputs(&trace, 1)[0];
    assert_eq!(
        digest,
        [
            0xba7816bf, 0x8f01cfea, 0x414140de, 0x5dae2223, 0xb00361a3, 0x96177a9c, 0xb410ff61,
            0xf20015ad
        ]
    );
    assert_eq!(digest, reference(IV, abc_block()));
}

#[test]
fn random_compressions_match_sha2() {
    let mut words = Words(0x9e37_79b9_7f4a_7c15);
    // 15 compressions fill 256 rows exactly: no padding, the last digest row wraps to the first.
    for count in [2usize, 15] {
        let requests: Vec<Sha256Request> =
            (0..count).map(|i| words.request(i as u32 % 3)).collect();
        let trace = Sha256CompressChip::trace(&requests);
        assert_eq!(
            trace.height(),
            (ROWS_PER_COMPRESSION * count + 1).next_power_of_two()
        );
        assert_satisfied(&trace);
        for (request, output) in requests.iter().zip(outputs(&trace, count)) {
            assert_eq!(output, reference(request.state_in, request.block));
        }
    }
    // Edge values: all ones, all zeros.
    let requests = [
        Sha256Request {
            state_in: [u32::MAX; 8],
            block: [u32::MAX; 16],
            multiplicity: 1,
        },
        Sha256Request {
            state_in: [0; 8],
            block: [0; 16],
            multiplicity: 1,
        },
    ];
    let trace = Sha256CompressChip::trace(&requests);
    assert_satisfied(&trace);
    for (request, output) in requests.iter().zip(outputs(&trace, 2)) {
        assert_eq!(output, reference(request.state_in, request.block));
    }
}

#[test]
fn an_empty_table_is_all_padding() {
    let trace = Sha256CompressChip::trace(&[]);
    assert!(trace.values.iter().all(|value| *value == F::ZERO));
    assert_satisfied(&trace);
}

/// Asks for each compression of a trace as often as the table provides it.
#[derive(Clone, Debug)]
struct Requester;

const REQUESTER_WIDTH: usize = 1 + 64;

impl BaseAir<F> for Requester {
    fn width(&self) -> usize {
        REQUESTER_WIDTH
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for Requester {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let row: Vec<AB::Expr> = main.current_slice().iter().map(|&v| v.into()).collect();
        builder.assert_bool(row[0].clone());
        let word = |i: usize| [row[1 + 2 * i].clone(), row[2 + 2 * i].clone()];
        builder.sha256(
            core::array::from_fn(word),
            core::array::from_fn(|i| word(8 + i)),
            core::array::from_fn(|i| word(24 + i)),
            gnomon_machine::bus::send(row[0].clone()),
        );
    }
}

fn requester_trace(requests: &[Sha256Request], outputs: &[[u32; 8]]) -> RowMajorMatrix<F> {
    let mut values = Vec::new();
    for (request, output) in requests.iter().zip(outputs) {
        for _ in 0..request.multiplicity {
            values.push(F::ONE);
            for word in request.state_in.iter().chain(&request.block).chain(output) {
                values.extend([F::from_u32(word & 0xffff), F::from_u32(word >> 16)]);
            }
        }
    }
    let rows = (values.len() / REQUESTER_WIDTH).next_power_of_two().max(8);
    values.resize(rows * REQUESTER_WIDTH, F::ZERO);
    RowMajorMatrix::new(values, REQUESTER_WIDTH)
}

/// The two tables of the proof, as one AIR type.
#[derive(Clone, Debug)]
enum TestAir {
    Compress(Sha256CompressChip),
    Requester(Requester),
}

impl BaseAir<F> for TestAir {
    fn width(&self) -> usize {
        match self {
            Self::Compress(air) => BaseAir::<F>::width(air),
            Self::Requester(air) => BaseAir::<F>::width(air),
        }
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        match self {
            Self::Compress(air) => BaseAir::<F>::main_next_row_columns(air),
            Self::Requester(air) => BaseAir::<F>::main_next_row_columns(air),
        }
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for TestAir {
    fn eval(&self, builder: &mut AB) {
        match self {
            Self::Compress(air) => air.eval(builder),
            Self::Requester(air) => air.eval(builder),
        }
    }
}

struct Setup {
    airs: [TestAir; 2],
    config: gnomon_machine::config::InnerConfig,
    prover_data: ProverData<gnomon_machine::config::InnerConfig>,
}

fn setup() -> Setup {
    let airs = [
        TestAir::Compress(Sha256CompressChip),
        TestAir::Requester(Requester),
    ];
    let config = inner_config(StarkParameters::testing());
    let prover_data = ProverData::from_airs_and_degrees(&config, &airs, &[3, 3]).unwrap();
    Setup {
        airs,
        config,
        prover_data,
    }
}

fn prove_and_verify(setup: &Setup, traces: &[RowMajorMatrix<F>; 2]) -> bool {
    let instances: Vec<_> = setup
        .airs
        .iter()
        .zip(traces)
        .map(|(air, trace)| StarkInstance {
            air,
            trace,
            public_values: Vec::new(),
        })
        .collect();
    let proof = prove_batch(&setup.config, &instances, &setup.prover_data).unwrap();
    verify_batch(
        &setup.config,
        &setup.airs,
        &proof,
        &[Vec::new(), Vec::new()],
        &setup.prover_data.common,
    )
    .is_ok()
}

/// Whether the constraints or the bus between the two tables reject `traces`.
fn rejected(setup: &Setup, traces: &[RowMajorMatrix<F>; 2]) -> bool {
    if !check_all_constraints(&Sha256CompressChip, &traces[0], &[], Some(1)).is_ok() {
        return true;
    }
    let challenges = [F::from_u32(0x1234_5678), F::from_u32(0x0765_4321)];
    let no_preprocessed = None;
    let instances: Vec<LookupDebugInstance<'_, F>> = traces
        .iter()
        .zip(&setup.prover_data.common.lookups)
        .map(|(main_trace, lookups)| LookupDebugInstance {
            main_trace,
            preprocessed_trace: &no_preprocessed,
            public_values: &[],
            lookups,
            permutation_challenges: &challenges,
        })
        .collect();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_lookups(&instances))).is_err()
}

fn honest(requests: &[Sha256Request]) -> [RowMajorMatrix<F>; 2] {
    let outputs: Vec<[u32; 8]> = requests
        .iter()
        .map(|request| reference(request.state_in, request.block))
        .collect();
    [
        Sha256CompressChip::trace(requests),
        requester_trace(requests, &outputs),
    ]
}

#[test]
fn proves_compressions_for_a_requester() {
    let setup = setup();
    let mut words = Words(7);
    let requests = [
        Sha256Request {
            state_in: IV,
            block: abc_block(),
            multiplicity: 2,
        },
        words.request(1),
        words.request(0),
    ];
    let traces = honest(&requests);
    assert!(!rejected(&setup, &traces));
    assert!(prove_and_verify(&setup, &traces));
}

#[test]
fn a_wrong_output_is_not_provided() {
    let setup = setup();
    let requests = [Sha256Request {
        state_in: IV,
        block: abc_block(),
        multiplicity: 1,
    }];
    let mut outputs = [reference(IV, abc_block())];
    outputs[0][5] ^= 1 << 20;
    let traces = [
        Sha256CompressChip::trace(&requests),
        requester_trace(&requests, &outputs),
    ];
    assert!(rejected(&setup, &traces));
    assert!(!prove_and_verify(&setup, &traces));
}

/// The malicious prover: every column of the rows of a compression (its first digest row,
/// the round rows where the schedule changes regime, and the digest row that closes it) plus
/// one, which the constraints or the bus must reject; a spread of them also goes through the
/// real prover and verifier.
#[test]
fn every_column_is_constrained() {
    let setup = setup();
    let mut words = Words(99);
    let requests = [words.request(1), words.request(3)];
    let traces = honest(&requests);
    assert!(!rejected(&setup, &traces));
    let rows = [0, 1, 3, 4, 5, 6, 15, 16, 17, 18, 34];
    let mut verified = 0;
    for &row in &rows {
        for column in 0..SHA256_COMPRESS_WIDTH {
            let mut tampered = traces.clone();
            tampered[0].values[row * SHA256_COMPRESS_WIDTH + column] += F::ONE;
            assert!(
                rejected(&setup, &tampered),
                "row {row}, column {column} + 1 is accepted"
            );
            if row == 17 && column % 45 == 0 {
                assert!(
                    !prove_and_verify(&setup, &tampered),
                    "row {row}, column {column}: verified"
                );
                verified += 1;
            }
        }
    }
    assert_eq!(verified, SHA256_COMPRESS_WIDTH.div_ceil(45));
}

/// Degree at most 3 everywhere (blowup 2), bus tuples and counts of degree at most 2, for the
/// compression table and the two syscall tables.
#[test]
fn degrees_fit_the_blowup() {
    use gnomon_machine::chips::poseidon2_syscall::Poseidon2SyscallChip;
    use gnomon_machine::chips::sha256_syscall::Sha256SyscallChip;
    use gnomon_machine::config::EF;
    use p3_air::symbolic::AirLayout;
    use p3_lookup::InteractionSymbolicBuilder;

    fn degrees<A: Air<InteractionSymbolicBuilder<F, EF>> + BaseAir<F>>(air: &A) -> (usize, usize) {
        let builder = InteractionSymbolicBuilder::<F, EF>::from_air(air, AirLayout::from_air(air));
        let constraints = builder
            .base_constraints()
            .iter()
            .map(|c| c.degree_multiple())
            .max();
        let interactions = builder
            .global_interactions()
            .iter()
            .flat_map(|interaction| interaction.fields.iter().chain([&interaction.count]))
            .map(|expression| expression.degree_multiple())
            .max();
        (constraints.unwrap(), interactions.unwrap())
    }
    assert_eq!(degrees(&Sha256CompressChip), (3, 1));
    let (constraints, interactions) = degrees(&Sha256SyscallChip);
    assert!(constraints <= 3 && interactions <= 2);
    let (constraints, interactions) = degrees(&Poseidon2SyscallChip);
    assert!(constraints <= 3 && interactions <= 2);
}
