//! Attack 2, wrong key / stolen model: whoever steals `provider/model.safetensors` runs it on raw
//! inputs and on inputs encoded under random wrong keys (fresh secrets, same transform list), and
//! decodes the outputs with the identity label map, the wrong key's own map, or a map fitted on its
//! labelled auxiliary data. The goal of the scheme is chance accuracy (1/C) for all of them. As an
//! upper bound that needs the secret label map, raw inputs are also decoded with the true map.

use dfdx::prelude::*;
use rand::RngCore;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::json;

use super::registry::{ranges, Attack, Need, ResultKind, Scheme};
use super::verdict::{evaluation_samples, on_scale_thresholds, proportion_interval, Spec};
use super::{accuracy, pct, AttackContext, AttackRecord, Curve, Figure, Progress, ThreatModel};
use crate::model::arch::{with_net, Net, WithNet};
use crate::results::attacks::Criterion;
use crate::results::attacks::Level;
use crate::scheme::labels::{argmax_rows, LabelCodec};
use crate::scheme::{Customer, SecretKey};
use crate::train::trainer::Predictor;

/// The `wrong-key` attack (registered in `super::ATTACKS`).
pub struct WrongKey;

impl Attack for WrongKey {
    const NAME: &'static str = "wrong-key";
    const TITLE: &'static str = "Stolen model without the key (raw inputs, wrong keys)";
    const RESULT: ResultKind = ResultKind::ModelTheft;
    const NEEDS: &'static [Need] = &[Need::ProviderModel];
    /// On a split arm: the provider's middle between random heads and tails (`super::wrong_parts`).
    const SCHEMES: &'static [Scheme] = &[Scheme::Keyed, Scheme::Split];
    type Params = WrongKeyParams;

    fn check(p: &WrongKeyParams) -> Result<(), (String, String)> {
        ranges::positive("keys", p.keys)
    }

    fn rule() -> Spec {
        Spec {
            decided_by: format!(
                "best accuracy of the stolen model without the key (raw inputs or wrong keys, any label map), on the scale \
                 from chance to the right key's accuracy: {}",
                on_scale_thresholds()
            ),
            protects: "without the key the stolen model is little better than guessing",
            partial_leak: "without the key the stolen model is a weak but usable classifier",
            broken: "the stolen model works without the key",
            criteria,
        }
    }

    fn run(
        &self,
        ctx: &AttackContext<'_>,
        p: &WrongKeyParams,
        progress: &Progress<'_>,
    ) -> anyhow::Result<AttackRecord> {
        match ctx.scheme() {
            Scheme::Split => super::wrong_parts::run(ctx, p, progress),
            Scheme::Keyed => run(ctx, p, progress),
            Scheme::InstaHide => Err(anyhow::anyhow!("{}", Scheme::InstaHide.not_for())),
        }
    }
}

/// `[attacks.wrong_key]`: the stolen model on raw inputs and under random wrong keys.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WrongKeyParams {
    /// Number of random wrong keys (same transform list, fresh secrets).
    #[serde(default = "default_wrong_keys")]
    pub keys: usize,
}

fn default_wrong_keys() -> usize {
    10
}

impl Default for WrongKeyParams {
    fn default() -> Self {
        Self { keys: default_wrong_keys() }
    }
}

/// Load the provider's model and hand `f` a scorer (inputs -> raw output scores, n rows of C*m).
pub(crate) fn with_provider_model<R>(
    ctx: &AttackContext<'_>,
    f: impl FnOnce(&dyn Fn(&[f32]) -> Vec<f32>) -> R,
) -> anyhow::Result<R> {
    struct Job<'a, F> {
        dev: &'a Cpu,
        path: &'a std::path::Path,
        features: usize,
        f: F,
    }
    impl<R, F: FnOnce(&dyn Fn(&[f32]) -> Vec<f32>) -> R> WithNet<Cpu> for Job<'_, F> {
        type Output = anyhow::Result<R>;
        fn run<M: Net<Cpu>>(self, mut model: M) -> anyhow::Result<R> {
            crate::model::io::load(&mut model, self.path)?;
            let (dev, d) = (self.dev, self.features);
            // One frozen copy of the weights for every key the attack tries.
            let predictor = Predictor::new(&model, dev);
            let score = |x: &[f32]| predictor.predict(x, d).expect("forward on CPU");
            Ok((self.f)(&score))
        }
    }
    if !ctx.provider_model.is_file() {
        anyhow::bail!("no provider model at {}", ctx.provider_model.display());
    }
    let dev = Cpu::seed_from_u64(ctx.config.seed);
    let outputs = ctx.classes * ctx.codes_per_class();
    with_net(
        ctx.arch,
        &dev,
        ctx.encoded_shape(),
        outputs,
        Job { dev: &dev, path: &ctx.provider_model, features: ctx.encoded_features(), f },
    )
}

