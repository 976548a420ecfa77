//! The per-run figures. Each is built from a [`RunData`] and drawn by the shared machinery in `draw`.

use std::path::Path;

use crate::config::Schedule;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::{
    arm_marker, fmt_sig, fmt_thousands, render, series_marker, titled, Bar, BarChart, Figure, HLine, LegendItem,
    LineKind, Placed, Series, Swatch, XTicks, XyChart,
};
use super::inputs::{codes_per_class, RunData};
use super::style::{self, series_color, text};
use super::FigureFiles;
use crate::results::attacks::{AttackRecord, Curve};
use crate::results::samples::SamplesFile;
use crate::results::ArmRecord;

/// A figure made of charts.
pub(crate) enum Body {
    Xy(XyChart),
    Bars(BarChart),
    /// Panels stacked top to bottom under one title.
    Stack(String, Vec<XyChart>),
}

pub(crate) struct ChartFigure {
    pub name: String,
    pub size: (u32, u32),
    pub body: Body,
}

impl Figure for ChartFigure {
    fn name(&self) -> String {
        self.name.clone()
    }

    /// The nominal size, taller by the lines a long title wraps onto (the plot keeps its height).
    fn size(&self) -> (u32, u32) {
        let title = match &self.body {
            Body::Xy(c) => c.title.as_deref(),
            Body::Bars(b) => b.title.as_deref(),
            Body::Stack(t, _) => Some(t.as_str()),
        };
        let extra = title.map_or(0, |t| style::title_layout(t, self.size.0).extra_height());
        (self.size.0, self.size.1 + extra)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, _images: &mut Vec<Placed>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        match &self.body {
            Body::Xy(c) => c.draw(root),
            Body::Bars(b) => b.draw(root),
            Body::Stack(title, panels) => {
                let body = titled(root, title)?;
                let (_, h) = body.dim_in_pixel();
                let k = panels.len().max(1) as u32;
                let mut rest = body;
                for (i, p) in panels.iter().enumerate() {
                    let (top, bottom) =
                        if i + 1 < panels.len() { rest.split_vertically(h / k) } else { (rest.clone(), rest.clone()) };
                    // Air between a panel's legend and the next panel.
                    let top = if i > 0 { top.margin(18, 0, 0, 0) } else { top };
                    p.draw(&top)?;
                    rest = bottom;
                }
                Ok(())
            }
        }
    }
}

fn emit<F: Figure>(fig: &F, caption: String, dir: &Path, out: &mut Vec<FigureFiles>) -> anyhow::Result<()> {
    let [png, svg] = render(fig, dir)?;
    out.push(FigureFiles { name: fig.name(), caption, png, svg });
    Ok(())
}

/// Render every figure the run's data allows into `dir`; returns the files and what was skipped.
pub(crate) fn render_all(run: &RunData, dir: &Path) -> anyhow::Result<(Vec<FigureFiles>, Vec<String>)> {
    let mut out = Vec::new();
    let mut skipped = Vec::new();

    match accuracy(run) {
        Some((f, c)) => emit(&f, c, dir, &mut out)?,
        None => skipped.push("accuracy: metrics.csv has no test rows".into()),
    }
    match loss(run) {
        Some((f, c)) => emit(&f, c, dir, &mut out)?,
        None => skipped.push("loss: metrics.csv has no rows".into()),
    }
    match throughput(run) {
        Some((f, c)) => emit(&f, c, dir, &mut out)?,
        None => skipped.push("throughput: metrics.csv has no train rows".into()),
    }
    match training_time(run) {
        Some((f, c)) => emit(&f, c, dir, &mut out)?,
        None => skipped.push("training-time: no epoch completed".into()),
    }
    match &run.overhead {
        None => skipped.push("inference-latency: overhead.json not found (overhead analysis not run)".into()),
        Some(_) => match inference_latency(run) {
            Some((f, c)) => emit(&f, c, dir, &mut out)?,
            None => skipped.push("inference-latency: overhead.json has no inference timings".into()),
        },
    }
    match &run.attacks {
        None => skipped.push("key-space and attack figures: attacks.json not found (attacks not run)".into()),
        Some(doc) => {
            for arm in doc.arms() {
                let suffix = arm_suffix(run, arm);
                match doc.record(arm, "key-space").and_then(|r| key_space(run, r)) {
                    Some((f, c)) => emit(&f, c, dir, &mut out)?,
                    None => {
                        skipped.push(format!("key-space{suffix}: no key-space record with components in attacks.json"))
                    }
                }
                for r in doc.records.iter().filter(|r| r.arm == arm && r.name != "key-space") {
                    match attack(r, run) {
                        Some((f, c)) => emit(&f, c, dir, &mut out)?,
                        None => {
                            skipped.push(format!("attack-{}{suffix}: the record has no curves", file_stem(&r.name)))
                        }
                    }
                }
            }
        }
    }
    if run.several_protected() {
        match super::tradeoff::run_figure(run) {
            Some((f, c)) => emit(&f, c, dir, &mut out)?,
            None => skipped.push("tradeoff: fewer than two arms with a reconstruction attack".into()),
        }
    }
    if run.samples.is_empty() {
        skipped.push("samples: no samples file (samples/ARM.json)".into());
    }
    for (arm, s) in &run.samples {
        if s.raw.is_empty() {
            skipped.push(format!("samples{}: the samples file holds no images", arm_suffix(run, arm)));
            continue;
        }
        let f = SamplesFigure::new(run, arm, s);
        let c = f.caption();
        emit(&f, c, dir, &mut out)?;
    }
    Ok((out, skipped))
}

/// `-ARM` for the files of a run with several protected arms (one figure per arm), else nothing, so
/// two-arm runs keep their figure names.
pub(crate) fn arm_suffix(run: &RunData, arm: &str) -> String {
    if run.several_protected() {
        format!("-{}", file_stem(arm))
    } else {
        String::new()
    }
}

/// " (ARM)" for titles, in a run with several protected arms.
fn arm_in_title(run: &RunData, arm: &str) -> String {
    if run.several_protected() {
        format!(" on `{arm}`")
    } else {
        String::new()
    }
}

/// A safe file stem from an attack name.
pub(crate) fn file_stem(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c.to_ascii_lowercase() } else { '-' })
        .collect();
    if s.is_empty() {
        "unnamed".into()
    } else {
        s
    }
}

/// "pixel-permutation" from "pixel-permutation; labels: permuted, m=1".
pub(crate) fn transforms_of(privacy: &str) -> String {
    privacy.split(';').next().unwrap_or(privacy).trim().to_string()
}

