//! The lookup table: every 16-bit value, and the bitwise operations of every pair of bytes.
//!
//! 2^16 preprocessed rows; row `r` holds `a = r % 256`, `b = r / 256` and `a & b`, `a | b`,
//! `a ^ b`. It provides the `range16` bus (value `a + 256 b`, that is `r`) and the `bytes` bus,
//! each tuple as many times as the main-trace multiplicity says. Other tables only ever request
//! these tuples, so any value they range-check must really be below 2^16.

use p3_air::{Air, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

use crate::bus::{Buses, ByteOp};
use crate::chips::TraceGenerator;
use crate::config::F;
use crate::record::ExecutionRecord;

const ROWS: usize = 1 << 16;
const OPS: [ByteOp; 3] = [ByteOp::And, ByteOp::Or, ByteOp::Xor];

/// How often each lookup was asked for, by the tables of one segment.
#[derive(Clone, Debug)]
pub struct LookupCounts {
    range16: Vec<u32>,
    bytes: [Vec<u32>; 3],
}

impl Default for LookupCounts {
    fn default() -> Self {
        Self {
            range16: vec![0; ROWS],
            bytes: core::array::from_fn(|_| vec![0; ROWS]),
        }
    }
}

impl LookupCounts {
    /// Counts a range check of `value` (which must be below 2^16).
    pub fn range16(&mut self, value: u32) {
        self.range16[value as usize] += 1;
    }

    /// Counts a byte operation on bytes `a` and `b`.
    pub fn byte_op(&mut self, op: ByteOp, a: u8, b: u8) {
        self.bytes[op as usize - 1][usize::from(a) | usize::from(b) << 8] += 1;
    }
}

#[derive(Clone, Debug, Default)]
pub struct LookupAir;

impl TraceGenerator for LookupAir {
    fn max_rows(&self, _: super::SegmentBudget) -> u64 {
        ROWS as u64
    }

    /// Multiplicities: range16, then one column per byte operation, from the finished `counts`.
    fn generate_trace(&self, _: &ExecutionRecord, counts: &mut LookupCounts) -> RowMajorMatrix<F> {
        let mut values = Vec::with_capacity(ROWS * 4);
        for row in 0..ROWS {
            values.push(F::from_u32(counts.range16[row]));
            values.extend(counts.bytes.iter().map(|column| F::from_u32(column[row])));
        }
        RowMajorMatrix::new(values, 4)
    }
}

impl BaseAir<F> for LookupAir {
    fn width(&self) -> usize {
        4
    }

    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<F>> {
        let mut values = Vec::with_capacity(ROWS * 5);
        for row in 0..ROWS as u32 {
            let (a, b) = (row & 0xff, row >> 8);
            values.extend([a, b, a & b, a | b, a ^ b].map(F::from_u32));
        }
        Some(RowMajorMatrix::new(values, 5))
    }

    fn preprocessed_width(&self) -> usize {
        5
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }

    fn preprocessed_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for LookupAir {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let multiplicities = main.current_slice();
        let preprocessed = builder.preprocessed().current_slice().to_vec();
        let [a, b, and, or, xor] = [0, 1, 2, 3, 4].map(|i| preprocessed[i].into());
        let value = a.clone() + b.clone() * AB::Expr::from_u32(256);
        let provided = |m: AB::Var| Count::provided(-m.into());
        builder.range16(value, provided(multiplicities[0]));
        for ((op, result), m) in OPS
            .into_iter()
            .zip([and, or, xor])
            .zip(&multiplicities[1..])
        {
            builder.byte_op(op, a.clone(), b.clone(), result, provided(*m));
        }
    }
}
