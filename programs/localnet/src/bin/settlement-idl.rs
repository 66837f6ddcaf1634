//! `settlement-idl <out>`: writes the settlement program's IDL, the file `anchor build` leaves in
//! `target/idl/`, for clients that load the program by its interface (the TypeScript suite,
//! migrations/deploy.ts) on machines without the Anchor CLI. It is Anchor's own IDL build:
//! the program's tests compiled with its `idl-build` feature print the interface, and
//! anchor-lang-idl assembles it.

use std::path::{Path, PathBuf};

use anchor_lang_idl::build::IdlBuilder;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        return Err("usage: settlement-idl <out.json>".into());
    };
    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("../settlement");
    // In a directory of its own, the IDL build (the program with its `idl-build` feature)
    // leaves the workspace's builds alone.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| program.join("../../target"), PathBuf::from)
        .join("idl-build");
    // Under cargo, rustup names its toolchain in RUSTUP_TOOLCHAIN, and anchor-lang-idl then
    // asks for that toolchain by a malformed name: the build uses the one in force instead.
    // anchor-lang-idl also sets RUSTFLAGS to silence warnings, which would rebuild every
    // dependency whenever the flags differ from the last IDL build's; CARGO_ENCODED_RUSTFLAGS
    // takes precedence, and keeps them as they are.
    // SAFETY: no other thread runs yet.
    unsafe {
        std::env::remove_var("RUSTUP_TOOLCHAIN");
        if std::env::var_os("CARGO_ENCODED_RUSTFLAGS").is_none() {
            std::env::set_var("CARGO_ENCODED_RUSTFLAGS", "");
        }
    }
    let idl = IdlBuilder::new()
        .program_path(program.canonicalize()?)
        .cargo_args(vec![
            "--locked".into(),
            "--lib".into(),
            "--target-dir".into(),
            target
                .into_os_string()
                .into_string()
                .map_err(|_| "a non-UTF-8 path")?,
        ])
        .build()?;
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, serde_json::to_string_pretty(&idl)? + "\n")?;
    println!("idl           {} ({})", out.display(), idl.address);
    Ok(())
}
