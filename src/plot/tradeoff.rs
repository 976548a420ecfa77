//! The cross-run privacy/utility trade-off: one point per protected arm of each run, the test accuracy
//! change (arm minus its run's baseline, points) against the best reconstruction an attack achieved (PSNR of unseen data, dB, over
//! the attacks whose result is a reconstruction, `ResultKind::Reconstruction`), coloured by scheme family, with lines at
//! no accuracy change and at the attacks' no-attack reference. Labels are placed so that they do not
//! overlap. Written as tradeoff.png/.svg plus tradeoff.md (the same numbers as a table, with accuracy
//! kept = private / baseline, including runs that have no reconstruction attack).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::{
    min_max, pad_range, render as render_figure, Figure, HLine, LineKind, Marker, Placed, Series, VLine, XyChart,
};
use super::figures::transforms_of;
use super::inputs::RunData;
use super::style;
use crate::attacks::registry::{self, ResultKind};
use crate::config::SplitConfig;
use crate::results::ArmRecord;
use crate::scheme::family::Family;
use crate::scheme::transforms::Shape;

#[derive(Debug, Clone)]
pub(crate) struct Point {
    /// The run's name (the folder's name where two runs share one).
    pub name: String,
    pub privacy: String,
    pub family: Family,
    /// The dataset as a reader knows it (`data::display_name`).
    pub dataset: String,
    pub kept: Option<f64>,
    /// Private minus baseline test accuracy (fraction).
    pub delta: Option<f64>,
    /// Half-width of a 95% interval of `delta` (fraction): normal approximation for two proportions on
    /// `n` test images each, unpaired, so conservative (both arms are scored on the same images).
    pub delta_half_width: Option<f64>,
    /// (PSNR dB, attack name)
    pub best: Option<(f64, String)>,
    /// The best attack's no-attack reference (PSNR dB: its record's `baseline`), when it holds one.
    pub reference: Option<f64>,
    /// Known-plaintext key fraction when reported.
    pub key_fraction: Option<f64>,
    /// None for a finished run, else its status label (drawn hollow; the label says why).
    pub unfinished: Option<String>,
    /// The architecture (split arms of the same net and cut form one NoPeek curve).
    pub arch: String,
    /// A split arm's settings.
    pub split: Option<SplitConfig>,
}

/// The point of one protected arm of a run, against the run's baseline.
pub(crate) fn point(run: &RunData, arm: &ArmRecord) -> Point {
    let s = &run.summary;
    let base = s.baseline().map_or(0.0, |b| b.test_accuracy);
    let kept = (base > 0.0).then(|| arm.test_accuracy / base);
    let mut best: Option<(f64, String)> = None;
    let mut reference = None;
    let mut key_fraction = None;
    if let Some(doc) = &run.attacks {
        for r in doc.records.iter().filter(|r| r.arm == arm.name) {
            if registry::find(&r.name).is_some_and(|a| a.result() == ResultKind::Reconstruction)
                && r.headline.unit == "dB"
            {
                let v = r.headline.value;
                if best.as_ref().is_none_or(|b| v > b.0) {
                    best = Some((v, r.name.clone()));
                    reference = r.baseline;
                }
            }
            if r.name == "known-plaintext" {
                key_fraction =
                    r.figures.iter().find(|f| f.metric.contains("key") && f.unit == "fraction").map(|f| f.value);
            }
        }
    }
    let several = run.several_protected();
    Point {
        name: if several { format!("{}: {}", s.name, arm.name) } else { s.name.clone() },
        privacy: arm.description.clone(),
        family: Family::of_scheme(&arm.scheme),
        dataset: crate::data::display_name(&s.dataset.name, s.dataset.train, s.dataset.test),
        kept,
        delta: kept.map(|_| arm.test_accuracy - base),
        delta_half_width: kept.and_then(|_| {
            let n = s.dataset.test as f64;
            let var = |p: f64| p * (1.0 - p) / n;
            (n > 0.0).then(|| 1.96 * (var(base) + var(arm.test_accuracy)).sqrt())
        }),
        best,
        reference,
        key_fraction,
        unfinished: (!run.status.is_finished()).then(|| run.status.label()),
        arch: s.arch_of(arm).to_string(),
        split: arm.scheme.split().cloned(),
    }
}

