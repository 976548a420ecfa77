//! Split inversion (UnSplit; Erdogan, Küpçü and Çiçek, WPES 2022, arXiv 2108.09033): the provider of
//! a split arm knows the head's architecture (public config), not its weights. It observes the cut
//! activations the customer sends for its queries (with the arm's noise, as sent) and alternates two
//! optimisations from scratch: an estimate of the inputs (MSE between a clone of the head applied to
//! the estimate and the observed activations, plus a total-variation prior; values clamped to
//! [0, 1]) and the clone's weights (the same MSE, from a random initialisation). No known pairs.

use dfdx::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, Normal};
use serde_json::json;

use super::recon::{
    assess, conclude, QualityCurves, References, MEAN_PSNR, MEAN_RECOGNISED, MEAN_SSIM, TRUE_RECOGNISED,
};
use super::registry::{ranges, Attack, ResultKind, Scheme};
use super::verdict::Spec;
use super::{AttackContext, AttackRecord, Figure, Progress, ThreatModel, EVALUATION_SAMPLES};
use crate::config::{OptimizerKind, TrainConfig};
use crate::data::ImageShape;
use crate::model::split::Part;
use crate::model::tensor_from_slice;
use crate::train::split::party::TrainedPart;

/// The `split-inversion` attack (registered in `super::ATTACKS`).
pub struct SplitInversion;

impl Attack for SplitInversion {
    const NAME: &'static str = "split-inversion";
    const TITLE: &'static str = "UnSplit: inputs from cut activations, the head's weights unknown";
    const RESULT: ResultKind = ResultKind::Reconstruction;
    const SCHEMES: &'static [Scheme] = &[Scheme::Split];
    type Params = SplitInversionParams;

    fn check(p: &SplitInversionParams) -> Result<(), (String, String)> {
        ranges::positive("rounds", p.rounds)?;
        ranges::positive("input_steps", p.input_steps)?;
        ranges::positive("model_steps", p.model_steps)?;
        ranges::positive("images", p.images)?;
        ranges::rate("input_learning_rate", p.input_learning_rate)?;
        ranges::rate("model_learning_rate", p.model_learning_rate)?;
        if !(p.tv_weight >= 0.0 && p.tv_weight.is_finite()) {
            return Err(("tv_weight".into(), format!("a number >= 0, got {}", p.tv_weight)));
        }
        Ok(())
    }

    fn rule() -> Spec {
        super::recon::rule()
    }

    fn run(
        &self,
        ctx: &AttackContext<'_>,
        p: &SplitInversionParams,
        progress: &Progress<'_>,
    ) -> anyhow::Result<AttackRecord> {
        run(ctx, p, progress)
    }
}

/// `[attacks.split_inversion]`: UnSplit's alternating optimisation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitInversionParams {
    /// Alternating rounds (each: input steps, then clone steps).
    #[serde(default = "default_rounds")]
    pub rounds: usize,
    #[serde(default = "default_steps")]
    pub input_steps: usize,
    #[serde(default = "default_steps")]
    pub model_steps: usize,
    /// Adam's learning rate on the input estimate and on the clone's weights.
    #[serde(default = "default_input_lr")]
    pub input_learning_rate: f64,
    #[serde(default = "default_model_lr")]
    pub model_learning_rate: f64,
    /// Weight of the total-variation prior (mean absolute difference of neighbouring pixels).
    #[serde(default = "default_tv")]
    pub tv_weight: f64,
    /// Queries reconstructed: the first `images` of the evaluation half.
    #[serde(default = "default_images")]
    pub images: usize,
}

fn default_rounds() -> usize {
    20
}
fn default_steps() -> usize {
    10
}
fn default_input_lr() -> f64 {
    0.01
}
fn default_model_lr() -> f64 {
    0.001
}
fn default_tv() -> f64 {
    0.05
}
fn default_images() -> usize {
    200
}

impl Default for SplitInversionParams {
    fn default() -> Self {
        Self {
            rounds: default_rounds(),
            input_steps: default_steps(),
            model_steps: default_steps(),
            input_learning_rate: default_input_lr(),
            model_learning_rate: default_model_lr(),
            tv_weight: default_tv(),
            images: default_images(),
        }
    }
}

/// The customer's sending of cut activations for `x`: the trained head, then the arm's noise.
pub(crate) fn observe(head: &Part<Cpu>, x: &[f32], d: usize, sigma: f64, seed: u64) -> anyhow::Result<Vec<f32>> {
    let dev = Cpu::seed_from_u64(seed);
    let rows = x.len() / d;
    let t = tensor_from_slice(&dev, x, (rows, d)).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut z = head.try_forward(t).map_err(|e| anyhow::anyhow!("{e:?}"))?.as_vec();
    if sigma > 0.0 {
        let normal = Normal::new(0.0, sigma as f32)?;
        let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x000b_5e7e);
        for v in &mut z {
            *v += normal.sample(&mut rng);
        }
    }
    Ok(z)
}

