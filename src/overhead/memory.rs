//! Peak resident memory of this process and the machine's load, for the overhead report.

/// Peak resident set size in bytes and where it came from: `VmHWM` in `/proc/self/status` (Linux),
/// else `getrusage(RUSAGE_SELF).ru_maxrss` (other Unix systems; an upper bound, since some systems
/// keep it across `execve`), else unknown.
pub fn peak_memory() -> (Option<u64>, &'static str) {
    if let Some(b) = std::fs::read_to_string("/proc/self/status").ok().and_then(|s| parse_vm_hwm(&s)) {
        return (Some(b), "VmHWM");
    }
    match max_rss_bytes() {
        Some(b) => (Some(b), "getrusage"),
        None => (None, "unavailable"),
    }
}

/// `VmHWM:   123456 kB` -> bytes.
pub fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let mut parts = line["VmHWM:".len()..].split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    let scale = match parts.next().unwrap_or("kB") {
        "kB" | "KB" | "kb" => 1024,
        "mB" | "MB" => 1024 * 1024,
        "B" => 1,
        _ => return None,
    };
    Some(value * scale)
}

/// The leading fields of `struct rusage` on 64-bit Unix systems: two `struct timeval`s (16 bytes each)
/// then `ru_maxrss` as a C long; the rest is room for the remaining 13 longs.
#[cfg(unix)]
#[repr(C)]
struct RUsage {
    utime: [i64; 2],
    stime: [i64; 2],
    maxrss: i64,
    rest: [i64; 13],
}

#[cfg(unix)]
fn rusage_self() -> Option<RUsage> {
    extern "C" {
        fn getrusage(who: i32, usage: *mut RUsage) -> i32;
    }
    if std::mem::size_of::<usize>() != 8 {
        return None;
    }
    let mut usage = RUsage { utime: [0; 2], stime: [0; 2], maxrss: 0, rest: [0; 13] };
    // SAFETY: RUSAGE_SELF = 0; the buffer is at least as large as `struct rusage` on 64-bit targets.
    let rc = unsafe { getrusage(0, &mut usage) };
    (rc == 0).then_some(usage)
}

#[cfg(unix)]
fn max_rss_bytes() -> Option<u64> {
    let usage = rusage_self().filter(|u| u.maxrss > 0)?;
    // Linux reports kilobytes, macOS bytes.
    let scale = if cfg!(target_os = "macos") { 1 } else { 1024 };
    Some(usage.maxrss as u64 * scale)
}

#[cfg(not(unix))]
fn max_rss_bytes() -> Option<u64> {
    None
}

/// CPU seconds (user + system, all threads) this process has used so far. Unlike wall time it hardly
/// depends on how many other programs share the machine, so single-threaded comparisons stay fair on
/// a busy machine.
#[cfg(unix)]
pub fn process_cpu_seconds() -> Option<f64> {
    let u = rusage_self()?;
    let tv = |t: [i64; 2]| t[0] as f64 + t[1] as f64 * 1e-6;
    Some(tv(u.utime) + tv(u.stime))
}

#[cfg(not(unix))]
pub fn process_cpu_seconds() -> Option<f64> {
    None
}

/// The 1-minute load average from `/proc/loadavg` (None where there is none).
pub fn load_average_1m() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vm_hwm_in_kilobytes() {
        let status = "Name:\tppdl\nVmPeak:\t  200 kB\nVmHWM:\t    1536 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(1536 * 1024));
        assert_eq!(parse_vm_hwm("Name: x\n"), None);
    }

    #[test]
    fn peak_memory_is_known_here() {
        let (bytes, source) = peak_memory();
        if cfg!(unix) {
            assert!(bytes.unwrap() > 0, "{source}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn cpu_time_grows_with_work() {
        let a = process_cpu_seconds().unwrap();
        let mut x = 0u64;
        let start = std::time::Instant::now();
        while start.elapsed().as_millis() < 50 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        assert!(process_cpu_seconds().unwrap() > a);
    }

    #[cfg(unix)]
    #[test]
    fn getrusage_fallback_reports_something() {
        // Not compared with VmHWM: Linux keeps ru_maxrss across execve, so right after a fork + exec
        // (as under cargo test) it can still hold the parent's peak. VmHWM is preferred for that reason.
        assert!(max_rss_bytes().unwrap_or(1) > 0);
    }
}
