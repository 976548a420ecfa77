//! Training: one trainer per arm, reporting through events.

pub mod control;
pub mod events;
pub mod fit;
pub mod trainer;

pub use control::Control;
pub use events::{Arm, ArmSummary, Event, MetricRow};
pub use trainer::{train_arm, ArmOutcome, TrainSpec};
