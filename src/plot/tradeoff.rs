//! The cross-run privacy/utility trade-off: one point per run, accuracy kept (private / baseline test
//! accuracy) against the best reconstruction an attack achieved (PSNR of unseen data, dB, over the
//! known-plaintext, statistical and inversion attacks). Written as tradeoff.png/.svg plus tradeoff.md
//! (the same numbers as a table, including runs that have no reconstruction attack).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::{render as render_figure, Figure, LineKind, Marker, Placed, Series, XyChart};
use super::figures::transforms_of;
use super::inputs::RunData;
use super::style;

/// Attacks whose headline is a reconstruction PSNR.
const RECONSTRUCTION_ATTACKS: [&str; 3] = ["known-plaintext", "statistical", "inversion"];

#[derive(Debug, Clone)]
struct Point {
    name: String,
    privacy: String,
    kept: Option<f64>,
    /// (PSNR dB, attack name)
    best: Option<(f64, String)>,
    /// Known-plaintext key fraction when reported.
    key_fraction: Option<f64>,
    /// None for a finished run, else its status label (drawn hollow, the label says why).
    unfinished: Option<String>,
}

fn point(run: &RunData) -> Point {
    let s = &run.summary;
    let kept = (s.baseline.test_accuracy > 0.0).then(|| s.private.test_accuracy / s.baseline.test_accuracy);
    let mut best: Option<(f64, String)> = None;
    let mut key_fraction = None;
    if let Some(doc) = &run.attacks {
        for r in &doc.records {
            if RECONSTRUCTION_ATTACKS.contains(&r.name.as_str()) && r.headline.unit == "dB" {
                if let Some(v) = r.headline.value {
                    if best.as_ref().is_none_or(|b| v > b.0) {
                        best = Some((v, r.name.clone()));
                    }
                }
            }
            if r.name == "known-plaintext" {
                key_fraction =
                    r.figures.iter().find(|f| f.metric.contains("key") && f.unit == "fraction").and_then(|f| f.value);
            }
        }
    }
    let unfinished = (!run.status.is_finished()).then(|| run.status.label());
    Point { name: s.name.clone(), privacy: s.privacy.clone(), kept, best, key_fraction, unfinished }
}

struct Scatter(XyChart);

impl Figure for Scatter {
    fn name(&self) -> String {
        "tradeoff".into()
    }

    fn size(&self) -> (u32, u32) {
        (style::WIDTH, style::HEIGHT + 40)
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
    let points: Vec<Point> = runs.iter().map(point).collect();
    let mut written = Vec::new();
    let plotted: Vec<&Point> = points.iter().filter(|p| p.kept.is_some() && p.best.is_some()).collect();
    let mut md = String::from("# Privacy/utility trade-off across runs\n\n");
    if !plotted.is_empty() {
        let mut c = XyChart::new("accuracy kept (private / baseline test accuracy)", "best reconstruction PSNR (dB)");
        c.title = Some("Privacy/utility trade-off (one point per run)".into());
        let xy = |p: &&Point| (p.kept.unwrap_or(0.0), p.best.as_ref().map(|b| b.0).unwrap_or(0.0));
        let (done, unfinished): (Vec<&Point>, Vec<&Point>) = plotted.iter().partition(|p| p.unfinished.is_none());
        for (points, label, marker) in [
            (&done, "run (private arm); higher PSNR = less private", Marker::Circle),
            (&unfinished, "run not finished (hollow; status in its label)", Marker::Ring),
        ] {
            if !points.is_empty() {
                c.series.push(Series {
                    label: label.into(),
                    points: points.iter().map(xy).collect(),
                    color: style::PRIVATE,
                    line: LineKind::None,
                    marker: Some(marker),
                    on_top: false,
                });
            }
        }
        c.point_labels = plotted
            .iter()
            .map(|p| match &p.unfinished {
                None => (xy(p), p.name.clone()),
                Some(status) => (xy(p), format!("{} ({status})", p.name)),
            })
            .collect();
        c.y_from_zero = true;
        let [png, svg] = render_figure(&Scatter(c), out)?;
        let _ = writeln!(md, "![trade-off](tradeoff.png)\n\n([PNG](tradeoff.png), [SVG](tradeoff.svg))\n");
        written.push(png);
        written.push(svg);
    } else {
        md.push_str("No run has both an accuracy and a reconstruction attack (known-plaintext, statistical or inversion): no scatter drawn.\n\n");
    }
    md.push_str(
        "| run | status | privacy | accuracy kept | best reconstruction PSNR (dB) | by | known-plaintext key fraction | folder |\n\
         |---|---|---|---:|---:|---|---:|---|\n",
    );
    for (p, run) in points.iter().zip(runs) {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            p.name,
            run.status.label(),
            transforms_of(&p.privacy).replace('|', "\\|"),
            p.kept.map(|k| format!("{k:.4}")).unwrap_or_else(|| "n/a".into()),
            p.best.as_ref().map(|b| format!("{:.1}", b.0)).unwrap_or_else(|| "n/a".into()),
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
    crate::results::atomic::write(&md_path, md.as_bytes())?;
    written.push(md_path);
    Ok(written)
}
