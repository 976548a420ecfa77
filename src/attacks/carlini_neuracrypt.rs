//! Carlini et al.'s attack on NeuraCrypt (Carlini, Garg, Jha, Mahloujifar, Mahmoody and Tramèr,
//! "NeuraCrypt is not private", arXiv 2108.07256, 2021), which solved the NeuraCrypt challenge
//! (github.com/yala/NeuraCrypt-Challenge, challenge 1: match each encoding to its source image)
//! perfectly. Their attack is "a series of boosting steps that, coupled with various design flaws,
//! turns a 1% attack advantage into a 100% complete break" (abstract). Of the paper only the abstract
//! and the introduction's first section could be read here, so the outline is theirs (undo the patch
//! shuffle, patch statistics, assignment of encodings to images, boosting a weak link to a complete
//! one) and the statistics of steps 2 and 3 are ours; README says what each step measures.
//!
//! **Adversary.** The challenge's: it holds the encodings and the plaintext images they were made
//! from (here: `encodings` images of the evaluation half, encoded by the arm's key, presented in a
//! hidden seeded order), and the public scheme (patch size, dim, depth), so it can draw encoders of
//! its own. It must tell which encoding is which image. Not the key (the network's weights, the
//! embedding), not the shuffles.
//!
//! **Method** (observations only):
//! 1. *Undo each encoding's patch shuffle* (the paper's first design flaw: the positional embedding
//!    is added before the last ReLU and linear layer, so the patches of one grid position cluster
//!    across images). Each encoding's patches are assigned (Hungarian) to the slots of a reference
//!    encoding, the mean of the aligned encodings becomes the reference, and again (the first
//!    encoding starts it).
//! 2. *Patch statistics: slots to grid positions.* The adversary runs `simulations` encoders of its
//!    own (random keys of the public scheme) on the candidates, unshuffled, so it knows each of its
//!    patches' position. Per slot (target) and per position (its own), the leading principal axes
//!    over the images; between every two slots and every two positions, the RV coefficient (the
//!    multivariate correlation). The slots are placed where their RV matrix best matches its own
//!    (a quadratic assignment, by swap local search from `placement_restarts` seeded starts). Its
//!    own encoders stand in for the plaintext statistics because ppdl's per-image normalisation
//!    (see the transform) mixes every patch of an image into each patch's encoding, which the
//!    plaintext's correlations do not show.
//! 3. *A weak first link.* Per encoding, the Gram matrix of its centred patches in grid order;
//!    per candidate, the same under the adversary's encoders (a random network's kernel depends
//!    little on which weights were drawn); each entry standardised over the images, encodings
//!    assigned to images (Hungarian) by the agreement of the two.
//! 4. *Boosting* (the paper's: a weak advantage fed back until the break is complete). Given the
//!    current links, one ridge least-squares map per slot from its position's plaintext patch to
//!    its encoded patch; each candidate's encoding predicted, encodings re-assigned to images by the
//!    distance to the predictions; the slots re-placed with one map shared by all slots; repeated
//!    `rounds` times or until links and placement stop changing. With the slots placed right, this
//!    alone took 3% correct links to all 300 on the embedded data (depth 4; 1% to 39% in 8 rounds).
//!
//! **Scoring** (the key holder's truth): the fraction of encodings linked to the right image (chance
//! 1/n), the fraction of patches put in a slot with the patches of their own grid position (the
//! shuffle undone, up to one relabelling of the slots), and the fraction put at their true grid
//! position.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::json;

use super::assignment::assign;
use super::linalg::{a_bt, column_means, gram, matmul, ridge_solve, symmetric_eigen};
use super::registry::{ranges, Attack, ResultKind};
use super::verdict::{proportion_interval, Spec};
use super::{AttackContext, AttackRecord, Figure, Progress, ThreatModel};
use crate::data::ImageShape;
use crate::results::attacks::Criterion;
use crate::scheme::transforms::neuracrypt::NeuraCrypt;
use crate::scheme::transforms::{self, TransformLabel};

pub struct CarliniNeuraCrypt;

/// `[attacks.carlini_neuracrypt]`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeuraCryptAttackParams {
    /// Encodings attacked (and plaintext candidates): images of the evaluation half.
    #[serde(default = "default_encodings")]
    pub encodings: usize,
    /// Boosting rounds at most (refit, re-assign, re-place).
    #[serde(default = "default_rounds")]
    pub rounds: usize,
    /// Random restarts of the local search that places the aligned slots on the grid.
    #[serde(default = "default_placement_restarts")]
    pub placement_restarts: usize,
    /// Encoders of its own (random keys of the public scheme) the adversary runs on the candidates.
    #[serde(default = "default_simulations")]
    pub simulations: usize,
}

