//! Known-pair inversion of a split arm: the provider holds n inputs together with the cut
//! activations the customer sent for them (simulation: the adversary half through the trained head,
//! with the arm's noise) and trains a decoder network from activations back to pixels (MLP, sigmoid
//! output, MSE, Adam), then decodes the activations of the customer's queries (evaluation half).

use dfdx::prelude::*;
use serde_json::json;

use super::nn::{decode_with, train_decoder, Plan};
use super::recon::{assess, conclude, QualityCurves};
use super::registry::{Attack, ResultKind, Scheme};
use super::split_inversion::{observe, record_references, references_on};
use super::verdict::Spec;
use super::{clip_counts, AttackContext, AttackRecord, Progress, ThreatModel};

/// The `split-known-pairs` attack (registered in `super::ATTACKS`).
pub struct SplitKnownPairs;

impl Attack for SplitKnownPairs {
    const NAME: &'static str = "split-known-pairs";
    const TITLE: &'static str = "Known-pair inversion: a decoder from cut activations to inputs";
    const RESULT: ResultKind = ResultKind::Reconstruction;
    const SCHEMES: &'static [Scheme] = &[Scheme::Split];
    type Params = SplitKnownPairsParams;

    fn check(p: &SplitKnownPairsParams) -> Result<(), (String, String)> {
        super::nn::check_decoder(&p.n, p.hidden, p.epochs, p.batch_size, p.learning_rate)
    }

    fn rule() -> Spec {
        super::recon::rule()
    }

    fn run(
        &self,
        ctx: &AttackContext<'_>,
        p: &SplitKnownPairsParams,
        progress: &Progress<'_>,
    ) -> anyhow::Result<AttackRecord> {
        run(ctx, p, progress)
    }
}

/// `[attacks.split_known_pairs]`: a decoder trained on n (input, cut activation) pairs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitKnownPairsParams {
    #[serde(default = "default_n")]
    pub n: Vec<usize>,
    /// Hidden width of the decoder width -> hidden -> d (ReLU, sigmoid output).
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

fn default_n() -> Vec<usize> {
    vec![50, 200, 500]
}

impl Default for SplitKnownPairsParams {
    fn default() -> Self {
        Self {
            n: default_n(),
            hidden: super::nn::default_decoder_hidden(),
            epochs: super::nn::default_decoder_epochs(),
            min_steps: super::nn::default_decoder_min_steps(),
            batch_size: super::nn::default_batch_size(),
            learning_rate: super::nn::default_learning_rate(),
        }
    }
}

pub fn run(
    ctx: &AttackContext<'_>,
    p: &SplitKnownPairsParams,
    progress: &Progress<'_>,
) -> anyhow::Result<AttackRecord> {
    let split = ctx.split()?;
    let d = ctx.features();
    let ns = clip_counts(&p.n, ctx.aux.len());
    let n_max = *ns.last().unwrap_or(&0);
    let n_eval = ctx.eval.len();
    anyhow::ensure!(n_max > 0 && n_eval > 0, "the adversary half or the evaluation half is empty");
    // --- Observation (simulation: the customer's trained head makes the activations). The pairs'
    // activations and the queries' are drawn with different noise seeds, as different messages.
    let seed = ctx.config.seed ^ 0x9a1e_5b11;
    let head = split.load_parts()?.head;
    let sigma = split.split.noise_sigma;
    let pairs_raw = &ctx.aux.images[..n_max * d];
    let pairs_act = observe(&head, pairs_raw, d, sigma, seed)?;
    let eval_act = observe(&head, &ctx.eval.images, d, sigma, seed ^ 1)?;
    let width = pairs_act.len() / n_max;
    // The sample images of the figures, sent as queries too (their own noise draw).
    let samples = ctx.samples_raw().unwrap_or(&[]);
    let samples_act = if samples.is_empty() { Vec::new() } else { observe(&head, samples, d, sigma, seed ^ 2)? };
    let mut sample_recon = Vec::new();
    let refs = references_on(ctx, n_eval);

    let plan = Plan {
        epochs: p.epochs,
        min_steps: p.min_steps,
        batch_size: p.batch_size,
        learning_rate: p.learning_rate,
        seed: ctx.config.seed ^ 0x1a7e,
    };
    let mut curves = QualityCurves::new("activation decoder", "known pairs n");
    let mut stopped = false;
    for (step, &n) in ns.iter().enumerate() {
        if ctx.stop_requested() {
            stopped = true;
            break;
        }
        // --- Recovery: fit the decoder on the pairs.
        let dev = Cpu::seed_from_u64(ctx.config.seed ^ 0xdec0de);
        let Some(model) = train_decoder(
            &dev,
            &pairs_act[..n * width],
            width,
            &pairs_raw[..n * d],
            d,
            p.hidden,
            &plan,
            ctx.control(),
        )?
        else {
            stopped = true;
            break;
        };
        // --- Scoring.
        let recon = decode_with(&dev, &model, &eval_act, width)?;
        curves.push(n as f64, &assess(ctx, &recon));
        if !samples.is_empty() {
            sample_recon = decode_with(&dev, &model, &samples_act, width)?;
        }
        progress.report(step + 1, ns.len());
    }

    if let Some((n, a)) = curves.last().filter(|_| !sample_recon.is_empty()) {
        ctx.add_reconstruction(SplitKnownPairs::NAME, format!("activation decoder, n={n}"), &a.q, &sample_recon);
    }

    let mut r = ctx.new_record::<SplitKnownPairs>(
        ThreatModel {
            adversary: "the provider of a split arm that also obtains n raw inputs whose cut activations it saw".into(),
            holds: vec![
                "n pairs (x, activations of x at the cut, with the arm's noise)".into(),
                "the cut activations of the customer's queries (evaluation half)".into(),
            ],
            knowledge: "nothing about the head beyond its output width".into(),
        },
        format!(
            "{}; known pairs = the first n samples of the adversary half (their activations made by the customer's \
             trained head); unseen data = the evaluation half",
            ctx.aux_description
        ),
    );
    r.parameters.insert("n".into(), json!(ns));
    r.parameters.insert("decoder".into(), json!(format!("{width} -> {} (relu) -> {d} (sigmoid), MSE, Adam", p.hidden)));
    r.parameters.insert("epochs".into(), json!(p.epochs));
    r.parameters.insert("min_steps".into(), json!(p.min_steps));
    r.parameters.insert("batch_size".into(), json!(p.batch_size));
    r.parameters.insert("learning_rate".into(), json!(p.learning_rate));
    r.parameters.insert("noise_sigma".into(), json!(sigma));
    record_references(&mut r, &refs, n_eval);
    if let Some((n, last)) = curves.last() {
        conclude(&mut r, &refs, "activation decoder", n, &last, "known-pair inversion", &format!("{n} pairs"), "");
    }
    r.curves = curves.into_curves();
    r.complete = !stopped;
    Ok(r)
}
