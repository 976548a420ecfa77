//! Inference latency of the protocol against the plain model: the customer encodes, the provider's
//! model runs forward, the customer decodes; against the baseline's forward alone on raw inputs.
//! Measured on one sample and on a batch, median of repeats, the two arms interleaved so that a
//! change of machine load hits both alike.

use std::path::Path;
use std::time::{Duration, Instant};

use dfdx::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::Arch;
use crate::data::ImageShape;
use crate::model::arch::{with_net, Net, WithNet};
use crate::scheme::Customer;
use crate::train::trainer::Predictor;

use super::median;

/// Medians over repeats for one batch size, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InferenceTimes {
    pub batch_size: usize,
    /// The baseline model's forward on raw inputs (what a plain service costs).
    pub baseline_forward_ms: f64,
    /// Customer: `T_K(x)`.
    pub private_encode_ms: f64,
    /// Provider: the private model's forward on encoded inputs.
    pub private_forward_ms: f64,
    /// Customer: scores over output codes -> class probabilities.
    pub private_decode_ms: f64,
    /// Median over repeats of encode + forward + decode.
    pub private_total_ms: f64,
    /// private_total_ms / baseline_forward_ms.
    #[serde(default)]
    pub overhead_ratio: f64,
    #[serde(default)]
    pub repeats: usize,
}

impl InferenceTimes {
    /// Encode + forward + decode against the forward alone (older files did not store the ratio).
    pub fn ratio(&self) -> Option<f64> {
        if self.overhead_ratio > 0.0 {
            Some(self.overhead_ratio)
        } else {
            (self.baseline_forward_ms > 0.0).then(|| self.private_total_ms / self.baseline_forward_ms)
        }
    }
}

/// `inference` in overhead.json: the batch figures at the top level, one sample beside them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InferenceCost {
    #[serde(flatten)]
    pub batch: InferenceTimes,
    /// None in runs older than this field.
    #[serde(default)]
    pub single_sample: Option<InferenceTimes>,
    /// "trained" when both saved models were loaded, else "initial" (timing does not depend on the
    /// weights' values).
    #[serde(default)]
    pub weights: String,
}

/// How long to spend measuring.
#[derive(Debug, Clone)]
pub struct Budget {
    /// The larger batch (capped at the number of inputs available).
    pub batch_size: usize,
    pub min_repeats: usize,
    pub max_repeats: usize,
    /// Stop repeating (after `min_repeats`) once a batch size has taken this long.
    pub time: Duration,
}

impl Default for Budget {
    fn default() -> Self {
        Budget { batch_size: 256, min_repeats: 5, max_repeats: 201, time: Duration::from_millis(750) }
    }
}

/// Time the protocol against the plain forward on the first inputs of `raw` (n rows of
/// `shape.features()`), with the models saved at the given paths (initial weights where missing).
#[allow(clippy::too_many_arguments)]
pub fn measure(
    baseline_arch: Arch,
    private_arch: Arch,
    shape: ImageShape,
    classes: usize,
    customer: &Customer,
    raw: &[f32],
    baseline_model: &Path,
    private_model: &Path,
    budget: &Budget,
) -> anyhow::Result<InferenceCost> {
    let dev = Cpu::default();
    let job = Outer { private_arch, shape, customer, raw, baseline_model, private_model, budget, dev: &dev };
    with_net(baseline_arch, &dev, shape, classes, job)
}

struct Outer<'a> {
    /// The keyed arm's architecture (the baseline's builds the outer net).
    private_arch: Arch,
    shape: ImageShape,
    customer: &'a Customer,
    raw: &'a [f32],
    baseline_model: &'a Path,
    private_model: &'a Path,
    budget: &'a Budget,
    dev: &'a Cpu,
}

impl WithNet<Cpu> for Outer<'_> {
    type Output = anyhow::Result<InferenceCost>;
    fn run<B: Net<Cpu>>(self, mut baseline: B) -> Self::Output {
        let mut loaded = self.baseline_model.is_file();
        if loaded {
            crate::model::io::load(&mut baseline, self.baseline_model)?;
        }
        let private_exists = self.private_model.is_file();
        loaded &= private_exists;
        let inner = Inner { outer: &self, baseline, load_private: private_exists };
        // The private model takes the encoded shape (`le` doubles the channels).
        let private_shape = self.customer.encoded_shape();
        let (batch, single_sample) =
            with_net(self.private_arch, self.dev, private_shape, self.customer.outputs(), inner)?;
        Ok(InferenceCost {
            batch,
            single_sample: Some(single_sample),
            weights: if loaded { "trained" } else { "initial" }.into(),
        })
    }
}

