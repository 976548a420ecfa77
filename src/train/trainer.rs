//! One trainer per arm. It sees only a [`TrainingSet`] (raw for the baseline, encoded for the private
//! arm), test inputs and a [`Judge`]; it reports through [`Event`]s and knows nothing of any UI. The
//! loop itself is [`super::fit`], shared with the attacks' networks.

use std::path::PathBuf;
use std::sync::mpsc::Sender;
use std::time::Instant;

use dfdx::optim::{Adam, AdamConfig, Momentum, Optimizer, Sgd, SgdConfig, WeightDecay};
use dfdx::prelude::*;

use super::control::Control;
use super::events::{ArmSummary, Event, MetricRow, MetricSplit};
use super::fit::{fit_redrawn, FitEnd, ModelStep, Observer, Progress, Rows, Schedule, StepOutput, Targets, TrainStep};
use crate::config::{Arch, OptimizerKind, TrainConfig};
use crate::data::ImageShape;
use crate::model::arch::{with_net, Net, WithNet};
use crate::model::frozen::FrozenNet;
use crate::model::tensor_from_slice;
use crate::scheme::{Judge, TrainingSet};

/// A training loss above this means the arm diverged.
pub const DIVERGED_LOSS: f64 = 1e6;

/// Everything a trainer needs besides the data.
#[derive(Debug, Clone)]
pub struct TrainSpec {
    /// The arm's name, as events and metrics.csv carry it.
    pub arm: String,
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

/// Train one arm on `dev` (seeded by the caller: same seed, same initialisation) and report events.
#[allow(clippy::too_many_arguments)]
pub fn train_arm<D: Device<f32>, R>(
    dev: &D,
    spec: &TrainSpec,
    data: TrainingSet<'_>,
    test_inputs: &[f32],
    judge: &Judge,
    events: &Sender<Event<R>>,
    control: &Control,
) -> ArmOutcome {
    // Denormal floats (e.g. Adam moments of rarely active inputs decaying towards zero) are slow on
    // CPUs; flush them to zero on this (the trainer's) thread, as dfdx's own examples do.
    dfdx::flush_denormals_to_zero();
    let job = ArmJob { dev, spec, data, test_inputs, judge, events, control };
    let outcome = with_net(spec.arch, dev, spec.shape, data.outputs, job);
    report_end(spec, events, &outcome);
    outcome
}

/// The arm's last event: finished, stopped or failed.
pub(crate) fn report_end<R>(spec: &TrainSpec, events: &Sender<Event<R>>, outcome: &ArmOutcome) {
    let event = match outcome {
        ArmOutcome::Finished(s) => Event::TrainFinished { arm: spec.arm.clone(), summary: s.clone() },
        ArmOutcome::Stopped(s) => Event::TrainStopped { arm: spec.arm.clone(), summary: s.clone() },
        ArmOutcome::Failed(r) => Event::TrainFailed { arm: spec.arm.clone(), reason: r.clone() },
    };
    let _ = events.send(event);
}

/// A training step whose network can score inputs: the arm's test evaluation after each epoch.
pub trait Evaluate {
    /// Scores of `inputs` (rows of `features`), row after row.
    fn scores(&self, inputs: &[f32], features: usize) -> Result<Vec<f32>, String>;
}

impl<D: Device<f32>, M: Net<D>, O: Optimizer<M, D, f32>> Evaluate for ModelStep<'_, D, M, O> {
    fn scores(&self, inputs: &[f32], features: usize) -> Result<Vec<f32>, String> {
        predict(&*self.model, self.device(), inputs, features).map_err(|e| format!("{e:?}"))
    }
}

/// One arm's training: its device, spec, data, evaluation and reporting.
pub(crate) struct ArmJob<'a, D: Device<f32>, R> {
    pub dev: &'a D,
    pub spec: &'a TrainSpec,
    pub data: TrainingSet<'a>,
    pub test_inputs: &'a [f32],
    pub judge: &'a Judge,
    pub events: &'a Sender<Event<R>>,
    pub control: &'a Control,
}

