//! Fixed data for the workbench tests: configs, a live run fed with fixed metrics, attack and
//! overhead results, and run summaries. No timings or dates from the clock.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ppdl::attacks::Event;
use ppdl::attacks::{AttackRecord, Curve, Figure, ThreatModel};
use ppdl::config::{Config, Schedule, SchemeConfig};
use ppdl::data::ImageShape;
use ppdl::overhead::{
    ArmOverhead, BytesPerSample, EncodeCost, InferenceCost, InferenceTimes, LiteratureEntry, Measured,
    MeasurementContext, OverheadReport, TrainingCost,
};
use ppdl::results::{ArmRecord, ArmStatus, DatasetRecord, RunStatus, Summary, RUN_FORMAT_VERSION};
use ppdl::scheme::transforms::DescribePrivacy;
use ppdl::train::{ArmSummary, MetricRow, MetricSplit};
use ppdl::tui::actions::{ConfigEntry, RunDetail, RunEntry};
use ppdl::tui::analysis::{AttackRow, Attacks, Availability, Overhead};
use ppdl::tui::curves::Curves;
use ppdl::tui::App;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

pub const QUICKSTART: &str = r#"
name = "quickstart"
seed = 42
[data]
dataset = "embedded"
[model]
arch = "mlp-256"
[train]
epochs = 5
[privacy]
transforms = [{ kind = "pixel-permutation" }]
"#;

pub const FASHION_CNN: &str = r#"
name = "fashion-cnn"
seed = 7
[data]
dataset = "fashion-mnist"
train_limit = 20000
test_limit = 2000
[model]
arch = "cnn-small"
[train]
epochs = 8
batch_size = 128
[privacy]
transforms = [{ kind = "block-shuffle", block = 4, flip = true }, { kind = "noise", sigma = 0.05 }]
codes_per_class = 3
[attacks]
enabled = ["inversion", "key-space", "wrong-key"]
"#;

/// Four arms on the embedded data: the baseline and three keyed schemes.
pub const COMPARE4: &str = r#"
name = "compare-quickstart"
seed = 42
[data]
dataset = "embedded"
[model]
arch = "mlp-256"
[train]
epochs = 5
[[arms]]
name = "baseline"
scheme = "none"
[[arms]]
name = "pixel-permutation"
scheme = "keyed"
transforms = [{ kind = "pixel-permutation" }]
[[arms]]
name = "block-shuffle"
scheme = "keyed"
transforms = [{ kind = "block-shuffle", block = 4, flip = true }]
[[arms]]
name = "fast-mix"
scheme = "keyed"
transforms = [{ kind = "fast-mix" }]
"#;

/// The arm names of [`COMPARE4`], in order.
pub const ARMS4: [&str; 4] = ["baseline", "pixel-permutation", "block-shuffle", "fast-mix"];

pub fn config(text: &str) -> Config {
    ppdl::validate::parse_config(text, Path::new("fixture.toml")).expect("fixture config is valid")
}

pub fn config_entries() -> Vec<ConfigEntry> {
    vec![
        ConfigEntry {
            path: "configs/quickstart.toml".into(),
            rel: "quickstart.toml".into(),
            config: Ok(config(QUICKSTART)),
        },
        ConfigEntry {
            path: "configs/fashion-cnn.toml".into(),
            rel: "fashion-cnn.toml".into(),
            config: Ok(config(FASHION_CNN)),
        },
        ConfigEntry {
            path: "configs/compare-quickstart.toml".into(),
            rel: "compare-quickstart.toml".into(),
            config: Ok(config(COMPARE4)),
        },
        ConfigEntry {
            path: "configs/broken.toml".into(),
            rel: "broken.toml".into(),
            config: Err("configs/broken.toml:9: field `train.epochs`: expected an integer >= 1, got 0".into()),
        },
    ]
}

/// A workbench over fixed configs and runs (nothing read from disk).
pub fn app() -> App {
    let mut app = App::new(PathBuf::from("configs"));
    app.configs = config_entries();
    app.runs = run_entries();
    app
}