fn default_encodings() -> usize {
    300
}
fn default_rounds() -> usize {
    30
}
fn default_placement_restarts() -> usize {
    256
}
fn default_simulations() -> usize {
    4
}

impl Default for NeuraCryptAttackParams {
    fn default() -> Self {
        NeuraCryptAttackParams {
            encodings: default_encodings(),
            rounds: default_rounds(),
            placement_restarts: default_placement_restarts(),
            simulations: default_simulations(),
        }
    }
}

/// Rounds of aligning every encoding to the mean encoding.
const ALIGN_ROUNDS: usize = 4;

/// Figure names the verdict rule reads.
pub const LINKED: &str = "encodings linked to their plaintext image";
pub const CHANCE: &str = "chance: 1 / candidates";
pub const UNSHUFFLED: &str = "patches put in the slot of their grid position (shuffle undone, up to relabelling)";
pub const PLACED: &str = "patches put at their true grid position";
/// The published result beside ours (Carlini et al. 2021, abstract: "perfectly solving the authors'
/// public challenge").
pub const LITERATURE_LINKED: &str =
    "literature: NeuraCrypt challenge encodings matched by Carlini et al. (\"challenge solved\", arXiv 2108.07256)";

impl Attack for CarliniNeuraCrypt {
    const NAME: &'static str = "carlini-neuracrypt";
    const TITLE: &'static str = "Carlini et al.'s NeuraCrypt attack (unshuffle, patch statistics, assignment)";
    const RESULT: ResultKind = ResultKind::Linkage;
    type Params = NeuraCryptAttackParams;

    fn check(p: &NeuraCryptAttackParams) -> Result<(), (String, String)> {
        if p.encodings < 2 {
            return Err(("encodings".into(), format!("an integer >= 2, got {}", p.encodings)));
        }
        ranges::positive("rounds", p.rounds)?;
        ranges::positive("placement_restarts", p.placement_restarts)?;
        ranges::positive("simulations", p.simulations)
    }

    fn rule() -> Spec {
        Spec {
            decided_by: format!(
                "the fraction of encodings linked to their plaintext image, on the scale from chance (1 / candidates) \
                 to 1: {}",
                super::verdict::on_scale_thresholds()
            ),
            protects: "the encodings are linked to their images no better than by chance",
            partial_leak: "many encodings are linked to their images",
            broken: "nearly every encoding is linked to its image",
            criteria,
        }
    }

    fn applies(ctx: &AttackContext<'_>) -> Result<(), String> {
        let specs = &ctx.keyed().map_err(|e| e.to_string())?.privacy.transforms;
        if specs.iter().any(|s| s.kind == "neuracrypt") {
            return Ok(());
        }
        let labels = specs.iter().map(|s| s.label()).collect::<Vec<_>>().join(" + ");
        Err(format!(
            "it attacks NeuraCrypt encodings (a `neuracrypt` transform), not `{}`",
            if labels.is_empty() { "identity".to_string() } else { labels }
        ))
    }

    fn run(
        &self,
        ctx: &AttackContext<'_>,
        p: &NeuraCryptAttackParams,
        progress: &Progress<'_>,
    ) -> anyhow::Result<AttackRecord> {
        let keyed = ctx.keyed()?;
        let spec = keyed.privacy.transforms.iter().find(|s| s.kind == "neuracrypt").expect("applies checked it");
        let params = transforms::kind::params(spec).1;
        let scheme =
            Scheme { patch: params.integer("patch"), dim: params.integer("dim"), depth: params.integer("depth") };
        let patch = scheme.patch;
        let encoded = ctx.encoded_shape();
        let (positions, dim) = (encoded.height * encoded.width, encoded.channels);
        // The adversary simulates the scheme on raw candidates: the encodings must be its output.
        anyhow::ensure!(
            positions == (ctx.shape.height / patch) * (ctx.shape.width / patch) && dim == scheme.dim,
            "carlini-neuracrypt: the arm's encodings ({}x{}x{}) are not the neuracrypt transform's output ({})",
            encoded.height,
            encoded.width,
            encoded.channels,
            spec.label()
        );
        // --- Observation (simulation): the customer's images, encoded by its key, in a hidden order.
        let n = p.encodings.min(ctx.eval.len());
        let d = ctx.features();
        let candidates = &ctx.eval.images[..n * d];
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut ChaCha20Rng::seed_from_u64(ctx.config.seed ^ 0x006e_6575_7261));
        let shown: Vec<f32> = order.iter().flat_map(|&j| ctx.eval.image(j).iter().copied()).collect();
        let observed = keyed.oracle.encode(&shown);
        progress.report(1, 4);
        // --- Recovery (no key).
        let knobs = Knobs {
            rounds: p.rounds,
            placement_restarts: p.placement_restarts,
            simulations: p.simulations,
            seed: ctx.config.seed,
        };
        let r = recover(&observed, candidates, ctx.shape, scheme, knobs, &|| ctx.stop_requested());
        progress.report(4, 4);
        // --- Scoring.
        let linked = r.link.iter().zip(&order).filter(|(a, b)| a == b).count() as f64 / n as f64;
        let truth = keyed.oracle.true_patch_positions(&shown, &observed);
        let (unshuffled, placed) = match &truth {
            Some(t) => {
                let (u, pl) = permutation_scores(&r, t, positions);
                (Some(u), Some(pl))
            }
            None => (None, None),
        };

