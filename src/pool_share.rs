//! How many threads of the rayon pool the work on this thread may fan out to.
//!
//! Several arms trained side by side, or several attacks run side by side, already keep the pool's
//! threads busy; each then fanning its products out over the whole pool only adds fork-joins and
//! cache traffic. Four mlp-512-256 arms side by side on 2 cores trained at 46.4-49.3k samples/s in all
//! with every product banded over both threads, and at 50.9-54.6k with one band each (bench/README.md,
//! session 13). A share is set per thread ([`with_share`]) and follows the work that
//! `train::fit::on_cpu_worker` lends to a pool worker.

use std::cell::Cell;

thread_local! {
    static SHARE: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The pool threads the work on this thread may use: the whole pool, or less within [`with_share`].
pub(crate) fn threads() -> usize {
    let pool = rayon::current_num_threads().max(1);
    SHARE.with(|s| s.get()).map_or(pool, |share| share.clamp(1, pool))
}

/// The share set on this thread, if any (to carry it to the thread that does the work).
pub(crate) fn current() -> Option<usize> {
    SHARE.with(|s| s.get())
}

/// Run `work` with this thread's fan-out limited to `share` threads (None: the whole pool); the
/// share before is restored after, so nested shares unwind.
pub(crate) fn with_share<R>(share: Option<usize>, work: impl FnOnce() -> R) -> R {
    struct Restore(Option<usize>);
    impl Drop for Restore {
        fn drop(&mut self) {
            SHARE.with(|s| s.set(self.0));
        }
    }
    let _restore = Restore(SHARE.with(|s| s.replace(share)));
    work()
}

/// The share of each of `side_by_side` tasks that together keep the pool busy: the pool divided
/// among them, at least one thread each.
pub(crate) fn of(side_by_side: usize) -> usize {
    (rayon::current_num_threads() / side_by_side.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_limits_this_thread_until_it_ends() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
        pool.install(|| {
            assert_eq!(threads(), 4);
            assert_eq!(of(2), 2);
            assert_eq!(of(8), 1);
            with_share(Some(1), || {
                assert_eq!(threads(), 1);
                with_share(Some(16), || assert_eq!(threads(), 4, "never more than the pool"));
                assert_eq!(threads(), 1, "restored after the nested share");
                assert_eq!(std::thread::spawn(current).join().unwrap(), None, "another thread has its own");
            });
            assert_eq!(threads(), 4);
        });
    }
}
