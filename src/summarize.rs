//! `ppdl summarize RUN_DIR...`: one markdown table row per saved run, from its summary.json alone;
//! with `--overhead`, the customer's and provider's costs from each run's overhead.json instead; with
//! `--attacks`, the attack verdicts from each run's attacks.json (one column per run).

use std::path::PathBuf;

use crate::overhead::TrainingTimeRatio;
use crate::results::{run_folders_in, RunFolder, RunStatus, Summary};

/// The ratio cell: the one definition ([`TrainingTimeRatio`]) and how the arms were timed.
fn ratio_cell(s: &Summary) -> String {
    let r = TrainingTimeRatio::of(s);
    format!("{} ({})", r.value_text(3), if r.timed_alone { "timed alone" } else { "side by side" })
}

/// `paths` are run folders or folders of runs (see [`run_folders_in`]).
pub fn markdown_table(paths: &[PathBuf]) -> anyhow::Result<String> {
    let mut out = String::from(
        "| run | status | epochs | dataset | arch | privacy | baseline acc | private acc | delta (points) \
         | training time per epoch, private/baseline (median) |\n\
         |---|---|---:|---|---|---|---:|---:|---:|---:|\n",
    );
    let mut notes = Vec::new();
    for dir in run_folders_in(paths)? {
        let folder = RunFolder::open(&dir)?;
        let s = folder.load_summary()?;
        let status = RunStatus::load(&folder, &s, &crate::attacks::registry::names());
        if !status.is_finished() {
            notes.push(format!("- {}: {}", s.name, status.detail()));
        }
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.2}% | {:.2}% | {:+.2} | {} |\n",
            s.name,
            status.label(),
            status.epochs(),
            crate::data::display_name(&s.dataset.name, s.dataset.train, s.dataset.test),
            s.arch,
            s.privacy,
            100.0 * s.baseline.test_accuracy,
            100.0 * s.private.test_accuracy,
            100.0 * s.accuracy_delta,
            ratio_cell(&s)
        ));
    }
    if !notes.is_empty() {
        out.push_str("\nNot finished:\n\n");
        out.push_str(&notes.join("\n"));
        out.push('\n');
    }
    Ok(out)
}

/// The measured costs of each run (overhead.json): encoding, training-time ratio, inference.
pub fn overhead_table(paths: &[PathBuf]) -> anyhow::Result<String> {
    let mut out = String::from(
        "| run | status | arch | privacy | encode training set | encode / baseline epoch \
         | training time per epoch, private/baseline (median) | inference batch 256: private / forward only |\n\
         |---|---|---|---|---:|---:|---:|---:|\n",
    );
    for dir in run_folders_in(paths)? {
        let folder = RunFolder::open(&dir)?;
        let s = folder.load_summary()?;
        let status = RunStatus::load(&folder, &s, &crate::attacks::registry::names());
        let path = folder.overhead_path();
        let Some(report) = crate::overhead::OverheadReport::load(&path)? else {
            return Err(crate::error::InputError::in_file(&path, "missing: the run measured no overhead").into());
        };
        let m = &report.measured;
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.3} s ({:.0} samples/s) | {} | {} | {} |\n",
            s.name,
            status.label(),
            s.arch,
            s.privacy,
            m.encode.seconds,
            m.encode.samples_per_second,
            m.encode.fraction_of_baseline_epoch.map_or("n/a".into(), |f| format!("{:.1}%", 100.0 * f)),
            ratio_cell(&s),
            m.inference.batch.ratio().map_or("n/a".into(), |r| format!("{r:.2}x")),
        ));
    }
    Ok(out)
}

/// README's attack tables: one row per attack, one column per run; each cell the headline and the
/// verdict with its deciding metric (broken in bold), from each run's attacks.json.
pub fn attacks_table(runs: &[PathBuf]) -> anyhow::Result<String> {
    use crate::attacks::{load_file, Level, ATTACKS};
    use crate::results::attacks::fmt_value;
    let mut columns = Vec::new();
    for dir in runs {
        let folder = RunFolder::open(dir)?;
        let name = folder.load_summary()?.name;
        let path = folder.attacks_path();
        let file = if path.is_file() { Some(load_file(&path)?) } else { None };
        columns.push((name, file));
    }
    let mut out =
        format!("| attack | {} |\n|---|", columns.iter().map(|c| c.0.as_str()).collect::<Vec<_>>().join(" | "));
    out.push_str(&"---|".repeat(columns.len()));
    out.push('\n');
    for kind in ATTACKS {
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