/// An arm in legends: "baseline (raw data)" or "NAME (TRANSFORMS)".
pub(crate) fn arm_label(arm: &ArmRecord) -> String {
    if arm.is_baseline() {
        format!("{} (raw data)", arm.name)
    } else {
        format!("{} ({})", arm.name, transforms_of(&arm.description))
    }
}

/// An arm's colour in every figure of the run.
pub(crate) fn arm_color(run: &RunData, arm: &ArmRecord) -> RGBColor {
    style::arm_color(arm.is_baseline(), run.protected_index(&arm.name))
}

fn arm_mark(run: &RunData, arm: &ArmRecord) -> super::draw::Marker {
    arm_marker(arm.is_baseline(), run.protected_index(&arm.name))
}

/// "baseline 72.60%, private 73.20% (+0.60 points)": each arm's final test accuracy, with its delta.
fn finals(run: &RunData) -> String {
    run.summary
        .arms
        .iter()
        .map(|a| match a.accuracy_delta {
            Some(d) => format!("{} {:.2}% ({:+.2} points)", a.name, 100.0 * a.test_accuracy, 100.0 * d),
            None => format!("{} {:.2}%", a.name, 100.0 * a.test_accuracy),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The run's dataset as a reader knows it ("Fashion-MNIST (6k/1k subset)"), for titles and the report.
pub(crate) fn dataset_title(run: &RunData) -> String {
    let ds = &run.summary.dataset;
    crate::data::display_name(&ds.name, ds.train, ds.test)
}

fn subject(run: &RunData) -> String {
    format!("{}, {}", dataset_title(run), run.summary.archs_label())
}

fn single(name: &str, chart: XyChart) -> ChartFigure {
    ChartFigure { name: name.into(), size: (style::WIDTH, style::HEIGHT), body: Body::Xy(chart) }
}

fn accuracy(run: &RunData) -> Option<(ChartFigure, String)> {
    let mut c = XyChart::new("epoch", "test accuracy (%)");
    c.title = Some(format!("Test accuracy per epoch{}{}", style::TITLE_PART_SEPARATOR, subject(run)));
    c.x_ticks = XTicks::Integer;
    for arm in &run.summary.arms {
        let pts: Vec<(f64, f64)> =
            run.test_rows(&arm.name).iter().map(|r| (r.epoch as f64, 100.0 * r.accuracy)).collect();
        if !pts.is_empty() {
            c.series.push(Series {
                label: arm_label(arm),
                points: pts,
                color: arm_color(run, arm),
                line: LineKind::Solid,
                marker: Some(arm_mark(run, arm)),
                on_top: !arm.is_baseline(),
            });
        }
    }
    if c.series.is_empty() {
        return None;
    }
    let ys: Vec<f64> = c.series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).collect();
    let (lo, hi) = super::draw::min_max(&ys)?;
    let span = (hi - lo).max(2.0);
    c.y_range = Some((lo - 0.15 * span).max(0.0)..(hi + 0.15 * span).min(100.0));
    Some((
        single("accuracy", c),
        format!(
            "Test accuracy after each epoch ({} test images; protected arms' scores decoded by the customer). Final: {}.",
            run.summary.dataset.test,
            finals(run)
        ),
    ))
}

fn loss(run: &RunData) -> Option<(ChartFigure, String)> {
    let mut c = XyChart::new("optimiser step", "cross-entropy loss");
    c.title = Some(format!("Training and test loss{}{}", style::TITLE_PART_SEPARATOR, subject(run)));
    c.y_from_zero = true;
    for arm in &run.summary.arms {
        let pts: Vec<(f64, f64)> = run.train_rows(&arm.name).iter().map(|r| (r.step as f64, r.loss)).collect();
        if !pts.is_empty() {
            let what = if codes_per_class(arm) > 1 { "train, over output codes" } else { "train" };
            c.series.push(Series {
                label: format!("{}, {what}", arm.name),
                points: pts,
                color: arm_color(run, arm),
                line: LineKind::Solid,
                marker: None,
                on_top: !arm.is_baseline(),
            });
        }
    }
    for arm in &run.summary.arms {
        let pts: Vec<(f64, f64)> = run.test_rows(&arm.name).iter().map(|r| (r.step as f64, r.loss)).collect();
        if !pts.is_empty() {
            c.series.push(Series {
                label: format!("{}, test (end of epoch)", arm.name),
                points: pts,
                color: arm_color(run, arm),
                line: LineKind::Dashed,
                marker: Some(arm_mark(run, arm)),
                on_top: !arm.is_baseline(),
            });
        }
    }
    if c.series.is_empty() {
        return None;
    }
    let mut caption = "Training loss (running mean over each logging interval, solid) and test loss of the decoded class probabilities at each epoch's end (dashed, markers).".to_string();
    for arm in run.summary.arms.iter().filter(|a| codes_per_class(a) > 1) {
        let m = codes_per_class(arm);
        caption.push_str(&format!(
            " With label splitting (m = {m}) the `{}` arm's training loss is over its {} output codes, so it is not comparable with the baseline's; its test loss is over classes.",
            arm.name,
            m * run.summary.dataset.classes
        ));
    }
    Some((single("loss", c), caption))
}

fn throughput(run: &RunData) -> Option<(ChartFigure, String)> {
    let mut c = XyChart::new("wall time since the arm started (s)", "throughput (samples/s)");
    c.title = Some(format!(
        "Training throughput ({} schedule, {} threads)",
        run.summary.schedule.name(),
        run.summary.threads
    ));
    c.y_from_zero = true;
    for arm in &run.summary.arms {
        let pts: Vec<(f64, f64)> = run.train_rows(&arm.name).iter().map(|r| (r.wall_s, r.samples_per_s)).collect();
        if !pts.is_empty() {
            let few = pts.len() <= 25;
            c.series.push(Series {
                label: arm_label(arm),
                points: pts,
                color: arm_color(run, arm),
                line: LineKind::Solid,
                marker: if few { Some(arm_mark(run, arm)) } else { None },
                on_top: !arm.is_baseline(),
            });
        }
    }
    if c.series.is_empty() {
        return None;
    }
    let n = run.summary.arms.len();
    let sched = match run.summary.schedule {
        Schedule::Parallel => format!("All {n} arms trained at the same time and shared the machine's cores."),
        Schedule::Sequential => "Each arm was trained alone (sequential schedule).".to_string(),
    };
    let means = run
        .summary
        .arms
        .iter()
        .map(|a| format!("{} {:.0}", a.name, a.samples_per_second))
        .collect::<Vec<_>>()
        .join(", ");
    let total: f64 = run.summary.arms.iter().map(|a| a.samples_per_second).sum();
    let total = match run.summary.schedule {
        Schedule::Parallel if n > 1 => format!(" (together {total:.0} samples/s)"),
        _ => String::new(),
    };
    Some((
        single("throughput", c),
        format!("Training throughput over each logging interval. {sched} Mean over the run: {means} samples/s{total}."),
    ))
}

fn training_time(run: &RunData) -> Option<(ChartFigure, String)> {
    let arms = &run.summary.arms;
    let epochs = arms.iter().map(|a| a.epoch_seconds.len()).max().unwrap_or(0);
    if epochs == 0 {
        return None;
    }
    let annotate = epochs <= 4 && arms.len() <= 3;
    let groups: Vec<Vec<Bar>> = (0..epochs)
        .map(|e| {
            arms.iter()
                .map(|a| {
                    let v = a.epoch_seconds.get(e);
                    Bar {
                        segments: v.map(|v| vec![(*v, arm_color(run, a))]).unwrap_or_default(),
                        annotation: if annotate { v.map(|v| fmt_sig(*v)) } else { None },
                    }
                })
                .collect()
        })
        .collect();
    let ratios: Vec<(String, Option<f64>)> = run
        .summary
        .protected()
        .map(|a| (a.name.clone(), crate::overhead::TrainingTimeRatio::of(&run.summary, &a.name).value))
        .collect();
    let title = match ratios.as_slice() {
        [(name, Some(r))] => format!("Training time per epoch ({name}/baseline = {r:.2}x, medians)"),
        _ => "Training time per epoch".into(),
    };
    let chart = BarChart {
        title: Some(title),
        category_desc: "epoch".into(),
        value_desc: "training time (s)".into(),
        categories: (1..=epochs).map(|e| e.to_string()).collect(),
        groups,
        legend: arms
            .iter()
            .map(|a| LegendItem { label: arm_label(a), swatch: Swatch::Box(arm_color(run, a)) })
            .collect(),
        horizontal: false,
        log: false,
    };
    let how = match run.summary.schedule {
        Schedule::Sequential => "each arm timed alone",
        Schedule::Parallel => "arms trained side by side, sharing the cores, so the ratios are indicative only",
    };
    let listed = ratios
        .iter()
        .map(|(name, r)| format!("{name} {}", r.map_or("n/a".into(), |r| format!("{r:.2}x"))))
        .collect::<Vec<_>>()
        .join(", ");
    Some((
        ChartFigure { name: "training-time".into(), size: (style::WIDTH, style::HEIGHT), body: Body::Bars(chart) },
        format!(
            "Wall-clock training seconds per epoch, evaluation excluded ({how}; from summary.json). Ratio to the baseline ({}): {listed}.",
            crate::overhead::TrainingTimeRatio::DEFINITION
        ),
    ))
}

fn inference_latency(run: &RunData) -> Option<(ChartFigure, String)> {
    let report = run.overhead.as_ref()?;
    let first = &report.arms.first()?.measured.inference.batch;
    let fwd_b = first.baseline_forward_ms;
    let batch = format!(" of {}", fmt_thousands(first.batch_size as f64));
    let ms = |v: f64| format!("{} ms", fmt_sig(v));
    let baseline = run.summary.baseline();
    let mut categories = vec![baseline.map_or("baseline".into(), |b| b.name.clone())];
    let mut groups = vec![vec![Bar { segments: vec![(fwd_b, style::BASELINE)], annotation: Some(ms(fwd_b)) }]];
    let mut totals = Vec::new();
    for a in &report.arms {
        let b = &a.measured.inference.batch;
        let color = run.summary.arm(&a.arm).map_or(style::PRIVATE, |r| arm_color(run, r));
        categories.push(a.arm.clone());
        groups.push(vec![Bar {
            segments: vec![
                (b.private_encode_ms, style::ENCODE),
                (b.private_forward_ms, color),
                (b.private_decode_ms, style::DECODE),
            ],
            annotation: Some(format!(
                "{} ({:.2}x)",
                ms(b.private_total_ms),
                if b.baseline_forward_ms > 0.0 { b.private_total_ms / b.baseline_forward_ms } else { f64::NAN }
            )),
        }]);
        totals.push(format!("{} {}", a.arm, ms(b.private_total_ms)));
    }
    let mut legend = vec![
        LegendItem { label: "forward, baseline (provider)".into(), swatch: Swatch::Box(style::BASELINE) },
        LegendItem { label: "encode (customer)".into(), swatch: Swatch::Box(style::ENCODE) },
    ];
    for a in run.summary.protected().filter(|a| report.arm(&a.name).is_some()) {
        legend.push(LegendItem {
            label: format!("forward, {} (provider)", a.name),
            swatch: Swatch::Box(arm_color(run, a)),
        });
    }
    legend.push(LegendItem { label: "decode (customer)".into(), swatch: Swatch::Box(style::DECODE) });
    let height = (300 + 60 * categories.len() as u32).max(380);
    let chart = BarChart {
        title: Some(format!("Inference latency per batch{batch}")),
        category_desc: String::new(),
        value_desc: format!("latency per batch{batch} (ms)"),
        categories,
        groups,
        legend,
        horizontal: true,
        log: false,
    };
    Some((
        ChartFigure { name: "inference-latency".into(), size: (style::WIDTH, height), body: Body::Bars(chart) },
        format!(
            "Inference latency per batch{batch}: the baseline's forward pass ({}) vs each protected arm's customer encode + provider forward + customer decode ({}; from overhead.json).",
            ms(fwd_b),
            totals.join(", ")
        ),
    ))
}

/// Key-space components from the record: `parameters.components` = [{component, bits, continuous_dim}].
fn key_components(r: &AttackRecord) -> Vec<(String, f64, f64)> {
    let Some(list) = r.parameters.get("components").and_then(|v| v.as_array()) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|c| {
            let name = c.get("component").or_else(|| c.get("name")).and_then(|v| v.as_str())?.to_string();
            let bits = c.get("bits").and_then(|v| v.as_f64()).unwrap_or(0.0);
            let dim = c.get("continuous_dim").and_then(|v| v.as_f64()).unwrap_or(0.0);
            Some((name, bits, dim))
        })
        .collect()
}

fn key_space(run: &RunData, r: &AttackRecord) -> Option<(ChartFigure, String)> {
    let comps = key_components(r);
    if comps.is_empty() {
        return None;
    }
    let total = Some(r.headline.value).filter(|v| v.is_finite());
    let bits_label = |b: f64| if b >= 100.0 { format!("{} bits", fmt_thousands(b)) } else { format!("{b:.1} bits") };
    let mut categories = Vec::new();
    let mut groups = Vec::new();
    for (name, bits, dim) in &comps {
        categories.push(name.clone());
        let annotation = if *bits > 0.0 {
            let mut a = bits_label(*bits);
            if *dim > 0.0 {
                a.push_str(&format!(" + continuous (dim {})", fmt_thousands(*dim)));
            }
            a
        } else if *dim > 0.0 {
            format!("continuous key (dim {})", fmt_thousands(*dim))
        } else {
            "no key".into()
        };
        let color = run.summary.arm(&r.arm).map_or(style::PRIVATE, |a| arm_color(run, a));
        groups.push(vec![Bar { segments: vec![(*bits, color)], annotation: Some(annotation) }]);
    }
    if let Some(t) = total {
        categories.push("total (discrete)".into());
        groups.push(vec![Bar { segments: vec![(t, style::INK)], annotation: Some(bits_label(t)) }]);
    }
    let pos: Vec<f64> = groups.iter().flatten().map(|b| b.total()).filter(|v| *v > 0.0).collect();
    let (lo, hi) = super::draw::min_max(&pos).unwrap_or((1.0, 1.0));
    let log = hi / lo.max(1e-9) > 50.0;
    let chart = BarChart {
        title: Some(format!(
            "Key space ({}){}{}{}",
            transforms_of(&r.transform),
            arm_in_title(run, &r.arm),
            style::TITLE_PART_SEPARATOR,
            dataset_title(run)
        )),
        category_desc: String::new(),
        value_desc: format!("log2(number of keys) (bits{})", if log { ", log scale" } else { "" }),
        categories,
        groups,
        legend: vec![],
        horizontal: true,
        log,
    };
    let height = (150 + 62 * chart.categories.len() as u32).clamp(320, 700);
    Some((
        ChartFigure {
            name: format!("key-space{}", arm_suffix(run, &r.arm)),
            size: (style::WIDTH, height),
            body: Body::Bars(chart),
        },
        format!(
            "Key space of each secret component, in bits (log2 of the number of keys; analytic, from attacks.json). Verdict: {}: {}",
            r.verdict_cell(),
            r.verdict
        ),
    ))
}

/// What an attack panel's y axis measures, read from its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum YKind {
    /// A difference of accuracies (fraction; 0 = no advantage).
    Difference,
    Psnr,
    Ssim,
    Mse,
    /// A classification rate: accuracy, reconstructions classified correctly.
    Accuracy,
    /// Another fraction: key recovered, classes recovered.
    Fraction,
    Bits,
    Other,
}

