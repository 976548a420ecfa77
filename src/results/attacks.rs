//! `attacks.json`: the record every attack returns, its verdict data, and the file. The schema lives
//! here (every reader and writer goes through it); the attacks that fill it and the rule that decides
//! verdicts live in the attacks module.
//!
//! # `RUN_DIR/attacks.json` (format_version 2)
//!
//! ```json
//! {
//!   "format_version": 2,
//!   "records": [ RECORD, ... ],          // canonical attack order, one per attack that ran
//!   "failures": [ {"name", "reason"} ]   // attacks that could not run (absent when none)
//!   "not_applicable": [ {"arm", "name", "reason"} ]   // attacks that do not apply to the arm's scheme
//! }
//! ```
//!
//! RECORD:
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `name` | string | the attack's registered name (`attacks::ATTACKS`), e.g. `key-space`, `known-plaintext` |
//! | `title` | string | a human title for tables and figure captions |
//! | `transform` | string | the privacy settings attacked (`PrivacyConfig::describe`) |
//! | `threat_model` | object | `adversary` (who), `holds` (list: what it holds), `knowledge` (what it knows, e.g. the public scheme but not the key) |
//! | `parameters` | object | the attack's parameters as run (sample counts after clipping, epochs, ...) |
//! | `aux_data` | string | where the adversary's auxiliary data came from (split, sizes, how it was divided) and that it is disjoint from the customer's training data |
//! | `curves` | list | `{label, x_label, y_label, x_log, points: [[x, y], ...]}`; curves of one record that share `x_label` and `y_label` belong on one chart |
//! | `headline` | object | `{metric, value, unit}`: the one figure a table shows |
//! | `figures` | list | further named figures `{metric, value, unit}` (same shape as `headline`) |
//! | `chance` | number or null | the headline's value without the attack, same unit: chance (1/C) for accuracies, no advantage for fine-tuning, the PSNR of the adversary's mean public image for reconstructions |
//! | `chance_label` | string or null | what `chance` is (absent: plain chance) |
//! | `baseline` | number or null | a reference for the headline (what it is: `baseline_label`), same unit |
//! | `baseline_label` | string or null | what `baseline` measures |
//! | `verdict` | string | one line, plain words |
//! | `level` | string or null | `protects`, `partial-leak` or `broken` (decided by `attacks::verdict`); null when nothing was measured |
//! | `rule` | object or null | how `level` was decided: `criteria` (each `{metric, value, unit, interval?, lower_is_worse, no_attack?, partial_leak_at, broken_at, thresholds, level, note?}`), `deciding` (index of the criterion that decided), and `protects`, `partial_leak`, `broken`: what an adversary can do at each level |
//! | `complete` | bool | false when the attack was stopped early (curves hold the points done so far) |
//! | `seconds` | number | wall time of the attack |
//!
//! Units: `fraction` (0..1), `dB`, `bits`, `samples`, `points` (accuracy difference as a fraction).
//! Every number is finite (PSNR is capped at `attacks::metrics::PSNR_CAP_DB` for exact reconstructions).
//!
//! Format 1 (older runs) had `broken: bool` instead of `level` and `rule`, and a `chance` of 0 dB for
//! reconstructions. [`AttacksFile::load`] reads it with no level, keeping `broken` in
//! [`AttackRecord::format_1_broken`]; `attacks::load_file` then re-decides each record from its
//! figures with the one rule set, and a record whose figures do not suffice keeps the level its
//! `broken` and verdict text say ([`Level::legacy`]).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::InputError;

pub const ATTACKS_FORMAT_VERSION: u32 = 2;

/// Who the adversary is and what it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreatModel {
    pub adversary: String,
    pub holds: Vec<String>,
    pub knowledge: String,
}

/// A series to plot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    pub label: String,
    pub x_label: String,
    pub y_label: String,
    /// The x axis spans orders of magnitude (sample counts): draw it logarithmic.
    #[serde(default)]
    pub x_log: bool,
    pub points: Vec<[f64; 2]>,
}

impl Curve {
    pub fn new(label: impl Into<String>, x_label: impl Into<String>, y_label: impl Into<String>, x_log: bool) -> Self {
        Self { label: label.into(), x_label: x_label.into(), y_label: y_label.into(), x_log, points: Vec::new() }
    }

    pub fn push(&mut self, x: f64, y: f64) {
        self.points.push([finite(x), finite(y)]);
    }

