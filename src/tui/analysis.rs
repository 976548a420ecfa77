//! Plain data behind the attacks and overhead views. Filled from events while a run is live, or from
//! the run folder's `attacks.json` / `overhead.json`. Loading is tolerant: a missing file means
//! "not run", and unknown fields are ignored, so the views keep working while those formats evolve.

use std::path::Path;

use serde_json::Value;

use crate::attacks::{AttackRecord, Level};
use crate::overhead::OverheadReport;
use crate::results::attacks::unit_matches;

/// Whether an analysis has results to show.
#[derive(Debug, Clone, PartialEq)]
pub enum Availability {
    /// No run is selected.
    NoRun,
    /// The run has no results for it (file missing).
    NotRun,
    /// Results are arriving; the text says what is being computed.
    Running(String),
    /// Every result is in.
    Done,
    /// The config does not ask for this analysis.
    NotEnabled,
    /// The file exists but could not be read.
    Unreadable(String),
}

/// How an attack turned out for the scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The attack failed: the scheme holds.
    Protects,
    /// The attack recovered something, not everything.
    PartialLeak,
    /// The attack succeeded: the scheme does not protect against it.
    Broken,
    /// A measurement without a verdict (e.g. nothing measured yet).
    Info(String),
    /// The attack could not run.
    Failed(String),
}

impl From<Level> for Verdict {
    fn from(level: Level) -> Verdict {
        match level {
            Level::Protects => Verdict::Protects,
            Level::PartialLeak => Verdict::PartialLeak,
            Level::Broken => Verdict::Broken,
        }
    }
}

impl Verdict {
    pub fn parse(text: &str) -> Verdict {
        match text.trim().to_ascii_lowercase().as_str() {
            "protects" | "resists" | "resisted" | "holds" | "secure" | "safe" | "pass" | "passed" | "protected" => {
                Verdict::Protects
            }
            "partial leak" | "partial-leak" | "partial" | "partially" | "weak" | "degraded" | "some" => {
                Verdict::PartialLeak
            }
            "broken" | "breaks" | "fails" | "failed" | "vulnerable" | "leaks" | "leak" | "recovered" => Verdict::Broken,
            other => Verdict::Info(other.to_string()),
        }
    }

    pub fn label(&self) -> &str {
        match self {
            Verdict::Protects => Level::Protects.label(),
            Verdict::PartialLeak => Level::PartialLeak.label(),
            Verdict::Broken => Level::Broken.label(),
            Verdict::Info(s) if s.is_empty() => "-",
            Verdict::Info(s) => s,
            Verdict::Failed(_) => "failed",
        }
    }
}

/// One named series of an attack's chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// One attack's headline: what it measured and how the scheme fared, plus its curves
/// (e.g. accuracy against the number of samples the adversary holds).
#[derive(Debug, Clone, PartialEq)]
pub struct AttackRow {
    pub name: String,
    pub metric: String,
    pub value: Option<f64>,
    /// `fraction`, `dB`, `bits`, `samples`, `points` or empty.
    pub unit: String,
    /// The value as the producer wants it shown ("6,600 bits", "10.3%"); formatted from `value` when absent.
    pub display: Option<String>,
    pub verdict: Verdict,
    /// The deciding metric against the threshold that placed it ("recognised 66.8% ≥ 60.6%").
    pub decided_by: Option<String>,
    /// The deciding metric's thresholds and how they were set, in words.
    pub thresholds: Option<String>,
    /// What an adversary can do at this verdict's level.
    pub meaning: Option<String>,
    /// What the attack found, in plain words.
    pub detail: String,
    /// Curves sharing one chart (same axes).
    pub curves: Vec<Series>,
    pub x_label: String,
    pub y_label: String,
    /// The x axis spans orders of magnitude: plot it logarithmically.
    pub x_log: bool,
    /// The headline's value without the attack (chance, the mean image's PSNR), drawn as a reference
    /// line when the chart is in the headline's unit.
    pub chance: Option<f64>,
    /// What `chance` is ("chance", "no attack: ...").
    pub chance_label: String,
    /// False when the attack was stopped early.
    pub complete: bool,
}

impl AttackRow {
    pub fn new(name: &str, metric: &str, value: f64, verdict: Verdict) -> AttackRow {
        AttackRow {
            name: name.into(),
            metric: metric.into(),
            value: Some(value),
            unit: String::new(),
            display: None,
            verdict,
            decided_by: None,
            thresholds: None,
            meaning: None,
            detail: String::new(),
            curves: vec![],
            x_label: String::new(),
            y_label: String::new(),
            x_log: false,
            chance: None,
            chance_label: "chance".into(),
            complete: true,
        }
    }

