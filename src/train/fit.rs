//! The one training loop: every arm and every network an attack trains goes through [`fit`].
//!
//! The loop owns what all of them share: the seeded sample order ([`epoch_order`]), batching, the
//! learning-rate schedule, epoch timing and stopping. What differs is passed in, as burn's `TrainStep`
//! and candle's generic `training_loop` do:
//! - a [`TrainStep`] does one optimiser step on a batch (forward, loss, backward, update); [`ModelStep`]
//!   is the one for a single dfdx model;
//! - an [`Observer`] is told about each step and each epoch (an arm turns them into [`super::Event`]s
//!   and evaluates; an attack only checks for a stop request).

use std::time::Instant;

use dfdx::nn::ZeroGrads;
use dfdx::optim::Optimizer;
use dfdx::prelude::*;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::model::arch::Net;
use crate::model::tensor_from_slice;

/// A batch of rows on device `D`.
pub type Batch<D> = Tensor<(usize, usize), f32, D>;
/// A batch with a gradient tape.
pub type Traced<D> = Tensor<(usize, usize), f32, D, OwnedTape<f32, D>>;
/// A scalar loss with its tape.
pub type Loss<D> = Tensor<(), f32, D, OwnedTape<f32, D>>;
/// Compares a model's outputs with a batch's targets.
pub type LossFn<D> = fn(Traced<D>, Batch<D>) -> Loss<D>;

/// Order of the training samples in `epoch` (1-based): the same for every arm with the same seed.
pub fn epoch_order(seed: u64, epoch: usize, n: usize) -> Vec<usize> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    order
}

/// What a model learns to produce for each training row.
#[derive(Debug, Clone, Copy)]
pub enum Targets<'a> {
    /// A class (or output code) index per row, one-hot over `outputs`.
    Classes { labels: &'a [u16], outputs: usize },
    /// A row of `width` values per row (regression, e.g. a decoder's raw images).
    Rows { values: &'a [f32], width: usize },
}

impl Targets<'_> {
    pub fn width(&self) -> usize {
        match *self {
            Targets::Classes { outputs, .. } => outputs,
            Targets::Rows { width, .. } => width,
        }
    }

    /// Write the target rows of the samples `indices` into `out` (resized to fit).
    fn fill(&self, indices: &[usize], out: &mut Vec<f32>) {
        out.clear();
        match *self {
            Targets::Classes { labels, outputs } => {
                out.resize(indices.len() * outputs, 0.0);
                for (row, &i) in indices.iter().enumerate() {
                    out[row * outputs + labels[i] as usize] = 1.0;
                }
            }
            Targets::Rows { values, width } => {
                for &i in indices {
                    out.extend_from_slice(&values[i * width..(i + 1) * width]);
                }
            }
        }
    }
}

/// The training rows: `inputs` holds n rows of `features` values.
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a> {
    pub inputs: &'a [f32],
    pub features: usize,
    pub targets: Targets<'a>,
}

impl Rows<'_> {
    pub fn len(&self) -> usize {
        self.inputs.len().checked_div(self.features).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How long, how fast and in which order to train.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    pub epochs: usize,
    /// At least this many optimiser steps: tiny sets get more epochs (the last may end part-way).
    pub min_steps: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// The learning rate is multiplied by this after every epoch.
    pub lr_decay: f64,
    /// Seeds the sample order of every epoch.
    pub seed: u64,
}

impl Schedule {
    /// The batch size actually used for `n` samples.
    pub fn batch_for(&self, n: usize) -> usize {
        self.batch_size.max(1).min(n.max(1))
    }

    pub fn steps_per_epoch(&self, n: usize) -> usize {
        n.div_ceil(self.batch_for(n)).max(1)
    }

    /// Optimiser steps for `n` samples.
    pub fn total_steps(&self, n: usize) -> usize {
        (self.epochs * self.steps_per_epoch(n)).max(self.min_steps)
    }

    fn learning_rate_in(&self, epoch: usize) -> f64 {
        self.learning_rate * self.lr_decay.powi(epoch as i32 - 1)
    }
}

/// One optimiser step's result.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepOutput {
    /// Mean loss over the batch.
    pub loss: f64,
    /// The batch's outputs (rows of the model's output width) when the observer asked for them.
    pub outputs: Vec<f32>,
}

/// The per-batch part of training.
pub trait TrainStep {
    /// One optimiser step on `rows` rows of inputs `x` and targets `y`.
    fn step(&mut self, x: &[f32], y: &[f32], rows: usize, want_outputs: bool) -> Result<StepOutput, String>;
    fn set_learning_rate(&mut self, lr: f64);
}

/// Where in training a step or an epoch end is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// 1-based.
    pub epoch: usize,
    /// Optimiser steps done so far, over all epochs.
    pub step: usize,
}

