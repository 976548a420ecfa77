//! Label leakage from the gradients a split arm's provider receives (the recovery and scoring
//! functions; the observation is `train::split::observed`). The provider sees, for every training
//! row, the gradient of the loss at its middle's output; for a tail ending in softmax cross-entropy
//! it is `W^T (p - e_y) / B`, whose direction is dominated by the true class `y`.
//!
//! - **Direction clustering** (Li et al., ICLR 2022, arXiv 2102.08504, extended from two classes to
//!   C): rows of one class point the same way. Spherical k-means (cosine) with C clusters on the
//!   normalised gradient rows, separately for each training epoch's rows (the tail moves between
//!   epochs), groups rows by class.
//! - **UnSplit label inference** (Erdogan et al., WPES 2022, arXiv 2108.09033), for a tail of one
//!   dense layer: the provider keeps a clone of the tail, feeds it its own middle output, tries every
//!   label, picks the one whose gradient at its input is nearest the received gradient, and trains
//!   the clone on the labels it picked, batch after batch.
//!
//! Both find groups, not names: cluster k is "some class". The adversary names the groups by
//! matching their frequencies to public class priors (the adversary half's label frequencies), as
//! the label-frequency attack does. Scoring reports the rows recovered under that naming and, as an
//! upper bound on what naming could give, under the best naming (assignment by the truth).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::assignment::assign;
use super::label_frequency::match_frequencies;

/// Rows of `values` (`width` each) scaled to unit length (zero rows stay zero), as f64.
pub fn unit_rows(values: &[f32], width: usize) -> Vec<f64> {
    let mut out: Vec<f64> = values.iter().map(|&v| v as f64).collect();
    for row in out.chunks_exact_mut(width.max(1)) {
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|v| *v /= norm);
        }
    }
    out
}

/// Spherical k-means: `k` clusters of the unit rows `x` by cosine similarity, k-means++ seeding
/// (seeded), at most `iterations` Lloyd rounds. Returns the cluster of each row.
pub fn spherical_kmeans(x: &[f64], width: usize, k: usize, iterations: usize, seed: u64) -> Vec<usize> {
    let n = x.len() / width.max(1);
    if n == 0 || k == 0 {
        return vec![0; n];
    }
    let row = |i: usize| &x[i * width..(i + 1) * width];
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    // k-means++ on cosine distance 1 - cos.
    let mut centres: Vec<Vec<f64>> = vec![row(rng.gen_range(0..n)).to_vec()];
    let mut nearest = vec![f64::INFINITY; n];
    while centres.len() < k.min(n) {
        let last = centres.last().expect("one centre");
        for (i, d) in nearest.iter_mut().enumerate() {
            *d = d.min((1.0 - dot(row(i), last)).max(0.0));
        }
        let total: f64 = nearest.iter().map(|d| d * d).sum();
        let next = if total > 0.0 {
            let mut r = rng.gen::<f64>() * total;
            nearest.iter().position(|d| {
                r -= d * d;
                r <= 0.0
            })
        } else {
            None
        }
        .unwrap_or_else(|| rng.gen_range(0..n));
        centres.push(row(next).to_vec());
    }
    let mut cluster = vec![usize::MAX; n];
    for _ in 0..iterations.max(1) {
        let mut moved = false;
        for (i, c) in cluster.iter_mut().enumerate() {
            let best = (0..centres.len())
                .map(|j| (j, dot(row(i), &centres[j])))
                .fold((0, f64::NEG_INFINITY), |b, (j, s)| if s > b.1 { (j, s) } else { b })
                .0;
            moved |= *c != best;
            *c = best;
        }
        if !moved {
            break;
        }
        for (j, centre) in centres.iter_mut().enumerate() {
            let mut sum = vec![0f64; width];
            for i in (0..n).filter(|&i| cluster[i] == j) {
                sum.iter_mut().zip(row(i)).for_each(|(s, v)| *s += v);
            }
            let norm = sum.iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm > 0.0 {
                *centre = sum.into_iter().map(|v| v / norm).collect();
            }
        }
    }
    cluster
}

/// Direction clustering of gradient rows into `classes` clusters within each group of rows (one
/// training epoch's rows each; at most `iterations` k-means rounds), cluster ids made distinct
/// across groups (group g's clusters are `g * classes ..`).
pub fn cluster_directions(
    gradient: &[f32],
    width: usize,
    groups: &[std::ops::Range<usize>],
    classes: usize,
    iterations: usize,
    seed: u64,
) -> Vec<usize> {
    let mut out = vec![0; gradient.len() / width.max(1)];
    for (g, rows) in groups.iter().enumerate() {
        let x = unit_rows(&gradient[rows.start * width..rows.end * width], width);
        let c = spherical_kmeans(&x, width, classes, iterations, seed ^ g as u64);
        for (o, c) in out[rows.clone()].iter_mut().zip(c) {
            *o = g * classes + c;
        }
    }
    out
}

