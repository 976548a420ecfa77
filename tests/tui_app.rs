//! Workbench behaviour driven by keys and events, without a terminal.

mod tui_common;

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use ppdl::atomic;
use ppdl::config::TransformSpec;
use ppdl::results::metrics_csv;
use ppdl::tui::analysis::Availability;
use ppdl::tui::app::{Overlay, RunsMode, View};
use ppdl::tui::compare::CompareRow;
use ppdl::tui::event::{AppEvent, Command};
use ppdl::tui::live::{RunEnd, RunStatus};
use ppdl::tui::{theme, App};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_common::*;

fn press(app: &mut App, code: KeyCode) -> Option<Command> {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        assert!(press(app, KeyCode::Char(c)).is_none());
    }
}

#[test]
fn start_pause_and_stop_gracefully() {
    let mut app = app();
    let Some(Command::StartRun(req)) = press(&mut app, KeyCode::Char('s')) else {
        panic!("s starts the selected config")
    };
    assert_eq!(req.config.name, "quickstart");
    assert!(req.dir.starts_with("results"), "{}", req.dir.display());
    assert_eq!(app.view, View::Live);
    assert!(app.run_active());

    press(&mut app, KeyCode::Char('p'));
    assert!(req.control.is_paused());
    assert_eq!(app.live.as_ref().unwrap().status, RunStatus::Paused);
    press(&mut app, KeyCode::Char('p'));
    assert!(!req.control.is_paused());

    // A second start while one is active is queued behind it.
    press(&mut app, KeyCode::Char('1'));
    assert!(press(&mut app, KeyCode::Char('s')).is_none());
    let message = app.message.clone().unwrap();
    assert!(!message.error && message.text.starts_with("queued quickstart"), "{}", message.text);
    assert_eq!(app.queue.pending(), 1);

    // q asks; c cancels; q then s stops gracefully and quits once the folder is written.
    assert!(press(&mut app, KeyCode::Char('q')).is_none());
    assert_eq!(app.overlay, Some(Overlay::Quit));
    press(&mut app, KeyCode::Char('c'));
    assert_eq!(app.overlay, None);
    assert!(press(&mut app, KeyCode::Char('q')).is_none());
    assert!(press(&mut app, KeyCode::Char('s')).is_none());
    assert!(req.control.stop_requested());
    assert_eq!(app.live.as_ref().unwrap().status, RunStatus::Stopping);
    // Quitting: the queued run is not started.
    assert!(matches!(app.update(AppEvent::RunDone(RunEnd::Stopped)), Some(Command::Quit)));
    assert_eq!(app.live.as_ref().unwrap().status, RunStatus::Stopped);
    assert_eq!(app.queue.pending(), 1);
}

#[test]
fn kill_quits_at_once_and_no_run_quits_without_asking() {
    let mut running = live_app();
    assert!(press(&mut running, KeyCode::Char('q')).is_none());
    assert!(matches!(press(&mut running, KeyCode::Char('k')), Some(Command::Quit)));

    let mut idle = app();
    assert!(matches!(press(&mut idle, KeyCode::Char('q')), Some(Command::Quit)));
    let mut app = live_app();
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(app.handle_key(ctrl_c).is_none());
    assert!(matches!(app.handle_key(ctrl_c), Some(Command::Quit)));
}

#[test]
fn live_view_stop_key_and_run_failure() {
    let mut app = live_app();
    press(&mut app, KeyCode::Char('x'));
    assert_eq!(app.live.as_ref().unwrap().status, RunStatus::Stopping);
    assert!(app.live.as_ref().unwrap().control.stop_requested());
    assert!(app.update(AppEvent::RunDone(RunEnd::Failed("disk full".into()))).is_none());
    let live = app.live.as_ref().unwrap();
    assert_eq!(live.status, RunStatus::Failed);
    assert_eq!(live.log.back().unwrap(), "error: disk full");
}

/// The screen's lines as text.
fn screen(app: &App, w: u16, h: u16) -> Vec<String> {
    let terminal = render(app, w, h);
    let buf = terminal.backend().buffer();
    (0..h).map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>()).collect()
}

/// What the live view says matches where the run is: once stopped, the "stopping" note is gone and
/// the footer says how it ended; after training, attacks are not shown as the run at 100%; a run that
/// failed before its folder existed does not point at that folder.
#[test]
fn the_live_status_follows_the_run_to_its_end() {
    let mut app = live_app();
    press(&mut app, KeyCode::Char('x'));
    assert!(app.message.as_ref().unwrap().text.contains("stopping after the current step"));
    app.update(AppEvent::RunDone(RunEnd::Stopped));
    let footer = screen(&app, 120, 40).pop().unwrap();
    assert!(!footer.contains("stopping after"), "{footer}");
    assert!(footer.contains("stopped: finished epochs kept in"), "{footer}");

    let mut app = finished_live_app();
    app.handle_event(ppdl::attacks::Event::Stage("measuring overhead".into()));
    let top = screen(&app, 120, 40).remove(0);
    assert!(top.contains("run running training done, overhead"), "{top}");
    app.handle_event(ppdl::attacks::Event::AttackStarted { arm: "private".into(), name: "known-plaintext".into() });
    let top = screen(&app, 120, 40).remove(0);
    assert!(top.contains("run running training done, attacks") && !top.contains("100%"), "{top}");
    let training = screen(&live_app(), 120, 40).remove(0);
    assert!(training.contains("run running 57%"), "{training}");

    let mut app = live_app();
    let dir = app.live.as_ref().unwrap().dir.display().to_string();
    assert!(!std::path::Path::new(&dir).exists());
    assert!(screen(&app, 120, 40)[1].contains(&dir));
    app.update(AppEvent::RunDone(RunEnd::Failed("dataset folder data/cifar10 not found".into())));
    let header = &screen(&app, 120, 40)[1];
    assert!(!header.contains(&dir) && header.contains("no run folder written"), "{header}");
    // An arm that waited while paused says so when it finishes.
    let summary = ppdl::train::ArmSummary {
        test_accuracy: 0.8,
        train_seconds: 4.0,
        samples_per_second: 7500.0,
        epochs_completed: 5,
        epoch_seconds: vec![0.8; 5],
        paused_seconds: 15.04,
    };
    app.handle_event(ppdl::attacks::Event::TrainFinished { arm: "baseline".into(), summary });
    let line = app.live.as_ref().unwrap().log.back().unwrap().clone();
    assert_eq!(line, "[baseline] done: test 80.00% (paused 15.0 s, left out of its timings)");
    // A run that failed after writing its folder still points at it.
    let written = tempfile::tempdir().unwrap();
    let mut app = tui_common::app();
    let _ = app.begin_run(config(QUICKSTART), written.path().to_path_buf());
    app.update(AppEvent::RunDone(RunEnd::Failed("the `private` arm failed".into())));
    assert!(screen(&app, 200, 40)[1].contains(&written.path().display().to_string()));
}

#[test]
fn form_refuses_to_start_invalid_settings() {
    let mut app = app();
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::PageDown); // the training section: epochs
    press(&mut app, KeyCode::Char('0')); // epochs = 0
    assert!(!app.form.as_ref().unwrap().is_valid());
    assert!(press(&mut app, KeyCode::Char('s')).is_none());
    assert!(app.message.as_ref().unwrap().text.contains("train.epochs"));
    press(&mut app, KeyCode::Char('2'));
    let Some(Command::StartRun(req)) = press(&mut app, KeyCode::Char('s')) else { panic!("valid form starts") };
    assert_eq!(req.config.train.epochs, 2);
}

