//! Merkle openings of the outer configuration's `MerkleTreeMmcs<BabyBear, Bn254, LeafHash,
//! NodeCompress, 2, 1>` with caps (p3-merkle-tree 0.9.0-rc.2, `mmcs/batch.rs`), for matrices
//! whose heights are powers of two (every trace and FRI matrix is).
//!
//! - Leaf hash (`MultiField32PaddingFreeSponge<BabyBear, Bn254, _, 3, 2, 1>`): the rows of all
//!   matrices of one height, concatenated in the order of the commitment, are absorbed 16 values
//!   per permutation: each rate cell is overwritten with 8 values packed by
//!   `reduce_packed_shifted` (every value plus one, radix `2^31`: unlike the transcript's
//!   packing); a last short block overwrites only the cells it fills. The digest is the first
//!   state element. No input: the digest is zero.
//! - Path: from the tallest matrices' leaf, each level compresses `(digest, sibling)` in the
//!   order the index bit gives (bit 0: the digest is on the left), then, where matrices of the
//!   new height exist, compresses `(digest, their leaf hash)`. After
//!   `log2(max height) - cap_height` levels the digest must equal the cap entry the remaining
//!   index bits select.

use ark_bn254::Fr;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::FieldVar;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::select::CondSelectGadget;
use ark_relations::gr1cs::SynthesisError;

use crate::babybear::BabyBearVar;
use crate::poseidon2::{WIDTH, compress, permute};

const RATE: usize = 2;
const LIMBS_PER_CELL: usize = 8;
const RADIX_BITS: u32 = 31;

/// The leaf hash of a stream of BabyBear values (reduced first where not canonical, except
/// opened witnesses: see [`BabyBearVar::new_opened_witness`]).
pub fn hash_leaf<'a>(
    values: impl IntoIterator<Item = &'a BabyBearVar>,
) -> Result<FpVar<Fr>, SynthesisError> {
    // Canonical values and opened witnesses (31-bit digits, bound by the hash itself) go in as
    // they are; anything else is reduced.
    let values: Vec<BabyBearVar> = values
        .into_iter()
        .map(|value| {
            if value.is_opened() {
                Ok(value.clone())
            } else {
                value.reduce()
            }
        })
        .collect::<Result<_, _>>()?;
    let mut state: [FpVar<Fr>; WIDTH] = std::array::from_fn(|_| FpVar::zero());
    let radix = Fr::from(1u64 << RADIX_BITS);
    for block in values.chunks(RATE * LIMBS_PER_CELL) {
        for (cell, chunk) in block.chunks(LIMBS_PER_CELL).enumerate() {
            let mut packed = FpVar::<Fr>::zero();
            for value in chunk.iter().rev() {
                packed = packed * radix + value.variable() + Fr::from(1u8);
            }
            state[cell] = packed;
        }
        state = permute(&state)?;
    }
    let [digest, _, _] = state;
    Ok(digest)
}

/// One opened matrix: its height's logarithm and the opened row.
#[derive(Clone, Debug)]
pub struct OpenedRow {
    pub log_height: usize,
    pub values: Vec<BabyBearVar>,
}

/// Enforces that `rows` (in the order they were committed) open at the index whose
/// little-endian bits are `index_bits` (one per level of the tallest matrix) to the commitment
/// `cap` of `2^cap_height` entries, with `siblings` from the leaf up. Returns nothing: an
/// invalid opening leaves the constraint system unsatisfied.
pub fn verify_batch(
    cap: &[FpVar<Fr>],
    cap_height: usize,
    index_bits: &[Boolean<Fr>],
    rows: &[OpenedRow],
    siblings: &[FpVar<Fr>],
) -> Result<(), SynthesisError> {
    let digest = root_of_path(cap_height, index_bits, rows, siblings)?;
    let selected = select_cap(cap, &index_bits[index_bits.len() - cap_height..])?;
    digest.enforce_equal(&selected)
}

