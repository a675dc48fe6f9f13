//! Fuzz target `tcp_segments`: see `netlab_fuzz::tcp_segments`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| netlab_fuzz::tcp_segments::check(data));
