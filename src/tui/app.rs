//! The workbench's state and how keys and run events change it. No terminal and no threads here:
//! things that must happen outside (start a run, export figures, quit) come back as [`Command`]s.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::attacks::Event;
use crate::config::Config;
use crate::train::Control;

use super::actions::{self, Compare, ConfigEntry, RunDetail, RunEntry};
use super::analysis::{AttackRow, Attacks, Availability, Overhead};
use super::arms::Arms;
use super::event::{AppEvent, Command, RunRequest};
use super::form::{Form, FormAction};
use super::live::{LiveRun, RunEnd, RunStatus};
use super::queue::{self, Queue, QueuePane};
use super::runs_table::{self, Column, TableRow, TableView};
use super::tradeoff::Tradeoff;
use crate::results::notes::RunNotes;

/// The top-level views, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Experiments,
    Live,
    Attacks,
    Overhead,
    Runs,
    Queue,
}

impl View {
    pub const ALL: [View; 6] = [View::Experiments, View::Live, View::Attacks, View::Overhead, View::Runs, View::Queue];

    pub fn title(self) -> &'static str {
        match self {
            View::Experiments => "Experiments",
            View::Live => "Live",
            View::Attacks => "Attacks",
            View::Overhead => "Overhead",
            View::Runs => "Runs",
            View::Queue => "Queue",
        }
    }

    pub fn index(self) -> usize {
        View::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }

    fn step(self, delta: isize) -> View {
        let n = View::ALL.len() as isize;
        View::ALL[(self.index() as isize + delta).rem_euclid(n) as usize]
    }
}

/// A window drawn over the current view.
#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    Help {
        scroll: u16,
    },
    /// "A run is active: stop gracefully / kill / cancel".
    Quit,
    /// Ask for a file name to save the edited config under.
    SaveAs {
        input: String,
        error: Option<String>,
    },
    /// Edit a run's note (or, `tags`, its tags) in its notes.json.
    RunNotes {
        dir: PathBuf,
        tags: bool,
        input: String,
        error: Option<String>,
    },
}

/// What the runs view shows.
#[derive(Debug, Clone, PartialEq)]
pub enum RunsMode {
    List,
    Detail(Box<RunDetail>),
    Compare(Box<Compare>),
    Tradeoff(Box<Tradeoff>),
}

/// A message in the footer until the next key.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub text: String,
    pub error: bool,
}

pub struct App {
    pub view: View,
    pub overlay: Option<Overlay>,
    pub message: Option<Message>,
    pub configs_dir: PathBuf,
    pub configs: Vec<ConfigEntry>,
    pub config_selected: usize,
    pub form: Option<Form>,
    pub live: Option<LiveRun>,
    /// Quit once the run being stopped has written its folder.
    pub quit_after_stop: bool,
    pub runs: Vec<RunEntry>,
    pub run_selected: usize,
    /// The runs marked for comparison, by folder, in the order marked (rows shift when runs are added
    /// or reloaded; a folder is its identity).
    pub run_marked: Vec<PathBuf>,
    pub runs_mode: RunsMode,
    /// The runs table's sort, filter and open sweep groups.
    pub runs_table: TableView,
    /// Which run the attacks and overhead views show ("live: NAME" or a run folder name).
    pub analysis_source: Option<String>,
    /// The attacks and overhead views follow the live run (its events update them).
    pub analysis_is_live: bool,
    /// The arms of the run the attacks and overhead views show (their names and colours).
    pub analysis_arms: Arms,
    /// The arm whose attacks and overhead are shown (←/→ in those views); None: the first.
    pub analysis_arm: Option<String>,
    pub attacks: Attacks,
    /// The selected row among the shown arm's attacks.
    pub attack_selected: usize,
    pub overhead: Overhead,
    /// Folders scanned for runs besides the configs' `output.dir`s.
    pub extra_results_dirs: Vec<PathBuf>,
    /// Runs waiting, running and ended this session (one active at a time).
    pub queue: Queue,
    pub queue_pane: QueuePane,
}

/// The config selected when the workbench opens: the embedded-data quickstart.
pub const DEFAULT_CONFIG: &str = "quickstart.toml";

impl App {
    /// An empty workbench over `configs_dir` (nothing read yet: see [`App::reload_configs`]).
    pub fn new(configs_dir: PathBuf) -> App {
        App {
            view: View::Experiments,
            overlay: None,
            message: None,
            configs_dir,
            configs: vec![],
            config_selected: 0,
            form: None,
            live: None,
            quit_after_stop: false,
            runs: vec![],
            run_selected: 0,
            run_marked: Vec::new(),
            runs_mode: RunsMode::List,
            runs_table: TableView::default(),
            analysis_source: None,
            analysis_is_live: false,
            analysis_arms: Arms::default(),
            analysis_arm: None,
            attacks: Attacks::default(),
            attack_selected: 0,
            overhead: Overhead::default(),
            extra_results_dirs: vec![PathBuf::from("results")],
            queue: Queue::default(),
            queue_pane: QueuePane::default(),
        }
    }