/// The digest a path reaches at the cap's level.
pub fn root_of_path(
    cap_height: usize,
    index_bits: &[Boolean<Fr>],
    rows: &[OpenedRow],
    siblings: &[FpVar<Fr>],
) -> Result<FpVar<Fr>, SynthesisError> {
    let log_max_height = rows
        .iter()
        .map(|row| row.log_height)
        .max()
        .expect("at least one matrix");
    assert_eq!(index_bits.len(), log_max_height, "one index bit per level");
    assert!(cap_height <= log_max_height, "the cap is below the leaves");
    assert_eq!(
        siblings.len(),
        log_max_height - cap_height,
        "one sibling per level"
    );
    // A matrix shorter than the cap would be injected inside the cap, where no path checks it.
    assert!(
        rows.iter().all(|row| row.log_height >= cap_height),
        "every matrix reaches the cap's level"
    );
    // Rows grouped by height, tallest first, each group in commitment order.
    let leaf = |log_height: usize| {
        hash_leaf(
            rows.iter()
                .filter(|row| row.log_height == log_height)
                .flat_map(|row| &row.values),
        )
    };
    let mut digest = leaf(log_max_height)?;
    for (level, (sibling, bit)) in siblings.iter().zip(index_bits).enumerate() {
        // bit = 0: (digest, sibling); bit = 1: (sibling, digest). One constraint.
        let left = FpVar::conditionally_select(bit, sibling, &digest)?;
        let right = &digest + sibling - &left;
        digest = compress(&left, &right)?;
        let log_height = log_max_height - level - 1;
        if rows.iter().any(|row| row.log_height == log_height) {
            digest = compress(&digest, &leaf(log_height)?)?;
        }
    }
    Ok(digest)
}

