//! Scoring shared by the reconstruction attacks (known-plaintext, statistical, inversion): image
//! quality of the reconstructions of unseen data (PSNR, SSIM, MSE), whether their content survives
//! (accuracy of a classifier trained on the adversary's public raw data, applied to the
//! reconstructions), and zero-effort references (the verdict rule is in [`super::verdict`]).

use super::metrics::{quality, Quality};
use super::verdict::{evaluation_samples, on_scale_thresholds, proportion_interval, Spec};
use super::{to_f64, AttackContext, AttackRecord, Curve, Figure};
use crate::results::attacks::{Criterion, Level};

/// Criterion names of the encoded data read as raw (no attack needed) in the reconstruction rule.
pub const AS_RAW_RECOGNISED: &str = "encoded-as-raw recognised";
pub const AS_RAW_SSIM: &str = "encoded-as-raw SSIM";

/// One set of reconstructions of the evaluation half, scored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Assessed {
    pub q: Quality,
    /// Accuracy of the recogniser on the reconstructions (None if it could not be trained).
    pub recognised: Option<f64>,
}

/// Score reconstructions of the evaluation half (n_eval rows) or of its first rows.
pub fn assess(ctx: &AttackContext<'_>, recon: &[f32]) -> Assessed {
    Assessed { q: quality(recon, &ctx.eval.images[..recon.len()], ctx.shape), recognised: ctx.recognise(recon) }
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

/// Figure names the verdict rule reads ([`super::verdict`]).
pub const RECOGNISED: &str = "reconstructions recognised at the largest n";
pub const SSIM_AT_LARGEST: &str = "SSIM of unseen data at the largest n";
pub const MEAN_PSNR: &str = "reference: adversary's mean image, PSNR";
pub const MEAN_SSIM: &str = "reference: adversary's mean image, SSIM";
pub const MEAN_RECOGNISED: &str = "reference: adversary's mean image, recognised";
pub const RAW_PSNR: &str = "reference: encoded data read as raw, PSNR";
pub const RAW_SSIM: &str = "reference: encoded data read as raw, SSIM";
pub const RAW_RECOGNISED: &str = "reference: encoded data read as raw, recognised";
pub const TRUE_RECOGNISED: &str = "reference: true images, recognised (the classifier's ceiling)";
/// What `chance` of a reconstruction record is: the PSNR an adversary gets without any attack.
pub const NO_ATTACK_LABEL: &str = "no attack: the adversary's mean public image";

/// Zero-effort references: the adversary's mean image for every input (the best constant guess it
/// can make without attacking), the encoded data read as if it were raw, and the recogniser on the
/// true images (its ceiling).
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
    // Read as raw: the encoding itself, or, where it has another shape, its view in the raw shape
    // (`data::view_as`; the mean image where there is none).
    let read = crate::data::view_as(eval_encoded, ctx.encoded_shape(), ctx.shape);
    References {
        mean: assess(ctx, &guess),
        identity: assess(ctx, read.as_deref().unwrap_or(&guess)),
        truth_recognised: ctx.recognise(&ctx.eval.images),
    }
}

/// Record the references as figures, the no-attack PSNR as `chance` and the encoded data read as
/// raw as `baseline`.
pub fn set_reference(r: &mut AttackRecord, refs: &References, evaluation_samples: usize) {
    let (m, i) = (&refs.mean, &refs.identity);
    r.figures.push(Figure::new(MEAN_PSNR, m.q.psnr_db, "dB"));
    r.figures.push(Figure::new(MEAN_SSIM, m.q.ssim, "fraction"));
    r.figures.push(Figure::new(RAW_PSNR, i.q.psnr_db, "dB"));
    r.figures.push(Figure::new(RAW_SSIM, i.q.ssim, "fraction"));
    if let Some(v) = i.recognised {
        r.figures.push(Figure::new(RAW_RECOGNISED, v, "fraction"));
    }
    if let Some(v) = m.recognised {
        r.figures.push(Figure::new(MEAN_RECOGNISED, v, "fraction"));
    }
    if let Some(v) = refs.truth_recognised {
        r.figures.push(Figure::new(TRUE_RECOGNISED, v, "fraction"));
    }
    r.chance = Some(m.q.psnr_db);
    r.chance_label = Some(NO_ATTACK_LABEL.into());
    r.baseline = Some(i.q.psnr_db);
    r.baseline_label = Some("PSNR of the encoded data read as raw (no attack)".into());
    r.parameters.insert(super::EVALUATION_SAMPLES.into(), serde_json::json!(evaluation_samples));
    r.parameters.insert(
        "recogniser".into(),
        serde_json::json!(
            "MLP d -> 128 -> C trained by the adversary on the labelled adversary half (raw), applied to reconstructions of the evaluation half"
        ),
    );
}

