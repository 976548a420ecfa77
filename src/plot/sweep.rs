//! The figures and report.md of a sweep folder, from its statistics alone (`results::sweep`): each
//! axis against the protected arms' paired accuracy delta with 95% intervals, and the privacy/utility
//! frontier (accuracy delta against an attack's headline metric, both with 95% intervals, grouped by
//! a config field).
//!
//! Figures (SWEEP_DIR/figures/NAME.png + .svg):
//!
//! | figure | shows |
//! |---|---|
//! | `delta-vs-PATH` | one per axis: the axis values (numeric scale, or evenly spaced labels) against each protected arm's mean paired delta, 95% t-interval bars, a zero line |
//! | `delta-by-arm` | a sweep without axes: each protected arm's mean paired delta with its interval |
//! | `frontier` | x: mean paired delta with its interval; y: the chosen attack metric with its interval; points coloured by `--group-by` and, where the sweep has one other axis and it is numeric, joined in its order (a NoPeek alpha curve); lines at no accuracy change, at a 1-point cost, and at the metric's chance and no-attack levels |

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::draw::{
    min_max, pad_range, render as render_figure, series_marker, HLine, LineKind, Series, VLine, XTicks, XyChart,
};
use super::figures::{Body, ChartFigure};
use super::style;
use super::FigureFiles;
use crate::attacks::registry::{self, ResultKind};
use crate::error::InputError;
use crate::results::stats::MeanStats;
use crate::results::sweep::{short_path, Reference, SweepRow, SweepRun, SweepTable, ACCURACY};

/// What `ppdl plot SWEEP_DIR` was asked for.
#[derive(Debug, Clone, Default)]
pub struct SweepPlotOptions {
    /// The frontier's y: a metric of sweep.json (`ATTACK:METRIC`) or an attack's name (its headline).
    pub metric: Option<String>,
    /// The frontier's groups: `arm` or an axis path (or its unique last part).
    pub group_by: Option<String>,
}

/// What [`render`] wrote.
#[derive(Debug, Clone)]
pub struct SweepRendered {
    pub figures: Vec<FigureFiles>,
    pub report: PathBuf,
    pub skipped: Vec<String>,
    /// Finished runs / all runs.
    pub finished: usize,
    pub runs: usize,
}

/// The accuracy cost the frontier marks: the "at most 1 point of accuracy".
pub const COST_LINE_POINTS: f64 = -1.0;
/// The frontier grouped by protected arm rather than by a config field.
pub const GROUP_BY_ARM: &str = "arm";

/// How one axis is drawn: its distinct values in order, on a numeric scale when every value is a
/// number (logarithmic when positive and spanning a factor of 20 or more), else as evenly spaced
/// labelled columns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AxisLayout {
    pub values: Vec<String>,
    pub labels: Vec<String>,
    pub numeric: Option<Vec<f64>>,
    pub log: bool,
}

impl AxisLayout {
    pub fn of(values: Vec<String>) -> AxisLayout {
        let labels = values.iter().map(|v| v.trim_matches('"').to_string()).collect();
        let nums: Option<Vec<f64>> = values.iter().map(|v| v.parse::<f64>().ok().filter(|x| x.is_finite())).collect();
        let log = nums.as_ref().is_some_and(|n| {
            let (lo, hi) = min_max(n).unwrap_or((0.0, 0.0));
            lo > 0.0 && hi / lo >= 20.0
        });
        AxisLayout { values, labels, numeric: nums, log }
    }

    /// The x position of value `v` (its number, or its column).
    pub fn x(&self, v: &str) -> Option<f64> {
        let i = self.values.iter().position(|x| x == v)?;
        Some(self.numeric.as_ref().map_or(i as f64, |n| n[i]))
    }

    /// Offset of series `i` of `k` at one x, so that intervals at one value do not hide each other:
    /// a share of a column, or of the smallest gap between values (a factor on a log axis).
    pub fn dodge(&self, x: f64, i: usize, k: usize) -> f64 {
        if k < 2 {
            return x;
        }
        let rel = i as f64 - (k - 1) as f64 / 2.0;
        match &self.numeric {
            None => x + 0.25 * rel / (k - 1) as f64,
            Some(n) => {
                let mut s: Vec<f64> = if self.log { n.iter().map(|v| v.ln()).collect() } else { n.clone() };
                s.sort_by(f64::total_cmp);
                let gap = s.windows(2).map(|w| w[1] - w[0]).filter(|g| *g > 0.0).fold(f64::INFINITY, f64::min);
                let gap = if gap.is_finite() { gap } else { 1.0 };
                let step = 0.12 * gap * rel / (k - 1) as f64;
                if self.log {
                    x * step.exp()
                } else {
                    x + step
                }
            }
        }
    }
}

/// The protected arms' accuracy rows (those with a paired delta), in table order.
fn delta_rows(t: &SweepTable) -> Vec<(&SweepRow, &MeanStats)> {
    t.rows.iter().filter(|r| r.metric == ACCURACY).filter_map(|r| r.paired_delta.as_ref().map(|d| (r, d))).collect()
}

/// Protected arm names in order of first appearance.
fn arms(t: &SweepTable) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (r, _) in delta_rows(t) {
        if !out.contains(&r.arm) {
            out.push(r.arm.clone());
        }
    }
    out
}

