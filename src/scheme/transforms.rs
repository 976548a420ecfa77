//! Keyed input transforms `T_K`. Each is built from its own key stream, encodes a batch in place,
//! and decodes where the mathematics allows it.

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::config::TransformSpec;
use crate::data::ImageShape;

use super::key::SecretKey;
use crate::gemm_f32::{matmul, MatRef, Threads};

/// One keyed transform over flattened channel-last images of `features` values.
pub trait Transform: Send + Sync {
    fn spec(&self) -> TransformSpec;
    /// Encode `n = images.len() / features` images in place. `fresh` supplies per-sample randomness.
    fn encode(&self, images: &mut [f32], fresh: &mut ChaCha20Rng);
    /// Encode `src` into `dst` (same length): exactly what copying and then [`encode`](Self::encode)
    /// gives. The default does just that; transforms override it to read each input once, so that
    /// encoding a dataset is one pass over memory instead of two.
    fn encode_into(&self, src: &[f32], dst: &mut [f32], fresh: &mut ChaCha20Rng) {
        copy_images(src, dst, 1);
        self.encode(dst, fresh);
    }
    /// Undo `encode` in place; false (and data untouched) where the transform is not invertible.
    fn decode(&self, images: &mut [f32]) -> bool;
}

/// Build the transform `spec` (at position `index` in the list) from its own key stream.
pub fn build(spec: &TransformSpec, index: usize, key: &SecretKey, shape: ImageShape) -> Box<dyn Transform> {
    let mut rng = key.stream(&format!("transform/{index}/{}", spec.label()));
    match *spec {
        TransformSpec::PixelPermutation => Box::new(PixelPermutation::random(shape.features(), &mut rng)),
        TransformSpec::BlockShuffle { block, flip } => Box::new(BlockShuffle::random(shape, block, flip, &mut rng)),
        TransformSpec::OrthogonalMix => Box::new(OrthogonalMix::random(shape.features(), &mut rng)),
        TransformSpec::SeparableMix => Box::new(SeparableMix::random(shape, &mut rng)),
        TransformSpec::FastMix { rounds } => {
            Box::new(super::fast_mix::FastMix::random(shape.features(), rounds, &mut rng))
        }
        TransformSpec::Noise { sigma, per_sample } => {
            Box::new(Noise::random(shape.features(), sigma as f32, per_sample, &mut rng))
        }
    }
}

/// A uniformly random permutation of `0..n` (Fisher-Yates from the key stream).
pub fn random_permutation(n: usize, rng: &mut ChaCha20Rng) -> Vec<u32> {
    let mut p: Vec<u32> = (0..n as u32).collect();
    p.shuffle(rng);
    p
}

/// `y[j] = x[perm[j]]`: one secret permutation of all features.
#[derive(Debug, Clone, PartialEq)]
pub struct PixelPermutation {
    /// Source feature of each output position.
    pub perm: Vec<u32>,
}

impl PixelPermutation {
    pub fn random(features: usize, rng: &mut ChaCha20Rng) -> Self {
        Self { perm: random_permutation(features, rng) }
    }
}

impl Transform for PixelPermutation {
    fn spec(&self) -> TransformSpec {
        TransformSpec::PixelPermutation
    }

    fn encode(&self, images: &mut [f32], _fresh: &mut ChaCha20Rng) {
        gather_rows(images, &self.perm);
    }

    fn encode_into(&self, src: &[f32], dst: &mut [f32], _fresh: &mut ChaCha20Rng) {
        gather_rows_into(src, dst, &self.perm, None);
    }

    fn decode(&self, images: &mut [f32]) -> bool {
        scatter_rows(images, &self.perm);
        true
    }
}

/// Images below which a batch is processed on the calling thread (thread start-up would dominate).
const PARALLEL_MIN_IMAGES: usize = 2048;

