//! Overhead analyses (design section 5): what the scheme costs against the baseline, measured in the
//! same process on the same data, and published figures of cryptographic approaches kept apart from
//! our measurements.
//!
//! - [`measure_run`] builds `overhead.json` at the end of every run: customer encode cost (total and
//!   per transform), per-epoch training time of both arms and their ratio, inference latency
//!   (encode + forward + decode against forward alone, one sample and a batch), bytes per sample each
//!   way, accuracy delta and peak memory.
//! - [`literature`] holds the published figures, each with its source.
//! - [`bench`] is `ppdl bench`: training throughput of the same networks against PyTorch on CPU.

pub mod bench;
pub mod inference;
pub mod literature;
pub mod memory;
pub mod split_inference;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::{Config, Schedule};
use crate::data::Dataset;
use crate::results::ArmRecord;
use crate::scheme::protocol::EncodeTimings;
use crate::scheme::Customer;
use crate::train::split::exchange::SplitTraffic;

pub use inference::{InferenceCost, InferenceTimes};
pub use literature::LiteratureEntry;

/// Version of the `overhead.json` layout (bumped on incompatible changes). Format 1 (one `measured`
/// for the one keyed arm) still reads, as the arm `private`.
pub const OVERHEAD_FORMAT_VERSION: u32 = 2;

/// `overhead.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverheadReport {
    pub format_version: u32,
    /// Measured in this run, on this machine: each protected arm against the baseline, in arm order.
    pub arms: Vec<ArmOverhead>,
    /// Each split arm's traffic and training time against the baseline, in arm order (runs older
    /// than split arms have none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub split_arms: Vec<SplitOverhead>,
    /// Published figures of other systems, never measured here (see `literature_note`).
    pub literature: Vec<LiteratureEntry>,
    #[serde(default)]
    pub literature_note: String,
}

/// One protected arm's costs against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmOverhead {
    pub arm: String,
    pub measured: Measured,
}

/// One split arm's costs against the baseline: the bytes each way (counted as they crossed), the
/// training time per epoch and the inference latency, exchange included (no network latency
/// modelled).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitOverhead {
    pub arm: String,
    pub traffic: SplitTraffic,
    pub training: TrainingCost,
    /// split test accuracy - baseline test accuracy (fraction, not points).
    pub accuracy_delta: f64,
    /// Head, middle and tail in turn against the baseline's forward (None in runs older than this
    /// field, or when it could not be timed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference: Option<split_inference::SplitInference>,
    /// What a plain outsourced service exchanges instead, to read the split arm's bytes against
    /// (None in runs older than this field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plain: Option<PlainService>,
}

/// The bytes of the plain alternative: the customer uploads its raw training set once (f32, as the
/// baseline consumes it), then sends raw inputs and receives scores per inference sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlainService {
    pub training_set_bytes: u64,
    pub input_per_sample: usize,
    pub output_per_sample: usize,
}

impl SplitOverhead {
    /// Bytes to the provider and back over the whole training: the epochs finished times the first
    /// complete epoch's bytes (None when no epoch completed).
    pub fn training_bytes(&self) -> Option<(u64, u64)> {
        let epochs = self.training.private_epoch_seconds.len() as u64;
        self.traffic.per_epoch.map(|e| (epochs * e.to_provider(), epochs * e.to_customer()))
    }
}

impl PlainService {
    pub fn of(dataset: &Dataset) -> PlainService {
        let input_per_sample = 4 * dataset.shape.features();
        PlainService {
            training_set_bytes: (input_per_sample * dataset.train.len()) as u64,
            input_per_sample,
            output_per_sample: 4 * dataset.classes,
        }
    }
}

/// The overhead record of the split arm `arm` (its summary record) against the baseline, its
/// inference timed on the saved parts.
pub fn split_overhead(
    config: &Config,
    dataset: &Dataset,
    baseline: &ArmRecord,
    arm: &ArmRecord,
    traffic: &SplitTraffic,
    timing: &split_inference::SplitFacts<'_>,
) -> anyhow::Result<SplitOverhead> {
    Ok(SplitOverhead {
        arm: arm.name.clone(),
        traffic: traffic.clone(),
        training: training_cost(config.train.schedule, baseline, arm),
        accuracy_delta: arm.test_accuracy - baseline.test_accuracy,
        inference: Some(split_inference::measure(timing, &inference::Budget::default())?),
        plain: Some(PlainService::of(dataset)),
    })
}

/// overhead.json format 1: the one keyed arm's figures.
#[derive(Deserialize)]
struct OverheadReportV1 {
    measured: Measured,
    literature: Vec<LiteratureEntry>,
    #[serde(default)]
    literature_note: String,
}

