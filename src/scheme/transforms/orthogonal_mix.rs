//! `orthogonal-mix`: x -> Q x with a secret Haar-random orthogonal matrix.

use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, StandardNormal};

use super::kind::{FamilyStyle, KeySpace, Params, Shape, Structure, TransformKind};
use super::{copy_images, Transform};
use crate::data::ImageShape;
use crate::gemm_f32::{matmul, MatRef, Threads};

pub struct Kind;

/// Features above which Q (d^2 values, O(d^3) to draw) is too large to be worth it.
const MAX_FEATURES: usize = 4096;

impl TransformKind for Kind {
    fn name(&self) -> &'static str {
        "orthogonal-mix"
    }

    fn about(&self) -> &'static str {
        "x -> Q x with a secret random orthogonal matrix (datasets of at most 4,096 features)"
    }

    fn check(&self, _p: &Params, shape: ImageShape) -> Result<(), (&'static str, String)> {
        if shape.features() > MAX_FEATURES {
            return Err((
                "",
                format!(
                    "a dataset with <= {MAX_FEATURES} features for orthogonal-mix, this one has {} ({}x{}x{})",
                    shape.features(),
                    shape.height,
                    shape.width,
                    shape.channels
                ),
            ));
        }
        Ok(())
    }

    fn label(&self, _p: &Params) -> String {
        "orthogonal-mix".into()
    }

    fn short_label(&self, _p: &Params) -> String {
        "orth-mix".into()
    }

    fn build(&self, _p: &Params, shape: ImageShape, rng: &mut ChaCha20Rng) -> Box<dyn Transform> {
        Box::new(OrthogonalMix::random(shape.features(), rng))
    }

    fn key_space(&self, _p: &Params, shape: ImageShape) -> KeySpace {
        let d = shape.features() as u64;
        KeySpace {
            bits: 0.0,
            continuous_dim: d * (d - 1) / 2,
            note: format!("continuous: O({d}) has dimension d(d-1)/2 = {}", d * (d - 1) / 2),
        }
    }

    fn structure(&self, _p: &Params) -> Structure {
        Structure::Mixes { separable: false }
    }

    fn style(&self) -> FamilyStyle {
        FamilyStyle { color: (0, 158, 115), marker: Shape::Triangle } // bluish green
    }
}

/// `y = Q x` with a secret Haar-random orthogonal Q (QR of a Gaussian matrix, signs fixed).
#[derive(Debug, Clone, PartialEq)]
pub struct OrthogonalMix {
    pub features: usize,
    /// Row-major d x d.
    pub q: Vec<f32>,
}

impl OrthogonalMix {
    pub fn random(features: usize, rng: &mut ChaCha20Rng) -> Self {
        Self { features, q: random_orthogonal(features, rng) }
    }
}

impl Transform for OrthogonalMix {
    fn encode(&self, images: &mut [f32], _fresh: &mut ChaCha20Rng) {
        // Row vectors: y^T = x^T Q^T.
        matmul_rows_by(images, &self.q, self.features, true);
    }

    fn encode_into(&self, src: &[f32], dst: &mut [f32], fresh: &mut ChaCha20Rng) {
        let d = self.features;
        if d == 0 || src.len() / d <= 4 {
            copy_images(src, dst, 1);
            return self.encode(dst, fresh);
        }
        assert_eq!(src.len(), dst.len(), "encode_into: source and destination differ in length");
        // One product straight into the destination: y^T = x^T Q^T.
        gemm_rows(src, dst, &self.q, d, true);
    }

    fn decode(&self, images: &mut [f32]) -> bool {
        // x^T = y^T Q.
        matmul_rows_by(images, &self.q, self.features, false);
        true
    }
}