/// Watches the loop. Every method has a default, so an attack's observer is one method long.
pub trait Observer<S> {
    /// Asked before every batch: false stops the loop (the partial epoch is not counted).
    fn proceed(&mut self) -> bool;
    /// Before each epoch's first batch (1-based).
    fn before_epoch(&mut self, _epoch: usize) {}
    /// Whether [`StepOutput::outputs`] is wanted (a copy of the batch's outputs).
    fn wants_outputs(&self) -> bool {
        false
    }
    /// After each step, with the batch's sample indices. An error ends training with that reason.
    fn after_step(&mut self, _at: Progress, _indices: &[usize], _out: &StepOutput) -> Result<(), String> {
        Ok(())
    }
    /// After each epoch, with its training time (evaluation excluded: it runs here, after the clock stopped).
    fn after_epoch(&mut self, _step: &S, _at: Progress, _seconds: f64) -> Result<(), String> {
        Ok(())
    }
}

/// How [`fit`] ended when nothing failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FitEnd {
    Finished,
    /// The observer asked to stop.
    Stopped,
}

/// Train `step` on `data` by `schedule`, telling `observer`. Errors name the epoch and step.
pub fn fit<S: TrainStep, O: Observer<S>>(
    step: &mut S,
    data: Rows<'_>,
    schedule: &Schedule,
    observer: &mut O,
) -> Result<FitEnd, String> {
    fit_redrawn(step, data, None, schedule, observer)
}

/// The rows of one epoch (1-based) when they are drawn afresh for each: n rows of inputs and n rows
/// of target values (InstaHide's re-mixing).
pub type Redraw<'a> = &'a dyn Fn(usize) -> (Vec<f32>, Vec<f32>);

/// [`fit`], where `redraw` (if given) replaces `data`'s inputs and targets at the start of every
/// epoch with rows of the same count and widths (targets as rows of `data.targets.width()` values).
pub fn fit_redrawn<S: TrainStep, O: Observer<S>>(
    step: &mut S,
    data: Rows<'_>,
    redraw: Option<Redraw<'_>>,
    schedule: &Schedule,
    observer: &mut O,
) -> Result<FitEnd, String> {
    let n = data.len();
    if n == 0 {
        return Ok(FitEnd::Finished);
    }
    let (d, k) = (data.features, data.targets.width());
    let batch = schedule.batch_for(n);
    let total = schedule.total_steps(n);
    let want_outputs = observer.wants_outputs();
    let (mut x, mut y) = (Vec::with_capacity(batch * d), Vec::with_capacity(batch * k));
    let mut at = Progress { epoch: 0, step: 0 };
    while at.step < total {
        at.epoch += 1;
        step.set_learning_rate(schedule.learning_rate_in(at.epoch));
        let order = epoch_order(schedule.seed, at.epoch, n);
        let drawn = redraw.map(|draw| draw(at.epoch));
        let data = match &drawn {
            Some((inputs, values)) => Rows { inputs, features: d, targets: Targets::Rows { values, width: k } },
            None => data,
        };
        observer.before_epoch(at.epoch);
        let epoch_start = Instant::now();
        for indices in order.chunks(batch) {
            if at.step >= total {
                break;
            }
            if !observer.proceed() {
                return Ok(FitEnd::Stopped);
            }
            x.clear();
            for &i in indices {
                x.extend_from_slice(&data.inputs[i * d..(i + 1) * d]);
            }
            data.targets.fill(indices, &mut y);
            let out = step
                .step(&x, &y, indices.len(), want_outputs)
                .map_err(|e| format!("{e} at epoch {}, step {}", at.epoch, at.step + 1))?;
            at.step += 1;
            observer.after_step(at, indices, &out)?;
        }
        observer.after_epoch(step, at, epoch_start.elapsed().as_secs_f64())?;
    }
    Ok(FitEnd::Finished)
}

/// Run `work` on a worker of the rayon pool when `D` is the CPU, else on this thread: on the CPU a
/// training step or forward pass then forks each parallel product and kernel from a worker (the
/// idle workers steal its other bands) instead of injecting the work from outside and sleeping
/// until it is done. mlp-512-256's training step took 2.8 ms this way against 4.2 ms from outside
/// (bench/README.md, session 12).
///
/// `work` must hold only dfdx CPU state and plain data (what the training step and `predict` hold).
pub(crate) fn on_cpu_worker<D: 'static, R>(work: impl FnOnce() -> R) -> R {
    if std::any::TypeId::of::<D>() != std::any::TypeId::of::<Cpu>() {
        return work();
    }
    // The worker takes on this thread's share of the pool (several arms side by side: one each).
    let share = crate::pool_share::current();
    let work = HandOff(work);
    rayon::scope(move |_| HandOff(crate::pool_share::with_share(share, work.into_inner()))).into_inner()
}

