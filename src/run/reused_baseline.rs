//! A baseline trained once and reused. In a sweep, runs whose baselines are identical (same data,
//! model, training settings and seed: [`Config::baseline_identity`]) need not train it again: arms
//! are independent (same seed, initialisation and batch order whatever the other arms), so the
//! baseline of the first such run is the baseline of all of them. A reusing run copies the arm's
//! model, metric rows and summary record from that run's folder and records where they came from
//! (`ArmRecord::reused_from`). When the folder does not hold a finished, identical baseline (the other
//! run failed, is still running, or its config differs), the run trains its own and says why.

use std::path::Path;
use std::sync::mpsc::Sender;

use crate::attacks::Event;
use crate::config::Config;
use crate::results::{ArmRecord, ArmStatus, RunFolder};
use crate::train::{ArmOutcome, ArmSummary, MetricRow};

/// A finished baseline found in another run folder.
#[derive(Debug, Clone)]
pub struct ReusedBaseline {
    /// The run folder's name (what `reused_from` records).
    pub from: String,
    pub record: ArmRecord,
    pub rows: Vec<MetricRow>,
    model: std::path::PathBuf,
}

/// The baseline arm of `config` as trained in the run folder `dir`, or why it cannot be reused.
pub fn find(config: &Config, dir: &Path) -> Result<ReusedBaseline, String> {
    let ours = config.baseline_identity().ok_or("this run has no baseline arm")?;
    let folder = RunFolder::open(dir).map_err(|e| format!("{e:#}"))?;
    let theirs = folder.load_config().map_err(|e| format!("{e:#}"))?;
    if theirs.baseline_identity().as_deref() != Some(ours.as_str()) {
        return Err("its data, model, training settings or seed differ".into());
    }
    let summary = folder.load_summary().map_err(|e| format!("no finished summary.json ({e:#})"))?;
    let record = summary.arms.iter().find(|a| a.is_baseline()).ok_or("its summary.json has no baseline arm")?.clone();
    if record.status != ArmStatus::Finished {
        return Err(format!("its baseline did not finish ({:?})", record.status));
    }
    let model = folder.model_path(&record.name);
    if !model.is_file() {
        return Err(format!("{} is missing", model.display()));
    }
    let rows: Vec<MetricRow> =
        folder.load_metrics().map_err(|e| format!("{e:#}"))?.into_iter().filter(|r| r.arm == record.name).collect();
    if rows.is_empty() {
        return Err("its metrics.csv has no rows of the baseline".into());
    }
    let from = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| dir.display().to_string());
    Ok(ReusedBaseline { from, record, rows, model })
}

impl ReusedBaseline {
    /// In place of training: copy the model to `save_to` and report the arm's rows and end as its
    /// training did, so metrics.csv, summary.json and the live views are filled as for a trained arm.
    pub fn replay(&self, save_to: Option<&Path>, events: &Sender<Event>) -> ArmOutcome {
        let arm = self.record.name.clone();
        if let Some(to) = save_to {
            let copied = std::fs::read(&self.model)
                .map_err(anyhow::Error::from)
                .and_then(|bytes| crate::atomic::write(to, &bytes));
            if let Err(e) = copied {
                let reason = format!("cannot copy the reused baseline's model {}: {e:#}", self.model.display());
                let _ = events.send(Event::TrainFailed { arm, reason: reason.clone() });
                return ArmOutcome::Failed(reason);
            }
        }
        let _ = events.send(Event::Log(format!(
            "`{arm}`: reused from run {} (identical data, model, training settings and seed; trained once)",
            self.from
        )));
        for row in &self.rows {
            let _ = events.send(Event::Metric(row.clone()));
        }
        let r = &self.record;
        let summary = ArmSummary {
            test_accuracy: r.test_accuracy,
            train_seconds: r.train_seconds,
            samples_per_second: r.samples_per_second,
            epochs_completed: r.epochs_completed,
            epoch_seconds: r.epoch_seconds.clone(),
            paused_seconds: r.paused_seconds,
        };
        let _ = events.send(Event::TrainFinished { arm, summary: summary.clone() });
        ArmOutcome::Finished(summary)
    }
}
