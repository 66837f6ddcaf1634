//! The out-of-domain constraint check as a recursion program accepts the opened values of a
//! real uni-STARK proof in the segment prover's configuration, with the challenges its native
//! verifier draws, and fails when any of them is changed: the program evaluates the AIR, the
//! selectors and the quotient exactly as Plonky3 does.

use gnomon_machine::config::{EF, F, Inner, InnerConfig, StarkParameters, inner_config};
use gnomon_machine::verification::TableConstraints;
use gnomon_recursion::constraints::{self, Openings};
use gnomon_recursion::program::{Builder, Ext, Felt};
use gnomon_recursion::{RecursionKeys, RunError};
use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::{BasedVectorSpace, PrimeCharacteristicRing};
use p3_matrix::dense::RowMajorMatrix;
use p3_uni_stark::{StarkGenericConfig, StarkShape, StarkVerifierTranscript};

/// Fibonacci in two columns: the first row holds the public `(a, b)`, each row the next pair,
/// and the last row's `b` is the public result; the cube keeps a degree-3 constraint.
struct Fibonacci;

impl BaseAir<F> for Fibonacci {
    fn width(&self) -> usize {
        3
    }
    fn num_public_values(&self) -> usize {
        3
    }
}

impl<AB: AirBuilder<F = F>> Air<AB> for Fibonacci {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let (local, next) = (main.current_slice(), main.next_slice());
        let (a, b, cube) = (local[0].into(), local[1].into(), local[2].into());
        let (next_a, next_b): (AB::Expr, AB::Expr) = (next[0].into(), next[1].into());
        let public: Vec<AB::Expr> = builder.public_values().iter().map(|&v| v.into()).collect();
        builder
            .when_first_row()
            .assert_eq(a.clone(), public[0].clone());
        builder
            .when_first_row()
            .assert_eq(b.clone(), public[1].clone());
        builder.when_transition().assert_eq(next_a, b.clone());
        builder
            .when_transition()
            .assert_eq(next_b, a.clone() + b.clone());
        builder.assert_eq(cube, a.clone() * a.clone() * a);
        builder.when_last_row().assert_eq(b, public[2].clone());
    }
}

const LOG_ROWS: usize = 4;

fn trace() -> (RowMajorMatrix<F>, Vec<F>) {
    let (mut a, mut b) = (F::ZERO, F::ONE);
    let mut values = Vec::new();
    for _ in 0..1 << LOG_ROWS {
        values.extend([a, b, a * a * a]);
        (a, b) = (b, a + b);
    }
    let result = values[values.len() - 2];
    (
        RowMajorMatrix::new(values, 3),
        vec![F::ZERO, F::ONE, result],
    )
}

/// What the program takes from the proof and the native transcript, as its witness, in order.
struct Inputs {
    alpha: EF,
    zeta: EF,
    public_values: Vec<F>,
    main_local: Vec<EF>,
    main_next: Vec<EF>,
    chunks: Vec<Vec<EF>>,
}

impl Inputs {
    fn witness(&self) -> Vec<EF> {
        [self.alpha, self.zeta]
            .into_iter()
            .chain(self.public_values.iter().map(|&v| EF::from(v)))
            .chain(self.main_local.iter().copied())
            .chain(self.main_next.iter().copied())
            .chain(self.chunks.iter().flatten().copied())
            .collect()
    }
}

fn prove_natively() -> Inputs {
    let parameters = StarkParameters::testing();
    let config: InnerConfig = inner_config(parameters);
    let (trace, public_values) = trace();
    let proof = p3_uni_stark::prove(&config, &Fibonacci, trace, &public_values).unwrap();
    p3_uni_stark::verify(&config, &Fibonacci, &proof, &public_values).unwrap();

    let chunk_count = proof.opened_values.quotient_chunks.len();
    let mut challenger = config.initialise_challenger();
    let mut transcript = StarkVerifierTranscript::<_, F, EF>::new(
        &mut challenger,
        StarkShape::new::<F, Fibonacci>(
            &Fibonacci,
            0,
            proof.degree_bits,
            proof.degree_bits,
            chunk_count,
            false,
            parameters.deep_pow_bits,
        ),
    );
    let alpha = transcript
        .constraint_phase(proof.commitments.trace.clone(), None, &public_values)
        .unwrap();
    let zeta = transcript
        .ood_phase(
            proof.commitments.quotient_chunks.clone(),
            None,
            proof.ood_pow_witness,
        )
        .unwrap();
    // The opening argument (the PCS) comes next in the native transcript; this test stops
    // at zeta.
    transcript.delegate(|_| ());
    transcript.finish();

    let values = proof.opened_values;
    Inputs {
        alpha,
        zeta,
        public_values,
        main_local: values.trace_local,
        main_next: values.trace_next.expect("the AIR reads the next row"),
        chunks: values.quotient_chunks,
    }
}

/// The check as a program over `inputs`' shape, with `alpha^2` and `zeta` made public.
fn program(inputs: &Inputs) -> gnomon_recursion::Program {
    let mut builder = Builder::default();
    let alpha = builder.witness_ext();
    let zeta = builder.witness_ext();
    let public_values: Vec<Felt> = inputs
        .public_values
        .iter()
        .map(|_| builder.witness_felt())
        .collect();
    let mut ext_witnesses =
        |count: usize| -> Vec<Ext> { (0..count).map(|_| builder.witness_ext()).collect() };
    let main_local = ext_witnesses(inputs.main_local.len());
    let main_next = ext_witnesses(inputs.main_next.len());
    let chunks: Vec<[Ext; 4]> = inputs
        .chunks
        .iter()
        .map(|_| std::array::from_fn(|_| builder.witness_ext()))
        .collect();
    let openings = Openings {
        main_local,
        main_next,
        public_values: public_values.clone(),
        ..Openings::default()
    };
    let table = TableConstraints::new("fibonacci", &Fibonacci, &[], 0, LOG_ROWS);
    constraints::check(&mut builder, &table, &openings, zeta, alpha, &chunks);
    for value in public_values {
        builder.public(value);
    }
    builder.build()
}

#[test]
fn a_real_proof_passes_the_check_and_the_run_is_proven() {
    let inputs = prove_natively();
    let keys = RecursionKeys::<Inner>::new(program(&inputs), StarkParameters::testing());
    let proof = keys.prove(&inputs.witness()).unwrap();
    keys.verify(&proof).unwrap();
    assert_eq!(proof.public_values, inputs.public_values);
}

#[test]
fn any_changed_input_fails_the_check() {
    let inputs = prove_natively();
    let program = program(&inputs);
    let witness = inputs.witness();
    assert!(program.run(&witness).is_ok());
    let public = 2..2 + inputs.public_values.len();
    // No constraint reads the next row's cube: the check cannot see it (natively neither; the
    // PCS binds every opened value).
    let unread = public.end + inputs.main_local.len() + 2;
    for position in 0..witness.len() {
        let mut changed = witness.clone();
        // Public values are base-field witnesses; the others move in some coordinate.
        changed[position] += if public.contains(&position) {
            EF::ONE
        } else {
            EF::from_basis_coefficients_fn(|k| F::from_bool(k == position % 4))
        };
        let outcome = program.run(&changed);
        if position == unread {
            assert!(outcome.is_ok());
        } else {
            assert!(
                matches!(outcome, Err(RunError::AssertionFailed { .. })),
                "witness value {position} changed, and the check still passes"
            );
        }
    }
}