pub(crate) fn y_kind(y_label: &str) -> YKind {
    let y = y_label.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| y.contains(w));
    if has(&["difference", "advantage"]) {
        YKind::Difference
    } else if has(&["psnr", "(db)"]) {
        YKind::Psnr
    } else if has(&["ssim"]) {
        YKind::Ssim
    } else if has(&["mse"]) {
        YKind::Mse
    } else if has(&["accuracy", "classified", "recognised", "recognized"]) {
        YKind::Accuracy
    } else if has(&["fraction", "recovered", "rate", "share"]) {
        YKind::Fraction
    } else if has(&["bits"]) {
        YKind::Bits
    } else {
        YKind::Other
    }
}

fn fmt_value(v: f64, unit: &str) -> String {
    match unit {
        "dB" => format!("{v:.1} dB"),
        "fraction" => format!("{v:.3}"),
        "points" => format!("{:+.2} points", 100.0 * v),
        "bits" => format!("{v:.1} bits"),
        _ if unit.is_empty() => format!("{v:.4}"),
        _ => format!("{v:.4} {unit}"),
    }
}

/// Whether curves with this x label plot independent draws ("wrong key #": the x value only numbers
/// them, no order or trend between them). Those are drawn as points in a strip plot, never joined.
pub(crate) fn independent_draws(x_label: &str) -> bool {
    x_label.trim_end().ends_with('#')
}

