//! Attack 7, inversion: the adversary trains a decoder network T_K(x) -> x (d -> hidden -> d, ReLU,
//! sigmoid output, MSE, Adam) on n known pairs, and decodes unseen encoded data. Unlike the algebraic
//! recoveries of the known-plaintext attack it assumes nothing about the transform, so it covers
//! per-sample noise and any nonlinear transform too.

use dfdx::prelude::*;
use serde_json::json;

use super::nn::{decode_with, train_decoder, Plan};
use super::recon::{assess, conclude, references, set_reference, QualityCurves};
use super::registry::{Attack, ResultKind};
use super::verdict::Spec;
use super::{clip_counts, AttackContext, AttackRecord, Progress, ThreatModel};

/// The `inversion` attack (registered in `super::ATTACKS`).
pub struct Inversion;

impl Attack for Inversion {
    const NAME: &'static str = "inversion";
    const TITLE: &'static str = "Model inversion: a decoder network T_K(x) -> x";
    const RESULT: ResultKind = ResultKind::Reconstruction;
    type Params = InversionParams;

    fn check(p: &InversionParams) -> Result<(), (String, String)> {
        super::nn::check_decoder(&p.n, p.hidden, p.epochs, p.batch_size, p.learning_rate)
    }

    fn rule() -> Spec {
        super::recon::rule()
    }

    fn run(
        &self,
        ctx: &AttackContext<'_>,
        p: &InversionParams,
        progress: &Progress<'_>,
    ) -> anyhow::Result<AttackRecord> {
        run(ctx, p, progress)
    }
}

/// `[attacks.inversion]`: a decoder network T_K(x) -> x trained on n known pairs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InversionParams {
    #[serde(default = "default_inversion_n")]
    pub n: Vec<usize>,
    /// Hidden width of the decoder d -> hidden -> d (ReLU, sigmoid output).
    #[serde(default = "super::nn::default_decoder_hidden")]
    pub hidden: usize,
    #[serde(default = "super::nn::default_decoder_epochs")]
    pub epochs: usize,
    #[serde(default = "super::nn::default_decoder_min_steps")]
    pub min_steps: usize,
    #[serde(default = "super::nn::default_batch_size")]
    pub batch_size: usize,
    #[serde(default = "super::nn::default_learning_rate")]
    pub learning_rate: f64,
}

fn default_inversion_n() -> Vec<usize> {
    vec![100, 500, 2000, 5000]
}

impl Default for InversionParams {
    fn default() -> Self {
        Self {
            n: default_inversion_n(),
            hidden: super::nn::default_decoder_hidden(),
            epochs: super::nn::default_decoder_epochs(),
            min_steps: super::nn::default_decoder_min_steps(),
            batch_size: super::nn::default_batch_size(),
            learning_rate: super::nn::default_learning_rate(),
        }
    }
}

pub fn run(ctx: &AttackContext<'_>, p: &InversionParams, progress: &Progress<'_>) -> anyhow::Result<AttackRecord> {
    let keyed = ctx.keyed()?;
    // Raw and encoded values per image: the decoder maps encoded to raw, whatever the two sizes.
    let (d, de) = (ctx.features(), ctx.encoded_features());
    let ns = clip_counts(&p.n, ctx.aux.len());
    let n_max = *ns.last().unwrap_or(&0);
    // --- Observation (simulation uses the key to encode): known pairs from the adversary half and the
    // customer's encoded queries (evaluation half).
    let pairs_raw = &ctx.aux.images[..n_max * d];
    let pairs_enc = keyed.oracle.encode(pairs_raw);
    let eval_enc = keyed.oracle.encode(&ctx.eval.images);
    let refs = references(ctx, &eval_enc);

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
            train_decoder(&dev, &pairs_enc[..n * de], de, &pairs_raw[..n * d], d, p.hidden, &plan, ctx.control())?
        else {
            stopped = true;
            break;
        };
        // --- Scoring.
        let recon = decode_with(&dev, &model, &eval_enc, de)?;
        let a = assess(ctx, &recon);
        let q = a.q;
        curves.push(n as f64, &a);
        if let Some(samples) = ctx.samples_encoded() {
            last = Some((n, q, decode_with(&dev, &model, samples, de)?));
        }
        progress.report(step + 1, ns.len());
    }

    if let Some((n, q, images)) = &last {
        ctx.add_reconstruction(Inversion::NAME, format!("decoder network, n={n}"), q, images);
    }

    let mut r = ctx.new_record::<Inversion>(
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
    set_reference(&mut r, &refs, ctx.eval.len());
    if let Some((n, last)) = curves.last() {
        conclude(&mut r, &refs, "decoder network", n, &last, "inversion", &format!("{n} pairs"), "");
    }
    r.curves = curves.into_curves();
    r.complete = !stopped;
    Ok(r)
}
