//! One experiment end to end: data -> the customer encodes for each keyed arm -> every arm trains ->
//! run folder.
//! Reports through events; the caller (headless printer or TUI) decides how to show them.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use crate::atomic;
use crate::attacks::Event;
use crate::config::{ArmConfig, Config, DeviceKind, PrivacyConfig, Schedule, SchemeConfig, SplitConfig};
use crate::data::Dataset;
use crate::error::{InputError, Interrupted};
use crate::results::{self, ArmRecord, ArmStatus, DatasetRecord, RunFolder, Summary, RUN_FORMAT_VERSION};
use crate::scheme::instahide::InstaHide;
use crate::scheme::protocol::plain_targets;
use crate::scheme::protocol::EncodeTimings;
use crate::scheme::transforms::DescribePrivacy;
use crate::scheme::{Customer, EncodedInputs, EncodedTrainingSet, Judge, SecretKey, TrainingSet};
use crate::train::split::exchange::SplitTraffic;
use crate::train::split::{train_split_arm, SplitSaves};
use crate::train::{train_arm, ArmOutcome, Control, MetricRow, MetricSplit, TrainSpec};

pub mod reused_baseline;
use reused_baseline::ReusedBaseline;

/// What a finished (or interrupted) run leaves behind.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub folder: RunFolder,
    pub summary: Summary,
}

/// A keyed arm's key: fixed when its settings give one, otherwise fresh from the OS.
pub fn make_key(privacy: &PrivacyConfig, field: &str) -> anyhow::Result<SecretKey> {
    secret_of(privacy.fixed_key.as_ref(), field)
}

/// A secret: `fixed` (hex) when given, otherwise fresh from the OS.
fn secret_of(fixed: Option<&String>, field: &str) -> anyhow::Result<SecretKey> {
    match fixed {
        Some(hex) => Ok(SecretKey::from_hex(hex).map_err(|e| InputError::new(format!("{field}.fixed_key: {e}")))?),
        None => Ok(SecretKey::fresh()),
    }
}

/// Where the run folder goes: `--out` if given, else `output.dir/NAME-TIMESTAMP`.
pub fn run_dir_for(config: &Config, out: Option<&Path>) -> PathBuf {
    match out {
        Some(p) => p.to_path_buf(),
        None => results::default_run_dir(&config.output.dir, &config.name),
    }
}

/// What one arm's trainer is given, by kind of protection. A new kind of arm adds a variant here
/// (its data preparation) and its own module for anything else it needs.
enum ArmData {
    /// The baseline: raw inputs, true labels.
    Plain { targets: Vec<u16> },
    /// Split learning: raw inputs and true labels, which stay with the customer's head and tail.
    Split { targets: Vec<u16> },
    /// InstaHide: the raw private set and its labels, re-mixed by `scheme` every epoch.
    InstaHide { scheme: Box<InstaHide>, targets: Vec<u16> },
    /// Keyed transforms with label protection: the customer's encodings.
    Keyed {
        customer: Box<Customer>,
        train: EncodedTrainingSet,
        timings: EncodeTimings,
        test: EncodedInputs,
        encode_seconds: f64,
    },
}

/// One arm of the run, prepared: its config and its trainer's data.
struct PreparedArm {
    config: ArmConfig,
    data: ArmData,
}

impl PreparedArm {
    fn customer(&self) -> Option<&Customer> {
        match &self.data {
            ArmData::Keyed { customer, .. } => Some(customer),
            ArmData::Plain { .. } | ArmData::Split { .. } | ArmData::InstaHide { .. } => None,
        }
    }

    fn encoded_train(&self) -> Option<&EncodedTrainingSet> {
        match &self.data {
            ArmData::Keyed { train, .. } => Some(train),
            ArmData::Plain { .. } | ArmData::Split { .. } | ArmData::InstaHide { .. } => None,
        }
    }

