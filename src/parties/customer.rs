//! The customer as its own process: `ppdl customer keygen | encode | decode`. It holds the key file
//! (which records the config, and so the dataset, the key was made for), encodes with the same
//! [`Customer`] as a run, in the same order ([`crate::run::encode_run_data`]), and judges the
//! provider's scores with the same [`crate::scheme::Judge`].

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use super::package::{self, Manifest, Outgoing};
use crate::config::{Config, PrivacyConfig};
use crate::data::arrays::{self, ArrayFormat};
use crate::data::npz::{Array, DType};
use crate::data::Dataset;
use crate::error::InputError;
use crate::results::stats::{wilson, Interval};
use crate::scheme::key::KeyContext;
use crate::scheme::{Customer, KeyFile};

/// What `keygen` made.
#[derive(Debug, Clone, Serialize)]
pub struct KeygenReport {
    pub arm: String,
    pub fingerprint: String,
    /// The config fixed the key (`fixed_key`); otherwise a fresh secret from the OS.
    pub fixed: bool,
    pub dataset: String,
}

/// `ppdl customer keygen CONFIG --out KEY.json [--arm NAME] [--force]`: a key for one keyed arm of the
/// config (its `fixed_key` if it has one), written with mode 0600 together with the resolved config.
pub fn keygen(config_path: &Path, arm: Option<&str>, out: &Path, force: bool) -> Result<KeygenReport> {
    let mut config = crate::validate::load_config(config_path)?;
    let (index, name, privacy) = keyed_arm(&config, arm, config_path)?;
    if out.exists() && !force {
        return Err(
            InputError::in_file(out, "exists: refusing to overwrite a key file (pass --force to replace it)").into()
        );
    }
    // The key file must find the data from wherever encode runs.
    if let Some(dir) = config.data.dir.as_mut().filter(|d| d.is_relative()) {
        *dir = std::env::current_dir()?.join(&*dir);
    }
    let dataset = config.data.load()?;
    let key = crate::run::make_key(&privacy, &config.arm_field(index))?;
    let customer = Customer::new(key, &privacy, &dataset.name, dataset.shape, dataset.classes);
    let mut file = customer.key_file();
    file.config = Some(config.to_toml());
    file.arm = Some(name.clone());
    file.save(out)?;
    Ok(KeygenReport {
        arm: name,
        fingerprint: customer.fingerprint(),
        fixed: privacy.fixed_key.is_some(),
        dataset: dataset.name,
    })
}

/// The keyed arm `keygen` makes a key for: the one named, or the config's only keyed arm.
fn keyed_arm(config: &Config, arm: Option<&str>, path: &Path) -> Result<(usize, String, PrivacyConfig)> {
    let keyed: Vec<(usize, String, PrivacyConfig)> = config
        .arms()
        .into_iter()
        .enumerate()
        .filter_map(|(i, a)| a.scheme.keyed().cloned().map(|p| (i, a.name, p)))
        .collect();
    let names = || keyed.iter().map(|(_, n, _)| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    match arm {
        Some(want) => keyed.iter().find(|(_, n, _)| n == want).cloned().ok_or_else(|| {
            InputError::in_file(path, format!("--arm {want}: no keyed arm of that name (keyed arms: {})", names()))
                .into()
        }),
        None => match keyed.as_slice() {
            [only] => Ok(only.clone()),
            [] => Err(InputError::in_file(path, "the config has no keyed arm: nothing to make a key for").into()),
            _ => Err(InputError::in_file(
                path,
                format!("the config has {} keyed arms ({}): choose one with --arm NAME", keyed.len(), names()),
            )
            .into()),
        },
    }
}

/// The customer's side, opened from a key file made by `keygen`: its config's dataset and the customer.
pub struct CustomerSide {
    pub arm: String,
    pub dataset: Dataset,
    pub customer: Customer,
}

/// Read the key file, the config it records and that config's dataset; check the key against them.
pub fn open(key_path: &Path) -> Result<CustomerSide> {
    let file = KeyFile::peek(key_path)?;
    let (Some(text), Some(arm)) = (file.config.as_deref(), file.arm.as_deref()) else {
        return Err(InputError::in_file(
            key_path,
            "fields `config` and `arm` missing: a key file of a run (RUN_DIR/customer/ARM/key.json) does not name its \
             data; make a key for the two-process protocol with `ppdl customer keygen CONFIG --out KEY.json`",
        )
        .into());
    };
    let config = crate::validate::parse_config(text, key_path)?;
    let privacy =
        config.arms().into_iter().find(|a| a.name == arm).and_then(|a| a.scheme.keyed().cloned()).ok_or_else(|| {
            InputError::in_file(key_path, format!("field `arm`: the recorded config has no keyed arm `{arm}`"))
        })?;
    let dataset = config.data.load()?;
    let context = KeyContext::of(&dataset, &privacy);
    let key = KeyFile::load(key_path, &context)?;
    let customer = Customer::new(key, &privacy, &dataset.name, dataset.shape, dataset.classes);
    Ok(CustomerSide { arm: arm.to_string(), dataset, customer })
}

/// What `encode` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct EncodeReport {
    pub arm: String,
    pub dataset: String,
    pub manifest: Manifest,
    pub files: Vec<PathBuf>,
}

