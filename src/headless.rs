//! Headless mode: runs an experiment and shows its events as indicatif bars on a terminal, or as plain
//! progress lines when stdout is not a terminal (CI logs, pipes).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::mpsc;
use std::sync::Arc;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::attacks::Event;
use crate::run::{run_dir_for, run_experiment, RunOutcome};
use crate::train::{Control, MetricSplit};

/// `ppdl run CONFIG [--out DIR]`: `config` is CONFIG loaded (with any overrides applied).
pub fn run(config_path: &Path, config: &crate::config::Config, out: Option<&Path>) -> anyhow::Result<RunOutcome> {
    let control = Arc::new(Control::default());
    install_interrupt_handler(&control);
    let dir = run_dir_for(config, out);
    let (tx, rx) = mpsc::channel();
    let mut printer = Printer::new(std::io::stdout().is_terminal());
    println!("ppdl run {} -> {}", config_path.display(), dir.display());
    let outcome = std::thread::scope(|scope| {
        let (dir, control) = (&dir, &control);
        // The worker owns the only sender: the loop ends when the experiment returns.
        let worker = scope.spawn(move || run_experiment(config, dir, &tx, control));
        for event in rx.iter() {
            printer.show(&event);
        }
        worker.join().map_err(|_| anyhow::anyhow!("the experiment thread panicked"))?
    });
    printer.finish();
    let outcome = outcome?;
    print_summary(&outcome);
    print_attacks(&outcome.folder.attacks_path());
    Ok(outcome)
}

/// `ppdl attack RUN_DIR [--only NAME] [--arm NAME]`: re-run attacks on a saved run (no retraining),
/// rewrite attacks.json (with `--only` or `--arm`, merge those records into it), then bring the
/// figures and report.md up to date (see [`crate::run::refresh_after_attacks`]).
pub fn attack(run_dir: &Path, only: Option<&str>, arm: Option<&str>) -> anyhow::Result<()> {
    let control = Arc::new(Control::default());
    install_interrupt_handler(&control);
    let (tx, rx) = mpsc::channel();
    let mut printer = Printer::new(std::io::stdout().is_terminal());
    println!("ppdl attack {}", run_dir.display());
    let outcome = std::thread::scope(|scope| {
        let control = &control;
        let worker = scope.spawn(move || -> anyhow::Result<crate::attacks::AttacksFile> {
            let file = crate::attacks::rerun(run_dir, only, arm, &tx, control)?;
            crate::run::refresh_after_attacks(run_dir, &tx, control);
            Ok(file)
        });
        for event in rx.iter() {
            printer.show(&event);
        }
        worker.join().map_err(|_| anyhow::anyhow!("the attack thread panicked"))?
    });
    printer.finish();
    let file = outcome?;
    print!("\n{}", attack_table(&file));
    if control.stop_requested() {
        return Err(anyhow::Error::new(crate::error::Interrupted)
            .context("attacks interrupted; attacks.json holds what finished"));
    }
    // attacks.json keeps the records of attacks and arms this call did not run (`--only`, `--arm`):
    // an older failure among them is shown in the table but is not this call's failure.
    let failed: Vec<String> = file
        .failures
        .iter()
        .filter(|f| only.is_none_or(|n| n == f.name) && arm.is_none_or(|a| a == f.arm))
        .map(|f| format!("{} on {}", f.name, f.arm))
        .collect();
    if !failed.is_empty() {
        anyhow::bail!("{} attack(s) failed: {}", failed.len(), failed.join(", "));
    }
    Ok(())
}

/// First Ctrl-C (or SIGTERM, e.g. Slurm's time limit or `scancel`, or SIGHUP): ask the trainers to
/// stop after their current step (finished epochs are kept, the run folder says interrupted). A
/// second one: leave at once.
pub fn install_interrupt_handler(control: &Arc<Control>) {
    let control = Arc::clone(control);
    let _ = ctrlc::set_handler(move || {
        if control.stop_requested() {
            eprintln!("\nppdl: interrupted again, exiting now");
            std::process::exit(130);
        }
        eprintln!("\nppdl: interrupted (Ctrl-C or SIGTERM): stopping after the current step (again to quit at once)");
        control.request_stop();
    });
}

fn print_summary(outcome: &RunOutcome) {
    let s = &outcome.summary;
    println!();
    println!(
        "{} on {}, {} train / {} test, {}, seed {}",
        s.name,
        crate::data::display_name(&s.dataset.name, s.dataset.train, s.dataset.test),
        s.dataset.train,
        s.dataset.test,
        s.archs_label(),
        s.seed
    );
    print!("{}", arm_table(s));
    println!("run folder: {}", outcome.folder.root.display());
}

