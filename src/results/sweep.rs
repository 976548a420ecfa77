//! sweep.json and sweep.csv: the statistics of a sweep's runs, per cell (one combination of axis
//! values) and arm, over the repeats (seeds). The sweep front end (`crate::sweep`) expands and runs;
//! this module only reads the finished run folders.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::InputError;
use crate::results::stats::{self, MeanStats};
use crate::results::{attacks::AttacksFile, RunFolder};

/// One expanded run of a sweep as runs.json lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRun {
    pub name: String,
    /// Index of its cell (combination of axis values), in expansion order.
    pub cell: usize,
    pub repeat: usize,
    pub seed: u64,
    /// (path, value as TOML) of each axis in this cell.
    pub axes: Vec<(String, String)>,
    /// Every override the run gets (axes, seed, name), as `PATH=VALUE`.
    pub overrides: Vec<String>,
    /// The run folder, relative to the sweep folder.
    pub folder: PathBuf,
    /// The folder (relative to the sweep folder) of the first run with an identical baseline (same
    /// data, model, training settings and seed), whose baseline this run copies when it finished
    /// (`run::reused_baseline`); none for that first run, and in sweeps older than the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_from: Option<PathBuf>,
}

/// The statistics of one metric of one arm in one cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRow {
    pub cell: usize,
    pub axes: Vec<(String, String)>,
    pub arm: String,
    /// `test_accuracy`, or `ATTACK:METRIC` for an attack's headline figure.
    pub metric: String,
    pub unit: String,
    /// Over the cell's finished runs.
    pub stats: MeanStats,
    /// Paired per-seed difference against the baseline arm of the same run (test accuracy of
    /// protected arms only).
    pub paired_delta: Option<MeanStats>,
    /// An attack metric's level without the attack (its records' `chance`, mean over the runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chance: Option<Reference>,
    /// An attack metric's reference (its records' `baseline`, mean over the runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
}

/// A reference level of an attack metric, as its attack records define it (`chance` / `baseline`
/// with their labels in attacks.json), averaged over a cell's runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub value: f64,
    /// What it is (the record's label; absent for plain chance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepTable {
    pub name: String,
    pub runs: usize,
    /// Runs left out because they are not finished (their names).
    pub missing: Vec<String>,
    pub rows: Vec<SweepRow>,
}

/// Read every finished run of `runs` under `root` and compute the table.
pub fn aggregate(name: &str, root: &std::path::Path, runs: &[SweepRun]) -> anyhow::Result<SweepTable> {
    // cell -> arm -> metric -> (unit, [(seed, value)])
    type Values = BTreeMap<usize, BTreeMap<String, BTreeMap<String, (String, Vec<(u64, f64)>)>>>;
    let mut values: Values = BTreeMap::new();
    let mut arm_order: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    // (cell, arm, metric) -> (chance values, chance label, reference values, reference label)
    type Levels = (Vec<f64>, Option<String>, Vec<f64>, Option<String>);
    let mut levels: BTreeMap<(usize, String, String), Levels> = BTreeMap::new();
    let mut missing = Vec::new();
    for run in runs {
        let folder = RunFolder::new(root.join(&run.folder));
        let Ok(summary) = folder.load_summary() else {
            missing.push(run.name.clone());
            continue;
        };
        if !finished_training(&summary) {
            missing.push(run.name.clone());
            continue;
        }
        let cell = values.entry(run.cell).or_default();
        let order = arm_order.entry(run.cell).or_default();
        for arm in &summary.arms {
            if !order.contains(&arm.name) {
                order.push(arm.name.clone());
            }
            cell.entry(arm.name.clone())
                .or_default()
                .entry("test_accuracy".into())
                .or_insert_with(|| ("fraction".into(), Vec::new()))
                .1
                .push((run.seed, arm.test_accuracy));
        }
        if let Ok(file) = AttacksFile::load(&folder.attacks_path()) {
            for r in file.records.iter().filter(|r| r.headline.value.is_finite() && !r.headline.metric.is_empty()) {
                cell.entry(r.arm.clone())
                    .or_default()
                    .entry(format!("{}:{}", r.name, r.headline.metric))
                    .or_insert_with(|| (r.headline.unit.clone(), Vec::new()))
                    .1
                    .push((run.seed, r.headline.value));
                let l =
                    levels.entry((run.cell, r.arm.clone(), format!("{}:{}", r.name, r.headline.metric))).or_default();
                l.0.extend(r.chance.filter(|c| c.is_finite()));
                l.1 = l.1.take().or_else(|| r.chance_label.clone());
                l.2.extend(r.baseline.filter(|c| c.is_finite()));
                l.3 = l.3.take().or_else(|| r.baseline_label.clone());
            }
        }
    }
    let baseline_of = |cell: usize| -> Option<String> {
        runs.iter()
            .filter(|r| r.cell == cell)
            .find_map(|r| RunFolder::new(root.join(&r.folder)).load_summary().ok()?.baseline().map(|b| b.name.clone()))
    };
    let mut rows = Vec::new();
    for (cell, arms) in &values {
        let axes = runs.iter().find(|r| r.cell == *cell).map(|r| r.axes.clone()).unwrap_or_default();
        let baseline = baseline_of(*cell);
        let base_acc = baseline.as_ref().and_then(|b| arms.get(b)).and_then(|m| m.get("test_accuracy"));
        for arm in &arm_order[cell] {
            for (metric, (unit, xs)) in &arms[arm] {
                let paired_delta = match (metric.as_str(), base_acc) {
                    ("test_accuracy", Some((_, base))) if Some(arm) != baseline.as_ref() => {
                        Some(stats::paired_difference(xs, base))
                    }
                    _ => None,
                };
                let only: Vec<f64> = xs.iter().map(|(_, x)| *x).collect();
                let level = |values: &[f64], label: &Option<String>| {
                    (!values.is_empty()).then(|| Reference {
                        value: values.iter().sum::<f64>() / values.len() as f64,
                        label: label.clone(),
                    })
                };
                let l = levels.get(&(*cell, arm.clone(), metric.clone()));
                rows.push(SweepRow {
                    cell: *cell,
                    axes: axes.clone(),
                    arm: arm.clone(),
                    metric: metric.clone(),
                    unit: unit.clone(),
                    stats: stats::mean_interval(&only),
                    paired_delta,
                    chance: l.and_then(|l| level(&l.0, &l.1)),
                    reference: l.and_then(|l| level(&l.2, &l.3)),
                });
            }
        }
    }
    Ok(SweepTable { name: name.into(), runs: runs.len(), missing, rows })
}

