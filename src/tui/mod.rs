//! The interactive workbench (`ppdl` with no arguments, or `ppdl tui [--configs DIR]`).
//!
//! One channel of [`AppEvent`]s feeds the UI loop: the input thread sends keys, a ticker wakes the
//! loop for throttled redraws, and run workers forward the trainers' events. The loop updates the
//! [`App`] (pure state) and redraws at most ten times a second, so watching never slows training.
//! The terminal is restored on quit, on error and on panic.

pub mod actions;
pub mod analysis;
pub mod app;
pub mod arms;
pub mod compare;
pub mod curves;
pub mod diff;
pub mod event;
pub mod form;
pub mod live;
pub mod queue;
pub mod runs_table;
pub mod theme;
pub mod tradeoff;
pub mod ui;
pub mod views;

use std::io::{IsTerminal, Stdout};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Mutex, Once, OnceLock};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::Terminal;

use crate::error::InputError;

pub use app::App;
pub use event::{AppEvent, Command};

/// At most this often the screen is redrawn.
pub const FRAME: Duration = Duration::from_millis(100);

/// Open the workbench over `configs_dir` and run it until the user quits.
pub fn run(configs_dir: &Path) -> anyhow::Result<()> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(InputError::new(
            "the workbench needs an interactive terminal; for scripts and CI use `ppdl run CONFIG`",
        )
        .into());
    }
    let mut app = App::load(configs_dir.to_path_buf());
    let (tx, rx) = mpsc::channel();
    let mut term = TerminalGuard::enter()?;
    event::spawn_input(tx.clone());
    event::spawn_ticker(tx.clone(), FRAME);
    let result = main_loop(&mut term.terminal, &mut app, &rx, &tx);
    drop(term);
    if let Some(live) = &app.live {
        // Back on the normal screen: say where the session's last run went.
        eprintln!("ppdl: last run {} ({}): {}", live.name, live.status.label(), live.dir.display());
    }
    result
}

type Term = Terminal<CrosstermBackend<Stdout>>;

fn main_loop(terminal: &mut Term, app: &mut App, rx: &Receiver<AppEvent>, tx: &Sender<AppEvent>) -> anyhow::Result<()> {
    let mut last_draw: Option<Instant> = None;
    let mut dirty = true;
    // Lets the end-to-end tests check that a panic restores the terminal.
    let test_panic = std::env::var_os("PPDL_TUI_TEST_PANIC").is_some();
    loop {
        if dirty && last_draw.is_none_or(|t| t.elapsed() >= FRAME) {
            terminal.draw(|f| ui::draw(f, app))?;
            last_draw = Some(Instant::now());
            dirty = false;
            if test_panic {
                panic!("test panic requested by PPDL_TUI_TEST_PANIC");
            }
        }
        let Ok(event) = rx.recv() else { return Ok(()) };
        if matches!(event, AppEvent::Resize) {
            terminal.autoresize()?;
        }
        dirty |= !matches!(event, AppEvent::Tick);
        if let Some(command) = app.update(event) {
            if perform(command, tx) {
                return Ok(());
            }
        }
    }
}

/// Do what the app asked; true: quit.
fn perform(command: Command, tx: &Sender<AppEvent>) -> bool {
    match command {
        Command::Quit => return true,
        Command::StartRun(req) => event::spawn_run(req, tx.clone()),
        Command::ExportFigures(dir) => event::spawn_export(dir, tx.clone()),
        Command::Batch(commands) => return commands.into_iter().any(|c| perform(c, tx)),
    }
    false
}

/// Raw mode and the alternate screen while alive; restored on drop (quit, error, unwinding panic).
struct TerminalGuard {
    terminal: Term,
}

impl TerminalGuard {
    fn enter() -> anyhow::Result<TerminalGuard> {
        install_panic_hook();
        *UI_THREAD.get_or_init(|| Mutex::new(None)).lock().unwrap_or_else(|e| e.into_inner()) =
            Some(std::thread::current().id());
        enable_raw_mode()?;
        UI_ACTIVE.store(true, Ordering::SeqCst);
        if let Err(e) = execute!(std::io::stdout(), EnterAlternateScreen) {
            restore_terminal();
            return Err(e.into());
        }
        match Terminal::new(CrosstermBackend::new(std::io::stdout())) {
            Ok(terminal) => Ok(TerminalGuard { terminal }),
            Err(e) => {
                restore_terminal();
                Err(e.into())
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = self.terminal.show_cursor();
        restore_terminal();
    }
}

static UI_ACTIVE: AtomicBool = AtomicBool::new(false);
static UI_THREAD: OnceLock<Mutex<Option<ThreadId>>> = OnceLock::new();
static WORKER_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Leave raw mode and the alternate screen (idempotent).
fn restore_terminal() {
    if UI_ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        let _ = execute!(std::io::stdout(), LeaveAlternateScreen, ratatui::crossterm::cursor::Show);
    }
}

fn on_ui_thread() -> bool {
    UI_THREAD
        .get()
        .and_then(|m| *m.lock().unwrap_or_else(|e| e.into_inner()))
        .is_some_and(|id| id == std::thread::current().id())
}

/// The message of the last panic on a worker thread, taken (worker panics are not printed while the
/// workbench owns the screen; the run's failure shows them).
pub fn take_worker_panic() -> Option<String> {
    WORKER_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take()
}

/// A panic on the UI thread restores the terminal before the message is printed. A panic on a
/// worker thread while the workbench is open is recorded instead of printed over the screen.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if UI_ACTIVE.load(Ordering::SeqCst) && !on_ui_thread() {
                *WORKER_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some(info.to_string());
                return;
            }
            restore_terminal();
            previous(info);
        }));
    });
}