/// Axis paths of the sweep and their distinct values, in order.
fn axes(runs: &[SweepRun]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for r in runs {
        for (p, v) in &r.axes {
            match out.iter_mut().find(|(q, _)| q == p) {
                Some((_, vs)) if !vs.contains(v) => vs.push(v.clone()),
                Some(_) => {}
                None => out.push((p.clone(), vec![v.clone()])),
            }
        }
    }
    out
}

/// "n = 3" or "n = 2-3" over `ns` (seeds per point).
fn n_text(ns: &[usize]) -> String {
    match (ns.iter().min(), ns.iter().max()) {
        (Some(a), Some(b)) if a == b => format!("n = {a}"),
        (Some(a), Some(b)) => format!("n = {a}–{b}"),
        _ => "n = 0".into(),
    }
}

fn segment(points: Vec<(f64, f64)>, color: plotters::style::RGBColor) -> Series {
    Series { label: String::new(), points, color, line: LineKind::Solid, marker: None, on_top: true }
}

/// Vertical 95% interval bar of a points-scaled statistic at x.
fn y_bar(x: f64, m: &MeanStats, scale: f64, color: plotters::style::RGBColor) -> Option<Series> {
    m.ci.map(|c| segment(vec![(x, scale * c.lo), (x, scale * c.hi)], color))
}

/// One figure per axis (or one over the arms when the sweep has no axes): the paired delta.
pub(crate) fn delta_charts(t: &SweepTable, runs: &[SweepRun]) -> Vec<(String, XyChart, String)> {
    let rows = delta_rows(t);
    let arms = arms(t);
    let axes = axes(runs);
    let y_desc = "accuracy delta, arm − baseline (points, paired per seed)";
    let mut out = Vec::new();
    if axes.is_empty() {
        let layout = AxisLayout::of(arms.clone());
        let mut c = XyChart::new("protected arm", y_desc);
        c.x_categories = layout.labels.clone();
        let ns: Vec<usize> = rows.iter().map(|(_, d)| d.n).collect();
        c.title = Some(format!(
            "Accuracy delta per arm ({} seeds per point){}{}",
            n_text(&ns),
            style::TITLE_PART_SEPARATOR,
            t.name
        ));
        for (i, arm) in arms.iter().enumerate() {
            let color = style::arm_color(false, i);
            for (r, d) in rows.iter().filter(|(r, _)| &r.arm == arm) {
                let x = layout.x(&r.arm).unwrap_or(0.0);
                c.series.extend(y_bar(x, d, 100.0, color));
                c.series.push(Series {
                    label: String::new(),
                    points: vec![(x, 100.0 * d.mean)],
                    color,
                    line: LineKind::None,
                    marker: Some(series_marker(i)),
                    on_top: false,
                });
            }
        }
        finish_delta_chart(&mut c, &rows);
        let caption = format!(
            "Each protected arm's test accuracy minus its run's baseline (same seed), mean over {} seeds with its 95% \
             t-interval.",
            n_text(&ns)
        );
        out.push(("delta-by-arm".to_string(), c, caption));
        return out;
    }
    for (k, (path, values)) in axes.iter().enumerate() {
        let layout = AxisLayout::of(values.clone());
        let mut c = XyChart::new(format!("{path} (swept)"), y_desc);
        if layout.numeric.is_none() {
            c.x_categories = layout.labels.clone();
        } else if layout.log {
            c.x_ticks = XTicks::Log;
        }
        // One series per protected arm and combination of the other axes' values.
        let other_axes = |axes: &[(String, String)]| -> String {
            let others: Vec<String> = axes
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != k)
                .map(|(_, (p, v))| format!("{}={}", short_path(p), v.trim_matches('"')))
                .collect();
            others.join(", ")
        };
        let mut keys: Vec<(String, String)> = Vec::new();
        for (r, _) in &rows {
            let key = (r.arm.clone(), other_axes(&r.axes));
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        let ns: Vec<usize> = rows.iter().map(|(_, d)| d.n).collect();
        c.title = Some(format!(
            "Accuracy delta against {} ({} seeds per point){}{}",
            short_path(path),
            n_text(&ns),
            style::TITLE_PART_SEPARATOR,
            t.name
        ));
        for (i, (arm, others)) in keys.iter().enumerate() {
            let color = style::arm_color(false, i);
            let mut pts: Vec<(f64, f64)> = Vec::new();
            for (r, d) in &rows {
                if &r.arm != arm || &other_axes(&r.axes) != others {
                    continue;
                }
                let Some(x) = r.axes.get(k).and_then(|(_, v)| layout.x(v)) else { continue };
                let x = layout.dodge(x, i, keys.len());
                c.series.extend(y_bar(x, d, 100.0, color));
                pts.push((x, 100.0 * d.mean));
            }
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            let label = match (arms.len() > 1, others.is_empty()) {
                (_, false) if arms.len() > 1 => format!("{arm}, {others}"),
                (_, false) => others.clone(),
                _ => arm.clone(),
            };
            c.series.push(Series {
                label,
                points: pts,
                // Numeric axes join the means; named columns are not a scale to draw lines along.
                line: if layout.numeric.is_some() { LineKind::Solid } else { LineKind::None },
                color,
                marker: Some(series_marker(i)),
                on_top: false,
            });
        }
        finish_delta_chart(&mut c, &rows);
        let caption = format!(
            "Test accuracy delta (protected arm minus its run's baseline, paired per seed) against `{path}`: mean over \
             {} seeds with its 95% t-interval.",
            n_text(&ns)
        );
        out.push((format!("delta-vs-{}", file_stem(path)), c, caption));
    }
    out
}