/// NoPeek curves: split arms of one dataset, net, cut, tail and activation noise that differ only in
/// NoPeek's weight alpha, in the order of alpha (two or more distinct weights make a curve). Each
/// curve is its points and a label naming the cut and the weights in order.
pub(crate) fn nopeek_curves<'a>(plotted: &[&'a Point]) -> Vec<(String, Vec<&'a Point>)> {
    let mut curves: Vec<(String, Vec<&Point>)> = Vec::new();
    for p in plotted {
        let Some(split) = &p.split else { continue };
        let key = format!("{}|{}|{}|{}|{}", p.dataset, p.arch, split.cut, split.tail, split.noise_sigma);
        match curves.iter_mut().find(|(k, _)| *k == key) {
            Some((_, points)) => points.push(p),
            None => curves.push((key, vec![p])),
        }
    }
    curves
        .into_iter()
        .filter_map(|(_, mut points)| {
            let alpha = |p: &Point| p.split.as_ref().map_or(0.0, |s| s.nopeek_alpha);
            points.sort_by(|a, b| alpha(a).total_cmp(&alpha(b)));
            let mut alphas: Vec<f64> = points.iter().map(|p| alpha(p)).collect();
            alphas.dedup();
            if alphas.len() < 2 {
                return None;
            }
            let cut = points[0].split.as_ref().map_or(0, |s| s.cut);
            let list = alphas.iter().map(|a| format!("{a}")).collect::<Vec<_>>().join(", ");
            Some((format!("NoPeek, cut {cut}: alpha {list}"), points))
        })
        .collect()
}

/// The points of `runs`, one per protected arm, each with the run it belongs to, named so that no two
/// share a label (the folder name where run names repeat).
pub(crate) fn points(runs: &[RunData]) -> Vec<(Point, &RunData)> {
    let mut points: Vec<(Point, &RunData)> = Vec::new();
    for run in runs {
        for arm in run.summary.protected() {
            points.push((point(run, arm), run));
        }
    }
    let names: Vec<String> = points.iter().map(|(p, _)| p.name.clone()).collect();
    for (p, run) in points.iter_mut() {
        if names.iter().filter(|n| **n == p.name).count() > 1 {
            if let Some(folder) = run.folder.root.file_name() {
                let folder = folder.to_string_lossy();
                p.name = match p.name.split_once(": ") {
                    Some((_, arm)) => format!("{folder}: {arm}"),
                    None => folder.into_owned(),
                };
            }
        }
    }
    points
}

/// The text next to a run's point (with its status when the run did not finish).
fn point_label(p: &Point) -> String {
    match &p.unfinished {
        None => p.name.clone(),
        Some(status) => format!("{} ({status})", p.name),
    }
}

