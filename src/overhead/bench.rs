//! `ppdl bench`: training throughput of ppdl's networks against PyTorch on CPU, same data, same
//! networks, same batch size, optimiser (Adam, lr 1e-3) and number of threads.
//!
//! The ppdl side runs the real trainer ([`train_arm`]) on the chosen architectures; one run is a
//! warm-up epoch and then the timed epochs (training steps only: data is in memory, evaluation is
//! not counted), and its figure is the median timed epoch. The PyTorch side runs
//! `bench/torch_reference.py` (compiled into the binary, so the command works from any folder) the
//! same way, when `import torch` works; otherwise it is skipped with a message. The reference runs
//! as its users run it: ppdl sets no variable in its environment (PyTorch's defaults, or whatever
//! the caller exported, which the report names). Both sides run `repeats` times in alternating
//! order (ppdl first in odd repeats, PyTorch first in even ones), and the report gives the median
//! and the range of each side and the ratio of the medians, per wall-clock second and per CPU-second
//! of the process (all its threads).
//!
//! `--device cuda` (a build with `--features cuda`) trains both sides on the GPU: ppdl on dfdx's CUDA
//! device, PyTorch with `--device cuda`. Both keep the training set in host memory and copy each
//! batch to the GPU, as ppdl's trainer does; CPU-seconds then measure the host's share.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::config::{Arch, DeviceKind, OptimizerKind, Schedule, TrainConfig};
use crate::data::load::{load_dataset, DatasetKind};
use crate::data::Dataset;
use crate::error::InputError;
use crate::scheme::protocol::plain_targets;
use crate::scheme::{Judge, TrainingSet};
use crate::train::{train_arm, ArmOutcome, Control, Event, TrainSpec};

use super::{median, memory, worker_threads};

/// The PyTorch reference script, as shipped in `bench/torch_reference.py`.
pub const TORCH_REFERENCE: &str = include_str!("../../bench/torch_reference.py");

/// Repeats of each side when none is given.
pub const DEFAULT_REPEATS: usize = 3;

/// What to benchmark.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub archs: Vec<Arch>,
    pub dataset: DatasetKind,
    pub data_dir: Option<PathBuf>,
    /// Training samples per epoch (the first N of the training split).
    pub samples: usize,
    pub batch_size: usize,
    /// Timed epochs of one run (after one warm-up epoch).
    pub epochs: usize,
    /// Runs of each side per architecture, alternating which side goes first.
    pub repeats: usize,
    /// Run PyTorch too (when it is installed).
    pub torch: bool,
    /// Python interpreter for the PyTorch side.
    pub python: String,
    /// Where both sides train.
    pub device: DeviceKind,
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
            repeats: DEFAULT_REPEATS,
            torch: true,
            python: std::env::var("PPDL_PYTHON").unwrap_or_else(|_| "python3".into()),
            device: DeviceKind::Cpu,
        }
    }
}

/// Median and range of one figure over the repeats.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// How many values (runs) it summarises.
    pub n: usize,
}

impl Spread {
    /// None when there is no finite value.
    pub fn of(values: &[f64]) -> Option<Spread> {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        Some(Spread {
            median: median(&finite)?,
            min: finite.iter().copied().fold(f64::INFINITY, f64::min),
            max: finite.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            n: finite.len(),
        })
    }
}

/// a / b of the medians (above 1: the first is larger); None when either is missing or b is not
/// positive.
pub fn ratio_of_medians(a: Option<&Spread>, b: Option<&Spread>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b.median > 0.0 => Some(a.median / b.median),
        _ => None,
    }
}

/// One run of one side: every epoch (warm-up first) and the figures of the timed ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideRun {
    pub epoch_seconds: Vec<f64>,
    /// CPU seconds of the whole process (all threads) in every epoch, where measurable.
    pub epoch_cpu_seconds: Option<Vec<f64>>,
    /// Samples / median timed epoch's seconds.
    pub samples_per_second: f64,
    /// Samples / median timed epoch's CPU seconds.
    pub samples_per_cpu_second: Option<f64>,
    /// Milliseconds of one forward pass per batch size of [INFERENCE_CALLS] (CPU only; absent in
    /// reports from before it was measured).
    #[serde(default)]
    pub inference: Vec<InferenceTime>,
}

/// The median time of one forward pass (no gradients; scores copied back to plain memory) of a
/// batch of training inputs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct InferenceTime {
    pub batch: usize,
    pub ms: f64,
}

/// Batch sizes of the inference timing, each with its warm-up and timed calls (the same in
/// `torch_reference.py`): a single query, and a batch as a served model sees one.
pub const INFERENCE_CALLS: [(usize, usize, usize); 2] = [(1, 20, 300), (256, 5, 40)];

impl SideRun {
    fn new(samples: usize, epoch_seconds: Vec<f64>, epoch_cpu_seconds: Option<Vec<f64>>) -> SideRun {
        SideRun {
            inference: Vec::new(),
            samples_per_second: samples_per_second(samples, timed(&epoch_seconds)),
            samples_per_cpu_second: epoch_cpu_seconds.as_deref().map(|c| samples_per_second(samples, timed(c))),
            epoch_seconds,
            epoch_cpu_seconds,
        }
    }
}

/// One side over all its runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideFigures {
    pub runs: Vec<SideRun>,
    pub samples_per_second: Spread,
    /// Only when every run has a CPU figure.
    pub samples_per_cpu_second: Option<Spread>,
    /// Per inference batch size, the milliseconds over the runs that measured it.
    #[serde(default)]
    pub inference_ms: Vec<(usize, Spread)>,
}