/// `labels` without the words they all start with ("wrong keys, own map", "wrong keys, fitted map"
/// -> "own map", "fitted map"); unchanged when that would leave one empty.
fn without_common_prefix(labels: &[String]) -> Vec<String> {
    if labels.len() < 2 {
        return labels.to_vec();
    }
    let first = &labels[0];
    let mut cut = 0;
    for (i, c) in first.char_indices() {
        if labels.iter().any(|l| !l[i..].starts_with(c)) {
            break;
        }
        // Cut only after a word separator.
        if c == ',' || c == ':' || c == ' ' {
            cut = i + c.len_utf8();
        }
    }
    let out: Vec<String> = labels.iter().map(|l| l[cut..].trim().to_string()).collect();
    if out.iter().any(|l| l.is_empty()) {
        labels.to_vec()
    } else {
        out
    }
}

/// Horizontal offset of draw `j` of `m` inside its column (evenly spread, so equal values stay apart).
fn strip_offset(j: usize, m: usize) -> f64 {
    if m < 2 {
        0.0
    } else {
        (j as f64 / (m - 1) as f64 - 0.5) * 0.5
    }
}

/// A strip plot of curves of independent draws: one column per curve, one unjoined point per draw,
/// and a short bar at each column's mean.
pub(crate) fn strip_chart(x_label: &str, y_label: &str, curves: &[&Curve]) -> XyChart {
    let labels: Vec<String> = curves
        .iter()
        .enumerate()
        .map(|(k, c)| if c.label.is_empty() { format!("curve {}", k + 1) } else { c.label.clone() })
        .collect();
    let what = x_label.trim_end().trim_end_matches('#').trim();
    let n = curves.iter().map(|c| c.xy().len()).max().unwrap_or(0);
    let plural = if n == 1 || what.ends_with('s') { "" } else { "s" };
    let mut c = XyChart::new(format!("{n} independent {what}{plural}, one point each"), y_label.to_string());
    c.x_categories = without_common_prefix(&labels);
    let mut means = Vec::new();
    for (k, curve) in curves.iter().enumerate() {
        let ys: Vec<f64> = curve.xy().iter().map(|p| p.1).collect();
        let m = ys.len();
        c.series.push(Series {
            // Named by its column; the legend keeps to the reference levels.
            label: String::new(),
            points: ys.iter().enumerate().map(|(j, y)| (k as f64 + strip_offset(j, m), *y)).collect(),
            color: series_color(k),
            line: LineKind::None,
            marker: Some(series_marker(k)),
            on_top: false,
        });
        if m > 1 {
            let mean = ys.iter().sum::<f64>() / m as f64;
            means.push(Series {
                label: if means.is_empty() { format!("mean over the {what}{plural}") } else { String::new() },
                points: vec![(k as f64 - 0.32, mean), (k as f64 + 0.32, mean)],
                color: style::MUTED,
                line: LineKind::Solid,
                marker: None,
                on_top: false,
            });
        }
    }
    // Means first, so that the points are drawn over them.
    means.append(&mut c.series);
    c.series = means;
    c
}