    fn input<'a>(&'a self, config: &Config, dataset: &'a Dataset, folder: &RunFolder) -> ArmInput<'a> {
        let spec = TrainSpec {
            arm: self.config.name.clone(),
            arch: config.arch_of(&self.config),
            // The model takes what the provider receives: the encoded shape for a keyed arm.
            shape: self.customer().map_or(dataset.shape, Customer::encoded_shape),
            train: config.train.clone(),
            seed: config.seed,
            save_to: Some(folder.model_path(&self.config.name)),
        };
        let split = self.config.scheme.split().map(|s| (s.clone(), folder.split_saves(&self.config.name)));
        match &self.data {
            ArmData::Plain { targets } | ArmData::Split { targets } => ArmInput {
                spec,
                split,
                reuse: None,
                data: TrainingSet {
                    images: &dataset.train.images,
                    targets,
                    features: dataset.shape.features(),
                    outputs: dataset.classes,
                    redraw: None,
                },
                test_inputs: &dataset.test.images,
                judge: Judge::plain(&dataset.test.labels, dataset.classes),
            },
            // The published code evaluates on the raw (normalised) test set: only training data is mixed.
            ArmData::InstaHide { scheme, targets } => ArmInput {
                spec,
                split: None,
                reuse: None,
                data: TrainingSet {
                    images: &dataset.train.images,
                    targets,
                    features: dataset.shape.features(),
                    outputs: dataset.classes,
                    redraw: Some(scheme),
                },
                test_inputs: &dataset.test.images,
                judge: Judge::plain(&dataset.test.labels, dataset.classes),
            },
            ArmData::Keyed { customer, train, test, .. } => ArmInput {
                spec,
                split: None,
                reuse: None,
                data: train.view(),
                test_inputs: test.images(),
                judge: customer.judge(&dataset.test.labels),
            },
        }
    }
}

/// Keys for every keyed arm, made before anything is written (a bad fixed key is an input error).
fn make_keys(config: &Config) -> anyhow::Result<Vec<Option<SecretKey>>> {
    config
        .arms()
        .iter()
        .enumerate()
        .map(|(i, arm)| match &arm.scheme {
            SchemeConfig::Keyed(p) => make_key(p, &config.arm_field(i)).map(Some),
            SchemeConfig::InstaHide(h) => secret_of(h.fixed_key.as_ref(), &config.arm_field(i)).map(Some),
            SchemeConfig::None | SchemeConfig::Split(_) => Ok(None),
        })
        .collect()
}

/// Encode the data of each keyed arm (the customer's work) and write what the provider and the
/// customer keep of it: the key, the provider's digests, the sample images.
fn prepare_arms(
    config: &Config,
    dataset: &Dataset,
    keys: Vec<Option<SecretKey>>,
    folder: &RunFolder,
    events: &Sender<Event>,
) -> anyhow::Result<Vec<PreparedArm>> {
    let mut prepared = Vec::new();
    for (arm, key) in config.arms().into_iter().zip(keys) {
        folder.create_arm_dirs(&arm.name, arm.scheme.keyed().is_some() || arm.scheme.instahide().is_some())?;
        if arm.scheme.split().is_some() {
            folder.create_customer_dir(&arm.name)?;
        }
        let data = match (&arm.scheme, key) {
            (SchemeConfig::Keyed(privacy), Some(key)) => {
                let customer = Customer::new(key, privacy, &dataset.name, dataset.shape, dataset.classes);
                customer.key_file().save(&folder.key_path(&arm.name))?;
                let _ = events.send(Event::Stage(format!("customer encodes the training set for `{}`", arm.name)));
                let start = Instant::now();
                let (train, timings, test) = encode_run_data(&customer, dataset);
                let encode_seconds = start.elapsed().as_secs_f64();
                write_provider_digests(&folder.provider_digests_path(&arm.name), &train, test.images())?;
                crate::results::samples::write_samples(
                    folder,
                    &arm.name,
                    &customer,
                    &privacy.describe(),
                    &dataset.test,
                    &test,
                    crate::results::samples::DEFAULT_SAMPLE_COUNT,
                )?;
                let _ = events.send(Event::Log(format!(
                    "`{}`: encoded {} training and {} test samples in {:.3} s ({})",
                    arm.name,
                    dataset.train.len(),
                    dataset.test.len(),
                    encode_seconds,
                    privacy.describe()
                )));
                ArmData::Keyed { customer: Box::new(customer), train, timings, test, encode_seconds }
            }
            (SchemeConfig::Split(_), _) => {
                crate::results::samples::write_split_samples(
                    folder,
                    &arm.name,
                    &arm.scheme.describe(),
                    "cut-layer activations, not images",
                    dataset.shape,
                    &dataset.test,
                    crate::results::samples::DEFAULT_SAMPLE_COUNT,
                )?;
                ArmData::Split { targets: plain_targets(&dataset.train) }
            }
            (SchemeConfig::InstaHide(settings), Some(key)) => {
                let scheme = InstaHide::new(key, settings);
                crate::scheme::KeyFile::new(scheme.key(), &crate::scheme::instahide::key_context(dataset))
                    .save(&folder.key_path(&arm.name))?;
                crate::results::samples::write_split_samples(
                    folder,
                    &arm.name,
                    &arm.scheme.describe(),
                    "mixes of k training images under a fresh sign mask, redrawn every epoch; test images unencoded",
                    dataset.shape,
                    &dataset.test,
                    crate::results::samples::DEFAULT_SAMPLE_COUNT,
                )?;
                ArmData::InstaHide { scheme: Box::new(scheme), targets: plain_targets(&dataset.train) }
            }
            _ => ArmData::Plain { targets: plain_targets(&dataset.train) },
        };
        prepared.push(PreparedArm { config: arm, data });
    }
    Ok(prepared)
}