impl SideFigures {
    /// None when there is no run.
    pub fn of(runs: Vec<SideRun>) -> Option<SideFigures> {
        let wall: Vec<f64> = runs.iter().map(|r| r.samples_per_second).collect();
        let cpu: Option<Vec<f64>> = runs.iter().map(|r| r.samples_per_cpu_second).collect();
        let inference_ms = INFERENCE_CALLS
            .iter()
            .filter_map(|&(batch, ..)| {
                let ms: Vec<f64> =
                    runs.iter().flat_map(|r| r.inference.iter().filter(|t| t.batch == batch).map(|t| t.ms)).collect();
                Some((batch, Spread::of(&ms)?))
            })
            .collect();
        Some(SideFigures {
            samples_per_second: Spread::of(&wall)?,
            samples_per_cpu_second: cpu.as_deref().and_then(Spread::of),
            inference_ms,
            runs,
        })
    }
}

/// One architecture's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchRow {
    pub arch: String,
    pub ppdl: SideFigures,
    pub torch: Option<SideFigures>,
    /// Median ppdl samples/s / median torch samples/s (above 1: ppdl is faster).
    pub ratio: Option<f64>,
    /// The same per CPU-second of each process (all threads): what each side costs in CPU time,
    /// less moved than wall-clock time by other programs on the machine.
    pub cpu_ratio: Option<f64>,
    /// Multiply-adds of one training step per sample (`model::arch::multiply_adds`); absent in
    /// reports from before it was recorded.
    #[serde(default)]
    pub training_multiply_adds_per_sample: Option<u64>,
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
    /// Runs of each side per architecture, in alternating order.
    pub repeats: usize,
    pub rows: Vec<BenchRow>,
    /// Why PyTorch was not run, if it was not.
    pub torch_skipped: Option<String>,
    pub torch_version: Option<String>,
    /// Threading variables (`OMP_*`, `KMP_*`, `GOMP_*`, `MKL_*`) the PyTorch side inherited from the
    /// caller, as `NAME=value`; empty: it ran at PyTorch's defaults. ppdl sets none of them.
    pub torch_inherited_env: Vec<String>,
    pub load_average_1m_before: Option<f64>,
    pub load_average_1m_after: Option<f64>,
    /// `cpu` or `cuda` (reports before `--device` existed were all CPU).
    #[serde(default = "cpu_device_name")]
    pub device: String,
    /// The GPU's name as PyTorch reports it, on `cuda`.
    #[serde(default)]
    pub gpu_name: Option<String>,
    /// The ceiling for the roofline columns: billions of multiply-adds per second of one large f32
    /// matrix product (`PEAK_MATMUL_SIZE` cubed) on the same threads, on the CPU.
    #[serde(default)]
    pub peak_matmul_gmacs: Option<f64>,
    /// The same product in PyTorch (its BLAS: MKL on x86) on the same threads, when it ran: what the
    /// machine can do with the best f32 product at hand.
    #[serde(default)]
    pub torch_peak_matmul_gmacs: Option<f64>,
}

/// The side of the square matrices of the peak measurement: large enough that packing and threading
/// costs vanish against the arithmetic.
pub const PEAK_MATMUL_SIZE: usize = 1024;
const PEAK_WARMUP_PRODUCTS: usize = 3;
const PEAK_TIMED_PRODUCTS: usize = 15;

/// Billions of multiply-adds per second of `PEAK_MATMUL_SIZE`-square f32 matrix products through
/// the product ppdl's layers use (`gemm_f32::matmul` on the rayon pool), called from a worker as the
/// training step is: the median of [PEAK_TIMED_PRODUCTS] after [PEAK_WARMUP_PRODUCTS] (the same
/// counts as `torch_reference.py --peak`).
pub fn peak_matmul_gmacs() -> f64 {
    use crate::gemm_f32::{matmul, MatRef, Threads};
    let n = PEAK_MATMUL_SIZE;
    let a: Vec<f32> = (0..n * n).map(|i| (i % 97) as f32 / 97.0 - 0.5).collect();
    let b: Vec<f32> = (0..n * n).map(|i| (i % 89) as f32 / 89.0 - 0.5).collect();
    let mut c = vec![0.0f32; n * n];
    let seconds = median_call_seconds(PEAK_WARMUP_PRODUCTS, PEAK_TIMED_PRODUCTS, || {
        rayon::scope(|_| matmul(&mut c, n, n, n, MatRef::rows(&a, n), MatRef::rows(&b, n), false, Threads::All));
        std::hint::black_box(&c);
        Ok(())
    })
    .expect("the product cannot fail");
    (n * n * n) as f64 / seconds / 1e9
}

