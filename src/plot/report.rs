//! `RUN_DIR/report.md`: tables and figure links, from the saved results alone. Every link is relative
//! to the run folder and points at a file that exists when the report is written.

use std::fmt::Write as _;

use super::figures::{arm_suffix, dataset_title, transforms_of};
use super::inputs::RunData;
use super::FigureFiles;
use crate::results::attacks::AttacksFile;

/// Escape a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn pct(v: f64) -> String {
    format!("{:.2}%", 100.0 * v)
}

fn num(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.digits$}"),
        _ => "n/a".into(),
    }
}

fn headline_value(unit: &str, v: Option<f64>) -> String {
    let Some(v) = v else { return "n/a".into() };
    match unit {
        "fraction" => format!("{v:.3}"),
        "points" => format!("{:+.2} points", 100.0 * v),
        "dB" => format!("{v:.1} dB"),
        "bits" => format!("{v:.1} bits"),
        "" => format!("{v:.4}"),
        u => format!("{v:.4} {u}"),
    }
}

/// "How verdicts are decided": the rule set, then each attack's rule as applied in this run.
fn rules_section(out: &mut String, doc: &AttacksFile, several: bool) {
    use crate::attacks::verdict::{BROKEN_SHARE, PARTIAL_LEAK_SHARE};
    let _ = writeln!(
        out,
        "### How verdicts are decided\n\n\
         Each attack's deciding metrics are placed on the scale from what the adversary has without the attack \
         (chance, its mean public image) to what the key holder has (the right key's accuracy, the true images): \
         *partial leak* from {PARTIAL_LEAK_SHARE} of the way, *broken* from {BROKEN_SHARE}; the key space and \
         fine-tuning use absolute thresholds (bits, points). The verdict is the worst level any criterion \
         reaches; a criterion whose 95% interval includes its no-attack value counts as *protects*. \
         In this run:\n"
    );
    for r in &doc.records {
        let level = r.level.map_or("no verdict".to_string(), |l| l.to_string());
        let on = if several { format!(" on `{}`", r.arm) } else { String::new() };
        let Some(rule) = &r.rule else {
            let why = match r.parameters.get("broken_if").and_then(|v| v.as_str()) {
                Some(b) => format!("its format-1 record's `broken` and verdict words (its criterion: {b})"),
                None => "no recorded verdict (nothing measured)".into(),
            };
            let _ = writeln!(out, "- **{}**{on}: {level}, from {why}.", r.display_title());
            continue;
        };
        let _ = writeln!(out, "- **{}**{on}: {level}: {}.", r.display_title(), r.level.map_or("", |l| rule.meaning(l)));
        for (i, c) in rule.criteria.iter().enumerate() {
            let deciding = if i == rule.deciding { "deciding: " } else { "" };
            let _ = writeln!(out, "  - {deciding}{}: {}; {}", c.value_text(), c.level, c.thresholds_text());
        }
    }
    out.push('\n');
}

/// One row per attack, one column per keyed arm: the verdicts side by side.
fn verdict_matrix(out: &mut String, run: &RunData, doc: &AttacksFile) {
    let arms: Vec<&str> = run.summary.protected().map(|a| a.name.as_str()).collect();
    let _ = write!(out, "Verdicts by arm (deciding metric in brackets; broken in bold):\n\n| attack |");
    for arm in &arms {
        let _ = write!(out, " {} |", cell(arm));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(arms.len()));
    out.push('\n');
    let mut names: Vec<&str> = Vec::new();
    for r in &doc.records {
        if !names.contains(&r.name.as_str()) {
            names.push(&r.name);
        }
    }
    for name in names {
        let _ = write!(out, "| {name} |");
        for arm in &arms {
            let text = match doc.record(arm, name) {
                Some(r) if r.level == Some(crate::attacks::Level::Broken) => format!("**{}**", r.verdict_cell()),
                Some(r) => r.verdict_cell(),
                None => match doc.failures.iter().find(|f| f.arm == *arm && f.name == name) {
                    Some(_) => "failed".into(),
                    None if doc.not_applicable(arm, name).is_some() => "not applicable".into(),
                    None => "not run".into(),
                },
            };
            let _ = write!(out, " {} |", cell(&text));
        }
        out.push('\n');
    }
    out.push('\n');
}

