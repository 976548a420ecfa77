//! Carlini et al.'s attack on NeuraCrypt (Carlini, Garg, Jha, Mahloujifar, Mahmoody and Tramèr,
//! "NeuraCrypt is not private", arXiv 2108.07256, 2021), which solved the NeuraCrypt challenge
//! (github.com/yala/NeuraCrypt-Challenge) perfectly: every encoding matched to its plaintext image.
//! Their attack is "a series of boosting steps" from a weak advantage to a complete break. Only the
//! paper's abstract was at hand: step 1 follows it (undo the shuffle against the mean encoding), steps
//! 2 to 4 are our reconstruction of the boosting, sized for a CPU (README says how far it gets):
//!
//! **Adversary.** The challenge's: it holds the encodings and the plaintext images they were made
//! from (here: `encodings` images of the evaluation half, encoded by the arm's key, presented in a
//! hidden seeded order), and the public scheme (patch size, dim, depth). It must tell which encoding
//! is which image. Not the key (the network's weights, the embedding), not the shuffles.
//!
//! **Method** (observations only):
//! 1. *Undo each encoding's patch shuffle.* The positional embedding is added before the last ReLU
//!    and linear layer, so the patches of one grid position cluster across images. Each encoding's
//!    patches are assigned (Hungarian) to the slots of a reference encoding, the mean of the aligned
//!    encodings becomes the reference, and again (the first encoding starts it).
//! 2. *Patch statistics: blank patches.* In the plaintexts, patches of no ink; in the encodings,
//!    patches close to their slot's densest patch (blank patches, the commonest kind, encode alike),
//!    with the cut set so that as many count as blank as in the plaintexts. Slots are matched to grid
//!    positions by their blank rate over the images (assignment).
//! 3. *A weak first link.* Encodings assigned to images (Hungarian) by their blank patterns (Hamming
//!    distance over the grid).
//! 4. *Boosting.* Given the current links, a least-squares map from plaintext patches to encoded
//!    patches (one shared map to re-place the slots, then one per slot), each image's encoding
//!    predicted, encodings re-assigned to images by the distance to the predictions; repeated
//!    `rounds` times or until the links stop changing.
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
use super::linalg::{a_bt, ridge_solve};
use super::registry::{ranges, Attack, ResultKind};
use super::verdict::{proportion_interval, Spec};
use super::{AttackContext, AttackRecord, Figure, Progress, ThreatModel};
use crate::data::ImageShape;
use crate::results::attacks::Criterion;
use crate::scheme::transforms::{self, TransformLabel};

pub struct CarliniNeuraCrypt;

/// `[attacks.carlini_neuracrypt]`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeuraCryptAttackParams {
    /// Encodings attacked (and plaintext candidates): images of the evaluation half.
    #[serde(default = "default_encodings")]
    pub encodings: usize,
    /// Boosting rounds at most (refit, re-assign).
    #[serde(default = "default_rounds")]
    pub rounds: usize,
}

fn default_encodings() -> usize {
    300
}
fn default_rounds() -> usize {
    8
}

impl Default for NeuraCryptAttackParams {
    fn default() -> Self {
        NeuraCryptAttackParams { encodings: default_encodings(), rounds: default_rounds() }
    }
}

/// A plaintext patch of less ink (L2 norm of its values in [0, 1]) counts as blank.
const BLANK_INK: f64 = 0.05;
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
        ranges::positive("rounds", p.rounds)
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
        let patch = transforms::kind::params(spec).1.integer("patch");
        let encoded = ctx.encoded_shape();
        let (positions, dim) = (encoded.height * encoded.width, encoded.channels);
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
        let r = recover(&observed, candidates, ctx.shape, patch, Grid { positions, dim }, p.rounds, &|| {
            ctx.stop_requested()
        });
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
                    "the scheme and its parameters ({}); not the network's weights, the positional embedding or the \
                     shuffles",
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