/// The zero line, a legend entry for the bars, and a y range that shows them.
fn finish_delta_chart(c: &mut XyChart, rows: &[(&SweepRow, &MeanStats)]) {
    c.series.push(Series {
        label: "bars: 95% interval (t, paired)".into(),
        points: Vec::new(),
        color: style::MUTED,
        line: LineKind::Solid,
        marker: None,
        on_top: true,
    });
    c.hlines.push(HLine { label: "no accuracy change".into(), y: 0.0, color: style::BASELINE, dotted: false });
    let ys: Vec<f64> = rows
        .iter()
        .flat_map(|(_, d)| {
            let (lo, hi) = d.ci.map_or((d.mean, d.mean), |c| (c.lo, c.hi));
            [100.0 * lo, 100.0 * hi]
        })
        .chain([0.0])
        .collect();
    let (lo, hi) = min_max(&ys).unwrap_or((-1.0, 1.0));
    // At least 2 points tall, so that noise of a tenth of a point does not fill the figure.
    let grow = (2.0 - (hi - lo)).max(0.0) / 2.0;
    c.y_range = Some(pad_range(lo - grow, hi + grow, 0.08, false));
    if rows.iter().any(|(_, d)| d.ci.is_none()) {
        c.note = Some("points without a bar: n < 2, no interval".into());
    }
}

/// `privacy.transforms.0.sigma` -> `privacy-transforms-0-sigma`.
fn file_stem(path: &str) -> String {
    path.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' }).collect()
}

/// The metrics of the table other than accuracy (ATTACK:METRIC), in order.
fn metrics(t: &SweepTable) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for r in &t.rows {
        if r.metric != ACCURACY && !out.iter().any(|(m, _)| *m == r.metric) {
            out.push((r.metric.clone(), r.unit.clone()));
        }
    }
    out
}

/// The frontier's metric: which rows it takes (`matches`), its name for labels, and its unit.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricChoice {
    /// An attack's name (every headline of that attack) or one exact `ATTACK:METRIC`.
    pub key: String,
    pub attack: String,
    pub label: String,
    pub unit: String,
}

impl MetricChoice {
    fn matches(&self, metric: &str) -> bool {
        metric == self.key || metric.split_once(':').is_some_and(|(a, _)| a == self.key)
    }
}

/// Resolve `--metric` (an exact `ATTACK:METRIC` or an attack's name, whose headline it takes whatever
/// its wording per arm) or the default: the reconstruction attack whose headline (dB) is highest on
/// average over the sweep, i.e. the strongest one. Err: an input error listing what there is.
pub(crate) fn choose_metric(
    t: &SweepTable,
    asked: Option<&str>,
    where_: &Path,
) -> anyhow::Result<Option<MetricChoice>> {
    let all = metrics(t);
    let attack_of = |m: &str| m.split_once(':').map_or(m.to_string(), |(a, _)| a.to_string());
    let choice = |key: &str| -> Option<MetricChoice> {
        let hits: Vec<&(String, String)> =
            all.iter().filter(|(m, _)| m == key || m.split_once(':').is_some_and(|(a, _)| a == key)).collect();
        let (first, unit) = hits.first()?;
        let exact = all.iter().any(|(m, _)| m == key);
        let metric_text = first.split_once(':').map_or(first.as_str(), |(_, m)| m);
        // Several wordings (e.g. the method in brackets differs per arm): the part they share.
        let label = if exact || hits.len() == 1 {
            metric_text.to_string()
        } else {
            metric_text.split(" (").next().unwrap_or(metric_text).to_string()
        };
        Some(MetricChoice { key: key.to_string(), attack: attack_of(first), label, unit: unit.clone() })
    };
    if let Some(name) = asked {
        return match choice(name) {
            Some(c) => Ok(Some(c)),
            None => {
                let mut names: Vec<String> = Vec::new();
                for (m, _) in &all {
                    let a = attack_of(m);
                    if !names.contains(&a) {
                        names.push(a);
                    }
                }
                let list: Vec<String> = all.iter().map(|(m, u)| format!("  {m} ({u})")).collect();
                Err(InputError::new(format!(
                    "--metric `{name}`: no such metric in the sweep {}; give an attack's name ({}) for its headline, \
                     or one of:\n{}",
                    where_.display(),
                    if names.is_empty() { "none ran".to_string() } else { names.join(", ") },
                    if list.is_empty() { "  (no attack metrics: no attack ran)".to_string() } else { list.join("\n") }
                ))
                .into())
            }
        };
    }
    let mut best: Option<(f64, String)> = None;
    for (m, unit) in &all {
        let a = attack_of(m);
        if unit != "dB" || !registry::find(&a).is_some_and(|x| x.result() == ResultKind::Reconstruction) {
            continue;
        }
        let means: Vec<f64> = t
            .rows
            .iter()
            .filter(|r| attack_of(&r.metric) == a)
            .map(|r| r.stats.mean)
            .filter(|v| v.is_finite())
            .collect();
        if means.is_empty() {
            continue;
        }
        let mean = means.iter().sum::<f64>() / means.len() as f64;
        if best.as_ref().is_none_or(|(b, _)| mean > *b) {
            best = Some((mean, a));
        }
    }
    Ok(best.and_then(|(_, a)| choice(&a)).or_else(|| all.first().and_then(|(m, _)| choice(m))))
}