/// A run started from the form is named by what was edited, as `--set` names one; unedited, it keeps
/// the config's name.
#[test]
fn runs_started_from_the_form_are_named_by_their_edits() {
    let mut unedited = app();
    press(&mut unedited, KeyCode::Enter);
    let Some(Command::StartRun(req)) = press(&mut unedited, KeyCode::Char('s')) else { panic!("the form starts") };
    assert_eq!(req.config.name, "quickstart");

    let mut app = app();
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('t')); // the first transform
    for _ in 0..20 {
        let form = app.form.as_ref().unwrap();
        if form.value_text(form.current()) == "orthogonal-mix" {
            break;
        }
        press(&mut app, KeyCode::Right);
    }
    let form = app.form.as_ref().unwrap();
    assert_eq!(form.value_text(form.current()), "orthogonal-mix");
    let Some(Command::StartRun(req)) = press(&mut app, KeyCode::Char('s')) else { panic!("the form starts") };
    assert_eq!(req.config.name, "quickstart-kindorthogonal-mix");
    let folder = req.dir.file_name().unwrap().to_string_lossy().into_owned();
    assert!(folder.starts_with("quickstart-kindorthogonal-mix-"), "{folder}");
    assert_eq!(app.live.as_ref().unwrap().name, "quickstart-kindorthogonal-mix");
}

/// While a run is active, `s` in the form queues the edited config (the form's name and settings)
/// behind it instead of refusing.
#[test]
fn the_form_queues_its_config_while_a_run_is_active() {
    let mut app = app();
    let Some(Command::StartRun(_)) = press(&mut app, KeyCode::Char('s')) else { panic!("s starts at once") };
    press(&mut app, KeyCode::Char('1'));
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::PageDown); // the training section: epochs
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Char('2'));
    assert!(press(&mut app, KeyCode::Char('s')).is_none(), "a run is active: the form's config waits");
    let names: Vec<&str> = app.queue.entries.iter().map(|e| e.name()).collect();
    assert_eq!(names, ["quickstart", "quickstart-epochs2"]);
    assert_eq!(app.queue.entries[1].config.train.epochs, 2);
    let Some(Command::StartRun(next)) = app.update(AppEvent::RunDone(RunEnd::Finished)) else {
        panic!("the queued form config starts when the active run ends")
    };
    assert_eq!(next.config.name, "quickstart-epochs2");
}

#[test]
fn save_as_writes_a_new_file_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("quickstart.toml"), QUICKSTART).unwrap();
    let mut app = App::load(dir.path().to_path_buf());
    assert_eq!(app.configs.len(), 1);
    press(&mut app, KeyCode::Enter);
    // Add a noise transform after the permutation and set its sigma by typing.
    press(&mut app, KeyCode::Char('t'));
    press(&mut app, KeyCode::Char('a'));
    // Left steps back through the registry, wrapping: pixel-permutation -> neuracrypt -> ele -> le -> pe -> etc
    // -> noise.
    for _ in 0..6 {
        press(&mut app, KeyCode::Left);
    }
    press(&mut app, KeyCode::Down);
    type_text(&mut app, "0.25");
    press(&mut app, KeyCode::Char('w'));
    // The suggested file name is the name the edited config runs under.
    let run_name = app.form.as_ref().unwrap().run_config().name;
    assert!(run_name.starts_with("quickstart-transforms"), "{run_name}");
    assert!(matches!(&app.overlay, Some(Overlay::SaveAs { input, .. }) if *input == run_name));
    clear_input(&mut app);
    type_text(&mut app, "noisy");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.overlay, None, "{:?}", app.message);
    let saved = ppdl::validate::load_config(&dir.path().join("noisy.toml")).unwrap();
    assert_eq!(saved.name, "noisy");
    assert_eq!(
        saved.privacy.unwrap().transforms,
        vec![
            TransformSpec::new("pixel-permutation"),
            TransformSpec::new("noise").with("sigma", 0.25).with("per_sample", false)
        ]
    );
    assert_eq!(app.configs.len(), 2);
    assert_eq!(app.selected_config().unwrap().rel, "noisy.toml");

    // Same name again: refused, the file is untouched.
    let before = std::fs::read_to_string(dir.path().join("noisy.toml")).unwrap();
    press(&mut app, KeyCode::Char('w'));
    // Unchanged since saved: the suggestion is its name, taken, so the next free one.
    assert!(matches!(&app.overlay, Some(Overlay::SaveAs { input, .. }) if input == "noisy-2"), "{:?}", app.overlay);
    clear_input(&mut app);
    type_text(&mut app, "noisy");
    press(&mut app, KeyCode::Enter);
    match &app.overlay {
        Some(Overlay::SaveAs { error: Some(e), .. }) => assert!(e.contains("exists"), "{e}"),
        other => panic!("expected an error in the dialog, got {other:?}"),
    }
    assert_eq!(std::fs::read_to_string(dir.path().join("noisy.toml")).unwrap(), before);
}

/// Every arm's name on the live screen is drawn in that arm's colour, never in another arm's
/// (gauges, legends, log), with four arms; the baseline has the baseline colour.
#[test]
fn arm_colours_are_consistent() {
    let app = live_app_of(COMPARE4);
    let legend = &app.live.as_ref().unwrap().legend;
    assert_eq!(legend.color("baseline"), theme::BASELINE);
    let terminal = render(&app, 120, 40);
    let buf = terminal.backend().buffer();
    let colours: Vec<_> = ARMS4.iter().map(|a| legend.color(a)).collect();
    assert_eq!(colours.iter().collect::<std::collections::HashSet<_>>().len(), 4, "four distinct colours");
    let mut seen = [0; 4];
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol().to_string()).collect::<Vec<_>>().concat();
        let chars: Vec<char> = line.chars().collect();
        for (i, arm) in ARMS4.iter().enumerate() {
            let word: Vec<char> = arm.chars().collect();
            for x in 0..chars.len().saturating_sub(word.len()) {
                if chars[x..x + word.len()] == word[..] {
                    let fg = buf[(x as u16, y)].fg;
                    assert!(
                        !colours.iter().any(|c| *c == fg && *c != colours[i]),
                        "{arm} in another arm's colour at ({x}, {y}): {line}"
                    );
                    if fg == colours[i] {
                        seen[i] += 1;
                    }
                }
            }
        }
    }
    assert!(seen.iter().all(|n| *n >= 3), "each arm named in its colour in gauge, legend and log: {seen:?}");
}

fn write_run(root: &Path, label: &str, config_text: &str, base: f64, private: f64) {
    let dir = root.join(label);
    std::fs::create_dir_all(&dir).unwrap();
    let s =
        summary(label, "embedded", base, private, "pixel-permutation; labels: permuted, m=1", "2026-01-01T00:00:00Z");
    atomic::write_json(&dir.join("summary.json"), &s).unwrap();
    let mut rows = metric_rows("baseline", 188);
    rows.extend(metric_rows("private", 188));
    let arms = ["baseline".to_string(), "private".to_string()];
    atomic::write(&dir.join("metrics.csv"), metrics_csv(&rows, &arms).as_bytes()).unwrap();
    std::fs::write(dir.join("config.toml"), config_text).unwrap();
}

