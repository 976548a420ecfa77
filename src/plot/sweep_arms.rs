//! The arms of a sweep side by side (report.md and `ppdl summarize SWEEP_DIR`): per cell and arm, the
//! test accuracy and paired delta (from the sweep table), what crossed between the parties during
//! training, the epoch-time ratio against the baseline, and every attack's verdicts over the runs.
//! It is the table that puts the two families, keyed transforms and split learning, beside each
//! other. Read from the finished run folders only (summary.json, overhead.json, attacks.json).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::overhead::OverheadReport;
use crate::results::attacks::{AttacksFile, Level};
use crate::results::stats::MeanStats;
use crate::results::sweep::{SweepRun, SweepTable, ACCURACY};
use crate::results::RunFolder;

/// One arm of one cell over the cell's finished runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArmFacts {
    pub cell: usize,
    pub arm: String,
    /// `none`, `keyed` or `split`, with the arm's description.
    pub scheme: String,
    pub description: String,
    /// Per run: bytes sent to the provider over the whole training (a keyed arm's encoded training set,
    /// once; a split arm's activations and gradients, every epoch), and back to the customer.
    pub to_provider: Vec<f64>,
    pub to_customer: Vec<f64>,
    /// Per run: median epoch seconds over the baseline's (overhead.json).
    pub time_ratios: Vec<f64>,
    /// Attack name -> what each run's attacks.json says of it for this arm.
    pub verdicts: BTreeMap<String, Verdicts>,
}

/// What the runs' attacks.json files say of one attack on one arm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verdicts {
    pub protects: usize,
    pub partial: usize,
    pub broken: usize,
    /// Finished without a level (older records).
    pub undecided: usize,
    pub not_applicable: usize,
    pub failed: usize,
}

impl Verdicts {
    fn runs(&self) -> usize {
        self.protects + self.partial + self.broken + self.undecided + self.not_applicable + self.failed
    }

    /// "broken 3/3", "protects 2/3, partial leak 1/3", "n/a".
    pub fn cell(&self) -> String {
        let n = self.runs();
        if n > 0 && self.not_applicable == n {
            return "n/a".into();
        }
        let parts: Vec<String> = [
            (self.broken, Level::Broken.label()),
            (self.partial, Level::PartialLeak.label()),
            (self.protects, Level::Protects.label()),
            (self.undecided, "no verdict"),
            (self.failed, "failed"),
            (self.not_applicable, "n/a"),
        ]
        .into_iter()
        .filter(|(k, _)| *k > 0)
        .map(|(k, label)| format!("{label} {k}/{n}"))
        .collect();
        parts.join(", ")
    }
}

/// The facts of every arm of every cell, from the runs whose training finished (those the sweep table
/// counts), in cell order and each run's arm order.
pub fn collect(root: &Path, runs: &[SweepRun], table: &SweepTable) -> Vec<ArmFacts> {
    let mut facts: Vec<ArmFacts> = Vec::new();
    for run in runs.iter().filter(|r| !table.missing.contains(&r.name)) {
        let folder = RunFolder::new(root.join(&run.folder));
        let Ok(summary) = folder.load_summary() else { continue };
        let overhead = OverheadReport::load(&folder.overhead_path()).ok().flatten();
        let attacks = AttacksFile::load(&folder.attacks_path()).ok();
        for arm in &summary.arms {
            let i = match facts.iter().position(|f| f.cell == run.cell && f.arm == arm.name) {
                Some(i) => i,
                None => {
                    facts.push(ArmFacts {
                        cell: run.cell,
                        arm: arm.name.clone(),
                        scheme: arm.scheme.kind().into(),
                        description: arm.description.clone(),
                        ..Default::default()
                    });
                    facts.len() - 1
                }
            };
            let f = &mut facts[i];
            if let Some(traffic) = &arm.split {
                if let Some(epoch) = &traffic.per_epoch {
                    let epochs = arm.epochs_completed as f64;
                    f.to_provider.push(epochs * epoch.to_provider() as f64);
                    f.to_customer.push(epochs * epoch.to_customer() as f64);
                }
            }
            if let Some(o) = &overhead {
                if let Some(m) = o.arm(&arm.name) {
                    f.to_provider.push((summary.dataset.train * m.bytes.to_provider_per_sample) as f64);
                    f.to_customer.push(0.0);
                    f.time_ratios.extend(m.training.ratio);
                }
                if let Some(s) = o.split_arms.iter().find(|s| s.arm == arm.name) {
                    f.time_ratios.extend(s.training.ratio);
                }
            }
            let Some(file) = &attacks else { continue };
            for r in file.records.iter().filter(|r| r.arm == arm.name) {
                let v = f.verdicts.entry(r.name.clone()).or_default();
                match r.level {
                    Some(Level::Protects) => v.protects += 1,
                    Some(Level::PartialLeak) => v.partial += 1,
                    Some(Level::Broken) => v.broken += 1,
                    None => v.undecided += 1,
                }
            }
            for n in file.not_applicable.iter().filter(|n| n.arm == arm.name) {
                f.verdicts.entry(n.name.clone()).or_default().not_applicable += 1;
            }
            for n in file.failures.iter().filter(|n| n.arm == arm.name) {
                f.verdicts.entry(n.name.clone()).or_default().failed += 1;
            }
        }
    }
    facts
}