        let mut rec = ctx.new_record::<CarliniNeuraCrypt>(
            ThreatModel {
                adversary: "an adversary holding the encodings and the plaintext images they encode (the NeuraCrypt \
                            challenge's setting)"
                    .into(),
                holds: vec![
                    format!("{n} encodings ({positions} patches of {dim} values each, shuffled per encoding)"),
                    format!("the {n} plaintext images, in another order"),
                ],
                knowledge: format!(
                    "the scheme and its parameters ({}), so it draws encoders of its own; not the network's weights, \
                     the positional embedding or the shuffles",
                    spec.label()
                ),
            },
            format!(
                "{n} images of the evaluation half encoded by the arm's key and shown in a seeded hidden order; the \
                 same {n} images as plaintext candidates"
            ),
        );
        rec.parameters.insert("encodings".into(), json!(n));
        rec.parameters.insert("rounds".into(), json!(p.rounds));
        rec.parameters.insert("rounds_run".into(), json!(r.rounds_run));
        rec.parameters.insert("placement_restarts".into(), json!(p.placement_restarts));
        rec.parameters.insert("simulations".into(), json!(p.simulations));
        rec.parameters.insert("patch".into(), json!(patch));
        rec.parameters.insert(super::EVALUATION_SAMPLES.into(), json!(n));
        let chance = 1.0 / n as f64;
        rec.headline = Figure::new(LINKED, linked, "fraction");
        rec.baseline = Some(chance);
        rec.baseline_label = Some("chance (1 / candidates)".into());
        rec.chance = Some(chance);
        rec.chance_label = Some("1 / candidates".into());
        rec.figures.push(Figure::new(LINKED, linked, "fraction"));
        rec.figures.push(Figure::new(CHANCE, chance, "fraction"));
        rec.figures.push(Figure::new(
            "linked by the weak first step (patch statistics alone)",
            r.first_link.iter().zip(&order).filter(|(a, b)| a == b).count() as f64 / n as f64,
            "fraction",
        ));
        if let (Some(u), Some(pl)) = (unshuffled, placed) {
            rec.figures.push(Figure::new(UNSHUFFLED, u, "fraction"));
            rec.figures.push(Figure::new(PLACED, pl, "fraction"));
            rec.figures.push(Figure::new("chance: one grid position in all", 1.0 / positions as f64, "fraction"));
        }
        rec.figures.push(Figure::new(LITERATURE_LINKED, 1.0, "fraction"));
        super::verdict::decide(&mut rec);
        let perm = match (unshuffled, placed) {
            (Some(u), Some(pl)) => {
                format!("; shuffle undone for {:.1}% of patches, {:.1}% at their true position", 100.0 * u, 100.0 * pl)
            }
            _ => "; permutation not scored (neuracrypt is not the arm's only transform)".into(),
        };
        rec.verdict = format!(
            "{}: {} of {n} encodings linked to their image (chance {:.2}%){perm} (literature: challenge solved)",
            rec.level.map_or("not decided", |l| l.label()),
            (linked * n as f64).round(),
            100.0 * chance,
        );
        rec.complete = !ctx.stop_requested();
        Ok(rec)
    }
}

