//! Verdicts: the three levels every attack record states, and the one rule set that decides them.
//!
//! An attack's verdict is `protects`, `partial leak` or `broken`. It is decided by one or more
//! *criteria*, each a measured metric with two thresholds in the metric's own unit; the verdict is the
//! worst level any criterion reaches, and the criterion that reached it is shown next to the verdict
//! everywhere ("partial leak (SSIM 0.480 ≥ 0.353)"). The record keeps the whole rule ([`Rule`]): every
//! criterion with its value, thresholds, 95% interval where it has one, and what an adversary can do at
//! each level.
//!
//! **The rule set.** Most attacks measure what the adversary gets on a scale with two natural ends:
//! what it has *without the attack* (chance, the adversary's mean public image) and what the *key
//! holder* has (the right key's accuracy, the true images, the whole label assignment). On that scale
//! the thresholds are the same for every attack: a **partial leak** from a quarter of the way
//! ([`PARTIAL_LEAK_SHARE`]), **broken** from three quarters ([`BROKEN_SHARE`]). The wide middle band
//! is deliberate: a change of a few tenths of a dB or a point moves a verdict by one level at most,
//! never from `protects` to `broken`. Two attacks have no such scale and use absolute thresholds: the
//! key space (bits, against the limits of exhaustive search) and fine-tuning (points of accuracy gained
//! by starting from the stolen weights). A criterion whose 95% interval includes its no-attack value
//! is not distinguishable from no attack and counts as `protects`.
//!
//! | attack | criteria |
//! |---|---|
//! | key-space | discrete key bits: partial leak below 128, broken below 80; a continuous key component is not enumerable |
//! | wrong-key | best accuracy without the key, from chance to the right key's accuracy |
//! | fine-tune | mean accuracy advantage of the fine-tuned stolen model over a fresh one: partial leak from +1 point, broken from +3 |
//! | known-plaintext, statistical, inversion | reconstructions recognised by the adversary's classifier, from its rate on the mean image to its rate on the true images; SSIM, from the mean image's to 1; the same two for the encoded data read as raw |
//! | label-frequency | classes recovered, from chance to all |
//!
//! [`rules_markdown`] renders the full table (thresholds and what an adversary can do at each level),
//! which README.md quotes verbatim (a test checks it).
//!
//! The rule reads the record's own figures, so it also re-decides records saved by older versions
//! (format 1 recorded only `broken`); [`Level::legacy`] covers those whose figures do not suffice.

use super::fine_tune::{FRESH_CURVE, TUNED_CURVE};
use super::key_space::CONTINUOUS_DIM;
use super::recon::{
    MEAN_RECOGNISED, MEAN_SSIM, RAW_RECOGNISED, RAW_SSIM, RECOGNISED, SSIM_AT_LARGEST, TRUE_RECOGNISED,
};
use super::{AttackKind, EVALUATION_SAMPLES};
use crate::results::attacks::{finite, fmt_value, AttackRecord, Criterion, Level, Rule};

/// Partial leak from this share of the way from "without the attack" to "the key holder".
pub const PARTIAL_LEAK_SHARE: f64 = 0.25;
/// Broken from this share of the way.
pub const BROKEN_SHARE: f64 = 0.75;
/// Key space: below this many discrete bits, a partial leak (under the 128-bit margin of modern
/// ciphers: within reach of a determined search in the foreseeable future).
pub const KEY_BITS_PARTIAL_LEAK: f64 = 128.0;
/// Key space: below this many discrete bits, broken (2^80 trials is within today's reach).
pub const KEY_BITS_BROKEN: f64 = 80.0;
/// Fine-tuning: partial leak from this mean advantage (a fraction: 0.01 = 1 point).
pub const FINE_TUNE_PARTIAL_LEAK: f64 = 0.01;
/// Fine-tuning: broken from this mean advantage.
pub const FINE_TUNE_BROKEN: f64 = 0.03;
/// Criterion names of the encoded data read as raw (no attack needed) in reconstruction rules.
pub const AS_RAW_RECOGNISED: &str = "encoded-as-raw recognised";
pub const AS_RAW_SSIM: &str = "encoded-as-raw SSIM";
/// Two-sided 95% normal quantile.
const Z95: f64 = 1.96;

