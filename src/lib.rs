//! ppdl: a terminal workbench for privacy-preserving deep learning without cryptography.
//!
//! Data flows one way: config -> data -> (customer encodes) -> trainers -> events -> {TUI | headless}
//! -> run folder -> analyses -> figures and report.

pub mod atomic;
pub mod attacks;
pub mod cli;
pub mod config;
pub mod data;
pub mod error;
pub mod export;
#[doc(hidden)]
pub mod fuzz_checks;
mod gemm_f32;
pub mod headless;
pub mod infer;
pub mod model;
pub mod overhead;
pub mod parties;
pub mod plot;
mod pool_share;
pub mod results;
pub mod run;
pub mod scheme;
pub mod summarize;
pub mod sweep;
pub mod train;
pub mod tui;
pub mod validate;
