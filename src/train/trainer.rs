//! One trainer per arm. It sees only a [`TrainingSet`] (raw for the baseline, encoded for the private
//! arm), test inputs and a [`Judge`]; it reports through [`Event`]s and knows nothing of any UI.

use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::time::Instant;

use dfdx::nn::{Module, ZeroGrads};
use dfdx::optim::{Adam, AdamConfig, Momentum, Optimizer, Sgd, SgdConfig, WeightDecay};
use dfdx::prelude::*;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::control::Control;
use super::events::{Arm, ArmSummary, Event, MetricRow};
use crate::config::{Arch, OptimizerKind, TrainConfig};
use crate::data::ImageShape;
use crate::model::arch::{with_net, Net, WithNet};
use crate::model::tensor_from_slice;
use crate::scheme::{Judge, TrainingSet};

/// A training loss above this means the arm diverged.
pub const DIVERGED_LOSS: f64 = 1e6;

/// Everything a trainer needs besides the data.
#[derive(Debug, Clone)]
pub struct TrainSpec {
    pub arm: Arm,
    pub arch: Arch,
    pub shape: ImageShape,
    pub train: TrainConfig,
    pub seed: u64,
    /// Where to save the trained weights (safetensors), if anywhere.
    pub save_to: Option<PathBuf>,
}

/// How an arm ended.
#[derive(Debug, Clone, PartialEq)]
pub enum ArmOutcome {
    Finished(ArmSummary),
    Stopped(ArmSummary),
    Failed(String),
}

/// Order of the training samples in `epoch` (1-based): the same for every arm with the same seed.
pub fn epoch_order(seed: u64, epoch: usize, n: usize) -> Vec<usize> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    order
}

/// Train one arm on `dev` (seeded by the caller: same seed, same initialisation) and report events.
#[allow(clippy::too_many_arguments)]
pub fn train_arm<D: Device<f32>>(
    dev: &D,
    spec: &TrainSpec,
    data: TrainingSet<'_>,
    test_inputs: &[f32],
    judge: &Judge,
    events: &Sender<Event>,
    control: &Control,
) -> ArmOutcome {
    // Denormal floats (e.g. Adam moments of rarely active inputs decaying towards zero) are slow on
    // CPUs; flush them to zero on this (the trainer's) thread, as dfdx's own examples do.
    dfdx::flush_denormals_to_zero();
    let job = ArmJob { dev, spec, data, test_inputs, judge, events, control };
    let outcome = with_net(spec.arch, dev, spec.shape, data.outputs, job);
    let event = match &outcome {
        ArmOutcome::Finished(s) => Event::TrainFinished { arm: spec.arm, summary: s.clone() },
        ArmOutcome::Stopped(s) => Event::TrainStopped { arm: spec.arm, summary: s.clone() },
        ArmOutcome::Failed(r) => Event::TrainFailed { arm: spec.arm, reason: r.clone() },
    };
    let _ = events.send(event);
    outcome
}

struct ArmJob<'a, D: Device<f32>> {
    dev: &'a D,
    spec: &'a TrainSpec,
    data: TrainingSet<'a>,
    test_inputs: &'a [f32],
    judge: &'a Judge,
    events: &'a Sender<Event>,
    control: &'a Control,
}

impl<D: Device<f32>> WithNet<D> for ArmJob<'_, D> {
    type Output = ArmOutcome;

    fn run<M: Net<D>>(self, model: M) -> ArmOutcome {
        let t = &self.spec.train;
        match t.optimizer {
            OptimizerKind::Adam => {
                let cfg = AdamConfig {
                    lr: t.learning_rate,
                    weight_decay: (t.weight_decay > 0.0).then_some(WeightDecay::Decoupled(t.weight_decay)),
                    ..Default::default()
                };
                let opt = Adam::new(&model, cfg);
                self.fit(model, opt, |o: &mut Adam<M, f32, D>, lr| o.cfg.lr = lr)
            }
            OptimizerKind::Sgd => {
                let cfg = SgdConfig {
                    lr: t.learning_rate,
                    momentum: (t.momentum > 0.0).then_some(Momentum::Classic(t.momentum)),
                    weight_decay: (t.weight_decay > 0.0).then_some(WeightDecay::L2(t.weight_decay)),
                };
                let opt = Sgd::new(&model, cfg);
                self.fit(model, opt, |o: &mut Sgd<M, f32, D>, lr| o.cfg.lr = lr)
            }
        }
    }
}