    /// The finite (x, y) points, for drawing.
    pub fn xy(&self) -> Vec<(f64, f64)> {
        self.points.iter().filter(|p| p[0].is_finite() && p[1].is_finite()).map(|p| (p[0], p[1])).collect()
    }

    pub fn last_y(&self) -> Option<f64> {
        self.points.last().map(|p| p[1])
    }
}

/// One named figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub metric: String,
    pub value: f64,
    pub unit: String,
}

impl Figure {
    pub fn new(metric: impl Into<String>, value: f64, unit: impl Into<String>) -> Self {
        Self { metric: metric.into(), value: finite(value), unit: unit.into() }
    }
}

/// What one attack found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttackRecord {
    /// The arm attacked (format 1 and run-format-1 files: the one keyed arm, `private`).
    #[serde(default = "private_arm")]
    pub arm: String,
    pub name: String,
    pub title: String,
    pub transform: String,
    pub threat_model: ThreatModel,
    pub parameters: serde_json::Map<String, serde_json::Value>,
    pub aux_data: String,
    pub curves: Vec<Curve>,
    pub headline: Figure,
    #[serde(default)]
    pub figures: Vec<Figure>,
    pub chance: Option<f64>,
    #[serde(default)]
    pub chance_label: Option<String>,
    pub baseline: Option<f64>,
    pub baseline_label: Option<String>,
    pub verdict: String,
    /// None when nothing was measured (stopped before the first point).
    pub level: Option<Level>,
    /// None for a format-1 record its figures could not re-decide (see the module doc).
    pub rule: Option<Rule>,
    pub complete: bool,
    pub seconds: f64,
    /// Format 1 only: its `broken` flag, until `attacks::load_file` re-decides the record.
    #[serde(skip)]
    pub format_1_broken: Option<bool>,
}

impl AttackRecord {
    /// A record with nothing measured yet: the attack then sets its parameters, curves, figures and
    /// verdict.
    pub fn new(
        name: impl Into<String>,
        title: impl Into<String>,
        transform: impl Into<String>,
        threat_model: ThreatModel,
        aux_data: impl Into<String>,
    ) -> AttackRecord {
        AttackRecord {
            arm: String::new(),
            name: name.into(),
            title: title.into(),
            transform: transform.into(),
            threat_model,
            parameters: serde_json::Map::new(),
            aux_data: aux_data.into(),
            curves: Vec::new(),
            headline: Figure::new("", 0.0, ""),
            figures: Vec::new(),
            chance: None,
            chance_label: None,
            baseline: None,
            baseline_label: None,
            verdict: String::new(),
            level: None,
            rule: None,
            complete: true,
            seconds: 0.0,
            format_1_broken: None,
        }
    }

    /// The verdict with its deciding metric: "partial leak (SSIM 0.480 ≥ 0.353)".
    pub fn verdict_cell(&self) -> String {
        verdict_cell(self.level, self.rule.as_ref())
    }

    /// A title for figures and tables (the name when the record has none).
    pub fn display_title(&self) -> String {
        if self.title.is_empty() {
            self.name.clone()
        } else {
            self.title.clone()
        }
    }

    /// A named figure (headline included) by metric name.
    pub fn figure(&self, metric: &str) -> Option<f64> {
        std::iter::once(&self.headline).chain(&self.figures).find(|f| f.metric == metric).map(|f| f.value)
    }

    pub fn curve(&self, label: &str) -> Option<&Curve> {
        self.curves.iter().find(|c| c.label == label)
    }
}

/// An attack that could not run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttackFailure {
    #[serde(default = "private_arm")]
    pub arm: String,
    pub name: String,
    pub reason: String,
}

/// An attack that does not apply to an arm's scheme (a jigsaw solver on a pixel permutation): no
/// failure, nothing to run, and the run is complete without it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotApplicable {
    pub arm: String,
    pub name: String,
    pub reason: String,
}

/// The whole of `attacks.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttacksFile {
    pub format_version: u32,
    pub records: Vec<AttackRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<AttackFailure>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_applicable: Vec<NotApplicable>,
}

impl Default for AttacksFile {
    fn default() -> Self {
        Self {
            format_version: ATTACKS_FORMAT_VERSION,
            records: Vec::new(),
            failures: Vec::new(),
            not_applicable: Vec::new(),
        }
    }
}

