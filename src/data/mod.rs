//! Datasets: loaders for the on-disk formats, the embedded default, splits and batching.
//!
//! Every image is stored flattened, channel-last (`index = (row * width + col) * channels + channel`),
//! as `f32` in `[0, 1]`. Labels are class indices `0..classes`.

pub mod arrays;
pub mod cifar;
pub mod digits;
pub mod display;
pub mod embedded;
pub mod idx;
pub mod image_folder;
pub mod load;
pub mod npz;
pub mod npz_dataset;

use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

use crate::error::InputError;

pub use display::display_name;

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

/// Flattened images of shape `from` read as images of shape `to` (an encoding looked at as if it were
/// an image: figures, the attacks' "encoded data read as raw"): the values themselves where the sizes
/// agree; where `from` has k times the channels of `to` at the same height and width (`le`: each
/// value's two 4-bit halves), the mean of each group of k channels. None for other shapes.
pub fn view_as(images: &[f32], from: ImageShape, to: ImageShape) -> Option<Vec<f32>> {
    if from.features() == to.features() {
        return Some(images.to_vec());
    }
    let same_plane = from.height == to.height && from.width == to.width;
    if !same_plane || to.channels == 0 || !from.channels.is_multiple_of(to.channels) {
        return None;
    }
    let k = from.channels / to.channels;
    Some(images.chunks_exact(k).map(|g| g.iter().sum::<f32>() / k as f32).collect())
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
    /// Names of the classes, by label, when the source gives them (`data.classes`, image folders).
    pub class_names: Vec<String>,
    pub train: Split,
    pub test: Split,
}

/// Largest decompressed size accepted from one gzip file (guards against gzip bombs).
pub const MAX_DECOMPRESSED_BYTES: u64 = 4 << 30;

/// True when `bytes` start with the gzip magic `1f 8b`.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Reads a whole data file. A missing or unreadable file is an [`InputError`] naming it.
pub fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        let what = match e.kind() {
            std::io::ErrorKind::NotFound => "file not found".to_string(),
            _ => format!("cannot read file: {e}"),
        };
        anyhow::Error::new(InputError::in_file(path, what))
    })
}

/// Returns `bytes` decompressed when they are gzip (start with `1f 8b`), unchanged otherwise.
/// A corrupt gzip stream is an [`InputError`] naming `path`.
pub fn gunzip_if_needed<'a>(bytes: &'a [u8], path: &Path) -> anyhow::Result<Cow<'a, [u8]>> {
    if !is_gzip(bytes) {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes).take(MAX_DECOMPRESSED_BYTES + 1).read_to_end(&mut out).map_err(|e| {
        anyhow::Error::new(InputError::in_file(
            path,
            format!("starts with the gzip signature 1f 8b but is not a valid gzip stream: {e}"),
        ))
    })?;
    if out.len() as u64 > MAX_DECOMPRESSED_BYTES {
        return Err(anyhow::Error::new(InputError::in_file(
            path,
            format!("decompresses to more than {MAX_DECOMPRESSED_BYTES} bytes; expected a dataset file"),
        )));
    }
    Ok(Cow::Owned(out))
}

/// `FILE: at byte OFFSET[ of the decompressed data]: MESSAGE` as an [`InputError`].
pub(crate) fn offset_error(path: &Path, gzip: bool, offset: u64, message: impl std::fmt::Display) -> anyhow::Error {
    if gzip {
        anyhow::Error::new(InputError::new(format!(
            "{}: at byte {offset} of the decompressed data: {message}",
            path.display()
        )))
    } else {
        anyhow::Error::new(InputError::at_offset(path, offset, message))
    }
}
