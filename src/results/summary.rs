//! summary.json: the run's headline figures, all measured in that run.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::{Schedule, SchemeConfig};
use crate::data::ImageShape;
use crate::error::InputError;
use crate::results::stats::{self, Interval};
use crate::train::split::exchange::SplitTraffic;

/// Bumped when the run folder layout changes incompatibly. Format 1 (two fixed arms, `baseline` and
/// `private`) still reads: [`Summary::load`] migrates it.
pub const RUN_FORMAT_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetRecord {
    pub name: String,
    pub train: usize,
    pub test: usize,
    pub shape: ImageShape,
    pub classes: usize,
    /// Class names by label when the dataset gives them (`data.classes`, image folders).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub class_names: Vec<String>,
}

/// How an arm's training ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArmStatus {
    Finished,
    /// Stopped early on request (Ctrl-C, TUI stop): the completed epochs are kept.
    Stopped,
    Failed,
}

impl ArmStatus {
    pub fn name(self) -> &'static str {
        match self {
            ArmStatus::Finished => "finished",
            ArmStatus::Stopped => "stopped",
            ArmStatus::Failed => "failed",
        }
    }
}

/// One arm's headline figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmRecord {
    /// Unique in the run; names the arm in every output.
    pub name: String,
    /// The arm's architecture where it is not the run's `arch` (`arch` in its `[[arms]]` entry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// The arm's protection as configured (any fixed key removed).
    pub scheme: SchemeConfig,
    /// The scheme in words, e.g. "pixel-permutation; labels: permuted, m=1".
    pub description: String,
    /// Public fingerprint of a keyed arm's key (not the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_fingerprint: Option<String>,
    /// Whether the key came from the config's `fixed_key` (reproducible) or was fresh.
    #[serde(default)]
    pub fixed_key: bool,
    pub status: ArmStatus,
    pub test_accuracy: f64,
    pub train_seconds: f64,
    pub samples_per_second: f64,
    pub epochs_completed: usize,
    /// Training seconds of each completed epoch; these, train_seconds and samples_per_second leave out
    /// the time the run was paused.
    pub epoch_seconds: Vec<f64>,
    /// Seconds this arm's training waited while the run was paused (absent: never paused).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub paused_seconds: f64,
    /// test_accuracy minus the baseline's (a fraction, not points); None for the baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_delta: Option<f64>,
    /// Seconds the customer spent encoding this arm's training set (keyed arms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encode_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// 95% Wilson interval of test_accuracy over the run's test samples (files without it: computed on
    /// read, [`Summary::fill_intervals`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_interval: Option<Interval>,
    /// 95% interval of accuracy_delta: unpaired normal, conservative ([`stats::difference_unpaired`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta_interval: Option<Interval>,
    /// A split arm's parties and the bytes that crossed between them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitTraffic>,
    /// A baseline trained once in another run of the same sweep (identical data, model, training
    /// settings and seed) and copied from that run's folder, named here: its accuracy, curves and
    /// model are that run's, its timings were measured there (beside that run's other arms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reused_from: Option<String>,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

