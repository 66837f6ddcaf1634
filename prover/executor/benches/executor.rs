//! Executor speed: guest cycles per second with and without tracing, against the same work
//! done natively. `cargo bench -p gnomon-executor --bench executor` prints a table; it is a
//! measurement, not a test, and asserts nothing about time.

use std::hint::black_box;
use std::time::{Duration, Instant};

use gnomon_executor::{Input, Options, Program, execute, execute_traced};
use sha2::Digest;

struct Workload {
    name: &'static str,
    elf: &'static str,
    input: Input,
    native: Box<dyn Fn()>,
}

fn program(name: &str) -> Program {
    let path = format!("{}/../../guest/elf/{name}.elf", env!("CARGO_MANIFEST_DIR"));
    Program::from_elf(&std::fs::read(path).unwrap()).unwrap()
}

/// The fastest of `runs` runs of `f`.
fn fastest(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap()
}

fn main() {
    let chain_iterations = 20_000u32;
    let fibonacci_n = 20_000_000u32;
    let sha_bytes = 1 << 20;
    let workloads = [
        Workload {
            name: "sha-chain (software SHA-256)",
            elf: "sha-chain",
            input: Input::new().write(&(chain_iterations, [0u8; 32])).clone(),
            native: Box::new(move || {
                let mut digest = [0u8; 32];
                for _ in 0..chain_iterations {
                    digest = sha2::Sha256::digest(black_box(digest)).into();
                }
                black_box(digest);
            }),
        },
        Workload {
            name: "fibonacci (ALU loop)",
            elf: "fibonacci",
            input: Input::new().write(&fibonacci_n).clone(),
            native: Box::new(move || {
                let (mut a, mut b) = (0u64, 1u64);
                for _ in 0..black_box(fibonacci_n) {
                    (a, b) = (b, black_box(a.wrapping_add(b)));
                }
                black_box(a);
            }),
        },
        Workload {
            name: "sha256 1 MiB (precompile)",
            elf: "sha256",
            input: Input::new().write(&(true, vec![0x5au8; sha_bytes])).clone(),
            native: Box::new(move || {
                black_box(sha2::Sha256::digest(black_box(vec![0x5au8; sha_bytes])));
            }),
        },
    ];

    println!(
        "{:<30} {:>12} {:>12} {:>12} {:>12} {:>14}",
        "workload", "cycles", "MHz", "MHz traced", "native ms", "vs native"
    );
    for workload in workloads {
        let program = program(workload.elf);
        let options = Options::default();
        let mut cycles = 0;
        let untraced = fastest(5, || {
            let execution = execute(&program, &workload.input, &options);
            assert!(execution.succeeded());
            cycles = execution.report.cycles;
        });
        let traced = fastest(2, || {
            let execution = execute_traced(&program, &workload.input, &options, drop);
            assert!(execution.succeeded());
        });
        let native = fastest(5, &workload.native);
        let megahertz = |time: Duration| cycles as f64 / time.as_secs_f64() / 1e6;
        println!(
            "{:<30} {:>12} {:>12.1} {:>12.1} {:>12.3} {:>13.1}x",
            workload.name,
            cycles,
            megahertz(untraced),
            megahertz(traced),
            native.as_secs_f64() * 1e3,
            untraced.as_secs_f64() / native.as_secs_f64(),
        );
    }
}
