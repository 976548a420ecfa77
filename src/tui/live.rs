//! State of the run being watched: every arm's progress, curves, status and log, updated from the
//! same [`Event`]s the headless printer reads.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;

use crate::attacks::Event;
use crate::config::ArmConfig;
use crate::train::{ArmSummary, Control, MetricRow, MetricSplit};

use super::analysis::RunningAttacks;
use super::arms::Arms;
use super::curves::Curves;

/// Log lines kept for the live view.
pub const LOG_LINES: usize = 200;

/// The run as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Paused,
    /// A graceful stop was requested; trainers finish their current step and the folder is written.
    Stopping,
    Done,
    Stopped,
    Failed,
}

impl RunStatus {
    pub fn label(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Paused => "paused",
            RunStatus::Stopping => "stopping",
            RunStatus::Done => "done",
            RunStatus::Stopped => "stopped",
            RunStatus::Failed => "failed",
        }
    }

    /// Still has a worker thread behind it.
    pub fn is_active(self) -> bool {
        matches!(self, RunStatus::Running | RunStatus::Paused | RunStatus::Stopping)
    }
}

/// How the worker thread ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEnd {
    Finished,
    /// Stopped on request; partial results were written.
    Stopped,
    Failed(String),
}

/// One arm's progress.
#[derive(Debug, Clone, PartialEq)]
pub enum ArmState {
    Waiting,
    Training,
    Finished,
    Stopped,
    Failed(String),
}

