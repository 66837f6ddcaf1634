//! gnomon-ed25519 must compile for the zkVM's RV32IM target, where its field operations are
//! the FP25519 syscalls of gnomon-guest (the native tests run the software ones instead).
//!
//! The check needs the guest toolchain (Debian's rustc-web, installed by scripts/setup). Where
//! it is missing the test says so and passes, except in CI (`GNOMON_CI=1`), where a missing
//! toolchain is a failure.

use std::path::Path;

use gnomon_build::{GuestCrate, Toolchain};

#[test]
fn compiles_for_the_guest_target() {
    let toolchain = match Toolchain::locate() {
        Ok(toolchain) => toolchain,
        Err(missing) if std::env::var_os("GNOMON_CI").is_some_and(|value| value == "1") => {
            panic!("GNOMON_CI=1 but the guest toolchain is unavailable: {missing}")
        }
        Err(missing) => {
            eprintln!("skipping the guest-target build of gnomon-ed25519: {missing}");
            return;
        }
    };
    let krate = GuestCrate::open(Path::new(env!("CARGO_MANIFEST_DIR")))
        .expect("guest/ed25519 is a crate inside a workspace");
    if let Err(error) = krate.check(&toolchain) {
        panic!("gnomon-ed25519 does not build for the guest target: {error}");
    }
}