/// Resolve `--group-by`: `arm`, an axis path, or an axis path's unique last part. Default: the first
/// axis, or `arm` without axes.
pub(crate) fn choose_group(runs: &[SweepRun], asked: Option<&str>) -> anyhow::Result<Option<String>> {
    let axes = axes(runs);
    let Some(name) = asked else {
        return Ok(axes.first().map(|(p, _)| p.clone()));
    };
    if name == GROUP_BY_ARM {
        return Ok(None);
    }
    if axes.iter().any(|(p, _)| p == name) {
        return Ok(Some(name.to_string()));
    }
    let by_last: Vec<&String> = axes.iter().map(|(p, _)| p).filter(|p| short_path(p) == name).collect();
    if let [one] = by_last.as_slice() {
        return Ok(Some((*one).clone()));
    }
    let mut choices = vec![GROUP_BY_ARM.to_string()];
    choices.extend(axes.iter().map(|(p, _)| format!("`{p}`")));
    Err(InputError::new(format!(
        "--group-by `{name}`: not a field this sweep varies; choose {} (its axes, or `arm`)",
        choices.join(", ")
    ))
    .into())
}

/// One point of the frontier.
#[derive(Debug, Clone)]
pub struct FrontierPoint {
    pub group: String,
    pub label: String,
    pub delta: MeanStats,
    pub metric: MeanStats,
    /// The value of the sweep's one other numeric axis, when it has exactly one besides the grouping
    /// field: the group's points are joined in its order (a NoPeek alpha or a noise sigma curve).
    pub order: Option<f64>,
}

/// The frontier points: every protected (cell, arm) that has both a paired delta and the metric.
pub(crate) fn frontier_points(t: &SweepTable, m: &MetricChoice, group: Option<&str>) -> Vec<FrontierPoint> {
    let several_arms = arms(t).len() > 1;
    delta_rows(t)
        .into_iter()
        .filter_map(|(r, d)| {
            let y = t.rows.iter().find(|x| x.cell == r.cell && x.arm == r.arm && m.matches(&x.metric))?;
            let others: Vec<&(String, String)> = r.axes.iter().filter(|(q, _)| Some(q.as_str()) != group).collect();
            let order = match others.as_slice() {
                [(_, v)] => v.trim_matches('"').parse::<f64>().ok(),
                _ => None,
            };
            let group = match group {
                None => r.arm.clone(),
                Some(p) => r.axes.iter().find(|(q, _)| q == p).map(|(_, v)| v.trim_matches('"').to_string())?,
            };
            let cell = r.cell_label();
            let label = match (cell.is_empty(), several_arms) {
                (true, _) => r.arm.clone(),
                (false, true) => format!("{cell}, {}", r.arm),
                (false, false) => cell,
            };
            Some(FrontierPoint { group, label, delta: d.clone(), metric: y.stats.clone(), order })
        })
        .collect()
}