/// The rule's criteria from a record's figures.
fn criteria(r: &AttackRecord) -> Vec<Criterion> {
    let mut out = Vec::new();
    if let (Some(v), Some(chance)) = (r.figure(LINKED), r.figure(CHANCE)) {
        let mut c = Criterion::on_scale(LINKED, v, "fraction", (chance, "chance"), (1.0, "every encoding"));
        if let Some(n) = super::verdict::evaluation_samples(r) {
            c.interval = Some(proportion_interval(v, n));
        }
        out.push(c);
    }
    out
}

/// What the recovery found.
#[derive(Debug, Clone)]
pub struct Recovered {
    /// Per encoding and slot (row-major, n x positions): the reference slot its patch was put in.
    pub slot_of: Vec<usize>,
    /// Per reference slot: the grid position it stands for.
    pub position_of: Vec<usize>,
    /// Per encoding: the candidate image it was linked to.
    pub link: Vec<usize>,
    /// The links of the weak first step, before boosting.
    pub first_link: Vec<usize>,
    pub rounds_run: usize,
}

/// Knobs of the recovery (the attack's parameters, less the sizes).
#[derive(Debug, Clone, Copy)]
pub struct Knobs {
    /// Boosting rounds at most.
    pub rounds: usize,
    /// Random restarts of the local search that places the slots on the grid.
    pub placement_restarts: usize,
    /// Encoders of its own the adversary draws to simulate the scheme.
    pub simulations: usize,
    /// Seed of the restarts and of the adversary's own encoders.
    pub seed: u64,
}

/// The public scheme: `neuracrypt`'s parameters.
#[derive(Debug, Clone, Copy)]
pub struct Scheme {
    pub patch: usize,
    pub dim: usize,
    pub depth: usize,
}

/// Principal axes kept per slot for the slot-to-slot statistics.
const AXES: usize = 16;

/// Steps 1-4 of the module doc on `encodings` (n x positions x dim) and `candidates` (n raw images of
/// `shape`, cut into `patch` x `patch` patches).
pub fn recover(
    encodings: &[f32],
    candidates: &[f32],
    shape: ImageShape,
    scheme: Scheme,
    knobs: Knobs,
    stop: &dyn Fn() -> bool,
) -> Recovered {
    let Scheme { patch, dim, .. } = scheme;
    let np = (shape.height / patch) * (shape.width / patch);
    let per = np * dim;
    let n = encodings.len() / per;
    // 1. Align every encoding's patches to the reference slots.
    let (slot_of, aligned, mean) = align(encodings, n, np, dim);
    let ac = centre(&aligned, n, per, &mean);
    let pd = patch * patch * shape.channels;
    let xc = centred_patches(candidates, shape, patch);
    // 2. Patch statistics, against the adversary's own encoders of the public scheme run on the
    // candidates (unshuffled: it knows where each of its patches comes from): the slots placed on
    // the grid where their multivariate correlations (RV) with the other slots match those of the
    // grid positions under its encoders (a quadratic assignment, by local search).
    let k = AXES.min(dim);
    let own = simulate(candidates, shape, scheme, knobs, n, np);
    let rve = rv_matrix(&slot_features(&ac, n, np, dim, k), n, np, k);
    let mut rvo = vec![0f64; np * np];
    for oc in &own {
        let r = rv_matrix(&slot_features(oc, n, np, dim, k), n, np, k);
        rvo.iter_mut().zip(r).for_each(|(a, b)| *a += b / own.len() as f64);
    }
    let mut position_of = place(&rve, &rvo, np, knobs.placement_restarts, knobs.seed);
    // 3. The weak link: each encoding's Gram matrix of its (centred) patches, in grid order, against
    // each candidate's under the adversary's encoders (a random network's kernel depends little on
    // its draw), each entry standardised over the images; encodings assigned to images.
    let fe = gram_features(&ac, n, np, dim, &position_of);
    let identity: Vec<usize> = (0..np).collect();
    let mut fo = vec![0f64; fe.len()];
    for oc in &own {
        let f = gram_features(oc, n, np, dim, &identity);
        fo.iter_mut().zip(f).for_each(|(a, b)| *a += b);
    }
    let width = fe.len() / n;
    let agree = a_bt(&fe, &fo, n, width, n);
    let mut link = assign(&agree.iter().map(|c| -c).collect::<Vec<_>>(), n, n);
    let first_link = link.clone();
    // 4. Boosting.
    let mut rounds_run = 0;
    for _ in 0..knobs.rounds {
        if stop() {
            break;
        }
        rounds_run += 1;
        // One map per slot from its position's patch to its encoding, fitted on the current links;
        // each candidate's encoding predicted, encodings re-assigned to the nearest predictions.
        let (predicted, shared) = predict(&ac, &xc, &link, &position_of, n, np, pd, dim);
        let dots = a_bt(&ac, &predicted, n, per, n);
        let pred_norm: Vec<f64> = predicted.chunks_exact(per).map(sq_norm).collect();
        let cost: Vec<f64> = (0..n * n).map(|k| pred_norm[k % n] - 2.0 * dots[k]).collect();
        let next = assign(&cost, n, n);
        // Re-place the slots: each slot at the position whose patches the shared map explains best.
        let replaced = replace(&ac, &xc, &next, n, np, pd, dim, &shared);
        let settled = next == link && replaced == position_of;
        link = next;
        position_of = replaced;
        if settled {
            break;
        }
    }
    Recovered { slot_of, position_of, link, first_link, rounds_run }
}