/// Run `f(offset, run)` on contiguous runs of whole images (of `features` values; `offset` is where the
/// run starts in `images`), one run per core for a large batch. Encoding a training set is
/// memory-bound, and two cores move about twice the bytes of one.
pub(crate) fn on_image_runs(images: &mut [f32], features: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    let n = images.len() / features.max(1);
    if n < PARALLEL_MIN_IMAGES {
        f(0, images);
        return;
    }
    // Asked once: `available_parallelism` reads cgroup files on Linux (about 15 us, as much as
    // encoding one image).
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let threads = *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |t| t.get()));
    if threads <= 1 {
        f(0, images);
        return;
    }
    let per_run = n.div_ceil(threads) * features;
    std::thread::scope(|scope| {
        for (i, run) in images.chunks_mut(per_run).enumerate() {
            let f = &f;
            scope.spawn(move || f(i * per_run, run));
        }
    });
}

/// `dst = src`, split over cores in runs of whole images of `features` values.
fn copy_images(src: &[f32], dst: &mut [f32], features: usize) {
    assert_eq!(src.len(), dst.len(), "encode_into: source and destination differ in length");
    on_image_runs(dst, features, |offset, run| run.copy_from_slice(&src[offset..offset + run.len()]));
}

/// `dst_img[j] = src_img[perm[j]]` for each image of `perm.len()` features, then, with `flips`
/// `(offset, scale)`, `dst_img[j] = offset[j] + scale[j] * dst_img[j]`.
fn gather_rows_into(src: &[f32], dst: &mut [f32], perm: &[u32], flips: Option<&(Vec<f32>, Vec<f32>)>) {
    let d = perm.len();
    assert_eq!(src.len(), dst.len(), "encode_into: source and destination differ in length");
    assert!(perm.iter().all(|&s| (s as usize) < d), "permutation index out of range");
    on_image_runs(dst, d, |offset, run| {
        let src_run = &src[offset..offset + run.len()];
        for (out, img) in run.chunks_exact_mut(d).zip(src_run.chunks_exact(d)) {
            for (o, &s) in out.iter_mut().zip(perm) {
                // SAFETY: every index was checked to be < d = img.len() above (hot loop: no bounds check).
                *o = unsafe { *img.get_unchecked(s as usize) };
            }
            if let Some((offset, scale)) = flips {
                for ((v, o), s) in out.iter_mut().zip(offset).zip(scale) {
                    *v = o + s * *v;
                }
            }
        }
    });
}

/// Apply `y[j] = x[src[j]]` to each image of `src.len()` features.
fn gather_rows(images: &mut [f32], src: &[u32]) {
    let d = src.len();
    assert!(src.iter().all(|&s| (s as usize) < d), "permutation index out of range");
    on_image_runs(images, d, |_, run| {
        let mut buf = vec![0f32; d];
        for img in run.chunks_exact_mut(d) {
            for (b, &s) in buf.iter_mut().zip(src) {
                // SAFETY: every index was checked to be < d = img.len() above (hot loop: no bounds check).
                *b = unsafe { *img.get_unchecked(s as usize) };
            }
            img.copy_from_slice(&buf);
        }
    });
}

/// Inverse of [`gather_rows`]: `x[src[j]] = y[j]`.
fn scatter_rows(images: &mut [f32], src: &[u32]) {
    let d = src.len();
    assert!(src.iter().all(|&s| (s as usize) < d), "permutation index out of range");
    on_image_runs(images, d, |_, run| {
        let mut buf = vec![0f32; d];
        for img in run.chunks_exact_mut(d) {
            for (&v, &s) in img.iter().zip(src) {
                // SAFETY: as in gather_rows.
                unsafe { *buf.get_unchecked_mut(s as usize) = v };
            }
            img.copy_from_slice(&buf);
        }
    });
}

