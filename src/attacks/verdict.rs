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
//! Each attack states its own rule in its file ([`super::registry::Attack::rule`], a [`Spec`]: the
//! criteria read from its record and what each level means); the reconstruction attacks share one
//! (`super::recon::rule`). This module holds what every rule shares: the levels, the thresholds on a
//! scale, the 95% intervals and the table of all rules.
//!
//! [`rules_markdown`] renders the full table (thresholds and what an adversary can do at each level),
//! which README.md quotes verbatim (a test checks it).
//!
//! The rule reads the record's own figures, so it also re-decides records saved by older versions
//! (format 1 recorded only `broken`); [`Level::legacy`] covers those whose figures do not suffice.

use super::{registry, EVALUATION_SAMPLES};
use crate::results::attacks::{finite, fmt_value, AttackRecord, Criterion, Level, Rule};

/// Partial leak from this share of the way from "without the attack" to "the key holder".
pub const PARTIAL_LEAK_SHARE: f64 = 0.25;
/// Broken from this share of the way.
pub const BROKEN_SHARE: f64 = 0.75;
/// Two-sided 95% normal quantile.
pub const Z95: f64 = 1.96;

impl Criterion {
    /// A criterion with thresholds in the metric's own unit, described by `thresholds`.
    pub fn new(metric: &str, value: f64, unit: &str, partial_leak_at: f64, broken_at: f64, thresholds: String) -> Self {
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
    pub fn on_scale(metric: &str, value: f64, unit: &str, without: (f64, &str), holder: (f64, &str)) -> Self {
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
    /// The criteria and their thresholds, in words.
    pub decided_by: String,
    pub protects: &'static str,
    pub partial_leak: &'static str,
    pub broken: &'static str,
    /// The criteria read from a record's own figures (undecided: none, when they do not suffice).
    pub criteria: fn(&AttackRecord) -> Vec<Criterion>,
}

/// "partial leak from 0.25 of the way, broken from 0.75": the thresholds of [`Criterion::on_scale`].
pub fn on_scale_thresholds() -> String {
    format!("partial leak from {PARTIAL_LEAK_SHARE} of the way, broken from {BROKEN_SHARE}")
}

impl Spec {
    /// Same words: the table shows such attacks in one row.
    fn same_words(&self, other: &Spec) -> bool {
        (&self.decided_by, self.protects, self.partial_leak, self.broken)
            == (&other.decided_by, other.protects, other.partial_leak, other.broken)
    }
}

/// The rule set as a markdown table (README quotes it; report.md lists it).
pub fn rules_markdown() -> String {
    let mut rows: Vec<(Vec<&str>, Spec)> = Vec::new();
    for attack in super::ATTACKS {
        let spec = attack.rule();
        match rows.iter_mut().find(|(_, s)| s.same_words(&spec)) {
            Some((names, _)) => names.push(attack.name()),
            None => rows.push((vec![attack.name()], spec)),
        }
    }
    let mut out = String::from("| attack | decided by | protects | partial leak | broken |\n|---|---|---|---|---|\n");
    for (names, s) in rows {
        let names = names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
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
    let spec = registry::find(&r.name)?.rule();
    let criteria: Vec<Criterion> = (spec.criteria)(r).into_iter().map(Criterion::judged).collect();
    Rule::new(&spec, criteria)
}

/// The size of the evaluation half the record was scored on (for intervals), if it says.
pub fn evaluation_samples(r: &AttackRecord) -> Option<f64> {
    r.parameters.get(EVALUATION_SAMPLES).and_then(serde_json::Value::as_f64).filter(|n| *n > 0.0)
}

/// Wilson score interval (95%) of a proportion measured on `n` samples.
pub fn proportion_interval(p: f64, n: f64) -> [f64; 2] {
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).max(0.0).sqrt() / (1.0 + z2 / n);
    [(centre - half).max(0.0), (centre + half).min(1.0)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attacks::fine_tune::{FRESH_CURVE, TUNED_CURVE};
    use crate::attacks::key_space::CONTINUOUS_DIM;
    use crate::attacks::recon::{
        AS_RAW_RECOGNISED, MEAN_RECOGNISED, MEAN_SSIM, RAW_RECOGNISED, RAW_SSIM, RECOGNISED, SSIM_AT_LARGEST,
        TRUE_RECOGNISED,
    };
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
        let md = rules_markdown();
        for attack in crate::attacks::ATTACKS {
            let name = format!("`{}`", attack.name());
            assert_eq!(md.lines().filter(|l| l.starts_with("| ") && l.contains(&name)).count(), 1, "{name}: {md}");
        }
        // Attacks with the same rule share a row, in canonical order of their first member.
        assert!(
            md.contains("| `known-plaintext`, `statistical`, `inversion`, `split-inversion`, `split-known-pairs` |"),
            "{md}"
        );
        let rows: Vec<&str> = md.lines().skip(2).map(|l| l.split(" | ").next().unwrap()).collect();
        assert_eq!(
            rows,
            [
                "| `key-space`",
                "| `wrong-key`",
                "| `fine-tune`",
                "| `model-theft`",
                "| `known-plaintext`, `statistical`, `inversion`, `split-inversion`, `split-known-pairs`",
                "| `label-frequency`",
                "| `label-leakage`",
                "| `jigsaw`",
                "| `carlini-instahide`",
                "| `carlini-neuracrypt`",
            ]
        );
        for needle in ["below 128", "below 80", "+1 point", "+3 points", "0.25 of the way", "from 0.75"] {
            assert!(md.contains(needle), "{needle}: {md}");
        }
        // A record of an unregistered attack has no rule.
        assert!(judge(&record("no-such-attack", 1.0, "bits")).is_none());
    }

    #[test]
    fn proportion_interval_is_wilson() {
        let [lo, hi] = proportion_interval(0.5, 100.0);
        assert!((lo - 0.4038).abs() < 1e-3 && (hi - 0.5962).abs() < 1e-3, "{lo} {hi}");
        let [lo, hi] = proportion_interval(0.0, 100.0);
        assert!(lo == 0.0 && hi > 0.03);
    }
}