    /// Read the configs folder and the run folders.
    pub fn load(configs_dir: PathBuf) -> App {
        let mut app = App::new(configs_dir);
        app.reload_configs();
        // Start on the config that needs no download, where there is one.
        if let Some(i) = app.configs.iter().position(|e| e.rel == DEFAULT_CONFIG) {
            app.config_selected = i;
        }
        app.reload_runs();
        app
    }

    pub fn reload_configs(&mut self) {
        self.configs = actions::scan_configs(&self.configs_dir);
        self.config_selected = self.config_selected.min(self.configs.len().saturating_sub(1));
        self.queue_pane.sweep_files = actions::scan_sweep_files(&self.configs_dir);
        let n = self.queue_pane.sweep_files.len();
        self.queue_pane.sweep_selected = self.queue_pane.sweep_selected.min(n.saturating_sub(1));
    }

    /// Where runs live: `results/` and every config's `output.dir`.
    pub fn results_dirs(&self) -> Vec<PathBuf> {
        let canonical = |d: &PathBuf| std::fs::canonicalize(d).unwrap_or_else(|_| d.clone());
        let mut dirs: Vec<PathBuf> = Vec::new();
        let configured = self.configs.iter().filter_map(|e| e.config.as_ref().ok()).map(|c| &c.output.dir);
        for d in self.extra_results_dirs.iter().chain(configured) {
            if !dirs.iter().any(|x| x == d || canonical(x) == canonical(d)) {
                dirs.push(d.clone());
            }
        }
        dirs
    }

    pub fn reload_runs(&mut self) {
        self.runs = actions::scan_runs(&self.results_dirs());
        self.clamp_run_selected();
        // A marked run whose folder is gone is unmarked, never moved onto another run.
        let runs = &self.runs;
        self.run_marked.retain(|m| runs.iter().any(|r| r.dir == *m));
    }

    /// The rows the runs table shows (sorted, filtered, sweeps grouped); `run_selected` indexes them.
    pub fn runs_rows(&self) -> Vec<TableRow> {
        self.runs_table.rows(&self.runs)
    }

    /// The run on the selected row (None on a sweep's group row).
    pub fn selected_run(&self) -> Option<&RunEntry> {
        match self.runs_rows().get(self.run_selected)? {
            TableRow::Run { index, .. } => self.runs.get(*index),
            TableRow::Group { .. } => None,
        }
    }

    fn clamp_run_selected(&mut self) {
        self.run_selected = self.run_selected.min(self.runs_rows().len().saturating_sub(1));
    }

    pub fn selected_config(&self) -> Option<&ConfigEntry> {
        self.configs.get(self.config_selected)
    }

    pub fn run_active(&self) -> bool {
        self.live.as_ref().is_some_and(|l| l.status.is_active())
    }

    fn info(&mut self, text: impl Into<String>) {
        self.message = Some(Message { text: text.into(), error: false });
    }

    fn error(&mut self, text: impl Into<String>) {
        self.message = Some(Message { text: text.into(), error: true });
    }

    /// One event from the channel. Returns what the loop must do, if anything.
    pub fn update(&mut self, event: AppEvent) -> Option<Command> {
        match event {
            AppEvent::Tick | AppEvent::Resize => None,
            AppEvent::Key(k) => self.handle_key(k),
            AppEvent::Run(e) => {
                self.handle_event(e);
                None
            }
            AppEvent::RunDone(end) => self.handle_run_done(end),
            AppEvent::FiguresDone(Ok(m)) => {
                self.info(m);
                None
            }
            AppEvent::FiguresDone(Err(e)) => {
                self.error(e);
                None
            }
        }
    }

    /// An event of the running experiment.
    pub fn handle_event(&mut self, event: Event) {
        if self.analysis_is_live {
            self.follow_attacks(&event);
        }
        if let Some(live) = &mut self.live {
            live.apply(event);
        }
    }

    /// Attack results appear as each attack finishes, under the arm attacked.
    fn follow_attacks(&mut self, event: &Event) {
        match event {
            Event::AttackStarted { arm, name } => {
                self.attacks.started(arm, name);
                if self.analysis_arm.is_none() {
                    self.analysis_arm = Some(arm.clone());
                }
            }
            Event::AttackProgress { arm, name, done, total } => self.attacks.running.progress(arm, name, *done, *total),
            Event::AttackFinished { record } => self.attacks.upsert(AttackRow::from(record.as_ref())),
            Event::AttackFailed { arm, name, reason } => self.attacks.upsert(AttackRow::failed(arm, name, reason)),
            _ => {}
        }
    }

