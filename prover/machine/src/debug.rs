//! Checking traces without proving them: every constraint of every table, row by row, and the
//! balance of every bus. What a failure names (table, row, constraint, bus and tuple) is what a
//! developer needs when a trace and its constraints disagree; the tests' malicious provers use
//! it to show that each tampered trace is caught before it would even reach the verifier.

use std::collections::BTreeMap;

use p3_air::check_all_constraints;
use p3_field::{PrimeCharacteristicRing, PrimeField32};
use p3_lookup::Kind;
use p3_lookup::traits::LookupTraceBuilder;
use p3_matrix::Matrix;
use p3_matrix::dense::{RowMajorMatrix, RowMajorMatrixView};
use p3_matrix::stack::ViewPair;

use crate::config::F;
use crate::segment::MachineKeys;

/// How a set of traces fails its constraints.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TraceFailure {
    #[error("table {table}: {failures} constraint violations, the first at row {row}: {detail}")]
    Constraint {
        table: &'static str,
        failures: usize,
        row: usize,
        detail: String,
    },
    #[error("bus {bus} does not balance: tuple {tuple:?} has net count {count}")]
    Bus {
        bus: String,
        tuple: Vec<u32>,
        count: i64,
    },
}

/// What one or more tables put on the buses: per bus and tuple, the net count.
type Traffic = BTreeMap<(String, Vec<u32>), F>;

/// Adds table `index`'s bus traffic in `trace`, times `sign`, to `traffic`.
fn add_traffic(
    keys: &MachineKeys,
    index: usize,
    trace: &RowMajorMatrix<F>,
    public_values: &[F],
    sign: F,
    traffic: &mut Traffic,
) {
    let public_values = keys.instance_public_values_of(index, public_values);
    let preprocessed = p3_air::BaseAir::<F>::preprocessed_trace(&keys.airs()[index]);
    let lookups = &keys.common().lookups[index];
    let height = trace.height();
    fn row_view(matrix: &RowMajorMatrix<F>, row: usize) -> RowMajorMatrixView<'_, F> {
        RowMajorMatrixView::new_row(&matrix.values[row * matrix.width..(row + 1) * matrix.width])
    }
    for row in 0..height {
        let next = (row + 1) % height;
        let main = ViewPair::new(row_view(trace, row), row_view(trace, next));
        let preprocessed = match &preprocessed {
            Some(matrix) => ViewPair::new(row_view(matrix, row), row_view(matrix, next)),
            None => ViewPair::new(
                RowMajorMatrixView::new(&[], 0),
                RowMajorMatrixView::new(&[], 0),
            ),
        };
        let builder =
            LookupTraceBuilder::<F, F>::new(main, preprocessed, &public_values, &[], height, row);
        for lookup in lookups.iter() {
            let Kind::Global(bus) = &lookup.kind else {
                continue;
            };
            for (position, (elements, multiplicity)) in lookup
                .elements
                .iter()
                .zip(&lookup.multiplicities)
                .enumerate()
            {
                let mut count = multiplicity.resolve(&builder);
                if let Some(flags) = &lookup.flags {
                    count *= flags[position].resolve(&builder);
                }
                if count == F::ZERO {
                    continue;
                }
                let tuple = elements
                    .iter()
                    .map(|element| element.resolve(&builder).as_canonical_u32());
                *traffic
                    .entry((bus.clone(), tuple.collect()))
                    .or_insert(F::ZERO) += sign * count;
            }
        }
    }
}

/// The first tuple of `traffic` whose net count is not zero.
fn first_imbalance(traffic: Traffic) -> Result<(), TraceFailure> {
    match traffic.into_iter().find(|(_, count)| *count != F::ZERO) {
        None => Ok(()),
        Some(((bus, tuple), count)) => {
            let count = i64::from(count.as_canonical_u32());
            let signed = if count > i64::from(F::ORDER_U32 / 2) {
                count - i64::from(F::ORDER_U32)
            } else {
                count
            };
            Err(TraceFailure::Bus {
                bus,
                tuple,
                count: signed,
            })
        }
    }
}

/// Checks that table `index`'s trace `changed` sends and receives on every bus exactly what
/// `original` does: when a set of traces balances with `original`, it still balances with
/// `changed` exactly then. (Much cheaper than re-checking every table's buses.)
pub fn check_same_bus_traffic(
    keys: &MachineKeys,
    index: usize,
    original: &RowMajorMatrix<F>,
    changed: &RowMajorMatrix<F>,
    public_values: &[F],
) -> Result<(), TraceFailure> {
    let mut traffic = Traffic::new();
    add_traffic(keys, index, changed, public_values, F::ONE, &mut traffic);
    add_traffic(
        keys,
        index,
        original,
        public_values,
        F::NEG_ONE,
        &mut traffic,
    );
    first_imbalance(traffic)
}

/// Checks `traces` (one per table of `keys`, in order) against every constraint and bus.
pub fn check_traces(
    keys: &MachineKeys,
    traces: &[RowMajorMatrix<F>],
    public_values: &[F],
) -> Result<(), TraceFailure> {
    let per_instance = keys.instance_public_values(public_values);
    for ((air, trace), public_values) in keys.airs().iter().zip(traces).zip(&per_instance) {
        let report = check_all_constraints(air, trace, public_values, Some(16));
        if let Some(first) = report.failures.first() {
            return Err(TraceFailure::Constraint {
                table: air.name(),
                failures: report.failures.len(),
                row: first.row,
                detail: format!("{first:?}"),
            });
        }
    }
    let mut traffic = Traffic::new();
    for (index, trace) in traces.iter().enumerate() {
        add_traffic(keys, index, trace, public_values, F::ONE, &mut traffic);
    }
    first_imbalance(traffic)
}

/// Starts a new peak: [`peak_memory_mib`] reports the peak since this call, so that a benchmark
/// can give each step its own (Linux's `clear_refs`; false where it is not available).
pub fn reset_peak_memory() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Peak resident memory of this process so far (or since [`reset_peak_memory`]), in MiB
/// (Linux's `VmHWM`; NaN elsewhere): what the benchmarks report beside their times.
pub fn peak_memory_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}
