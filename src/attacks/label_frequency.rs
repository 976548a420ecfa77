//! Attack 6, label frequency: the provider counts how often each output code occurs among its
//! training labels and matches the counts to public class priors (the adversary half's label
//! frequencies) by an assignment. With label splitting (m codes per class), frequencies alone see
//! C*m codes of about prior/m each; a second variant first groups the codes into classes using the
//! provider's own model (codes of one class are interchangeable to it, so their output scores on the
//! encoded training inputs move together), then matches group frequencies to priors.
//!
//! Reported: the fraction of classes recovered (every code of the class assigned to it), the fraction
//! of codes assigned to their class, vs the number of training codes counted, and the accuracy with
//! which the provider, using the recovered map, learns the class of the customer's queries.

use serde_json::json;

use super::assignment::assign;
use super::registry::{ranges, Attack, Need, ResultKind, Scheme};
use super::verdict::{on_scale_thresholds, Spec};
use super::wrong_key::with_provider_model;
use super::{accuracy, clip_counts, pct, AttackContext, AttackRecord, Curve, Figure, Progress, ThreatModel};
use crate::results::attacks::Criterion;
use crate::results::attacks::Level;
use crate::scheme::labels::{argmax_rows, LabelCodec};

/// The `label-frequency` attack (registered in `super::ATTACKS`).
pub struct LabelFrequency;

impl Attack for LabelFrequency {
    const NAME: &'static str = "label-frequency";
    const TITLE: &'static str = "Label assignment from output-code frequencies";
    const RESULT: ResultKind = ResultKind::LabelRecovery;
    const NEEDS: &'static [Need] = &[Need::ProviderTrainingSet];
    type Params = LabelFrequencyParams;

    fn check(p: &LabelFrequencyParams) -> Result<(), (String, String)> {
        ranges::counts("n", &p.n)?;
        ranges::positive("group_samples", p.group_samples)
    }

    fn not_for(scheme: Scheme) -> String {
        match scheme {
            Scheme::Split => {
                "split arm (U-shaped): the customer's tail computes the loss, so the provider sees no labels \
                              or output codes to count; label-leakage attacks the gradients it receives instead"
                    .into()
            }
            other => other.not_for().into(),
        }
    }

    fn rule() -> Spec {
        Spec {
            decided_by: format!(
                "classes whose codes the provider recovers, on the scale from chance to all: {}",
                on_scale_thresholds()
            ),
            protects: "the provider cannot tell which class most output codes stand for",
            partial_leak: "the provider reads the class of queries for some classes",
            broken: "the output protection is undone: the provider reads the class of most queries",
            criteria,
        }
    }

    fn run(
        &self,
        ctx: &AttackContext<'_>,
        p: &LabelFrequencyParams,
        progress: &Progress<'_>,
    ) -> anyhow::Result<AttackRecord> {
        run(ctx, p, progress)
    }
}

/// `[attacks.label_frequency]`: recovering the label assignment from output-code frequencies.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelFrequencyParams {
    /// Numbers of the provider's training codes counted.
    #[serde(default = "default_label_frequency_n")]
    pub n: Vec<usize>,
    /// Encoded training samples the provider scores with its own model to group split codes.
    #[serde(default = "default_group_samples")]
    pub group_samples: usize,
}

fn default_label_frequency_n() -> Vec<usize> {
    vec![100, 1000, 10000, 60000]
}
fn default_group_samples() -> usize {
    2000
}

impl Default for LabelFrequencyParams {
    fn default() -> Self {
        Self { n: default_label_frequency_n(), group_samples: default_group_samples() }
    }
}

/// Adversary: assign codes to classes so that code frequencies match `priors / m` (Hungarian over
/// C*m codes and C*m class slots). Returns the class of each code.
pub fn match_frequencies(counts: &[usize], priors: &[f64], m: usize) -> Vec<usize> {
    let k = counts.len();
    let c = priors.len();
    assert_eq!(k, c * m);
    let total = counts.iter().sum::<usize>().max(1) as f64;
    let mut cost = vec![0f64; k * k];
    for code in 0..k {
        let f = counts[code] as f64 / total;
        for slot in 0..k {
            cost[code * k + slot] = (f - priors[slot / m] / m as f64).powi(2);
        }
    }
    assign(&cost, k, k).into_iter().map(|slot| slot / m).collect()
}

