//! Attack 5, statistical (ciphertext only): the provider holds the encoded training set and public
//! raw data of the same distribution (the adversary half of the test split, no pairing between the
//! two), and matches statistics:
//!
//! - **assignment** (families without mixing): per-feature mean (unless a secret offset may apply),
//!   spread and skewness (sign-aware under flips) give a first encoded->raw assignment (Hungarian);
//!   then rounds of correlation-structure matching: with the current assignment, encoded feature j is
//!   compared with raw feature i through their correlations with all other features,
//!   `S[j, i] = sum_k R_enc[j, k] R_raw[i, sigma(k)]`, and a new assignment minimises
//!   `-S + statistics` (a projected step of graph matching). Offsets are the mean differences.
//! - **PCA alignment** (families with an orthogonal mix; every transform of the scheme is then
//!   `y = U x + b` with U orthogonal, plus isotropic noise): the covariances satisfy
//!   `Sigma_y = U Sigma_x U^T`, so the leading eigenvectors match up to sign; signs come from the
//!   means (no offset) or the skewness of the projections. The decoder keeps the leading components
//!   that explain `pca_variance` of the public data's variance.
//! - **axis alignment** (a separable mix, no secret offset): the same idea per image axis, where the
//!   covariances are small (h x h, w x w) and the whole map follows; see [`super::separable`].
//!
//! Reported vs the number of encoded samples seen: the fraction of the key recovered (assignment:
//! exact source and flip, among features that vary in the public data) and reconstruction quality of
//! unseen encoded data (evaluation half).

use serde_json::json;

use super::assignment::assign;
use super::known_plaintext::{functional_fraction, key_fraction, FeatureMap};
use super::linalg::{a_bt, gram, matmul, symmetric_eigen};
use super::oracle::TrueMap;
use super::recon::{assess, conclude, references, set_reference, QualityCurves};
use super::registry::{ranges, Attack, Need, ResultKind};
use super::verdict::Spec;
use super::{clip_counts, AttackContext, AttackRecord, Curve, Family, Figure, Progress, ThreatModel};

/// The `statistical` attack (registered in `super::ATTACKS`).
pub struct Statistical;

impl Attack for Statistical {
    const NAME: &'static str = "statistical";
    const TITLE: &'static str = "Ciphertext-only statistical recovery of the input transform";
    const RESULT: ResultKind = ResultKind::Reconstruction;
    const NEEDS: &'static [Need] = &[Need::ProviderTrainingSet];
    type Params = StatisticalParams;

    fn check(p: &StatisticalParams) -> Result<(), (String, String)> {
        ranges::counts("n", &p.n)?;
        if !(p.pca_variance > 0.0 && p.pca_variance <= 1.0) {
            return Err(("pca_variance".into(), format!("a fraction in (0, 1], got {}", p.pca_variance)));
        }
        Ok(())
    }

    fn rule() -> Spec {
        super::recon::rule()
    }

    fn applies(ctx: &AttackContext<'_>) -> Result<(), String> {
        ctx.same_shape(
            "these statistics match each encoded feature (or principal component) with one raw one of the same \
             dimension; the known-plaintext regression and the decoder inversion map encoded to raw across sizes",
        )
    }

    fn run(
        &self,
        ctx: &AttackContext<'_>,
        p: &StatisticalParams,
        progress: &Progress<'_>,
    ) -> anyhow::Result<AttackRecord> {
        run(ctx, p, progress)
    }
}

/// `[attacks.statistical]`: ciphertext-only matching of encoded-data statistics to public raw data.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatisticalParams {
    /// Numbers of encoded training samples seen (the provider holds the whole encoded training set).
    #[serde(default = "default_statistical_n")]
    pub n: Vec<usize>,
    /// Rounds of correlation-structure refinement after the first (mean/spread) assignment.
    #[serde(default = "default_refine_rounds")]
    pub refine_rounds: usize,
    /// PCA alignment keeps the leading components that explain this fraction of the variance.
    #[serde(default = "default_pca_variance")]
    pub pca_variance: f64,
}

fn default_statistical_n() -> Vec<usize> {
    vec![100, 1000, 10000, 60000]
}
fn default_refine_rounds() -> usize {
    6
}
fn default_pca_variance() -> f64 {
    0.5
}

impl Default for StatisticalParams {
    fn default() -> Self {
        Self {
            n: default_statistical_n(),
            refine_rounds: default_refine_rounds(),
            pca_variance: default_pca_variance(),
        }
    }
}

