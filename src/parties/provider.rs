//! The provider as its own process: `ppdl provider train | predict`. It takes a package folder (or an
//! array file of encoded inputs) and a model folder, and nothing else: no key, no config, no dataset.
//! Training is the same trainer as a run's arms ([`crate::train::train_arm`]) on the same device and
//! seed, so the same package, architecture, settings and seed give the same model as an in-process run.
//!
//! ```text
//! MODEL_DIR/model.safetensors   the trained weights
//! MODEL_DIR/model.json          architecture, input shape, outputs, seed, training settings, the
//!                               digests of the package it trained on, epochs and times (no secret)
//! ```

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::package::{self, Package};
use crate::config::{Arch, TrainConfig};
use crate::data::arrays::{self, ArrayFormat};
use crate::data::npz::Array;
use crate::data::ImageShape;
use crate::error::InputError;
use crate::scheme::protocol::WireDigests;
use crate::scheme::{EncodedInputs, Judge};
use crate::train::{train_arm, ArmOutcome, Control, Event, TrainSpec};

pub const MODEL_FORMAT: &str = "ppdl-provider-model";
pub const MODEL_VERSION: u32 = 1;
const MODEL_JSON: &str = "model.json";
const MODEL_WEIGHTS: &str = "model.safetensors";
/// The arm name the provider's training events carry.
pub const ARM: &str = "provider";

/// `MODEL_DIR/model.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelRecord {
    pub format: String,
    pub version: u32,
    pub arch: Arch,
    pub shape: ImageShape,
    pub outputs: usize,
    pub seed: u64,
    pub train: TrainConfig,
    /// The package trained on (its manifest's digests).
    pub trained_on: WireDigests,
    pub train_samples: usize,
    pub epochs_completed: usize,
    pub train_seconds: f64,
    pub samples_per_second: f64,
}

/// `ppdl provider train DIR --arch A --epochs N ... --out MODEL_DIR`: train on exactly the package's
/// encoded inputs and codes. `on_event` hears the trainer's events (the front end prints them).
pub fn train(
    dir: &Path,
    arch: Arch,
    settings: TrainConfig,
    seed: u64,
    out: &Path,
    mut on_event: impl FnMut(&Event<()>),
) -> Result<ModelRecord> {
    let package = Package::open(dir)?;
    let data = package.training()?;
    let manifest = &package.manifest;
    if out.is_file() {
        return Err(InputError::in_file(out, "exists and is a file: expected a folder for the model").into());
    }
    std::fs::create_dir_all(out).map_err(|e| InputError::in_file(out, format!("cannot create the folder: {e}")))?;
    let spec = TrainSpec {
        arm: ARM.into(),
        arch,
        shape: manifest.shape,
        train: settings.clone(),
        seed,
        save_to: Some(out.join(MODEL_WEIGHTS)),
    };
    // The provider has no test labels: no evaluation set, and a judge with nothing to judge.
    let judge = Judge::plain(&[], manifest.outputs);
    let control = Control::default();
    let (tx, rx) = mpsc::channel::<Event<()>>();
    let outcome = std::thread::scope(|scope| {
        let (spec, data, judge, control) = (&spec, &data, &judge, &control);
        let trainer = scope.spawn(move || {
            // The device every run trains on, seeded alike: same initialisation.
            let dev = crate::model::cpu_training_device(seed);
            train_arm(&dev, spec, data.view(), &[], judge, &tx, control)
        });
        // Ends when the trainer thread ends (it owns the sender).
        rx.iter().for_each(|event| on_event(&event));
        trainer.join().map_err(|_| anyhow::anyhow!("the trainer thread panicked"))
    })?;
    let summary = match outcome {
        ArmOutcome::Finished(s) => s,
        ArmOutcome::Stopped(_) => anyhow::bail!("training stopped before the last epoch"),
        ArmOutcome::Failed(reason) => anyhow::bail!("training failed: {reason}"),
    };
    let record = ModelRecord {
        format: MODEL_FORMAT.into(),
        version: MODEL_VERSION,
        arch,
        shape: manifest.shape,
        outputs: manifest.outputs,
        seed,
        train: settings,
        trained_on: manifest.digests.clone(),
        train_samples: data.codes.len(),
        epochs_completed: summary.epochs_completed,
        train_seconds: summary.train_seconds,
        samples_per_second: summary.samples_per_second,
    };
    crate::atomic::write_json(&out.join(MODEL_JSON), &record)?;
    Ok(record)
}

/// A model folder made by [`train`], its record checked.
fn open_model(dir: &Path) -> Result<ModelRecord> {
    let expected = "expected a model folder made by `ppdl provider train` (model.json, model.safetensors)";
    if !dir.is_dir() {
        return Err(InputError::in_file(dir, format!("not a folder: {expected}")).into());
    }
    let path = dir.join(MODEL_JSON);
    let record: ModelRecord = package::read_record(&path, expected, "a provider model record")?;
    package::check_format(&path, (&record.format, record.version), (MODEL_FORMAT, MODEL_VERSION))?;
    Ok(record)
}

/// What `predict` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct PredictReport {
    pub samples: usize,
    pub outputs: usize,
    pub seconds: f64,
    pub out: PathBuf,
}

/// `ppdl provider predict MODEL_DIR ENCODED --out SCORES`: the model's scores over output codes
/// (`scores`, float32 (N, outputs)) for encoded inputs: a package folder (its test inputs, checked
/// against its manifest) or an array file with `x_test` or `x`.
pub fn predict(model_dir: &Path, encoded: &Path, out: &Path, format: ArrayFormat) -> Result<PredictReport> {
    let record = open_model(model_dir)?;
    let inputs: EncodedInputs = if encoded.is_dir() {
        let package = Package::open(encoded)?;
        if package.manifest.shape != record.shape {
            return Err(InputError::in_file(
                encoded,
                format!(
                    "inputs of shape {:?}, but the model in {} takes {:?}",
                    package.manifest.shape,
                    model_dir.display(),
                    record.shape
                ),
            )
            .into());
        }
        package.test_inputs()?
    } else {
        package::read_inputs(encoded, record.shape)?
    };
    let weights = model_dir.join(MODEL_WEIGHTS);
    let provider = crate::infer::Provider::new(&weights, record.arch, record.shape, record.outputs);
    let start = Instant::now();
    let scores = provider.serve(&inputs)?;
    let seconds = start.elapsed().as_secs_f64();
    let n = inputs.len();
    let array = Array::from_f32(vec![n, record.outputs], &scores);
    crate::atomic::write(out, &arrays::to_bytes(format, &[("scores", &array)])?)?;
    Ok(PredictReport { samples: n, outputs: record.outputs, seconds, out: out.to_path_buf() })
}
