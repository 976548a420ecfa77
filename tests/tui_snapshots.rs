//! Whole-screen snapshots of every workbench view on fixed data (80x24, and the live view at 120x40).
//! Accept changes locally with `INSTA_UPDATE=always cargo test --release --test tui_snapshots`.

mod tui_common;

use ppdl::tui::actions::{compare_runs, RunEntry};
use ppdl::tui::app::{Overlay, RunsMode, View};
use ppdl::tui::form::{Field, Form};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_common::*;

fn key(app: &mut ppdl::tui::App, code: KeyCode) {
    let _ = app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

#[test]
fn experiments_80x24() {
    let mut app = app();
    key(&mut app, KeyCode::Down);
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn experiments_invalid_config_80x24() {
    let mut app = app();
    app.config_selected = 3;
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn form_80x24() {
    let mut app = app();
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter);
    assert!(app.form.is_some());
    // Down to transform 1's block size and type an invalid size: the error shows inline.
    key(&mut app, KeyCode::Char('t'));
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Char('5'));
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn form_valid_80x24() {
    let mut app = app();
    app.form = Some(Form::new("quickstart.toml".into(), config(QUICKSTART)));
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

/// The whole form at 120x40: every heading, the arms with their settings, the attacks.
#[test]
fn form_120x40() {
    let mut app = app();
    app.form = Some(Form::new("quickstart.toml".into(), config(QUICKSTART)));
    insta::assert_snapshot!(render(&app, 120, 40).backend());
}

/// Scrolled to the attacks: PgDn jumps heading by heading; the list follows the cursor.
#[test]
fn form_attacks_80x24() {
    let mut app = app();
    app.form = Some(Form::new("quickstart.toml".into(), config(QUICKSTART)));
    for _ in 0..4 {
        key(&mut app, KeyCode::PageDown);
    }
    key(&mut app, KeyCode::Down);
    assert_eq!(app.form.as_ref().unwrap().current(), Field::Attack(0));
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

/// Esc with unsaved edits asks first.
#[test]
fn form_discard_80x24() {
    let mut app = app();
    app.form = Some(Form::new("quickstart.toml".into(), config(QUICKSTART)));
    key(&mut app, KeyCode::PageDown);
    key(&mut app, KeyCode::Right);
    key(&mut app, KeyCode::Esc);
    assert!(app.form.as_ref().unwrap().confirm_discard);
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn save_as_80x24() {
    let mut app = app();
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('w'));
    assert!(matches!(app.overlay, Some(Overlay::SaveAs { .. })));
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn live_80x24() {
    let app = live_app();
    assert_eq!(app.view, View::Live);
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn live_120x40() {
    let app = live_app();
    insta::assert_snapshot!(render(&app, 120, 40).backend());
}

#[test]
fn live_finished_80x24() {
    let mut app = finished_live_app();
    let _ = app.handle_run_done(ppdl::tui::live::RunEnd::Finished);
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn live_empty_80x24() {
    let mut app = app();
    app.view = View::Live;
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn quit_dialog_80x24() {
    let mut app = live_app();
    key(&mut app, KeyCode::Char('q'));
    assert_eq!(app.overlay, Some(Overlay::Quit));
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn attacks_80x24() {
    let mut app = app();
    app.view = View::Attacks;
    app.analysis_source = Some("quickstart-20260102-090000".into());
    app.attacks = attacks();
    key(&mut app, KeyCode::Down);
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn attacks_not_run_80x24() {
    let mut app = app();
    app.view = View::Attacks;
    app.analysis_source = Some("quickstart-20260102-090000".into());
    app.attacks.status = ppdl::tui::analysis::Availability::NotRun;
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn overhead_80x24() {
    let mut app = app();
    app.view = View::Overhead;
    app.analysis_source = Some("quickstart-20260102-090000".into());
    app.overhead = overhead();
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn runs_80x24() {
    let mut app = app();
    app.view = View::Runs;
    key(&mut app, KeyCode::Char('m'));
    key(&mut app, KeyCode::Down);
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

/// An interrupted run selected: the list says how many epochs it finished, the panel below why.
#[test]
fn runs_interrupted_80x24() {
    let mut app = app();
    app.view = View::Runs;
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn run_detail_80x24() {
    let mut app = app();
    app.view = View::Runs;
    app.runs_mode = RunsMode::Detail(Box::new(run_detail()));
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn compare_80x24() {
    let tmp = tempfile::tempdir().unwrap();
    let mut entries: Vec<RunEntry> = run_entries().into_iter().take(2).collect();
    for (e, text) in entries.iter_mut().zip([CONFIG_A.to_string(), config_b()]) {
        e.dir = tmp.path().join(&e.label);
        std::fs::create_dir_all(&e.dir).unwrap();
        std::fs::write(e.dir.join("config.toml"), text).unwrap();
    }
    let mut app = app();
    app.view = View::Runs;
    app.runs_mode = RunsMode::Compare(Box::new(compare_runs(&[&entries[1], &entries[0]])));
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn help_80x24() {
    let mut app = app();
    key(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn help_120x40() {
    let mut app = app();
    key(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!(render(&app, 120, 40).backend());
}

/// Attack results arrive as events while the run goes on: finished ones are listed, the running one
/// shows its progress.
#[test]
fn attacks_live_80x24() {
    let mut app = live_app();
    let records = attack_records();
    for r in &records[..2] {
        app.handle_event(ppdl::attacks::Event::AttackStarted { arm: r.arm.clone(), name: r.name.clone() });
        app.handle_event(ppdl::attacks::Event::AttackFinished { record: Box::new(r.clone()) });
    }
    let arm = || "private".to_string();
    app.handle_event(ppdl::attacks::Event::AttackStarted { arm: arm(), name: "known-plaintext".into() });
    app.handle_event(ppdl::attacks::Event::AttackProgress {
        arm: arm(),
        name: "known-plaintext".into(),
        done: 3,
        total: 6,
    });
    app.view = View::Attacks;
    key(&mut app, KeyCode::Down);
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn attacks_120x40() {
    let mut app = app();
    app.view = View::Attacks;
    app.analysis_source = Some("quickstart-20260102-090000".into());
    app.attacks = attacks();
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    insta::assert_snapshot!(render(&app, 120, 40).backend());
}

/// A PSNR chart keeps the no-attack reference in range: a 0.5 dB rise from 15.61 to 16.14 dB is drawn
/// against the 10.6 dB an adversary gets without attacking, not stretched over the whole height.
#[test]
fn attacks_psnr_chart_includes_the_no_attack_reference_80x24() {
    let mut app = app();
    app.view = View::Attacks;
    app.analysis_source = Some("quickstart-20260102-090000".into());
    app.attacks = attacks();
    for _ in 0..4 {
        key(&mut app, KeyCode::Down);
    }
    let row = &app.attacks.rows[4];
    assert_eq!(row.name, "inversion");
    assert_eq!(row.chart_reference(), Some(10.6));
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn overhead_120x40() {
    let mut app = app();
    app.view = View::Overhead;
    app.analysis_source = Some("quickstart-20260102-090000".into());
    app.overhead = overhead();
    insta::assert_snapshot!(render(&app, 120, 40).backend());
}

/// Four arms training (baseline, pixel-permutation, block-shuffle, fast-mix): a gauge, a curve and a
/// legend entry per arm, each in its colour, at 80x24.
#[test]
fn live_4arms_80x24() {
    let app = live_app_of(COMPARE4);
    assert_eq!(app.live.as_ref().unwrap().arms.len(), 4);
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

#[test]
fn live_4arms_120x40() {
    let app = live_app_of(COMPARE4);
    insta::assert_snapshot!(render(&app, 120, 40).backend());
}

/// Eight arms (the most the palette colours apart) at 80x24: the gauges go to two columns.
#[test]
fn live_8arms_80x24() {
    let mut text = COMPARE4.to_string();
    for (i, t) in ["orthogonal-mix", "separable-mix"].iter().enumerate() {
        text.push_str(&format!("[[arms]]\nname = \"{t}\"\nscheme = \"keyed\"\ntransforms = [{{ kind = \"{t}\" }}]\n"));
        text.push_str(&format!(
            "[[arms]]\nname = \"noise-{i}\"\nscheme = \"keyed\"\ntransforms = [{{ kind = \"noise\", sigma = 0.{} }}]\n",
            i + 1
        ));
    }
    let app = live_app_of(&text);
    assert_eq!(app.live.as_ref().unwrap().arms.len(), 8);
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

/// A four-arm run opened: one row per arm (accuracy, Δ against the baseline, time ratio), each
/// protected arm's scheme, and every arm's curves.
#[test]
fn run_detail_4arms_80x24() {
    let mut app = app();
    app.view = View::Runs;
    app.runs_mode = RunsMode::Detail(Box::new(run_detail4()));
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

/// The runs list with a four-arm run selected: each protected arm's Δ in the list, every arm below.
#[test]
fn runs_4arms_80x24() {
    let mut app = app();
    let four = RunEntry {
        dir: "results/compare-quickstart-20260103-100000".into(),
        group: None,
        notes: Ok(Default::default()),
        strongest_attack: None,
        label: "compare-quickstart-20260103-100000".into(),
        summary: Ok(summary4("2026-01-03T10:00:00Z")),
        status: Some(status_of(&summary4("2026-01-03T10:00:00Z"))),
    };
    app.runs.insert(0, four);
    app.view = View::Runs;
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

/// A four-arm run against a two-arm one: arms matched by name, those only in one run shown with "-".
#[test]
fn compare_4arms_80x24() {
    let tmp = tempfile::tempdir().unwrap();
    let mut entries: Vec<RunEntry> = run_entries().into_iter().take(1).collect();
    entries.push(RunEntry {
        dir: "compare".into(),
        group: None,
        notes: Ok(Default::default()),
        strongest_attack: None,
        label: "compare-quickstart-20260103-100000".into(),
        summary: Ok(summary4("2026-01-03T10:00:00Z")),
        status: None,
    });
    for (e, text) in entries.iter_mut().zip([CONFIG_A.to_string(), COMPARE4.to_string()]) {
        e.dir = tmp.path().join(&e.label);
        std::fs::create_dir_all(&e.dir).unwrap();
        std::fs::write(e.dir.join("config.toml"), text).unwrap();
    }
    let mut app = app();
    app.view = View::Runs;
    app.runs_mode = RunsMode::Compare(Box::new(compare_runs(&[&entries[0], &entries[1]])));
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

/// The form on an `[[arms]]` config: the arms listed, the `arm` row picks the keyed arm edited.
#[test]
fn form_arms_80x24() {
    let mut app = app();
    app.config_selected = 2;
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('t'));
    key(&mut app, KeyCode::Char('t'));
    assert_eq!(app.form.as_ref().unwrap().current(), Field::Kind(2, 0));
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

/// The experiments view with the four-arm config selected: its arms, each in its colour.
#[test]
fn experiments_4arms_80x24() {
    let mut app = app();
    app.config_selected = 2;
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

/// Attacks of a run with two attacked arms: the second shown after →.
#[test]
fn attacks_second_arm_80x24() {
    let mut app = app();
    app.view = View::Attacks;
    app.analysis_source = Some("compare-quickstart-20260103-100000".into());
    app.analysis_arms = ppdl::tui::arms::Arms::from_summary(&summary4("2026-01-03T10:00:00Z"));
    let mut attacks = attacks();
    let all = std::mem::take(&mut attacks.rows);
    for (arm, n) in [("pixel-permutation", all.len()), ("fast-mix", 3)] {
        attacks.rows.extend(all[..n].iter().cloned().map(|mut r| {
            r.arm = arm.into();
            r
        }));
    }
    app.attacks = attacks;
    key(&mut app, KeyCode::Right);
    assert_eq!(app.attack_arm().as_deref(), Some("fast-mix"));
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

/// Overhead of a run with three protected arms: the second one's costs after →.
#[test]
fn overhead_second_arm_80x24() {
    let mut app = app();
    app.view = View::Overhead;
    app.analysis_source = Some("compare-quickstart-20260103-100000".into());
    app.analysis_arms = ppdl::tui::arms::Arms::from_summary(&summary4("2026-01-03T10:00:00Z"));
    let report = overhead_report_of(&[("pixel-permutation", 1.0), ("block-shuffle", 1.1), ("fast-mix", 1.3)]);
    app.overhead = ppdl::tui::analysis::Overhead::from(&report);
    key(&mut app, KeyCode::Right);
    assert_eq!(app.overhead_arm().as_deref(), Some("block-shuffle"));
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

/// The runs table with a sweep's runs grouped (open), a note and tags, an attack result, sorted by
/// accuracy.
fn runs_table_app() -> ppdl::tui::App {
    let mut app = app();
    app.runs[0].notes = Ok(ppdl::results::notes::RunNotes { note: "first try".into(), tags: vec!["paper".into()] });
    app.runs[1].strongest_attack = Some("inversion: SSIM 0.41 partial leak".into());
    for (i, sigma) in ["0.05", "0.2"].iter().enumerate() {
        let mut e = run_entries().remove(1);
        e.label = format!("quickstart-noise-sigma{sigma}-s1");
        e.dir = format!("results/sweep-noise/runs/{}", e.label).into();
        e.group = Some("sweep-noise".into());
        if let Ok(s) = &mut e.summary {
            s.arms[1].test_accuracy -= 0.01 * i as f64;
            s.fill_intervals();
        }
        app.runs.push(e);
    }
    app.runs_table.expanded.insert("sweep-noise".into());
    app.view = View::Runs;
    app
}

#[test]
fn runs_table_120x40() {
    let mut app = runs_table_app();
    for _ in 0..8 {
        key(&mut app, KeyCode::Char('s'));
    }
    assert_eq!(app.runs_table.sort, Some(ppdl::tui::runs_table::Column::Accuracy));
    insta::assert_snapshot!(render(&app, 120, 40).backend());
}

/// At 80 columns, while a filter is typed: the sweep's row says how many of its runs match.
#[test]
fn runs_table_filtered_80x24() {
    let mut app = runs_table_app();
    key(&mut app, KeyCode::Char('/'));
    for c in "sigma0.2".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}

/// The noise runs (three repeats of sigma 0.1, one of 0.2) in a workbench on the runs view.
fn noise_runs_app(results: &std::path::Path) -> ppdl::tui::App {
    write_noise_runs(results);
    let mut app = ppdl::tui::App::new("configs-that-do-not-exist".into());
    app.extra_results_dirs = vec![results.to_path_buf()];
    app.reload_runs();
    app.view = View::Runs;
    app
}

/// Three marked runs compared: the overlay of every run's arms and the side-by-side table.
fn compare_many(w: u16, h: u16) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = noise_runs_app(tmp.path());
    for _ in 0..3 {
        key(&mut app, KeyCode::Char('m'));
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Char('c'));
    assert!(matches!(app.runs_mode, RunsMode::Compare(_)), "{:?}", app.message);
    render(&app, w, h).backend().to_string()
}

#[test]
fn compare_many_80x24() {
    insta::assert_snapshot!(compare_many(80, 24));
}

#[test]
fn compare_many_120x40() {
    insta::assert_snapshot!(compare_many(120, 40));
}

/// The trade-off of the four noise runs, by sigma: a point with n = 3 and its intervals, one with n = 1.
fn tradeoff(w: u16, h: u16) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let mut app = noise_runs_app(tmp.path());
    for _ in 0..4 {
        key(&mut app, KeyCode::Char('m'));
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Char('p'));
    assert!(matches!(app.runs_mode, RunsMode::Tradeoff(_)), "{:?}", app.message);
    render(&app, w, h).backend().to_string()
}

#[test]
fn tradeoff_80x24() {
    insta::assert_snapshot!(tradeoff(80, 24));
}

#[test]
fn tradeoff_120x40() {
    insta::assert_snapshot!(tradeoff(120, 40));
}

/// Overhead of a split arm (after →, past the keyed arm): time and bytes against a plain service,
/// with the exchange and no network modelled (a measured overhead.json of the families quickstart).
#[test]
fn overhead_split_arm_120x40() {
    let mut app = app();
    app.view = View::Overhead;
    app.analysis_source = Some("families-quickstart".into());
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/overhead-split.json");
    app.overhead = ppdl::tui::analysis::Overhead::load(&path);
    assert_eq!(app.overhead.arm_names(), ["permutation", "split-1"]);
    key(&mut app, KeyCode::Right);
    assert_eq!(app.overhead_arm().as_deref(), Some("split-1"));
    insta::assert_snapshot!(render(&app, 120, 40).backend());
}

/// The queue after a finished and a failed run, with the quickstart running (as the live view shows
/// it), a noise sweep of 3 cells x 3 seeds (2 runs finished before it was queued) and a config waiting.
fn queue_app() -> ppdl::tui::App {
    use ppdl::results::sweep::SweepRun;
    use ppdl::tui::live::RunEnd;
    use std::path::PathBuf;
    let mut app = live_app();
    let q = &mut app.queue;
    q.push_config(config(FASHION_CNN));
    q.start_next(|_| PathBuf::from("results/fashion-cnn-20261130-101500")).unwrap();
    q.end_active(&RunEnd::Finished, vec![("baseline".into(), 0.8912), ("private".into(), 0.8790)]);
    let mut cifar = config(FASHION_CNN);
    cifar.name = "cifar-cnn".into();
    q.push_config(cifar);
    q.start_next(|_| PathBuf::from("results/cifar-cnn-20261130-102210")).unwrap();
    let why = "dataset folder data/cifar10 not found (dataset \"cifar10\"): download it with `ppdl data cifar10`";
    q.end_active(&RunEnd::Failed(why.into()), vec![]);
    q.push_config(config(QUICKSTART));
    q.start_next(|_| PathBuf::from("results/quickstart-run")).unwrap();
    let mut runs = Vec::new();
    for (cell, sigma) in ["0.05", "0.1", "0.2"].into_iter().enumerate() {
        for repeat in 0..3 {
            let name = format!("quickstart-sigma{sigma}-seed{}", 42 + repeat);
            runs.push(SweepRun {
                name: name.clone(),
                cell,
                repeat,
                seed: 42 + repeat as u64,
                axes: vec![("privacy.transforms.0.sigma".into(), sigma.into())],
                overrides: vec![],
                folder: PathBuf::from("runs").join(&name),
                baseline_from: None,
            });
        }
    }
    let configs: Vec<_> = runs
        .iter()
        .map(|r| {
            let mut c = config(QUICKSTART);
            c.name = r.name.clone();
            c
        })
        .collect();
    let finished_before = |r: &SweepRun| r.cell == 0 && r.repeat < 2;
    let root = std::path::Path::new("results/sweep-quickstart-noise");
    assert_eq!(q.push_sweep("quickstart-noise", root, &runs, &configs, true, finished_before), (7, 2));
    q.push_config(config(COMPARE4));
    app.view = View::Queue;
    app.queue_pane.selected = 3;
    app.queue_pane.sweep_files = vec!["sweeps/quickstart-noise.toml".into(), "sweeps/scheme-mnist-mlp.toml".into()];
    app
}

#[test]
fn queue_80x24() {
    insta::assert_snapshot!(render(&queue_app(), 80, 24).backend());
}

#[test]
fn queue_120x40() {
    insta::assert_snapshot!(render(&queue_app(), 120, 40).backend());
}

#[test]
fn queue_empty_80x24() {
    let mut app = app();
    app.queue_pane.sweep_files = vec!["sweeps/quickstart-noise.toml".into(), "sweeps/scheme-mnist-mlp.toml".into()];
    key(&mut app, KeyCode::Char('6'));
    insta::assert_snapshot!(render(&app, 80, 24).backend());
}
