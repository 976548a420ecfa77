//! Attack 3, stolen-model fine-tuning: an adversary with n labelled raw samples (adversary half)
//! fine-tunes the stolen provider model on them, and, for comparison, trains a fresh model of the same
//! architecture on the same n samples with the same number of steps. If the fine-tuned model is
//! better, the stolen weights leak utility despite the key.

use dfdx::prelude::*;
use serde_json::json;

use super::nn::{train_classifier, Plan};
use super::registry::{ranges, Attack, Need, ResultKind};
use super::verdict::{evaluation_samples, Spec, Z95};
use super::wrong_key::identity_codec;
use super::{accuracy, clip_counts, pct, AttackContext, AttackRecord, Curve, Figure, Progress, ThreatModel};
use crate::model::arch::{with_net, Net, WithNet};
use crate::results::attacks::Criterion;
use crate::results::attacks::Level;
use crate::scheme::labels::LabelCodec;
use crate::train::trainer::predict;

/// The `fine-tune` attack (registered in `super::ATTACKS`).
pub struct FineTune;

impl Attack for FineTune {
    const NAME: &'static str = "fine-tune";
    const TITLE: &'static str = "Stolen-model fine-tuning vs training from scratch";
    const RESULT: ResultKind = ResultKind::ModelTheft;
    const NEEDS: &'static [Need] = &[Need::ProviderModel];
    type Params = FineTuneParams;

    fn check(p: &FineTuneParams) -> Result<(), (String, String)> {
        ranges::counts("n", &p.n)?;
        ranges::positive("epochs", p.epochs)?;
        ranges::positive("batch_size", p.batch_size)?;
        ranges::rate("learning_rate", p.learning_rate)
    }

    fn rule() -> Spec {
        Spec {
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
            criteria,
        }
    }

    fn run(
        &self,
        ctx: &AttackContext<'_>,
        p: &FineTuneParams,
        progress: &Progress<'_>,
    ) -> anyhow::Result<AttackRecord> {
        run(ctx, p, progress)
    }
}

/// `[attacks.fine_tune]`: stolen-model fine-tuning vs a fresh model on n labelled raw samples.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FineTuneParams {
    /// Labelled raw samples the adversary holds (from the auxiliary half).
    #[serde(default = "default_fine_tune_n")]
    pub n: Vec<usize>,
    /// Passes over the n samples (both models).
    #[serde(default = "default_fine_tune_epochs")]
    pub epochs: usize,
    /// At least this many optimiser steps (so tiny n still trains); both models get the same count.
    #[serde(default = "default_min_steps")]
    pub min_steps: usize,
    #[serde(default = "super::nn::default_batch_size")]
    pub batch_size: usize,
    #[serde(default = "super::nn::default_learning_rate")]
    pub learning_rate: f64,
}

fn default_fine_tune_n() -> Vec<usize> {
    vec![50, 100, 500, 1000, 2000]
}
fn default_fine_tune_epochs() -> usize {
    10
}
fn default_min_steps() -> usize {
    100
}

impl Default for FineTuneParams {
    fn default() -> Self {
        Self {
            n: default_fine_tune_n(),
            epochs: default_fine_tune_epochs(),
            min_steps: default_min_steps(),
            batch_size: super::nn::default_batch_size(),
            learning_rate: super::nn::default_learning_rate(),
        }
    }
}

/// Curve labels the verdict rule reads (for the interval of the advantage).
pub const TUNED_CURVE: &str = "fine-tuned stolen model";
pub const FRESH_CURVE: &str = "fresh model, same n and steps";
/// Partial leak from this mean advantage (a fraction: 0.01 = 1 point).
pub const FINE_TUNE_PARTIAL_LEAK: f64 = 0.01;
/// Broken from this mean advantage.
pub const FINE_TUNE_BROKEN: f64 = 0.03;

/// One n: accuracy of the fine-tuned stolen model and of the fresh model on the evaluation half.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub n: usize,
    pub fine_tuned: f64,
    pub fresh: f64,
}

struct Job<'a> {
    dev: &'a Cpu,
    ctx: &'a AttackContext<'a>,
    plan: Plan,
    ns: &'a [usize],
    progress: &'a Progress<'a>,
}

