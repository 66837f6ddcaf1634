//! Test support: hand-written programs, proving them, and malicious provers.
#![allow(dead_code)]

use gnomon_executor::isa::{Instruction, Opcode};
use gnomon_executor::{Input, Options, Program, Segment, SegmentSize, trace, write_elf};
use gnomon_machine::config::{F, StarkParameters};
use gnomon_machine::debug::{check_same_bus_traffic, check_traces};
use gnomon_machine::public_values::PublicValues;
use gnomon_machine::segment::MachineKeys;
use p3_field::PrimeCharacteristicRing;
use p3_matrix::Matrix;

/// Where hand-written programs keep their data.
pub const DATA: u32 = 0x0010_0000;

pub fn op(opcode: Opcode, rd: u8, rs1: u8, rs2: u8, imm: u32) -> u32 {
    Instruction {
        opcode,
        rd,
        rs1,
        rs2,
        imm,
    }
    .encode()
}

/// `text` as a program, with a 4 KiB data segment holding `data` at [`DATA`].
pub fn program(text: &[u32], data: &[u8]) -> Program {
    Program::from_elf(&write_elf(text, DATA, data, 0x1000)).unwrap()
}

/// The segments of a run of `program` cut every `2^log2` cycles, up to `cycle_limit` cycles
/// (the run may trap at the limit: only complete segments are returned).
pub fn segments(program: &Program, input: &Input, log2: u32, cycle_limit: u64) -> Vec<Segment> {
    let options = Options {
        segment_size: SegmentSize::new(log2).unwrap(),
        cycle_limit,
    };
    trace(program, input, &options).1
}

pub fn keys(program: &Program) -> MachineKeys {
    MachineKeys::new(program, StarkParameters::testing())
}

/// Proves and verifies `segment`, and checks that the proof survives serialization.
pub fn prove_and_verify(keys: &MachineKeys, segment: &Segment) -> PublicValues {
    let proof = keys.prove_segment(segment).expect("the segment proves");
    let values = keys.verify_segment(&proof).expect("the proof verifies");
    let decoded = gnomon_machine::segment::SegmentProof::from_bytes(&proof.to_bytes()).unwrap();
    assert_eq!(keys.verify_segment(&decoded).unwrap(), values);
    values
}

/// Whether the checker rejects honest traces with table `index`'s replaced by `tampered`:
/// its own constraints fail, or its bus traffic differs from the honest trace's.
fn checker_rejects(
    keys: &MachineKeys,
    honest: &p3_matrix::dense::RowMajorMatrix<F>,
    tampered: &p3_matrix::dense::RowMajorMatrix<F>,
    index: usize,
    public_values: &[F],
) -> bool {
    let air = &keys.airs()[index];
    let own = keys.instance_public_values_of(index, public_values);
    !p3_air::check_all_constraints(air, tampered, &own, Some(1)).is_ok()
        || check_same_bus_traffic(keys, index, honest, tampered, public_values).is_err()
}

/// How many tampered traces per table go through the real prover and verifier: every column
/// with `GNOMON_TAMPER_ALL=1`, otherwise an even spread of this many columns (the checker
/// still sees every column).
const VERIFIED_COLUMNS: usize = 4;

/// The malicious prover: for every column of each named table, adds one to the cell in each of
/// the first `rows` rows that hold an event (padding rows are all zero), and requires the
/// debug checker to reject every such trace; for the first of those rows, it also proves the
/// tampered trace and requires the real verifier to reject the proof (for every column, or an
/// even spread of them; see [`VERIFIED_COLUMNS`]).
pub fn assert_every_column_is_constrained(
    keys: &MachineKeys,
    segment: &Segment,
    tables: &[&str],
    rows: usize,
) {
    let (record, traces) = keys.traces(segment);
    let public_values = record.public_values.to_field_elements();
    check_traces(keys, &traces, &public_values).expect("the honest traces satisfy everything");
    for &table in tables {
        let index = keys
            .airs()
            .iter()
            .position(|air| air.name() == table)
            .unwrap_or_else(|| panic!("no table {table}"));
        let trace = &traces[index];
        let real_rows: Vec<usize> = (0..trace.height())
            .filter(|&row| {
                trace
                    .row_slice(row)
                    .unwrap()
                    .iter()
                    .any(|value| *value != F::ZERO)
            })
            .take(rows)
            .collect();
        assert!(
            !real_rows.is_empty(),
            "table {table} has no events in this segment"
        );
        let all = std::env::var("GNOMON_TAMPER_ALL").as_deref() == Ok("1");
        let stride = if all {
            1
        } else {
            trace.width().div_ceil(VERIFIED_COLUMNS)
        };
        for column in 0..trace.width() {
            for (attempt, &row) in real_rows.iter().enumerate() {
                let mut tampered = trace.clone();
                tampered.values[row * trace.width() + column] += F::ONE;
                assert!(
                    checker_rejects(keys, trace, &tampered, index, &public_values),
                    "table {table}: the checker accepts column {column} of row {row} + 1"
                );
                if attempt == 0 && column % stride == 0 {
                    let mut tampered_traces = traces.clone();
                    tampered_traces[index] = tampered;
                    let proof = keys
                        .prove_traces(&public_values, &tampered_traces)
                        .expect("a malicious prover still gets a proof object");
                    assert!(
                        keys.verify_segment(&proof).is_err(),
                        "table {table}: the verifier accepts column {column} of row {row} + 1"
                    );
                }
            }
        }
    }
}
