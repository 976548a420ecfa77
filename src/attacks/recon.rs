//! Scoring shared by the reconstruction attacks (known-plaintext, statistical, inversion): image
//! quality of the reconstructions of unseen data (PSNR, SSIM, MSE), whether their content survives
//! (accuracy of a classifier trained on the adversary's public raw data, applied to the
//! reconstructions), zero-effort references, and the verdict rule.

use super::metrics::{quality, Quality};
use super::{to_f64, AttackContext, AttackRecord, Curve, Figure};

/// One set of reconstructions of the evaluation half, scored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assessed {
    pub q: Quality,
    /// Accuracy of the recogniser on the reconstructions (None if it could not be trained).
    pub recognised: Option<f64>,
}

/// Score reconstructions of the evaluation half (n_eval rows).
pub fn assess(ctx: &AttackContext<'_>, recon: &[f32]) -> Assessed {
    Assessed { q: quality(recon, &ctx.eval.images, ctx.shape), recognised: ctx.recognise(recon) }
}

/// The curves of one reconstruction method.
pub struct QualityCurves {
    pub psnr: Curve,
    pub ssim: Curve,
    pub mse: Curve,
    pub recognised: Curve,
}

impl QualityCurves {
    pub fn new(method: &str, x_label: &str) -> Self {
        Self {
            psnr: Curve::new(format!("{method}: PSNR"), x_label, "PSNR of unseen data (dB)", true),
            ssim: Curve::new(format!("{method}: SSIM"), x_label, "SSIM of unseen data", true),
            mse: Curve::new(format!("{method}: MSE"), x_label, "MSE of unseen data", true),
            recognised: Curve::new(
                format!("{method}: recognised"),
                x_label,
                "reconstructions classified correctly (classifier trained on public raw data)",
                true,
            ),
        }
    }

    pub fn push(&mut self, x: f64, a: &Assessed) {
        self.psnr.push(x, a.q.psnr_db);
        self.ssim.push(x, a.q.ssim);
        self.mse.push(x, a.q.mse);
        if let Some(r) = a.recognised {
            self.recognised.push(x, r);
        }
    }

    /// The last point: (x, assessment).
    pub fn last(&self) -> Option<(usize, Assessed)> {
        let x = self.psnr.points.last()?[0] as usize;
        let q = Quality {
            psnr_db: self.psnr.last_y()?,
            ssim: self.ssim.last_y().unwrap_or(0.0),
            mse: self.mse.last_y().unwrap_or(0.0),
        };
        let recognised =
            (self.recognised.points.len() == self.psnr.points.len()).then(|| self.recognised.last_y()).flatten();
        Some((x, Assessed { q, recognised }))
    }

    pub fn into_curves(self) -> Vec<Curve> {
        let mut v = vec![self.psnr, self.ssim, self.mse];
        if !self.recognised.points.is_empty() {
            v.push(self.recognised);
        }
        v
    }
}

/// Zero-effort references: the adversary's mean image for every input, the encoded data read as if
/// it were raw, and the recogniser on the true images (its ceiling).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct References {
    pub mean: Assessed,
    pub identity: Assessed,
    pub truth_recognised: Option<f64>,
}

pub fn references(ctx: &AttackContext<'_>, eval_encoded: &[f32]) -> References {
    let d = ctx.features();
    let mean: Vec<f32> =
        super::linalg::column_means(&to_f64(&ctx.aux.images), ctx.aux.len(), d).into_iter().map(|v| v as f32).collect();
    let guess: Vec<f32> = ctx.eval.images.chunks_exact(d).flat_map(|_| mean.iter().copied()).collect();
    References {
        mean: assess(ctx, &guess),
        identity: assess(ctx, eval_encoded),
        truth_recognised: ctx.recognise(&ctx.eval.images),
    }
}

/// The verdict rule of reconstruction attacks.
pub const BROKEN_IF: &str = "at the largest amount of data tried: unseen-data SSIM >= 0.8, or the reconstructions are \
     classified correctly at >= 90% of the rate of the true images by a classifier trained on public raw data";

/// Share of the recogniser's accuracy on true images that counts as "content revealed".
const RECOGNISED_SHARE: f64 = 0.9;

fn revealed(a: &Assessed, refs: &References) -> bool {
    a.q.ssim >= 0.8 || matches!((a.recognised, refs.truth_recognised), (Some(r), Some(t)) if r >= RECOGNISED_SHARE * t)
}