    /// An attack that could not run.
    pub fn failed(name: &str, reason: &str) -> AttackRow {
        let mut row = AttackRow::new(name, "", 0.0, Verdict::Failed(reason.into()));
        row.value = None;
        row.detail = reason.into();
        row
    }

    /// An attack under way (shown until its record arrives).
    pub fn running(name: &str) -> AttackRow {
        let mut row = AttackRow::new(name, "", 0.0, Verdict::Info("running".into()));
        row.value = None;
        row
    }

    /// The verdict with its deciding metric, as tables show it.
    pub fn verdict_text(&self) -> String {
        match &self.decided_by {
            Some(d) => format!("{} ({d})", self.verdict.label()),
            None => self.verdict.label().to_string(),
        }
    }

    /// The no-attack reference, when the chart shows the headline's unit.
    pub fn chart_reference(&self) -> Option<f64> {
        self.chance.filter(|_| unit_matches(&self.unit, &self.y_label))
    }

    pub fn value_text(&self) -> String {
        let text = match (&self.display, self.value) {
            (Some(d), _) => d.clone(),
            (None, Some(v)) => format_with_unit(&self.metric, &self.unit, v),
            (None, None) => "-".into(),
        };
        if self.complete {
            text
        } else {
            format!("{text} (partial)")
        }
    }
}

impl From<&AttackRecord> for AttackRow {
    fn from(r: &AttackRecord) -> AttackRow {
        let first = r.curves.first();
        // Curves of one record that share axis labels belong on one chart: keep the first chart's.
        let curves = r
            .curves
            .iter()
            .filter(|c| first.is_some_and(|f| f.x_label == c.x_label && f.y_label == c.y_label))
            .map(|c| Series { label: c.label.clone(), points: c.points.iter().map(|p| (p[0], p[1])).collect() })
            .collect();
        let deciding = r.rule.as_ref().and_then(|rule| rule.deciding());
        let decided_by = crate::results::attacks::decided_by(r.level, r.rule.as_ref());
        let thresholds = deciding.map(|c| c.thresholds_text());
        AttackRow {
            name: r.name.clone(),
            metric: r.headline.metric.clone(),
            value: Some(r.headline.value),
            unit: r.headline.unit.clone(),
            display: None,
            verdict: r.level.map_or(Verdict::Info("no verdict".into()), Verdict::from),
            decided_by,
            thresholds,
            meaning: r.rule.as_ref().zip(r.level).map(|(rule, level)| rule.meaning(level).to_string()),
            detail: r.verdict.clone(),
            curves,
            x_label: first.map(|c| c.x_label.clone()).unwrap_or_default(),
            y_label: first.map(|c| c.y_label.clone()).unwrap_or_default(),
            x_log: first.is_some_and(|c| c.x_log),
            chance: r.chance,
            chance_label: r.chance_label.clone().unwrap_or_else(|| "chance".into()),
            complete: r.complete,
        }
    }
}

/// The attack results of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Attacks {
    pub status: Availability,
    pub rows: Vec<AttackRow>,
    /// The attack running now: (name, done, total) in its own units.
    pub progress: Option<(String, usize, usize)>,
}

impl Default for Attacks {
    fn default() -> Self {
        Attacks { status: Availability::NoRun, rows: vec![], progress: None }
    }
}

impl Attacks {
    pub fn with_status(status: Availability) -> Attacks {
        Attacks { status, ..Attacks::default() }
    }

    /// `RUN_DIR/attacks.json`: ppdl's format, or failing that any similar shape (tolerant).
    pub fn load(path: &Path) -> Attacks {
        if let Ok(file) = crate::attacks::load_file(path) {
            let mut rows: Vec<AttackRow> = file.records.iter().map(AttackRow::from).collect();
            rows.extend(file.failures.iter().map(|f| AttackRow::failed(&f.name, &f.reason)));
            return Attacks { status: Availability::Done, rows, progress: None };
        }
        match read_json(path) {
            Err(status) => Attacks::with_status(status),
            Ok(value) => Attacks { status: Availability::Done, rows: parse_attacks(&value), progress: None },
        }
    }

