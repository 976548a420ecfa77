//! The workbench's one channel: the input thread, a ticker and run workers all send [`AppEvent`]s
//! into it; the UI loop receives them, updates the [`App`](super::app::App) and redraws.
//! Trainers know nothing of this: a forwarder wraps their [`Event`]s.

use std::path::PathBuf;
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use ratatui::crossterm::event::{self as ct, KeyEvent, KeyEventKind};

use crate::attacks::Event;
use crate::config::Config;
use crate::error::Interrupted;
use crate::train::Control;

use super::live::RunEnd;

#[derive(Debug)]
pub enum AppEvent {
    /// Wakes the loop so throttled redraws happen.
    Tick,
    Key(KeyEvent),
    /// The terminal was resized.
    Resize,
    /// An event of the running experiment.
    Run(Event),
    /// The experiment's worker ended.
    RunDone(RunEnd),
    /// Figure export ended: a message for the user.
    FiguresDone(Result<String, String>),
}

/// What the UI loop must do for the app (things that start threads or end the program).
#[derive(Debug)]
pub enum Command {
    StartRun(Box<RunRequest>),
    ExportFigures(PathBuf),
    /// Several of the above, in order (a queued run ends: render its sweep's figures, start the next).
    Batch(Vec<Command>),
    Quit,
}

#[derive(Debug, Clone)]
pub struct RunRequest {
    pub config: Config,
    pub dir: PathBuf,
    pub control: Arc<Control>,
    /// A finished run folder with an identical baseline to copy (a queued sweep's run).
    pub baseline_from: Option<PathBuf>,
    /// Replace an unfinished run left in `dir` (a queued sweep's run, resumed).
    pub replace: bool,
}

/// Read terminal input on its own thread.
pub fn spawn_input(tx: Sender<AppEvent>) {
    let _ = thread::Builder::new().name("ppdl-input".into()).spawn(move || loop {
        let event = match ct::read() {
            Ok(ct::Event::Key(k)) if k.kind != KeyEventKind::Release => AppEvent::Key(k),
            Ok(ct::Event::Resize(..)) => AppEvent::Resize,
            Ok(_) => continue,
            Err(_) => break,
        };
        if tx.send(event).is_err() {
            break;
        }
    });
}

/// Send a tick every `period` until the receiver is gone.
pub fn spawn_ticker(tx: Sender<AppEvent>, period: Duration) {
    let _ = thread::Builder::new().name("ppdl-tick".into()).spawn(move || loop {
        thread::sleep(period);
        if tx.send(AppEvent::Tick).is_err() {
            break;
        }
    });
}

/// Run an experiment on a worker thread, forwarding its events; ends with [`AppEvent::RunDone`].
pub fn spawn_run(req: Box<RunRequest>, tx: Sender<AppEvent>) {
    let _ = thread::Builder::new().name("ppdl-run".into()).spawn(move || {
        let (etx, erx) = mpsc::channel::<Event>();
        let ftx = tx.clone();
        let forwarder = thread::Builder::new().name("ppdl-events".into()).spawn(move || {
            for event in erx {
                if ftx.send(AppEvent::Run(event)).is_err() {
                    break;
                }
            }
        });
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if req.replace {
                crate::sweep::clear_run_folder(&req.dir).map_err(anyhow::Error::msg)?;
            }
            crate::run::run_experiment_reusing(&req.config, &req.dir, req.baseline_from.as_deref(), &etx, &req.control)
        }));
        drop(etx);
        if let Ok(f) = forwarder {
            let _ = f.join();
        }
        let end = match result {
            Ok(Ok(_)) => RunEnd::Finished,
            Ok(Err(e)) if e.chain().any(|c| c.downcast_ref::<Interrupted>().is_some()) => RunEnd::Stopped,
            Ok(Err(e)) => RunEnd::Failed(with_panic_note(format!("{e:#}"))),
            Err(payload) => RunEnd::Failed(format!("the experiment panicked: {}", panic_text(&payload))),
        };
        let _ = tx.send(AppEvent::RunDone(end));
    });
}

/// Export a run's figures on a worker thread; ends with [`AppEvent::FiguresDone`].
pub fn spawn_export(run: PathBuf, tx: Sender<AppEvent>) {
    let _ = thread::Builder::new().name("ppdl-figures".into()).spawn(move || {
        let result = std::panic::catch_unwind(|| super::actions::export_figures(&run));
        let msg = match result {
            Ok(Ok(m)) => Ok(m),
            Ok(Err(e)) => Err(format!("export figures: {e:#}")),
            Err(p) => Err(format!("export figures panicked: {}", panic_text(&p))),
        };
        let _ = tx.send(AppEvent::FiguresDone(msg));
    });
}

fn panic_text(payload: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        super::take_worker_panic().unwrap_or_else(|| "unknown panic".into())
    }
}

/// A trainer thread's panic surfaces as "a trainer thread panicked": add what the panic said.
fn with_panic_note(msg: String) -> String {
    match super::take_worker_panic() {
        Some(p) if msg.contains("panicked") => format!("{msg} ({p})"),
        _ => msg,
    }
}
