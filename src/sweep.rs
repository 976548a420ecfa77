//! `ppdl sweep SWEEP.toml`: a base config, axes of values for config paths (a grid or zipped) and
//! repeats (seeds). Expands to runs in one sweep folder (sweep.toml, runs.json, runs/NAME/ each), runs
//! them on a local pool of worker threads, skips finished runs when invoked again, and writes
//! sweep.json / sweep.csv (`results::sweep`). Every run's config is fully checked before any starts.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::config::overrides::{derived_name, Override};
use crate::config::{Config, Schedule};
use crate::error::InputError;
use crate::results::sweep::{aggregate, load_runs, SweepRun, SweepTable};
use crate::results::{RunFolder, RunStatus};
use crate::train::Control;

pub mod slurm;

/// The sweep file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepFile {
    /// The base config, relative to the sweep file.
    pub base: PathBuf,
    /// The sweep's name (default: the sweep file's stem).
    #[serde(default)]
    pub name: Option<String>,
    /// Seeds seed..seed+repeats (default seed: the base config's).
    #[serde(default = "one")]
    pub repeats: usize,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub mode: Mode,
    /// Overrides every run gets (path = value), e.g. the transform the axes then vary.
    #[serde(default)]
    pub set: toml::Table,
    #[serde(default)]
    pub axes: Vec<Axis>,
}

fn one() -> usize {
    1
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every combination of the axes' values.
    #[default]
    Grid,
    /// The axes' i-th values together (all axes the same length).
    Zip,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axis {
    pub path: String,
    pub values: Vec<toml::Value>,
}

/// A sweep file read and expanded, every run's config checked.
pub struct Sweep {
    pub name: String,
    pub file: PathBuf,
    pub text: String,
    pub base: Config,
    pub runs: Vec<SweepRun>,
    pub configs: Vec<Config>,
}

/// The cells of `axes`: for each, the (axis index, value index) it takes.
pub fn cells(axes: &[Axis], mode: Mode) -> Result<Vec<Vec<usize>>, String> {
    if axes.is_empty() {
        return Ok(vec![vec![]]);
    }
    match mode {
        Mode::Zip => {
            let len = axes[0].values.len();
            if let Some(a) = axes.iter().find(|a| a.values.len() != len) {
                return Err(format!(
                    "mode = \"zip\" needs axes of one length: `{}` has {len} values, `{}` has {}",
                    axes[0].path,
                    a.path,
                    a.values.len()
                ));
            }
            Ok((0..len).map(|i| vec![i; axes.len()]).collect())
        }
        Mode::Grid => {
            let mut out = vec![vec![]];
            for a in axes {
                out = out
                    .into_iter()
                    .flat_map(|prefix: Vec<usize>| {
                        (0..a.values.len()).map(move |i| {
                            let mut c = prefix.clone();
                            c.push(i);
                            c
                        })
                    })
                    .collect();
            }
            Ok(out)
        }
    }
}

/// The line of `text` that names `needle` (1-based), for messages.
fn line_of(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

/// Read and expand a sweep file; check every run's config (exit 2 naming the sweep file, line and
/// path) before anything runs.
pub fn load(file: &Path) -> anyhow::Result<Sweep> {
    let text =
        std::fs::read_to_string(file).map_err(|e| InputError::in_file(file, format!("cannot read sweep file: {e}")))?;
    let spec: SweepFile = toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| text[..s.start].lines().count().max(1));
        let place = line.map_or(file.display().to_string(), |l| format!("{}:{l}", file.display()));
        InputError::new(format!("{place}: {}", e.message()))
    })?;
    if spec.repeats == 0 {
        let line = line_of(&text, "repeats").unwrap_or(1);
        return Err(
            InputError::new(format!("{}:{line}: field `repeats`: expected an integer >= 1", file.display())).into()
        );
    }
    if let Some(a) = spec.axes.iter().find(|a| a.values.is_empty()) {
        let line = line_of(&text, &format!("\"{}\"", a.path)).unwrap_or(1);
        return Err(InputError::new(format!(
            "{}:{line}: axis `{}`: expected at least one value",
            file.display(),
            a.path
        ))
        .into());
    }
    let cells = cells(&spec.axes, spec.mode).map_err(|e| InputError::in_file(file, e))?;
    let base_path = file.parent().unwrap_or(Path::new(".")).join(&spec.base);
    let base_text = std::fs::read_to_string(&base_path).map_err(|e| {
        InputError::new(format!(
            "{}:{}: field `base`: cannot read {}: {e}",
            file.display(),
            line_of(&text, "base").unwrap_or(1),
            base_path.display()
        ))
    })?;
    let base = crate::validate::parse_config(&base_text, &base_path)?;
    let name = spec.name.clone().unwrap_or_else(|| {
        file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "sweep".into())
    });
    let first_seed = spec.seed.unwrap_or(base.seed);
    let fixed: Vec<Override> = spec
        .set
        .iter()
        .map(|(path, value)| {
            let line = line_of(&text, path).unwrap_or(1);
            Override::new(path, value.clone(), format!("{}:{line}: set `{path}`", file.display()))
        })
        .collect();
    // Runs are named from the base config's name, or the one `[set]` gives it (each run's own `name`
    // override comes last, so `[set] name` would otherwise be silently replaced).
    let run_stem = match spec.set.get("name") {
        Some(toml::Value::String(n)) => n.as_str(),
        _ => base.name.as_str(),
    };
    let mut runs = Vec::new();
    let mut configs = Vec::new();
    for (cell, picks) in cells.iter().enumerate() {
        let axis_overrides: Vec<Override> = spec
            .axes
            .iter()
            .zip(picks)
            .map(|(a, &i)| {
                let line = line_of(&text, &format!("\"{}\"", a.path)).unwrap_or(1);
                Override::new(&a.path, a.values[i].clone(), format!("{}:{line}: axis `{}`", file.display(), a.path))
            })
            .collect();
        for repeat in 0..spec.repeats {
            let seed = first_seed + repeat as u64;
            let mut overrides = axis_overrides.clone();
            overrides.push(Override::new(
                "seed",
                toml::Value::Integer(seed as i64),
                format!("{}: repeat {repeat}", file.display()),
            ));
            let run_name = derived_name(run_stem, &overrides);
            overrides.splice(0..0, fixed.iter().cloned());
            overrides.push(Override::new("name", toml::Value::String(run_name.clone()), file.display().to_string()));
            let config = crate::validate::parse_config_with(&base_text, &base_path, &overrides)?;
            runs.push(SweepRun {
                name: run_name.clone(),
                cell,
                repeat,
                seed,
                axes: axis_overrides.iter().map(|o| (o.path.clone(), o.value.to_string())).collect(),
                overrides: overrides.iter().map(|o| format!("{}={}", o.path, o.value)).collect(),
                folder: PathBuf::from("runs").join(&run_name),
                baseline_from: None,
            });
            configs.push(config);
        }
    }
    // Two cells whose labels coincide (e.g. two axes ending in the same field) keep apart by index.
    let mut seen = std::collections::HashSet::new();
    if !runs.iter().all(|r| seen.insert(r.name.clone())) {
        for (i, r) in runs.iter_mut().enumerate() {
            r.folder = PathBuf::from("runs").join(format!("{i:03}-{}", r.name));
        }
    }
    // Identical baselines are trained once: each run names the first run with its baseline.
    let mut first_with: std::collections::HashMap<String, PathBuf> = std::collections::HashMap::new();
    for (run, config) in runs.iter_mut().zip(&configs) {
        if let Some(identity) = config.baseline_identity() {
            match first_with.get(&identity) {
                Some(folder) => run.baseline_from = Some(folder.clone()),
                None => {
                    first_with.insert(identity, run.folder.clone());
                }
            }
        }
    }
    Ok(Sweep { name, file: file.to_path_buf(), text, base, runs, configs })
}

