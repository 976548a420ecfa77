//! PNG and JPEG images of an image folder, as they are and resized: no panic, and every refusal is bad input (exit code 2).
//! The property lives in `ppdl::fuzz_checks`, which `cargo test` also runs on fuzz/seeds/image.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ppdl::fuzz_checks::check_image(data));