/// The y range of an attack panel: the data and every reference line drawn on it, on a scale where
/// a small change does not fill the axis. Rates and fractions in [0, 1] (accuracy, recognised, SSIM,
/// key recovered) get the whole 0..1; PSNR at least [`MIN_PSNR_SPAN_DB`]; accuracy differences at
/// least [`MIN_DIFFERENCE_SPAN`] around 0; MSE from 0 (perfect reconstruction). `None`: the chart's
/// own range from data and lines.
pub(crate) fn attack_y_range(y_label: &str, ys: &[f64]) -> Option<std::ops::Range<f64>> {
    let (lo, hi) = super::draw::min_max(ys)?;
    match y_kind(y_label) {
        YKind::Difference => {
            let (lo, hi) = (lo.min(0.0), hi.max(0.0));
            let grow = (MIN_DIFFERENCE_SPAN - (hi - lo)).max(0.0) / 2.0;
            Some(super::draw::pad_range(lo - grow, hi + grow, 0.07, false))
        }
        YKind::Accuracy | YKind::Fraction | YKind::Ssim if lo >= -1e-9 && hi <= 1.0 + 1e-9 => Some(0.0..1.04),
        YKind::Psnr => {
            // Grow upwards, towards better reconstructions: the no-attack reference is the floor that matters.
            let hi = hi.max(lo + MIN_PSNR_SPAN_DB);
            Some(super::draw::pad_range(lo, hi, 0.07, false))
        }
        YKind::Mse if lo >= 0.0 => Some(super::draw::pad_range(0.0, hi, 0.07, true)),
        _ => None,
    }
}

/// Smallest PSNR axis span: a 0.5 dB change looks like one.
pub(crate) const MIN_PSNR_SPAN_DB: f64 = 10.0;
/// Smallest span of an accuracy-difference axis (fraction; 0.1 = 10 points).
pub(crate) const MIN_DIFFERENCE_SPAN: f64 = 0.1;

/// Whether an attack record's `chance` is a level worth a line: a PSNR "chance" of 0 dB (format-1
/// records) is none.
pub(crate) fn meaningful_chance(chance: f64, unit: &str) -> bool {
    !(unit == "dB" && chance <= 0.0)
}

/// The reference lines of one attack panel: chance and the record's reference when the record's
/// headline unit is what the panel shows, chance (1 / classes) on any other accuracy panel, and on
/// accuracy panels the stolen model's best accuracy on raw inputs when the record holds it.
fn reference_lines(r: &AttackRecord, y_label: &str, classes: usize) -> Vec<HLine> {
    let unit = r.headline.unit.as_str();
    let accuracy_panel = y_kind(y_label) == YKind::Accuracy;
    let mut out = Vec::new();
    if crate::results::attacks::unit_matches(unit, y_label) {
        // A PSNR "chance" of 0 dB is no meaningful level (the reference line, e.g. the adversary's
        // mean image, is the no-knowledge floor), so it is not drawn.
        let chance = r.chance.filter(|c| meaningful_chance(*c, unit));
        if let Some(ch) = chance {
            let label = match &r.chance_label {
                Some(what) => format!("{what} ({})", fmt_value(ch, unit)),
                None if unit == "points" && ch == 0.0 => "no advantage (0 points)".to_string(),
                None => format!("chance ({})", fmt_value(ch, unit)),
            };
            out.push(HLine { label, y: ch, color: style::CHANCE, dotted: false });
        }
        if let Some(b) = r.baseline {
            let what = r.baseline_label.clone().unwrap_or_else(|| "reference".into());
            out.push(HLine {
                label: format!("{what} ({})", fmt_value(b, unit)),
                y: b,
                color: style::REFERENCE,
                dotted: true,
            });
        }
    } else if accuracy_panel && classes > 0 {
        let ch = 1.0 / classes as f64;
        out.push(HLine {
            label: format!("chance (1/{classes} = {})", fmt_value(ch, "fraction")),
            y: ch,
            color: style::CHANCE,
            dotted: false,
        });
    }
    if accuracy_panel {
        // "raw inputs, ..." figures without the key (not the upper bound that needs the secret map).
        let raw = std::iter::once(&r.headline)
            .chain(&r.figures)
            .filter(|f| {
                let m = f.metric.to_lowercase();
                m.starts_with("raw inputs")
                    && f.unit == "fraction"
                    && !m.contains("upper bound")
                    && !m.contains("secret")
            })
            .map(|f| f.value)
            .fold(None, |best: Option<f64>, v| Some(best.map_or(v, |b| b.max(v))));
        if let Some(v) = raw {
            out.push(HLine {
                label: format!("raw inputs without the key, best label map ({})", fmt_value(v, "fraction")),
                y: v,
                color: style::BASELINE,
                dotted: false,
            });
        }
    }
    out
}

/// The panels of an attack's figure: curves that share x_label and y_label go on one panel, in order
/// of first appearance; independent draws as a strip plot; reference lines and ranges that show them.
pub(crate) fn attack_panels(r: &AttackRecord, classes: usize) -> Vec<XyChart> {
    let mut groups: Vec<((String, String), Vec<usize>)> = Vec::new();
    for (i, c) in r.curves.iter().enumerate() {
        if c.xy().is_empty() {
            continue;
        }
        let key = (c.x_label.clone(), c.y_label.clone());
        match groups.iter_mut().find(|g| g.0 == key) {
            Some(g) => g.1.push(i),
            None => groups.push((key, vec![i])),
        }
    }
    let mut panels = Vec::new();
    for ((x_label, y_label), idx) in &groups {
        let curves: Vec<_> = idx.iter().map(|&i| &r.curves[i]).collect();
        let mut c = if independent_draws(x_label) {
            strip_chart(x_label, y_label, &curves)
        } else {
            let mut c = XyChart::new(x_label.clone(), y_label.clone());
            let all_pos_x = curves.iter().all(|c| c.xy().iter().all(|p| p.0 > 0.0));
            let all_int_x = curves.iter().all(|c| c.xy().iter().all(|p| (p.0 - p.0.round()).abs() < 1e-9));
            c.x_ticks = if curves.iter().any(|c| c.x_log) && all_pos_x {
                XTicks::Log
            } else if all_int_x {
                XTicks::Integer
            } else {
                XTicks::Auto
            };
            for (k, curve) in curves.iter().enumerate() {
                c.series.push(Series {
                    label: if curve.label.is_empty() { format!("curve {}", k + 1) } else { curve.label.clone() },
                    marker: Some(series_marker(k)),
                    on_top: false,
                    line: LineKind::Solid,
                    color: series_color(k),
                    points: curve.xy(),
                });
            }
            c
        };
        c.hlines = reference_lines(r, y_label, classes);
        let ys: Vec<f64> =
            c.series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).chain(c.hlines.iter().map(|h| h.y)).collect();
        c.y_range = attack_y_range(y_label, &ys);
        panels.push(c);
    }
    panels
}