impl Criterion {
    fn new(metric: &str, value: f64, unit: &str, partial_leak_at: f64, broken_at: f64, thresholds: String) -> Self {
        Criterion {
            metric: metric.into(),
            value: finite(value),
            unit: unit.into(),
            interval: None,
            lower_is_worse: false,
            no_attack: None,
            partial_leak_at,
            broken_at,
            thresholds,
            level: Level::Protects,
            note: None,
        }
    }

    /// On the scale from `without` (no attack) to `holder` (the key holder): thresholds at
    /// [`PARTIAL_LEAK_SHARE`] and [`BROKEN_SHARE`] of the way.
    fn on_scale(metric: &str, value: f64, unit: &str, without: (f64, &str), holder: (f64, &str)) -> Self {
        let at = |share: f64| without.0 + share * (holder.0 - without.0);
        let thresholds = format!(
            "a quarter / three quarters of the way from {} ({}) to {} ({})",
            without.1,
            fmt_value(without.0, unit),
            holder.1,
            fmt_value(holder.0, unit)
        );
        let mut c = Criterion::new(metric, value, unit, at(PARTIAL_LEAK_SHARE), at(BROKEN_SHARE), thresholds);
        c.no_attack = Some(without.0);
        c
    }

    /// Whether the value reaches a threshold (to within rounding: thresholds are computed shares).
    fn reaches(&self, threshold: f64) -> bool {
        const ROUNDING: f64 = 1e-9;
        if self.lower_is_worse {
            self.value < threshold - ROUNDING
        } else {
            self.value >= threshold - ROUNDING
        }
    }

    /// Decide this criterion's level.
    fn judged(mut self) -> Self {
        self.level = if self.reaches(self.broken_at) {
            Level::Broken
        } else if self.reaches(self.partial_leak_at) {
            Level::PartialLeak
        } else {
            Level::Protects
        };
        if let (true, Some([lo, hi]), Some(z)) = (self.level > Level::Protects, self.interval, self.no_attack) {
            let includes = if self.lower_is_worse { hi >= z } else { lo <= z };
            if includes {
                self.note = Some(format!(
                    "the 95% interval {} – {} includes the no-attack value {}: not distinguishable from no attack",
                    fmt_value(lo, &self.unit),
                    fmt_value(hi, &self.unit),
                    fmt_value(z, &self.unit)
                ));
                self.level = Level::Protects;
            }
        }
        self
    }
}

impl Rule {
    fn new(spec: &Spec, criteria: Vec<Criterion>) -> Option<Rule> {
        let worst = criteria.iter().map(|c| c.level).max()?;
        let deciding = criteria.iter().position(|c| c.level == worst)?;
        Some(Rule {
            criteria,
            deciding,
            protects: spec.protects.into(),
            partial_leak: spec.partial_leak.into(),
            broken: spec.broken.into(),
        })
    }
}

/// What one attack's rule says, independent of any run.
pub struct Spec {
    /// The attacks the rule applies to.
    pub kinds: &'static [AttackKind],
    /// The criteria and their thresholds, in words.
    pub decided_by: String,
    pub protects: &'static str,
    pub partial_leak: &'static str,
    pub broken: &'static str,
}