#[test]
fn runs_open_compare_and_analyses() {
    let results = tempfile::tempdir().unwrap();
    write_run(results.path(), "a-run", CONFIG_A, 0.84, 0.83);
    write_run(results.path(), "b-run", &config_b(), 0.85, 0.80);
    std::fs::write(
        results.path().join("b-run/attacks.json"),
        r#"[{"name": "wrong-key", "metric": "accuracy", "value": 0.1, "verdict": "resists"}]"#,
    )
    .unwrap();
    let mut app = App::new("configs-that-do-not-exist".into());
    app.extra_results_dirs = vec![results.path().to_path_buf()];
    app.reload_runs();
    assert_eq!(app.runs.iter().map(|r| r.label.as_str()).collect::<Vec<_>>(), vec!["b-run", "a-run"]);
    press(&mut app, KeyCode::Char('5'));

    press(&mut app, KeyCode::Enter);
    let RunsMode::Detail(d) = &app.runs_mode else { panic!("Enter opens the run") };
    assert_eq!(d.curves.arm("baseline").unwrap().test_accuracy.len(), 2);
    // A file in a shape ppdl never wrote is not guessed at: the view says it cannot read it, and why.
    assert!(
        matches!(&app.attacks.status, Availability::Unreadable(why) if why.contains("attacks.json") && why.contains("expected a ppdl attacks file")),
        "{:?}",
        app.attacks.status
    );
    assert_eq!(app.overhead.status, Availability::NotRun);
    assert!(matches!(press(&mut app, KeyCode::Char('f')), Some(Command::ExportFigures(_))));
    press(&mut app, KeyCode::Esc);

    press(&mut app, KeyCode::Char('m'));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('c'));
    let RunsMode::Compare(c) = &app.runs_mode else { panic!("c compares: {:?}", app.message) };
    let labels: Vec<&str> = c.runs.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["b-run", "a-run"]);
    let fields: Vec<&str> = c.diff.fields.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        fields,
        [
            "train.epochs",
            "privacy.codes_per_class",
            "privacy.transforms[0].kind",
            "privacy.transforms[0].block",
            "privacy.transforms[0].flip"
        ]
    );
}

/// The compare mark follows the run, not its row: a run added above it (a reload after a new run)
/// shifts the rows, and `c` still compares the run that was marked.
#[test]
fn the_compare_mark_stays_on_its_run_when_rows_shift() {
    let results = tempfile::tempdir().unwrap();
    write_run(results.path(), "a-run", CONFIG_A, 0.84, 0.83);
    write_run(results.path(), "b-run", &config_b(), 0.85, 0.80);
    let mut app = App::new("configs-that-do-not-exist".into());
    app.extra_results_dirs = vec![results.path().to_path_buf()];
    app.reload_runs();
    press(&mut app, KeyCode::Char('5'));
    press(&mut app, KeyCode::Down);
    assert_eq!(app.runs[app.run_selected].label, "a-run");
    press(&mut app, KeyCode::Char('m'));

    // A newer run lands at the top of the list: every row below moves down one.
    write_run(results.path(), "c-run", &config_b(), 0.86, 0.81);
    press(&mut app, KeyCode::Char('r'));
    assert_eq!(app.runs.iter().map(|r| r.label.as_str()).collect::<Vec<_>>(), vec!["c-run", "b-run", "a-run"]);
    assert_eq!(app.run_marked, [results.path().join("a-run")]);
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Char('c'));
    let RunsMode::Compare(c) = &app.runs_mode else { panic!("c compares: {:?}", app.message) };
    let labels: Vec<&str> = c.runs.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["a-run", "c-run"]);

    // A marked run whose folder is gone is unmarked, not moved onto another run.
    press(&mut app, KeyCode::Esc);
    std::fs::remove_dir_all(results.path().join("a-run")).unwrap();
    press(&mut app, KeyCode::Char('r'));
    assert!(app.run_marked.is_empty());
}

/// The runs list reads each run's status from its folder: an interrupted run shows its epochs, a
/// run whose enabled attacks are missing says so.
#[test]
fn the_runs_list_marks_interrupted_and_attack_incomplete_runs() {
    let results = tempfile::tempdir().unwrap();
    let with_attacks = |list: &str| CONFIG_A.replace("[output]", &format!("[attacks]\nenabled = [{list}]\n\n[output]"));
    write_run(results.path(), "a-done", &with_attacks(""), 0.84, 0.83);
    write_run(results.path(), "b-stopped", &with_attacks(""), 0.84, 0.83);
    write_run(results.path(), "c-no-attacks", &with_attacks("\"all\""), 0.84, 0.83);
    let path = results.path().join("b-stopped/summary.json");
    let s = interrupted(ppdl::results::Summary::load(&path).unwrap(), 3);
    atomic::write_json(&path, &s).unwrap();
    let mut app = App::new("configs-that-do-not-exist".into());
    app.extra_results_dirs = vec![results.path().to_path_buf()];
    app.reload_runs();
    let short = |label: &str| app.runs.iter().find(|r| r.label == label).unwrap().status.as_ref().unwrap().short();
    assert_eq!(short("a-done"), "finished");
    assert_eq!(short("b-stopped"), "interrupted 3/5");
    assert_eq!(short("c-no-attacks"), "attacks missing");

    press(&mut app, KeyCode::Char('5'));
    let screen = format!("{:?}", render(&app, 100, 24).backend());
    assert!(screen.contains("interrupted 3/5") && screen.contains("attacks missing"), "{screen}");
    app.run_selected = app.runs.iter().position(|r| r.label == "b-stopped").unwrap();
    press(&mut app, KeyCode::Enter);
    let RunsMode::Detail(d) = &app.runs_mode else { panic!("Enter opens the run") };
    assert_eq!(d.status.label(), "interrupted 3/5 epochs");
    let screen = format!("{:?}", render(&app, 100, 24).backend());
    assert!(screen.contains("[interrupted 3/5 epochs]"), "{screen}");
}

/// The overhead view's training row has the one training-time ratio (medians of each arm's epochs).
#[test]
fn the_overhead_view_shows_the_one_training_time_ratio() {
    let report = overhead_report();
    let o = ppdl::tui::analysis::Overhead::from(&report);
    let row = o.arms[0].rows.iter().find(|r| r.quantity.starts_with("train s/epoch")).unwrap();
    let t = &report.arms[0].measured.training;
    let one = ppdl::overhead::training_time_ratio(&t.baseline_epoch_seconds, &t.private_epoch_seconds);
    assert!(one.is_some());
    assert_eq!(row.ratio(), one);
}

/// "export figures" renders the run's figures and report through the plot module.
#[test]
fn export_figures_renders_into_the_run_folder() {
    let results = tempfile::tempdir().unwrap();
    write_run(results.path(), "a-run", CONFIG_A, 0.84, 0.83);
    let dir = results.path().join("a-run");
    let msg = ppdl::tui::actions::export_figures(&dir).unwrap();
    assert!(msg.contains("figures (PNG + SVG)"), "{msg}");
    assert!(dir.join("report.md").is_file());
    let pngs = std::fs::read_dir(dir.join("figures"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "png"))
        .count();
    assert!(pngs > 0);
    let err = ppdl::tui::actions::export_figures(&results.path().join("missing")).unwrap_err();
    assert!(format!("{err:#}").contains("missing"), "{err:#}");
}

/// A run whose data cannot be loaded ends as Failed through the same channel, without hanging.
#[test]
fn failing_run_reports_through_the_channel() {
    let mut cfg = config(QUICKSTART);
    cfg.data.dataset = serde_json::from_value(serde_json::json!("mnist")).unwrap();
    cfg.data.dir = Some("/nonexistent/ppdl-test-data".into());
    let out = tempfile::tempdir().unwrap();
    let mut app = app();
    let Command::StartRun(req) = app.begin_run(cfg, out.path().join("run")) else { unreachable!() };
    let (tx, rx) = mpsc::channel();
    ppdl::tui::event::spawn_run(req, tx);
    loop {
        match rx.recv_timeout(Duration::from_secs(20)).expect("the worker reports within 20 s") {
            AppEvent::RunDone(end) => {
                assert!(matches!(end, RunEnd::Failed(_)), "{end:?}");
                app.update(AppEvent::RunDone(end));
                break;
            }
            other => {
                app.update(other);
            }
        }
    }
    assert_eq!(app.live.as_ref().unwrap().status, RunStatus::Failed);
    assert!(!out.path().join("run").exists(), "nothing is written when the data cannot be loaded");
}

