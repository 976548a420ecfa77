//! The provider's package: what the customer hands over when the two parties run as separate
//! processes. A folder with the encoded training set, the encoded test inputs and a manifest:
//!
//! ```text
//! DIR/manifest.json   format, shape, output count, sample counts, array files, digests (no secret)
//! DIR/train.npz       x_train (N, H, W, C) float32 encoded inputs, y_train (N,) int64 output codes
//! DIR/test.npz        x_test  (M, H, W, C) float32 encoded inputs
//! ```
//!
//! (`.safetensors` instead of `.npz` with `--format safetensors`.) The digests follow the one
//! definition of [`WireDigests`], so they equal a run's `provider/ARM/encoded-data.json` for the same
//! config, key and data. Both parties read and write the package only through this module.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::data::arrays::{self, ArrayFormat};
use crate::data::npz::{Array, DType};
use crate::data::ImageShape;
use crate::error::InputError;
use crate::scheme::protocol::WireDigests;
use crate::scheme::{EncodedInputs, EncodedTrainingSet, TrainingSet};

/// `manifest.json`'s `format`.
pub const PACKAGE_FORMAT: &str = "ppdl-provider-package";
pub const PACKAGE_VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";

/// `DIR/manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// Shape of one encoded input (what the provider's network takes, flattened channel-last).
    pub shape: ImageShape,
    /// Outputs the model must have: the number of output codes (classes x codes per class).
    pub outputs: usize,
    pub train_samples: usize,
    pub test_samples: usize,
    /// File names inside the package: `train` holds x_train and y_train, `test` holds x_test.
    pub train_file: String,
    pub test_file: String,
    /// sha256 of the arrays' data (see [`WireDigests`]).
    pub digests: WireDigests,
    /// How the digests are computed, in words.
    pub encoding: String,
}

/// What the customer writes.
pub struct Outgoing<'a> {
    pub train: &'a EncodedTrainingSet,
    pub test: &'a EncodedInputs,
    pub shape: ImageShape,
    pub outputs: usize,
}

/// Write the package into `dir` (created; refused when it already holds a manifest and `force` is
/// off). Array files first, the manifest last, each atomically: a folder with a manifest is complete.
pub fn write(dir: &Path, package: &Outgoing<'_>, format: ArrayFormat, force: bool) -> Result<Manifest> {
    if dir.is_file() {
        return Err(
            InputError::in_file(dir, "exists and is a file: expected a folder for the provider's package").into()
        );
    }
    if dir.join(MANIFEST).exists() && !force {
        return Err(InputError::in_file(
            dir,
            "already holds a provider package (manifest.json): pass --force to replace it",
        )
        .into());
    }
    std::fs::create_dir_all(dir).map_err(|e| InputError::in_file(dir, format!("cannot create the folder: {e}")))?;
    let ext = match format {
        ArrayFormat::Npz => "npz",
        ArrayFormat::Safetensors => "safetensors",
    };
    let (train_file, test_file) = (format!("train.{ext}"), format!("test.{ext}"));
    let (n, m) = (package.train.inputs().len(), package.test.len());
    let x = |rows: usize, values: &[f32]| {
        let s = package.shape;
        Array::from_f32(vec![rows, s.height, s.width, s.channels], values)
    };
    let codes: Vec<i64> = package.train.codes().iter().map(|&c| i64::from(c)).collect();
    let (x_train, y_train, x_test) =
        (x(n, package.train.inputs().images()), Array::from_i64(vec![n], &codes), x(m, package.test.images()));
    crate::atomic::write(
        &dir.join(&train_file),
        &arrays::to_bytes(format, &[("x_train", &x_train), ("y_train", &y_train)])?,
    )?;
    crate::atomic::write(&dir.join(&test_file), &arrays::to_bytes(format, &[("x_test", &x_test)])?)?;
    let manifest = Manifest {
        format: PACKAGE_FORMAT.into(),
        version: PACKAGE_VERSION,
        shape: package.shape,
        outputs: package.outputs,
        train_samples: n,
        test_samples: m,
        train_file,
        test_file,
        digests: WireDigests::of_encoded(package.train, package.test.images()),
        encoding: "sha256 of little-endian f32 inputs and u16 codes, row-major, samples in dataset order".into(),
    };
    crate::atomic::write_json(&dir.join(MANIFEST), &manifest)?;
    Ok(manifest)
}

