//! sweep.json and sweep.csv: the statistics of a sweep's runs, per cell (one combination of axis
//! values) and arm, over the repeats (seeds). The sweep front end (`crate::sweep`) expands and runs;
//! this module only reads the finished run folders.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

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
                rows.push(SweepRow {
                    cell: *cell,
                    axes: axes.clone(),
                    arm: arm.clone(),
                    metric: metric.clone(),
                    unit: unit.clone(),
                    stats: stats::mean_interval(&only),
                    paired_delta,
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

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