/// Run `config` into `dir`. Validation, keys and data loading happen before anything is written.
pub fn run_experiment(
    config: &Config,
    dir: &Path,
    events: &Sender<Event>,
    control: &Arc<Control>,
) -> anyhow::Result<RunOutcome> {
    run_experiment_reusing(config, dir, None, events, control)
}

/// [`run_experiment`], taking the baseline arm from the run folder `baseline_from` when it holds a
/// finished, identical one ([`reused_baseline`]; otherwise the baseline is trained here, saying why).
pub fn run_experiment_reusing(
    config: &Config,
    dir: &Path,
    baseline_from: Option<&Path>,
    events: &Sender<Event>,
    control: &Arc<Control>,
) -> anyhow::Result<RunOutcome> {
    let started_at = results::utc_timestamp_iso();
    if config.train.device == DeviceKind::Cuda && !cfg!(feature = "cuda") {
        return Err(InputError::new(format!("train.device = \"cuda\" {}", crate::config::CUDA_NOT_BUILT)).into());
    }
    let _ = events.send(Event::Stage(format!("loading {}", config.data.dataset.name())));
    let dataset = config.data.load()?;
    let keys = make_keys(config)?;

    let folder = RunFolder::create(dir)?;
    atomic::write(&folder.config_path(), config.to_toml().as_bytes())?;
    let arms = prepare_arms(config, &dataset, keys, &folder, events)?;
    let names: Vec<String> = arms.iter().map(|a| a.config.name.clone()).collect();
    let mut inputs: Vec<ArmInput<'_>> = arms.iter().map(|a| a.input(config, &dataset, &folder)).collect();
    let reused = baseline_from.and_then(|from| match reused_baseline::find(config, from) {
        Ok(r) => Some(r),
        Err(why) => {
            let _ =
                events.send(Event::Log(format!("baseline trained here, not reused from {}: {why}", from.display())));
            None
        }
    });
    if let Some(r) = &reused {
        if let Some(input) = inputs.iter_mut().find(|i| i.spec.arm == r.record.name) {
            input.reuse = Some(r.clone());
        }
    }

    let _ = events.send(Event::Stage(format!("training {} arms: {}", arms.len(), names.join(", "))));
    let metrics_path = folder.metrics_path();
    let (outcomes, rows) = train_arms(config, &inputs, events, control, &metrics_path, &names)?;
    atomic::write(&metrics_path, results::metrics_csv(&rows, &names).as_bytes())?;

    let mut summary = summarize(config, &dataset, &arms, &outcomes, control.stop_requested(), started_at);
    if let Some(r) = &reused {
        if let Some(record) = summary.arms.iter_mut().find(|a| a.name == r.record.name) {
            record.reused_from = Some(r.from.clone());
        }
    }
    atomic::write_json(&folder.summary_path(), &summary)?;

    let _ = events.send(Event::Stage("measuring overhead".into()));
    let overhead = measure_overhead(config, &dataset, &arms, &summary, &folder)?;
    atomic::write_json(&folder.overhead_path(), &overhead)?;
    for line in crate::overhead::headlines(&overhead) {
        let _ = events.send(Event::Log(line));
    }

    if summary.interrupted {
        let _ = events.send(Event::Log(format!("interrupted: kept finished epochs in {}", folder.root.display())));
        return Err(anyhow::Error::new(Interrupted)
            .context(format!("run interrupted; partial results in {}", folder.root.display())));
    }
    let failed: Vec<String> = summary
        .arms
        .iter()
        .filter_map(|a| a.failure.as_ref().map(|reason| format!("the `{}` arm failed: {reason}", a.name)))
        .collect();
    if !failed.is_empty() {
        return Err(anyhow::anyhow!(
            "{} (the other arms' results are in {})",
            failed.join("; "),
            folder.root.display()
        ));
    }
    let attacks = crate::attacks::registry::selected(&config.attacks);
    if !attacks.is_empty() {
        for arm in &arms {
            if arm.config.is_baseline() || control.stop_requested() {
                continue;
            }
            crate::attacks::run_on_folder(
                config,
                &arm.config.name,
                &dataset,
                &folder,
                arm.encoded_train(),
                &attacks,
                true,
                events,
                control,
            )?;
        }
        if control.stop_requested() {
            return Err(anyhow::Error::new(Interrupted)
                .context(format!("attacks interrupted; partial results in {}", folder.root.display())));
        }
    }
    if config.output.figures {
        render_figures(&folder, events);
    }
    Ok(RunOutcome { folder, summary })
}

