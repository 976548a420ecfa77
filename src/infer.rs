//! The inference protocol on a saved run: the customer encodes the test inputs with its key, the
//! provider runs its stored model on them and returns scores, the customer decodes them.

use std::path::Path;
use std::time::Instant;

use dfdx::prelude::*;
use serde::Serialize;

use crate::error::InputError;
use crate::model::arch::{with_net, Net, WithNet};
use crate::results::{ArmRecord, RunFolder, Summary};
use crate::scheme::{Customer, EncodedInputs, KeyFile};
use crate::train::trainer::predict;

/// Fresh noise draws `infer` makes besides replaying the run's (per-sample noise only).
pub const FRESH_DRAWS: usize = 5;

/// What one round trip over the test set measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InferenceReport {
    /// The keyed arm served.
    pub arm: String,
    pub samples: usize,
    /// Decoded accuracy (customer side) of the stored model on the test set encoded as the run encoded
    /// it: with per-sample noise, the run's own noise draws, replayed from the key.
    pub accuracy: f64,
    /// The arm's test accuracy in summary.json (the run's evaluation after its last epoch).
    pub recorded_accuracy: f64,
    /// `accuracy` and `recorded_accuracy` count the same number of correct samples.
    pub matches_run: bool,
    /// Per-sample noise only: accuracy over fresh noise draws, as new queries would get.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fresh_noise: Option<FreshNoise>,
    /// How `accuracy`, `recorded_accuracy` and `fresh_noise` relate, in words.
    pub explanation: String,
    /// Bytes the customer sends per sample (encoded f32 features).
    pub bytes_to_provider_per_sample: usize,
    /// Bytes the provider returns per sample (f32 scores over all output codes).
    pub bytes_to_customer_per_sample: usize,
    /// Seconds to encode the test set once (a fresh encoding, not the replay).
    pub encode_seconds: f64,
    pub provider_seconds: f64,
    pub decode_seconds: f64,
}

/// Accuracy of the same stored model over several fresh noise draws of the test set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FreshNoise {
    pub accuracies: Vec<f64>,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

impl FreshNoise {
    fn of(accuracies: Vec<f64>) -> FreshNoise {
        let n = accuracies.len().max(1) as f64;
        FreshNoise {
            mean: accuracies.iter().sum::<f64>() / n,
            min: accuracies.iter().copied().fold(f64::INFINITY, f64::min),
            max: accuracies.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            accuracies,
        }
    }
}

/// The provider: holds the stored model, sees only encoded inputs, returns raw scores.
pub struct Provider<'a> {
    model: &'a Path,
    arch: crate::config::Arch,
    shape: crate::data::ImageShape,
    outputs: usize,
}

impl<'a> Provider<'a> {
    /// The provider serving the weights in `model` (an `arch` network for `shape` inputs and `outputs` codes).
    pub fn new(model: &'a Path, arch: crate::config::Arch, shape: crate::data::ImageShape, outputs: usize) -> Self {
        Provider { model, arch, shape, outputs }
    }

    /// Scores for the encoded inputs from the stored model (n rows of `outputs`).
    pub fn serve(&self, inputs: &EncodedInputs) -> anyhow::Result<Vec<f32>> {
        // The device the run trained and evaluated on (denormals flushed alike).
        let dev = crate::model::cpu_training_device(0);
        let job = Serve { path: self.model, dev: &dev, inputs: inputs.images(), features: inputs.features() };
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

/// Which arms a command can work on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArmKinds {
    /// Arms with a key: what `infer` serves and the provider view re-encodes.
    Keyed,
    /// Keyed and split arms: what the attacks attack and keep samples for.
    Attacked,
}

impl ArmKinds {
    fn noun(self) -> &'static str {
        match self {
            ArmKinds::Keyed => "keyed",
            ArmKinds::Attacked => "keyed or split",
        }
    }
}

/// The arm a command works on: the one named, or the run's only arm of the kinds it takes.
pub(crate) fn pick_arm<'a>(
    summary: &'a Summary,
    arm: Option<&str>,
    kinds: ArmKinds,
    run_dir: &Path,
) -> anyhow::Result<&'a ArmRecord> {
    let candidates: Vec<&ArmRecord> = match kinds {
        ArmKinds::Keyed => summary.keyed_arms().collect(),
        ArmKinds::Attacked => summary.attacked_arms().collect(),
    };
    match arm {
        Some(name) => match kinds {
            ArmKinds::Keyed => summary.keyed_arm(name, run_dir),
            ArmKinds::Attacked => summary.attacked_arm(name, run_dir),
        },
        None => match candidates.as_slice() {
            [only] => Ok(only),
            [] => Err(InputError::new(format!("{}: the run has no {} arm", run_dir.display(), kinds.noun())).into()),
            _ => Err(InputError::new(format!(
                "{}: the run has {} {} arms ({}): choose one with --arm NAME",
                run_dir.display(),
                candidates.len(),
                kinds.noun(),
                candidates.iter().map(|a| format!("`{}`", a.name)).collect::<Vec<_>>().join(", ")
            ))
            .into()),
        },
    }
}