fn attack(r: &AttackRecord, run: &RunData) -> Option<(ChartFigure, String)> {
    let unit = r.headline.unit.as_str();
    let mut panels = attack_panels(r, run.summary.dataset.classes);
    if panels.is_empty() {
        return None;
    }
    let mut title = format!(
        "{}{}{}{}",
        r.display_title(),
        arm_in_title(run, &r.arm),
        style::TITLE_PART_SEPARATOR,
        dataset_title(run)
    );
    if r.level.is_some() {
        // The verdict and the metric that decided it travel with the figure, not only with the report.
        title.push_str(&format!("{}verdict: {}", style::TITLE_PART_SEPARATOR, r.verdict_cell()));
    }
    let n = panels.len() as u32;
    let (size, body) = if n == 1 {
        let mut c = panels.pop().expect("one panel");
        c.title = Some(title);
        ((style::WIDTH, style::HEIGHT + 40), Body::Xy(c))
    } else {
        ((style::WIDTH, 50 + n * style::PANEL_HEIGHT), Body::Stack(title, panels))
    };
    let mut caption = r.display_title();
    if !r.threat_model.adversary.is_empty() {
        caption.push_str(&format!(". Adversary: {}", r.threat_model.adversary));
        if !r.threat_model.holds.is_empty() {
            caption.push_str(&format!(", holding {}", r.threat_model.holds.join("; ")));
        }
    }
    caption.push_str(&format!(". {}: {}", r.headline.metric, fmt_value(r.headline.value, unit)));
    caption.push_str(&format!(". Verdict: {}", r.verdict_cell()));
    if !r.verdict.is_empty() {
        caption.push_str(&format!(": {}", r.verdict));
    }
    if !r.complete {
        caption.push_str(" (stopped early: curves hold the points done)");
    }
    caption.push('.');
    let name = format!("attack-{}{}", file_stem(&r.name), arm_suffix(run, &r.arm));
    Some((ChartFigure { name, size, body }, caption.replace("..", ".")))
}

// ---------------------------------------------------------------------------------------------
// Sample images

const FASHION: [&str; 10] =
    ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];
const CIFAR: [&str; 10] = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

fn class_name(dataset: &str, label: u32) -> String {
    let d = dataset.to_lowercase();
    let named = if d == "embedded" || d.contains("fashion") {
        FASHION.get(label as usize)
    } else if d.contains("cifar") {
        CIFAR.get(label as usize)
    } else {
        None
    };
    match named {
        Some(n) => n.to_string(),
        None => format!("class {label}"),
    }
}

struct Row {
    title: String,
    detail: String,
    images: Vec<(Vec<u8>, bool)>,
}

/// Raw / encoded / decoded / reconstructed images of a few test samples, one row each.
pub(crate) struct SamplesFigure {
    rows: Vec<Row>,
    columns: Vec<String>,
    iw: u32,
    ih: u32,
    /// The figure's file name: `samples`, or `samples-ARM` in a run with several protected arms.
    name: String,
    privacy: String,
    /// What a split arm's provider receives instead of images (no encoded row); None: images.
    provider_sees: Option<String>,
    /// "Test images through the scheme (TRANSFORMS) — DATASET", laid out by `style::title_layout`.
    title: String,
    rescaled: bool,
    /// Left and right margin of the image grid.
    left: u32,
}

/// RGB bytes of one image; values outside [0, 1] are rescaled to the image's own range (flag true).
fn to_rgb(values: &[f32], h: usize, w: usize, channels: usize) -> (Vec<u8>, bool) {
    let finite: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let (lo, hi) = finite.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let in_unit = lo >= -1e-3 && hi <= 1.0 + 1e-3;
    let (off, scale, rescaled) = if in_unit || !lo.is_finite() {
        (0.0, 1.0, false)
    } else {
        (lo, if hi > lo { 1.0 / (hi - lo) } else { 1.0 }, true)
    };
    let mut out = Vec::with_capacity(h * w * 3);
    for p in 0..h * w {
        for ch in 0..3 {
            let src = if channels >= 3 { p * channels + ch } else { p * channels.max(1) };
            let v = values.get(src).copied().unwrap_or(0.0);
            let v = if v.is_finite() { ((v - off) * scale).clamp(0.0, 1.0) } else { 0.0 };
            out.push((v * 255.0).round() as u8);
        }
    }
    (out, rescaled)
}

/// The encoded row's caption: what the provider sees, and how an encoding of another shape is drawn.
fn encoded_detail(s: &SamplesFile) -> String {
    match (s.encoded_shape(), s.shape) {
        (Some(e), Some(r)) if e != r => format!(
            "what the provider sees ({}x{}x{}; drawn as the mean of each {} channels)",
            e.height,
            e.width,
            e.channels,
            e.channels / r.channels.max(1)
        ),
        _ => "what the provider sees".into(),
    }
}