/// Per-feature statistics of a data set.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub d: usize,
    pub n: usize,
    pub mean: Vec<f64>,
    /// Population covariance (d x d).
    pub cov: Vec<f64>,
    /// Standard deviation (after removing `noise_var` from the variance).
    pub std: Vec<f64>,
    /// Skewness (third standardised moment; 0 for constant features).
    pub skew: Vec<f64>,
}

impl Stats {
    /// Statistics of n rows of d features; `noise_var` (public per-sample noise variance) is removed
    /// from the diagonal.
    pub fn of(x: &[f32], d: usize, noise_var: f64) -> Stats {
        let n = x.len() / d;
        let mut mean = vec![0f64; d];
        for row in x.chunks_exact(d) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
        // Covariance in chunks (bounded memory), third moments on the way.
        const CHUNK: usize = 4096;
        let mut cov = vec![0f64; d * d];
        let mut m3 = vec![0f64; d];
        for chunk in x.chunks(CHUNK * d) {
            let rows = chunk.len() / d;
            let mut c = Vec::with_capacity(chunk.len());
            for row in chunk.chunks_exact(d) {
                for i in 0..d {
                    let v = row[i] as f64 - mean[i];
                    c.push(v);
                    m3[i] += v * v * v;
                }
            }
            for (a, b) in cov.iter_mut().zip(gram(&c, rows, d)) {
                *a += b;
            }
        }
        cov.iter_mut().for_each(|c| *c /= n.max(1) as f64);
        let mut std = vec![0f64; d];
        let mut skew = vec![0f64; d];
        for i in 0..d {
            let var_raw = cov[i * d + i];
            let var = (var_raw - noise_var).max(0.0);
            cov[i * d + i] = var;
            std[i] = var.sqrt();
            skew[i] = if var_raw > 1e-12 { m3[i] / n.max(1) as f64 / var_raw.powf(1.5) } else { 0.0 };
        }
        Stats { d, n, mean, cov, std, skew }
    }

    /// Correlation matrix with a zero diagonal (constant features: zero rows).
    pub fn correlation(&self) -> Vec<f64> {
        let d = self.d;
        let mut r = vec![0f64; d * d];
        for j in 0..d {
            for k in 0..d {
                if j != k && self.std[j] > 1e-9 && self.std[k] > 1e-9 {
                    r[j * d + k] = (self.cov[j * d + k] / (self.std[j] * self.std[k])).clamp(-1.0, 1.0);
                }
            }
        }
        r
    }
}

fn squash(skew: f64) -> f64 {
    (skew / 2.0).tanh()
}

/// Statistic mismatch of encoded feature j read with orientation `a` against raw feature i.
fn stat_cost(enc: &Stats, raw: &Stats, j: usize, i: usize, a: f64, family: Family) -> f64 {
    let mut c = (enc.std[j] - raw.std[i]).powi(2);
    if !family.offsets {
        let m = if a > 0.0 { enc.mean[j] } else { 1.0 - enc.mean[j] };
        c += (m - raw.mean[i]).powi(2);
    }
    c + 1e-3 * (squash(a * enc.skew[j]) - squash(raw.skew[i])).powi(2)
}

