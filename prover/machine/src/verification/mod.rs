//! What verifying a batch proof evaluates, as data: each table's symbolic constraints (the
//! AIR's and LogUp's, in emission order), its widths and height, the quotient's chunk
//! constants, and the bus each lookup is laid out on. The verifier circuits (the Groth16
//! wrap's R1CS, the recursion machine's programs) evaluate the same description, each in its
//! own arithmetic; it is built once from the AIRs, natively, as p3-batch-stark 0.9.0-rc.2's
//! `verify_batch` infers it. [`opening`] does the same for the PCS: the rounds and matrices a
//! batch proof opens, the FRI layout, and a proof's openings laid out for the circuits.

pub mod opening;

use std::collections::HashMap;

use p3_air::symbolic::{AirLayout, SymbolicExpression, SymbolicExpressionExt};
use p3_air::{Air, BaseAir};
use p3_baby_bear::BabyBear;
use p3_batch_stark::{BatchShape, CommonData};
use p3_challenger::CanObserve;
use p3_commit::PolynomialSpace;
use p3_field::coset::TwoAdicMultiplicativeCoset;
use p3_field::{BasedVectorSpace, Field, PrimeCharacteristicRing};
use p3_lookup::{
    InteractionSymbolicBuilder, Kind, LogUpGadget, Lookup, LookupProtocol, Lookups,
    assert_uniform_tuple_width, check_multiplicity_height_bound,
};
use p3_uni_stark::StarkGenericConfig;

use crate::config::{EF as Ext, StarkParameters};

/// Base coefficients of an extension element.
pub const DEGREE: usize = <Ext as BasedVectorSpace<BabyBear>>::DIMENSION;

/// One constraint in emission order: an index into the base or the extension constraints.
#[derive(Clone, Copy, Debug)]
pub enum Emitted {
    Base(usize),
    Ext(usize),
}

/// What one table's check fixes when the circuit is built: its symbolic constraints (AIR and
/// LogUp, in emission order), its widths and heights, the quotient's chunk constants and the
/// bus of each lookup.
#[derive(Clone, Debug)]
pub struct TableConstraints {
    name: String,
    /// `n`: the trace has `2^n` rows.
    log_degree: usize,
    main_width: usize,
    main_next: bool,
    preprocessed_width: usize,
    preprocessed_next: bool,
    num_public_values: usize,
    num_lookups: usize,
    base: Vec<SymbolicExpression<BabyBear>>,
    ext: Vec<SymbolicExpressionExt<BabyBear, Ext>>,
    order: Vec<Emitted>,
    /// Per quotient chunk domain `D_j` (shift `s_j`): `s_j^-N`, so that
    /// `Z_Dj(zeta) = zeta^N * s_j^-N - 1`.
    chunk_shift_powers: Vec<BabyBear>,
    /// Per chunk `i`: the product over `j != i` of `1 / Z_Dj(s_i)`.
    chunk_denominators: Vec<BabyBear>,
}