impl AttacksFile {
    /// Read `attacks.json` of this format or of format 1 (migrated: see the module doc).
    pub fn load(path: &Path) -> anyhow::Result<AttacksFile> {
        let text = std::fs::read_to_string(path).map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
        let bad = |e: serde_json::Error| {
            let kind = if e.is_syntax() || e.is_eof() { "invalid JSON" } else { "unexpected content" };
            InputError::in_file(
                path,
                format!("line {} column {}: {kind}: expected a ppdl attacks file: {e}", e.line(), e.column()),
            )
        };
        #[derive(Deserialize)]
        struct Version {
            format_version: u32,
        }
        match serde_json::from_str::<Version>(&text).map_err(bad)?.format_version {
            ATTACKS_FORMAT_VERSION => serde_json::from_str(&text).map_err(|e| bad(e).into()),
            1 => Ok(serde_json::from_str::<v1::AttacksFile>(&text).map_err(bad)?.into_current()),
            found => Err(InputError::in_file(
                path,
                format!("field `format_version`: expected 1 or {ATTACKS_FORMAT_VERSION}, found {found}"),
            )
            .into()),
        }
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        crate::atomic::write_json(path, self)
    }

    /// Replace the records (and failures) of the (arm, attack) pairs in `newer`, keep the others, and
    /// keep the arms' order of first appearance and the canonical attack order within each (`rank`:
    /// an attack's position in it, `attacks::registry::rank`).
    pub fn merge(&mut self, newer: AttacksFile, rank: impl Fn(&str) -> usize) {
        let pairs: Vec<(String, String)> = newer
            .records
            .iter()
            .map(|r| (r.arm.clone(), r.name.clone()))
            .chain(newer.failures.iter().map(|f| (f.arm.clone(), f.name.clone())))
            .chain(newer.not_applicable.iter().map(|f| (f.arm.clone(), f.name.clone())))
            .collect();
        let replaced = |arm: &str, name: &str| pairs.iter().any(|(a, n)| a == arm && n == name);
        self.records.retain(|r| !replaced(&r.arm, &r.name));
        self.failures.retain(|f| !replaced(&f.arm, &f.name));
        self.not_applicable.retain(|f| !replaced(&f.arm, &f.name));
        let mut arms: Vec<String> = self.arms().into_iter().map(str::to_string).collect();
        for arm in newer.arms() {
            if !arms.iter().any(|a| a == arm) {
                arms.push(arm.to_string());
            }
        }
        self.records.extend(newer.records);
        self.failures.extend(newer.failures);
        self.not_applicable.extend(newer.not_applicable);
        let arm_rank = |arm: &str| arms.iter().position(|a| a == arm).unwrap_or(usize::MAX);
        self.records.sort_by_key(|r| (arm_rank(&r.arm), rank(&r.name)));
        self.failures.sort_by_key(|f| (arm_rank(&f.arm), rank(&f.name)));
        self.not_applicable.sort_by_key(|f| (arm_rank(&f.arm), rank(&f.name)));
    }

    /// Why attack `name` does not apply to arm `arm`, if it does not.
    pub fn not_applicable(&self, arm: &str, name: &str) -> Option<&NotApplicable> {
        self.not_applicable.iter().find(|f| f.arm == arm && f.name == name)
    }

    /// The record of attack `name` on arm `arm`.
    pub fn record(&self, arm: &str, name: &str) -> Option<&AttackRecord> {
        self.records.iter().find(|r| r.arm == arm && r.name == name)
    }

    /// The arms with records, failures or attacks that do not apply, in file order.
    pub fn arms(&self) -> Vec<&str> {
        let mut arms: Vec<&str> = Vec::new();
        let named = self.records.iter().map(|r| r.arm.as_str()).chain(self.failures.iter().map(|f| f.arm.as_str()));
        for arm in named.chain(self.not_applicable.iter().map(|f| f.arm.as_str())) {
            if !arms.contains(&arm) {
                arms.push(arm);
            }
        }
        arms
    }
}

fn private_arm() -> String {
    crate::config::PRIVATE_ARM.into()
}

