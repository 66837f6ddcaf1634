//! gnomon-ed25519 must compile for the zkVM's RV32IM target, where its field operations are
//! the FP25519 syscalls of gnomon-guest (the native tests run the software ones instead).
//!
//! The check needs the guest toolchain (Debian's rustc-web, installed by scripts/setup); see
//! `gnomon_build::Toolchain::for_test` for what happens without it.

use std::path::Path;

#[test]
fn compiles_for_the_guest_target() {
    gnomon_build::assert_compiles_for_guest(Path::new(env!("CARGO_MANIFEST_DIR")));
}