/// The scatter: x = accuracy change in points, y = best reconstruction PSNR; one series per scheme
/// family (colour and marker); a vertical line at no accuracy change and the attacks' no-attack
/// reference as horizontal lines (one per dataset when the runs used several).
pub(crate) fn chart(plotted: &[&Point]) -> XyChart {
    let xy = |p: &Point| (100.0 * p.delta.unwrap_or(0.0), p.best.as_ref().map(|b| b.0).unwrap_or(0.0));
    let mut datasets: Vec<&str> = plotted.iter().map(|p| p.dataset.as_str()).collect();
    datasets.dedup();
    datasets.sort_unstable();
    datasets.dedup();
    let mut c = XyChart::new(
        "test accuracy change, arm - baseline (points)",
        "best reconstruction PSNR of unseen data (dB; higher = less private)",
    );
    c.title = Some(match datasets.as_slice() {
        [one] => format!("Privacy/utility trade-off (one point per protected arm){}{one}", style::TITLE_PART_SEPARATOR),
        _ => "Privacy/utility trade-off (one point per protected arm)".into(),
    });
    let mut families: Vec<Family> = plotted.iter().map(|p| p.family).collect();
    families.sort_unstable();
    families.dedup();
    // 95% intervals of the accuracy change first, under the points.
    for (i, p) in plotted.iter().enumerate() {
        let ((x, y), h) = (xy(p), 100.0 * p.delta_half_width.unwrap_or(0.0));
        c.series.push(Series {
            label: if i == 0 { "95% interval of the accuracy change".into() } else { String::new() },
            points: vec![(x - h, y), (x + h, y)],
            color: style::MUTED,
            line: LineKind::Solid,
            marker: None,
            on_top: true,
        });
    }
    for f in families {
        c.series.push(Series {
            label: f.name().to_string(),
            points: plotted.iter().filter(|p| p.family == f).map(|p| xy(p)).collect(),
            color: style::family_color(f),
            line: LineKind::None,
            marker: Some(family_marker(f)),
            on_top: false,
        });
    }
    // Split arms that differ only in NoPeek's weight, joined in the order of the weight.
    for (label, points) in nopeek_curves(plotted) {
        c.series.push(Series {
            label,
            points: points.iter().map(|p| xy(p)).collect(),
            color: style::family_color(Family::Split),
            line: LineKind::Dashed,
            marker: None,
            on_top: false,
        });
    }
    // Unfinished runs again, hollow on top of their family's marker: their numbers are not final.
    let unfinished: Vec<(f64, f64)> = plotted.iter().filter(|p| p.unfinished.is_some()).map(|p| xy(p)).collect();
    if !unfinished.is_empty() {
        c.series.push(Series {
            label: "run not finished (status in its label)".into(),
            points: unfinished,
            color: style::MUTED,
            line: LineKind::None,
            marker: Some(Marker::Ring),
            on_top: false,
        });
    }
    c.point_labels = plotted.iter().map(|p| (xy(p), point_label(p))).collect();
    c.vlines.push(VLine { label: "no accuracy change".into(), x: 0.0, color: style::CHANCE, dotted: false });
    for d in &datasets {
        let refs: Vec<f64> = plotted.iter().filter(|p| p.dataset == *d).filter_map(|p| p.reference).collect();
        if refs.is_empty() {
            continue;
        }
        let mean = refs.iter().sum::<f64>() / refs.len() as f64;
        let label = if datasets.len() > 1 {
            format!("no attack, {d} ({mean:.1} dB)")
        } else {
            format!("no attack ({mean:.1} dB)")
        };
        c.hlines.push(HLine { label, y: mean, color: style::REFERENCE, dotted: true });
    }
    // x: the intervals and 0, at least 2 points wide, with room for labels at the sides.
    let xs: Vec<f64> = plotted
        .iter()
        .flat_map(|p| {
            let (x, h) = (xy(p).0, 100.0 * p.delta_half_width.unwrap_or(0.0));
            [x - h, x + h]
        })
        .chain(std::iter::once(0.0))
        .collect();
    let (lo, hi) = min_max(&xs).unwrap_or((0.0, 0.0));
    let grow = (MIN_DELTA_SPAN_POINTS - (hi - lo)).max(0.0) / 2.0;
    c.x_fixed = Some(pad_range(lo - grow, hi + grow, 0.12, false));
    c.y_from_zero = true;
    c
}

/// The marker of a family's points (with its colour, so that families differ in grey-scale too).
pub(crate) fn family_marker(f: Family) -> Marker {
    match f.style().marker {
        Shape::Circle => Marker::Circle,
        Shape::Square => Marker::Square,
        Shape::Triangle => Marker::Triangle,
        Shape::TriangleDown => Marker::TriangleDown,
        Shape::Diamond => Marker::Diamond,
        Shape::Cross => Marker::Cross,
    }
}

/// Smallest span of the accuracy-change axis, in points: a 0.2-point change does not fill it.
const MIN_DELTA_SPAN_POINTS: f64 = 2.0;

pub(crate) struct Scatter(XyChart);