impl TableConstraints {
    /// The constraints of `air` with `lookups` (the table's entry of the batch's `CommonData`),
    /// for a trace of `2^log_degree` rows and a preprocessed trace `preprocessed_width` wide
    /// (the common data's, zero for none).
    pub fn new<A>(
        name: impl Into<String>,
        air: &A,
        lookups: &[Lookup<BabyBear>],
        preprocessed_width: usize,
        log_degree: usize,
    ) -> Self
    where
        A: Air<InteractionSymbolicBuilder<BabyBear, Ext>>,
    {
        let gadget = LogUpGadget::new();
        assert_eq!(
            BaseAir::<BabyBear>::num_periodic_columns(air),
            0,
            "periodic columns are not supported"
        );
        let base_layout = AirLayout {
            preprocessed_width,
            main_width: BaseAir::<BabyBear>::width(air),
            num_public_values: BaseAir::<BabyBear>::num_public_values(air),
            ..Default::default()
        };
        // As `get_symbolic_constraints`: the accumulator column and one fraction column per
        // lookup, two challenges per lookup, one terminal.
        let layout = AirLayout {
            permutation_width: if lookups.is_empty() {
                0
            } else {
                lookups.len() + 1
            },
            num_permutation_challenges: lookups.len() * gadget.num_challenges(),
            num_permutation_values: usize::from(!lookups.is_empty()),
            ..base_layout
        };
        layout.validate_against_air::<BabyBear>(air);
        let mut builder = InteractionSymbolicBuilder::<BabyBear, Ext>::new(layout);
        gadget.eval_air_and_lookups(air, &mut builder, lookups);
        let base = builder.base_constraints();
        let ext = builder.extension_constraints();
        let emitted = builder.constraint_layout();
        let mut order = vec![None; emitted.total_constraints()];
        for (k, &index) in emitted.base_indices.iter().enumerate() {
            order[index] = Some(Emitted::Base(k));
        }
        for (k, &index) in emitted.ext_indices.iter().enumerate() {
            order[index] = Some(Emitted::Ext(k));
        }
        let order = order
            .into_iter()
            .map(|emitted| emitted.expect("every index is base or extension"))
            .collect();

        // The chunk count exactly as `verify_batch` infers it (no zero knowledge).
        let trace_domain = TwoAdicMultiplicativeCoset::<BabyBear>::new(BabyBear::ONE, log_degree)
            .expect("the two-adicity bounds the height");
        let log_num_chunks = p3_batch_stark::symbolic::get_log_num_quotient_chunks_for_domain::<
            _,
            Ext,
            A,
            _,
        >(air, base_layout, trace_domain, lookups, 0, &gadget);
        let quotient_domain = trace_domain
            .try_create_disjoint_domain(1 << (log_degree + log_num_chunks))
            .expect("the quotient domain fits the two-adicity");
        let chunks = quotient_domain.split_domains(1 << log_num_chunks);
        let chunk_shift_powers = chunks
            .iter()
            .map(|domain| domain.shift_inverse().exp_power_of_2(log_degree))
            .collect();
        let chunk_denominators = chunks
            .iter()
            .enumerate()
            .map(|(i, domain)| {
                chunks
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .map(|(_, other)| {
                        other
                            .vanishing_poly_at_point(domain.first_point())
                            .inverse()
                    })
                    .product()
            })
            .collect();
        Self {
            name: name.into(),
            log_degree,
            main_width: base_layout.main_width,
            main_next: !BaseAir::<BabyBear>::main_next_row_columns(air).is_empty(),
            preprocessed_width,
            preprocessed_next: preprocessed_width > 0
                && !BaseAir::<BabyBear>::preprocessed_next_row_columns(air).is_empty(),
            num_public_values: base_layout.num_public_values,
            num_lookups: lookups.len(),
            base,
            ext,
            order,
            chunk_shift_powers,
            chunk_denominators,
        }
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `n`: the trace has `2^n` rows.
    pub fn log_degree(&self) -> usize {
        self.log_degree
    }

    pub fn main_width(&self) -> usize {
        self.main_width
    }

    /// Whether the constraints read the next row of the main trace.
    pub fn main_next(&self) -> bool {
        self.main_next
    }

    /// The preprocessed trace's width, zero for none.
    pub fn preprocessed_width(&self) -> usize {
        self.preprocessed_width
    }

    /// Whether the constraints read the next row of the preprocessed trace.
    pub fn preprocessed_next(&self) -> bool {
        self.preprocessed_next
    }

    /// The AIR's and LogUp's constraints in emission order, each an index into
    /// [`Self::base_constraints`] or [`Self::ext_constraints`].
    pub fn order(&self) -> &[Emitted] {
        &self.order
    }

    pub fn base_constraints(&self) -> &[SymbolicExpression<BabyBear>] {
        &self.base
    }

    pub fn ext_constraints(&self) -> &[SymbolicExpressionExt<BabyBear, Ext>] {
        &self.ext
    }

    /// Per quotient chunk domain `D_j` (shift `s_j`): `s_j^-N`, so that
    /// `Z_Dj(zeta) = zeta^N * s_j^-N - 1`.
    pub fn chunk_shift_powers(&self) -> &[BabyBear] {
        &self.chunk_shift_powers
    }

    /// Per chunk `i`: the product over `j != i` of `1 / Z_Dj(s_i)`.
    pub fn chunk_denominators(&self) -> &[BabyBear] {
        &self.chunk_denominators
    }

    /// The number of constraints folded (AIR and LogUp).
    pub fn num_constraints(&self) -> usize {
        self.order.len()
    }

    /// The number of quotient chunks.
    pub fn num_quotient_chunks(&self) -> usize {
        self.chunk_shift_powers.len()
    }

    /// The number of LogUp lookups (fraction columns).
    pub fn num_lookups(&self) -> usize {
        self.num_lookups
    }

    /// The number of public values the table reads.
    pub fn num_public_values(&self) -> usize {
        self.num_public_values
    }

    /// Width of the opened permutation rows: `(lookups + 1) * 4` base columns, or none.
    pub fn permutation_width(&self) -> usize {
        if self.num_lookups == 0 {
            0
        } else {
            (self.num_lookups + 1) * DEGREE
        }
    }
}

/// The tables of a batch, with the bus of each lookup: what the LogUp challenges are laid out
/// by (`lay_out_lookup_challenges`: one bus per global bus name in order of first appearance,
/// a fresh one per local lookup; `prefix[bus] = alpha + (bus + 1) * beta^W`, `W` the widest
/// tuple).
#[derive(Clone, Debug)]
pub struct MachineShape {
    tables: Vec<TableConstraints>,
    bus_ids: Vec<Vec<usize>>,
    max_message_width: usize,
}

impl MachineShape {
    /// The shape of a batch proof of `airs` with `lookups` and preprocessed widths from the
    /// batch's `CommonData`, at the proof's extended degree bits `degree_bits` (no zero
    /// knowledge: the trace degree bits).
    ///
    /// # Panics
    ///
    /// If the heights break LogUp's multiplicity bound (`check_multiplicity_height_bound`:
    /// the native verifier rejects every proof of this shape), or lengths disagree.
    pub fn new<A>(
        names: &[String],
        airs: &[A],
        lookups: &[Lookups<BabyBear>],
        preprocessed_widths: &[usize],
        degree_bits: &[usize],
    ) -> Self
    where
        A: Air<InteractionSymbolicBuilder<BabyBear, Ext>>,
    {
        assert!(
            names.len() == airs.len()
                && lookups.len() == airs.len()
                && preprocessed_widths.len() == airs.len()
                && degree_bits.len() == airs.len(),
            "one entry per table"
        );
        let heights: Vec<usize> = degree_bits.iter().map(|&bits| 1 << bits).collect();
        check_multiplicity_height_bound(lookups, &heights)
            .expect("LogUp multiplicities cannot wrap at these heights");
        let tables = (0..airs.len())
            .map(|i| {
                TableConstraints::new(
                    names[i].clone(),
                    &airs[i],
                    &lookups[i],
                    preprocessed_widths[i],
                    degree_bits[i],
                )
            })
            .collect();
        let mut global: HashMap<&str, usize> = HashMap::new();
        // As natively: tuples on one global bus share a width across tables, or a shorter
        // tuple could alias a longer one.
        let mut global_width: HashMap<&str, usize> = HashMap::new();
        let mut next_bus = 0;
        let mut max_message_width = 1;
        let bus_ids = lookups
            .iter()
            .map(|table| {
                table
                    .iter()
                    .map(|lookup| {
                        let width = assert_uniform_tuple_width(&lookup.elements, "lookup");
                        max_message_width = max_message_width.max(width);
                        match &lookup.kind {
                            Kind::Global(name) => {
                                let expected = *global_width.entry(name).or_insert(width);
                                assert_eq!(expected, width, "bus {name:?}: tuple widths differ");
                                *global.entry(name).or_insert_with(|| {
                                    next_bus += 1;
                                    next_bus - 1
                                })
                            }
                            Kind::Local => {
                                next_bus += 1;
                                next_bus - 1
                            }
                        }
                    })
                    .collect()
            })
            .collect();
        Self {
            tables,
            bus_ids,
            max_message_width,
        }
    }

