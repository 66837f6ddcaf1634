//! The PCS half of a proof's verification as recursion-program code: p3-fri 0.9.0-rc.2's
//! `TwoAdicFriPcs::verify` (`two_adic_pcs.rs`, `verifier.rs::verify_fri`, `open_inputs`,
//! `fold_query`) for the segment prover's configuration, with binary folding.
//!
//! [`verify`] continues the caller's transcript exactly as the native verifier drives the
//! challenger:
//!
//! 1. the seed of the PCS transcript's domain separator (a constant of the shape) is observed,
//!    then every claimed value (commitment, matrix, point order, 4 coordinates each); the batch
//!    proof of work is checked and `alpha` sampled;
//! 2. the seed of the FRI transcript is observed; per commit round the cap is observed, the
//!    commit proof of work checked and `beta` sampled; the final polynomial is observed, the
//!    query proof of work checked, and each query index drawn with `sample_bits(L)`, `L` the
//!    tallest committed height. A zero-difficulty proof of work must be zero.
//! 3. per query: each input round's rows open at the index shifted to the round's tallest
//!    height ([`crate::merkle::verify_batch`]); the reduced openings
//!    `sum alpha^k (p(z) - p(x)) / (z - x)` accumulate per height (alpha's powers restart at
//!    each height, in commitment, matrix, point order), with
//!    `x = GENERATOR * g_h^rev(index >> (L - h))`; the fold chain opens the pair at each
//!    commit-phase tree (at the parent index, leaf `[lo, hi]` as 8 base values), folds it
//!    ([`crate::fri::fold_step`]) and adds `beta^2 * ro_h` where the folded height meets an
//!    input height; the result must equal the final polynomial at `g_F^rev(index >> rounds)`,
//!    `F` the final height. A denominator `z - x = 0` has no inverse: the run fails, as
//!    natively it is an error.
//!
//! The openings are checked as one authentication path per query, restored natively from the
//! proof's pruned multi-paths (`gnomon_machine::verification::opening`, which also fixes the
//! transcript's seeds). The proof's lengths are the shape's: a proof of another shape has no
//! witness.
//!
//! The caller binds what this takes as given: the transcript state before the opening, the
//! points `z` (drawn by the caller's transcript, not observed here, as natively) and the
//! input commitments' caps (observed when they were committed).

use gnomon_machine::config::{EF, F, StarkParameters};
use gnomon_machine::verification::opening::{OpeningLayout, OpeningShape, OpeningWitness};
use p3_field::{Field, PrimeCharacteristicRing};

use crate::batch::ShapeError;
use crate::challenger::Challenger;
use crate::fri;
use crate::merkle::{self, Digest, OpenedRow};
use crate::program::{Builder, Ext, Felt};

/// One opening point of a matrix and the claimed values of its columns there.
#[derive(Clone, Debug)]
pub struct PointClaim {
    pub point: Ext,
    pub values: Vec<Ext>,
}

/// One commitment round: its cap and, per matrix, its points.
#[derive(Clone, Debug)]
pub struct CommitmentClaims {
    pub cap: Vec<Digest>,
    pub matrices: Vec<Vec<PointClaim>>,
}

/// One query's openings as cells: per input round the rows (per matrix) and the path; per
/// commit round the folded value's sibling and the pair's path.
#[derive(Clone, Debug)]
struct QueryCells {
    rows: Vec<Vec<Vec<Felt>>>,
    input_paths: Vec<Vec<Digest>>,
    fold_siblings: Vec<Ext>,
    fold_paths: Vec<Vec<Digest>>,
}

/// An opening proof as witness cells, laid out by the shape.
#[derive(Clone, Debug)]
pub struct OpeningCells {
    batch_pow: Felt,
    commit_caps: Vec<Vec<Digest>>,
    commit_pows: Vec<Felt>,
    final_poly: Vec<Ext>,
    query_pow: Felt,
    queries: Vec<QueryCells>,
}

fn digests(builder: &mut Builder, count: usize) -> Vec<Digest> {
    (0..count)
        .map(|_| std::array::from_fn(|_| builder.witness_felt()))
        .collect()
}

