//! Datasets: loaders for the on-disk formats, the embedded default, splits and batching.
//!
//! Every image is stored flattened, channel-last (`index = (row * width + col) * channels + channel`),
//! as `f32` in `[0, 1]`. Labels are class indices `0..classes`.

pub mod cifar;
pub mod digits;
pub mod embedded;
pub mod idx;
pub mod load;

/// Height, width and channels of one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageShape {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
}

impl ImageShape {
    pub fn features(&self) -> usize {
        self.height * self.width * self.channels
    }
}

/// One split (train or test): `len` images of `shape.features()` values each, and their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub images: Vec<f32>,
    pub labels: Vec<u8>,
    pub features: usize,
}

impl Split {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn image(&self, i: usize) -> &[f32] {
        &self.images[i * self.features..(i + 1) * self.features]
    }

    /// The first `n` samples (or all of them when `n` is larger).
    pub fn truncated(mut self, n: usize) -> Split {
        let n = n.min(self.len());
        self.images.truncate(n * self.features);
        self.labels.truncate(n);
        self
    }
}

/// A dataset with both splits.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub name: String,
    pub shape: ImageShape,
    pub classes: usize,
    pub train: Split,
    pub test: Split,
}
