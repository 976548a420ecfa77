//! A run's status, derived in this one place and shown by every front end (`summarize`, the TUI runs
//! view, report.md, the trade-off figure): from summary.json (the interrupted flag, each arm's status
//! and epochs), the run's config.toml (the configured epochs, the enabled attacks) and attacks.json
//! (attacks that ran, stopped early or failed).

use std::path::Path;

use super::attacks::AttacksFile;
use super::{RunFolder, Summary};

/// How training ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Training {
    /// Every arm ran every configured epoch.
    Finished,
    /// Stopped (Ctrl-C, the TUI's stop) before the configured epochs; the finished epochs are kept.
    Interrupted,
    /// An arm failed (`arm` names them all); the other arms' results are kept.
    Failed { arm: String, reason: String },
}

/// The attacks the run's config enabled that have no complete record in attacks.json.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AttackGaps {
    /// Enabled but without a record (not run, or the run ended before them).
    pub missing: Vec<String>,
    /// Could not run: (name, reason).
    pub failed: Vec<(String, String)>,
    /// Stopped early (`complete: false`): their figures hold what was done so far.
    pub incomplete: Vec<String>,
    /// attacks.json exists but cannot be read: why.
    pub unreadable: Option<String>,
}

impl AttackGaps {
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.failed.is_empty() && self.incomplete.is_empty() && self.unreadable.is_none()
    }
}

