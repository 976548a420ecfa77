//! Figures (PNG and SVG) and the markdown report of a run folder, from its saved results alone.
//!
//! `ppdl plot RUN_DIR... [--out DIR]` and the end of `ppdl run` (when `output.figures` is true) call
//! [`render_run`]: it reads `summary.json`, `metrics.csv`, `config.toml` and, when present,
//! `attacks.json`, `overhead.json` and `samples.json`, and writes `RUN_DIR/figures/NAME.png` +
//! `NAME.svg` for every figure the data allows, and `RUN_DIR/report.md`. Nothing is retrained.
//! With several run folders, [`render_tradeoff`] also writes the cross-run privacy/utility scatter
//! (`tradeoff.png`, `tradeoff.svg`, `tradeoff.md`) into `--out DIR` (default: the current folder).
//!
//! Figures (file stems):
//!
//! | figure | from | shows |
//! |---|---|---|
//! | `accuracy` | metrics.csv | test accuracy per epoch, both arms |
//! | `loss` | metrics.csv | training loss per logged step (lines) and test loss per epoch (markers), both arms |
//! | `throughput` | metrics.csv | training samples/s over wall time, both arms |
//! | `training-time` | overhead.json or summary.json | seconds per epoch, baseline vs private |
//! | `inference-latency` | overhead.json | latency per batch: forward (baseline) vs encode + forward + decode (private) |
//! | `key-space` | attacks.json (`key-space`) | log2 of the number of keys per component |
//! | `attack-NAME` | attacks.json | each attack's curves vs n, with chance and reference lines |
//! | `samples` | samples.json | test images raw, as the provider sees them, decoded, reconstructed by attacks |
//!
//! Fonts: DejaVu Sans is embedded (`assets/fonts/`) and registered once as "sans-serif"
//! ([`register_fonts`]); no system font library is used. Colours, sizes and fonts are in [`style`].
//! Bad input (not a run folder, corrupt JSON or CSV) is an `InputError` (exit 2) naming the file.

pub(crate) mod draw;
mod figures;
pub mod inputs;
mod report;
pub mod style;
pub mod sweep;
pub mod sweep_arms;
mod tradeoff;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::Context;

pub use inputs::RunData;

/// DejaVu Sans (Bitstream Vera licence, see assets/fonts/LICENSE-DejaVu).
static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Register the embedded font as "sans-serif" (once per process; later calls return the first result).
pub fn register_fonts() -> anyhow::Result<()> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font(style::FONT, plotters::style::FontStyle::Normal, DEJAVU_SANS)
            .map_err(|_| "the embedded DejaVu Sans font could not be parsed".to_string())
    })
    .clone()
    .map_err(|e| anyhow::anyhow!(e))
}

/// A figure written in both formats.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureFiles {
    /// File stem, e.g. `accuracy`.
    pub name: String,
    /// One-line caption (also used in the report).
    pub caption: String,
    pub png: PathBuf,
    pub svg: PathBuf,
}

/// What [`render_run`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub figures: Vec<FigureFiles>,
    pub report: PathBuf,
    /// Figures not drawn and why (e.g. "attack figures: attacks.json not found (attacks not run)").
    pub skipped: Vec<String>,
}

/// Regenerate every figure and the report of one run folder from its saved results.
pub fn render_run(dir: &Path) -> anyhow::Result<Rendered> {
    let run = RunData::load(dir)?;
    render_loaded(&run)
}

/// [`render_run`] for an already loaded run.
pub fn render_loaded(run: &RunData) -> anyhow::Result<Rendered> {
    register_fonts()?;
    let dir = run.figures_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (figures, skipped) = figures::render_all(run, &dir)?;
    let report = run.folder.report_path();
    let text = report::markdown(run, &figures, &skipped);
    crate::atomic::write(&report, text.as_bytes())?;
    Ok(Rendered { figures, report, skipped })
}

/// The cross-run privacy/utility scatter of `runs` into `out` (tradeoff.png, .svg and .md).
pub fn render_tradeoff(runs: &[RunData], out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    register_fonts()?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    tradeoff::render(runs, out)
}

/// The privacy/utility frontier of `table` (accuracy delta against attack `attack`'s headline,
/// grouped by config field `group`, None: by arm) as `out/NAME.png` + `.svg`, written atomically;
/// what the TUI's trade-off view exports. Err: no such attack, or no point to draw.
pub fn render_frontier(
    table: &crate::results::sweep::SweepTable,
    attack: &str,
    group: Option<&str>,
    out: &Path,
    name: &str,
) -> anyhow::Result<FigureFiles> {
    register_fonts()?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let metric = sweep::choose_metric(table, Some(attack), out)?
        .ok_or_else(|| anyhow::anyhow!("no attack `{attack}` in these runs"))?;
    sweep::render_frontier(out, name, table, &metric, group)
}

/// Figures and report.md of a sweep folder (`SWEEP_DIR/figures/`, `SWEEP_DIR/report.md`) from its
/// run folders' results, with what `options` asks for. Bad `--metric` or `--group-by`: an input error
/// naming the choices, before anything is written.
pub fn render_sweep(root: &Path, options: &sweep::SweepPlotOptions) -> anyhow::Result<sweep::SweepRendered> {
    register_fonts()?;
    let (table, runs) = crate::results::sweep::load_table(root)?;
    let metric = sweep::choose_metric(&table, options.metric.as_deref(), root)?;
    let group = sweep::choose_group(&runs, options.group_by.as_deref())?;
    sweep::render(root, &table, &runs, metric.as_ref(), group.as_deref())
}

/// `ppdl plot RUN_DIR... [--out DIR]`: every run folder is read (and checked) before anything is
/// written; per-run figures and report go into each run folder; with two or more runs (or `--out`),
/// the cross-run scatter goes into `out` (default `.`). A folder that is not a run stands for the run
/// folders directly inside it. Prints what it wrote.
pub fn plot_command(run_dirs: &[PathBuf], out: Option<&Path>, options: &sweep::SweepPlotOptions) -> anyhow::Result<()> {
    if let [dir] = run_dirs {
        if crate::results::sweep::is_sweep_folder(dir) {
            let r = render_sweep(dir, options)?;
            println!(
                "{}: sweep, {} of {} runs finished; {} figures (PNG + SVG) in {}",
                dir.display(),
                r.finished,
                r.runs,
                r.figures.len(),
                dir.join("figures").display()
            );
            for s in &r.skipped {
                println!("  skipped: {s}");
            }
            println!("  report: {}", r.report.display());
            return Ok(());
        }
    }
    if options.metric.is_some() || options.group_by.is_some() {
        return Err(crate::error::InputError::new(
            "--metric and --group-by apply to a sweep folder (one folder with runs.json)".to_string(),
        )
        .into());
    }
    let run_dirs = crate::results::run_folders_in(run_dirs)?;
    let runs: Vec<RunData> = run_dirs.iter().map(|d| RunData::load(d)).collect::<anyhow::Result<_>>()?;
    for run in &runs {
        let r = render_loaded(run)?;
        println!(
            "{}: {} figures (PNG + SVG) in {}",
            run.folder.root.display(),
            r.figures.len(),
            run.figures_dir().display()
        );
        for s in &r.skipped {
            println!("  skipped: {s}");
        }
        println!("  report: {}", r.report.display());
    }
    if runs.len() > 1 || out.is_some() {
        let out = out.unwrap_or(Path::new("."));
        let files = render_tradeoff(&runs, out)?;
        for f in files {
            println!("cross-run: {}", f.display());
        }
    }
    Ok(())
}
