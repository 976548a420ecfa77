//! Small training loops for the adversary's networks (fine-tuned classifiers, decoders). They report
//! nothing on the training event stream (which belongs to the two arms) and stop when asked.

use dfdx::nn::{Module, ZeroGrads};
use dfdx::optim::{Adam, AdamConfig, Optimizer};
use dfdx::prelude::*;

use crate::model::arch::{Mlp1, Net};
use crate::train::trainer::epoch_order;
use crate::train::Control;

type Batch = Tensor<(usize, usize), f32, Cpu>;
type Traced = Tensor<(usize, usize), f32, Cpu, OwnedTape<f32, Cpu>>;

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
    /// Optimiser steps for `n` samples.
    pub fn steps(&self, n: usize) -> usize {
        let per_epoch = n.div_ceil(self.batch_size.max(1)).max(1);
        (self.epochs * per_epoch).max(self.min_steps)
    }
}

/// Train with Adam on `(x, target)` rows; `targets(indices)` builds the batch's target rows and `loss`
/// compares outputs with them. Returns false if stopped.
#[allow(clippy::too_many_arguments)]
fn fit<M: Net<Cpu>>(
    dev: &Cpu,
    model: &mut M,
    x: &[f32],
    d_in: usize,
    d_out: usize,
    targets: &dyn Fn(&[usize], &mut Vec<f32>),
    loss: &dyn Fn(Traced, Batch) -> Tensor<(), f32, Cpu, OwnedTape<f32, Cpu>>,
    plan: &Plan,
    control: &Control,
) -> bool {
    let n = x.len() / d_in;
    if n == 0 {
        return true;
    }
    let mut opt = Adam::new(&*model, AdamConfig { lr: plan.learning_rate, ..Default::default() });
    let mut grads = model.alloc_grads();
    let total = plan.steps(n);
    let batch = plan.batch_size.max(1).min(n);
    let mut step = 0;
    let mut epoch = 0;
    let (mut xb, mut yb) = (Vec::new(), Vec::new());
    while step < total {
        epoch += 1;
        let order = epoch_order(plan.seed, epoch, n);
        for chunk in order.chunks(batch) {
            if step >= total {
                break;
            }
            if control.stop_requested() {
                return false;
            }
            xb.clear();
            for &i in chunk {
                xb.extend_from_slice(&x[i * d_in..(i + 1) * d_in]);
            }
            yb.clear();
            targets(chunk, &mut yb);
            let xt: Batch = dev.tensor_from_vec(xb.clone(), (chunk.len(), d_in));
            let yt: Batch = dev.tensor_from_vec(yb.clone(), (chunk.len(), d_out));
            let out = model.forward_mut(xt.traced(grads));
            let l = loss(out, yt);
            grads = l.backward();
            opt.update(model, &grads).expect("adam update");
            model.zero_grads(&mut grads);
            step += 1;
        }
    }
    true
}

/// Cross-entropy training of a classifier on `targets` (output indices). False if stopped.
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
) -> bool {
    let one_hot = |idx: &[usize], out: &mut Vec<f32>| {
        out.resize(idx.len() * outputs, 0.0);
        for (row, &i) in idx.iter().enumerate() {
            out[row * outputs + targets[i] as usize] = 1.0;
        }
    };
    fit(dev, model, x, features, outputs, &one_hot, &|o, y| cross_entropy_with_logits_loss(o, y), plan, control)
}

/// A decoder `d_in -> hidden -> d_out` (ReLU, sigmoid output) trained with MSE to map `x` to `y`.
/// None if stopped.
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
) -> Option<Mlp1<Cpu>> {
    let mut model = Mlp1::new(dev, d_in, hidden, d_out);
    let rows = |idx: &[usize], out: &mut Vec<f32>| {
        for &i in idx {
            out.extend_from_slice(&y[i * d_out..(i + 1) * d_out]);
        }
    };
    let ok = fit(dev, &mut model, x, d_in, d_out, &rows, &|o, t| mse_loss(o.sigmoid(), t), plan, control);
    ok.then_some(model)
}

/// The decoder's reconstructions of `x` (sigmoid applied).
pub fn decode_with(dev: &Cpu, model: &Mlp1<Cpu>, x: &[f32], d_in: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len());
    for chunk in x.chunks(1000 * d_in) {
        let t: Batch = dev.tensor_from_vec(chunk.to_vec(), (chunk.len() / d_in, d_in));
        out.extend(model.forward(t).sigmoid().as_vec());
    }
    out
}
