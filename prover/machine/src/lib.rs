//! The Gnomon zkVM machine: the AIR tables that prove RV32IM execution segments.
pub mod bus;
pub mod chips;
mod columns;
pub mod config;
pub mod debug;
pub mod gadgets;
pub mod public_values;
pub mod record;
pub mod rom;
pub mod segment;
mod sub_builder;
