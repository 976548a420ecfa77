//! The run folder: layout, atomic writes, CSV/JSON records, and reloading them for `plot`/`attack`.

pub mod attacks;
pub mod samples;
pub mod status;
pub mod summary;

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::error::InputError;
use crate::train::MetricRow;

pub use status::RunStatus;
pub use summary::{ArmRecord, DatasetRecord, Summary, RUN_FORMAT_VERSION};

/// Paths inside one run folder (see README: "Run folder").
#[derive(Debug, Clone, PartialEq)]
pub struct RunFolder {
    pub root: PathBuf,
}

impl RunFolder {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Create the folder and its sub-folders; an existing non-empty folder is refused.
    pub fn create(root: &Path) -> anyhow::Result<RunFolder> {
        if root.exists() && std::fs::read_dir(root).map(|mut d| d.next().is_some()).unwrap_or(true) {
            return Err(InputError::new(format!(
                "{}: output folder exists and is not empty (choose another --out)",
                root.display()
            ))
            .into());
        }
        let run = RunFolder::new(root);
        for dir in [run.root.clone(), run.provider_dir(), run.customer_dir(), run.baseline_dir()] {
            std::fs::create_dir_all(&dir)
                .map_err(|e| InputError::new(format!("{}: cannot create output folder: {e}", dir.display())))?;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(run.customer_dir(), std::fs::Permissions::from_mode(0o700)).ok();
        }
        Ok(run)
    }

    /// Open an existing run folder for reading (plot, attack, infer).
    pub fn open(root: &Path) -> anyhow::Result<RunFolder> {
        let run = RunFolder::new(root);
        if !run.summary_path().is_file() {
            return Err(InputError::new(format!("{}: not a ppdl run folder (no summary.json)", root.display())).into());
        }
        Ok(run)
    }

    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.toml")
    }
    pub fn metrics_path(&self) -> PathBuf {
        self.root.join("metrics.csv")
    }
    pub fn summary_path(&self) -> PathBuf {
        self.root.join("summary.json")
    }
    pub fn attacks_path(&self) -> PathBuf {
        self.root.join("attacks.json")
    }
    pub fn overhead_path(&self) -> PathBuf {
        self.root.join("overhead.json")
    }
    pub fn report_path(&self) -> PathBuf {
        self.root.join("report.md")
    }
    pub fn figures_dir(&self) -> PathBuf {
        self.root.join("figures")
    }
    pub fn provider_dir(&self) -> PathBuf {
        self.root.join("provider")
    }
    pub fn customer_dir(&self) -> PathBuf {
        self.root.join("customer")
    }
    /// The baseline arm's weights (not a provider artifact: the customer's own plain model).
    pub fn baseline_dir(&self) -> PathBuf {
        self.root.join("baseline")
    }
    pub fn provider_model_path(&self) -> PathBuf {
        self.provider_dir().join("model.safetensors")
    }
    pub fn provider_digests_path(&self) -> PathBuf {
        self.provider_dir().join("encoded-data.json")
    }
    pub fn baseline_model_path(&self) -> PathBuf {
        self.baseline_dir().join("model.safetensors")
    }
    pub fn key_path(&self) -> PathBuf {
        self.customer_dir().join("key.json")
    }

    pub fn load_summary(&self) -> anyhow::Result<Summary> {
        Summary::load(&self.summary_path())
    }

    pub fn load_metrics(&self) -> anyhow::Result<Vec<MetricRow>> {
        read_metrics_csv(&self.metrics_path())
    }

    /// The run's config.toml with its fields and its transforms checked (a saved config may have been
    /// edited since): what `attack`, `infer` and the TUI rebuild the run's scheme from.
    pub fn load_config(&self) -> anyhow::Result<crate::config::Config> {
        use crate::scheme::transforms::{check_transforms, resolve_transforms};
        let path = self.config_path();
        let mut config = crate::config::Config::load_fields(&path)?;
        let shape = config.image_shape();
        check_transforms(&config.privacy.transforms, shape, "privacy.transforms").map_err(|(field, expected)| {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            crate::config::field_error(&text, &path, &field, &expected)
        })?;
        resolve_transforms(&mut config.privacy.transforms);
        Ok(config)
    }
}

