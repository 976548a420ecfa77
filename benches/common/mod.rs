//! What several benches share: the process's CPU clock and criterion's short settings.
#![allow(dead_code)] // each bench uses only some of these

use std::time::{Duration, Instant};

/// CPU time of the whole process (all threads) in seconds.
pub fn process_cpu_s() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid out-pointer to a timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Criterion with 10 samples, a short warm-up and `measure` of measurement per benchmark: the benches
/// are for comparing builds on one machine, not for publication-grade confidence.
pub fn quick(warm_up: Duration, measure: Duration) -> criterion::Criterion {
    criterion::Criterion::default().sample_size(10).warm_up_time(warm_up).measurement_time(measure)
}

/// The median of `v` (sorted in place).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median wall seconds of `f` over `reps` calls, after `warm_ups` calls.
pub fn median_seconds(warm_ups: usize, reps: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..warm_ups {
        f();
    }
    let mut v: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    median(&mut v)
}