/// A value lent to a rayon worker for the duration of one `rayon::scope` call.
///
/// dfdx's optimisers are not `Send` (a `PhantomData<*const M>` marker) and its error type is not
/// known to be, so the compiler cannot see that lending a CPU training step to a worker is sound.
/// It is: `rayon::scope` blocks the calling thread until the closure returns, so exactly one thread
/// touches the state at a time, and on the CPU nothing in it is tied to a thread (tensors and
/// optimiser moments are plain buffers behind `Arc`s, the device holds its RNG and buffer cache
/// behind mutexes). The one per-thread setting, flushing denormals to zero, is made on every worker
/// by [crate::model::flush_denormals_on_every_thread] (which `cpu_training_device` calls).
struct HandOff<T>(T);

// SAFETY: see the type's comment; only made by `on_cpu_worker`, for `D = Cpu`.
unsafe impl<T> Send for HandOff<T> {}

impl<T> HandOff<T> {
    /// By value, so that a closure captures the whole `HandOff` rather than its field.
    fn into_inner(self) -> T {
        self.0
    }
}

/// The step of one dfdx model with one optimiser.
pub struct ModelStep<'a, D: Device<f32>, M: Net<D>, O> {
    dev: &'a D,
    pub model: &'a mut M,
    optimizer: O,
    set_lr: fn(&mut O, f64),
    loss: LossFn<D>,
    grads: Option<Gradients<f32, D>>,
}

impl<'a, D: Device<f32>, M: Net<D>, O: Optimizer<M, D, f32>> ModelStep<'a, D, M, O> {
    pub fn new(dev: &'a D, model: &'a mut M, optimizer: O, set_lr: fn(&mut O, f64), loss: LossFn<D>) -> Self {
        // Training inputs need no gradient: the first layer can skip computing it.
        if let Some(first) = model.input_layer_mut() {
            first.input_grad = false;
        }
        let grads = Some(model.alloc_grads());
        Self { dev, model, optimizer, set_lr, loss, grads }
    }

    pub fn device(&self) -> &D {
        self.dev
    }
}

impl<D: Device<f32>, M: Net<D>, O: Optimizer<M, D, f32>> TrainStep for ModelStep<'_, D, M, O> {
    fn step(&mut self, x: &[f32], y: &[f32], rows: usize, want_outputs: bool) -> Result<StepOutput, String> {
        on_cpu_worker::<D, _>(|| self.step_on_this_thread(x, y, rows, want_outputs))
    }

    fn set_learning_rate(&mut self, lr: f64) {
        (self.set_lr)(&mut self.optimizer, lr);
    }
}

