//! Interruption, a diverging arm, unwritable output and old run folders.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn ppdl(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ppdl")).args(args).current_dir(cwd).output().expect("run ppdl")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

const LONG: &str = r#"
name = "long"
seed = 3
[data]
dataset = "embedded"
train_limit = 2000
test_limit = 200
[train]
epochs = 500
batch_size = 50
[output]
figures = false
"#;

#[test]
fn sigint_stops_both_arms_keeps_finished_epochs_and_exits_130() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("long.toml"), LONG).unwrap();
    let out = tmp.path().join("run");
    let child = Command::new(env!("CARGO_BIN_EXE_ppdl"))
        .args(["run", "long.toml", "--out", out.to_str().unwrap()])
        .current_dir(tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until each arm has finished at least one epoch (a test row in metrics.csv).
    let start = Instant::now();
    loop {
        let m = std::fs::read_to_string(out.join("metrics.csv")).unwrap_or_default();
        let tested = |arm: &str| m.lines().any(|l| l.starts_with(arm) && l.contains(",test,"));
        if tested("baseline,") && tested("private,") {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no epoch finished within 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", text(&o));
    assert!(!text(&o).contains("panicked"));
    let summary = ppdl::results::Summary::load(&out.join("summary.json")).unwrap();
    assert!(summary.interrupted);
    for arm in ["baseline", "private"] {
        let record = summary.arm(arm).unwrap();
        assert_eq!(record.status, ppdl::results::ArmStatus::Stopped);
        let done = record.epochs_completed as u64;
        assert!((1..500).contains(&done), "{arm} completed {done} epochs");
        let metrics = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
        let tests = metrics.lines().filter(|l| l.starts_with(arm) && l.contains(",test,")).count() as u64;
        assert_eq!(tests, done, "{arm}: one test row per finished epoch");
    }
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());

    // `summarize` says so, with the epochs each arm finished out of the 500 configured.
    let o = ppdl(&["summarize", out.to_str().unwrap()], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    let (b, p) = (summary.arms[0].epochs_completed, summary.arms[1].epochs_completed);
    let epochs = if b == p { format!("{b}/500") } else { format!("baseline {b}/500, private {p}/500") };
    let row = format!("| interrupted {epochs} epochs | {epochs} |");
    assert!(text(&o).contains(&row), "expected {row}: {}", text(&o));
}

#[test]
fn a_diverging_arm_is_marked_failed_and_the_other_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    // Noise of sigma 1e30 makes the private arm's inputs overflow; the baseline never sees it.
    let body = LONG.replace("epochs = 500", "epochs = 2").replace(
        "[output]",
        "[privacy]\ntransforms = [{ kind = \"noise\", sigma = 1e30, per_sample = true }]\n[output]",
    );
    std::fs::write(tmp.path().join("div.toml"), body).unwrap();
    let out = tmp.path().join("run");
    let o = ppdl(&["run", "div.toml", "--out", out.to_str().unwrap()], tmp.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("the `private` arm failed"), "{}", text(&o));
    let summary = ppdl::results::Summary::load(&out.join("summary.json")).unwrap();
    let (baseline, private) = (summary.arm("baseline").unwrap(), summary.arm("private").unwrap());
    assert_eq!(baseline.status, ppdl::results::ArmStatus::Finished);
    assert_eq!(baseline.epochs_completed, 2);
    assert_eq!(private.status, ppdl::results::ArmStatus::Failed);
    let reason = private.failure.as_deref().unwrap();
    assert!(reason.contains("loss became") && reason.contains("diverged"), "{reason}");
    let o = ppdl(&["summarize", out.to_str().unwrap()], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("| failed (private arm) |"), "{}", text(&o));
    assert!(text(&o).contains("the private arm failed: loss became"), "{}", text(&o));
}

#[test]
fn unwritable_output_folder_is_an_input_error() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("c.toml"), LONG).unwrap();
    std::fs::write(tmp.path().join("a-file"), "x").unwrap();
    let o = ppdl(&["run", "c.toml", "--out", "a-file/run"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("a-file/run") && text(&o).contains("cannot create output folder"), "{}", text(&o));
}

#[test]
fn existing_non_empty_output_folder_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("c.toml"), LONG).unwrap();
    std::fs::create_dir(tmp.path().join("taken")).unwrap();
    std::fs::write(tmp.path().join("taken/keep.txt"), "mine").unwrap();
    let o = ppdl(&["run", "c.toml", "--out", "taken"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(tmp.path().join("taken/keep.txt")).unwrap(), "mine");
}

#[test]
fn a_run_folder_from_an_older_format_is_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("old")).unwrap();
    std::fs::write(tmp.path().join("old/summary.json"), r#"{"format_version": 0, "name": "x"}"#).unwrap();
    let o = ppdl(&["infer", "old"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("summary.json") && text(&o).contains("format 0"), "{}", text(&o));
    let o = ppdl(&["infer", "nothing-here"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("not a ppdl run folder"), "{}", text(&o));
}

#[test]
fn cuda_device_without_the_feature_is_a_clear_error() {
    if cfg!(feature = "cuda") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("c.toml"), LONG.replace("batch_size = 50", "batch_size = 50\ndevice = \"cuda\""))
        .unwrap();
    let o = ppdl(&["run", "c.toml", "--out", "r"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--features cuda"), "{}", text(&o));
    assert!(!tmp.path().join("r").exists());
}