impl SamplesFigure {
    fn new(run: &RunData, arm: &str, s: &SamplesFile) -> Self {
        let shape = s.shape.expect("checked when loaded");
        let (h, w, c) = (shape.height, shape.width, shape.channels);
        let conv = |list: &Vec<Vec<f32>>| list.iter().map(|img| to_rgb(img, h, w, c)).collect::<Vec<_>>();
        let mut rows = vec![Row { title: "raw".into(), detail: "customer's data".into(), images: conv(&s.raw) }];
        match &s.provider_sees {
            // No images cross (split arms): no encoded row; the raw row says what crosses instead.
            Some(sees) => rows[0].detail = format!("customer's data; the provider gets {sees}"),
            None => rows.push(Row {
                title: "encoded".into(),
                detail: encoded_detail(s),
                images: conv(&s.encoded_as_raw().unwrap_or_default()),
            }),
        }
        if let Some(d) = &s.decoded {
            rows.push(Row { title: "decoded".into(), detail: "by the customer's key".into(), images: conv(d) });
        }
        for r in &s.reconstructions {
            let mut detail = r.label.clone();
            if let Some(p) = r.psnr_db {
                if !detail.is_empty() {
                    detail.push_str(", ");
                }
                detail.push_str(&format!("PSNR {p:.1} dB"));
            }
            rows.push(Row { title: format!("attack: {}", r.attack), detail, images: conv(&r.images) });
        }
        let rescaled = rows.iter().any(|r| r.images.iter().any(|i| i.1));
        let ds = &run.summary.dataset;
        let columns = s
            .labels
            .iter()
            .map(|&l| ds.class_names.get(l as usize).cloned().unwrap_or_else(|| class_name(&ds.name, l)))
            .collect::<Vec<_>>();
        let columns = if columns.len() == s.raw.len() { columns } else { vec![String::new(); s.raw.len()] };
        let described = run.summary.arm(arm).map(|a| a.description.clone()).unwrap_or_default();
        let privacy = if s.privacy.is_empty() { described } else { s.privacy.clone() };
        // Each row has a heading line above its images: "title  detail", cut to the figure's width.
        let left = Self::MARGIN;
        for r in &mut rows {
            let room = style::WIDTH - 2 * Self::MARGIN - style::text_width(&r.title, style::LEGEND_PX) - 24;
            // Drawn at NOTE_PX: cut to fit at that size, never shrunk (a shrunk size would be ignored).
            r.detail = style::fit_text(&r.detail, style::NOTE_PX, style::NOTE_PX, room).0;
        }
        let title = format!(
            "Test images through the scheme ({}){}{}{}",
            transforms_of(&privacy),
            arm_in_title(run, arm),
            style::TITLE_PART_SEPARATOR,
            dataset_title(run)
        );
        let name = format!("samples{}", arm_suffix(run, arm));
        let provider_sees = s.provider_sees.clone();
        SamplesFigure { rows, columns, iw: w as u32, ih: h as u32, name, privacy, provider_sees, title, rescaled, left }
    }

    fn caption(&self) -> String {
        let mut c = match &self.provider_sees {
            Some(sees) => format!(
                "{} test images ({}): raw (no encoded row: the provider receives {sees})",
                self.columns.len(),
                transforms_of(&self.privacy)
            ),
            None => format!(
                "{} test images: raw, encoded as the provider receives them ({}), decoded by the customer",
                self.columns.len(),
                transforms_of(&self.privacy)
            ),
        };
        let recon: Vec<&str> = self.rows.iter().filter_map(|r| r.title.strip_prefix("attack: ")).collect();
        if recon.is_empty() {
            c.push_str(" (no attack reconstructions stored)");
        } else {
            c.push_str(&format!(", and reconstructed by {}", recon.join(", ")));
        }
        if self.rescaled {
            c.push_str("; images marked * have values outside [0, 1] and are shown rescaled to their own range");
        }
        c.push('.');
        c
    }

    const MARGIN: u32 = 24;
    /// Column headers, below the title.
    const HEADERS: u32 = 34;
    /// A row's heading line.
    const HEADING: u32 = 32;
    const GAP: u32 = 12;

    /// Title and column headers.
    fn top(&self) -> u32 {
        style::title_layout(&self.title, style::WIDTH).height + Self::HEADERS
    }

    fn cell(&self) -> u32 {
        let n = self.columns.len().max(1) as u32;
        ((style::WIDTH - 2 * self.left - (n - 1) * Self::GAP) / n).clamp(28, 130)
    }

    /// Left edge of the image grid (centred).
    fn grid_x(&self) -> i32 {
        let n = self.columns.len().max(1) as u32;
        let used = n * self.cell() + (n - 1) * Self::GAP;
        ((style::WIDTH - used) / 2) as i32
    }
}

impl Figure for SamplesFigure {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn size(&self) -> (u32, u32) {
        let cell = self.cell();
        let rows = self.rows.len() as u32;
        (style::WIDTH, self.top() + rows * (Self::HEADING + cell + Self::GAP) + if self.rescaled { 36 } else { 8 })
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, images: &mut Vec<Placed>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        use plotters::style::text_anchor::{HPos, Pos, VPos};
        let _ = titled(root, &self.title)?;
        let top = self.top() as i32;
        let cell = self.cell();
        let x0 = self.grid_x();
        let step = (cell + Self::GAP) as i32;
        let head = text(style::NOTE_PX).pos(Pos::new(HPos::Center, VPos::Bottom));
        for (j, name) in self.columns.iter().enumerate() {
            let name = style::fit_text(name, style::NOTE_PX, 15, cell + Self::GAP - 4);
            let x = x0 + j as i32 * step + cell as i32 / 2;
            root.draw(&Text::new(name.0, (x, top - 6), text(name.1).pos(head.pos)))?;
        }
        let title_style = text(style::LEGEND_PX).pos(Pos::new(HPos::Left, VPos::Bottom));
        let detail_style = text_colored_note().pos(Pos::new(HPos::Left, VPos::Bottom));
        for (i, row) in self.rows.iter().enumerate() {
            let y = top + i as i32 * (Self::HEADING + cell + Self::GAP) as i32 + Self::HEADING as i32;
            let marked = row.images.iter().any(|im| im.1);
            let title = if marked { format!("{} *", row.title) } else { row.title.clone() };
            root.draw(&Text::new(title.clone(), (x0, y - 6), title_style.clone()))?;
            let tx = x0 + style::text_width(&title, style::LEGEND_PX) as i32 + 14;
            root.draw(&Text::new(row.detail.clone(), (tx, y - 7), detail_style.clone()))?;
            for (j, (rgb, _)) in row.images.iter().enumerate() {
                let x = x0 + j as i32 * step;
                root.draw(&Rectangle::new(
                    [(x - 1, y - 1), (x + cell as i32, y + cell as i32)],
                    style::MUTED.stroke_width(1),
                ))?;
                images.push(Placed { x, y, w: cell, h: cell, iw: self.iw, ih: self.ih, rgb: rgb.clone() });
            }
        }
        if self.rescaled {
            let (_, h) = root.dim_in_pixel();
            root.draw(&Text::new(
                "* values outside [0, 1]: each image shown rescaled to its own min..max".to_string(),
                (x0, h as i32 - 26),
                text_colored_note(),
            ))?;
        }
        Ok(())
    }
}