/// Record the references as figures and the baseline.
pub fn set_reference(r: &mut AttackRecord, refs: &References) {
    let (m, i) = (&refs.mean, &refs.identity);
    r.figures.push(Figure::new("reference: adversary's mean image, PSNR", m.q.psnr_db, "dB"));
    r.figures.push(Figure::new("reference: adversary's mean image, SSIM", m.q.ssim, "fraction"));
    r.figures.push(Figure::new("reference: encoded data read as raw, PSNR", i.q.psnr_db, "dB"));
    r.figures.push(Figure::new("reference: encoded data read as raw, SSIM", i.q.ssim, "fraction"));
    if let Some(v) = i.recognised {
        r.figures.push(Figure::new("reference: encoded data read as raw, recognised", v, "fraction"));
    }
    if let Some(v) = m.recognised {
        r.figures.push(Figure::new("reference: adversary's mean image, recognised", v, "fraction"));
    }
    if let Some(v) = refs.truth_recognised {
        r.figures.push(Figure::new("reference: true images, recognised (the classifier's ceiling)", v, "fraction"));
    }
    if i.q.psnr_db > m.q.psnr_db {
        r.baseline = Some(i.q.psnr_db);
        r.baseline_label = Some("PSNR of the encoded data read as raw (no attack)".into());
    } else {
        r.baseline = Some(m.q.psnr_db);
        r.baseline_label = Some("PSNR of the adversary's mean image for every input (no attack)".into());
    }
    r.parameters.insert("broken_if".into(), serde_json::json!(BROKEN_IF));
    r.parameters.insert(
        "recogniser".into(),
        serde_json::json!(
            "MLP d -> 128 -> C trained by the adversary on the labelled adversary half (raw), applied to reconstructions of the evaluation half"
        ),
    );
}

/// Fill `headline`, figures, `broken` and `verdict` from the final assessment of the best method.
/// `attack` names the attack in the verdict ("known plaintext"), `what` the data it used ("1000
/// pairs"), `extra` is appended to a broken verdict.
#[allow(clippy::too_many_arguments)]
pub fn conclude(
    r: &mut AttackRecord,
    refs: &References,
    method: &str,
    n: usize,
    last: &Assessed,
    attack: &str,
    what: &str,
    extra: &str,
) {
    let q = &last.q;
    r.headline = Figure::new(format!("PSNR of unseen data at n={n} ({method})"), q.psnr_db, "dB");
    r.figures.push(Figure::new("SSIM of unseen data at the largest n", q.ssim, "fraction"));
    r.figures.push(Figure::new("MSE of unseen data at the largest n", q.mse, "per value"));
    if let Some(v) = last.recognised {
        r.figures.push(Figure::new("reconstructions recognised at the largest n", v, "fraction"));
    }
    r.chance = Some(0.0);
    r.broken = revealed(last, refs);
    let rec = last.recognised.map(|v| format!(", {:.1}% recognised", 100.0 * v)).unwrap_or_default();
    let truth = refs.truth_recognised.map(|v| format!(" of {:.1}% for true images", 100.0 * v)).unwrap_or_default();
    let summary = format!("unseen-data PSNR {:.1} dB, SSIM {:.3}{rec}{truth}", q.psnr_db, q.ssim);
    let reference = r.baseline.unwrap_or(0.0);
    let mean_rec = refs.mean.recognised.unwrap_or(0.0);
    let leaks = q.psnr_db > reference + 3.0 || last.recognised.is_some_and(|v| v > mean_rec + 0.2);
    r.verdict = if r.broken {
        format!("broken by {attack}: {what} give {summary} ({method}){extra}")
    } else if leaks {
        format!("partial leak under {attack}: {what} give {summary} ({method}; no-attack reference {reference:.1} dB)")
    } else {
        format!("resists {attack} with {what}: {summary}, no better than the no-attack reference {reference:.1} dB")
    };
    if revealed(&refs.identity, refs) {
        let v = refs.identity.recognised.map(|v| format!("{:.1}% recognised, ", 100.0 * v)).unwrap_or_default();
        r.verdict.push_str(&format!(
            "; note: the encoded data read as raw already reveal the images ({v}SSIM {:.3}): no input protection to break",
            refs.identity.q.ssim
        ));
    }
}
