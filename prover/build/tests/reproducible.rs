//! The committed guest ELFs are exactly what the sources build to (the executor's tests check
//! that the committed commitments are theirs). Needs the guest toolchain (scripts/setup installs it): without it
//! the test prints a note and passes, unless `GNOMON_CI=1` says every tool must be present.

use std::path::Path;

use gnomon_build::{GuestCrate, Toolchain};

#[test]
fn committed_guest_elves_rebuild_byte_for_byte() {
    let Some(toolchain) = Toolchain::for_test("the reproducibility check") else {
        return;
    };
    let guest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../guest");
    let mut programs: Vec<_> = std::fs::read_dir(guest.join("programs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    programs.sort();
    assert!(!programs.is_empty());
    for dir in programs {
        let crate_ = GuestCrate::open(&dir).unwrap();
        let built = std::fs::read(crate_.build(&toolchain).unwrap()).unwrap();
        let name = &crate_.package;
        let committed = std::fs::read(guest.join(format!("elf/{name}.elf")))
            .unwrap_or_else(|error| panic!("guest/elf/{name}.elf: {error} (run `gnomon build`)"));
        assert!(
            built == committed,
            "guest/elf/{name}.elf differs from a fresh build of {}: rebuild with \
             `gnomon build guest/programs/{name} --out guest/elf` and commit the result",
            dir.display()
        );
    }
}