impl WithNet<Cpu> for Job<'_> {
    type Output = anyhow::Result<(f64, Vec<Point>)>;

    fn run<M: Net<Cpu>>(self, fresh_init: M) -> Self::Output {
        let ctx = self.ctx;
        // The stolen model takes encoded-shape inputs: the adversary's raw samples as it can give them
        // without the key (`keyless_input`: as they are unless the encoding changes the shape).
        let (c, m, d) = (ctx.classes, ctx.codes_per_class(), ctx.encoded_features());
        let aux_input = ctx.keyless_input(&ctx.aux.images);
        let eval_input = ctx.keyless_input(&ctx.eval.images);
        let outputs = c * m;
        // The stolen weights.
        let mut stolen = fresh_init.clone();
        crate::model::io::load(&mut stolen, &ctx.provider_model)?;
        // The adversary's targets: it does not know the secret codes, so it uses the public identity
        // map (class y -> code y*m) and decodes the same way.
        let identity: LabelCodec = identity_codec(c, m);
        let eval_acc = |model: &M| {
            let scores = predict(model, self.dev, &eval_input, d).expect("forward on CPU");
            accuracy(&identity.predict(&scores), &ctx.eval.labels)
        };
        let start = eval_acc(&stolen);
        let control = ctx.control();
        let mut points = Vec::new();
        for (k, &n) in self.ns.iter().enumerate() {
            if control.stop_requested() {
                break;
            }
            let x = &aux_input[..n * d];
            let targets: Vec<u16> =
                ctx.aux.labels[..n].iter().map(|&y| identity.codes_of_class[y as usize][0]).collect();
            let mut tuned = stolen.clone();
            let mut fresh = fresh_init.clone();
            let a = train_classifier(self.dev, &mut tuned, x, d, &targets, outputs, &self.plan, control)?;
            let b = a && train_classifier(self.dev, &mut fresh, x, d, &targets, outputs, &self.plan, control)?;
            if !b {
                break;
            }
            points.push(Point { n, fine_tuned: eval_acc(&tuned), fresh: eval_acc(&fresh) });
            self.progress.report(k + 1, self.ns.len());
        }
        Ok((start, points))
    }
}