/// The rule set: one entry per group of attacks.
pub fn specs() -> Vec<Spec> {
    let (p, b) = (PARTIAL_LEAK_SHARE, BROKEN_SHARE);
    let share = format!("partial leak from {p} of the way, broken from {b}");
    vec![
        Spec {
            kinds: &[AttackKind::KeySpace],
            decided_by: format!(
                "discrete key bits (input transforms + label assignment): partial leak below {KEY_BITS_PARTIAL_LEAK:.0}, \
                 broken below {KEY_BITS_BROKEN:.0}; a key with a continuous component cannot be enumerated and protects"
            ),
            protects: "exhaustive search over the key is out of reach (which says nothing about the structural attacks)",
            partial_leak: "below the 128-bit margin of modern ciphers: a determined adversary may search the key in the foreseeable future",
            broken: "below 2^80 trials: an exhaustive search over the key is feasible today",
        },
        Spec {
            kinds: &[AttackKind::WrongKey],
            decided_by: format!(
                "best accuracy of the stolen model without the key (raw inputs or wrong keys, any label map), on the scale \
                 from chance to the right key's accuracy: {share}"
            ),
            protects: "without the key the stolen model is little better than guessing",
            partial_leak: "without the key the stolen model is a weak but usable classifier",
            broken: "the stolen model works without the key",
        },
        Spec {
            kinds: &[AttackKind::FineTune],
            decided_by: format!(
                "mean accuracy advantage of the fine-tuned stolen model over a fresh model trained on the same labelled \
                 data, over the data sizes tried: partial leak from {:+.0} point, broken from {:+.0} points, with a 95% \
                 interval (evaluation-set sampling) that must exclude 0",
                100.0 * FINE_TUNE_PARTIAL_LEAK,
                100.0 * FINE_TUNE_BROKEN
            ),
            protects: "the stolen weights are no better a start than random ones",
            partial_leak: "the stolen weights save the adversary some labelled data",
            broken: "the stolen weights are a real head start: the model's utility is stolen along with it",
        },
        Spec {
            kinds: &AttackKind::RECONSTRUCTION,
            decided_by: format!(
                "the worst of: reconstructions of unseen inputs recognised by a classifier the adversary trained on public \
                 raw data, on the scale from its rate on the adversary's mean image to its rate on the true images; their \
                 SSIM, from the mean image's SSIM to 1; and both for the encoded data read as raw (no attack needed). \
                 Each: {share}"
            ),
            protects: "reconstructions tell no more about the customer's inputs than the adversary's mean image",
            partial_leak: "some content survives: the class of many inputs can be read, details are lost",
            broken: "the adversary reads the customer's inputs nearly as well as the true images",
        },
        Spec {
            kinds: &[AttackKind::LabelFrequency],
            decided_by: format!("classes whose codes the provider recovers, on the scale from chance to all: {share}"),
            protects: "the provider cannot tell which class most output codes stand for",
            partial_leak: "the provider reads the class of queries for some classes",
            broken: "the output protection is undone: the provider reads the class of most queries",
        },
    ]
}

fn spec_of(kind: AttackKind) -> Spec {
    specs().into_iter().find(|s| s.kinds.contains(&kind)).expect("every attack has a rule")
}

/// The rule set as a markdown table (README quotes it; report.md lists it).
pub fn rules_markdown() -> String {
    let mut out = String::from("| attack | decided by | protects | partial leak | broken |\n|---|---|---|---|---|\n");
    for s in specs() {
        let names = s.kinds.iter().map(|k| format!("`{}`", k.name())).collect::<Vec<_>>().join(", ");
        out.push_str(&format!("| {names} | {} | {} | {} | {} |\n", s.decided_by, s.protects, s.partial_leak, s.broken));
    }
    out
}

/// Set `level` and `rule` of a record from its own figures (both None when nothing was measured).
pub fn decide(r: &mut AttackRecord) {
    r.rule = judge(r);
    r.level = r.rule.as_ref().map(Rule::level);
}

/// The rule applied to a record's figures; None when the figures it needs are missing.
pub fn judge(r: &AttackRecord) -> Option<Rule> {
    let kind = AttackKind::from_name(&r.name).ok()?;
    let criteria: Vec<Criterion> = match kind {
        AttackKind::KeySpace => key_space(r),
        AttackKind::WrongKey => wrong_key(r),
        AttackKind::FineTune => fine_tune(r),
        AttackKind::KnownPlaintext | AttackKind::Statistical | AttackKind::Inversion => reconstruction(r),
        AttackKind::LabelFrequency => label_frequency(r),
    }
    .into_iter()
    .map(Criterion::judged)
    .collect();
    Rule::new(&spec_of(kind), criteria)
}

fn evaluation_samples(r: &AttackRecord) -> Option<f64> {
    r.parameters.get(EVALUATION_SAMPLES).and_then(serde_json::Value::as_f64).filter(|n| *n > 0.0)
}

/// Wilson score interval (95%) of a proportion measured on `n` samples.
pub fn proportion_interval(p: f64, n: f64) -> [f64; 2] {
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).max(0.0).sqrt() / (1.0 + z2 / n);
    [(centre - half).max(0.0), (centre + half).min(1.0)]
}