/// The side-by-side table, attacks in the registry's order; empty when no run finished.
pub fn markdown(table: &SweepTable, facts: &[ArmFacts], attack_order: &[&str]) -> String {
    if facts.is_empty() {
        return String::new();
    }
    let attacks: Vec<&str> =
        attack_order.iter().copied().filter(|a| facts.iter().any(|f| f.verdicts.contains_key(*a))).collect();
    let has_cells = table.rows.iter().any(|r| !r.axes.is_empty());
    let mut md = String::new();
    if has_cells {
        md.push_str("| cell ");
    }
    md.push_str(
        "| arm | scheme | test accuracy (%) [95% CI] | delta (points) [95% CI] | to the provider in training (MB) | \
         back (MB) | epoch time / baseline |",
    );
    for a in &attacks {
        let _ = write!(md, " {a} |");
    }
    md.push('\n');
    let columns = 7 + attacks.len() + usize::from(has_cells);
    md.push_str(&"|---".repeat(columns));
    md.push_str("|\n");
    for f in facts {
        let accuracy = table.rows.iter().find(|r| r.cell == f.cell && r.arm == f.arm && r.metric == ACCURACY);
        if has_cells {
            let _ = write!(md, "| {} ", accuracy.map(|r| r.cell_label()).unwrap_or_default());
        }
        let acc = accuracy.map_or("-".into(), |r| interval(&r.stats, 100.0, false));
        let delta = accuracy.and_then(|r| r.paired_delta.as_ref()).map_or("-".into(), |d| interval(d, 100.0, true));
        let megabytes = |xs: &[f64]| {
            if xs.is_empty() {
                return "-".to_string();
            }
            let (lo, hi) = min_max(xs);
            if hi - lo < 0.05e6 {
                format!("{:.1}", hi / 1e6)
            } else {
                format!("{:.1}-{:.1}", lo / 1e6, hi / 1e6)
            }
        };
        let ratio = if f.time_ratios.is_empty() {
            "-".into()
        } else {
            let (lo, hi) = min_max(&f.time_ratios);
            let mid = crate::overhead::median(&f.time_ratios).unwrap_or(f64::NAN);
            format!("{mid:.2} ({lo:.2}-{hi:.2}, n = {})", f.time_ratios.len())
        };
        let scheme = if f.scheme == "none" { "none (baseline)".to_string() } else { f.description.clone() };
        let _ = write!(
            md,
            "| {} | {} | {acc} | {delta} | {} | {} | {ratio} |",
            f.arm,
            scheme,
            megabytes(&f.to_provider),
            megabytes(&f.to_customer)
        );
        for a in &attacks {
            let cell = f.verdicts.get(*a).map_or("-".into(), Verdicts::cell);
            let _ = write!(md, " {cell} |");
        }
        md.push('\n');
    }
    md.push_str(
        "\nAccuracy and delta: mean over the cell's finished runs with the 95% t-interval (delta paired per seed \
         against the same run's baseline). To the provider in training: a keyed arm's encoded training set (sent \
         once), a split arm's cut activations and gradients over all its epochs, counted as they crossed in one \
         process (no network latency modelled); `-` for the baseline, whose provider holds the raw data. Epoch \
         time / baseline: the median over runs of overhead.json's ratio (median epoch seconds of the arm over the \
         baseline's; arms trained side by side share the machine, see overhead.json's `clean`), with its range. \
         Attack columns: each attack's verdict in how many of the runs; n/a where it does not apply to the \
         arm's scheme; `-` where it did not run.\n",
    );
    md
}

fn interval(m: &MeanStats, scale: f64, signed: bool) -> String {
    format!("{} (n = {})", super::sweep::with_interval(m, scale, signed), m.n)
}

fn min_max(xs: &[f64]) -> (f64, f64) {
    xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_cells_count_runs() {
        let v = Verdicts { broken: 3, ..Default::default() };
        assert_eq!(v.cell(), "broken 3/3");
        let v = Verdicts { protects: 2, partial: 1, ..Default::default() };
        assert_eq!(v.cell(), "partial leak 1/3, protects 2/3");
        let v = Verdicts { not_applicable: 2, ..Default::default() };
        assert_eq!(v.cell(), "n/a");
        let v = Verdicts { broken: 1, failed: 1, ..Default::default() };
        assert_eq!(v.cell(), "broken 1/2, failed 1/2");
    }
}