/// The median seconds of one of `timed` calls of `call`, after `warmup` untimed ones.
fn median_call_seconds(
    warmup: usize,
    timed: usize,
    mut call: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<f64> {
    for _ in 0..warmup {
        call()?;
    }
    let mut seconds = Vec::with_capacity(timed);
    for _ in 0..timed {
        let start = std::time::Instant::now();
        call()?;
        seconds.push(start.elapsed().as_secs_f64());
    }
    Ok(median(&seconds).unwrap_or(f64::NAN))
}

fn cpu_device_name() -> String {
    DeviceKind::Cpu.name().into()
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
    if opts.samples == 0 || opts.batch_size == 0 || opts.epochs == 0 || opts.repeats == 0 {
        return Err(InputError::new("--samples, --batch, --epochs and --repeats must be at least 1").into());
    }
    if opts.device == DeviceKind::Cuda && !cfg!(feature = "cuda") {
        return Err(InputError::new(format!("--device cuda {}", crate::config::CUDA_NOT_BUILT)).into());
    }
    let threads = worker_threads();
    let load_before = memory::load_average_1m();
    let dataset = load_dataset(opts.dataset, opts.data_dir.as_deref(), Some(opts.samples), Some(100))?;
    let n = dataset.train.len();
    println!(
        "ppdl bench: {} ({} training samples), batch {}, Adam lr 1e-3, on {} with {} thread(s); each run: median of {} epoch(s) after {} warm-up; {} run(s) of each side, alternating",
        dataset.name, n, opts.batch_size, opts.device.name(), threads, opts.epochs, WARMUP_EPOCHS, opts.repeats
    );
    if let Some(warning) = load_warning(load_before, threads) {
        println!("note: {warning}");
    }

    let torch =
        if opts.torch { TorchSide::probe(&opts.python, opts.device) } else { Err("--no-torch given".to_string()) };
    let torch_version = torch.as_ref().ok().map(|t| t.version.clone());
    let torch_skipped = torch.as_ref().err().cloned();
    if let Some(why) = &torch_skipped {
        println!("PyTorch side skipped: {why}");
    }
    let torch_inherited_env = inherited_threading_env(std::env::vars());
    if torch.is_ok() && !torch_inherited_env.is_empty() {
        println!("note: PyTorch inherits {} from this environment (not its defaults)", torch_inherited_env.join(" "));
    }
    let workdir = match &torch {
        Ok(_) => Some(BenchDir::create(opts)?),
        Err(_) => None,
    };

    let mut rows = Vec::new();
    for &arch in &opts.archs {
        let (mut ppdl_runs, mut torch_runs) = (Vec::new(), Vec::new());
        for repeat in 0..opts.repeats {
            let torch_first = repeat % 2 == 1;
            for side in if torch_first { [Side::Torch, Side::Ppdl] } else { [Side::Ppdl, Side::Torch] } {
                let (label, figures) = match (side, &torch, &workdir) {
                    (Side::Ppdl, _, _) => {
                        let (secs, cpu) = ppdl_epochs(arch, &dataset, opts.batch_size, opts.epochs, opts.device)?;
                        let inference = ppdl_inference(arch, &dataset, opts.device)?;
                        ppdl_runs.push(SideRun { inference, ..SideRun::new(n, secs, cpu) });
                        ("ppdl ", ppdl_runs.last())
                    }
                    (Side::Torch, Ok(t), Some(dir)) => {
                        let cmd = torch_command(&t.python, dir, arch, opts, threads, n);
                        let (secs, cpu, inference) = torch_epochs(cmd, arch)?;
                        torch_runs.push(SideRun { inference, ..SideRun::new(n, secs, cpu) });
                        ("torch", torch_runs.last())
                    }
                    _ => continue,
                };
                if let Some(r) = figures {
                    println!(
                        "  {:<13} run {}/{}  {label} {:>9.0} samples/s{}",
                        arch.name(),
                        repeat + 1,
                        opts.repeats,
                        r.samples_per_second,
                        per_cpu(r.samples_per_cpu_second)
                    );
                }
            }
        }
        let ppdl = SideFigures::of(ppdl_runs).context("no ppdl run")?;
        let torch_figures = SideFigures::of(torch_runs);
        rows.push(BenchRow {
            arch: arch.name().into(),
            ratio: ratio_of_medians(
                Some(&ppdl.samples_per_second),
                torch_figures.as_ref().map(|t| &t.samples_per_second),
            ),
            cpu_ratio: ratio_of_medians(
                ppdl.samples_per_cpu_second.as_ref(),
                torch_figures.as_ref().and_then(|t| t.samples_per_cpu_second.as_ref()),
            ),
            ppdl,
            torch: torch_figures,
            training_multiply_adds_per_sample: Some(
                crate::model::arch::multiply_adds(arch, dataset.shape, dataset.classes).training,
            ),
        });
    }
    let peak_matmul_gmacs = (opts.device == DeviceKind::Cpu).then(|| {
        crate::model::flush_denormals_on_every_thread();
        let peak = peak_matmul_gmacs();
        println!(
            "peak: {n}x{n}x{n} f32 matrix product on the same {threads} thread(s): {peak:.1} GMAC/s (ppdl)",
            n = PEAK_MATMUL_SIZE
        );
        peak
    });
    let torch_peak_matmul_gmacs = match (&torch, &workdir) {
        (Ok(t), Some(dir)) if opts.device == DeviceKind::Cpu => {
            let peak = torch_peak(&t.python, dir, threads)?;
            println!("peak: the same product in PyTorch: {peak:.1} GMAC/s");
            Some(peak)
        }
        _ => None,
    };
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
        repeats: opts.repeats,
        rows,
        torch_skipped,
        torch_version,
        torch_inherited_env,
        load_average_1m_before: load_before,
        load_average_1m_after: memory::load_average_1m(),
        device: opts.device.name().into(),
        gpu_name: torch.ok().and_then(|t| t.gpu_name),
        peak_matmul_gmacs,
        torch_peak_matmul_gmacs,
    })
}

#[derive(Clone, Copy)]
enum Side {
    Ppdl,
    Torch,
}

/// A warning when the 1-minute load average is above the thread count.
fn load_warning(load: Option<f64>, threads: usize) -> Option<String> {
    let l = load?;
    (l > threads as f64).then(|| {
        format!("load average {l:.2} is above the {threads} thread(s): the machine is busy, timings are noisy")
    })
}