/// Whether a panel whose y axis reads `y_label` shows values in a headline's `unit` (the unit of
/// `chance` and `baseline`), so that those can be drawn on it.
pub fn unit_matches(unit: &str, y_label: &str) -> bool {
    let y = y_label.to_lowercase();
    match unit.to_lowercase().as_str() {
        "db" => y.contains("psnr") || y.contains("(db)"),
        "fraction" => {
            (y.contains("accuracy") || y.contains("fraction") || y.contains("recovered")) && !y.contains("difference")
        }
        "points" => y.contains("difference") || y.contains("advantage"),
        "bits" => y.contains("bits"),
        "ssim" => y.contains("ssim"),
        "mse" => y.contains("mse"),
        _ => false,
    }
}

/// attacks.json format 1: `broken: bool` instead of `level` and `rule`.
mod v1 {
    use serde::Deserialize;

    use super::{AttackFailure, Curve, Figure, ThreatModel};

    #[derive(Deserialize)]
    pub struct AttacksFile {
        records: Vec<AttackRecord>,
        #[serde(default)]
        failures: Vec<AttackFailure>,
    }

    #[derive(Deserialize)]
    struct AttackRecord {
        name: String,
        title: String,
        transform: String,
        threat_model: ThreatModel,
        parameters: serde_json::Map<String, serde_json::Value>,
        aux_data: String,
        curves: Vec<Curve>,
        headline: Figure,
        #[serde(default)]
        figures: Vec<Figure>,
        chance: Option<f64>,
        baseline: Option<f64>,
        baseline_label: Option<String>,
        verdict: String,
        broken: bool,
        complete: bool,
        seconds: f64,
    }

    impl AttacksFile {
        /// The records as format 2 without a verdict yet (`attacks::load_file` decides them).
        pub fn into_current(self) -> super::AttacksFile {
            super::AttacksFile {
                format_version: super::ATTACKS_FORMAT_VERSION,
                records: self.records.into_iter().map(AttackRecord::into_current).collect(),
                failures: self.failures,
                not_applicable: Vec::new(),
            }
        }
    }

    impl AttackRecord {
        fn into_current(self) -> super::AttackRecord {
            super::AttackRecord {
                arm: super::private_arm(),
                name: self.name,
                title: self.title,
                transform: self.transform,
                threat_model: self.threat_model,
                parameters: self.parameters,
                aux_data: self.aux_data,
                curves: self.curves,
                headline: self.headline,
                figures: self.figures,
                chance: self.chance,
                chance_label: None,
                baseline: self.baseline,
                baseline_label: self.baseline_label,
                verdict: self.verdict,
                level: None,
                rule: None,
                complete: self.complete,
                seconds: self.seconds,
                format_1_broken: Some(self.broken),
            }
        }
    }
}

/// serde_json writes non-finite numbers as null, which would not read back: clamp them.
pub fn finite(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(-1e300, 1e300)
    }
}