/// File name relative to the run folder (`figures/NAME.png`).
fn rel(run: &RunData, path: &std::path::Path) -> String {
    path.strip_prefix(&run.folder.root).unwrap_or(path).to_string_lossy().replace('\\', "/")
}

fn figure_block(out: &mut String, run: &RunData, f: &FigureFiles, number: &mut usize) {
    *number += 1;
    let png = rel(run, &f.png);
    let svg = rel(run, &f.svg);
    let _ = writeln!(out, "![{}]({png})\n", cell(&f.name));
    let _ = writeln!(out, "*Figure {}.* {} ([PNG]({png}), [SVG]({svg}))\n", number, f.caption);
}

fn figures_named(figures: &[FigureFiles], pred: impl Fn(&str) -> bool) -> Vec<&FigureFiles> {
    figures.iter().filter(|f| pred(&f.name)).collect()
}

pub(crate) fn markdown(run: &RunData, figures: &[FigureFiles], skipped: &[String]) -> String {
    let s = &run.summary;
    let mut out = String::new();
    let mut fig_no = 0usize;
    let _ = writeln!(out, "# Run report: {} on {}\n", s.name, dataset_title(run));
    let _ = writeln!(
        out,
        "Regenerated from the saved results in this folder by `ppdl plot` (ppdl {}); nothing was retrained. \
         The run itself was made by ppdl {} from {} to {}.\n",
        env!("CARGO_PKG_VERSION"),
        s.ppdl_version,
        s.started_at,
        s.finished_at
    );
    if !run.status.is_finished() {
        let detail = run.status.detail();
        let mut chars = detail.chars();
        let detail: String = chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default();
        let _ = writeln!(out, "**Status: {}.** {detail}.\n", run.status.label());
    }

    // Summary
    out.push_str("## Summary\n\n| | |\n|---|---|\n");
    let ds = &s.dataset;
    let _ = writeln!(
        out,
        "| dataset | {} (`{}`: {} train / {} test, {}x{}x{}, {} classes) |",
        dataset_title(run),
        ds.name,
        ds.train,
        ds.test,
        ds.shape.height,
        ds.shape.width,
        ds.shape.channels,
        ds.classes
    );
    let _ = writeln!(out, "| model | {} |", s.archs_label());
    let _ = writeln!(out, "| arms | {} |", s.arms.len());
    let _ = writeln!(out, "| seed | {} (data order and initialisation, the same for every arm) |", s.seed);
    let _ = writeln!(out, "| schedule | {}, {} threads |", s.schedule.name(), s.threads);
    out.push('\n');
    out.push_str(
        "| arm | scheme | key | status | test accuracy (95% CI) | delta (points, 95% CI) | training time (s) | samples/s | epochs | encoding (s) |\n\
         |---|---|---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in &s.arms {
        let status = match &r.failure {
            Some(f) => format!("{} ({})", r.status.name(), cell(f)),
            None => r.status.name().to_string(),
        };
        let key = match &r.key_fingerprint {
            Some(f) => format!("`{f}` ({})", if r.fixed_key { "fixed in the config" } else { "fresh 256-bit secret" }),
            None => "—".into(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {key} | {} | {} | {} | {:.2} | {:.0} | {} | {} |",
            cell(&r.name),
            cell(&r.description),
            status,
            match r.accuracy_interval {
                Some(i) => format!("{} {}", pct(r.test_accuracy), i.points()),
                None => pct(r.test_accuracy),
            },
            match (r.accuracy_delta, r.delta_interval) {
                (Some(d), Some(i)) => format!("{:+.2} {}", 100.0 * d, i.points()),
                (Some(d), None) => format!("{:+.2}", 100.0 * d),
                _ => "—".into(),
            },
            r.train_seconds,
            r.samples_per_second,
            match run.status.configured_epochs {
                Some(c) => format!("{}/{c}", r.epochs_completed),
                None => r.epochs_completed.to_string(),
            },
            num(r.encode_seconds, 3),
        );
    }
    out.push_str(&format!(
        "\nDeltas are each arm's test accuracy minus the baseline's, on the same {} test images. {}.\n\n",
        ds.test,
        crate::results::stats::single_run_note(ds.test)
    ));

    // Training
    out.push_str("## Training\n\n");
    let rows: Vec<_> = s.arms.iter().map(|a| run.test_rows(&a.name)).collect();
    let epochs = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    if epochs > 0 {
        out.push_str("Test accuracy (test loss) and training seconds of each epoch:\n\n| epoch |");
        for a in &s.arms {
            let _ = write!(out, " {} |", cell(&a.name));
        }
        out.push_str("\n|---:|");
        out.push_str(&"---:|".repeat(s.arms.len()));
        out.push('\n');
        for e in 0..epochs {
            let epoch = rows.iter().find_map(|r| r.get(e)).map(|r| r.epoch).unwrap_or(e + 1);
            let _ = write!(out, "| {epoch} |");
            for (a, r) in s.arms.iter().zip(&rows) {
                let cellv = match r.get(e) {
                    Some(m) => format!(
                        "{} ({}), {} s",
                        pct(m.accuracy),
                        num(Some(m.loss), 4),
                        num(a.epoch_seconds.get(e).copied(), 2)
                    ),
                    None => "n/a".into(),
                };
                let _ = write!(out, " {cellv} |");
            }
            out.push('\n');
        }
        out.push_str("\nEpoch seconds from summary.json; accuracy and loss from metrics.csv (test rows).\n\n");
    } else {
        out.push_str("metrics.csv has no test rows (no epoch finished).\n\n");
    }
    for f in figures_named(figures, |n| matches!(n, "accuracy" | "loss" | "throughput")) {
        figure_block(&mut out, run, f, &mut fig_no);
    }

    // Samples
    let samples = figures_named(figures, |n| n == "samples" || n.starts_with("samples-"));
    if !samples.is_empty() {
        out.push_str("## What the provider sees\n\n");
        for f in samples {
            figure_block(&mut out, run, f, &mut fig_no);
        }
    }

    // Attacks
    out.push_str("## Attacks\n\n");
    if let Some(f) = figures.iter().find(|f| f.name == "tradeoff") {
        figure_block(&mut out, run, f, &mut fig_no);
    }
    if let Some(doc) = run.attacks.as_ref().filter(|_| run.several_protected()) {
        verdict_matrix(&mut out, run, doc);
    }
    match &run.attacks {
        None => out.push_str(
            "attacks.json not found: the attack-resistance analyses were not run for this run \
             (enable them under `[attacks]` in the config, or run them on this folder, then `ppdl plot` again).\n\n",
        ),
        Some(doc) if doc.records.is_empty() && doc.failures.is_empty() => {
            out.push_str("attacks.json holds no attack records.\n\n");
        }
        Some(doc) => {
            out.push_str(
                "Each attack is simulated against this run's artifacts. Its verdict, *protects*, *partial leak* or \
                 *broken*, is decided by the rule under \"How verdicts are decided\" below; the metric that decided \
                 it is shown next to it.\n\n\
                 | arm | attack | adversary | headline | without the attack | reference | verdict (deciding metric) | finding |\n\
                 |---|---|---|---|---:|---:|---|---|\n",
            );
            let several = run.several_protected();
            for r in &doc.records {
                let unit = r.headline.unit.as_str();
                let labelled = |v: Option<f64>, label: &Option<String>, default: &str| match (v, label) {
                    (Some(v), Some(l)) => format!("{} ({})", headline_value(unit, Some(v)), cell(l)),
                    (Some(v), None) if default.is_empty() => headline_value(unit, Some(v)),
                    (Some(v), None) => format!("{} ({default})", headline_value(unit, Some(v))),
                    _ => "n/a".into(),
                };
                let verdict = match r.level {
                    Some(crate::attacks::Level::Broken) => format!("**{}**", r.verdict_cell()),
                    _ => r.verdict_cell(),
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {}: {} | {} | {} | {} | {}{} |",
                    cell(&r.arm),
                    cell(&r.display_title()),
                    cell(&r.threat_model.adversary),
                    cell(&r.headline.metric),
                    headline_value(unit, Some(r.headline.value)),
                    labelled(r.chance, &r.chance_label, "chance"),
                    labelled(r.baseline, &r.baseline_label, ""),
                    cell(&verdict),
                    cell(&r.verdict),
                    if r.complete { "" } else { " (stopped early)" }
                );
            }
            out.push('\n');
            rules_section(&mut out, doc, several);
            if !doc.failures.is_empty() {
                out.push_str("Attacks that could not run:\n\n");
                for f in &doc.failures {
                    let _ = writeln!(out, "- {} on `{}`: {}", f.name, f.arm, f.reason);
                }
                out.push('\n');
            }
            if !doc.not_applicable.is_empty() {
                out.push_str("Attacks that do not apply:\n\n");
                for f in &doc.not_applicable {
                    let _ = writeln!(out, "- {} on `{}`: {}", f.name, f.arm, f.reason);
                }
                out.push('\n');
            }
            for r in &doc.records {
                let on = if several { format!(" on `{}`", r.arm) } else { String::new() };
                let _ = writeln!(out, "### {}{on}\n", r.display_title());
                if !r.transform.is_empty() {
                    let _ = writeln!(out, "- attacked: {}", r.transform);
                }
                if !r.threat_model.adversary.is_empty() {
                    let _ = writeln!(out, "- adversary: {}", r.threat_model.adversary);
                }
                if !r.threat_model.holds.is_empty() {
                    let _ = writeln!(out, "- holds: {}", r.threat_model.holds.join("; "));
                }
                if !r.threat_model.knowledge.is_empty() {
                    let _ = writeln!(out, "- knows: {}", r.threat_model.knowledge);
                }
                if !r.aux_data.is_empty() {
                    let _ = writeln!(out, "- auxiliary data: {}", r.aux_data);
                }
                let params: Vec<String> = r
                    .parameters
                    .iter()
                    .filter(|(k, _)| k.as_str() != "components")
                    .map(|(k, v)| match v {
                        serde_json::Value::String(s) => format!("{k} = {s}"),
                        v => format!("{k} = {v}"),
                    })
                    .collect();
                if !params.is_empty() {
                    let _ = writeln!(out, "- parameters: {}", params.join("; "));
                }
                for f in &r.figures {
                    let _ = writeln!(out, "- {}: {}", f.metric, headline_value(&f.unit, Some(f.value)));
                }
                let _ = writeln!(out, "- wall time: {:.2} s", r.seconds);
                out.push('\n');
                let suffix = arm_suffix(run, &r.arm);
                let stem = if r.name == "key-space" {
                    format!("key-space{suffix}")
                } else {
                    format!("attack-{}{suffix}", super::figures::file_stem(&r.name))
                };
                if let Some(f) = figures.iter().find(|f| f.name == stem) {
                    figure_block(&mut out, run, f, &mut fig_no);
                }
            }
        }
    }

    // Overhead
    out.push_str("## Overhead\n\n");
    match &run.overhead {
        None => out.push_str(
            "overhead.json not found: the overhead analysis was not run. Training time per epoch below is from summary.json.\n\n",
        ),
        Some(o) if o.arms.is_empty() => split_overhead_table(&mut out, s, o),
        Some(o) => {
            out.push_str("Measured in this run (this machine), each keyed arm against the baseline:\n\n| quantity |");
            for a in &o.arms {
                let _ = write!(out, " {} |", cell(&a.arm));
            }
            out.push_str(" note |\n|---|");
            out.push_str(&"---:|".repeat(o.arms.len()));
            out.push_str("---|\n");
            let row = |out: &mut String, quantity: &str, values: Vec<String>, note: &str| {
                let _ = writeln!(out, "| {quantity} | {} | {note} |", values.join(" | "));
            };
            let each = |f: &dyn Fn(&crate::overhead::Measured) -> String| o.arms.iter().map(|a| f(&a.measured)).collect::<Vec<_>>();
            row(
                &mut out,
                "customer encoding (samples/s)",
                each(&|m| format!("{} ({} s)", num(Some(m.encode.samples_per_second), 0), num(Some(m.encode.seconds), 3))),
                "the whole training set, inputs and labels",
            );
            let timing = schedule_timing(s);
            row(
                &mut out,
                "training time per epoch, arm / baseline",
                o.arms.iter().map(|a| crate::overhead::TrainingTimeRatio::of(s, &a.arm).value_text(3)).collect(),
                &format!("{}; {timing}", crate::overhead::TrainingTimeRatio::DEFINITION),
            );
            let batch = o.arms.first().map_or(0, |a| a.measured.inference.batch.batch_size);
            row(
                &mut out,
                "inference latency (ms)",
                each(&|m| {
                    let b = &m.inference.batch;
                    format!(
                        "{} vs {} (encode {} + forward {} + decode {})",
                        num(Some(b.private_total_ms), 3),
                        num(Some(b.baseline_forward_ms), 3),
                        num(Some(b.private_encode_ms), 3),
                        num(Some(b.private_forward_ms), 3),
                        num(Some(b.private_decode_ms), 3)
                    )
                }),
                &format!("batch of {batch}: the arm's protocol vs the baseline's forward pass"),
            );
            row(
                &mut out,
                "bytes per sample, customer → provider",
                each(&|m| format!("{} (raw {})", m.bytes.to_provider_per_sample, m.bytes.raw_input_per_sample)),
                "raw: what the baseline sends",
            );
            row(
                &mut out,
                "bytes per sample, provider → customer",
                each(&|m| m.bytes.to_customer_per_sample.to_string()),
                "scores over output codes",
            );
            row(
                &mut out,
                "peak memory (MiB)",
                each(&|m| m.peak_memory_bytes.map_or("n/a".into(), |p| format!("{:.1}", p as f64 / (1024.0 * 1024.0)))),
                "whole process (all arms, data and encodings)",
            );
            out.push('\n');
            split_overhead_table(&mut out, s, o);
            if !o.literature.is_empty() {
                out.push_str(
                    "**Literature values — published figures of cryptographic approaches, NOT measured here** \
                     (different hardware, models and datasets; for orientation only):\n\n\
                     | system | task | metric | value | source |\n|---|---|---|---:|---|\n",
                );
                for l in &o.literature {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} | {} {} | {} |",
                        cell(&l.system),
                        cell(&l.task),
                        cell(&l.metric),
                        l.value,
                        cell(&l.unit),
                        cell(&l.source)
                    );
                }
                out.push('\n');
            }
        }
    }
    for f in figures_named(figures, |n| matches!(n, "training-time" | "inference-latency")) {
        figure_block(&mut out, run, f, &mut fig_no);
    }

    if !skipped.is_empty() {
        out.push_str("## Figures not drawn\n\n");
        for s in skipped {
            let _ = writeln!(out, "- {s}");
        }
        out.push('\n');
    }

    // Config
    out.push_str("## Configuration\n\n");
    match &run.config_text {
        Some(t) => {
            let schemes =
                s.arms.iter().map(|a| format!("{} ({})", a.name, transforms_of(&a.description))).collect::<Vec<_>>();
            let _ = writeln!(
                out,
                "Seed {}, arms: {}. The resolved config ([config.toml](config.toml)):\n",
                s.seed,
                schemes.join(", ")
            );
            let _ = writeln!(out, "```toml\n{}\n```\n", t.trim_end());
        }
        None => {
            let _ = writeln!(out, "config.toml not found in the run folder. Seed {}.\n", s.seed);
        }
    }

    // Versions
    out.push_str("## Versions\n\nCrates that computed this run's numbers (from summary.json):\n\n| crate | version |\n|---|---|\n");
    let _ = writeln!(out, "| ppdl | {} |", s.ppdl_version);
    for (k, v) in &s.crate_versions {
        let _ = writeln!(out, "| {k} | {v} |");
    }
    let _ = writeln!(
        out,
        "\nFigures rendered by ppdl {} with plotters {}.\n",
        env!("CARGO_PKG_VERSION"),
        plotters_version()
    );

    // Files
    out.push_str("## Files\n\n");
    for (name, what) in [
        ("config.toml", "resolved config"),
        ("summary.json", "headline figures"),
        ("metrics.csv", "per-step and per-epoch metrics"),
        ("attacks.json", "attack records"),
        ("overhead.json", "overhead measurements and literature values"),
        ("samples.json", "sample images for the panel (format 1)"),
    ] {
        if run.folder.root.join(name).is_file() {
            let _ = writeln!(out, "- [{name}]({name}): {what}");
        }
    }
    for (arm, _) in &run.samples {
        let path = run.folder.samples_path(arm);
        if let Ok(rel) = path.strip_prefix(&run.folder.root) {
            if rel != std::path::Path::new("samples.json") {
                let rel = rel.to_string_lossy().replace('\\', "/");
                let _ = writeln!(out, "- [{rel}]({rel}): sample images of the arm `{arm}`");
            }
        }
    }
    out
}