/// Fill `headline`, figures, the verdict's level and rule ([`super::verdict`]) and the verdict text
/// from the final assessment of the best method. `attack` names the attack in the verdict ("known
/// plaintext"), `what` the data it used ("1000 pairs"), `extra` is appended to a broken verdict.
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
    r.figures.push(Figure::new(SSIM_AT_LARGEST, q.ssim, "fraction"));
    r.figures.push(Figure::new("MSE of unseen data at the largest n", q.mse, "per value"));
    if let Some(v) = last.recognised {
        r.figures.push(Figure::new(RECOGNISED, v, "fraction"));
    }
    super::verdict::decide(r);
    let rec = last.recognised.map(|v| format!(", {:.1}% recognised", 100.0 * v)).unwrap_or_default();
    let truth = refs.truth_recognised.map(|v| format!(" of {:.1}% for true images", 100.0 * v)).unwrap_or_default();
    let summary = format!("unseen-data PSNR {:.1} dB, SSIM {:.3}{rec}{truth}", q.psnr_db, q.ssim);
    let reference = refs.mean.q.psnr_db;
    let mean_rec = refs.mean.recognised.map(|v| format!(", {:.1}% recognised", 100.0 * v)).unwrap_or_default();
    let no_attack = format!("no-attack reference (mean image) {reference:.1} dB{mean_rec}");
    r.verdict = match r.level.unwrap_or(Level::Protects) {
        Level::Broken => format!("broken by {attack}: {what} give {summary} ({method}){extra}"),
        Level::PartialLeak => format!("partial leak under {attack}: {what} give {summary} ({method}; {no_attack})"),
        Level::Protects => format!("protects against {attack} with {what}: {summary} ({method}; {no_attack})"),
    };
    let raw_decides = r
        .rule
        .as_ref()
        .and_then(|rule| rule.deciding())
        .is_some_and(|c| [AS_RAW_RECOGNISED, AS_RAW_SSIM].contains(&c.metric.as_str()));
    if raw_decides && r.level > Some(Level::Protects) {
        let v = refs.identity.recognised.map(|v| format!("{:.1}% recognised, ", 100.0 * v)).unwrap_or_default();
        r.verdict.push_str(&format!(
            "; note: the encoded data read as raw already reveal the images ({v}SSIM {:.3}): no input protection to break",
            refs.identity.q.ssim
        ));
    }
}

/// The verdict rule of every attack whose result is a reconstruction of the customer's inputs.
pub fn rule() -> Spec {
    Spec {
        decided_by: format!(
            "the worst of: reconstructions of unseen inputs recognised by a classifier the adversary trained on public \
             raw data, on the scale from its rate on the adversary's mean image to its rate on the true images; their \
             SSIM, from the mean image's SSIM to 1; and both for the encoded data read as raw (no attack needed). \
             Each: {}",
            on_scale_thresholds()
        ),
        protects: "reconstructions tell no more about the customer's inputs than the adversary's mean image",
        partial_leak: "some content survives: the class of many inputs can be read, details are lost",
        broken: "the adversary reads the customer's inputs nearly as well as the true images",
        criteria,
    }
}

/// The rule's criteria: recognition and SSIM of the reconstructions and of the encoded data read as raw.
fn criteria(r: &AttackRecord) -> Vec<Criterion> {
    let mut out = Vec::new();
    let n = evaluation_samples(r);
    if let (Some(floor), Some(ceiling)) = (r.figure(MEAN_RECOGNISED), r.figure(TRUE_RECOGNISED)) {
        if ceiling > floor {
            for (metric, figure) in [("recognised", RECOGNISED), (AS_RAW_RECOGNISED, RAW_RECOGNISED)] {
                if let Some(v) = r.figure(figure) {
                    let mut c = Criterion::on_scale(
                        metric,
                        v,
                        "fraction",
                        (floor, "the mean image's rate"),
                        (ceiling, "the true images' rate"),
                    );
                    c.interval = n.map(|n| proportion_interval(v, n));
                    out.push(c);
                }
            }
        }
    }
    if let Some(floor) = r.figure(MEAN_SSIM).filter(|f| *f < 1.0) {
        for (metric, figure) in [("SSIM", SSIM_AT_LARGEST), (AS_RAW_SSIM, RAW_SSIM)] {
            if let Some(v) = r.figure(figure) {
                out.push(Criterion::on_scale(
                    metric,
                    v,
                    "",
                    (floor, "the mean image's SSIM"),
                    (1.0, "identical images"),
                ));
            }
        }
    }
    out
}
