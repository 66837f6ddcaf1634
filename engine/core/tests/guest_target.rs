//! engine/core must compile for the zkVM's RV32IM target: the guest runs this very crate.
//!
//! The check needs the guest toolchain (Debian's rustc-web, installed by scripts/setup); see
//! `gnomon_build::Toolchain::for_test` for what happens without it.

use std::path::Path;

#[test]
fn compiles_for_the_guest_target() {
    gnomon_build::assert_compiles_for_guest(Path::new(env!("CARGO_MANIFEST_DIR")));
}
