//! What the compare view shows of its runs, as text and colours (the view only lays it out): the
//! side-by-side table (accuracy per arm with its Wilson interval, each attack's headline, the
//! training-time ratio, the config fields that differ; one column per run) and the overlay's series
//! with their colours and legend names.

use ratatui::style::Color;

use crate::overhead::TrainingTimeRatio;
use crate::results::Summary;

use super::actions::Compare;
use super::theme;

/// One row of the side-by-side table.
#[derive(Debug, Clone, PartialEq)]
pub enum CompareRow {
    Section(String),
    /// A row label and one cell per run ("-" where the run has no such value).
    Values {
        label: String,
        cells: Vec<String>,
    },
}

/// One curve of the overlay: run `run`'s arm `arm`, its colour and its legend entry (None: the
/// legend already names its colour).
#[derive(Debug, Clone, PartialEq)]
pub struct OverlaySeries {
    pub run: usize,
    pub arm: String,
    pub color: Color,
    pub legend: Option<String>,
}

/// Accuracy with its 95% Wilson interval in points: "84.1 [83.4,84.8]".
fn accuracy_cell(s: &Summary, arm: &str) -> Option<String> {
    let mut s = s.clone();
    s.fill_intervals();
    let a = s.arm(arm)?;
    Some(match a.accuracy_interval {
        Some(i) => format!("{:.1} [{:.1},{:.1}]", 100.0 * a.test_accuracy, 100.0 * i.lo, 100.0 * i.hi),
        None => format!("{:.1}", 100.0 * a.test_accuracy),
    })
}

/// A config value as a cell: strings without their quotes.
fn value_cell(v: Option<&str>) -> String {
    v.map(|v| v.trim_matches('"').to_string()).unwrap_or_else(|| "-".into())
}

/// The last part of a config field's path: `privacy.transforms[0].sigma` -> `sigma`.
pub fn short_field(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

impl Compare {
    /// Every arm of the runs, matched by name: the first run's in order, then the others' new ones.
    pub fn arm_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for s in self.runs.iter().filter_map(|r| r.summary.as_ref()) {
            for a in &s.arms {
                if !names.contains(&a.name) {
                    names.push(a.name.clone());
                }
            }
        }
        names
    }

    /// The side-by-side table (see the module doc).
    pub fn rows(&self) -> Vec<CompareRow> {
        let mut rows = Vec::new();
        let test_n: Vec<String> = self
            .runs
            .iter()
            .filter_map(|r| r.summary.as_ref().map(|s| s.dataset.test.to_string()))
            .fold(Vec::new(), |mut v, n| {
                if !v.contains(&n) {
                    v.push(n);
                }
                v
            });
        rows.push(CompareRow::Section(format!(
            "test accuracy % [95% Wilson interval, n = {} test images]",
            test_n.join(" / ")
        )));
        let arms = self.arm_names();
        for arm in &arms {
            let cells = self
                .runs
                .iter()
                .map(|r| r.summary.as_ref().and_then(|s| accuracy_cell(s, arm)).unwrap_or_else(|| "-".into()))
                .collect();
            rows.push(CompareRow::Values { label: arm.clone(), cells });
        }
        // Each attack and arm that any run has a record of, in order of first appearance.
        let mut attacks: Vec<(String, String, String)> = Vec::new();
        for r in &self.runs {
            for a in &r.attacks {
                if !attacks.iter().any(|(n, arm, _)| *n == a.name && *arm == a.arm) {
                    attacks.push((a.name.clone(), a.arm.clone(), a.headline.metric.clone()));
                }
            }
        }
        if !attacks.is_empty() {
            rows.push(CompareRow::Section("attacks: headline metric (arm attacked)".into()));
        }
        for (name, arm, metric) in &attacks {
            let cells = self
                .runs
                .iter()
                .map(|r| {
                    r.attacks.iter().find(|a| a.name == *name && a.arm == *arm).map_or("-".into(), |a| {
                        let h = &a.headline;
                        super::analysis::format_with_unit(&h.metric, &h.unit, h.value)
                    })
                })
                .collect();
            rows.push(CompareRow::Values { label: format!("{name} ({arm}): {metric}"), cells });
        }
        let protected: Vec<&String> = arms
            .iter()
            .filter(|a| {
                self.runs.iter().filter_map(|r| r.summary.as_ref()).any(|s| s.protected().any(|p| p.name == **a))
            })
            .collect();
        if !protected.is_empty() {
            rows.push(CompareRow::Section(format!("overhead: {} (medians)", TrainingTimeRatio::NAME)));
        }
        for arm in protected {
            let cells = self
                .runs
                .iter()
                .map(|r| match r.summary.as_ref().filter(|s| s.arm(arm).is_some()) {
                    Some(s) => TrainingTimeRatio::of(s, arm).value.map_or("n/a".into(), |v| format!("{v:.2}×")),
                    None => "-".into(),
                })
                .collect();
            rows.push(CompareRow::Values { label: arm.clone(), cells });
        }
        rows.push(CompareRow::Section(match self.diff.changes() {
            0 => "config: no field differs (the name aside)".into(),
            1 => "config: 1 field differs".into(),
            n => format!("config: {n} fields differ"),
        }));
        for f in &self.diff.fields {
            let cells = (0..self.runs.len()).map(|i| value_cell(f.values.get(i).and_then(|v| v.as_deref()))).collect();
            rows.push(CompareRow::Values { label: f.path.clone(), cells });
        }
        rows
    }

    /// The overlay's curves: every arm of every run, each its own colour; coloured by a field, the
    /// protected arms of runs with one value share a colour and the baselines are grey.
    pub fn series(&self) -> Vec<OverlaySeries> {
        let mut out = Vec::new();
        let field = self.color_by.as_deref();
        let mut values: Vec<String> = Vec::new();
        for (i, r) in self.runs.iter().enumerate() {
            let baseline = r.summary.as_ref().and_then(|s| s.baseline()).map(|b| b.name.clone());
            for arm in r.curves.names() {
                let (line, points) = r.curves.series(arm, self.quantity);
                if line.is_empty() && points.is_empty() {
                    continue;
                }
                let (color, legend) = match field {
                    None => (theme::arm_color(out.len()), Some(format!("{} {arm}", i + 1))),
                    Some(_) if baseline.as_deref() == Some(arm) => {
                        let first = !out.iter().any(|s: &OverlaySeries| s.color == theme::MUTED);
                        (theme::MUTED, first.then(|| "baselines".to_string()))
                    }
                    Some(f) => {
                        let v = value_cell(self.diff.value(f, i));
                        let known = values.iter().position(|x| *x == v);
                        let slot = known.unwrap_or_else(|| {
                            values.push(v.clone());
                            values.len() - 1
                        });
                        // Slot 0 is the baseline's blue elsewhere: values start at the next.
                        (theme::arm_color(slot + 1), known.is_none().then(|| format!("{}={v}", short_field(f))))
                    }
                };
                out.push(OverlaySeries { run: i, arm: arm.to_string(), color, legend });
            }
        }
        out
    }
}
