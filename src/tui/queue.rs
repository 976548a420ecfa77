//! The run queue: configs and a sweep's unfinished runs wait here and start one after another (one
//! active run at a time). Pure state: which entry runs next, what became of each, and each queued
//! sweep's runs as a grid. The app starts the runs and writes the sweep folders.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::results::sweep::SweepRun;

use super::live::{LiveRun, RunEnd, RunStatus};

/// What became of a queued run.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryState {
    Pending,
    Running,
    /// Finished: each arm's final test accuracy, in config order.
    Finished(Vec<(String, f64)>),
    Failed(String),
    Stopped,
}

impl EntryState {
    pub fn is_pending(&self) -> bool {
        matches!(self, EntryState::Pending)
    }
}

/// One queued run.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: u64,
    pub config: Config,
    /// The run folder. None until a config's run starts (`output.dir/NAME-TIMESTAMP` is chosen then,
    /// so two queued runs of one config get two folders); a sweep's run has its folder from the start.
    pub dir: Option<PathBuf>,
    /// A finished run folder with an identical baseline to copy (a sweep's `baseline_from`).
    pub baseline_from: Option<PathBuf>,
    /// The queued sweep it belongs to (index into [`Queue::sweeps`]).
    pub sweep: Option<usize>,
    pub state: EntryState,
}

impl Entry {
    pub fn name(&self) -> &str {
        &self.config.name
    }
}

/// A sweep whose unfinished runs were queued, laid out in its sweep folder as `ppdl sweep` does.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedSweep {
    pub name: String,
    pub root: PathBuf,
    /// Every run folder of the sweep (root/runs/NAME), in runs.json order.
    pub runs: Vec<PathBuf>,
    /// The grid's rows: each cell of the sweep (its axis values, "sigma=0.1") and its runs (indices
    /// into `runs`, one per repeat).
    pub rows: Vec<(String, Vec<usize>)>,
    /// Render the sweep's figures once its last run ended (the base config's `output.figures`).
    pub figures: bool,
}

/// A run the app must start now.
#[derive(Debug, Clone)]
pub struct Start {
    pub config: Config,
    pub dir: PathBuf,
    pub baseline_from: Option<PathBuf>,
    /// The folder may hold an unfinished run from before (a sweep resumed): replace it.
    pub replace: bool,
}

/// One cell of a sweep's progress grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    /// Finished before the sweep was queued (not run again).
    FinishedBefore,
    Pending,
    Running,
    Finished,
    Failed,
    Stopped,
}

/// Where the Queue view's selection is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueuePane {
    /// The sweep files list has the focus (else the queue).
    pub focus_sweeps: bool,
    /// The selected entry of the queue.
    pub selected: usize,
    /// The sweep files (`sweeps/NAME.toml`, relative to the configs folder).
    pub sweep_files: Vec<String>,
    pub sweep_selected: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Queue {
    pub entries: Vec<Entry>,
    pub sweeps: Vec<QueuedSweep>,
    next_id: u64,
}

impl Queue {
    fn push(&mut self, config: Config, dir: Option<PathBuf>, baseline_from: Option<PathBuf>, sweep: Option<usize>) {
        self.next_id += 1;
        let id = self.next_id;
        self.entries.push(Entry { id, config, dir, baseline_from, sweep, state: EntryState::Pending });
    }

    /// Queue one run of `config`.
    pub fn push_config(&mut self, config: Config) {
        self.push(config, None, None, None);
    }

    /// Queue the runs of a sweep (`runs` and `configs` as `sweep::load` expands them) in the sweep
    /// folder `root`, except those `finished` says are done and those already waiting or running here.
    /// Returns (queued, skipped as finished).
    pub fn push_sweep(
        &mut self,
        name: &str,
        root: &Path,
        runs: &[SweepRun],
        configs: &[Config],
        figures: bool,
        finished: impl Fn(&SweepRun) -> bool,
    ) -> (usize, usize) {
        let dirs: Vec<PathBuf> = runs.iter().map(|r| root.join(&r.folder)).collect();
        let queued = QueuedSweep {
            name: name.to_string(),
            root: root.to_path_buf(),
            runs: dirs.clone(),
            rows: grid_rows(runs),
            figures,
        };
        let index = match self.sweeps.iter().position(|s| s.root == root) {
            Some(i) => {
                self.sweeps[i] = queued;
                i
            }
            None => {
                self.sweeps.push(queued);
                self.sweeps.len() - 1
            }
        };
        let (mut queued, mut skipped) = (0, 0);
        for ((run, config), dir) in runs.iter().zip(configs).zip(dirs) {
            if finished(run) {
                skipped += 1;
                continue;
            }
            let waiting = self
                .entries
                .iter()
                .any(|e| e.dir.as_ref() == Some(&dir) && matches!(e.state, EntryState::Pending | EntryState::Running));
            if waiting {
                continue;
            }
            let baseline_from = run.baseline_from.as_ref().map(|f| root.join(f));
            self.push(config.clone(), Some(dir), baseline_from, Some(index));
            queued += 1;
        }
        (queued, skipped)
    }