fn key_space(r: &AttackRecord) -> Vec<Criterion> {
    let bits = r.headline.value;
    match r.figure(CONTINUOUS_DIM) {
        Some(dim) if dim > 0.0 => {
            let mut c = Criterion::new(
                "continuous key dim",
                dim,
                "dimensions",
                1.0,
                1.0,
                "any continuous key component (dimension ≥ 1) cannot be enumerated".into(),
            );
            c.lower_is_worse = true;
            vec![c]
        }
        // Without the figure (hand-made or format-1 records) only a key large enough either way decides.
        None if bits < KEY_BITS_PARTIAL_LEAK => vec![],
        _ => {
            let mut c = Criterion::new(
                "key",
                bits,
                "bits",
                KEY_BITS_PARTIAL_LEAK,
                KEY_BITS_BROKEN,
                "the limits of exhaustive search: 2^80 trials feasible today, 2^128 the margin of modern ciphers"
                    .into(),
            );
            c.lower_is_worse = true;
            vec![c]
        }
    }
}

fn wrong_key(r: &AttackRecord) -> Vec<Criterion> {
    let (Some(chance), Some(right)) = (r.chance, r.baseline) else { return vec![] };
    let best = r.headline.value;
    let mut c = Criterion::on_scale(
        "keyless accuracy",
        best,
        "fraction",
        (chance, "chance"),
        (right.max(chance), "the right key's accuracy"),
    );
    c.interval = evaluation_samples(r).map(|n| proportion_interval(best, n));
    vec![c]
}

fn fine_tune(r: &AttackRecord) -> Vec<Criterion> {
    let mean = r.headline.value;
    let mut c = Criterion::new(
        "advantage",
        mean,
        "points",
        FINE_TUNE_PARTIAL_LEAK,
        FINE_TUNE_BROKEN,
        "absolute, in points of accuracy the stolen weights are worth".into(),
    );
    c.no_attack = Some(0.0);
    // Sampling error of each point's two accuracies (taken as independent, which overstates it for
    // two models scored on the same samples), averaged over the points.
    if let (Some(n), Some(tuned), Some(fresh)) = (evaluation_samples(r), r.curve(TUNED_CURVE), r.curve(FRESH_CURVE)) {
        let k = tuned.points.len().min(fresh.points.len());
        if k > 0 {
            let var: f64 = tuned
                .points
                .iter()
                .zip(&fresh.points)
                .map(|(t, f)| (t[1] * (1.0 - t[1]) + f[1] * (1.0 - f[1])) / n)
                .sum();
            let half = Z95 * var.sqrt() / k as f64;
            c.interval = Some([mean - half, mean + half]);
        }
    }
    vec![c]
}

fn reconstruction(r: &AttackRecord) -> Vec<Criterion> {
    let mut out = Vec::new();
    let n = evaluation_samples(r);
    if let (Some(floor), Some(ceiling)) = (r.figure(MEAN_RECOGNISED), r.figure(TRUE_RECOGNISED)) {
        if ceiling > floor {
            for (metric, figure) in [("recognised", RECOGNISED), (AS_RAW_RECOGNISED, RAW_RECOGNISED)] {
                if let Some(v) = r.figure(figure) {
                    let mut c = Criterion::on_scale(
                        metric,
                        v,
                        "fraction",
                        (floor, "the mean image's rate"),
                        (ceiling, "the true images' rate"),
                    );
                    c.interval = n.map(|n| proportion_interval(v, n));
                    out.push(c);
                }
            }
        }
    }
    if let Some(floor) = r.figure(MEAN_SSIM).filter(|f| *f < 1.0) {
        for (metric, figure) in [("SSIM", SSIM_AT_LARGEST), (AS_RAW_SSIM, RAW_SSIM)] {
            if let Some(v) = r.figure(figure) {
                out.push(Criterion::on_scale(
                    metric,
                    v,
                    "",
                    (floor, "the mean image's SSIM"),
                    (1.0, "identical images"),
                ));
            }
        }
    }
    out
}

