//! Attack 4, known plaintext: the adversary holds n pairs (x, T_K(x)) (samples of the adversary half
//! that it saw both raw and encoded) and recovers T:
//!
//! - **feature matching** (transform family without mixing: permutations, block shuffles with or
//!   without flips, fixed noise): each encoded feature is one raw feature, maybe flipped and offset, so
//!   the residual `y_j - a x_i` (a = +1, or -1 under flips) is constant across the pairs exactly for
//!   the right source. The cost `var(y_j - a x_i)` over all (j, i) goes to an assignment problem
//!   (Hungarian); the offset is the mean residual.
//! - **least squares** (any affine transform, including orthogonal mixes and fixed noise): ridge
//!   regression of x on [T_K(x), 1] through the normal equations in f64 (exact once n >= d on data
//!   that spans the space).
//!
//! Reported vs n: the fraction of the key recovered among the features that vary in the pairs
//! (matching: the exact source and flip of each encoded feature; least squares: raw features whose
//! reconstruction of unseen data is within 0.5/255 RMS), and the reconstruction quality (PSNR, SSIM,
//! MSE) of unseen encoded data (the evaluation half).

use serde_json::json;

use super::assignment::assign;
use super::linalg::{a_bt, at_b, gram, ridge_solve};
use super::metrics::Quality;
use super::oracle::TrueMap;
use super::recon::{assess, conclude, references, set_reference, QualityCurves};
use super::registry::{ranges, Attack, ResultKind};
use super::separable::{self, SeparableDecoder};
use super::verdict::Spec;
use super::{clip_counts, to_f64, AttackContext, AttackRecord, Curve, Family, Figure, Progress, ThreatModel};

/// The `known-plaintext` attack (registered in `super::ATTACKS`).
pub struct KnownPlaintext;

impl Attack for KnownPlaintext {
    const NAME: &'static str = "known-plaintext";
    const TITLE: &'static str = "Known-plaintext recovery of the input transform";
    const RESULT: ResultKind = ResultKind::Reconstruction;
    type Params = KnownPlaintextParams;

    fn check(p: &KnownPlaintextParams) -> Result<(), (String, String)> {
        ranges::counts("n", &p.n)?;
        if !(p.ridge > 0.0 && p.ridge.is_finite()) {
            return Err(("ridge".into(), format!("a positive number (e.g. 1e-6), got {}", p.ridge)));
        }
        Ok(())
    }

    fn rule() -> Spec {
        super::recon::rule()
    }

    fn run(
        &self,
        ctx: &AttackContext<'_>,
        p: &KnownPlaintextParams,
        progress: &Progress<'_>,
    ) -> anyhow::Result<AttackRecord> {
        run(ctx, p, progress)
    }
}

/// `[attacks.known_plaintext]`: recovering T_K from n pairs (x, T_K(x)).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownPlaintextParams {
    /// Numbers of known pairs to try.
    #[serde(default = "default_known_plaintext_n")]
    pub n: Vec<usize>,
    /// Ridge term of the least-squares solve, relative to the mean diagonal of the Gram matrix.
    #[serde(default = "default_ridge")]
    pub ridge: f64,
}

fn default_known_plaintext_n() -> Vec<usize> {
    vec![1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000]
}
fn default_ridge() -> f64 {
    1e-6
}

impl Default for KnownPlaintextParams {
    fn default() -> Self {
        Self { n: default_known_plaintext_n(), ridge: default_ridge() }
    }
}

/// An estimate of a feature-wise transform: `y[j] = sign[j] * x[src[j]] + offset[j]`.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMap {
    pub src: Vec<usize>,
    pub sign: Vec<f32>,
    pub offset: Vec<f32>,
}

impl FeatureMap {
    /// Invert the map on encoded rows (every raw feature has exactly one source: `src` is a bijection).
    pub fn decode(&self, encoded: &[f32]) -> Vec<f32> {
        let d = self.src.len();
        let mut out = vec![0f32; encoded.len()];
        for (y, x) in encoded.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
            for j in 0..d {
                x[self.src[j]] = self.sign[j] * (y[j] - self.offset[j]);
            }
        }
        out
    }
}

