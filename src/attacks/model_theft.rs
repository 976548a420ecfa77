//! Model theft of a split arm: the provider, holding the middle it trained and n labelled public
//! samples (the adversary half), trains its own head and tail around the frozen middle; against the
//! same head + middle + tail trained from scratch on the same n samples with the same steps. The
//! advantage is the stolen middle's worth, as the fine-tune attack measures a stolen keyed model's
//! (same parameters, same rule). The training and scoring are `split_theft`.

use dfdx::prelude::Cpu;
use serde_json::json;

use super::fine_tune::{advantage_criteria, FineTuneParams, FINE_TUNE_BROKEN, FINE_TUNE_PARTIAL_LEAK};
use super::nn::Plan;
use super::registry::{Attack, Need, ResultKind, Scheme};
use super::split_theft::{steal, Architecture};
use super::verdict::Spec;
use super::{clip_counts, pct, AttackContext, AttackRecord, Curve, Figure, Progress, ThreatModel};
use crate::model::split::Part;
use crate::results::attacks::{Criterion, Level};

/// The `model-theft` attack (registered in `super::ATTACKS`).
pub struct ModelTheft;

impl Attack for ModelTheft {
    const NAME: &'static str = "model-theft";
    const TITLE: &'static str = "The provider's middle with its own head and tail vs training from scratch";
    const RESULT: ResultKind = ResultKind::ModelTheft;
    const NEEDS: &'static [Need] = &[Need::ProviderModel];
    const SCHEMES: &'static [Scheme] = &[Scheme::Split];
    type Params = FineTuneParams;

    fn check(p: &FineTuneParams) -> Result<(), (String, String)> {
        <super::fine_tune::FineTune as Attack>::check(p)
    }

    fn rule() -> Spec {
        Spec {
            decided_by: format!(
                "mean accuracy advantage of the provider's network (its own head and tail trained around the frozen \
                 middle) over the whole network trained from scratch on the same labelled data, over the data sizes \
                 tried: partial leak from {:+.0} point, broken from {:+.0} points, with a 95% interval \
                 (evaluation-set sampling) that must exclude 0",
                100.0 * FINE_TUNE_PARTIAL_LEAK,
                100.0 * FINE_TUNE_BROKEN
            ),
            protects: "the trained middle is no better a start than random layers",
            partial_leak: "the trained middle saves the provider some labelled data",
            broken: "the trained middle is a real head start: the provider holds much of the model's utility",
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

pub const STOLEN_CURVE: &str = "stolen middle, own head and tail";
pub const SCRATCH_CURVE: &str = "whole network from scratch, same n and steps";

pub fn run(ctx: &AttackContext<'_>, p: &FineTuneParams, progress: &Progress<'_>) -> anyhow::Result<AttackRecord> {
    let split = ctx.split()?;
    let ns = clip_counts(&p.n, ctx.aux.len());
    let seed = ctx.config.seed ^ 0x7e7f_5eed;
    let plan = Plan {
        epochs: p.epochs,
        min_steps: p.min_steps,
        batch_size: p.batch_size,
        learning_rate: p.learning_rate,
        seed,
    };
    // --- Observation: the provider's own middle.
    let middle: Part<Cpu> = split.load_parts()?.middle;
    let a = Architecture { arch: ctx.arch, shape: ctx.shape, classes: ctx.classes, plan: split.plan };
    // --- Recovery and scoring (evaluation half).
    let mut points = Vec::new();
    for (k, &n) in ns.iter().enumerate() {
        let got = steal(&a, &middle, &ctx.aux, &ctx.eval, &[n], &plan, seed, ctx.control())?;
        if got.is_empty() {
            break;
        }
        points.extend(got);
        progress.report(k + 1, ns.len());
    }

    let mut r = ctx.new_record::<ModelTheft>(
        ThreatModel {
            adversary: "the provider, after training".into(),
            holds: vec![
                format!("its trained middle (provider/{}/model.safetensors)", ctx.arm),
                "n labelled raw samples (adversary half)".into(),
            ],
            knowledge: "the architecture and the cut; not the customer's head or tail".into(),
        },
        format!(
            "{}; the first n samples of the adversary half train both networks, accuracy on the evaluation half",
            ctx.aux_description
        ),
    );
    let x = "labelled raw samples n";
    let mut stolen = Curve::new(STOLEN_CURVE, x, "accuracy", true);
    let mut scratch = Curve::new(SCRATCH_CURVE, x, "accuracy", true);
    let mut adv = Curve::new("advantage of the stolen middle", x, "accuracy difference", true);
    for pt in &points {
        stolen.push(pt.n as f64, pt.stolen);
        scratch.push(pt.n as f64, pt.scratch);
        adv.push(pt.n as f64, pt.stolen - pt.scratch);
    }
    let mean_adv = if points.is_empty() {
        0.0
    } else {
        points.iter().map(|p| p.stolen - p.scratch).sum::<f64>() / points.len() as f64
    };
    r.parameters.insert("n".into(), json!(points.iter().map(|p| p.n).collect::<Vec<_>>()));
    r.parameters.insert("steps".into(), json!(points.iter().map(|p| plan.steps(p.n)).collect::<Vec<_>>()));
    r.parameters.insert("epochs".into(), json!(p.epochs));
    r.parameters.insert("min_steps".into(), json!(p.min_steps));
    r.parameters.insert("batch_size".into(), json!(p.batch_size));
    r.parameters.insert("learning_rate".into(), json!(p.learning_rate));
    r.parameters.insert("optimizer".into(), json!("adam"));
    r.parameters.insert(super::EVALUATION_SAMPLES.into(), json!(ctx.eval.len()));
    r.headline = Figure::new("mean accuracy advantage of the stolen middle", mean_adv, "points");
    for pt in [points.first(), points.last()].into_iter().flatten() {
        r.figures.push(Figure::new(format!("stolen middle at n={}", pt.n), pt.stolen, "fraction"));
        r.figures.push(Figure::new(format!("from scratch at n={}", pt.n), pt.scratch, "fraction"));
    }
    r.chance = Some(0.0);
    r.chance_label = Some("no advantage".into());
    r.baseline = None;
    r.curves = vec![stolen, scratch, adv];
    r.complete = points.len() == ns.len();
    if !points.is_empty() {
        super::verdict::decide(&mut r);
    }
    let ends = match (points.first(), points.last()) {
        (Some(a), Some(b)) => format!(
            "n={}: {} vs {} from scratch; n={}: {} vs {} from scratch",
            a.n,
            pct(a.stolen),
            pct(a.scratch),
            b.n,
            pct(b.stolen),
            pct(b.scratch)
        ),
        _ => "no point finished".into(),
    };
    let mean = format!("{:+.1} points on average ({ends})", 100.0 * mean_adv);
    r.verdict = match r.level {
        Some(Level::Broken) => format!("the provider's middle carries the model's utility: {mean}"),
        Some(Level::PartialLeak) => format!("the provider's middle gives a small head start: {mean}"),
        Some(Level::Protects) => format!("the provider's middle gives no head start: {mean}"),
        None => "stopped before any data size finished".into(),
    };
    Ok(r)
}

fn criteria(r: &AttackRecord) -> Vec<Criterion> {
    advantage_criteria(r, STOLEN_CURVE, SCRATCH_CURVE)
}
