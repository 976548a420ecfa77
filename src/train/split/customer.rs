//! The customer of a split arm: it holds the raw inputs and labels, and trains the head (first
//! layers) and the tail (last layers). It sends only [`Activations`] (the head's output, noised when
//! asked) and [`Gradient`]s (at the middle's output).

use std::cell::RefCell;

use dfdx::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, Normal};

use super::exchange::{Activations, Gradient};
use super::nopeek::distance_correlation;
use super::party::{inject_gradient, TrainedPart};
use crate::config::{SplitConfig, TrainConfig};
use crate::model::split::Part;
use crate::model::tensor_from_slice;

type Rows<D> = Tensor<(usize, usize), f32, D>;
type Taped<D> = Tensor<(usize, usize), f32, D, OwnedTape<f32, D>>;

/// What one training step's tail gives back.
pub struct TailStep {
    /// Mean cross-entropy over the batch.
    pub loss: f64,
    /// The batch's output scores, when asked for.
    pub outputs: Vec<f32>,
    /// The gradient at the middle's output, for the provider.
    pub gradient: Gradient,
}

pub struct SplitCustomer<D: Device<f32>> {
    dev: D,
    head: TrainedPart<D>,
    tail: TrainedPart<D>,
    noise_sigma: f32,
    nopeek_alpha: f32,
    /// Draws the noise on sent activations (seeded: runs repeat).
    rng: RefCell<ChaCha20Rng>,
    /// Between `head_forward` and `head_backward`: the batch's inputs and the head's taped output.
    pending: Option<(Rows<D>, Taped<D>)>,
    /// The distance correlation of the last step (NoPeek on), for the record.
    pub last_distance_correlation: Option<f64>,
    /// The true class of each row whose gradient the provider kept (scoring only).
    kept_labels: Vec<u32>,
}

impl<D: Device<f32>> SplitCustomer<D> {
    pub fn new(dev: &D, head: Part<D>, tail: Part<D>, split: &SplitConfig, train: &TrainConfig, seed: u64) -> Self {
        Self {
            dev: dev.clone(),
            head: TrainedPart::new(head, train),
            tail: TrainedPart::new(tail, train),
            noise_sigma: split.noise_sigma as f32,
            nopeek_alpha: split.nopeek_alpha as f32,
            rng: RefCell::new(ChaCha20Rng::seed_from_u64(seed ^ 0x5EED_5B11_7000_0001)),
            pending: None,
            last_distance_correlation: None,
            kept_labels: Vec::new(),
        }
    }

    pub fn head(&self) -> &Part<D> {
        &self.head.part
    }
    pub fn tail(&self) -> &Part<D> {
        &self.tail.part
    }

    /// Keep the classes of a kept step's rows, from its one-hot targets `y`.
    pub fn keep_labels(&mut self, y: &[f32], rows: usize) {
        let width = y.len() / rows.max(1);
        self.kept_labels
            .extend(y.chunks_exact(width.max(1)).map(|row| {
                row.iter().enumerate().fold(0, |best, (k, &v)| if v > row[best] { k } else { best }) as u32
            }));
    }

    pub fn kept_labels(&self) -> &[u32] {
        &self.kept_labels
    }

    pub fn set_learning_rate(&mut self, lr: f64) {
        self.head.set_learning_rate(lr);
        self.tail.set_learning_rate(lr);
    }

    fn rows(&self, values: &[f32], rows: usize) -> Result<Rows<D>, String> {
        tensor_from_slice(&self.dev, values, (rows, values.len() / rows)).map_err(|e| format!("cannot allocate: {e:?}"))
    }

    /// The message for the provider: a copy of the head's output, plus noise when configured.
    fn send(&self, rows: usize, mut values: Vec<f32>) -> Activations {
        if self.noise_sigma > 0.0 {
            let normal = Normal::new(0.0, self.noise_sigma).expect("sigma is finite and >= 0");
            let mut rng = self.rng.borrow_mut();
            for v in &mut values {
                *v += normal.sample(&mut *rng);
            }
        }
        Activations::new(rows, values)
    }

    /// Training: the head's forward pass on a batch of `rows` inputs, its tape kept for
    /// [`SplitCustomer::head_backward`].
    pub fn head_forward(&mut self, x: &[f32], rows: usize) -> Result<Activations, String> {
        let x = self.rows(x, rows)?;
        let grads = self.head.fresh_grads(None)?;
        let z = self.head.part.try_forward(x.clone().traced(grads)).map_err(|e| format!("forward failed: {e:?}"))?;
        let sent = self.send(rows, z.as_vec());
        self.pending = Some((x, z));
        Ok(sent)
    }

    /// Training: the tail's forward pass on the provider's activations, the loss against one-hot
    /// targets `y`, the tail's backward pass and optimiser step.
    pub fn tail_step(&mut self, received: Activations, y: &[f32], want_outputs: bool) -> Result<TailStep, String> {
        let rows = received.rows();
        let m = self.rows(received.values(), rows)?;
        let y = self.rows(y, rows)?;
        let grads = self.tail.fresh_grads(Some(&m))?;
        let out = self.tail.part.try_forward(m.clone().traced(grads)).map_err(|e| format!("forward failed: {e:?}"))?;
        let outputs = if want_outputs { out.with_empty_tape().as_vec() } else { Vec::new() };
        let loss = cross_entropy_with_logits_loss(out, y);
        let loss_value = loss.with_empty_tape().as_vec()[0] as f64;
        let grads = loss.backward();
        self.tail.update(&grads)?;
        Ok(TailStep { loss: loss_value, outputs, gradient: Gradient::new(rows, grads.get(&m).as_vec()) })
    }

    /// Training: the head's backward pass from the gradient at the cut (plus NoPeek's term) and its
    /// optimiser step.
    pub fn head_backward(&mut self, received: Gradient) -> Result<(), String> {
        let (x, z) = self.pending.take().ok_or("backward without a forward pass")?;
        let g = self.rows(received.values(), received.rows())?;
        let nopeek = if self.nopeek_alpha > 0.0 {
            let d = distance_correlation(x, z.with_empty_tape()).map_err(|e| format!("NoPeek failed: {e:?}"))?;
            self.last_distance_correlation = Some(d.with_empty_tape().as_vec()[0] as f64);
            Some(d.try_mul(self.nopeek_alpha).map_err(|e| format!("NoPeek failed: {e:?}"))?)
        } else {
            None
        };
        let surrogate = inject_gradient(z, g).map_err(|e| format!("backward failed: {e:?}"))?;
        let total = match nopeek {
            Some(n) => surrogate.try_add(n).map_err(|e| format!("backward failed: {e:?}"))?,
            None => surrogate,
        };
        let grads = total.backward();
        self.head.update(&grads)
    }

    /// Inference: the head's output for the provider (noised like training's), no tape.
    pub fn head_infer(&self, x: &[f32], rows: usize) -> Result<Activations, String> {
        let z = self.head.part.try_forward(self.rows(x, rows)?).map_err(|e| format!("forward failed: {e:?}"))?;
        Ok(self.send(rows, z.as_vec()))
    }

    /// Inference: the tail's scores on the provider's activations.
    pub fn tail_infer(&self, received: Activations) -> Result<Vec<f32>, String> {
        let m = self.rows(received.values(), received.rows())?;
        Ok(self.tail.part.try_forward(m).map_err(|e| format!("forward failed: {e:?}"))?.as_vec())
    }
}
