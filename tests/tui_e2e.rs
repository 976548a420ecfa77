//! End to end in a real terminal: tmux runs `ppdl tui`, the test types keys and reads the screen.
//! Skips (with a message) when tmux is not installed; in CI install it (`apt-get install -y tmux`).
//! Every wait polls with a timeout, so a slow machine is slower, not flaky.

mod run_common;
mod tui_common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The binary under test: cargo's, or `PPDL_E2E_BIN` (e.g. a copy, when a shared target folder may be
/// rebuilt from other sources while the tests run).
fn bin() -> String {
    std::env::var("PPDL_E2E_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_ppdl").to_string())
}

fn tmux_available() -> bool {
    Command::new("tmux").arg("-V").output().map(|o| o.status.success()).unwrap_or(false)
}

/// A tmux server of our own (private socket), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(cwd: &Path, command: &str, width: u16, height: u16) -> Tmux {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let socket = format!("ppdl-e2e-{}-{nanos}", std::process::id());
        let status = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d", "-s", "main"])
            .args(["-x", &width.to_string(), "-y", &height.to_string(), "-c"])
            .arg(cwd)
            .arg(command)
            .env_remove("TMUX")
            .status()
            .expect("tmux runs");
        assert!(status.success(), "tmux new-session failed");
        Tmux { socket }
    }

    fn keys(&self, keys: &[&str]) {
        let status =
            Command::new("tmux").args(["-L", &self.socket, "send-keys", "-t", "main"]).args(keys).status().unwrap();
        assert!(status.success());
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux").args(["-L", &self.socket, "capture-pane", "-p", "-t", "main"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Poll the screen until `pred` holds; panics with the last screen after `timeout`.
    fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        let mut exited: Option<Instant> = None;
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            // ppdl is gone and what we wait for did not show up: fail now, not at the timeout.
            if screen.contains("PPDL_EXIT=") {
                let since = *exited.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_secs(2) {
                    panic!("ppdl exited while waiting for {what}; screen:\n{screen}");
                }
            }
            if start.elapsed() > timeout {
                panic!("timed out after {timeout:?} waiting for {what}; screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["-L", &self.socket, "kill-server"]).status();
    }
}

/// The arm's gauge line shows a test accuracy ("acc 71.50%").
fn shows_accuracy(screen: &str, arm: &str) -> bool {
    screen.lines().any(|l| {
        l.trim_start().starts_with(arm)
            && l.split("acc ").nth(1).is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    })
}

fn write_config(dir: &Path, name: &str, train: usize, test: usize, epochs: usize) -> PathBuf {
    let configs = dir.join("configs");
    std::fs::create_dir_all(&configs).unwrap();
    let results = dir.join("results");
    // Attacks off: these tests are of the TUI, and the attacks would add seconds to every wait.
    let text = format!(
        "name = \"{name}\"\nseed = 1\n[data]\ndataset = \"embedded\"\ntrain_limit = {train}\ntest_limit = {test}\n\
         [train]\nepochs = {epochs}\nlog_every = 3\n[privacy]\ntransforms = [{{ kind = \"pixel-permutation\" }}]\n\
         [output]\ndir = {results:?}\nfigures = false\n[attacks]\nenabled = []\n"
    );
    std::fs::write(configs.join(format!("{name}.toml")), text).unwrap();
    configs
}

fn shell_command(configs: &Path) -> String {
    // After ppdl exits, the exit code is printed on the normal screen: seeing it proves the
    // alternate screen was left.
    // `stty -a` then shows whether the terminal is back in canonical (cooked) mode.
    format!(
        "sh -c '{} tui --configs {}; echo PPDL_EXIT=$?; stty -a | tr \" ;\" \"\\n\\n\" | grep -x -E -- \"-?icanon\"; sleep 120'",
        bin(),
        configs.display()
    )
}

/// After ppdl exited: the exit line is there and the terminal left raw mode.
fn exited_and_restored(screen: &str, code: i32) -> bool {
    screen.contains(&format!("PPDL_EXIT={code}")) && screen.lines().any(|l| l.trim() == "icanon")
}

#[test]
fn tui_runs_an_experiment_end_to_end() {
    if !tmux_available() {
        println!("SKIPPED tui_runs_an_experiment_end_to_end: tmux is not installed (apt-get install -y tmux)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let configs = write_config(tmp.path(), "tiny", 600, 200, 2);
    let tmux = Tmux::start(tmp.path(), &shell_command(&configs), 120, 40);
    let minute = Duration::from_secs(60);

    tmux.wait_for("the config list", minute, |s| s.contains("tiny.toml") && s.contains("valid"));
    tmux.keys(&["s"]);
    let screen = tmux.wait_for("both arms' test accuracy", minute, |s| {
        shows_accuracy(s, "baseline") && shows_accuracy(s, "private")
    });
    assert!(screen.contains("Accuracy"), "{screen}");
    tmux.wait_for("the run to finish", minute, |s| s.contains("[done]"));
    // The run's overhead.json shows in the overhead view; the runs view exports its figures.
    tmux.keys(&["4"]);
    tmux.wait_for("the overhead table", minute, |s| s.contains("train s/epoch") && s.contains("Published figures"));
    tmux.keys(&["5"]);
    tmux.wait_for("the run in the runs view", minute, |s| s.contains("tiny-"));
    tmux.keys(&["Enter"]);
    tmux.wait_for("the run's detail", minute, |s| s.contains("training time per epoch"));
    tmux.keys(&["f"]);
    tmux.wait_for("figures to be exported", minute, |s| s.contains("figures (PNG + SVG)"));
    tmux.keys(&["q"]);
    tmux.wait_for("ppdl to exit and restore the terminal", minute, |s| exited_and_restored(s, 0));

    let runs: Vec<PathBuf> =
        std::fs::read_dir(tmp.path().join("results")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    for file in ["summary.json", "metrics.csv", "config.toml", "overhead.json", "report.md"] {
        assert!(runs[0].join(file).is_file(), "{} missing in {}", file, runs[0].display());
    }
    let summary = ppdl::results::RunFolder::open(&runs[0]).unwrap().load_summary().unwrap();
    let statuses: Vec<(&str, &str)> = summary.arms.iter().map(|a| (a.name.as_str(), a.status.name())).collect();
    assert_eq!(statuses, [("baseline", "finished"), ("private", "finished")]);
}

#[test]
fn tui_pauses_and_kill_quits_while_training() {
    if !tmux_available() {
        println!("SKIPPED tui_pauses_and_kill_quits_while_training: tmux is not installed (apt-get install -y tmux)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // Long enough that it is still training when the keys arrive.
    let configs = write_config(tmp.path(), "long", 6000, 1000, 200);
    let tmux = Tmux::start(tmp.path(), &shell_command(&configs), 80, 24);
    let minute = Duration::from_secs(60);

    tmux.wait_for("the config list", minute, |s| s.contains("long.toml"));
    tmux.keys(&["s"]);
    tmux.wait_for("training to start", minute, |s| s.contains("[running]") && s.contains("ep "));
    tmux.keys(&["p"]);
    tmux.wait_for("the paused status", minute, |s| s.contains("[paused]"));
    tmux.keys(&["q"]);
    tmux.wait_for("the quit dialog", minute, |s| s.contains("A run is active"));
    tmux.keys(&["k"]);
    tmux.wait_for("ppdl to exit and restore the terminal", minute, |s| exited_and_restored(s, 0));
}

#[test]
fn tui_restores_the_terminal_after_a_panic() {
    if !tmux_available() {
        println!("SKIPPED tui_restores_the_terminal_after_a_panic: tmux is not installed (apt-get install -y tmux)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let configs = write_config(tmp.path(), "tiny", 600, 200, 1);
    let command = format!("env PPDL_TUI_TEST_PANIC=1 {}", shell_command(&configs));
    let tmux = Tmux::start(tmp.path(), &command, 100, 30);
    let screen = tmux
        .wait_for("ppdl to exit and restore the terminal", Duration::from_secs(60), |s| exited_and_restored(s, 101));
    assert!(screen.contains("test panic requested by PPDL_TUI_TEST_PANIC"), "{screen}");
    assert!(!screen.contains("Experiments │"), "the alternate screen was left: {screen}");
}

/// Copy the committed version-1 run folder to `to`, with another seed and start time when given.
fn copy_fixture_run(to: &Path, seed: Option<u64>, started: &str) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run-pixel-permutation");
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
    let path = to.join("summary.json");
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    if let Some(seed) = seed {
        json["seed"] = seed.into();
    }
    json["started_at"] = started.into();
    std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
}

/// The runs table in a real terminal: `/` filters to one run and `e` exports it; `s` sorts by seed
/// and `S` reverses it; the export then holds every run (the sweep's too) in that order.
#[test]
fn tui_runs_table_filters_sorts_and_exports_csv() {
    if !tmux_available() {
        println!(
            "SKIPPED tui_runs_table_filters_sorts_and_exports_csv: tmux is not installed (apt-get install -y tmux)"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let configs = write_config(tmp.path(), "tiny", 600, 200, 1);
    let results = tmp.path().join("results");
    copy_fixture_run(&results.join("alpha-run"), None, "2026-01-01T00:00:00Z");
    copy_fixture_run(&results.join("beta-run"), Some(9999), "2026-01-02T00:00:00Z");
    std::fs::create_dir_all(results.join("sweep-demo")).unwrap();
    std::fs::write(results.join("sweep-demo/runs.json"), "[]").unwrap();
    copy_fixture_run(&results.join("sweep-demo/runs/gamma-run"), Some(3), "2026-01-03T00:00:00Z");
    let tmux = Tmux::start(tmp.path(), &shell_command(&configs), 120, 40);
    let minute = Duration::from_secs(60);
    let csvs = || -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&results)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "csv"))
            .collect();
        v.sort();
        v
    };

    tmux.wait_for("the config list", minute, |s| s.contains("tiny.toml"));
    tmux.keys(&["5"]);
    let screen = tmux.wait_for("the runs table", minute, |s| {
        s.contains("alpha-run") && s.contains("beta-run") && s.contains("sweep-demo (1 run)")
    });
    assert!(!screen.contains("gamma-run"), "the sweep's group starts closed:\n{screen}");
    tmux.keys(&["/", "beta", "Enter"]);
    tmux.wait_for("the filtered table", minute, |s| s.contains("filter: beta") && !s.contains("alpha-run"));
    tmux.keys(&["e"]);
    let screen = tmux.wait_for("the export message", minute, |s| s.contains("wrote 1 run to"));
    let files = csvs();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(screen.contains(&files[0].file_name().unwrap().to_string_lossy().to_string()), "{screen}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("sweep,run,status,dataset,arch,"), "{text}");
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[1].contains("beta-run") && lines[1].contains(",9999,"), "{text}");

    // Clear the filter, sort by seed (the 7th column), then reverse.
    tmux.keys(&["/", "Escape"]);
    tmux.wait_for("the whole table again", minute, |s| s.contains("alpha-run") && !s.contains("filter:"));
    for _ in 0..7 {
        tmux.keys(&["s"]);
    }
    let screen = tmux.wait_for("the sort by seed", minute, |s| s.contains("sorted by seed ↑"));
    let at = |s: &str, name: &str| s.find(name).unwrap_or_else(|| panic!("{name} not on screen:\n{s}"));
    assert!(at(&screen, "alpha-run") < at(&screen, "beta-run"), "seed 7 above 9999:\n{screen}");
    tmux.keys(&["S"]);
    let screen = tmux.wait_for("the reversed sort", minute, |s| s.contains("sorted by seed ↓"));
    assert!(at(&screen, "beta-run") < at(&screen, "alpha-run"), "seed 9999 above 7:\n{screen}");
    tmux.keys(&["e"]);
    tmux.wait_for("the second export", minute, |s| s.contains("wrote 3 runs to"));
    let files = csvs();
    assert_eq!(files.len(), 2, "the second export is a new file: {files:?}");
    let newest = files.iter().find(|f| std::fs::read_to_string(f).unwrap().lines().count() == 4).expect("3 runs");
    let text = std::fs::read_to_string(newest).unwrap();
    let order: Vec<&str> = text.lines().skip(1).map(|l| l.split(',').nth(1).unwrap()).collect();
    assert_eq!(order, ["beta-run", "alpha-run", "gamma-run"], "{text}");
    assert!(text.lines().nth(3).unwrap().starts_with("sweep-demo,"), "{text}");
    tmux.keys(&["q"]);
    tmux.wait_for("ppdl to exit and restore the terminal", minute, |s| exited_and_restored(s, 0));
}

/// Compare many in a real terminal: three runs marked with m, c overlays their curves and lists them
/// side by side; y switches the overlay to the loss.
#[test]
fn tui_marks_three_runs_and_overlays_them() {
    if !tmux_available() {
        println!("SKIPPED tui_marks_three_runs_and_overlays_them: tmux is not installed (apt-get install -y tmux)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let configs = write_config(tmp.path(), "tiny", 600, 200, 1);
    tui_common::write_noise_runs(&tmp.path().join("results"));
    let tmux = Tmux::start(tmp.path(), &shell_command(&configs), 120, 40);
    let minute = Duration::from_secs(60);
    tmux.wait_for("the config list", minute, |s| s.contains("tiny.toml"));
    tmux.keys(&["5"]);
    tmux.wait_for("the runs table", minute, |s| s.contains("noise-s1-a") && s.contains("noise-s2-a"));
    // Newest first: s2-a, s1-c, s1-b, s1-a; mark the first three.
    tmux.keys(&["m", "Down", "m", "Down", "m"]);
    tmux.keys(&["c"]);
    let screen = tmux.wait_for("the overlay of three runs", minute, |s| {
        s.contains("accuracy (line train, • test) of 3 runs") && s.contains("Side by side")
    });
    for name in ["1 noise-s2-a", "2 noise-s1-c", "3 noise-s1-b"] {
        assert!(screen.contains(name), "{name} has its column:\n{screen}");
    }
    assert!(!screen.contains("noise-s1-a"), "the unmarked run is not compared:\n{screen}");
    assert!(screen.contains("3 private") && screen.contains("1 baseline"), "a legend entry per run and arm:\n{screen}");
    assert!(screen.contains("privacy.transforms[0].sigma"), "the differing field:\n{screen}");
    tmux.keys(&["y"]);
    tmux.wait_for("the loss overlay", minute, |s| s.contains("loss (line train, • test) of 3 runs"));
    tmux.keys(&["q"]);
    tmux.wait_for("ppdl to exit and restore the terminal", minute, |s| exited_and_restored(s, 0));
}

/// The trade-off of a sweep in a real terminal: p on the sweep's row opens it (repeats as one point
/// with n = 3), e writes the figure as PNG and SVG into the sweep's figures folder and says where.
#[test]
fn tui_opens_a_sweeps_tradeoff_and_exports_the_figure() {
    if !tmux_available() {
        println!(
            "SKIPPED tui_opens_a_sweeps_tradeoff_and_exports_the_figure: tmux is not installed (apt-get install -y tmux)"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let configs = write_config(tmp.path(), "tiny", 600, 200, 1);
    let sweep = tmp.path().join("results/sweep-noise");
    std::fs::create_dir_all(&sweep).unwrap();
    std::fs::write(sweep.join("runs.json"), "[]").unwrap();
    tui_common::write_noise_runs(&sweep.join("runs"));
    let tmux = Tmux::start(tmp.path(), &shell_command(&configs), 120, 40);
    let minute = Duration::from_secs(60);
    tmux.wait_for("the config list", minute, |s| s.contains("tiny.toml"));
    tmux.keys(&["5"]);
    tmux.wait_for("the sweep's row", minute, |s| s.contains("sweep-noise (4 runs)"));
    tmux.keys(&["p"]);
    let screen = tmux.wait_for("the trade-off view", minute, |s| {
        s.contains("Trade-off · sweep sweep-noise") && s.contains("sigma=0.1")
    });
    assert!(screen.contains("-2.00 [-4.48, +0.48]"), "the repeats' mean delta and t-interval:\n{screen}");
    tmux.keys(&["e"]);
    let screen = tmux.wait_for("the export message", minute, |s| s.contains("wrote ") && s.contains(" and .svg"));
    let png = sweep.join("figures/tradeoff-known-plaintext-by-sigma.png");
    let svg = png.with_extension("svg");
    for f in [&png, &svg] {
        let len = std::fs::metadata(f).unwrap_or_else(|e| panic!("{}: {e}\n{screen}", f.display())).len();
        assert!(len > 1000, "{} has {len} bytes", f.display());
    }
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"), "a PNG");
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"), "an SVG");
    assert!(screen.contains("tradeoff-known-plaintext-by-sigma.png"), "the status line names the file:\n{screen}");
    tmux.keys(&["q"]);
    tmux.wait_for("ppdl to exit and restore the terminal", minute, |s| exited_and_restored(s, 0));
}

#[test]
fn tui_queues_two_configs_and_both_finish() {
    if !tmux_available() {
        println!("SKIPPED tui_queues_two_configs_and_both_finish: tmux is not installed (apt-get install -y tmux)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // The first runs long enough for the second to be queued behind it.
    write_config(tmp.path(), "first", 6000, 200, 4);
    let configs = write_config(tmp.path(), "second", 300, 100, 1);
    let tmux = Tmux::start(tmp.path(), &shell_command(&configs), 100, 30);
    let minute = Duration::from_secs(60);

    tmux.wait_for("the config list", minute, |s| {
        s.contains("first.toml") && s.contains("second") && s.contains("valid")
    });
    tmux.keys(&["s"]);
    tmux.wait_for("the first run training", minute, |s| s.contains("first [running]"));
    tmux.keys(&["1", "j", "s"]);
    tmux.wait_for("the second run queued", minute, |s| s.contains("queued second: it starts after the active run"));
    tmux.keys(&["6"]);
    let row =
        |s: &str, name: &str, status: &str| s.lines().any(|l| l.contains(&format!(" {name} ")) && l.contains(status));
    tmux.wait_for("the queue view", minute, |s| row(s, "first", "running") && row(s, "second", "pending"));
    let both = |s: &str| row(s, "first", "finished ") && row(s, "second", "finished ");
    let screen = tmux.wait_for("both runs to finish, one after the other", Duration::from_secs(180), both);
    assert!(screen.contains("0 running, 0 pending, 2 ended"), "{screen}");
    tmux.keys(&["q"]);
    tmux.wait_for("ppdl to exit and restore the terminal", minute, |s| exited_and_restored(s, 0));

    let mut runs: Vec<PathBuf> =
        std::fs::read_dir(tmp.path().join("results")).unwrap().map(|e| e.unwrap().path()).collect();
    runs.sort();
    assert_eq!(runs.len(), 2, "{runs:?}");
    for (run, name) in runs.iter().zip(["first-", "second-"]) {
        assert!(run.file_name().unwrap().to_string_lossy().starts_with(name), "{}", run.display());
        let summary = ppdl::results::RunFolder::open(run).unwrap().load_summary().unwrap();
        assert!(summary.arms.iter().all(|a| a.status.name() == "finished"), "{}", run.display());
    }
}

/// The target: comparing noise sigma 0.05 against 0.2 takes fewer than 15 keys from the first
/// screen. On a quickstart (tiny limits, 1 epoch, attacks off, so the runs take seconds): open the form,
/// `t` to the transform, `n` makes it noise, ↓ ← sets sigma 0.05, start; back to the form, type `.2`,
/// start; the runs view, mark one, down, compare.
#[test]
fn tui_compares_two_noise_sigmas_in_fewer_than_15_keys() {
    if !tmux_available() {
        println!("SKIPPED tui_compares_two_noise_sigmas_in_fewer_than_15_keys: tmux is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let configs = write_config(tmp.path(), "quickstart", 300, 200, 1);
    let tmux = Tmux::start(tmp.path(), &shell_command(&configs), 120, 40);
    let minute = Duration::from_secs(60);
    let mut sent = 0;
    let mut send = |keys: &[&str]| {
        sent += keys.len();
        tmux.keys(keys);
    };

    tmux.wait_for("the config list", minute, |s| s.contains("quickstart.toml") && s.contains("valid"));
    send(&["Enter", "t", "n", "Down", "Left"]);
    tmux.wait_for("sigma 0.05 in the form", minute, |s| s.contains("quickstart-kindnoise-sigma0.05"));
    send(&["s"]);
    tmux.wait_for("the first run to finish", minute, |s| s.contains("sigma0.05") && s.contains("[done]"));
    send(&["1", ".", "2"]);
    tmux.wait_for("sigma 0.2 in the form", minute, |s| s.contains("quickstart-kindnoise-sigma0.2"));
    send(&["s"]);
    tmux.wait_for("the second run to finish", minute, |s| s.contains("sigma0.2") && s.contains("[done]"));
    send(&["5", "m", "Down", "c"]);
    let screen = tmux.wait_for("the comparison", minute, |s| s.contains("privacy.transforms[0].sigma"));
    assert!(screen.contains("0.05") && screen.contains("0.2"), "{screen}");
    assert!(sent < 15, "{sent} keys");
    println!("sigma 0.05 vs 0.2 compared in {sent} keys");
}

/// A 10 s pause from the live view leaves the run's timings alone: summary.json records the pause
/// for each arm and keeps it out of training time, epoch times and speed.
#[test]
fn tui_pause_of_10_s_is_left_out_of_summary_timings() {
    if !tmux_available() {
        println!("SKIPPED tui_pause_of_10_s_is_left_out_of_summary_timings: tmux is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let configs = write_config(tmp.path(), "pausing", 6000, 200, 3);
    let tmux = Tmux::start(tmp.path(), &shell_command(&configs), 100, 30);
    let minute = Duration::from_secs(60);
    let pause = Duration::from_secs(10);

    tmux.wait_for("the config list", minute, |s| s.contains("pausing.toml") && s.contains("valid"));
    let started = Instant::now();
    tmux.keys(&["s"]);
    tmux.wait_for("training to start", minute, |s| s.contains("[running]") && s.contains("ep "));
    tmux.keys(&["p"]);
    tmux.wait_for("the paused status", minute, |s| s.contains("[paused]"));
    std::thread::sleep(pause);
    tmux.keys(&["p"]);
    tmux.wait_for("training to resume", minute, |s| !s.contains("[paused]"));
    tmux.wait_for("the run to finish", Duration::from_secs(180), |s| s.contains("[done]"));
    let wall = started.elapsed().as_secs_f64();
    tmux.keys(&["q"]);
    tmux.wait_for("ppdl to exit and restore the terminal", minute, |s| exited_and_restored(s, 0));

    let runs: Vec<PathBuf> =
        std::fs::read_dir(tmp.path().join("results")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let summary = ppdl::results::RunFolder::open(&runs[0]).unwrap().load_summary().unwrap();
    let pause = pause.as_secs_f64();
    for arm in &summary.arms {
        assert_eq!(arm.status.name(), "finished", "{}", arm.name);
        // The keys travel through tmux: the pause as the run saw it is within a second or two of 10 s.
        assert!(
            arm.paused_seconds > pause - 1.0 && arm.paused_seconds < pause + 3.0,
            "`{}` recorded a pause of {} s for a {pause} s pause",
            arm.name,
            arm.paused_seconds
        );
        let slowest = arm.epoch_seconds.iter().cloned().fold(0.0, f64::max);
        assert!(slowest < wall - pause, "`{}`: an epoch of {slowest} s holds the pause", arm.name);
    }
    run_common::assert_timings_leave_the_pause_out(&summary, wall);
}

/// The compare mark names a run, not a row: marked before another run starts and finishes (the new
/// run lands at the top of the table), `c` on the new run still compares the marked one.
#[test]
fn tui_compare_names_the_marked_run_after_another_run() {
    if !tmux_available() {
        println!("SKIPPED tui_compare_names_the_marked_run_after_another_run: tmux is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let configs = write_config(tmp.path(), "tiny", 300, 100, 1);
    tui_common::write_noise_runs(&tmp.path().join("results"));
    let tmux = Tmux::start(tmp.path(), &shell_command(&configs), 120, 40);
    let minute = Duration::from_secs(60);
    tmux.wait_for("the config list", minute, |s| s.contains("tiny.toml") && s.contains("valid"));
    tmux.keys(&["5"]);
    tmux.wait_for("the runs table", minute, |s| s.contains("noise-s1-b"));
    // Newest first: s2-a, s1-c, s1-b, s1-a; mark s1-b.
    tmux.keys(&["Down", "Down", "m"]);
    tmux.wait_for("the mark", minute, |s| s.contains("1 marked"));
    tmux.keys(&["1", "s"]);
    tmux.wait_for("the new run to finish", minute, |s| s.contains("[done]"));
    tmux.keys(&["5"]);
    tmux.wait_for("the new run in the table", minute, |s| s.lines().any(|l| l.contains(" tiny-")));
    tmux.keys(&["Up", "Up", "Up", "Up", "Up", "c"]);
    let screen = tmux.wait_for("the comparison", minute, |s| s.contains("Side by side"));
    assert!(screen.contains("noise-s1-b"), "the marked run is compared:\n{screen}");
    assert!(screen.contains("tiny-"), "the selected run is compared:\n{screen}");
    for other in ["noise-s1-a", "noise-s1-c", "noise-s2-a"] {
        assert!(!screen.contains(other), "{other} was not marked:\n{screen}");
    }
    tmux.keys(&["q"]);
    tmux.wait_for("ppdl to exit and restore the terminal", minute, |s| exited_and_restored(s, 0));
}

#[test]
fn tui_runs_every_peer_beside_the_baseline_and_records_every_attack() {
    if !tmux_available() {
        println!("SKIPPED tui_runs_every_peer_beside_the_baseline_and_records_every_attack: tmux is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let configs = tmp.path().join("configs");
    std::fs::create_dir_all(&configs).unwrap();
    let results = tmp.path().join("results");
    // configs/peers-quickstart.toml as shipped, made small: 600 / 400 images, 1 epoch, the Carlini et al.
    // attacks on fewer images, no figures. Every arm and every attack stays.
    let mut text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/peers-quickstart.toml")).unwrap();
    for (from, to) in [
        ("dataset = \"embedded\"", "dataset = \"embedded\"\ntrain_limit = 600\ntest_limit = 400"),
        ("epochs = 5", "epochs = 1"),
        (
            "enabled = [\"all\"]",
            "enabled = [\"all\"]\ncarlini_neuracrypt = { encodings = 100 }\n\
             carlini_instahide = { private_images = 50, public_images = 100, pairs = 2000 }",
        ),
        ("dir = \"results\"", &format!("dir = {results:?}\nfigures = false")),
    ] {
        assert!(text.contains(from), "configs/peers-quickstart.toml no longer has `{from}`");
        text = text.replacen(from, to, 1);
    }
    std::fs::write(configs.join("peers.toml"), text).unwrap();
    let tmux = Tmux::start(tmp.path(), &shell_command(&configs), 140, 50);
    let minute = Duration::from_secs(60);

    tmux.wait_for("the config list", minute, |s| s.contains("peers.toml") && s.contains("valid"));
    tmux.keys(&["s"]);
    tmux.wait_for("the NeuraCrypt arm's accuracy", 3 * minute, |s| shows_accuracy(s, "neuracrypt"));
    tmux.wait_for("the run and its attacks to finish", 6 * minute, |s| s.contains("[done]"));
    tmux.keys(&["q"]);
    tmux.wait_for("ppdl to exit and restore the terminal", minute, |s| exited_and_restored(s, 0));

    let runs: Vec<PathBuf> = std::fs::read_dir(&results).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let folder = ppdl::results::RunFolder::open(&runs[0]).unwrap();
    let summary = folder.load_summary().unwrap();
    let names: Vec<&str> = summary.arms.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        ["baseline", "pixel-permutation", "block-shuffle", "etc", "pe", "le", "ele", "instahide", "neuracrypt"]
    );
    assert!(summary.arms.iter().all(|a| a.status.name() == "finished"), "{:?}", summary.arms);
    let neuracrypt = summary.arm("neuracrypt").unwrap();
    assert_eq!(summary.arch_of(neuracrypt), "patch-set");
    assert_eq!(summary.arch_of(summary.baseline().unwrap()), "mlp-256");

    // Every attack of the registry on every protected arm: a record, or a reason it does not apply.
    let attacks: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(runs[0].join("attacks.json")).unwrap()).unwrap();
    let said = |arm: &str, attack: &str| {
        ["records", "not_applicable"].iter().any(|list| {
            attacks[list].as_array().is_some_and(|l| l.iter().any(|r| r["arm"] == arm && r["name"] == attack))
        })
    };
    for arm in &names[1..] {
        for attack in ppdl::attacks::registry::names() {
            assert!(said(arm, attack), "no record and no reason for {attack} on {arm}");
        }
    }
    let recorded = |arm: &str, attack: &str| {
        attacks["records"].as_array().unwrap().iter().any(|r| r["arm"] == arm && r["name"] == attack)
    };
    // Each peer meets the attack that broke it in the literature.
    assert!(recorded("etc", "jigsaw") && recorded("ele", "jigsaw"));
    assert!(recorded("instahide", "carlini-instahide"));
    assert!(recorded("neuracrypt", "carlini-neuracrypt") && recorded("neuracrypt", "known-plaintext"));
}
