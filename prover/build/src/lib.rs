//! Reproducible builds of guest programs.
//!
//! Guests compile with Debian's `rustc-web` toolchain (the only Rust here with a standard
//! library source to rebuild `core` and `alloc` from) for Gnomon's own target, described by
//! the JSON spec in `targets/`: RV32IM, single-threaded so atomics lower to plain loads and
//! stores. This crate owns that target spec, the linker script and the exact compiler
//! invocation, so that the same sources give the same ELF bytes, and with them the same
//! program commitment, on every machine: the flags are fixed, every host path that could
//! leak into the binary is remapped, and nothing from the caller's environment
//! (`RUSTFLAGS`, cargo configuration) reaches the compiler.
//!
//! Cargo derives each crate's symbol hash (`-C metadata`) from its path when the crate lies
//! outside the workspace being built, as `engine/core` does for the guest workspace. So that
//! the hash does not depend on where the repository is checked out, every build sees the
//! repository through one fixed path, [`ALIAS`] (a symlink, held under a lock while cargo
//! runs), and the compiler sees only paths below it.
//!
//! It never installs anything: `scripts/setup` does, and [`Toolchain::locate`] says clearly
//! what is missing.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Gnomon's guest target, as a rustc JSON target spec.
pub const TARGET_SPEC: &str = include_str!("../targets/riscv32im-gnomon-zkvm-elf.json");
/// The linker script that lays the guest out as `gnomon-guest-abi`'s memory map says.
pub const LINKER_SCRIPT: &str = include_str!("../targets/gnomon.ld");
/// The fixed path through which every guest build sees the repository.
pub const ALIAS: &str = "/tmp/gnomon-build/repository";

/// Target name; cargo derives it from the spec's file name.
pub const TARGET_NAME: &str = "riscv32im-gnomon-zkvm-elf";

/// Paths of the guest toolchain (Debian's `rustc-web`, `cargo-web`, `rust-web-src`, `lld-22`).
#[derive(Clone, Debug)]
pub struct Toolchain {
    pub rustc: PathBuf,
    pub cargo: PathBuf,
    pub linker: PathBuf,
    pub rust_src: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(
        "the guest toolchain is missing: {0} not found (run scripts/setup, which installs \
         Debian's rustc-web, cargo-web, rust-web-src and lld-22)"
    )]
    ToolchainMissing(PathBuf),
    #[error("{0} is not a guest crate: no readable Cargo.toml with a [package] name")]
    NotAGuestCrate(PathBuf),
    #[error("{0} is not inside a guest workspace (a Cargo.toml with [workspace] above it)")]
    NoWorkspace(PathBuf),
    #[error("cargo failed building {package} (exit status {status})")]
    CargoFailed {
        package: String,
        status: std::process::ExitStatus,
    },
    #[error("the build produced no ELF at {0}")]
    MissingOutput(PathBuf),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.to_owned(),
        source,
    }
}

impl Toolchain {
    /// The Debian toolchain at its fixed paths.
    pub fn locate() -> Result<Self, BuildError> {
        let toolchain = Self {
            rustc: "/usr/bin/rustc".into(),
            cargo: "/usr/bin/cargo".into(),
            linker: "/usr/lib/llvm-22/bin/ld.lld".into(),
            rust_src: "/usr/lib/rustlib/src/rust/library".into(),
        };
        for path in [
            &toolchain.rustc,
            &toolchain.cargo,
            &toolchain.linker,
            &toolchain.rust_src,
        ] {
            if !path.exists() {
                return Err(BuildError::ToolchainMissing(path.clone()));
            }
        }
        Ok(toolchain)
    }