/// Each row minus `mean` (one value per column).
fn centre(x: &[f64], n: usize, per: usize, mean: &[f64]) -> Vec<f64> {
    debug_assert_eq!(x.len(), n * per);
    x.iter().enumerate().map(|(k, v)| v - mean[k % per]).collect()
}

/// The candidates encoded, unshuffled, by `knobs.simulations` encoders of the scheme drawn by the
/// adversary, each centred per position over the candidates.
fn simulate(candidates: &[f32], shape: ImageShape, scheme: Scheme, knobs: Knobs, n: usize, np: usize) -> Vec<Vec<f64>> {
    let (d, per) = (shape.features(), np * scheme.dim);
    let mut rng = ChaCha20Rng::seed_from_u64(knobs.seed ^ 0x0073_696d);
    (0..knobs.simulations.max(1))
        .map(|_| {
            let own = NeuraCrypt::random(shape, scheme.patch, scheme.dim, scheme.depth, &mut rng);
            let mut out = vec![0f32; n * per];
            for (img, enc) in candidates.chunks_exact(d).zip(out.chunks_exact_mut(per)) {
                own.encode_unshuffled(img, enc);
            }
            let x: Vec<f64> = out.iter().map(|&v| f64::from(v)).collect();
            centre(&x, n, per, &column_means(&x, n, per))
        })
        .collect()
}

/// Per encoding: the upper triangle of the Gram matrix of its patches (slot `q` read as grid position
/// `position_of[q]`), each entry standardised over the encodings.
fn gram_features(ac: &[f64], n: usize, np: usize, dim: usize, position_of: &[usize]) -> Vec<f64> {
    let mut slot_at = vec![0usize; np];
    position_of.iter().enumerate().for_each(|(q, &g)| slot_at[g] = q);
    let width = np * (np + 1) / 2;
    let mut out = Vec::with_capacity(n * width);
    for i in 0..n {
        let at = |g: usize| &ac[(i * np + slot_at[g]) * dim..(i * np + slot_at[g] + 1) * dim];
        for g in 0..np {
            for h in g..np {
                out.push(at(g).iter().zip(at(h)).map(|(a, b)| a * b).sum::<f64>());
            }
        }
    }
    let mean = column_means(&out, n, width);
    let mut var = vec![0f64; width];
    for row in out.chunks_exact(width) {
        var.iter_mut().zip(row).zip(&mean).for_each(|((s, v), m)| *s += (v - m) * (v - m) / n as f64);
    }
    for row in out.chunks_exact_mut(width) {
        for ((v, m), s) in row.iter_mut().zip(&mean).zip(&var) {
            *v = if *s > 1e-24 { (*v - m) / s.sqrt() } else { 0.0 };
        }
    }
    out
}

/// Step 1: each encoding's patches assigned to the reference slots, the reference the mean of the
/// aligned encodings. Returns the slot of every patch, the aligned encodings and their mean.
fn align(encodings: &[f32], n: usize, np: usize, dim: usize) -> (Vec<usize>, Vec<f64>, Vec<f64>) {
    let per = np * dim;
    let mut reference: Vec<f64> = encodings[..per].iter().map(|&v| f64::from(v)).collect();
    let mut slot_of = vec![0usize; n * np];
    let mut aligned = vec![0f64; n * per];
    let mut cost = vec![0f64; np * np];
    for _ in 0..ALIGN_ROUNDS {
        for i in 0..n {
            let e = &encodings[i * per..(i + 1) * per];
            for s in 0..np {
                for q in 0..np {
                    let (a, b) = (&e[s * dim..(s + 1) * dim], &reference[q * dim..(q + 1) * dim]);
                    cost[s * np + q] = a.iter().zip(b).map(|(&x, y)| (f64::from(x) - y).powi(2)).sum();
                }
            }
            for (s, q) in assign(&cost, np, np).into_iter().enumerate() {
                slot_of[i * np + s] = q;
                for k in 0..dim {
                    aligned[i * per + q * dim + k] = f64::from(e[s * dim + k]);
                }
            }
        }
        reference = vec![0f64; per];
        for row in aligned.chunks_exact(per) {
            reference.iter_mut().zip(row).for_each(|(r, v)| *r += v / n as f64);
        }
    }
    (slot_of, aligned, reference)
}

