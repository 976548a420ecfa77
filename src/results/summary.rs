//! summary.json: the run's headline figures, all measured in that run.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::ImageShape;
use crate::error::InputError;

/// Bumped when the run folder layout changes incompatibly.
pub const RUN_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetRecord {
    pub name: String,
    pub train: usize,
    pub test: usize,
    pub shape: ImageShape,
    pub classes: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmRecord {
    /// "finished", "stopped" or "failed".
    pub status: String,
    pub test_accuracy: f64,
    pub train_seconds: f64,
    pub samples_per_second: f64,
    pub epochs_completed: usize,
    pub epoch_seconds: Vec<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub format_version: u32,
    pub name: String,
    pub seed: u64,
    pub arch: String,
    /// Human description of the privacy settings, e.g. "pixel-permutation | labels: permuted, m=1".
    pub privacy: String,
    /// Public fingerprint of the key (not the key).
    pub key_fingerprint: String,
    /// Whether the key came from `privacy.fixed_key` (reproducible) or was fresh.
    pub fixed_key: bool,
    pub dataset: DatasetRecord,
    pub baseline: ArmRecord,
    pub private: ArmRecord,
    /// private.test_accuracy - baseline.test_accuracy (fraction, not points).
    pub accuracy_delta: f64,
    /// Seconds the customer spent encoding the training set.
    pub encode_seconds: f64,
    pub schedule: String,
    pub interrupted: bool,
    pub started_at: String,
    pub finished_at: String,
    pub ppdl_version: String,
    /// Versions of the crates that produced the numbers (from Cargo.lock at build time).
    pub crate_versions: BTreeMap<String, String>,
    pub threads: usize,
}

impl Summary {
    pub fn load(path: &Path) -> anyhow::Result<Summary> {
        let text = std::fs::read_to_string(path).map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            InputError::in_file(path, format!("line {} column {}: invalid JSON: {e}", e.line(), e.column()))
        })?;
        let version = value.get("format_version").and_then(|v| v.as_u64()).unwrap_or(0);
        if version != RUN_FORMAT_VERSION as u64 {
            return Err(InputError::in_file(
                path,
                format!("run folder format {version}, but this ppdl reads format {RUN_FORMAT_VERSION} (re-run the experiment with this version)"),
            )
            .into());
        }
        serde_json::from_value(value).map_err(|e| InputError::in_file(path, format!("unexpected content: {e}")).into())
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
