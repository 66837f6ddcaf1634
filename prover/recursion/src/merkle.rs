//! Merkle batch openings of the segment prover's `MerkleTreeMmcs<BabyBear, BabyBear,
//! PaddingFreeSponge<Poseidon2, 16, 8, 8>, TruncatedPermutation<Poseidon2, 2, 8, 16>, 2, 8>`
//! with caps (p3-merkle-tree 0.9.0-rc.2, `mmcs/batch.rs`) as recursion-program code, for
//! matrices whose heights are powers of two (every trace and FRI matrix is).
//!
//! - Leaf hash: the rows of all matrices of one height, concatenated in commitment order, are
//!   absorbed into a zero state eight values per permutation, each block overwriting the first
//!   cells (a last short block only the cells it fills). The digest is the first eight cells;
//!   no input at all leaves the zero digest.
//! - Path: from the tallest matrices' leaf, each level compresses `(digest, sibling)` in the
//!   order the index bit gives (bit 0: the digest is on the left) by permuting their
//!   concatenation and keeping the first eight cells; then, where matrices of the new height
//!   exist, it compresses `(digest, their leaf hash)`. After `log2(max height) - cap_height`
//!   levels the digest must equal the cap entry the remaining index bits select.

use gnomon_machine::config::F;
use p3_field::PrimeCharacteristicRing;

use crate::program::{Builder, Felt, POSEIDON2_WIDTH};

const RATE: usize = 8;

/// A digest: eight base-field cells.
pub type Digest = [Felt; 8];

pub fn hash_leaf(builder: &mut Builder, values: &[Felt]) -> Digest {
    let zero = builder.constant_felt(F::ZERO);
    let mut state = [zero; POSEIDON2_WIDTH];
    for block in values.chunks(RATE) {
        state[..block.len()].copy_from_slice(block);
        state = builder.poseidon2(state);
    }
    std::array::from_fn(|index| state[index])
}

pub fn compress(builder: &mut Builder, left: Digest, right: Digest) -> Digest {
    let input = std::array::from_fn(|i| if i < 8 { left[i] } else { right[i - 8] });
    let state = builder.poseidon2(input);
    std::array::from_fn(|index| state[index])
}

/// One opened matrix: its height's logarithm and the opened row.
#[derive(Clone, Debug)]
pub struct OpenedRow {
    pub log_height: usize,
    pub values: Vec<Felt>,
}

/// Asserts that `rows` (in commitment order) open at the index whose little-endian bits are
/// `index_bits` (one per level of the tallest matrix, each already asserted boolean) to the
/// commitment `cap` of `2^cap_height` digests, with `siblings` from the leaf up.
pub fn verify_batch(
    builder: &mut Builder,
    cap: &[Digest],
    index_bits: &[Felt],
    rows: &[OpenedRow],
    siblings: &[Digest],
) {
    let cap_height = cap.len().trailing_zeros() as usize;
    assert!(cap.len().is_power_of_two(), "a cap of 2^cap_height digests");
    let log_max_height = rows
        .iter()
        .map(|row| row.log_height)
        .max()
        .expect("at least one matrix");
    assert_eq!(index_bits.len(), log_max_height, "one index bit per level");
    assert_eq!(
        siblings.len() + cap_height,
        log_max_height,
        "one sibling per level below the cap"
    );
    // A matrix shorter than the cap would be injected inside the cap, where no path checks it.
    assert!(
        rows.iter().all(|row| row.log_height >= cap_height),
        "every matrix reaches the cap's level"
    );
    let leaf = |builder: &mut Builder, log_height: usize| {
        let values: Vec<Felt> = rows
            .iter()
            .filter(|row| row.log_height == log_height)
            .flat_map(|row| row.values.iter().copied())
            .collect();
        hash_leaf(builder, &values)
    };
    let mut digest = leaf(builder, log_max_height);
    for (level, (sibling, &bit)) in siblings.iter().zip(index_bits).enumerate() {
        let pairs: [(Felt, Felt); 8] =
            std::array::from_fn(|k| builder.swap_if(bit, digest[k], sibling[k]));
        digest = compress(builder, pairs.map(|pair| pair.0), pairs.map(|pair| pair.1));
        let log_height = log_max_height - level - 1;
        if rows.iter().any(|row| row.log_height == log_height) {
            let injected = leaf(builder, log_height);
            digest = compress(builder, digest, injected);
        }
    }
    let entry = select_cap(builder, cap, &index_bits[siblings.len()..]);
    for (value, expected) in digest.into_iter().zip(entry) {
        builder.assert_eq(value, expected);
    }
}

/// The cap entry at the index whose little-endian bits are `bits`: a tree of selections.
fn select_cap(builder: &mut Builder, cap: &[Digest], bits: &[Felt]) -> Digest {
    let mut layer = cap.to_vec();
    for &bit in bits {
        layer = layer
            .chunks(2)
            .map(|pair| std::array::from_fn(|k| builder.select(bit, pair[1][k], pair[0][k])))
            .collect();
    }
    layer.pop().expect("one entry left")
}
