//! The result record every attack returns, and `attacks.json`.
//!
//! # `RUN_DIR/attacks.json` (format_version 2)
//!
//! ```json
//! {
//!   "format_version": 2,
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
//! | `chance` | number or null | the headline's value without the attack, same unit: chance (1/C) for accuracies, no advantage for fine-tuning, the PSNR of the adversary's mean public image for reconstructions |
//! | `chance_label` | string or null | what `chance` is (absent: plain chance) |
//! | `baseline` | number or null | a reference for the headline (what it is: `baseline_label`), same unit |
//! | `baseline_label` | string or null | what `baseline` measures |
//! | `verdict` | string | one line, plain words |
//! | `level` | string or null | `protects`, `partial-leak` or `broken` ([`super::verdict`]); null when nothing was measured |
//! | `rule` | object or null | how `level` was decided: `criteria` (each `{metric, value, unit, interval?, lower_is_worse, no_attack?, partial_leak_at, broken_at, thresholds, level, note?}`), `deciding` (index of the criterion that decided), and `protects`, `partial_leak`, `broken`: what an adversary can do at each level |
//! | `complete` | bool | false when the attack was stopped early (curves hold the points done so far) |
//! | `seconds` | number | wall time of the attack |
//!
//! Units: `fraction` (0..1), `dB`, `bits`, `samples`, `points` (accuracy difference as a fraction).
//! Every number is finite (PSNR is capped at [`super::metrics::PSNR_CAP_DB`] for exact reconstructions).
//!
//! Format 1 (older runs) had `broken: bool` instead of `level` and `rule`, and a `chance` of 0 dB for
//! reconstructions. It still loads: the rule re-decides each record from its figures, and a record
//! whose figures do not suffice keeps the level its `broken` and verdict text say ([`Level::legacy`]).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::verdict::{Level, Rule};
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
}

impl AttackRecord {
    /// The verdict with its deciding metric: "partial leak (SSIM 0.480 ≥ 0.353)".
    pub fn verdict_cell(&self) -> String {
        super::verdict::verdict_cell(self.level, self.rule.as_ref())
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
    /// Read `attacks.json` of this format or of format 1 (migrated: see the module doc).
    pub fn load(path: &Path) -> anyhow::Result<AttacksFile> {
        let text = std::fs::read_to_string(path).map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
        let bad = |e: serde_json::Error| {
            InputError::in_file(path, format!("line {} column {}: not a ppdl attacks file: {e}", e.line(), e.column()))
        };
        #[derive(Deserialize)]
        struct Version {
            format_version: u32,
        }
        match serde_json::from_str::<Version>(&text).map_err(bad)?.format_version {
            ATTACKS_FORMAT_VERSION => serde_json::from_str(&text).map_err(|e| bad(e).into()),
            1 => Ok(serde_json::from_str::<v1::AttacksFile>(&text).map_err(bad)?.migrate()),
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

    use super::super::recon::{MEAN_PSNR, NO_ATTACK_LABEL};
    use super::super::verdict::{decide, Level};
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
        pub fn migrate(self) -> super::AttacksFile {
            super::AttacksFile {
                format_version: super::ATTACKS_FORMAT_VERSION,
                records: self.records.into_iter().map(AttackRecord::migrate).collect(),
                failures: self.failures,
            }
        }
    }

    impl AttackRecord {
        fn migrate(self) -> super::AttackRecord {
            let Self { name, title, transform, threat_model, parameters, aux_data, curves, headline, figures, .. } =
                self;
            let mut r = super::AttackRecord {
                name,
                title,
                transform,
                threat_model,
                parameters,
                aux_data,
                curves,
                headline,
                figures,
                chance: self.chance,
                chance_label: None,
                baseline: self.baseline,
                baseline_label: self.baseline_label,
                verdict: self.verdict,
                level: None,
                rule: None,
                complete: self.complete,
                seconds: self.seconds,
            };
            // Format 1 gave reconstructions a "chance" of 0 dB; the no-attack PSNR is the mean image's.
            if r.headline.unit == "dB" && r.chance.is_some_and(|c| c <= 0.0) {
                let mean_baseline = r.baseline_label.as_deref().is_some_and(|l| l.contains("mean image"));
                r.chance = r.figure(MEAN_PSNR).or(r.baseline.filter(|_| mean_baseline));
                r.chance_label = r.chance.map(|_| NO_ATTACK_LABEL.to_string());
                if mean_baseline {
                    // Now `chance`; format 2's baseline is the encoded data read as raw, which format 1
                    // recorded only when it was the better of the two.
                    (r.baseline, r.baseline_label) = (None, None);
                }
            }
            if r.headline.unit == "points" && r.chance == Some(0.0) {
                r.chance_label = Some("no advantage".into());
            }
            decide(&mut r);
            if r.level.is_none() {
                r.level = Some(Level::legacy(self.broken, &r.verdict));
            }
            r
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