impl OverheadReport {
    /// The report of a run's measured arms, with the literature table beside them.
    pub fn new(arms: Vec<ArmOverhead>) -> OverheadReport {
        OverheadReport {
            format_version: OVERHEAD_FORMAT_VERSION,
            arms,
            split_arms: Vec::new(),
            literature: literature::entries(),
            literature_note: literature::NOTE.into(),
        }
    }

    pub fn arm(&self, name: &str) -> Option<&Measured> {
        self.arms.iter().find(|a| a.arm == name).map(|a| &a.measured)
    }

    /// Read `overhead.json` (every reader goes through this); `Ok(None)` when the run has none.
    pub fn load(path: &Path) -> anyhow::Result<Option<OverheadReport>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(crate::error::InputError::in_file(path, format!("cannot read: {e}")).into()),
        };
        let bad = |e: serde_json::Error| -> anyhow::Error {
            let kind = if e.is_syntax() || e.is_eof() { "invalid JSON" } else { "unexpected content" };
            crate::error::InputError::in_file(
                path,
                format!("line {} column {}: {kind}: expected a ppdl overhead file: {e}", e.line(), e.column()),
            )
            .into()
        };
        #[derive(Deserialize)]
        struct Version {
            #[serde(default)]
            format_version: u32,
        }
        match serde_json::from_str::<Version>(&text).map_err(bad)?.format_version {
            OVERHEAD_FORMAT_VERSION => serde_json::from_str(&text).map(Some).map_err(bad),
            0 | 1 => {
                let old: OverheadReportV1 = serde_json::from_str(&text).map_err(bad)?;
                Ok(Some(OverheadReport {
                    format_version: OVERHEAD_FORMAT_VERSION,
                    arms: vec![ArmOverhead { arm: crate::config::PRIVATE_ARM.into(), measured: old.measured }],
                    split_arms: Vec::new(),
                    literature: old.literature,
                    literature_note: old.literature_note,
                }))
            }
            found => Err(crate::error::InputError::in_file(
                path,
                format!("field `format_version`: expected 1 or {OVERHEAD_FORMAT_VERSION}, found {found}"),
            )
            .into()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measured {
    pub encode: EncodeCost,
    pub training: TrainingCost,
    pub inference: InferenceCost,
    pub bytes: BytesPerSample,
    /// private test accuracy - baseline test accuracy (fraction, not points).
    pub accuracy_delta: f64,
    /// Peak resident memory of the whole process (both arms, data, encodings); null if unknown.
    pub peak_memory_bytes: Option<u64>,
    /// Where `peak_memory_bytes` came from: "VmHWM" (/proc/self/status), "getrusage" or "unavailable".
    #[serde(default)]
    pub peak_memory_source: String,
    #[serde(default)]
    pub context: MeasurementContext,
}

/// The customer's one-off cost of encoding the training set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncodeCost {
    /// Training samples encoded.
    pub samples: usize,
    /// Seconds for inputs and labels together.
    pub seconds: f64,
    pub samples_per_second: f64,
    /// Each configured transform, in order (empty in runs older than this field).
    #[serde(default)]
    pub per_transform: Vec<TransformCost>,
    /// Seconds spent encoding the labels (secret output codes).
    #[serde(default)]
    pub labels_seconds: f64,
    /// Seconds spent deriving the transforms from the key (e.g. generating Q), once per key.
    #[serde(default)]
    pub key_setup_seconds: f64,
    /// `seconds` / the baseline's median epoch seconds (null when no epoch finished).
    #[serde(default)]
    pub fraction_of_baseline_epoch: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransformCost {
    /// The transform's label, e.g. `pixel-permutation` or `block-shuffle(b=4,flip)`.
    pub transform: String,
    /// Seconds to apply it to the whole training set.
    pub seconds: f64,
    pub samples_per_second: f64,
    /// Seconds to derive it from the key (once per key).
    #[serde(default)]
    pub setup_seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingCost {
    pub baseline_epoch_seconds: Vec<f64>,
    pub private_epoch_seconds: Vec<f64>,
    /// The private/baseline training-time ratio, [`training_time_ratio`]: median(private epoch
    /// seconds) / median(baseline epoch seconds); null when an arm finished no epoch.
    pub ratio: Option<f64>,
    /// True when the arms were trained one after the other (`schedule = "sequential"`), each timed
    /// alone; false when they shared the machine, side by side.
    pub clean: bool,
    #[serde(default)]
    pub schedule: String,
    /// sum(private) / sum(baseline): a different figure from `ratio`, kept under its own name.
    #[serde(default)]
    pub ratio_of_totals: Option<f64>,
    /// None in runs older than these fields.
    #[serde(default)]
    pub baseline_samples_per_second: Option<f64>,
    #[serde(default)]
    pub private_samples_per_second: Option<f64>,
    /// The run whose baseline this run reused (a sweep trains an identical baseline once): the
    /// baseline's epochs were timed there, beside that run's arms, not beside this arm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_from: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BytesPerSample {
    /// Encoded inputs the customer sends (f32 features).
    pub to_provider_per_sample: usize,
    /// Scores the provider returns (f32 per output code).
    pub to_customer_per_sample: usize,
    /// The raw input as the baseline model consumes it (f32 features).
    pub raw_input_per_sample: usize,
    /// The raw input as 8-bit pixels (how image datasets are stored).
    #[serde(default)]
    pub raw_input_u8_per_sample: usize,
    /// Scores a plain service would return (f32 per class); None in runs older than this field.
    #[serde(default)]
    pub raw_output_per_sample: Option<usize>,
    /// to_provider_per_sample / raw_input_per_sample.
    #[serde(default)]
    pub input_expansion: f64,
}

/// What the figures were measured on, to judge their noise.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MeasurementContext {
    pub arch: String,
    pub dataset: String,
    pub privacy: String,
    /// Worker threads available (rayon pool size for the matrix products).
    pub threads: usize,
    /// 1-minute load average when the overhead was measured (null if unknown): above `threads`
    /// the machine was shared and timings are noisy.
    pub load_average_1m: Option<f64>,
}

/// Everything [`measure_run`] needs from a finished (or stopped) run.
pub struct RunFacts<'a> {
    pub config: &'a Config,
    pub dataset: &'a Dataset,
    pub customer: &'a Customer,
    pub encode: &'a EncodeTimings,
    pub baseline: &'a ArmRecord,
    pub private: &'a ArmRecord,
    /// Where the trained weights are (initial weights are used for timing when a file is missing).
    pub baseline_model: &'a Path,
    pub private_model: &'a Path,
}

/// Measure one keyed arm's overhead against the baseline (inference is timed here, on the saved
/// models).
pub fn measure_arm(facts: &RunFacts<'_>) -> anyhow::Result<ArmOverhead> {
    let RunFacts { config, dataset, customer, encode, baseline, private, .. } = *facts;
    let samples = dataset.train.len();
    let setup = customer.transform_setup_seconds();
    let per_transform = customer
        .transform_labels()
        .into_iter()
        .zip(&encode.per_transform_seconds)
        .enumerate()
        .map(|(i, (transform, &seconds))| TransformCost {
            transform,
            seconds,
            samples_per_second: rate(samples, seconds),
            setup_seconds: setup.get(i).copied().unwrap_or(0.0),
        })
        .collect();
    let baseline_median = median(&baseline.epoch_seconds);
    let encode_cost = EncodeCost {
        samples,
        seconds: encode.total_seconds,
        samples_per_second: rate(samples, encode.total_seconds),
        per_transform,
        labels_seconds: encode.labels_seconds,
        key_setup_seconds: setup.iter().sum(),
        fraction_of_baseline_epoch: baseline_median.filter(|m| *m > 0.0).map(|m| encode.total_seconds / m),
    };

    let training = training_cost(config.train.schedule, baseline, private);

    let test_inputs = timing_inputs(dataset);
    let inference = inference::measure(
        config.arm_arch(&baseline.name),
        config.arm_arch(&private.name),
        dataset.shape,
        dataset.classes,
        customer,
        test_inputs,
        facts.baseline_model,
        facts.private_model,
        &inference::Budget::default(),
    )?;

    let features = dataset.shape.features();
    // What crosses is the encoding: more values than the raw input where a transform splits them (`le`).
    let encoded_features = customer.encoded_shape().features();
    let bytes = BytesPerSample {
        to_provider_per_sample: 4 * encoded_features,
        to_customer_per_sample: 4 * customer.outputs(),
        raw_input_per_sample: 4 * features,
        raw_input_u8_per_sample: features,
        raw_output_per_sample: Some(4 * dataset.classes),
        input_expansion: encoded_features as f64 / features.max(1) as f64,
    };
    let (peak_memory_bytes, source) = memory::peak_memory();
    Ok(ArmOverhead {
        arm: private.name.clone(),
        measured: Measured {
            encode: encode_cost,
            training,
            inference,
            bytes,
            accuracy_delta: private.test_accuracy - baseline.test_accuracy,
            peak_memory_bytes,
            peak_memory_source: source.into(),
            context: MeasurementContext {
                arch: config.arm_arch(&private.name).name().into(),
                dataset: dataset.name.clone(),
                privacy: private.description.clone(),
                threads: worker_threads(),
                load_average_1m: memory::load_average_1m(),
            },
        },
    })
}

/// The inputs inference is timed on: the test split (the training split when there is none).
pub fn timing_inputs(dataset: &Dataset) -> &[f32] {
    if dataset.test.is_empty() {
        &dataset.train.images
    } else {
        &dataset.test.images
    }
}

impl TrainingCost {
    /// How the two arms' epochs were timed, for every line that prints the ratio.
    pub fn timing_note(&self) -> String {
        match (&self.baseline_from, self.clean) {
            (Some(run), _) => format!("baseline timed in run {run}, whose baseline this run reused"),
            (None, true) => "clean: sequential".into(),
            (None, false) => "arms side by side".into(),
        }
    }
}

/// Per-epoch seconds of both arms and their ratio.
pub fn training_cost(schedule: Schedule, baseline: &ArmRecord, private: &ArmRecord) -> TrainingCost {
    let ratio = training_time_ratio(&baseline.epoch_seconds, &private.epoch_seconds);
    let (sp, sb): (f64, f64) = (private.epoch_seconds.iter().sum(), baseline.epoch_seconds.iter().sum());
    TrainingCost {
        baseline_epoch_seconds: baseline.epoch_seconds.clone(),
        private_epoch_seconds: private.epoch_seconds.clone(),
        ratio,
        clean: schedule == Schedule::Sequential,
        schedule: schedule.name().into(),
        ratio_of_totals: (sb > 0.0 && sp > 0.0).then(|| sp / sb),
        baseline_samples_per_second: Some(baseline.samples_per_second),
        private_samples_per_second: Some(private.samples_per_second),
        baseline_from: baseline.reused_from.clone(),
    }
}

/// THE private/baseline training-time ratio, the one figure every front end shows under that name:
/// the median of the private arm's epoch seconds over the median of the baseline arm's. Medians of
/// each arm's own epochs, because one slow epoch (warm-up, a busy machine) should not move it and
/// because epoch k of the two arms need not have run at the same time (sequential schedule). None
/// when an arm finished no epoch.
pub fn training_time_ratio(baseline_epoch_seconds: &[f64], private_epoch_seconds: &[f64]) -> Option<f64> {
    match (median(baseline_epoch_seconds), median(private_epoch_seconds)) {
        (Some(b), Some(p)) if b > 0.0 => Some(p / b),
        _ => None,
    }
}

/// [`training_time_ratio`] of a run with how its arms were timed, from summary.json alone (so runs
/// of every version have it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainingTimeRatio {
    pub value: Option<f64>,
    /// Each arm was timed alone (`schedule = "sequential"`); otherwise they shared the machine.
    pub timed_alone: bool,
}

