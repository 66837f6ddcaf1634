//! Where a run's cycles go, counted exactly from a traced run: the cycles spent inside
//! chosen guest functions, their callees included ([`profile`]), and the cycles of every
//! function's own instructions ([`flat`]).
//!
//! A function is found by its symbol in the ELF (the guest keeps its symbol table). A call
//! is recognized when the pc reaches the function's first instruction right after an
//! instruction that wrote the return address (`jal`/`jalr` with `rd = ra`, whose recorded
//! result is the address after it); the call ends when the pc reaches that address. Cycles
//! are the clock's: one per instruction plus what each syscall costs beyond its `ecall`.

use std::collections::BTreeMap;
use std::ops::Range;

use elf::ElfBytes;
use elf::abi::STT_FUNC;
use elf::endian::LittleEndian;
use gnomon_executor::{Execution, Input, Options, Program, Segment, execute_traced};
use gnomon_guest_abi::syscall;

/// A guest function to measure: every symbol whose (mangled) name contains all of `parts`.
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    pub label: &'a str,
    pub parts: &'a [&'a str],
}

/// What the calls of one target cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Spent {
    /// Outermost calls (a recursive call counts inside its caller).
    pub calls: u64,
    pub cycles: u64,
}

struct Tracked {
    entries: Vec<u32>,
    /// While inside: the return address and the clock at entry.
    inside: Option<(u32, u64)>,
    spent: Spent,
}

/// The functions of `elf`: address range and (mangled) name, by address.
///
/// # Panics
/// If the ELF has no symbol table.
pub fn functions(elf: &[u8]) -> Vec<(Range<u32>, String)> {
    let file = ElfBytes::<LittleEndian>::minimal_parse(elf).expect("an ELF");
    let (symbols, names) = file
        .symbol_table()
        .expect("a readable symbol table")
        .expect("the guest keeps its symbol table");
    let mut found: Vec<(Range<u32>, String)> = symbols
        .iter()
        .filter(|symbol| symbol.st_symtype() == STT_FUNC && symbol.st_value != 0)
        .filter_map(|symbol| {
            let name = names.get(symbol.st_name as usize).ok()?;
            let start = symbol.st_value as u32;
            Some((start..start + symbol.st_size as u32, name.to_owned()))
        })
        .collect();
    found.sort_by_key(|(range, _)| range.start);
    found
}

/// The entry points of the functions of `elf` whose symbol names contain all of `parts`.
///
/// # Panics
/// If no symbol matches.
pub fn entries(elf: &[u8], parts: &[&str]) -> Vec<Range<u32>> {
    let found: Vec<Range<u32>> = functions(elf)
        .into_iter()
        .filter(|(_, name)| parts.iter().all(|part| name.contains(part)))
        .map(|(range, _)| range)
        .collect();
    assert!(!found.is_empty(), "no guest function matches {parts:?}");
    found
}

/// Runs `program` (built from `elf`) on `input`, traced, and measures every target.
pub fn profile(
    elf: &[u8],
    program: &Program,
    input: &Input,
    targets: &[Target<'_>],
) -> (Execution, Vec<Spent>) {
    let mut tracked: Vec<Tracked> = targets
        .iter()
        .map(|target| Tracked {
            entries: entries(elf, target.parts)
                .into_iter()
                .map(|range| range.start)
                .collect(),
            inside: None,
            spent: Spent::default(),
        })
        .collect();
    let mut previous: Option<(u32, u32)> = None;
    let execution = execute_traced(program, input, &Options::default(), |segment: Segment| {
        let mut clock = segment.start_clock;
        let mut syscalls = segment.syscalls.iter().peekable();
        for (index, step) in segment.steps.iter().enumerate() {
            for function in &mut tracked {
                match function.inside {
                    Some((back, entered)) if step.pc == back => {
                        function.spent.calls += 1;
                        function.spent.cycles += clock - entered;
                        function.inside = None;
                    }
                    Some(_) => {}
                    None if function.entries.contains(&step.pc) => {
                        if let Some((pc, written)) = previous
                            && written == pc.wrapping_add(4)
                        {
                            function.inside = Some((written, clock));
                        }
                    }
                    None => {}
                }
            }
            clock += 1;
            if let Some(record) = syscalls.next_if(|record| record.step as usize == index) {
                clock += u64::from(syscall::cycles(record.number, record.args[2]) - 1);
            }
            previous = Some((step.pc, step.rd));
        }
    });
    (
        execution,
        tracked.into_iter().map(|function| function.spent).collect(),
    )
}

/// Whether a function is a shared memory helper, whose cycles [`flat`] charges to its caller:
/// a `memcpy` line tells nothing until it says whose copies they are.
fn is_memory_helper(name: &str) -> bool {
    let name = name.rsplit("::").next().unwrap_or(name);
    matches!(name, "memcpy" | "memmove" | "memset" | "memcmp" | "bcmp")
}

/// Runs `program` (built from `elf`) on `input`, traced, and returns the cycles of each
/// function's own instructions (callees excluded), by demangled name, most first. A memory
/// helper's cycles (`memcpy`, `memset`...) are charged to `helper <- caller`, its callees
/// included, so the copies are seen where they are made.
pub fn flat(elf: &[u8], program: &Program, input: &Input) -> (Execution, Vec<(String, u64)>) {
    let functions = functions(elf);
    let names: Vec<String> = functions
        .iter()
        .map(|(_, name)| format!("{:#}", rustc_demangle::demangle(name)))
        .chain(std::iter::once("(no symbol)".to_owned()))
        .collect();
    let helpers: Vec<bool> = names.iter().map(|name| is_memory_helper(name)).collect();
    let unknown = functions.len();
    let function_at = |pc: u32| {
        let found = functions.partition_point(|(range, _)| range.start <= pc);
        found
            .checked_sub(1)
            .filter(|&at| functions[at].0.contains(&pc))
            .unwrap_or(unknown)
    };
    let mut own = vec![0u64; names.len()];
    let mut helped: BTreeMap<(usize, usize), u64> = BTreeMap::new();
    // Inside a helper's outermost call: its return address, the helper and its caller.
    let mut inside: Option<(u32, usize, usize)> = None;
    let mut previous: Option<(u32, u32)> = None;
    let execution = execute_traced(program, input, &Options::default(), |segment: Segment| {
        let mut syscalls = segment.syscalls.iter().peekable();
        for (index, step) in segment.steps.iter().enumerate() {
            if inside.is_some_and(|(back, _, _)| step.pc == back) {
                inside = None;
            }
            let function = function_at(step.pc);
            if inside.is_none()
                && helpers[function]
                && let Some((pc, written)) = previous
                && written == pc.wrapping_add(4)
            {
                inside = Some((written, function, function_at(pc)));
            }
            let mut cycles = 1;
            if let Some(record) = syscalls.next_if(|record| record.step as usize == index) {
                cycles += u64::from(syscall::cycles(record.number, record.args[2]) - 1);
            }
            match inside {
                Some((_, helper, caller)) => *helped.entry((helper, caller)).or_default() += cycles,
                None => own[function] += cycles,
            }
            previous = Some((step.pc, step.rd));
        }
    });
    let mut named: Vec<(String, u64)> = names
        .iter()
        .cloned()
        .zip(own)
        .chain(helped.into_iter().map(|((helper, caller), cycles)| {
            (format!("{} <- {}", names[helper], names[caller]), cycles)
        }))
        .filter(|(_, cycles)| *cycles > 0)
        .collect();
    named.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    (execution, named)
}
