//! `separable-mix`: one secret orthogonal matrix per image axis, x -> (Q_rows (x) Q_cols (x) Q_channels) x.

use rand_chacha::ChaCha20Rng;

use super::kind::{FamilyStyle, KeySpace, Params, Shape, Structure, TransformKind};
use super::orthogonal_mix::{matmul_rows_by, random_orthogonal};
use super::{copy_images, on_image_runs, Transform};
use crate::data::ImageShape;

pub struct Kind;

impl TransformKind for Kind {
    fn name(&self) -> &'static str {
        "separable-mix"
    }

    fn about(&self) -> &'static str {
        "one secret orthogonal matrix per image axis (rows, columns, channels): orthogonal like \
         orthogonal-mix, O(d (h + w + c)) to apply, a far smaller key"
    }

    fn label(&self, _p: &Params) -> String {
        "separable-mix".into()
    }

    fn short_label(&self, _p: &Params) -> String {
        "sep-mix".into()
    }

    fn build(&self, _p: &Params, shape: ImageShape, rng: &mut ChaCha20Rng) -> Box<dyn Transform> {
        Box::new(SeparableMix::random(shape, rng))
    }

    fn key_space(&self, _p: &Params, shape: ImageShape) -> KeySpace {
        let d = shape.features() as u64;
        let dims = [shape.height, shape.width, shape.channels];
        let dim: usize = dims.iter().map(|k| k * (k - 1) / 2).sum();
        KeySpace {
            bits: 0.0,
            continuous_dim: dim as u64,
            note: format!(
                "continuous: O({}) x O({}) x O({}) has dimension {dim} (a dense Q on {d} features: {})",
                dims[0],
                dims[1],
                dims[2],
                d * (d - 1) / 2
            ),
        }
    }

    fn structure(&self, _p: &Params) -> Structure {
        Structure::Mixes { separable: true }
    }

    fn style(&self) -> FamilyStyle {
        FamilyStyle { color: (204, 121, 167), marker: Shape::Diamond } // reddish purple
    }
}

/// `y = (Q_rows (x) Q_cols (x) Q_channels) x` on channel-last images: each axis is mixed by its own
/// Haar-random orthogonal matrix (drawn in that order from the key stream). Orthogonal, so the
/// customer inverts it with the transposes, and an MLP's first layer absorbs it like a dense Q; but
/// applying it costs (h + w + c) multiply-adds per feature instead of d.
#[derive(Debug, Clone, PartialEq)]
pub struct SeparableMix {
    pub shape: ImageShape,
    /// Row-major h x h, w x w and c x c.
    pub factors: [Vec<f32>; 3],
}

impl SeparableMix {
    pub fn random(shape: ImageShape, rng: &mut ChaCha20Rng) -> Self {
        // A 1 x 1 orthogonal factor is a global sign: no secret worth having, and [`mix_axis`] skips it.
        let factors =
            [shape.height, shape.width, shape.channels]
                .map(|k| if k == 1 { vec![1.0] } else { random_orthogonal(k, rng) });
        Self { shape, factors }
    }

    /// (axis length, values per step along it) for rows, columns and channels of one image.
    fn axes(&self) -> [(usize, usize); 3] {
        let ImageShape { width, channels, .. } = self.shape;
        [(self.shape.height, width * channels), (width, channels), (channels, 1)]
    }

    /// Whether every axis goes through the small-matrix kernels (no axis needs gemm), so that a
    /// batch of images can be mixed along all axes while it is in cache.
    fn fusable(&self) -> bool {
        self.axes().iter().all(|&(k, inner)| !uses_gemm(k, inner))
    }

    /// Mix all axes (in reverse with the transposes when `inverse`), one cache-sized batch of images
    /// at a time: one pass over memory instead of one per axis. With `src`, each batch is first
    /// copied from it (`encode_into`).
    fn mix_fused(&self, src: Option<&[f32]>, images: &mut [f32], inverse: bool) {
        let d = self.shape.features();
        let mut steps: Vec<(usize, usize, Vec<f32>)> = self
            .axes()
            .into_iter()
            .zip(&self.factors)
            .filter(|((k, _), _)| *k > 1)
            .map(|((k, inner), q)| (k, inner, if inverse { q.clone() } else { transposed(q, k) }))
            .collect();
        if inverse {
            steps.reverse();
        }
        let batch = (FUSED_BATCH_BYTES / (d * 4)).max(1) * d;
        on_image_runs(images, d, |offset, run| {
            for (b, chunk) in run.chunks_mut(batch).enumerate() {
                if let Some(src) = src {
                    let start = offset + b * batch;
                    chunk.copy_from_slice(&src[start..start + chunk.len()]);
                }
                for (k, inner, m) in &steps {
                    mix_run(chunk, m, *k, *inner);
                }
            }
        });
    }
}

/// Images per batch of [`SeparableMix::mix_fused`]: about this many bytes, which stay in L2.
const FUSED_BATCH_BYTES: usize = 128 << 10;

impl Transform for SeparableMix {
    fn encode(&self, images: &mut [f32], _fresh: &mut ChaCha20Rng) {
        if self.fusable() {
            return self.mix_fused(None, images, false);
        }
        for ((k, inner), q) in self.axes().into_iter().zip(&self.factors) {
            mix_axis(images, q, k, inner, false);
        }
    }

    fn encode_into(&self, src: &[f32], dst: &mut [f32], fresh: &mut ChaCha20Rng) {
        if !self.fusable() {
            copy_images(src, dst, 1);
            return self.encode(dst, fresh);
        }
        assert_eq!(src.len(), dst.len(), "encode_into: source and destination differ in length");
        self.mix_fused(Some(src), dst, false);
    }