impl TrainingTimeRatio {
    /// The figure's name wherever it is shown.
    pub const NAME: &'static str = "training time per epoch, arm / baseline";
    /// How it is computed, for captions and notes.
    pub const DEFINITION: &'static str = "median arm epoch seconds / median baseline epoch seconds";

    /// The ratio of arm `arm` of a run against its baseline (value None when either is missing or
    /// finished no epoch).
    pub fn of(summary: &crate::results::Summary, arm: &str) -> TrainingTimeRatio {
        let value = match (summary.baseline(), summary.arm(arm)) {
            (Some(b), Some(a)) => training_time_ratio(&b.epoch_seconds, &a.epoch_seconds),
            _ => None,
        };
        TrainingTimeRatio { value, timed_alone: summary.schedule == Schedule::Sequential }
    }

    /// The value with `digits` decimals, or `n/a`.
    pub fn value_text(&self, digits: usize) -> String {
        self.value.map(|r| format!("{r:.digits$}")).unwrap_or_else(|| "n/a".into())
    }

    /// "each arm timed alone" or "arms side by side".
    pub fn timing(&self) -> &'static str {
        if self.timed_alone {
            "each arm timed alone"
        } else {
            "arms side by side"
        }
    }
}

/// One line for logs: the headline figures.
/// One line per measured arm, for the run's log.
pub fn headlines(report: &OverheadReport) -> Vec<String> {
    let keyed = report.arms.iter().map(|a| format!("`{}` {}", a.arm, headline(&a.measured)));
    keyed.chain(report.split_arms.iter().map(split_headline)).collect()
}