fn label_frequency(r: &AttackRecord) -> Vec<Criterion> {
    let Some(chance) = r.chance.filter(|c| *c < 1.0) else { return vec![] };
    vec![Criterion::on_scale("classes recovered", r.headline.value, "fraction", (chance, "chance"), (1.0, "all"))]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::attacks::{verdict_cell, Curve, Figure, ThreatModel};

    fn record(name: &str, headline: f64, unit: &str) -> AttackRecord {
        let nobody = ThreatModel { adversary: String::new(), holds: vec![], knowledge: String::new() };
        AttackRecord {
            headline: Figure::new("headline", headline, unit),
            ..AttackRecord::new(name, name, "", nobody, "")
        }
    }

    fn level(r: &AttackRecord) -> Level {
        judge(r).expect("decidable").level()
    }

    /// A reconstruction record with the quickstart's references (mean image recognised 10.4%, true
    /// images 77.4%, mean image SSIM 0.137) and the given result.
    fn reconstruction(name: &str, psnr: f64, recognised: Option<f64>, ssim: f64) -> AttackRecord {
        let mut r = record(name, psnr, "dB");
        r.parameters.insert(EVALUATION_SAMPLES.into(), serde_json::json!(500));
        r.figures = vec![
            Figure::new(MEAN_SSIM, 0.137, "fraction"),
            Figure::new(RAW_SSIM, 0.007, "fraction"),
            Figure::new(RAW_RECOGNISED, 0.124, "fraction"),
            Figure::new(MEAN_RECOGNISED, 0.104, "fraction"),
            Figure::new(TRUE_RECOGNISED, 0.774, "fraction"),
            Figure::new(SSIM_AT_LARGEST, ssim, "fraction"),
        ];
        if let Some(v) = recognised {
            r.figures.push(Figure::new(RECOGNISED, v, "fraction"));
        }
        r
    }

    #[test]
    fn levels_read_and_write_as_documented() {
        assert_eq!(serde_json::to_string(&Level::PartialLeak).unwrap(), "\"partial-leak\"");
        assert_eq!(serde_json::from_str::<Level>("\"protects\"").unwrap(), Level::Protects);
        assert_eq!(Level::PartialLeak.to_string(), "partial leak");
        assert!(Level::Protects < Level::PartialLeak && Level::PartialLeak < Level::Broken);
    }

    #[test]
    fn key_space_thresholds_at_80_and_128_bits() {
        let at = |bits: f64| {
            let mut r = record("key-space", bits, "bits");
            r.figures.push(Figure::new(CONTINUOUS_DIM, 0.0, "dimensions"));
            level(&r)
        };
        assert_eq!(at(79.9), Level::Broken);
        assert_eq!(at(80.0), Level::PartialLeak);
        assert_eq!(at(127.9), Level::PartialLeak);
        assert_eq!(at(128.0), Level::Protects);
        assert_eq!(at(6435.0), Level::Protects);
        // A continuous component (orthogonal mix) cannot be enumerated, whatever the discrete bits.
        let mut r = record("key-space", 21.8, "bits");
        r.figures.push(Figure::new(CONTINUOUS_DIM, 306_936.0, "dimensions"));
        let rule = judge(&r).unwrap();
        assert_eq!(rule.level(), Level::Protects);
        assert_eq!(verdict_cell(Some(rule.level()), Some(&rule)), "protects (continuous key dim 306936 ≥ 1)");
        // Without the continuous figure only a key large enough either way decides.
        assert!(judge(&record("key-space", 21.8, "bits")).is_none());
        assert_eq!(level(&record("key-space", 6435.0, "bits")), Level::Protects);
    }

    #[test]
    fn wrong_key_from_chance_to_the_right_key() {
        // chance 10%, right key 90%: partial leak from 30%, broken from 70%.
        let at = |best: f64| {
            let mut r = record("wrong-key", best, "fraction");
            r.chance = Some(0.1);
            r.baseline = Some(0.9);
            r
        };
        let rule = judge(&at(0.3)).unwrap();
        assert!((rule.criteria[0].partial_leak_at - 0.3).abs() < 1e-12);
        assert!((rule.criteria[0].broken_at - 0.7).abs() < 1e-12);
        assert_eq!(level(&at(0.29)), Level::Protects);
        assert_eq!(level(&at(0.30)), Level::PartialLeak);
        assert_eq!(level(&at(0.69)), Level::PartialLeak);
        assert_eq!(level(&at(0.70)), Level::Broken);
        assert_eq!(
            verdict_cell(Some(Level::Protects), judge(&at(0.122)).as_ref()),
            "protects (keyless accuracy 12.2% < 30.0%)"
        );
        // With the evaluation size known, the rule records a 95% interval.
        let mut r = at(0.5);
        r.parameters.insert(EVALUATION_SAMPLES.into(), serde_json::json!(500));
        let [lo, hi] = judge(&r).unwrap().criteria[0].interval.unwrap();
        assert!(lo < 0.5 && hi > 0.5 && hi - lo < 0.1, "{lo} {hi}");
    }

    #[test]
    fn fine_tune_needs_an_advantage_beyond_its_uncertainty() {
        let at = |mean: f64, n: Option<usize>| {
            let mut r = record("fine-tune", mean, "points");
            if let Some(n) = n {
                r.parameters.insert(EVALUATION_SAMPLES.into(), serde_json::json!(n));
                let mut tuned = Curve::new(TUNED_CURVE, "n", "accuracy", true);
                let mut fresh = Curve::new(FRESH_CURVE, "n", "accuracy", true);
                for (x, t) in [(50.0, 0.6), (500.0, 0.75)] {
                    tuned.push(x, t + mean);
                    fresh.push(x, t);
                }
                r.curves = vec![tuned, fresh];
            }
            r
        };
        assert_eq!(level(&at(0.0099, None)), Level::Protects);
        assert_eq!(level(&at(0.01, None)), Level::PartialLeak);
        assert_eq!(level(&at(0.0299, None)), Level::PartialLeak);
        assert_eq!(level(&at(0.03, None)), Level::Broken);
        // On 500 evaluation samples two points' sampling error is about ±3.8 points: +3.5 is not
        // distinguishable from no advantage, +6 is.
        let rule = judge(&at(0.035, Some(500))).unwrap();
        let c = &rule.criteria[0];
        assert_eq!(c.level, Level::Protects, "{c:?}");
        assert!(c.note.as_deref().unwrap().contains("includes the no-attack value"));
        assert!(c.comparison().contains("95% interval"), "{}", c.comparison());
        assert_eq!(level(&at(0.06, Some(500))), Level::Broken);
        assert_eq!(level(&at(0.06, Some(50_000))), Level::Broken);
        assert_eq!(level(&at(0.035, Some(50_000))), Level::Broken);
    }

    #[test]
    fn reconstructions_from_the_mean_image_to_the_true_images() {
        // Recognised: partial leak from 10.4 + 0.25 * 67 = 27.15%, broken from 60.65%.
        let rule = judge(&reconstruction("inversion", 15.0, Some(0.2715), 0.2)).unwrap();
        let c = &rule.criteria[0];
        assert_eq!(c.metric, "recognised");
        assert!((c.partial_leak_at - 0.2715).abs() < 1e-12 && (c.broken_at - 0.6065).abs() < 1e-12);
        assert_eq!(level(&reconstruction("inversion", 12.0, Some(0.26), 0.2)), Level::Protects);
        assert_eq!(level(&reconstruction("inversion", 12.0, Some(0.28), 0.2)), Level::PartialLeak);
        assert_eq!(level(&reconstruction("inversion", 12.0, Some(0.60), 0.2)), Level::PartialLeak);
        assert_eq!(level(&reconstruction("inversion", 12.0, Some(0.61), 0.2)), Level::Broken);
        // SSIM alone (no recogniser): partial leak from 0.137 + 0.25 * 0.863 = 0.353, broken from 0.784.
        assert_eq!(level(&reconstruction("statistical", 12.0, None, 0.35)), Level::Protects);
        assert_eq!(level(&reconstruction("statistical", 12.0, None, 0.36)), Level::PartialLeak);
        assert_eq!(level(&reconstruction("statistical", 12.0, None, 0.79)), Level::Broken);
        // The worse of the two decides, and is the one shown.
        let r = reconstruction("statistical", 14.7, Some(0.2), 0.48);
        let rule = judge(&r).unwrap();
        assert_eq!(rule.level(), Level::PartialLeak);
        assert_eq!(verdict_cell(Some(rule.level()), Some(&rule)), "partial leak (SSIM 0.480 ≥ 0.353)");
        // Encoded data that already read as raw (noise only) break the protection without an attack.
        let mut r = reconstruction("known-plaintext", 12.0, Some(0.2), 0.2);
        r.figures.retain(|f| f.metric != RAW_RECOGNISED);
        r.figures.push(Figure::new(RAW_RECOGNISED, 0.75, "fraction"));
        let rule = judge(&r).unwrap();
        assert_eq!(rule.level(), Level::Broken);
        assert_eq!(rule.deciding().unwrap().metric, AS_RAW_RECOGNISED);
    }

    /// The knife edges: inversion at 15.5 dB with 68.2% recognised was "resists" and at 16.1 dB
    /// with 70.0% "broken"; statistical at 14.7 dB "resists" while its samples show the garment.
    #[test]
    fn small_changes_never_flip_protects_and_broken() {
        let a = level(&reconstruction("inversion", 15.5, Some(0.682), 0.48));
        let b = level(&reconstruction("inversion", 16.1, Some(0.700), 0.49));
        assert_eq!(a, b);
        assert_eq!(a, Level::Broken);
        // Visible content (SSIM 0.40, 30% recognised) is at least a partial leak.
        assert!(level(&reconstruction("statistical", 14.7, Some(0.30), 0.40)) >= Level::PartialLeak);
        // Sweep each share-based metric in steps of 2 points (or 0.02 SSIM): consecutive values never
        // go from protects to broken.
        let mut last = Level::Protects;
        for i in 0..=50 {
            let v = 0.02 * i as f64;
            let levels = [
                level(&reconstruction("inversion", 15.0, Some(v), 0.0)),
                level(&reconstruction("inversion", 15.0, None, v)),
            ];
            for l in levels {
                assert!((l as i32 - last as i32).abs() <= 1 || l == last, "{v}: {last:?} -> {l:?}");
            }
            last = levels[0];
        }
    }

    #[test]
    fn label_frequency_from_chance_to_all_classes() {
        let at = |v: f64| {
            let mut r = record("label-frequency", v, "fraction");
            r.chance = Some(0.1);
            level(&r)
        };
        assert_eq!(at(0.2), Level::Protects);
        assert_eq!(at(0.325), Level::PartialLeak);
        assert_eq!(at(0.7), Level::PartialLeak);
        assert_eq!(at(0.775), Level::Broken);
        assert_eq!(at(1.0), Level::Broken);
    }

    #[test]
    fn legacy_levels_from_the_recorded_bool_and_words() {
        assert_eq!(Level::legacy(true, "anything"), Level::Broken);
        assert_eq!(Level::legacy(false, "partial: a few features placed"), Level::PartialLeak);
        assert_eq!(Level::legacy(false, "the stolen model leaks a little without the key"), Level::PartialLeak);
        assert_eq!(Level::legacy(false, "blurry reconstructions"), Level::Protects);
        assert_eq!(verdict_cell(Some(Level::Broken), None), "broken (format-1 record: its own `broken_if`)");
        assert_eq!(verdict_cell(None, None), "no verdict");
    }

    #[test]
    fn every_attack_has_one_rule_and_the_table_states_the_thresholds() {
        for kind in AttackKind::ALL {
            assert_eq!(specs().iter().filter(|s| s.kinds.contains(&kind)).count(), 1, "{}", kind.name());
        }
        let md = rules_markdown();
        for needle in ["below 128", "below 80", "+1 point", "+3 points", "0.25 of the way", "from 0.75"] {
            assert!(md.contains(needle), "{needle}: {md}");
        }
    }

    #[test]
    fn proportion_interval_is_wilson() {
        let [lo, hi] = proportion_interval(0.5, 100.0);
        assert!((lo - 0.4038).abs() < 1e-3 && (hi - 0.5962).abs() < 1e-3, "{lo} {hi}");
        let [lo, hi] = proportion_interval(0.0, 100.0);
        assert!(lo == 0.0 && hi > 0.03);
    }
}