struct Inner<'a, 'b, B> {
    outer: &'b Outer<'a>,
    baseline: B,
    load_private: bool,
}

impl<B: Net<Cpu>> WithNet<Cpu> for Inner<'_, '_, B> {
    type Output = anyhow::Result<(InferenceTimes, InferenceTimes)>;
    fn run<P: Net<Cpu>>(self, mut private: P) -> Self::Output {
        let o = self.outer;
        if self.load_private {
            crate::model::io::load(&mut private, o.private_model)?;
        }
        let d = o.shape.features();
        let available = o.raw.len() / d.max(1);
        anyhow::ensure!(available > 0, "no inputs to time inference on");
        let b = o.budget.batch_size.clamp(1, available);
        let batch = time_rounds(&self.baseline, &private, o.dev, o.customer, &o.raw[..b * d], d, o.budget)?;
        let single = time_rounds(&self.baseline, &private, o.dev, o.customer, &o.raw[..d], d, o.budget)?;
        Ok((batch, single))
    }
}

pub(super) fn forward_err(e: impl std::fmt::Debug) -> anyhow::Error {
    anyhow::anyhow!("forward failed while timing inference: {e:?}")
}

/// Milliseconds since `t`.
pub(super) fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Repeat one timing round within `budget` (two warm-up rounds not kept; at least `min_repeats`,
/// at most `max_repeats`, stopping after `time` once the minimum is reached): each kept round's N
/// figures, gathered per figure. Every inference measurement repeats by this one rule.
pub(super) fn repeat_rounds<const N: usize>(
    budget: &Budget,
    mut round: impl FnMut() -> anyhow::Result<[f64; N]>,
) -> anyhow::Result<[Vec<f64>; N]> {
    const WARMUP: usize = 2;
    let mut kept: [Vec<f64>; N] = std::array::from_fn(|_| Vec::new());
    let started = Instant::now();
    let mut done = 0;
    while done < budget.max_repeats + WARMUP && (done < budget.min_repeats + WARMUP || started.elapsed() < budget.time)
    {
        let figures = round()?;
        if done >= WARMUP {
            for (k, v) in kept.iter_mut().zip(figures) {
                k.push(v);
            }
        }
        done += 1;
    }
    Ok(kept)
}

fn time_rounds<B: Net<Cpu>, P: Net<Cpu>>(
    baseline: &B,
    private: &P,
    dev: &Cpu,
    customer: &Customer,
    raw: &[f32],
    d: usize,
    budget: &Budget,
) -> anyhow::Result<InferenceTimes> {
    // Served models: each network's weights are frozen once, before the rounds.
    let (baseline, private) = (Predictor::new(baseline, dev), Predictor::new(private, dev));
    let [base, enc, fwd, dec, total] = repeat_rounds(budget, || {
        let t = Instant::now();
        let plain = baseline.predict(raw, d).map_err(forward_err)?;
        let base_ms = ms(t);

        let t = Instant::now();
        let encoded = customer.encode_inputs(raw);
        let enc_ms = ms(t);
        let t = Instant::now();
        let scores = private.predict(encoded.images(), encoded.features()).map_err(forward_err)?;
        let fwd_ms = ms(t);
        let t = Instant::now();
        let probs = customer.decode_scores(&scores);
        let dec_ms = ms(t);
        std::hint::black_box((&plain, &probs));
        Ok([base_ms, enc_ms, fwd_ms, dec_ms, enc_ms + fwd_ms + dec_ms])
    })?;
    let m = |v: &Vec<f64>| median(v).unwrap_or(0.0);
    let (baseline_forward_ms, private_total_ms) = (m(&base), m(&total));
    Ok(InferenceTimes {
        batch_size: raw.len() / d,
        baseline_forward_ms,
        private_encode_ms: m(&enc),
        private_forward_ms: m(&fwd),
        private_decode_ms: m(&dec),
        private_total_ms,
        overhead_ratio: if baseline_forward_ms > 0.0 { private_total_ms / baseline_forward_ms } else { 0.0 },
        repeats: total.len(),
    })
}