fn text_colored_note() -> TextStyle<'static> {
    style::text_colored(style::NOTE_PX, style::MUTED)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record with the fields `json` gives over an empty one.
    fn record(json: &str) -> AttackRecord {
        let threat = crate::results::attacks::ThreatModel {
            adversary: String::new(),
            holds: Vec::new(),
            knowledge: String::new(),
        };
        let mut value = serde_json::to_value(AttackRecord::new("", "", "", threat, "")).unwrap();
        let given: serde_json::Value = serde_json::from_str(json).expect("a test record");
        for (k, v) in given.as_object().unwrap() {
            value[k] = v.clone();
        }
        serde_json::from_value(value).expect("a test record")
    }

    const WRONG_KEY: &str = r#"{"name": "wrong-key",
        "curves": [
            {"label": "wrong keys, each key's own label map", "x_label": "wrong key #", "y_label": "accuracy",
             "points": [[1, 0.09], [2, 0.11], [3, 0.10], [4, 0.12], [5, 0.08]]},
            {"label": "wrong keys, label map fitted on labelled aux data", "x_label": "wrong key #", "y_label": "accuracy",
             "points": [[1, 0.16], [2, 0.18], [3, 0.15], [4, 0.17], [5, 0.19]]}],
        "headline": {"metric": "best accuracy without the key", "value": 0.19, "unit": "fraction"},
        "figures": [{"metric": "raw inputs, identity label map", "value": 0.11, "unit": "fraction"},
                    {"metric": "raw inputs, label map fitted on aux labels", "value": 0.14, "unit": "fraction"},
                    {"metric": "raw inputs, true label map (upper bound, needs the secret map)", "value": 0.7, "unit": "fraction"}],
        "chance": 0.1, "baseline": 0.73, "baseline_label": "accuracy with the right key"}"#;

    #[test]
    fn independent_wrong_keys_are_points_in_columns_not_a_line() {
        let panels = attack_panels(&record(WRONG_KEY), 10);
        assert_eq!(panels.len(), 1);
        let c = &panels[0];
        assert_eq!(c.x_categories, ["each key's own label map", "label map fitted on labelled aux data"]);
        assert!(c.x_desc.contains("5 independent wrong keys"), "{}", c.x_desc);
        let points: Vec<&Series> = c.series.iter().filter(|s| s.line == LineKind::None).collect();
        assert_eq!(points.len(), 2, "one point series per curve");
        for (k, s) in points.iter().enumerate() {
            assert!(s.marker.is_some());
            assert_eq!(s.points.len(), 5, "one point per key");
            for p in &s.points {
                assert!((p.0 - k as f64).abs() <= 0.25 + 1e-9, "key drawn outside its column: {p:?}");
            }
            let xs: Vec<f64> = s.points.iter().map(|p| p.0).collect();
            assert!(xs.windows(2).all(|w| w[0] < w[1]), "equal values stay apart: {xs:?}");
        }
        // Lines are only the two-point mean bars, never joining keys.
        for s in c.series.iter().filter(|s| s.line != LineKind::None) {
            assert_eq!(s.points.len(), 2);
            assert_eq!(s.points[0].1, s.points[1].1, "a mean bar is horizontal");
        }
        let fitted_mean = c.series.iter().filter(|s| s.line == LineKind::Solid).nth(1).unwrap().points[0].1;
        assert!((fitted_mean - 0.17).abs() < 1e-9, "{fitted_mean}");
        // Chance, the right key and the best raw-input accuracy without the key (not the upper bound).
        let levels: Vec<f64> = c.hlines.iter().map(|h| h.y).collect();
        assert_eq!(levels, [0.1, 0.73, 0.14], "{:?}", c.hlines);
        assert!(c.hlines.iter().all(|h| !h.label.is_empty()));
        assert_eq!(c.y_range, Some(0.0..1.04));
        // Ordered x values of another attack stay a line.
        assert!(!independent_draws("known pairs n") && independent_draws("wrong key #"));
    }

    #[test]
    fn attack_axes_include_the_reference_and_do_not_magnify_small_changes() {
        let r = record(
            r#"{"name": "inversion", "headline": {"metric": "PSNR", "value": 16.14, "unit": "dB"},
            "chance": 0.0, "baseline": 10.6, "baseline_label": "no attack",
            "curves": [
              {"label": "decoder: PSNR", "x_label": "known pairs n", "y_label": "PSNR of unseen data (dB)", "x_log": true,
               "points": [[100, 15.61], [500, 16.14]]},
              {"label": "decoder: recognised", "x_label": "known pairs n",
               "y_label": "reconstructions classified correctly", "x_log": true, "points": [[100, 0.668], [500, 0.664]]},
              {"label": "decoder: MSE", "x_label": "known pairs n", "y_label": "MSE of unseen data", "x_log": true,
               "points": [[100, 0.0346], [500, 0.0283]]}]}"#,
        );
        let panels = attack_panels(&r, 10);
        assert_eq!(panels.len(), 3);
        let psnr = panels[0].y_range.clone().unwrap();
        assert!(psnr.contains(&10.6) && psnr.contains(&16.14), "{psnr:?}");
        assert!(psnr.end - psnr.start >= MIN_PSNR_SPAN_DB, "a 0.5 dB change fills the axis: {psnr:?}");
        assert_eq!(panels[0].hlines.len(), 1, "the no-attack reference, not a 0 dB chance");
        let rate = panels[1].y_range.clone().unwrap();
        assert!(rate.contains(&0.1) && rate.contains(&0.668), "{rate:?}");
        assert!(panels[1].hlines.iter().any(|h| (h.y - 0.1).abs() < 1e-12), "chance on the rate panel");
        let mse = panels[2].y_range.clone().unwrap();
        assert_eq!(mse.start, 0.0, "MSE from perfect reconstruction: {mse:?}");

        // An accuracy difference keeps 0 (no advantage) and at least 10 points in view.
        let r = record(
            r#"{"name": "fine-tune", "headline": {"metric": "advantage", "value": 0.0075, "unit": "points"}, "chance": 0.0,
            "curves": [{"label": "advantage", "x_label": "n", "y_label": "accuracy difference",
               "points": [[10, 0.02], [30, 0.01], [250, -0.01]]},
               {"label": "fine-tuned", "x_label": "n", "y_label": "accuracy", "points": [[10, 0.31], [30, 0.45]]}]}"#,
        );
        let panels = attack_panels(&r, 10);
        let diff = panels[0].y_range.clone().unwrap();
        assert!(diff.contains(&0.0) && diff.end - diff.start >= MIN_DIFFERENCE_SPAN, "{diff:?}");
        assert!(panels[1].hlines.iter().any(|h| (h.y - 0.1).abs() < 1e-12), "chance on the accuracy panel");
        assert_eq!(panels[1].y_range, Some(0.0..1.04));
    }

    #[test]
    fn common_prefixes_are_cut_at_word_boundaries() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            without_common_prefix(&l(&["wrong keys, own map", "wrong keys, fitted map"])),
            ["own map", "fitted map"]
        );
        assert_eq!(without_common_prefix(&l(&["abc", "abd"])), ["abc", "abd"]);
        assert_eq!(without_common_prefix(&l(&["same", "same"])), ["same", "same"]);
    }
}