/// Adversary: match the value sequences of encoded and raw features over n pairs. A family without
/// permutations keeps every feature in place (only flips and offsets are estimated).
pub fn match_features(raw: &[f32], encoded: &[f32], d: usize, family: Family) -> FeatureMap {
    let flips = family.flips;
    let n = raw.len() / d;
    let (xc, mx, vx) = centred(raw, d);
    let (yc, my, vy) = centred(encoded, d);
    let mut cov = at_b(&yc, &xc, n, d, d);
    cov.iter_mut().for_each(|c| *c /= n.max(1) as f64);
    let mut cost = vec![0f64; d * d];
    for j in 0..d {
        for i in 0..d {
            let c = cov[j * d + i];
            let c = if flips { c.abs() } else { c };
            cost[j * d + i] = (vy[j] + vx[i] - 2.0 * c).max(0.0);
        }
    }
    let src = if family.permutes { assign_split_constants(&cost, d, &vy, &vx) } else { (0..d).collect() };
    let sign: Vec<f32> = (0..d).map(|j| if flips && cov[j * d + src[j]] < 0.0 { -1.0 } else { 1.0 }).collect();
    let offset = (0..d).map(|j| (my[j] - sign[j] as f64 * mx[src[j]]) as f32).collect();
    FeatureMap { src, sign, offset }
}

/// Assignment for feature matching. Features constant over the pairs on both sides (equally many
/// when the transform permutes) can only match each other at zero cost and carry no information
/// about which is which: pair them in order and solve the assignment for the rest (much faster than
/// a full assignment full of ties). Falls back to the full problem when the counts differ.
fn assign_split_constants(cost: &[f64], d: usize, var_rows: &[f64], var_cols: &[f64]) -> Vec<usize> {
    const CONSTANT: f64 = 1e-12;
    let rows: Vec<usize> = (0..d).filter(|&j| var_rows[j] > CONSTANT).collect();
    let cols: Vec<usize> = (0..d).filter(|&i| var_cols[i] > CONSTANT).collect();
    if rows.len() != cols.len() || rows.len() == d {
        return assign(cost, d, d);
    }
    let k = rows.len();
    let mut sub = vec![0f64; k * k];
    for (a, &j) in rows.iter().enumerate() {
        for (b, &i) in cols.iter().enumerate() {
            sub[a * k + b] = cost[j * d + i];
        }
    }
    let mut src = vec![0usize; d];
    for (a, b) in assign(&sub, k, k).into_iter().enumerate() {
        src[rows[a]] = cols[b];
    }
    let const_rows = (0..d).filter(|&j| var_rows[j] <= CONSTANT);
    let const_cols = (0..d).filter(|&i| var_cols[i] <= CONSTANT);
    for (j, i) in const_rows.zip(const_cols) {
        src[j] = i;
    }
    src
}

/// Centred f64 copy, means and variances (1/n) of the columns.
pub(crate) fn centred(x: &[f32], d: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let n = x.len() / d;
    let mut c = to_f64(x);
    let mean = super::linalg::column_means(&c, n, d);
    let mut var = vec![0f64; d];
    for row in c.chunks_exact_mut(d) {
        for i in 0..d {
            row[i] -= mean[i];
            var[i] += row[i] * row[i];
        }
    }
    var.iter_mut().for_each(|v| *v /= n.max(1) as f64);
    (c, mean, var)
}

/// The structure-aware method, used when the family is a separable mix (see [`separable`]).
const SEPARABLE: &str = "separable least squares";
/// Alternating rounds: the fit has converged well before this on every shape tried.
const SEPARABLE_SWEEPS: usize = 20;

/// An affine decoder `x = [y, 1] M` fitted by ridge least squares.
#[derive(Debug, Clone, PartialEq)]
pub struct AffineDecoder {
    pub d_in: usize,
    pub d_out: usize,
    /// (d_in + 1) x d_out, row-major; the last row is the intercept.
    pub m: Vec<f64>,
}

impl AffineDecoder {
    /// Decode in f32 (the fit is f64; applying it needs no more).
    pub fn decode(&self, encoded: &[f32]) -> Vec<f32> {
        use dfdx::prelude::*;
        let (p, k) = (self.d_in + 1, self.d_out);
        let dev = Cpu::default();
        let weights: Tensor<(usize, usize), f32, Cpu> =
            dev.tensor_from_vec(self.m[..self.d_in * k].iter().map(|&v| v as f32).collect(), (self.d_in, k));
        let intercept: Vec<f32> = self.m[(p - 1) * k..].iter().map(|&v| v as f32).collect();
        let mut out = Vec::with_capacity(encoded.len() / self.d_in * k);
        for chunk in encoded.chunks(2048 * self.d_in) {
            let n = chunk.len() / self.d_in;
            let x: Tensor<(usize, usize), f32, Cpu> = dev.tensor_from_vec(chunk.to_vec(), (n, self.d_in));
            let y = x.matmul(weights.clone()).as_vec();
            out.extend(y.chunks_exact(k).flat_map(|row| row.iter().zip(&intercept).map(|(a, b)| a + b)));
        }
        out
    }
}

