//! `RUN_DIR/samples.json`: a few test images as the customer has them, as the provider sees them, as
//! the customer decodes them and as attacks reconstruct them, so the sample-image panel can be redrawn
//! from the run folder alone.
//!
//! # Format (format_version 1)
//!
//! ```json
//! {
//!   "format_version": 1,
//!   "privacy": "pixel-permutation; labels: permuted, m=1",
//!   "shape": {"height": 28, "width": 28, "channels": 1},
//!   "encoded_shape": {"height": 28, "width": 28, "channels": 2},  // absent: `shape` (older files)
//!   "indices": [0, 2, ...],          // positions in the test split
//!   "labels": [9, 2, ...],           // true classes (customer knowledge)
//!   "raw": [[...784 values in 0..1...], ...],
//!   "encoded": [[...], ...],         // T_K(x): exactly what the provider received, in `encoded_shape`
//!   "provider_sees": "cut-layer activations ...",  // absent: the provider sees `encoded` (see below)
//!   "decoded": [[...], ...] | null,  // the customer's inverse of `encoded` (null: not invertible)
//!   "reconstructions": [             // added by attacks (absent or empty: none yet)
//!     {"attack": "known-plaintext", "label": "least squares, n=1000",
//!      "psnr_db": 31.2, "ssim": 0.93, "images": [[...], ...]}
//!   ]
//! }
//! ```
//!
//! Images are flattened channel-last (`(row * width + col) * channels + channel`), one list per
//! sample, values rounded to 4 decimals (display only). `reconstructions[k].images[i]` is attack k's
//! reconstruction of `encoded[i]`; an attack adds or replaces its entry with [`add_reconstruction`].
//! A split arm's provider receives cut-layer activations, not images: its file says so in
//! `provider_sees`, and `encoded` is then empty and `reconstructions[k].images[i]` reconstructs
//! `raw[i]` from what crossed the cut.
//! The file holds raw customer images: it belongs to the experimenter's side of the run folder, like
//! `customer/`, never to `provider/`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::RunFolder;
use crate::atomic;
use crate::data::{ImageShape, Split};
use crate::error::InputError;
use crate::scheme::{Customer, EncodedInputs};

pub const SAMPLES_FORMAT_VERSION: u32 = 1;
/// How many test images a run keeps for the panel.
pub const DEFAULT_SAMPLE_COUNT: usize = 6;

/// One attack's reconstructions of the stored encoded samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Reconstruction {
    /// Attack name as in attacks.json (`known-plaintext`, `statistical`, `inversion`, ...).
    pub attack: String,
    /// Short description for the row label (method, amount of data).
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psnr_db: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssim: Option<f64>,
    pub images: Vec<Vec<f32>>,
}

/// The whole of samples.json (read tolerantly: unknown fields are ignored, missing ones default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SamplesFile {
    pub format_version: u32,
    pub privacy: String,
    pub shape: Option<ImageShape>,
    /// Shape of the `encoded` images where a transform changes it (`le`: twice the channels); None:
    /// `shape` (and files written before the field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoded_shape: Option<ImageShape>,
    pub indices: Vec<usize>,
    pub labels: Vec<u32>,
    pub raw: Vec<Vec<f32>>,
    pub encoded: Vec<Vec<f32>>,
    /// Set where the provider receives no image (split arms send cut-layer activations): what it
    /// receives instead. `encoded` is then empty; None (and older files): the provider sees `encoded`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_sees: Option<String>,
    pub decoded: Option<Vec<Vec<f32>>>,
    pub reconstructions: Vec<Reconstruction>,
}

impl SamplesFile {
    /// A keyed arm's samples: `samples/ARM.json` (format 1: `samples.json`).
    pub fn path(folder: &RunFolder, arm: &str) -> std::path::PathBuf {
        folder.samples_path(arm)
    }