#[allow(clippy::too_many_arguments)]
pub fn row(
    arm: &str,
    epoch: usize,
    step: usize,
    split: &str,
    loss: f64,
    accuracy: f64,
    sps: f64,
    wall: f64,
) -> MetricRow {
    let split = MetricSplit::from_name(split).expect("train or test");
    MetricRow { arm: arm.into(), epoch, step, split, loss, accuracy, samples_per_s: sps, wall_s: wall }
}

/// Metric rows of a 5-epoch run, 94 steps per epoch, a train row every 30 steps, up to `upto` steps.
/// Each arm its own accuracy gap to the baseline and speed.
pub fn metric_rows(arm: &str, upto: usize) -> Vec<MetricRow> {
    let spe = 94;
    let (acc_gap, speed) = match arm {
        "baseline" => (0.0, 5200.0),
        "private" | "pixel-permutation" => (0.004, 5000.0),
        "block-shuffle" => (0.05, 4900.0),
        _ => (0.02, 4700.0),
    };
    let mut rows = vec![];
    for step in 1..=upto {
        let epoch = (step - 1) / spe + 1;
        let t = step as f64 / spe as f64;
        let acc = 0.86 - 0.3 * (-1.2 * t).exp() - acc_gap;
        let loss = 0.38 + 0.9 * (-1.1 * t).exp() + acc_gap;
        let wall = step as f64 * 64.0 / speed;
        let sps = speed + 100.0 * ((step as f64) * 0.3).sin();
        if step % 30 == 0 {
            rows.push(row(arm, epoch, step, "train", loss, acc, sps, wall));
        }
        if step % spe == 0 {
            rows.push(row(arm, epoch, step, "test", loss + 0.02, acc - 0.01, speed, wall));
        }
    }
    rows
}

/// Steps each arm has reached in the live fixtures.
fn live_steps(arm: &str) -> usize {
    match arm {
        "baseline" => 300,
        "private" | "pixel-permutation" => 260,
        "block-shuffle" => 200,
        _ => 120,
    }
}

/// `config` started as a live run, each arm part-way (baseline at step 300 of 470, the next arm at
/// 260, then 200 and 120).
pub fn live_app_of(config_text: &str) -> App {
    let mut app = app();
    let cfg = config(config_text);
    let arms: Vec<String> = cfg.arms().into_iter().map(|a| a.name).collect();
    let _ = app.begin_run(cfg.clone(), PathBuf::from(format!("results/{}-run", cfg.name)));
    let mut events = vec![
        Event::Stage("loading embedded".into()),
        Event::Log(
            "encoded 6000 training and 1000 test samples in 0.041 s (pixel-permutation; labels: permuted, m=1)".into(),
        ),
        Event::Stage(format!("training {} arms: {}", arms.len(), arms.join(", "))),
    ];
    for arm in &arms {
        events.push(Event::TrainStarted { arm: arm.clone(), epochs: 5, steps_per_epoch: 94, samples: 6000 });
    }
    let rows: Vec<Vec<MetricRow>> = arms.iter().map(|a| metric_rows(a, live_steps(a))).collect();
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    for i in 0..n {
        for arm_rows in &rows {
            if let Some(r) = arm_rows.get(i) {
                events.push(Event::Metric(r.clone()));
            }
        }
    }
    for e in events {
        app.handle_event(e);
    }
    app
}

/// A live run of the quickstart part-way: baseline at step 300 of 470, private at 260.
pub fn live_app() -> App {
    live_app_of(QUICKSTART)
}