/// `ppdl infer RUN_DIR [--arm NAME]`: the customer -> provider -> customer round trip on the run's
/// test set, for one keyed arm.
pub fn infer(run_dir: &Path, arm: Option<&str>) -> anyhow::Result<InferenceReport> {
    let folder = RunFolder::open(run_dir)?;
    let summary = folder.load_summary()?;
    let record = pick_arm(&summary, arm, ArmKinds::Keyed, run_dir)?;
    let privacy = record.scheme.keyed().expect("pick_arm returns keyed arms");
    let config = folder.load_config()?;
    let dataset = config.data.load()?;
    let probe =
        Customer::new(crate::scheme::SecretKey::fresh(), privacy, &dataset.name, dataset.shape, dataset.classes);
    let key_path = folder.key_path(&record.name);
    let key = KeyFile::load(&key_path, &probe.key_context())?;
    if let Some(recorded) = record.key_fingerprint.as_deref().filter(|f| *f != key.fingerprint()) {
        return Err(InputError::in_file(
            &key_path,
            format!(
                "key fingerprint {} is not this run's ({recorded} in summary.json): a key file from another run",
                key.fingerprint(),
            ),
        )
        .into());
    }
    let model_path = folder.model_path(&record.name);
    if !model_path.is_file() {
        return Err(InputError::in_file(
            &model_path,
            format!(
                "missing: the arm `{}` is `{}` in summary.json and only a finished arm saves its model",
                record.name,
                record.status.name()
            ),
        )
        .into());
    }
    let customer = Customer::new(key, privacy, &dataset.name, dataset.shape, dataset.classes);
    let provider = Provider {
        model: &model_path,
        arch: config.arm_arch(&record.name),
        shape: customer.encoded_shape(),
        outputs: customer.outputs(),
    };
    let judge = customer.judge(&dataset.test.labels);
    let n = dataset.test.len();

    // The test set as the run encoded it. Per-sample noise takes its draws from the customer's keyed
    // stream, where the run drew the training set's first: replay that order.
    let noise = customer.draws_fresh_input_noise();
    let encoded = if noise {
        crate::run::encode_run_data(&customer, &dataset).2
    } else {
        customer.encode_inputs(&dataset.test.images)
    };
    let t = Instant::now();
    let scores = provider.serve(&encoded)?;
    let provider_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let accuracy = judge.evaluate(&scores).accuracy;
    let decode_seconds = t.elapsed().as_secs_f64();

    // A new query: fresh draws (the next ones on the stream), timed.
    let t = Instant::now();
    let fresh = customer.encode_inputs(&dataset.test.images);
    let encode_seconds = t.elapsed().as_secs_f64();
    let fresh_noise = if noise {
        let mut accuracies = vec![judge.evaluate(&provider.serve(&fresh)?).accuracy];
        for _ in 1..FRESH_DRAWS {
            accuracies.push(judge.evaluate(&provider.serve(&customer.encode_inputs(&dataset.test.images))?).accuracy);
        }
        Some(FreshNoise::of(accuracies))
    } else {
        None
    };

    let recorded_accuracy = record.test_accuracy;
    let hits = |a: f64| (a * n as f64).round() as i64;
    let matches_run = hits(accuracy) == hits(recorded_accuracy);
    let explanation = explain(noise, matches_run, hits(accuracy) - hits(recorded_accuracy), fresh_noise.as_ref());
    Ok(InferenceReport {
        arm: record.name.clone(),
        samples: n,
        accuracy,
        recorded_accuracy,
        matches_run,
        fresh_noise,
        explanation,
        bytes_to_provider_per_sample: encoded.wire_bytes() / n.max(1),
        bytes_to_customer_per_sample: scores.len() * 4 / n.max(1),
        encode_seconds,
        provider_seconds,
        decode_seconds,
    })
}

/// Why infer's figures are what they are.
fn explain(noise: bool, matches: bool, diff: i64, fresh: Option<&FreshNoise>) -> String {
    let mut text = match (noise, matches) {
        (false, true) => "The transforms are deterministic: the same encoded test set and stored model give the \
                          run's recorded accuracy exactly."
            .to_string(),
        (true, true) => "Per-sample noise: the run drew the test set's noise from the key's stream right after the \
                         training set's; infer replays those draws and reproduces the recorded accuracy exactly."
            .to_string(),
        (_, false) => format!(
            "The replayed encoding gives {} correct samples {} than the run recorded: the stored model, the data \
             or the way this ppdl encodes differ from the run's (e.g. a run made by another ppdl version or a \
             data file that changed).",
            diff.abs(),
            if diff > 0 { "more" } else { "fewer" }
        ),
    };
    if let Some(f) = fresh {
        text.push_str(&format!(
            " A new query gets fresh noise, so its accuracy varies: over {} fresh draws of the whole test set it was \
             {:.2}% on average (min {:.2}%, max {:.2}%).",
            f.accuracies.len(),
            100.0 * f.mean,
            100.0 * f.min,
            100.0 * f.max
        ));
    }
    text
}
