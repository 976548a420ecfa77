//! Pause / resume / stop requests shared between whoever drives a run (Ctrl-C handler, TUI) and the
//! trainers, which poll it between steps.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[derive(Debug, Default)]
pub struct Control {
    stop: AtomicBool,
    pause: AtomicBool,
}

impl Control {
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    pub fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    pub fn set_paused(&self, paused: bool) {
        self.pause.store(paused, Ordering::SeqCst);
    }

    pub fn is_paused(&self) -> bool {
        self.pause.load(Ordering::SeqCst)
    }

    /// Block while paused; false once a stop was requested (the caller should stop).
    pub fn wait_while_paused(&self) -> bool {
        while self.is_paused() && !self.stop_requested() {
            std::thread::sleep(Duration::from_millis(20));
        }
        !self.stop_requested()
    }
}