/// The frontier chart (see the module doc).
pub(crate) fn frontier_chart(t: &SweepTable, m: &MetricChoice, group: Option<&str>) -> Option<XyChart> {
    let points = frontier_points(t, m, group);
    if points.is_empty() {
        return None;
    }
    let scale = if m.unit == "fraction" || m.unit == "points" { 100.0 } else { 1.0 };
    let unit = match m.unit.as_str() {
        "fraction" => "%".to_string(),
        "points" => "points".to_string(),
        u => u.to_string(),
    };
    let mut c = XyChart::new(
        "accuracy delta, arm − baseline (points, paired per seed)",
        format!("{}: {} ({unit})", m.attack, m.label),
    );
    let ns: Vec<usize> = points.iter().map(|p| p.delta.n.min(p.metric.n)).collect();
    c.title = Some(format!(
        "Privacy/utility frontier ({} seeds per point, 95% intervals){}{}",
        n_text(&ns),
        style::TITLE_PART_SEPARATOR,
        t.name
    ));
    let mut groups: Vec<String> = Vec::new();
    for p in &points {
        if !groups.contains(&p.group) {
            groups.push(p.group.clone());
        }
    }
    let group_name = group.map_or(GROUP_BY_ARM.to_string(), |g| short_path(g).to_string());
    for (i, g) in groups.iter().enumerate() {
        let color = style::arm_color(false, i);
        let mut pts = Vec::new();
        let mut members: Vec<&FrontierPoint> = points.iter().filter(|p| &p.group == g).collect();
        let joined = members.len() > 1 && members.iter().all(|p| p.order.is_some());
        if joined {
            members.sort_by(|a, b| a.order.unwrap_or(0.0).total_cmp(&b.order.unwrap_or(0.0)));
        }
        for p in members {
            let (x, y) = (100.0 * p.delta.mean, scale * p.metric.mean);
            if let Some(ci) = p.delta.ci {
                c.series.push(segment(vec![(100.0 * ci.lo, y), (100.0 * ci.hi, y)], color));
            }
            c.series.extend(y_bar(x, &p.metric, scale, color));
            pts.push((x, y));
        }
        c.series.push(Series {
            label: format!("{group_name} = {g}"),
            points: pts,
            color,
            line: if joined { LineKind::Solid } else { LineKind::None },
            marker: Some(series_marker(i)),
            on_top: false,
        });
    }
    if points.len() <= 12 {
        c.point_labels =
            points.iter().map(|p| ((100.0 * p.delta.mean, scale * p.metric.mean), p.label.clone())).collect();
    }
    c.vlines.push(VLine { label: "no accuracy change".into(), x: 0.0, color: style::BASELINE, dotted: false });
    c.vlines.push(VLine {
        label: format!("{} point accuracy cost", -COST_LINE_POINTS),
        x: COST_LINE_POINTS,
        color: style::MUTED,
        dotted: true,
    });
    // The metric's own levels, as its attack records define them (mean over the rows drawn).
    let rows: Vec<&SweepRow> = t.rows.iter().filter(|r| m.matches(&r.metric) && r.paired_delta.is_none()).collect();
    let chances: Vec<&Reference> = rows
        .iter()
        .filter_map(|r| r.chance.as_ref().filter(|c| super::figures::meaningful_chance(c.value, &r.unit)))
        .collect();
    let references: Vec<&Reference> = rows.iter().filter_map(|r| r.reference.as_ref()).collect();
    for (levels, what, color, dotted) in
        [(chances, "chance", style::CHANCE, false), (references, "reference", style::REFERENCE, true)]
    {
        if let Some((v, label)) = common_level(&levels) {
            let what = label.unwrap_or_else(|| what.into());
            c.hlines.push(HLine {
                label: format!("{what} ({})", fmt_level(scale * v, &unit)),
                y: scale * v,
                color,
                dotted,
            });
        }
    }
    // x: every interval, 0 and the cost line, at least 3 points wide.
    let xs: Vec<f64> = points
        .iter()
        .flat_map(|p| {
            let (lo, hi) = p.delta.ci.map_or((p.delta.mean, p.delta.mean), |c| (c.lo, c.hi));
            [100.0 * lo, 100.0 * hi]
        })
        .chain([0.0, COST_LINE_POINTS])
        .collect();
    let (lo, hi) = min_max(&xs).unwrap_or((-1.0, 0.0));
    let grow = (3.0 - (hi - lo)).max(0.0) / 2.0;
    c.x_fixed = Some(pad_range(lo - grow, hi + grow, 0.1, false));
    let ys: Vec<f64> = points
        .iter()
        .flat_map(|p| {
            let (lo, hi) = p.metric.ci.map_or((p.metric.mean, p.metric.mean), |c| (c.lo, c.hi));
            [scale * lo, scale * hi]
        })
        .chain(c.hlines.iter().map(|h| h.y))
        .collect();
    if let Some((lo, hi)) = min_max(&ys) {
        // Room at the top for the note.
        let r = pad_range(lo, hi, 0.08, false);
        c.y_range = Some(r.start..r.end + 0.1 * (r.end - r.start));
    }
    let lower = if m.unit == "dB" || m.unit == "fraction" { "lower = more private; " } else { "" };
    c.note = Some(format!("{lower}right of the dotted line: costs at most 1 point"));
    Some(c)
}

/// The mean of `levels` and the first label, when they agree to 1% (a level that differs between cells,
/// e.g. the encoded data read as raw, which depends on the noise, is no one line: report.md lists it).
fn common_level(levels: &[&Reference]) -> Option<(f64, Option<String>)> {
    let values: Vec<f64> = levels.iter().map(|l| l.value).collect();
    let (lo, hi) = min_max(&values)?;
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    (hi - lo <= 0.01 * mean.abs().max(1e-9)).then(|| (mean, levels.iter().find_map(|l| l.label.clone())))
}

fn fmt_level(v: f64, unit: &str) -> String {
    match unit {
        "%" => format!("{v:.1}%"),
        u => format!("{v:.1} {u}"),
    }
}

