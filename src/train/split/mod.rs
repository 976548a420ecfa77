//! Split learning (U-shaped): the customer's head and tail, the provider's middle, and the step that
//! runs one training batch across them. The roles are separate types in separate files: the
//! provider's code ([`provider`]) takes and returns only the messages of [`exchange`].
//!
//! One step: head forward (customer) -> activations to the provider -> middle forward ->
//! activations back -> tail forward, loss, tail backward and update (customer) -> gradient at the
//! middle's output to the provider -> middle backward and update -> gradient at the cut back ->
//! head backward (plus NoPeek's term) and update. dfdx's tape cannot cross the boundary, so each
//! party runs its own: the receiving party starts from a leaf tensor, and a gradient that arrives is
//! injected through `sum(out * grad)`, whose gradient with respect to `out` is `grad`.

pub mod customer;
pub mod exchange;
pub mod nopeek;
pub mod observed;
pub mod party;
pub mod provider;

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::mpsc::Sender;

use dfdx::prelude::*;

use self::customer::SplitCustomer;
use self::exchange::{Link, SplitTraffic, TRAFFIC_NOTE};
use self::observed::{Sampling, SAMPLE_ROWS};
use self::provider::SplitProvider;
use super::control::Control;
use super::events::Event;
use super::fit::{StepOutput, TrainStep};
use super::trainer::{report_end, ArmJob, ArmOutcome, Evaluate, TrainSpec};
use crate::config::{SplitConfig, TrainConfig};
use crate::model::split::{network_layers, split_layers, Layer, Part, SplitPlan};
use crate::scheme::{Judge, TrainingSet};

/// The training step of a split arm: both parties and the link between them.
pub struct SplitStep<D: Device<f32>> {
    pub customer: SplitCustomer<D>,
    pub provider: SplitProvider<D>,
    link: RefCell<Link>,
    /// Which steps' received gradients the provider keeps (and the customer their labels).
    sampling: Sampling,
    epoch_rows: usize,
    steps: usize,
    rows_trained: usize,
}

impl<D: Device<f32>> SplitStep<D> {
    /// The parties of `layers` (a network's `into_layers`) cut by `plan`, for `epoch_rows` training
    /// rows per epoch. `seed` seeds the customer's noise.
    pub fn new(
        dev: &D,
        layers: Vec<Layer<D>>,
        plan: SplitPlan,
        split: &SplitConfig,
        train: &TrainConfig,
        seed: u64,
        epoch_rows: usize,
    ) -> Self {
        let (head, middle, tail) = split_layers(layers, plan);
        let batch = train.batch_size.max(1).min(epoch_rows.max(1));
        let total_steps = train.epochs * epoch_rows.div_ceil(batch).max(1);
        Self {
            customer: SplitCustomer::new(dev, head, tail, split, train, seed),
            provider: SplitProvider::new(dev, middle, train),
            link: RefCell::new(Link::new(epoch_rows)),
            sampling: Sampling::new(total_steps, batch, SAMPLE_ROWS),
            epoch_rows,
            steps: 0,
            rows_trained: 0,
        }
    }

    /// The bytes that crossed so far (null before the first step).
    pub fn traffic(&self) -> Option<SplitTraffic> {
        let link = self.link.borrow();
        let (batch_rows, per_step) = link.first_step()?;
        let names = |p: &Part<D>| p.layers.iter().map(|l| l.name().to_string()).collect();
        Some(SplitTraffic {
            head: names(self.customer.head()),
            middle: names(self.provider.middle()),
            tail: names(self.customer.tail()),
            cut_width: self.customer.head().out_width(),
            middle_width: self.provider.middle().out_width(),
            batch_rows,
            per_step,
            per_epoch: link.first_epoch(),
            inference_per_sample: link.inference_per_sample(),
            note: TRAFFIC_NOTE.into(),
        })
    }
}