/// Threads one run keeps busy: its arms side by side, or one at a time.
fn threads_per_run(config: &Config) -> usize {
    match config.train.schedule {
        Schedule::Parallel => config.arms().len().max(1),
        Schedule::Sequential => 1,
    }
}

/// `ppdl sweep ...`: run a sweep here, submit it to Slurm, or one of the sweep-folder actions.
pub fn dispatch(
    action: Option<SweepAction>,
    file: Option<&Path>,
    jobs: Option<usize>,
    out: Option<&Path>,
    slurm_args: &slurm::SlurmArgs,
) -> anyhow::Result<()> {
    match (action, file) {
        (Some(SweepAction::Status { dir }), _) => slurm::status_command(&dir),
        (Some(SweepAction::Collect { dir }), _) => collect(&dir),
        (Some(SweepAction::RunOne { dir, index }), _) => slurm::run_one_command(&dir, index),
        (None, Some(file)) if slurm_args.slurm => slurm::submit_command(file, out, slurm_args),
        (None, Some(file)) => command(file, jobs, out),
        (None, None) => Err(InputError::new("ppdl sweep: give a sweep file (or status / collect DIR)").into()),
    }
}

/// What `ppdl sweep` does with an existing sweep folder instead of a sweep file.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum SweepAction {
    /// Each run's state (finished, failed, running, pending, not started) from its run folder and,
    /// for a sweep submitted with --slurm, from squeue / scontrol.
    Status { dir: PathBuf },
    /// Write sweep.csv / sweep.json from the runs finished so far (the same aggregation as a local
    /// sweep) and print the table, saying how many of the runs it covers.
    Collect { dir: PathBuf },
    /// Run entry INDEX of DIR/runs.json into its run folder (what each Slurm array task does).
    #[command(hide = true)]
    RunOne { dir: PathBuf, index: usize },
}