/// The live run after both arms finished.
pub fn finished_live_app() -> App {
    let mut app = live_app();
    for arm in ["baseline", "private"] {
        let rows = metric_rows(arm, 470);
        let start = metric_rows(arm, live_steps(arm)).len();
        for r in &rows[start..] {
            app.handle_event(Event::Metric(r.clone()));
        }
        let last = rows.iter().rev().find(|r| r.split == MetricSplit::Test).unwrap();
        let summary = ArmSummary {
            test_accuracy: last.accuracy,
            train_seconds: last.wall_s,
            samples_per_second: 5100.0,
            epochs_completed: 5,
            epoch_seconds: vec![],
            paused_seconds: 0.0,
        };
        app.handle_event(Event::TrainFinished { arm: arm.into(), summary });
    }
    app
}

fn record(name: &str, title: &str, metric: &str, value: f64, unit: &str, verdict: &str) -> AttackRecord {
    let threat_model = ThreatModel {
        adversary: "the provider".into(),
        holds: vec!["encoded training set".into()],
        knowledge: "the public scheme, not the key".into(),
    };
    AttackRecord {
        arm: "private".into(),
        parameters: [("evaluation_samples".to_string(), serde_json::json!(500))].into_iter().collect(),
        headline: Figure::new(metric, value, unit),
        verdict: verdict.into(),
        seconds: 1.0,
        ..AttackRecord::new(
            name,
            title,
            "pixel-permutation; labels: permuted, m=1",
            threat_model,
            "half of the test split",
        )
    }
}

/// The reference figures a reconstruction attack records (mean image, true images, read as raw).
fn reconstruction_figures(recognised: f64, ssim: f64) -> Vec<Figure> {
    vec![
        Figure::new("reference: adversary's mean image, SSIM", 0.14, "fraction"),
        Figure::new("reference: encoded data read as raw, SSIM", 0.01, "fraction"),
        Figure::new("reference: encoded data read as raw, recognised", 0.12, "fraction"),
        Figure::new("reference: adversary's mean image, recognised", 0.10, "fraction"),
        Figure::new("reference: true images, recognised (the classifier's ceiling)", 0.78, "fraction"),
        Figure::new("SSIM of unseen data at the largest n", ssim, "fraction"),
        Figure::new("reconstructions recognised at the largest n", recognised, "fraction"),
    ]
}

/// Attack results as the attacks module records them (verdicts decided by its rule: protects,
/// partial leak and broken all appear).
pub fn attack_records() -> Vec<AttackRecord> {
    let mut ks = record("key-space", "Key space", "key bits", 6615.0, "bits", "brute force is out of reach");
    ks.figures.push(Figure::new("continuous key dimension", 0.0, "dimensions"));
    let mut wrong = record(
        "wrong-key",
        "Wrong key / stolen model",
        "accuracy on raw inputs",
        0.103,
        "fraction",
        "the stolen model is at chance without the key",
    );
    wrong.chance = Some(0.1);
    wrong.baseline = Some(0.83);
    let mut c = Curve::new("random wrong keys", "wrong keys tried", "accuracy", false);
    for (x, y) in [(1.0, 0.099), (5.0, 0.104), (10.0, 0.101), (15.0, 0.097), (20.0, 0.103)] {
        c.push(x, y);
    }
    wrong.curves.push(c);
    let mut kp = record(
        "known-plaintext",
        "Known plaintext",
        "key recovered",
        1.0,
        "fraction",
        "8 known pairs recover the whole permutation",
    );
    kp.figures = reconstruction_figures(0.78, 1.0);
    let mut c = Curve::new("key recovered", "known pairs", "fraction", true);
    let mut d = Curve::new("reconstruction (SSIM)", "known pairs", "fraction", true);
    for (x, y) in [(1.0, 0.31), (2.0, 0.72), (4.0, 0.97), (8.0, 1.0), (16.0, 1.0), (64.0, 1.0)] {
        c.push(x, y);
        d.push(x, (y * 0.95_f64).min(0.99));
    }
    kp.curves = vec![c, d];
    let mut lf = record(
        "label-frequency",
        "Label frequency",
        "classes recovered",
        0.2,
        "fraction",
        "class priors are nearly uniform",
    );
    lf.chance = Some(0.1);
    // The issue's chart: PSNR from 15.61 to 16.14 dB, which looks large without the no-attack reference.
    let mut inv =
        record("inversion", "Inversion", "PSNR of unseen data at n=500", 16.14, "dB", "blurry but recognisable");
    inv.chance = Some(10.6);
    inv.chance_label = Some("no attack: the adversary's mean public image".into());
    inv.baseline = Some(6.6);
    inv.figures = reconstruction_figures(0.40, 0.48);
    let mut c = Curve::new("decoder network: PSNR", "known pairs n", "PSNR of unseen data (dB)", true);
    for (x, y) in [(50.0, 15.61), (200.0, 15.9), (500.0, 16.14)] {
        c.push(x, y);
    }
    inv.curves.push(c);
    let mut records = vec![ks, wrong, kp, lf, inv];
    for r in &mut records {
        ppdl::attacks::verdict::decide(r);
    }
    records
}