impl ArmState {
    pub fn label(&self) -> &str {
        match self {
            ArmState::Waiting => "waiting",
            ArmState::Training => "training",
            ArmState::Finished => "done",
            ArmState::Stopped => "stopped",
            ArmState::Failed(_) => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ArmLive {
    pub name: String,
    pub state: ArmState,
    pub epochs: usize,
    pub steps_per_epoch: usize,
    pub samples: usize,
    /// Global step and epoch of the latest row.
    pub step: usize,
    pub epoch: usize,
    /// Training seconds so far (from the latest row).
    pub wall_s: f64,
    pub last_train: Option<MetricRow>,
    pub last_test: Option<MetricRow>,
    pub summary: Option<ArmSummary>,
}

impl ArmLive {
    pub fn new(name: &str) -> Self {
        ArmLive {
            name: name.to_string(),
            state: ArmState::Waiting,
            epochs: 0,
            steps_per_epoch: 0,
            samples: 0,
            step: 0,
            epoch: 0,
            wall_s: 0.0,
            last_train: None,
            last_test: None,
            summary: None,
        }
    }

    pub fn total_steps(&self) -> usize {
        self.epochs * self.steps_per_epoch
    }

    /// Fraction of the arm's steps done, 0..=1.
    pub fn progress(&self) -> f64 {
        match self.state {
            ArmState::Finished => 1.0,
            _ if self.total_steps() == 0 => 0.0,
            _ => (self.step as f64 / self.total_steps() as f64).clamp(0.0, 1.0),
        }
    }

    /// Seconds left at the speed so far (training time only).
    pub fn eta_s(&self) -> Option<f64> {
        if self.state != ArmState::Training || self.step == 0 || self.wall_s <= 0.0 {
            return None;
        }
        let left = self.total_steps().saturating_sub(self.step) as f64;
        Some(self.wall_s / self.step as f64 * left)
    }

    /// Latest test accuracy (end of an epoch), else the final summary's.
    pub fn test_accuracy(&self) -> Option<f64> {
        self.last_test.as_ref().map(|r| r.accuracy).or(self.summary.as_ref().map(|s| s.test_accuracy))
    }

    /// The arm's overall speed once it ended, else the latest row's.
    pub fn samples_per_s(&self) -> Option<f64> {
        let latest = || self.last_train.as_ref().or(self.last_test.as_ref()).map(|r| r.samples_per_s);
        self.summary.as_ref().map(|s| s.samples_per_second).or_else(latest).filter(|v| *v > 0.0)
    }
}

/// The run shown by the live view.
#[derive(Debug, Clone)]
pub struct LiveRun {
    pub name: String,
    pub dir: PathBuf,
    /// The run's arms in config order, with their colours.
    pub legend: Arms,
    pub status: RunStatus,
    pub stage: String,
    /// The attacks under way (the stage names them).
    attacks_running: RunningAttacks,
    /// Each arm's progress, in config order.
    pub arms: Vec<ArmLive>,
    pub curves: Curves,
    pub log: VecDeque<String>,
    pub error: Option<String>,
    pub control: Arc<Control>,
    /// The config asks for attacks after training.
    pub attacks_enabled: bool,
    /// The run failed before its folder was created (`dir` does not exist).
    pub folder_missing: bool,
    /// How many log lines the Log pane is scrolled back from the newest; 0 follows the end.
    pub log_back: usize,
}

impl LiveRun {
    /// A run of the arms `arms` (as `Config::arms` resolves them) that is starting.
    pub fn new(name: String, dir: PathBuf, arms: &[ArmConfig], control: Arc<Control>) -> LiveRun {
        LiveRun {
            name,
            dir,
            legend: Arms::from_config(arms),
            status: RunStatus::Running,
            stage: "starting".into(),
            attacks_running: RunningAttacks::default(),
            arms: arms.iter().map(|a| ArmLive::new(&a.name)).collect(),
            curves: Curves::default(),
            log: VecDeque::new(),
            error: None,
            control,
            attacks_enabled: false,
            folder_missing: false,
            log_back: 0,
        }
    }

    pub fn arm(&self, name: &str) -> Option<&ArmLive> {
        self.arms.iter().find(|a| a.name == name)
    }

    /// The arm's state; an arm the config did not list (events of another run) is added at the end.
    fn arm_mut(&mut self, name: &str) -> &mut ArmLive {
        let i = match self.arms.iter().position(|a| a.name == name) {
            Some(i) => i,
            None => {
                self.arms.push(ArmLive::new(name));
                self.arms.len() - 1
            }
        };
        &mut self.arms[i]
    }

    /// How far the run is, in a few characters: the share of training steps done, or once every arm
    /// has ended training while the run goes on, what it is doing instead (not a misleading 100%).
    pub fn progress_label(&self) -> String {
        let ended = |a: &ArmLive| matches!(a.state, ArmState::Finished | ArmState::Stopped | ArmState::Failed(_));
        if self.status.is_active() && !self.arms.is_empty() && self.arms.iter().all(ended) {
            let doing = if self.stage.starts_with("attack") {
                "attacks"
            } else if self.stage.contains("overhead") {
                "overhead"
            } else if self.stage.starts_with("figures") {
                "figures"
            } else {
                "finishing"
            };
            return format!("training done, {doing}");
        }
        let p = self.arms.iter().map(|a| a.progress()).sum::<f64>() / self.arms.len().max(1) as f64;
        format!("{:.0}%", 100.0 * p)
    }

    /// Epochs of the longest arm (the charts' x range while training).
    pub fn max_epochs(&self) -> usize {
        self.arms.iter().map(|a| a.epochs).max().unwrap_or(0)
    }

    pub fn log_line(&mut self, line: impl Into<String>) {
        if self.log.len() == LOG_LINES {
            self.log.pop_front();
        }
        self.log.push_back(line.into());
        // Scrolled back: the lines shown stay put while new ones arrive below them.
        if self.log_back > 0 {
            self.log_back = (self.log_back + 1).min(self.log.len().saturating_sub(1));
        }
    }

    /// Scroll the Log pane `lines` back (positive) or forward (negative); 0 back follows the end.
    pub fn scroll_log(&mut self, lines: isize) {
        let max = self.log.len().saturating_sub(1) as isize;
        self.log_back = (self.log_back as isize + lines).clamp(0, max) as usize;
    }

    /// Fold one event into the state.
    pub fn apply(&mut self, event: Event) {
        match event {
            Event::Stage(s) => {
                self.log_line(format!("== {s}"));
                self.stage = s;
                if self.status == RunStatus::Paused && !self.stage_pausable() {
                    self.control.set_paused(false);
                    self.status = RunStatus::Running;
                    self.log_line(format!("{} cannot be paused: resumed", self.stage));
                }
            }
            Event::Log(s) => self.log_line(s),
            Event::TrainStarted { arm, epochs, steps_per_epoch, samples } => {
                let a = self.arm_mut(&arm);
                a.state = ArmState::Training;
                a.epochs = epochs;
                a.steps_per_epoch = steps_per_epoch;
                a.samples = samples;
                self.log_line(format!("[{arm}] {epochs} epochs x {steps_per_epoch} steps, {samples} samples"));
            }
            Event::Metric(row) => self.apply_metric(row),
            Event::TrainFinished { arm, summary } => {
                let paused = if summary.paused_seconds > 0.0 {
                    format!(" (paused {:.1} s, left out of its timings)", summary.paused_seconds)
                } else {
                    String::new()
                };
                self.log_line(format!("[{arm}] done: test {:.2}%{paused}", 100.0 * summary.test_accuracy));
                let a = self.arm_mut(&arm);
                a.state = ArmState::Finished;
                a.summary = Some(summary);
            }
            Event::TrainStopped { arm, summary } => {
                self.log_line(format!("[{arm}] stopped after {} epochs", summary.epochs_completed));
                let a = self.arm_mut(&arm);
                a.state = ArmState::Stopped;
                a.summary = Some(summary);
            }
            Event::TrainFailed { arm, reason } => {
                self.log_line(format!("[{arm}] FAILED: {reason}"));
                self.arm_mut(&arm).state = ArmState::Failed(reason);
            }
            Event::AttackStarted { arm, name } => {
                self.attacks_running.started(&arm, &name);
                self.stage = self.attack_stage(&arm);
                self.log_line(format!("[{arm}] attack {name} started"));
            }
            Event::AttackProgress { arm, name, done, total } => {
                self.attacks_running.progress(&arm, &name, done, total);
                self.stage = self.attack_stage(&arm);
            }
            Event::AttackFinished { record } => {
                self.attack_ended(&record.arm, &record.name);
                let h = &record.headline;
                let value = crate::tui::analysis::format_with_unit(&h.metric, &h.unit, h.value);
                self.log_line(format!(
                    "[{}] attack {}: {}: {value}: {}",
                    record.arm,
                    record.name,
                    h.metric,
                    record.verdict_cell()
                ));
            }
            Event::AttackFailed { arm, name, reason } => {
                self.attack_ended(&arm, &name);
                self.log_line(format!("[{arm}] attack {name} FAILED: {reason}"))
            }
            // Events added later (e.g. overhead) that this state does not fold yet.
            #[allow(unreachable_patterns)]
            other => self.log_line(format!("event: {other:?}")),
        }
    }

    fn apply_metric(&mut self, row: MetricRow) {
        let spe = self.arm_mut(&row.arm).steps_per_epoch;
        self.curves.push(&row, (spe > 0).then_some(spe));
        if row.split == MetricSplit::Test {
            self.log_line(format!(
                "[{}] ep{} test {:.2}% loss {:.3}",
                row.arm,
                row.epoch,
                100.0 * row.accuracy,
                row.loss
            ));
        }
        let a = self.arm_mut(&row.arm);
        a.step = a.step.max(row.step);
        a.epoch = row.epoch;
        a.wall_s = row.wall_s;
        if row.split == MetricSplit::Test {
            a.last_test = Some(row);
        } else {
            a.last_train = Some(row);
        }
    }

    /// The worker thread ended.
    pub fn finish(&mut self, end: RunEnd) {
        match end {
            RunEnd::Finished => {
                self.status = RunStatus::Done;
                self.stage = "done".into();
                self.log_line(format!("run folder: {}", self.dir.display()));
            }
            RunEnd::Stopped => {
                self.status = RunStatus::Stopped;
                self.stage = "stopped".into();
                self.log_line(format!("stopped: finished epochs kept in {}", self.dir.display()));
            }
            RunEnd::Failed(e) => {
                self.status = RunStatus::Failed;
                self.stage = "failed".into();
                // Runs fail before their folder exists (bad data path, invalid key): do not point at it.
                self.folder_missing = !self.dir.exists();
                self.log_line(format!("error: {e}"));
                self.error = Some(e);
            }
        }
        self.control.set_paused(false);
    }

    /// The stage while attacks on `arm` run: "attack statistical 2/4, fine-tune on private".
    fn attack_stage(&self, arm: &str) -> String {
        format!("attack {} on {arm}", self.attacks_running.text())
    }

    /// An attack finished or failed: the stage names those still running (the last one's stays until
    /// the next stage).
    fn attack_ended(&mut self, arm: &str, name: &str) {
        self.attacks_running.ended(arm, name);
        if !self.attacks_running.is_empty() {
            self.stage = self.attack_stage(arm);
        }
    }

    /// Whether the current stage waits on a pause: training (between steps) and attacks (between
    /// attacks and between their training steps) do; the overhead measurement and the figures do not.
    pub fn stage_pausable(&self) -> bool {
        !(self.stage.contains("overhead") || self.stage.starts_with("figures"))
    }

    /// Pause or resume the trainers and attacks (they poll between steps). Err says why the current
    /// stage cannot be paused.
    pub fn toggle_pause(&mut self) -> Result<(), String> {
        match self.status {
            RunStatus::Running if !self.stage_pausable() => {
                Err(format!("{} cannot be paused; training and attacks can", self.stage))
            }
            RunStatus::Running => {
                self.control.set_paused(true);
                self.status = RunStatus::Paused;
                Ok(())
            }
            RunStatus::Paused => {
                self.control.set_paused(false);
                self.status = RunStatus::Running;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Ask the trainers to stop after their current step; finished epochs are written.
    pub fn request_stop(&mut self) {
        if self.status.is_active() {
            self.control.request_stop();
            self.control.set_paused(false);
            self.status = RunStatus::Stopping;
        }
    }
}