/// summary.json of a run from its arms' outcomes.
fn summarize(
    config: &Config,
    dataset: &Dataset,
    arms: &[PreparedArm],
    outcomes: &[Trained],
    interrupted: bool,
    started_at: String,
) -> Summary {
    let mut records: Vec<ArmRecord> = arms
        .iter()
        .zip(outcomes)
        .map(|(arm, (outcome, traffic))| {
            let (status, s, failure) = match outcome {
                ArmOutcome::Finished(s) => (ArmStatus::Finished, Some(s), None),
                ArmOutcome::Stopped(s) => (ArmStatus::Stopped, Some(s), None),
                ArmOutcome::Failed(reason) => (ArmStatus::Failed, None, Some(reason.clone())),
            };
            ArmRecord {
                name: arm.config.name.clone(),
                arch: arm.config.arch.filter(|a| *a != config.model.arch).map(|a| a.name().into()),
                scheme: arm.config.scheme.without_key(),
                description: arm.config.scheme.describe(),
                key_fingerprint: match &arm.data {
                    ArmData::InstaHide { scheme, .. } => Some(scheme.fingerprint()),
                    _ => arm.customer().map(Customer::fingerprint),
                },
                fixed_key: arm.config.scheme.keyed().is_some_and(|p| p.fixed_key.is_some())
                    || arm.config.scheme.instahide().is_some_and(|h| h.fixed_key.is_some()),
                status,
                test_accuracy: s.map_or(0.0, |s| s.test_accuracy),
                train_seconds: s.map_or(0.0, |s| s.train_seconds),
                samples_per_second: s.map_or(0.0, |s| s.samples_per_second),
                epochs_completed: s.map_or(0, |s| s.epochs_completed),
                epoch_seconds: s.map(|s| s.epoch_seconds.clone()).unwrap_or_default(),
                paused_seconds: s.map_or(0.0, |s| s.paused_seconds),
                accuracy_delta: None,
                encode_seconds: match &arm.data {
                    ArmData::Keyed { encode_seconds, .. } => Some(*encode_seconds),
                    ArmData::Plain { .. } | ArmData::Split { .. } | ArmData::InstaHide { .. } => None,
                },
                failure,
                accuracy_interval: None,
                delta_interval: None,
                split: traffic.clone(),
                reused_from: None,
            }
        })
        .collect();
    if let Some(baseline) = records.iter().find(|r| r.is_baseline()).map(|r| r.test_accuracy) {
        for r in records.iter_mut().filter(|r| !r.is_baseline()) {
            r.accuracy_delta = Some(r.test_accuracy - baseline);
        }
    }
    let mut summary = Summary {
        format_version: RUN_FORMAT_VERSION,
        name: config.name.clone(),
        seed: config.seed,
        arch: config.model.arch.name().into(),
        dataset: DatasetRecord {
            name: dataset.name.clone(),
            train: dataset.train.len(),
            test: dataset.test.len(),
            shape: dataset.shape,
            classes: dataset.classes,
            class_names: dataset.class_names.clone(),
        },
        arms: records,
        schedule: config.train.schedule,
        interrupted,
        started_at,
        finished_at: results::utc_timestamp_iso(),
        ppdl_version: env!("CARGO_PKG_VERSION").into(),
        crate_versions: results::summary::crate_versions(),
        threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    };
    summary.fill_intervals();
    summary
}