/// The trade-off of one run's protected arms, for a run with several (its own `figures/tradeoff.*`),
/// with its caption; None when fewer than two arms have both an accuracy and a reconstruction attack.
pub(crate) fn run_figure(run: &RunData) -> Option<(Scatter, String)> {
    let points = points(std::slice::from_ref(run));
    let plotted: Vec<&Point> = points.iter().map(|(p, _)| p).filter(|p| p.kept.is_some() && p.best.is_some()).collect();
    if plotted.len() < 2 {
        return None;
    }
    let listed = plotted
        .iter()
        .map(|p| {
            let (psnr, by) = p.best.as_ref().expect("filtered");
            format!("{} {:+.2} points, {psnr:.1} dB ({by})", p.name, 100.0 * p.delta.unwrap_or(0.0))
        })
        .collect::<Vec<_>>()
        .join("; ");
    Some((
        Scatter(chart(&plotted)),
        format!(
            "Each protected arm at its test accuracy change against the baseline (points, conservative 95% \
             interval) and the best reconstruction PSNR any attack achieved on it (dB; higher is less private): \
             {listed}."
        ),
    ))
}

impl Figure for Scatter {
    fn name(&self) -> String {
        "tradeoff".into()
    }

    fn size(&self) -> (u32, u32) {
        let extra = self.0.title.as_deref().map_or(0, |t| style::title_layout(t, style::WIDTH).extra_height());
        (style::WIDTH, style::HEIGHT + 120 + extra)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, _images: &mut Vec<Placed>) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        self.0.draw(root)
    }
}

