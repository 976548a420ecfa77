//! What the end-to-end tests that run the `ppdl` binary on a shipped config share.
#![allow(dead_code)] // each test file uses only some of these

use std::path::Path;
use std::process::{Command, Output};

/// `ppdl ARGS` run from the repository root (so `configs/...` paths resolve).
pub fn ppdl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ppdl")).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap()
}

/// stdout and stderr together, for assertion messages.
pub fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Each arm's timings leave any pause out: its training and its pause fit in the `wall` seconds the run
/// took, its epoch times add up to its training time, and its speed is its samples over that time.
pub fn assert_timings_leave_the_pause_out(summary: &ppdl::results::Summary, wall: f64) {
    for arm in &summary.arms {
        assert!(
            arm.train_seconds + arm.paused_seconds < wall,
            "`{}`: train {} s + paused {} s exceeds the {wall:.1} s the run took: the pause was counted as training",
            arm.name,
            arm.train_seconds,
            arm.paused_seconds
        );
        let epochs: f64 = arm.epoch_seconds.iter().sum();
        assert!((epochs - arm.train_seconds).abs() < 1e-9, "`{}`: epochs sum to the train time", arm.name);
        let speed = arm.epochs_completed as f64 * summary.dataset.train as f64 / arm.train_seconds;
        assert!((arm.samples_per_second - speed).abs() < 1e-6 * speed, "`{}`: speed from the train time", arm.name);
    }
}