/// Block scrambling: the image is cut into b x b blocks; the blocks are permuted, the pixel positions
/// inside each block are permuted (each block its own permutation), and, with `flip`, a keyed subset of
/// blocks is negative/positive flipped (x -> 1 - x). Channels of a pixel move together.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockShuffle {
    pub block: usize,
    pub shape: ImageShape,
    /// Feature-level source index of every output feature (the composed block + in-block permutation).
    pub src: Vec<u32>,
    /// Per output feature: flipped or not.
    pub flipped: Vec<bool>,
    pub flip: bool,
}

impl BlockShuffle {
    pub fn random(shape: ImageShape, block: usize, flip: bool, rng: &mut ChaCha20Rng) -> Self {
        let (bh, bw) = (shape.height / block, shape.width / block);
        let blocks = bh * bw;
        let block_perm = random_permutation(blocks, rng);
        let inner: Vec<Vec<u32>> = (0..blocks).map(|_| random_permutation(block * block, rng)).collect();
        let flips: Vec<bool> = (0..blocks).map(|_| flip && rng.gen::<bool>()).collect();
        let c = shape.channels;
        let mut src = vec![0u32; shape.features()];
        let mut flipped = vec![false; shape.features()];
        for out_block in 0..blocks {
            let in_block = block_perm[out_block] as usize;
            let (obr, obc) = (out_block / bw, out_block % bw);
            let (ibr, ibc) = (in_block / bw, in_block % bw);
            for (out_pos, &in_pos) in inner[out_block].iter().enumerate() {
                let in_pos = in_pos as usize;
                let (or, oc) = (obr * block + out_pos / block, obc * block + out_pos % block);
                let (ir, ic) = (ibr * block + in_pos / block, ibc * block + in_pos % block);
                for ch in 0..c {
                    let o = (or * shape.width + oc) * c + ch;
                    src[o] = ((ir * shape.width + ic) * c + ch) as u32;
                    flipped[o] = flips[out_block];
                }
            }
        }
        Self { block, shape, src, flipped, flip }
    }
}

impl Transform for BlockShuffle {
    fn spec(&self) -> TransformSpec {
        TransformSpec::BlockShuffle { block: self.block, flip: self.flip }
    }

    fn encode(&self, images: &mut [f32], _fresh: &mut ChaCha20Rng) {
        gather_rows(images, &self.src);
        if self.flip {
            flip_marked(images, &self.flipped);
        }
    }

    fn encode_into(&self, src: &[f32], dst: &mut [f32], _fresh: &mut ChaCha20Rng) {
        let flips = self.flip.then(|| flip_coefficients(&self.flipped));
        gather_rows_into(src, dst, &self.src, flips.as_ref());
    }

    fn decode(&self, images: &mut [f32]) -> bool {
        if self.flip {
            flip_marked(images, &self.flipped);
        }
        scatter_rows(images, &self.src);
        true
    }
}

/// The flip as `x -> offset + scale * x`: (1, -1) where flipped and (0, 1) elsewhere, which is
/// branch-free and vectorises.
fn flip_coefficients(flipped: &[bool]) -> (Vec<f32>, Vec<f32>) {
    let offset = flipped.iter().map(|&f| if f { 1.0 } else { 0.0 }).collect();
    let scale = flipped.iter().map(|&f| if f { -1.0 } else { 1.0 }).collect();
    (offset, scale)
}