    /// The running entry.
    pub fn active(&self) -> Option<&Entry> {
        self.entries.iter().find(|e| e.state == EntryState::Running)
    }

    pub fn pending(&self) -> usize {
        self.entries.iter().filter(|e| e.state.is_pending()).count()
    }

    /// When nothing runs: the first pending entry becomes the running one, in the folder `dir_for`
    /// names for a config's run.
    pub fn start_next(&mut self, dir_for: impl FnOnce(&Config) -> PathBuf) -> Option<Start> {
        if self.active().is_some() {
            return None;
        }
        // Two runs of one config started within a second would be given one folder name.
        let taken: Vec<PathBuf> = self.entries.iter().filter_map(|e| e.dir.clone()).collect();
        let e = self.entries.iter_mut().find(|e| e.state.is_pending())?;
        let replace = e.dir.is_some();
        let dir = e
            .dir
            .get_or_insert_with(|| {
                let first = dir_for(&e.config);
                let mut dir = first.clone();
                for k in 2.. {
                    if !taken.contains(&dir) {
                        break;
                    }
                    dir = PathBuf::from(format!("{}-{k}", first.display()));
                }
                dir
            })
            .clone();
        e.state = EntryState::Running;
        Some(Start { config: e.config.clone(), dir, baseline_from: e.baseline_from.clone(), replace })
    }

    /// The running entry ended (`accuracy`: each arm's final test accuracy). Returns it.
    pub fn end_active(&mut self, end: &RunEnd, accuracy: Vec<(String, f64)>) -> Option<&Entry> {
        let e = self.entries.iter_mut().find(|e| e.state == EntryState::Running)?;
        e.state = match end {
            RunEnd::Finished => EntryState::Finished(accuracy),
            RunEnd::Stopped => EntryState::Stopped,
            RunEnd::Failed(why) => EntryState::Failed(why.clone()),
        };
        Some(e)
    }

    /// Whether no run of queued sweep `index` waits or runs any more.
    pub fn sweep_ended(&self, index: usize) -> bool {
        !self
            .entries
            .iter()
            .any(|e| e.sweep == Some(index) && matches!(e.state, EntryState::Pending | EntryState::Running))
    }

    /// Take entry `at` out of the queue when it is still pending. Err says why not.
    pub fn remove(&mut self, at: usize) -> Result<Entry, String> {
        match self.entries.get(at) {
            Some(e) if e.state.is_pending() => Ok(self.entries.remove(at)),
            Some(e) => Err(format!("{} is not waiting: only pending runs can be removed", e.name())),
            None => Err("nothing selected".into()),
        }
    }

    /// Take every pending entry out; returns how many.
    pub fn remove_pending(&mut self) -> usize {
        let before = self.entries.len();
        self.entries.retain(|e| !e.state.is_pending());
        before - self.entries.len()
    }

    /// Move pending entry `at` one place earlier (`delta` -1) or later (+1) among the pending ones.
    /// Returns its new index, or Err saying why it stays.
    pub fn move_pending(&mut self, at: usize, delta: isize) -> Result<usize, String> {
        if !self.entries.get(at).is_some_and(|e| e.state.is_pending()) {
            return Err("only pending runs can be moved".into());
        }
        let to = at as isize + delta;
        if to < 0 || !self.entries.get(to as usize).is_some_and(|e| e.state.is_pending()) {
            let end = if delta < 0 { "first" } else { "last" };
            return Err(format!("already the {end} pending run"));
        }
        self.entries.swap(at, to as usize);
        Ok(to as usize)
    }

    /// Queued sweep `index`'s runs as grid cells, in runs.json order.
    pub fn cells(&self, index: usize) -> Vec<Cell> {
        let Some(sweep) = self.sweeps.get(index) else { return vec![] };
        sweep
            .runs
            .iter()
            .map(|dir| {
                // The latest entry of this folder (a failed run queued again is pending again).
                match self.entries.iter().rev().find(|e| e.dir.as_ref() == Some(dir)).map(|e| &e.state) {
                    None => Cell::FinishedBefore,
                    Some(EntryState::Pending) => Cell::Pending,
                    Some(EntryState::Running) => Cell::Running,
                    Some(EntryState::Finished(_)) => Cell::Finished,
                    Some(EntryState::Failed(_)) => Cell::Failed,
                    Some(EntryState::Stopped) => Cell::Stopped,
                }
            })
            .collect()
    }
}