impl<D: Device<f32>, R> WithNet<D> for ArmJob<'_, D, R> {
    type Output = ArmOutcome;

    fn run<M: Net<D>>(self, mut model: M) -> ArmOutcome {
        let t = &self.spec.train;
        let loss = |out, y| cross_entropy_with_logits_loss(out, y);
        match t.optimizer {
            OptimizerKind::Adam => {
                let cfg = AdamConfig {
                    lr: t.learning_rate,
                    weight_decay: (t.weight_decay > 0.0).then_some(WeightDecay::Decoupled(t.weight_decay)),
                    ..Default::default()
                };
                let opt = Adam::new(&model, cfg);
                let set_lr = |o: &mut Adam<M, f32, D>, lr| o.cfg.lr = lr;
                let outcome = self.fit(&mut ModelStep::new(self.dev, &mut model, opt, set_lr, loss));
                self.save(&model, outcome)
            }
            OptimizerKind::Sgd => {
                let cfg = SgdConfig {
                    lr: t.learning_rate,
                    momentum: (t.momentum > 0.0).then_some(Momentum::Classic(t.momentum)),
                    weight_decay: (t.weight_decay > 0.0).then_some(WeightDecay::L2(t.weight_decay)),
                };
                let opt = Sgd::new(&model, cfg);
                let set_lr = |o: &mut Sgd<M, f32, D>, lr| o.cfg.lr = lr;
                let outcome = self.fit(&mut ModelStep::new(self.dev, &mut model, opt, set_lr, loss));
                self.save(&model, outcome)
            }
        }
    }
}

impl<D: Device<f32>, R> ArmJob<'_, D, R> {
    /// Train `step` through the one loop, reporting events and evaluating after every epoch.
    pub(crate) fn fit<S: TrainStep + Evaluate>(&self, step: &mut S) -> ArmOutcome {
        let (spec, data) = (self.spec, self.data);
        let t = &spec.train;
        let schedule = Schedule {
            epochs: t.epochs,
            min_steps: 0,
            batch_size: t.batch_size,
            learning_rate: t.learning_rate,
            lr_decay: t.lr_decay,
            seed: spec.seed,
        };
        let n = data.len();
        let rows = Rows {
            inputs: data.images,
            features: data.features,
            targets: Targets::Classes { labels: data.targets, outputs: data.outputs },
        };
        let _ = self.events.send(Event::TrainStarted {
            arm: spec.arm.clone(),
            epochs: t.epochs,
            steps_per_epoch: schedule.steps_per_epoch(n),
            samples: n,
        });
        // InstaHide: each epoch's mixes of the private set, with their soft labels.
        let remix = data.redraw.map(|h| {
            move |epoch: usize| {
                let m = h.epoch(epoch, data.images, data.targets, data.features, data.outputs);
                (m.inputs, m.targets)
            }
        });
        let redraw = remix.as_ref().map(|f| f as &dyn Fn(usize) -> (Vec<f32>, Vec<f32>));
        let mut reporter = ArmReporter::new(self);
        match fit_redrawn(step, rows, redraw, &schedule, &mut reporter) {
            Ok(FitEnd::Finished) => ArmOutcome::Finished(reporter.summary()),
            Ok(FitEnd::Stopped) => ArmOutcome::Stopped(reporter.summary()),
            Err(reason) => ArmOutcome::Failed(reason),
        }
    }

    fn save<M: Net<D>>(&self, model: &M, outcome: ArmOutcome) -> ArmOutcome {
        match (&outcome, &self.spec.save_to) {
            (ArmOutcome::Finished(_), Some(path)) => match crate::model::io::save(model, path) {
                Ok(()) => outcome,
                Err(e) => ArmOutcome::Failed(format!("cannot save the model to {}: {e:#}", path.display())),
            },
            _ => outcome,
        }
    }
}

