//! Checking traces without proving them: every constraint of every table, row by row, and the
//! balance of every bus. What a failure names (table, row, constraint, bus and tuple) is what a
//! developer needs when a trace and its constraints disagree; the tests' malicious provers use
//! it to show that each tampered trace is caught before it would even reach the verifier.

use p3_air::check_all_constraints;
use p3_field::PrimeCharacteristicRing;
use p3_lookup::debug_util::{LookupDebugInstance, check_lookups};
use p3_matrix::dense::RowMajorMatrix;

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
    #[error("a bus does not balance: {0}")]
    Bus(String),
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

    let preprocessed: Vec<_> = keys
        .airs()
        .iter()
        .map(p3_air::BaseAir::<F>::preprocessed_trace)
        .collect();
    // Any fixed challenges do: the multiset comparison itself is exact.
    let challenges = [F::from_u32(0x1234_5678), F::from_u32(0x0765_4321)];
    let instances: Vec<LookupDebugInstance<'_, F>> = traces
        .iter()
        .zip(&preprocessed)
        .zip(&per_instance)
        .zip(&keys.common().lookups)
        .map(
            |(((main_trace, preprocessed_trace), public_values), lookups)| LookupDebugInstance {
                main_trace,
                preprocessed_trace,
                public_values,
                lookups,
                permutation_challenges: &challenges,
            },
        )
        .collect();
    // The checker reports an imbalance by panicking; turn that into an error.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_lookups(&instances))).map_err(
        |panic| {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|text| text.to_string()))
                .unwrap_or_default();
            TraceFailure::Bus(message)
        },
    )
}