/// What attacks.json says about completeness: each record's name and `complete` flag, and the
/// failures (a view of [`AttacksFile`], the one schema of the file).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AttacksSeen {
    pub records: Vec<SeenRecord>,
    pub failures: Vec<SeenFailure>,
    /// (arm, attack) pairs that do not apply to the arm's scheme: nothing is missing there.
    pub not_applicable: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SeenRecord {
    pub arm: String,
    pub name: String,
    pub complete: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SeenFailure {
    pub arm: String,
    pub name: String,
    pub reason: String,
}

impl AttacksSeen {
    pub fn of(file: &AttacksFile) -> AttacksSeen {
        AttacksSeen {
            records: file
                .records
                .iter()
                .map(|r| SeenRecord { arm: r.arm.clone(), name: r.name.clone(), complete: r.complete })
                .collect(),
            failures: file
                .failures
                .iter()
                .map(|f| SeenFailure { arm: f.arm.clone(), name: f.name.clone(), reason: f.reason.clone() })
                .collect(),
            not_applicable: file.not_applicable.iter().map(|f| (f.arm.clone(), f.name.clone())).collect(),
        }
    }

    /// `Ok(None)` when the file is absent; `Err(why)` when it cannot be read.
    pub fn load(path: &Path) -> Result<Option<AttacksSeen>, String> {
        if !path.exists() {
            return Ok(None);
        }
        AttacksFile::load(path).map(|f| Some(AttacksSeen::of(&f))).map_err(|e| format!("{e:#}"))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunStatus {
    pub training: Training,
    /// Epochs each arm completed, in arm order.
    pub arm_epochs: Vec<(String, usize)>,
    /// `train.epochs` of the run's config.toml (None when it cannot be read).
    pub configured_epochs: Option<usize>,
    /// Attack names are `NAME` in a run with one attacked arm, `ARM: NAME` with several.
    pub attacks: AttackGaps,
}

impl RunStatus {
    /// The status of the run in `folder`, whose summary.json is `summary`; `attacks` are the attack
    /// names in canonical order (`attacks::registry::names()`, what `enabled = ["all"]` stands for). A
    /// missing or unreadable config.toml leaves the configured epochs unknown and no attack counted as
    /// enabled.
    pub fn load(folder: &RunFolder, summary: &Summary, attacks: &[&str]) -> RunStatus {
        let config = folder.load_config().ok();
        let enabled: Vec<String> = config
            .as_ref()
            .map(|c| {
                let all = c.attacks.enabled.iter().any(|e| e == crate::config::ALL_ATTACKS);
                attacks
                    .iter()
                    .filter(|a| all || c.attacks.enabled.iter().any(|e| e == *a))
                    .map(|a| a.to_string())
                    .collect()
            })
            .unwrap_or_default();
        let attacks = AttacksSeen::load(&folder.attacks_path());
        RunStatus::derive(summary, config.map(|c| c.train.epochs), &enabled, attacks)
    }

    /// The status from what the run left: its summary, the configured epochs, the attacks its config
    /// enabled (run on every keyed arm: split arms have none of these attacks) and attacks.json
    /// (`Ok(None)`: absent).
    pub fn derive(
        summary: &Summary,
        configured_epochs: Option<usize>,
        enabled_attacks: &[String],
        attacks: Result<Option<AttacksSeen>, String>,
    ) -> RunStatus {
        let failed: Vec<&super::ArmRecord> =
            summary.arms.iter().filter(|r| r.status == super::ArmStatus::Failed).collect();
        let fewest = summary.arms.iter().map(|a| a.epochs_completed).min().unwrap_or(0);
        let short_of_epochs = configured_epochs.is_some_and(|c| fewest < c);
        let stopped = summary.arms.iter().any(|a| a.status == super::ArmStatus::Stopped);
        let training = if !failed.is_empty() {
            Training::Failed {
                arm: failed.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(" and "),
                reason: failed
                    .iter()
                    .map(|r| r.failure.clone().unwrap_or_else(|| "no reason recorded".into()))
                    .collect::<Vec<_>>()
                    .join("; "),
            }
        } else if summary.interrupted || stopped || short_of_epochs {
            Training::Interrupted
        } else {
            Training::Finished
        };

        let attacked: Vec<&str> = summary.attacked_arms().map(|a| a.name.as_str()).collect();
        let label = |arm: &str, name: &str| {
            if attacked.len() > 1 {
                format!("{arm}: {name}")
            } else {
                name.to_string()
            }
        };
        let mut gaps = AttackGaps::default();
        match attacks {
            Err(why) => gaps.unreadable = Some(why),
            Ok(seen) => {
                let seen = seen.unwrap_or_default();
                gaps.incomplete = seen.records.iter().filter(|r| !r.complete).map(|r| label(&r.arm, &r.name)).collect();
                gaps.failed = seen.failures.iter().map(|f| (label(&f.arm, &f.name), f.reason.clone())).collect();
                for arm in &attacked {
                    for a in enabled_attacks {
                        let ran = seen.records.iter().any(|r| r.arm == *arm && &r.name == a)
                            || seen.failures.iter().any(|f| f.arm == *arm && &f.name == a)
                            || seen.not_applicable.iter().any(|(x, n)| x == arm && n == a);
                        if !ran {
                            gaps.missing.push(label(arm, a));
                        }
                    }
                }
            }
        }
        RunStatus {
            training,
            arm_epochs: summary.arms.iter().map(|a| (a.name.clone(), a.epochs_completed)).collect(),
            configured_epochs,
            attacks: gaps,
        }
    }

    /// Whether every arm completed the same number of epochs.
    fn arms_agree(&self) -> bool {
        self.arm_epochs.windows(2).all(|w| w[0].1 == w[1].1)
    }

    /// Training finished and every enabled attack has a complete record.
    pub fn is_finished(&self) -> bool {
        self.training == Training::Finished && self.attacks.is_empty()
    }

    /// Epochs completed against those configured: `4/6`, or per arm when the arms differ.
    pub fn epochs(&self) -> String {
        let of = |n: usize| match self.configured_epochs {
            Some(c) => format!("{n}/{c}"),
            None => n.to_string(),
        };
        if self.arms_agree() {
            of(self.arm_epochs.first().map_or(0, |a| a.1))
        } else {
            self.arm_epochs.iter().map(|(arm, n)| format!("{arm} {}", of(*n))).collect::<Vec<_>>().join(", ")
        }
    }

    /// A few words for a table cell or a figure label: `finished`, `interrupted 4/6 epochs`,
    /// `failed (private arm)`, `attacks incomplete`.
    pub fn label(&self) -> String {
        match &self.training {
            Training::Failed { arm, .. } => format!("failed ({arm} arm)"),
            Training::Interrupted => format!("interrupted {} epochs", self.epochs()),
            Training::Finished if self.attacks.is_empty() => "finished".into(),
            Training::Finished => "attacks incomplete".into(),
        }
    }

    /// At most 17 characters, for narrow columns (the TUI runs list): `finished`, `interrupted 4/6`,
    /// `failed`, `attacks missing`, `attacks failed`, `attacks stopped`, `bad attacks.json`.
    pub fn short(&self) -> String {
        let g = &self.attacks;
        match &self.training {
            Training::Failed { .. } => "failed".into(),
            Training::Interrupted if self.arms_agree() => {
                format!("interrupted {}", self.epochs())
            }
            Training::Interrupted => "interrupted".into(),
            Training::Finished if g.unreadable.is_some() => "bad attacks.json".into(),
            Training::Finished if !g.failed.is_empty() => "attacks failed".into(),
            Training::Finished if !g.incomplete.is_empty() => "attacks stopped".into(),
            Training::Finished if !g.missing.is_empty() => "attacks missing".into(),
            Training::Finished => "finished".into(),
        }
    }

    /// Everything that is not finished, in words (empty for a finished run).
    pub fn detail(&self) -> String {
        let mut parts = Vec::new();
        match &self.training {
            Training::Finished => {}
            Training::Interrupted if !self.arms_agree() => parts.push(format!(
                "training interrupted after {} epochs; accuracies are each arm's last finished epoch, so the \
                 delta compares different epochs",
                self.epochs()
            )),
            Training::Interrupted => parts.push(format!(
                "training interrupted after {} epochs; accuracies are the last finished epoch's",
                self.epochs()
            )),
            Training::Failed { arm, reason } => parts.push(format!("the {arm} arm failed: {reason}")),
        }
        let g = &self.attacks;
        if let Some(why) = &g.unreadable {
            parts.push(format!("attacks.json unreadable ({why})"));
        }
        if !g.failed.is_empty() {
            let list: Vec<String> = g.failed.iter().map(|(n, r)| format!("{n} ({r})")).collect();
            parts.push(format!("attacks failed: {}", list.join(", ")));
        }
        if !g.incomplete.is_empty() {
            parts.push(format!("attacks stopped early: {}", g.incomplete.join(", ")));
        }
        if !g.missing.is_empty() {
            let why = if self.training == Training::Finished { "" } else { " (training did not finish)" };
            parts.push(format!("enabled attacks not run{why}: {}", g.missing.join(", ")));
        }
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Summary {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run-pixel-permutation");
        Summary::load(&dir.join("summary.json")).unwrap()
    }

    fn seen(records: &[(&str, bool)], failures: &[(&str, &str)]) -> Result<Option<AttacksSeen>, String> {
        Ok(Some(AttacksSeen {
            records: records
                .iter()
                .map(|(n, c)| SeenRecord { arm: "private".into(), name: n.to_string(), complete: *c })
                .collect(),
            failures: failures
                .iter()
                .map(|(n, r)| SeenFailure { arm: "private".into(), name: n.to_string(), reason: r.to_string() })
                .collect(),
            not_applicable: Vec::new(),
        }))
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_finished_run_with_its_attacks_is_finished() {
        let s = RunStatus::derive(&fixture(), Some(3), &names(&["key-space"]), seen(&[("key-space", true)], &[]));
        assert!(s.is_finished());
        assert_eq!(
            (s.label(), s.short(), s.epochs(), s.detail()),
            ("finished".into(), "finished".into(), "3/3".into(), String::new())
        );
        // No config: epochs without a total, no attack counted as enabled.
        let s = RunStatus::derive(&fixture(), None, &[], Ok(None));
        assert!(s.is_finished());
        assert_eq!(s.epochs(), "3");
    }

    #[test]
    fn an_attack_that_does_not_apply_is_not_missing() {
        let mut attacks = seen(&[("key-space", true)], &[]);
        if let Ok(Some(a)) = &mut attacks {
            a.not_applicable.push(("private".into(), "jigsaw".into()));
        }
        let s = RunStatus::derive(&fixture(), Some(3), &names(&["key-space", "jigsaw"]), attacks);
        assert!(s.is_finished(), "{}", s.detail());
        // Without the entry, the same run misses an attack.
        let s =
            RunStatus::derive(&fixture(), Some(3), &names(&["key-space", "jigsaw"]), seen(&[("key-space", true)], &[]));
        assert!(!s.is_finished());
    }

    #[test]
    fn an_interrupted_run_says_how_many_epochs_it_finished() {
        let mut sum = fixture();
        sum.interrupted = true;
        for arm in &mut sum.arms {
            arm.status = crate::results::ArmStatus::Stopped;
            arm.epochs_completed = 4;
        }
        let s = RunStatus::derive(&sum, Some(6), &names(&["inversion"]), Ok(None));
        assert_eq!(s.training, Training::Interrupted);
        assert!(!s.is_finished());
        assert_eq!(s.label(), "interrupted 4/6 epochs");
        assert_eq!(s.short(), "interrupted 4/6");
        assert!(s.detail().contains("after 4/6 epochs"), "{}", s.detail());
        assert!(s.detail().contains("not run (training did not finish): inversion"), "{}", s.detail());
        // Arms that stopped at different epochs are both named.
        sum.arms[1].epochs_completed = 3;
        let s = RunStatus::derive(&sum, Some(6), &[], Ok(None));
        assert_eq!(s.epochs(), "baseline 4/6, private 3/6");
        assert!(s.detail().contains("compares different epochs"), "{}", s.detail());
        assert_eq!(s.short(), "interrupted");
        // Fewer epochs than configured is not finished even without the flag.
        let s = RunStatus::derive(&fixture(), Some(5), &[], Ok(None));
        assert_eq!(s.label(), "interrupted 3/5 epochs");
    }

    #[test]
    fn a_failed_arm_is_named_with_its_reason() {
        let mut sum = fixture();
        sum.arms[1].status = crate::results::ArmStatus::Failed;
        sum.arms[1].failure = Some("loss became inf at epoch 2".into());
        let s = RunStatus::derive(&sum, Some(3), &[], Ok(None));
        assert_eq!(s.training, Training::Failed { arm: "private".into(), reason: "loss became inf at epoch 2".into() });
        assert_eq!(s.label(), "failed (private arm)");
        assert_eq!(s.short(), "failed");
        assert_eq!(s.detail(), "the private arm failed: loss became inf at epoch 2");
    }

    #[test]
    fn missing_failed_and_stopped_attacks_make_the_run_incomplete() {
        let enabled = names(&["key-space", "statistical", "inversion", "fine-tune"]);
        let s = RunStatus::derive(
            &fixture(),
            Some(3),
            &enabled,
            seen(&[("key-space", true), ("fine-tune", false)], &[("statistical", "no auxiliary data")]),
        );
        assert_eq!(s.training, Training::Finished);
        assert!(!s.is_finished());
        assert_eq!(s.label(), "attacks incomplete");
        assert_eq!(s.short(), "attacks failed");
        assert_eq!(s.attacks.missing, names(&["inversion"]));
        assert_eq!(s.attacks.incomplete, names(&["fine-tune"]));
        assert_eq!(
            s.detail(),
            "attacks failed: statistical (no auxiliary data); attacks stopped early: fine-tune; enabled attacks not run: inversion"
        );
        // attacks.json absent although attacks were enabled: all of them missing.
        let s = RunStatus::derive(&fixture(), Some(3), &enabled, Ok(None));
        assert_eq!(s.attacks.missing, enabled);
        assert_eq!(s.short(), "attacks missing");
        let s = RunStatus::derive(&fixture(), Some(3), &[], Err("attacks.json: not JSON".into()));
        assert_eq!(s.short(), "bad attacks.json");
    }

    #[test]
    fn the_committed_fixture_loads_as_finished() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run-pixel-permutation");
        let folder = RunFolder::open(&dir).unwrap();
        let s = RunStatus::load(&folder, &folder.load_summary().unwrap(), &crate::attacks::registry::names());
        assert_eq!(s.configured_epochs, Some(3));
        assert!(s.is_finished(), "{s:?}");
    }
}
