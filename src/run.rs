//! One experiment end to end: data -> customer encodes -> both arms train -> run folder.
//! Reports through events; the caller (headless printer or TUI) decides how to show them.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use sha2::{Digest, Sha256};

use crate::atomic;
use crate::attacks::Event;
use crate::config::{Config, DeviceKind, Schedule};
use crate::data::Dataset;
use crate::error::{InputError, Interrupted};
use crate::results::{self, ArmRecord, DatasetRecord, RunFolder, Summary, RUN_FORMAT_VERSION};
use crate::scheme::protocol::plain_targets;
use crate::scheme::protocol::EncodeTimings;
use crate::scheme::{Customer, EncodedInputs, EncodedTrainingSet, Judge, SecretKey, TrainingSet};
use crate::train::{train_arm, Arm, ArmOutcome, Control, MetricRow, TrainSpec};

/// What a finished (or interrupted) run leaves behind.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub folder: RunFolder,
    pub summary: Summary,
}

/// The customer's key: fixed when the config asks for one, otherwise fresh from the OS.
pub fn make_key(config: &Config) -> anyhow::Result<SecretKey> {
    match &config.privacy.fixed_key {
        Some(hex) => Ok(SecretKey::from_hex(hex).map_err(|e| InputError::new(format!("privacy.fixed_key: {e}")))?),
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

/// Run `config` into `dir`. Validation and data loading happen before anything is written.
pub fn run_experiment(
    config: &Config,
    dir: &Path,
    events: &Sender<Event>,
    control: &Arc<Control>,
) -> anyhow::Result<RunOutcome> {
    let started_at = results::utc_timestamp_iso();
    if config.train.device == DeviceKind::Cuda && !cfg!(feature = "cuda") {
        return Err(InputError::new("train.device = \"cuda\" needs a build with `--features cuda` (and the CUDA toolkit); this binary is CPU-only").into());
    }
    let _ = events.send(Event::Stage(format!("loading {}", config.data.dataset.name())));
    let dataset = config.data.load()?;
    let key = make_key(config)?;
    let customer = Customer::new(key, &config.privacy, &dataset.name, dataset.shape, dataset.classes);

    let folder = RunFolder::create(dir)?;
    atomic::write(&folder.config_path(), config.to_toml().as_bytes())?;
    customer.key_file().save(&folder.key_path())?;

    let _ = events.send(Event::Stage("customer encodes the training set".into()));
    let encode_start = Instant::now();
    let (encoded_train, encode_timings, encoded_test) = encode_run_data(&customer, &dataset);
    let encode_seconds = encode_start.elapsed().as_secs_f64();
    write_provider_digests(&folder, &encoded_train, encoded_test.images())?;
    crate::results::samples::write_samples(
        &folder,
        &customer,
        &config.privacy.describe(),
        &dataset.test,
        &encoded_test,
        crate::results::samples::DEFAULT_SAMPLE_COUNT,
    )?;
    let _ = events.send(Event::Log(format!(
        "encoded {} training and {} test samples in {:.3} s ({})",
        dataset.train.len(),
        dataset.test.len(),
        encode_seconds,
        config.privacy.describe()
    )));

    let baseline_targets = plain_targets(&dataset.train);
    let arms = [
        ArmInput {
            spec: spec_for(config, &dataset, Arm::Baseline, Some(folder.baseline_model_path())),
            data: TrainingSet {
                images: &dataset.train.images,
                targets: &baseline_targets,
                features: dataset.shape.features(),
                outputs: dataset.classes,
            },
            test_inputs: &dataset.test.images,
            judge: Judge::plain(&dataset.test.labels, dataset.classes),
        },
        ArmInput {
            spec: spec_for(config, &dataset, Arm::Private, Some(folder.provider_model_path())),
            data: encoded_train.view(),
            test_inputs: encoded_test.images(),
            judge: customer.judge(&dataset.test.labels),
        },
    ];

    let _ = events.send(Event::Stage("training both arms".into()));
    let metrics_path = folder.metrics_path();
    let (outcomes, rows) = train_both(config, &arms, events, control, &metrics_path)?;
    atomic::write(&metrics_path, results::metrics_csv(&rows).as_bytes())?;

    let record = |o: &ArmOutcome| match o {
        ArmOutcome::Finished(s) | ArmOutcome::Stopped(s) => ArmRecord {
            status: if matches!(o, ArmOutcome::Finished(_)) { "finished" } else { "stopped" }.into(),
            test_accuracy: s.test_accuracy,
            train_seconds: s.train_seconds,
            samples_per_second: s.samples_per_second,
            epochs_completed: s.epochs_completed,
            epoch_seconds: s.epoch_seconds.clone(),
            failure: None,
        },
        ArmOutcome::Failed(reason) => ArmRecord {
            status: "failed".into(),
            test_accuracy: 0.0,
            train_seconds: 0.0,
            samples_per_second: 0.0,
            epochs_completed: 0,
            epoch_seconds: vec![],
            failure: Some(reason.clone()),
        },
    };
    let (baseline, private) = (record(&outcomes[0]), record(&outcomes[1]));
    let summary = Summary {
        format_version: RUN_FORMAT_VERSION,
        name: config.name.clone(),
        seed: config.seed,
        arch: config.model.arch.name().into(),
        privacy: config.privacy.describe(),
        key_fingerprint: customer.fingerprint(),
        fixed_key: config.privacy.fixed_key.is_some(),
        dataset: DatasetRecord {
            name: dataset.name.clone(),
            train: dataset.train.len(),
            test: dataset.test.len(),
            shape: dataset.shape,
            classes: dataset.classes,
        },
        accuracy_delta: private.test_accuracy - baseline.test_accuracy,
        baseline,
        private,
        encode_seconds,
        schedule: match config.train.schedule {
            Schedule::Parallel => "parallel",
            Schedule::Sequential => "sequential",
        }
        .into(),
        interrupted: control.stop_requested(),
        started_at,
        finished_at: results::utc_timestamp_iso(),
        ppdl_version: env!("CARGO_PKG_VERSION").into(),
        crate_versions: results::summary::crate_versions(),
        threads: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    };
    atomic::write_json(&folder.summary_path(), &summary)?;

    let _ = events.send(Event::Stage("measuring overhead".into()));
    let overhead = crate::overhead::measure_run(&crate::overhead::RunFacts {
        config,
        dataset: &dataset,
        customer: &customer,
        encode: &encode_timings,
        baseline: &summary.baseline,
        private: &summary.private,
        baseline_model: &folder.baseline_model_path(),
        private_model: &folder.provider_model_path(),
    })?;
    atomic::write_json(&folder.overhead_path(), &overhead)?;
    let _ = events.send(Event::Log(crate::overhead::headline(&overhead)));

    if summary.interrupted {
        let _ = events.send(Event::Log(format!("interrupted: kept finished epochs in {}", folder.root.display())));
        return Err(anyhow::Error::new(Interrupted)
            .context(format!("run interrupted; partial results in {}", folder.root.display())));
    }
    for (arm, record) in [("baseline", &summary.baseline), ("private", &summary.private)] {
        if let Some(reason) = &record.failure {
            return Err(anyhow::anyhow!(
                "the {arm} arm failed: {reason} (the other arm's results are in {})",
                folder.root.display()
            ));
        }
    }
    let attacks = crate::attacks::registry::selected(&config.attacks);
    if !attacks.is_empty() {
        crate::attacks::run_on_folder(
            config,
            &dataset,
            &folder,
            Some(&encoded_train),
            &attacks,
            false,
            events,
            control,
        )?;
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

struct ArmInput<'a> {
    spec: TrainSpec,
    data: TrainingSet<'a>,
    test_inputs: &'a [f32],
    judge: Judge,
}

fn spec_for(config: &Config, dataset: &Dataset, arm: Arm, save_to: Option<PathBuf>) -> TrainSpec {
    TrainSpec {
        arm,
        arch: config.model.arch,
        shape: dataset.shape,
        train: config.train.clone(),
        seed: config.seed,
        save_to,
    }
}

/// Train the arms (side by side or one after the other), forwarding events and keeping metrics.csv
/// current after every test evaluation.
fn train_both(
    config: &Config,
    arms: &[ArmInput<'_>; 2],
    events: &Sender<Event>,
    control: &Arc<Control>,
    metrics_path: &Path,
) -> anyhow::Result<([ArmOutcome; 2], Vec<MetricRow>)> {
    let (tx, rx) = mpsc::channel::<Event>();
    let mut rows: Vec<MetricRow> = Vec::new();
    let outcomes = std::thread::scope(|scope| -> anyhow::Result<[ArmOutcome; 2]> {
        let run_arm = |arm: &ArmInput<'_>, tx: Sender<Event>| -> ArmOutcome {
            train_on_configured_device(config, &arm.spec, arm.data, arm.test_inputs, &arm.judge, &tx, control)
        };
        // Each handle yields the outcomes of the arms it trained, in arm order.
        let handles: Vec<_> = match config.train.schedule {
            Schedule::Parallel => arms
                .iter()
                .map(|arm| {
                    let tx = tx.clone();
                    scope.spawn(move || vec![run_arm(arm, tx)])
                })
                .collect(),
            Schedule::Sequential => {
                let tx = tx.clone();
                vec![scope.spawn(move || arms.iter().map(|arm| run_arm(arm, tx.clone())).collect())]
            }
        };
        drop(tx);
        for event in rx {
            if let Event::Metric(row) = &event {
                rows.push(row.clone());
                if row.split == "test" {
                    atomic::write(metrics_path, results::metrics_csv(&rows).as_bytes())?;
                }
            }
            let _ = events.send(event);
        }
        let mut out = Vec::new();
        for h in handles {
            out.extend(h.join().map_err(|_| anyhow::anyhow!("a trainer thread panicked"))?);
        }
        let private = out.pop().expect("two arms");
        let baseline = out.pop().expect("two arms");
        Ok([baseline, private])
    })?;
    Ok((outcomes, rows))
}

/// Train one arm on the device the config asks for, seeded with the experiment seed (same
/// initialisation for both arms).
fn train_on_configured_device(
    config: &Config,
    spec: &TrainSpec,
    data: TrainingSet<'_>,
    test_inputs: &[f32],
    judge: &Judge,
    tx: &Sender<Event>,
    control: &Control,
) -> ArmOutcome {
    match config.train.device {
        DeviceKind::Cpu => {
            let dev = crate::model::cpu_training_device(config.seed);
            train_arm(&dev, spec, data, test_inputs, judge, tx, control)
        }
        #[cfg(feature = "cuda")]
        DeviceKind::Cuda => match dfdx::tensor::Cuda::try_seed_from_u64(config.seed) {
            Ok(dev) => train_arm(&dev, spec, data, test_inputs, judge, tx, control),
            Err(e) => {
                let reason = format!("cannot open the CUDA device: {e:?}");
                let _ = tx.send(Event::TrainFailed { arm: spec.arm, reason: reason.clone() });
                ArmOutcome::Failed(reason)
            }
        },
        #[cfg(not(feature = "cuda"))]
        DeviceKind::Cuda => unreachable!("run_experiment refuses device = cuda without the cuda feature"),
    }
}

/// sha256 digests of what the provider received: lets anyone check later that the provider trained on
/// exactly these encoded bytes, without storing them twice.
fn write_provider_digests(
    folder: &RunFolder,
    train: &crate::scheme::EncodedTrainingSet,
    test_inputs: &[f32],
) -> anyhow::Result<()> {
    let digest = |values: &[f32]| {
        let mut h = Sha256::new();
        for v in values {
            h.update(v.to_le_bytes());
        }
        hex::encode(h.finalize())
    };
    let mut codes = Sha256::new();
    for c in train.codes() {
        codes.update(c.to_le_bytes());
    }
    let record = serde_json::json!({
        "train_inputs_sha256": digest(train.inputs().images()),
        "train_codes_sha256": hex::encode(codes.finalize()),
        "test_inputs_sha256": digest(test_inputs),
        "train_samples": train.inputs().len(),
        "features": train.inputs().features(),
        "encoding": "little-endian f32, row-major, samples in dataset order",
    });
    atomic::write_json(&folder.provider_digests_path(), &record).context("writing provider digests")
}