/// The run folder's attacks.json (the attacks module's format) loads into rows, failures included.
#[test]
fn attacks_json_of_the_attacks_module_loads() {
    let dir = tempfile::tempdir().unwrap();
    let file = ppdl::attacks::AttacksFile {
        format_version: ppdl::attacks::ATTACKS_FORMAT_VERSION,
        records: attack_records(),
        failures: vec![ppdl::attacks::AttackFailure {
            arm: "private".into(),
            name: "statistical".into(),
            reason: "no model".into(),
        }],
        not_applicable: vec![ppdl::attacks::NotApplicable {
            arm: "private".into(),
            name: "jigsaw".into(),
            reason: "it solves one block scramble".into(),
        }],
    };
    file.save(&dir.path().join("attacks.json")).unwrap();
    let attacks = ppdl::tui::analysis::Attacks::load(&dir.path().join("attacks.json"));
    assert_eq!(attacks.status, Availability::Done);
    let names: Vec<&str> = attacks.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["key-space", "wrong-key", "known-plaintext", "label-frequency", "inversion", "statistical", "jigsaw"]
    );
    assert_eq!(attacks.rows[1].value_text(), "10.3%");
    assert_eq!(attacks.rows[1].chance, Some(0.1));
    use ppdl::tui::analysis::Verdict;
    assert_eq!(attacks.rows[2].verdict, Verdict::Broken);
    assert_eq!(attacks.rows[2].verdict_text(), "broken (recognised 78.0% ≥ 61.0%)");
    assert_eq!(attacks.rows[4].verdict, Verdict::PartialLeak);
    assert_eq!(attacks.rows[0].verdict_text(), "protects (key 6615 bits ≥ 128 bits)");
    assert!(attacks.rows[2].x_log);
    assert_eq!(attacks.rows[2].curves.len(), 2);
    assert!(matches!(attacks.rows[5].verdict, Verdict::Failed(_)));
    assert_eq!(attacks.rows[6].verdict, Verdict::Info("not applicable".into()));
    assert_eq!(attacks.rows[6].detail, "it solves one block scramble");
}

/// Attack events update the attacks view while the live run is its source, and not after another
/// run was opened.
#[test]
fn attack_events_follow_the_live_run_only() {
    use ppdl::attacks::Event;
    let mut app = live_app();
    let r = attack_records().remove(1);
    app.handle_event(Event::AttackStarted { arm: r.arm.clone(), name: r.name.clone() });
    assert!(matches!(app.attacks.status, Availability::Running(_)));
    app.handle_event(Event::AttackFinished { record: Box::new(r.clone()) });
    assert_eq!(app.attacks.rows.len(), 1);
    assert_eq!(app.attacks.rows[0].value_text(), "10.3%");
    assert!(app.live.as_ref().unwrap().log.iter().any(|l| l.starts_with("[private] attack wrong-key")));

    let other = tempfile::tempdir().unwrap();
    app.show_analyses("other".into(), other.path());
    assert_eq!(app.attacks.status, Availability::NotRun);
    app.handle_event(Event::AttackFinished { record: Box::new(r) });
    assert!(app.attacks.rows.is_empty());
}

#[test]
fn the_workbench_opens_on_the_quickstart_config() {
    // The shipped configs folder: alphabetically digits-mlp comes first, but it needs a download.
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let app = App::load(configs);
    assert!(app.configs.len() > 1);
    assert_eq!(app.selected_config().map(|e| e.rel.as_str()), Some(ppdl::tui::app::DEFAULT_CONFIG));
}

/// The form on an `[[arms]]` config shows every arm, maps a validation error to the row of that arm's
/// setting, and saves TOML that reloads with only that arm changed.
#[test]
fn the_form_edits_one_arm_of_an_arms_config_and_saves_valid_toml() {
    use ppdl::tui::form::Field;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("compare.toml"), COMPARE4).unwrap();
    let mut app = App::load(dir.path().to_path_buf());
    press(&mut app, KeyCode::Enter);
    let form = app.form.as_ref().expect("Enter opens the form");
    let names: Vec<String> = (0..4).map(|a| form.value_text(Field::ArmName(a))).collect();
    assert_eq!(names, ARMS4);
    // The block-shuffle arm's block size (t: the next transform row): an invalid value is reported
    // on the row of this arm's setting.
    press(&mut app, KeyCode::Char('t'));
    press(&mut app, KeyCode::Char('t'));
    press(&mut app, KeyCode::Down);
    assert_eq!(app.form.as_ref().unwrap().current(), Field::Param(2, 0, 0));
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Char('5'));
    let form = app.form.as_ref().unwrap();
    assert_eq!(form.invalid.as_ref().map(|(f, _)| f.as_str()), Some("arms[2].transforms[0].block"));
    assert_eq!(form.invalid_field(), Some(Field::Param(2, 0, 0)));
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Char('7'));
    assert!(app.form.as_ref().unwrap().is_valid(), "{:?}", app.form.as_ref().unwrap().invalid);
    press(&mut app, KeyCode::Char('w'));
    clear_input(&mut app);
    type_text(&mut app, "mine");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.overlay, None, "{:?}", app.message);
    let saved = ppdl::validate::load_config(&dir.path().join("mine.toml")).unwrap();
    let original = config(COMPARE4);
    let (a, b) = (saved.arms(), original.arms());
    assert_eq!(a.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(), ARMS4);
    assert_eq!(
        a[2].scheme.keyed().unwrap().transforms,
        vec![TransformSpec::new("block-shuffle").with("block", 7).with("flip", true)]
    );
    for i in [0, 1, 3] {
        assert_eq!(a[i], b[i], "arm {i} unchanged");
    }
    assert!(saved.privacy.is_none(), "an [[arms]] config gains no [privacy] table");
}

/// The committed run folder of format 1 opens in the workbench: listed, opened with both arms'
/// figures and curves, its attacks and overhead under the arm `private`.
#[test]
fn the_version_1_fixture_run_opens_in_the_workbench() {
    let results = tempfile::tempdir().unwrap();
    let run = results.path().join("fixture");
    std::fs::create_dir_all(&run).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run-pixel-permutation");
    for e in std::fs::read_dir(&fixture).unwrap().flatten() {
        std::fs::copy(e.path(), run.join(e.file_name())).unwrap();
    }
    let mut app = App::new("configs-that-do-not-exist".into());
    app.extra_results_dirs = vec![results.path().to_path_buf()];
    app.reload_runs();
    assert_eq!(app.runs.len(), 1);
    let s = app.runs[0].summary.as_ref().expect("format 1 reads");
    assert_eq!(s.arms.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["baseline", "private"]);
    press(&mut app, KeyCode::Char('5'));
    press(&mut app, KeyCode::Enter);
    let RunsMode::Detail(d) = &app.runs_mode else { panic!("Enter opens the run: {:?}", app.message) };
    assert!(d.curves.arm("baseline").is_some() && d.curves.arm("private").is_some());
    let screen = format!("{:?}", render(&app, 80, 24).backend());
    assert!(screen.contains("baseline") && screen.contains("private"), "{screen}");
    assert_eq!(app.attacks.status, Availability::Done);
    assert_eq!(app.attacks.arms(), ["private"]);
    assert_eq!(app.overhead.arm_names(), ["private"]);
    assert_eq!(app.analysis_arms.baseline().map(|b| b.name.as_str()), Some("baseline"));
    press(&mut app, KeyCode::Char('3'));
    let screen = format!("{:?}", render(&app, 80, 24).backend());
    assert!(screen.contains("arm private"), "{screen}");
}