/// Adversary: the label map that best explains its labelled data: each code goes to the class it
/// is most often predicted for (codes never predicted: class 0).
pub fn fit_code_map(scores: &[f32], labels: &[u8], outputs: usize, classes: usize) -> Vec<usize> {
    let predicted = argmax_rows(scores, outputs);
    let mut counts = vec![0usize; outputs * classes];
    for (&p, &l) in predicted.iter().zip(labels) {
        counts[p * classes + l as usize] += 1;
    }
    (0..outputs)
        .map(|code| {
            let row = &counts[code * classes..(code + 1) * classes];
            (0..classes).max_by_key(|&c| (row[c], std::cmp::Reverse(c))).unwrap_or(0)
        })
        .collect()
}

/// Classes predicted by "argmax code, then map".
pub fn predict_with_map(scores: &[f32], outputs: usize, class_of_code: &[usize]) -> Vec<usize> {
    argmax_rows(scores, outputs).into_iter().map(|c| class_of_code[c]).collect()
}

/// The public "no secret" label map: class c owns codes c*m .. (c+1)*m.
pub fn identity_codec(classes: usize, m: usize) -> LabelCodec {
    LabelCodec::random(classes, m, false, &mut ChaCha20Rng::seed_from_u64(0))
}

/// Wrong keys for the simulation: fresh 256-bit secrets, drawn from a seeded stream so that the
/// record is reproducible (they are as unrelated to the customer's key as OS-random ones).
pub fn wrong_keys(seed: u64, n: usize) -> Vec<SecretKey> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x7772_6f6e_676b_6579);
    (0..n)
        .map(|_| {
            let mut b = [0u8; 32];
            rng.fill_bytes(&mut b);
            SecretKey::from_hex(&hex::encode(b)).expect("32 bytes")
        })
        .collect()
}

