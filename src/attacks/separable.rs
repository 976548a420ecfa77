//! The known-plaintext attack that uses the structure of `separable-mix`: the adversary knows (the
//! scheme is public) that `T_K = Q_rows (x) Q_cols (x) Q_channels`, so it fits a decoder of the same
//! form, `x = mean_x + (P_rows (x) P_cols (x) P_channels)(y - mean_y)`, by alternating least squares:
//! with two factors fixed, the third is an ordinary ridge regression of size (axis length)^2. That is
//! h^2 + w^2 + c^2 unknowns instead of d^2, so a handful of known pairs recover the whole transform
//! where the generic least squares needs about d of them: the price of separable-mix's speed.
//!
//! Without any pairs (ciphertext only, [`axis_alignment`]): the covariance of the encoded images
//! along one axis, summed over the others, is `Q_axis C_axis Q_axis^T`, where C_axis is the same
//! statistic of public raw data (the other axes' factors cancel because they are orthogonal). Its
//! eigenvectors therefore give each factor up to one sign per eigenvector, and the mean image fixes
//! the signs.

use crate::data::ImageShape;

use super::known_plaintext::centred;
use super::linalg::{ridge_solve, symmetric_eigen};

/// The fitted decoder: one square factor per axis (rows, columns, channels), and the centring means.
#[derive(Debug, Clone, PartialEq)]
pub struct SeparableDecoder {
    pub shape: ImageShape,
    /// Row-major k x k factors for the axes of lengths (h, w, c).
    pub factors: [Vec<f64>; 3],
    pub mean_raw: Vec<f64>,
    pub mean_encoded: Vec<f64>,
}

fn axis_lengths(shape: ImageShape) -> [usize; 3] {
    [shape.height, shape.width, shape.channels]
}

/// `t` (one image, channel-last) with `m` (k x k) applied along `axis`: out[.., i, ..] = sum_l m[i, l] t[.., l, ..].
fn along_axis(t: &[f64], dims: [usize; 3], axis: usize, m: &[f64]) -> Vec<f64> {
    let k = dims[axis];
    let inner: usize = dims[axis + 1..].iter().product();
    let mut out = vec![0.0; t.len()];
    for (src, dst) in t.chunks_exact(k * inner).zip(out.chunks_exact_mut(k * inner)) {
        for i in 0..k {
            let row = &mut dst[i * inner..(i + 1) * inner];
            for l in 0..k {
                let w = m[i * k + l];
                if w != 0.0 {
                    for (o, &v) in row.iter_mut().zip(&src[l * inner..(l + 1) * inner]) {
                        *o += w * v;
                    }
                }
            }
        }
    }
    out
}

fn identity(k: usize) -> Vec<f64> {
    (0..k * k).map(|i| if i / k == i % k { 1.0 } else { 0.0 }).collect()
}

/// Fit the decoder from known pairs (`raw[i]`, `encoded[i]`) by `sweeps` rounds of alternating ridge
/// regressions; `ridge` is relative to the mean diagonal of each Gram matrix.
pub fn fit(raw: &[f32], encoded: &[f32], shape: ImageShape, ridge: f64, sweeps: usize) -> SeparableDecoder {
    let d = shape.features();
    let dims = axis_lengths(shape);
    let (xs, mean_raw, _) = centred(raw, d);
    let (ys, mean_encoded, _) = centred(encoded, d);
    let mut factors = dims.map(identity);
    for _ in 0..sweeps {
        for axis in 0..3 {
            let k = dims[axis];
            if k == 1 && axis == 2 {
                // One channel: the factor is a scale, absorbed by the other two.
                continue;
            }
            let inner: usize = dims[axis + 1..].iter().product();
            // z = y with the other two factors applied: then x = P_axis z along `axis`, linear in P_axis.
            let (mut gram, mut cross) = (vec![0.0; k * k], vec![0.0; k * k]);
            for (x, y) in xs.chunks_exact(d).zip(ys.chunks_exact(d)) {
                let mut z = y.to_vec();
                for other in (0..3).filter(|&o| o != axis) {
                    z = along_axis(&z, dims, other, &factors[other]);
                }
                // Columns of the axis unfolding are the (outer, inner) positions.
                for (zb, xb) in z.chunks_exact(k * inner).zip(x.chunks_exact(k * inner)) {
                    for j in 0..inner {
                        for a in 0..k {
                            let za = zb[a * inner + j];
                            for b in 0..k {
                                gram[a * k + b] += za * zb[b * inner + j];
                                cross[a * k + b] += za * xb[b * inner + j];
                            }
                        }
                    }
                }
            }
            let trace: f64 = (0..k).map(|i| gram[i * k + i]).sum();
            // (Z Z^T + lambda I) P^T = Z X^T
            let (pt, _) = ridge_solve(&gram, k, &cross, k, (ridge * trace / k as f64).max(1e-300));
            factors[axis] = (0..k * k).map(|i| pt[(i % k) * k + i / k]).collect();
        }
    }
    SeparableDecoder { shape, factors, mean_raw, mean_encoded }
}