    /// The experiment's worker ended: show the outcome, pick up its analyses, list the new run.
    pub fn handle_run_done(&mut self, end: RunEnd) -> Option<Command> {
        let Some(live) = &mut self.live else {
            return None;
        };
        let was_stopping = live.status == RunStatus::Stopping;
        let accuracy = queue::live_accuracy(live);
        live.finish(end.clone());
        let (dir, name, attacks_enabled) = (live.dir.clone(), live.name.clone(), live.attacks_enabled);
        if was_stopping {
            // "stopping after the current step" is over: say how the run ended (finish logged it).
            let failed = live.status == RunStatus::Failed;
            let text = live.log.back().cloned().unwrap_or_default();
            self.message = Some(Message { text, error: failed });
        }
        if self.analysis_is_live {
            // The run folder now holds every result (attacks.json written atomically at the end).
            self.show_analyses(format!("live: {name}"), &dir);
            if !attacks_enabled && self.attacks.status == Availability::NotRun {
                self.attacks.status = Availability::NotEnabled;
            }
        }
        let mut commands = self.queue_run_ended(&end, accuracy);
        self.reload_runs();
        if self.quit_after_stop {
            // Quitting: the runs still queued are not started (a sweep folder stays resumable).
            return Some(Command::Quit);
        }
        if let Some(next) = self.start_next(false) {
            let left = self.queue.pending();
            let status = self.live.as_ref().map(|l| l.name.clone()).unwrap_or_default();
            self.info(format!("{name} {}; started {status} ({left} more queued)", end_word(&end)));
            commands.push(next);
        }
        match commands.len() {
            0 => None,
            1 => commands.pop(),
            _ => Some(Command::Batch(commands)),
        }
    }

    /// The queue's active run ended: record how; a sweep's table is rewritten from its finished runs,
    /// and once its last run ended its figures are rendered (as at the end of `ppdl sweep`).
    fn queue_run_ended(&mut self, end: &RunEnd, accuracy: Vec<(String, f64)>) -> Vec<Command> {
        let Some(index) = self.queue.end_active(end, accuracy).and_then(|e| e.sweep) else { return vec![] };
        let sweep = self.queue.sweeps[index].clone();
        if let Err(e) = crate::sweep::collect_table(&sweep.root) {
            self.error(format!("sweep {}: {e:#}", sweep.name));
        }
        if self.queue.sweep_ended(index) && sweep.figures {
            return vec![Command::ExportFigures(sweep.root)];
        }
        vec![]
    }

    fn queue_key(&mut self, key: KeyEvent) -> Option<Command> {
        let on_sweeps = self.queue_on_sweeps();
        let pane = &mut self.queue_pane;
        let (n_entries, n_files) = (self.queue.entries.len(), pane.sweep_files.len());
        let step = |at: &mut usize, n: usize, down: bool| {
            *at = if down { (*at + 1).min(n.saturating_sub(1)) } else { at.saturating_sub(1) }
        };
        match key.code {
            KeyCode::Left | KeyCode::Char('h') => pane.focus_sweeps = true,
            KeyCode::Right | KeyCode::Char('l') => pane.focus_sweeps = false,
            KeyCode::Up | KeyCode::Char('k') if on_sweeps => step(&mut pane.sweep_selected, n_files, false),
            KeyCode::Down | KeyCode::Char('j') if on_sweeps => step(&mut pane.sweep_selected, n_files, true),
            KeyCode::Up | KeyCode::Char('k') => step(&mut pane.selected, n_entries, false),
            KeyCode::Down | KeyCode::Char('j') => step(&mut pane.selected, n_entries, true),
            KeyCode::Enter if on_sweeps => {
                // The sweep list keeps the focus (with the queue no longer empty).
                pane.focus_sweeps = true;
                let file = pane.sweep_files.get(pane.sweep_selected).map(|f| self.configs_dir.join(f));
                return file.and_then(|f| self.queue_sweep(&f));
            }
            KeyCode::Char('d') | KeyCode::Delete if !on_sweeps => match self.queue.remove(pane.selected) {
                Ok(e) => {
                    pane.selected = pane.selected.min(self.queue.entries.len().saturating_sub(1));
                    self.info(format!("removed {} from the queue", e.name()));
                }
                Err(why) => self.error(why),
            },
            KeyCode::Char('D') => {
                let n = self.queue.remove_pending();
                pane.selected = pane.selected.min(self.queue.entries.len().saturating_sub(1));
                self.info(format!("removed {n} pending {}", if n == 1 { "run" } else { "runs" }));
            }
            KeyCode::Char(c @ ('[' | ']')) if !on_sweeps => {
                match self.queue.move_pending(pane.selected, if c == '[' { -1 } else { 1 }) {
                    Ok(at) => pane.selected = at,
                    Err(why) => self.error(why),
                }
            }
            KeyCode::Char('r') => {
                self.reload_configs();
                let n = self.queue_pane.sweep_files.len();
                self.info(format!("{n} sweep files in {}", self.configs_dir.join("sweeps").display()));
            }
            _ => {}
        }
        None
    }

    /// The Queue view's keys go to the sweep files list (else to the queue); with an empty queue, always.
    pub fn queue_on_sweeps(&self) -> bool {
        self.queue_pane.focus_sweeps || self.queue.entries.is_empty()
    }

    /// The queued sweep the progress grid shows: the selected entry's, else the active one's, else the
    /// last queued.
    pub fn shown_sweep(&self) -> Option<usize> {
        let selected = self.queue.entries.get(self.queue_pane.selected).and_then(|e| e.sweep);
        selected
            .or_else(|| self.queue.active().and_then(|e| e.sweep))
            .or_else(|| self.queue.sweeps.len().checked_sub(1))
    }

