//! One processor per instruction. Each runs after its checks in [`crate::validation`] passed
//! and only changes state; the account structs say which accounts an instruction takes and
//! which of them Anchor checks by type, owner and PDA seeds.
//!
//! Anchor's `#[program]` finds each accounts struct's generated client modules at the crate
//! root, hence the glob re-exports below; the processors' shared name `process` is always
//! called through its module, never through them.

#![allow(ambiguous_glob_reexports)]

pub mod admin;
pub mod apply_balances;
pub mod claim_withdrawal;
pub mod deposit;
pub mod escape;
pub mod initialize_exchange;
pub mod reclaim_deposit;
pub mod rotate_program;
pub mod set_operator;
pub mod set_paused;
pub mod submit_batch;
pub mod trader_transfer;

pub use admin::*;
pub use apply_balances::*;
pub use deposit::*;
pub use initialize_exchange::*;
pub use submit_batch::*;
pub use trader_transfer::*;