/// Attack events of several arms go under their arm; ←/→ switch the arm the attacks view shows.
#[test]
fn attack_events_of_several_arms_are_shown_per_arm() {
    use ppdl::attacks::Event;
    let mut app = live_app_of(COMPARE4);
    let records = attack_records();
    for arm in ["pixel-permutation", "fast-mix"] {
        for r in &records[..2] {
            let mut r = r.clone();
            r.arm = arm.into();
            app.handle_event(Event::AttackStarted { arm: arm.into(), name: r.name.clone() });
            app.handle_event(Event::AttackFinished { record: Box::new(r) });
        }
    }
    app.handle_event(Event::AttackFailed { arm: "fast-mix".into(), name: "inversion".into(), reason: "x".into() });
    assert_eq!(app.attacks.arms(), ["pixel-permutation", "fast-mix"]);
    assert_eq!(app.attacks.of_arm("fast-mix").count(), 3);
    press(&mut app, KeyCode::Char('3'));
    assert_eq!(app.attack_arm().as_deref(), Some("pixel-permutation"));
    press(&mut app, KeyCode::Right);
    assert_eq!(app.attack_arm().as_deref(), Some("fast-mix"));
    let screen = format!("{:?}", render(&app, 80, 24).backend());
    assert!(screen.contains("arm fast-mix") && screen.contains("inversion"), "{screen}");
    press(&mut app, KeyCode::Right);
    assert_eq!(app.attack_arm().as_deref(), Some("pixel-permutation"), "wraps around");
    let log = &app.live.as_ref().unwrap().log;
    assert!(log.iter().any(|l| l.starts_with("[fast-mix] attack inversion FAILED")), "{log:?}");
}

/// A failed run's error is read whole in the Log pane: long lines wrap, the pane scrolls back with
/// ↑/PgUp (the title says how many newer lines are below), stays put while new lines arrive, and End
/// follows the newest line again.
#[test]
fn the_log_pane_wraps_long_lines_and_scrolls() {
    let error = "dataset folder data/cifar10 not found (dataset \"cifar10\"): download it with `ppdl fetch \
                 cifar10` or set data.dir to the folder that holds it";
    for (w, h) in [(120, 40), (80, 24)] {
        let mut app = live_app();
        app.update(AppEvent::RunDone(RunEnd::Failed(error.into())));
        let text = screen(&app, w, h).join("\n");
        assert!(text.contains("error: dataset folder") && text.contains("holds it"), "{w}x{h}:\n{text}");
    }

    let mut app = live_app();
    for i in 0..30 {
        app.handle_event(ppdl::attacks::Event::Log(format!("line number {i}")));
    }
    let text = screen(&app, 120, 40).join("\n");
    assert!(text.contains("line number 29") && !text.contains("newer lines below"), "{text}");
    press(&mut app, KeyCode::PageUp);
    let text = screen(&app, 120, 40).join("\n");
    assert!(!text.contains("line number 29") && text.contains("line number 19"), "{text}");
    assert!(text.contains("10 newer lines below"), "{text}");
    // A new line arrives: the lines shown do not move.
    app.handle_event(ppdl::attacks::Event::Log("line number 30".into()));
    let text = screen(&app, 120, 40).join("\n");
    assert!(text.contains("line number 19") && !text.contains("line number 30"), "{text}");
    assert!(text.contains("11 newer lines below"), "{text}");
    press(&mut app, KeyCode::Down);
    assert_eq!(app.live.as_ref().unwrap().log_back, 10);
    press(&mut app, KeyCode::End);
    let text = screen(&app, 120, 40).join("\n");
    assert!(text.contains("line number 30") && !text.contains("newer lines below"), "{text}");
    // The footer names the keys.
    let footer = screen(&app, 120, 40).pop().unwrap();
    assert!(footer.contains("↑↓ log") && footer.contains("End follow"), "{footer}");
}

/// Attacks wait on a pause (the attacks module honours it); the overhead measurement and the
/// figures cannot, and the workbench says so instead of claiming "paused".
#[test]
fn pausing_is_refused_where_the_run_cannot_pause() {
    let mut app = finished_live_app();
    app.handle_event(ppdl::attacks::Event::AttackStarted { arm: "private".into(), name: "inversion".into() });
    press(&mut app, KeyCode::Char('p'));
    let live = app.live.as_ref().unwrap();
    assert_eq!(live.status, RunStatus::Paused);
    assert!(live.control.is_paused());

    // Paused as the last attack ends: the figures do not wait, and the status says it runs.
    app.handle_event(ppdl::attacks::Event::Stage("figures and report".into()));
    let live = app.live.as_ref().unwrap();
    assert_eq!(live.status, RunStatus::Running);
    assert!(!live.control.is_paused());
    assert_eq!(live.log.back().unwrap(), "figures and report cannot be paused: resumed");

    let mut app = finished_live_app();
    app.handle_event(ppdl::attacks::Event::Stage("measuring overhead".into()));
    press(&mut app, KeyCode::Char('p'));
    let live = app.live.as_ref().unwrap();
    assert_eq!(live.status, RunStatus::Running);
    assert!(!live.control.is_paused());
    let message = app.message.as_ref().unwrap();
    assert!(message.error && message.text.contains("measuring overhead cannot be paused"), "{}", message.text);
    let top = screen(&app, 120, 40).remove(0);
    assert!(!top.contains("paused"), "{top}");
}

/// At 80 columns two configs that differ only in their noise still read differently in the list.
#[test]
fn configs_that_differ_in_one_setting_read_differently_at_80_columns() {
    let dir = tempfile::tempdir().unwrap();
    for sigma in ["0.05", "0.2"] {
        let text = FASHION_CNN.replace("sigma = 0.05 }", &format!("sigma = {sigma} }}"));
        assert!(text.contains(&format!("sigma = {sigma}")));
        std::fs::write(dir.path().join(format!("noise-{sigma}.toml")), text).unwrap();
    }
    let mut app = App::load(dir.path().to_path_buf());
    app.extra_results_dirs = vec![];
    let lines = screen(&app, 80, 24);
    let row = |name: &str| lines.iter().find(|l| l.contains(name)).unwrap().clone();
    let (a, b) = (row("noise-0.05"), row("noise-0.2 "));
    assert!(a.contains("(0.05)") && b.contains("(0.2)"), "{a}\n{b}");
}

/// A run killed during its attacks left summary.json but only some of attacks.json: the runs list
/// reads that from the folder and says "attacks missing", never "finished" or "done".
#[test]
fn a_run_killed_during_its_attacks_is_not_finished() {
    let results = tempfile::tempdir().unwrap();
    let config = CONFIG_A.replace("[output]", "[attacks]\nenabled = [\"key-space\", \"wrong-key\"]\n\n[output]");
    write_run(results.path(), "killed", &config, 0.84, 0.83);
    let records: Vec<_> = attack_records().into_iter().filter(|r| r.name == "key-space").collect();
    assert_eq!(records.len(), 1);
    let file = ppdl::attacks::AttacksFile { records, ..Default::default() };
    atomic::write_json(&results.path().join("killed/attacks.json"), &file).unwrap();
    let mut app = App::new("configs-that-do-not-exist".into());
    app.extra_results_dirs = vec![results.path().to_path_buf()];
    app.reload_runs();
    let status = app.runs[0].status.as_ref().unwrap();
    assert_eq!(status.short(), "attacks missing");
    assert_eq!(status.attacks.missing, vec!["wrong-key".to_string()]);
    press(&mut app, KeyCode::Char('5'));
    let text = screen(&app, 80, 24).join("\n");
    assert!(text.contains("attacks missing") && !text.contains("done") && !text.contains("finished"), "{text}");
}