/// Write the figures and report.md into `root` (figures in `root/figures`). `metric` and `group` are
/// already resolved ([`choose_metric`], [`choose_group`]).
pub(crate) fn render(
    root: &Path,
    t: &SweepTable,
    runs: &[SweepRun],
    metric: Option<&MetricChoice>,
    group: Option<&str>,
) -> anyhow::Result<SweepRendered> {
    let dir = root.join("figures");
    std::fs::create_dir_all(&dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let mut figures = Vec::new();
    let mut skipped = Vec::new();
    let size = (style::WIDTH, style::HEIGHT + 120);
    if delta_rows(t).is_empty() {
        skipped.push("accuracy delta figures: no finished run with a baseline and a protected arm".into());
    } else {
        for (name, chart, caption) in delta_charts(t, runs) {
            figures.push(write(&dir, name, caption, chart, size)?);
        }
    }
    match metric {
        None => skipped.push("frontier: no attack metric in the sweep (no attack ran on a finished run)".into()),
        Some(m) => match frontier_chart(t, m, group) {
            None => skipped.push(format!("frontier: no protected arm has both a delta and `{}`", m.key)),
            Some(chart) => figures.push(write_frontier(&dir, "frontier", chart, m, group)?),
        },
    }
    let finished = runs.len() - t.missing.len();
    let report = root.join("report.md");
    let arms =
        super::sweep_arms::markdown(t, &super::sweep_arms::collect(root, runs, t), &crate::attacks::registry::names());
    let text = report_markdown(t, runs, &arms, &figures, &skipped, metric);
    crate::atomic::write(&report, text.as_bytes())?;
    Ok(SweepRendered { figures, report, skipped, finished, runs: runs.len() })
}

/// The frontier chart of `t` as `dir/NAME.png` + `.svg`. Err: no point has both coordinates.
pub(crate) fn render_frontier(
    dir: &Path,
    name: &str,
    t: &SweepTable,
    m: &MetricChoice,
    group: Option<&str>,
) -> anyhow::Result<FigureFiles> {
    let chart = frontier_chart(t, m, group)
        .ok_or_else(|| anyhow::anyhow!("no protected arm has both an accuracy delta and `{}`", m.key))?;
    write_frontier(dir, name, chart, m, group)
}

fn write_frontier(
    dir: &Path,
    name: &str,
    chart: XyChart,
    m: &MetricChoice,
    group: Option<&str>,
) -> anyhow::Result<FigureFiles> {
    let caption = format!(
        "Privacy/utility frontier: each protected arm and cell at its mean accuracy delta (x) and mean {} \
         `{}` (y), both with 95% t-intervals; coloured by {}. Points right of the dotted line cost at most \
         1 point of accuracy; where their bars overlap, the sweep cannot tell them apart.",
        m.attack,
        m.label,
        group.unwrap_or(GROUP_BY_ARM)
    );
    write(dir, name.to_string(), caption, chart, (style::WIDTH, style::HEIGHT + 200))
}

fn write(dir: &Path, name: String, caption: String, chart: XyChart, size: (u32, u32)) -> anyhow::Result<FigureFiles> {
    let fig = ChartFigure { name: name.clone(), size, body: Body::Xy(chart) };
    let [png, svg] = render_figure(&fig, dir)?;
    Ok(FigureFiles { name, caption, png, svg })
}

/// A mean with its interval, scaled: "78.30 [76.10, 80.50]".
pub(crate) fn with_interval(m: &MeanStats, scale: f64, signed: bool) -> String {
    let f = |x: f64| if signed { format!("{:+.2}", scale * x) } else { format!("{:.2}", scale * x) };
    match m.ci {
        Some(c) => format!("{} [{}, {}]", f(m.mean), f(c.lo), f(c.hi)),
        None => format!("{} (n < 2: no interval)", f(m.mean)),
    }
}

/// report.md of a sweep folder.
pub(crate) fn report_markdown(
    t: &SweepTable,
    runs: &[SweepRun],
    arms_side_by_side: &str,
    figures: &[FigureFiles],
    skipped: &[String],
    metric: Option<&MetricChoice>,
) -> String {
    let mut md = format!("# Sweep {}\n\n", t.name);
    let axes = axes(runs);
    let mut seeds: Vec<u64> = runs.iter().map(|r| r.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let cells = runs.iter().map(|r| r.cell).max().map_or(0, |c| c + 1);
    let _ = writeln!(md, "## What was swept\n");
    if axes.is_empty() {
        let _ = writeln!(md, "- no axes: one cell (the base config's arms)");
    }
    for (p, vs) in &axes {
        let vs: Vec<&str> = vs.iter().map(|v| v.trim_matches('"')).collect();
        let _ = writeln!(md, "- `{p}`: {}", vs.join(", "));
    }
    let _ = writeln!(
        md,
        "- repeats: {} seeds ({}), each run with fresh keys unless the base config fixes one\n- {cells} cells, {} runs; \
         {} finished",
        seeds.len(),
        seeds.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
        runs.len(),
        runs.len() - t.missing.len()
    );
    if !t.missing.is_empty() {
        let _ = writeln!(
            md,
            "\n**Not finished, left out of every number below** ({}): {}. Run the sweep again to finish them.",
            t.missing.len(),
            t.missing.join(", ")
        );
    }
    let _ = writeln!(md, "\n## Test accuracy and paired delta\n\n{}", t.accuracy_markdown());
    let distinct: Vec<String> = delta_rows(t)
        .into_iter()
        .filter(|(_, d)| d.excludes_zero() == Some(true))
        .map(|(r, d)| {
            let cell = r.cell_label();
            let at = if cell.is_empty() { r.arm.clone() } else { format!("{}, {cell}", r.arm) };
            format!("- {at}: {} points (n = {})", with_interval(d, 100.0, true), d.n)
        })
        .collect();
    let _ = writeln!(md, "### Deltas distinguishable from zero (95% interval excludes 0)\n");
    if distinct.is_empty() {
        let _ = writeln!(md, "None: every protected arm's accuracy delta is within noise of 0 at this n.\n");
    } else {
        let _ = writeln!(md, "{}\n", distinct.join("\n"));
    }
    if !arms_side_by_side.is_empty() {
        let _ = writeln!(md, "## Arms side by side: accuracy, traffic, time and verdicts\n\n{arms_side_by_side}");
    }
    let attack_rows: Vec<&SweepRow> = t.rows.iter().filter(|r| r.metric != ACCURACY).collect();
    if !attack_rows.is_empty() {
        let _ = writeln!(md, "## Attack metrics (headline of each attack)\n");
        let _ = writeln!(md, "| cell | arm | metric | unit | n | mean [95% CI] | without the attack (record's `chance`) | reference (record's `baseline`) |\n|---|---|---|---|---:|---:|---:|---:|");
        for r in attack_rows {
            let scale = 1.0;
            let lvl = |x: &Option<Reference>| x.as_ref().map_or(String::new(), |l| format!("{:.3}", l.value));
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                r.cell_label(),
                r.arm,
                r.metric,
                r.unit,
                r.stats.n,
                with_interval(&r.stats, scale, false),
                lvl(&r.chance),
                lvl(&r.reference)
            );
        }
        md.push('\n');
    }
    let _ = writeln!(md, "## Figures\n");
    if let Some(m) = metric {
        let _ =
            writeln!(md, "Frontier metric: `{}` ({}; `ppdl plot DIR --metric NAME` picks another).\n", m.key, m.unit);
    }
    for f in figures {
        let png = f.png.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let svg = f.svg.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let _ = writeln!(
            md,
            "### {}\n\n![{}](figures/{png})\n\n{} ([PNG](figures/{png}), [SVG](figures/{svg}))\n",
            f.name, f.name, f.caption
        );
    }
    for s in skipped {
        let _ = writeln!(md, "- not drawn: {s}");
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::stats::mean_interval;

    #[test]
    fn axes_are_numeric_log_or_named_columns() {
        let a = AxisLayout::of(vec!["0.05".into(), "0.1".into(), "0.2".into()]);
        assert_eq!(a.numeric, Some(vec![0.05, 0.1, 0.2]));
        assert!(!a.log);
        assert_eq!(a.x("0.1"), Some(0.1));
        let l = AxisLayout::of(vec!["100".into(), "1000".into(), "10000".into()]);
        assert!(l.log);
        let c = AxisLayout::of(vec!["\"pixel-permutation\"".into(), "\"fast-mix\"".into()]);
        assert!(c.numeric.is_none());
        assert_eq!(c.labels, ["pixel-permutation", "fast-mix"]);
        assert_eq!(c.x("\"fast-mix\""), Some(1.0));
        // Dodged series stay inside their column (named) or well within the smallest gap (numeric).
        let xs: Vec<f64> = (0..3).map(|i| c.dodge(1.0, i, 3)).collect();
        assert!(xs[0] < xs[1] && xs[1] < xs[2] && xs[0] > 0.5 && xs[2] < 1.5, "{xs:?}");
        assert_eq!(c.dodge(1.0, 0, 1), 1.0);
        let d = a.dodge(0.1, 1, 2) - 0.1;
        assert!(d > 0.0 && d < 0.05 / 2.0, "{d}");
        assert!(l.dodge(1000.0, 0, 2) < 1000.0 && l.dodge(1000.0, 0, 2) > 500.0);
    }

    fn row(cell: usize, axes: &[(&str, &str)], arm: &str, metric: &str, xs: &[f64], delta: Option<&[f64]>) -> SweepRow {
        SweepRow {
            cell,
            axes: axes.iter().map(|(p, v)| (p.to_string(), v.to_string())).collect(),
            arm: arm.into(),
            metric: metric.into(),
            unit: if metric == ACCURACY { "fraction".into() } else { "dB".into() },
            stats: mean_interval(xs),
            paired_delta: delta.map(mean_interval),
            chance: (metric != ACCURACY)
                .then(|| Reference { value: 10.6, label: Some("no attack: the adversary's mean public image".into()) }),
            reference: None,
        }
    }

    fn table() -> SweepTable {
        let ax = |v: &'static str| [("privacy.transforms.0.sigma", v)];
        let mut rows = Vec::new();
        for (cell, s, d, psnr) in [(0, "0.05", -0.002, 22.0), (1, "0.1", -0.008, 19.0), (2, "0.2", -0.03, 15.0)] {
            rows.push(row(cell, &ax(s), "baseline", ACCURACY, &[0.82, 0.83, 0.81], None));
            rows.push(row(cell, &ax(s), "private", ACCURACY, &[0.8, 0.81, 0.8], Some(&[d - 0.004, d, d + 0.004])));
            rows.push(row(
                cell,
                &ax(s),
                "private",
                "inversion:PSNR of unseen data at n=500 (decoder)",
                &[psnr, psnr + 1.0, psnr - 1.0],
                None,
            ));
            rows.push(row(
                cell,
                &ax(s),
                "private",
                "known-plaintext:PSNR of unseen data at n=500 (least squares)",
                &[psnr + 5.0, psnr + 6.0, psnr + 4.0],
                None,
            ));
        }
        SweepTable { name: "t".into(), runs: 9, missing: vec![], rows }
    }

    #[test]
    fn the_frontier_takes_the_strongest_reconstruction_attack_and_refuses_unknown_metrics() {
        let t = table();
        let m = choose_metric(&t, None, Path::new("s")).unwrap().unwrap();
        assert_eq!(m.attack, "known-plaintext");
        assert_eq!(m.key, "known-plaintext");
        let e = format!("{:#}", choose_metric(&t, Some("ssim"), Path::new("s")).unwrap_err());
        assert!(
            e.contains("--metric `ssim`") && e.contains("inversion, known-plaintext") && e.contains("inversion:PSNR"),
            "{e}"
        );
        let exact = choose_metric(&t, Some("inversion:PSNR of unseen data at n=500 (decoder)"), Path::new("s"))
            .unwrap()
            .unwrap();
        assert_eq!(exact.label, "PSNR of unseen data at n=500 (decoder)");
        let c = frontier_chart(&t, &m, Some("privacy.transforms.0.sigma")).unwrap();
        let groups: Vec<&str> =
            c.series.iter().filter(|s| s.line == LineKind::None).map(|s| s.label.as_str()).collect();
        assert_eq!(groups, ["sigma = 0.05", "sigma = 0.1", "sigma = 0.2"]);
        // Interval bars: one horizontal and one vertical per point.
        assert_eq!(c.series.iter().filter(|s| s.points.len() == 2 && s.line == LineKind::Solid).count(), 6);
        assert!(c.vlines.iter().any(|v| v.x == COST_LINE_POINTS) && c.vlines.iter().any(|v| v.x == 0.0));
        assert!(c.hlines.iter().any(|h| (h.y - 10.6).abs() < 1e-9 && h.label.contains("no attack")));
        assert!(c.x_range().contains(&-3.5) && c.x_range().contains(&0.0));
        assert!(c.title.as_deref().unwrap().contains("n = 3"));
    }

    #[test]
    fn an_arm_along_the_one_numeric_axis_is_joined_in_the_axis_order() {
        let mut t = table();
        // Rows in another order than the axis: the curve must still follow sigma.
        t.rows.reverse();
        let m = choose_metric(&t, None, Path::new("s")).unwrap().unwrap();
        let c = frontier_chart(&t, &m, None).unwrap();
        let curve = c.series.iter().find(|s| s.label == "arm = private").expect("the arm's series");
        assert_eq!(curve.line, LineKind::Solid);
        let ys: Vec<f64> = curve.points.iter().map(|p| p.1).collect();
        assert_eq!(ys, [27.0, 24.0, 20.0], "sigma 0.05, 0.1, 0.2 in order");
        // Grouped by the axis itself there is no other axis to order by: points stand alone.
        let by_sigma = frontier_chart(&t, &m, Some("privacy.transforms.0.sigma")).unwrap();
        assert!(by_sigma.series.iter().filter(|s| s.label.starts_with("sigma =")).all(|s| s.line == LineKind::None));
    }

    #[test]
    fn group_by_takes_arm_an_axis_or_its_last_part() {
        let run = |cell: usize, v: &str| SweepRun {
            name: format!("r{cell}"),
            cell,
            repeat: 0,
            seed: 1,
            axes: vec![("privacy.transforms.0.sigma".into(), v.into()), ("train.epochs".into(), "2".into())],
            overrides: vec![],
            folder: PathBuf::from("runs/x"),
            baseline_from: None,
        };
        let runs = [run(0, "0.1"), run(1, "0.2")];
        assert_eq!(choose_group(&runs, None).unwrap().as_deref(), Some("privacy.transforms.0.sigma"));
        assert_eq!(choose_group(&runs, Some("epochs")).unwrap().as_deref(), Some("train.epochs"));
        assert_eq!(choose_group(&runs, Some("arm")).unwrap(), None);
        let e = format!("{:#}", choose_group(&runs, Some("lr")).unwrap_err());
        assert!(e.contains("`privacy.transforms.0.sigma`") && e.contains("arm"), "{e}");
    }

    #[test]
    fn delta_figures_have_a_zero_line_and_bars_per_point() {
        let t = table();
        let runs: Vec<SweepRun> = t
            .rows
            .iter()
            .map(|r| SweepRun {
                name: String::new(),
                cell: r.cell,
                repeat: 0,
                seed: 1,
                axes: r.axes.clone(),
                overrides: vec![],
                folder: PathBuf::new(),
                baseline_from: None,
            })
            .collect();
        let charts = delta_charts(&t, &runs);
        assert_eq!(charts.len(), 1);
        let (name, c, _) = &charts[0];
        assert_eq!(name, "delta-vs-privacy-transforms-0-sigma");
        assert!(c.x_categories.is_empty(), "sigma is numeric");
        assert!(c.hlines.iter().any(|h| h.y == 0.0));
        assert_eq!(c.series.iter().filter(|s| s.points.len() == 2 && s.label.is_empty()).count(), 3);
        assert!(c.y_range().contains(&-3.5) && c.y_range().contains(&0.0));
    }
}