/// The anisotropic total variation of channel-last images (mean |difference| of horizontal and
/// vertical neighbours) and its subgradient.
fn total_variation(x: &[f32], shape: ImageShape) -> (f64, Vec<f32>) {
    let (h, w, c) = (shape.height, shape.width, shape.channels);
    let d = shape.features();
    let mut grad = vec![0f32; x.len()];
    let mut sum = 0f64;
    let mut count = 0usize;
    for (img, g) in x.chunks_exact(d).zip(grad.chunks_exact_mut(d)) {
        for i in 0..h {
            for j in 0..w {
                for ch in 0..c {
                    let a = (i * w + j) * c + ch;
                    for b in [(j + 1 < w).then(|| a + c), (i + 1 < h).then(|| a + w * c)].into_iter().flatten() {
                        let diff = img[b] - img[a];
                        sum += diff.abs() as f64;
                        count += 1;
                        let s = diff.signum();
                        g[b] += s;
                        g[a] -= s;
                    }
                }
            }
        }
    }
    let n = count.max(1) as f32;
    grad.iter_mut().for_each(|v| *v /= n);
    (sum / n as f64, grad)
}

/// Adam on a plain vector (the input estimate), clamped to [0, 1] after each step.
struct InputAdam {
    m: Vec<f32>,
    v: Vec<f32>,
    t: i32,
    lr: f32,
}

impl InputAdam {
    fn step(&mut self, x: &mut [f32], g: &[f32]) {
        let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-8f32);
        self.t += 1;
        let (c1, c2) = (1.0 - b1.powi(self.t), 1.0 - b2.powi(self.t));
        for i in 0..x.len() {
            self.m[i] = b1 * self.m[i] + (1.0 - b1) * g[i];
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * g[i] * g[i];
            x[i] = (x[i] - self.lr * (self.m[i] / c1) / ((self.v[i] / c2).sqrt() + eps)).clamp(0.0, 1.0);
        }
    }
}

/// One forward and backward pass of the clone on the estimate: the MSE to the observation, the
/// gradient at the estimate, and the clone's gradients (applied when `update`).
fn mse_step(
    dev: &Cpu,
    clone: &mut TrainedPart<Cpu>,
    x: &[f32],
    target: &Tensor<(usize, usize), f32, Cpu>,
    d: usize,
    update: bool,
) -> anyhow::Result<(f64, Vec<f32>)> {
    let rows = x.len() / d;
    let xt = tensor_from_slice(dev, x, (rows, d)).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let grads = clone.fresh_grads(Some(&xt)).map_err(anyhow::Error::msg)?;
    let out = clone.part.try_forward(xt.clone().traced(grads)).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let loss = mse_loss(out, target.clone());
    let value = loss.array() as f64;
    let grads = loss.backward();
    if update {
        clone.update(&grads).map_err(anyhow::Error::msg)?;
    }
    Ok((value, grads.get(&xt).as_vec()))
}