/// Per encoding and slot (n x positions x k): the centred encoding's scores on the slot's `k`
/// leading principal axes over the encodings.
fn slot_features(ac: &[f64], n: usize, np: usize, dim: usize, k: usize) -> Vec<f64> {
    let mut out = vec![0f64; n * np * k];
    let mut rows = vec![0f64; n * dim];
    for q in 0..np {
        for i in 0..n {
            rows[i * dim..(i + 1) * dim].copy_from_slice(&ac[(i * np + q) * dim..(i * np + q + 1) * dim]);
        }
        let cov = gram(&rows, n, dim);
        let (_, vectors) = symmetric_eigen(&cov, dim);
        for i in 0..n {
            for a in 0..k {
                let axis = &vectors[a * dim..(a + 1) * dim];
                out[(i * np + q) * k + a] = rows[i * dim..(i + 1) * dim].iter().zip(axis).map(|(x, y)| x * y).sum();
            }
        }
    }
    out
}

/// RV coefficients (np x np) between the blocks of `k` columns of a row-major n x (np k) matrix of
/// centred columns: the multivariate correlation of two slots (or two positions), in [0, 1].
fn rv_matrix(x: &[f64], n: usize, np: usize, k: usize) -> Vec<f64> {
    let c = gram(x, n, np * k);
    let w = np * k;
    let block = |a: usize, b: usize| -> f64 {
        (0..k).flat_map(|r| (0..k).map(move |s| (r, s))).map(|(r, s)| c[(a * k + r) * w + b * k + s].powi(2)).sum()
    };
    let diag: Vec<f64> = (0..np).map(|a| block(a, a).sqrt()).collect();
    (0..np * np)
        .map(|t| {
            let (a, b) = (t / np, t % np);
            let s = diag[a] * diag[b];
            if s > 1e-12 {
                block(a, b) / s
            } else {
                0.0
            }
        })
        .collect()
}

/// The slot-to-position map maximising sum over slot pairs of `re[q, q'] * rx[pos q, pos q']` (the
/// placement whose correlations best match, in least squares): swap local search from `restarts`
/// seeded random starts, the best kept.
fn place(re: &[f64], rx: &[f64], np: usize, restarts: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let score = |p: &[usize]| -> f64 {
        (0..np).flat_map(|a| (0..np).map(move |b| (a, b))).map(|(a, b)| re[a * np + b] * rx[p[a] * np + p[b]]).sum()
    };
    let mut best: (f64, Vec<usize>) = (f64::NEG_INFINITY, (0..np).collect());
    for _ in 0..restarts.max(1) {
        let mut p: Vec<usize> = (0..np).collect();
        p.shuffle(&mut rng);
        loop {
            let mut improved = false;
            for a in 0..np {
                for b in a + 1..np {
                    // Change of the objective when slots a and b swap positions.
                    let (pa, pb) = (p[a], p[b]);
                    let delta: f64 = (0..np)
                        .filter(|&k| k != a && k != b)
                        .map(|k| (re[a * np + k] - re[b * np + k]) * (rx[pb * np + p[k]] - rx[pa * np + p[k]]))
                        .sum();
                    if delta > 1e-12 {
                        p.swap(a, b);
                        improved = true;
                    }
                }
            }
            if !improved {
                break;
            }
        }
        let s = score(&p);
        if s > best.0 {
            best = (s, p);
        }
    }
    best.1
}

