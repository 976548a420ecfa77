//! What both parties of a split arm do with their own layers: forward with their own tape, one
//! optimiser per layer, a fresh gradient store per step.
//!
//! One optimiser per layer is the same optimiser as one over the whole part: Adam and SGD update
//! every tensor from its own gradient and moments, with one step count that every layer's optimiser
//! advances once per training step.

use dfdx::nn::{ModuleVisitor, TensorCollection, ZeroGrads};
use dfdx::optim::{Adam, AdamConfig, Momentum, Optimizer, Sgd, SgdConfig, WeightDecay};
use dfdx::prelude::*;

use crate::config::{OptimizerKind, TrainConfig};
use crate::model::linear::runtime_options;
use crate::model::split::{Layer, Part};

enum LayerOptimizer<D: Device<f32>> {
    Adam(Adam<Layer<D>, f32, D>),
    Sgd(Sgd<Layer<D>, f32, D>),
}

/// A party's layers and their optimisers.
pub struct TrainedPart<D: Device<f32>> {
    pub part: Part<D>,
    optimizers: Vec<LayerOptimizer<D>>,
}

impl<D: Device<f32>> TrainedPart<D> {
    /// The optimiser of `train` (as every other arm's) for each layer of `part`.
    pub fn new(part: Part<D>, train: &TrainConfig) -> Self {
        let optimizers = part
            .layers
            .iter()
            .map(|layer| match train.optimizer {
                OptimizerKind::Adam => LayerOptimizer::Adam(Adam::new(
                    layer,
                    AdamConfig {
                        lr: train.learning_rate,
                        weight_decay: (train.weight_decay > 0.0).then_some(WeightDecay::Decoupled(train.weight_decay)),
                        ..Default::default()
                    },
                )),
                OptimizerKind::Sgd => LayerOptimizer::Sgd(Sgd::new(
                    layer,
                    SgdConfig {
                        lr: train.learning_rate,
                        momentum: (train.momentum > 0.0).then_some(Momentum::Classic(train.momentum)),
                        weight_decay: (train.weight_decay > 0.0).then_some(WeightDecay::L2(train.weight_decay)),
                    },
                )),
            })
            .collect();
        Self { part, optimizers }
    }

    /// A zeroed gradient store for every layer's tensors (kept after backward) and, when given, the
    /// part's input (kept too: its gradient is what crosses the cut).
    pub fn fresh_grads(&self, input: Option<&Tensor<(usize, usize), f32, D>>) -> Result<Gradients<f32, D>, String> {
        let mut grads = Gradients::leaky();
        for layer in &self.part.layers {
            layer.try_zero_grads(&mut grads).map_err(|e| format!("cannot allocate gradients: {e:?}"))?;
        }
        if let Some(x) = input {
            Leaf { x: x.clone() }
                .try_zero_grads(&mut grads)
                .map_err(|e| format!("cannot allocate gradients: {e:?}"))?;
        }
        Ok(grads)
    }

    /// One optimiser step of every layer.
    pub fn update(&mut self, grads: &Gradients<f32, D>) -> Result<(), String> {
        for (layer, opt) in self.part.layers.iter_mut().zip(&mut self.optimizers) {
            match opt {
                LayerOptimizer::Adam(o) => o.update(layer, grads),
                LayerOptimizer::Sgd(o) => o.update(layer, grads),
            }
            .map_err(|e| format!("optimizer update failed: {e:?}"))?;
        }
        Ok(())
    }

    pub fn set_learning_rate(&mut self, lr: f64) {
        for opt in &mut self.optimizers {
            match opt {
                LayerOptimizer::Adam(o) => o.cfg.lr = lr,
                LayerOptimizer::Sgd(o) => o.cfg.lr = lr,
            }
        }
    }
}

/// A part's input as a tensor collection, so that `zero_grads` keeps its gradient after backward
/// (dfdx drops the gradients of tensors that are not parameters).
struct Leaf<D: Storage<f32>> {
    x: Tensor<(usize, usize), f32, D>,
}

impl<D: Device<f32>> TensorCollection<f32, D> for Leaf<D> {
    type To<E2: Dtype, D2: Device<E2>> = ();
    fn iter_tensors<V: ModuleVisitor<Self, f32, D>>(v: &mut V) -> Result<Option<()>, V::Err> {
        v.visit_fields(
            Self::tensor("x", |s| &s.x, |s| &mut s.x, runtime_options((0, 0), |t| t.try_fill_with_zeros())),
            |_| (),
        )
    }
}

/// A scalar with its tape.
pub type Scalar<D> = Tensor<(), f32, D, OwnedTape<f32, D>>;

/// The gradient of `sum(out * grad)` with respect to `out` is exactly `grad`: the backward pass of
/// this scalar injects a gradient that arrived from the other party into this party's tape.
pub fn inject_gradient<D: Device<f32>>(
    out: Tensor<(usize, usize), f32, D, OwnedTape<f32, D>>,
    grad: Tensor<(usize, usize), f32, D>,
) -> Result<Scalar<D>, D::Err> {
    out.try_mul(grad)?.try_sum()
}