/// Adversary: group C*m codes into C groups of m by how their softmax scores co-vary over inputs
/// (average-linkage agglomeration under the size limit m). `scores` has n rows of C*m.
pub fn group_codes(scores: &[f32], outputs: usize, m: usize) -> Vec<Vec<usize>> {
    let n = scores.len() / outputs;
    let mut probs = vec![0f64; scores.len()];
    for (row, out) in scores.chunks_exact(outputs).zip(probs.chunks_exact_mut(outputs)) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let total: f64 = row.iter().map(|&v| ((v - max) as f64).exp()).sum();
        for (o, &v) in out.iter_mut().zip(row) {
            *o = ((v - max) as f64).exp() / total;
        }
    }
    let mean: Vec<f64> =
        (0..outputs).map(|k| probs.iter().skip(k).step_by(outputs).sum::<f64>() / n.max(1) as f64).collect();
    let sd: Vec<f64> = (0..outputs)
        .map(|k| {
            (probs.iter().skip(k).step_by(outputs).map(|v| (v - mean[k]).powi(2)).sum::<f64>() / n.max(1) as f64).sqrt()
        })
        .collect();
    let mut corr = vec![0f64; outputs * outputs];
    for a in 0..outputs {
        for b in 0..outputs {
            let cov: f64 =
                probs.chunks_exact(outputs).map(|r| (r[a] - mean[a]) * (r[b] - mean[b])).sum::<f64>() / n.max(1) as f64;
            corr[a * outputs + b] = if sd[a] > 0.0 && sd[b] > 0.0 { cov / (sd[a] * sd[b]) } else { 0.0 };
        }
    }
    let mut groups: Vec<Vec<usize>> = (0..outputs).map(|k| vec![k]).collect();
    while groups.len() > outputs / m {
        let mut best: Option<(f64, usize, usize)> = None;
        for a in 0..groups.len() {
            for b in a + 1..groups.len() {
                if groups[a].len() + groups[b].len() > m {
                    continue;
                }
                let link: f64 = groups[a]
                    .iter()
                    .flat_map(|&x| groups[b].iter().map(move |&y| (x, y)))
                    .map(|(x, y)| corr[x * outputs + y])
                    .sum::<f64>()
                    / (groups[a].len() * groups[b].len()) as f64;
                if best.is_none_or(|(l, _, _)| link > l) {
                    best = Some((link, a, b));
                }
            }
        }
        let Some((_, a, b)) = best else { break };
        let merged = groups.remove(b);
        groups[a].extend(merged);
    }
    groups
}

/// Adversary: match the frequencies of code groups to class priors. Returns the class of each code.
pub fn match_groups(groups: &[Vec<usize>], counts: &[usize], priors: &[f64]) -> Vec<usize> {
    let c = priors.len();
    let g = groups.len();
    let total = counts.iter().sum::<usize>().max(1) as f64;
    let freq: Vec<f64> = groups.iter().map(|gr| gr.iter().map(|&k| counts[k]).sum::<usize>() as f64 / total).collect();
    let cols = g.max(c);
    let mut cost = vec![0f64; g * cols];
    for a in 0..g {
        for b in 0..cols {
            cost[a * cols + b] = if b < c { (freq[a] - priors[b]).powi(2) } else { 1.0 };
        }
    }
    let class_of_group = assign(&cost, g, cols);
    let mut class_of_code = vec![0usize; counts.len()];
    for (a, gr) in groups.iter().enumerate() {
        for &k in gr {
            class_of_code[k] = class_of_group[a].min(c - 1);
        }
    }
    class_of_code
}

/// Scoring: (fraction of classes all of whose codes are assigned to them, fraction of codes assigned
/// to their class).
pub fn score_map(class_of_code: &[usize], truth: &LabelCodec) -> (f64, f64) {
    let codes_right = class_of_code.iter().enumerate().filter(|(k, &c)| truth.class_of_code[*k] as usize == c).count();
    let classes_right = truth
        .codes_of_class
        .iter()
        .enumerate()
        .filter(|(c, codes)| codes.iter().all(|&k| class_of_code[k as usize] == *c))
        .count();
    (classes_right as f64 / truth.classes as f64, codes_right as f64 / class_of_code.len() as f64)
}

/// Class predictions from code scores under a code -> class map (class probabilities summed).
pub fn predict_classes(scores: &[f32], outputs: usize, class_of_code: &[usize], classes: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(scores.len() / outputs);
    for row in scores.chunks_exact(outputs) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut per_class = vec![0f32; classes];
        for (k, &v) in row.iter().enumerate() {
            per_class[class_of_code[k]] += (v - max).exp();
        }
        out.push(argmax_rows(&per_class, classes)[0]);
    }
    out
}