/// `t` and `n` write the selected run's notes.json (atomically; folders without one load with no
/// note); the tags show in the table, the filter finds the note; a sweep's runs open and close
/// under its row; `e` writes the matching runs as CSV and says where.
#[test]
fn runs_table_notes_tags_sweep_groups_and_csv() {
    let results = tempfile::tempdir().unwrap();
    write_run(results.path(), "a-run", CONFIG_A, 0.84, 0.83);
    let sweep = results.path().join("sweep-noise");
    write_run(&sweep.join("runs"), "s1", CONFIG_A, 0.80, 0.79);
    write_run(&sweep.join("runs"), "s2", CONFIG_A, 0.81, 0.78);
    std::fs::write(sweep.join("runs.json"), "[]").unwrap();
    let mut app = App::new("configs-that-do-not-exist".into());
    app.extra_results_dirs = vec![results.path().to_path_buf()];
    app.reload_runs();
    assert_eq!(app.runs.len(), 3);
    assert!(app.runs.iter().all(|r| r.notes == Ok(Default::default())), "no notes.json: no note");
    press(&mut app, KeyCode::Char('5'));
    let rows = app.runs_rows();
    assert_eq!(rows.len(), 2, "the sweep's runs start hidden under its row: {rows:?}");

    press(&mut app, KeyCode::Char('t'));
    type_text(&mut app, "noise, paper");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.overlay, None);
    let written = ppdl::results::notes::RunNotes::load(&results.path().join("a-run")).unwrap();
    assert_eq!(written.tags, vec!["noise".to_string(), "paper".to_string()]);
    press(&mut app, KeyCode::Char('n'));
    type_text(&mut app, "lr too high?");
    press(&mut app, KeyCode::Enter);
    let text = screen(&app, 120, 40).join("\n");
    assert!(text.contains("noise, paper") && text.contains("lr too high?"), "{text}");

    // The sweep's row opens with Enter and closes again.
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.runs_rows().len(), 4);
    assert!(screen(&app, 120, 40).join("\n").contains("s2"));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.runs_rows().len(), 2);

    // The filter finds the note; `e` exports what matches.
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "too high");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.runs_rows().len(), 1);
    assert!(press(&mut app, KeyCode::Char('e')).is_none());
    let message = app.message.clone().unwrap();
    assert!(!message.error && message.text.starts_with("wrote 1 run to"), "{}", message.text);
    let csv: Vec<_> = std::fs::read_dir(results.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    assert_eq!(csv.len(), 1);
    assert!(message.text.contains(&csv[0].display().to_string()));
    let text = std::fs::read_to_string(&csv[0]).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("a-run") && text.contains("\"noise, paper\"") && text.contains("lr too high?"), "{text}");
    // Esc while typing the filter clears it.
    press(&mut app, KeyCode::Char('/'));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.runs_rows().len(), 2);
}

