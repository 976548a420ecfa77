//! `ppdl bench`: training throughput of ppdl's networks against PyTorch on CPU, same data, same
//! networks, same batch size, optimiser (Adam, lr 1e-3) and number of threads.
//!
//! The ppdl side runs the real trainer ([`train_arm`]) on the chosen architectures and reports the
//! median epoch time after a warm-up epoch (training steps only: data is in memory, evaluation is not
//! counted). The PyTorch side runs `bench/torch_reference.py` (compiled into the binary, so the
//! command works from any folder) the same way, when `import torch` works; otherwise it is skipped
//! with a message.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::config::{Arch, OptimizerKind, Schedule, TrainConfig};
use crate::data::load::{load_dataset, DatasetKind};
use crate::data::Dataset;
use crate::error::InputError;
use crate::scheme::protocol::plain_targets;
use crate::scheme::{Judge, TrainingSet};
use crate::train::{train_arm, ArmOutcome, Control, Event, TrainSpec};

use super::{median, memory, worker_threads};

/// The PyTorch reference script, as shipped in `bench/torch_reference.py`.
pub const TORCH_REFERENCE: &str = include_str!("../../bench/torch_reference.py");

/// What to benchmark.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub archs: Vec<Arch>,
    pub dataset: DatasetKind,
    pub data_dir: Option<PathBuf>,
    /// Training samples per epoch (the first N of the training split).
    pub samples: usize,
    pub batch_size: usize,
    /// Timed epochs (after one warm-up epoch).
    pub epochs: usize,
    /// Run PyTorch too (when it is installed).
    pub torch: bool,
    /// Python interpreter for the PyTorch side.
    pub python: String,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            archs: vec![Arch::Mlp256, Arch::Mlp512x256, Arch::CnnSmall],
            dataset: DatasetKind::Embedded,
            data_dir: None,
            samples: 6000,
            batch_size: 64,
            epochs: 3,
            torch: true,
            python: std::env::var("PPDL_PYTHON").unwrap_or_else(|_| "python3".into()),
        }
    }
}

/// One architecture's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchRow {
    pub arch: String,
    pub ppdl_epoch_seconds: Vec<f64>,
    pub ppdl_samples_per_second: f64,
    pub torch_epoch_seconds: Option<Vec<f64>>,
    pub torch_samples_per_second: Option<f64>,
    /// ppdl / torch samples per second (above 1: ppdl is faster).
    pub ratio: Option<f64>,
    /// CPU seconds (all threads) of every epoch, and samples per CPU-second (median after the
    /// warm-up): hardly affected by other programs on the machine, so the fairer figure on a busy
    /// machine, above all with one thread.
    pub ppdl_epoch_cpu_seconds: Option<Vec<f64>>,
    pub ppdl_samples_per_cpu_second: Option<f64>,
    pub torch_epoch_cpu_seconds: Option<Vec<f64>>,
    pub torch_samples_per_cpu_second: Option<f64>,
    /// ppdl / torch samples per CPU-second.
    pub cpu_ratio: Option<f64>,
}

/// The whole comparison (`--json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    pub dataset: String,
    pub samples: usize,
    pub batch_size: usize,
    pub optimizer: String,
    pub threads: usize,
    pub warmup_epochs: usize,
    pub timed_epochs: usize,
    pub rows: Vec<BenchRow>,
    /// Why PyTorch was not run, if it was not.
    pub torch_skipped: Option<String>,
    pub torch_version: Option<String>,
    /// `OMP_WAIT_POLICY` the PyTorch side ran with.
    pub torch_omp_wait_policy: Option<String>,
    pub load_average_1m_before: Option<f64>,
    pub load_average_1m_after: Option<f64>,
}

const WARMUP_EPOCHS: usize = 1;