/// Adversary: the class of each cluster of `cluster` (ids below `clusters`), matching each group's
/// cluster frequencies to the class `priors` (groups of `priors.len()` consecutive ids).
pub fn name_by_frequency(cluster: &[usize], clusters: usize, priors: &[f64]) -> Vec<usize> {
    let c = priors.len();
    let mut counts = vec![0usize; clusters];
    for &k in cluster {
        counts[k] += 1;
    }
    counts
        .chunks(c)
        .flat_map(|group| match_frequencies(&pad(group, c), priors, 1).into_iter().take(group.len()))
        .collect()
}

fn pad(group: &[usize], c: usize) -> Vec<usize> {
    let mut g = group.to_vec();
    g.resize(c, 0);
    g
}

/// Scoring: the class of each cluster that maximises the rows whose class is recovered (within each
/// group of `classes` ids), by an assignment on the truth: the best any naming could do.
pub fn name_by_truth(cluster: &[usize], clusters: usize, labels: &[u32], classes: usize) -> Vec<usize> {
    let mut counts = vec![0f64; clusters * classes];
    for (&k, &y) in cluster.iter().zip(labels) {
        counts[k * classes + y as usize] += 1.0;
    }
    counts
        .chunks(classes * classes)
        .flat_map(|block| {
            let rows = block.len() / classes;
            let mut cost: Vec<f64> = block.iter().map(|v| -v).collect();
            cost.resize(classes * classes, 0.0);
            assign(&cost, classes, classes).into_iter().take(rows)
        })
        .collect()
}

/// Fraction of rows whose cluster's class is their true label.
pub fn recovered(cluster: &[usize], class_of_cluster: &[usize], labels: &[u32]) -> f64 {
    if labels.is_empty() {
        return 0.0;
    }
    let hits = cluster.iter().zip(labels).filter(|(&k, &y)| class_of_cluster[k] == y as usize).count();
    hits as f64 / labels.len() as f64
}

/// Chance: the rows an adversary recovers guessing the most frequent class of the priors.
pub fn chance(priors: &[f64]) -> f64 {
    priors.iter().copied().fold(0.0, f64::max)
}

/// A clone of a one-layer tail: `w[c * width + j]` is the weight from input j to class c.
#[derive(Debug, Clone, PartialEq)]
pub struct TailClone {
    pub w: Vec<f64>,
    pub b: Vec<f64>,
}

impl TailClone {
    /// The adversary's guess: a seeded uniform draw in +-1/sqrt(width) (the layer's own initialiser).
    pub fn random(width: usize, classes: usize, seed: u64) -> TailClone {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let bound = 1.0 / (width.max(1) as f64).sqrt();
        TailClone {
            w: (0..classes * width).map(|_| rng.gen_range(-bound..bound)).collect(),
            b: (0..classes).map(|_| rng.gen_range(-bound..bound)).collect(),
        }
    }
}

