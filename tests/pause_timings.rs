//! Pausing a run leaves its timings alone: a short real run on the embedded data is paused for about
//! 1.5 s mid-training; summary.json's train time and speed, the metrics rows' clock and speed all
//! leave the pause out, and each arm records how long it waited.

mod run_common;

use std::path::Path;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use ppdl::attacks::Event;
use ppdl::results::Summary;
use ppdl::train::{Control, MetricSplit};

const CONFIG: &str = r#"
name = "pause"
seed = 5
[data]
dataset = "embedded"
train_limit = 2000
test_limit = 200
[model]
arch = "mlp-256"
[train]
epochs = 2
batch_size = 50
schedule = "parallel"
log_every = 10
[privacy]
transforms = [{ kind = "pixel-permutation" }]
fixed_key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
[output]
figures = false
[attacks]
enabled = []
"#;

const PAUSE: Duration = Duration::from_millis(1500);

#[test]
fn a_pause_mid_training_is_left_out_of_every_timing_and_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let config = ppdl::validate::parse_config(CONFIG, Path::new("pause.toml")).unwrap();
    let dir = tmp.path().join("run");
    let control = Arc::new(Control::default());
    let (tx, rx) = mpsc::channel::<Event>();
    let started = Instant::now();
    let worker = {
        let (config, dir, control) = (config.clone(), dir.clone(), control.clone());
        std::thread::spawn(move || ppdl::run::run_experiment(&config, &dir, &tx, &control).map(|_| ()))
    };
    let mut paused_arm: Option<String> = None;
    let mut rows = Vec::new();
    let mut resumer = None;
    for event in rx {
        if let Event::Metric(row) = event {
            // The first train row: training is under way in this arm; pause it for PAUSE.
            if paused_arm.is_none() && row.split == MetricSplit::Train {
                control.set_paused(true);
                paused_arm = Some(row.arm.clone());
                let control = control.clone();
                resumer = Some(std::thread::spawn(move || {
                    std::thread::sleep(PAUSE);
                    control.set_paused(false);
                }));
            }
            rows.push(row);
        }
    }
    worker.join().unwrap().unwrap();
    resumer.unwrap().join().unwrap();
    let wall = started.elapsed().as_secs_f64();
    let paused_arm = paused_arm.expect("training reported a train row");

    let summary = Summary::load(&dir.join("summary.json")).unwrap();
    let arm = summary.arms.iter().find(|a| a.name == paused_arm).unwrap();
    let pause = PAUSE.as_secs_f64();
    assert!(
        arm.paused_seconds > pause - 0.1 && arm.paused_seconds < pause + 1.0,
        "recorded pause {} s for a {pause} s pause",
        arm.paused_seconds
    );
    for a in &summary.arms {
        assert_eq!(a.epochs_completed, 2);
    }
    // The run's whole wall time holds each arm's training and its pause once.
    run_common::assert_timings_leave_the_pause_out(&summary, wall);
    // metrics.csv's clock and speed: no row's training clock jumps by the pause, and no window of
    // 10 x 50 samples reads as taking the pause (below 500 / 1.5 s ~ 333 samples/s).
    let arm_rows: Vec<_> = rows.iter().filter(|r| r.arm == paused_arm).collect();
    for pair in arm_rows.windows(2) {
        let jump = pair[1].wall_s - pair[0].wall_s;
        assert!(
            jump < pause * 0.6,
            "training clock jumped {jump} s between steps {} and {}",
            pair[0].step,
            pair[1].step
        );
    }
    for r in arm_rows.iter().filter(|r| r.split == MetricSplit::Train) {
        assert!(r.samples_per_s > 500.0 / pause, "step {}: {} samples/s counts the pause", r.step, r.samples_per_s);
    }
    let written = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    assert!(written.contains("\"paused_seconds\""), "summary.json records the pause");
}