/// Run the benchmark, printing progress lines to stdout.
pub fn run(opts: &BenchOptions) -> anyhow::Result<BenchReport> {
    if !matches!(opts.dataset, DatasetKind::Embedded | DatasetKind::Mnist | DatasetKind::FashionMnist) {
        return Err(InputError::new(format!(
            "--dataset {}: the benchmark reads IDX images (embedded, mnist, fashion-mnist)",
            opts.dataset.name()
        ))
        .into());
    }
    if opts.samples == 0 || opts.batch_size == 0 || opts.epochs == 0 {
        return Err(InputError::new("--samples, --batch and --epochs must be at least 1").into());
    }
    let threads = worker_threads();
    let load_before = memory::load_average_1m();
    let dataset = load_dataset(opts.dataset, opts.data_dir.as_deref(), Some(opts.samples), Some(100))?;
    let n = dataset.train.len();
    println!(
        "ppdl bench: {} ({} training samples), batch {}, Adam lr 1e-3, {} thread(s), median of {} epoch(s) after {} warm-up",
        dataset.name, n, opts.batch_size, threads, opts.epochs, WARMUP_EPOCHS
    );
    if let Some(l) = load_before {
        if l > threads as f64 {
            println!(
                "note: load average {l:.2} is above the {threads} thread(s): the machine is shared, timings are noisy"
            );
        }
    }

    let torch = if opts.torch { TorchSide::probe(&opts.python) } else { Err("--no-torch given".to_string()) };
    let torch_version = torch.as_ref().ok().map(|t| t.version.clone());
    let torch_skipped = torch.as_ref().err().cloned();
    if let Some(why) = &torch_skipped {
        println!("PyTorch side skipped: {why}");
    }
    let workdir = match &torch {
        Ok(_) => Some(BenchDir::create(opts)?),
        Err(_) => None,
    };

    let mut rows = Vec::new();
    for &arch in &opts.archs {
        let (ppdl_epoch_seconds, ppdl_cpu) = ppdl_epochs(arch, &dataset, opts.batch_size, opts.epochs)?;
        let ppdl_sps = samples_per_second(n, timed(&ppdl_epoch_seconds));
        let ppdl_cpu_sps = ppdl_cpu.as_deref().map(|c| samples_per_second(n, timed(c)));
        println!("  {:<13} ppdl  {:>9.0} samples/s{}", arch.name(), ppdl_sps, per_cpu(ppdl_cpu_sps));
        let (mut torch_epoch_seconds, mut torch_sps, mut torch_cpu, mut torch_cpu_sps) = (None, None, None, None);
        if let (Ok(t), Some(dir)) = (&torch, &workdir) {
            let (secs, cpu) = t.epochs(dir, arch, opts, threads, n)?;
            let sps = samples_per_second(n, timed(&secs));
            torch_cpu_sps = cpu.as_deref().map(|c| samples_per_second(n, timed(c)));
            println!("  {:<13} torch {:>9.0} samples/s{}", arch.name(), sps, per_cpu(torch_cpu_sps));
            torch_epoch_seconds = Some(secs);
            torch_sps = Some(sps);
            torch_cpu = cpu;
        }
        let ratio_of = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        };
        rows.push(BenchRow {
            arch: arch.name().into(),
            ratio: ratio_of(Some(ppdl_sps), torch_sps),
            cpu_ratio: ratio_of(ppdl_cpu_sps, torch_cpu_sps),
            ppdl_epoch_seconds,
            ppdl_samples_per_second: ppdl_sps,
            torch_epoch_seconds,
            torch_samples_per_second: torch_sps,
            ppdl_epoch_cpu_seconds: ppdl_cpu,
            ppdl_samples_per_cpu_second: ppdl_cpu_sps,
            torch_epoch_cpu_seconds: torch_cpu,
            torch_samples_per_cpu_second: torch_cpu_sps,
        });
    }
    if let Some(dir) = workdir {
        dir.remove();
    }
    Ok(BenchReport {
        dataset: dataset.name.clone(),
        samples: n,
        batch_size: opts.batch_size,
        optimizer: "adam lr=0.001".into(),
        threads,
        warmup_epochs: WARMUP_EPOCHS,
        timed_epochs: opts.epochs,
        rows,
        torch_omp_wait_policy: torch_version.as_ref().map(|_| torch_omp_wait_policy()),
        torch_skipped,
        torch_version,
        load_average_1m_before: load_before,
        load_average_1m_after: memory::load_average_1m(),
    })
}