/// Each candidate's encoding (n x positions x dim, by slot) predicted by one ridge map per slot from
/// its position's patch, fitted on the links; and the shared map fitted over every slot (pd x dim).
#[allow(clippy::too_many_arguments)]
fn predict(
    ac: &[f64],
    xc: &[f64],
    link: &[usize],
    position_of: &[usize],
    n: usize,
    np: usize,
    pd: usize,
    dim: usize,
) -> (Vec<f64>, Vec<f64>) {
    let mut predicted = vec![0f64; n * np * dim];
    for q in 0..np {
        let wq = fit(ac, xc, link, position_of, n, np, pd, dim, Some(q));
        let g = position_of[q];
        let x: Vec<f64> = (0..n).flat_map(|j| xc[(j * np + g) * pd..(j * np + g + 1) * pd].iter().copied()).collect();
        let y = matmul(&x, &wq, n, pd, dim);
        for j in 0..n {
            predicted[(j * np + q) * dim..(j * np + q + 1) * dim].copy_from_slice(&y[j * dim..(j + 1) * dim]);
        }
    }
    (predicted, fit(ac, xc, link, position_of, n, np, pd, dim, None))
}

/// Slots to positions again: the assignment minimising, over the linked pairs, the residual of the
/// shared map `w` between slot `q`'s encodings and position `g`'s patches.
#[allow(clippy::too_many_arguments)]
fn replace(
    ac: &[f64],
    xc: &[f64],
    link: &[usize],
    n: usize,
    np: usize,
    pd: usize,
    dim: usize,
    w: &[f64],
) -> Vec<usize> {
    // ||a - x W||^2 = ||a||^2 - 2 a . xW + ||xW||^2; the first term does not depend on g.
    let pred = matmul(xc, w, n * np, pd, dim); // (candidate, position) x dim
    let mut cost = vec![0f64; np * np];
    for i in 0..n {
        let a = &ac[i * np * dim..(i + 1) * np * dim];
        let p = &pred[link[i] * np * dim..(link[i] + 1) * np * dim];
        let cross = a_bt(a, p, np, dim, np);
        for q in 0..np {
            for g in 0..np {
                cost[q * np + g] += sq_norm(&p[g * dim..(g + 1) * dim]) - 2.0 * cross[q * np + g];
            }
        }
    }
    assign(&cost, np, np)
}

/// Each candidate's patches (n x positions x p p C, grid row-major), minus each position's mean patch.
fn centred_patches(images: &[f32], shape: ImageShape, patch: usize) -> Vec<f64> {
    let (c, w) = (shape.channels, shape.width);
    let (gw, np) = (w / patch, (shape.height / patch) * (w / patch));
    let pd = patch * patch * c;
    let n = images.len() / shape.features();
    let mut out = vec![0f64; n * np * pd];
    for (i, img) in images.chunks_exact(shape.features()).enumerate() {
        for g in 0..np {
            let (r0, c0) = ((g / gw) * patch, (g % gw) * patch);
            for dy in 0..patch {
                for k in 0..patch * c {
                    out[(i * np + g) * pd + dy * patch * c + k] = f64::from(img[((r0 + dy) * w + c0) * c + k]);
                }
            }
        }
    }
    let mut mean = vec![0f64; np * pd];
    for row in out.chunks_exact(np * pd) {
        mean.iter_mut().zip(row).for_each(|(m, v)| *m += v / n as f64);
    }
    out.iter_mut().enumerate().for_each(|(k, v)| *v -= mean[k % (np * pd)]);
    out
}

/// Ridge least squares `x W ~ y` over the linked pairs: encoded patch `(i, q)` against the candidate
/// `link[i]`'s patch at `position_of[q]`, over every slot (`only = None`) or one. W is pd x dim.
#[allow(clippy::too_many_arguments)]
fn fit(
    ac: &[f64],
    xc: &[f64],
    link: &[usize],
    position_of: &[usize],
    n: usize,
    np: usize,
    pd: usize,
    dim: usize,
    only: Option<usize>,
) -> Vec<f64> {
    let (mut g, mut b) = (vec![0f64; pd * pd], vec![0f64; pd * dim]);
    let slots: Vec<usize> = only.map_or_else(|| (0..np).collect(), |q| vec![q]);
    for i in 0..n {
        for &q in &slots {
            let x = &xc[(link[i] * np + position_of[q]) * pd..(link[i] * np + position_of[q] + 1) * pd];
            let y = &ac[(i * np + q) * dim..(i * np + q + 1) * dim];
            for a in 0..pd {
                for c in 0..pd {
                    g[a * pd + c] += x[a] * x[c];
                }
                b[a * dim..(a + 1) * dim].iter_mut().zip(y).for_each(|(bb, yy)| *bb += x[a] * yy);
            }
        }
    }
    let trace = (0..pd).map(|a| g[a * pd + a]).sum::<f64>() / pd.max(1) as f64;
    ridge_solve(&g, pd, &b, dim, 0.1 * trace.max(1e-9)).0
}

