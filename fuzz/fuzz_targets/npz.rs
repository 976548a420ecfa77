//! NumPy .npz archives and .npy arrays (stored or deflated, zip64 fields) and the dataset built from them: no panic, and every refusal is bad input (exit code 2).
//! The property lives in `ppdl::fuzz_checks`, which `cargo test` also runs on fuzz/seeds/npz.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ppdl::fuzz_checks::check_npz(data));
