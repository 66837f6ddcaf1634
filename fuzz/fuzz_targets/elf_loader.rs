//! Any bytes: the loader returns a typed error or a program, and a program runs to a halt, a
//! trap or the cycle limit, in both execution modes, without panicking.
#![no_main]

use gnomon_executor::{Input, Options, Program, execute, execute_traced};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(program) = Program::from_elf(bytes) {
        let mut input = Input::new();
        input.write(&10u32).hint_frame(bytes.get(..16).unwrap_or_default());
        let options = Options { cycle_limit: 10_000, ..Options::default() };
        let fast = execute(&program, &input, &options);
        let traced = execute_traced(&program, &input, &options, drop);
        assert_eq!(fast.exit, traced.exit);
    }
});