/// A package as the provider opened it: its manifest, checked.
pub struct Package {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

/// The training set as the provider holds it, checked against the manifest.
pub struct ReceivedTraining {
    pub inputs: Vec<f32>,
    pub codes: Vec<u16>,
    pub features: usize,
    pub outputs: usize,
}

impl ReceivedTraining {
    pub fn view(&self) -> TrainingSet<'_> {
        TrainingSet {
            images: &self.inputs,
            targets: &self.codes,
            features: self.features,
            outputs: self.outputs,
            redraw: None,
        }
    }
}

impl Package {
    /// Open `dir` and read its manifest; anything that is not a package is exit 2 saying what was expected.
    pub fn open(dir: &Path) -> Result<Package> {
        let expected = "expected a provider package: a folder made by `ppdl customer encode` holding manifest.json";
        if dir.is_file() {
            return Err(InputError::in_file(dir, format!("is a file, not a folder: {expected}")).into());
        }
        if !dir.is_dir() {
            return Err(InputError::in_file(dir, format!("no such folder: {expected}")).into());
        }
        let path = dir.join(MANIFEST);
        let manifest: Manifest = read_record(&path, expected, "a package manifest")?;
        check_format(&path, (&manifest.format, manifest.version), (PACKAGE_FORMAT, PACKAGE_VERSION))?;
        for name in [&manifest.train_file, &manifest.test_file] {
            // The provider opens nothing outside the package: plain file names only.
            if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
                return Err(InputError::in_file(
                    &path,
                    format!("file name {name:?}: expected a plain file name inside the package"),
                )
                .into());
            }
        }
        if manifest.shape.features() == 0 || manifest.outputs < 2 || manifest.outputs > usize::from(u16::MAX) {
            return Err(InputError::in_file(
                &path,
                "fields `shape`/`outputs`: expected a non-empty shape and 2..65535 outputs",
            )
            .into());
        }
        Ok(Package { dir: dir.to_path_buf(), manifest })
    }

    pub fn train_path(&self) -> PathBuf {
        self.dir.join(&self.manifest.train_file)
    }

    pub fn test_path(&self) -> PathBuf {
        self.dir.join(&self.manifest.test_file)
    }

    /// The encoded training set, checked for shape, code range and the manifest's digests.
    pub fn training(&self) -> Result<ReceivedTraining> {
        let m = &self.manifest;
        let path = self.train_path();
        let mut arrays = arrays::read(&path)?;
        let inputs = images(&path, &mut arrays, "x_train", m.shape, m.train_samples)?;
        let y = take(&path, &mut arrays, "y_train")?;
        if y.dtype != DType::I64 || y.shape != [m.train_samples] {
            return Err(InputError::in_file(
                &path,
                format!("array `y_train`: expected int64 ({},), found {:?} {:?}", m.train_samples, y.dtype, y.shape),
            )
            .into());
        }
        let codes = (0..y.len())
            .map(|i| {
                let c = y.get_f64(i);
                (c >= 0.0 && c < m.outputs as f64).then_some(c as u16).ok_or_else(|| {
                    InputError::in_file(&path, format!("array `y_train`, entry {i}: code {c} outside 0..{}", m.outputs))
                })
            })
            .collect::<Result<Vec<u16>, _>>()?;
        let manifest_path = self.dir.join(MANIFEST);
        check_digest(
            &manifest_path,
            &path,
            "train_inputs_sha256",
            &m.digests.train_inputs_sha256,
            &crate::scheme::protocol::sha256_f32(&inputs),
        )?;
        check_digest(
            &manifest_path,
            &path,
            "train_codes_sha256",
            &m.digests.train_codes_sha256,
            &crate::scheme::protocol::sha256_u16(&codes),
        )?;
        Ok(ReceivedTraining { inputs, codes, features: m.shape.features(), outputs: m.outputs })
    }

    /// The encoded test inputs, checked for shape and the manifest's digest.
    pub fn test_inputs(&self) -> Result<EncodedInputs> {
        let m = &self.manifest;
        let path = self.test_path();
        let mut arrays = arrays::read(&path)?;
        let inputs = images(&path, &mut arrays, "x_test", m.shape, m.test_samples)?;
        check_digest(
            &self.dir.join(MANIFEST),
            &path,
            "test_inputs_sha256",
            &m.digests.test_inputs_sha256,
            &crate::scheme::protocol::sha256_f32(&inputs),
        )?;
        Ok(EncodedInputs::received(inputs, m.shape.features()))
    }
}