/// The comparison as a table.
pub fn table(report: &BenchReport) -> String {
    let opt = |v: Option<f64>, suffix: &str| v.map(|v| format!("{v:.0}{suffix}")).unwrap_or_else(|| "-".into());
    let ratio = |v: Option<f64>| v.map(|v| format!("{v:.2}x")).unwrap_or_else(|| "-".into());
    let mut out = format!(
        "{:<13} {:>15} {:>15} {:>10}   {:>15} {:>15} {:>10}\n",
        "", "ppdl", "torch", "ppdl/torch", "ppdl", "torch", "ppdl/torch"
    );
    out.push_str(&format!(
        "{:<13} {:>15} {:>15} {:>10}   {:>15} {:>15} {:>10}\n",
        "arch", "samples/s", "samples/s", "(wall)", "per CPU-s", "per CPU-s", "(CPU)"
    ));
    for r in &report.rows {
        out.push_str(&format!(
            "{:<13} {:>15.0} {:>15} {:>10}   {:>15} {:>15} {:>10}\n",
            r.arch,
            r.ppdl_samples_per_second,
            opt(r.torch_samples_per_second, ""),
            ratio(r.ratio),
            opt(r.ppdl_samples_per_cpu_second, ""),
            opt(r.torch_samples_per_cpu_second, ""),
            ratio(r.cpu_ratio),
        ));
    }
    if let Some(v) = &report.torch_version {
        out.push_str(&format!(
            "(PyTorch {v}, {} thread(s), OMP_WAIT_POLICY={})\n",
            report.threads,
            report.torch_omp_wait_policy.as_deref().unwrap_or("?")
        ));
    }
    out
}

/// The epochs after the warm-up.
fn timed(epochs: &[f64]) -> &[f64] {
    &epochs[WARMUP_EPOCHS.min(epochs.len())..]
}

fn per_cpu(v: Option<f64>) -> String {
    v.map(|v| format!(", {v:>9.0} per CPU-second")).unwrap_or_default()
}

fn samples_per_second(n: usize, epoch_seconds: &[f64]) -> f64 {
    match median(epoch_seconds) {
        Some(s) if s > 0.0 => n as f64 / s,
        _ => 0.0,
    }
}

/// Wall and CPU seconds of every epoch of the real trainer on `arch` (warm-up epoch first). CPU time
/// is the whole process's (all threads), taken when each epoch's end is reported (its evaluation on
/// 100 samples included, which is negligible).
pub fn ppdl_epochs(
    arch: Arch,
    dataset: &Dataset,
    batch_size: usize,
    epochs: usize,
) -> anyhow::Result<(Vec<f64>, Option<Vec<f64>>)> {
    let targets = plain_targets(&dataset.train);
    let data = TrainingSet {
        images: &dataset.train.images,
        targets: &targets,
        features: dataset.shape.features(),
        outputs: dataset.classes,
    };
    let spec = TrainSpec {
        arm: crate::config::BASELINE_ARM.into(),
        arch,
        shape: dataset.shape,
        train: TrainConfig {
            epochs: WARMUP_EPOCHS + epochs,
            batch_size,
            optimizer: OptimizerKind::Adam,
            learning_rate: 1e-3,
            schedule: Schedule::Sequential,
            log_every: usize::MAX,
            ..TrainConfig::default()
        },
        seed: 1,
        save_to: None,
    };
    let judge = Judge::plain(&dataset.test.labels, dataset.classes);
    // No attacks here: the events carry no attack record.
    let (tx, rx) = mpsc::channel::<Event<()>>();
    // The same device setup as a real run, so the figures are the ones a run gets.
    let dev = crate::model::cpu_training_device(1);
    let (outcome, cpu_marks) = std::thread::scope(|scope| {
        let watcher = scope.spawn(move || {
            let mut marks = vec![memory::process_cpu_seconds()];
            for event in rx {
                if matches!(&event, Event::Metric(row) if row.split == crate::train::MetricSplit::Test) {
                    marks.push(memory::process_cpu_seconds());
                }
            }
            marks
        });
        let outcome = train_arm(&dev, &spec, data, &dataset.test.images, &judge, &tx, &Control::default());
        drop(tx);
        (outcome, watcher.join().unwrap_or_default())
    });
    let cpu: Option<Vec<f64>> =
        cpu_marks.into_iter().collect::<Option<Vec<f64>>>().map(|m| m.windows(2).map(|w| w[1] - w[0]).collect());
    match outcome {
        ArmOutcome::Finished(s) => Ok((s.epoch_seconds, cpu)),
        ArmOutcome::Stopped(_) => anyhow::bail!("{}: training stopped", arch.name()),
        ArmOutcome::Failed(why) => anyhow::bail!("{}: training failed: {why}", arch.name()),
    }
}