fn sq_norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum()
}

/// (shuffle undone up to relabelling, true position) of a recovery, given each encoding's true grid
/// position per slot (n x positions).
pub fn permutation_scores(r: &Recovered, truth: &[usize], np: usize) -> (f64, f64) {
    let total = truth.len() as f64;
    // The true position most often put in each reference slot.
    let mut counts = vec![0usize; np * np];
    for (k, &t) in truth.iter().enumerate() {
        counts[r.slot_of[k] * np + t] += 1;
    }
    let majority: Vec<usize> = (0..np).map(|q| (0..np).max_by_key(|&g| counts[q * np + g]).unwrap_or(0)).collect();
    let consistent = truth.iter().enumerate().filter(|(k, &t)| majority[r.slot_of[*k]] == t).count();
    let placed = truth.iter().enumerate().filter(|(k, &t)| r.position_of[r.slot_of[*k]] == t).count();
    (consistent as f64 / total, placed as f64 / total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::transforms::Transform;

    /// `n` embedded test images encoded by the real transform under a fixed key (shuffled afresh per
    /// image), the candidates shown in a hidden order; returns (linked, weak step linked, placed).
    fn attack(n: usize, dim: usize, depth: usize) -> (f64, f64, f64) {
        let ds = crate::data::embedded::load().unwrap();
        let (shape, d) = (ds.shape, ds.shape.features());
        let images = &ds.test.images[..n * d];
        let key = NeuraCrypt::random(shape, 4, dim, depth, &mut ChaCha20Rng::seed_from_u64(7));
        let (np, dim) = (key.positions(), key.dim);
        let per = np * dim;
        let mut encodings = vec![0f32; n * per];
        key.encode_into(images, &mut encodings, &mut ChaCha20Rng::seed_from_u64(9));
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut ChaCha20Rng::seed_from_u64(11));
        let candidates: Vec<f32> = order.iter().flat_map(|&j| images[j * d..(j + 1) * d].iter().copied()).collect();
        // The key holder's truth: each slot's grid position.
        let mut plain = vec![0f32; per];
        let mut truth = Vec::with_capacity(n * np);
        for (img, enc) in images.chunks_exact(d).zip(encodings.chunks_exact(per)) {
            key.encode_unshuffled(img, &mut plain);
            for slot in enc.chunks_exact(dim) {
                truth.push((0..np).position(|g| plain[g * dim..(g + 1) * dim] == *slot).unwrap());
            }
        }
        let knobs = Knobs { rounds: 30, placement_restarts: 256, simulations: 2, seed: 1 };
        let r = recover(&encodings, &candidates, shape, Scheme { patch: 4, dim, depth }, knobs, &|| false);
        // Encoding i shows image i, which is candidate order^-1(i).
        let rate = |link: &[usize]| link.iter().enumerate().filter(|(i, &c)| order[c] == *i).count() as f64 / n as f64;
        (rate(&r.link), rate(&r.first_link), permutation_scores(&r, &truth, np).1)
    }

    #[test]
    fn links_real_images_encoded_by_the_real_transform_far_beyond_chance() {
        // Chance is 1 / 100; the attack links nearly all, without the key, at depth 0 (no
        // normalisation) and at the default dim 64 and depth 4.
        for (dim, depth) in [(32, 0), (64, 4)] {
            let (linked, weak, placed) = attack(100, dim, depth);
            assert!(linked >= 0.9, "depth {depth}: linked {linked} (weak step {weak}, placed {placed})");
            assert!(weak >= 0.1, "depth {depth}: the weak step links {weak}");
            assert!(placed >= 0.9, "depth {depth}: patches at their true position {placed}");
        }
    }

    #[test]
    fn parameters_outside_their_domain_are_refused_by_name() {
        let ok = NeuraCryptAttackParams::default();
        assert!(CarliniNeuraCrypt::check(&ok).is_ok());
        let zero_restarts = NeuraCryptAttackParams { placement_restarts: 0, ..ok.clone() };
        assert_eq!(CarliniNeuraCrypt::check(&zero_restarts).unwrap_err().0, "placement_restarts");
        let zero_simulations = NeuraCryptAttackParams { simulations: 0, ..ok };
        assert_eq!(CarliniNeuraCrypt::check(&zero_simulations).unwrap_err().0, "simulations");
    }
}