pub fn attacks() -> Attacks {
    let mut rows: Vec<AttackRow> = attack_records().iter().map(AttackRow::from).collect();
    rows.push(AttackRow::failed("private", "statistical", "no provider model in the run folder"));
    Attacks { status: Availability::Done, rows, running: Default::default() }
}

/// overhead.json as the overhead module writes it (fixed numbers), for the arm `private`.
pub fn overhead_report() -> OverheadReport {
    overhead_report_of(&[("private", 1.0)])
}

/// overhead.json of several protected arms: (name, cost factor on the `private` figures).
pub fn overhead_report_of(arms: &[(&str, f64)]) -> OverheadReport {
    let times = |batch: usize, base: f64, total: f64| InferenceTimes {
        batch_size: batch,
        baseline_forward_ms: base,
        private_encode_ms: 0.2 * total,
        private_forward_ms: 0.75 * total,
        private_decode_ms: 0.05 * total,
        private_total_ms: total,
        overhead_ratio: total / base,
        repeats: 21,
    };
    let lit = |system: &str, metric: &str, value: f64, unit: &str, source: &str| LiteratureEntry {
        system: system.into(),
        task: "MNIST inference".into(),
        metric: metric.into(),
        value,
        unit: unit.into(),
        source: source.into(),
        kind: "literature".into(),
        note: String::new(),
    };
    let measured = |f: f64| Measured {
        encode: EncodeCost {
            samples: 6000,
            seconds: 0.041,
            samples_per_second: 146_341.0,
            per_transform: vec![],
            labels_seconds: 0.001,
            key_setup_seconds: 0.0,
            fraction_of_baseline_epoch: Some(0.034),
        },
        training: TrainingCost {
            baseline_epoch_seconds: vec![1.2, 1.21, 1.22],
            private_epoch_seconds: vec![1.25 * f, 1.26 * f, 1.3 * f],
            ratio: Some(1.26 * f / 1.21),
            clean: false,
            schedule: "parallel".into(),
            ratio_of_totals: Some(1.04),
            baseline_samples_per_second: Some(4958.0),
            private_samples_per_second: Some(4762.0),
            baseline_from: None,
        },
        inference: InferenceCost {
            batch: times(256, 2.4, 2.7 * f),
            single_sample: Some(times(1, 0.042, 0.047)),
            weights: "trained".into(),
        },
        bytes: BytesPerSample {
            to_provider_per_sample: 3136,
            to_customer_per_sample: 40,
            raw_input_per_sample: 3136,
            raw_input_u8_per_sample: 784,
            raw_output_per_sample: Some(40),
            input_expansion: 1.0,
        },
        accuracy_delta: -0.0007,
        peak_memory_bytes: Some(212 * 1024 * 1024),
        peak_memory_source: "VmHWM".into(),
        context: MeasurementContext {
            arch: "mlp-256".into(),
            dataset: "embedded".into(),
            privacy: "pixel-permutation; labels: permuted, m=1".into(),
            threads: 2,
            load_average_1m: Some(1.1),
        },
    };
    OverheadReport {
        format_version: ppdl::overhead::OVERHEAD_FORMAT_VERSION,
        arms: arms.iter().map(|(arm, f)| ArmOverhead { arm: arm.to_string(), measured: measured(*f) }).collect(),
        split_arms: Vec::new(),
        literature: vec![
            lit(
                "CryptoNets",
                "throughput",
                59000.0,
                "predictions/hour",
                "Authors. Title. ICML 2016 (PMLR 48), abstract",
            ),
            lit(
                "GAZELLE",
                "latency vs CryptoNets",
                1000.0,
                "x faster",
                "Authors. Title. USENIX Security 2018, abstract",
            ),
        ],
        literature_note: "published figures".into(),
    }
}