/// How an attack turned out for the scheme, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    Protects,
    PartialLeak,
    Broken,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Protects, Level::PartialLeak, Level::Broken];

    pub fn label(self) -> &'static str {
        match self {
            Level::Protects => "protects",
            Level::PartialLeak => "partial leak",
            Level::Broken => "broken",
        }
    }

    /// The level of a format-1 record whose figures do not let the rule decide: it recorded only
    /// `broken`, and said "partial leak" (or "leaks a little") only in its verdict text.
    pub fn legacy(broken: bool, verdict: &str) -> Level {
        let text = verdict.to_ascii_lowercase();
        if broken {
            Level::Broken
        } else if text.starts_with("partial") || text.contains("partial leak") || text.contains("leaks a little") {
            Level::PartialLeak
        } else {
            Level::Protects
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// One measured metric with its thresholds, as applied in one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Criterion {
    /// Short name for tables ("recognised", "SSIM", "key bits").
    pub metric: String,
    pub value: f64,
    /// `fraction` (shown as %), `points` (a fraction shown as points), `bits`, `dimensions`, or empty (a
    /// plain number such as SSIM).
    pub unit: String,
    /// 95% interval of `value` (sampling error of the evaluation set), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<[f64; 2]>,
    /// Smaller values are worse for the scheme (key bits).
    #[serde(default)]
    pub lower_is_worse: bool,
    /// The value without the attack (chance, the mean image, no advantage), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_attack: Option<f64>,
    pub partial_leak_at: f64,
    pub broken_at: f64,
    /// How the thresholds follow from the rule and this run's references, in words with numbers.
    pub thresholds: String,
    /// The level this criterion reaches.
    pub level: Level,
    /// Why the level is not what the thresholds alone say (an interval that includes no attack).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Criterion {
    /// "partial leak ≥ 27.2%, broken ≥ 60.7% (a quarter / three quarters of the way from ...)", with the
    /// note when the interval overruled them.
    pub fn thresholds_text(&self) -> String {
        let op = if self.lower_is_worse { "<" } else { "≥" };
        let note = self.note.as_ref().map(|n| format!("; {n}")).unwrap_or_default();
        format!(
            "partial leak {op} {}, broken {op} {} ({}){note}",
            fmt_value(self.partial_leak_at, &self.unit),
            fmt_value(self.broken_at, &self.unit),
            self.thresholds
        )
    }

    /// "recognised 67.6% (95% interval 63.4% – 71.6%)": the value with its interval, if any.
    pub fn value_text(&self) -> String {
        let f = |v: f64| fmt_value(v, &self.unit);
        match self.interval {
            Some([lo, hi]) => format!("{} {} (95% interval {} – {})", self.metric, f(self.value), f(lo), f(hi)),
            None => format!("{} {}", self.metric, f(self.value)),
        }
    }

    /// "recognised 66.8% ≥ 60.6%": the value against the threshold that placed it.
    pub fn comparison(&self) -> String {
        let v = fmt_value(self.value, &self.unit);
        if self.note.is_some() {
            let [lo, hi] = self.interval.unwrap_or([self.value, self.value]);
            return format!(
                "{} {v}, 95% interval {} – {} includes no attack",
                self.metric,
                fmt_value(lo, &self.unit),
                fmt_value(hi, &self.unit)
            );
        }
        let (worse, better) = if self.lower_is_worse { ("<", "≥") } else { ("≥", "<") };
        let (op, t) = match self.level {
            Level::Broken => (worse, self.broken_at),
            Level::PartialLeak => (worse, self.partial_leak_at),
            Level::Protects => (better, self.partial_leak_at),
        };
        format!("{} {v} {op} {}", self.metric, fmt_value(t, &self.unit))
    }
}

/// An attack's rule as applied in one run: its criteria, the one that decided, and what an adversary
/// can do at each level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub criteria: Vec<Criterion>,
    /// Index in `criteria` of the criterion that decided the level (the first to reach the worst).
    pub deciding: usize,
    pub protects: String,
    pub partial_leak: String,
    pub broken: String,
}

impl Rule {
    pub fn level(&self) -> Level {
        self.deciding().map_or(Level::Protects, |c| c.level)
    }

    pub fn deciding(&self) -> Option<&Criterion> {
        self.criteria.get(self.deciding)
    }

    /// What an adversary can do at `level`.
    pub fn meaning(&self, level: Level) -> &str {
        match level {
            Level::Protects => &self.protects,
            Level::PartialLeak => &self.partial_leak,
            Level::Broken => &self.broken,
        }
    }
}

/// The verdict with its deciding metric: "partial leak (SSIM 0.480 ≥ 0.353)". `rule` None with a
/// level: a format-1 record the rule could not re-decide; neither: no verdict (nothing measured, or a
/// record from elsewhere without one).
pub fn verdict_cell(level: Option<Level>, rule: Option<&Rule>) -> String {
    match (level, decided_by(level, rule)) {
        (Some(level), Some(why)) => format!("{level} ({why})"),
        _ => "no verdict".into(),
    }
}

/// What decided a verdict: the deciding criterion against its threshold ("SSIM 0.480 ≥ 0.353"), or
/// for a format-1 record the rule it recorded. None without a verdict.
pub fn decided_by(level: Option<Level>, rule: Option<&Rule>) -> Option<String> {
    level?;
    Some(match rule.and_then(Rule::deciding) {
        Some(c) => c.comparison(),
        None => "format-1 record: its own `broken_if`".into(),
    })
}

/// A value in a criterion's unit.
pub fn fmt_value(v: f64, unit: &str) -> String {
    match unit {
        "fraction" => format!("{:.1}%", 100.0 * v),
        "points" => format!("{:+.1} pts", 100.0 * v),
        "bits" | "dimensions" => format!("{v:.0} {unit}").replace(" dimensions", ""),
        "dB" => format!("{v:.1} dB"),
        "" => format!("{v:.3}"),
        u => format!("{v:.3} {u}"),
    }
}
