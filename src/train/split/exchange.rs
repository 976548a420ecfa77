//! What crosses the boundary between the customer and the provider of a split arm, and the count of
//! its bytes. A message carries a batch of rows of f32 values and nothing else: no inputs, no labels,
//! no weights. It is a copy (the parties share no tensors), made on the host, so the bytes counted are
//! the bytes a network would carry (no latency is modelled).

use serde::{Deserialize, Serialize};

/// A batch of cut-layer activations (rows x width).
#[derive(Debug, Clone, PartialEq)]
pub struct Activations {
    rows: usize,
    values: Vec<f32>,
}

/// A batch of gradients of the loss with respect to a batch of activations (rows x width).
#[derive(Debug, Clone, PartialEq)]
pub struct Gradient {
    rows: usize,
    values: Vec<f32>,
}

macro_rules! message {
    ($ty:ident) => {
        impl $ty {
            pub fn new(rows: usize, values: Vec<f32>) -> Self {
                assert!(rows > 0 && values.len() % rows == 0, "a message holds whole rows");
                Self { rows, values }
            }
            pub fn rows(&self) -> usize {
                self.rows
            }
            pub fn width(&self) -> usize {
                self.values.len() / self.rows
            }
            pub fn values(&self) -> &[f32] {
                &self.values
            }
            /// Bytes on the wire: 4 per value.
            pub fn bytes(&self) -> u64 {
                4 * self.values.len() as u64
            }
        }
    };
}
message!(Activations);
message!(Gradient);

/// Bytes each way, by kind of message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Traffic {
    /// The head's output, customer to provider.
    pub activations_to_provider: u64,
    /// The middle's output, provider to customer (U-shape).
    pub activations_to_customer: u64,
    /// The gradient at the middle's output, customer to provider (U-shape).
    pub gradients_to_provider: u64,
    /// The gradient at the cut, provider to customer.
    pub gradients_to_customer: u64,
}

impl Traffic {
    pub fn to_provider(&self) -> u64 {
        self.activations_to_provider + self.gradients_to_provider
    }
    pub fn to_customer(&self) -> u64 {
        self.activations_to_customer + self.gradients_to_customer
    }
    fn minus(&self, before: &Traffic) -> Traffic {
        Traffic {
            activations_to_provider: self.activations_to_provider - before.activations_to_provider,
            activations_to_customer: self.activations_to_customer - before.activations_to_customer,
            gradients_to_provider: self.gradients_to_provider - before.gradients_to_provider,
            gradients_to_customer: self.gradients_to_customer - before.gradients_to_customer,
        }
    }
}

/// A split arm's traffic, counted as the messages crossed (summary.json `split`, overhead.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitTraffic {
    /// Layer names of each party (`fc1`, `conv2`, ...; `model::split`).
    pub head: Vec<String>,
    pub middle: Vec<String>,
    pub tail: Vec<String>,
    /// Values per sample at the cut (the head's output) and at the middle's output.
    pub cut_width: usize,
    pub middle_width: usize,
    /// Rows of the first training step (the batch size, unless the set is smaller).
    pub batch_rows: usize,
    /// Bytes of the first training step.
    pub per_step: Traffic,
    /// Bytes of the first complete epoch (null when none completed).
    #[serde(default)]
    pub per_epoch: Option<Traffic>,
    /// Bytes per test sample of inference (activations only).
    pub inference_per_sample: Traffic,
    pub note: String,
}

/// What a reader needs to know about the bytes and times of a split arm.
pub const TRAFFIC_NOTE: &str = "bytes counted as the f32 messages crossed between the parties in one process; \
     no network latency or bandwidth is modelled: add your link's cost per message (4 per training step, 2 per \
     inference batch)";

/// The counter on the link between the two parties: training traffic (first step, first epoch,
/// total) and inference traffic (evaluations) apart.
#[derive(Debug, Clone, Default)]
pub struct Link {
    training: Traffic,
    inference: Traffic,
    inferring: bool,
    /// Rows in one epoch: the first epoch ends when this many rows were trained.
    epoch_rows: usize,
    rows_trained: usize,
    inference_rows: usize,
    step_start: Traffic,
    first_step: Option<(usize, Traffic)>,
    first_epoch: Option<Traffic>,
}

impl Link {
    /// A link for training on `epoch_rows` rows per epoch.
    pub fn new(epoch_rows: usize) -> Link {
        Link { epoch_rows, ..Link::default() }
    }

    fn current(&mut self) -> &mut Traffic {
        if self.inferring {
            &mut self.inference
        } else {
            &mut self.training
        }
    }

    pub fn activations_to_provider(&mut self, m: &Activations) {
        self.current().activations_to_provider += m.bytes();
    }
    pub fn activations_to_customer(&mut self, m: &Activations) {
        self.current().activations_to_customer += m.bytes();
    }
    pub fn gradients_to_provider(&mut self, m: &Gradient) {
        self.current().gradients_to_provider += m.bytes();
    }
    pub fn gradients_to_customer(&mut self, m: &Gradient) {
        self.current().gradients_to_customer += m.bytes();
    }

    /// Marks the start of a training step.
    pub fn begin_step(&mut self) {
        self.inferring = false;
        self.step_start = self.training;
    }

    /// Marks the end of a training step of `rows` rows: keeps the first step's bytes, and the first
    /// epoch's once its rows are done.
    pub fn end_step(&mut self, rows: usize) {
        if self.first_step.is_none() {
            self.first_step = Some((rows, self.training.minus(&self.step_start)));
        }
        self.rows_trained += rows;
        if self.first_epoch.is_none() && self.rows_trained >= self.epoch_rows {
            self.first_epoch = Some(self.training);
        }
    }

    /// Marks the start of an inference batch of `rows` rows (messages count as inference until the
    /// next training step).
    pub fn begin_inference(&mut self, rows: usize) {
        self.inferring = true;
        self.inference_rows += rows;
    }

    pub fn first_step(&self) -> Option<(usize, Traffic)> {
        self.first_step
    }
    pub fn first_epoch(&self) -> Option<Traffic> {
        self.first_epoch
    }
    pub fn training(&self) -> Traffic {
        self.training
    }

    /// Inference bytes per sample, averaged over every sample evaluated (each sample costs the same).
    pub fn inference_per_sample(&self) -> Traffic {
        let n = self.inference_rows.max(1) as u64;
        let t = self.inference;
        Traffic {
            activations_to_provider: t.activations_to_provider / n,
            activations_to_customer: t.activations_to_customer / n,
            gradients_to_provider: t.gradients_to_provider / n,
            gradients_to_customer: t.gradients_to_customer / n,
        }
    }
}