pub fn run(ctx: &AttackContext<'_>, p: &LabelFrequencyParams, progress: &Progress<'_>) -> anyhow::Result<AttackRecord> {
    let keyed = ctx.keyed()?;
    let (c, m) = (ctx.classes, ctx.codes_per_class());
    let outputs = c * m;
    // --- Observation: the provider's training codes and encoded inputs (what it trained on), the
    // public priors (adversary half labels), the customer's encoded queries (evaluation half).
    let provider = ctx.provider_training_set()?;
    let codes = provider.codes();
    let ns = clip_counts(&p.n, codes.len());
    let mut priors = vec![0f64; c];
    for &y in &ctx.aux.labels {
        priors[y as usize] += 1.0 / ctx.aux.len().max(1) as f64;
    }
    let group_rows = p.group_samples.min(provider.inputs().len());
    let eval_enc = keyed.oracle.encode(&ctx.eval.images);
    let truth = keyed.oracle.codec().clone();

    let (group_scores, eval_scores) = if ctx.provider_model.is_file() {
        with_provider_model(ctx, |score| {
            (score(&provider.inputs().images()[..group_rows * ctx.encoded_features()]), score(&eval_enc))
        })
        .map(|(a, b)| (Some(a), Some(b)))
        .unwrap_or((None, None))
    } else {
        (None, None)
    };
    // --- Recovery (no key): code grouping once (model outputs), frequency matching per n.
    let groups = match (&group_scores, m > 1) {
        (Some(s), true) => Some(group_codes(s, outputs, m)),
        _ => None,
    };

    let x_label = "training codes counted";
    let mut freq_classes =
        Curve::new("frequencies only: classes recovered", x_label, "fraction of classes recovered", true);
    let mut freq_codes =
        Curve::new("frequencies only: codes assigned to their class", x_label, "fraction of codes right", true);
    let mut grp_classes =
        Curve::new("grouped by model outputs: classes recovered", x_label, "fraction of classes recovered", true);
    let mut grp_codes =
        Curve::new("grouped by model outputs: codes assigned to their class", x_label, "fraction of codes right", true);
    let mut last_maps: (Vec<usize>, Option<Vec<usize>>) = (vec![0; outputs], None);
    let mut stopped = false;
    for (step, &n) in ns.iter().enumerate() {
        if ctx.stop_requested() {
            stopped = true;
            break;
        }
        let mut counts = vec![0usize; outputs];
        for &k in &codes[..n] {
            counts[k as usize] += 1;
        }
        let by_freq = match_frequencies(&counts, &priors, m);
        // --- Scoring (the true assignment judges).
        let (cl, co) = score_map(&by_freq, &truth);
        freq_classes.push(n as f64, cl);
        freq_codes.push(n as f64, co);
        let by_group = groups.as_ref().map(|g| match_groups(g, &counts, &priors));
        if let Some(map) = &by_group {
            let (cl, co) = score_map(map, &truth);
            grp_classes.push(n as f64, cl);
            grp_codes.push(n as f64, co);
        }
        last_maps = (by_freq, by_group);
        progress.report(step + 1, ns.len());
    }

    let mut r = ctx.new_record::<LabelFrequency>(
        ThreatModel {
            adversary: "the provider".into(),
            holds: vec![
                "its training labels (the secret output codes pi(y))".into(),
                "public class priors (label frequencies of the adversary half)".into(),
                "its model and the encoded training inputs (to group split codes)".into(),
                "the customer's encoded queries and its own outputs (evaluation half)".into(),
            ],
            knowledge: if keyed.privacy.label_permutation {
                "the number of classes C and codes per class m (public), not the assignment".into()
            } else {
                "the scheme: labels are not permuted (codes in class order), so the assignment is public".into()
            },
        },
        format!(
            "{}; priors from the adversary half's labels; the provider's codes are the customer's training split, encoded; query decoding scored on the evaluation half",
            ctx.aux_description
        ),
    );
    // A class is recovered by chance when its m codes are exactly the m slots it gets: 1 / binom(C m, m).
    let chance = 1.0 / (0..m).map(|i| (outputs - i) as f64 / (m - i) as f64).product::<f64>();
    r.parameters.insert("n".into(), json!(ns));
    r.parameters.insert("classes".into(), json!(c));
    r.parameters.insert("codes_per_class".into(), json!(m));
    r.parameters.insert("group_samples".into(), json!(if groups.is_some() { group_rows } else { 0 }));
    r.parameters.insert("priors".into(), json!(priors));
    let freq_cl = freq_classes.last_y().unwrap_or(0.0);
    let grp_cl = grp_classes.last_y();
    // A scheme that does not permute labels keeps codes in class order (code k is class k / m): the
    // public scheme gives the provider the assignment without counting anything.
    let public = (!keyed.privacy.label_permutation).then(|| (0..outputs).map(|k| k / m).collect::<Vec<usize>>());
    let public_cl = public.as_ref().map(|map| score_map(map, &truth).0);
    let (best, variant) = match (public_cl, grp_cl) {
        (Some(p), _) if p >= freq_cl && grp_cl.is_none_or(|g| p >= g) => (p, "public assignment: labels not permuted"),
        (_, Some(g)) if g > freq_cl => (g, "grouped by model outputs"),
        _ => (freq_cl, "frequencies only"),
    };
    r.headline = Figure::new(format!("classes recovered ({variant})"), best, "fraction");
    r.figures.push(Figure::new("classes recovered, frequencies only", freq_cl, "fraction"));
    r.figures.push(Figure::new("codes right, frequencies only", freq_codes.last_y().unwrap_or(0.0), "fraction"));
    if let Some(groups) = &groups {
        // Scoring: did the provider's own model tell which codes belong together?
        let exact = groups
            .iter()
            .filter(|g| g.len() == m && g.iter().all(|&k| truth.class_of_code[k] == truth.class_of_code[g[0]]))
            .count();
        r.figures.push(Figure::new(
            "code groups that are exactly one class's codes",
            exact as f64 / groups.len().max(1) as f64,
            "fraction",
        ));
    }
    if let Some(p) = public_cl {
        r.figures.push(Figure::new("classes recovered, public assignment (labels not permuted)", p, "fraction"));
    }
    if let Some(g) = grp_cl {
        r.figures.push(Figure::new("classes recovered, grouped by model outputs", g, "fraction"));
        r.figures.push(Figure::new(
            "codes right, grouped by model outputs",
            grp_codes.last_y().unwrap_or(0.0),
            "fraction",
        ));
    }
    // What the recovered map gives the provider on the customer's queries.
    if let Some(scores) = &eval_scores {
        let best_map = match (&public, &last_maps.1, grp_cl) {
            (Some(p), ..) if variant.starts_with("public") => p,
            (_, Some(g), Some(v)) if v > freq_cl => g,
            _ => &last_maps.0,
        };
        let learned = accuracy(&predict_classes(scores, outputs, best_map, c), &ctx.eval.labels);
        let customer = accuracy(&truth.predict(scores), &ctx.eval.labels);
        r.figures.push(Figure::new("queries whose class the provider learns (recovered map)", learned, "fraction"));
        r.figures.push(Figure::new("customer's own accuracy on the queries (true map)", customer, "fraction"));
        r.baseline = Some(customer);
        r.baseline_label =
            Some("the customer's accuracy on its queries (what a perfect map would give the provider)".into());
    }
    r.chance = Some(chance);
    let measured = !freq_classes.points.is_empty();
    let mut curves = vec![freq_classes, freq_codes];
    if groups.is_some() {
        curves.push(grp_classes);
        curves.push(grp_codes);
    }
    r.curves = curves;
    r.complete = !stopped;
    if measured {
        super::verdict::decide(&mut r);
    }
    let learned = r
        .figure("queries whose class the provider learns (recovered map)")
        .map(|v| format!("; the provider then reads the class of {} of the customer's queries", pct(v)))
        .unwrap_or_default();
    let found = format!("{} of the classes recovered ({variant}, m={m}; chance {}){learned}", pct(best), pct(chance));
    r.verdict = match r.level {
        Some(Level::Broken) => format!("output protection broken: {found}"),
        Some(Level::PartialLeak) => format!("label assignment partly recovered: {found}"),
        Some(Level::Protects) => format!("label assignment not recovered: {found}"),
        None => "stopped before any count finished".into(),
    };
    if let Some(g) = r.figure("code groups that are exactly one class's codes") {
        if g >= 0.9 {
            r.verdict.push_str(&format!(
                "; but the provider's own model groups the split codes by class ({} of groups exact): splitting reduces to m=1, and only balanced priors keep the classes hidden",
                pct(g)
            ));
        }
    }
    Ok(r)
}

/// The rule's criterion: classes recovered, from chance to all.
fn criteria(r: &AttackRecord) -> Vec<Criterion> {
    let Some(chance) = r.chance.filter(|c| *c < 1.0) else { return vec![] };
    vec![Criterion::on_scale("classes recovered", r.headline.value, "fraction", (chance, "chance"), (1.0, "all"))]
}