    /// The toolchain for a test that needs it to check `what`. Where it is missing the test
    /// says so and gets `None` (and passes), except in CI (`GNOMON_CI=1`), where every tool
    /// must be present and a missing one is a failure.
    pub fn for_test(what: &str) -> Option<Self> {
        match Self::locate() {
            Ok(toolchain) => Some(toolchain),
            Err(missing) if std::env::var("GNOMON_CI").as_deref() == Ok("1") => {
                panic!("GNOMON_CI=1 but the guest toolchain is unavailable: {missing}")
            }
            Err(missing) => {
                eprintln!("skipping {what}: {missing}");
                None
            }
        }
    }
}

/// A test's check that the crate in `dir` (a host-workspace crate a guest depends on)
/// compiles for the guest target; see [`Toolchain::for_test`] for a missing toolchain.
pub fn assert_compiles_for_guest(dir: &Path) {
    let Some(toolchain) =
        Toolchain::for_test(&format!("the guest-target build of {}", dir.display()))
    else {
        return;
    };
    let krate = GuestCrate::open(dir).expect("a crate inside a workspace");
    if let Err(error) = krate.check(&toolchain) {
        panic!(
            "{} does not build for the guest target: {error}",
            dir.display()
        );
    }
}

/// A guest crate to build.
#[derive(Clone, Debug)]
pub struct GuestCrate {
    /// The package name, which is also the binary's name.
    pub package: String,
    /// The guest workspace root (the directory of the `[workspace]` Cargo.toml).
    pub workspace: PathBuf,
}

impl GuestCrate {
    /// Finds the package name and the enclosing guest workspace of the crate in `dir`.
    pub fn open(dir: &Path) -> Result<Self, BuildError> {
        let dir = dir.canonicalize().map_err(io_error(dir))?;
        let package = read_manifest(&dir.join("Cargo.toml"))
            .as_ref()
            .and_then(manifest_package_name)
            .ok_or_else(|| BuildError::NotAGuestCrate(dir.clone()))?;
        let workspace = dir
            .ancestors()
            .find(|candidate| {
                read_manifest(&candidate.join("Cargo.toml"))
                    .is_some_and(|manifest| manifest.contains_key("workspace"))
            })
            .ok_or_else(|| BuildError::NoWorkspace(dir.clone()))?
            .to_owned();
        Ok(Self { package, workspace })
    }

    /// Where cargo puts the ELF.
    pub fn elf_path(&self) -> PathBuf {
        self.workspace
            .join("target")
            .join(TARGET_NAME)
            .join("release")
            .join(&self.package)
    }

    /// Builds the guest and returns the path of its ELF.
    pub fn build(&self, toolchain: &Toolchain) -> Result<PathBuf, BuildError> {
        self.compile(toolchain)?;
        let elf = self.elf_path();
        if !elf.is_file() {
            return Err(BuildError::MissingOutput(elf));
        }
        Ok(elf)
    }

    /// Compiles the crate for the guest target without expecting a binary: how host crates
    /// that guests will use (engine/core) prove they build for RV32IM.
    pub fn check(&self, toolchain: &Toolchain) -> Result<(), BuildError> {
        self.compile(toolchain)
    }

