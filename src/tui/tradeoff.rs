//! The trade-off view's state: any set of run folders (the marked runs, or a sweep's) read as a
//! sweep whose axes are the config fields that differ between them (the seed aside), so that runs
//! with the same config but their seed are repeats of one cell. The statistics (paired accuracy delta
//! and the attack's headline, mean and 95% t-interval over the repeats) and the figure are the sweep
//! frontier's (`results::sweep`, `plot::sweep`): the terminal and the exported PNG/SVG show the same.

use std::path::{Path, PathBuf};

use crate::plot::draw::XyChart;
use crate::plot::sweep::{choose_metric, frontier_chart, frontier_points, FrontierPoint, MetricChoice, GROUP_BY_ARM};
use crate::results::sweep::{aggregate, SweepRun, SweepTable, ACCURACY};

use super::actions::RunEntry;
use super::diff::FieldDiff;

/// Fields that do not make runs different configs: the seed (repeats differ in it) and where the
/// results went.
fn is_repeat_field(path: &str) -> bool {
    path == "seed" || path.starts_with("output.")
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tradeoff {
    /// What the points are of: "sweep NAME" or "3 marked runs" (the figure's title says it too).
    pub title: String,
    /// Where `e` writes the figure.
    pub out_dir: PathBuf,
    pub runs: Vec<SweepRun>,
    pub table: SweepTable,
    /// The attacks with a headline metric in the runs, in order of appearance (`a` cycles).
    pub attacks: Vec<String>,
    pub attack: usize,
    /// `arm`, then every config field that differs (`g` cycles).
    pub groups: Vec<String>,
    pub group: usize,
    pub scroll: u16,
}

impl Tradeoff {
    /// Read `runs` (their config.toml, summary.json and attacks.json) as one ad-hoc sweep.
    pub fn load(title: String, out_dir: PathBuf, runs: &[&RunEntry]) -> Tradeoff {
        let configs: Vec<Result<String, String>> = runs
            .iter()
            .map(|r| {
                let p = r.dir.join("config.toml");
                std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))
            })
            .collect();
        let diff = FieldDiff::of(&configs);
        let axes: Vec<&str> = diff.fields.iter().map(|f| f.path.as_str()).filter(|p| !is_repeat_field(p)).collect();
        let mut cells: Vec<Vec<(String, String)>> = Vec::new();
        let mut sweep_runs = Vec::new();
        for (i, r) in runs.iter().enumerate() {
            let values: Vec<(String, String)> =
                axes.iter().map(|p| (p.to_string(), diff.value(p, i).unwrap_or("-").to_string())).collect();
            let cell = cells.iter().position(|c| *c == values).unwrap_or_else(|| {
                cells.push(values.clone());
                cells.len() - 1
            });
            let repeat = sweep_runs.iter().filter(|s: &&SweepRun| s.cell == cell).count();
            sweep_runs.push(SweepRun {
                name: r.label.clone(),
                cell,
                repeat,
                // The pairing key of the accuracy delta: each run's arms against its own baseline.
                seed: i as u64,
                axes: values,
                overrides: Vec::new(),
                folder: r.dir.clone(),
                baseline_from: None,
            });
        }
        let table = aggregate(&title, Path::new(""), &sweep_runs).unwrap_or_else(|_| SweepTable {
            name: title.clone(),
            runs: sweep_runs.len(),
            missing: sweep_runs.iter().map(|r| r.name.clone()).collect(),
            rows: Vec::new(),
        });
        let mut attacks: Vec<String> = Vec::new();
        for r in table.rows.iter().filter(|r| r.metric != ACCURACY) {
            let a = r.metric.split_once(':').map_or(r.metric.as_str(), |(a, _)| a);
            if !attacks.iter().any(|x| x == a) {
                attacks.push(a.to_string());
            }
        }
        // Start on the attack the sweep frontier picks by default (the strongest reconstruction).
        let attack = choose_metric(&table, None, &out_dir)
            .ok()
            .flatten()
            .and_then(|m| attacks.iter().position(|a| *a == m.attack))
            .unwrap_or(0);
        let mut groups = vec![GROUP_BY_ARM.to_string()];
        groups.extend(axes.iter().map(|p| p.to_string()));
        // Grouped by the first field that differs, where there is one.
        let group = usize::from(groups.len() > 1);
        Tradeoff { title, out_dir, runs: sweep_runs, table, attacks, attack, groups, group, scroll: 0 }
    }

    /// The chosen attack's metric (None: no attack ran on these runs).
    pub fn metric(&self) -> Option<MetricChoice> {
        let name = self.attacks.get(self.attack)?;
        choose_metric(&self.table, Some(name), &self.out_dir).ok().flatten()
    }

    /// The chosen grouping: None by arm, else a config field's path.
    pub fn group_field(&self) -> Option<&str> {
        self.groups.get(self.group).map(String::as_str).filter(|g| *g != GROUP_BY_ARM)
    }

    /// One point per protected arm and cell: mean paired delta and mean metric, each with its n and
    /// 95% t-interval (none with one run).
    pub fn points(&self) -> Vec<FrontierPoint> {
        self.metric().map(|m| frontier_points(&self.table, &m, self.group_field())).unwrap_or_default()
    }

    /// The figure (as exported), None without points.
    pub(crate) fn chart(&self) -> Option<XyChart> {
        frontier_chart(&self.table, &self.metric()?, self.group_field())
    }

    pub fn next_attack(&mut self) {
        if !self.attacks.is_empty() {
            self.attack = (self.attack + 1) % self.attacks.len();
        }
    }

    pub fn next_group(&mut self) {
        self.group = (self.group + 1) % self.groups.len();
    }

    /// Write the figure into `out_dir` as tradeoff-ATTACK-by-GROUP.png + .svg; the PNG's path.
    pub fn export(&self) -> anyhow::Result<PathBuf> {
        let Some(attack) = self.attacks.get(self.attack) else {
            anyhow::bail!("no attack results in these runs: nothing to plot against the accuracy delta");
        };
        let group = super::compare::short_field(self.groups.get(self.group).map_or(GROUP_BY_ARM, String::as_str));
        let clean =
            |s: &str| -> String { s.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect() };
        let name = format!("tradeoff-{}-by-{}", clean(attack), clean(group));
        let files = crate::plot::render_frontier(&self.table, attack, self.group_field(), &self.out_dir, &name)?;
        Ok(files.png)
    }
}
