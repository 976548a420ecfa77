//! Config text: parses and round-trips through TOML unchanged, or is bad input (exit code 2).
//! The property lives in `ppdl::fuzz_checks`, which `cargo test` also runs on fuzz/seeds/config.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ppdl::fuzz_checks::check_config(data));