/// A split arm's bytes per epoch each way and its training-time ratio.
pub fn split_headline(s: &SplitOverhead) -> String {
    let t = &s.traffic;
    let epoch = |f: fn(&crate::train::split::exchange::Traffic) -> u64| {
        t.per_epoch.as_ref().map(|e| format!("{:.1} MB", f(e) as f64 / 1e6)).unwrap_or_else(|| "n/a".into())
    };
    format!(
        "`{}` split: {} B to the provider and {} B back per step of {} rows, {} and {} per epoch; training time per \
         epoch split/baseline {} (medians; {}; exchange included, no network latency)",
        s.arm,
        t.per_step.to_provider(),
        t.per_step.to_customer(),
        t.batch_rows,
        epoch(|e| e.to_provider()),
        epoch(|e| e.to_customer()),
        s.training.ratio.map(|r| format!("{r:.3}")).unwrap_or_else(|| "n/a".into()),
        s.training.timing_note(),
    )
}

/// The headline costs of one arm: encoding, training-time ratio, inference.
pub fn headline(m: &Measured) -> String {
    let ratio = m.training.ratio.map(|r| format!("{r:.3}")).unwrap_or_else(|| "n/a".into());
    let one = match &m.inference.single_sample {
        Some(s) => format!("{:.3} ms vs {:.3} ms", s.private_total_ms, s.baseline_forward_ms),
        None => "not measured".into(),
    };
    format!(
        "overhead: encode {:.3} s ({:.0} samples/s), training time per epoch private/baseline {} (medians; {}), inference batch {} {:.3} ms vs {:.3} ms, one sample {one}",
        m.encode.seconds,
        m.encode.samples_per_second,
        ratio,
        m.training.timing_note(),
        m.inference.batch.batch_size,
        m.inference.batch.private_total_ms,
        m.inference.batch.baseline_forward_ms,
    )
}

