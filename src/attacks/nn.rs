//! The adversary's networks (fine-tuned classifiers, decoders), trained by the same loop as the arms
//! ([`crate::train::fit`]). They report nothing on the training event stream (which belongs to the
//! arms) and stop when asked.

use dfdx::nn::Module;
use dfdx::optim::{Adam, AdamConfig};
use dfdx::prelude::*;

use crate::model::arch::{Mlp1, Net};
use crate::model::tensor_from_slice;
use crate::train::fit::{fit, FitEnd, ModelStep, Observer, Rows, Schedule, Targets, TrainStep};
use crate::train::Control;

/// How long and how fast to train.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    pub epochs: usize,
    /// At least this many optimiser steps (more epochs for tiny sets).
    pub min_steps: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Seeds the sample order.
    pub seed: u64,
}

impl Plan {
    fn schedule(&self) -> Schedule {
        Schedule {
            epochs: self.epochs,
            min_steps: self.min_steps,
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
            lr_decay: 1.0,
            seed: self.seed,
        }
    }

    /// Optimiser steps for `n` samples.
    pub fn steps(&self, n: usize) -> usize {
        self.schedule().total_steps(n)
    }
}

/// An attack's observer: it waits while the run is paused and stops when the run is stopped.
struct StopOnRequest<'a>(&'a Control);

impl<S> Observer<S> for StopOnRequest<'_> {
    fn proceed(&mut self) -> bool {
        self.0.wait_while_paused().0
    }
}

/// Train `model` with Adam on `rows` by `plan`. Ok(false) if stopped; Err names what failed.
fn train<M: Net<Cpu>>(
    dev: &Cpu,
    model: &mut M,
    rows: Rows<'_>,
    loss: crate::train::fit::LossFn<Cpu>,
    plan: &Plan,
    control: &Control,
) -> anyhow::Result<bool> {
    let opt = Adam::new(&*model, AdamConfig { lr: plan.learning_rate, ..Default::default() });
    let set_lr = |o: &mut Adam<M, f32, Cpu>, lr| o.cfg.lr = lr;
    train_step(&mut ModelStep::new(dev, model, opt, set_lr, loss), rows, plan, control)
}

/// Train any step (a split network's parties, say) on `rows` by `plan`. Ok(false) if stopped.
pub fn train_step<S: TrainStep>(step: &mut S, rows: Rows<'_>, plan: &Plan, control: &Control) -> anyhow::Result<bool> {
    match fit(step, rows, &plan.schedule(), &mut StopOnRequest(control)) {
        Ok(end) => Ok(end == FitEnd::Finished),
        Err(reason) => Err(anyhow::anyhow!("training the adversary's network failed: {reason}")),
    }
}

/// Cross-entropy training of a classifier on `targets` (output indices). Ok(false) if stopped.
#[allow(clippy::too_many_arguments)]
pub fn train_classifier<M: Net<Cpu>>(
    dev: &Cpu,
    model: &mut M,
    x: &[f32],
    features: usize,
    targets: &[u16],
    outputs: usize,
    plan: &Plan,
    control: &Control,
) -> anyhow::Result<bool> {
    let rows = Rows { inputs: x, features, targets: Targets::Classes { labels: targets, outputs } };
    train(dev, model, rows, cross_entropy_with_logits_loss, plan, control)
}

/// A decoder `d_in -> hidden -> d_out` (ReLU, sigmoid output) trained with MSE to map `x` to `y`.
/// Ok(None) if stopped.
#[allow(clippy::too_many_arguments)]
pub fn train_decoder(
    dev: &Cpu,
    x: &[f32],
    d_in: usize,
    y: &[f32],
    d_out: usize,
    hidden: usize,
    plan: &Plan,
    control: &Control,
) -> anyhow::Result<Option<Mlp1<Cpu>>> {
    let mut model = Mlp1::new(dev, d_in, hidden, d_out);
    let rows = Rows { inputs: x, features: d_in, targets: Targets::Rows { values: y, width: d_out } };
    let finished = train(dev, &mut model, rows, |o, t| mse_loss(o.sigmoid(), t), plan, control)?;
    Ok(finished.then_some(model))
}

/// The decoder's reconstructions of `x` (sigmoid applied).
pub fn decode_with(dev: &Cpu, model: &Mlp1<Cpu>, x: &[f32], d_in: usize) -> anyhow::Result<Vec<f32>> {
    let mut out = Vec::with_capacity(x.len());
    for chunk in x.chunks(1000 * d_in) {
        let t = tensor_from_slice(dev, chunk, (chunk.len() / d_in, d_in))
            .map_err(|e| anyhow::anyhow!("cannot allocate a batch for the decoder: {e:?}"))?;
        out.extend(
            model.try_forward(t).map_err(|e| anyhow::anyhow!("decoder forward failed: {e:?}"))?.sigmoid().as_vec(),
        );
    }
    Ok(out)
}

/// Batch size of the attacks' networks when their table does not say.
pub(crate) fn default_batch_size() -> usize {
    64
}

/// Adam's learning rate for the attacks' networks when their table does not say.
pub(crate) fn default_learning_rate() -> f64 {
    1e-3
}

/// The decoders' (`train_decoder`) shape and budget when their table does not say: `inversion` and
/// `split-known-pairs` both decode through one hidden layer of this width.
pub(crate) fn default_decoder_hidden() -> usize {
    256
}
pub(crate) fn default_decoder_epochs() -> usize {
    8
}
pub(crate) fn default_decoder_min_steps() -> usize {
    200
}

/// The ranges of a decoder attack's parameters (known-pair counts, hidden width, epochs, batch size,
/// learning rate).
pub(crate) fn check_decoder(
    n: &[usize],
    hidden: usize,
    epochs: usize,
    batch_size: usize,
    learning_rate: f64,
) -> Result<(), (String, String)> {
    use super::registry::ranges;
    ranges::counts("n", n)?;
    ranges::positive("hidden", hidden)?;
    ranges::positive("epochs", epochs)?;
    ranges::positive("batch_size", batch_size)?;
    ranges::rate("learning_rate", learning_rate)
}