/// Encoded inputs from an array file the provider was given to score (`x_test` or `x`), for a model
/// that takes `shape`.
pub fn read_inputs(path: &Path, shape: ImageShape) -> Result<EncodedInputs> {
    let mut arrays = arrays::read(path)?;
    let name = ["x_test", "x"].into_iter().find(|n| arrays.iter().any(|(a, _)| a == n)).ok_or_else(|| {
        InputError::in_file(path, "no array `x_test` or `x`: expected the encoded inputs (N, H, W, C) float32")
    })?;
    let n = arrays.iter().find(|(a, _)| a == name).map(|(_, a)| a.shape.first().copied().unwrap_or(0)).unwrap_or(0);
    let inputs = images(path, &mut arrays, name, shape, n)?;
    Ok(EncodedInputs::received(inputs, shape.features()))
}

/// Removes array `name` from `arrays`, or says it is missing.
pub fn take(path: &Path, arrays: &mut Vec<(String, Array)>, name: &str) -> Result<Array> {
    let i = arrays.iter().position(|(n, _)| n == name).ok_or_else(|| {
        let found: Vec<&str> = arrays.iter().map(|(n, _)| n.as_str()).collect();
        InputError::in_file(path, format!("no array `{name}` (found: {})", found.join(", ")))
    })?;
    Ok(arrays.remove(i).1)
}

/// Array `name` as `rows` float32 images of `shape`, channel-last.
fn images(
    path: &Path,
    arrays: &mut Vec<(String, Array)>,
    name: &str,
    shape: ImageShape,
    rows: usize,
) -> Result<Vec<f32>> {
    let a = take(path, arrays, name)?;
    let want = [rows, shape.height, shape.width, shape.channels];
    if a.dtype != DType::F32 || a.shape != want {
        return Err(InputError::in_file(
            path,
            format!("array `{name}`: expected float32 {want:?} (N, H, W, C), found {:?} {:?}", a.dtype, a.shape),
        )
        .into());
    }
    Ok(a.data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

/// The JSON record at `path` (`what` it should be, for errors); exit 2 saying `expected` when unreadable.
pub(crate) fn read_record<T: serde::de::DeserializeOwned>(path: &Path, expected: &str, what: &str) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::in_file(path, format!("cannot read ({e}): {expected}")))?;
    Ok(serde_json::from_str(&text)
        .map_err(|e| InputError::in_file(path, format!("line {} column {}: not {what}: {e}", e.line(), e.column())))?)
}

/// A record's `format`/`version` fields against the ones this build writes.
pub(crate) fn check_format(path: &Path, found: (&str, u32), expected: (&str, u32)) -> Result<()> {
    if found != expected {
        return Err(InputError::in_file(
            path,
            format!(
                "fields `format`/`version`: expected \"{}\"/{}, found {:?}/{}",
                expected.0, expected.1, found.0, found.1
            ),
        )
        .into());
    }
    Ok(())
}

fn check_digest(manifest: &Path, file: &Path, field: &str, recorded: &str, actual: &str) -> Result<()> {
    if recorded != actual {
        return Err(InputError::in_file(
            manifest,
            format!(
                "field `digests.{field}`: the manifest records {recorded}, but the arrays in {} hash to {actual} \
                 (the package was changed after `ppdl customer encode`)",
                file.display()
            ),
        )
        .into());
    }
    Ok(())
}