/// Adversary: assignment of encoded to raw features from statistics and correlation structure.
/// `on_round(round, estimate)` sees every intermediate estimate (for progress).
pub fn statistical_assignment(
    enc: &Stats,
    raw: &Stats,
    family: Family,
    rounds: usize,
    mut on_round: impl FnMut(usize, &FeatureMap) -> bool,
) -> FeatureMap {
    let d = enc.d;
    let signs: &[f64] = if family.flips { &[1.0, -1.0] } else { &[1.0] };
    // First assignment from per-feature statistics.
    let mut base = vec![0f64; d * d];
    let mut base_sign = vec![1f64; d * d];
    for j in 0..d {
        for i in 0..d {
            let (c, a) = signs
                .iter()
                .map(|&a| (stat_cost(enc, raw, j, i, a, family), a))
                .min_by(|x, y| x.0.total_cmp(&y.0))
                .unwrap();
            base[j * d + i] = c;
            base_sign[j * d + i] = a;
        }
    }
    let mut src: Vec<usize> = if family.permutes { assign(&base, d, d) } else { (0..d).collect() };
    let mut sign: Vec<f64> = (0..d).map(|j| base_sign[j * d + src[j]]).collect();
    let make = |src: &[usize], sign: &[f64]| -> FeatureMap {
        let offset = (0..d)
            .map(|j| {
                if family.offsets {
                    (enc.mean[j] - sign[j] * raw.mean[src[j]]) as f32
                } else {
                    ((1.0 - sign[j]) / 2.0) as f32
                }
            })
            .collect();
        FeatureMap { src: src.to_vec(), sign: sign.iter().map(|&s| s as f32).collect(), offset }
    };
    if !on_round(0, &make(&src, &sign)) {
        return make(&src, &sign);
    }
    if !family.permutes {
        return make(&src, &sign);
    }
    let r_enc = enc.correlation();
    let r_raw = raw.correlation();
    let stat_norm = base.iter().sum::<f64>() / (d * d) as f64 + 1e-12;
    for round in 1..=rounds {
        // Orient the encoded correlations with the current signs, and reorder the raw ones by the
        // current assignment: S = R_enc' Z with Z[k, :] = R_raw[src[k], :].
        let mut oriented = r_enc.clone();
        for j in 0..d {
            for k in 0..d {
                oriented[j * d + k] *= sign[j] * sign[k];
            }
        }
        let mut z = vec![0f64; d * d];
        for k in 0..d {
            z[k * d..(k + 1) * d].copy_from_slice(&r_raw[src[k] * d..(src[k] + 1) * d]);
        }
        let s = matmul(&oriented, &z, d, d, d);
        let s_norm = s.iter().fold(0f64, |m, v| m.max(v.abs())) + 1e-12;
        let mut cost = vec![0f64; d * d];
        let mut flip = vec![false; d * d];
        for j in 0..d {
            for i in 0..d {
                let keep = -s[j * d + i] / s_norm + 0.1 * stat_cost(enc, raw, j, i, sign[j], family) / stat_norm;
                let turn = if family.flips {
                    s[j * d + i] / s_norm + 0.1 * stat_cost(enc, raw, j, i, -sign[j], family) / stat_norm
                } else {
                    f64::INFINITY
                };
                if turn < keep {
                    cost[j * d + i] = turn;
                    flip[j * d + i] = true;
                } else {
                    cost[j * d + i] = keep;
                }
            }
        }
        let next = assign(&cost, d, d);
        let next_sign: Vec<f64> = (0..d).map(|j| if flip[j * d + next[j]] { -sign[j] } else { sign[j] }).collect();
        let unchanged = next == src && next_sign == sign;
        src = next;
        sign = next_sign;
        if !on_round(round, &make(&src, &sign)) || unchanged {
            break;
        }
    }
    make(&src, &sign)
}

/// A linear decoder from PCA alignment: `x = mean_x + sum_k s_k v_x,k (v_y,k . (y - mean_y))`.
#[derive(Debug, Clone, PartialEq)]
pub struct PcaDecoder {
    pub d: usize,
    pub k: usize,
    pub mean_x: Vec<f64>,
    pub mean_y: Vec<f64>,
    /// k x d each.
    pub vx: Vec<f64>,
    pub vy: Vec<f64>,
    pub sign: Vec<f64>,
}

impl PcaDecoder {
    pub fn decode(&self, encoded: &[f32]) -> Vec<f32> {
        let (d, k) = (self.d, self.k);
        let n = encoded.len() / d;
        let mut yc = Vec::with_capacity(encoded.len());
        for row in encoded.chunks_exact(d) {
            yc.extend(row.iter().zip(&self.mean_y).map(|(&v, m)| v as f64 - m));
        }
        let mut proj = a_bt(&yc, &self.vy, n, d, k);
        for row in proj.chunks_exact_mut(k) {
            for (p, s) in row.iter_mut().zip(&self.sign) {
                *p *= s;
            }
        }
        let x = matmul(&proj, &self.vx, n, k, d);
        x.chunks_exact(d).flat_map(|row| row.iter().zip(&self.mean_x).map(|(v, m)| (v + m) as f32)).collect()
    }
}

/// Third moments of the projections of centred rows onto `vecs` (k x d).
fn projection_skew(x: &[f32], mean: &[f64], vecs: &[f64], d: usize, k: usize) -> Vec<f64> {
    let mut m3 = vec![0f64; k];
    let mut m2 = vec![0f64; k];
    for chunk in x.chunks(4096 * d) {
        let rows = chunk.len() / d;
        let c: Vec<f64> = chunk.chunks_exact(d).flat_map(|r| r.iter().zip(mean).map(|(&v, m)| v as f64 - m)).collect();
        let p = a_bt(&c, vecs, rows, d, k);
        for row in p.chunks_exact(k) {
            for t in 0..k {
                m2[t] += row[t] * row[t];
                m3[t] += row[t] * row[t] * row[t];
            }
        }
    }
    (0..k).map(|t| if m2[t] > 0.0 { m3[t] / m2[t].powf(1.5) } else { 0.0 }).collect()
}

