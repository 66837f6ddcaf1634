//! FRI's arithmetic as recursion-program code, as p3-fri 0.9.0-rc.2's verifier does it with
//! `TwoAdicFriFolding` and binary folding: one fold of a query, the point a query index names,
//! and the final polynomial's value there.
//!
//! At a round whose codeword has `2^(n+1)` rows, the query's index `i` (bits `b_0 b_1 ..`)
//! holds the current folded value; its sibling is at `i ^ 1`. The pair `(lo, hi)` is ordered
//! by `b_0` (`b_0 = 0`: the folded value is `lo`), the parent index is `i >> 1`, and
//!
//! ```text
//! fold = (lo + hi) / 2 + (lo - hi) * beta / (2 s),   s = g^rev(i >> 1, n),
//! ```
//!
//! with `g` the two-adic generator of order `2^(n+1)` and `rev` the bit reversal over `n` bits
//! (`fold_row` with `log_arity = 1`). Powers of a generator at a bit-reversed index are
//! products of constants the index bits select.

use gnomon_machine::config::F;
use p3_field::{Field, PrimeCharacteristicRing, TwoAdicField};

use crate::program::{Builder, Ext, Felt};

/// `start * prod_j (bit_j ? factor(j) : 1)` over `bits` (each asserted boolean).
fn selected_product(
    builder: &mut Builder,
    start: F,
    bits: &[Felt],
    factor: impl Fn(usize) -> F,
) -> Felt {
    let one = builder.constant_felt(F::ONE);
    let mut product = builder.constant_felt(start);
    for (j, &bit) in bits.iter().enumerate() {
        let factor = builder.constant_felt(factor(j));
        let selected = builder.select(bit, factor, one);
        product = builder.mul(product, selected);
    }
    product
}

/// `shift * g^rev(index, n)` for `g` of order `2^log_order`, `index_bits` the `n` little-endian
/// bits of the index (`n <= log_order`): bit `j` weighs `2^(n - 1 - j)` once reversed.
pub fn point(builder: &mut Builder, index_bits: &[Felt], log_order: usize, shift: F) -> Felt {
    let n = index_bits.len();
    let generator = F::two_adic_generator(log_order);
    selected_product(builder, shift, index_bits, |j| {
        generator.exp_power_of_2(n - 1 - j)
    })
}

/// One fold: `index_bits` are the current index's bits (least significant first, one per
/// level of the current codeword), `folded` the query's value there and `sibling` the opened
/// value at `index ^ 1`. Returns the value at the parent index.
pub fn fold_step(
    builder: &mut Builder,
    index_bits: &[Felt],
    beta: Ext,
    folded: Ext,
    sibling: Ext,
) -> Ext {
    let (&first, parent) = index_bits.split_first().expect("at least one index bit");
    // 1 / (2 s): the inverse of `point` over the parent's bits, for g of order 2^(n+1).
    let n = parent.len();
    let generator = F::two_adic_generator(n + 1);
    let scale = selected_product(builder, F::TWO.inverse(), parent, |j| {
        generator.exp_power_of_2(n - 1 - j).inverse()
    });
    // lo + hi = folded + sibling; lo - hi = (folded - sibling) * (1 - 2 b_0).
    let half = builder.constant_ext(F::TWO.inverse().into());
    let sum = builder.add(folded, sibling);
    let mean = builder.mul(sum, half);
    let one = builder.constant_felt(F::ONE);
    let two = builder.constant_felt(F::TWO);
    let twice_first = builder.mul(first, two);
    let sign = builder.sub(one, twice_first);
    let signed_scale = builder.mul(scale, sign);
    let difference = builder.sub(folded, sibling);
    let slope = builder.mul(difference, beta);
    let slope = builder.mul(slope, Ext::from(signed_scale));
    builder.add(mean, slope)
}

/// `sum_k coefficients[k] x^k`, by Horner's rule.
pub fn evaluate(builder: &mut Builder, coefficients: &[Ext], x: Felt) -> Ext {
    let mut value = builder.constant_ext(F::ZERO.into());
    for &coefficient in coefficients.iter().rev() {
        let scaled = builder.mul(value, Ext::from(x));
        value = builder.add(scaled, coefficient);
    }
    value
}