/// Write tradeoff.md always, and the scatter when at least one run has both coordinates.
pub(crate) fn render(runs: &[RunData], out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let points = points(runs);
    let mut written = Vec::new();
    let plotted: Vec<&Point> = points.iter().map(|(p, _)| p).filter(|p| p.kept.is_some() && p.best.is_some()).collect();
    let mut md = String::from("# Privacy/utility trade-off across runs\n\n");
    if !plotted.is_empty() {
        let c = chart(&plotted);
        let [png, svg] = render_figure(&Scatter(c), out)?;
        let _ = writeln!(md, "![trade-off](tradeoff.png)\n\n([PNG](tradeoff.png), [SVG](tradeoff.svg))\n");
        written.push(png);
        written.push(svg);
    } else {
        let reconstructions: Vec<&str> = crate::attacks::ATTACKS
            .iter()
            .filter(|a| a.result() == ResultKind::Reconstruction)
            .map(|a| a.name())
            .collect();
        let list = match reconstructions.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => reconstructions.join(""),
        };
        let _ = writeln!(md, "No run has both an accuracy and a reconstruction attack ({list}): no scatter drawn.\n");
    }
    md.push_str(
        "One row per protected arm of each run (`run: arm` where a run has several). Accuracy change: the \
         arm's minus its run's baseline test accuracy on the run's test images; ± is a 95% \
         interval (normal approximation for two proportions, unpaired, so conservative: both arms are \
         scored on the same images). Family: the kind of input transform (several kinds: combined; \
         split learning for split arms, whose NoPeek weights are joined by a dashed line). \
         No-attack reference: the best reconstruction attack's PSNR without attacking (its record's \
         reference, e.g. the adversary's mean image).\n\n",
    );
    md.push_str(
        "| run | status | scheme | family | dataset | accuracy kept | accuracy change (points, 95% interval) | best reconstruction PSNR (dB) | no-attack reference (dB) | by | known-plaintext key fraction | folder |\n\
         |---|---|---|---|---|---:|---:|---:|---:|---|---:|---|\n",
    );
    for (p, run) in &points {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            p.name,
            run.status.label(),
            transforms_of(&p.privacy).replace('|', "\\|"),
            p.family.name(),
            p.dataset,
            p.kept.map(|k| format!("{k:.4}")).unwrap_or_else(|| "n/a".into()),
            p.delta
                .map(|d| match p.delta_half_width {
                    Some(h) => format!("{:+.2} ± {:.2}", 100.0 * d, 100.0 * h),
                    None => format!("{:+.2}", 100.0 * d),
                })
                .unwrap_or_else(|| "n/a".into()),
            p.best.as_ref().map(|b| format!("{:.1}", b.0)).unwrap_or_else(|| "n/a".into()),
            p.reference.map(|r| format!("{r:.1}")).unwrap_or_else(|| "n/a".into()),
            p.best.as_ref().map(|b| b.1.clone()).unwrap_or_else(|| if run.attacks.is_none() {
                "attacks not run".into()
            } else {
                "none".into()
            }),
            p.key_fraction.map(|k| format!("{k:.3}")).unwrap_or_else(|| "n/a".into()),
            run.folder.root.display()
        );
    }
    let md_path = out.join("tradeoff.md");
    crate::atomic::write(&md_path, md.as_bytes())?;
    written.push(md_path);
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(name: &str, family: Family, delta: f64, psnr: f64) -> Point {
        Point {
            name: name.into(),
            privacy: String::new(),
            family,
            dataset: "Fashion-MNIST (6k/1k subset)".into(),
            kept: Some(1.0 + delta),
            delta: Some(delta),
            delta_half_width: Some(0.03),
            best: Some((psnr, "known-plaintext".into())),
            reference: Some(10.6),
            key_fraction: None,
            unfinished: None,
            arch: "lenet".into(),
            split: None,
        }
    }

    fn split_pt(name: &str, cut: usize, alpha: f64, delta: f64, psnr: f64) -> Point {
        let split = SplitConfig { cut, tail: 1, noise_sigma: 0.0, nopeek_alpha: alpha };
        Point { split: Some(split), ..pt(name, Family::Split, delta, psnr) }
    }

    #[test]
    fn split_arms_that_differ_in_nopeek_alpha_are_joined_in_its_order() {
        let points = [
            split_pt("nopeek-1", 1, 1.0, -0.02, 12.0),
            split_pt("plain", 1, 0.0, 0.0, 18.0),
            split_pt("nopeek-0.5", 1, 0.5, -0.01, 14.0),
            split_pt("other cut", 2, 0.0, 0.0, 16.0),
            pt("keyed", Family::named("pixel-permutation"), 0.0, 40.0),
        ];
        let refs: Vec<&Point> = points.iter().collect();
        let curves = nopeek_curves(&refs);
        assert_eq!(curves.len(), 1, "cut 2 has one weight only: no curve");
        assert_eq!(curves[0].0, "NoPeek, cut 1: alpha 0, 0.5, 1");
        assert_eq!(
            curves[0].1.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["plain", "nopeek-0.5", "nopeek-1"]
        );
        let c = chart(&refs);
        let curve = c.series.iter().find(|s| s.label.starts_with("NoPeek")).expect("the curve is drawn");
        assert_eq!(curve.points, vec![(0.0, 18.0), (-1.0, 14.0), (-2.0, 12.0)]);
        assert_eq!(curve.line, LineKind::Dashed);
        let split = c.series.iter().find(|s| s.label == "split learning").expect("split arms are their own family");
        assert_eq!(split.points.len(), 4);
    }

    #[test]
    fn the_scatter_colours_by_family_and_draws_its_reference_lines() {
        let points = [
            pt("a", Family::named("pixel-permutation"), -0.002, 56.6),
            pt("b", Family::named("block-shuffle"), 0.006, 56.6),
            pt("c", Family::named("pixel-permutation"), 0.001, 40.0),
            pt("d", Family::named("noise"), 0.004, 21.0),
        ];
        let refs: Vec<&Point> = points.iter().collect();
        let c = chart(&refs);
        let families: Vec<&Series> = c.series.iter().filter(|s| s.line == LineKind::None).collect();
        assert_eq!(
            families.iter().map(|s| s.label.as_str()).collect::<Vec<_>>(),
            ["pixel-permutation", "block-shuffle", "noise"]
        );
        assert_eq!(families[0].points.len(), 2);
        for s in &families {
            let f = Family::named(&s.label);
            assert_eq!(s.color, style::family_color(f));
        }
        // No accuracy change and the no-attack reference, both inside the axes.
        assert_eq!(c.vlines.len(), 1);
        assert_eq!(c.vlines[0].x, 0.0);
        assert_eq!(c.hlines.len(), 1);
        assert!((c.hlines[0].y - 10.6).abs() < 1e-9 && c.hlines[0].label.contains("no attack"));
        assert!(c.x_range().contains(&0.0) && c.x_range().contains(&-3.2) && c.x_range().contains(&3.6));
        assert!(c.y_range().contains(&10.6));
        assert_eq!(c.point_labels.len(), 4);
        assert!(c.title.as_deref().unwrap().contains("Fashion-MNIST (6k/1k subset)"));
    }
}