/// Eigen-decomposition of the public data's covariance (computed once, reused for every n).
pub fn public_eigen(raw: &Stats) -> (Vec<f64>, Vec<f64>) {
    symmetric_eigen(&raw.cov, raw.d)
}

/// Adversary: PCA alignment from the encoded data's statistics and the public data's
/// (`raw_eigen` from [`public_eigen`]).
pub fn pca_alignment(
    enc: &Stats,
    enc_rows: &[f32],
    raw: &Stats,
    raw_rows: &[f32],
    raw_eigen: &(Vec<f64>, Vec<f64>),
    family: Family,
    variance: f64,
) -> PcaDecoder {
    let d = enc.d;
    let (lx, vx_all) = (&raw_eigen.0, &raw_eigen.1);
    let (_, vy_all) = symmetric_eigen(&enc.cov, d);
    let total: f64 = lx.iter().map(|v| v.max(0.0)).sum::<f64>().max(1e-300);
    let mut k = 0;
    let mut acc = 0.0;
    while k < d && acc / total < variance {
        acc += lx[k].max(0.0);
        k += 1;
    }
    let k = k.max(1);
    let vx = vx_all[..k * d].to_vec();
    let vy = vy_all[..k * d].to_vec();
    let sign: Vec<f64> = if !family.offsets && !family.flips {
        // y = U x: the means project alike.
        (0..k)
            .map(|t| {
                let px: f64 = vx[t * d..(t + 1) * d].iter().zip(&raw.mean).map(|(a, b)| a * b).sum();
                let py: f64 = vy[t * d..(t + 1) * d].iter().zip(&enc.mean).map(|(a, b)| a * b).sum();
                if px * py < 0.0 {
                    -1.0
                } else {
                    1.0
                }
            })
            .collect()
    } else {
        let sx = projection_skew(raw_rows, &raw.mean, &vx, d, k);
        let sy = projection_skew(enc_rows, &enc.mean, &vy, d, k);
        (0..k).map(|t| if sx[t] * sy[t] < 0.0 { -1.0 } else { 1.0 }).collect()
    };
    PcaDecoder { d, k, mean_x: raw.mean.clone(), mean_y: enc.mean.clone(), vx, vy, sign }
}