    /// `cargo build --release` of the package for the guest target.
    ///
    /// Everything that shapes the output is fixed here: the target spec and linker script
    /// (written next to the build), the profile (the guest workspace's `release`), the
    /// compiler flags (`CARGO_ENCODED_RUSTFLAGS` overrides any flags from the environment or
    /// cargo configuration) and the path remapping (the repository, `CARGO_HOME` and the
    /// standard library sources map to fixed names).
    fn compile(&self, toolchain: &Toolchain) -> Result<(), BuildError> {
        let support = self.workspace.join("target").join("gnomon");
        std::fs::create_dir_all(&support).map_err(io_error(&support))?;
        std::fs::write(support.join(format!("{TARGET_NAME}.json")), TARGET_SPEC)
            .map_err(io_error(&support))?;
        std::fs::write(support.join("gnomon.ld"), LINKER_SCRIPT).map_err(io_error(&support))?;

        let repository = self.workspace.parent().unwrap_or(&self.workspace);
        let _alias = Alias::point_at(repository)?;
        let workspace = Path::new(ALIAS).join(
            self.workspace
                .strip_prefix(repository)
                .unwrap_or(Path::new("")),
        );
        let support = workspace.join("target").join("gnomon");
        let spec = support.join(format!("{TARGET_NAME}.json"));
        let script = support.join("gnomon.ld");
        let flags = [
            format!("-Clink-arg=-T{}", script.display()),
            format!("-Clinker={}", toolchain.linker.display()),
            format!("--remap-path-prefix={ALIAS}=/gnomon"),
            format!("--remap-path-prefix={}=/cargo", cargo_home().display()),
            format!(
                "--remap-path-prefix={}=/rust/library",
                toolchain.rust_src.display()
            ),
        ];
        let status = Command::new(&toolchain.cargo)
            .current_dir(&self.workspace)
            .env_clear()
            .envs(passthrough_env())
            .env("RUSTC", &toolchain.rustc)
            .env("RUSTC_BOOTSTRAP", "1")
            .env("CARGO_ENCODED_RUSTFLAGS", flags.join("\x1f"))
            .args(["build", "--manifest-path"])
            .arg(workspace.join("Cargo.toml"))
            .args(["--release", "--locked", "-p", &self.package, "--target"])
            .arg(&spec)
            .args([
                "-Zbuild-std=core,alloc",
                "-Zbuild-std-features=compiler-builtins-mem",
                "-Zjson-target-spec",
            ])
            .status()
            .map_err(io_error(&toolchain.cargo))?;
        if !status.success() {
            return Err(BuildError::CargoFailed {
                package: self.package.clone(),
                status,
            });
        }
        Ok(())
    }
}

/// [`ALIAS`] pointing at one repository, for as long as this value lives: an exclusive lock
/// on a file beside the alias keeps concurrent builds (of this or another checkout) apart.
struct Alias {
    _lock: std::fs::File,
}

impl Alias {
    fn point_at(repository: &Path) -> Result<Self, BuildError> {
        let alias = Path::new(ALIAS);
        let dir = alias.parent().unwrap_or(Path::new("/"));
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        let lock_path = dir.join("lock");
        let lock = std::fs::File::create(&lock_path).map_err(io_error(&lock_path))?;
        lock.lock().map_err(io_error(&lock_path))?;
        if std::fs::read_link(alias).ok().as_deref() != Some(repository) {
            // A new link renamed over the old one: never a moment without the alias.
            let fresh = dir.join("repository.new");
            let _ = std::fs::remove_file(&fresh);
            std::os::unix::fs::symlink(repository, &fresh).map_err(io_error(&fresh))?;
            std::fs::rename(&fresh, alias).map_err(io_error(alias))?;
        }
        Ok(Self { _lock: lock })
    }
}

/// The environment a guest build keeps: where to find programs, the cargo home and the
/// network settings that fetching crates may need. Nothing that changes code generation.
fn passthrough_env() -> impl Iterator<Item = (OsString, OsString)> {
    const KEEP: &[&str] = &[
        "PATH",
        "HOME",
        "CARGO_HOME",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "TERM",
    ];
    std::env::vars_os().filter(|(key, _)| key.to_str().is_some_and(|key| KEEP.contains(&key)))
}

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".cargo")
        })
}

fn read_manifest(path: &Path) -> Option<toml::Table> {
    std::fs::read_to_string(path).ok()?.parse().ok()
}

fn manifest_package_name(manifest: &toml::Table) -> Option<String> {
    Some(manifest.get("package")?.get("name")?.as_str()?.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_package_name() {
        let manifest = "[workspace]\nmembers = []\n[package]\nname = \"fibonacci\""
            .parse()
            .unwrap();
        assert_eq!(
            manifest_package_name(&manifest).as_deref(),
            Some("fibonacci")
        );
        let workspace_only = "[workspace]\nmembers = []".parse().unwrap();
        assert_eq!(manifest_package_name(&workspace_only), None);
    }
}
