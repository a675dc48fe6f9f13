//! Fuzz target `wire`: see `netlab_fuzz::wire`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| netlab_fuzz::wire::check(data));
