//! The example guests, built by the guest toolchain and committed under guest/elf, run on the
//! executor and checked against the same computation done natively.

use gnomon_executor::{
    Exit, Input, Options, Program, ProgramCommitment, SegmentSize, SyscallKind, TrapCause, execute,
    trace,
};
use gnomon_guest_abi::exit;
use proptest::prelude::*;
use sha2::Digest;

fn program(name: &str) -> Program {
    let path = format!("{}/../../guest/elf/{name}.elf", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    Program::from_elf(&bytes).unwrap()
}

fn run(name: &str, input: &Input) -> gnomon_executor::Execution {
    execute(&program(name), input, &Options::default())
}

fn native_fibonacci(n: u32) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a.wrapping_add(b));
    }
    a
}

#[test]
fn fibonacci_matches_native() {
    for n in [0u32, 1, 2, 10, 93, 94, 1000] {
        let execution = run("fibonacci", Input::new().write(&n));
        assert!(execution.succeeded(), "{:?}", execution.exit);
        let committed: (u32, u64) = borsh::from_slice(&execution.journal).unwrap();
        assert_eq!(committed, (n, native_fibonacci(n)));
    }
}

#[test]
fn digests_bind_input_and_output() {
    let mut input = Input::new();
    input.write(&77u32);
    let execution = run("fibonacci", &input);
    let halt = execution.halt().unwrap();
    assert_eq!(
        halt.input_digest,
        <[u8; 32]>::from(sha2::Sha256::digest(input.stdin()))
    );
    assert_eq!(
        halt.output_digest,
        <[u8; 32]>::from(sha2::Sha256::digest(&execution.journal))
    );
}