/// overhead.json: each keyed and split arm's costs against the baseline.
fn measure_overhead(
    config: &Config,
    dataset: &Dataset,
    arms: &[PreparedArm],
    summary: &Summary,
    folder: &RunFolder,
) -> anyhow::Result<crate::overhead::OverheadReport> {
    let baseline = summary.baseline().expect("a validated config has one baseline arm");
    let mut measured = Vec::new();
    let mut split = Vec::new();
    for (arm, record) in arms.iter().zip(&summary.arms) {
        if let (Some(traffic), Some(settings)) = (&record.split, arm.config.scheme.split()) {
            let timing = crate::overhead::split_inference::SplitFacts {
                arch: config.arch_of(&arm.config),
                baseline_arch: config.arm_arch(&baseline.name),
                shape: dataset.shape,
                classes: dataset.classes,
                split: settings,
                train: &config.train,
                saves: &folder.split_saves(&record.name),
                baseline_model: &folder.model_path(&baseline.name),
                raw: crate::overhead::timing_inputs(dataset),
            };
            split.push(crate::overhead::split_overhead(config, dataset, baseline, record, traffic, &timing)?);
        }
        let ArmData::Keyed { customer, timings, .. } = &arm.data else { continue };
        measured.push(crate::overhead::measure_arm(&crate::overhead::RunFacts {
            config,
            dataset,
            customer,
            encode: timings,
            baseline,
            private: record,
            baseline_model: &folder.model_path(&baseline.name),
            private_model: &folder.model_path(&record.name),
        })?);
    }
    let mut report = crate::overhead::OverheadReport::new(measured);
    report.split_arms = split;
    Ok(report)
}

/// The customer's encoding in a run: the training set (inputs, then label codes), then the test
/// inputs. Per-sample noise and label splitting take their draws from the customer's keyed stream in
/// this order, so `ppdl infer` replays it to encode the test set exactly as the run evaluated it.
pub fn encode_run_data(customer: &Customer, dataset: &Dataset) -> (EncodedTrainingSet, EncodeTimings, EncodedInputs) {
    let (train, timings) = customer.encode_training_set_timed(&dataset.train);
    let test = customer.encode_inputs(&dataset.test.images);
    (train, timings, test)
}

/// Figures and report at the end of a run. A failure here is reported as a log event and does not
/// lose the run: everything `ppdl plot RUN_DIR` needs is already saved.
fn render_figures(folder: &RunFolder, events: &Sender<Event>) {
    let _ = events.send(Event::Stage("figures and report".into()));
    match crate::plot::render_run(&folder.root) {
        Ok(r) => {
            let _ = events.send(Event::Log(format!(
                "{} figures (PNG + SVG) in {}, report {}",
                r.figures.len(),
                folder.figures_dir().display(),
                r.report.display()
            )));
        }
        Err(e) => {
            let _ = events.send(Event::Log(format!(
                "figures failed (the run is kept; retry with `ppdl plot {}`): {e:#}",
                folder.root.display()
            )));
        }
    }
}

/// After `ppdl attack` rewrote attacks.json: regenerate the figures and report.md through the same
/// path as the end of a run and `ppdl plot` when the run's `output.figures` is on; otherwise (or when
/// interrupted) say plainly that they no longer match attacks.json.
pub fn refresh_after_attacks(run_dir: &Path, events: &Sender<Event>, control: &Control) {
    let log = |text: String| {
        let _ = events.send(Event::Log(text));
    };
    let plot = format!("`ppdl plot {}` regenerates them", run_dir.display());
    let folder = match RunFolder::open(run_dir) {
        Ok(f) => f,
        Err(e) => return log(format!("figures and report.md not regenerated: {e:#}")),
    };
    let drawn = folder.report_path().is_file() || folder.figures_dir().is_dir();
    if control.stop_requested() {
        log(format!("interrupted: report.md and the figures were not regenerated and predate attacks.json; {plot}"));
    } else if folder.load_config().map(|c| c.output.figures).unwrap_or(true) {
        render_figures(&folder, events);
    } else if drawn {
        log(format!(
            "output.figures is false for this run: report.md and the figures were not regenerated and are now \
             STALE (they predate attacks.json); {plot}"
        ));
    } else {
        log(format!("output.figures is false for this run: no figures or report.md drawn; {plot}"));
    }
}

/// How an arm's training ended, and a split arm's traffic.
type Trained = (ArmOutcome, Option<SplitTraffic>);

struct ArmInput<'a> {
    spec: TrainSpec,
    /// A split arm's settings and where its parts go.
    split: Option<(SplitConfig, SplitSaves)>,
    /// A baseline trained in another run and copied instead of trained.
    reuse: Option<ReusedBaseline>,
    data: TrainingSet<'a>,
    test_inputs: &'a [f32],
    judge: Judge,
}