impl SeparableDecoder {
    pub fn decode(&self, encoded: &[f32]) -> Vec<f32> {
        let d = self.shape.features();
        let dims = axis_lengths(self.shape);
        let mut out = Vec::with_capacity(encoded.len());
        for y in encoded.chunks_exact(d) {
            let mut z: Vec<f64> = y.iter().zip(&self.mean_encoded).map(|(&v, m)| v as f64 - m).collect();
            for axis in 0..3 {
                z = along_axis(&z, dims, axis, &self.factors[axis]);
            }
            out.extend(z.iter().zip(&self.mean_raw).map(|(v, m)| (v + m) as f32));
        }
        out
    }
}

/// The k x k second-moment matrix of centred images along `axis`, summed over the other axes.
fn axis_gram(rows: &[f32], mean: &[f64], dims: [usize; 3], axis: usize) -> Vec<f64> {
    let k = dims[axis];
    let inner: usize = dims[axis + 1..].iter().product();
    let d = mean.len();
    let mut g = vec![0.0; k * k];
    let mut z = vec![0.0; d];
    for row in rows.chunks_exact(d) {
        for ((zv, &v), m) in z.iter_mut().zip(row).zip(mean) {
            *zv = v as f64 - m;
        }
        for block in z.chunks_exact(k * inner) {
            for a in 0..k {
                let ra = &block[a * inner..(a + 1) * inner];
                for b in a..k {
                    let dot: f64 = ra.iter().zip(&block[b * inner..(b + 1) * inner]).map(|(x, y)| x * y).sum();
                    g[a * k + b] += dot;
                }
            }
        }
    }
    for a in 0..k {
        for b in 0..a {
            g[a * k + b] = g[b * k + a];
        }
    }
    g
}

