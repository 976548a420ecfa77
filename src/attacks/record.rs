//! The result record every attack returns, and `attacks.json`.
//!
//! # `RUN_DIR/attacks.json` (format_version 1)
//!
//! ```json
//! {
//!   "format_version": 1,
//!   "records": [ RECORD, ... ],          // canonical attack order, one per attack that ran
//!   "failures": [ {"name", "reason"} ]   // attacks that could not run (absent when none)
//! }
//! ```
//!
//! RECORD:
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `name` | string | `key-space`, `wrong-key`, `fine-tune`, `known-plaintext`, `statistical`, `label-frequency`, `inversion` |
//! | `title` | string | a human title for tables and figure captions |
//! | `transform` | string | the privacy settings attacked (`PrivacyConfig::describe`) |
//! | `threat_model` | object | `adversary` (who), `holds` (list: what it holds), `knowledge` (what it knows, e.g. the public scheme but not the key) |
//! | `parameters` | object | the attack's parameters as run (sample counts after clipping, epochs, ...) |
//! | `aux_data` | string | where the adversary's auxiliary data came from (split, sizes, how it was divided) and that it is disjoint from the customer's training data |
//! | `curves` | list | `{label, x_label, y_label, x_log, points: [[x, y], ...]}`; curves of one record that share `x_label` and `y_label` belong on one chart |
//! | `headline` | object | `{metric, value, unit}`: the one figure a table shows |
//! | `figures` | list | further named figures `{metric, value, unit}` (same shape as `headline`) |
//! | `chance` | number or null | the headline's value for an adversary who knows nothing (e.g. 1/C), same unit |
//! | `baseline` | number or null | a reference for the headline (what it is: `baseline_label`), same unit |
//! | `baseline_label` | string or null | what `baseline` measures |
//! | `verdict` | string | one line, plain words |
//! | `broken` | bool | whether the attack defeats the protection it targets (criterion stated in `parameters.broken_if`) |
//! | `complete` | bool | false when the attack was stopped early (curves hold the points done so far) |
//! | `seconds` | number | wall time of the attack |
//!
//! Units: `fraction` (0..1), `dB`, `bits`, `samples`, `points` (accuracy difference as a fraction).
//! Every number is finite (PSNR is capped at [`super::metrics::PSNR_CAP_DB`] for exact reconstructions).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::InputError;

pub const ATTACKS_FORMAT_VERSION: u32 = 1;

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
    pub baseline: Option<f64>,
    pub baseline_label: Option<String>,
    pub verdict: String,
    pub broken: bool,
    pub complete: bool,
    pub seconds: f64,
}

impl AttackRecord {
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
}

impl Default for AttacksFile {
    fn default() -> Self {
        Self { format_version: ATTACKS_FORMAT_VERSION, records: Vec::new(), failures: Vec::new() }
    }
}

impl AttacksFile {
    pub fn load(path: &Path) -> anyhow::Result<AttacksFile> {
        let text = std::fs::read_to_string(path).map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
        let file: AttacksFile = serde_json::from_str(&text).map_err(|e| {
            InputError::in_file(path, format!("line {} column {}: not a ppdl attacks file: {e}", e.line(), e.column()))
        })?;
        if file.format_version != ATTACKS_FORMAT_VERSION {
            return Err(InputError::in_file(
                path,
                format!("field `format_version`: expected {ATTACKS_FORMAT_VERSION}, found {}", file.format_version),
            )
            .into());
        }
        Ok(file)
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        crate::results::atomic::write_json(path, self)
    }

    /// Replace the records (and failures) of the attacks in `newer`, keep the others, and keep the
    /// canonical attack order.
    pub fn merge(&mut self, newer: AttacksFile) {
        let names: Vec<String> =
            newer.records.iter().map(|r| r.name.clone()).chain(newer.failures.iter().map(|f| f.name.clone())).collect();
        self.records.retain(|r| !names.contains(&r.name));
        self.failures.retain(|f| !names.contains(&f.name));
        self.records.extend(newer.records);
        self.failures.extend(newer.failures);
        let rank = |name: &str| super::AttackKind::from_name(name).map(|k| k as usize).unwrap_or(usize::MAX);
        self.records.sort_by_key(|r| rank(&r.name));
        self.failures.sort_by_key(|f| rank(&f.name));
    }

    pub fn record(&self, name: &str) -> Option<&AttackRecord> {
        self.records.iter().find(|r| r.name == name)
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
