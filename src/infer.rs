//! The inference protocol on a saved run: the customer encodes the test inputs with its key, the
//! provider runs its stored model on them and returns scores, the customer decodes them.

use std::path::Path;
use std::time::Instant;

use dfdx::prelude::*;
use serde::Serialize;

use crate::model::arch::{with_net, Net, WithNet};
use crate::results::RunFolder;
use crate::scheme::{Customer, EncodedInputs, KeyFile};
use crate::train::trainer::predict;

/// What one round trip over the test set measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InferenceReport {
    pub samples: usize,
    /// Decoded accuracy against the true labels (customer side).
    pub accuracy: f64,
    /// Bytes the customer sends per sample (encoded f32 features).
    pub bytes_to_provider_per_sample: usize,
    /// Bytes the provider returns per sample (f32 scores over all output codes).
    pub bytes_to_customer_per_sample: usize,
    pub encode_seconds: f64,
    pub provider_seconds: f64,
    pub decode_seconds: f64,
}

/// The provider: holds the stored model, sees only encoded inputs, returns raw scores.
pub struct Provider<'a> {
    folder: &'a RunFolder,
    arch: crate::config::Arch,
    shape: crate::data::ImageShape,
    outputs: usize,
}

impl Provider<'_> {
    /// Scores for the encoded inputs from the stored model (n rows of `outputs`).
    pub fn serve(&self, inputs: &EncodedInputs) -> anyhow::Result<Vec<f32>> {
        let dev = Cpu::default();
        let job = Serve { path: &self.folder.provider_model_path(), dev: &dev, inputs: inputs.images(), features: inputs.features() };
        with_net(self.arch, &dev, self.shape, self.outputs, job)
    }
}

struct Serve<'a> {
    path: &'a Path,
    dev: &'a Cpu,
    inputs: &'a [f32],
    features: usize,
}

impl WithNet<Cpu> for Serve<'_> {
    type Output = anyhow::Result<Vec<f32>>;
    fn run<M: Net<Cpu>>(self, mut model: M) -> anyhow::Result<Vec<f32>> {
        crate::model::io::load(&mut model, self.path)?;
        predict(&model, self.dev, self.inputs, self.features).map_err(|e| anyhow::anyhow!("forward failed: {e:?}"))
    }
}

/// `ppdl infer RUN_DIR`: the customer -> provider -> customer round trip on the run's test set.
pub fn infer(run_dir: &Path) -> anyhow::Result<InferenceReport> {
    let folder = RunFolder::open(run_dir)?;
    let config = folder.load_config()?;
    let dataset = crate::run::load_data(&config)?;
    let probe = Customer::new(crate::scheme::SecretKey::fresh(), &config.privacy, &dataset.name, dataset.shape, dataset.classes);
    let key = KeyFile::load(&folder.key_path(), &probe.key_context())?;
    let summary = folder.load_summary()?;
    if key.fingerprint() != summary.key_fingerprint {
        return Err(crate::error::InputError::in_file(
            &folder.key_path(),
            format!(
                "key fingerprint {} is not this run's ({} in summary.json): a key file from another run",
                key.fingerprint(),
                summary.key_fingerprint
            ),
        )
        .into());
    }
    let customer = Customer::new(key, &config.privacy, &dataset.name, dataset.shape, dataset.classes);
    let provider = Provider { folder: &folder, arch: config.model.arch, shape: dataset.shape, outputs: customer.outputs() };

    let t = Instant::now();
    let encoded = customer.encode_inputs(&dataset.test.images);
    let encode_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let scores = provider.serve(&encoded)?;
    let provider_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let accuracy = customer.judge(&dataset.test.labels).evaluate(&scores).accuracy;
    let decode_seconds = t.elapsed().as_secs_f64();
    let n = dataset.test.len();
    Ok(InferenceReport {
        samples: n,
        accuracy,
        bytes_to_provider_per_sample: encoded.wire_bytes() / n.max(1),
        bytes_to_customer_per_sample: scores.len() * 4 / n.max(1),
        encode_seconds,
        provider_seconds,
        decode_seconds,
    })
}
