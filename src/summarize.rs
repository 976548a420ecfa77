//! `ppdl summarize RUN_DIR...`: one markdown table row per saved run, from its summary.json alone.

use std::path::PathBuf;

use crate::results::RunFolder;

pub fn markdown_table(runs: &[PathBuf]) -> anyhow::Result<String> {
    let mut out = String::from(
        "| run | dataset | arch | privacy | baseline acc | private acc | delta (points) | private/baseline train time |\n\
         |---|---|---|---|---:|---:|---:|---:|\n",
    );
    for dir in runs {
        let s = RunFolder::open(dir)?.load_summary()?;
        let ratio = if s.baseline.train_seconds > 0.0 { s.private.train_seconds / s.baseline.train_seconds } else { f64::NAN };
        out.push_str(&format!(
            "| {} | {} ({}/{}) | {} | {} | {:.2}% | {:.2}% | {:+.2} | {:.3} |\n",
            s.name,
            s.dataset.name,
            s.dataset.train,
            s.dataset.test,
            s.arch,
            s.privacy,
            100.0 * s.baseline.test_accuracy,
            100.0 * s.private.test_accuracy,
            100.0 * s.accuracy_delta,
            ratio
        ));
    }
    Ok(out)
}