/// Runs marked with m stay marked, by folder, through a reload that adds a run above them; c
/// compares all of them in the order marked: the table has each arm's accuracy with its Wilson
/// interval, each attack's headline, the time ratio and the config fields that differ.
#[test]
fn three_marked_runs_survive_a_reload_and_compare_side_by_side() {
    let results = tempfile::tempdir().unwrap();
    let dirs = write_noise_runs(results.path());
    let mut app = App::new("configs-that-do-not-exist".into());
    app.extra_results_dirs = vec![results.path().to_path_buf()];
    app.reload_runs();
    press(&mut app, KeyCode::Char('5'));
    // Newest first: noise-s2-a, noise-s1-c, noise-s1-b, noise-s1-a. Mark s2-a, s1-b and s1-a.
    press(&mut app, KeyCode::Char('m'));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('m'));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('m'));
    assert_eq!(app.run_marked, [dirs[3].clone(), dirs[1].clone(), dirs[0].clone()]);

    // A newer run lands on top; the marks stay on their folders.
    write_attacked_run(
        results.path(),
        "newest",
        &noise_config(0.3, 1),
        1,
        0.84,
        0.7,
        12.0,
        0.1,
        "2026-02-01T00:00:00Z",
    );
    press(&mut app, KeyCode::Char('r'));
    assert_eq!(app.runs[0].label, "newest");
    assert_eq!(app.run_marked, [dirs[3].clone(), dirs[1].clone(), dirs[0].clone()]);
    // Unmarking the middle one and marking it again puts it last.
    app.run_selected = 3;
    assert_eq!(app.selected_run().unwrap().label, "noise-s1-b");
    press(&mut app, KeyCode::Char('m'));
    press(&mut app, KeyCode::Char('m'));
    assert_eq!(app.run_marked, [dirs[3].clone(), dirs[0].clone(), dirs[1].clone()]);

    press(&mut app, KeyCode::Char('c'));
    let RunsMode::Compare(c) = &app.runs_mode else { panic!("c compares: {:?}", app.message) };
    let labels: Vec<&str> = c.runs.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["noise-s2-a", "noise-s1-a", "noise-s1-b"]);
    let fields: Vec<(&str, Vec<Option<&str>>)> =
        c.diff.fields.iter().map(|f| (f.path.as_str(), f.values.iter().map(|v| v.as_deref()).collect())).collect();
    assert_eq!(
        fields,
        [
            ("seed", vec![Some("1"), Some("1"), Some("2")]),
            ("privacy.transforms[0].sigma", vec![Some("0.2"), Some("0.1"), Some("0.1")])
        ]
    );
    let rows = c.rows();
    let row = |label: &str| {
        rows.iter()
            .find_map(|r| match r {
                CompareRow::Values { label: l, cells } if l == label => Some(cells.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no row {label}: {rows:?}"))
    };
    // Wilson 95% of 79% and 83% on 1,000 test images.
    assert_eq!(row("private"), ["79.0 [76.4,81.4]", "83.0 [80.5,85.2]", "82.0 [79.5,84.3]"]);
    assert_eq!(row("known-plaintext (private): PSNR of unseen data"), ["15.0 dB", "20.0 dB", "22.0 dB"]);
    assert_eq!(row("wrong-key (private): accuracy with a wrong key"), ["10.0%", "10.0%", "10.0%"]);
    // 6.1 s against 5.8 s per run of 5 epochs.
    assert_eq!(row("private").len(), 3);
    let ratio = rows.iter().position(|r| matches!(r, CompareRow::Section(s) if s.starts_with("overhead")));
    let Some(CompareRow::Values { cells, .. }) = ratio.and_then(|i| rows.get(i + 1)) else { panic!("{rows:?}") };
    assert_eq!(cells, &["1.05×", "1.05×", "1.05×"]);
    assert_eq!(row("privacy.transforms[0].sigma"), ["0.2", "0.1", "0.1"]);

    // y cycles the overlay's quantity; g colours by the first differing field: s1-a and s1-b
    // (sigma 0.1) share their protected arm's colour, the baselines are grey.
    let RunsMode::Compare(_) = &app.runs_mode else { unreachable!() };
    press(&mut app, KeyCode::Char('y'));
    press(&mut app, KeyCode::Char('g'));
    press(&mut app, KeyCode::Char('g'));
    let RunsMode::Compare(c) = &app.runs_mode else { unreachable!() };
    assert_eq!(c.quantity, ppdl::tui::curves::Quantity::Loss);
    assert_eq!(c.color_by.as_deref(), Some("privacy.transforms[0].sigma"));
    let series = c.series();
    let colour = |run: usize, arm: &str| series.iter().find(|s| s.run == run && s.arm == arm).unwrap().color;
    assert_eq!(colour(1, "private"), colour(2, "private"));
    assert_ne!(colour(0, "private"), colour(1, "private"));
    assert_eq!(colour(0, "baseline"), theme::MUTED);
    let legends: Vec<&str> = series.iter().filter_map(|s| s.legend.as_deref()).collect();
    assert_eq!(legends, ["baselines", "sigma=0.2", "sigma=0.1"]);
}

/// The trade-off of runs with repeats: runs that differ only in their seed are one point, its x the
/// mean accuracy delta and its y the mean attack metric, each with its 95% t-interval (n = 3); a
/// config seen once is a point with n = 1 and no interval.
#[test]
fn the_tradeoff_of_runs_with_repeats_has_means_and_t_intervals() {
    let results = tempfile::tempdir().unwrap();
    write_noise_runs(results.path());
    let mut app = App::new("configs-that-do-not-exist".into());
    app.extra_results_dirs = vec![results.path().to_path_buf()];
    app.reload_runs();
    press(&mut app, KeyCode::Char('5'));
    assert!(press(&mut app, KeyCode::Char('p')).is_none());
    assert!(app.message.as_ref().is_some_and(|m| m.error), "p without marks says what to do");
    for _ in 0..4 {
        press(&mut app, KeyCode::Char('m'));
        press(&mut app, KeyCode::Down);
    }
    press(&mut app, KeyCode::Char('p'));
    let RunsMode::Tradeoff(t) = &app.runs_mode else { panic!("p opens the trade-off: {:?}", app.message) };
    assert_eq!(t.attacks, ["known-plaintext", "wrong-key"]);
    assert_eq!(t.groups, ["arm", "privacy.transforms[0].sigma"]);
    assert_eq!(t.group_field(), Some("privacy.transforms[0].sigma"));
    let points = t.points();
    assert_eq!(points.len(), 2, "{points:?}");
    let p = points.iter().find(|p| p.group == "0.1").unwrap();
    assert_eq!((p.delta.n, p.metric.n), (3, 3));
    // Deltas -0.01, -0.02, -0.03: mean -0.02, sd 0.01, t(2) = 4.302653.
    let half = 4.302653 * 0.01 / 3f64.sqrt();
    let ci = p.delta.ci.unwrap();
    assert!((p.delta.mean + 0.02).abs() < 1e-9 && (ci.lo - (-0.02 - half)).abs() < 1e-6, "{:?}", p.delta);
    // PSNR 20, 22, 24: mean 22, sd 2.
    let ci = p.metric.ci.unwrap();
    assert!((p.metric.mean - 22.0).abs() < 1e-9 && (ci.hi - (22.0 + 4.302653 * 2.0 / 3f64.sqrt())).abs() < 1e-5);
    let single = points.iter().find(|p| p.group == "0.2").unwrap();
    assert_eq!((single.delta.n, single.delta.ci), (1, None));
    assert!((single.delta.mean + 0.05).abs() < 1e-9 && (single.metric.mean - 15.0).abs() < 1e-9);

    // a: the next attack's headline; g: by arm (both configs' private arm, one group).
    press(&mut app, KeyCode::Char('a'));
    press(&mut app, KeyCode::Char('g'));
    let RunsMode::Tradeoff(t) = &app.runs_mode else { unreachable!() };
    assert_eq!(t.metric().unwrap().attack, "wrong-key");
    assert_eq!(t.group_field(), None);
    assert!(t.points().iter().all(|p| p.group == "private" && (p.metric.mean - 0.1).abs() < 1e-9));
}

/// The version-1 fixture run compares with a new run and opens in the trade-off view: its curves,
/// accuracy, attack headlines and config fields are read like a new run's.
#[test]
fn the_version_1_fixture_run_compares_and_opens_in_the_tradeoff_view() {
    let results = tempfile::tempdir().unwrap();
    let run = results.path().join("fixture");
    std::fs::create_dir_all(&run).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run-pixel-permutation");
    for e in std::fs::read_dir(&fixture).unwrap().flatten() {
        std::fs::copy(e.path(), run.join(e.file_name())).unwrap();
    }
    write_attacked_run(
        results.path(),
        "new-run",
        &noise_config(0.1, 1),
        1,
        0.84,
        0.83,
        20.0,
        0.1,
        "2030-01-01T00:00:00Z",
    );
    let mut app = App::new("configs-that-do-not-exist".into());
    app.extra_results_dirs = vec![results.path().to_path_buf()];
    app.reload_runs();
    press(&mut app, KeyCode::Char('5'));
    press(&mut app, KeyCode::Char('m'));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('m'));
    press(&mut app, KeyCode::Char('c'));
    let RunsMode::Compare(c) = &app.runs_mode else { panic!("c compares: {:?}", app.message) };
    assert_eq!(c.runs[1].label, "fixture");
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert!(c.runs[1].curves.arm("private").is_some_and(|a| !a.test_accuracy.is_empty()));
    assert!(!c.runs[1].attacks.is_empty(), "its format-1 attacks.json reads");
    let rows = c.rows();
    assert!(rows
        .iter()
        .any(|r| matches!(r, CompareRow::Values { label, cells } if label == "private" && cells[1] != "-")));
    assert!(c.diff.fields.iter().any(|f| f.path == "privacy.transforms[0].kind"), "{:?}", c.diff.fields);
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('p'));
    let RunsMode::Tradeoff(t) = &app.runs_mode else { panic!("p opens the trade-off: {:?}", app.message) };
    assert!(t.table.missing.is_empty(), "{:?}", t.table.missing);
    assert_eq!(t.points().len(), 2, "one point per run's protected arm: {:?}", t.points());
}

/// On a sweep's row, m marks all its runs (again: unmarks them), u clears every mark, and p opens
/// the sweep's trade-off, whose figure goes to the sweep's figures folder; without attack results
/// e says there is nothing to plot and writes nothing.
#[test]
fn a_sweeps_row_marks_its_runs_and_opens_its_tradeoff() {
    let results = tempfile::tempdir().unwrap();
    let sweep = results.path().join("sweep-noise");
    std::fs::create_dir_all(&sweep).unwrap();
    std::fs::write(sweep.join("runs.json"), "[]").unwrap();
    let dirs = write_noise_runs(&sweep.join("runs"));
    write_run(results.path(), "lone-run", CONFIG_A, 0.84, 0.83);
    let mut app = App::new("configs-that-do-not-exist".into());
    app.extra_results_dirs = vec![results.path().to_path_buf()];
    app.reload_runs();
    press(&mut app, KeyCode::Char('5'));
    press(&mut app, KeyCode::Down);
    assert!(app.selected_run().is_none(), "row 2 is the sweep's");
    press(&mut app, KeyCode::Char('m'));
    let mut marked = app.run_marked.clone();
    marked.sort();
    assert_eq!(marked, dirs);
    press(&mut app, KeyCode::Char('m'));
    assert!(app.run_marked.is_empty(), "m again unmarks the sweep's runs");
    press(&mut app, KeyCode::Char('m'));
    press(&mut app, KeyCode::Char('u'));
    assert!(app.run_marked.is_empty());

    press(&mut app, KeyCode::Char('p'));
    let RunsMode::Tradeoff(t) = &app.runs_mode else { panic!("p opens the sweep's trade-off: {:?}", app.message) };
    assert_eq!(t.title, "sweep sweep-noise");
    assert_eq!(t.out_dir, sweep.join("figures"));
    assert_eq!(t.runs.len(), 4);

    // The lone run has no attacks: its trade-off has nothing to plot, and e says so.
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Char('m'));
    press(&mut app, KeyCode::Char('p'));
    let RunsMode::Tradeoff(t) = &app.runs_mode else { panic!("p opens the trade-off: {:?}", app.message) };
    assert!(t.attacks.is_empty() && t.points().is_empty());
    let out = t.out_dir.clone();
    press(&mut app, KeyCode::Char('e'));
    let m = app.message.clone().expect("a message");
    assert!(m.error && m.text.contains("no attack results"), "{m:?}");
    assert!(!out.exists(), "nothing written");
}