pub fn run(ctx: &AttackContext<'_>, p: &WrongKeyParams, progress: &Progress<'_>) -> anyhow::Result<AttackRecord> {
    let (c, m) = (ctx.classes, ctx.codes_per_class());
    let outputs = c * m;
    let chance = 1.0 / c as f64;
    let keyed = ctx.keyed()?;
    let privacy = keyed.privacy;
    let total = p.keys + 2;

    // --- Observation (simulation). The right key only makes the customer's queries for the
    // reference accuracy; wrong keys are fresh secrets, unrelated to the customer's.
    let right_eval = keyed.oracle.encode(&ctx.eval.images);
    let identity = identity_codec(c, m);

    let mut r = ctx.new_record::<WrongKey>(
        ThreatModel {
            adversary: "whoever steals the provider's artifacts (or the provider itself)".into(),
            holds: vec![
                "provider/model.safetensors".into(),
                "raw inputs (evaluation half)".into(),
                "labelled raw samples (adversary half), to fit a label map".into(),
            ],
            knowledge: "the architecture and the scheme (transform list, label splitting), not the key".into(),
        },
        format!("{}; label maps fitted on the adversary half, accuracy on the evaluation half", ctx.aux_description),
    );
    let mut own = Curve::new("wrong keys, each key's own label map", "wrong key #", "accuracy", false);
    let mut fitted = Curve::new("wrong keys, label map fitted on labelled aux data", "wrong key #", "accuracy", false);
    let mut stopped = false;

    let figures = with_provider_model(ctx, |score| {
        // --- Recovery attempts (no key): raw inputs (where the encoding changes the shape, encoded
        // under a key of the adversary's own: `keyless_input`), then wrong keys.
        let raw_aux = score(&ctx.keyless_input(&ctx.aux.images));
        let raw_eval = score(&ctx.keyless_input(&ctx.eval.images));
        let raw_identity = accuracy(&identity.predict(&raw_eval), &ctx.eval.labels);
        let map = fit_code_map(&raw_aux, &ctx.aux.labels, outputs, c);
        let raw_fitted = accuracy(&predict_with_map(&raw_eval, outputs, &map), &ctx.eval.labels);
        // --- Scoring references (use the key): the true label map on raw inputs (upper bound), and the
        // customer's own accuracy with the right key.
        let raw_true_map = accuracy(&keyed.oracle.codec().predict(&raw_eval), &ctx.eval.labels);
        let right_key = accuracy(&keyed.oracle.codec().predict(&score(&right_eval)), &ctx.eval.labels);
        progress.report(2, total);
        for (i, key) in wrong_keys(ctx.config.seed, p.keys).into_iter().enumerate() {
            if ctx.stop_requested() {
                stopped = true;
                break;
            }
            let guess = Customer::new(key, privacy, ctx.config.data.dataset.name(), ctx.shape, c);
            let aux_scores = score(guess.encode_inputs(&ctx.aux.images).images());
            let eval_scores = score(guess.encode_inputs(&ctx.eval.images).images());
            own.push(i as f64 + 1.0, accuracy(&guess.codec().predict(&eval_scores), &ctx.eval.labels));
            let map = fit_code_map(&aux_scores, &ctx.aux.labels, outputs, c);
            fitted.push(i as f64 + 1.0, accuracy(&predict_with_map(&eval_scores, outputs, &map), &ctx.eval.labels));
            progress.report(i + 3, total);
        }
        (raw_identity, raw_fitted, raw_true_map, right_key)
    })?;
    let (raw_identity, raw_fitted, raw_true_map, right_key) = figures;
    let mean = |cv: &Curve| {
        if cv.points.is_empty() {
            0.0
        } else {
            cv.points.iter().map(|p| p[1]).sum::<f64>() / cv.points.len() as f64
        }
    };
    let max = |cv: &Curve| cv.points.iter().map(|p| p[1]).fold(0.0, f64::max);
    let (own_mean, fitted_mean) = (mean(&own), mean(&fitted));
    let best = raw_identity.max(raw_fitted).max(own_mean).max(fitted_mean);

    r.parameters.insert("wrong_keys".into(), json!(own.points.len()));
    if let Some(note) = ctx.keyless_input_note() {
        r.parameters.insert("raw_inputs".into(), json!(note));
    }
    r.parameters.insert(super::EVALUATION_SAMPLES.into(), json!(ctx.eval.len()));
    r.headline = Figure::new("best accuracy without the key", best, "fraction");
    r.figures = vec![
        Figure::new("raw inputs, identity label map", raw_identity, "fraction"),
        Figure::new("raw inputs, label map fitted on aux labels", raw_fitted, "fraction"),
        Figure::new("raw inputs, true label map (upper bound, needs the secret map)", raw_true_map, "fraction"),
        Figure::new("wrong keys, own label map (mean)", own_mean, "fraction"),
        Figure::new("wrong keys, own label map (max)", max(&own), "fraction"),
        Figure::new("wrong keys, fitted label map (mean)", fitted_mean, "fraction"),
        Figure::new("right key (the customer)", right_key, "fraction"),
    ];
    r.chance = Some(chance);
    r.baseline = Some(right_key);
    r.baseline_label = Some("accuracy with the right key (the customer's)".into());
    r.curves = vec![own, fitted];
    r.complete = !stopped;
    // Share of the key holder's margin over chance that the adversary keeps.
    let kept = if right_key > chance { ((best - chance) / (right_key - chance)).max(0.0) } else { 0.0 };
    r.figures.push(Figure::new("share of the right key's margin over chance kept without the key", kept, "fraction"));
    super::verdict::decide(&mut r);
    let upper = format!("with the secret label map, raw inputs give {}", pct(raw_true_map));
    let figures = format!("best {} (chance {}; right key {}; {upper})", pct(best), pct(chance), pct(right_key));
    r.verdict = match r.level.unwrap_or(Level::Protects) {
        Level::Broken => format!("the stolen model is usable without the key: {figures}"),
        Level::PartialLeak => format!("the stolen model leaks without the key: {figures}"),
        Level::Protects => format!("without the key the stolen model is little better than chance: {figures}"),
    };
    Ok(r)
}

/// The rule's criterion: the best keyless accuracy, from chance to the right key's.
fn criteria(r: &AttackRecord) -> Vec<Criterion> {
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