fn plotters_version() -> String {
    crate::results::summary::crate_versions().get("plotters").cloned().unwrap_or_else(|| "(unknown version)".into())
}

/// report.md's table of the split arms' costs (nothing when the run has none): time with the
/// exchange, and bytes each way against a plain service.
fn split_overhead_table(out: &mut String, s: &crate::results::Summary, o: &crate::overhead::OverheadReport) {
    if o.split_arms.is_empty() {
        return;
    }
    out.push_str(
        "Split arms, measured in this run against the baseline (one process, memory copies across the cut: \
         no network latency modelled; add your link's cost per message from the bytes):\n\n| quantity |",
    );
    for a in &o.split_arms {
        let _ = write!(out, " {} |", cell(&a.arm));
    }
    out.push_str(" note |\n|---|");
    out.push_str(&"---:|".repeat(o.split_arms.len()));
    out.push_str("---|\n");
    let row = |out: &mut String, quantity: &str, f: &dyn Fn(&crate::overhead::SplitOverhead) -> String, note: &str| {
        let values: Vec<String> = o.split_arms.iter().map(f).collect();
        let _ = writeln!(out, "| {quantity} | {} | {note} |", values.join(" | "));
    };
    let timing = schedule_timing(s);
    row(
        out,
        "layers: head / provider / tail",
        &|a| format!("{} / {} / {}", a.traffic.head.join(", "), a.traffic.middle.join(", "), a.traffic.tail.join(", ")),
        "the customer keeps head and tail",
    );
    row(
        out,
        "training time per epoch, arm / baseline",
        &|a| crate::overhead::TrainingTimeRatio::of(s, &a.arm).value_text(3),
        &format!("{}; {timing}", crate::overhead::TrainingTimeRatio::DEFINITION),
    );
    let latency = |r: &crate::overhead::split_inference::SplitRoundTrip| {
        format!(
            "{} vs {} ({}x)",
            num(Some(r.split_ms), 3),
            num(Some(r.baseline_forward_ms), 3),
            num(Some(r.overhead_ratio), 2)
        )
    };
    let batch = o.split_arms.iter().find_map(|a| a.inference.as_ref()).map_or(0, |i| i.batch.batch_size);
    row(
        out,
        "inference latency (ms)",
        &|a| a.inference.as_ref().map_or("n/a".into(), |i| latency(&i.batch)),
        &format!("batch of {batch}: head, middle, tail vs the baseline's forward pass"),
    );
    row(
        out,
        "inference latency, 1 sample (ms)",
        &|a| a.inference.as_ref().map_or("n/a".into(), |i| latency(&i.single_sample)),
        "head, middle, tail vs the baseline's forward pass",
    );
    row(
        out,
        "bytes per training step, to provider / back",
        &|a| format!("{} / {}", a.traffic.per_step.to_provider(), a.traffic.per_step.to_customer()),
        &format!("a step of {} rows: activations and gradients", o.split_arms[0].traffic.batch_rows),
    );
    row(
        out,
        "MB over the whole training, to provider / back",
        &|a| {
            a.training_bytes()
                .map_or("n/a".into(), |(up, down)| format!("{:.1} / {:.1}", up as f64 / 1e6, down as f64 / 1e6))
        },
        &match o.split_arms.iter().find_map(|a| a.plain) {
            Some(p) => format!(
                "a plain service receives the raw training set once: {:.1} MB",
                p.training_set_bytes as f64 / 1e6
            ),
            None => "epochs finished times the first epoch's bytes".into(),
        },
    );
    row(
        out,
        "inference bytes per sample, to provider / back",
        &|a| {
            let t = &a.traffic.inference_per_sample;
            format!("{} / {}", t.to_provider(), t.to_customer())
        },
        &match o.split_arms.iter().find_map(|a| a.plain) {
            Some(p) => format!("plain service: {} / {} (raw input / scores)", p.input_per_sample, p.output_per_sample),
            None => "activations at the cut / the middle's output".into(),
        },
    );
    out.push('\n');
}

/// How the arms' epochs were timed, for the training-time rows.
fn schedule_timing(s: &crate::results::Summary) -> &'static str {
    match s.schedule {
        crate::config::Schedule::Sequential => "each arm timed alone",
        crate::config::Schedule::Parallel => "arms shared the machine: indicative only",
    }
}
