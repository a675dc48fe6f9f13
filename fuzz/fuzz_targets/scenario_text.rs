//! Fuzz target `scenario_text`: see `netlab_fuzz::scenario_text`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| netlab_fuzz::scenario_text::check(data));