/// A sweep's runs by cell: the cell's axis values ("sigma=0.1, seed..." by each path's last part)
/// and its runs' indices, in expansion order.
fn grid_rows(runs: &[SweepRun]) -> Vec<(String, Vec<usize>)> {
    let mut rows: Vec<(usize, String, Vec<usize>)> = Vec::new();
    for (i, r) in runs.iter().enumerate() {
        match rows.iter_mut().find(|(cell, ..)| *cell == r.cell) {
            Some((_, _, members)) => members.push(i),
            None => {
                let label: Vec<String> = r
                    .axes
                    .iter()
                    .map(|(path, value)| format!("{}={value}", path.rsplit('.').next().unwrap_or(path)))
                    .collect();
                let label = if label.is_empty() { "runs".to_string() } else { label.join(", ") };
                rows.push((r.cell, label, vec![i]));
            }
        }
    }
    rows.into_iter().map(|(_, label, members)| (label, members)).collect()
}

/// Each arm's final test accuracy as the live run saw it.
pub fn live_accuracy(live: &LiveRun) -> Vec<(String, f64)> {
    live.arms.iter().filter_map(|a| Some((a.name.clone(), a.summary.as_ref()?.test_accuracy))).collect()
}

/// The status cell of an entry: "pending", "running epoch 2/5", "running attacks", "finished
/// 84.12% / 80.03%", "failed: REASON", "stopped". `live` is the run the Live view shows.
pub fn status_text(entry: &Entry, live: Option<&LiveRun>) -> String {
    match &entry.state {
        EntryState::Pending => "pending".into(),
        EntryState::Running => match live.filter(|l| Some(&l.dir) == entry.dir.as_ref()) {
            Some(l) => {
                let word = if l.status == RunStatus::Paused { "paused" } else { "running" };
                let progress = l.progress_label();
                if let Some(doing) = progress.strip_prefix("training done, ") {
                    format!("{word} {doing}")
                } else if l.max_epochs() == 0 {
                    format!("{word} {}", l.stage)
                } else {
                    let epoch = l.arms.iter().map(|a| a.epoch).max().unwrap_or(0).max(1);
                    format!("{word} epoch {epoch}/{}", l.max_epochs())
                }
            }
            None => "running".into(),
        },
        EntryState::Finished(acc) if acc.is_empty() => "finished".into(),
        EntryState::Finished(acc) => {
            let accs: Vec<String> = acc.iter().map(|(_, a)| super::views::pct(*a)).collect();
            format!("finished {}", accs.join(" / "))
        }
        EntryState::Failed(why) => format!("failed: {why}"),
        EntryState::Stopped => "stopped".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(name: &str) -> Config {
        let text = format!("name = \"{name}\"\n[data]\ndataset = \"embedded\"\n");
        crate::validate::parse_config(&text, Path::new("t.toml")).unwrap()
    }

    fn sweep_run(name: &str, baseline_from: Option<&str>) -> SweepRun {
        SweepRun {
            name: name.into(),
            cell: 0,
            repeat: 0,
            seed: 1,
            axes: vec![],
            overrides: vec![],
            folder: PathBuf::from("runs").join(name),
            baseline_from: baseline_from.map(|b| PathBuf::from("runs").join(b)),
        }
    }

    fn dir(name: &str) -> impl FnOnce(&Config) -> PathBuf + '_ {
        move |c: &Config| PathBuf::from(format!("results/{}-{name}", c.name))
    }

    fn names(q: &Queue) -> Vec<&str> {
        q.entries.iter().map(|e| e.name()).collect()
    }

    #[test]
    fn runs_start_one_after_another() {
        let mut q = Queue::default();
        q.push_config(config("a"));
        q.push_config(config("b"));
        let s = q.start_next(dir("1")).unwrap();
        assert_eq!((s.config.name.as_str(), s.dir.as_path()), ("a", Path::new("results/a-1")));
        assert!(!s.replace, "a config's run gets a fresh folder");
        assert!(q.start_next(dir("2")).is_none(), "one active run at a time");
        q.end_active(&RunEnd::Finished, vec![("baseline".into(), 0.9)]);
        let s = q.start_next(dir("2")).unwrap();
        assert_eq!(s.config.name, "b");
        q.push_config(config("b"));
        q.end_active(&RunEnd::Stopped, vec![]);
        let again = q.start_next(dir("2")).unwrap();
        assert_eq!(again.dir, Path::new("results/b-2-2"), "a folder of its own in the same second");
        assert_eq!(status_text(&q.entries[0], None), "finished 90.00%");
    }

    #[test]
    fn a_failed_or_stopped_run_never_stops_the_queue() {
        let mut q = Queue::default();
        for n in ["a", "b", "c"] {
            q.push_config(config(n));
        }
        q.start_next(dir("1")).unwrap();
        q.end_active(&RunEnd::Failed("dataset folder data/x not found".into()), vec![]);
        assert_eq!(q.start_next(dir("2")).unwrap().config.name, "b");
        q.end_active(&RunEnd::Stopped, vec![]);
        assert_eq!(q.start_next(dir("3")).unwrap().config.name, "c");
        assert_eq!(status_text(&q.entries[0], None), "failed: dataset folder data/x not found");
        assert_eq!(status_text(&q.entries[1], None), "stopped");
        assert_eq!(q.pending(), 0);
        q.end_active(&RunEnd::Finished, vec![]);
        assert!(q.start_next(dir("4")).is_none(), "nothing left");
    }

    #[test]
    fn only_pending_entries_are_removed_or_moved() {
        let mut q = Queue::default();
        for n in ["a", "b", "c", "d"] {
            q.push_config(config(n));
        }
        q.start_next(dir("1")).unwrap();
        assert!(q.remove(0).unwrap_err().contains("not waiting"));
        assert_eq!(q.remove(2).unwrap().name(), "c");
        assert_eq!(names(&q), ["a", "b", "d"]);
        assert_eq!(q.move_pending(2, -1), Ok(1));
        assert_eq!(names(&q), ["a", "d", "b"]);
        assert!(q.move_pending(1, -1).unwrap_err().contains("first"), "the running run stays first");
        assert!(q.move_pending(2, 1).unwrap_err().contains("last"));
        assert!(q.move_pending(0, 1).is_err(), "the running run does not move");
        q.end_active(&RunEnd::Finished, vec![]);
        assert_eq!(q.start_next(dir("2")).unwrap().config.name, "d", "the moved run starts first");
        assert_eq!(q.remove_pending(), 1);
        assert_eq!(names(&q), ["a", "d"]);
    }

    #[test]
    fn a_sweep_queues_its_unfinished_runs_in_its_folder() {
        let mut q = Queue::default();
        let runs = vec![sweep_run("s-1", None), sweep_run("s-2", Some("s-1")), sweep_run("s-3", Some("s-1"))];
        let configs: Vec<Config> = runs.iter().map(|r| config(&r.name)).collect();
        let root = Path::new("results/sweep-s");
        let done = |r: &SweepRun| r.name == "s-1";
        assert_eq!(q.push_sweep("s", root, &runs, &configs, true, done), (2, 1));
        assert_eq!(names(&q), ["s-2", "s-3"]);
        assert_eq!(q.cells(0), [Cell::FinishedBefore, Cell::Pending, Cell::Pending]);
        // Queued again while it runs: nothing is queued twice.
        assert_eq!(q.push_sweep("s", root, &runs, &configs, true, done), (0, 1));
        assert_eq!(q.sweeps.len(), 1);
        let s = q.start_next(dir("unused")).unwrap();
        assert_eq!(s.dir, root.join("runs/s-2"));
        assert_eq!(s.baseline_from.as_deref(), Some(root.join("runs/s-1").as_path()));
        assert!(s.replace, "an unfinished folder from before is replaced, as `ppdl sweep` does");
        assert_eq!(q.cells(0), [Cell::FinishedBefore, Cell::Running, Cell::Pending]);
        q.end_active(&RunEnd::Failed("boom".into()), vec![]);
        assert!(!q.sweep_ended(0));
        q.start_next(dir("unused")).unwrap();
        q.end_active(&RunEnd::Finished, vec![]);
        assert!(q.sweep_ended(0));
        assert_eq!(q.cells(0), [Cell::FinishedBefore, Cell::Failed, Cell::Finished]);
        // The failed run is queued again; the finished ones are not.
        let done = |r: &SweepRun| r.name != "s-2";
        assert_eq!(q.push_sweep("s", root, &runs, &configs, true, done), (1, 2));
        assert_eq!(q.cells(0), [Cell::FinishedBefore, Cell::Pending, Cell::Finished]);
    }
}