#[test]
fn queued_runs_start_one_after_another_and_a_failure_does_not_stop_them() {
    let mut app = app();
    let Some(Command::StartRun(first)) = press(&mut app, KeyCode::Char('s')) else { panic!("s starts at once") };
    press(&mut app, KeyCode::Char('1'));
    press(&mut app, KeyCode::Down);
    assert!(press(&mut app, KeyCode::Char('s')).is_none(), "a run is active: fashion-cnn waits");
    assert!(press(&mut app, KeyCode::Char('s')).is_none(), "the same config queued twice waits twice");
    press(&mut app, KeyCode::Char('6'));
    assert_eq!(app.view, View::Queue);
    let names: Vec<&str> = app.queue.entries.iter().map(|e| e.name()).collect();
    assert_eq!(names, ["quickstart", "fashion-cnn", "fashion-cnn"]);

    // The first fails: the next starts, the live view follows it, the queue view stays.
    let failed = RunEnd::Failed("dataset folder data/cifar10 not found".into());
    let Some(Command::StartRun(second)) = app.update(AppEvent::RunDone(failed)) else {
        panic!("a failed run never stops the queue")
    };
    assert_eq!(second.config.name, "fashion-cnn");
    assert_ne!(second.dir, first.dir);
    assert_eq!(app.view, View::Queue);
    assert_eq!(app.live.as_ref().unwrap().dir, second.dir);
    assert!(app.run_active());
    let status = |app: &App, i: usize| ppdl::tui::queue::status_text(&app.queue.entries[i], app.live.as_ref());
    assert_eq!(status(&app, 0), "failed: dataset folder data/cifar10 not found");
    assert!(status(&app, 1).starts_with("running"), "{}", status(&app, 1));
    assert_eq!(status(&app, 2), "pending");

    // Stopped from the live view: the third starts in a folder of its own.
    press(&mut app, KeyCode::Char('2'));
    press(&mut app, KeyCode::Char('x'));
    let Some(Command::StartRun(third)) = app.update(AppEvent::RunDone(RunEnd::Stopped)) else {
        panic!("a stopped run starts the next")
    };
    assert_ne!(third.dir, second.dir);
    assert_eq!(app.view, View::Live, "the live view shows the next run");
    assert_eq!(app.live.as_ref().unwrap().dir, third.dir);
    assert_eq!(status(&app, 1), "stopped");
    assert!(app.update(AppEvent::RunDone(RunEnd::Finished)).is_none(), "nothing left to start");
    assert_eq!(status(&app, 2), "finished");
}

#[test]
fn queue_view_removes_and_reorders_pending_runs() {
    let mut app = app();
    assert!(matches!(press(&mut app, KeyCode::Char('s')), Some(Command::StartRun(_))));
    press(&mut app, KeyCode::Char('1'));
    for _ in 0..3 {
        press(&mut app, KeyCode::Down);
        press(&mut app, KeyCode::Char('s'));
        press(&mut app, KeyCode::Char('1'));
    }
    let names = |app: &App| app.queue.entries.iter().map(|e| e.name().to_string()).collect::<Vec<_>>();
    // The broken config is not queued (its error is shown instead).
    assert_eq!(names(&app), ["quickstart", "fashion-cnn", "compare-quickstart"]);
    press(&mut app, KeyCode::Char('6'));
    press(&mut app, KeyCode::Char('d'));
    assert!(app.message.as_ref().unwrap().error, "the running run is not removed");
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('['));
    assert_eq!(names(&app), ["quickstart", "compare-quickstart", "fashion-cnn"]);
    assert_eq!(app.queue_pane.selected, 1, "the selection moves with the run");
    press(&mut app, KeyCode::Char('['));
    assert!(app.message.as_ref().unwrap().text.contains("first pending"));
    press(&mut app, KeyCode::Char('d'));
    assert_eq!(names(&app), ["quickstart", "fashion-cnn"]);
    let Some(Command::StartRun(next)) = app.update(AppEvent::RunDone(RunEnd::Finished)) else { panic!() };
    assert_eq!(next.config.name, "fashion-cnn");
}

/// A configs folder with a tiny base config (results under `dir/results`) and a sweep of two noise
/// levels over it.
fn sweep_fixture(dir: &Path) -> std::path::PathBuf {
    let configs = dir.join("configs");
    std::fs::create_dir_all(configs.join("sweeps")).unwrap();
    let base = format!(
        "name = \"tiny\"\nseed = 1\n[data]\ndataset = \"embedded\"\ntrain_limit = 64\ntest_limit = 32\n\
         [train]\nepochs = 1\n[privacy]\ntransforms = [{{ kind = \"noise\", sigma = 0.1 }}]\n\
         [output]\ndir = {:?}\nfigures = true\n[attacks]\nenabled = []\n",
        dir.join("results")
    );
    std::fs::write(configs.join("tiny.toml"), base).unwrap();
    let sweep = "base = \"../tiny.toml\"\n[[axes]]\npath = \"privacy.transforms.0.sigma\"\nvalues = [0.05, 0.2]\n";
    std::fs::write(configs.join("sweeps/noise.toml"), sweep).unwrap();
    configs
}

#[test]
fn a_sweep_file_queues_its_unfinished_runs_into_its_sweep_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let configs = sweep_fixture(tmp.path());
    let root = tmp.path().join("results/sweep-noise");
    // The first run finished before (as `ppdl sweep` would have left it): it is not run again.
    let sweep = ppdl::sweep::load(&configs.join("sweeps/noise.toml")).unwrap();
    let control = std::sync::Arc::new(ppdl::train::Control::default());
    let done = ppdl::sweep::run_one(&sweep.configs[0], &root.join(&sweep.runs[0].folder), None, &control);
    assert!(done.result.is_ok(), "{:?}", done.result);

    let mut app = App::load(configs);
    app.extra_results_dirs.clear();
    assert_eq!(app.queue_pane.sweep_files, ["sweeps/noise.toml"]);
    press(&mut app, KeyCode::Char('6'));
    let Some(Command::StartRun(req)) = press(&mut app, KeyCode::Enter) else {
        panic!("Enter on a sweep file starts its first unfinished run: {:?}", app.message)
    };
    assert_eq!(req.dir, root.join(&sweep.runs[1].folder));
    assert!(req.replace, "an unfinished folder from before is replaced");
    assert_eq!(app.view, View::Queue, "the grid stays in view");
    assert_eq!(app.queue.entries.len(), 1, "{:?}", app.message);
    assert!(app.message.as_ref().unwrap().text.contains("queued 1 of 2 runs (1 finished before)"));
    use ppdl::tui::queue::Cell;
    assert_eq!(app.queue.cells(0), [Cell::FinishedBefore, Cell::Running]);
    for file in ["sweep.toml", "runs.json", "sweep.json", "sweep.csv"] {
        assert!(root.join(file).is_file(), "{file} is written as `ppdl sweep` writes it");
    }
    // Its last run ended: the table is rewritten and the sweep's figures are rendered.
    let end = app.update(AppEvent::RunDone(RunEnd::Failed("killed".into())));
    assert!(matches!(end, Some(Command::ExportFigures(ref d)) if *d == root), "{end:?}");
    assert_eq!(app.queue.cells(0), [Cell::FinishedBefore, Cell::Failed]);
    // Queued again: the failed run is retried, the finished one still skipped.
    assert!(matches!(press(&mut app, KeyCode::Enter), Some(Command::StartRun(_))));
    assert_eq!(app.queue.entries.len(), 2);
}

/// Empty the text of the dialog shown.
fn clear_input(app: &mut App) {
    while matches!(&app.overlay, Some(Overlay::SaveAs { input, .. }) if !input.is_empty()) {
        press(app, KeyCode::Backspace);
    }
}
