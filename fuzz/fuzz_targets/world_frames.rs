//! Fuzz target `world_frames`: see `netlab_fuzz::world_frames`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| netlab_fuzz::world_frames::check(data));