/// The comparison as a table: per side the median over the runs and, in brackets, the range.
pub fn table(report: &BenchReport) -> String {
    let spread = |s: Option<&Spread>| {
        s.map(|s| format!("{:.0} ({:.0}-{:.0})", s.median, s.min, s.max)).unwrap_or_else(|| "-".into())
    };
    let ratio = |v: Option<f64>| v.map(|v| format!("{v:.2}x")).unwrap_or_else(|| "-".into());
    let mut out = format!(
        "{:<13} {:>23} {:>23} {:>10}   {:>23} {:>23} {:>10}\n",
        "", "ppdl", "torch", "ppdl/torch", "ppdl", "torch", "ppdl/torch"
    );
    out.push_str(&format!(
        "{:<13} {:>23} {:>23} {:>10}   {:>23} {:>23} {:>10}\n",
        "arch", "samples/s", "samples/s", "(wall)", "per CPU-s", "per CPU-s", "(CPU)"
    ));
    for r in &report.rows {
        let torch = r.torch.as_ref();
        out.push_str(&format!(
            "{:<13} {:>23} {:>23} {:>10}   {:>23} {:>23} {:>10}\n",
            r.arch,
            spread(Some(&r.ppdl.samples_per_second)),
            spread(torch.map(|t| &t.samples_per_second)),
            ratio(r.ratio),
            spread(r.ppdl.samples_per_cpu_second.as_ref()),
            spread(torch.and_then(|t| t.samples_per_cpu_second.as_ref())),
            ratio(r.cpu_ratio),
        ));
    }
    out.push_str(&format!(
        "median (min-max) of {} run(s) per side, alternating order; ratios are of the medians\n",
        report.repeats
    ));
    out.push_str(&inference_table(report));
    out.push_str(&roofline(report));
    if let Some(v) = &report.torch_version {
        let env = if report.torch_inherited_env.is_empty() {
            "at its defaults".to_string()
        } else {
            format!("with {} from the environment", report.torch_inherited_env.join(" "))
        };
        out.push_str(&format!("PyTorch {v}, {} thread(s), {env}\n", report.threads));
    }
    if report.device != DeviceKind::Cpu.name() {
        let gpu = report.gpu_name.as_deref().map(|g| format!(" ({g})")).unwrap_or_default();
        out.push_str(&format!(
            "both sides trained on {}{gpu}; data in host memory, each batch copied to the GPU; CPU-seconds are the host's\n",
            report.device
        ));
    }
    let load = |l: Option<f64>| l.map(|l| format!("{l:.2}")).unwrap_or_else(|| "unknown".into());
    out.push_str(&format!(
        "load average (1 min): {} before, {} after\n",
        load(report.load_average_1m_before),
        load(report.load_average_1m_after)
    ));
    let worst = report.load_average_1m_before.into_iter().chain(report.load_average_1m_after).reduce(f64::max);
    if let Some(warning) = load_warning(worst, report.threads) {
        out.push_str(&format!("warning: {warning}\n"));
    }
    out
}

/// Milliseconds of one forward pass per inference batch size, each side's median over its runs, and
/// torch / ppdl (above 1: ppdl is faster, as in the training columns); empty when nothing was timed.
fn inference_table(report: &BenchReport) -> String {
    if report.rows.iter().all(|r| r.ppdl.inference_ms.is_empty()) {
        return String::new();
    }
    let ms = |f: Option<&SideFigures>, batch: usize| {
        f.and_then(|f| f.inference_ms.iter().find(|(b, _)| *b == batch)).map(|(_, s)| s.median)
    };
    let cell = |v: Option<f64>| v.map(|v| format!("{v:.3}")).unwrap_or_else(|| "-".into());
    let mut out = format!("\n{:<13}", "inference");
    for (batch, ..) in INFERENCE_CALLS {
        out.push_str(&format!(" {:>14} {:>14} {:>10}", format!("batch {batch} ppdl"), "torch", "ppdl/torch"));
    }
    out.push('\n');
    for r in &report.rows {
        out.push_str(&format!("{:<13}", r.arch));
        for (batch, ..) in INFERENCE_CALLS {
            let (p, t) = (ms(Some(&r.ppdl), batch), ms(r.torch.as_ref(), batch));
            let speed = match (p, t) {
                (Some(p), Some(t)) if p > 0.0 => format!("{:.2}x", t / p),
                _ => "-".into(),
            };
            out.push_str(&format!(" {:>14} {:>14} {:>10}", cell(p), cell(t), speed));
        }
        out.push('\n');
    }
    out.push_str(
        "inference: ms per forward pass of a batch of training inputs (no gradients, scores copied out), \
         median of the runs' medians; ppdl/torch = torch ms / ppdl ms\n",
    );
    out
}