/// Turns the loop's steps and epochs into the arm's events: running train metrics every `log_every`
/// steps, a test evaluation (through the customer's [`Judge`]) after every epoch.
struct ArmReporter<'a, 'j, D: Device<f32>, R> {
    job: &'a ArmJob<'j, D, R>,
    train_seconds: f64,
    epoch_seconds: Vec<f64>,
    last_test_accuracy: f64,
    epoch_start: Instant,
    window: Window,
    /// Seconds waited while paused: in all, and in the current epoch (left out of its time).
    paused_seconds: f64,
    paused_in_epoch: f64,
}

/// Loss and hits since the last train metric row.
struct Window {
    loss: f64,
    hits: usize,
    samples: usize,
    start: Instant,
    /// Seconds of the window spent paused (not training).
    paused: f64,
}

impl Window {
    fn new() -> Self {
        Self { loss: 0.0, hits: 0, samples: 0, start: Instant::now(), paused: 0.0 }
    }

    fn training_seconds(&self) -> f64 {
        self.start.elapsed().as_secs_f64() - self.paused
    }
}

impl<'a, 'j, D: Device<f32>, R> ArmReporter<'a, 'j, D, R> {
    fn new(job: &'a ArmJob<'j, D, R>) -> Self {
        Self {
            job,
            train_seconds: 0.0,
            epoch_seconds: Vec::new(),
            last_test_accuracy: 0.0,
            epoch_start: Instant::now(),
            window: Window::new(),
            paused_seconds: 0.0,
            paused_in_epoch: 0.0,
        }
    }

    fn summary(&self) -> ArmSummary {
        let n = self.job.data.len();
        ArmSummary {
            test_accuracy: self.last_test_accuracy,
            train_seconds: self.train_seconds,
            samples_per_second: if self.train_seconds > 0.0 {
                (self.epoch_seconds.len() * n) as f64 / self.train_seconds
            } else {
                0.0
            },
            epochs_completed: self.epoch_seconds.len(),
            epoch_seconds: self.epoch_seconds.clone(),
            paused_seconds: self.paused_seconds,
        }
    }

    fn send_metric(&self, at: Progress, split: MetricSplit, loss: f64, accuracy: f64, samples_per_s: f64, wall_s: f64) {
        let row = MetricRow {
            arm: self.job.spec.arm.clone(),
            epoch: at.epoch,
            step: at.step,
            split,
            loss,
            accuracy,
            samples_per_s,
            wall_s,
        };
        let _ = self.job.events.send(Event::Metric(row));
    }

    /// The running train row of the window so far, then a fresh window.
    fn flush_window(&mut self, at: Progress, wall_s: f64) {
        let w = &self.window;
        let samples_per_s = w.samples as f64 / w.training_seconds().max(1e-9);
        self.send_metric(
            at,
            MetricSplit::Train,
            w.loss / w.samples as f64,
            w.hits as f64 / w.samples as f64,
            samples_per_s,
            wall_s,
        );
        self.window = Window::new();
    }
}

impl<D: Device<f32>, S: Evaluate, R> Observer<S> for ArmReporter<'_, '_, D, R> {
    fn proceed(&mut self) -> bool {
        let (go, waited) = self.job.control.wait_while_paused();
        let waited = waited.as_secs_f64();
        self.paused_seconds += waited;
        self.paused_in_epoch += waited;
        self.window.paused += waited;
        go
    }

    fn before_epoch(&mut self, _epoch: usize) {
        self.epoch_start = Instant::now();
        self.paused_in_epoch = 0.0;
    }

    fn wants_outputs(&self) -> bool {
        true
    }