impl OpeningCells {
    /// Witness cells for an opening proof of `shape` under `parameters`, in the order
    /// [`witness`] lays out values.
    pub fn allocate(
        builder: &mut Builder,
        parameters: &StarkParameters,
        shape: &OpeningShape,
    ) -> Self {
        let layout = OpeningLayout::new(parameters, shape);
        let cap_len = 1 << layout.cap_height;
        let batch_pow = builder.witness_felt();
        let mut commit_caps = Vec::new();
        let mut commit_pows = Vec::new();
        for _ in 0..layout.num_rounds {
            commit_caps.push(digests(builder, cap_len));
            commit_pows.push(builder.witness_felt());
        }
        let final_poly = (0..layout.final_poly_len)
            .map(|_| builder.witness_ext())
            .collect();
        let query_pow = builder.witness_felt();
        let queries = (0..layout.num_queries)
            .map(|_| {
                let mut rows = Vec::new();
                let mut input_paths = Vec::new();
                for round in &shape.rounds {
                    rows.push(
                        round
                            .iter()
                            .map(|matrix| {
                                (0..matrix.width).map(|_| builder.witness_felt()).collect()
                            })
                            .collect(),
                    );
                    let levels = layout.round_height(round) - layout.cap_height;
                    input_paths.push(digests(builder, levels));
                }
                let mut fold_siblings = Vec::new();
                let mut fold_paths = Vec::new();
                for round in 0..layout.num_rounds {
                    fold_siblings.push(builder.witness_ext());
                    let levels = layout.log_max_height - round - 1 - layout.cap_height;
                    fold_paths.push(digests(builder, levels));
                }
                QueryCells {
                    rows,
                    input_paths,
                    fold_siblings,
                    fold_paths,
                }
            })
            .collect();
        Self {
            batch_pow,
            commit_caps,
            commit_pows,
            final_poly,
            query_pow,
            queries,
        }
    }
}

/// The witness values of `opening` for the cells of [`OpeningCells::allocate`], in their
/// order; an opening of another shape is an error.
pub fn witness(
    parameters: &StarkParameters,
    shape: &OpeningShape,
    opening: &OpeningWitness<[F; 8]>,
) -> Result<Vec<EF>, ShapeError> {
    let layout = OpeningLayout::new(parameters, shape);
    let mut values = Vec::new();
    let push_digests = |values: &mut Vec<EF>, digests: &[[F; 8]], count: usize, what| {
        if digests.len() != count {
            return Err(ShapeError(what));
        }
        values.extend(digests.iter().flatten().map(|&v| EF::from(v)));
        Ok(())
    };
    let cap_len = 1 << layout.cap_height;
    if opening.commit_caps.len() != layout.num_rounds
        || opening.commit_pows.len() != layout.num_rounds
        || opening.final_poly.len() != layout.final_poly_len
        || opening.queries.len() != layout.num_queries
    {
        return Err(ShapeError("opening proof"));
    }
    values.push(EF::from(opening.batch_pow));
    for (cap, &pow) in opening.commit_caps.iter().zip(&opening.commit_pows) {
        push_digests(&mut values, cap, cap_len, "commit-phase commitment")?;
        values.push(EF::from(pow));
    }
    values.extend_from_slice(&opening.final_poly);
    values.push(EF::from(opening.query_pow));
    for query in &opening.queries {
        if query.rows.len() != shape.rounds.len()
            || query.input_paths.len() != shape.rounds.len()
            || query.fold_siblings.len() != layout.num_rounds
            || query.fold_paths.len() != layout.num_rounds
        {
            return Err(ShapeError("query"));
        }
        for ((round, rows), path) in shape.rounds.iter().zip(&query.rows).zip(&query.input_paths) {
            if rows.len() != round.len() {
                return Err(ShapeError("opened rows"));
            }
            for (matrix, row) in round.iter().zip(rows) {
                if row.len() != matrix.width {
                    return Err(ShapeError("opened row"));
                }
                values.extend(row.iter().map(|&v| EF::from(v)));
            }
            let levels = layout.round_height(round) - layout.cap_height;
            push_digests(&mut values, path, levels, "input path")?;
        }
        for (round, (sibling, path)) in query
            .fold_siblings
            .iter()
            .zip(&query.fold_paths)
            .enumerate()
        {
            values.push(*sibling);
            let levels = layout.log_max_height - round - 1 - layout.cap_height;
            push_digests(&mut values, path, levels, "commit-phase path")?;
        }
    }
    Ok(values)
}

