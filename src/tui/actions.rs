//! The workbench's file-system actions: scanning configs and run folders, saving an edited config,
//! loading a run for the runs view, and exporting figures. Kept apart from the state so the state
//! stays testable on fixed data.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::results::notes::RunNotes;
use crate::results::{RunFolder, RunStatus, Summary};

use super::curves::{Curves, Quantity};
use super::diff::FieldDiff;

/// One config file in the configs folder.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigEntry {
    pub path: PathBuf,
    /// Path relative to the configs folder, as shown.
    pub rel: String,
    /// The parsed and validated config, or the error message naming file, field and line.
    pub config: Result<Config, String>,
}

/// One previous run folder.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEntry {
    pub dir: PathBuf,
    /// The folder's name.
    pub label: String,
    pub summary: Result<Summary, String>,
    /// Finished, interrupted, failed or attacks incomplete (None when the summary is unreadable).
    pub status: Option<RunStatus>,
    /// The sweep folder the run belongs to (`results/sweep-NAME/runs/RUN`), by its name.
    pub group: Option<String>,
    /// notes.json (empty when absent), or why it does not read.
    pub notes: Result<RunNotes, String>,
    /// The attack that did best against the run, with its headline figure (None: no attack results).
    pub strongest_attack: Option<String>,
}

impl RunEntry {
    /// The folder's runs-table entry: its summary, status, notes and strongest attack.
    pub fn load(dir: PathBuf, group: Option<String>) -> RunEntry {
        let label = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let folder = RunFolder::new(&dir);
        let summary = Summary::load(&folder.summary_path()).map_err(|e| format!("{e:#}"));
        let status = summary.as_ref().ok().map(|s| RunStatus::load(&folder, s, &crate::attacks::registry::names()));
        let notes = RunNotes::load(&dir).map_err(|e| format!("{e:#}"));
        let strongest_attack = crate::attacks::load_file(&folder.attacks_path())
            .ok()
            .and_then(|f| super::runs_table::strongest_attack(&f));
        RunEntry { dir, label, summary, status, group, notes, strongest_attack }
    }

    /// The tags as one cell: "noise, paper" ("notes.json unreadable" when it does not read).
    pub fn tags_text(&self) -> String {
        match &self.notes {
            Ok(n) => n.tags.join(", "),
            Err(_) => "notes.json unreadable".into(),
        }
    }
}

/// A run opened in the runs view.
#[derive(Debug, Clone, PartialEq)]
pub struct RunDetail {
    pub label: String,
    pub dir: PathBuf,
    pub summary: Summary,
    pub status: RunStatus,
    pub curves: Curves,
    /// Why the curves are missing, if they are.
    pub metrics_error: Option<String>,
}

/// One run of a comparison: what the overlay, the table and the diff read from its folder.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareRun {
    pub label: String,
    pub dir: PathBuf,
    pub summary: Option<Summary>,
    pub curves: Curves,
    /// Its attacks.json records (none when the attacks did not run).
    pub attacks: Vec<crate::results::attacks::AttackRecord>,
}

/// Any number of runs side by side: their curves overlaid, accuracy, attacks and overhead per arm,
/// and the config fields that differ.
#[derive(Debug, Clone, PartialEq)]
pub struct Compare {
    pub runs: Vec<CompareRun>,
    pub diff: FieldDiff,
    /// Files that could not be read (a config.toml, metrics.csv or attacks.json), and why.
    pub errors: Vec<String>,
    /// The quantity the overlay shows (`y` cycles).
    pub quantity: Quantity,
    /// Colour the curves by this config field (runs with one value share a colour; `g` cycles
    /// through the fields that differ); None: each run and arm its own colour.
    pub color_by: Option<String>,
    pub scroll: u16,
    /// The first run shown in the table when not all columns fit (←/→).
    pub first_col: usize,
}

impl Compare {
    /// `y`: accuracy, loss, samples/s, around.
    pub fn next_quantity(&mut self) {
        self.quantity = match self.quantity {
            Quantity::Accuracy => Quantity::Loss,
            Quantity::Loss => Quantity::Speed,
            Quantity::Speed => Quantity::Accuracy,
        };
    }

    /// `g`: each run and arm its own colour, then each field that differs, around.
    pub fn next_color_by(&mut self) {
        let fields: Vec<&str> = self.diff.fields.iter().map(|f| f.path.as_str()).collect();
        let at = self.color_by.as_deref().and_then(|c| fields.iter().position(|f| *f == c));
        self.color_by = match at {
            None => fields.first().map(|f| f.to_string()),
            Some(i) => fields.get(i + 1).map(|f| f.to_string()),
        };
    }
}

/// Every `*.toml` under `dir`, recursively, sorted by relative path.
pub fn scan_configs(dir: &Path) -> Vec<ConfigEntry> {
    let mut files = Vec::new();
    collect_toml(dir, &mut files, 0);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let rel = path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().into_owned();
            let config = crate::validate::load_config(&path).map_err(|e| format!("{e:#}"));
            ConfigEntry { path, rel, config }
        })
        .collect()
}