    fn after_step(&mut self, at: Progress, indices: &[usize], out: &StepOutput) -> Result<(), String> {
        // Cross-entropy over at most a few hundred outputs starts near ln(outputs); a loss beyond
        // DIVERGED_LOSS only comes from exploding logits.
        if !out.loss.is_finite() || out.loss > DIVERGED_LOSS {
            return Err(format!("loss became {:e} at epoch {}, step {} (diverged)", out.loss, at.epoch, at.step));
        }
        let data = self.job.data;
        let predicted = crate::scheme::labels::argmax_rows(&out.outputs, data.outputs);
        self.window.hits += indices.iter().zip(&predicted).filter(|(&i, &p)| data.targets[i] as usize == p).count();
        self.window.loss += out.loss * indices.len() as f64;
        self.window.samples += indices.len();
        if at.step.is_multiple_of(self.job.spec.train.log_every) {
            // Training time so far: finished epochs plus this one's part, pauses left out.
            let wall_s = self.train_seconds + self.epoch_start.elapsed().as_secs_f64() - self.paused_in_epoch;
            self.flush_window(at, wall_s);
        }
        Ok(())
    }

    fn after_epoch(&mut self, step: &S, at: Progress, seconds: f64) -> Result<(), String> {
        // The loop's clock ran on through any pause in proceed(): take the paused time out.
        let seconds = (seconds - self.paused_in_epoch).max(0.0);
        self.train_seconds += seconds;
        self.epoch_seconds.push(seconds);
        if self.window.samples > 0 {
            self.flush_window(at, self.train_seconds);
        }
        let (job, d) = (self.job, self.job.data.features);
        let scores =
            step.scores(job.test_inputs, d).map_err(|e| format!("evaluation failed after epoch {}: {e}", at.epoch))?;
        let eval = job.judge.evaluate(&scores);
        self.last_test_accuracy = eval.accuracy;
        let n = job.data.len();
        self.send_metric(
            at,
            MetricSplit::Test,
            eval.loss,
            eval.accuracy,
            n as f64 / seconds.max(1e-9),
            self.train_seconds,
        );
        Ok(())
    }
}
/// Forward `inputs` (n rows of `features`) without a tape; returns n rows of outputs. One call on
/// one set of weights: a caller that scores many batches with the same weights keeps a
/// [Predictor].
pub fn predict<D: Device<f32>, M: Net<D>>(
    model: &M,
    dev: &D,
    inputs: &[f32],
    features: usize,
) -> Result<Vec<f32>, D::Err> {
    Predictor::new(model, dev).predict(inputs, features)
}

/// A network ready to score inputs: frozen (`model::frozen`: weights copied out of dfdx and packed
/// once) when it is a dense network on the CPU, else run through dfdx. The weights are those of
/// the moment it is made: make a new one after training changes them.
pub struct Predictor<'a, D: Device<f32>, M> {
    model: &'a M,
    dev: &'a D,
    frozen: Option<FrozenNet>,
}

impl<'a, D: Device<f32>, M: Net<D>> Predictor<'a, D, M> {
    pub fn new(model: &'a M, dev: &'a D) -> Self {
        Predictor { model, dev, frozen: FrozenNet::freeze(&model.clone().into_layers()) }
    }

    /// One that runs every network through dfdx's layers (to compare against other code that does).
    pub fn through_dfdx(model: &'a M, dev: &'a D) -> Self {
        Predictor { model, dev, frozen: None }
    }

    /// The outputs of `inputs` (n rows of `features`), row after row.
    pub fn predict(&self, inputs: &[f32], features: usize) -> Result<Vec<f32>, D::Err> {
        const EVAL_BATCH: usize = 1000;
        // A few rows (a served query) have no parallel work to fork: handing them to a worker would
        // only add its wake-up.
        const WORKER_MIN_ROWS: usize = 32;
        let forward = || match &self.frozen {
            Some(frozen) if frozen.inputs() == features => Ok(frozen.forward(inputs)),
            _ => {
                let mut out = Vec::new();
                for chunk in inputs.chunks(EVAL_BATCH * features) {
                    let x = tensor_from_slice(self.dev, chunk, (chunk.len() / features, features))?;
                    out.extend(self.model.try_forward(x)?.as_vec());
                }
                Ok(out)
            }
        };
        if inputs.len() < WORKER_MIN_ROWS * features {
            return forward();
        }
        super::fit::on_cpu_worker::<D, _>(forward)
    }
}
