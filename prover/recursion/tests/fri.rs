//! FRI's arithmetic as recursion programs equals p3-fri's native `fold_row`, the points a
//! query index names and Horner's evaluation, and the runs are proven.

mod common;

use common::Rng;
use gnomon_machine::config::{EF, F, Inner, StarkParameters};
use gnomon_recursion::fri;
use gnomon_recursion::program::{Builder, Felt};
use gnomon_recursion::{Program, RecursionKeys};
use p3_field::{BasedVectorSpace, HornerIter, PrimeCharacteristicRing, TwoAdicField};
use p3_fri::{FriFoldingStrategy, TwoAdicFriFolding};
use p3_util::reverse_bits_len;

/// Publishes an extension value's coordinates.
fn publish(builder: &mut Builder, value: gnomon_recursion::Ext) {
    for coordinate in builder.coordinates(value) {
        builder.public(coordinate);
    }
}

fn prove(program: Program, witness: &[EF]) -> Vec<F> {
    let keys = RecursionKeys::<Inner>::new(program, StarkParameters::testing());
    let proof = keys.prove(witness).unwrap();
    keys.verify(&proof).unwrap();
    proof.public_values
}

#[test]
fn folds_match_native() {
    let mut rng = Rng(5);
    let folding = TwoAdicFriFolding::<(), ()>(std::marker::PhantomData);
    for log_height in [1usize, 2, 5, 12, 20] {
        let index = rng.below(1 << log_height);
        let (beta, folded, sibling) = (rng.ext(), rng.ext(), rng.ext());
        let (lo, hi) = if index & 1 == 0 {
            (folded, sibling)
        } else {
            (sibling, folded)
        };
        let expected: EF = FriFoldingStrategy::<F, EF>::fold_row(
            &folding,
            index >> 1,
            log_height - 1,
            1,
            beta,
            [lo, hi].into_iter(),
        );

        let mut builder = Builder::default();
        let index_cell = builder.witness_felt();
        let bits = builder.bits(index_cell, log_height);
        let cells: Vec<_> = (0..3).map(|_| builder.witness_ext()).collect();
        let value = fri::fold_step(&mut builder, &bits, cells[0], cells[1], cells[2]);
        publish(&mut builder, value);
        let witness = [EF::from(F::from_usize(index)), beta, folded, sibling];
        assert_eq!(
            prove(builder.build(), &witness),
            expected.as_basis_coefficients_slice(),
            "2^{log_height} rows, index {index}"
        );
    }
}

#[test]
fn final_polynomials_evaluate_at_the_query_point_as_natively() {
    let mut rng = Rng(6);
    let (log_order, log_bits) = (20usize, 14usize);
    let index = rng.below(1 << log_bits);
    let coefficients: Vec<EF> = (0..4).map(|_| rng.ext()).collect();
    let x = F::two_adic_generator(log_order).exp_u64(reverse_bits_len(index, log_bits) as u64);
    let expected: EF = coefficients.iter().copied().horner(x);

    let mut builder = Builder::default();
    let index_cell: Felt = builder.witness_felt();
    let bits = builder.bits(index_cell, log_bits);
    let point = fri::point(&mut builder, &bits, log_order, F::ONE);
    builder.public(point);
    let cells: Vec<_> = (0..4).map(|_| builder.witness_ext()).collect();
    let value = fri::evaluate(&mut builder, &cells, point);
    publish(&mut builder, value);
    let witness: Vec<EF> = std::iter::once(EF::from(F::from_usize(index)))
        .chain(coefficients)
        .collect();
    let public = prove(builder.build(), &witness);
    assert_eq!(public[0], x);
    assert_eq!(&public[1..], expected.as_basis_coefficients_slice());
}