/// Verifies the opening proof `proof` of `claims` (see the module documentation), continuing
/// `challenger`: a wrong proof makes the run fail.
///
/// # Panics
///
/// If the claims do not have `shape` (a bug in the program's construction).
pub fn verify(
    builder: &mut Builder,
    parameters: &StarkParameters,
    shape: &OpeningShape,
    challenger: &mut Challenger,
    claims: &[CommitmentClaims],
    proof: &OpeningCells,
) {
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
    // 1. The PCS transcript.
    for &value in &layout.pcs_seed {
        let value = builder.constant_felt(value);
        challenger.observe(builder, value);
    }
    for claim in claims {
        for point in claim.matrices.iter().flatten() {
            for &value in &point.values {
                challenger.observe_ext(builder, value);
            }
        }
    }
    challenger.check_witness(builder, layout.batch_pow_bits, proof.batch_pow);
    let alpha = challenger.sample_ext(builder);
    // 2. The FRI transcript.
    for &value in &layout.fri_seed {
        let value = builder.constant_felt(value);
        challenger.observe(builder, value);
    }
    let mut betas = Vec::with_capacity(layout.num_rounds);
    for (cap, &witness) in proof.commit_caps.iter().zip(&proof.commit_pows) {
        for digest in cap {
            challenger.observe_all(builder, digest);
        }
        challenger.check_witness(builder, layout.commit_pow_bits, witness);
        betas.push(challenger.sample_ext(builder));
    }
    for &coefficient in &proof.final_poly {
        challenger.observe_ext(builder, coefficient);
    }
    challenger.check_witness(builder, layout.query_pow_bits, proof.query_pow);
    let l = layout.log_max_height;
    let indices: Vec<Vec<Felt>> = (0..layout.num_queries)
        .map(|_| challenger.sample_bits(builder, l))
        .collect();

    // Query-independent: alpha's powers, the claimed sums `sum_k alpha^(offset + k) p_k(z)`
    // per (round, matrix, point) with their height and first power, `beta^2`.
    let mut offsets = std::collections::BTreeMap::<usize, usize>::new();
    let mut openings = Vec::new();
    for (round, claim) in shape.rounds.iter().zip(claims) {
        for (matrix, points) in round.iter().zip(&claim.matrices) {
            for point in points {
                let offset = offsets.entry(layout.height(matrix)).or_default();
                openings.push((layout.height(matrix), *offset, point));
                *offset += matrix.width;
            }
        }
    }
    let mut alpha_powers = vec![builder.constant_ext(EF::ONE)];
    while alpha_powers.len() < offsets.values().copied().max().unwrap_or(0) {
        let next = builder.mul(*alpha_powers.last().expect("one power"), alpha);
        alpha_powers.push(next);
    }
    let sums_at_z: Vec<Ext> = openings
        .iter()
        .map(|&(_, offset, point)| {
            let mut sum = builder.constant_ext(EF::ZERO);
            for (k, &value) in point.values.iter().enumerate() {
                let term = builder.mul(alpha_powers[offset + k], value);
                sum = builder.add(sum, term);
            }
            sum
        })
        .collect();
    let betas_squared: Vec<Ext> = betas.iter().map(|&beta| builder.mul(beta, beta)).collect();

    // 3. The queries.
    for (bits, query) in indices.iter().zip(&proof.queries) {
        for ((round, claim), (rows, path)) in shape
            .rounds
            .iter()
            .zip(claims)
            .zip(query.rows.iter().zip(&query.input_paths))
        {
            let opened: Vec<OpenedRow> = round
                .iter()
                .zip(rows)
                .map(|(matrix, values)| OpenedRow {
                    log_height: layout.height(matrix),
                    values: values.clone(),
                })
                .collect();
            let round_height = layout.round_height(round);
            merkle::verify_batch(
                builder,
                &claim.cap,
                &bits[l - round_height..],
                &opened,
                path,
            );
        }
        let reduced = reduced_openings(
            builder,
            &layout,
            shape,
            &query.rows,
            bits,
            &openings,
            &sums_at_z,
            &alpha_powers,
        );
        if let Some(&ro) = reduced.get(&layout.log_blowup) {
            builder.assert_zero(ro);
        }
        // The fold chain.
        let mut folded = reduced[&l];
        for round in 0..layout.num_rounds {
            let log_folded_height = l - round - 1;
            let sibling = query.fold_siblings[round];
            let bit = bits[round];
            let folded_coordinates = builder.coordinates(folded);
            let sibling_coordinates = builder.coordinates(sibling);
            let pairs: Vec<(Felt, Felt)> = folded_coordinates
                .iter()
                .zip(&sibling_coordinates)
                .map(|(&current, &other)| builder.swap_if(bit, current, other))
                .collect();
            let leaf = pairs
                .iter()
                .map(|pair| pair.0)
                .chain(pairs.iter().map(|pair| pair.1))
                .collect();
            merkle::verify_batch(
                builder,
                &proof.commit_caps[round],
                &bits[round + 1..l],
                &[OpenedRow {
                    log_height: log_folded_height,
                    values: leaf,
                }],
                &query.fold_paths[round],
            );
            folded = fri::fold_step(builder, &bits[round..l], betas[round], folded, sibling);
            if let Some(&ro) = reduced.get(&log_folded_height) {
                let rolled = builder.mul(betas_squared[round], ro);
                folded = builder.add(folded, rolled);
            }
        }
        // The final polynomial at the folded index's point.
        let x = fri::point(
            builder,
            &bits[layout.num_rounds..l],
            layout.log_final_height,
            F::ONE,
        );
        let eval = fri::evaluate(builder, &proof.final_poly, x);
        builder.assert_eq(eval, folded);
    }
}

