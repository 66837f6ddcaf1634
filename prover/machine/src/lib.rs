//! The Gnomon zkVM machine: AIR tables that prove RV32IM execution segments, their trace
//! generation from the executor's segments, and segment and run proofs (Plonky3 batch STARK
//! with LogUp buses over BabyBear).
//!
//! It owns what a proof means. It must never accept an execution the executor would not
//! produce: every value a table holds is constrained, every table talks to the others only
//! through the buses of [`bus`], and the executor (`gnomon-executor`) is the specification the
//! constraints implement.
//!
//! # Architecture
//!
//! There is no CPU table. Each executed instruction is one row of the table for its kind of
//! operation ([`chips`]): additions, bitwise operations, comparisons, shifts, multiplications,
//! divisions, branches, jumps, loads, stores and `ecall`. A row receives the machine state
//! `(pc, clk)` on the `state` bus and sends its successor; fetches its decoded instruction from
//! the preprocessed program table on the `program` bus; and reads and writes registers and
//! memory on the `memory` bus. The boundary table sends the segment's start state and receives
//! its end state, both public values, so the rows between form one chain of states from start
//! to end: each state is produced and consumed once, and the clock strictly increases along the
//! chain (the verifier bounds the tables' heights so that no clock can wrap around the field).
//!
//! Instructions come from a preprocessed table rather than from memory (see [`rom`]): a fetch
//! is one lookup, and the program is committed once, in the verifying key.
//!
//! # Memory
//!
//! Registers and memory words are checked offline: every access receives the previous
//! `(address, value, timestamp)` of its address and sends the new one, with the gap between the
//! timestamps range-checked to be positive. Timestamps are segment-relative (`4 clk + slot +
//! 1`). At timestamp 0, the boundary sends each register's start value (public) and the paging
//! table sends each touched page's words; at the end, the boundary receives each register's end
//! value (public) and the paging table each touched word's last value. So within a segment,
//! every read returns the last value written.
//!
//! Across segments, memory is a Poseidon2 Merkle tree over 1 KiB pages (the executor's
//! `commitment` module). The paging table hashes each touched page's contents before and after
//! the segment in-circuit, and the Merkle table folds those leaves, with the untouched sibling
//! subtrees as witnesses shared by both phases, into the memory roots before and after, which
//! the boundary holds to the public values. Two segments chain when one's end state (pc,
//! registers, memory root) is the next one's start state ([`run::verify_run`] checks it;
//! aggregation will check it in-circuit).
//!
//! # Invariants every table keeps
//!
//! - Words travel as two 16-bit limbs, and every value written to a register or to memory has
//!   canonical limbs, so values read need no checks.
//! - Limbs are recombined into one field element only when the high limb is bounded (below
//!   2^14), so no 32-bit value above the field's modulus aliases a small one.
//! - Constraints have degree at most 3 (blowup 2); padding rows are zero and send nothing;
//!   flags that select behaviour are booleans bound by the program table.
//! - The row selectors (`is_first_row` and the like) gate constraints; they are never values.
//!
//! # Configuration
//!
//! [`config`] holds the STARK configuration and its security. [`segment`] proves and verifies
//! one segment; [`run`] a whole run; [`debug`] checks traces without proving them.
pub mod bus;
pub mod chips;
mod columns;
pub mod config;
pub mod debug;
pub mod gadgets;
pub mod public_values;
pub mod record;
pub mod rom;
pub mod run;
pub mod segment;
mod sub_builder;
pub mod verification;