/// The run folders named by `paths` (for `summarize` and `plot`): a run folder stands for itself; any
/// other folder for the run folders directly inside it (sub-folders with a summary.json, by name).
/// A path that is neither is an [`InputError`] naming it.
pub fn run_folders_in(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut runs = Vec::new();
    for path in paths {
        if RunFolder::new(path).summary_path().is_file() {
            runs.push(path.clone());
            continue;
        }
        if !path.is_dir() {
            return Err(InputError::new(format!(
                "{}: not a folder (expected a ppdl run folder or a folder of runs)",
                path.display()
            ))
            .into());
        }
        let entries = std::fs::read_dir(path)
            .map_err(|e| InputError::new(format!("{}: cannot list the folder: {e}", path.display())))?;
        let mut inside: Vec<PathBuf> =
            entries.flatten().map(|e| e.path()).filter(|p| RunFolder::new(p).summary_path().is_file()).collect();
        if inside.is_empty() {
            return Err(InputError::new(format!(
                "{}: not a ppdl run folder, and no run folder inside it (no summary.json here or in its sub-folders)",
                path.display()
            ))
            .into());
        }
        inside.sort();
        runs.extend(inside);
    }
    Ok(runs)
}

pub const METRICS_HEADER: &str = "arm,epoch,step,split,loss,accuracy,samples_per_s,wall_s";

/// metrics.csv text for `rows` (header included). Rows are grouped by arm (baseline first), each arm's
/// in the order they were produced, so the file does not depend on how the two threads interleaved.
pub fn metrics_csv(rows: &[MetricRow]) -> String {
    let mut out = String::from(METRICS_HEADER);
    out.push('\n');
    let mut sorted: Vec<&MetricRow> = rows.iter().collect();
    sorted.sort_by_key(|r| r.arm);
    for r in sorted {
        out.push_str(&format!(
            "{},{},{},{},{:.6},{:.6},{:.1},{:.3}\n",
            r.arm.name(),
            r.epoch,
            r.step,
            r.split,
            r.loss,
            r.accuracy,
            r.samples_per_s,
            r.wall_s
        ));
    }
    out
}

/// Parse metrics.csv, naming the line and column of anything unexpected.
pub fn read_metrics_csv(path: &Path) -> anyhow::Result<Vec<MetricRow>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_metrics_csv(&text, path)
}

pub fn parse_metrics_csv(text: &str, path: &Path) -> anyhow::Result<Vec<MetricRow>> {
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some(METRICS_HEADER) {
        return Err(InputError::in_file(path, format!("line 1: expected the header `{METRICS_HEADER}`")).into());
    }
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        let lineno = i + 2;
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        let bad = |col: usize, what: &str| -> anyhow::Error {
            InputError::in_file(
                path,
                format!("line {lineno}, column {}: expected {what}, found {:?}", col + 1, f.get(col).unwrap_or(&"")),
            )
            .into()
        };
        if f.len() != 8 {
            return Err(InputError::in_file(
                path,
                format!("line {lineno}: expected 8 comma-separated fields, found {}", f.len()),
            )
            .into());
        }
        let arm = match f[0] {
            "baseline" => crate::train::Arm::Baseline,
            "private" => crate::train::Arm::Private,
            _ => return Err(bad(0, "`baseline` or `private`")),
        };
        let num = |col: usize| f[col].parse::<f64>().map_err(|_| bad(col, "a number"));
        let int = |col: usize| f[col].parse::<usize>().map_err(|_| bad(col, "a non-negative integer"));
        rows.push(MetricRow {
            arm,
            epoch: int(1)?,
            step: int(2)?,
            split: f[3].to_string(),
            loss: num(4)?,
            accuracy: num(5)?,
            samples_per_s: num(6)?,
            wall_s: num(7)?,
        });
    }
    Ok(rows)
}

/// `results/NAME-YYYYMMDD-HHMMSS` (UTC), with a numeric suffix if taken.
pub fn default_run_dir(parent: &Path, name: &str) -> PathBuf {
    let stamp = utc_timestamp_compact();
    let mut dir = parent.join(format!("{name}-{stamp}"));
    let mut k = 2;
    while dir.exists() {
        dir = parent.join(format!("{name}-{stamp}-{k}"));
        k += 1;
    }
    dir
}

/// Seconds since the Unix epoch as (y, m, d, hh, mm, ss) in UTC.
fn utc_parts(secs: u64) -> (i64, u32, u32, u64, u64, u64) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

pub fn utc_timestamp_compact() -> String {
    let (y, m, d, hh, mm, ss) = utc_parts(now_secs());
    format!("{y:04}{m:02}{d:02}-{hh:02}{mm:02}{ss:02}")
}

/// ISO 8601 UTC, e.g. 2026-11-24T02:44:27Z.
pub fn utc_timestamp_iso() -> String {
    let (y, m, d, hh, mm, ss) = utc_parts(now_secs());
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}