impl<D: Device<f32>> TrainStep for SplitStep<D> {
    fn step(&mut self, x: &[f32], y: &[f32], rows: usize, want_outputs: bool) -> Result<StepOutput, String> {
        let link = self.link.get_mut();
        link.begin_step();
        let cut = self.customer.head_forward(x, rows)?;
        link.activations_to_provider(&cut);
        let middle = self.provider.forward(cut)?;
        link.activations_to_customer(&middle);
        self.steps += 1;
        let kept = self.sampling.keeps(self.steps).then(|| middle.clone());
        let tail = self.customer.tail_step(middle, y, want_outputs)?;
        link.gradients_to_provider(&tail.gradient);
        if let Some(sent) = kept {
            let epoch = self.rows_trained / self.epoch_rows.max(1) + 1;
            self.provider.keep_received(&tail.gradient, &sent, self.steps, epoch);
            self.customer.keep_labels(y, rows);
        }
        let at_cut = self.provider.backward(tail.gradient)?;
        link.gradients_to_customer(&at_cut);
        self.customer.head_backward(at_cut)?;
        link.end_step(rows);
        self.rows_trained += rows;
        Ok(StepOutput { loss: tail.loss, outputs: tail.outputs })
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.customer.set_learning_rate(lr);
        self.provider.set_learning_rate(lr);
    }
}

impl<D: Device<f32>> Evaluate for SplitStep<D> {
    /// Inference across the cut, as the deployed arm runs it: head, middle, tail.
    fn scores(&self, inputs: &[f32], features: usize) -> Result<Vec<f32>, String> {
        const EVAL_BATCH: usize = 1000;
        let mut out = Vec::with_capacity(inputs.len() / features.max(1));
        for chunk in inputs.chunks(EVAL_BATCH * features) {
            let rows = chunk.len() / features;
            let mut link = self.link.borrow_mut();
            link.begin_inference(rows);
            let cut = self.customer.head_infer(chunk, rows)?;
            link.activations_to_provider(&cut);
            let middle = self.provider.infer(cut)?;
            link.activations_to_customer(&middle);
            out.extend(self.customer.tail_infer(middle)?);
        }
        Ok(out)
    }
}

/// Where a split arm's parts are saved: the provider's middle, the customer's head and tail; and the
/// sample of received gradients ([`observed`]): the provider's, and the customer's labels for it.
#[derive(Debug, Clone)]
pub struct SplitSaves {
    pub middle: PathBuf,
    pub head: PathBuf,
    pub tail: PathBuf,
    pub received: PathBuf,
    pub received_labels: PathBuf,
}

/// Build the unsplit network of `spec` on `dev` (seeded by the caller: the same initialisation as
/// every other arm) and take it apart into the layers a split arm trains.
pub fn initial_layers<D: Device<f32>>(dev: &D, spec: &TrainSpec, outputs: usize) -> Vec<Layer<D>> {
    network_layers(spec.arch, dev, spec.shape, outputs)
}

/// Train one split arm and report events, as `train_arm` does for the other kinds; also returns the
/// bytes that crossed between the parties.
#[allow(clippy::too_many_arguments)]
pub fn train_split_arm<D: Device<f32>, R>(
    dev: &D,
    spec: &TrainSpec,
    split: &SplitConfig,
    saves: Option<&SplitSaves>,
    data: TrainingSet<'_>,
    test_inputs: &[f32],
    judge: &Judge,
    events: &Sender<Event<R>>,
    control: &Control,
) -> (ArmOutcome, Option<SplitTraffic>) {
    dfdx::flush_denormals_to_zero();
    let outcome_and_traffic = match SplitPlan::new(spec.arch, split.cut, split.tail) {
        Err((field, expected)) => (ArmOutcome::Failed(format!("split `{field}`: expected {expected}")), None),
        Ok(plan) => {
            let layers = initial_layers(dev, spec, data.outputs);
            let mut step = SplitStep::new(dev, layers, plan, split, &spec.train, spec.seed, data.len());
            let job = ArmJob { dev, spec, data, test_inputs, judge, events, control };
            let outcome = job.fit(&mut step);
            let outcome = match (&outcome, saves) {
                (ArmOutcome::Finished(_), Some(s)) => match save_parts(&step, s) {
                    Ok(()) => outcome,
                    Err(e) => ArmOutcome::Failed(format!("cannot save the split parts: {e:#}")),
                },
                _ => outcome,
            };
            (outcome, step.traffic())
        }
    };
    report_end(spec, events, &outcome_and_traffic.0);
    outcome_and_traffic
}

fn save_parts<D: Device<f32>>(step: &SplitStep<D>, saves: &SplitSaves) -> anyhow::Result<()> {
    step.provider.middle().save(&saves.middle)?;
    step.customer.head().save(&saves.head)?;
    step.customer.tail().save(&saves.tail)?;
    step.provider.received().save(&saves.received)?;
    observed::save_labels(&saves.received_labels, step.customer.kept_labels())
}
