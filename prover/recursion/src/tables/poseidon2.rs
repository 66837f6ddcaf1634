//! The Poseidon2 table: one permutation per row (the machine's permutation AIR), reading its
//! 16 input cells and writing its 16 output cells, all base-field values.
//!
//! Padding rows permute zero and touch no cell.

use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;

use gnomon_machine::chips::poseidon2::Permutation;
use gnomon_machine::chips::trace_from_rows;
use gnomon_machine::config::F;

use super::{base, preprocessed_row, read, write};
use crate::program::{Address, Instruction, Memory, POSEIDON2_WIDTH as LANES, Program};

/// Preprocessed: is_real, input[16], output[16], output_reads[16].
const PREPROCESSED: usize = 1 + 3 * LANES;

#[derive(Clone, Debug)]
pub struct Poseidon2Table {
    permutation: Permutation,
    pub(super) preprocessed: RowMajorMatrix<F>,
}

type Call = ([Address; LANES], [Address; LANES]);

fn calls(program: &Program) -> Vec<Call> {
    program
        .instructions()
        .iter()
        .filter_map(|instruction| match instruction {
            Instruction::Poseidon2 { input, output } => Some((**input, **output)),
            _ => None,
        })
        .collect()
}

impl Poseidon2Table {
    pub fn new(program: &Program) -> Self {
        let preprocessed = trace_from_rows(
            PREPROCESSED,
            calls(program).into_iter(),
            |row, (input, output)| {
                row[0] = F::ONE;
                for lane in 0..LANES {
                    row[1 + lane] = input[lane].field();
                    row[1 + LANES + lane] = output[lane].field();
                    row[1 + 2 * LANES + lane] = F::from_u32(program.reads(output[lane]));
                }
            },
        );
        Self {
            permutation: Permutation::default(),
            preprocessed,
        }
    }

    pub fn generate(&self, program: &Program, memory: &Memory) -> RowMajorMatrix<F> {
        let calls = calls(program);
        let height = self.preprocessed.height();
        let mut inputs: Vec<[F; LANES]> = calls
            .iter()
            .map(|(input, _)| input.map(|address| memory.coordinates(address)[0]))
            .collect();
        inputs.resize(height, [F::ZERO; LANES]);
        self.permutation.generate(inputs)
    }

    pub fn width(&self) -> usize {
        Permutation::WIDTH
    }

    pub fn max_constraint_degree(&self) -> Option<usize> {
        self.permutation.max_constraint_degree()
    }

    pub fn eval<AB: InteractionBuilder<F = F>>(&self, builder: &mut AB) {
        let fixed = preprocessed_row(builder);
        let (input, output) = self.permutation.eval(builder, 0);
        let is_real = fixed[0].clone();
        for (lane, value) in input.into_iter().enumerate() {
            read(
                builder,
                fixed[1 + lane].clone(),
                base(value),
                is_real.clone(),
            );
        }
        for (lane, value) in output.into_iter().enumerate() {
            let (address, reads) = (
                fixed[1 + LANES + lane].clone(),
                fixed[1 + 2 * LANES + lane].clone(),
            );
            write(builder, address, base(value), reads);
        }
    }
}
