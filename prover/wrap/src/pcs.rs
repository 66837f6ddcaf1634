//! The opening proof of the outer configuration's PCS in R1CS: the checks of p3-fri
//! 0.9.0-rc.2's `TwoAdicFriPcs::verify` (`two_adic_pcs.rs`, `verifier.rs::verify_fri`,
//! `open_inputs`, `fold_query`) for `StarkParameters::fri` with `max_log_arity = 1`, over
//! `MerkleTreeMmcs` with caps and its `ExtensionMmcs`.
//!
//! [`verify`] continues the caller's transcript exactly as the native verifier drives the
//! challenger:
//!
//! 1. zero-difficulty proof-of-work witnesses must be zero (`check_canonical_pow_witnesses`);
//! 2. the seed of the PCS transcript's domain separator (`PcsShape`, a constant of the shape)
//!    is observed, then every claimed value (commitment, matrix, point order, 4 coefficients
//!    each), the batch proof-of-work (if any), and `alpha` is sampled;
//! 3. the seed of the FRI transcript (`FriShape`) is observed; per commit round the cap is
//!    observed, the commit proof-of-work checked (if any) and `beta` sampled; the final
//!    polynomial is observed, the query proof-of-work checked, and each query index is drawn
//!    with `sample_bits(log_max_height)`;
//! 4. per query: each input batch's rows open at the index shifted to the batch's tallest
//!    height; the reduced openings `sum alpha^k (p(z) - p(x)) / (z - x)` accumulate per height
//!    (alpha powers restart at each height, in commitment, matrix, point order), with
//!    `x = GENERATOR * g_h^rev(index >> (L - h))`; the fold chain opens the pair at each
//!    commit-phase tree (at the parent index, leaf `[lo, hi]` as 8 base values), folds it
//!    ([`crate::fri`]) and rolls in `beta^2 * ro_h` where the folded height meets an input
//!    height; the result must equal the final polynomial at `g_L^rev(index >> rounds)`.
//!    A denominator `z - x = 0` makes the system unsatisfiable, as natively it is an error.
//!
//! What is not the native code step for step: the input and commit-phase openings are
//! checked as one full authentication path per query (`QueryOpenings`); the proof carries
//! pruned multi-paths (`PrunedMerklePaths`), from which `OpeningWitness::new` restores the
//! per-query paths with p3's own `restore_and_recompute_paths`. The two accept the same
//! openings (the pruned proof is valid exactly when the restored paths reach the cap). The
//! proof's lengths (rounds, queries, widths, final polynomial) are the shape's, fixed when the
//! circuit is built: a proof of another shape has no witness at all.
//!
//! The caller must bind what the gadget takes as given: the transcript state (everything
//! observed before the opening), the opening points `z` (sampled by the caller's transcript:
//! they are not observed here, as natively), the claimed values (observed here) and the input
//! commitments' caps (the caller observed them when they were committed).

use ark_bn254::Fr;
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError, Variable};
use gnomon_machine::config::{Hashing, Outer, StarkParameters};
use p3_baby_bear::BabyBear;
use p3_bn254::Bn254;
use p3_field::{Field, PrimeCharacteristicRing, TwoAdicField};

use crate::babybear::BabyBearVar;
use crate::challenger::ChallengerVar;
use crate::extension::{Ext, ExtVar};
use crate::merkle::{self, OpenedRow};
use crate::{fri, native};
use gnomon_machine::verification::opening::{Claim, OpeningLayout, OpeningWitness};
pub use gnomon_machine::verification::opening::{MatrixShape, OpeningShape};

/// One opening point of a matrix and the claimed values of its columns there.
#[derive(Clone, Debug)]
pub struct PointClaim {
    pub point: ExtVar,
    pub values: Vec<ExtVar>,
}

/// One commitment round: its cap and, per matrix, its points.
#[derive(Clone, Debug)]
pub struct CommitmentClaims {
    pub cap: Vec<FpVar<Fr>>,
    pub matrices: Vec<Vec<PointClaim>>,
}

/// One query's openings in the circuit.
#[derive(Clone, Debug)]
struct QueryVar {
    rows: Vec<Vec<Vec<BabyBearVar>>>,
    input_paths: Vec<Vec<FpVar<Fr>>>,
    fold_siblings: Vec<ExtVar>,
    fold_paths: Vec<Vec<FpVar<Fr>>>,
}