/// One line per arm: accuracy with its delta against the baseline, time, throughput, status, scheme.
pub fn arm_table(s: &crate::results::Summary) -> String {
    let width = s.arms.iter().map(|a| a.name.len()).max().unwrap_or(3).max(3);
    let mut out = format!(
        "{:<width$} {:>10} {:>14} {:>9} {:>14} {:>10} {:>11}  {:<9} {}\n",
        "arm", "test acc", "95% CI", "delta", "delta 95% CI", "train s", "samples/s", "status", "scheme"
    );
    for r in &s.arms {
        let delta = r.accuracy_delta.map(|d| format!("{:+.2} pt", 100.0 * d)).unwrap_or_else(|| "-".into());
        let ci = |i: Option<crate::results::stats::Interval>| i.map(|i| i.points()).unwrap_or_else(|| "-".into());
        out.push_str(&format!(
            "{:<width$} {:>9.2}% {:>14} {:>9} {:>14} {:>10.2} {:>11.0}  {:<9} {}\n",
            r.name,
            100.0 * r.test_accuracy,
            ci(r.accuracy_interval),
            delta,
            ci(r.delta_interval),
            r.train_seconds,
            r.samples_per_second,
            r.status.name(),
            match &r.arch {
                Some(arch) => format!("{} (model {arch})", r.description),
                None => r.description.clone(),
            }
        ));
    }
    out.push_str(&format!("{}\n", crate::results::stats::single_run_note(s.dataset.test)));
    out
}

/// The attack table of a finished run, if it ran attacks.
fn print_attacks(path: &Path) {
    if !path.is_file() {
        return;
    }
    match crate::attacks::load_file(path) {
        Ok(file) => print!("\n{}", attack_table(&file)),
        Err(e) => println!("attacks: {e:#}"),
    }
}

/// One line per attack: its headline and its verdict with the deciding metric.
pub fn attack_table(file: &crate::attacks::AttacksFile) -> String {
    use crate::results::attacks::fmt_value;
    let width = file.arms().iter().map(|a| a.len()).max().unwrap_or(3).max(3);
    let mut out = format!("{:<width$} {:<16} {:>12}  {}\n", "arm", "attack", "headline", "verdict (deciding metric)");
    for r in &file.records {
        let stopped = if r.complete { "" } else { ", stopped early" };
        out.push_str(&format!(
            "{:<width$} {:<16} {:>12}  {}{stopped}\n",
            r.arm,
            r.name,
            fmt_value(r.headline.value, &r.headline.unit),
            r.verdict_cell()
        ));
    }
    for f in &file.failures {
        out.push_str(&format!("{:<width$} {:<16} {:>12}  failed: {}\n", f.arm, f.name, "-", f.reason));
    }
    for f in &file.not_applicable {
        out.push_str(&format!("{:<width$} {:<16} {:>12}  not applicable: {}\n", f.arm, f.name, "-", f.reason));
    }
    out
}

/// Renders events: bars on a terminal, lines otherwise.
pub struct Printer {
    bars: Option<(MultiProgress, HashMap<String, ProgressBar>)>,
    epochs: HashMap<String, (usize, usize)>,
    /// The running attacks' bars by (arm, attack) (terminal only): an arm's attacks run side by side.
    attack_bars: HashMap<(String, String), ProgressBar>,
}

impl Printer {
    pub fn new(terminal: bool) -> Self {
        Printer {
            bars: terminal.then(|| (MultiProgress::new(), HashMap::new())),
            epochs: HashMap::new(),
            attack_bars: HashMap::new(),
        }
    }

    fn line(&self, text: String) {
        match &self.bars {
            Some((multi, _)) => {
                let _ = multi.println(text);
            }
            None => println!("{text}"),
        }
    }