/// Median of `values` (None when empty).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { 0.5 * (v[n / 2 - 1] + v[n / 2]) })
}

fn rate(samples: usize, seconds: f64) -> f64 {
    if seconds > 0.0 {
        samples as f64 / seconds
    } else {
        0.0
    }
}

/// Threads the matrix products may use: `RAYON_NUM_THREADS` if set, else the available parallelism.
pub fn worker_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    fn arm(epochs: &[f64]) -> ArmRecord {
        ArmRecord {
            name: "arm".into(),
            arch: None,
            scheme: crate::config::SchemeConfig::None,
            description: String::new(),
            key_fingerprint: None,
            fixed_key: false,
            status: crate::results::ArmStatus::Finished,
            accuracy_delta: None,
            encode_seconds: None,
            test_accuracy: 0.5,
            train_seconds: epochs.iter().sum(),
            samples_per_second: 1.0,
            epochs_completed: epochs.len(),
            epoch_seconds: epochs.to_vec(),
            paused_seconds: 0.0,
            failure: None,
            accuracy_interval: None,
            delta_interval: None,
            split: None,
            reused_from: None,
        }
    }

    #[test]
    fn training_ratio_uses_medians_and_marks_clean_timings() {
        let t = training_cost(Schedule::Sequential, &arm(&[2.0, 1.0, 1.0]), &arm(&[1.1, 1.1, 5.0]));
        assert!((t.ratio.unwrap() - 1.1).abs() < 1e-12);
        assert!(t.clean);
        let t = training_cost(Schedule::Parallel, &arm(&[1.0]), &arm(&[]));
        assert_eq!(t.ratio, None);
        assert!(!t.clean);
    }

    #[test]
    fn the_training_time_ratio_is_the_ratio_of_median_epochs() {
        // Not the ratio of totals (7/4 = 1.75), nor the mean of per-epoch ratios (1.57).
        let (b, p) = ([1.0, 1.0, 2.0], [1.2, 1.2, 4.6]);
        assert!((training_time_ratio(&b, &p).unwrap() - 1.2).abs() < 1e-12);
        assert_eq!(training_time_ratio(&b, &[]), None);
        assert_eq!(training_time_ratio(&[0.0], &p), None);
        let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/run-pixel-permutation/summary.json");
        let mut s = crate::results::Summary::load(std::path::Path::new(fixture)).unwrap();
        s.arms[0].epoch_seconds = b.to_vec();
        s.arms[1].epoch_seconds = p.to_vec();
        let r = TrainingTimeRatio::of(&s, "private");
        assert_eq!(r.value, training_time_ratio(&b, &p));
        assert!(!r.timed_alone, "the fixture trained its arms side by side");
        assert_eq!(r.value_text(3), "1.200");
        // overhead.json stores the same figure.
        let t = training_cost(Schedule::Sequential, &s.arms[0], &s.arms[1]);
        assert_eq!(t.ratio, r.value);
    }
}