pub fn run(ctx: &AttackContext<'_>, p: &FineTuneParams, progress: &Progress<'_>) -> anyhow::Result<AttackRecord> {
    let ns = clip_counts(&p.n, ctx.aux.len());
    let plan = Plan {
        epochs: p.epochs,
        min_steps: p.min_steps,
        batch_size: p.batch_size,
        learning_rate: p.learning_rate,
        seed: ctx.config.seed ^ 0xf1e7,
    };
    if !ctx.provider_model.is_file() {
        anyhow::bail!("no provider model at {}", ctx.provider_model.display());
    }
    // A fresh initialisation that is not the provider's (different seed).
    let dev = Cpu::seed_from_u64(ctx.config.seed ^ 0x5eed_f4e5);
    let job = Job { dev: &dev, ctx, plan, ns: &ns, progress };
    let outputs = ctx.classes * ctx.codes_per_class();
    let (start, points) = with_net(ctx.arch, &dev, ctx.encoded_shape(), outputs, job)?;

    let chance = 1.0 / ctx.classes as f64;
    let mut r = ctx.new_record::<FineTune>(
        ThreatModel {
            adversary: "whoever steals the provider's model and has a few labelled raw samples".into(),
            holds: vec!["provider/model.safetensors".into(), "n labelled raw samples (adversary half)".into()],
            knowledge: "the architecture; not the key or the label map (targets use the public identity map)".into(),
        },
        format!(
            "{}; the first n samples of the adversary half train both models, accuracy on the evaluation half",
            ctx.aux_description
        ),
    );
    let mut tuned = Curve::new(TUNED_CURVE, "labelled raw samples n", "accuracy", true);
    let mut fresh = Curve::new(FRESH_CURVE, "labelled raw samples n", "accuracy", true);
    let mut adv = Curve::new("advantage of the stolen model", "labelled raw samples n", "accuracy difference", true);
    for pt in &points {
        tuned.push(pt.n as f64, pt.fine_tuned);
        fresh.push(pt.n as f64, pt.fresh);
        adv.push(pt.n as f64, pt.fine_tuned - pt.fresh);
    }
    let mean_adv = if points.is_empty() {
        0.0
    } else {
        points.iter().map(|p| p.fine_tuned - p.fresh).sum::<f64>() / points.len() as f64
    };
    let max_adv = points.iter().map(|p| p.fine_tuned - p.fresh).fold(f64::NEG_INFINITY, f64::max);
    r.parameters.insert("n".into(), json!(points.iter().map(|p| p.n).collect::<Vec<_>>()));
    r.parameters.insert("steps".into(), json!(points.iter().map(|p| plan.steps(p.n)).collect::<Vec<_>>()));
    r.parameters.insert("epochs".into(), json!(p.epochs));
    r.parameters.insert("min_steps".into(), json!(p.min_steps));
    r.parameters.insert("batch_size".into(), json!(p.batch_size));
    r.parameters.insert("learning_rate".into(), json!(p.learning_rate));
    r.parameters.insert("optimizer".into(), json!("adam"));
    if let Some(note) = ctx.keyless_input_note() {
        r.parameters.insert("raw_inputs".into(), json!(note));
    }
    r.parameters.insert(super::EVALUATION_SAMPLES.into(), json!(ctx.eval.len()));
    r.headline = Figure::new("mean accuracy advantage of fine-tuning the stolen model", mean_adv, "points");
    r.figures.push(Figure::new("stolen model before fine-tuning (raw inputs, identity map)", start, "fraction"));
    if let Some(last) = points.last() {
        r.figures.push(Figure::new(format!("fine-tuned accuracy at n={}", last.n), last.fine_tuned, "fraction"));
        r.figures.push(Figure::new(format!("fresh accuracy at n={}", last.n), last.fresh, "fraction"));
    }
    if let Some(first) = points.first() {
        r.figures.push(Figure::new(format!("fine-tuned accuracy at n={}", first.n), first.fine_tuned, "fraction"));
        r.figures.push(Figure::new(format!("fresh accuracy at n={}", first.n), first.fresh, "fraction"));
    }
    if max_adv.is_finite() {
        r.figures.push(Figure::new("max advantage", max_adv, "points"));
    }
    r.chance = Some(0.0);
    r.chance_label = Some("no advantage".into());
    r.baseline = None;
    r.curves = vec![tuned, fresh, adv];
    r.complete = points.len() == ns.len();
    if !points.is_empty() {
        super::verdict::decide(&mut r);
    }
    let interval = r
        .rule
        .as_ref()
        .and_then(|rule| rule.deciding()?.interval)
        .map(|[lo, hi]| format!(", 95% interval {:+.1} to {:+.1}", 100.0 * lo, 100.0 * hi))
        .unwrap_or_default();
    let ends = match (points.first(), points.last()) {
        (Some(a), Some(b)) => format!(
            "n={}: {} vs {} fresh; n={}: {} vs {} fresh",
            a.n,
            pct(a.fine_tuned),
            pct(a.fresh),
            b.n,
            pct(b.fine_tuned),
            pct(b.fresh)
        ),
        _ => "no point finished".into(),
    };
    let mean = format!("{:+.1} points on average{interval} ({ends}; chance {})", 100.0 * mean_adv, pct(chance));
    r.verdict = match r.level {
        Some(Level::Broken) => {
            format!("the stolen model leaks utility: fine-tuning it beats training from scratch by {mean}")
        }
        Some(Level::PartialLeak) => format!("the stolen model gives a small head start: {mean}"),
        Some(Level::Protects) => format!("the stolen model gives no head start: {mean}"),
        None => "stopped before any data size finished".into(),
    };
    Ok(r)
}

fn criteria(r: &AttackRecord) -> Vec<Criterion> {
    advantage_criteria(r, TUNED_CURVE, FRESH_CURVE)
}

/// The rule's criterion: the mean advantage (the headline), in absolute points, with its interval
/// from the accuracies of the curves `with` (the stolen weights) and `without` (from scratch).
pub(crate) fn advantage_criteria(r: &AttackRecord, with: &str, without: &str) -> Vec<Criterion> {
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
    if let (Some(n), Some(tuned), Some(fresh)) = (evaluation_samples(r), r.curve(with), r.curve(without)) {
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