    /// Point the attacks and overhead views at a run folder.
    pub fn show_analyses(&mut self, source: String, dir: &Path) {
        self.analysis_source = Some(source);
        self.analysis_is_live = false;
        self.attacks = Attacks::load(&dir.join("attacks.json"));
        self.overhead = Overhead::load(&dir.join("overhead.json"));
        // The arms' colours as the run's summary lists them; without one, as the results name them.
        self.analysis_arms = match crate::results::Summary::load(&dir.join("summary.json")) {
            Ok(s) => Arms::from_summary(&s),
            Err(_) => {
                let names: Vec<String> = self.attacks.arms().into_iter().chain(self.overhead.arm_names()).collect();
                Arms::from_names(names.iter().map(String::as_str))
            }
        };
        if self.analysis_arm.as_ref().is_none_or(|a| self.analysis_arms.get(a).is_none()) {
            self.analysis_arm = None;
        }
        self.attack_selected = 0;
    }

    /// The arms the attacks view can show, and the one it shows.
    pub fn attack_arm(&self) -> Option<String> {
        shown_arm(&self.attacks.arms(), self.analysis_arm.as_deref())
    }

    /// The arm the overhead view shows.
    pub fn overhead_arm(&self) -> Option<String> {
        shown_arm(&self.overhead.arm_names(), self.analysis_arm.as_deref())
    }