#[test]
fn committed_commitments_match_the_elves() {
    for name in ["fibonacci", "sha256", "sha-chain", "faults"] {
        let path = format!(
            "{}/../../guest/elf/{name}.commitment",
            env!("CARGO_MANIFEST_DIR")
        );
        let committed: ProgramCommitment = std::fs::read_to_string(path).unwrap().parse().unwrap();
        assert_eq!(program(name).commitment(), committed, "{name}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn sha256_matches_native(data in proptest::collection::vec(any::<u8>(), 0..700)) {
        let expected: [u8; 32] = sha2::Sha256::digest(&data).into();
        let mut compressions = Vec::new();
        for use_precompile in [false, true] {
            let execution = run("sha256", Input::new().write(&(use_precompile, data.clone())));
            prop_assert!(execution.succeeded());
            prop_assert_eq!(&execution.journal[..], &expected[..]);
            compressions.push(execution.report.syscall(SyscallKind::Sha256Compress).calls);
        }
        // Both modes hash stdin and the journal with the precompile; the precompile mode adds
        // one compression per padded 64-byte block of the data.
        prop_assert_eq!(compressions[1] - compressions[0], (data.len() as u64 + 9).div_ceil(64));
    }
}

#[test]
fn sha_chain_matches_native() {
    let seed = [7u8; 32];
    let execution = run("sha-chain", Input::new().write(&(100u32, seed)));
    let mut digest = seed;
    for _ in 0..100 {
        digest = sha2::Sha256::digest(digest).into();
    }
    assert_eq!(execution.journal, digest);
}

fn fault(name: &str) -> gnomon_executor::Execution {
    run("faults", Input::new().write(&name.to_string()))
}

#[test]
fn panics_exit_with_the_panic_code_and_message() {
    let execution = fault("panic");
    assert_eq!(execution.halt().unwrap().exit_code, exit::PANIC);
    let stderr = String::from_utf8(execution.stderr).unwrap();
    assert!(stderr.contains("the guest was asked to panic"), "{stderr}");
    assert!(stderr.contains("programs/faults/src/main.rs"), "{stderr}");
}

#[test]
fn exit_codes_and_prints_reach_the_host() {
    assert_eq!(fault("exit").halt().unwrap().exit_code, 7);
    let printed = fault("print");
    assert!(printed.succeeded());
    assert_eq!(printed.stdout, b"hello from the guest\n");
}

#[test]
fn out_of_memory_exits_with_its_own_code() {
    let execution = fault("out-of-memory");
    assert_eq!(execution.halt().unwrap().exit_code, exit::OUT_OF_MEMORY);
    assert!(String::from_utf8_lossy(&execution.stderr).contains("out of memory"));
}

#[test]
fn invalid_accesses_trap_with_the_faulting_instruction() {
    type Expected = fn(&TrapCause) -> bool;
    let cases: [(&str, Expected); 5] = [
        ("misaligned-load", |cause| {
            matches!(
                cause,
                TrapCause::MisalignedLoad {
                    address: 0x0010_0002
                }
            )
        }),
        ("load-from-text", |cause| {
            matches!(
                cause,
                TrapCause::LoadAccessFault {
                    address: 0x0001_0000
                }
            )
        }),
        ("store-to-text", |cause| {
            matches!(
                cause,
                TrapCause::StoreAccessFault {
                    address: 0x0001_0000
                }
            )
        }),
        ("illegal-instruction", |cause| {
            matches!(cause, TrapCause::IllegalInstruction)
        }),
        ("read-past-end", |cause| {
            matches!(
                cause,
                TrapCause::ReadPastEnd {
                    stream: "stdin",
                    ..
                }
            )
        }),
    ];
    let faults = program("faults");
    for (name, expected) in cases {
        let execution = fault(name);
        let trap = execution.halt().expect_err(name);
        assert!(expected(&trap.cause), "{name}: {trap}");
        assert!(faults.text().contains(&trap.pc), "{name}: {trap}");
        assert_eq!(trap.instruction, faults.word(trap.pc), "{name}");
        assert!(!trap.to_string().is_empty());
    }
}

#[test]
fn cycle_limit_stops_a_run() {
    let options = Options {
        cycle_limit: 5_000,
        ..Options::default()
    };
    let execution = execute(
        &program("fibonacci"),
        Input::new().write(&100_000u32),
        &options,
    );
    let trap = execution.halt().unwrap_err();
    assert_eq!(trap.cause, TrapCause::CycleLimit { limit: 5_000 });
    assert!(trap.cycle <= 5_000);
}

#[test]
fn traced_segments_chain_and_agree_with_the_fast_path() {
    let program = program("sha-chain");
    let mut input = Input::new();
    input.write(&(40u32, [1u8; 32]));
    for log2 in [SegmentSize::MIN_LOG2, 12, 20] {
        let options = Options {
            segment_size: SegmentSize::new(log2).unwrap(),
            ..Options::default()
        };
        let fast = execute(&program, &input, &options);
        let (traced, segments) = trace(&program, &input, &options);
        assert_eq!(fast.exit, traced.exit);
        assert_eq!(fast.journal, traced.journal);
        assert_eq!(fast.report.cycles, traced.report.cycles);
        assert_eq!(fast.report.segments, segments.len() as u64);

        let mut root = program.memory_tree().root();
        let mut registers = [0u32; 32];
        let mut pc = program.entry();
        let mut clock = 0;
        for (index, segment) in segments.iter().enumerate() {
            assert_eq!(segment.index as usize, index);
            assert!(segment.cycles <= options.segment_size.cycles());
            assert_eq!(segment.memory_root_before, root);
            assert_eq!(segment.start_registers, registers);
            assert_eq!(segment.start_pc, pc);
            assert_eq!(segment.start_clock, clock);
            assert_eq!(segment.steps.first().map(|step| step.pc), Some(pc));
            // Consecutive steps: each step's pc follows from the previous instruction.
            let syscall_cycles: u64 = segment
                .syscalls
                .iter()
                .map(|record| {
                    u64::from(gnomon_guest_abi::syscall::cycles(
                        record.number,
                        record.args[2],
                    )) - 1
                })
                .sum();
            assert_eq!(
                segment.steps.len() as u64 + syscall_cycles,
                u64::from(segment.cycles)
            );
            // Every data page the steps touched is in the page set; text pages never are.
            for step in &segment.steps {
                assert!(!segment.pages.contains_key(&(step.pc / 1024)));
                if let Some(access) = step.memory {
                    assert!(segment.pages.contains_key(&(access.address / 1024)));
                }
            }
            root = segment.memory_root_after;
            registers = segment.end_registers;
            pc = segment.end_pc;
            clock += u64::from(segment.cycles);
        }
        let last = segments.last().unwrap();
        assert_eq!(Some(last.halt.as_ref().unwrap()), traced.halt().ok());
        assert!(
            segments[..segments.len() - 1]
                .iter()
                .all(|segment| segment.halt.is_none())
        );
        assert_eq!(clock, traced.report.cycles);
        let pages = traced.report.pages.unwrap();
        assert_eq!(
            pages.touched,
            segments.iter().map(|s| s.pages.len() as u64).sum::<u64>()
        );
    }
}

#[test]
fn trapped_runs_report_the_trap_in_both_modes() {
    let program = program("faults");
    let mut input = Input::new();
    input.write(&"store-to-text".to_string());
    let (traced, _) = trace(&program, &input, &Options::default());
    let fast = execute(&program, &input, &Options::default());
    assert!(matches!(traced.exit, Exit::Trapped(_)));
    assert_eq!(traced.exit, fast.exit);
}
