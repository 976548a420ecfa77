//! The run folder: layout, atomic writes, CSV/JSON records, and reloading them for `plot`/`attack`.

pub mod attacks;
pub mod notes;
pub mod samples;
pub mod stats;
pub mod status;
pub mod summary;
pub mod sweep;

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::error::InputError;
use crate::train::{MetricRow, MetricSplit};

pub use status::RunStatus;
pub use summary::{ArmRecord, ArmStatus, DatasetRecord, Summary, RUN_FORMAT_VERSION};

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
        for dir in [run.root.clone(), run.provider_dir(), run.customer_dir()] {
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
    /// An arm's trained weights: `provider/ARM/model.safetensors` (format 1: `baseline/` and
    /// `provider/model.safetensors`).
    pub fn model_path(&self, arm: &str) -> PathBuf {
        self.current_or_format_1(self.provider_dir().join(arm).join("model.safetensors"), |r| match arm {
            crate::config::BASELINE_ARM => Some(r.join("baseline").join("model.safetensors")),
            crate::config::PRIVATE_ARM => Some(r.join("provider").join("model.safetensors")),
            _ => None,
        })
    }
    /// sha256 digests of what the provider received for a keyed arm: `provider/ARM/encoded-data.json`.
    pub fn provider_digests_path(&self, arm: &str) -> PathBuf {
        self.current_or_format_1(self.provider_dir().join(arm).join("encoded-data.json"), |r| {
            (arm == crate::config::PRIVATE_ARM).then(|| r.join("provider").join("encoded-data.json"))
        })
    }
    /// A keyed arm's secret key: `customer/ARM/key.json` (format 1: `customer/key.json`).
    pub fn key_path(&self, arm: &str) -> PathBuf {
        self.current_or_format_1(self.customer_dir().join(arm).join("key.json"), |r| {
            (arm == crate::config::PRIVATE_ARM).then(|| r.join("customer").join("key.json"))
        })
    }

    /// A keyed arm's sample images (raw, encoded, decoded, reconstructed): `samples/ARM.json`
    /// (format 1: `samples.json`).
    pub fn samples_path(&self, arm: &str) -> PathBuf {
        self.current_or_format_1(self.root.join("samples").join(format!("{arm}.json")), |r| {
            (arm == crate::config::PRIVATE_ARM).then(|| r.join("samples.json"))
        })
    }

    /// A split arm's sample of the gradients its provider received (`train::split::observed`):
    /// `provider/ARM/received-gradients.safetensors`.
    pub fn received_gradients_path(&self, arm: &str) -> PathBuf {
        self.provider_dir().join(arm).join("received-gradients.safetensors")
    }

    /// The true labels of those rows, on the customer's side: `customer/ARM/received-labels.safetensors`.
    pub fn received_labels_path(&self, arm: &str) -> PathBuf {
        self.customer_dir().join(arm).join("received-labels.safetensors")
    }

    /// `current` unless only the format-1 file of the two-arm layout exists.
    fn current_or_format_1(&self, current: PathBuf, format_1: impl Fn(&Path) -> Option<PathBuf>) -> PathBuf {
        match format_1(&self.root) {
            Some(old) if !current.exists() && old.exists() => old,
            _ => current,
        }
    }

    /// A split arm's part the customer keeps, `head` or `tail`: `customer/ARM/PART.safetensors`.
    pub fn split_part_path(&self, arm: &str, part: &str) -> PathBuf {
        self.customer_dir().join(arm).join(format!("{part}.safetensors"))
    }

    /// Every file of the split arm `arm`, as training writes them and the attacks read them: the
    /// provider's middle, the customer's head and tail, and the kept received-gradient sample with its
    /// labels.
    pub fn split_saves(&self, arm: &str) -> crate::train::split::SplitSaves {
        crate::train::split::SplitSaves {
            middle: self.model_path(arm),
            head: self.split_part_path(arm, "head"),
            tail: self.split_part_path(arm, "tail"),
            received: self.received_gradients_path(arm),
            received_labels: self.received_labels_path(arm),
        }
    }

    /// Create the folders an arm's files go in: the provider's, and for a keyed arm the customer's
    /// (inside `customer/`, mode 0700) and `samples/`.
    pub fn create_arm_dirs(&self, arm: &str, keyed: bool) -> anyhow::Result<()> {
        let mut dirs = vec![self.provider_dir().join(arm)];
        if keyed {
            dirs.extend([self.customer_dir().join(arm), self.root.join("samples")]);
        }
        for dir in dirs {
            std::fs::create_dir_all(&dir)
                .map_err(|e| InputError::new(format!("{}: cannot create output folder: {e}", dir.display())))?;
        }
        Ok(())
    }

    /// `customer/ARM/` (mode 0700 through `customer/`) for an arm whose customer keeps files: a split
    /// arm's head and tail, `customer/ARM/{head,tail}.safetensors`; and `samples/` for its sample images.
    pub fn create_customer_dir(&self, arm: &str) -> anyhow::Result<()> {
        for dir in [self.customer_dir().join(arm), self.root.join("samples")] {
            std::fs::create_dir_all(&dir)
                .map_err(|e| InputError::new(format!("{}: cannot create output folder: {e}", dir.display())))?;
        }
        Ok(())
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
        use crate::scheme::transforms::{check_config_transforms, resolve_config_transforms};
        let path = self.config_path();
        let mut config = crate::config::Config::load_fields(&path)?;
        check_config_transforms(&config).map_err(|(field, expected)| {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            crate::config::field_error(&text, &path, &field, &expected)
        })?;
        resolve_config_transforms(&mut config);
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

/// metrics.csv text for `rows` (header included). Rows are grouped by arm in the order of `arms`
/// (the config's), each arm's in the order they were produced, so the file does not depend on how the
/// trainer threads interleaved.
pub fn metrics_csv(rows: &[MetricRow], arms: &[String]) -> String {
    let mut out = String::from(METRICS_HEADER);
    out.push('\n');
    let mut sorted: Vec<&MetricRow> = rows.iter().collect();
    sorted.sort_by_key(|r| arms.iter().position(|a| *a == r.arm).unwrap_or(usize::MAX));
    for r in sorted {
        out.push_str(&format!(
            "{},{},{},{},{:.6},{:.6},{:.1},{:.3}\n",
            r.arm,
            r.epoch,
            r.step,
            r.split.name(),
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
        if f[0].is_empty() {
            return Err(bad(0, "an arm name"));
        }
        let split = MetricSplit::from_name(f[3]).ok_or_else(|| bad(3, "`train` or `test`"))?;
        let num = |col: usize| f[col].parse::<f64>().map_err(|_| bad(col, "a number"));
        let int = |col: usize| f[col].parse::<usize>().map_err(|_| bad(col, "a non-negative integer"));
        rows.push(MetricRow {
            arm: f[0].to_string(),
            epoch: int(1)?,
            step: int(2)?,
            split,
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
