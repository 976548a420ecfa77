//! `ppdl summarize RUN_DIR...`: one markdown table row per saved run, from its summary.json alone;
//! with `--overhead`, the customer's and provider's costs from each run's overhead.json instead; with
//! `--attacks`, the attack verdicts from each run's attacks.json (one column per run).

use std::path::PathBuf;

use crate::results::RunFolder;

pub fn markdown_table(runs: &[PathBuf]) -> anyhow::Result<String> {
    let mut out = String::from(
        "| run | dataset | arch | privacy | baseline acc | private acc | delta (points) | private/baseline train time |\n\
         |---|---|---|---|---:|---:|---:|---:|\n",
    );
    for dir in runs {
        let s = RunFolder::open(dir)?.load_summary()?;
        let ratio =
            if s.baseline.train_seconds > 0.0 { s.private.train_seconds / s.baseline.train_seconds } else { f64::NAN };
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

/// The measured costs of each run (overhead.json): encoding, training-time ratio, inference.
pub fn overhead_table(runs: &[PathBuf]) -> anyhow::Result<String> {
    let mut out = String::from(
        "| run | arch | privacy | encode training set | encode / baseline epoch | private/baseline epoch time \
         | inference batch 256: private / forward only |\n|---|---|---|---:|---:|---:|---:|\n",
    );
    for dir in runs {
        let folder = RunFolder::open(dir)?;
        let s = folder.load_summary()?;
        let path = folder.overhead_path();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| crate::error::InputError::in_file(&path, format!("cannot read overhead.json: {e}")))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| crate::error::InputError::in_file(&path, format!("not valid JSON: {e}")))?;
        let m = &v["measured"];
        let num = |ptr: &str| m.pointer(ptr).and_then(serde_json::Value::as_f64).unwrap_or(f64::NAN);
        let clean = m.pointer("/training/clean").and_then(serde_json::Value::as_bool).unwrap_or(false);
        out.push_str(&format!(
            "| {} | {} | {} | {:.3} s ({:.0} samples/s) | {:.1}% | {:.3}{} | {:.2}x |\n",
            s.name,
            s.arch,
            s.privacy,
            num("/encode/seconds"),
            num("/encode/samples_per_second"),
            100.0 * num("/encode/fraction_of_baseline_epoch"),
            num("/training/ratio"),
            if clean { " (clean)" } else { "" },
            num("/inference/overhead_ratio"),
        ));
    }
    Ok(out)
}

/// README's attack tables: one row per attack, one column per run; each cell the headline and the
/// verdict with its deciding metric (broken in bold), from each run's attacks.json.
pub fn attacks_table(runs: &[PathBuf]) -> anyhow::Result<String> {
    use crate::attacks::{verdict::fmt_value, AttackKind, AttacksFile, Level};
    let mut columns = Vec::new();
    for dir in runs {
        let folder = RunFolder::open(dir)?;
        let name = folder.load_summary()?.name;
        let path = folder.attacks_path();
        let file = if path.is_file() { Some(AttacksFile::load(&path)?) } else { None };
        columns.push((name, file));
    }
    let mut out =
        format!("| attack | {} |\n|---|", columns.iter().map(|c| c.0.as_str()).collect::<Vec<_>>().join(" | "));
    out.push_str(&"---|".repeat(columns.len()));
    out.push('\n');
    for kind in AttackKind::ALL {
        let cells: Vec<String> = columns
            .iter()
            .map(|(_, file)| {
                let Some(file) = file else { return "not run".into() };
                if let Some(r) = file.record(kind.name()) {
                    let verdict = match r.level {
                        Some(Level::Broken) => format!("**{}**", r.verdict_cell()),
                        _ => r.verdict_cell(),
                    };
                    let stopped = if r.complete { "" } else { " (stopped early)" };
                    let headline = format!("{}: {}", r.headline.metric, fmt_value(r.headline.value, &r.headline.unit));
                    format!("{}; {verdict}{stopped}", headline.replace('|', "/"))
                } else if let Some(f) = file.failures.iter().find(|f| f.name == kind.name()) {
                    format!("failed: {}", f.reason.replace('|', "/"))
                } else {
                    "not run".into()
                }
            })
            .collect();
        if cells.iter().all(|c| c == "not run") {
            continue;
        }
        out.push_str(&format!("| {} | {} |\n", kind.name(), cells.join(" | ")));
    }
    Ok(out)
}