/// UnSplit's label inference for a tail of one dense layer (`width` inputs, `classes` outputs), over
/// kept batches in training order: `middle` is the provider's output for the rows, `gradient` what
/// came back. The clone (`start`) takes one SGD step (rate `learning_rate`) on each batch's picked
/// labels after picking them. Returns the picked label of every row.
pub fn unsplit_labels(
    middle: &[f32],
    gradient: &[f32],
    width: usize,
    batches: &[std::ops::Range<usize>],
    start: TailClone,
    learning_rate: f64,
) -> Vec<usize> {
    let classes = start.b.len();
    let TailClone { mut w, mut b } = start;
    let mut picked = vec![0; middle.len() / width.max(1)];
    for rows in batches {
        let size = rows.len() as f64;
        let mut grad_w = vec![0f64; classes * width];
        let mut grad_b = vec![0f64; classes];
        for i in rows.clone() {
            let h = &middle[i * width..(i + 1) * width];
            let g = &gradient[i * width..(i + 1) * width];
            let logits: Vec<f64> = (0..classes)
                .map(|c| b[c] + w[c * width..(c + 1) * width].iter().zip(h).map(|(p, &q)| p * q as f64).sum::<f64>())
                .collect();
            let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let exp: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
            let total: f64 = exp.iter().sum();
            let p: Vec<f64> = exp.iter().map(|e| e / total).collect();
            // The clone's input gradient for label c is (W^T p - w_c) / B; the received one is g.
            let wp: Vec<f64> = (0..width).map(|j| (0..classes).map(|c| w[c * width + j] * p[c]).sum()).collect();
            let distance = |c: usize| -> f64 {
                (0..width).map(|j| ((wp[j] - w[c * width + j]) / size - g[j] as f64).powi(2)).sum()
            };
            let best =
                (0..classes).map(|c| (c, distance(c))).fold((0, f64::INFINITY), |a, x| if x.1 < a.1 { x } else { a }).0;
            picked[i] = best;
            for c in 0..classes {
                let d = (p[c] - if c == best { 1.0 } else { 0.0 }) / size;
                grad_b[c] += d;
                grad_w[c * width..(c + 1) * width].iter_mut().zip(h).for_each(|(gw, &x)| *gw += d * x as f64);
            }
        }
        w.iter_mut().zip(&grad_w).for_each(|(v, g)| *v -= learning_rate * g);
        b.iter_mut().zip(&grad_b).for_each(|(v, g)| *v -= learning_rate * g);
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gradient rows as a trained softmax tail gives them: `W^T (p - e_y)` where the middle's output
    /// `h` of a class-`y` row is the class's mean plus noise and the tail's row `W_c` is class c's
    /// mean (a tail that learnt the classes); random confident-ish `p`; labels cycling with class 0
    /// twice as frequent.
    /// Gradients, middle outputs, labels, priors and the tail's weights.
    type Synthetic = (Vec<f32>, Vec<f32>, Vec<u32>, Vec<f64>, Vec<f64>);

    fn tail_gradients(n: usize, width: usize, classes: usize) -> Synthetic {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let w: Vec<f64> = (0..classes * width).map(|_| rng.gen_range(0.0..1.0)).collect();
        let mut labels = Vec::new();
        let (mut g, mut h) = (Vec::new(), Vec::new());
        for i in 0..n {
            let y = if i % (classes + 1) == classes { 0 } else { i % (classes + 1) };
            labels.push(y as u32);
            let mut p: Vec<f64> = (0..classes).map(|_| rng.gen_range(0.0..0.1)).collect();
            p[y] += 0.3;
            let s: f64 = p.iter().sum();
            p.iter_mut().for_each(|v| *v /= s);
            for j in 0..width {
                let v: f64 = (0..classes).map(|c| w[c * width + j] * (p[c] - if c == y { 1.0 } else { 0.0 })).sum();
                g.push(v as f32);
                h.push((w[y * width + j] + rng.gen_range(-0.3..0.3)) as f32);
            }
        }
        let mut priors = vec![1.0 / (classes + 1) as f64; classes];
        priors[0] *= 2.0;
        (g, h, labels, priors, w)
    }

    #[test]
    fn direction_clusters_are_the_classes_and_frequencies_name_the_frequent_one() {
        let (classes, width, n) = (4, 16, 500);
        let (g, _, labels, priors, _) = tail_gradients(n, width, classes);
        let cluster = cluster_directions(&g, width, std::slice::from_ref(&(0..n)), classes, 50, 1);
        let truth = name_by_truth(&cluster, classes, &labels, classes);
        assert!(recovered(&cluster, &truth, &labels) > 0.99);
        let named = name_by_frequency(&cluster, classes, &priors);
        let zero = cluster[labels.iter().position(|&y| y == 0).unwrap()];
        assert_eq!(named[zero], 0, "the twice-as-frequent class is named by its frequency");
        assert!((chance(&priors) - 0.4).abs() < 1e-12);
    }

    #[test]
    fn per_epoch_groups_get_their_own_clusters() {
        let (classes, width, n) = (4, 16, 200);
        let (g, _, labels, _, _) = tail_gradients(n, width, classes);
        let cluster = cluster_directions(&g, width, &[0..100, 100..200], classes, 50, 1);
        assert!(cluster[..100].iter().all(|&k| k < classes) && cluster[100..].iter().all(|&k| k >= classes));
        let truth = name_by_truth(&cluster, 2 * classes, &labels, classes);
        assert!(recovered(&cluster, &truth, &labels) > 0.99);
    }

    #[test]
    fn random_directions_leak_nothing() {
        let mut rng = ChaCha20Rng::seed_from_u64(8);
        let (classes, width, n) = (4, 16, 400);
        let g: Vec<f32> = (0..n * width).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let labels: Vec<u32> = (0..n).map(|i| (i % classes) as u32).collect();
        let cluster = cluster_directions(&g, width, std::slice::from_ref(&(0..n)), classes, 50, 1);
        let truth = name_by_truth(&cluster, classes, &labels, classes);
        assert!(recovered(&cluster, &truth, &labels) < 0.45);
    }

    #[test]
    fn unsplit_groups_rows_by_class_consistently() {
        let (classes, width, n) = (4, 16, 640);
        let (g, h, labels, _, tail) = tail_gradients(n, width, classes);
        let batches: Vec<_> = (0..n / 64).map(|k| k * 64..(k + 1) * 64).collect();
        // The received gradient carries the 1/B of the batch mean.
        let g: Vec<f32> = g.iter().map(|v| v / 64.0).collect();
        // A clone that is the customer's tail picks the true labels.
        let exact = TailClone { w: tail, b: vec![0.0; classes] };
        let picked = unsplit_labels(&h, &g, width, &batches, exact, 0.1);
        let hits = picked.iter().zip(&labels).filter(|(p, y)| **p == **y as usize).count();
        assert!(hits as f64 > 0.95 * n as f64, "{hits} of {n}");
        // A random clone groups rows consistently, better than guessing the most frequent class
        // (0.4), though initial collisions between classes persist.
        let picked = unsplit_labels(&h, &g, width, &batches, TailClone::random(width, classes, 2), 0.1);
        let truth = name_by_truth(&picked, classes, &labels, classes);
        let got = recovered(&picked, &truth, &labels);
        assert!(got > 0.5, "{got}");
    }
}