/// The encoding's layout: `positions` patches of `dim` values.
#[derive(Debug, Clone, Copy)]
pub struct Grid {
    pub positions: usize,
    pub dim: usize,
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

/// Steps 1-4 of the module doc on `encodings` (n x positions x dim) and `candidates` (n raw images of
/// `shape`, cut into `patch` x `patch` patches).
pub fn recover(
    encodings: &[f32],
    candidates: &[f32],
    shape: ImageShape,
    patch: usize,
    grid: Grid,
    rounds: usize,
    stop: &dyn Fn() -> bool,
) -> Recovered {
    let Grid { positions: np, dim } = grid;
    let per = np * dim;
    let n = encodings.len() / per;
    // 1. Align every encoding's patches to the reference slots.
    let (slot_of, aligned, mean) = align(encodings, n, np, dim);
    // Centred: each slot's patch minus the slot's mean.
    let ac: Vec<f64> = aligned.iter().enumerate().map(|(k, v)| v - mean[k % per]).collect();
    // Plaintext patches per candidate and grid position, centred per position.
    let pd = patch * patch * shape.channels;
    let xc = centred_patches(candidates, shape, patch);
    // 2. Patch statistics: which patches are blank. In the plaintexts, those of (nearly) no ink; in
    // the encodings, those close to their slot's densest patch (blank patches, the commonest kind,
    // encode alike), each slot's distances in units of its own scale, the cut chosen so that as many
    // patches count as blank as in the plaintexts.
    let ink = patch_norms(candidates, shape, patch);
    let blank_x: Vec<f64> = ink.iter().map(|&v| f64::from(u8::from(v < BLANK_INK))).collect();
    let blank_rate = blank_x.iter().sum::<f64>() / blank_x.len().max(1) as f64;
    let blank_e = blank_slots(&aligned, n, np, dim, blank_rate);
    // Slots to positions: the same blank rate over the images (assignment).
    let rate =
        |x: &[f64]| -> Vec<f64> { (0..np).map(|q| (0..n).map(|i| x[i * np + q]).sum::<f64>() / n as f64).collect() };
    let (re, rx) = (rate(&blank_e), rate(&blank_x));
    let cost: Vec<f64> = (0..np * np).map(|k| (re[k / np] - rx[k % np]).powi(2)).collect();
    let mut position_of = assign(&cost, np, np);
    // 3. The weak link: encodings to images by their blank patterns (Hamming distance), ties broken
    // by the correlation of the ink and the distance to blank.
    let mut slot_at = vec![0usize; np];
    position_of.iter().enumerate().for_each(|(q, &g)| slot_at[g] = q);
    let fe: Vec<f64> = (0..n)
        .flat_map(|i| (0..np).map(move |g| (i, g)))
        .map(|(i, g)| 2.0 * blank_e[i * np + slot_at[g]] - 1.0)
        .collect();
    let fx: Vec<f64> = blank_x.iter().map(|b| 2.0 * b - 1.0).collect();
    // For +-1 vectors, Hamming distance = (np - dot) / 2: the largest dot is the nearest pattern.
    let agree = a_bt(&fe, &fx, n, np, n);
    let mut link = assign(&agree.iter().map(|c| -c).collect::<Vec<_>>(), n, n);
    let first_link = link.clone();
    // 4. Boosting.
    let mut rounds_run = 0;
    for _ in 0..rounds {
        if stop() {
            break;
        }
        rounds_run += 1;
        // Re-place the slots with one shared patch map fitted on the current links.
        let w = fit(&ac, &xc, &link, &position_of, n, np, pd, dim, None);
        let mut cost = vec![0f64; np * np];
        for q in 0..np {
            for g in 0..np {
                cost[q * np + g] = (0..n)
                    .map(|i| {
                        let x = &xc[(link[i] * np + g) * pd..(link[i] * np + g + 1) * pd];
                        let y = &ac[(i * np + q) * dim..(i * np + q + 1) * dim];
                        residual(x, &w, y, pd, dim)
                    })
                    .sum();
            }
        }
        position_of = assign(&cost, np, np);
        // One map per slot, each candidate's encoding predicted, encodings re-assigned.
        let mut predicted = vec![0f64; n * per];
        for q in 0..np {
            let wq = fit(&ac, &xc, &link, &position_of, n, np, pd, dim, Some(q));
            let g = position_of[q];
            for j in 0..n {
                let x = &xc[(j * np + g) * pd..(j * np + g + 1) * pd];
                let out = &mut predicted[(j * np + q) * dim..(j * np + q + 1) * dim];
                for (a, xa) in x.iter().enumerate() {
                    out.iter_mut().zip(&wq[a * dim..(a + 1) * dim]).for_each(|(o, w)| *o += xa * w);
                }
            }
        }
        let dots = a_bt(&ac, &predicted, n, per, n);
        let pred_norm: Vec<f64> = predicted.chunks_exact(per).map(sq_norm).collect();
        let cost: Vec<f64> = (0..n * n).map(|k| pred_norm[k % n] - 2.0 * dots[k]).collect();
        let next = assign(&cost, n, n);
        let settled = next == link;
        link = next;
        if settled {
            break;
        }
    }
    Recovered { slot_of, position_of, link, first_link, rounds_run }
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

/// Per image and grid position (n x positions): the norm of the patch (its distance to a blank one).
fn patch_norms(images: &[f32], shape: ImageShape, patch: usize) -> Vec<f64> {
    let (c, w) = (shape.channels, shape.width);
    let (gw, np) = (w / patch, (shape.height / patch) * (w / patch));
    let mut out = Vec::with_capacity(images.len() / shape.features() * np);
    for img in images.chunks_exact(shape.features()) {
        for g in 0..np {
            let (r0, c0) = ((g / gw) * patch, (g % gw) * patch);
            let ss: f64 = (0..patch)
                .flat_map(|dy| (0..patch * c).map(move |k| ((r0 + dy) * w + c0) * c + k))
                .map(|at| f64::from(img[at]).powi(2))
                .sum();
            out.push(ss.sqrt());
        }
    }
    out
}

/// Per encoding and slot (n x positions): 1 where the aligned patch is taken for a blank one, else 0.
/// Each slot's distances to its densest patch (the one closest to its nearest tenth of the others),
/// in units of the mean distance of that tenth; the `rate` quantile of them all is the cut.
fn blank_slots(aligned: &[f64], n: usize, np: usize, dim: usize, rate: f64) -> Vec<f64> {
    let at = |i: usize, q: usize| &aligned[(i * np + q) * dim..(i * np + q + 1) * dim];
    let dist = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt();
    let k = (n / 10).max(1);
    let mut out = vec![0f64; n * np];
    for q in 0..np {
        let mut best = (f64::INFINITY, 0usize);
        for i in 0..n {
            let mut d: Vec<f64> = (0..n).filter(|&j| j != i).map(|j| dist(at(i, q), at(j, q))).collect();
            let nth = k.min(d.len().saturating_sub(1));
            d.select_nth_unstable_by(nth, |a, b| a.total_cmp(b));
            let spread: f64 = d[..k.min(d.len())].iter().sum();
            if spread < best.0 {
                best = (spread, i);
            }
        }
        let scale = (best.0 / k as f64).max(1e-12);
        for i in 0..n {
            out[i * np + q] = dist(at(i, q), at(best.1, q)) / scale;
        }
    }
    let mut sorted = out.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let cut = sorted[((rate * sorted.len() as f64) as usize).min(sorted.len() - 1)];
    out.iter().map(|&d| f64::from(u8::from(d < cut))).collect()
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

/// `||y - x W||^2`.
fn residual(x: &[f64], w: &[f64], y: &[f64], pd: usize, dim: usize) -> f64 {
    (0..dim)
        .map(|k| {
            let p: f64 = (0..pd).map(|a| x[a] * w[a * dim + k]).sum();
            (y[k] - p).powi(2)
        })
        .sum()
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