/// Adversary: ridge regression of raw on encoded (with intercept); `ridge` is relative to the mean
/// diagonal of the Gram matrix. With fewer pairs than encoded features (NeuraCrypt's 3,136, LE's
/// 1,568) it solves the same problem in its dual form, `A^T (A A^T + lambda I)^-1 Y`, an n x n system
/// instead of a p x p one (the push-through identity: the same decoder, up to rounding).
pub fn least_squares(raw: &[f32], d_out: usize, encoded: &[f32], d_in: usize, ridge: f64) -> AffineDecoder {
    let n = encoded.len() / d_in;
    let p = d_in + 1;
    let mut a = Vec::with_capacity(n * p);
    for row in encoded.chunks_exact(d_in) {
        a.extend(row.iter().map(|&v| v as f64));
        a.push(1.0);
    }
    let y = to_f64(raw);
    // trace(A^T A) = trace(A A^T): the sum of squares of A.
    let trace: f64 = a.iter().map(|v| v * v).sum();
    let lambda = (ridge * trace / p as f64).max(1e-300);
    let m = if n < p {
        let k = a_bt(&a, &a, n, p, n);
        let (c, _) = ridge_solve(&k, n, &y, d_out, lambda);
        at_b(&a, &c, n, p, d_out)
    } else {
        let g = gram(&a, n, p);
        let b = at_b(&a, &y, n, p, d_out);
        ridge_solve(&g, p, &b, d_out, lambda).0
    };
    AffineDecoder { d_in, d_out, m }
}

/// Scoring: fraction of encoded features whose source and flip are right, among those whose true
/// source is marked in `varying`.
pub fn key_fraction(est: &FeatureMap, true_src: &[u32], true_sign: &[f32], varying: &[bool]) -> f64 {
    let mut total = 0usize;
    let mut right = 0usize;
    for j in 0..est.src.len() {
        let s = true_src[j] as usize;
        if varying[s] {
            total += 1;
            if est.src[j] == s && est.sign[j] == true_sign[j] {
                right += 1;
            }
        }
    }
    if total == 0 {
        0.0
    } else {
        right as f64 / total as f64
    }
}

/// Scoring: fraction of the raw features marked in `varying` whose reconstruction (clamped to [0, 1])
/// is within `tol` RMS of the truth.
pub fn functional_fraction(recon: &[f32], truth: &[f32], d: usize, varying: &[bool], tol: f64) -> f64 {
    let n = truth.len() / d;
    let mut sq = vec![0f64; d];
    for (r, t) in recon.chunks_exact(d).zip(truth.chunks_exact(d)) {
        for i in 0..d {
            let e = r[i].clamp(0.0, 1.0) as f64 - t[i] as f64;
            sq[i] += e * e;
        }
    }
    let marked: Vec<usize> = (0..d).filter(|&i| varying[i]).collect();
    if marked.is_empty() || n == 0 {
        return 0.0;
    }
    marked.iter().filter(|&&i| (sq[i] / n as f64).sqrt() < tol).count() as f64 / marked.len() as f64
}

/// Raw features that vary (variance above 1e-12) in the rows `x`.
pub fn varying_features(x: &[f32], d: usize) -> Vec<bool> {
    let (_, _, var) = centred(x, d);
    var.iter().map(|&v| v > 1e-12).collect()
}