    pub fn show(&mut self, event: &Event) {
        match event {
            Event::Stage(s) => self.line(format!("== {s}")),
            Event::Log(s) => self.line(s.clone()),
            Event::TrainStarted { arm, epochs, steps_per_epoch, samples } => {
                self.epochs.insert(arm.clone(), (*epochs, *steps_per_epoch));
                if let Some((multi, bars)) = &mut self.bars {
                    let bar = multi.add(ProgressBar::new((epochs * steps_per_epoch) as u64));
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{prefix:>12} [{bar:30.cyan/blue}] {pos}/{len} steps {msg} ({eta})",
                        )
                        .expect("valid template")
                        .progress_chars("=> "),
                    );
                    bar.set_prefix(arm.clone());
                    bars.insert(arm.clone(), bar);
                } else {
                    println!("[{arm}] training: {epochs} epochs x {steps_per_epoch} steps, {samples} samples");
                }
            }
            Event::Metric(row) => {
                let (epochs, steps) = self.epochs.get(&row.arm).copied().unwrap_or((0, 0));
                let text = if row.split == MetricSplit::Test {
                    format!(
                        "[{}] epoch {}/{} test accuracy {:.2}% (loss {:.4}), {:.0} samples/s",
                        row.arm,
                        row.epoch,
                        epochs,
                        100.0 * row.accuracy,
                        row.loss,
                        row.samples_per_s
                    )
                } else {
                    format!(
                        "[{}] epoch {}/{} step {}/{} loss {:.4} train acc {:.2}% {:.0} samples/s",
                        row.arm,
                        row.epoch,
                        epochs,
                        row.step,
                        epochs * steps,
                        row.loss,
                        100.0 * row.accuracy,
                        row.samples_per_s
                    )
                };
                match &self.bars {
                    Some((multi, bars)) => {
                        if let Some(bar) = bars.get(&row.arm) {
                            bar.set_position(row.step as u64);
                            bar.set_message(format!("loss {:.3} acc {:.1}%", row.loss, 100.0 * row.accuracy));
                        }
                        if row.split == MetricSplit::Test {
                            let _ = multi.println(text);
                        }
                    }
                    None => println!("{text}"),
                }
            }
            Event::TrainFinished { arm, summary } => {
                if let Some((_, bars)) = &self.bars {
                    if let Some(bar) = bars.get(arm) {
                        bar.finish_with_message(format!("done: test acc {:.2}%", 100.0 * summary.test_accuracy));
                    }
                }
                self.line(format!(
                    "[{}] finished: test accuracy {:.2}%, {:.2} s, {:.0} samples/s",
                    arm,
                    100.0 * summary.test_accuracy,
                    summary.train_seconds,
                    summary.samples_per_second
                ));
            }
            Event::TrainStopped { arm, summary } => {
                if let Some((_, bars)) = &self.bars {
                    if let Some(bar) = bars.get(arm) {
                        bar.abandon_with_message("stopped");
                    }
                }
                self.line(format!("[{}] stopped after {} epochs", arm, summary.epochs_completed));
            }
            Event::TrainFailed { arm, reason } => {
                if let Some((_, bars)) = &self.bars {
                    if let Some(bar) = bars.get(arm) {
                        bar.abandon_with_message("failed");
                    }
                }
                self.line(format!("[{arm}] FAILED: {reason}"));
            }
            Event::AttackStarted { arm, name } => {
                if let Some((multi, _)) = &self.bars {
                    let bar = multi.add(ProgressBar::new(1));
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{prefix:>24} [{bar:30.yellow/blue}] {pos}/{len} {msg} ({elapsed})",
                        )
                        .expect("valid template")
                        .progress_chars("=> "),
                    );
                    bar.set_prefix(format!("{name} on {arm}"));
                    self.attack_bars.insert((arm.clone(), name.clone()), bar);
                } else {
                    println!("[attack {name} on {arm}] started");
                }
            }
            Event::AttackProgress { arm, name, done, total } => {
                match self.attack_bars.get(&(arm.clone(), name.clone())) {
                    Some(bar) => {
                        bar.set_length(*total as u64);
                        bar.set_position(*done as u64);
                    }
                    None => println!("[attack {name} on {arm}] {done}/{total}"),
                }
            }
            Event::AttackFinished { record } => {
                if let Some(bar) = self.attack_bars.remove(&(record.arm.clone(), record.name.clone())) {
                    bar.finish_and_clear();
                }
                let h = &record.headline;
                let value = match h.unit.as_str() {
                    "fraction" => format!("{:.2}%", 100.0 * h.value),
                    "points" => format!("{:+.2} points", 100.0 * h.value),
                    unit => format!("{:.2} {unit}", h.value),
                };
                self.line(format!(
                    "[attack {} on {}] {}: {} ({:.1} s): {}{}",
                    record.name,
                    record.arm,
                    h.metric,
                    value,
                    record.seconds,
                    record.verdict_cell(),
                    if record.complete { "" } else { " (stopped early)" }
                ));
                self.line(format!("    {}", record.verdict));
            }
            Event::AttackFailed { arm, name, reason } => {
                if let Some(bar) = self.attack_bars.remove(&(arm.clone(), name.clone())) {
                    bar.abandon_with_message("failed");
                }
                self.line(format!("[attack {name} on {arm}] FAILED: {reason}"));
            }
        }
    }

    pub fn finish(&mut self) {
        if let Some((multi, _)) = &self.bars {
            let _ = multi.clear();
        }
    }
}