/// PyTorch's OpenMP threads spin while waiting by default; on a machine shared with other work that
/// costs it up to 10x (measured here). ppdl's rayon threads yield. Unless the caller set
/// `OMP_WAIT_POLICY`, the reference runs with passive waiting.
const OMP_WAIT_POLICY: &str = "PASSIVE";

/// The `OMP_WAIT_POLICY` the PyTorch side runs with.
pub fn torch_omp_wait_policy() -> String {
    std::env::var("OMP_WAIT_POLICY").unwrap_or_else(|_| OMP_WAIT_POLICY.into())
}

/// A Python with torch.
struct TorchSide {
    python: String,
    version: String,
}

impl TorchSide {
    fn probe(python: &str) -> Result<TorchSide, String> {
        let out = Command::new(python)
            .args(["-c", "import torch; print(torch.__version__)"])
            .output()
            .map_err(|e| format!("cannot run {python}: {e} (set PPDL_PYTHON or --python)"))?;
        if !out.status.success() {
            return Err(format!(
                "`{python} -c \"import torch\"` failed: PyTorch is not installed for {python} (pip install torch, or point --python / PPDL_PYTHON at an interpreter that has it)"
            ));
        }
        Ok(TorchSide { python: python.into(), version: String::from_utf8_lossy(&out.stdout).trim().to_string() })
    }