/// Training finished for every arm (attacks may have been left out by the config).
fn finished_training(s: &crate::results::Summary) -> bool {
    !s.interrupted && s.arms.iter().all(|a| a.status == crate::results::ArmStatus::Finished)
}

impl SweepTable {
    /// sweep.csv: one line per cell, arm and metric.
    pub fn csv(&self) -> String {
        let axis_names: Vec<String> =
            self.rows.first().map(|r| r.axes.iter().map(|(p, _)| p.clone()).collect()).unwrap_or_default();
        let mut out = String::from("cell,");
        for a in &axis_names {
            out.push_str(&format!("{a},"));
        }
        out.push_str("arm,metric,unit,n,mean,sd,ci_lo,ci_hi,delta_n,delta_mean,delta_sd,delta_ci_lo,delta_ci_hi\n");
        let num = |x: Option<f64>| x.map(|x| format!("{x:.6}")).unwrap_or_default();
        for r in &self.rows {
            out.push_str(&format!("{},", r.cell));
            for (_, v) in &r.axes {
                out.push_str(&format!("{},", csv_cell(v)));
            }
            let s = &r.stats;
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{}",
                csv_cell(&r.arm),
                csv_cell(&r.metric),
                csv_cell(&r.unit),
                s.n,
                num(Some(s.mean)),
                num(s.sd),
                num(s.ci.map(|c| c.lo)),
                num(s.ci.map(|c| c.hi))
            ));
            match &r.paired_delta {
                Some(d) => out.push_str(&format!(
                    ",{},{},{},{},{}\n",
                    d.n,
                    num(Some(d.mean)),
                    num(d.sd),
                    num(d.ci.map(|c| c.lo)),
                    num(d.ci.map(|c| c.hi))
                )),
                None => out.push_str(",,,,,\n"),
            }
        }
        out
    }

    /// The table `ppdl summarize SWEEP_DIR` prints: test accuracy per cell and arm (points), with the
    /// paired delta; attack metrics in their own unit.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| cell | arm | metric | n | mean | sd | 95% CI | paired delta vs baseline (n, mean, 95% CI) |\n\
             |---|---|---|---:|---:|---:|---|---|\n",
        );
        for r in &self.rows {
            let scale = if r.metric == "test_accuracy" { 100.0 } else { 1.0 };
            let cell: Vec<String> = r.axes.iter().map(|(p, v)| format!("{p}={v}")).collect();
            let s = &r.stats;
            let ci = |m: &MeanStats| {
                m.ci.map(|c| format!("[{:.2}, {:.2}]", scale * c.lo, scale * c.hi)).unwrap_or_else(|| "n < 2".into())
            };
            let delta = r
                .paired_delta
                .as_ref()
                .map_or(String::new(), |d| format!("n = {}, {:+.2}, {}", d.n, scale * d.mean, ci(d)));
            out.push_str(&format!(
                "| {} | {} | {} | {} | {:.2} | {} | {} | {} |\n",
                cell.join(", "),
                r.arm,
                if r.metric == "test_accuracy" { "test accuracy (%)" } else { r.metric.as_str() },
                s.n,
                scale * s.mean,
                s.sd.map_or("-".into(), |sd| format!("{:.2}", scale * sd)),
                ci(s),
                delta
            ));
        }
        out.push_str(
            "\nn: finished runs (seeds) per cell. 95% CI: Student's t over the runs; paired delta: the arm's \
             accuracy minus the same run's baseline (same seed), in points, with its t-interval.\n",
        );
        if !self.missing.is_empty() {
            out.push_str(&format!("Not finished (left out): {}\n", self.missing.join(", ")));
        }
        out
    }
}