/// `ppdl customer encode KEY.json --out DIR`: the provider's package (encoded training set with output
/// codes, encoded test inputs, a manifest without secrets), encoded exactly as a run encodes.
pub fn encode(key_path: &Path, out: &Path, format: ArrayFormat, force: bool) -> Result<EncodeReport> {
    let side = open(key_path)?;
    let (train, _timings, test) = crate::run::encode_run_data(&side.customer, &side.dataset);
    let outgoing =
        Outgoing { train: &train, test: &test, shape: side.customer.encoded_shape(), outputs: side.customer.outputs() };
    let manifest = package::write(out, &outgoing, format, force)?;
    let files = [package::MANIFEST, &manifest.train_file, &manifest.test_file].iter().map(|f| out.join(f)).collect();
    Ok(EncodeReport { arm: side.arm, dataset: side.dataset.name, manifest, files })
}

/// What `decode` found.
#[derive(Debug, Clone, Serialize)]
pub struct DecodeReport {
    pub arm: String,
    pub samples: usize,
    pub classes: usize,
    /// Where the true labels came from (`None`: none given, no accuracy).
    pub labels: Option<String>,
    pub accuracy: Option<f64>,
    /// 95% Wilson interval of `accuracy` over `samples`.
    pub accuracy_interval: Option<Interval>,
    /// How many samples each class was predicted for.
    pub predicted_counts: Vec<usize>,
}

/// Where `decode` takes the true labels from.
pub enum Labels<'a> {
    /// The test split of the key's dataset.
    TestSplit,
    /// An array file with `y_test` or `y`.
    File(&'a Path),
    /// None: decode only.
    None,
}

/// `ppdl customer decode KEY.json SCORES`: the provider's scores over output codes decoded into classes
/// with the secret label assignment; accuracy when the true labels are known. `out`: the predicted
/// classes (`y_pred`, int64) and class probabilities (`probs`, float32 (N, C)).
pub fn decode(
    key_path: &Path,
    scores_path: &Path,
    labels: Labels<'_>,
    out: Option<(&Path, ArrayFormat)>,
) -> Result<DecodeReport> {
    let side = open(key_path)?;
    let outputs = side.customer.outputs();
    let classes = side.customer.codec().classes;
    let mut arrays = arrays::read(scores_path)?;
    let a = package::take(scores_path, &mut arrays, "scores")?;
    if a.dtype != DType::F32 || a.shape.len() != 2 || a.shape[1] != outputs {
        return Err(InputError::in_file(
            scores_path,
            format!(
                "array `scores`: expected float32 (N, {outputs}) (one row of output-code scores per sample), found {:?} {:?}",
                a.dtype, a.shape
            ),
        )
        .into());
    }
    let n = a.shape[0];
    let scores: Vec<f32> = a.data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let truth: Option<(String, Vec<u8>)> = match labels {
        Labels::None => None,
        Labels::TestSplit => {
            Some((format!("the test split of {}", side.dataset.name), side.dataset.test.labels.clone()))
        }
        Labels::File(path) => Some((path.display().to_string(), read_labels(path, classes)?)),
    };
    if let Some((source, y)) = &truth {
        if y.len() != n {
            return Err(InputError::in_file(
                scores_path,
                format!(
                    "{n} rows of scores, but {source} has {} labels: expected one row per labelled sample",
                    y.len()
                ),
            )
            .into());
        }
    }
    let probs = side.customer.decode_scores(&scores);
    let predicted = crate::scheme::labels::argmax_rows(&probs, classes);
    let mut predicted_counts = vec![0; classes];
    predicted.iter().for_each(|&p| predicted_counts[p] += 1);
    // The same judge a run evaluates its test set with.
    let accuracy = truth.as_ref().map(|(_, y)| side.customer.judge(y).evaluate(&scores).accuracy);
    if let Some((path, format)) = out {
        let y_pred = Array::from_i64(vec![n], &predicted.iter().map(|&p| p as i64).collect::<Vec<_>>());
        let probs = Array::from_f32(vec![n, classes], &probs);
        crate::atomic::write(path, &arrays::to_bytes(format, &[("y_pred", &y_pred), ("probs", &probs)])?)?;
    }
    Ok(DecodeReport {
        arm: side.arm,
        samples: n,
        classes,
        labels: truth.map(|(s, _)| s),
        accuracy,
        accuracy_interval: accuracy.map(|a| wilson(a, n)),
        predicted_counts,
    })
}

/// True classes from an array file: `y_test` or `y`, integers in 0..classes.
fn read_labels(path: &Path, classes: usize) -> Result<Vec<u8>> {
    let mut arrays = arrays::read(path)?;
    let name = ["y_test", "y"].into_iter().find(|n| arrays.iter().any(|(a, _)| a == n)).ok_or_else(|| {
        InputError::in_file(path, "no array `y_test` or `y`: expected the true classes (N,) as integers")
    })?;
    let a = package::take(path, &mut arrays, name)?;
    if a.dtype.is_float() || a.shape.len() != 1 {
        return Err(InputError::in_file(
            path,
            format!("array `{name}`: expected integers (N,), found {:?} {:?}", a.dtype, a.shape),
        )
        .into());
    }
    (0..a.len())
        .map(|i| {
            let v = a.get_f64(i);
            (v >= 0.0 && v < classes as f64).then_some(v as u8).ok_or_else(|| {
                InputError::in_file(path, format!("array `{name}`, entry {i}: label {v} outside 0..{classes}")).into()
            })
        })
        .collect()
}