/// The cap entry at the index whose little-endian bits are `bits`: a tree of selections.
fn select_cap(cap: &[FpVar<Fr>], bits: &[Boolean<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    assert_eq!(cap.len(), 1 << bits.len(), "a cap of 2^cap_height entries");
    let mut layer = cap.to_vec();
    for bit in bits {
        layer = layer
            .chunks(2)
            .map(|pair| FpVar::conditionally_select(bit, &pair[1], &pair[0]))
            .collect::<Result<_, _>>()?;
    }
    Ok(layer.pop().expect("one entry left"))
}

#[cfg(test)]
pub(crate) mod tests {
    use ark_r1cs_std::GR1CSVar;
    use ark_r1cs_std::alloc::AllocVar;
    use ark_relations::gr1cs::{ConstraintSystem, ConstraintSystemRef};
    use gnomon_machine::config::{Hashing, Outer};
    use p3_baby_bear::BabyBear;
    use p3_bn254::Bn254;
    use p3_commit::{BatchOpeningRef, Mmcs};
    use p3_field::{PrimeCharacteristicRing, PrimeField32};
    use p3_matrix::Dimensions;
    use p3_matrix::dense::RowMajorMatrix;
    use p3_symmetric::{CryptographicHasher, MultiField32PaddingFreeSponge};

    use super::*;
    use crate::babybear::P;
    use crate::native;
    use crate::test_util::Rng;

    #[test]
    fn leaf_hash_matches_native() {
        let hasher = MultiField32PaddingFreeSponge::<BabyBear, Bn254, _, 3, 2, 1>::new(
            gnomon_machine::config::outer::permutation(),
        )
        .unwrap();
        let mut rng = Rng::new(11);
        for length in [0usize, 1, 7, 8, 9, 15, 16, 17, 33, 40] {
            let values: Vec<BabyBear> = (0..length).map(|_| rng.babybear()).collect();
            let expected: [Bn254; 1] = hasher.hash_iter(values.iter().copied());
            let cs = ConstraintSystem::<Fr>::new_ref();
            let vars: Vec<BabyBearVar> = values
                .iter()
                .map(|&v| BabyBearVar::new_witness(cs.clone(), || Ok(v)).unwrap())
                .collect();
            let digest = hash_leaf(&vars).unwrap();
            assert_eq!(
                digest.value().unwrap(),
                native::to_fr(expected[0]),
                "{length}"
            );
            // Opened witnesses hash the same, for 31 constraints each.
            let before = cs.num_constraints();
            let opened: Vec<BabyBearVar> = values
                .iter()
                .map(|&v| BabyBearVar::new_opened_witness(cs.clone(), || Ok(v)).unwrap())
                .collect();
            assert_eq!(cs.num_constraints() - before, 31 * length);
            let digest = hash_leaf(&opened).unwrap();
            assert_eq!(
                digest.value().unwrap(),
                native::to_fr(expected[0]),
                "{length}"
            );
            assert!(cs.is_satisfied().unwrap());
        }
    }

    struct Case {
        log_heights: Vec<usize>,
        widths: Vec<usize>,
        cap_height: usize,
    }

    /// Commits random matrices natively, opens `index`, and builds the circuit from the opening
    /// after `tamper` changed it. Returns whether the native verifier accepted the (tampered)
    /// opening and the circuit's satisfiability.
    fn check(
        case: &Case,
        seed: u64,
        index: usize,
        non_canonical: bool,
        tamper: impl FnOnce(&mut Vec<Vec<BabyBear>>, &mut Vec<[Bn254; 1]>, &mut usize, &mut Vec<Bn254>),
    ) -> (bool, bool, ConstraintSystemRef<Fr>) {
        let mut rng = Rng::new(seed);
        let mmcs = Outer::mmcs(case.cap_height);
        let matrices: Vec<RowMajorMatrix<BabyBear>> = case
            .log_heights
            .iter()
            .zip(&case.widths)
            .map(|(&log_height, &width)| {
                RowMajorMatrix::new(
                    (0..(width << log_height)).map(|_| rng.babybear()).collect(),
                    width,
                )
            })
            .collect();
        let dimensions: Vec<Dimensions> = matrices
            .iter()
            .map(|m| Dimensions {
                width: m.width,
                height: m.values.len() / m.width,
            })
            .collect();
        let (commitment, data) = mmcs.commit(matrices);
        let opening = mmcs.open_batch(index, &data);
        let (mut opened, mut proof) = opening.unpack();
        let mut cap: Vec<Bn254> = commitment.roots().iter().map(|root| root[0]).collect();
        let mut index = index;
        tamper(&mut opened, &mut proof, &mut index, &mut cap);
        let tampered_commitment = p3_symmetric::MerkleCap::new(cap.iter().map(|&x| [x]).collect());
        let native_ok = mmcs
            .verify_batch(
                &tampered_commitment,
                &dimensions,
                index,
                BatchOpeningRef::new(&opened, &proof),
            )
            .is_ok();

        let cs = ConstraintSystem::<Fr>::new_ref();
        let log_max = *case.log_heights.iter().max().unwrap();
        let cap_vars: Vec<FpVar<Fr>> = cap
            .iter()
            .map(|&x| FpVar::new_witness(cs.clone(), || Ok(native::to_fr(x))).unwrap())
            .collect();
        let bits: Vec<Boolean<Fr>> = (0..log_max)
            .map(|i| Boolean::new_witness(cs.clone(), || Ok(index >> i & 1 == 1)).unwrap())
            .collect();
        // Even matrices as canonical witnesses, odd ones as opened witnesses (31-bit digits,
        // bound by the hash); `non_canonical` opens matrix 1's first value as `v + p`.
        let rows: Vec<OpenedRow> = opened
            .iter()
            .zip(&case.log_heights)
            .enumerate()
            .map(|(matrix, (row, &log_height))| OpenedRow {
                log_height,
                values: row
                    .iter()
                    .enumerate()
                    .map(|(column, &v)| {
                        if matrix % 2 == 0 {
                            BabyBearVar::new_witness(cs.clone(), || Ok(v)).unwrap()
                        } else {
                            let mut integer = v.as_canonical_u32();
                            if non_canonical && matrix == 1 && column == 0 {
                                integer += P;
                            }
                            BabyBearVar::opened_from_integer(cs.clone(), Some(integer)).unwrap()
                        }
                    })
                    .collect(),
            })
            .collect();
        let siblings: Vec<FpVar<Fr>> = proof
            .iter()
            .map(|s| FpVar::new_witness(cs.clone(), || Ok(native::to_fr(s[0]))).unwrap())
            .collect();
        verify_batch(&cap_vars, case.cap_height, &bits, &rows, &siblings).unwrap();
        (native_ok, cs.is_satisfied().unwrap(), cs)
    }

    fn cases() -> Vec<Case> {
        vec![
            Case {
                log_heights: vec![6, 6, 4, 3, 6],
                widths: vec![3, 9, 20, 1, 2],
                cap_height: 2,
            },
            Case {
                log_heights: vec![5, 2],
                widths: vec![17, 4],
                cap_height: 0,
            },
            Case {
                log_heights: vec![4, 7, 5],
                widths: vec![8, 2, 33],
                cap_height: 4,
            },
        ]
    }

    #[test]
    fn valid_openings_satisfy_the_circuit() {
        for (number, case) in cases().iter().enumerate() {
            let log_max = *case.log_heights.iter().max().unwrap();
            for index in [0, 1, (1 << log_max) - 1, 0b1011 % (1 << log_max)] {
                let (native_ok, circuit_ok, _) =
                    check(case, number as u64, index, false, |_, _, _, _| {});
                assert!(native_ok, "case {number} index {index}");
                assert!(circuit_ok, "case {number} index {index}");
            }
        }
    }

    #[test]
    fn tampered_openings_are_rejected_by_both() {
        for (number, case) in cases().iter().enumerate() {
            let index = 0b101;
            let last_row = case.log_heights.len() - 1;
            // A value in the tallest and in the shortest matrix.
            let shortest = (0..case.log_heights.len())
                .min_by_key(|&i| case.log_heights[i])
                .unwrap();
            for matrix in [0, last_row, shortest] {
                let (native_ok, circuit_ok, _) =
                    check(case, 40, index, false, |opened, _, _, _| {
                        opened[matrix][0] += BabyBear::ONE;
                    });
                assert!(
                    !native_ok && !circuit_ok,
                    "case {number}: value of {matrix}"
                );
            }
            let siblings = case.log_heights.iter().max().unwrap() - case.cap_height;
            for level in 0..siblings {
                let (native_ok, circuit_ok, _) = check(case, 41, index, false, |_, proof, _, _| {
                    proof[level][0] += Bn254::new([1, 0, 0, 0]);
                });
                assert!(!native_ok && !circuit_ok, "case {number}: sibling {level}");
            }
            let log_max = *case.log_heights.iter().max().unwrap();
            for bit in 0..log_max {
                let (native_ok, circuit_ok, _) = check(case, 42, index, false, |_, _, index, _| {
                    *index ^= 1 << bit;
                });
                assert!(!native_ok && !circuit_ok, "case {number}: index bit {bit}");
            }
            let (native_ok, circuit_ok, _) = check(case, 43, index, false, |_, _, _, cap| {
                let entry = index >> (log_max - case.cap_height);
                cap[entry] += Bn254::new([1, 0, 0, 0]);
            });
            assert!(!native_ok && !circuit_ok, "case {number}: cap entry");
        }
    }

    /// An opened value given as `v + p` (a 31-bit integer congruent to the committed value)
    /// hashes to another leaf: the opening fails, which is what lets opened witnesses skip the
    /// comparison with `p`.
    #[test]
    fn non_canonical_opened_values_are_rejected() {
        let room = (1u32 << 31) - P;
        for (number, case) in cases().iter().enumerate() {
            let mut tried = 0;
            for seed in 50..90 {
                let mut small = false;
                let (native_ok, circuit_ok, _) = check(case, seed, 3, false, |opened, _, _, _| {
                    small = opened[1][0].as_canonical_u32() < room;
                });
                assert!(native_ok && circuit_ok);
                if small {
                    let (_, circuit_ok, _) = check(case, seed, 3, true, |_, _, _, _| {});
                    assert!(!circuit_ok, "case {number} seed {seed}");
                    tried += 1;
                    break;
                }
            }
            assert!(tried > 0, "case {number}: no value below 2^31 - p drawn");
        }
    }

    pub(crate) fn path_constraints() -> usize {
        // 16 levels of one selection and one compression each, plus the leaf of one value
        // and the cap selection.
        let cs = ConstraintSystem::<Fr>::new_ref();
        let value = BabyBearVar::new_witness(cs.clone(), || Ok(BabyBear::ONE)).unwrap();
        let cap: Vec<FpVar<Fr>> = (0..16)
            .map(|_| FpVar::new_witness(cs.clone(), || Ok(Fr::from(0u8))).unwrap())
            .collect();
        let bits: Vec<Boolean<Fr>> = (0..20)
            .map(|_| Boolean::new_witness(cs.clone(), || Ok(false)).unwrap())
            .collect();
        let siblings: Vec<FpVar<Fr>> = (0..16)
            .map(|_| FpVar::new_witness(cs.clone(), || Ok(Fr::from(0u8))).unwrap())
            .collect();
        let start = cs.num_constraints();
        verify_batch(
            &cap,
            4,
            &bits,
            &[OpenedRow {
                log_height: 20,
                values: vec![value],
            }],
            &siblings,
        )
        .unwrap();
        cs.num_constraints() - start
    }

    #[test]
    fn a_path_costs_a_compression_and_a_selection_per_level() {
        // Leaf (1 permutation) + 16 x (240 + 1) + 15 cap selections + 1 equality.
        assert_eq!(path_constraints(), 240 + 16 * 241 + 15 + 1);
    }
}