/// One query's reduced openings per height: the numerators of the claims that share a point
/// and a height are summed first, and divided by `point - x` once.
#[allow(clippy::too_many_arguments)]
fn reduced_openings(
    builder: &mut Builder,
    layout: &OpeningLayout,
    shape: &OpeningShape,
    rows: &[Vec<Vec<Felt>>],
    bits: &[Felt],
    openings: &[(usize, usize, &PointClaim)],
    sums_at_z: &[Ext],
    alpha_powers: &[Ext],
) -> std::collections::BTreeMap<usize, Ext> {
    let l = layout.log_max_height;
    let generator = F::GENERATOR;
    let mut numerators: Vec<(usize, Ext, Ext)> = Vec::new();
    let mut opening = openings.iter().zip(sums_at_z);
    for (round, rows) in shape.rounds.iter().zip(rows) {
        for (matrix, values) in round.iter().zip(rows) {
            // A matrix's points take consecutive runs of alpha's powers: the row's sum at the
            // first point's powers is `sum_k alpha^(offset + k) row_k`, and at point `j`'s it is
            // that times `alpha^(j * width)`.
            let mut row_sum = None;
            for j in 0..matrix.num_points {
                let (&(height, offset, point), &sum_at_z) = opening.next().expect("one per point");
                let sum_at_x = match row_sum {
                    None => {
                        let mut sum = builder.constant_ext(EF::ZERO);
                        for (k, &value) in values.iter().enumerate() {
                            let term = builder.mul(alpha_powers[offset + k], Ext::from(value));
                            sum = builder.add(sum, term);
                        }
                        row_sum = Some(sum);
                        sum
                    }
                    Some(sum) => builder.mul(alpha_powers[j * matrix.width], sum),
                };
                let numerator = builder.sub(sum_at_z, sum_at_x);
                match numerators
                    .iter_mut()
                    .find(|(h, p, _)| *h == height && *p == point.point)
                {
                    Some((_, _, sum)) => *sum = builder.add(*sum, numerator),
                    None => numerators.push((height, point.point, numerator)),
                }
            }
        }
    }
    let mut query_points = std::collections::BTreeMap::new();
    let mut reduced = std::collections::BTreeMap::<usize, Ext>::new();
    for (height, point, numerator) in numerators {
        let x = *query_points
            .entry(height)
            .or_insert_with(|| fri::point(builder, &bits[l - height..], height, generator));
        let difference = builder.sub(point, Ext::from(x));
        let inverse = builder.inverse(difference);
        let term = builder.mul(numerator, inverse);
        let sum = match reduced.get(&height) {
            Some(&sum) => builder.add(sum, term),
            None => term,
        };
        reduced.insert(height, sum);
    }
    reduced
}