pub fn overhead() -> Overhead {
    Overhead::from(&overhead_report())
}

/// An arm's record; `scheme` None is the baseline, else the keyed arm's description.
pub fn arm_record(name: &str, scheme: Option<&str>, acc: f64, base: f64, secs: f64, sps: f64) -> ArmRecord {
    ArmRecord {
        name: name.into(),
        arch: None,
        scheme: match scheme {
            None => SchemeConfig::None,
            Some(_) => SchemeConfig::Keyed(Default::default()),
        },
        description: scheme.map_or_else(|| SchemeConfig::None.describe(), str::to_string),
        key_fingerprint: scheme.map(|_| "ab12cd34".into()),
        fixed_key: false,
        status: ArmStatus::Finished,
        test_accuracy: acc,
        train_seconds: secs,
        samples_per_second: sps,
        epochs_completed: 5,
        epoch_seconds: vec![secs / 5.0; 5],
        paused_seconds: 0.0,
        accuracy_delta: scheme.map(|_| acc - base),
        encode_seconds: scheme.map(|_| 0.04),
        failure: None,
        accuracy_interval: None,
        delta_interval: None,
        split: None,
        reused_from: None,
    }
}

pub fn summary(name: &str, dataset: &str, base: f64, private: f64, privacy: &str, started: &str) -> Summary {
    summary_of(
        name,
        dataset,
        vec![
            arm_record("baseline", None, base, base, 5.8, 5170.0),
            arm_record("private", Some(privacy), private, base, 6.1, 4920.0),
        ],
        started,
    )
}

/// A run of the four arms of [`COMPARE4`].
pub fn summary4(started: &str) -> Summary {
    let base = 0.8412;
    summary_of(
        "compare-quickstart",
        "embedded",
        vec![
            arm_record("baseline", None, base, base, 5.8, 5170.0),
            arm_record(
                "pixel-permutation",
                Some("pixel-permutation; labels: permuted, m=1"),
                0.8405,
                base,
                6.1,
                4920.0,
            ),
            arm_record(
                "block-shuffle",
                Some("block-shuffle(b=4,flip); labels: permuted, m=1"),
                0.7931,
                base,
                6.3,
                4810.0,
            ),
            arm_record("fast-mix", Some("fast-mix(rounds=3); labels: permuted, m=1"), 0.8217, base, 6.6, 4650.0),
        ],
        started,
    )
}

pub fn summary_of(name: &str, dataset: &str, arms: Vec<ArmRecord>, started: &str) -> Summary {
    Summary {
        format_version: RUN_FORMAT_VERSION,
        name: name.into(),
        seed: 42,
        arch: "mlp-256".into(),
        dataset: DatasetRecord {
            name: dataset.into(),
            train: 6000,
            test: 1000,
            shape: ImageShape { height: 28, width: 28, channels: 1 },
            classes: 10,
            class_names: Vec::new(),
        },
        arms,
        schedule: Schedule::Parallel,
        interrupted: false,
        started_at: started.into(),
        finished_at: started.into(),
        ppdl_version: "0.1.0".into(),
        crate_versions: BTreeMap::new(),
        threads: 2,
    }
}

/// The status of a run whose config asked for 5 epochs and no attacks.
pub fn status_of(s: &Summary) -> RunStatus {
    RunStatus::derive(s, Some(5), &[], Ok(None))
}

