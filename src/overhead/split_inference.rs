//! Inference latency of a split arm against the plain model: the customer's head, the provider's
//! middle and the customer's tail in turn, the activations copied across the cut both ways, through
//! the same path that scored the arm's test accuracy (`Evaluate::scores` of the split step), against
//! the baseline's forward alone. One sample and a batch, median of repeats, the two interleaved
//! (the repeat rule of [`super::inference`]). One process: no network latency is modelled.
//!
//! Both sides run their layers through dfdx: the split's parts are not frozen (`model::frozen`),
//! so the baseline is not either, and the ratio is the split's own cost.

use std::path::Path;
use std::time::Instant;

use dfdx::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::{Arch, SplitConfig, TrainConfig};
use crate::data::ImageShape;
use crate::model::arch::{with_net, Net, WithNet};
use crate::model::split::{network_layers, split_layers, SplitPlan};
use crate::train::split::{SplitSaves, SplitStep};
use crate::train::trainer::{Evaluate, Predictor};

use super::inference::{forward_err, ms, repeat_rounds, Budget};
use super::median;

/// Medians over repeats for one batch size, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitRoundTrip {
    pub batch_size: usize,
    /// The baseline model's forward on raw inputs (what a plain service costs).
    pub baseline_forward_ms: f64,
    /// Head, copy to the provider, middle, copy back, tail.
    pub split_ms: f64,
    /// split_ms / baseline_forward_ms.
    pub overhead_ratio: f64,
    pub repeats: usize,
}

/// `inference` of a split arm in overhead.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitInference {
    pub batch: SplitRoundTrip,
    pub single_sample: SplitRoundTrip,
    /// "trained" when the baseline and the three parts were loaded, else "initial" (timing does not
    /// depend on the weights' values).
    pub weights: String,
}

/// What [`measure`] times: the arm's architecture, cut and saved parts, and the baseline's model.
pub struct SplitFacts<'a> {
    /// The split arm's architecture.
    pub arch: Arch,
    /// The baseline's (the arms of a run may differ).
    pub baseline_arch: Arch,
    pub shape: ImageShape,
    pub classes: usize,
    pub split: &'a SplitConfig,
    pub train: &'a TrainConfig,
    pub saves: &'a SplitSaves,
    pub baseline_model: &'a Path,
    /// Inputs to time on (rows of `shape.features()`).
    pub raw: &'a [f32],
}

/// Time the split round trip against the plain forward on the first inputs of `facts.raw`.
pub fn measure(facts: &SplitFacts<'_>, budget: &Budget) -> anyhow::Result<SplitInference> {
    let dev = Cpu::default();
    with_net(facts.baseline_arch, &dev, facts.shape, facts.classes, Timed { facts, budget, dev: &dev })
}

struct Timed<'a, 'b> {
    facts: &'b SplitFacts<'a>,
    budget: &'b Budget,
    dev: &'b Cpu,
}

impl WithNet<Cpu> for Timed<'_, '_> {
    type Output = anyhow::Result<SplitInference>;
    fn run<B: Net<Cpu>>(self, mut baseline: B) -> Self::Output {
        let f = self.facts;
        let plan = SplitPlan::new(f.arch, f.split.cut, f.split.tail)
            .map_err(|(field, expected)| anyhow::anyhow!("split `{field}`: expected {expected}"))?;
        let (mut head, mut middle, mut tail) = split_layers(network_layers(f.arch, self.dev, f.shape, f.classes), plan);
        let saved = [&f.saves.head, &f.saves.middle, &f.saves.tail];
        let loaded = f.baseline_model.is_file() && saved.iter().all(|p| p.is_file());
        if loaded {
            crate::model::io::load(&mut baseline, f.baseline_model)?;
            head.load(&f.saves.head)?;
            middle.load(&f.saves.middle)?;
            tail.load(&f.saves.tail)?;
        }
        let layers = head.layers.into_iter().chain(middle.layers).chain(tail.layers).collect();
        let d = f.shape.features();
        let available = f.raw.len() / d.max(1);
        anyhow::ensure!(available > 0, "no inputs to time inference on");
        let step = SplitStep::new(self.dev, layers, plan, f.split, f.train, 0, available);
        let b = self.budget.batch_size.clamp(1, available);
        let baseline = Predictor::through_dfdx(&baseline, self.dev);
        let round_trip = |raw: &[f32]| -> anyhow::Result<SplitRoundTrip> {
            let [base, split] = repeat_rounds(self.budget, || {
                let t = Instant::now();
                let plain = baseline.predict(raw, d).map_err(forward_err)?;
                let base_ms = ms(t);
                let t = Instant::now();
                let scores = step.scores(raw, d).map_err(forward_err)?;
                let split_ms = ms(t);
                std::hint::black_box((&plain, &scores));
                Ok([base_ms, split_ms])
            })?;
            let (baseline_forward_ms, split_ms) = (median(&base).unwrap_or(0.0), median(&split).unwrap_or(0.0));
            Ok(SplitRoundTrip {
                batch_size: raw.len() / d,
                baseline_forward_ms,
                split_ms,
                overhead_ratio: if baseline_forward_ms > 0.0 { split_ms / baseline_forward_ms } else { 0.0 },
                repeats: split.len(),
            })
        };
        Ok(SplitInference {
            batch: round_trip(&f.raw[..b * d])?,
            single_sample: round_trip(&f.raw[..d])?,
            weights: if loaded { "trained" } else { "initial" }.into(),
        })
    }
}