    /// Read samples.json; `Ok(None)` when the run has none.
    pub fn load(path: &Path) -> anyhow::Result<Option<SamplesFile>> {
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(path).map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
        let file: SamplesFile = serde_json::from_str(&text).map_err(|e| {
            InputError::in_file(
                path,
                format!(
                    "line {} column {}: expected a ppdl samples file (see results::samples): {e}",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        file.check(path)?;
        Ok(Some(file))
    }

    /// The shape of the `encoded` images (`shape` unless the file says otherwise).
    pub fn encoded_shape(&self) -> Option<ImageShape> {
        self.encoded_shape.or(self.shape)
    }

    /// The encoded images as images of `shape`, for drawing them beside the raw ones (`data::view_as`:
    /// an encoding of twice the channels shows the mean of each pair); None where no such view exists.
    pub fn encoded_as_raw(&self) -> Option<Vec<Vec<f32>>> {
        let (from, to) = (self.encoded_shape()?, self.shape?);
        self.encoded.iter().map(|e| crate::data::view_as(e, from, to)).collect()
    }

    /// Every image list has `shape.features()` values (`encoded`: `encoded_shape`'s) and there are as
    /// many of each kind as raw images; `encoded` is empty exactly where `provider_sees` says why.
    fn check(&self, path: &Path) -> anyhow::Result<()> {
        let Some(shape) = self.shape else {
            return Err(InputError::in_file(path, "field `shape`: expected {height, width, channels}").into());
        };
        let n = self.raw.len();
        let bad = |field: &str, what: String| -> anyhow::Error {
            InputError::in_file(path, format!("field `{field}`: {what}")).into()
        };
        if self.provider_sees.is_some() && !self.encoded.is_empty() {
            return Err(bad("encoded", "expected an empty list where `provider_sees` is set (no images cross)".into()));
        }
        let encoded = self.provider_sees.is_none().then(|| ("encoded".to_string(), &self.encoded));
        let lists: Vec<(String, &Vec<Vec<f32>>)> = std::iter::once(("raw".to_string(), &self.raw))
            .chain(encoded)
            .chain(self.decoded.iter().map(|d| ("decoded".to_string(), d)))
            .chain(
                self.reconstructions
                    .iter()
                    .enumerate()
                    .map(|(k, r)| (format!("reconstructions[{k}].images"), &r.images)),
            )
            .collect();
        for (field, list) in lists {
            let shape = if field == "encoded" { self.encoded_shape().unwrap_or(shape) } else { shape };
            let d = shape.features();
            if list.len() != n {
                let why = if field == "encoded" { " (or `provider_sees`: what crosses instead of images)" } else { "" };
                return Err(bad(&field, format!("expected {n} images (as many as `raw`){why}, found {}", list.len())));
            }
            if let Some((i, img)) = list.iter().enumerate().find(|(_, img)| img.len() != d) {
                return Err(bad(
                    &field,
                    format!(
                        "image {i}: expected {d} values ({}x{}x{}), found {}",
                        shape.height,
                        shape.width,
                        shape.channels,
                        img.len()
                    ),
                ));
            }
        }
        Ok(())
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let mut text = serde_json::to_string(self)?;
        text.push('\n');
        atomic::write(path, text.as_bytes())
    }
}

fn rounded(values: &[f32]) -> Vec<f32> {
    values.iter().map(|v| if v.is_finite() { (v * 1e4).round() / 1e4 } else { 0.0 }).collect()
}

/// Test-split positions for the panel: the first image of each class in order of appearance, then the
/// next images, `count` in all.
pub fn pick_indices(labels: &[u8], count: usize) -> Vec<usize> {
    let mut seen = std::collections::BTreeSet::new();
    let mut picked: Vec<usize> = Vec::new();
    for (i, &l) in labels.iter().enumerate() {
        if picked.len() == count {
            break;
        }
        if seen.insert(l) {
            picked.push(i);
        }
    }
    for i in 0..labels.len() {
        if picked.len() >= count {
            break;
        }
        if !picked.contains(&i) {
            picked.push(i);
        }
    }
    picked.sort_unstable();
    picked
}

/// Write `RUN_DIR/samples.json` for the first `count` test images of distinct classes: raw, encoded
/// exactly as the provider received them (`encoded_test`, the customer's encoding of `test`), and the
/// customer's decoding of that.
pub fn write_samples(
    folder: &RunFolder,
    arm: &str,
    customer: &Customer,
    privacy: &str,
    test: &Split,
    encoded_test: &EncodedInputs,
    count: usize,
) -> anyhow::Result<()> {
    let shape: ImageShape = customer.shape();
    let encoded_shape = customer.encoded_shape();
    let d = encoded_shape.features();
    let indices = pick_indices(&test.labels, count.min(test.len()));
    let encoded_all = encoded_test.images();
    let encoded: Vec<Vec<f32>> = indices.iter().map(|&i| encoded_all[i * d..(i + 1) * d].to_vec()).collect();
    let decoded: Option<Vec<Vec<f32>>> =
        encoded.iter().map(|e| customer.decode_inputs(e).map(|v| rounded(&v))).collect();
    let file = SamplesFile {
        format_version: SAMPLES_FORMAT_VERSION,
        privacy: privacy.to_string(),
        shape: Some(shape),
        encoded_shape: (encoded_shape != shape).then_some(encoded_shape),
        labels: indices.iter().map(|&i| test.labels[i] as u32).collect(),
        raw: indices.iter().map(|&i| rounded(test.image(i))).collect(),
        encoded: encoded.iter().map(|e| rounded(e)).collect(),
        provider_sees: None,
        decoded,
        reconstructions: Vec::new(),
        indices,
    };
    file.save(&SamplesFile::path(folder, arm))
}

/// Write `samples/ARM.json` for a split arm: the raw test images only, since its provider receives
/// `provider_sees` (cut-layer activations) rather than images; the split attacks add their
/// reconstructions of these raw images.
pub fn write_split_samples(
    folder: &RunFolder,
    arm: &str,
    privacy: &str,
    provider_sees: &str,
    shape: ImageShape,
    test: &Split,
    count: usize,
) -> anyhow::Result<()> {
    let indices = pick_indices(&test.labels, count.min(test.len()));
    let file = SamplesFile {
        format_version: SAMPLES_FORMAT_VERSION,
        privacy: privacy.to_string(),
        shape: Some(shape),
        encoded_shape: None,
        labels: indices.iter().map(|&i| test.labels[i] as u32).collect(),
        raw: indices.iter().map(|&i| rounded(test.image(i))).collect(),
        encoded: Vec::new(),
        provider_sees: Some(provider_sees.to_string()),
        decoded: None,
        reconstructions: Vec::new(),
        indices,
    };
    file.save(&SamplesFile::path(folder, arm))
}

/// Add (or replace: one entry per attack name) attacks' reconstructions of the stored samples, in the
/// order given. `recon.images[i]` must reconstruct `encoded[i]` of the file (split arms: `raw[i]`).
pub fn add_reconstructions(folder: &RunFolder, arm: &str, recons: Vec<Reconstruction>) -> anyhow::Result<()> {
    let path = SamplesFile::path(folder, arm);
    let Some(mut file) = SamplesFile::load(&path)? else {
        return Err(InputError::in_file(&path, "no samples file to add reconstructions to").into());
    };
    for mut recon in recons {
        recon.images = recon.images.iter().map(|img| rounded(img)).collect();
        file.reconstructions.retain(|r| r.attack != recon.attack);
        file.reconstructions.push(recon);
    }
    file.check(&path)?;
    file.save(&path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(encoded: usize, provider_sees: Option<&str>) -> SamplesFile {
        SamplesFile {
            shape: Some(ImageShape { height: 2, width: 2, channels: 1 }),
            raw: vec![vec![0.5; 4]; 2],
            encoded: vec![vec![0.5; 4]; encoded],
            provider_sees: provider_sees.map(String::from),
            ..Default::default()
        }
    }

    #[test]
    fn encoded_is_empty_exactly_where_provider_sees_says_what_crosses_instead() {
        let path = Path::new("samples/s.json");
        assert!(file(2, None).check(path).is_ok());
        assert!(file(0, Some("cut-layer activations")).check(path).is_ok());
        let err = format!("{:#}", file(0, None).check(path).unwrap_err());
        assert!(err.contains("field `encoded`") && err.contains("`provider_sees`"), "{err}");
        let err = format!("{:#}", file(2, Some("cut-layer activations")).check(path).unwrap_err());
        assert!(err.contains("field `encoded`: expected an empty list"), "{err}");
        // Older files (no `provider_sees`) read as before, and the field is left out when unset.
        let text = serde_json::to_string(&file(2, None)).unwrap();
        assert!(!text.contains("provider_sees"), "{text}");
        let back: SamplesFile = serde_json::from_str(&text).unwrap();
        assert_eq!(back.provider_sees, None);
    }
}