impl<D: Device<f32>, M: Net<D>, O: Optimizer<M, D, f32>> ModelStep<'_, D, M, O> {
    fn step_on_this_thread(
        &mut self,
        x: &[f32],
        y: &[f32],
        rows: usize,
        want_outputs: bool,
    ) -> Result<StepOutput, String> {
        let grads = self.grads.take().unwrap_or_else(|| self.model.alloc_grads());
        let xt = tensor_from_slice(self.dev, x, (rows, x.len() / rows))
            .map_err(|e| format!("cannot allocate batch: {e:?}"))?;
        let yt = tensor_from_slice(self.dev, y, (rows, y.len() / rows))
            .map_err(|e| format!("cannot allocate batch: {e:?}"))?;
        let out = self.model.try_forward_mut(xt.traced(grads)).map_err(|e| format!("forward failed: {e:?}"))?;
        let outputs = if want_outputs { out.with_empty_tape().as_vec() } else { Vec::new() };
        let loss = (self.loss)(out, yt);
        let loss_value = loss.with_empty_tape().as_vec()[0] as f64;
        let mut grads = loss.backward();
        self.optimizer.update(self.model, &grads).map_err(|e| format!("optimizer update failed: {e:?}"))?;
        self.model.zero_grads(&mut grads);
        self.grads = Some(grads);
        Ok(StepOutput { loss: loss_value, outputs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what the loop hands it; fails on request.
    #[derive(Default)]
    struct Recorder {
        batches: Vec<(Vec<f32>, Vec<f32>)>,
        rates: Vec<f64>,
        fail_at: Option<usize>,
    }

    impl TrainStep for Recorder {
        fn step(&mut self, x: &[f32], y: &[f32], rows: usize, _want: bool) -> Result<StepOutput, String> {
            assert_eq!(x.len(), rows);
            if self.fail_at == Some(self.batches.len()) {
                return Err("boom".into());
            }
            self.batches.push((x.to_vec(), y.to_vec()));
            Ok(StepOutput { loss: 0.5, outputs: Vec::new() })
        }
        fn set_learning_rate(&mut self, lr: f64) {
            self.rates.push(lr);
        }
    }

    struct StopAfter {
        batches_left: usize,
        epochs_seen: Vec<(usize, usize)>,
    }

    impl Observer<Recorder> for StopAfter {
        fn proceed(&mut self) -> bool {
            let go = self.batches_left > 0;
            self.batches_left = self.batches_left.saturating_sub(1);
            go
        }
        fn after_epoch(&mut self, _s: &Recorder, at: Progress, _secs: f64) -> Result<(), String> {
            self.epochs_seen.push((at.epoch, at.step));
            Ok(())
        }
    }

    fn schedule(epochs: usize, min_steps: usize, batch_size: usize) -> Schedule {
        Schedule { epochs, min_steps, batch_size, learning_rate: 0.1, lr_decay: 0.5, seed: 7 }
    }

    const INPUTS: [f32; 5] = [0.0, 1.0, 2.0, 3.0, 4.0];
    const LABELS: [u16; 5] = [0, 1, 2, 0, 1];

    fn rows() -> Rows<'static> {
        Rows { inputs: &INPUTS, features: 1, targets: Targets::Classes { labels: &LABELS, outputs: 3 } }
    }

    #[test]
    fn every_sample_once_per_epoch_in_the_seeded_order_with_its_target_and_decayed_rate() {
        let mut rec = Recorder::default();
        let mut obs = StopAfter { batches_left: usize::MAX, epochs_seen: Vec::new() };
        assert_eq!(fit(&mut rec, rows(), &schedule(2, 0, 2), &mut obs), Ok(FitEnd::Finished));
        assert_eq!(rec.batches.len(), 6, "3 batches (2+2+1) per epoch, 2 epochs");
        assert_eq!(obs.epochs_seen, vec![(1, 3), (2, 6)]);
        assert_eq!(rec.rates, vec![0.1, 0.05]);
        for epoch in 0..2 {
            let seen: Vec<f32> = rec.batches[epoch * 3..epoch * 3 + 3].iter().flat_map(|b| b.0.clone()).collect();
            let order: Vec<f32> = epoch_order(7, epoch + 1, 5).iter().map(|&i| i as f32).collect();
            assert_eq!(seen, order);
        }
        for (x, y) in &rec.batches {
            for (row, &v) in x.iter().enumerate() {
                let mut one_hot = [0.0; 3];
                one_hot[LABELS[v as usize] as usize] = 1.0;
                assert_eq!(&y[row * 3..row * 3 + 3], &one_hot[..]);
            }
        }
    }

    #[test]
    fn min_steps_adds_epochs_and_ends_part_way() {
        let mut rec = Recorder::default();
        let mut obs = StopAfter { batches_left: usize::MAX, epochs_seen: Vec::new() };
        fit(&mut rec, rows(), &schedule(1, 7, 2), &mut obs).unwrap();
        assert_eq!(rec.batches.len(), 7);
        assert_eq!(obs.epochs_seen, vec![(1, 3), (2, 6), (3, 7)]);
    }

    #[test]
    fn a_stop_request_ends_before_the_next_batch_without_counting_the_partial_epoch() {
        let mut rec = Recorder::default();
        let mut obs = StopAfter { batches_left: 4, epochs_seen: Vec::new() };
        assert_eq!(fit(&mut rec, rows(), &schedule(3, 0, 2), &mut obs), Ok(FitEnd::Stopped));
        assert_eq!(rec.batches.len(), 4);
        assert_eq!(obs.epochs_seen, vec![(1, 3)]);
    }

    #[test]
    fn a_failed_step_names_its_epoch_and_step() {
        let mut rec = Recorder { fail_at: Some(4), ..Default::default() };
        let mut obs = StopAfter { batches_left: usize::MAX, epochs_seen: Vec::new() };
        assert_eq!(fit(&mut rec, rows(), &schedule(3, 0, 2), &mut obs), Err("boom at epoch 2, step 5".to_string()));
    }

    #[test]
    fn regression_targets_are_the_rows_of_the_samples() {
        let values: Vec<f32> = (0..10).map(|v| v as f32).collect();
        let data = Rows { inputs: &INPUTS, features: 1, targets: Targets::Rows { values: &values, width: 2 } };
        let mut rec = Recorder::default();
        let mut obs = StopAfter { batches_left: usize::MAX, epochs_seen: Vec::new() };
        fit(&mut rec, data, &schedule(1, 0, 5), &mut obs).unwrap();
        let (x, y) = &rec.batches[0];
        for (row, &i) in x.iter().enumerate() {
            assert_eq!(&y[row * 2..row * 2 + 2], &values[i as usize * 2..i as usize * 2 + 2]);
        }
    }
}