impl<D: Device<f32>> ArmJob<'_, D> {
    fn send(&self, e: Event) {
        let _ = self.events.send(e);
    }

    fn fit<M: Net<D>, O: Optimizer<M, D, f32>>(self, mut model: M, mut opt: O, set_lr: fn(&mut O, f64)) -> ArmOutcome {
        // The training data needs no gradient: the first layer can skip its input gradient.
        if let Some(first) = model.input_layer_mut() {
            first.input_grad = false;
        }
        let spec = self.spec;
        let (arm, data) = (spec.arm, self.data);
        let (n, d, k) = (data.len(), data.features, data.outputs);
        let batch = spec.train.batch_size.min(n.max(1));
        let steps_per_epoch = n.div_ceil(batch);
        self.send(Event::TrainStarted { arm, epochs: spec.train.epochs, steps_per_epoch, samples: n });

        let mut grads = model.alloc_grads();
        let mut step = 0usize;
        let mut train_seconds = 0.0f64;
        let mut epoch_seconds = Vec::new();
        let mut last_test_accuracy = 0.0;
        let mut x_buf = vec![0f32; batch * d];
        let mut y_buf = vec![0f32; batch * k];

        let summary = |epoch_seconds: &Vec<f64>, train_seconds: f64, acc: f64| ArmSummary {
            test_accuracy: acc,
            train_seconds,
            samples_per_second: if train_seconds > 0.0 {
                (epoch_seconds.len() * n) as f64 / train_seconds
            } else {
                0.0
            },
            epochs_completed: epoch_seconds.len(),
            epoch_seconds: epoch_seconds.clone(),
        };

        for epoch in 1..=spec.train.epochs {
            set_lr(&mut opt, spec.train.learning_rate * spec.train.lr_decay.powi(epoch as i32 - 1));
            let order = epoch_order(spec.seed, epoch, n);
            let epoch_start = Instant::now();
            let (mut window_loss, mut window_hits, mut window_samples) = (0.0f64, 0usize, 0usize);
            let mut window_start = Instant::now();
            for chunk in order.chunks(batch) {
                if !self.control.wait_while_paused() {
                    let elapsed = epoch_start.elapsed().as_secs_f64();
                    let _ = elapsed; // a partial epoch is not counted
                    return ArmOutcome::Stopped(summary(&epoch_seconds, train_seconds, last_test_accuracy));
                }
                let b = chunk.len();
                x_buf.resize(b * d, 0.0);
                y_buf.clear();
                y_buf.resize(b * k, 0.0);
                for (row, &i) in chunk.iter().enumerate() {
                    x_buf[row * d..(row + 1) * d].copy_from_slice(&data.images[i * d..(i + 1) * d]);
                    y_buf[row * k + data.targets[i] as usize] = 1.0;
                }
                let (x, y) =
                    match (tensor_from_slice(self.dev, &x_buf, (b, d)), tensor_from_slice(self.dev, &y_buf, (b, k))) {
                        (Ok(x), Ok(y)) => (x, y),
                        (Err(e), _) | (_, Err(e)) => {
                            return ArmOutcome::Failed(format!("cannot allocate batch {step} of epoch {epoch}: {e:?}"))
                        }
                    };
                let logits = match model.try_forward_mut(x.traced(grads)) {
                    Ok(l) => l,
                    Err(e) => {
                        return ArmOutcome::Failed(format!("forward failed at epoch {epoch}, step {step}: {e:?}"))
                    }
                };
                let logit_values = logits.with_empty_tape().as_vec();
                let loss = cross_entropy_with_logits_loss(logits, y);
                let loss_value = loss.with_empty_tape().as_vec()[0] as f64;
                // Cross-entropy over at most a few hundred outputs starts near ln(outputs); a loss beyond
                // DIVERGED_LOSS only comes from exploding logits.
                if !loss_value.is_finite() || loss_value > DIVERGED_LOSS {
                    return ArmOutcome::Failed(format!(
                        "loss became {loss_value:e} at epoch {epoch}, step {} (diverged)",
                        step + 1
                    ));
                }
                grads = loss.backward();
                if let Err(e) = opt.update(&mut model, &grads) {
                    return ArmOutcome::Failed(format!("optimizer update failed at epoch {epoch}, step {step}: {e:?}"));
                }
                model.zero_grads(&mut grads);
                step += 1;

                let predicted = crate::scheme::labels::argmax_rows(&logit_values, k);
                window_hits += chunk.iter().zip(&predicted).filter(|(&i, &p)| data.targets[i] as usize == p).count();
                window_loss += loss_value * b as f64;
                window_samples += b;
                if step.is_multiple_of(spec.train.log_every) {
                    let secs = window_start.elapsed().as_secs_f64();
                    self.send(Event::Metric(MetricRow {
                        arm,
                        epoch,
                        step,
                        split: "train".into(),
                        loss: window_loss / window_samples as f64,
                        accuracy: window_hits as f64 / window_samples as f64,
                        samples_per_s: window_samples as f64 / secs.max(1e-9),
                        wall_s: train_seconds + epoch_start.elapsed().as_secs_f64(),
                    }));
                    (window_loss, window_hits, window_samples) = (0.0, 0, 0);
                    window_start = Instant::now();
                }
            }
            let secs = epoch_start.elapsed().as_secs_f64();
            train_seconds += secs;
            epoch_seconds.push(secs);
            if window_samples > 0 {
                self.send(Event::Metric(MetricRow {
                    arm,
                    epoch,
                    step,
                    split: "train".into(),
                    loss: window_loss / window_samples as f64,
                    accuracy: window_hits as f64 / window_samples as f64,
                    samples_per_s: window_samples as f64 / window_start.elapsed().as_secs_f64().max(1e-9),
                    wall_s: train_seconds,
                }));
            }
            let scores = match predict(&model, self.dev, self.test_inputs, d) {
                Ok(s) => s,
                Err(e) => return ArmOutcome::Failed(format!("evaluation failed after epoch {epoch}: {e:?}")),
            };
            let eval = self.judge.evaluate(&scores);
            last_test_accuracy = eval.accuracy;
            self.send(Event::Metric(MetricRow {
                arm,
                epoch,
                step,
                split: "test".into(),
                loss: eval.loss,
                accuracy: eval.accuracy,
                samples_per_s: n as f64 / secs.max(1e-9),
                wall_s: train_seconds,
            }));
        }
        if let Some(path) = &spec.save_to {
            if let Err(e) = crate::model::io::save(&model, path) {
                return ArmOutcome::Failed(format!("cannot save the model to {}: {e:#}", path.display()));
            }
        }
        ArmOutcome::Finished(summary(&epoch_seconds, train_seconds, last_test_accuracy))
    }
}

/// Forward `inputs` (n rows of `features`) in batches without a tape; returns n rows of outputs.
pub fn predict<
    D: Device<f32>,
    M: Module<Tensor<(usize, usize), f32, D>, Output = Tensor<(usize, usize), f32, D>, Error = D::Err>,
>(
    model: &M,
    dev: &D,
    inputs: &[f32],
    features: usize,
) -> Result<Vec<f32>, D::Err> {
    const EVAL_BATCH: usize = 1000;
    let mut out = Vec::new();
    for chunk in inputs.chunks(EVAL_BATCH * features) {
        let x = tensor_from_slice(dev, chunk, (chunk.len() / features, features))?;
        out.extend(model.try_forward(x)?.as_vec());
    }
    Ok(out)
}
