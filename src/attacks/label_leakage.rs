//! Label leakage from gradients: the provider of a split arm reads the customer's training labels
//! from the gradients it received at its middle's output during training (kept as a bounded sample,
//! `train::split::observed`). Two recoveries (`label_leak`): direction clustering (Li et al., ICLR
//! 2022, extended to C classes) and UnSplit's label inference with a clone of a one-layer tail
//! (Erdogan et al., WPES 2022); both name their groups from the public class priors.
//!
//! Reported: the fraction of the sampled rows grouped with their class (each group given the class
//! that fits it best: the partition of the training rows by label, class names up to a
//! permutation; the better recovery is the headline and decides the verdict, since one known label
//! per class completes it), the fraction recovered with the names the class frequencies give, per
//! training epoch, against chance (always guessing the most frequent class).

use serde_json::json;

use super::label_leak::{
    chance, cluster_directions, name_by_frequency, name_by_truth, recovered, unsplit_labels, TailClone,
};
use super::registry::{ranges, Attack, ResultKind, Scheme};
use super::verdict::{on_scale_thresholds, Spec};
use super::{pct, AttackContext, AttackRecord, Curve, Figure, Progress, ThreatModel};
use crate::results::attacks::{Criterion, Level};
use crate::train::split::observed::{load_labels, ReceivedGradients};

/// The `label-leakage` attack (registered in `super::ATTACKS`).
pub struct LabelLeakage;

impl Attack for LabelLeakage {
    const NAME: &'static str = "label-leakage";
    const TITLE: &'static str = "Label leakage from the gradients the provider receives";
    const RESULT: ResultKind = ResultKind::LabelRecovery;
    const SCHEMES: &'static [Scheme] = &[Scheme::Split];
    type Params = LabelLeakageParams;

    fn check(p: &LabelLeakageParams) -> Result<(), (String, String)> {
        ranges::positive("iterations", p.iterations)?;
        ranges::rate("clone_learning_rate", p.clone_learning_rate)
    }

    fn rule() -> Spec {
        Spec {
            decided_by: format!(
                "training rows the provider groups with their class (the better recovery; class names up to a \
                 permutation, which one known label per class settles), on the scale from chance (the most \
                 frequent class) to all: {}",
                on_scale_thresholds()
            ),
            protects: "the gradients tell the provider no more of the labels than the class priors do",
            partial_leak: "the gradients sort some training rows by label",
            broken: "the gradients sort most training rows by label: keeping the output layer does not hide them",
            criteria,
        }
    }

    fn run(
        &self,
        ctx: &AttackContext<'_>,
        p: &LabelLeakageParams,
        progress: &Progress<'_>,
    ) -> anyhow::Result<AttackRecord> {
        run(ctx, p, progress)
    }
}

/// `[attacks.label_leakage]`: label leakage from received gradients.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelLeakageParams {
    /// Lloyd rounds of the spherical k-means, at most.
    #[serde(default = "default_iterations")]
    pub iterations: usize,
    /// SGD rate of UnSplit's clone of the tail (one step per kept batch).
    #[serde(default = "default_clone_learning_rate")]
    pub clone_learning_rate: f64,
}

fn default_iterations() -> usize {
    50
}
fn default_clone_learning_rate() -> f64 {
    0.1
}

impl Default for LabelLeakageParams {
    fn default() -> Self {
        Self { iterations: default_iterations(), clone_learning_rate: default_clone_learning_rate() }
    }
}

/// Curve labels.
pub const DIRECTION_CURVE: &str = "direction clustering, named by frequencies";
pub const DIRECTION_BEST_CURVE: &str = "direction clustering, best naming (upper bound)";