/// Train the arms (side by side or one after the other), forwarding events and keeping metrics.csv
/// current after every test evaluation. Outcomes are in arm order.
fn train_arms(
    config: &Config,
    arms: &[ArmInput<'_>],
    events: &Sender<Event>,
    control: &Arc<Control>,
    metrics_path: &Path,
    names: &[String],
) -> anyhow::Result<(Vec<Trained>, Vec<MetricRow>)> {
    let (tx, rx) = mpsc::channel::<Event>();
    let mut rows: Vec<MetricRow> = Vec::new();
    let outcomes = std::thread::scope(|scope| -> anyhow::Result<Vec<Trained>> {
        let run_arm = |arm: &ArmInput<'_>, tx: Sender<Event>| train_on_configured_device(config, arm, &tx, control);
        // Each handle yields the outcomes of the arms it trained, in arm order.
        let handles: Vec<_> = match config.train.schedule {
            Schedule::Parallel => {
                // The arms keep the pool busy together: each fans its products out to its share.
                let share = crate::pool_share::of(arms.len());
                arms.iter()
                    .map(|arm| {
                        let tx = tx.clone();
                        scope.spawn(move || vec![crate::pool_share::with_share(Some(share), || run_arm(arm, tx))])
                    })
                    .collect()
            }
            Schedule::Sequential => {
                let tx = tx.clone();
                vec![scope.spawn(move || arms.iter().map(|arm| run_arm(arm, tx.clone())).collect())]
            }
        };
        drop(tx);
        for event in rx {
            if let Event::Metric(row) = &event {
                rows.push(row.clone());
                if row.split == MetricSplit::Test {
                    atomic::write(metrics_path, results::metrics_csv(&rows, names).as_bytes())?;
                }
            }
            let _ = events.send(event);
        }
        let mut out = Vec::new();
        for h in handles {
            out.extend(h.join().map_err(|_| anyhow::anyhow!("a trainer thread panicked"))?);
        }
        Ok(out)
    })?;
    Ok((outcomes, rows))
}

/// Train one arm on the device the config asks for, seeded with the experiment seed (same
/// initialisation for both arms); a reused baseline is replayed instead.
fn train_on_configured_device(config: &Config, arm: &ArmInput<'_>, tx: &Sender<Event>, control: &Control) -> Trained {
    if let Some(reused) = &arm.reuse {
        return (reused.replay(arm.spec.save_to.as_deref(), tx), None);
    }
    match config.train.device {
        DeviceKind::Cpu => train_on(&crate::model::cpu_training_device(config.seed), arm, tx, control),
        #[cfg(feature = "cuda")]
        DeviceKind::Cuda => match dfdx::tensor::Cuda::try_seed_from_u64(config.seed) {
            Ok(dev) => train_on(&dev, arm, tx, control),
            Err(e) => {
                let reason = format!("cannot open the CUDA device: {e:?}");
                let _ = tx.send(Event::TrainFailed { arm: arm.spec.arm.clone(), reason: reason.clone() });
                (ArmOutcome::Failed(reason), None)
            }
        },
        #[cfg(not(feature = "cuda"))]
        DeviceKind::Cuda => unreachable!("run_experiment refuses device = cuda without the cuda feature"),
    }
}

/// Train one arm on `dev` by its kind: a split arm across its cut, any other as one network.
fn train_on<D: dfdx::prelude::Device<f32>>(
    dev: &D,
    arm: &ArmInput<'_>,
    tx: &Sender<Event>,
    control: &Control,
) -> Trained {
    let ArmInput { spec, data, test_inputs, judge, .. } = arm;
    match &arm.split {
        Some((split, saves)) => train_split_arm(dev, spec, split, Some(saves), *data, test_inputs, judge, tx, control),
        None => (train_arm(dev, spec, *data, test_inputs, judge, tx, control), None),
    }
}

/// sha256 digests of what the provider received: lets anyone check later that the provider trained on
/// exactly these encoded bytes, without storing them twice.
fn write_provider_digests(
    path: &Path,
    train: &crate::scheme::EncodedTrainingSet,
    test_inputs: &[f32],
) -> anyhow::Result<()> {
    let digests = crate::scheme::protocol::WireDigests::of_encoded(train, test_inputs);
    let record = serde_json::json!({
        "train_inputs_sha256": digests.train_inputs_sha256,
        "train_codes_sha256": digests.train_codes_sha256,
        "test_inputs_sha256": digests.test_inputs_sha256,
        "train_samples": train.inputs().len(),
        "features": train.inputs().features(),
        "encoding": "little-endian f32, row-major, samples in dataset order",
    });
    atomic::write_json(path, &record).context("writing provider digests")
}