    /// An attack began: list it as running.
    pub fn started(&mut self, name: &str) {
        self.status = Availability::Running(name.into());
        self.progress = Some((name.into(), 0, 0));
        if !self.rows.iter().any(|r| r.name == name) {
            self.rows.push(AttackRow::running(name));
        }
    }

    /// Add a finished attack (or replace the one with the same name).
    pub fn upsert(&mut self, row: AttackRow) {
        match self.rows.iter_mut().find(|r| r.name == row.name) {
            Some(r) => *r = row,
            None => self.rows.push(row),
        }
    }
}

/// One measured quantity, baseline against private.
#[derive(Debug, Clone, PartialEq)]
pub struct OverheadRow {
    pub quantity: String,
    pub unit: String,
    pub baseline: Option<f64>,
    pub private: Option<f64>,
    /// A cost (time, bytes): more is worse, so private / baseline - 1 is the extra cost. False for
    /// rates and deltas, which the extra-cost chart leaves out.
    pub cost: bool,
}

impl OverheadRow {
    pub fn new(quantity: &str, unit: &str, baseline: Option<f64>, private: Option<f64>) -> OverheadRow {
        OverheadRow { quantity: quantity.into(), unit: unit.into(), baseline, private, cost: true }
    }

    /// A row that is not a cost (throughput, accuracy delta, memory of the whole process).
    pub fn figure(quantity: &str, unit: &str, baseline: Option<f64>, private: Option<f64>) -> OverheadRow {
        OverheadRow { cost: false, ..OverheadRow::new(quantity, unit, baseline, private) }
    }

    /// private / baseline, when both are known and the baseline is not zero.
    pub fn ratio(&self) -> Option<f64> {
        match (self.baseline, self.private) {
            (Some(b), Some(p)) if b != 0.0 && b.is_finite() && p.is_finite() => Some(p / b),
            _ => None,
        }
    }
}

/// A published figure of a cryptographic approach (never our measurement).
#[derive(Debug, Clone, PartialEq)]
pub struct LiteratureRow {
    pub system: String,
    pub quantity: String,
    pub value: String,
    pub source: String,
}

/// The overhead analysis of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Overhead {
    pub status: Availability,
    pub rows: Vec<OverheadRow>,
    pub literature: Vec<LiteratureRow>,
    /// How to read the measurements (shared machine, noisy load, ...).
    pub notes: Vec<String>,
}

impl Default for Overhead {
    fn default() -> Self {
        Overhead::with_status(Availability::NoRun)
    }
}

impl Overhead {
    pub fn with_status(status: Availability) -> Overhead {
        Overhead { status, rows: vec![], literature: vec![], notes: vec![] }
    }

    /// `RUN_DIR/overhead.json`: ppdl's format, or failing that any similar shape (tolerant).
    pub fn load(path: &Path) -> Overhead {
        let typed = std::fs::read_to_string(path).ok().and_then(|t| serde_json::from_str::<OverheadReport>(&t).ok());
        if let Some(report) = typed {
            return Overhead::from(&report);
        }
        match read_json(path) {
            Err(status) => Overhead::with_status(status),
            Ok(value) => {
                let (rows, literature) = parse_overhead(&value);
                Overhead { status: Availability::Done, rows, literature, notes: vec![] }
            }
        }
    }

    pub fn upsert(&mut self, row: OverheadRow) {
        match self.rows.iter_mut().find(|r| r.quantity == row.quantity) {
            Some(r) => *r = row,
            None => self.rows.push(row),
        }
    }
}

