//! What trainers (and later analyses) report. Consumers (headless printer, TUI, run-folder writer)
//! all read the same events from one channel; producers know nothing about them.

use serde::{Deserialize, Serialize};

/// Which figures a metrics row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MetricSplit {
    /// Running figures on the training batches since the last row.
    Train,
    /// The test set at the end of an epoch, decoded by the customer.
    Test,
}

impl MetricSplit {
    pub fn name(self) -> &'static str {
        match self {
            MetricSplit::Train => "train",
            MetricSplit::Test => "test",
        }
    }

    pub fn from_name(name: &str) -> Option<MetricSplit> {
        [MetricSplit::Train, MetricSplit::Test].into_iter().find(|s| s.name() == name)
    }
}

/// One row of metrics.csv.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    /// The arm's name (unique in the run).
    pub arm: String,
    /// 1-based epoch the row belongs to.
    pub epoch: usize,
    /// Global optimiser step count when the row was taken.
    pub step: usize,
    pub split: MetricSplit,
    pub loss: f64,
    pub accuracy: f64,
    pub samples_per_s: f64,
    /// Seconds since this arm started training (evaluation time and pauses excluded).
    pub wall_s: f64,
}

/// Final figures of one arm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmSummary {
    pub test_accuracy: f64,
    pub train_seconds: f64,
    pub samples_per_second: f64,
    pub epochs_completed: usize,
    /// Wall seconds of each completed epoch (training only, pauses excluded).
    pub epoch_seconds: Vec<f64>,
    /// Seconds the arm's training waited while the run was paused (left out of every timing above).
    #[serde(default)]
    pub paused_seconds: f64,
}

/// What the run reports to its front ends (the TUI and the headless printer read the same events).
/// `R` is what a finished attack reports: the attack record, which lives above training, so the
/// front ends use `attacks::Event` (this with `R` fixed) and training stays free of attacks.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<R> {
    /// A stage of the run began (loading data, encoding, training, attacks, figures).
    Stage(String),
    /// A free-form log line.
    Log(String),
    TrainStarted {
        arm: String,
        epochs: usize,
        steps_per_epoch: usize,
        samples: usize,
    },
    /// A metrics row (train progress every `log_every` steps, test at each epoch's end).
    Metric(MetricRow),
    TrainFinished {
        arm: String,
        summary: ArmSummary,
    },
    /// The arm stopped early because it was asked to (Ctrl-C, TUI stop).
    TrainStopped {
        arm: String,
        summary: ArmSummary,
    },
    TrainFailed {
        arm: String,
        reason: String,
    },
    /// An attack-resistance analysis began (`name` as in `attacks.json`, e.g. "known-plaintext").
    AttackStarted {
        /// The arm attacked.
        arm: String,
        name: String,
    },
    /// `done` of `total` units of the attack's work (its own units: sample counts tried, keys, ...).
    AttackProgress {
        arm: String,
        name: String,
        done: usize,
        total: usize,
    },
    /// An attack finished (or stopped early: `record.complete == false`); the record is what
    /// attacks.json stores.
    AttackFinished {
        record: Box<R>,
    },
    /// An attack could not run (missing artifact, failure); the run goes on with the next one.
    AttackFailed {
        arm: String,
        name: String,
        reason: String,
    },
}
