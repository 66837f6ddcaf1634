//! The boundary of a segment: where its execution starts and ends, as the public values say.
//!
//! One real row (the first) sends the start state `(start_pc, 0)` and each register's start
//! value at timestamp 0, and receives the end state `(end_pc, cycles)`, each register's end
//! value at the timestamp of its last access, and, when the segment halted, the exit code and
//! digests the HALT syscall reported, and, when memory was touched, the memory roots before and
//! after from the Merkle table. The public values themselves are the tuple fields, so a proof
//! can only balance its buses for the values it states.

use core::borrow::{Borrow, BorrowMut};

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use crate::bus::{self, Buses, CommitmentBuses, receive, send};
use crate::chips::lookup::LookupCounts;
use crate::chips::{MIN_HEIGHT, TraceGenerator};
use crate::columns::impl_columns;
use crate::config::F;
use crate::public_values::offset;
use crate::record::ExecutionRecord;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct BoundaryCols<T> {
    pub is_real: T,
    /// Timestamp of the last access to each register.
    pub final_ts: [T; 32],
}

impl_columns!(BoundaryCols, BOUNDARY_WIDTH);

#[derive(Clone, Debug, Default)]
pub struct BoundaryAir;

impl TraceGenerator for BoundaryAir {
    fn max_rows(&self, _: super::SegmentBudget) -> u64 {
        MIN_HEIGHT as u64
    }

    fn generate_trace(&self, record: &ExecutionRecord, _: &mut LookupCounts) -> RowMajorMatrix<F> {
        let mut trace =
            RowMajorMatrix::new(vec![F::ZERO; MIN_HEIGHT * BOUNDARY_WIDTH], BOUNDARY_WIDTH);
        let row: &mut BoundaryCols<F> = trace.values[..BOUNDARY_WIDTH].borrow_mut();
        row.is_real = F::ONE;
        row.final_ts = record.register_final_ts.map(F::from_u32);
        trace
    }
}

impl BaseAir<F> for BoundaryAir {
    fn width(&self) -> usize {
        BOUNDARY_WIDTH
    }

    /// Degree 3 leaves room to pack two bus interactions into one auxiliary column.
    fn max_constraint_degree(&self) -> Option<usize> {
        Some(crate::chips::MAX_CONSTRAINT_DEGREE)
    }

    fn num_public_values(&self) -> usize {
        offset::LEN
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for BoundaryAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let cols: &BoundaryCols<AB::Var> = main.current_slice().borrow();
        let public: Vec<AB::Expr> = builder.public_values().iter().map(|&v| v.into()).collect();
        let is_real: AB::Expr = cols.is_real.into();
        // Exactly one real row, the first. (The row selectors are unnormalized Lagrange
        // polynomials: they gate constraints, they are never values.)
        let next_is_real = main.next_slice()[0];
        builder.assert_bool(cols.is_real);
        builder.when_first_row().assert_one(cols.is_real);
        builder.when_transition().assert_zero(next_is_real);

        builder.state(
            public[offset::START_PC].clone(),
            AB::Expr::ZERO,
            send(is_real.clone()),
        );
        builder.state(
            public[offset::END_PC].clone(),
            public[offset::CYCLES].clone(),
            receive(is_real.clone()),
        );
        for register in 0..32 {
            let start = offset::START_REGISTERS + 2 * register;
            let end = offset::END_REGISTERS + 2 * register;
            let address = AB::Expr::from_usize(register);
            builder.memory(
                address.clone(),
                [public[start].clone(), public[start + 1].clone()],
                AB::Expr::ZERO,
                send(is_real.clone()),
            );
            builder.memory(
                address,
                [public[end].clone(), public[end + 1].clone()],
                cols.final_ts[register].into(),
                receive(is_real.clone()),
            );
        }
        // The memory roots, from the Merkle table, when the segment touched memory (otherwise
        // the verifier requires the two roots to be equal).
        let touched = is_real.clone() * public[offset::TOUCHED].clone();
        for (phase, start) in [offset::ROOT_BEFORE, offset::ROOT_AFTER]
            .into_iter()
            .enumerate()
        {
            let root: [AB::Expr; 8] = core::array::from_fn(|i| public[start + i].clone());
            builder.merkle(
                AB::Expr::from_usize(phase),
                AB::Expr::from_usize(gnomon_executor::commitment::DEPTH),
                AB::Expr::ZERO,
                root,
                receive(touched.clone()),
            );
        }
        let halt: Vec<AB::Expr> = (offset::EXIT_CODE..offset::LEN)
            .map(|i| public[i].clone())
            .collect();
        builder.push_interaction(
            bus::HALT,
            halt,
            receive(is_real * public[offset::HALTED].clone()),
        );
    }
}
