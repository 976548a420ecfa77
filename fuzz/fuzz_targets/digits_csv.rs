//! The digits CSV: no panic, and every refusal is bad input (exit code 2).
//! The property lives in `ppdl::fuzz_checks`, which `cargo test` also runs on fuzz/seeds/digits_csv.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ppdl::fuzz_checks::check_digits_csv(data));
