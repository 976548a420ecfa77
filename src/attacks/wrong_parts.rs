//! The wrong-key attack on a split arm: there is no key, so what the provider lacks is the
//! customer's head and tail. Whoever holds the middle (`provider/ARM/model.safetensors`) runs it
//! between random heads and tails of the public architecture (fresh draws, like wrong keys), decoding
//! the outputs with the identity label map or a map fitted on its labelled auxiliary data; against
//! the customer's own network (its head and tail with the same middle). The rule is the wrong-key
//! rule: the best accuracy without the customer's parts, from chance to the customer's accuracy.

use rand::RngCore;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::json;

use super::split_theft::{scores_of, with_random_parts, Architecture};
use super::wrong_key::{fit_code_map, predict_with_map, WrongKey, WrongKeyParams};
use super::{accuracy, pct, AttackContext, AttackRecord, Curve, Figure, Progress, ThreatModel};
use crate::results::attacks::Level;
use crate::scheme::labels::argmax_rows;

pub fn run(ctx: &AttackContext<'_>, p: &WrongKeyParams, progress: &Progress<'_>) -> anyhow::Result<AttackRecord> {
    let split = ctx.split()?;
    let c = ctx.classes;
    let d = ctx.features();
    let chance = 1.0 / c as f64;
    let total = p.keys + 1;
    let parts = split.load_parts()?;
    let a = Architecture { arch: ctx.arch, shape: ctx.shape, classes: c, plan: split.plan };
    // --- Scoring reference (the customer's parts): the arm's own accuracy on the evaluation half.
    let own_layers = [&parts.head, &parts.middle, &parts.tail].iter().flat_map(|p| p.layers.iter().cloned()).collect();
    let dev = crate::model::cpu_training_device(ctx.config.seed);
    let customer = accuracy(&argmax_rows(&scores_of(&a, &dev, own_layers, &ctx.eval.images, d)?, c), &ctx.eval.labels);
    progress.report(1, total);
    // --- Observation and recovery: the middle between random parts (fresh draws, not the run's).
    let mut rng = ChaCha20Rng::seed_from_u64(ctx.config.seed ^ 0x7a27_5eed);
    let mut identity = Curve::new("random head and tail, identity label map", "draw", "accuracy", false);
    let mut fitted = Curve::new("random head and tail, label map fitted on aux labels", "draw", "accuracy", false);
    let mut stopped = false;
    for i in 0..p.keys {
        if ctx.stop_requested() {
            stopped = true;
            break;
        }
        let seed = rng.next_u64();
        let aux_scores = with_random_parts(&a, &parts.middle, &ctx.aux.images, d, seed)?;
        let eval_scores = with_random_parts(&a, &parts.middle, &ctx.eval.images, d, seed)?;
        identity.push(i as f64 + 1.0, accuracy(&argmax_rows(&eval_scores, c), &ctx.eval.labels));
        let map = fit_code_map(&aux_scores, &ctx.aux.labels, c, c);
        fitted.push(i as f64 + 1.0, accuracy(&predict_with_map(&eval_scores, c, &map), &ctx.eval.labels));
        progress.report(i + 2, total);
    }
    let mean = |cv: &Curve| cv.points.iter().map(|p| p[1]).sum::<f64>() / cv.points.len().max(1) as f64;
    let max = |cv: &Curve| cv.points.iter().map(|p| p[1]).fold(0.0, f64::max);
    let best = mean(&identity).max(mean(&fitted));

    let mut r = ctx.new_record::<WrongKey>(
        ThreatModel {
            adversary: "whoever holds the provider's middle (the provider, or a thief of its model)".into(),
            holds: vec![
                format!("the trained middle (provider/{}/model.safetensors)", ctx.arm),
                "labelled raw samples (adversary half), to fit a label map".into(),
            ],
            knowledge: "the architecture and the cut; not the customer's head or tail (random ones stand in)".into(),
        },
        format!("{}; scored on the evaluation half", ctx.aux_description),
    );
    r.parameters.insert("wrong_keys".into(), json!(identity.points.len()));
    r.parameters.insert("stand_in".into(), json!("random head and tail per draw (no key in a split arm)"));
    r.parameters.insert(super::EVALUATION_SAMPLES.into(), json!(ctx.eval.len()));
    r.headline = Figure::new("best accuracy without the customer's head and tail", best, "fraction");
    r.figures = vec![
        Figure::new("random parts, identity label map (mean)", mean(&identity), "fraction"),
        Figure::new("random parts, fitted label map (mean)", mean(&fitted), "fraction"),
        Figure::new("random parts, fitted label map (max)", max(&fitted), "fraction"),
        Figure::new("the customer's head and tail", customer, "fraction"),
    ];
    r.chance = Some(chance);
    r.baseline = Some(customer);
    r.baseline_label = Some("accuracy with the customer's head and tail".into());
    r.curves = vec![identity, fitted];
    r.complete = !stopped;
    super::verdict::decide(&mut r);
    let figures = format!("best {} (chance {}; the customer's parts {})", pct(best), pct(chance), pct(customer));
    r.verdict = match r.level.unwrap_or(Level::Protects) {
        Level::Broken => format!("the middle works without the customer's parts: {figures}"),
        Level::PartialLeak => format!("the middle leaks without the customer's parts: {figures}"),
        Level::Protects => {
            format!("without the customer's head and tail the middle is little better than chance: {figures}")
        }
    };
    Ok(r)
}
