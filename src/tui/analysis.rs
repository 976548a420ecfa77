//! Plain data behind the attacks and overhead views. Filled from events while a run is live, or from
//! the run folder's `attacks.json` / `overhead.json`. Loading is tolerant: a missing file means
//! "not run", and unknown fields are ignored, so the views keep working while those formats evolve.

use std::path::Path;

use crate::attacks::{AttackRecord, Level};
use crate::overhead::{Measured, OverheadReport, SplitOverhead};
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
    /// The arm attacked.
    pub arm: String,
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
    pub fn new(arm: &str, name: &str, metric: &str, value: f64, verdict: Verdict) -> AttackRow {
        AttackRow {
            arm: arm.into(),
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
    pub fn failed(arm: &str, name: &str, reason: &str) -> AttackRow {
        let mut row = AttackRow::new(arm, name, "", 0.0, Verdict::Failed(reason.into()));
        row.value = None;
        row.detail = reason.into();
        row
    }

    /// An attack that does not apply to the arm's scheme.
    pub fn not_applicable(arm: &str, name: &str, reason: &str) -> AttackRow {
        let mut row = AttackRow::new(arm, name, "", 0.0, Verdict::Info("not applicable".into()));
        row.value = None;
        row.detail = reason.into();
        row
    }

    /// An attack under way (shown until its record arrives).
    pub fn running(arm: &str, name: &str) -> AttackRow {
        let mut row = AttackRow::new(arm, name, "", 0.0, Verdict::Info("running".into()));
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
            arm: r.arm.clone(),
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

/// An attack under way: how far it is, in its own units (0 of 0 before its first report).
#[derive(Debug, Clone, PartialEq)]
pub struct RunningAttack {
    pub arm: String,
    pub name: String,
    pub done: usize,
    pub total: usize,
}

/// The attacks under way, in the order they started (an arm's attacks run side by side).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunningAttacks(pub Vec<RunningAttack>);

impl RunningAttacks {
    pub fn started(&mut self, arm: &str, name: &str) {
        self.ended(arm, name);
        self.0.push(RunningAttack { arm: arm.into(), name: name.into(), done: 0, total: 0 });
    }

    pub fn progress(&mut self, arm: &str, name: &str, done: usize, total: usize) {
        if let Some(r) = self.0.iter_mut().find(|r| r.arm == arm && r.name == name) {
            (r.done, r.total) = (done, total);
        }
    }

    /// It finished or failed.
    pub fn ended(&mut self, arm: &str, name: &str) {
        self.0.retain(|r| !(r.arm == arm && r.name == name));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// "statistical 2/4, fine-tune": each attack and how far it is, once it has said.
    pub fn text(&self) -> String {
        let each: Vec<String> = self
            .0
            .iter()
            .map(|r| if r.total > 0 { format!("{} {}/{}", r.name, r.done, r.total) } else { r.name.clone() })
            .collect();
        each.join(", ")
    }
}

/// The attack results of one run, every attacked arm's.
#[derive(Debug, Clone, PartialEq)]
pub struct Attacks {
    pub status: Availability,
    /// In the order they were run: arm by arm.
    pub rows: Vec<AttackRow>,
    /// The attacks running now (an arm's attacks run side by side), in the order they started.
    pub running: RunningAttacks,
}

impl Default for Attacks {
    fn default() -> Self {
        Attacks { status: Availability::NoRun, rows: vec![], running: RunningAttacks::default() }
    }
}

impl Attacks {
    pub fn with_status(status: Availability) -> Attacks {
        Attacks { status, ..Attacks::default() }
    }

    /// `RUN_DIR/attacks.json` through its one schema (`results::attacks`; format 1 re-decided). A file
    /// that does not read is shown as unreadable, with why, not guessed at.
    pub fn load(path: &Path) -> Attacks {
        if !path.exists() {
            return Attacks::with_status(Availability::NotRun);
        }
        match crate::attacks::load_file(path) {
            Ok(file) => {
                let mut rows: Vec<AttackRow> = file.records.iter().map(AttackRow::from).collect();
                rows.extend(file.failures.iter().map(|f| AttackRow::failed(&f.arm, &f.name, &f.reason)));
                rows.extend(file.not_applicable.iter().map(|f| AttackRow::not_applicable(&f.arm, &f.name, &f.reason)));
                // Each arm's failures beside its records.
                let arms = arms_in_order(rows.iter().map(|r| r.arm.as_str()));
                rows.sort_by_key(|r| arms.iter().position(|a| *a == r.arm));
                Attacks { status: Availability::Done, rows, running: RunningAttacks::default() }
            }
            Err(e) => Attacks::with_status(Availability::Unreadable(format!("{e:#}"))),
        }
    }

    /// An attack on `arm` began: list it as running.
    pub fn started(&mut self, arm: &str, name: &str) {
        self.status = Availability::Running(format!("{name} on {arm}"));
        self.running.started(arm, name);
        if !self.rows.iter().any(|r| r.arm == arm && r.name == name) {
            self.rows.push(AttackRow::running(arm, name));
        }
    }

    /// Add a finished (or failed) attack, no longer running (or replace the one of the same arm and name).
    pub fn upsert(&mut self, row: AttackRow) {
        self.running.ended(&row.arm, &row.name);
        match self.rows.iter_mut().find(|r| r.arm == row.arm && r.name == row.name) {
            Some(r) => *r = row,
            None => self.rows.push(row),
        }
    }

    /// The attacked arms, in the order their results came.
    pub fn arms(&self) -> Vec<String> {
        arms_in_order(self.rows.iter().map(|r| r.arm.as_str()))
    }

    /// The rows of one arm.
    pub fn of_arm<'a>(&'a self, arm: &'a str) -> impl Iterator<Item = &'a AttackRow> + 'a {
        self.rows.iter().filter(move |r| r.arm == arm)
    }
}

/// Distinct names in the order they first appear.
fn arms_in_order<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if !out.iter().any(|o| o == n) {
            out.push(n.to_string());
        }
    }
    out
}

/// One measured quantity, the baseline against one protected arm.
#[derive(Debug, Clone, PartialEq)]
pub struct OverheadRow {
    pub quantity: String,
    pub unit: String,
    pub baseline: Option<f64>,
    /// The protected arm's figure.
    pub arm: Option<f64>,
    /// A cost (time, bytes): more is worse, so arm / baseline - 1 is the extra cost. False for
    /// rates and deltas, which the extra-cost chart leaves out.
    pub cost: bool,
}

impl OverheadRow {
    pub fn new(quantity: &str, unit: &str, baseline: Option<f64>, arm: Option<f64>) -> OverheadRow {
        OverheadRow { quantity: quantity.into(), unit: unit.into(), baseline, arm, cost: true }
    }

    /// A row that is not a cost (throughput, accuracy delta, memory of the whole process).
    pub fn figure(quantity: &str, unit: &str, baseline: Option<f64>, arm: Option<f64>) -> OverheadRow {
        OverheadRow { cost: false, ..OverheadRow::new(quantity, unit, baseline, arm) }
    }

    /// arm / baseline, when both are known and the baseline is not zero.
    pub fn ratio(&self) -> Option<f64> {
        match (self.baseline, self.arm) {
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

/// One protected arm's costs against the baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmCosts {
    pub arm: String,
    pub rows: Vec<OverheadRow>,
    /// How to read the measurements (shared machine, noisy load, ...).
    pub notes: Vec<String>,
}

/// The overhead analysis of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Overhead {
    pub status: Availability,
    /// Each measured arm, in arm order.
    pub arms: Vec<ArmCosts>,
    pub literature: Vec<LiteratureRow>,
}

impl Default for Overhead {
    fn default() -> Self {
        Overhead::with_status(Availability::NoRun)
    }
}

impl Overhead {
    pub fn with_status(status: Availability) -> Overhead {
        Overhead { status, arms: vec![], literature: vec![] }
    }

    /// `RUN_DIR/overhead.json` through its one schema ([`OverheadReport`]). A file that does not read
    /// is shown as unreadable, with why, not guessed at.
    pub fn load(path: &Path) -> Overhead {
        match OverheadReport::load(path) {
            Ok(Some(report)) => Overhead::from(&report),
            Ok(None) => Overhead::with_status(Availability::NotRun),
            Err(e) => Overhead::with_status(Availability::Unreadable(format!("{e:#}"))),
        }
    }

    /// The measured arms' names, in order.
    pub fn arm_names(&self) -> Vec<String> {
        self.arms.iter().map(|a| a.arm.clone()).collect()
    }

    pub fn arm(&self, name: &str) -> Option<&ArmCosts> {
        self.arms.iter().find(|a| a.arm == name)
    }
}

impl From<&OverheadReport> for Overhead {
    fn from(r: &OverheadReport) -> Overhead {
        let keyed = r.arms.iter().map(|a| ArmCosts::of(&a.arm, &a.measured));
        let arms = keyed.chain(r.split_arms.iter().map(ArmCosts::of_split)).collect();
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
        Overhead { status: Availability::Done, arms, literature }
    }
}

impl ArmCosts {
    /// The rows of one arm's measurements.
    pub fn of(arm: &str, m: &Measured) -> ArmCosts {
        let (t, inf, b) = (&m.training, &m.inference, &m.bytes);
        let mut rows = training_rows(t);
        rows.extend([
            OverheadRow::new(
                &format!("inference, batch {}", inf.batch.batch_size),
                "ms",
                Some(inf.batch.baseline_forward_ms),
                Some(inf.batch.private_total_ms),
            ),
            OverheadRow::new(
                "inference, 1 sample",
                "ms",
                inf.single_sample.as_ref().map(|s| s.baseline_forward_ms),
                inf.single_sample.as_ref().map(|s| s.private_total_ms),
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
                b.raw_output_per_sample.map(|v| v as f64),
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
        ]);
        let mut notes = timing_notes(t);
        if let Some(load) = m.context.load_average_1m.filter(|l| *l > m.context.threads as f64) {
            notes.push(format!(
                "load average {load:.1} on {} threads when measured: timings are noisy",
                m.context.threads
            ));
        }
        ArmCosts { arm: arm.to_string(), rows, notes }
    }

    /// The rows of one split arm: training and inference time with the exchange, and the bytes each
    /// way against what a plain service exchanges (the raw training set once, raw inputs and scores
    /// per inference sample).
    pub fn of_split(s: &SplitOverhead) -> ArmCosts {
        let t = &s.training;
        let mb = |bytes: u64| bytes as f64 / 1e6;
        let training = s.training_bytes();
        let per_sample = &s.traffic.inference_per_sample;
        let mut rows = training_rows(t);
        if let Some(inf) = &s.inference {
            for (quantity, r) in [
                (format!("inference, batch {}", inf.batch.batch_size), &inf.batch),
                ("inference, 1 sample".to_string(), &inf.single_sample),
            ] {
                rows.push(OverheadRow::new(&quantity, "ms", Some(r.baseline_forward_ms), Some(r.split_ms)));
            }
        }
        rows.extend([
            OverheadRow::new(
                "bytes to provider/sample",
                "B",
                s.plain.map(|p| p.input_per_sample as f64),
                Some(per_sample.to_provider() as f64),
            ),
            OverheadRow::new(
                "bytes to customer/sample",
                "B",
                s.plain.map(|p| p.output_per_sample as f64),
                Some(per_sample.to_customer() as f64),
            ),
            OverheadRow::new(
                "to provider, whole training",
                "MB",
                s.plain.map(|p| mb(p.training_set_bytes)),
                training.map(|(up, _)| mb(up)),
            ),
            OverheadRow::figure("to customer, whole training", "MB", None, training.map(|(_, down)| mb(down))),
            OverheadRow::figure("accuracy delta", "pts", None, Some(100.0 * s.accuracy_delta)),
        ]);
        let mut notes = vec![
            format!(
                "split: head {} | provider {} | tail {}",
                s.traffic.head.join(", "),
                s.traffic.middle.join(", "),
                s.traffic.tail.join(", ")
            ),
            "bytes rows' baseline: a plain service (raw set sent once; inputs and scores per sample)".into(),
        ];
        notes.push("one process, memory copies across the cut: no network latency modelled".into());
        notes.extend(timing_notes(t));
        ArmCosts { arm: s.arm.clone(), rows, notes }
    }
}

/// The two training rows every arm has: median epoch seconds (so that the ratio is the one
/// training-time ratio, crate::overhead::training_time_ratio) and throughput.
fn training_rows(t: &crate::overhead::TrainingCost) -> Vec<OverheadRow> {
    let median = crate::overhead::median;
    vec![
        OverheadRow::new(
            "train s/epoch (median)",
            "s",
            median(&t.baseline_epoch_seconds),
            median(&t.private_epoch_seconds),
        ),
        OverheadRow::figure(
            "train throughput",
            "samples/s",
            t.baseline_samples_per_second,
            t.private_samples_per_second,
        ),
    ]
}

/// How an arm's epochs were timed against the baseline's, when that changes how to read them.
fn timing_notes(t: &crate::overhead::TrainingCost) -> Vec<String> {
    if let Some(run) = &t.baseline_from {
        vec![format!("baseline reused from run {run}: its epochs were timed there, not beside this arm")]
    } else if !t.clean {
        vec!["arms shared the machine (parallel): a sequential schedule gives clean timings".into()]
    } else {
        vec![]
    }
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
    fn attacks_side_by_side_are_each_listed_until_they_end() {
        let mut attacks = Attacks::default();
        attacks.started("private", "fine-tune");
        attacks.started("private", "statistical");
        attacks.running.progress("private", "statistical", 2, 4);
        assert_eq!(attacks.running.text(), "fine-tune, statistical 2/4");
        attacks.upsert(AttackRow::failed("private", "fine-tune", "stopped"));
        assert_eq!(attacks.running.text(), "statistical 2/4");
        // Rows are kept in the order the attacks started, running or not.
        let names: Vec<&str> = attacks.of_arm("private").map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["fine-tune", "statistical"]);
    }

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
}