impl From<&OverheadReport> for Overhead {
    fn from(r: &OverheadReport) -> Overhead {
        let m = &r.measured;
        let (t, inf, b) = (&m.training, &m.inference, &m.bytes);
        // Medians, so that this row's ratio is the one training-time ratio
        // (crate::overhead::training_time_ratio).
        let median = crate::overhead::median;
        let rows = vec![
            OverheadRow::new(
                "train s/epoch (median)",
                "s",
                median(&t.baseline_epoch_seconds),
                median(&t.private_epoch_seconds),
            ),
            OverheadRow::figure(
                "train throughput",
                "samples/s",
                Some(t.baseline_samples_per_second),
                Some(t.private_samples_per_second),
            ),
            OverheadRow::new(
                &format!("inference, batch {}", inf.batch.batch_size),
                "ms",
                Some(inf.batch.baseline_forward_ms),
                Some(inf.batch.private_total_ms),
            ),
            OverheadRow::new(
                "inference, 1 sample",
                "ms",
                Some(inf.single_sample.baseline_forward_ms),
                Some(inf.single_sample.private_total_ms),
            ),
            OverheadRow::new(
                "bytes to provider/sample",
                "B",
                Some(b.raw_input_per_sample as f64),
                Some(b.to_provider_per_sample as f64),
            ),
            OverheadRow::new(
                "bytes to customer/sample",
                "B",
                Some(b.raw_output_per_sample as f64),
                Some(b.to_customer_per_sample as f64),
            ),
            OverheadRow::figure("customer encode, train set", "s", None, Some(m.encode.seconds)),
            OverheadRow::figure("encode throughput", "samples/s", None, Some(m.encode.samples_per_second)),
            OverheadRow::figure("accuracy delta", "pts", None, Some(100.0 * m.accuracy_delta)),
            OverheadRow::figure(
                "peak memory (process)",
                "MiB",
                None,
                m.peak_memory_bytes.map(|x| x as f64 / (1024.0 * 1024.0)),
            ),
        ];
        let mut notes = Vec::new();
        if !t.clean {
            notes.push("arms shared the machine (parallel): a sequential schedule gives clean timings".into());
        }
        if let Some(load) = m.context.load_average_1m.filter(|l| *l > m.context.threads as f64) {
            notes.push(format!(
                "load average {load:.1} on {} threads when measured: timings are noisy",
                m.context.threads
            ));
        }
        let literature = r
            .literature
            .iter()
            .map(|e| LiteratureRow {
                system: e.system.clone(),
                quantity: e.metric.clone(),
                value: format!("{} {}", format_number(e.value), e.unit),
                // The venue part of the citation ("ICML 2016 (PMLR 48), abstract").
                source: e.source.rsplit(". ").next().unwrap_or(&e.source).to_string(),
            })
            .collect();
        Overhead { status: Availability::Done, rows, literature, notes }
    }
}

fn read_json(path: &Path) -> Result<Value, Availability> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Availability::NotRun),
        Err(e) => return Err(Availability::Unreadable(format!("{}: {e}", path.display()))),
    };
    serde_json::from_str(&text).map_err(|e| Availability::Unreadable(format!("{}: invalid JSON: {e}", path.display())))
}