    /// ←/→: show the next (or previous) of `arms`.
    fn switch_analysis_arm(&mut self, arms: &[String], shown: Option<String>, dir: isize) {
        let Some(at) = shown.and_then(|s| arms.iter().position(|a| *a == s)) else { return };
        let next = (at as isize + dir).rem_euclid(arms.len() as isize) as usize;
        self.analysis_arm = Some(arms[next].clone());
        self.attack_selected = 0;
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Option<Command> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return self.ctrl_c();
        }
        if self.overlay.is_some() {
            return self.overlay_key(key);
        }
        self.message = None;
        if self.form_takes(key) {
            return self.form_key(key);
        }
        if self.view == View::Runs && matches!(self.runs_mode, RunsMode::List) && self.runs_table.editing_filter {
            self.filter_key(key);
            return None;
        }
        match key.code {
            KeyCode::Char('?') => {
                self.overlay = Some(Overlay::Help { scroll: 0 });
                None
            }
            KeyCode::Char('q') => self.ask_quit(),
            KeyCode::Tab => {
                self.view = self.view.step(1);
                None
            }
            KeyCode::BackTab => {
                self.view = self.view.step(-1);
                None
            }
            KeyCode::Char(c @ '1'..='6') => {
                self.view = View::ALL[(c as u8 - b'1') as usize];
                None
            }
            _ => self.view_key(key),
        }
    }

    /// In the form every key but the global ones goes to it; digits go to it too.
    fn form_takes(&self, key: KeyEvent) -> bool {
        if self.view != View::Experiments || self.form.is_none() {
            return false;
        }
        !matches!(key.code, KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::Tab | KeyCode::BackTab)
    }

    fn ctrl_c(&mut self) -> Option<Command> {
        match self.overlay {
            Some(Overlay::Quit) => Some(Command::Quit),
            _ if self.run_active() => {
                self.overlay = Some(Overlay::Quit);
                None
            }
            _ => Some(Command::Quit),
        }
    }

    fn ask_quit(&mut self) -> Option<Command> {
        if self.run_active() {
            self.overlay = Some(Overlay::Quit);
            None
        } else {
            Some(Command::Quit)
        }
    }

    fn overlay_key(&mut self, key: KeyEvent) -> Option<Command> {
        match self.overlay.as_mut()? {
            Overlay::Help { scroll } => match key.code {
                KeyCode::Up | KeyCode::Char('k') => *scroll = scroll.saturating_sub(1),
                KeyCode::Down | KeyCode::Char('j') => *scroll = scroll.saturating_add(1),
                _ => self.overlay = None,
            },
            Overlay::Quit => match key.code {
                KeyCode::Char('s') | KeyCode::Char('S') => {
                    self.overlay = None;
                    self.quit_after_stop = true;
                    if let Some(l) = &mut self.live {
                        l.request_stop();
                    }
                    if !self.run_active() {
                        return Some(Command::Quit);
                    }
                    self.info("stopping after the current step; quitting once the run folder is written");
                }
                KeyCode::Char('k') | KeyCode::Char('K') => return Some(Command::Quit),
                KeyCode::Char('c') | KeyCode::Char('C') | KeyCode::Esc | KeyCode::Char('q') => self.overlay = None,
                _ => {}
            },
            Overlay::SaveAs { .. } => return self.save_as_key(key),
            Overlay::RunNotes { .. } => self.run_notes_key(key),
        }
        None
    }

    /// A key while the note or tags of a run are edited: Enter writes notes.json, Esc leaves it.
    fn run_notes_key(&mut self, key: KeyEvent) {
        let Some(Overlay::RunNotes { dir, tags, input, error }) = &mut self.overlay else { return };
        match key.code {
            KeyCode::Esc => self.overlay = None,
            KeyCode::Backspace => {
                input.pop();
                *error = None;
            }
            KeyCode::Char(c) if input.chars().count() < 500 => {
                input.push(c);
                *error = None;
            }
            KeyCode::Enter => {
                let (dir, tags, input) = (dir.clone(), *tags, input.clone());
                let mut notes = match RunNotes::load(&dir) {
                    Ok(n) => n,
                    Err(e) => {
                        *error = Some(format!("{e:#}"));
                        return;
                    }
                };
                if tags {
                    notes.tags = RunNotes::parse_tags(&input);
                } else {
                    notes.note = input.trim().to_string();
                }
                match notes.save(&dir) {
                    Ok(()) => {
                        self.overlay = None;
                        self.info(format!("saved {}", dir.join(crate::results::notes::NOTES_FILE).display()));
                        if let Some(r) = self.runs.iter_mut().find(|r| r.dir == dir) {
                            r.notes = Ok(notes);
                        }
                        self.clamp_run_selected();
                    }
                    Err(e) => {
                        if let Some(Overlay::RunNotes { error, .. }) = &mut self.overlay {
                            *error = Some(format!("{e:#}"));
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// A key while the runs filter is typed: it applies as typed; Enter keeps it, Esc clears it.
    fn filter_key(&mut self, key: KeyEvent) {
        let t = &mut self.runs_table;
        match key.code {
            KeyCode::Enter => t.editing_filter = false,
            KeyCode::Esc => {
                t.editing_filter = false;
                t.filter.clear();
            }
            KeyCode::Backspace => {
                t.filter.pop();
            }
            KeyCode::Char(c) if t.filter.chars().count() < 100 => t.filter.push(c),
            _ => {}
        }
        self.run_selected = 0;
    }

    fn save_as_key(&mut self, key: KeyEvent) -> Option<Command> {
        let Some(Overlay::SaveAs { input, error }) = &mut self.overlay else {
            return None;
        };
        match key.code {
            KeyCode::Esc => self.overlay = None,
            KeyCode::Backspace => {
                input.pop();
                *error = None;
            }
            KeyCode::Char(c) if input.len() < 64 => {
                input.push(c);
                *error = None;
            }
            KeyCode::Enter => {
                let input = input.clone();
                self.save_form_as(&input);
            }
            _ => {}
        }
        None
    }

    fn save_form_as(&mut self, input: &str) {
        let Some(form) = &self.form else {
            self.overlay = None;
            return;
        };
        let result = actions::config_file_name(input)
            .and_then(|name| actions::save_config(&self.configs_dir, &name, &form.config));
        match result {
            Ok(path) => {
                self.overlay = None;
                self.reload_configs();
                if let Some(i) = self.configs.iter().position(|e| e.path == path) {
                    self.config_selected = i;
                    if let (Some(form), Some(entry)) = (&mut self.form, self.configs.get(i)) {
                        form.source = entry.rel.clone();
                        form.dirty = false;
                        if let Ok(c) = &entry.config {
                            form.config.name = c.name.clone();
                        }
                        form.base = form.config.clone();
                    }
                }
                self.info(format!("saved {}", path.display()));
            }
            Err(e) => {
                if let Some(Overlay::SaveAs { error, .. }) = &mut self.overlay {
                    *error = Some(e);
                }
            }
        }
    }

    fn view_key(&mut self, key: KeyEvent) -> Option<Command> {
        match self.view {
            View::Experiments => self.experiments_key(key),
            View::Live => {
                self.live_key(key);
                None
            }
            View::Attacks => {
                self.attacks_key(key);
                None
            }
            View::Overhead => {
                let dir = match key.code {
                    KeyCode::Left | KeyCode::Char('h') => -1,
                    KeyCode::Right | KeyCode::Char('l') => 1,
                    _ => return None,
                };
                self.switch_analysis_arm(&self.overhead.arm_names(), self.overhead_arm(), dir);
                None
            }
            View::Runs => self.runs_key(key),
            View::Queue => self.queue_key(key),
        }
    }

    fn experiments_key(&mut self, key: KeyEvent) -> Option<Command> {
        let n = self.configs.len();
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.config_selected = self.config_selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                self.config_selected = (self.config_selected + 1).min(n.saturating_sub(1))
            }
            KeyCode::Enter | KeyCode::Char('e') => self.open_form(),
            KeyCode::Char('s') => {
                let config = self.selected_config().map(|e| e.config.clone());
                return match config {
                    Some(Ok(c)) => self.start_run(c),
                    Some(Err(_)) => {
                        self.error("this config is invalid: fix the file (the error is shown below)");
                        None
                    }
                    None => None,
                };
            }
            KeyCode::Char('r') => {
                self.reload_configs();
                self.info(format!("{} configs in {}", self.configs.len(), self.configs_dir.display()));
            }
            _ => {}
        }
        None
    }

    fn open_form(&mut self) {
        match self.selected_config() {
            Some(ConfigEntry { rel, config: Ok(c), .. }) => self.form = Some(Form::new(rel.clone(), c.clone())),
            Some(_) => self.error("this config is invalid: fix the file first"),
            None => {}
        }
    }

    fn form_key(&mut self, key: KeyEvent) -> Option<Command> {
        let form = self.form.as_mut()?;
        match form.handle_key(key) {
            FormAction::None => None,
            FormAction::Notice(text) => {
                self.info(text);
                None
            }
            FormAction::Close => {
                self.form = None;
                None
            }
            FormAction::SaveAs => {
                if let Some((field, expected)) = &form.invalid {
                    let text = format!("cannot save: `{field}`: expected {expected}");
                    self.error(text);
                    return None;
                }
                let input = actions::free_config_name(&self.configs_dir, &form.run_config().name);
                self.overlay = Some(Overlay::SaveAs { input, error: None });
                None
            }
            FormAction::Start => {
                if let Some((field, expected)) = &form.invalid {
                    let text = format!("cannot start: `{field}`: expected {expected}");
                    self.error(text);
                    return None;
                }
                let config = form.run_config();
                self.start_run(config)
            }
        }
    }

    /// Start `config` in a new run folder under its `output.dir` now when no run is active, else
    /// queue it: it starts when the runs before it ended.
    pub fn start_run(&mut self, config: Config) -> Option<Command> {
        let name = config.name.clone();
        self.queue.push_config(config);
        if self.run_active() {
            let ahead = self.queue.pending() - 1;
            let after =
                if ahead == 0 { "the active run".to_string() } else { format!("the active run and {ahead} more") };
            self.info(format!("queued {name}: it starts after {after} (6: Queue)"));
            return None;
        }
        self.start_next(true)
    }

    /// Start the queue's next run when none is active; `show`: go to the Live view.
    fn start_next(&mut self, show: bool) -> Option<Command> {
        if self.run_active() {
            return None;
        }
        let start = self.queue.start_next(|c| crate::run::run_dir_for(c, None))?;
        let view = self.view;
        let mut command = self.begin_run(start.config, start.dir);
        if let Command::StartRun(req) = &mut command {
            req.baseline_from = start.baseline_from;
            req.replace = start.replace;
        }
        if !show {
            self.view = view;
        }
        Some(command)
    }

    /// Queue the unfinished runs of a sweep file into its sweep folder (as `ppdl sweep` lays it out).
    pub fn queue_sweep(&mut self, file: &Path) -> Option<Command> {
        let opened = match actions::OpenedSweep::open(file) {
            Ok(o) => o,
            Err(e) => {
                self.error(format!("{e:#}"));
                return None;
            }
        };
        let sw = &opened.sweep;
        let figures = sw.base.output.figures;
        let (queued, skipped) =
            self.queue.push_sweep(&sw.name, &opened.root, &sw.runs, &sw.configs, figures, |r| opened.is_finished(r));
        let waiting = sw.runs.len() - queued - skipped;
        let waiting = if waiting > 0 { format!(", {waiting} already queued") } else { String::new() };
        self.info(format!(
            "sweep {}: queued {queued} of {} runs ({skipped} finished before{waiting}) into {}",
            sw.name,
            sw.runs.len(),
            opened.root.display()
        ));
        self.start_next(false)
    }

    /// Show a new live run and ask the loop to start it.
    pub fn begin_run(&mut self, config: Config, dir: PathBuf) -> Command {
        let control = Arc::new(Control::default());
        let arms = config.arms();
        let mut live = LiveRun::new(config.name.clone(), dir.clone(), &arms, Arc::clone(&control));
        let attacks_enabled = !crate::attacks::registry::selected(&config.attacks).is_empty();
        live.attacks_enabled = attacks_enabled;
        self.analysis_arms = Arms::from_config(&arms);
        self.analysis_arm = None;
        self.live = Some(live);
        self.quit_after_stop = false;
        self.view = View::Live;
        self.analysis_source = Some(format!("live: {}", config.name));
        self.analysis_is_live = true;
        self.attack_selected = 0;
        self.attacks = if !attacks_enabled {
            Attacks::with_status(Availability::NotEnabled)
        } else {
            Attacks::with_status(Availability::Running("waiting for training to finish".into()))
        };
        self.overhead = Overhead::with_status(Availability::Running("waiting for the run to finish".into()));
        Command::StartRun(Box::new(RunRequest { config, dir, control, baseline_from: None, replace: false }))
    }

    fn live_key(&mut self, key: KeyEvent) {
        let Some(live) = &mut self.live else { return };
        match key.code {
            KeyCode::Char('p') | KeyCode::Char(' ') => {
                if let Err(why) = live.toggle_pause() {
                    self.error(why);
                }
            }
            KeyCode::Char('x') if live.status.is_active() => {
                live.request_stop();
                self.info("stopping after the current step");
            }
            KeyCode::Up | KeyCode::Char('k') => live.scroll_log(1),
            KeyCode::Down | KeyCode::Char('j') => live.scroll_log(-1),
            KeyCode::PageUp => live.scroll_log(10),
            KeyCode::PageDown => live.scroll_log(-10),
            KeyCode::End | KeyCode::Char('G') => live.log_back = 0,
            _ => {}
        }
    }

    fn attacks_key(&mut self, key: KeyEvent) {
        let shown = self.attack_arm();
        let n = shown.as_deref().map_or(0, |a| self.attacks.of_arm(a).count());
        match key.code {
            KeyCode::Left | KeyCode::Char('h') => self.switch_analysis_arm(&self.attacks.arms(), shown, -1),
            KeyCode::Right | KeyCode::Char('l') => self.switch_analysis_arm(&self.attacks.arms(), shown, 1),
            KeyCode::Up | KeyCode::Char('k') => self.attack_selected = self.attack_selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                self.attack_selected = (self.attack_selected + 1).min(n.saturating_sub(1))
            }
            _ => {}
        }
    }

    fn runs_key(&mut self, key: KeyEvent) -> Option<Command> {
        match &mut self.runs_mode {
            RunsMode::List => return self.runs_list_key(key),
            RunsMode::Detail(detail) => match key.code {
                KeyCode::Esc | KeyCode::Backspace => self.runs_mode = RunsMode::List,
                KeyCode::Char('f') => {
                    let dir = detail.dir.clone();
                    return Some(self.export(dir));
                }
                _ => {}
            },
            RunsMode::Compare(cmp) => match key.code {
                KeyCode::Esc | KeyCode::Backspace => self.runs_mode = RunsMode::List,
                KeyCode::Char('y') => cmp.next_quantity(),
                KeyCode::Char('g') => cmp.next_color_by(),
                KeyCode::Left | KeyCode::Char('h') => cmp.first_col = cmp.first_col.saturating_sub(1),
                KeyCode::Right | KeyCode::Char('l') => {
                    cmp.first_col = (cmp.first_col + 1).min(cmp.runs.len().saturating_sub(1))
                }
                KeyCode::Up | KeyCode::Char('k') => cmp.scroll = cmp.scroll.saturating_sub(1),
                KeyCode::Down | KeyCode::Char('j') => cmp.scroll = cmp.scroll.saturating_add(1),
                KeyCode::PageUp => cmp.scroll = cmp.scroll.saturating_sub(10),
                KeyCode::PageDown => cmp.scroll = cmp.scroll.saturating_add(10),
                _ => {}
            },
            RunsMode::Tradeoff(t) => match key.code {
                KeyCode::Esc | KeyCode::Backspace => self.runs_mode = RunsMode::List,
                KeyCode::Char('a') => t.next_attack(),
                KeyCode::Char('g') => t.next_group(),
                KeyCode::Up | KeyCode::Char('k') => t.scroll = t.scroll.saturating_sub(1),
                KeyCode::Down | KeyCode::Char('j') => t.scroll = t.scroll.saturating_add(1),
                KeyCode::Char('e') => match t.export() {
                    Ok(png) => self.info(format!("wrote {} and .svg", png.display())),
                    Err(e) => self.error(format!("{e:#}")),
                },
                _ => {}
            },
        }
        None
    }

    fn runs_list_key(&mut self, key: KeyEvent) -> Option<Command> {
        let rows = self.runs_rows();
        let n = rows.len();
        let selected_dir = self.selected_run().map(|r| r.dir.clone());
        match key.code {
            KeyCode::Up | KeyCode::Char('k') => self.run_selected = self.run_selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => self.run_selected = (self.run_selected + 1).min(n.saturating_sub(1)),
            KeyCode::Enter | KeyCode::Char(' ') => match rows.get(self.run_selected) {
                Some(TableRow::Group { name, .. }) => {
                    let name = name.clone();
                    if !self.runs_table.expanded.remove(&name) {
                        self.runs_table.expanded.insert(name);
                    }
                }
                Some(TableRow::Run { .. }) if key.code == KeyCode::Enter => self.open_run(),
                _ => {}
            },
            KeyCode::Char('m') => self.toggle_mark(rows.get(self.run_selected).cloned()),
            KeyCode::Char('u') => {
                let n = self.run_marked.len();
                self.run_marked.clear();
                self.info(format!("unmarked {n} {}", if n == 1 { "run" } else { "runs" }));
            }
            KeyCode::Char('c') => self.compare_runs(),
            KeyCode::Char('p') => self.open_tradeoff(rows.get(self.run_selected).cloned()),
            KeyCode::Char('f') => return selected_dir.map(|d| self.export(d)),
            KeyCode::Char('r') => {
                self.reload_runs();
                self.info(format!("{} runs", self.runs.len()));
            }
            KeyCode::Char('/') => self.runs_table.editing_filter = true,
            KeyCode::Char('s') => {
                self.runs_table.sort = Column::next(self.runs_table.sort);
                self.runs_table.descending = false;
                self.reselect(selected_dir);
            }
            KeyCode::Char('S') => {
                self.runs_table.descending = !self.runs_table.descending;
                self.reselect(selected_dir);
            }
            KeyCode::Char(c @ ('n' | 't')) => match self.selected_run() {
                Some(r) => {
                    let notes = r.notes.clone().unwrap_or_default();
                    let input = if c == 't' { notes.tags.join(", ") } else { notes.note };
                    self.overlay = Some(Overlay::RunNotes { dir: r.dir.clone(), tags: c == 't', input, error: None });
                }
                None => self.error("select a run (not a sweep's row) to give it a note or tags"),
            },
            KeyCode::Char('e') => self.export_table(),
            _ => {}
        }
        None
    }

    /// Keep the selection on the run in `dir` after the rows were reordered.
    fn reselect(&mut self, dir: Option<PathBuf>) {
        let rows = self.runs_rows();
        if let Some(i) = rows
            .iter()
            .position(|r| matches!(r, TableRow::Run { index, .. } if Some(&self.runs[*index].dir) == dir.as_ref()))
        {
            self.run_selected = i;
        }
        self.clamp_run_selected();
    }

    /// Write the runs that match the filter, in the table's order, as CSV into the first results folder.
    fn export_table(&mut self) {
        let indices = self.runs_table.matching(&self.runs);
        let text = runs_table::csv(&self.runs, &indices);
        let dir = self.results_dirs().into_iter().next().unwrap_or_else(|| PathBuf::from("results"));
        match runs_table::export_csv(&dir, &text) {
            Ok(path) => {
                let runs = if indices.len() == 1 { "run" } else { "runs" };
                self.info(format!("wrote {} {runs} to {}", indices.len(), path.display()))
            }
            Err(e) => self.error(format!("{e:#}")),
        }
    }

    fn open_run(&mut self) {
        let Some(entry) = self.selected_run() else {
            return;
        };
        match actions::load_run(entry) {
            Ok(detail) => {
                let (label, dir) = (detail.label.clone(), detail.dir.clone());
                self.runs_mode = RunsMode::Detail(Box::new(detail));
                self.show_analyses(label, &dir);
            }
            Err(e) => self.error(e),
        }
    }

    /// `m`: mark or unmark the selected run; on a sweep's row, all its runs (unmarked if all were).
    fn toggle_mark(&mut self, row: Option<TableRow>) {
        let dirs: Vec<PathBuf> = match row {
            Some(TableRow::Run { index, .. }) => vec![self.runs[index].dir.clone()],
            Some(TableRow::Group { name, .. }) => {
                self.runs.iter().filter(|r| r.group.as_deref() == Some(name.as_str())).map(|r| r.dir.clone()).collect()
            }
            None => return,
        };
        if dirs.iter().all(|d| self.run_marked.contains(d)) {
            self.run_marked.retain(|m| !dirs.contains(m));
        } else {
            for d in dirs {
                if !self.run_marked.contains(&d) {
                    self.run_marked.push(d);
                }
            }
        }
    }

    /// The marked runs, in the order marked.
    pub fn marked_runs(&self) -> Vec<&RunEntry> {
        self.run_marked.iter().filter_map(|m| self.runs.iter().find(|r| r.dir == *m)).collect()
    }

    /// `p`: the trade-off of the sweep on the selected row, else of the marked runs.
    fn open_tradeoff(&mut self, row: Option<TableRow>) {
        let (title, out_dir, runs) = match row {
            Some(TableRow::Group { name, .. }) => {
                let runs: Vec<&RunEntry> =
                    self.runs.iter().filter(|r| r.group.as_deref() == Some(name.as_str())).collect();
                // A sweep's runs live in SWEEP/runs/RUN: its figures go to SWEEP/figures.
                let root = runs.first().and_then(|r| r.dir.parent()?.parent().map(Path::to_path_buf));
                (format!("sweep {name}"), root.unwrap_or_default().join("figures"), runs)
            }
            _ => {
                let runs = self.marked_runs();
                let dir = self.results_dirs().into_iter().next().unwrap_or_else(|| PathBuf::from("results"));
                (format!("{} marked runs", runs.len()), dir.join("tradeoffs"), runs)
            }
        };
        if runs.is_empty() {
            self.error("mark runs with m (or select a sweep's row), then press p");
            return;
        }
        let t = Tradeoff::load(title, out_dir, &runs);
        self.runs_mode = RunsMode::Tradeoff(Box::new(t));
    }

    /// `c`: compare the marked runs; with one marked, it and the selected run.
    fn compare_runs(&mut self) {
        let mut runs = self.marked_runs();
        match runs.len() {
            0 => {
                self.error("mark runs with m (or one, then select another), then press c");
                return;
            }
            1 => match self.selected_run() {
                Some(s) if s.dir == runs[0].dir => {
                    self.error("select a different run to compare with the marked one, or mark more");
                    return;
                }
                Some(s) => runs.push(s),
                None => {
                    self.error("select a run to compare with the marked one, or mark more");
                    return;
                }
            },
            _ => {}
        }
        self.runs_mode = RunsMode::Compare(Box::new(actions::compare_runs(&runs)));
    }

    fn export(&mut self, dir: PathBuf) -> Command {
        self.info(format!("exporting figures for {} ...", dir.display()));
        Command::ExportFigures(dir)
    }
}

/// "finished", "stopped" or "failed", for messages.
fn end_word(end: &RunEnd) -> &'static str {
    match end {
        RunEnd::Finished => "finished",
        RunEnd::Stopped => "stopped",
        RunEnd::Failed(_) => "failed",
    }
}

/// `preferred` when `arms` has it, else the first of `arms`.
fn shown_arm(arms: &[String], preferred: Option<&str>) -> Option<String> {
    preferred.filter(|p| arms.iter().any(|a| a == p)).map(str::to_string).or_else(|| arms.first().cloned())
}