/// What the training steps achieve in multiply-adds per second (samples/s x the step's multiply-adds
/// per sample), against the peak of one large matrix product on the same threads; empty when the
/// report has neither.
fn roofline(report: &BenchReport) -> String {
    if report.rows.iter().all(|r| r.training_multiply_adds_per_sample.is_none()) {
        return String::new();
    }
    let rate = |macs: u64, f: Option<&SideFigures>| f.map(|f| macs as f64 * f.samples_per_second.median / 1e9);
    let cell = |g: Option<f64>| g.map(|g| format!("{g:.2}")).unwrap_or_else(|| "-".into());
    // The machine's ceiling: the faster of the two sides' large products.
    let best_peak = match (report.peak_matmul_gmacs, report.torch_peak_matmul_gmacs) {
        (Some(p), Some(t)) => Some(p.max(t)),
        (p, t) => p.or(t),
    };
    let share = |g: Option<f64>| match (g, best_peak) {
        (Some(g), Some(p)) if p > 0.0 => format!("{:.0}%", 100.0 * g / p),
        _ => "-".into(),
    };
    let mut out = format!(
        "\n{:<13} {:>14} {:>12} {:>8} {:>12} {:>8}\n",
        "arch", "MAC/sample", "ppdl GMAC/s", "of peak", "torch GMAC/s", "of peak"
    );
    for r in &report.rows {
        let Some(macs) = r.training_multiply_adds_per_sample else { continue };
        let (p, t) = (rate(macs, Some(&r.ppdl)), rate(macs, r.torch.as_ref()));
        out.push_str(&format!(
            "{:<13} {:>14} {:>12} {:>8} {:>12} {:>8}\n",
            r.arch,
            macs,
            cell(p),
            share(p),
            cell(t),
            share(t)
        ));
    }
    out.push_str("MAC/sample: multiply-adds of one training step per sample (forward, weight and input gradients)");
    let n = PEAK_MATMUL_SIZE;
    match (report.peak_matmul_gmacs, report.torch_peak_matmul_gmacs) {
        (Some(p), Some(t)) => out.push_str(&format!(
            "; peak: one {n}x{n}x{n} f32 matrix product on the same threads, {p:.1} GMAC/s in ppdl, {t:.1} in \
             PyTorch; \"of peak\" is of the faster\n"
        )),
        (Some(p), None) => {
            out.push_str(&format!("; peak: one {n}x{n}x{n} f32 matrix product on the same threads, {p:.1} GMAC/s\n"))
        }
        _ => out.push_str("; no CPU peak measured on this device\n"),
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
    device: DeviceKind,
) -> anyhow::Result<(Vec<f64>, Option<Vec<f64>>)> {
    match device {
        // The same device setup as a real run, so the figures are the ones a run gets.
        DeviceKind::Cpu => ppdl_epochs_on(&crate::model::cpu_training_device(1), arch, dataset, batch_size, epochs),
        #[cfg(feature = "cuda")]
        DeviceKind::Cuda => {
            let dev = dfdx::tensor::Cuda::try_seed_from_u64(1)
                .map_err(|e| anyhow::anyhow!("cannot open the CUDA device: {e:?}"))?;
            ppdl_epochs_on(&dev, arch, dataset, batch_size, epochs)
        }
        #[cfg(not(feature = "cuda"))]
        DeviceKind::Cuda => anyhow::bail!("--device cuda {}", crate::config::CUDA_NOT_BUILT),
    }
}

fn ppdl_epochs_on<D: dfdx::prelude::Device<f32>>(
    dev: &D,
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
        redraw: None,
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
        let outcome = train_arm(dev, &spec, data, &dataset.test.images, &judge, &tx, &Control::default());
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

/// Whether an environment variable steers PyTorch's CPU threads (OpenMP, Intel's OpenMP, MKL).
fn is_threading_var(name: &str) -> bool {
    ["OMP_", "KMP_", "GOMP_", "MKL_"].iter().any(|p| name.starts_with(p))
}

/// The threading variables of an environment, as sorted `NAME=value`.
fn inherited_threading_env(vars: impl Iterator<Item = (String, String)>) -> Vec<String> {
    let mut found: Vec<String> = vars.filter(|(k, _)| is_threading_var(k)).map(|(k, v)| format!("{k}={v}")).collect();
    found.sort();
    found
}

/// A Python with torch.
struct TorchSide {
    python: String,
    version: String,
    /// The GPU PyTorch sees, when the bench runs on `cuda`.
    gpu_name: Option<String>,
}

impl TorchSide {
    fn probe(python: &str, device: DeviceKind) -> Result<TorchSide, String> {
        let script = match device {
            DeviceKind::Cpu => "import torch; print(torch.__version__)",
            DeviceKind::Cuda => "import torch; print(torch.__version__); print(torch.cuda.get_device_name(0))",
        };
        let out = Command::new(python)
            .args(["-c", script])
            .output()
            .map_err(|e| format!("cannot run {python}: {e} (set PPDL_PYTHON or --python)"))?;
        if !out.status.success() {
            return Err(format!(
                "`{python} -c \"import torch\"` failed: PyTorch is not installed for {python} (pip install torch, or point --python / PPDL_PYTHON at an interpreter that has it)"
            ));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let mut lines = stdout.lines().map(|l| l.trim().to_string());
        let version = lines.next().unwrap_or_default();
        let gpu_name = lines.next().filter(|g| !g.is_empty());
        Ok(TorchSide { python: python.into(), version, gpu_name })
    }
}

/// The command of one reference run. It sets no environment variable: the reference runs as its
/// users run it (an earlier version set `OMP_WAIT_POLICY=PASSIVE`, which made PyTorch about 1.6x
/// slower on an idle machine); the thread count is the script's `--threads`, the same as ppdl's.
fn torch_command(python: &str, dir: &BenchDir, arch: Arch, opts: &BenchOptions, threads: usize, n: usize) -> Command {
    let mut cmd = reference_command(python, dir, threads);
    cmd.args(["--arch", arch.name()])
        .args(["--batch", &opts.batch_size.to_string()])
        .args(["--samples", &n.to_string()])
        .args(["--epochs", &(WARMUP_EPOCHS + opts.epochs).to_string()])
        .args(["--device", opts.device.name()])
        .arg("--json");
    cmd
}

/// The script on the bench's data with `threads` threads: what every reference command starts with.
fn reference_command(python: &str, dir: &BenchDir, threads: usize) -> Command {
    let mut cmd = Command::new(python);
    cmd.arg(&dir.script).args(["--idx-dir", &dir.data.to_string_lossy()]).args(["--threads", &threads.to_string()]);
    cmd
}

/// Run one reference command and read the wall and CPU seconds of its epochs, and its inference
/// times, from its JSON line.
#[allow(clippy::type_complexity)] // epochs' wall seconds, their CPU seconds, inference times
fn torch_epochs(cmd: Command, arch: Arch) -> anyhow::Result<(Vec<f64>, Option<Vec<f64>>, Vec<InferenceTime>)> {
    let v = reference_json(cmd, arch.name())?;
    let list = |key: &str| v[key].as_array().map(|a| a.iter().filter_map(|x| x.as_f64()).collect::<Vec<f64>>());
    let secs = list("epoch_seconds").context("torch_reference.py: no epoch_seconds")?;
    let inference = INFERENCE_CALLS
        .iter()
        .filter_map(|&(batch, ..)| Some(InferenceTime { batch, ms: v["inference_ms"][batch.to_string()].as_f64()? }))
        .collect();
    Ok((secs, list("epoch_cpu_seconds"), inference))
}

/// [INFERENCE_CALLS] through a `train::trainer::Predictor` (the forward pass of every evaluation and
/// of `ppdl infer`) on a freshly built network: the weights' values do not change the time. The
/// predictor is made once, before the timed calls, as a served model's is: an MLP's weights are
/// frozen then (copied out of dfdx and packed), as PyTorch's are in place before its timed calls.
/// CPU only.
fn ppdl_inference(arch: Arch, dataset: &Dataset, device: DeviceKind) -> anyhow::Result<Vec<InferenceTime>> {
    use crate::model::arch::{with_net, Net, WithNet};
    use dfdx::tensor::Cpu;
    if device != DeviceKind::Cpu {
        return Ok(Vec::new());
    }
    struct Timing<'a> {
        dev: &'a Cpu,
        inputs: &'a [f32],
        features: usize,
    }
    impl WithNet<Cpu> for Timing<'_> {
        type Output = anyhow::Result<Vec<InferenceTime>>;
        fn run<M: Net<Cpu>>(self, model: M) -> Self::Output {
            let available = self.inputs.len() / self.features;
            let predictor = crate::train::trainer::Predictor::new(&model, self.dev);
            let mut times = Vec::new();
            for &(batch, warmup, calls) in INFERENCE_CALLS.iter().filter(|c| c.0 <= available) {
                let x = &self.inputs[..batch * self.features];
                let seconds = median_call_seconds(warmup, calls, || {
                    let scores = predictor
                        .predict(x, self.features)
                        .map_err(|e| anyhow::anyhow!("inference: forward pass failed: {e:?}"))?;
                    std::hint::black_box(&scores);
                    Ok(())
                })?;
                times.push(InferenceTime { batch, ms: seconds * 1e3 });
            }
            Ok(times)
        }
    }
    let dev = crate::model::cpu_training_device(1);
    let timing = Timing { dev: &dev, inputs: &dataset.train.images, features: dataset.shape.features() };
    with_net(arch, &dev, dataset.shape, dataset.classes, timing)
}

/// Run the reference script's `--peak` and read its GMAC/s.
fn torch_peak(python: &str, dir: &BenchDir, threads: usize) -> anyhow::Result<f64> {
    let mut cmd = reference_command(python, dir, threads);
    cmd.arg("--peak");
    let v = reference_json(cmd, "the peak product")?;
    v["peak_matmul_gmacs"].as_f64().context("torch_reference.py --peak: no peak_matmul_gmacs")
}

/// Run one reference command; its last line that starts with `{`, as JSON. `what` names the run in
/// the errors (an architecture, or the peak product).
fn reference_json(mut cmd: Command, what: &str) -> anyhow::Result<serde_json::Value> {
    let out = cmd.output().with_context(|| format!("running {:?}", cmd.get_program()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        anyhow::bail!("torch_reference.py failed for {what}: {}{}", stdout, String::from_utf8_lossy(&out.stderr));
    }
    let line = stdout.lines().rev().find(|l| l.trim_start().starts_with('{')).unwrap_or("");
    serde_json::from_str(line).with_context(|| format!("torch_reference.py printed no JSON: {stdout}"))
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
    /// Architectures, comma-separated (mlp-256, mlp-512-256, mlp-1024-512, cnn-small, lenet), or all.
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
    /// Timed epochs of one run, after one warm-up epoch.
    #[arg(long, default_value_t = 3)]
    pub epochs: usize,
    /// Runs of each side per architecture, in alternating order (median and range reported).
    #[arg(long, default_value_t = DEFAULT_REPEATS)]
    pub repeats: usize,
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
    /// cpu | cuda (cuda: both sides train on the GPU; needs a build with `--features cuda`).
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// `--arch` names, or `all` for every architecture.
fn parse_archs(names: &[String]) -> Result<Vec<Arch>, InputError> {
    if names.iter().any(|n| n.trim() == "all") {
        return Ok(Arch::ALL.to_vec());
    }
    names
        .iter()
        .map(|name| {
            Arch::ALL.iter().copied().find(|a| a.name() == name.trim()).ok_or_else(|| {
                InputError::new(format!(
                    "--arch {name}: expected all or one of {}{}",
                    Arch::ALL.iter().map(|a| a.name()).collect::<Vec<_>>().join(", "),
                    crate::error::did_you_mean(name.trim(), Arch::ALL.map(Arch::name))
                ))
            })
        })
        .collect()
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
    let archs = parse_archs(&args.arch)?;
    let dataset = DatasetKind::ALL.iter().copied().find(|k| k.name() == args.dataset).ok_or_else(|| {
        InputError::new(format!(
            "--dataset {}: expected embedded, mnist or fashion-mnist{}",
            args.dataset,
            crate::error::did_you_mean(&args.dataset, ["embedded", "mnist", "fashion-mnist"])
        ))
    })?;
    let asked = args.device.trim();
    let device = DeviceKind::ALL.into_iter().find(|d| d.name() == asked).ok_or_else(|| {
        InputError::new(format!(
            "--device {asked}: expected cpu or cuda{}",
            crate::error::did_you_mean(asked, DeviceKind::ALL.map(DeviceKind::name))
        ))
    })?;
    let defaults = BenchOptions::default();
    let opts = BenchOptions {
        device,
        archs,
        dataset,
        data_dir: args.data_dir.clone(),
        samples: args.samples,
        batch_size: args.batch,
        epochs: args.epochs,
        repeats: args.repeats,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn spread(median: f64, min: f64, max: f64, n: usize) -> Spread {
        Spread { median, min, max, n }
    }

    #[test]
    fn spread_is_the_median_and_range_of_the_finite_values() {
        assert_eq!(Spread::of(&[3.0, 1.0, f64::NAN, 2.0]), Some(spread(2.0, 1.0, 3.0, 3)));
        assert_eq!(Spread::of(&[4.0, 1.0, 2.0, 3.0]), Some(spread(2.5, 1.0, 4.0, 4)));
        assert_eq!(Spread::of(&[]), None);
        assert_eq!(Spread::of(&[f64::NAN]), None);
    }

    #[test]
    fn ratio_is_of_the_medians() {
        let a = spread(300.0, 100.0, 900.0, 3);
        let b = spread(200.0, 199.0, 201.0, 3);
        assert_eq!(ratio_of_medians(Some(&a), Some(&b)), Some(1.5));
        assert_eq!(ratio_of_medians(Some(&a), None), None);
        assert_eq!(ratio_of_medians(None, Some(&b)), None);
        assert_eq!(ratio_of_medians(Some(&a), Some(&spread(0.0, 0.0, 0.0, 1))), None);
    }

    #[test]
    fn a_run_skips_its_warm_up_epoch_and_the_sides_summarise_their_runs() {
        let run = SideRun::new(100, vec![10.0, 1.0, 2.0, 4.0], Some(vec![20.0, 2.0, 4.0, 8.0]));
        assert_eq!(run.samples_per_second, 50.0);
        assert_eq!(run.samples_per_cpu_second, Some(25.0));
        let other = SideRun::new(100, vec![10.0, 1.0], None);
        assert_eq!(other.samples_per_second, 100.0);
        let both = SideFigures::of(vec![run.clone(), other]).unwrap();
        assert_eq!(both.samples_per_second, spread(75.0, 50.0, 100.0, 2));
        // One run without a CPU figure: no CPU spread rather than one over fewer runs.
        assert_eq!(both.samples_per_cpu_second, None);
        let one = SideFigures::of(vec![run]).unwrap();
        assert_eq!(one.samples_per_cpu_second, Some(spread(25.0, 25.0, 25.0, 1)));
        assert_eq!(SideFigures::of(Vec::new()), None);
    }

    fn test_dir(root: &Path, script: &str) -> BenchDir {
        BenchDir { root: root.into(), script: root.join(script), data: root.join("data") }
    }

    #[test]
    fn the_reference_command_sets_no_environment_and_passes_the_same_settings() {
        let dir = test_dir(Path::new("/tmp/ppdl-bench-test"), "torch_reference.py");
        let opts = BenchOptions { batch_size: 128, epochs: 2, ..BenchOptions::default() };
        let cmd = torch_command("python3", &dir, Arch::CnnSmall, &opts, 2, 12000);
        let envs: Vec<_> = cmd.get_envs().collect();
        assert!(envs.is_empty(), "the reference must run with the caller's environment, got {envs:?}");
        let args: Vec<String> = cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        let after = |flag: &str| args.iter().position(|a| a == flag).map(|i| args[i + 1].clone());
        assert_eq!(after("--arch").as_deref(), Some("cnn-small"));
        assert_eq!(after("--batch").as_deref(), Some("128"));
        assert_eq!(after("--samples").as_deref(), Some("12000"));
        assert_eq!(after("--epochs").as_deref(), Some("3"));
        assert_eq!(after("--threads").as_deref(), Some("2"));
        assert_eq!(after("--device").as_deref(), Some("cpu"));
        let on_gpu = BenchOptions { device: DeviceKind::Cuda, ..opts };
        let cmd = torch_command("python3", &dir, Arch::CnnSmall, &on_gpu, 2, 12000);
        let args: Vec<String> = cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert!(args.windows(2).any(|w| w[0] == "--device" && w[1] == "cuda"), "{args:?}");
    }

    /// A stand-in for python that records the environment it was started with.
    #[cfg(unix)]
    #[test]
    fn a_fake_reference_sees_the_callers_environment_unchanged() {
        let root = std::env::temp_dir().join(format!("ppdl-bench-fake-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        let dir = test_dir(&root, "fake_reference.sh");
        let env_file = root.join("env.txt");
        std::fs::write(
            &dir.script,
            format!(
                "env > '{}'\necho 'some log line'\necho '{{\"epoch_seconds\": [2.0, 1.0, 1.5], \"epoch_cpu_seconds\": [4.0, 2.0, 3.0]}}'\n",
                env_file.display()
            ),
        )
        .unwrap();
        // `sh` reads the script, so it needs no execute bit.
        let cmd = torch_command("sh", &dir, Arch::Mlp256, &BenchOptions { epochs: 2, ..Default::default() }, 2, 10);
        let (secs, cpu, _) = torch_epochs(cmd, Arch::Mlp256).unwrap();
        assert_eq!(secs, vec![2.0, 1.0, 1.5]);
        assert_eq!(cpu, Some(vec![4.0, 2.0, 3.0]));
        let seen = std::fs::read_to_string(&env_file).unwrap();
        let child: Vec<&str> = seen.lines().filter(|l| l.starts_with("OMP_WAIT_POLICY=")).collect();
        let parent: Vec<String> =
            std::env::var("OMP_WAIT_POLICY").map(|v| format!("OMP_WAIT_POLICY={v}")).into_iter().collect();
        assert_eq!(child, parent, "ppdl must not change PyTorch's wait policy");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_failing_or_silent_reference_is_an_error() {
        let root = std::env::temp_dir().join(format!("ppdl-bench-silent-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        let dir = test_dir(&root, "silent.sh");
        std::fs::write(&dir.script, "echo nothing here\n").unwrap();
        let err = torch_epochs(torch_command("sh", &dir, Arch::Mlp256, &BenchOptions::default(), 1, 10), Arch::Mlp256)
            .unwrap_err();
        assert!(format!("{err:#}").contains("printed no JSON"), "{err:#}");
        std::fs::write(&dir.script, "echo broken >&2\nexit 3\n").unwrap();
        let err = torch_epochs(torch_command("sh", &dir, Arch::Mlp256, &BenchOptions::default(), 1, 10), Arch::Mlp256)
            .unwrap_err();
        assert!(format!("{err:#}").contains("broken"), "{err:#}");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn threading_variables_are_picked_out_of_the_environment() {
        let vars =
            [("PATH", "/bin"), ("OMP_WAIT_POLICY", "ACTIVE"), ("RAYON_NUM_THREADS", "2"), ("MKL_NUM_THREADS", "2")]
                .map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(inherited_threading_env(vars.into_iter()), vec!["MKL_NUM_THREADS=2", "OMP_WAIT_POLICY=ACTIVE"]);
    }

    fn report(load_before: f64, load_after: f64, env: Vec<String>) -> BenchReport {
        let side = |sps: [f64; 3]| {
            SideFigures::of(
                sps.iter().map(|&s| SideRun::new(1000, vec![1.0, 1000.0 / s], Some(vec![2.0, 2000.0 / s]))).collect(),
            )
            .unwrap()
        };
        let (ppdl, torch) = (side([110.0, 90.0, 100.0]), side([50.0, 40.0, 60.0]));
        BenchReport {
            dataset: "test".into(),
            samples: 1000,
            batch_size: 64,
            optimizer: "adam lr=0.001".into(),
            threads: 2,
            warmup_epochs: 1,
            timed_epochs: 1,
            repeats: 3,
            rows: vec![BenchRow {
                arch: "mlp-256".into(),
                ratio: ratio_of_medians(Some(&ppdl.samples_per_second), Some(&torch.samples_per_second)),
                cpu_ratio: ratio_of_medians(
                    ppdl.samples_per_cpu_second.as_ref(),
                    torch.samples_per_cpu_second.as_ref(),
                ),
                ppdl,
                torch: Some(torch),
                training_multiply_adds_per_sample: Some(40_000_000),
            }],
            torch_skipped: None,
            torch_version: Some("2.15.0".into()),
            torch_inherited_env: env,
            device: "cpu".into(),
            gpu_name: None,
            peak_matmul_gmacs: Some(20.0),
            torch_peak_matmul_gmacs: None,
            load_average_1m_before: Some(load_before),
            load_average_1m_after: Some(load_after),
        }
    }

    #[test]
    fn the_table_shows_medians_ranges_ratios_and_the_machine_load() {
        let t = table(&report(0.5, 0.8, Vec::new()));
        assert!(t.contains("100 (90-110)"), "{t}");
        assert!(t.contains("50 (40-60)"), "{t}");
        assert!(t.contains("2.00x"), "{t}");
        assert!(t.contains("median (min-max) of 3 run(s)"), "{t}");
        assert!(t.contains("PyTorch 2.15.0, 2 thread(s), at its defaults"), "{t}");
        assert!(t.contains("load average (1 min): 0.50 before, 0.80 after"), "{t}");
        assert!(!t.contains("warning"), "{t}");
        // Roofline: 100 and 50 samples/s x 40 M multiply-adds against a 20 GMAC/s peak.
        let roof = t.lines().find(|l| l.starts_with("mlp-256") && l.contains("40000000")).expect(&t);
        let cells: Vec<&str> = roof.split_whitespace().collect();
        assert_eq!(cells, ["mlp-256", "40000000", "4.00", "20%", "2.00", "10%"], "{t}");
        assert!(t.contains("peak: one 1024x1024x1024 f32 matrix product on the same threads, 20.0 GMAC/s"), "{t}");
        // With PyTorch's product measured too, shares are of the faster of the two.
        let both = table(&BenchReport { torch_peak_matmul_gmacs: Some(40.0), ..report(0.5, 0.8, Vec::new()) });
        let roof = both.lines().find(|l| l.starts_with("mlp-256") && l.contains("40000000")).expect(&both);
        assert_eq!(roof.split_whitespace().collect::<Vec<_>>(), ["mlp-256", "40000000", "4.00", "10%", "2.00", "5%"]);
        assert!(both.contains("20.0 GMAC/s in ppdl, 40.0 in PyTorch; \"of peak\" is of the faster"), "{both}");

        let busy = table(&report(0.5, 3.25, vec!["OMP_WAIT_POLICY=PASSIVE".into()]));
        assert!(busy.contains("with OMP_WAIT_POLICY=PASSIVE from the environment"), "{busy}");
        assert!(busy.contains("warning: load average 3.25 is above the 2 thread(s)"), "{busy}");
        assert_eq!(load_warning(Some(2.0), 2), None);
        assert_eq!(load_warning(None, 2), None);
    }

    #[test]
    fn the_inference_table_gives_each_sides_milliseconds_and_the_speed_up() {
        let mut r = report(0.5, 0.8, Vec::new());
        assert!(!table(&r).contains("inference"), "no inference block without figures");
        let times = |one: f64, many: f64| {
            INFERENCE_CALLS
                .iter()
                .map(|&(b, ..)| (b, Spread::of(&[if b == 1 { one } else { many }]).unwrap()))
                .collect()
        };
        r.rows[0].ppdl.inference_ms = times(0.05, 2.0);
        r.rows[0].torch.as_mut().unwrap().inference_ms = times(0.1, 1.0);
        let t = table(&r);
        let row = t.lines().filter(|l| l.starts_with("mlp-256")).find(|l| l.contains("0.050")).expect(&t);
        assert_eq!(
            row.split_whitespace().collect::<Vec<_>>(),
            ["mlp-256", "0.050", "0.100", "2.00x", "2.000", "1.000", "0.50x"]
        );
        assert!(t.contains("batch 256 ppdl"), "{t}");
    }

    #[test]
    fn arch_all_names_every_architecture() {
        assert_eq!(parse_archs(&["all".into()]).unwrap(), Arch::ALL.to_vec());
        assert_eq!(parse_archs(&["lenet".into(), " mlp-256".into()]).unwrap(), vec![Arch::Lenet, Arch::Mlp256]);
        assert!(parse_archs(&["lenot".into()]).unwrap_err().to_string().contains("expected all or one of"));
    }

    /// `--arch all` runs the reference on every architecture: its `build` must know each name (a
    /// network added to ppdl but not to the script made the whole bench fail at the last net).
    #[test]
    fn the_reference_script_builds_every_architecture() {
        let start = TORCH_REFERENCE.find("def build(").expect("the script has a build function");
        let end = start + TORCH_REFERENCE[start..].find("unknown --arch").expect("build rejects unknown names");
        let build = &TORCH_REFERENCE[start..end];
        for arch in Arch::ALL {
            assert!(build.contains(&format!("\"{}\"", arch.name())), "torch_reference.py cannot build {}", arch.name());
        }
    }
}