fn collect_toml(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_dir {
            // configs/sweeps/ holds sweep files (`ppdl sweep`), not experiment configs.
            if depth < 8 && path.file_name().is_some_and(|n| n != "sweeps") {
                collect_toml(&path, out, depth + 1);
            }
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

/// Run folders (sub-folders with a summary.json) directly under each of `dirs`, and those of each sweep
/// folder there (`SWEEP/runs/*`, grouped under the sweep's name), newest first.
pub fn scan_runs(dirs: &[PathBuf]) -> Vec<RunEntry> {
    let mut runs = Vec::new();
    // The same folder may be named twice ("results" and its absolute path).
    let mut seen = std::collections::HashSet::new();
    let run_folders = |dir: &Path| -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
        entries.flatten().map(|e| e.path()).filter(|p| p.join("summary.json").is_file()).collect()
    };
    for dir in dirs {
        if !seen.insert(std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone())) {
            continue;
        }
        runs.extend(run_folders(dir).into_iter().map(|p| RunEntry::load(p, None)));
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        for sweep in entries.flatten().map(|e| e.path()).filter(|p| crate::results::sweep::is_sweep_folder(p)) {
            let name = sweep.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            runs.extend(run_folders(&sweep.join("runs")).into_iter().map(|p| RunEntry::load(p, Some(name.clone()))));
        }
    }
    runs.sort_by(|a, b| {
        let key = |r: &RunEntry| r.summary.as_ref().map(|s| s.started_at.clone()).unwrap_or_default();
        key(b).cmp(&key(a)).then_with(|| b.label.cmp(&a.label))
    });
    runs
}

/// Open a run folder: summary plus curves from metrics.csv.
pub fn load_run(entry: &RunEntry) -> Result<RunDetail, String> {
    let folder = RunFolder::open(&entry.dir).map_err(|e| format!("{e:#}"))?;
    let summary = folder.load_summary().map_err(|e| format!("{e:#}"))?;
    let status = RunStatus::load(&folder, &summary, &crate::attacks::registry::names());
    let (curves, metrics_error) = match folder.load_metrics() {
        Ok(rows) => (Curves::from_rows(&rows), None),
        Err(e) => (Curves::default(), Some(format!("{e:#}"))),
    };
    Ok(RunDetail { label: entry.label.clone(), dir: entry.dir.clone(), summary, status, curves, metrics_error })
}

/// Compare `entries` (in that order): their summaries, curves, attack records and config diff.
pub fn compare_runs(entries: &[&RunEntry]) -> Compare {
    let mut errors = Vec::new();
    let mut configs = Vec::new();
    let mut runs = Vec::new();
    for e in entries {
        let folder = RunFolder::new(&e.dir);
        let config = folder.root.join("config.toml");
        configs.push(std::fs::read_to_string(&config).map_err(|err| format!("{}: {err}", config.display())));
        let curves = match folder.load_metrics() {
            Ok(rows) => Curves::from_rows(&rows),
            // A run that logged no metrics has no curves; only a file that does not read is an error.
            Err(_) if !folder.metrics_path().exists() => Curves::default(),
            Err(err) => {
                errors.push(format!("{err:#}"));
                Curves::default()
            }
        };
        let attacks = match crate::attacks::load_file(&folder.attacks_path()) {
            Ok(f) => f.records,
            Err(_) if !folder.attacks_path().exists() => Vec::new(),
            Err(err) => {
                errors.push(format!("{err:#}"));
                Vec::new()
            }
        };
        runs.push(CompareRun {
            label: e.label.clone(),
            dir: e.dir.clone(),
            summary: e.summary.clone().ok(),
            curves,
            attacks,
        });
    }
    let diff = FieldDiff::of(&configs);
    errors.extend(diff.errors.iter().cloned());
    Compare { runs, diff, errors, quantity: Quantity::Accuracy, color_by: None, scroll: 0, first_col: 0 }
}

/// A file name the user typed for a config: a plain name (no folders), `.toml` added when missing.
pub fn config_file_name(input: &str) -> Result<String, String> {
    let name = input.trim();
    if name.is_empty() {
        return Err("type a file name".into());
    }
    if name.contains('/') || name.contains('\\') || name.starts_with('.') {
        return Err("a plain file name, without folders".into());
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err("letters, digits, '-', '_' or '.' only".into());
    }
    Ok(if name.ends_with(".toml") { name.to_string() } else { format!("{name}.toml") })
}

