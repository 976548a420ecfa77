//! Everything `plot` reads from a run folder, loaded up front so that bad input is reported before a
//! single file is written.
//!
//! attacks.json and overhead.json are read with this module's own tolerant structs (every field
//! optional, unknown fields ignored), so that small format differences between versions do not stop
//! the figures; a file that is not JSON, or whose fields have the wrong types, is an [`InputError`]
//! naming the file, the line and what was expected. Verdicts are the attacks module's: an
//! attacks.json the typed record reads (format 1 migrated, see [`crate::attacks::record`]) is taken
//! from it, so every front end shows the same level and rule.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::attacks::{Level, Rule};
use crate::error::InputError;
use crate::results::{RunFolder, RunStatus, Summary};
use crate::train::{Arm, MetricRow};

use crate::results::samples::SamplesFile;

/// Who the adversary is and what it holds.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ThreatModel {
    pub adversary: String,
    pub holds: Vec<String>,
    pub knowledge: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Curve {
    pub label: String,
    pub x_label: String,
    pub y_label: String,
    /// Draw the x axis logarithmic (sample counts).
    pub x_log: bool,
    /// `[x, y]` pairs; entries that are not two finite numbers are skipped when drawing.
    pub points: Vec<Vec<Option<f64>>>,
}

impl Curve {
    /// The finite (x, y) points.
    pub fn xy(&self) -> Vec<(f64, f64)> {
        self.points
            .iter()
            .filter_map(|p| match (p.first().copied().flatten(), p.get(1).copied().flatten()) {
                (Some(x), Some(y)) if x.is_finite() && y.is_finite() => Some((x, y)),
                _ => None,
            })
            .collect()
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Headline {
    pub metric: String,
    pub value: Option<f64>,
    pub unit: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AttackRecord {
    pub name: String,
    pub title: String,
    pub transform: String,
    pub threat_model: ThreatModel,
    pub parameters: serde_json::Map<String, serde_json::Value>,
    pub aux_data: String,
    pub curves: Vec<Curve>,
    pub headline: Headline,
    pub figures: Vec<Headline>,
    pub chance: Option<f64>,
    /// What `chance` is (absent: plain chance).
    pub chance_label: Option<String>,
    pub baseline: Option<f64>,
    pub baseline_label: Option<String>,
    pub verdict: String,
    #[serde(deserialize_with = "lenient")]
    pub level: Option<Level>,
    #[serde(deserialize_with = "lenient")]
    pub rule: Option<Rule>,
    /// Format 1's verdict (before `level`).
    pub broken: Option<bool>,
    pub complete: Option<bool>,
    pub seconds: Option<f64>,
}

impl AttackRecord {
    /// A title for figures and tables.
    pub fn display_title(&self) -> String {
        if self.title.is_empty() {
            self.name.clone()
        } else {
            self.title.clone()
        }
    }

    /// A named figure (headline included) by metric name.
    pub fn figure(&self, metric: &str) -> Option<f64> {
        std::iter::once(&self.headline).chain(&self.figures).find(|f| f.metric == metric).and_then(|f| f.value)
    }

    /// The verdict with its deciding metric: "partial leak (SSIM 0.480 ≥ 0.353)".
    pub fn verdict_cell(&self) -> String {
        crate::results::attacks::verdict_cell(self.level, self.rule.as_ref())
    }
}

/// A field that is dropped (None) rather than failing the whole file when it does not read.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AttackFailure {
    pub name: String,
    pub reason: String,
}

/// attacks.json.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AttacksDoc {
    pub format_version: Option<u32>,
    pub records: Vec<AttackRecord>,
    pub failures: Vec<AttackFailure>,
}

impl AttacksDoc {
    pub fn record(&self, name: &str) -> Option<&AttackRecord> {
        self.records.iter().find(|r| r.name == name)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct EncodeCost {
    pub samples: Option<f64>,
    pub seconds: Option<f64>,
    pub samples_per_second: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TrainingCost {
    pub baseline_epoch_seconds: Vec<f64>,
    pub private_epoch_seconds: Vec<f64>,
    pub ratio: Option<f64>,
    /// True when the arms were timed alone (sequential schedule, nothing else running).
    pub clean: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct InferenceCost {
    pub batch_size: Option<f64>,
    pub baseline_forward_ms: Option<f64>,
    pub private_encode_ms: Option<f64>,
    pub private_forward_ms: Option<f64>,
    pub private_decode_ms: Option<f64>,
    pub private_total_ms: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BytesCost {
    pub to_provider_per_sample: Option<f64>,
    pub to_customer_per_sample: Option<f64>,
    pub raw_input_per_sample: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Measured {
    pub encode: Option<EncodeCost>,
    pub training: Option<TrainingCost>,
    pub inference: Option<InferenceCost>,
    pub bytes: Option<BytesCost>,
    pub accuracy_delta: Option<f64>,
    pub peak_memory_bytes: Option<f64>,
}

/// A published figure of another (cryptographic) system: literature, never our measurement.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LiteratureEntry {
    pub system: String,
    pub task: String,
    pub metric: String,
    pub value: Option<f64>,
    pub unit: String,
    pub source: String,
}

/// overhead.json.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OverheadDoc {
    pub format_version: Option<u32>,
    pub measured: Measured,
    pub literature: Vec<LiteratureEntry>,
}

/// One run folder's saved results.
#[derive(Debug, Clone)]
pub struct RunData {
    pub folder: RunFolder,
    pub summary: Summary,
    /// Finished, interrupted, failed or attacks incomplete ([`RunStatus`]).
    pub status: RunStatus,
    pub metrics: Vec<MetricRow>,
    /// config.toml as written by the run (None when the file is missing).
    pub config_text: Option<String>,
    /// None: attacks.json absent (attacks not run).
    pub attacks: Option<AttacksDoc>,
    /// None: overhead.json absent (overhead analysis not run).
    pub overhead: Option<OverheadDoc>,
    /// None: samples.json absent.
    pub samples: Option<SamplesFile>,
}

impl RunData {
    /// Load and check everything `plot` needs; bad input is an [`InputError`] naming the file.
    pub fn load(dir: &Path) -> anyhow::Result<RunData> {
        if !dir.is_dir() {
            return Err(InputError::new(format!("{}: not a folder (expected a ppdl run folder)", dir.display())).into());
        }
        let folder = RunFolder::open(dir)?;
        let summary = folder.load_summary()?;
        let metrics_path = folder.metrics_path();
        if !metrics_path.is_file() {
            return Err(InputError::in_file(
                &metrics_path,
                format!("missing: expected the run's metrics (header `{}`)", crate::results::METRICS_HEADER),
            )
            .into());
        }
        let text = std::fs::read_to_string(&metrics_path)
            .map_err(|e| InputError::in_file(&metrics_path, format!("cannot read: {e}")))?;
        let metrics = crate::results::parse_metrics_csv(&text, &metrics_path)?;
        let config_text = std::fs::read_to_string(folder.config_path()).ok();
        let attacks = load_attacks(&folder.attacks_path())?;
        let overhead: Option<OverheadDoc> = load_optional_json(&folder.overhead_path(), "a ppdl overhead file")?;
        let samples = SamplesFile::load(&SamplesFile::path(&folder))?;
        let status = RunStatus::load(&folder, &summary, &crate::attacks::registry::names());
        Ok(RunData { folder, summary, status, metrics, config_text, attacks, overhead, samples })
    }

    pub fn figures_dir(&self) -> PathBuf {
        self.folder.figures_dir()
    }

    /// Test rows of one arm, in epoch order.
    pub fn test_rows(&self, arm: Arm) -> Vec<&MetricRow> {
        let mut rows: Vec<&MetricRow> = self.metrics.iter().filter(|r| r.arm == arm && r.split == "test").collect();
        rows.sort_by_key(|r| (r.epoch, r.step));
        rows
    }

    /// Train rows of one arm, in step order.
    pub fn train_rows(&self, arm: Arm) -> Vec<&MetricRow> {
        let mut rows: Vec<&MetricRow> = self.metrics.iter().filter(|r| r.arm == arm && r.split == "train").collect();
        rows.sort_by_key(|r| r.step);
        rows
    }

    /// Per-epoch training seconds of each arm: overhead.json's measurement when present, else the summary's.
    pub fn epoch_seconds(&self) -> (Vec<f64>, Vec<f64>, &'static str) {
        if let Some(t) = self.overhead.as_ref().and_then(|o| o.measured.training.as_ref()) {
            if !t.baseline_epoch_seconds.is_empty() || !t.private_epoch_seconds.is_empty() {
                return (t.baseline_epoch_seconds.clone(), t.private_epoch_seconds.clone(), "overhead.json");
            }
        }
        (self.summary.baseline.epoch_seconds.clone(), self.summary.private.epoch_seconds.clone(), "summary.json")
    }

    /// Number of output codes per class, from the summary's privacy description ("m=2"), default 1.
    pub fn codes_per_class(&self) -> usize {
        self.summary
            .privacy
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .find_map(|t| t.strip_prefix("m="))
            .and_then(|v| v.parse().ok())
            .unwrap_or(1)
    }
}

/// attacks.json: through the typed record when it reads (verdicts decided or migrated by the attacks
/// module), else tolerantly, a format-1 `broken` giving the level.
fn load_attacks(path: &Path) -> anyhow::Result<Option<AttacksDoc>> {
    if path.is_file() {
        if let Ok(file) = crate::attacks::load_file(path) {
            let doc = serde_json::to_value(&file).and_then(serde_json::from_value)?;
            return Ok(Some(doc));
        }
    }
    let mut doc: Option<AttacksDoc> = load_optional_json(path, "a ppdl attacks file")?;
    for r in doc.iter_mut().flat_map(|d| d.records.iter_mut()) {
        if r.level.is_none() {
            r.level = r.broken.map(|b| Level::legacy(b, &r.verdict));
        }
    }
    Ok(doc)
}

/// Parse an optional JSON file with tolerant structs: `Ok(None)` when absent.
fn load_optional_json<T: DeserializeOwned>(path: &Path, what: &str) -> anyhow::Result<Option<T>> {
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
    let value: T = serde_json::from_str(&text).map_err(|e| {
        let kind = if e.is_syntax() || e.is_eof() { "invalid JSON" } else { "unexpected content" };
        InputError::in_file(path, format!("line {} column {}: {kind}: expected {what}: {e}", e.line(), e.column()))
    })?;
    Ok(Some(value))
}