impl ArmRecord {
    pub fn is_baseline(&self) -> bool {
        matches!(self.scheme, SchemeConfig::None)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub format_version: u32,
    pub name: String,
    pub seed: u64,
    pub arch: String,
    pub dataset: DatasetRecord,
    /// Every arm in config order; exactly one is the baseline (scheme "none").
    pub arms: Vec<ArmRecord>,
    pub schedule: Schedule,
    pub interrupted: bool,
    pub started_at: String,
    pub finished_at: String,
    pub ppdl_version: String,
    /// Versions of the crates that produced the numbers (from Cargo.lock at build time).
    pub crate_versions: BTreeMap<String, String>,
    pub threads: usize,
}

impl Summary {
    /// Read summary.json of this format, or of format 1 (migrated: its two arms become `baseline`
    /// and `private`, the private arm's scheme taken from the config.toml beside it).
    pub fn load(path: &Path) -> anyhow::Result<Summary> {
        let text = std::fs::read_to_string(path).map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            InputError::in_file(path, format!("line {} column {}: invalid JSON: {e}", e.line(), e.column()))
        })?;
        let unexpected = |e: serde_json::Error| InputError::in_file(path, format!("unexpected content: {e}"));
        match value.get("format_version").and_then(|v| v.as_u64()).unwrap_or(0) {
            2 => {
                let mut summary: Summary = serde_json::from_value(value).map_err(unexpected)?;
                summary.fill_intervals();
                Ok(summary)
            }
            1 => {
                let old: v1::Summary = serde_json::from_value(value).map_err(unexpected)?;
                let config = path.with_file_name("config.toml");
                let privacy = crate::config::Config::load_fields(&config)
                    .map_err(|e| {
                        InputError::in_file(path, format!("format-1 summary.json is read with its config.toml: {e:#}"))
                    })?
                    .privacy
                    .unwrap_or_default();
                let mut summary = old.into_current(privacy);
                summary.fill_intervals();
                Ok(summary)
            }
            version => Err(InputError::in_file(
                path,
                format!(
                    "field `format_version`: run folder format {version}, but this ppdl reads formats 1 and \
                     {RUN_FORMAT_VERSION} (re-run the experiment with this version)"
                ),
            )
            .into()),
        }
    }

    /// Give every arm its accuracy interval (Wilson over the test samples) and every protected arm the
    /// interval of its delta, where absent (older files; a new run's records).
    pub fn fill_intervals(&mut self) {
        let n = self.dataset.test;
        let baseline = self.baseline().map(|b| b.test_accuracy);
        for arm in &mut self.arms {
            if arm.accuracy_interval.is_none() {
                arm.accuracy_interval = Some(stats::wilson(arm.test_accuracy, n));
            }
            if let (None, Some(_), Some(b)) = (arm.delta_interval, arm.accuracy_delta, baseline) {
                arm.delta_interval = Some(stats::difference_unpaired(arm.test_accuracy, n, b, n));
            }
        }
    }

    /// The baseline arm (the one with no protection).
    pub fn baseline(&self) -> Option<&ArmRecord> {
        self.arms.iter().find(|a| a.is_baseline())
    }

    /// The protected arms, in order.
    pub fn protected(&self) -> impl Iterator<Item = &ArmRecord> {
        self.arms.iter().filter(|a| !a.is_baseline())
    }

    /// The architecture `arm` trained: its own, else the run's.
    pub fn arch_of<'a>(&'a self, arm: &'a ArmRecord) -> &'a str {
        arm.arch.as_deref().unwrap_or(&self.arch)
    }

    /// The run's architectures in words: `arch`, then any other an arm trained ([`crate::config::archs_label`]).
    pub fn archs_label(&self) -> String {
        crate::config::archs_label(&self.arch, self.arms.iter().filter_map(|a| a.arch.as_deref()))
    }

    pub fn arm(&self, name: &str) -> Option<&ArmRecord> {
        self.arms.iter().find(|a| a.name == name)
    }

    /// The arms with a key (what `infer` serves and the attacks attack), in order.
    pub fn keyed_arms(&self) -> impl Iterator<Item = &ArmRecord> {
        self.arms.iter().filter(|a| a.scheme.keyed().is_some())
    }

    /// The arms attacks run on: every protected arm (keyed, split, InstaHide), not the baseline.
    pub fn attacked_arms(&self) -> impl Iterator<Item = &ArmRecord> {
        self.arms
            .iter()
            .filter(|a| a.scheme.keyed().is_some() || a.scheme.split().is_some() || a.scheme.instahide().is_some())
    }

    /// The attacked arm `name` (`--arm NAME` of `attack`), or an input error listing them.
    pub fn attacked_arm(&self, name: &str, run_dir: &Path) -> anyhow::Result<&ArmRecord> {
        self.attacked_arms().find(|a| a.name == name).ok_or_else(|| {
            let names = self.attacked_arms().map(|a| format!("`{}`", a.name)).collect::<Vec<_>>().join(", ");
            let hint = crate::error::did_you_mean(name, self.attacked_arms().map(|a| a.name.as_str()));
            InputError::new(format!(
                "{}: --arm {name}: expected a keyed, split or InstaHide arm of this run, one of {names}{hint}",
                run_dir.display()
            ))
            .into()
        })
    }

    /// The keyed arm `name` (`--arm NAME` of `infer` and `attack` on the run in `run_dir`), or an
    /// input error listing the run's keyed arms with a suggestion.
    pub fn keyed_arm(&self, name: &str, run_dir: &Path) -> anyhow::Result<&ArmRecord> {
        self.keyed_arms().find(|a| a.name == name).ok_or_else(|| {
            let names = self.keyed_arms().map(|a| format!("`{}`", a.name)).collect::<Vec<_>>().join(", ");
            let hint = crate::error::did_you_mean(name, self.keyed_arms().map(|a| a.name.as_str()));
            InputError::new(format!(
                "{}: --arm {name}: expected a keyed arm of this run, one of {names}{hint}",
                run_dir.display()
            ))
            .into()
        })
    }
}

