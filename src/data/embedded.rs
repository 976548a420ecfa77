//! The embedded default dataset: the first 6,000 training and first 1,000 test samples of Fashion-MNIST
//! (MIT licence, © 2017 Zalando SE), compiled into the binary from `assets/fashion-mnist-subset/` (see the
//! README there for how the files were made and their hashes) and parsed with the IDX parser.

use std::path::Path;

use anyhow::Result;

use super::{idx, Dataset, Split};

/// `(file name, gzip IDX bytes)` of the four embedded files.
pub const FILES: [(&str, &[u8]); 4] = [
    ("train-images-idx3-ubyte.gz", TRAIN_IMAGES),
    ("train-labels-idx1-ubyte.gz", TRAIN_LABELS),
    ("t10k-images-idx3-ubyte.gz", TEST_IMAGES),
    ("t10k-labels-idx1-ubyte.gz", TEST_LABELS),
];
pub const TRAIN_IMAGES: &[u8] = include_bytes!("../../assets/fashion-mnist-subset/train-images-idx3-ubyte.gz");
pub const TRAIN_LABELS: &[u8] = include_bytes!("../../assets/fashion-mnist-subset/train-labels-idx1-ubyte.gz");
pub const TEST_IMAGES: &[u8] = include_bytes!("../../assets/fashion-mnist-subset/t10k-images-idx3-ubyte.gz");
pub const TEST_LABELS: &[u8] = include_bytes!("../../assets/fashion-mnist-subset/t10k-labels-idx1-ubyte.gz");

/// Training samples in the embedded subset.
pub const TRAIN_LEN: usize = 6000;
/// Test samples in the embedded subset.
pub const TEST_LEN: usize = 1000;
/// `Dataset::name` of the embedded dataset.
pub const NAME: &str = "embedded";

/// The embedded dataset: 28x28x1, 10 classes, 6,000 train / 1,000 test, pixels in `[0, 1]`.
pub fn load() -> Result<Dataset> {
    let dir = Path::new("<embedded>/assets/fashion-mnist-subset");
    let (shape, train_px, train_labels) = idx::parse_pair(
        TRAIN_IMAGES,
        &dir.join("train-images-idx3-ubyte.gz"),
        TRAIN_LABELS,
        &dir.join("train-labels-idx1-ubyte.gz"),
        10,
    )?;
    let (test_shape, test_px, test_labels) = idx::parse_pair(
        TEST_IMAGES,
        &dir.join("t10k-images-idx3-ubyte.gz"),
        TEST_LABELS,
        &dir.join("t10k-labels-idx1-ubyte.gz"),
        10,
    )?;
    anyhow::ensure!(shape == test_shape, "embedded dataset: train and test image shapes differ");
    let features = shape.features();
    Ok(Dataset {
        name: NAME.to_string(),
        shape,
        classes: 10,
        class_names: Vec::new(),
        train: Split { images: super::load::scale_pixels(&train_px, 255), labels: train_labels, features },
        test: Split { images: super::load::scale_pixels(&test_px, 255), labels: test_labels, features },
    })
}