    fn epochs(
        &self,
        dir: &BenchDir,
        arch: Arch,
        opts: &BenchOptions,
        threads: usize,
        n: usize,
    ) -> anyhow::Result<(Vec<f64>, Option<Vec<f64>>)> {
        let mut cmd = Command::new(&self.python);
        if std::env::var_os("OMP_WAIT_POLICY").is_none() {
            cmd.env("OMP_WAIT_POLICY", OMP_WAIT_POLICY);
        }
        let out = cmd
            .arg(&dir.script)
            .args(["--idx-dir", &dir.data.to_string_lossy()])
            .args(["--arch", arch.name()])
            .args(["--batch", &opts.batch_size.to_string()])
            .args(["--samples", &n.to_string()])
            .args(["--epochs", &(WARMUP_EPOCHS + opts.epochs).to_string()])
            .args(["--threads", &threads.to_string()])
            .arg("--json")
            .output()
            .with_context(|| format!("running {}", dir.script.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            anyhow::bail!(
                "torch_reference.py failed for {}: {}{}",
                arch.name(),
                stdout,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let line = stdout.lines().rev().find(|l| l.trim_start().starts_with('{')).unwrap_or("");
        let v: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("torch_reference.py printed no JSON: {stdout}"))?;
        let list = |key: &str| v[key].as_array().map(|a| a.iter().filter_map(|x| x.as_f64()).collect::<Vec<f64>>());
        let secs = list("epoch_seconds").context("torch_reference.py: no epoch_seconds")?;
        Ok((secs, list("epoch_cpu_seconds")))
    }
}

/// A temporary folder with the reference script and the IDX files both sides read.
struct BenchDir {
    root: PathBuf,
    script: PathBuf,
    data: PathBuf,
}

impl BenchDir {
    fn create(opts: &BenchOptions) -> anyhow::Result<BenchDir> {
        let root = std::env::temp_dir().join(format!("ppdl-bench-{}", std::process::id()));
        std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
        let script = root.join("torch_reference.py");
        std::fs::write(&script, TORCH_REFERENCE)?;
        let data = match opts.dataset {
            DatasetKind::Embedded => {
                let d = root.join("embedded");
                std::fs::create_dir_all(&d)?;
                for (name, bytes) in crate::data::embedded::FILES {
                    std::fs::write(d.join(name), bytes)?;
                }
                d
            }
            kind => {
                let dir = opts.data_dir.clone().or_else(|| kind.default_dir()).expect("IDX kinds have a folder");
                absolute(&dir)
            }
        };
        Ok(BenchDir { root, script, data })
    }

    fn remove(self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map(|c| c.join(p)).unwrap_or_else(|_| p.to_path_buf())
    }
}

/// `ppdl bench [...]` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Architectures, comma-separated (mlp-256, mlp-512-256, mlp-1024-512, cnn-small, lenet).
    #[arg(long, value_delimiter = ',', default_value = "mlp-256,mlp-512-256,cnn-small")]
    pub arch: Vec<String>,
    /// embedded | mnist | fashion-mnist
    #[arg(long, default_value = "embedded")]
    pub dataset: String,
    /// Folder with the IDX files (default: data/<dataset>).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Training samples per epoch (the first N).
    #[arg(long, default_value_t = 6000)]
    pub samples: usize,
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Timed epochs, after one warm-up epoch.
    #[arg(long, default_value_t = 3)]
    pub epochs: usize,
    /// Threads for both sides (default: all cores, or RAYON_NUM_THREADS).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Do not run the PyTorch side.
    #[arg(long)]
    pub no_torch: bool,
    /// Python interpreter with torch (default: $PPDL_PYTHON or python3).
    #[arg(long)]
    pub python: Option<String>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// `ppdl bench`: parse the arguments, run, print the table (and write the JSON).
pub fn command(args: &BenchArgs) -> anyhow::Result<BenchReport> {
    if let Some(t) = args.threads {
        if t == 0 {
            return Err(InputError::new("--threads must be at least 1").into());
        }
        // Before anything touches the rayon pool (it is sized once, on first use).
        std::env::set_var("RAYON_NUM_THREADS", t.to_string());
    }
    let archs = args
        .arch
        .iter()
        .map(|name| {
            Arch::ALL.iter().copied().find(|a| a.name() == name.trim()).ok_or_else(|| {
                InputError::new(format!(
                    "--arch {name}: expected one of {}{}",
                    Arch::ALL.iter().map(|a| a.name()).collect::<Vec<_>>().join(", "),
                    crate::error::did_you_mean(name.trim(), Arch::ALL.map(Arch::name))
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let dataset = DatasetKind::ALL.iter().copied().find(|k| k.name() == args.dataset).ok_or_else(|| {
        InputError::new(format!(
            "--dataset {}: expected embedded, mnist or fashion-mnist{}",
            args.dataset,
            crate::error::did_you_mean(&args.dataset, ["embedded", "mnist", "fashion-mnist"])
        ))
    })?;
    let defaults = BenchOptions::default();
    let opts = BenchOptions {
        archs,
        dataset,
        data_dir: args.data_dir.clone(),
        samples: args.samples,
        batch_size: args.batch,
        epochs: args.epochs,
        torch: !args.no_torch,
        python: args.python.clone().unwrap_or(defaults.python),
    };
    let report = run(&opts)?;
    println!();
    print!("{}", table(&report));
    if let Some(path) = &args.json {
        crate::atomic::write_json(path, &report)?;
        println!("wrote {}", path.display());
    }
    Ok(report)
}
