//! Everything `plot` reads from a run folder, loaded up front so that bad input is reported before a
//! single file is written. Every file is read through its one schema in `results` (and
//! `overhead::OverheadReport`), older formats migrated there; verdicts of format-1 attacks.json are
//! decided by `attacks::load_file`, so every front end shows the same level and rule.

use std::path::{Path, PathBuf};

use crate::error::InputError;
use crate::overhead::OverheadReport;
use crate::results::attacks::AttacksFile;
use crate::results::samples::SamplesFile;
use crate::results::{ArmRecord, RunFolder, RunStatus, Summary};
use crate::train::{MetricRow, MetricSplit};

/// One run folder's saved results.
#[derive(Debug, Clone)]
pub struct RunData {
    pub folder: RunFolder,
    pub summary: Summary,
    /// Finished, interrupted, failed or attacks incomplete ([`RunStatus`]).
    pub status: RunStatus,
    pub metrics: Vec<MetricRow>,
    /// config.toml as written by the run (None when the file is missing).
    pub config_text: Option<String>,
    /// None: attacks.json absent (attacks not run).
    pub attacks: Option<AttacksFile>,
    /// None: overhead.json absent (overhead analysis not run).
    pub overhead: Option<OverheadReport>,
    /// Each keyed arm's sample images (arm name, file), in arm order; arms without a file are left out.
    pub samples: Vec<(String, SamplesFile)>,
}

impl RunData {
    /// Load and check everything `plot` needs; bad input is an [`InputError`] naming the file.
    pub fn load(dir: &Path) -> anyhow::Result<RunData> {
        if !dir.is_dir() {
            return Err(InputError::new(format!("{}: not a folder (expected a ppdl run folder)", dir.display())).into());
        }
        let folder = RunFolder::open(dir)?;
        let summary = folder.load_summary()?;
        let metrics_path = folder.metrics_path();
        if !metrics_path.is_file() {
            return Err(InputError::in_file(
                &metrics_path,
                format!("missing: expected the run's metrics (header `{}`)", crate::results::METRICS_HEADER),
            )
            .into());
        }
        let text = std::fs::read_to_string(&metrics_path)
            .map_err(|e| InputError::in_file(&metrics_path, format!("cannot read: {e}")))?;
        let metrics = crate::results::parse_metrics_csv(&text, &metrics_path)?;
        let config_text = std::fs::read_to_string(folder.config_path()).ok();
        let attacks_path = folder.attacks_path();
        let attacks = if attacks_path.is_file() { Some(crate::attacks::load_file(&attacks_path)?) } else { None };
        let overhead = OverheadReport::load(&folder.overhead_path())?;
        let mut samples = Vec::new();
        for arm in summary.protected() {
            if let Some(file) = SamplesFile::load(&SamplesFile::path(&folder, &arm.name))? {
                samples.push((arm.name.clone(), file));
            }
        }
        let status = RunStatus::load(&folder, &summary, &crate::attacks::registry::names());
        Ok(RunData { folder, summary, status, metrics, config_text, attacks, overhead, samples })
    }

    pub fn figures_dir(&self) -> PathBuf {
        self.folder.figures_dir()
    }

    /// Test rows of one arm, in epoch order.
    pub fn test_rows(&self, arm: &str) -> Vec<&MetricRow> {
        let mut rows: Vec<&MetricRow> =
            self.metrics.iter().filter(|r| r.arm == arm && r.split == MetricSplit::Test).collect();
        rows.sort_by_key(|r| (r.epoch, r.step));
        rows
    }

    /// Train rows of one arm, in step order.
    pub fn train_rows(&self, arm: &str) -> Vec<&MetricRow> {
        let mut rows: Vec<&MetricRow> =
            self.metrics.iter().filter(|r| r.arm == arm && r.split == MetricSplit::Train).collect();
        rows.sort_by_key(|r| r.step);
        rows
    }

    /// Whether the run has more than one protected arm (figure names and titles then name the arm).
    pub fn several_protected(&self) -> bool {
        self.summary.protected().count() > 1
    }

    /// An arm's position among the run's protected arms (its colour and marker); 0 for the baseline.
    pub fn protected_index(&self, arm: &str) -> usize {
        self.summary.protected().position(|a| a.name == arm).unwrap_or(0)
    }
}

/// Output codes per class of an arm (label splitting; 1 for arms without it).
pub fn codes_per_class(arm: &ArmRecord) -> usize {
    arm.scheme.keyed().map_or(1, |p| p.codes_per_class)
}