pub fn run(ctx: &AttackContext<'_>, p: &SplitInversionParams, progress: &Progress<'_>) -> anyhow::Result<AttackRecord> {
    let split = ctx.split()?;
    let (d, shape) = (ctx.features(), ctx.shape);
    let n = p.images.min(ctx.eval.len());
    anyhow::ensure!(n > 0, "the evaluation half is empty");
    let seed = ctx.config.seed ^ 0x0b5e_5b11;
    // --- Observation (simulation: the customer's trained head makes what crosses the cut). The
    // sample images of the figures go with the queries, after them.
    let trained = split.load_parts()?;
    let samples = ctx.samples_raw().unwrap_or(&[]);
    let queries: Vec<f32> = ctx.eval.images[..n * d].iter().chain(samples).copied().collect();
    let observed = observe(&trained.head, &queries, d, split.split.noise_sigma, seed)?;
    drop(trained);

    // --- Recovery (no weights, no pairs): the clone of the head starts at random.
    let dev = Cpu::seed_from_u64(seed);
    let mut head = split.fresh_parts(seed ^ 0xc10e).head;
    head.layers[0].set_input_grad(true);
    let train = TrainConfig {
        optimizer: OptimizerKind::Adam,
        learning_rate: p.model_learning_rate,
        weight_decay: 0.0,
        ..TrainConfig::default()
    };
    let mut clone = TrainedPart::new(head, &train);
    let rows = queries.len() / d;
    let width = observed.len() / rows;
    let target = tensor_from_slice(&dev, &observed, (rows, width)).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut x = vec![0.5f32; queries.len()];
    let mut adam = InputAdam { m: vec![0.0; x.len()], v: vec![0.0; x.len()], t: 0, lr: p.input_learning_rate as f32 };
    let tv_weight = p.tv_weight as f32;

    let mut curves = QualityCurves::new("UnSplit", "alternating rounds");
    let mut stopped = false;
    let mut last_mse = f64::NAN;
    for round in 1..=p.rounds {
        if ctx.stop_requested() {
            stopped = true;
            break;
        }
        for _ in 0..p.input_steps {
            let (mse, mut g) = mse_step(&dev, &mut clone, &x, &target, d, false)?;
            last_mse = mse;
            if tv_weight > 0.0 {
                let (_, tv) = total_variation(&x, shape);
                g.iter_mut().zip(&tv).for_each(|(a, b)| *a += tv_weight * b);
            }
            adam.step(&mut x, &g);
        }
        for _ in 0..p.model_steps {
            last_mse = mse_step(&dev, &mut clone, &x, &target, d, true)?.0;
        }
        // --- Scoring (the queries only).
        curves.push(round as f64, &assess(ctx, &x[..n * d]));
        progress.report(round, p.rounds);
    }

    let refs = references_on(ctx, n);
    if !samples.is_empty() {
        if let Some((_, a)) = curves.last() {
            let label = format!("UnSplit, {} rounds", curves.psnr.points.len());
            ctx.add_reconstruction(SplitInversion::NAME, label, &a.q, &x[n * d..]);
        }
    }

    let mut r = ctx.new_record::<SplitInversion>(
        ThreatModel {
            adversary: "the provider of a split arm (or a thief of its side), honest but curious".into(),
            holds: vec![
                "the cut-layer activations the customer sends for its queries (with the arm's noise)".into(),
                "the head's architecture (public config), not its weights".into(),
            ],
            knowledge: "no input-activation pairs; a total-variation prior on natural images".into(),
        },
        format!(
            "{}; queries = the first {n} samples of the evaluation half (their activations made by the customer's \
             trained head, as at inference); the adversary half gives only the no-attack reference and the recogniser",
            ctx.aux_description
        ),
    );
    r.parameters.insert("rounds".into(), json!(p.rounds));
    r.parameters.insert("input_steps".into(), json!(p.input_steps));
    r.parameters.insert("model_steps".into(), json!(p.model_steps));
    r.parameters.insert("input_learning_rate".into(), json!(p.input_learning_rate));
    r.parameters.insert("model_learning_rate".into(), json!(p.model_learning_rate));
    r.parameters.insert("tv_weight".into(), json!(p.tv_weight));
    r.parameters.insert("images".into(), json!(n));
    r.parameters.insert("noise_sigma".into(), json!(split.split.noise_sigma));
    r.parameters.insert("head".into(), json!(split.plan.head().len()));
    r.parameters.insert("final_activation_mse".into(), json!(last_mse));
    record_references(&mut r, &refs, n);
    if let Some((rounds, last)) = curves.last() {
        conclude(&mut r, &refs, "UnSplit", n, &last, "UnSplit inversion", &format!("{n} queries' activations"), "");
        r.headline = Figure::new(format!("PSNR of {n} queries after {rounds} rounds (UnSplit)"), last.q.psnr_db, "dB");
    }
    r.curves = curves.into_curves();
    r.complete = !stopped;
    Ok(r)
}

/// The references of a split arm's reconstructions of the first `n` evaluation queries: the
/// adversary's mean public image and the true images.
pub(crate) fn references_on(ctx: &AttackContext<'_>, n: usize) -> References {
    let d = ctx.features();
    let mean: Vec<f32> = super::linalg::column_means(&super::to_f64(&ctx.aux.images), ctx.aux.len(), d)
        .into_iter()
        .map(|v| v as f32)
        .collect();
    let guess: Vec<f32> = (0..n).flat_map(|_| mean.iter().copied()).collect();
    let mean = assess(ctx, &guess);
    References {
        mean,
        // No "encoded data read as raw" for a split arm: activations are not images. The rule reads
        // only the figures of `record_references`, so this copy is never shown.
        identity: mean,
        truth_recognised: ctx.recognise(&ctx.eval.images[..n * d]),
    }
}

/// Record the references (the figures the reconstruction rule reads) and the no-attack PSNR.
pub(crate) fn record_references(r: &mut AttackRecord, refs: &References, n: usize) {
    r.parameters.insert(EVALUATION_SAMPLES.into(), json!(n));
    r.figures.push(Figure::new(MEAN_PSNR, refs.mean.q.psnr_db, "dB"));
    r.figures.push(Figure::new(MEAN_SSIM, refs.mean.q.ssim, "fraction"));
    if let Some(v) = refs.mean.recognised {
        r.figures.push(Figure::new(MEAN_RECOGNISED, v, "fraction"));
    }
    if let Some(v) = refs.truth_recognised {
        r.figures.push(Figure::new(TRUE_RECOGNISED, v, "fraction"));
    }
    r.chance = Some(refs.mean.q.psnr_db);
    r.chance_label = Some(super::recon::NO_ATTACK_LABEL.into());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_variation_is_zero_on_flat_images_and_its_gradient_matches_differences() {
        let shape = ImageShape { height: 3, width: 3, channels: 1 };
        assert_eq!(total_variation(&[0.4; 9], shape).0, 0.0);
        let x: Vec<f32> = (0..9).map(|i| ((i * 7) % 5) as f32 / 5.0).collect();
        let (tv, g) = total_variation(&x, shape);
        let h = 1e-3f32;
        for i in 0..9 {
            let mut up = x.clone();
            up[i] += h;
            let fd = (total_variation(&up, shape).0 - tv) / h as f64;
            assert!((fd - g[i] as f64).abs() < 1e-2, "pixel {i}: {fd} vs {}", g[i]);
        }
    }
}
