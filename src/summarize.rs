//! `ppdl summarize RUN_DIR...`: one markdown table row per saved run, from its summary.json alone;
//! with `--overhead`, the customer's and provider's costs from each run's overhead.json instead; with
//! `--attacks`, the attack verdicts from each run's attacks.json (one column per run).

use std::path::PathBuf;

use crate::overhead::TrainingTimeRatio;
use crate::results::{run_folders_in, RunFolder, RunStatus, Summary};

/// The ratio cell of arm `arm`: the one definition ([`TrainingTimeRatio`]) and how the arms were timed.
fn ratio_cell(s: &Summary, arm: &str) -> String {
    let r = TrainingTimeRatio::of(s, arm);
    format!("{} ({})", r.value_text(3), if r.timed_alone { "timed alone" } else { "side by side" })
}

/// `paths` are run folders or folders of runs (see [`run_folders_in`]). One row per protected arm
/// of each run, against that run's baseline.
pub fn markdown_table(paths: &[PathBuf]) -> anyhow::Result<String> {
    let mut out = String::from(
        "| run | arm | status | epochs | dataset | arch | scheme | baseline acc | arm acc (95% CI) | delta (points, 95% CI) \
         | training time per epoch, arm/baseline (median) |\n\
         |---|---|---|---:|---|---|---|---:|---:|---:|---:|\n",
    );
    let mut notes = Vec::new();
    let mut test_sizes = std::collections::BTreeSet::new();
    for dir in run_folders_in(paths)? {
        let folder = RunFolder::open(&dir)?;
        let s = folder.load_summary()?;
        test_sizes.insert(s.dataset.test);
        let status = RunStatus::load(&folder, &s, &crate::attacks::registry::names());
        if !status.is_finished() {
            notes.push(format!("- {}: {}", s.name, status.detail()));
        }
        let baseline = s.baseline().map_or("n/a".into(), |b| format!("{:.2}%", 100.0 * b.test_accuracy));
        for arm in s.protected() {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {:.2}% {} | {} | {} |\n",
                s.name,
                arm.name,
                status.label(),
                status.epochs(),
                crate::data::display_name(&s.dataset.name, s.dataset.train, s.dataset.test),
                s.arch_of(arm),
                arm.description,
                baseline,
                100.0 * arm.test_accuracy,
                arm.accuracy_interval.map_or(String::new(), |i| i.points()),
                match (arm.accuracy_delta, arm.delta_interval) {
                    (Some(d), Some(i)) => format!("{:+.2} {}", 100.0 * d, i.points()),
                    (Some(d), None) => format!("{:+.2}", 100.0 * d),
                    _ => "n/a".into(),
                },
                ratio_cell(&s, &arm.name)
            ));
        }
    }
    for n in &test_sizes {
        out.push_str(&format!("\n{}\n", crate::results::stats::single_run_note(*n)));
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
        "| run | arm | status | arch | scheme | encode training set | encode / baseline epoch \
         | training time per epoch, arm/baseline (median) | inference batch 256: arm / forward only |\n\
         |---|---|---|---|---|---:|---:|---:|---:|\n",
    );
    for dir in run_folders_in(paths)? {
        let folder = RunFolder::open(&dir)?;
        let s = folder.load_summary()?;
        let status = RunStatus::load(&folder, &s, &crate::attacks::registry::names());
        let path = folder.overhead_path();
        let Some(report) = crate::overhead::OverheadReport::load(&path)? else {
            return Err(crate::error::InputError::in_file(&path, "missing: the run measured no overhead").into());
        };
        for a in &report.arms {
            let m = &a.measured;
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {:.3} s ({:.0} samples/s) | {} | {} | {} |\n",
                s.name,
                a.arm,
                status.label(),
                s.arm(&a.arm).map_or(s.arch.as_str(), |r| s.arch_of(r)),
                s.arm(&a.arm).map_or(m.context.privacy.as_str(), |r| r.description.as_str()),
                m.encode.seconds,
                m.encode.samples_per_second,
                m.encode.fraction_of_baseline_epoch.map_or("n/a".into(), |f| format!("{:.1}%", 100.0 * f)),
                ratio_cell(&s, &a.arm),
                m.inference.batch.ratio().map_or("n/a".into(), |r| format!("{r:.2}x")),
            ));
        }
    }
    Ok(out)
}

/// README's attack tables: one row per attack, one column per attacked arm of each run (headed by the
/// run's name, with `: ARM` when the run attacked several arms); each cell the headline and the
/// verdict with its deciding metric (broken in bold), from each run's attacks.json.
pub fn attacks_table(runs: &[PathBuf]) -> anyhow::Result<String> {
    use crate::attacks::{load_file, Level, ATTACKS};
    use crate::results::attacks::fmt_value;
    // (column title, attacked arm, the run's attacks.json)
    let mut columns = Vec::new();
    for dir in runs {
        let folder = RunFolder::open(dir)?;
        let summary = folder.load_summary()?;
        let path = folder.attacks_path();
        let file = if path.is_file() { Some(std::rc::Rc::new(load_file(&path)?)) } else { None };
        let arms: Vec<String> = summary.protected().map(|a| a.name.clone()).collect();
        for arm in &arms {
            let title = if arms.len() > 1 { format!("{}: {arm}", summary.name) } else { summary.name.clone() };
            columns.push((title, arm.clone(), file.clone()));
        }
    }
    let mut out =
        format!("| attack | {} |\n|---|", columns.iter().map(|c| c.0.as_str()).collect::<Vec<_>>().join(" | "));
    out.push_str(&"---|".repeat(columns.len()));
    out.push('\n');
    for kind in ATTACKS {
        let cells: Vec<String> = columns
            .iter()
            .map(|(_, arm, file)| {
                let Some(file) = file else { return "not run".into() };
                if let Some(r) = file.record(arm, kind.name()) {
                    let verdict = match r.level {
                        Some(Level::Broken) => format!("**{}**", r.verdict_cell()),
                        _ => r.verdict_cell(),
                    };
                    let stopped = if r.complete { "" } else { " (stopped early)" };
                    let headline = format!("{}: {}", r.headline.metric, fmt_value(r.headline.value, &r.headline.unit));
                    format!("{}; {verdict}{stopped}", headline.replace('|', "/"))
                } else if let Some(f) = file.failures.iter().find(|f| f.arm == *arm && f.name == kind.name()) {
                    format!("failed: {}", f.reason.replace('|', "/"))
                } else if let Some(f) = file.not_applicable(arm, kind.name()) {
                    format!("not applicable: {}", f.reason.replace('|', "/"))
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