/// `summary` stopped by the user after `epochs` epochs.
pub fn interrupted(mut s: Summary, epochs: usize) -> Summary {
    s.interrupted = true;
    for arm in &mut s.arms {
        arm.status = ArmStatus::Stopped;
        arm.epochs_completed = epochs;
        arm.epoch_seconds.truncate(epochs);
    }
    s
}

pub fn run_entries() -> Vec<RunEntry> {
    let entries = vec![
        RunEntry {
            dir: "results/quickstart-20260102-090000".into(),
            group: None,
            notes: Ok(Default::default()),
            strongest_attack: None,
            label: "quickstart-20260102-090000".into(),
            status: None,
            summary: Ok(summary(
                "quickstart",
                "embedded",
                0.8412,
                0.8405,
                "pixel-permutation; labels: permuted, m=1",
                "2026-01-02T09:00:00Z",
            )),
        },
        RunEntry {
            dir: "results/fashion-cnn-20260101-120000".into(),
            group: None,
            notes: Ok(Default::default()),
            strongest_attack: None,
            label: "fashion-cnn-20260101-120000".into(),
            status: None,
            summary: Ok(summary(
                "fashion-cnn",
                "fashion-mnist",
                0.8921,
                0.8533,
                "block-shuffle(b=4,flip) + noise(sigma=0.05); labels: permuted, m=3",
                "2026-01-01T12:00:00Z",
            )),
        },
        RunEntry {
            dir: "results/mnist-mlp-20251231-080000".into(),
            group: None,
            notes: Ok(Default::default()),
            strongest_attack: None,
            label: "mnist-mlp-20251231-080000".into(),
            status: None,
            summary: Ok(interrupted(
                summary(
                    "mnist-mlp",
                    "mnist",
                    0.9512,
                    0.9488,
                    "orthogonal-mix; labels: permuted, m=1",
                    "2025-12-31T08:00:00Z",
                ),
                3,
            )),
        },
        RunEntry {
            dir: "results/old-run".into(),
            group: None,
            notes: Ok(Default::default()),
            strongest_attack: None,
            label: "old-run".into(),
            status: None,
            summary: Err("results/old-run/summary.json: run folder format 0, but this ppdl reads format 1".into()),
        },
    ];
    entries
        .into_iter()
        .map(|mut e: RunEntry| {
            e.status = e.summary.as_ref().ok().map(status_of);
            e
        })
        .collect()
}

pub fn run_detail() -> RunDetail {
    let entry = &run_entries()[0];
    detail_of(entry.label.clone(), entry.summary.clone().unwrap())
}

/// A run opened in the runs view: its summary and every arm's full curves.
pub fn detail_of(label: String, summary: Summary) -> RunDetail {
    let rows: Vec<MetricRow> = summary.arms.iter().flat_map(|a| metric_rows(&a.name, 470)).collect();
    RunDetail {
        dir: PathBuf::from("results").join(&label),
        label,
        status: status_of(&summary),
        summary,
        curves: Curves::from_rows(&rows),
        metrics_error: None,
    }
}

/// The four-arm run opened in the runs view.
pub fn run_detail4() -> RunDetail {
    detail_of("compare-quickstart-20260103-100000".into(), summary4("2026-01-03T10:00:00Z"))
}

pub const CONFIG_A: &str = "name = \"quickstart\"\nseed = 42\n\n[data]\ndataset = \"embedded\"\n\n[model]\narch = \"mlp-256\"\n\n[train]\nepochs = 5\nbatch_size = 64\noptimizer = \"adam\"\nlearning_rate = 0.001\n\n[privacy]\nlabel_permutation = true\ncodes_per_class = 1\n\n[[privacy.transforms]]\nkind = \"pixel-permutation\"\n\n[output]\ndir = \"results\"\nfigures = true\n";

