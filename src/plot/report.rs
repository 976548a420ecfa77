//! `RUN_DIR/report.md`: tables and figure links, from the saved results alone. Every link is relative
//! to the run folder and points at a file that exists when the report is written.

use std::fmt::Write as _;

use super::figures::{arm_label, dataset_title, transforms_of};
use super::inputs::{AttackRecord, RunData};
use super::FigureFiles;
use crate::train::Arm;

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

fn headline_value(r: &AttackRecord, v: Option<f64>) -> String {
    let Some(v) = v else { return "n/a".into() };
    match r.headline.unit.as_str() {
        "fraction" => format!("{v:.3}"),
        "points" => format!("{:+.2} points", 100.0 * v),
        "dB" => format!("{v:.1} dB"),
        "bits" => format!("{v:.1} bits"),
        "" => format!("{v:.4}"),
        u => format!("{v:.4} {u}"),
    }
}

/// "How verdicts are decided": the rule set, then each attack's rule as applied in this run.
fn rules_section(out: &mut String, doc: &super::inputs::AttacksDoc) {
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
        let Some(rule) = &r.rule else {
            let why = match r.parameters.get("broken_if").and_then(|v| v.as_str()) {
                Some(b) => format!("its format-1 record's `broken` and verdict words (its criterion: {b})"),
                None => "no recorded verdict (nothing measured)".into(),
            };
            let _ = writeln!(out, "- **{}**: {level}, from {why}.", r.display_title());
            continue;
        };
        let _ = writeln!(out, "- **{}**: {level}: {}.", r.display_title(), r.level.map_or("", |l| rule.meaning(l)));
        for (i, c) in rule.criteria.iter().enumerate() {
            let deciding = if i == rule.deciding { "deciding: " } else { "" };
            let _ = writeln!(out, "  - {deciding}{}: {}; {}", c.value_text(), c.level, c.thresholds_text());
        }
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
    let _ = writeln!(out, "| model | {} |", s.arch);
    let _ = writeln!(out, "| privacy | {} |", cell(&s.privacy));
    let _ = writeln!(out, "| seed | {} |", s.seed);
    let _ = writeln!(
        out,
        "| key | fingerprint `{}` ({}) |",
        s.key_fingerprint,
        if s.fixed_key { "fixed key from the config" } else { "fresh 256-bit secret" }
    );
    let _ = writeln!(out, "| schedule | {}, {} threads |", s.schedule, s.threads);
    let _ = writeln!(out, "| customer encoding of the training set | {:.3} s |", s.encode_seconds);
    out.push('\n');
    out.push_str(
        "| arm | status | test accuracy | training time (s) | samples/s | epochs |\n|---|---|---:|---:|---:|---:|\n",
    );
    for (arm, r) in [(Arm::Baseline, &s.baseline), (Arm::Private, &s.private)] {
        let status = match &r.failure {
            Some(f) => format!("{} ({})", r.status, cell(f)),
            None => r.status.clone(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.2} | {:.0} | {} |",
            cell(&arm_label(run, arm)),
            status,
            pct(r.test_accuracy),
            r.train_seconds,
            r.samples_per_second,
            match run.status.configured_epochs {
                Some(c) => format!("{}/{c}", r.epochs_completed),
                None => r.epochs_completed.to_string(),
            }
        );
    }
    let _ = writeln!(out, "\nAccuracy delta (private − baseline): **{:+.2} points**.\n", 100.0 * s.accuracy_delta);

    // Training
    out.push_str("## Training\n\n");
    let (bt, pt) = (run.test_rows(Arm::Baseline), run.test_rows(Arm::Private));
    let (bs, ps, source) = run.epoch_seconds();
    let epochs = bt.len().max(pt.len());
    if epochs > 0 {
        out.push_str(
            "| epoch | baseline accuracy | private accuracy | delta (points) | baseline test loss | private test loss | baseline s | private s |\n\
             |---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for e in 0..epochs {
            let (b, p) = (bt.get(e), pt.get(e));
            let epoch = b.or(p).map(|r| r.epoch).unwrap_or(e + 1);
            let delta = match (b, p) {
                (Some(b), Some(p)) => format!("{:+.2}", 100.0 * (p.accuracy - b.accuracy)),
                _ => "n/a".into(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                epoch,
                b.map(|r| pct(r.accuracy)).unwrap_or_else(|| "n/a".into()),
                p.map(|r| pct(r.accuracy)).unwrap_or_else(|| "n/a".into()),
                delta,
                num(b.map(|r| r.loss), 4),
                num(p.map(|r| r.loss), 4),
                num(bs.get(e).copied(), 2),
                num(ps.get(e).copied(), 2),
            );
        }
        let _ = writeln!(out, "\nEpoch seconds from {source}; accuracy and loss from metrics.csv (test rows).\n");
    } else {
        out.push_str("metrics.csv has no test rows (no epoch finished).\n\n");
    }
    for f in figures_named(figures, |n| matches!(n, "accuracy" | "loss" | "throughput")) {
        figure_block(&mut out, run, f, &mut fig_no);
    }

    // Samples
    if let Some(f) = figures.iter().find(|f| f.name == "samples") {
        out.push_str("## What the provider sees\n\n");
        figure_block(&mut out, run, f, &mut fig_no);
    }

    // Attacks
    out.push_str("## Attacks\n\n");
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
                 | attack | adversary | headline | without the attack | reference | verdict (deciding metric) | finding |\n\
                 |---|---|---|---:|---:|---|---|\n",
            );
            for r in &doc.records {
                let labelled = |v: Option<f64>, label: &Option<String>, default: &str| match (v, label) {
                    (Some(v), Some(l)) => format!("{} ({})", headline_value(r, Some(v)), cell(l)),
                    (Some(v), None) if default.is_empty() => headline_value(r, Some(v)),
                    (Some(v), None) => format!("{} ({default})", headline_value(r, Some(v))),
                    _ => "n/a".into(),
                };
                let verdict = match r.level {
                    Some(crate::attacks::Level::Broken) => format!("**{}**", r.verdict_cell()),
                    _ => r.verdict_cell(),
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {}: {} | {} | {} | {} | {}{} |",
                    cell(&r.display_title()),
                    cell(&r.threat_model.adversary),
                    cell(&r.headline.metric),
                    headline_value(r, r.headline.value),
                    labelled(r.chance, &r.chance_label, "chance"),
                    labelled(r.baseline, &r.baseline_label, ""),
                    cell(&verdict),
                    cell(&r.verdict),
                    if r.complete == Some(false) { " (stopped early)" } else { "" }
                );
            }
            out.push('\n');
            rules_section(&mut out, doc);
            if !doc.failures.is_empty() {
                out.push_str("Attacks that could not run:\n\n");
                for f in &doc.failures {
                    let _ = writeln!(out, "- {}: {}", f.name, f.reason);
                }
                out.push('\n');
            }
            for r in &doc.records {
                let _ = writeln!(out, "### {}\n", r.display_title());
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
                    if let Some(v) = f.value {
                        let _ = writeln!(
                            out,
                            "- {}: {}",
                            f.metric,
                            headline_value(&AttackRecord { headline: f.clone(), ..Default::default() }, Some(v))
                        );
                    }
                }
                if let Some(sec) = r.seconds {
                    let _ = writeln!(out, "- wall time: {sec:.2} s");
                }
                out.push('\n');
                let stem = if r.name == "key-space" {
                    "key-space".to_string()
                } else {
                    format!("attack-{}", super::figures::file_stem(&r.name))
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
        Some(o) => {
            let m = &o.measured;
            out.push_str("Measured in this run (this machine):\n\n| quantity | baseline | private | note |\n|---|---:|---:|---|\n");
            if let Some(e) = &m.encode {
                let _ = writeln!(
                    out,
                    "| customer encoding | — | {} samples/s | {} samples in {} s |",
                    num(e.samples_per_second, 0),
                    num(e.samples, 0),
                    num(e.seconds, 3)
                );
            }
            if m.training.is_some() {
                let r = crate::overhead::TrainingTimeRatio::of(s);
                let median = crate::overhead::median;
                let _ = writeln!(
                    out,
                    "| training time per epoch (s, median) | {} | {} | private / baseline {} ({}){} |",
                    num(median(&s.baseline.epoch_seconds), 3),
                    num(median(&s.private.epoch_seconds), 3),
                    r.value_text(3),
                    crate::overhead::TrainingTimeRatio::DEFINITION,
                    if r.timed_alone { ", each arm timed alone" } else { ", arms shared the machine: indicative only" }
                );
            }
            if let Some(i) = &m.inference {
                let batch = i.batch_size.map(|b| format!("batch of {b:.0}")).unwrap_or_else(|| "per batch".into());
                let _ = writeln!(
                    out,
                    "| inference latency (ms) | {} | {} | {batch}: encode {} + forward {} + decode {} |",
                    num(i.baseline_forward_ms, 3),
                    num(i.private_total_ms.or_else(|| Some(i.private_encode_ms? + i.private_forward_ms? + i.private_decode_ms?)), 3),
                    num(i.private_encode_ms, 3),
                    num(i.private_forward_ms, 3),
                    num(i.private_decode_ms, 3)
                );
            }
            if let Some(b) = &m.bytes {
                let _ = writeln!(
                    out,
                    "| bytes per sample, customer → provider | {} | {} | baseline: the raw input |",
                    num(b.raw_input_per_sample, 0),
                    num(b.to_provider_per_sample, 0)
                );
                let _ = writeln!(out, "| bytes per sample, provider → customer | — | {} | scores over output codes |", num(b.to_customer_per_sample, 0));
            }
            if let Some(d) = m.accuracy_delta {
                let _ = writeln!(out, "| accuracy delta | — | {:+.2} points | private − baseline |", 100.0 * d);
            }
            if let Some(p) = m.peak_memory_bytes {
                let _ = writeln!(out, "| peak memory | — | {:.1} MiB | whole process |", p / (1024.0 * 1024.0));
            }
            out.push('\n');
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
                        l.value.map(|v| format!("{v}")).unwrap_or_else(|| "n/a".into()),
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
            let _ = writeln!(
                out,
                "Seed {}, privacy: {}. The resolved config ([config.toml](config.toml)):\n",
                s.seed,
                transforms_of(&s.privacy)
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
        ("samples.json", "sample images for the panel"),
    ] {
        if run.folder.root.join(name).is_file() {
            let _ = writeln!(out, "- [{name}]({name}): {what}");
        }
    }
    out
}

fn plotters_version() -> String {
    crate::results::summary::crate_versions().get("plotters").cloned().unwrap_or_else(|| "(unknown version)".into())
}