    fn decode(&self, images: &mut [f32]) -> bool {
        if self.fusable() {
            self.mix_fused(None, images, true);
            return true;
        }
        for ((k, inner), q) in self.axes().into_iter().zip(&self.factors).rev() {
            mix_axis(images, q, k, inner, true);
        }
        true
    }
}

/// Mix one axis of `data`, viewed as (outer, k, inner) row-major: `y[o, i, j] = sum_l M[i, l] x[o, l, j]`
/// with M = `q` (k x k), or its transpose when `transpose`.
fn mix_axis(data: &mut [f32], q: &[f32], k: usize, inner: usize, transpose: bool) {
    if k <= 1 || data.is_empty() {
        return;
    }
    if uses_gemm(k, inner) {
        // Rows of length k: Y = X M^T, one large product.
        matmul_rows_by(data, q, k, !transpose);
        return;
    }
    let m: Vec<f32> = if transpose { q.to_vec() } else { transposed(q, k) }; // m = M^T, row-major
    on_image_runs(data, k * inner, |_, run| mix_run(run, &m, k, inner));
}

/// Whether [`mix_axis`] mixes an axis of length `k` with `inner` values per step by one gemm.
fn uses_gemm(k: usize, inner: usize) -> bool {
    inner == 1 && k > SMALL_AXIS
}

/// `x <- M x` for each (k x inner) block of `run` on the calling thread, given `m` = M^T.
///
/// Many tiny products: a library gemm would be all call overhead, so these are plain kernels,
/// compiled for AVX2/FMA where the CPU has them. Their inner loops run along the longer of `inner`
/// and `k`, so they vectorise for rows (inner = w c) and for columns (inner = c, often 1).
fn mix_run(run: &mut [f32], m: &[f32], k: usize, inner: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports the features the function is compiled for (checked above).
        unsafe { mix_blocks_avx2_fma(run, m, k, inner) };
        return;
    }
    mix_blocks::<false>(run, m, k, inner);
}

/// Axis lengths up to which [`mix_axis`] uses its own kernels rather than gemm.
const SMALL_AXIS: usize = 64;

fn transposed(q: &[f32], k: usize) -> Vec<f32> {
    (0..k * k).map(|i| q[(i % k) * k + i / k]).collect()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn mix_blocks_avx2_fma(run: &mut [f32], mt: &[f32], k: usize, inner: usize) {
    mix_blocks::<true>(run, mt, k, inner);
}

/// `x <- M x` for each (k x inner) block of `run`, given `mt` = M^T (row-major). `FMA`: fused
/// multiply-adds (only where the caller is compiled for them; elsewhere `mul_add` is a library call).
#[inline(always)]
fn mix_blocks<const FMA: bool>(run: &mut [f32], mt: &[f32], k: usize, inner: usize) {
    // Both cases are sums of scaled vectors whose length, made a constant for common image sizes,
    // lets the compiler keep the accumulator in registers.
    match (k, inner) {
        (28, 28) => mix_rows_fixed::<FMA, 28>(run, mt),
        (32, 32) => mix_rows_fixed::<FMA, 32>(run, mt),
        (28, 1) => mix_cols_fixed::<FMA, 28>(run, mt),
        (32, 1) => mix_cols_fixed::<FMA, 32>(run, mt),
        _ => mix_blocks_any::<FMA>(run, mt, k, inner),
    }
}

#[inline(always)]
fn fma<const FMA: bool>(acc: f32, w: f32, x: f32) -> f32 {
    if FMA {
        w.mul_add(x, acc)
    } else {
        acc + w * x
    }
}

/// `out[i, :] = sum_l M[i, l] x[l, :]` for square N x N blocks.
#[inline(always)]
fn mix_rows_fixed<const FMA: bool, const N: usize>(run: &mut [f32], mt: &[f32]) {
    let mut out = vec![0f32; N * N];
    for x in run.chunks_exact_mut(N * N) {
        for (i, o) in out.chunks_exact_mut(N).enumerate() {
            let mut acc = [0f32; N];
            for (l, xl) in x.chunks_exact(N).enumerate() {
                let w = mt[l * N + i];
                for j in 0..N {
                    acc[j] = fma::<FMA>(acc[j], w, xl[j]);
                }
            }
            o.copy_from_slice(&acc);
        }
        x.copy_from_slice(&out);
    }
}

/// `out = sum_l x[l] M[:, l]` for rows of N values (M^T's rows are M's columns).
#[inline(always)]
fn mix_cols_fixed<const FMA: bool, const N: usize>(run: &mut [f32], mt: &[f32]) {
    for x in run.chunks_exact_mut(N) {
        let mut acc = [0f32; N];
        for (&xv, col) in x.iter().zip(mt.chunks_exact(N)) {
            for j in 0..N {
                acc[j] = fma::<FMA>(acc[j], col[j], xv);
            }
        }
        x.copy_from_slice(&acc);
    }
}

#[inline(always)]
fn mix_blocks_any<const FMA: bool>(run: &mut [f32], mt: &[f32], k: usize, inner: usize) {
    let mut out = vec![0f32; k * inner];
    for x in run.chunks_exact_mut(k * inner) {
        out.iter_mut().for_each(|v| *v = 0.0);
        for (l, xl) in x.chunks_exact(inner).enumerate() {
            let col = &mt[l * k..(l + 1) * k];
            for (i, o) in out.chunks_exact_mut(inner).enumerate() {
                let w = col[i];
                o.iter_mut().zip(xl).for_each(|(ov, &xv)| *ov = fma::<FMA>(*ov, w, xv));
            }
        }
        x.copy_from_slice(&out);
    }
}