pub fn config_b() -> String {
    CONFIG_A
        .replace("epochs = 5", "epochs = 8")
        .replace("codes_per_class = 1", "codes_per_class = 3")
        .replace("kind = \"pixel-permutation\"", "kind = \"block-shuffle\"\nblock = 4\nflip = true")
}

/// Render the app on a `w` x `h` test terminal.
pub fn render(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| ppdl::tui::ui::draw(f, app)).unwrap();
    terminal
}

/// The config of a noise run with `sigma` and `seed` (the trade-off fixtures).
pub fn noise_config(sigma: f64, seed: u64) -> String {
    format!(
        "name = \"noise\"\nseed = {seed}\n\n[data]\ndataset = \"embedded\"\n\n[model]\narch = \"mlp-256\"\n\n\
         [train]\nepochs = 5\n\n[[privacy.transforms]]\nkind = \"noise\"\nsigma = {sigma}\n\n[output]\ndir = \"results\"\n"
    )
}

/// A finished two-arm run folder `root/label` with `config_text`, metrics, and attacks.json holding
/// known-plaintext (PSNR `psnr` dB, no-attack reference 10.6 dB) and wrong-key (accuracy
/// `wrong_key`, chance 0.1) against the protected arm.
#[allow(clippy::too_many_arguments)]
pub fn write_attacked_run(
    root: &Path,
    label: &str,
    config_text: &str,
    seed: u64,
    base: f64,
    private: f64,
    psnr: f64,
    wrong_key: f64,
    started: &str,
) -> PathBuf {
    let dir = root.join(label);
    std::fs::create_dir_all(&dir).unwrap();
    let mut s = summary(label, "embedded", base, private, "noise(sigma); labels: permuted, m=1", started);
    s.seed = seed;
    ppdl::atomic::write_json(&dir.join("summary.json"), &s).unwrap();
    let mut rows = metric_rows("baseline", 188);
    rows.extend(metric_rows("private", 188));
    let arms = ["baseline".to_string(), "private".to_string()];
    ppdl::atomic::write(&dir.join("metrics.csv"), ppdl::results::metrics_csv(&rows, &arms).as_bytes()).unwrap();
    std::fs::write(dir.join("config.toml"), config_text).unwrap();
    let mut kp = record("known-plaintext", "Known plaintext", "PSNR of unseen data", psnr, "dB", "broken");
    kp.baseline = Some(10.6);
    kp.baseline_label = Some("adversary's mean image".into());
    let mut wk = record("wrong-key", "Wrong key", "accuracy with a wrong key", wrong_key, "fraction", "protects");
    wk.chance = Some(0.1);
    let file = ppdl::results::attacks::AttacksFile {
        format_version: ppdl::results::attacks::ATTACKS_FORMAT_VERSION,
        records: vec![kp, wk],
        failures: vec![],
        not_applicable: vec![],
    };
    file.save(&dir.join("attacks.json")).unwrap();
    dir
}

/// Four noise runs under `root`: sigma 0.1 with seeds 1, 2, 3 (accuracy deltas -1, -2, -3 points,
/// PSNR 20, 22, 24 dB) and sigma 0.2 with seed 1 (delta -5 points, PSNR 15 dB).
pub fn write_noise_runs(root: &Path) -> Vec<PathBuf> {
    let runs = [
        ("noise-s1-a", 0.1, 1, 0.83, 20.0, "2026-01-01T00:00:01Z"),
        ("noise-s1-b", 0.1, 2, 0.82, 22.0, "2026-01-01T00:00:02Z"),
        ("noise-s1-c", 0.1, 3, 0.81, 24.0, "2026-01-01T00:00:03Z"),
        ("noise-s2-a", 0.2, 1, 0.79, 15.0, "2026-01-01T00:00:04Z"),
    ];
    runs.iter()
        .map(|(label, sigma, seed, private, psnr, started)| {
            write_attacked_run(root, label, &noise_config(*sigma, *seed), *seed, 0.84, *private, *psnr, 0.1, started)
        })
        .collect()
}
