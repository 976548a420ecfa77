//! Attack 7, inversion: the adversary trains a decoder network T_K(x) -> x (d -> hidden -> d, ReLU,
//! sigmoid output, MSE, Adam) on n known pairs, and decodes unseen encoded data. Unlike the algebraic
//! recoveries of the known-plaintext attack it assumes nothing about the transform, so it covers
//! per-sample noise and any nonlinear transform too.

use dfdx::prelude::*;
use serde_json::json;

use super::known_plaintext::{reference_qualities, set_reference, QualityCurves, RECON_BROKEN_IF};
use super::metrics::quality;
use super::nn::{decode_with, train_decoder, Plan};
use super::{clip_counts, AttackContext, AttackKind, AttackRecord, Figure, Progress, ThreatModel};
use crate::config::InversionAttackConfig;

pub fn run(
    ctx: &AttackContext<'_>,
    p: &InversionAttackConfig,
    progress: &Progress<'_>,
) -> anyhow::Result<AttackRecord> {
    let d = ctx.features();
    let ns = clip_counts(&p.n, ctx.aux.len());
    let n_max = *ns.last().unwrap_or(&0);
    // --- Observation (simulation uses the key to encode): known pairs from the adversary half and the
    // customer's encoded queries (evaluation half).
    let pairs_raw = &ctx.aux.images[..n_max * d];
    let pairs_enc = ctx.oracle.encode(pairs_raw);
    let eval_enc = ctx.oracle.encode(&ctx.eval.images);
    let (mean_q, identity_q) = reference_qualities(ctx, &eval_enc);

    let plan = Plan {
        epochs: p.epochs,
        min_steps: p.min_steps,
        batch_size: p.batch_size,
        learning_rate: p.learning_rate,
        seed: ctx.config.seed ^ 0x1a7e,
    };
    let mut curves = QualityCurves::new("decoder network", "known pairs n");
    let mut stopped = false;
    let mut last = None;
    for (step, &n) in ns.iter().enumerate() {
        if ctx.stop_requested() {
            stopped = true;
            break;
        }
        // --- Recovery (no key): fit the decoder on the pairs.
        let dev = Cpu::seed_from_u64(ctx.config.seed ^ 0xdec0de);
        let Some(model) =
            train_decoder(&dev, &pairs_enc[..n * d], d, &pairs_raw[..n * d], d, p.hidden, &plan, ctx.control())
        else {
            stopped = true;
            break;
        };
        // --- Scoring.
        let recon = decode_with(&dev, &model, &eval_enc, d);
        let q = quality(&recon, &ctx.eval.images, ctx.shape);
        curves.push(n as f64, &q);
        if let Some(samples) = ctx.samples_encoded() {
            last = Some((n, q, decode_with(&dev, &model, samples, d)));
        }
        progress.report(step + 1, ns.len());
    }

    if let Some((n, q, images)) = &last {
        ctx.add_reconstruction(AttackKind::Inversion, format!("decoder network, n={n}"), q, images);
    }

    let mut r = ctx.new_record(
        AttackKind::Inversion,
        ThreatModel {
            adversary:
                "the provider (or a thief of its artifacts) that also obtains n raw samples whose encodings it saw"
                    .into(),
            holds: vec!["n pairs (x, T_K(x))".into(), "the customer's encoded queries (evaluation half)".into()],
            knowledge: "nothing about the transform beyond its input and output size".into(),
        },
        format!(
            "{}; known pairs = the first n samples of the adversary half; unseen data = the evaluation half",
            ctx.aux_description
        ),
    );
    r.parameters.insert("n".into(), json!(ns));
    r.parameters.insert("decoder".into(), json!(format!("{d} -> {} (relu) -> {d} (sigmoid), MSE, Adam", p.hidden)));
    r.parameters.insert("epochs".into(), json!(p.epochs));
    r.parameters.insert("min_steps".into(), json!(p.min_steps));
    r.parameters.insert("steps".into(), json!(ns.iter().map(|&n| plan.steps(n)).collect::<Vec<_>>()));
    r.parameters.insert("batch_size".into(), json!(p.batch_size));
    r.parameters.insert("learning_rate".into(), json!(p.learning_rate));
    r.parameters.insert("broken_if".into(), json!(RECON_BROKEN_IF));
    set_reference(&mut r, &mean_q, &identity_q);
    let n_done = curves.psnr.points.last().map(|p| p[0] as usize).unwrap_or(0);
    let psnr = curves.psnr.last_y().unwrap_or(0.0);
    let ssim = curves.ssim.last_y().unwrap_or(0.0);
    r.headline = Figure::new(format!("PSNR of unseen data at n={n_done}"), psnr, "dB");
    r.figures.push(Figure::new("SSIM of unseen data at the largest n", ssim, "fraction"));
    r.figures.push(Figure::new("MSE of unseen data at the largest n", curves.mse.last_y().unwrap_or(0.0), "per value"));
    r.chance = Some(0.0);
    r.curves = curves.into_curves().to_vec();
    r.complete = !stopped;
    r.broken = ssim >= 0.8;
    let reference = r.baseline.unwrap_or(0.0);
    r.verdict = if r.broken {
        format!("broken by inversion: a decoder trained on {n_done} pairs reconstructs unseen data at PSNR {psnr:.1} dB, SSIM {ssim:.3}")
    } else if psnr > reference + 3.0 {
        format!("partial leak: a decoder trained on {n_done} pairs reaches PSNR {psnr:.1} dB, SSIM {ssim:.3} on unseen data (no-attack reference {reference:.1} dB)")
    } else {
        format!("resists inversion up to n={n_done}: PSNR {psnr:.1} dB, SSIM {ssim:.3}, no better than the no-attack reference {reference:.1} dB")
    };
    Ok(r)
}