/// The opening proof as witnesses, laid out by the shape (the same with or without values).
#[derive(Clone, Debug)]
pub struct FriProofVar {
    batch_pow: BabyBearVar,
    commit_caps: Vec<Vec<FpVar<Fr>>>,
    commit_pows: Vec<BabyBearVar>,
    final_poly: Vec<ExtVar>,
    query_pow: BabyBearVar,
    queries: Vec<QueryVar>,
}

fn coefficients(value: &Ext) -> &[BabyBear] {
    p3_field::BasedVectorSpace::<BabyBear>::as_basis_coefficients_slice(value)
}

fn missing() -> SynthesisError {
    SynthesisError::AssignmentMissing
}

impl FriProofVar {
    /// Witnesses the proof (`None`: no assignment, for the setup). Panics if `witness` does
    /// not have the shape's lengths.
    pub fn new_witness(
        cs: ConstraintSystemRef<Fr>,
        parameters: &StarkParameters,
        shape: &OpeningShape,
        witness: Option<&FriProofWitness>,
    ) -> Result<Self, SynthesisError> {
        let layout = OpeningLayout::new(parameters, shape);
        let base = |value: Option<BabyBear>| {
            BabyBearVar::new_witness(cs.clone(), || value.ok_or_else(missing))
        };
        let digest = |value: Option<Bn254>| {
            FpVar::new_witness(cs.clone(), || value.map(native::to_fr).ok_or_else(missing))
        };
        let digests = |values: Option<&Vec<Bn254>>, len: usize| {
            if let Some(values) = values {
                assert_eq!(values.len(), len, "a path or cap of the shape's length");
            }
            (0..len)
                .map(|i| digest(values.map(|values| values[i])))
                .collect::<Result<Vec<_>, _>>()
        };
        let cap_len = 1 << layout.cap_height;
        let batch_pow = base(witness.map(|w| w.batch_pow))?;
        let mut commit_caps = Vec::new();
        let mut commit_pows = Vec::new();
        for round in 0..layout.num_rounds {
            commit_caps.push(digests(witness.map(|w| &w.commit_caps[round]), cap_len)?);
            commit_pows.push(base(witness.map(|w| w.commit_pows[round]))?);
        }
        if let Some(w) = witness {
            assert_eq!(w.commit_caps.len(), layout.num_rounds);
            assert_eq!(w.final_poly.len(), layout.final_poly_len);
            assert_eq!(w.queries.len(), layout.num_queries);
        }
        let final_poly = (0..layout.final_poly_len)
            .map(|i| {
                ExtVar::new_witness(cs.clone(), || {
                    witness.map(|w| w.final_poly[i]).ok_or_else(missing)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let query_pow = base(witness.map(|w| w.query_pow))?;
        let mut queries = Vec::with_capacity(layout.num_queries);
        for q in 0..layout.num_queries {
            let query = witness.map(|w| &w.queries[q]);
            let mut rows = Vec::new();
            let mut input_paths = Vec::new();
            for (b, round) in shape.rounds.iter().enumerate() {
                let mut matrices = Vec::new();
                for (m, matrix) in round.iter().enumerate() {
                    let values = query.map(|query| &query.rows[b][m]);
                    if let Some(values) = values {
                        assert_eq!(values.len(), matrix.width);
                    }
                    matrices.push(
                        (0..matrix.width)
                            .map(|i| {
                                BabyBearVar::new_opened_witness(cs.clone(), || {
                                    values.map(|values| values[i]).ok_or_else(missing)
                                })
                            })
                            .collect::<Result<Vec<_>, _>>()?,
                    );
                }
                rows.push(matrices);
                let levels = layout.round_height(round) - layout.cap_height;
                input_paths.push(digests(query.map(|query| &query.input_paths[b]), levels)?);
            }
            let mut fold_siblings = Vec::new();
            let mut fold_paths = Vec::new();
            for round in 0..layout.num_rounds {
                let sibling = query.map(|query| query.fold_siblings[round]);
                let limbs = (0..4)
                    .map(|i| {
                        BabyBearVar::new_opened_witness(cs.clone(), || {
                            sibling.map(|s| coefficients(&s)[i]).ok_or_else(missing)
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                fold_siblings.push(ExtVar::from_limbs(limbs.try_into().expect("four limbs")));
                let levels = layout.log_max_height - round - 1 - layout.cap_height;
                fold_paths.push(digests(
                    query.map(|query| &query.fold_paths[round]),
                    levels,
                )?);
            }
            queries.push(QueryVar {
                rows,
                input_paths,
                fold_siblings,
                fold_paths,
            });
        }
        Ok(Self {
            batch_pow,
            commit_caps,
            commit_pows,
            final_poly,
            query_pow,
            queries,
        })
    }
}

/// `shift * prod_j g_(j+1)^(bit_j)`, `g_k` the two-adic generator of order `2^k`: the point
/// `shift * g_h^rev(i, h)` of the index `i` whose `h` little-endian bits are `bits`. Reduced.
fn two_adic_point(bits: &[Boolean<Fr>], shift: BabyBear) -> Result<BabyBearVar, SynthesisError> {
    fri::selected_product(shift, bits, |j| BabyBear::two_adic_generator(j + 1))
}

/// Which claims share an opening point: the same variables (a point the caller passes to
/// several matrices, as `zeta` is); any other point is alone. The grouping depends only on the
/// layout, never on values, so the setup lays out the same system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum PointKey {
    Shared([Variable; 4]),
    Alone(usize),
}

impl PointKey {
    fn of(point: &ExtVar, position: usize) -> Self {
        let mut variables = Vec::with_capacity(4);
        for limb in point.limbs() {
            match limb.variable() {
                FpVar::Var(allocated) => variables.push(allocated.variable),
                FpVar::Constant(_) => return Self::Alone(position),
            }
        }
        Self::Shared(variables.try_into().expect("four limbs"))
    }
}

/// `alpha^0 .. alpha^(count - 1)`, unreduced: `alpha^(a B + b) = (alpha^B)^a * alpha^b` with
/// `B` about `sqrt(count)`, so that only the `2B` factors are reduced (291 constraints each)
/// and every power costs one unreduced product (7). The sums they enter stay far below the
/// bound before their one reduction.
fn powers(alpha: &ExtVar, count: usize) -> Result<Vec<ExtVar>, SynthesisError> {
    let block = count.isqrt().max(1);
    let ladder = |step: &ExtVar, len: usize| -> Result<Vec<ExtVar>, SynthesisError> {
        let mut out = vec![ExtVar::constant(Ext::ONE)];
        while out.len() < len {
            let next = out.last().expect("one power").mul(step)?.reduce()?;
            out.push(next);
        }
        Ok(out)
    };
    let low = ladder(alpha, block)?;
    let step = low.last().expect("one power").mul(alpha)?.reduce()?;
    let high = ladder(&step, count.div_ceil(block))?;
    (0..count)
        .map(|k| {
            let (a, b) = (k / block, k % block);
            match (a, b) {
                (_, 0) => Ok(high[a].clone()),
                (0, _) => Ok(low[b].clone()),
                _ => high[a].mul(&low[b]),
            }
        })
        .collect()
}

/// Verifies the opening proof `proof` of `claims` (see the module documentation), continuing
/// `challenger`. Returns nothing: a wrong proof leaves the system unsatisfied.
pub fn verify(
    parameters: &StarkParameters,
    shape: &OpeningShape,
    challenger: &mut ChallengerVar,
    claims: &[CommitmentClaims],
    proof: &FriProofVar,
) -> Result<(), SynthesisError> {
    verify_counted(
        parameters,
        shape,
        challenger,
        claims,
        proof,
        &mut Parts::default(),
    )
}

/// Constraints per part of [`verify`] (the queries' parts summed over the queries), for the
/// benchmark.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Parts {
    /// Grinding checks, the transcript, alpha's powers, the claimed sums, `beta^2`.
    pub transcript: usize,
    /// The query points and the input rows' Merkle openings (leaf hashes and paths).
    pub inputs: usize,
    /// The reduced openings.
    pub reduced: usize,
    /// The commit-phase openings and the folds.
    pub folds: usize,
    /// The final polynomial.
    pub final_poly: usize,
}

pub(crate) fn verify_counted(
    parameters: &StarkParameters,
    shape: &OpeningShape,
    challenger: &mut ChallengerVar,
    claims: &[CommitmentClaims],
    proof: &FriProofVar,
    parts: &mut Parts,
) -> Result<(), SynthesisError> {
    use ark_r1cs_std::GR1CSVar;
    let cs = proof.batch_pow.variable().cs();
    let mut mark = cs.num_constraints();
    let mut lap = |part: &mut usize| {
        let now = cs.num_constraints();
        *part += now - mark;
        mark = now;
    };
    let layout = OpeningLayout::new(parameters, shape);
    assert_eq!(claims.len(), shape.rounds.len());
    for (claim, round) in claims.iter().zip(&shape.rounds) {
        assert_eq!(claim.cap.len(), 1 << layout.cap_height);
        assert_eq!(claim.matrices.len(), round.len());
        for (points, matrix) in claim.matrices.iter().zip(round) {
            assert_eq!(points.len(), matrix.num_points);
            assert!(points.iter().all(|p| p.values.len() == matrix.width));
        }
    }
    let zero = BabyBearVar::constant(BabyBear::ZERO);
    // 1. Witnesses no grinding binds must be zero.
    if layout.batch_pow_bits == 0 {
        proof.batch_pow.enforce_equal(&zero)?;
    }
    if layout.commit_pow_bits == 0 {
        for witness in &proof.commit_pows {
            witness.enforce_equal(&zero)?;
        }
    }
    if layout.query_pow_bits == 0 {
        proof.query_pow.enforce_equal(&zero)?;
    }
    // 2. The PCS transcript.
    for &value in &layout.pcs_seed {
        challenger.observe(&BabyBearVar::constant(value))?;
    }
    for claim in claims {
        for points in &claim.matrices {
            for point in points {
                for value in &point.values {
                    challenger.observe_ext(value)?;
                }
            }
        }
    }
    challenger.check_witness(layout.batch_pow_bits, &proof.batch_pow)?;
    let alpha = challenger.sample_ext()?;
    // 3. The FRI transcript.
    for &value in &layout.fri_seed {
        challenger.observe(&BabyBearVar::constant(value))?;
    }
    let mut betas = Vec::with_capacity(layout.num_rounds);
    for (cap, witness) in proof.commit_caps.iter().zip(&proof.commit_pows) {
        challenger.observe_cap(cap)?;
        challenger.check_witness(layout.commit_pow_bits, witness)?;
        betas.push(challenger.sample_ext()?);
    }
    for coefficient in &proof.final_poly {
        challenger.observe_ext(coefficient)?;
    }
    challenger.check_witness(layout.query_pow_bits, &proof.query_pow)?;
    let indices = (0..layout.num_queries)
        .map(|_| challenger.sample_bits(layout.log_max_height))
        .collect::<Result<Vec<_>, _>>()?;

    // Query-independent parts: alpha's powers (one ladder per height), the claimed sums
    // `sum_k alpha^(offset + k) p_k(z)`, `beta^2`.
    let height = |matrix: &MatrixShape| layout.height(matrix);
    let mut ladder = std::collections::BTreeMap::<usize, usize>::new();
    for (round, claim) in shape.rounds.iter().zip(claims) {
        for (matrix, points) in round.iter().zip(&claim.matrices) {
            *ladder.entry(height(matrix)).or_default() += matrix.width * points.len();
        }
    }
    let alpha_powers = powers(&alpha, ladder.values().copied().max().unwrap_or(0))?;
    // Per (round, matrix, point): its height, its first alpha power and its claimed sum.
    let mut offsets = std::collections::BTreeMap::<usize, usize>::new();
    let mut openings = Vec::new();
    for (round, claim) in shape.rounds.iter().zip(claims) {
        for (matrix, points) in round.iter().zip(&claim.matrices) {
            for point in points {
                let offset = offsets.entry(height(matrix)).or_default();
                let mut sum = ExtVar::constant(Ext::ZERO);
                for (k, value) in point.values.iter().enumerate() {
                    sum = sum.add(&alpha_powers[*offset + k].mul(value)?)?;
                }
                openings.push((height(matrix), *offset, sum.reduce_weak()?));
                *offset += matrix.width;
            }
        }
    }
    let betas_squared = betas
        .iter()
        .map(|beta| beta.square()?.reduce())
        .collect::<Result<Vec<_>, _>>()?;
    let heights: Vec<usize> = ladder.keys().copied().collect();

    lap(&mut parts.transcript);
    // 4. The queries.
    let l = layout.log_max_height;
    for (bits, query) in indices.iter().zip(&proof.queries) {
        // The query point at each input height.
        let query_points: std::collections::BTreeMap<usize, BabyBearVar> = heights
            .iter()
            .map(|&h| Ok((h, two_adic_point(&bits[l - h..], BabyBear::GENERATOR)?)))
            .collect::<Result<_, SynthesisError>>()?;
        // Input openings.
        for (b, ((round, claim), rows)) in
            shape.rounds.iter().zip(claims).zip(&query.rows).enumerate()
        {
            let batch_height = layout.round_height(round);
            let opened: Vec<OpenedRow> = round
                .iter()
                .zip(rows)
                .map(|(matrix, values)| OpenedRow {
                    log_height: height(matrix),
                    values: values.clone(),
                })
                .collect();
            merkle::verify_batch(
                &claim.cap,
                layout.cap_height,
                &bits[l - batch_height..],
                &opened,
                &query.input_paths[b],
            )?;
        }
        lap(&mut parts.inputs);
        // Reduced openings per height: the numerators of the matrices that share a point and a
        // height are summed first, and divided by `point - x` once.
        let mut numerators =
            std::collections::BTreeMap::<(usize, PointKey), (ExtVar, ExtVar)>::new();
        let mut opening = openings.iter();
        for ((round, claim), rows) in shape.rounds.iter().zip(claims).zip(&query.rows) {
            for ((matrix, points), values) in round.iter().zip(&claim.matrices).zip(rows) {
                let h = height(matrix);
                for point in points {
                    let (_, offset, sum_at_z) = opening.next().expect("one per point");
                    let mut sum_at_x = ExtVar::constant(Ext::ZERO);
                    for (k, value) in values.iter().enumerate() {
                        sum_at_x = sum_at_x.add(&alpha_powers[offset + k].mul_base(value)?)?;
                    }
                    let numerator = sum_at_z.sub(&sum_at_x)?;
                    let key = (h, PointKey::of(&point.point, numerators.len()));
                    match numerators.get_mut(&key) {
                        Some((_, sum)) => *sum = sum.add(&numerator)?,
                        None => {
                            numerators.insert(key, (point.point.clone(), numerator));
                        }
                    }
                }
            }
        }
        let mut reduced = std::collections::BTreeMap::<usize, ExtVar>::new();
        for ((h, _), (point, numerator)) in &numerators {
            let x = ExtVar::from_base(&query_points[h]);
            let term = numerator.mul(&point.sub(&x)?.inverse()?)?;
            let entry = reduced
                .entry(*h)
                .or_insert_with(|| ExtVar::constant(Ext::ZERO));
            *entry = entry.add(&term)?;
        }
        if let Some(ro) = reduced.get(&layout.log_blowup) {
            ro.enforce_equal(&ExtVar::constant(Ext::ZERO))?;
        }
        lap(&mut parts.reduced);
        // The fold chain.
        let mut folded = reduced[&l].reduce()?;
        let mut scale = if layout.num_rounds > 0 {
            Some(fri::fold_scale(&bits[1..l])?)
        } else {
            None
        };
        for round in 0..layout.num_rounds {
            let log_folded_height = l - round - 1;
            let sibling = &query.fold_siblings[round];
            let bit = &bits[round];
            let mut lo = Vec::with_capacity(8);
            let mut hi = Vec::with_capacity(4);
            for (a, b) in folded.limbs().iter().zip(sibling.limbs()) {
                let (first, second) = BabyBearVar::select_pair_opened(bit, a, b)?;
                lo.push(first);
                hi.push(second);
            }
            lo.extend(hi);
            merkle::verify_batch(
                &proof.commit_caps[round],
                layout.cap_height,
                &bits[round + 1..l],
                &[OpenedRow {
                    log_height: log_folded_height,
                    values: lo,
                }],
                &query.fold_paths[round],
            )?;
            let current_scale = scale.as_ref().expect("a scale per round");
            let mut next = fri::fold_pair(&folded, sibling, bit, &betas[round], current_scale)?;
            if let Some(ro) = reduced.get(&log_folded_height) {
                next = next.add(&betas_squared[round].mul(ro)?)?;
            }
            folded = next.reduce()?;
            if round + 1 < layout.num_rounds {
                scale = Some(fri::next_fold_scale(current_scale, &bits[round + 1])?);
            }
        }
        lap(&mut parts.folds);
        // The final polynomial at the folded index's point.
        let x = two_adic_point(&bits[layout.num_rounds..l], BabyBear::ONE)?;
        let mut eval = ExtVar::constant(Ext::ZERO);
        for coefficient in proof.final_poly.iter().rev() {
            eval = eval.mul_base(&x)?.add(coefficient)?;
        }
        eval.enforce_equal(&folded)?;
        lap(&mut parts.final_poly);
    }
    Ok(())
}

/// The outer configuration's PCS, challenger, commitment and opening proof.
pub type OuterPcs = gnomon_machine::config::Pcs<Outer>;
pub type OuterChallenger = <Outer as Hashing>::Challenger;
/// A native claim, as `Pcs::verify` takes it.
pub type OuterClaim = Claim<Outer>;
/// A native opening proof as the circuit's witness.
pub type FriProofWitness = OpeningWitness<Bn254>;

/// Witnesses native claims: caps, points and values (canonical).
pub fn claims_witness(
    cs: ConstraintSystemRef<Fr>,
    parameters: &StarkParameters,
    shape: &OpeningShape,
    claims: Option<&[OuterClaim]>,
) -> Result<Vec<CommitmentClaims>, SynthesisError> {
    let ext = |value: Option<Ext>| ExtVar::new_witness(cs.clone(), || value.ok_or_else(missing));
    let cap_len = 1usize << parameters.cap_height;
    let mut out = Vec::new();
    for (r, round) in shape.rounds.iter().enumerate() {
        let claim = claims.map(|c| &c[r]);
        if let Some(claim) = claim {
            assert_eq!(claim.commitment.roots().len(), cap_len);
        }
        let cap = (0..cap_len)
            .map(|i| {
                FpVar::new_witness(cs.clone(), || {
                    claim
                        .map(|c| native::to_fr(c.commitment.roots()[i][0]))
                        .ok_or_else(missing)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut matrices = Vec::new();
        for (m, matrix) in round.iter().enumerate() {
            let mut points = Vec::new();
            for p in 0..matrix.num_points {
                let opening = claim.map(|c| &c.matrices[m].points[p]);
                points.push(PointClaim {
                    point: ext(opening.map(|o| o.point))?,
                    values: (0..matrix.width)
                        .map(|k| ext(opening.map(|o| o.values[k])))
                        .collect::<Result<_, _>>()?,
                });
            }
            matrices.push(points);
        }
        out.push(CommitmentClaims { cap, matrices });
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use ark_relations::gr1cs::{ConstraintSystem, SynthesisMode};
    use gnomon_machine::config::stark_config;
    use p3_challenger::{CanObserve, FieldChallenger};
    use p3_commit::{CommitmentOpening, MatrixOpening, OpeningRequest, Pcs, PointOpening};
    use p3_matrix::dense::RowMajorMatrix;
    use p3_uni_stark::StarkGenericConfig;

    use super::*;
    use crate::test_util::Rng;

    /// Rounds of matrices `(log_degree, width)`; matrices of round 0 open at `zeta` and
    /// `zeta * 7`, the others at `zeta`.
    type Rounds = Vec<Vec<(usize, usize)>>;

    pub(crate) struct Fixture {
        parameters: StarkParameters,
        claims: Vec<OuterClaim>,
        witness: FriProofWitness,
    }

    fn points(round: usize, zeta: Ext) -> Vec<Ext> {
        if round == 0 {
            vec![zeta, zeta * Ext::from(BabyBear::from_u32(7))]
        } else {
            vec![zeta]
        }
    }

    /// Commits random matrices, opens them natively, checks the native verifier accepts.
    pub(crate) fn fixture(parameters: StarkParameters, rounds: &Rounds, seed: u64) -> Fixture {
        let config = stark_config::<Outer>(parameters);
        let pcs: &OuterPcs = config.pcs();
        let mut rng = Rng::new(seed);
        let mut commitments = Vec::new();
        let mut data = Vec::new();
        for round in rounds {
            let evaluations: Vec<_> = round
                .iter()
                .map(|&(log_degree, width)| {
                    let values = (0..width << log_degree).map(|_| rng.babybear()).collect();
                    (
                        <OuterPcs as Pcs<Ext, OuterChallenger>>::natural_domain_for_degree(
                            pcs,
                            1 << log_degree,
                        ),
                        RowMajorMatrix::new(values, width),
                    )
                })
                .collect();
            let domains: Vec<_> = evaluations.iter().map(|(domain, _)| *domain).collect();
            let (commitment, prover_data) =
                <OuterPcs as Pcs<Ext, OuterChallenger>>::commit(pcs, evaluations).unwrap();
            commitments.push((commitment, domains));
            data.push(prover_data);
        }
        let mut challenger = Outer::challenger();
        for (commitment, _) in &commitments {
            challenger.observe(commitment.clone());
        }
        let zeta: Ext = challenger.sample_algebra_element();
        let verifier_challenger = challenger.clone();
        let requests = data
            .iter()
            .zip(rounds)
            .enumerate()
            .map(|(r, (prover_data, round))| OpeningRequest {
                prover_data,
                points: vec![points(r, zeta); round.len()],
            })
            .collect();
        let (opened, proof) = pcs.open(requests, &mut challenger).unwrap();
        let claims: Vec<OuterClaim> = commitments
            .into_iter()
            .zip(opened)
            .enumerate()
            .map(|(r, ((commitment, domains), values))| CommitmentOpening {
                commitment,
                matrices: domains
                    .into_iter()
                    .zip(values)
                    .map(|(domain, values)| MatrixOpening {
                        domain,
                        points: points(r, zeta)
                            .into_iter()
                            .zip(values)
                            .map(|(point, values)| PointOpening { point, values })
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        pcs.verify(claims.clone(), &proof, &mut verifier_challenger.clone())
            .expect("the native verifier accepts");
        let witness =
            FriProofWitness::new::<Outer>(&parameters, &claims, &proof, &verifier_challenger)
                .unwrap();
        Fixture {
            parameters,
            claims,
            witness,
        }
    }

    /// Builds the circuit (the caller's transcript: caps observed, `zeta` sampled and the
    /// claimed points checked against it) and returns whether it is satisfied, with its size.
    pub(crate) fn circuit(
        fixture: &Fixture,
        claims: &[OuterClaim],
        witness: &FriProofWitness,
        setup: bool,
    ) -> (bool, usize) {
        let cs = ConstraintSystem::<Fr>::new_ref();
        if setup {
            cs.set_mode(SynthesisMode::Setup);
        }
        let shape = OpeningShape::of_claims::<Outer>(&fixture.claims);
        let claims_var = claims_witness(
            cs.clone(),
            &fixture.parameters,
            &shape,
            (!setup).then_some(claims),
        )
        .unwrap();
        let mut challenger = ChallengerVar::new();
        for claim in &claims_var {
            challenger.observe_cap(&claim.cap).unwrap();
        }
        let zeta = challenger.sample_ext().unwrap();
        for (r, claim) in claims_var.iter().enumerate() {
            for matrix in &claim.matrices {
                for (p, point) in matrix.iter().enumerate() {
                    let expected = if p == 0 {
                        zeta.clone()
                    } else {
                        zeta.mul(&ExtVar::constant(Ext::from(BabyBear::from_u32(7))))
                            .unwrap()
                    };
                    assert!(r == 0 || p == 0);
                    point.point.enforce_equal(&expected).unwrap();
                }
            }
        }
        let before = cs.num_constraints();
        let proof = FriProofVar::new_witness(
            cs.clone(),
            &fixture.parameters,
            &shape,
            (!setup).then_some(witness),
        )
        .unwrap();
        verify(
            &fixture.parameters,
            &shape,
            &mut challenger,
            &claims_var,
            &proof,
        )
        .unwrap();
        let size = cs.num_constraints() - before;
        let satisfied = !setup && cs.is_satisfied().unwrap();
        (satisfied, size)
    }

    fn small() -> StarkParameters {
        StarkParameters {
            log_blowup: 2,
            num_queries: 2,
            query_pow_bits: 2,
            lookup_pow_bits: 0,
            deep_pow_bits: 2,
            log_final_poly_len: 2,
            cap_height: 2,
        }
    }

    fn small_fixture() -> &'static Fixture {
        static FIXTURE: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
        FIXTURE.get_or_init(|| {
            // Heights 8, 6 (round 0), 8 (round 1), 5 (round 2); the final height is 4.
            fixture(
                small(),
                &vec![vec![(6, 5), (4, 3)], vec![(6, 9)], vec![(3, 2)]],
                1,
            )
        })
    }

    fn check(tamper: impl FnOnce(&mut Vec<OuterClaim>, &mut FriProofWitness)) -> bool {
        let fixture = small_fixture();
        let mut claims = fixture.claims.clone();
        let mut witness = fixture.witness.clone();
        tamper(&mut claims, &mut witness);
        circuit(fixture, &claims, &witness, false).0
    }

    #[test]
    fn a_valid_opening_satisfies_the_circuit() {
        assert!(check(|_, _| {}));
    }

    #[test]
    fn setup_lays_out_the_same_system() {
        let fixture = small_fixture();
        let proving = circuit(fixture, &fixture.claims, &fixture.witness, false).1;
        let setup = circuit(fixture, &fixture.claims, &fixture.witness, true).1;
        assert_eq!(proving, setup);
    }

    #[test]
    fn a_tampered_opened_value_fails() {
        assert!(!check(|claims, _| {
            claims[1].matrices[0].points[0].values[3] += Ext::ONE;
        }));
    }

    #[test]
    fn a_tampered_merkle_sibling_fails() {
        assert!(!check(|_, witness| {
            witness.queries[1].input_paths[0][2] += Bn254::new([1, 0, 0, 0]);
        }));
        assert!(!check(|_, witness| {
            witness.queries[0].fold_paths[1][0] += Bn254::new([1, 0, 0, 0]);
        }));
    }

    #[test]
    fn a_tampered_commit_phase_commitment_fails() {
        assert!(!check(|_, witness| {
            witness.commit_caps[1][0] += Bn254::new([1, 0, 0, 0]);
        }));
    }

    #[test]
    fn a_tampered_final_polynomial_fails() {
        assert!(!check(|_, witness| {
            witness.final_poly[3] += Ext::ONE;
        }));
    }

    #[test]
    fn a_tampered_pow_witness_fails() {
        assert!(!check(|_, witness| {
            witness.query_pow += BabyBear::ONE;
        }));
        assert!(!check(|_, witness| {
            witness.batch_pow += BabyBear::ONE;
        }));
        // Commit-phase grinding is off: its witnesses must be zero.
        assert!(!check(|_, witness| {
            witness.commit_pows[0] = BabyBear::ONE;
        }));
    }

    #[test]
    fn a_tampered_opened_row_fails() {
        assert!(!check(|_, witness| {
            witness.queries[0].rows[0][1][2] += BabyBear::ONE;
        }));
        assert!(!check(|_, witness| {
            witness.queries[1].fold_siblings[2] += Ext::ONE;
        }));
    }

    #[test]
    fn a_proof_at_the_outer_parameters_satisfies_the_circuit() {
        let start = std::time::Instant::now();
        let fixture = fixture(
            StarkParameters::outer(),
            &vec![vec![(6, 5), (4, 3)], vec![(6, 9)], vec![(3, 2)]],
            2,
        );
        let (satisfied, size) = circuit(&fixture, &fixture.claims, &fixture.witness, false);
        assert!(satisfied);
        let mut witness = fixture.witness.clone();
        witness.queries[20].fold_siblings[3] += Ext::ONE;
        assert!(!circuit(&fixture, &fixture.claims, &witness, false).0);
        println!(
            "outer parameters, heights 2^10/2^8/2^7: {size} constraints, {:?}",
            start.elapsed()
        );
    }

    /// The PCS verification of a realistic shape at the outer parameters: three rounds of
    /// 2^16 rows (blown up to 2^20): 40 columns at 2 points, 16 columns at 2 points, 8 columns
    /// (quotient chunks) at 1 point. Returns (all queries, one query), from setup-mode
    /// syntheses with 1 and 2 queries.
    pub(crate) fn realistic_counts() -> (usize, usize, Parts) {
        let matrix = |width, num_points| MatrixShape {
            log_degree: 16,
            width,
            num_points,
        };
        let shape = OpeningShape {
            rounds: vec![vec![matrix(40, 2)], vec![matrix(16, 2)], vec![matrix(8, 1)]],
        };
        let count = |queries: usize| {
            let mut parameters = StarkParameters::outer();
            parameters.num_queries = queries;
            let cs = ConstraintSystem::<Fr>::new_ref();
            cs.set_mode(SynthesisMode::Setup);
            let claims = claims_witness(cs.clone(), &parameters, &shape, None).unwrap();
            let mut challenger = ChallengerVar::new();
            let proof = FriProofVar::new_witness(cs.clone(), &parameters, &shape, None).unwrap();
            let witnesses = cs.num_constraints();
            let mut parts = Parts::default();
            verify_counted(
                &parameters,
                &shape,
                &mut challenger,
                &claims,
                &proof,
                &mut parts,
            )
            .unwrap();
            // The witnesses' range checks (opened values, proof values) included.
            (cs.num_constraints(), witnesses, parts)
        };
        let ((one, witnesses_one, parts), (two, _, _)) = (count(1), count(2));
        let per_query = two - one;
        let queries = StarkParameters::outer().num_queries;
        println!(
            "    one query: witnesses {}, transcript {}, query points + input openings {}, \
             reduced openings {}, commit-phase openings + folds {}, final polynomial {}",
            witnesses_one,
            parts.transcript,
            parts.inputs,
            parts.reduced,
            parts.folds,
            parts.final_poly
        );
        (one + (queries - 1) * per_query, per_query, parts)
    }
}
