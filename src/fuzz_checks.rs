//! The properties fuzzing checks, shared by the cargo-fuzz targets (`fuzz/`) and by `cargo test`,
//! which replays every committed seed and past crash in `fuzz/seeds/` through them.
//!
//! Each check takes arbitrary bytes and panics only when the code under test is wrong: a parser
//! panicked, accepted something inconsistent, or refused input without classing it as bad input
//! (the exit-code-2 [`crate::error::InputError`]).

use std::path::Path;

use crate::data::{cifar, digits, idx, image_folder, npz, npz_dataset};
use crate::error::exit_code;

/// A property check over arbitrary bytes: panics when the code under test is wrong.
pub type Check = fn(&[u8]);

/// The fuzz targets, by the name of their folder under `fuzz/seeds/`.
pub const TARGETS: [(&str, Check); 6] = [
    ("config", check_config),
    ("idx", check_idx),
    ("cifar", check_cifar),
    ("digits_csv", check_digits_csv),
    ("npz", check_npz),
    ("image", check_image),
];

fn assert_bad_input(result: anyhow::Result<()>) {
    if let Err(e) = result {
        assert_eq!(exit_code(&e), 2, "refused without being classed as bad input: {e:#}");
    }
}

/// Config text either parses to a config that survives a TOML round trip unchanged, or is bad input.
pub fn check_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = Path::new("fuzz.toml");
    assert_bad_input(crate::validate::parse_config(text, path).map(|config| {
        let again = crate::validate::parse_config(&config.to_toml(), path).expect("a resolved config parses again");
        assert_eq!(again, config, "the config changed in a TOML round trip");
    }));
}

/// A well-formed 1x1 IDX images file holding one image, and labels for it.
const ONE_IMAGE: [u8; 17] = [0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 200];
const ONE_LABEL: [u8; 9] = [0, 0, 8, 1, 0, 0, 0, 1, 3];

/// The bytes as an IDX images file, a labels file, and either half of a pair (raw or gzip).
pub fn check_idx(data: &[u8]) {
    let p = Path::new("fuzz.idx");
    assert_bad_input(idx::parse_images(data, p).map(|(shape, pixels)| {
        assert_eq!(pixels.len() % shape.features(), 0, "pixel data is not a whole number of images")
    }));
    assert_bad_input(idx::parse_labels(data, p).map(drop));
    assert_bad_input(idx::parse_pair(data, p, &ONE_LABEL, p, 10).map(drop));
    assert_bad_input(
        idx::parse_pair(&ONE_IMAGE, p, data, p, 10)
            .map(|(_, _, labels)| assert!(labels.iter().all(|&l| l < 10), "a label out of range was accepted")),
    );
}

/// The bytes as a CIFAR-10 binary batch (raw or gzip).
pub fn check_cifar(data: &[u8]) {
    assert_bad_input(cifar::parse_batch(data, Path::new("fuzz.bin")).map(|(pixels, labels)| {
        assert_eq!(pixels.len(), labels.len() * cifar::PIXELS_PER_IMAGE);
        assert!(labels.iter().all(|&l| usize::from(l) < cifar::CLASSES), "a label out of range was accepted");
    }));
}

/// The bytes as the digits CSV (plain or gzip).
pub fn check_digits_csv(data: &[u8]) {
    assert_bad_input(digits::parse_csv(data, Path::new("fuzz.csv")).map(|(pixels, labels)| {
        assert_eq!(pixels.len(), labels.len() * digits::SHAPE.features());
        assert!(labels.iter().all(|&l| usize::from(l) < digits::CLASSES), "a label out of range was accepted");
        assert!(pixels.iter().all(|&v| v <= digits::MAX_PIXEL), "a pixel out of range was accepted");
    }));
}

/// The bytes as an `.npz` (zip of `.npy`), as one `.npy`, and, when they parse, as a dataset in both
/// layouts: arrays agree with their shapes, pixels in [0, 1], labels in range.
pub fn check_npz(data: &[u8]) {
    let p = Path::new("fuzz.npz");
    assert_bad_input(npz::parse_npy(data, "fuzz.npy").map(|a| assert_eq!(a.data.len(), a.len() * a.dtype.size())));
    assert_bad_input(npz::parse_npz(data, p).map(|arrays| {
        for (_, a) in &arrays {
            assert_eq!(a.data.len(), a.len() * a.dtype.size(), "array bytes do not match its shape");
        }
        for layout in [crate::data::load::Layout::Nhwc, crate::data::load::Layout::Nchw] {
            assert_bad_input(npz_dataset::from_arrays(arrays.clone(), p, layout, None).map(|d| {
                for s in [&d.train, &d.test] {
                    assert_eq!(s.images.len(), s.len() * d.shape.features());
                    assert!(s.labels.iter().all(|&l| usize::from(l) < d.classes), "a label out of range");
                    assert!(s.images.iter().all(|v| (0.0..=1.0).contains(v)), "a pixel out of [0, 1]");
                }
            }));
        }
    }));
}

/// The bytes as one image of an image folder (PNG or JPEG), alone and resized to 8x8.
pub fn check_image(data: &[u8]) {
    let p = Path::new("fuzz.png");
    for resize in [None, Some([8, 8])] {
        assert_bad_input(image_folder::parse_image(data, p, None, resize).map(|(shape, px)| {
            assert_eq!(px.len(), shape.features(), "pixels do not match the shape");
            if resize.is_some() {
                assert_eq!((shape.height, shape.width), (8, 8));
            }
        }));
    }
}