fn flip_marked(images: &mut [f32], flipped: &[bool]) {
    let (offset, scale) = flip_coefficients(flipped);
    on_image_runs(images, flipped.len(), |_, run| {
        for img in run.chunks_exact_mut(flipped.len()) {
            for ((v, o), s) in img.iter_mut().zip(&offset).zip(&scale) {
                *v = o + s * *v;
            }
        }
    });
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
    fn spec(&self) -> TransformSpec {
        TransformSpec::OrthogonalMix
    }

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
    fn spec(&self) -> TransformSpec {
        TransformSpec::SeparableMix
    }

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

/// images (n x d, row-major) <- images * (m^T if transpose else m), with `gemm` on the rayon pool
/// (no copy of `m`, no device: cheap for one sample as for a whole training set).
fn matmul_rows_by(images: &mut [f32], m: &[f32], d: usize, transpose: bool) {
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

/// Keyed additive Gaussian noise: a fixed secret pattern (subtractable by the customer), or fresh
/// noise per sample (not invertible: a utility/privacy knob).
#[derive(Debug, Clone, PartialEq)]
pub struct Noise {
    pub sigma: f32,
    pub per_sample: bool,
    /// sigma-scaled fixed pattern (unused when per_sample).
    pub pattern: Vec<f32>,
}

impl Noise {
    pub fn random(features: usize, sigma: f32, per_sample: bool, rng: &mut ChaCha20Rng) -> Self {
        let pattern = (0..features)
            .map(|_| {
                let z: f32 = StandardNormal.sample(rng);
                sigma * z
            })
            .collect();
        Self { sigma, per_sample, pattern }
    }
}

impl Transform for Noise {
    fn spec(&self) -> TransformSpec {
        TransformSpec::Noise { sigma: self.sigma as f64, per_sample: self.per_sample }
    }

    fn encode(&self, images: &mut [f32], fresh: &mut ChaCha20Rng) {
        self.add_noise(None, images, fresh);
    }

    fn encode_into(&self, src: &[f32], dst: &mut [f32], fresh: &mut ChaCha20Rng) {
        assert_eq!(src.len(), dst.len(), "encode_into: source and destination differ in length");
        self.add_noise(Some(src), dst, fresh);
    }

    fn decode(&self, images: &mut [f32]) -> bool {
        if self.per_sample {
            return false;
        }
        for img in images.chunks_exact_mut(self.pattern.len()) {
            for (v, p) in img.iter_mut().zip(&self.pattern) {
                *v -= p;
            }
        }
        true
    }
}

impl Noise {
    /// `images (= src, if given) + noise`.
    fn add_noise(&self, src: Option<&[f32]>, images: &mut [f32], fresh: &mut ChaCha20Rng) {
        let d = self.pattern.len();
        if self.per_sample {
            return add_fresh_noise(src, images, d, self.sigma, fresh);
        }
        on_image_runs(images, d, |offset, run| {
            for (i, img) in run.chunks_exact_mut(d).enumerate() {
                let base = src.map(|s| &s[offset + i * d..offset + (i + 1) * d]);
                match base {
                    Some(x) => img.iter_mut().zip(x).zip(&self.pattern).for_each(|((v, x), p)| *v = x + p),
                    None => img.iter_mut().zip(&self.pattern).for_each(|(v, p)| *v += p),
                }
            }
        });
    }
}

/// `images (= src, if given) += sigma * z`, z standard normal and fresh for every value. One 256-bit seed is drawn from
/// `fresh`; image k of the batch takes its noise from ChaCha8 stream k of that seed, so the noise
/// depends on the key alone, never on how the batch is split over cores. ChaCha8 rather than ChaCha20,
/// and a 32-bit ziggurat rather than `rand_distr`'s 64-bit one: this noise is a utility/privacy knob,
/// not key material, drawing the random bits was most of its cost, and 8 rounds still have no known
/// distinguisher.
fn add_fresh_noise(src: Option<&[f32]>, images: &mut [f32], features: usize, sigma: f32, fresh: &mut ChaCha20Rng) {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    if features == 0 || images.is_empty() {
        return;
    }
    let seed: [u8; 32] = fresh.gen();
    on_image_runs(images, features, |offset, run| {
        let mut rng = ChaCha8Rng::from_seed(seed);
        for (k, img) in run.chunks_exact_mut(features).enumerate() {
            if let Some(src) = src {
                let start = offset + k * features;
                img.copy_from_slice(&src[start..start + features]);
            }
            rng.set_stream((offset / features + k) as u64);
            rng.set_word_pos(0);
            super::gaussian::add_scaled_normals(img, sigma, &mut rng);
        }
    });
}