/// The sweep folder: `--out`, or OUTPUT_DIR/sweep-NAME.
pub fn sweep_root(sweep: &Sweep, out: Option<&Path>) -> PathBuf {
    match out {
        Some(p) => p.to_path_buf(),
        None => sweep.base.output.dir.join(format!("sweep-{}", sweep.name)),
    }
}

/// Create the sweep folder (or reuse it) with the sweep file's copy, the expanded list and the table
/// of what finished so far (sweep.json names the sweep from the start, so every later reader of the
/// folder, local or after a Slurm job, names it the same).
pub fn write_folder(sweep: &Sweep, root: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(root.join("runs"))
        .map_err(|e| InputError::new(format!("{}: cannot create sweep folder: {e}", root.display())))?;
    crate::atomic::write(&root.join("sweep.toml"), sweep.text.as_bytes())?;
    crate::atomic::write_json(&root.join("runs.json"), &sweep.runs)?;
    write_table(root, &aggregate(&sweep.name, root, &sweep.runs)?)
}

/// Whether `run`'s folder holds a finished run (training and every enabled attack): what a second
/// invocation skips.
pub fn is_finished(root: &Path, run: &SweepRun) -> bool {
    let folder = RunFolder::new(root.join(&run.folder));
    folder.load_summary().is_ok_and(|s| RunStatus::load(&folder, &s, &crate::attacks::registry::names()).is_finished())
}

/// `ppdl sweep SWEEP.toml [--jobs N] [--out DIR]`.
pub fn command(file: &Path, jobs: Option<usize>, out: Option<&Path>) -> anyhow::Result<()> {
    let sweep = load(file)?;
    let root = sweep_root(&sweep, out);
    // Runs a Slurm job of this folder still holds would be run twice at once.
    slurm::refuse_if_queued(&root)?;
    write_folder(&sweep, &root)?;

    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    // As many runs as cores, even when a run has several arms on threads of its own: a run leaves cores
    // idle between epochs and while its arms are attacked one after another (measured: 15 two-arm
    // quickstart runs kept 1.26 of 2 cores busy one at a time, 1.83 two at a time, 100 s against 65 s).
    let jobs = jobs.unwrap_or(cores).max(1);
    let todo: Vec<usize> = (0..sweep.runs.len()).filter(|&i| !is_finished(&root, &sweep.runs[i])).collect();
    let skipped = sweep.runs.len() - todo.len();
    println!(
        "ppdl sweep {} -> {}: {} runs ({} finished before, {} to run), {jobs} at a time",
        file.display(),
        root.display(),
        sweep.runs.len(),
        skipped,
        todo.len()
    );

    let control = Arc::new(Control::default());
    crate::headless::install_interrupt_handler(&control);
    let terminal = std::io::stdout().is_terminal();
    let bar = indicatif::ProgressBar::new(sweep.runs.len() as u64);
    if terminal {
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} runs {elapsed_precise} eta {eta} {msg}")
                .expect("valid template"),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_position(skipped as u64);
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(skipped);
    let failures: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(todo.len()) {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::SeqCst);
                if k >= todo.len() || control.stop_requested() {
                    break;
                }
                let i = todo[k];
                let run = &sweep.runs[i];
                let dir = root.join(&run.folder);
                let baseline_from = run.baseline_from.as_ref().map(|f| root.join(f));
                let report = run_one(&sweep.configs[i], &dir, baseline_from.as_deref(), &control);
                let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                let line = match &report.result {
                    Ok(()) => format!("[{n}/{}] {} finished ({})", sweep.runs.len(), run.name, report.timing()),
                    Err(e) => format!("[{n}/{}] {} FAILED: {e}", sweep.runs.len(), run.name),
                };
                if let Err(e) = report.result {
                    failures.lock().expect("no panics hold it").push((run.name.clone(), e));
                }
                if terminal {
                    bar.println(line);
                    bar.inc(1);
                } else {
                    println!("{line}");
                }
            });
        }
    });
    bar.finish_and_clear();

    let table = aggregate(&sweep.name, &root, &sweep.runs)?;
    write_table(&root, &table)?;
    print!("\n{}", table.markdown());
    println!("sweep folder: {} (sweep.csv, sweep.json)", root.display());
    // Figures of what finished, like the end of `ppdl run` (off with the base's output.figures).
    if sweep.base.output.figures {
        match crate::plot::render_sweep(&root, &Default::default()) {
            Ok(r) => println!(
                "figures: {} (PNG + SVG) in {} from {} of {} runs; report {}",
                r.figures.len(),
                root.join("figures").display(),
                r.finished,
                r.runs,
                r.report.display()
            ),
            Err(e) => {
                println!("figures failed (the results are kept; retry with `ppdl plot {}`): {e:#}", root.display())
            }
        }
    }
    let failures = failures.into_inner().expect("workers ended");
    if control.stop_requested() {
        return Err(anyhow::Error::new(crate::error::Interrupted)
            .context(format!("sweep interrupted; run it again to finish: ppdl sweep {}", file.display())));
    }
    if !failures.is_empty() {
        let list: Vec<String> = failures.iter().map(|(n, e)| format!("  {n}: {e}")).collect();
        anyhow::bail!(
            "{} of {} runs failed (run the sweep again to retry them):\n{}",
            failures.len(),
            sweep.runs.len(),
            list.join("\n")
        );
    }
    Ok(())
}