fn str_field(v: &Value, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| match v.get(n)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(x) => Some(x.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

fn num_field(v: &Value, names: &[&str]) -> Option<f64> {
    names.iter().find_map(|n| v.get(n)?.as_f64())
}

/// The records of attacks.json: an array, `{"attacks": [...]}`, or `{name: record}`.
fn parse_attacks(value: &Value) -> Vec<AttackRow> {
    let records: Vec<(Option<String>, &Value)> = match value {
        Value::Array(items) => items.iter().map(|v| (None, v)).collect(),
        Value::Object(map) => match ["attacks", "results", "records"].iter().find_map(|k| map.get(*k)?.as_array()) {
            Some(items) => items.iter().map(|v| (None, v)).collect(),
            None => map.iter().filter(|(_, v)| v.is_object()).map(|(k, v)| (Some(k.clone()), v)).collect(),
        },
        _ => vec![],
    };
    records.into_iter().filter_map(|(key, v)| parse_attack(key, v)).collect()
}

fn parse_attack(key: Option<String>, v: &Value) -> Option<AttackRow> {
    let name = str_field(v, &["name", "attack", "id", "kind"]).or(key)?;
    let headline = v.get("headline").filter(|h| h.is_object());
    let src = headline.unwrap_or(v);
    let metric = str_field(src, &["metric", "headline_metric", "measure"]).unwrap_or_default();
    let value = num_field(src, &["value", "headline_value", "score"]);
    let display = str_field(src, &["display", "value_text", "formatted"]);
    let unit = str_field(src, &["unit", "units"]).unwrap_or_default();
    let verdict_text = str_field(v, &["verdict", "outcome", "result"]);
    let level = v.get("level").and_then(|l| serde_json::from_value::<Level>(l.clone()).ok());
    let (verdict, detail) = match (level, v.get("broken").and_then(Value::as_bool), verdict_text) {
        // A level (or a format-1 boolean) says how it went; the verdict text then explains it.
        (Some(l), _, text) => (Verdict::from(l), text.unwrap_or_default()),
        (None, Some(b), text) => {
            let text = text.unwrap_or_default();
            (Verdict::from(Level::legacy(b, &text)), text)
        }
        (None, None, Some(t)) => (Verdict::parse(&t), String::new()),
        (None, None, None) => (Verdict::Info(String::new()), String::new()),
    };
    let detail = if detail.is_empty() {
        str_field(v, &["summary", "detail", "description", "note"]).unwrap_or_default()
    } else {
        detail
    };
    let (points, x_label, y_label) = parse_series(v);
    let curves = if points.is_empty() { vec![] } else { vec![Series { label: name.clone(), points }] };
    Some(AttackRow {
        name,
        metric,
        value,
        unit,
        display,
        verdict,
        decided_by: None,
        thresholds: None,
        meaning: None,
        detail,
        curves,
        x_label,
        y_label,
        x_log: false,
        chance: num_field(v, &["chance"]),
        chance_label: str_field(v, &["chance_label"]).unwrap_or_else(|| "chance".into()),
        complete: v.get("complete").and_then(Value::as_bool).unwrap_or(true),
    })
}

/// A curve as `[[x, y], ...]`, `[{"x":..,"y":..}, ...]` or `{"x": [...], "y": [...]}` under
/// `series`, `curve` or `points`.
fn parse_series(v: &Value) -> (Vec<(f64, f64)>, String, String) {
    let Some(s) = ["series", "curve", "points"].iter().find_map(|k| v.get(*k)) else {
        return (vec![], String::new(), String::new());
    };
    let labels = |o: &Value| {
        (
            str_field(o, &["x_label", "xlabel"]).unwrap_or_default(),
            str_field(o, &["y_label", "ylabel"]).unwrap_or_default(),
        )
    };
    let (mut xl, mut yl) = labels(v);
    let points = match s {
        Value::Array(items) => items.iter().filter_map(point).collect(),
        Value::Object(_) => {
            let (a, b) = labels(s);
            if !a.is_empty() {
                xl = a;
            }
            if !b.is_empty() {
                yl = b;
            }
            match (s.get("x").and_then(Value::as_array), s.get("y").and_then(Value::as_array)) {
                (Some(xs), Some(ys)) => {
                    xs.iter().zip(ys).filter_map(|(x, y)| Some((x.as_f64()?, y.as_f64()?))).collect()
                }
                _ => s
                    .get("points")
                    .and_then(Value::as_array)
                    .map(|p| p.iter().filter_map(point).collect())
                    .unwrap_or_default(),
            }
        }
        _ => vec![],
    };
    (points, xl, yl)
}

fn point(v: &Value) -> Option<(f64, f64)> {
    match v {
        Value::Array(xy) if xy.len() >= 2 => Some((xy[0].as_f64()?, xy[1].as_f64()?)),
        Value::Object(_) => Some((num_field(v, &["x", "n"])?, num_field(v, &["y", "value"])?)),
        _ => None,
    }
}

/// overhead.json: `{"rows": [...], "literature": [...]}`, or a flat object of quantities whose values
/// are numbers or `{"baseline", "private"}` objects.
fn parse_overhead(value: &Value) -> (Vec<OverheadRow>, Vec<LiteratureRow>) {
    let literature = ["literature", "published", "references"]
        .iter()
        .find_map(|k| value.get(*k)?.as_array())
        .map(|items| items.iter().filter_map(parse_literature).collect())
        .unwrap_or_default();
    let rows = match ["rows", "measurements", "quantities"].iter().find_map(|k| value.get(*k)?.as_array()) {
        Some(items) => items.iter().filter_map(|v| parse_overhead_row(None, v)).collect(),
        None => match value {
            Value::Object(map) => map
                .iter()
                .filter(|(k, _)| !["literature", "published", "references"].contains(&k.as_str()))
                .filter_map(|(k, v)| parse_overhead_row(Some(k.clone()), v))
                .collect(),
            Value::Array(items) => items.iter().filter_map(|v| parse_overhead_row(None, v)).collect(),
            _ => vec![],
        },
    };
    (rows, literature)
}

fn parse_overhead_row(key: Option<String>, v: &Value) -> Option<OverheadRow> {
    if let Some(x) = v.as_f64() {
        return Some(OverheadRow::figure(&key?, "", None, Some(x)));
    }
    if !v.is_object() {
        return None;
    }
    let quantity = str_field(v, &["quantity", "name", "metric", "what"]).or(key)?;
    let unit = str_field(v, &["unit", "units"]).unwrap_or_default();
    let baseline = num_field(v, &["baseline", "plain"]);
    let private = num_field(v, &["private", "scheme", "value"]);
    (baseline.is_some() || private.is_some()).then_some(OverheadRow { quantity, unit, baseline, private, cost: true })
}

fn parse_literature(v: &Value) -> Option<LiteratureRow> {
    Some(LiteratureRow {
        system: str_field(v, &["system", "name", "approach"])?,
        quantity: str_field(v, &["quantity", "metric", "what"]).unwrap_or_default(),
        value: str_field(v, &["value", "figure"]).unwrap_or_else(|| "-".into()),
        source: str_field(v, &["source", "citation", "reference"]).unwrap_or_default(),
    })
}

/// A headline value in its unit: fractions as percentages, `points` as signed points.
pub fn format_with_unit(metric: &str, unit: &str, v: f64) -> String {
    match unit {
        "fraction" => format!("{:.1}%", 100.0 * v),
        "points" => format!("{:+.2} pts", 100.0 * v),
        "dB" => format!("{v:.1} dB"),
        "bits" => format!("{v:.0} bits"),
        "samples" => format!("{v:.0} samples"),
        "" => format_value(metric, v),
        other => format!("{} {other}", format_number(v)),
    }
}

/// A number for a table cell: fractions of accuracy-like metrics as percentages, otherwise up to
/// four significant digits.
pub fn format_value(metric: &str, v: f64) -> String {
    let m = metric.to_ascii_lowercase();
    let fraction = ["accuracy", "fraction", "rate", "recovered", "ratio of"].iter().any(|k| m.contains(k));
    if fraction && (0.0..=1.0).contains(&v) {
        format!("{:.1}%", 100.0 * v)
    } else {
        format_number(v)
    }
}

/// Up to four significant digits, no exponent for ordinary magnitudes.
pub fn format_number(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 1000.0 {
        format!("{:.0}", v)
    } else if a >= 100.0 {
        format!("{:.1}", v)
    } else if a >= 1.0 {
        format!("{:.2}", v)
    } else if a >= 0.01 {
        format!("{:.3}", v)
    } else {
        format!("{:.2e}", v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_files_mean_not_run() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Attacks::load(&dir.path().join("attacks.json")).status, Availability::NotRun);
        assert_eq!(Overhead::load(&dir.path().join("overhead.json")).status, Availability::NotRun);
    }

    #[test]
    fn broken_json_is_unreadable_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("attacks.json");
        std::fs::write(&p, "{nope").unwrap();
        assert!(matches!(Attacks::load(&p).status, Availability::Unreadable(_)));
    }

    #[test]
    fn attacks_in_several_shapes() {
        let a = serde_json::json!([
            {"name": "wrong-key", "metric": "accuracy", "value": 0.101, "verdict": "resists",
             "series": [[1, 0.1], [2, 0.11]], "x_label": "keys"},
            {"attack": "known-plaintext", "headline": {"metric": "key recovered", "value": 1.0}, "verdict": "broken",
             "curve": {"x": [1, 2, 4], "y": [0.2, 0.9, 1.0]}},
            {"metric": "no name"}
        ]);
        let rows = parse_attacks(&a);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].value_text(), "10.1%");
        assert_eq!(rows[0].curves[0].points, vec![(1.0, 0.1), (2.0, 0.11)]);
        assert_eq!(rows[1].verdict, Verdict::Broken);
        assert_eq!(rows[1].curves[0].points.len(), 3);
        let b = serde_json::json!({"key-space": {"metric": "bits", "value": 6600.0, "display": "6,600 bits"}});
        let rows = parse_attacks(&b);
        assert_eq!(rows[0].name, "key-space");
        assert_eq!(rows[0].value_text(), "6,600 bits");
    }

    #[test]
    fn overhead_rows_and_flat_objects() {
        let a = serde_json::json!({
            "rows": [{"quantity": "train s/epoch", "unit": "s", "baseline": 2.0, "private": 2.2}],
            "literature": [{"system": "CryptoNets", "quantity": "inference latency", "value": "250 s", "source": "Gilad-Bachrach 2016"}]
        });
        let (rows, lit) = parse_overhead(&a);
        assert!((rows[0].ratio().unwrap() - 1.1).abs() < 1e-12);
        assert_eq!(lit[0].system, "CryptoNets");
        let b =
            serde_json::json!({"encode_samples_per_s": 12000.0, "train_seconds": {"baseline": 1.0, "private": 1.5}});
        let (rows, _) = parse_overhead(&b);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows.iter().find(|r| r.quantity == "train_seconds").unwrap().ratio(), Some(1.5));
    }
}
