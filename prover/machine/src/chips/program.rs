//! The program table: the decoded text, preprocessed (see [`crate::rom`]), and how often each
//! instruction was fetched.

use std::sync::Arc;

use p3_air::{Air, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

use crate::bus::{Buses, Fetch};
use crate::chips::lookup::LookupCounts;
use crate::chips::{MIN_HEIGHT, TraceGenerator};
use crate::config::F;
use crate::gadgets::word;
use crate::record::ExecutionRecord;
use crate::rom::Rom;

/// Preprocessed columns: the fields of the `program` bus tuple.
const FIELDS: usize = 9;

#[derive(Clone, Debug)]
pub struct ProgramAir {
    rom: Arc<Rom>,
}

impl ProgramAir {
    pub fn new(rom: Arc<Rom>) -> Self {
        Self { rom }
    }

    fn height(&self) -> usize {
        self.rom.len().next_power_of_two().max(MIN_HEIGHT)
    }

    fn row_of(&self, pc: u32) -> usize {
        (pc - gnomon_guest_abi::memory::TEXT_START) as usize / 4
    }
}

impl TraceGenerator for ProgramAir {
    /// The program's own height, whatever the segment.
    fn max_rows(&self, _: super::SegmentBudget) -> u64 {
        self.height() as u64
    }

    fn generate_trace(&self, record: &ExecutionRecord, _: &mut LookupCounts) -> RowMajorMatrix<F> {
        let mut counts = vec![0u32; self.height()];
        for event in &record.instructions {
            counts[self.row_of(event.pc)] += 1;
        }
        for event in &record.syscalls {
            counts[self.row_of(event.pc)] += 1;
        }
        RowMajorMatrix::new_col(counts.into_iter().map(F::from_u32).collect())
    }
}

impl BaseAir<F> for ProgramAir {
    fn width(&self) -> usize {
        1
    }

    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<F>> {
        // Padding rows are all zero: pc 0 is no text address and op 0 is `Invalid`, which no
        // table fetches.
        let mut values = vec![F::ZERO; self.height() * FIELDS];
        for ((pc, instruction), row) in self.rom.iter().zip(values.chunks_exact_mut(FIELDS)) {
            let [imm_lo, imm_hi] = word(instruction.imm);
            row.copy_from_slice(&[
                F::from_u32(pc),
                F::from_u32(instruction.op as u32),
                F::from_u8(instruction.rd),
                F::from_u8(instruction.rs1),
                F::from_u8(instruction.rs2),
                imm_lo,
                imm_hi,
                F::from_bool(instruction.b_is_imm),
                F::from_bool(instruction.write_rd),
            ]);
        }
        Some(RowMajorMatrix::new(values, FIELDS))
    }

    fn preprocessed_width(&self) -> usize {
        FIELDS
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }

    fn preprocessed_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for ProgramAir {
    fn eval(&self, builder: &mut AB) {
        let multiplicity = builder.main().current_slice()[0];
        let fields: Vec<AB::Expr> = builder
            .preprocessed()
            .current_slice()
            .iter()
            .map(|&v| v.into())
            .collect();
        let fetch = Fetch {
            pc: fields[0].clone(),
            op: fields[1].clone(),
            rd: fields[2].clone(),
            rs1: fields[3].clone(),
            rs2: fields[4].clone(),
            imm: [fields[5].clone(), fields[6].clone()],
            b_is_imm: fields[7].clone(),
            write_rd: fields[8].clone(),
        };
        builder.program(fetch, Count::provided(-multiplicity.into()));
    }
}
