//! Reading `attacks.json` with verdicts: the schema is `results::attacks`; format-1 records (older runs)
//! come without a level and are decided here, by the same rule set as new ones (`super::verdict`).

use std::path::Path;

use super::recon::{MEAN_PSNR, NO_ATTACK_LABEL};
use super::verdict::decide;
use crate::results::attacks::{AttackRecord, AttacksFile, Level};

/// `attacks.json` with every record's verdict: format 2 as stored, format 1 re-decided.
pub fn load_file(path: &Path) -> anyhow::Result<AttacksFile> {
    let mut file = AttacksFile::load(path)?;
    for r in &mut file.records {
        if let Some(broken) = r.format_1_broken.take() {
            settle_format_1(r, broken);
        }
    }
    Ok(file)
}

/// Decide a format-1 record: its references as format 2 states them, then the rule; its own `broken`
/// and verdict text where its figures do not let the rule decide.
fn settle_format_1(r: &mut AttackRecord, broken: bool) {
    // Format 1 gave reconstructions a "chance" of 0 dB; the no-attack PSNR is the mean image's.
    if r.headline.unit == "dB" && r.chance.is_some_and(|c| c <= 0.0) {
        let mean_baseline = r.baseline_label.as_deref().is_some_and(|l| l.contains("mean image"));
        r.chance = r.figure(MEAN_PSNR).or(r.baseline.filter(|_| mean_baseline));
        r.chance_label = r.chance.map(|_| NO_ATTACK_LABEL.to_string());
        if mean_baseline {
            // Now `chance`; format 2's baseline is the encoded data read as raw, which format 1
            // recorded only when it was the better of the two.
            (r.baseline, r.baseline_label) = (None, None);
        }
    }
    if r.headline.unit == "points" && r.chance == Some(0.0) {
        r.chance_label = Some("no advantage".into());
    }
    decide(r);
    if r.level.is_none() {
        r.level = Some(Level::legacy(broken, &r.verdict));
    }
}
