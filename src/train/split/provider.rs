//! The provider of a split arm: it holds and trains the middle layers. Everything it is given is an
//! [`Activations`] or a [`Gradient`] message (no inputs, no labels, no customer layers), and
//! everything it gives back is one of those.

use dfdx::prelude::*;

use super::exchange::{Activations, Gradient};
use super::observed::ReceivedGradients;
use super::party::{inject_gradient, TrainedPart};
use crate::config::TrainConfig;
use crate::model::split::Part;
use crate::model::tensor_from_slice;

type Rows<D> = Tensor<(usize, usize), f32, D>;
type Taped<D> = Tensor<(usize, usize), f32, D, OwnedTape<f32, D>>;

pub struct SplitProvider<D: Device<f32>> {
    dev: D,
    middle: TrainedPart<D>,
    /// Between `forward` and `backward`: the received activations (a leaf of this party's tape)
    /// and the middle's taped output.
    pending: Option<(Rows<D>, Taped<D>)>,
    /// A sample of what it received (the label-leakage attacks' observation).
    received: ReceivedGradients,
}

impl<D: Device<f32>> SplitProvider<D> {
    pub fn new(dev: &D, middle: Part<D>, train: &TrainConfig) -> Self {
        Self {
            dev: dev.clone(),
            middle: TrainedPart::new(middle, train),
            pending: None,
            received: ReceivedGradients::default(),
        }
    }

    pub fn middle(&self) -> &Part<D> {
        &self.middle.part
    }

    pub fn set_learning_rate(&mut self, lr: f64) {
        self.middle.set_learning_rate(lr);
    }

    /// Keep a received gradient and the middle's output it answers (a kept step's rows).
    pub fn keep_received(&mut self, gradient: &Gradient, sent: &Activations, step: usize, epoch: usize) {
        self.received.keep(gradient.values(), sent.values(), gradient.rows(), step, epoch);
    }

    pub fn received(&self) -> &ReceivedGradients {
        &self.received
    }

    fn leaf(&self, m: &Activations) -> Result<Rows<D>, String> {
        tensor_from_slice(&self.dev, m.values(), (m.rows(), m.width())).map_err(|e| format!("cannot allocate: {e:?}"))
    }

    /// Training: the middle's forward pass on the customer's activations, its tape kept for
    /// [`SplitProvider::backward`].
    pub fn forward(&mut self, received: Activations) -> Result<Activations, String> {
        let x = self.leaf(&received)?;
        let grads = self.middle.fresh_grads(Some(&x))?;
        let out =
            self.middle.part.try_forward(x.clone().traced(grads)).map_err(|e| format!("forward failed: {e:?}"))?;
        let sent = Activations::new(received.rows(), out.as_vec());
        self.pending = Some((x, out));
        Ok(sent)
    }

    /// Training: the middle's backward pass from the gradient at its output, one optimiser step,
    /// and the gradient at its input for the customer.
    pub fn backward(&mut self, received: Gradient) -> Result<Gradient, String> {
        let (x, out) = self.pending.take().ok_or("backward without a forward pass")?;
        let g = tensor_from_slice(&self.dev, received.values(), (received.rows(), received.width()))
            .map_err(|e| format!("cannot allocate: {e:?}"))?;
        let grads = inject_gradient(out, g).map_err(|e| format!("backward failed: {e:?}"))?.backward();
        self.middle.update(&grads)?;
        Ok(Gradient::new(received.rows(), grads.get(&x).as_vec()))
    }

    /// Inference: the middle's output, no tape.
    pub fn infer(&self, received: Activations) -> Result<Activations, String> {
        let x = self.leaf(&received)?;
        let out = self.middle.part.try_forward(x).map_err(|e| format!("forward failed: {e:?}"))?;
        Ok(Activations::new(received.rows(), out.as_vec()))
    }
}