pub fn run(ctx: &AttackContext<'_>, p: &LabelLeakageParams, progress: &Progress<'_>) -> anyhow::Result<AttackRecord> {
    let split = ctx.split()?;
    let c = ctx.classes;
    // --- Observation: what the provider kept of what it received; the public priors.
    let skipped = |what: &str, path: &std::path::Path| {
        anyhow::anyhow!(
            "skipped: it needs {what} ({}), which this run folder does not have (runs before the sample was kept)",
            path.display()
        )
    };
    let received = ReceivedGradients::load(&split.parts.received)?
        .ok_or_else(|| skipped("the sample of gradients the provider received", &split.parts.received))?;
    // The customer's labels of those rows: scoring only.
    let labels = load_labels(&split.parts.received_labels)?
        .ok_or_else(|| skipped("the customer's labels of the sampled rows", &split.parts.received_labels))?;
    if labels.len() != received.rows() || received.rows() == 0 {
        anyhow::bail!(
            "{} has {} rows but {} has {} labels",
            split.parts.received.display(),
            received.rows(),
            split.parts.received_labels.display(),
            labels.len()
        );
    }
    let mut priors = vec![0f64; c];
    for &y in &ctx.aux.labels {
        priors[y as usize] += 1.0 / ctx.aux.len().max(1) as f64;
    }
    let w = received.width;
    let epochs: Vec<u32> = {
        let mut e = received.epoch.clone();
        e.dedup();
        e
    };
    let groups: Vec<std::ops::Range<usize>> = epochs
        .iter()
        .map(|&e| {
            let start = received.epoch.iter().position(|&x| x == e).unwrap_or(0);
            let end = received.epoch.iter().rposition(|&x| x == e).map_or(start, |i| i + 1);
            start..end
        })
        .collect();

    // --- Recovery (no labels): direction clusters per epoch; UnSplit over the kept batches.
    let seed = ctx.config.seed ^ 0x1ab3_1ea4;
    let cluster = cluster_directions(&received.gradient, w, &groups, c, p.iterations, seed);
    progress.report(1, 2);
    let k = groups.len() * c;
    let named = name_by_frequency(&cluster, k, &priors);
    let unsplit = (split.plan.tail == 1).then(|| {
        let clone = TailClone::random(w, c, seed);
        let picked = unsplit_labels(
            &received.middle_output,
            &received.gradient,
            w,
            &received.batches(),
            clone,
            p.clone_learning_rate,
        );
        let named = name_by_frequency(&picked, c, &priors);
        (picked, named)
    });
    progress.report(2, 2);

    // --- Scoring (the customer's labels judge).
    let best = name_by_truth(&cluster, k, &labels, c);
    let direction = recovered(&cluster, &named, &labels);
    let direction_best = recovered(&cluster, &best, &labels);
    let mut by_epoch = Curve::new(DIRECTION_CURVE, "training epoch", "fraction of rows recovered", true);
    let mut by_epoch_best = Curve::new(DIRECTION_BEST_CURVE, "training epoch", "fraction of rows recovered", true);
    for (e, rows) in epochs.iter().zip(&groups) {
        let (cl, y) = (&cluster[rows.clone()], &labels[rows.clone()]);
        by_epoch.push(*e as f64, recovered(cl, &named, y));
        by_epoch_best.push(*e as f64, recovered(cl, &best, y));
    }
    let unsplit_scores = unsplit.as_ref().map(|(picked, named)| {
        (recovered(picked, named, &labels), recovered(picked, &name_by_truth(picked, c, &labels, c), &labels))
    });
    let headline = unsplit_scores.map_or(direction_best, |(_, b)| b.max(direction_best));
    let named_best = unsplit_scores.map_or(direction, |(u, _)| u.max(direction));
    let chance = chance(&priors);

    let mut r = ctx.new_record::<LabelLeakage>(
        ThreatModel {
            adversary: "the provider (honest-but-curious), during training".into(),
            holds: vec![
                "the gradients it received at its middle's output (a sample of whole batches, every k-th step)".into(),
                "its middle's output for the same rows".into(),
                "public class priors (the adversary half's label frequencies)".into(),
            ],
            knowledge: "the architecture and the cut (a tail of one dense layer for UnSplit); not the customer's \
                        labels, head or tail"
                .into(),
        },
        format!(
            "{} rows the provider received over {} epochs (provider/{}/received-gradients.safetensors); priors from \
             the adversary half ({} samples); scored against the customer's labels of those rows",
            received.rows(),
            epochs.len(),
            ctx.arm,
            ctx.aux.len()
        ),
    );
    r.parameters.insert("iterations".into(), json!(p.iterations));
    r.parameters.insert("clone_learning_rate".into(), json!(p.clone_learning_rate));
    r.parameters.insert("rows".into(), json!(received.rows()));
    r.parameters.insert("kept_steps".into(), json!(received.batches().len()));
    r.parameters.insert("width".into(), json!(w));
    r.parameters.insert(super::EVALUATION_SAMPLES.into(), json!(received.rows()));
    r.headline =
        Figure::new("training rows grouped with their class (names up to a permutation)", headline, "fraction");
    r.figures.push(Figure::new(
        "training rows whose label is recovered (names from class frequencies)",
        named_best,
        "fraction",
    ));
    r.figures.push(Figure::new("direction clustering, named by frequencies", direction, "fraction"));
    r.figures.push(Figure::new("direction clustering, best naming (upper bound)", direction_best, "fraction"));
    match unsplit_scores {
        Some((u, u_best)) => {
            r.figures.push(Figure::new("UnSplit label inference, named by frequencies", u, "fraction"));
            r.figures.push(Figure::new("UnSplit label inference, best naming (upper bound)", u_best, "fraction"));
        }
        None => {
            let why = format!("not run: it clones a tail of one layer, this arm's tail has {}", split.plan.tail);
            r.parameters.insert("unsplit".into(), json!(why));
        }
    }
    r.chance = Some(chance);
    r.chance_label = Some("the most frequent class".into());
    r.baseline = None;
    r.curves = vec![by_epoch, by_epoch_best];
    r.complete = !ctx.stop_requested();
    super::verdict::decide(&mut r);
    let detail = format!(
        "{} of {} training rows grouped with their class, {} labelled right with names from class frequencies \
         (direction clustering {} grouped, {} named{}; chance {})",
        pct(headline),
        received.rows(),
        pct(named_best),
        pct(direction_best),
        pct(direction),
        unsplit_scores.map(|(u, b)| format!("; UnSplit {} grouped, {} named", pct(b), pct(u))).unwrap_or_default(),
        pct(chance)
    );
    r.verdict = match r.level {
        Some(Level::Broken) => format!("the gradients sort the training rows by label: {detail}"),
        Some(Level::PartialLeak) => format!("the gradients sort some training rows by label: {detail}"),
        Some(Level::Protects) => format!("the gradients leak no more than the priors: {detail}"),
        None => format!("not judged: {detail}"),
    };
    Ok(r)
}

/// The rule's criterion: rows recovered, from chance to all.
fn criteria(r: &AttackRecord) -> Vec<Criterion> {
    let Some(chance) = r.chance.filter(|c| *c < 1.0) else { return vec![] };
    vec![Criterion::on_scale("rows grouped", r.headline.value, "fraction", (chance, "chance"), (1.0, "all"))]
}
