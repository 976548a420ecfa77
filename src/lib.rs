//! ppdl: a terminal workbench for privacy-preserving deep learning without cryptography.
//!
//! Data flows one way: config -> data -> (customer encodes) -> trainers -> events -> {TUI | headless}
//! -> run folder -> analyses -> figures and report.

pub mod data;
pub mod error;
pub mod model;