/// The file name (without `.toml`) "save as" suggests for a config named `name`: the name, or with
/// `-2`, `-3`, ... when `dir` already holds that file (saving never replaces one).
pub fn free_config_name(dir: &Path, name: &str) -> String {
    let taken = |n: &str| dir.join(format!("{n}.toml")).exists();
    std::iter::once(name.to_string())
        .chain((2..).map(|i| format!("{name}-{i}")))
        .find(|n| !taken(n))
        .unwrap_or_else(|| name.to_string())
}

/// Write `config` as `dir/file_name`, never replacing an existing file. The config's `name` becomes
/// the file's stem so its runs get their own folder names. Returns the path written.
pub fn save_config(dir: &Path, file_name: &str, config: &Config) -> Result<PathBuf, String> {
    let path = dir.join(file_name);
    if path.exists() {
        return Err(format!("{} exists: choose another name", path.display()));
    }
    let mut config = config.clone();
    if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
        config.name = stem.to_string();
    }
    crate::validate::check(&config)
        .map_err(|(field, expected)| format!("not saved: field `{field}`: expected {expected}"))?;
    let text = format!("# Saved from the ppdl workbench.\n{}", config.to_toml());
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// Render a run's figures (PNG + SVG) and report. Called from a worker thread by the runs view.
///
/// Returns a one-line message for the footer.
pub fn export_figures(run: &Path) -> anyhow::Result<String> {
    if crate::sweep::is_sweep_folder(run) {
        let r = crate::plot::render_sweep(run, &Default::default())?;
        return Ok(format!(
            "{} sweep figures (PNG + SVG) from {} of {} runs in {}",
            r.figures.len(),
            r.finished,
            r.runs,
            run.join("figures").display()
        ));
    }
    let rendered = crate::plot::render_run(run)?;
    let skipped =
        if rendered.skipped.is_empty() { String::new() } else { format!("; skipped: {}", rendered.skipped.join("; ")) };
    Ok(format!(
        "{} figures (PNG + SVG) in {} and {}{skipped}",
        rendered.figures.len(),
        run.join("figures").display(),
        rendered.report.display()
    ))
}

/// The sweep files (`*.toml`) in `configs_dir/sweeps`, as paths relative to `configs_dir`, sorted.
pub fn scan_sweep_files(configs_dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(configs_dir.join("sweeps")) else { return vec![] };
    let mut files: Vec<String> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "toml"))
        .filter_map(|p| p.file_name().map(|n| format!("sweeps/{}", n.to_string_lossy())))
        .collect();
    files.sort();
    files
}

/// A sweep file made ready to queue, exactly as `ppdl sweep FILE` starts: every run's config checked,
/// the sweep folder (output.dir/sweep-NAME) written or reused, and which runs it already finished.
pub struct OpenedSweep {
    pub sweep: crate::sweep::Sweep,
    pub root: PathBuf,
}

impl OpenedSweep {
    pub fn open(file: &Path) -> anyhow::Result<OpenedSweep> {
        let sweep = crate::sweep::load(file)?;
        let root = crate::sweep::sweep_root(&sweep, None);
        // Runs a Slurm job of this folder still holds would be run twice at once.
        crate::sweep::slurm::refuse_if_queued(&root)?;
        crate::sweep::write_folder(&sweep, &root)?;
        Ok(OpenedSweep { sweep, root })
    }

    pub fn is_finished(&self, run: &crate::results::sweep::SweepRun) -> bool {
        crate::sweep::is_finished(&self.root, run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = crate::validate::parse_config("name = \"a\"\n[data]\ndataset = \"embedded\"\n", Path::new("a.toml"))
            .unwrap();
        let name = config_file_name("mine").unwrap();
        let path = save_config(dir.path(), &name, &cfg).unwrap();
        assert_eq!(path, dir.path().join("mine.toml"));
        let back = crate::validate::load_config(&path).unwrap();
        assert_eq!(back.name, "mine");
        assert!(save_config(dir.path(), &name, &cfg).unwrap_err().contains("exists"));
        assert!(config_file_name("../x").is_err());
        assert!(config_file_name("").is_err());
    }

    #[test]
    fn scans_configs_recursively() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("b.toml"), "name = \"b\"\n[data]\ndataset = \"embedded\"\n").unwrap();
        std::fs::write(dir.path().join("sub/a.toml"), "name = \"a\"\n[data]\ndataset = \"nope\"\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let found = scan_configs(dir.path());
        assert_eq!(found.iter().map(|e| e.rel.as_str()).collect::<Vec<_>>(), vec!["b.toml", "sub/a.toml"]);
        assert!(found[0].config.is_ok());
        assert!(found[1].config.is_err());
    }

    #[test]
    fn the_same_results_folder_named_twice_is_listed_once() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("results/r1");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(run.join("summary.json"), "{}").unwrap();
        let results = dir.path().join("results");
        let twice = vec![results.clone(), dir.path().join("results/../results")];
        let runs = scan_runs(&twice);
        assert_eq!(runs.len(), 1);
        assert!(runs[0].summary.is_err(), "an unreadable summary is listed, with its error");
    }
}