    /// The tables, in batch order.
    pub fn tables(&self) -> &[TableConstraints] {
        &self.tables
    }

    /// Per table, the bus of each of its lookups.
    pub fn bus_ids(&self) -> &[Vec<usize>] {
        &self.bus_ids
    }

    /// `W`: the widest tuple on any bus.
    pub fn max_message_width(&self) -> usize {
        self.max_message_width
    }

    /// Whether any table has a lookup (the batch then draws LogUp challenges and commits
    /// permutation columns).
    pub fn has_lookups(&self) -> bool {
        self.tables.iter().any(|table| table.num_lookups > 0)
    }
}

/// The `BatchShape` `verify_batch` describes its transcript with, from the same sources: the
/// tables, the batch's common data and the parameters the configuration was built from.
pub fn batch_shape<SC: StarkGenericConfig, A: BaseAir<BabyBear>>(
    airs: &[A],
    common: &CommonData<SC>,
    parameters: &StarkParameters,
) -> BatchShape {
    assert_eq!(common.lookups.len(), airs.len(), "one entry per table");
    BatchShape {
        trace_widths: airs.iter().map(BaseAir::width).collect(),
        public_value_counts: airs.iter().map(BaseAir::num_public_values).collect(),
        preprocessed_widths: preprocessed_widths(common, airs.len()),
        has_preprocessed_commitment: common.preprocessed.is_some(),
        num_lookup_instances: common.lookups.iter().filter(|l| !l.is_empty()).count(),
        // `stark_config` sets these two from the parameters.
        lookup_pow_bits: parameters.lookup_pow_bits,
        has_randomization_commitment: false,
        ood_pow_bits: parameters.deep_pow_bits,
    }
}

/// Each of the first `tables` tables' preprocessed width (zero without one).
pub fn preprocessed_widths<SC: StarkGenericConfig>(
    common: &CommonData<SC>,
    tables: usize,
) -> Vec<usize> {
    (0..tables)
        .map(|i| {
            common
                .preprocessed
                .as_ref()
                .and_then(|g| g.instances[i].as_ref().map(|m| m.width))
                .unwrap_or(0)
        })
        .collect()
}

/// Collects what a domain separator's seed observes: the values a verifier circuit's
/// transcript starts by observing.
#[derive(Debug, Default)]
pub struct Recorder(pub Vec<BabyBear>);

impl CanObserve<BabyBear> for Recorder {
    fn observe(&mut self, value: BabyBear) {
        self.0.push(value);
    }
}