/// How one run of a sweep went.
pub struct RunReport {
    /// Err: why it failed.
    pub result: Result<(), String>,
    /// From the start of the run to its first training step (data load, keys, encoding): the per-run
    /// start-up overhead. None when no arm started training.
    pub startup: Option<Duration>,
    /// The whole run.
    pub total: Duration,
}

impl RunReport {
    /// `12.3 s, start-up 0.41 s`
    pub fn timing(&self) -> String {
        let startup = self.startup.map_or("no training step".into(), |d| format!("start-up {:.2} s", d.as_secs_f64()));
        format!("{:.1} s, {startup}", self.total.as_secs_f64())
    }
}

/// One run into a fresh folder (an unfinished one from before is replaced): the local pool's and each
/// Slurm task's one way of running a run. Its baseline is copied from the run folder `baseline_from`
/// when that holds a finished, identical one.
pub fn run_one(config: &Config, dir: &Path, baseline_from: Option<&Path>, control: &Arc<Control>) -> RunReport {
    let start = Instant::now();
    if let Err(e) = clear_run_folder(dir) {
        return RunReport { result: Err(e), startup: None, total: start.elapsed() };
    }
    // Events are not shown per run (the sweep has one progress bar); the receiver drains them, noting
    // when the first arm starts training.
    let (tx, rx) = mpsc::channel();
    let drain = std::thread::spawn(move || {
        let mut first_step = None;
        for event in rx {
            if first_step.is_none() && matches!(event, crate::attacks::Event::TrainStarted { .. }) {
                first_step = Some(start.elapsed());
            }
        }
        first_step
    });
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crate::run::run_experiment_reusing(config, dir, baseline_from, &tx, control)
    }));
    drop(tx);
    let startup = drain.join().unwrap_or(None);
    let result = match result {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(_) => Err("the run panicked".into()),
    };
    RunReport { result, startup, total: start.elapsed() }
}

/// Remove an unfinished run's folder from before, so the run starts afresh in it.
pub fn clear_run_folder(dir: &Path) -> Result<(), String> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
    }
    Ok(())
}

/// sweep.json and sweep.csv.
pub fn write_table(root: &Path, table: &SweepTable) -> anyhow::Result<()> {
    crate::atomic::write_json(&root.join("sweep.json"), table)?;
    crate::atomic::write(&root.join("sweep.csv"), table.csv().as_bytes())?;
    Ok(())
}

/// `ppdl summarize SWEEP_DIR`: the tables from the sweep's run folders (recomputed from them): test
/// accuracy and delta per cell and arm, ready for a README, then every metric.
pub fn summarize(root: &Path) -> anyhow::Result<String> {
    let (table, runs) = crate::results::sweep::load_table(root)?;
    let facts = crate::plot::sweep_arms::collect(root, &runs, &table);
    let arms = crate::plot::sweep_arms::markdown(&table, &facts, &crate::attacks::registry::names());
    Ok(format!("{}\nArms side by side:\n\n{arms}\nEvery metric:\n\n{}", table.accuracy_markdown(), table.markdown()))
}

/// `ppdl sweep collect DIR`: sweep.csv / sweep.json from the runs finished so far.
pub fn collect(root: &Path) -> anyhow::Result<()> {
    let (table, runs) = collect_table(root)?;
    print!("{}", table.markdown());
    println!(
        "collected {} finished of {} runs into {} (sweep.csv, sweep.json)",
        runs.len() - table.missing.len(),
        runs.len(),
        root.display()
    );
    Ok(())
}

/// sweep.csv / sweep.json of a sweep folder rewritten from the runs finished so far; the table and
/// the sweep's runs.
pub fn collect_table(root: &Path) -> anyhow::Result<(SweepTable, Vec<SweepRun>)> {
    let runs = load_runs(root)?;
    let table = aggregate(&crate::results::sweep::sweep_name(root), root, &runs)?;
    write_table(root, &table)?;
    Ok((table, runs))
}

/// Whether `dir` is a sweep folder (it has runs.json).
pub fn is_sweep_folder(dir: &Path) -> bool {
    crate::results::sweep::is_sweep_folder(dir)
}
