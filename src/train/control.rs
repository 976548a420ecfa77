//! Pause / resume / stop requests shared between whoever drives a run (Ctrl-C handler, TUI) and the
//! trainers, which poll it between steps.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub struct Control {
    stop: AtomicBool,
    pause: AtomicBool,
    /// Nanoseconds spent blocked in [`Control::wait_while_paused`], by every caller together.
    paused_nanos: AtomicU64,
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

    /// Block while paused. Returns false once a stop was requested (the caller should stop), and how
    /// long it blocked (zero when not paused): trainers leave that time out of their timings.
    pub fn wait_while_paused(&self) -> (bool, Duration) {
        let mut since: Option<Instant> = None;
        while self.is_paused() && !self.stop_requested() {
            since.get_or_insert_with(Instant::now);
            std::thread::sleep(Duration::from_millis(20));
        }
        let waited = since.map_or(Duration::ZERO, |t| t.elapsed());
        self.paused_nanos.fetch_add(waited.as_nanos() as u64, Ordering::SeqCst);
        (!self.stop_requested(), waited)
    }

    /// Time spent paused so far, all callers together: one sequential step (an attack) leaves the
    /// difference across it out of its own timing.
    pub fn paused_total(&self) -> Duration {
        Duration::from_nanos(self.paused_nanos.load(Ordering::SeqCst))
    }
}
