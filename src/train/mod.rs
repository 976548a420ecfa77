//! Training: one trainer per arm, reporting through events.

pub mod control;
pub mod events;
pub mod fit;
pub mod split;
pub mod trainer;

pub use control::Control;
pub use events::{ArmSummary, Event, MetricRow, MetricSplit};
pub use trainer::{train_arm, ArmOutcome, TrainSpec};
