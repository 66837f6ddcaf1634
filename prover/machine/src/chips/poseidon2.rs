//! The Poseidon2 table: one BabyBear width-16 permutation per row, as Plonky3's
//! `Poseidon2Air` constrains it (S-box degree 7 with one register, 4 + 4 full rounds, 13 partial
//! rounds, the published round constants), provided on the `poseidon2` bus as the tuple
//! `(input[16], output[16])` with a multiplicity.
//!
//! Every row is a correct permutation, padding rows included (they permute zero and provide it
//! zero times), so whatever multiplicity the prover writes, the bus only ever holds true
//! input-output pairs: requesting a permutation is proving it.

use std::sync::Arc;

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_baby_bear::{
    BABYBEAR_POSEIDON2_RC_16_EXTERNAL_FINAL, BABYBEAR_POSEIDON2_RC_16_EXTERNAL_INITIAL,
    BABYBEAR_POSEIDON2_RC_16_INTERNAL, GenericPoseidon2LinearLayersBabyBear,
};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;
use p3_poseidon2::ExternalLayerConstants;
use p3_poseidon2_air::{
    Poseidon2Air, Poseidon2Cols, RoundConstants, generate_trace_rows, num_cols,
};

use crate::bus::CommitmentBuses;
use crate::chips::lookup::LookupCounts;
use crate::chips::{MIN_HEIGHT, TraceGenerator};
use crate::config::F;
use crate::record::ExecutionRecord;
use crate::sub_builder::SubBuilder;

const WIDTH: usize = 16;
const SBOX_DEGREE: u64 = 7;
const SBOX_REGISTERS: usize = 1;
const HALF_FULL_ROUNDS: usize = 4;
const PARTIAL_ROUNDS: usize = 13;

type PermutationAir = Poseidon2Air<
    F,
    GenericPoseidon2LinearLayersBabyBear,
    WIDTH,
    SBOX_DEGREE,
    SBOX_REGISTERS,
    HALF_FULL_ROUNDS,
    PARTIAL_ROUNDS,
>;
type PermutationCols<T> =
    Poseidon2Cols<T, WIDTH, SBOX_DEGREE, SBOX_REGISTERS, HALF_FULL_ROUNDS, PARTIAL_ROUNDS>;

/// Plonky3's AIR of one permutation per row, with the constants of
/// `p3_baby_bear::default_babybear_poseidon2_16`: the permutation the memory commitment, the
/// transcript and the precompile all use. Tables embed it at a column offset and add their own
/// columns and bus interactions around it.
#[derive(Clone)]
pub struct Permutation {
    air: Arc<PermutationAir>,
    constants: Arc<RoundConstants<F, WIDTH, HALF_FULL_ROUNDS, PARTIAL_ROUNDS>>,
}

impl std::fmt::Debug for Permutation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Poseidon2 permutation")
    }
}

impl Default for Permutation {
    fn default() -> Self {
        let external = ExternalLayerConstants::new(
            BABYBEAR_POSEIDON2_RC_16_EXTERNAL_INITIAL.to_vec(),
            BABYBEAR_POSEIDON2_RC_16_EXTERNAL_FINAL.to_vec(),
        );
        let constants =
            RoundConstants::try_from_layers(&external, &BABYBEAR_POSEIDON2_RC_16_INTERNAL)
                .expect("the published constants have the AIR's shape");
        Self {
            air: Arc::new(PermutationAir::new(constants.clone())),
            constants: Arc::new(constants),
        }
    }
}

impl Permutation {
    /// Columns of one permutation.
    pub const WIDTH: usize =
        num_cols::<WIDTH, SBOX_DEGREE, SBOX_REGISTERS, HALF_FULL_ROUNDS, PARTIAL_ROUNDS>();

    /// One row of [`Self::WIDTH`] columns per input.
    pub fn generate(&self, inputs: Vec<[F; WIDTH]>) -> RowMajorMatrix<F> {
        generate_trace_rows::<
            F,
            GenericPoseidon2LinearLayersBabyBear,
            WIDTH,
            SBOX_DEGREE,
            SBOX_REGISTERS,
            HALF_FULL_ROUNDS,
            PARTIAL_ROUNDS,
        >(inputs, &self.constants, 0)
    }

    pub fn max_constraint_degree(&self) -> Option<usize> {
        BaseAir::<F>::max_constraint_degree(self.air.as_ref())
    }

    /// Constrains columns `offset..offset + WIDTH` of every row to be one permutation, and
    /// returns its input and output.
    pub fn eval<AB: AirBuilder<F = F>>(
        &self,
        builder: &mut AB,
        offset: usize,
    ) -> ([AB::Expr; WIDTH], [AB::Expr; WIDTH]) {
        let main = builder.main();
        let columns: &PermutationCols<AB::Var> =
            core::borrow::Borrow::borrow(&main.current_slice()[offset..offset + Self::WIDTH]);
        let input = columns.inputs.map(Into::into);
        let output = columns.ending_full_rounds[HALF_FULL_ROUNDS - 1]
            .post
            .map(Into::into);
        self.air
            .eval(&mut SubBuilder::new(builder, offset..offset + Self::WIDTH));
        (input, output)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Poseidon2Chip {
    permutation: Permutation,
}

impl TraceGenerator for Poseidon2Chip {
    /// Every page hashing, both compressions of every Merkle node and every permutation
    /// syscall, before the requests are deduplicated.
    fn max_rows(&self, budget: super::SegmentBudget) -> u64 {
        budget.page_permutations()
            + 2 * budget.merkle_nodes()
            + budget.calls(gnomon_guest_abi::syscall::POSEIDON2_PERMUTE)
    }

    fn generate_trace(&self, record: &ExecutionRecord, _: &mut LookupCounts) -> RowMajorMatrix<F> {
        let requests = record.poseidon2_requests();
        let height = requests.len().next_power_of_two().max(MIN_HEIGHT);
        let mut inputs: Vec<[F; WIDTH]> = requests.iter().map(|(input, _)| *input).collect();
        inputs.resize(height, [F::ZERO; WIDTH]);
        let permutations = self.permutation.generate(inputs);
        let width = Permutation::WIDTH + 1;
        let mut values = Vec::with_capacity(height * width);
        for (row, permutation) in permutations
            .values
            .chunks_exact(Permutation::WIDTH)
            .enumerate()
        {
            let multiplicity = requests.get(row).map_or(0, |(_, count)| *count);
            values.push(F::from_u32(multiplicity));
            values.extend_from_slice(permutation);
        }
        RowMajorMatrix::new(values, width)
    }

    /// Permutations of zero that no one asked for, as the generated trace is padded with.
    fn pad(&self, mut trace: RowMajorMatrix<F>, height: usize) -> RowMajorMatrix<F> {
        let padding = self.permutation.generate(vec![[F::ZERO; WIDTH]; 1]);
        let mut row = vec![F::ZERO];
        row.extend_from_slice(&padding.values);
        while trace.values.len() < height * row.len() {
            trace.values.extend_from_slice(&row);
        }
        trace
    }
}

impl BaseAir<F> for Poseidon2Chip {
    fn width(&self) -> usize {
        Permutation::WIDTH + 1
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        Vec::new()
    }

    fn max_constraint_degree(&self) -> Option<usize> {
        self.permutation.max_constraint_degree()
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for Poseidon2Chip {
    fn eval(&self, builder: &mut AB) {
        let multiplicity = builder.main().current_slice()[0];
        let (input, output) = self.permutation.eval(builder, 1);
        builder.poseidon2(input, output, Count::provided(-multiplicity.into()));
    }
}