/// Adversary, ciphertext only: a separable decoder from the encoded images' statistics and unpaired
/// public raw images (see the module doc). Assumes no secret offset (the mean fixes the signs).
pub fn axis_alignment(encoded: &[f32], public: &[f32], shape: ImageShape) -> SeparableDecoder {
    let d = shape.features();
    let dims = axis_lengths(shape);
    let mean = |x: &[f32]| {
        let n = (x.len() / d).max(1) as f64;
        let mut m = vec![0.0; d];
        for row in x.chunks_exact(d) {
            for (a, &v) in m.iter_mut().zip(row) {
                *a += v as f64 / n;
            }
        }
        m
    };
    let (mean_encoded, mean_raw) = (mean(encoded), mean(public));
    // Eigenvectors (rows) per axis: u_y from the encoded data, u_x from the public data.
    let eig = |rows: &[f32], m: &[f64], axis: usize| symmetric_eigen(&axis_gram(rows, m, dims, axis), dims[axis]).1;
    let u_y: Vec<Vec<f64>> = (0..3).map(|a| eig(encoded, &mean_encoded, a)).collect();
    let u_x: Vec<Vec<f64>> = (0..3).map(|a| eig(public, &mean_raw, a)).collect();
    // The means in eigen-coordinates agree up to one sign per eigenvector of each axis:
    // a[i,j,l] = s_i t_j u_l b[i,j,l]. Fit the signs by alternating majority votes.
    let (mut a, mut b) = (mean_encoded.clone(), mean_raw.clone());
    for axis in 0..3 {
        a = along_axis(&a, dims, axis, &u_y[axis]);
        b = along_axis(&b, dims, axis, &u_x[axis]);
    }
    let ab: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x * y).collect();
    let mut signs: Vec<Vec<f64>> = dims.iter().map(|&k| vec![1.0; k]).collect();
    let index = |f: usize| [f / (dims[1] * dims[2]), (f / dims[2]) % dims[1], f % dims[2]];
    for _ in 0..10 {
        for axis in 0..3 {
            let mut votes = vec![0.0; dims[axis]];
            for (f, &v) in ab.iter().enumerate() {
                let ix = index(f);
                let others: f64 = (0..3).filter(|&o| o != axis).map(|o| signs[o][ix[o]]).product();
                votes[ix[axis]] += v * others;
            }
            signs[axis] = votes.iter().map(|&v| if v < 0.0 { -1.0 } else { 1.0 }).collect();
        }
    }
    // Decoder factor P = U_x^T S U_y (rows of U are eigenvectors).
    let factors = [0, 1, 2].map(|axis| {
        let k = dims[axis];
        let (ux, uy, s) = (&u_x[axis], &u_y[axis], &signs[axis]);
        let mut p = vec![0.0; k * k];
        for t in 0..k {
            for i in 0..k {
                let w = ux[t * k + i] * s[t];
                for l in 0..k {
                    p[i * k + l] += w * uy[t * k + l];
                }
            }
        }
        p
    });
    SeparableDecoder { shape, factors, mean_raw, mean_encoded }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::transforms::{SeparableMix, Transform};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn a_few_pairs_recover_a_separable_mix_that_defeats_generic_least_squares() {
        let shape = ImageShape { height: 8, width: 8, channels: 1 };
        let d = shape.features();
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let t = SeparableMix::random(shape, &mut rng);
        let sample = |n: usize, rng: &mut ChaCha20Rng| -> Vec<f32> { (0..n * d).map(|_| rng.gen()).collect() };
        let (train, unseen) = (sample(10, &mut rng), sample(20, &mut rng));
        let encode = |x: &[f32]| {
            let mut y = x.to_vec();
            t.encode(&mut y, &mut ChaCha20Rng::seed_from_u64(0));
            y
        };
        let err = |recon: &[f32]| recon.iter().zip(&unseen).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        // 10 pairs: far fewer than the 64 a generic linear decoder needs, enough for 8x8 + 8x8 unknowns.
        let dec = fit(&train, &encode(&train), shape, 1e-9, 20);
        let structured = err(&dec.decode(&encode(&unseen)));
        assert!(structured < 1e-3, "separable decoder error {structured}");
        let generic = super::super::known_plaintext::least_squares(&train, d, &encode(&train), d, 1e-9);
        let unstructured = err(&generic.decode(&encode(&unseen)));
        assert!(unstructured > 0.1, "generic least squares should fail with 10 pairs, error {unstructured}");
    }

    #[test]
    fn statistics_alone_recover_a_separable_mix_of_structured_images() {
        // Images with distinct row and column statistics (a smooth random field with a bright centre),
        // as natural images have; the encoded set and the public set are different draws.
        let shape = ImageShape { height: 8, width: 8, channels: 1 };
        let d = shape.features();
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let t = SeparableMix::random(shape, &mut rng);
        let scale: Vec<f32> = (0..d).map(|f| 0.3 + ((f / 8) as f32 * 0.7 + (f % 8) as f32 * 0.3) / 8.0).collect();
        let mut draw = |n: usize| -> Vec<f32> {
            (0..n * d)
                .map(|i| {
                    let f = i % d;
                    scale[f] * (rng.gen::<f32>() + rng.gen::<f32>() * ((f / 8) as f32 / 8.0))
                })
                .collect()
        };
        let (private, public, unseen) = (draw(20000), draw(20000), draw(50));
        let encode = |x: &[f32]| {
            let mut y = x.to_vec();
            t.encode(&mut y, &mut ChaCha20Rng::seed_from_u64(0));
            y
        };
        let dec = axis_alignment(&encode(&private), &public, shape);
        let recon = dec.decode(&encode(&unseen));
        let mse = recon.iter().zip(&unseen).map(|(a, b)| ((a - b) as f64).powi(2)).sum::<f64>() / unseen.len() as f64;
        let var = {
            let m = unseen.iter().map(|&v| v as f64).sum::<f64>() / unseen.len() as f64;
            unseen.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / unseen.len() as f64
        };
        assert!(mse < 0.02 * var, "reconstruction MSE {mse} against data variance {var}");
    }
}