/// images (n x d, row-major) <- images * (m^T if transpose else m), with `gemm` on the rayon pool
/// (no copy of `m`, no device: cheap for one sample as for a whole training set).
pub(super) fn matmul_rows_by(images: &mut [f32], m: &[f32], d: usize, transpose: bool) {
    const CHUNK: usize = 2048;
    if d == 0 || images.is_empty() {
        return;
    }
    let rows = images.len() / d;
    if rows <= 4 {
        // A few samples (interactive inference): plain vectorised loops beat gemm's packing.
        let mut y = vec![0f32; d];
        for img in images.chunks_exact_mut(d) {
            if transpose {
                // y[j] = <x, m row j>
                for (yj, row) in y.iter_mut().zip(m.chunks_exact(d)) {
                    *yj = dot_f32(img, row);
                }
            } else {
                // y = sum_k x[k] * (m row k)
                y.iter_mut().for_each(|v| *v = 0.0);
                for (&xk, row) in img.iter().zip(m.chunks_exact(d)) {
                    for (v, &r) in y.iter_mut().zip(row) {
                        *v += xk * r;
                    }
                }
            }
            img.copy_from_slice(&y);
        }
        return;
    }
    let mut out = vec![0f32; CHUNK.min(rows) * d];
    for chunk in images.chunks_mut(CHUNK * d) {
        let dst = &mut out[..chunk.len()];
        gemm_rows(chunk, dst, m, d, transpose);
        chunk.copy_from_slice(dst);
    }
}

/// `dst (n x d) = src (n x d) * (m^T if transpose else m)`, all row-major, with `gemm` on the rayon
/// pool.
fn gemm_rows(src: &[f32], dst: &mut [f32], m: &[f32], d: usize, transpose: bool) {
    let n = src.len() / d;
    let rhs = if transpose { MatRef::transposed(m, d) } else { MatRef::rows(m, d) };
    matmul(dst, n, d, d, MatRef::rows(src, d), rhs, false, Threads::All);
}

/// Haar-distributed orthogonal d x d matrix (row-major): Gram-Schmidt on Gaussian rows (the rows are
/// drawn in order from `rng`), in f64 with re-orthogonalisation so Q^T Q = I to f32 rounding.
///
/// Blocked classical Gram-Schmidt, twice (BCGS2): each block of rows has its projections on all
/// earlier rows removed by two matrix products (gemm), then is orthonormalised row by row inside
/// itself (modified Gram-Schmidt, twice). Mathematically the same Q as row-by-row Gram-Schmidt (the
/// unique one with a positive triangular factor), but O(d^3) in gemm instead of scalar loops: d = 784
/// takes tens of milliseconds instead of about a second, d = 3072 seconds instead of a minute.
pub fn random_orthogonal(d: usize, rng: &mut ChaCha20Rng) -> Vec<f32> {
    const BLOCK: usize = 64;
    let mut a: Vec<f64> = (0..d * d).map(|_| StandardNormal.sample(rng)).collect();
    let mut coeff = vec![0f64; BLOCK * d];
    let mut start = 0;
    while start < d {
        let end = (start + BLOCK).min(d);
        let b = end - start;
        let (done, rest) = a.split_at_mut(start * d);
        let block = &mut rest[..b * d];
        if start > 0 {
            let c = &mut coeff[..b * start];
            for _pass in 0..2 {
                // SAFETY: c is b x start, block is b x d, done is start x d, all row-major; the
                // destination of each product overlaps neither of its inputs.
                unsafe {
                    // c = block * done^T
                    gemm::gemm(
                        b,
                        start,
                        d,
                        c.as_mut_ptr(),
                        1,
                        start as isize,
                        false,
                        block.as_ptr(),
                        1,
                        d as isize,
                        done.as_ptr(),
                        d as isize,
                        1,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        gemm::Parallelism::Rayon(0),
                    );
                    // block = block - c * done
                    gemm::gemm(
                        b,
                        d,
                        start,
                        block.as_mut_ptr(),
                        1,
                        d as isize,
                        true,
                        c.as_ptr(),
                        1,
                        start as isize,
                        done.as_ptr(),
                        1,
                        d as isize,
                        1.0,
                        -1.0,
                        false,
                        false,
                        false,
                        gemm::Parallelism::Rayon(0),
                    );
                }
            }
        }
        for i in 0..b {
            let (prev, cur) = block.split_at_mut(i * d);
            let row = &mut cur[..d];
            for _pass in 0..2 {
                for q in prev.chunks_exact(d) {
                    let dot = dot_f64(row, q);
                    for (r, v) in row.iter_mut().zip(q) {
                        *r -= dot * v;
                    }
                }
            }
            let norm = dot_f64(row, row).sqrt();
            for r in row.iter_mut() {
                *r /= norm;
            }
        }
        start = end;
    }
    a.into_iter().map(|v| v as f32).collect()
}

/// f32 dot product with independent partial sums (vectorises).
fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..16 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Dot product with independent partial sums (vectorises; the order differs from a plain fold only
/// at f64 rounding).
fn dot_f64(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f64>() + tail
}