/// summary.json format 1: two fixed arms.
mod v1 {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::{ArmStatus, DatasetRecord};
    use crate::config::{PrivacyConfig, Schedule, SchemeConfig, BASELINE_ARM, PRIVATE_ARM};
    use crate::scheme::transforms::DescribePrivacy;

    #[derive(Deserialize)]
    pub struct ArmRecord {
        status: ArmStatus,
        test_accuracy: f64,
        train_seconds: f64,
        samples_per_second: f64,
        epochs_completed: usize,
        epoch_seconds: Vec<f64>,
        #[serde(default)]
        failure: Option<String>,
    }

    #[derive(Deserialize)]
    pub struct Summary {
        name: String,
        seed: u64,
        arch: String,
        privacy: String,
        key_fingerprint: String,
        fixed_key: bool,
        dataset: DatasetRecord,
        baseline: ArmRecord,
        private: ArmRecord,
        accuracy_delta: f64,
        encode_seconds: f64,
        schedule: Schedule,
        interrupted: bool,
        started_at: String,
        finished_at: String,
        ppdl_version: String,
        crate_versions: BTreeMap<String, String>,
        threads: usize,
    }

    impl ArmRecord {
        fn into_current(self, name: &str, scheme: SchemeConfig, description: String) -> super::ArmRecord {
            super::ArmRecord {
                name: name.into(),
                arch: None,
                scheme,
                description,
                key_fingerprint: None,
                fixed_key: false,
                status: self.status,
                test_accuracy: self.test_accuracy,
                train_seconds: self.train_seconds,
                samples_per_second: self.samples_per_second,
                epochs_completed: self.epochs_completed,
                epoch_seconds: self.epoch_seconds,
                paused_seconds: 0.0,
                accuracy_delta: None,
                encode_seconds: None,
                failure: self.failure,
                accuracy_interval: None,
                delta_interval: None,
                split: None,
                reused_from: None,
            }
        }
    }

    impl Summary {
        pub fn into_current(self, privacy: PrivacyConfig) -> super::Summary {
            let baseline = self.baseline.into_current(BASELINE_ARM, SchemeConfig::None, SchemeConfig::None.describe());
            let mut private = self.private.into_current(
                PRIVATE_ARM,
                SchemeConfig::Keyed(PrivacyConfig { fixed_key: None, ..privacy }),
                self.privacy,
            );
            private.key_fingerprint = Some(self.key_fingerprint);
            private.fixed_key = self.fixed_key;
            private.accuracy_delta = Some(self.accuracy_delta);
            private.encode_seconds = Some(self.encode_seconds);
            super::Summary {
                format_version: super::RUN_FORMAT_VERSION,
                name: self.name,
                seed: self.seed,
                arch: self.arch,
                dataset: self.dataset,
                arms: vec![baseline, private],
                schedule: self.schedule,
                interrupted: self.interrupted,
                started_at: self.started_at,
                finished_at: self.finished_at,
                ppdl_version: self.ppdl_version,
                crate_versions: self.crate_versions,
                threads: self.threads,
            }
        }
    }
}

/// Crate versions recorded by build.rs from Cargo.lock.
pub fn crate_versions() -> BTreeMap<String, String> {
    env!("PPDL_CRATE_VERSIONS")
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