impl SweepTable {
    /// The accuracy table to paste into a README: per cell and arm, test accuracy and the paired delta
    /// against the baseline, each mean with its 95% t-interval, n, and whether the delta's interval
    /// excludes 0.
    pub fn accuracy_markdown(&self) -> String {
        let rows: Vec<&SweepRow> = self.rows.iter().filter(|r| r.metric == ACCURACY).collect();
        let has_cells = rows.iter().any(|r| !r.axes.is_empty());
        let mut out = String::new();
        if has_cells {
            out.push_str("| cell ");
        }
        out.push_str(
            "| arm | test accuracy (%), mean [95% CI] | delta vs baseline (points), mean [95% CI] | delta ≠ 0? | n |\n",
        );
        out.push_str(if has_cells { "|---|---|---:|---:|---|---:|\n" } else { "|---|---:|---:|---|---:|\n" });
        for r in rows {
            if has_cells {
                out.push_str(&format!("| {} ", r.cell_label()));
            }
            let (delta, distinct) = match &r.paired_delta {
                Some(d) => (
                    format!("{} (n = {})", points_with_interval(d, true), d.n),
                    match d.excludes_zero() {
                        Some(true) => "yes",
                        Some(false) => "no",
                        None => "n < 2",
                    },
                ),
                None => ("(baseline)".to_string(), ""),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                r.arm,
                points_with_interval(&r.stats, false),
                delta,
                distinct,
                r.stats.n
            ));
        }
        out.push_str(
            "\nn: finished runs (seeds) per cell; 95% CI: Student's t over the n runs. Delta: each run's arm minus \
             the same run's baseline (same seed, data order and initialisation), paired per seed; \"delta ≠ 0?\": \
             whether its interval excludes 0.\n",
        );
        if !self.missing.is_empty() {
            out.push_str(&format!("Not finished (left out): {}\n", self.missing.join(", ")));
        }
        out
    }
}

/// The metric name of test accuracy in sweep rows.
pub const ACCURACY: &str = "test_accuracy";

impl SweepRow {
    /// "sigma=0.05, block=4": the cell's axis values, each by the last part of its path.
    pub fn cell_label(&self) -> String {
        self.axes
            .iter()
            .map(|(p, v)| format!("{}={}", short_path(p), v.trim_matches('"')))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The last field of a config path (`privacy.transforms.0.sigma` -> `sigma`).
pub fn short_path(path: &str) -> &str {
    path.rsplit('.').find(|p| p.parse::<usize>().is_err()).unwrap_or(path)
}

impl MeanStats {
    /// Whether the 95% interval excludes 0 (None without an interval).
    pub fn excludes_zero(&self) -> Option<bool> {
        self.ci.map(|c| c.lo > 0.0 || c.hi < 0.0)
    }
}

/// A fraction's mean and interval in points: "78.30 [76.10, 80.50]" (signed for differences).
fn points_with_interval(m: &MeanStats, signed: bool) -> String {
    let f = |x: f64| if signed { format!("{:+.2}", 100.0 * x) } else { format!("{:.2}", 100.0 * x) };
    match m.ci {
        Some(c) => format!("{} [{}, {}]", f(m.mean), f(c.lo), f(c.hi)),
        None => format!("{} [n < 2]", f(m.mean)),
    }
}

/// Whether `dir` is a sweep folder (it has runs.json).
pub fn is_sweep_folder(dir: &Path) -> bool {
    dir.join(RUNS_FILE).is_file()
}

/// The expanded run list of a sweep folder.
pub const RUNS_FILE: &str = "runs.json";

/// Read a sweep folder's runs.json (exit 2 naming it when unreadable).
pub fn load_runs(root: &Path) -> anyhow::Result<Vec<SweepRun>> {
    let path = root.join(RUNS_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| InputError::in_file(&path, format!("cannot read (is this a sweep folder?): {e}")))?;
    Ok(serde_json::from_str(&text).map_err(|e| InputError::in_file(&path, format!("unexpected content: {e}")))?)
}

/// The table of a sweep folder, recomputed from its run folders.
pub fn load_table(root: &Path) -> anyhow::Result<(SweepTable, Vec<SweepRun>)> {
    let runs = load_runs(root)?;
    Ok((aggregate(&sweep_name(root), root, &runs)?, runs))
}

/// THE name of the sweep in a sweep folder: the one its sweep.json records (written when the folder
/// is made, from the sweep file's `name` or stem); for folders older than that, the folder's name
/// without the `sweep-` the default folder adds.
pub fn sweep_name(root: &Path) -> String {
    let recorded = std::fs::read_to_string(root.join("sweep.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<SweepTable>(&text).ok())
        .map(|t| t.name)
        .filter(|n| !n.is_empty());
    recorded.unwrap_or_else(|| {
        let folder = root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        folder.strip_prefix("sweep-").map(str::to_string).unwrap_or(folder)
    })
}

/// One CSV field, quoted when it holds a comma, quote or newline.
pub fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