pub fn run(ctx: &AttackContext<'_>, p: &StatisticalParams, progress: &Progress<'_>) -> anyhow::Result<AttackRecord> {
    let keyed = ctx.keyed()?;
    let d = ctx.features();
    let family = keyed.family();
    let noise_var = family.noise_sigma * family.noise_sigma;
    // --- Observation (simulation): the provider's encoded training set (made by the customer with the
    // key during the run) and the customer's encoded queries (evaluation half).
    let provider = ctx.provider_training_set()?;
    let held = provider.inputs().images();
    let ns = clip_counts(&p.n, provider.inputs().len());
    let eval_enc = keyed.oracle.encode(&ctx.eval.images);
    let refs = references(ctx, &eval_enc);
    // Public raw data: the adversary half, unpaired.
    let raw = Stats::of(&ctx.aux.images, d, 0.0);
    let raw_varying: Vec<bool> = raw.std.iter().map(|&s| s > 1e-9).collect();
    let truth = keyed.oracle.truth().clone();
    let mut raw_eigen: Option<(Vec<f64>, Vec<f64>)> = None;

    let x_label = "encoded samples seen";
    let axis_wise = family.separable && !family.offsets;
    let method = if family.feature_wise {
        "assignment"
    } else if axis_wise {
        "axis alignment"
    } else {
        "PCA alignment"
    };
    let mut key = Curve::new(
        format!("{method}: key recovered"),
        x_label,
        if family.feature_wise {
            "fraction of key recovered (features varying in the public data)"
        } else {
            "fraction of features within 0.5/255"
        },
        true,
    );
    let mut q_curves = QualityCurves::new(method, x_label);
    let mut rounds_used = Vec::new();
    let mut last: Option<(usize, Vec<f32>)> = None;
    let mut last_q = None;
    let mut components = 0;
    let mut stopped = false;
    for (step, &n) in ns.iter().enumerate() {
        if ctx.stop_requested() {
            stopped = true;
            break;
        }
        let rows = &held[..n * d];
        // --- Recovery (no key).
        let enc = Stats::of(rows, d, noise_var);
        let recon = if family.feature_wise {
            let mut last_round = 0;
            let est = statistical_assignment(&enc, &raw, family, p.refine_rounds, |round, _| {
                last_round = round;
                !ctx.stop_requested()
            });
            rounds_used.push(last_round);
            // --- Scoring.
            if let TrueMap::FeatureWise { src, sign, .. } = &truth {
                key.push(n as f64, key_fraction(&est, src, sign, &raw_varying));
            }
            let recon = est.decode(&eval_enc);
            last = ctx.samples_encoded().map(|s| (n, est.decode(s)));
            recon
        } else if axis_wise {
            let dec = super::separable::axis_alignment(rows, &ctx.aux.images, ctx.shape);
            last = ctx.samples_encoded().map(|s| (n, dec.decode(s)));
            // --- Scoring.
            let recon = dec.decode(&eval_enc);
            key.push(n as f64, functional_fraction(&recon, &ctx.eval.images, d, &raw_varying, 0.5 / 255.0));
            recon
        } else {
            let eig = raw_eigen.get_or_insert_with(|| public_eigen(&raw));
            let dec = pca_alignment(&enc, rows, &raw, &ctx.aux.images, eig, family, p.pca_variance);
            last = ctx.samples_encoded().map(|s| (n, dec.decode(s)));
            components = dec.k;
            // --- Scoring.
            let recon = dec.decode(&eval_enc);
            key.push(n as f64, functional_fraction(&recon, &ctx.eval.images, d, &raw_varying, 0.5 / 255.0));
            recon
        };
        let a = assess(ctx, &recon);
        q_curves.push(n as f64, &a);
        last_q = Some(a.q);
        progress.report(step + 1, ns.len());
    }

    if let (Some((n, images)), Some(q)) = (&last, &last_q) {
        ctx.add_reconstruction(Statistical::NAME, format!("{method}, {n} encoded samples seen"), q, images);
    }

    let mut r = ctx.new_record::<Statistical>(
        ThreatModel {
            adversary: "the provider, ciphertext only".into(),
            holds: vec![
                "the encoded training set it trained on (first n samples)".into(),
                "public raw data of the same distribution, unpaired (adversary half)".into(),
                "the customer's encoded queries (evaluation half)".into(),
            ],
            knowledge: "the transform family and its public parameters (e.g. noise sigma), not the key".into(),
        },
        format!(
            "{}; public raw data = the whole adversary half ({} samples); encoded data = the provider's training set (the customer's training split, encoded); unseen data = the evaluation half",
            ctx.aux_description,
            ctx.aux.len()
        ),
    );
    r.parameters.insert("n".into(), json!(ns));
    r.parameters.insert("method".into(), json!(method));
    if family.feature_wise {
        r.parameters.insert("refine_rounds".into(), json!(p.refine_rounds));
        r.parameters.insert("rounds_used".into(), json!(rounds_used));
        r.parameters.insert(
            "statistics".into(),
            json!(if family.offsets {
                "spread, skewness, correlations (means hidden by a secret offset)"
            } else {
                "mean, spread, skewness, correlations"
            }),
        );
    } else if !axis_wise {
        r.parameters.insert("pca_variance".into(), json!(p.pca_variance));
        r.parameters.insert("components".into(), json!(components));
    }
    set_reference(&mut r, &refs, ctx.eval.len());
    // A family without permutations has no feature map to recover.
    let key_label =
        if family.feature_wise { "key recovered at the largest n" } else { "features within 0.5/255 at the largest n" };
    let show_key = !family.feature_wise || family.permutes;
    if let (Some(k), true) = (key.last_y(), show_key) {
        r.figures.push(Figure::new(key_label, k, "fraction"));
    }
    let k = r
        .figure("key recovered at the largest n")
        .map(|k| format!("; key {:.1}% recovered", 100.0 * k))
        .unwrap_or_default();
    if let Some((n, last)) = q_curves.last() {
        conclude(
            &mut r,
            &refs,
            method,
            n,
            &last,
            "ciphertext-only statistics",
            &format!("{n} encoded samples and public raw data"),
            &k,
        );
    }
    let mut curves = if show_key { vec![key] } else { vec![] };
    curves.extend(q_curves.into_curves());
    r.curves = curves;
    r.complete = !stopped;
    Ok(r)
}