pub fn run(ctx: &AttackContext<'_>, p: &KnownPlaintextParams, progress: &Progress<'_>) -> anyhow::Result<AttackRecord> {
    let keyed = ctx.keyed()?;
    // Raw and encoded values per image (more encoded ones where a transform splits values, `le`).
    let (d, de) = (ctx.features(), ctx.encoded_features());
    let family = keyed.family();
    let ns = clip_counts(&p.n, ctx.aux.len());
    let n_max = *ns.last().unwrap_or(&0);

    // --- Observation (simulation uses the key to encode): n_max known pairs from the adversary half,
    // and the customer's encoded queries (evaluation half) to decode.
    let pairs_raw = &ctx.aux.images[..n_max * d];
    let pairs_enc = keyed.oracle.encode(pairs_raw);
    let eval_enc = keyed.oracle.encode(&ctx.eval.images);
    let refs = references(ctx, &eval_enc);

    let x_label = "known pairs n";
    let mut matching_key = Curve::new(
        "feature matching: key recovered",
        x_label,
        "fraction of key recovered (features varying in the pairs)",
        true,
    );
    let mut ls_key = Curve::new(
        "least squares: features within 0.5/255",
        x_label,
        "fraction of key recovered (features varying in the pairs)",
        true,
    );
    let mut matching_q = QualityCurves::new("feature matching", x_label);
    let mut ls_q = QualityCurves::new("least squares", x_label);
    let mut sep_q = QualityCurves::new(SEPARABLE, x_label);
    let mut stopped = false;
    let steps = ns.len() * (1 + usize::from(family.feature_wise) + usize::from(family.separable));
    let mut done = 0;
    let truth = keyed.oracle.truth().clone();
    let mut first_full_key: Option<usize> = None;
    let mut last_matching: Option<(usize, Quality, FeatureMap)> = None;
    let mut last_ls: Option<(usize, Quality, AffineDecoder)> = None;
    let mut last_sep: Option<(usize, Quality, SeparableDecoder)> = None;
    let mut first_40db: Option<usize> = None;
    for &n in &ns {
        if ctx.stop_requested() {
            stopped = true;
            break;
        }
        let (xr, ye) = (&pairs_raw[..n * d], &pairs_enc[..n * de]);
        let varying = varying_features(xr, d);
        if family.feature_wise {
            // --- Recovery (no key).
            let est = match_features(xr, ye, d, family);
            // --- Scoring (the key judges).
            let recon = est.decode(&eval_enc);
            let a = assess(ctx, &recon);
            let q = a.q;
            if let TrueMap::FeatureWise { src, sign, .. } = &truth {
                let k = key_fraction(&est, src, sign, &varying);
                matching_key.push(n as f64, k);
                if k >= 0.999 && first_full_key.is_none() {
                    first_full_key = Some(n);
                }
            }
            if q.psnr_db >= 40.0 && first_40db.is_none() {
                first_40db = Some(n);
            }
            matching_q.push(n as f64, &a);
            last_matching = Some((n, q, est));
            done += 1;
            progress.report(done, steps);
            if ctx.stop_requested() {
                stopped = true;
                break;
            }
        }
        if family.separable {
            // --- Recovery (no key): the structure-aware fit.
            let dec = separable::fit(xr, ye, ctx.shape, p.ridge, SEPARABLE_SWEEPS);
            // --- Scoring.
            let a = assess(ctx, &dec.decode(&eval_enc));
            if a.q.psnr_db >= 40.0 && first_40db.is_none_or(|f| n < f) {
                first_40db = Some(n);
            }
            sep_q.push(n as f64, &a);
            last_sep = Some((n, a.q, dec));
            done += 1;
            progress.report(done, steps);
            if ctx.stop_requested() {
                stopped = true;
                break;
            }
        }
        // --- Recovery (no key).
        let dec = least_squares(xr, d, ye, de, p.ridge);
        // --- Scoring.
        let recon = dec.decode(&eval_enc);
        let a = assess(ctx, &recon);
        let q = a.q;
        ls_key.push(n as f64, functional_fraction(&recon, &ctx.eval.images, d, &varying, 0.5 / 255.0));
        if q.psnr_db >= 40.0 && first_40db.is_none_or(|f| n < f) {
            first_40db = Some(n);
        }
        ls_q.push(n as f64, &a);
        last_ls = Some((n, q, dec));
        done += 1;
        progress.report(done, steps);
    }

    // The sample images of the figures, decoded by the best method at the largest n.
    if let Some(samples) = ctx.samples_encoded() {
        let psnr = |q: Option<&Quality>| q.map_or(f64::NEG_INFINITY, |q| q.psnr_db);
        let scores = [
            psnr(last_matching.as_ref().map(|m| &m.1)),
            psnr(last_sep.as_ref().map(|m| &m.1)),
            psnr(last_ls.as_ref().map(|m| &m.1)),
        ];
        let best = (0..3).filter(|&i| scores[i].is_finite()).max_by(|&a, &b| scores[a].total_cmp(&scores[b]));
        if let Some(best) = best {
            let (label, q, images) = match best {
                0 => {
                    let (n, q, est) = last_matching.as_ref().expect("scored");
                    (format!("feature matching, n={n}"), *q, est.decode(samples))
                }
                1 => {
                    let (n, q, dec) = last_sep.as_ref().expect("scored");
                    (format!("{SEPARABLE}, n={n}"), *q, dec.decode(samples))
                }
                _ => {
                    let (n, q, dec) = last_ls.as_ref().expect("scored");
                    (format!("least squares, n={n}"), *q, dec.decode(samples))
                }
            };
            ctx.add_reconstruction(KnownPlaintext::NAME, label, &q, &images);
        }
    }

    let mut r = ctx.new_record::<KnownPlaintext>(
        ThreatModel {
            adversary:
                "the provider (or a thief of its artifacts) that also obtains n raw samples whose encodings it saw"
                    .into(),
            holds: vec!["n pairs (x, T_K(x))".into(), "the customer's encoded queries (evaluation half)".into()],
            knowledge: "the transform family (public scheme), not the key".into(),
        },
        format!(
            "{}; known pairs = the first n samples of the adversary half; unseen data = the evaluation half",
            ctx.aux_description
        ),
    );
    r.parameters.insert("n".into(), json!(ns));
    r.parameters.insert("ridge".into(), json!(p.ridge));
    r.parameters.insert(
        "methods".into(),
        json!([
            family.feature_wise.then_some("feature matching"),
            family.separable.then_some(SEPARABLE),
            Some("least squares")
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()),
    );
    r.parameters.insert("flips_considered".into(), json!(family.flips));
    set_reference(&mut r, &refs, ctx.eval.len());
    let best = [("feature matching", matching_q.last()), (SEPARABLE, sep_q.last()), ("least squares", ls_q.last())]
        .into_iter()
        .filter_map(|(m, v)| v.map(|v| (m, v)))
        .max_by(|a, b| a.1 .1.q.psnr_db.total_cmp(&b.1 .1.q.psnr_db));
    if family.permutes {
        if let Some(k) = matching_key.last_y() {
            r.figures.push(Figure::new("key recovered at the largest n (feature matching)", k, "fraction"));
        }
        if let Some(n) = first_full_key {
            r.figures.push(Figure::new("pairs for the full key (feature matching)", n as f64, "samples"));
        }
    }
    if let Some(k) = ls_key.last_y() {
        r.figures.push(Figure::new("features within 0.5/255 at the largest n (least squares)", k, "fraction"));
    }
    if let Some(n) = first_40db {
        r.figures.push(Figure::new("pairs for 40 dB on unseen data", n as f64, "samples"));
    }
    let full = match (first_full_key.filter(|_| family.permutes), first_40db) {
        (Some(k), _) => format!("; the whole key (every varying feature) from {k} pairs"),
        (None, Some(n)) => format!("; 40 dB from {n} pairs"),
        _ => String::new(),
    };
    if let Some((method, (n, last))) = best {
        conclude(&mut r, &refs, method, n, &last, "known plaintext", &format!("{n} pairs"), &full);
    }
    let mut curves = vec![];
    // The key of a family without permutations is not a feature map: no key curve for it.
    if family.feature_wise && family.permutes {
        curves.push(matching_key);
    }
    curves.push(ls_key);
    if family.feature_wise {
        curves.extend(matching_q.into_curves());
    }
    curves.extend(sep_q.into_curves());
    curves.extend(ls_q.into_curves());
    r.curves = curves;
    r.complete = !stopped;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The primal solve, `(A^T A + lambda I)^-1 A^T Y`, written out for comparison.
    fn primal(raw: &[f32], d_out: usize, encoded: &[f32], d_in: usize, ridge: f64) -> Vec<f64> {
        let n = encoded.len() / d_in;
        let p = d_in + 1;
        let a: Vec<f64> = encoded.chunks_exact(d_in).flat_map(|r| r.iter().map(|&v| v as f64).chain([1.0])).collect();
        let g = gram(&a, n, p);
        let trace: f64 = (0..p).map(|i| g[i * p + i]).sum();
        ridge_solve(&g, p, &at_b(&a, &to_f64(raw), n, p, d_out), d_out, ridge * trace / p as f64).0
    }

    #[test]
    fn with_fewer_pairs_than_features_the_dual_solve_gives_the_primal_decoder() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (n, d_in, d_out) = (40, 120, 16);
        let encoded: Vec<f32> = (0..n * d_in).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let raw: Vec<f32> = (0..n * d_out).map(|_| rng.gen_range(0.0..1.0)).collect();
        for ridge in [1e-6, 1e-2] {
            let dual = least_squares(&raw, d_out, &encoded, d_in, ridge);
            let primal = primal(&raw, d_out, &encoded, d_in, ridge);
            let worst = dual.m.iter().zip(&primal).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            let scale = primal.iter().map(|v| v.abs()).fold(0.0, f64::max);
            assert!(worst <= 1e-6 * scale.max(1.0), "ridge {ridge}: differ by {worst} (scale {scale})");
        }
    }
}
