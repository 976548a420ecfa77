//! `fast-mix`: a keyed structured orthogonal mix that mixes every feature with every other in
//! O(d log d) per image, where the dense `orthogonal-mix` costs d^2.
//!
//! Each round is `x -> H_B H_A P S x`: keyed sign flips `S` (a random ±1 per feature), a keyed
//! permutation `P` of the d features, then a normalised fast Walsh–Hadamard transform on a window `A`
//! of the first W features and one on a window `B` of the last W, with W the largest power of two
//! <= d. Products of random sign diagonals and Hadamard matrices are the structured random orthogonal
//! matrices of the orthogonal-random-features literature (Yu et al., "Orthogonal Random Features",
//! NeurIPS 2016: three `HD` blocks behave like a Haar-random rotation for kernel approximation).
//!
//! Why two overlapping windows instead of zero-padding to the next power of two: padding would make
//! the encoded vector longer than the image (1,024 values for 784 pixels), so the provider's model,
//! the attacks and the key file would all have to handle a second shape. Two windows cover all d
//! features and overlap (2W > d), so one round already makes every feature of window B depend on
//! every input; with a fresh permutation in the next round every output depends on every input. Each
//! window transform is orthogonal on its coordinates, so the whole map is orthogonal and the customer
//! inverts it exactly (`H` normalised is its own inverse; the rounds are undone in reverse order).
//!
//! Cost per image and round: d sign flips and gathers plus 2 W log2 W additions (784 pixels, W = 512:
//! about 10 k operations; three rounds about 32 k, against 615 k multiply-adds for the dense mix).

use rand::Rng;
use rand_chacha::ChaCha20Rng;

use super::kind::{log2_factorial, FamilyStyle, KeySpace, Param, ParamType, Params, Shape, Structure, TransformKind};
use super::{on_image_runs, random_permutation, Transform};
use crate::data::ImageShape;

pub struct Kind;

/// Rounds when the config does not say: three sign-flip/Hadamard blocks, as in the
/// orthogonal-random-features papers (the tests below measure how well 1 to 4 rounds mix).
pub const DEFAULT_ROUNDS: usize = 3;

const PARAMS: &[Param] = &[Param {
    name: "rounds",
    title: "rounds",
    doc: "sign-flip, permutation and Walsh-Hadamard rounds, 1 to 16",
    ty: ParamType::Integer,
    default: Some(toml::Value::Integer(DEFAULT_ROUNDS as i64)),
    initial: toml::Value::Integer(DEFAULT_ROUNDS as i64),
}];

impl TransformKind for Kind {
    fn name(&self) -> &'static str {
        "fast-mix"
    }

    fn about(&self) -> &'static str {
        "rounds of keyed sign flips, a keyed permutation and Walsh-Hadamard transforms: mixes every feature \
         with every other like orthogonal-mix, in O(d log d)"
    }

    fn params(&self) -> &'static [Param] {
        PARAMS
    }

    fn check(&self, p: &Params, _shape: ImageShape) -> Result<(), (&'static str, String)> {
        let rounds = p.integer("rounds");
        if !(1..=16).contains(&rounds) {
            return Err(("rounds", format!("an integer from 1 to 16, got {rounds}")));
        }
        Ok(())
    }

    fn choices(&self, param: &str, _shape: ImageShape) -> Option<Vec<i64>> {
        (param == "rounds").then(|| (1..=16).collect())
    }

    fn label(&self, p: &Params) -> String {
        format!("fast-mix(rounds={})", p.integer("rounds"))
    }

    fn short_label(&self, _p: &Params) -> String {
        "fast-mix".into()
    }

    fn build(&self, p: &Params, shape: ImageShape, rng: &mut ChaCha20Rng) -> Box<dyn Transform> {
        Box::new(FastMix::random(shape.features(), p.integer("rounds"), rng))
    }

    fn key_space(&self, p: &Params, shape: ImageShape) -> KeySpace {
        let (d, rounds) = (shape.features() as u64, p.integer("rounds"));
        KeySpace {
            bits: rounds as f64 * (d as f64 + log2_factorial(d)),
            continuous_dim: 0,
            note: format!("log2((2^{d} * {d}!)^{rounds}): keyed signs and a permutation per round"),
        }
    }

    fn structure(&self, _p: &Params) -> Structure {
        Structure::Mixes { separable: false }
    }

    fn style(&self) -> FamilyStyle {
        FamilyStyle { color: (160, 140, 0), marker: Shape::Triangle } // Okabe-Ito yellow, darkened to show on white
    }
}

/// One round's key: which features change sign, then where each output position reads from.
#[derive(Debug, Clone, PartialEq)]
struct Round {
    /// +1 or -1 per feature (applied before the permutation).
    signs: Vec<f32>,
    /// Source feature of each position after the permutation.
    perm: Vec<u32>,
    /// The inverse permutation (for decoding).
    inverse: Vec<u32>,
    /// What the blocked encoder multiplies source feature i by when gathering it: its sign, times
    /// the previous round's pending normalisation (the encoder's transforms are unnormalised).
    gather_scale: Vec<f32>,
}

/// The keyed structured mix over images of `features` values.
#[derive(Debug, Clone, PartialEq)]
pub struct FastMix {
    features: usize,
    /// Width of each Walsh–Hadamard window: the largest power of two <= features.
    window: usize,
    rounds: Vec<Round>,
    /// 1/sqrt(W): the normalisation each round owes every output (the blocked encoder applies it
    /// late, folded into the next round's gather; see [`FastMix::hadamard_rows`]).
    norm: f32,
}

/// Images encoded together, one per SIMD lane: the data of a block is laid out feature-major
/// (`[feature][image]`), so every butterfly, at every stride, is a contiguous run of this many values.
const LANES: usize = 8;

impl FastMix {
    /// Draw `rounds` rounds for `features` values from the key stream.
    pub fn random(features: usize, rounds: usize, rng: &mut ChaCha20Rng) -> Self {
        assert!(features >= 1 && rounds >= 1, "fast-mix: needs at least one feature and one round");
        let window = 1usize << (usize::BITS - 1 - features.leading_zeros());
        let norm = 1.0 / (window as f32).sqrt();
        let rounds = (0..rounds)
            .map(|r| {
                let signs: Vec<f32> = (0..features).map(|_| if rng.gen::<bool>() { 1.0 } else { -1.0 }).collect();
                let perm = random_permutation(features, rng);
                let mut inverse = vec![0u32; features];
                for (j, &src) in perm.iter().enumerate() {
                    inverse[src as usize] = j as u32;
                }
                let gather_scale: Vec<f32> = signs.iter().map(|s| if r == 0 { *s } else { s * norm }).collect();
                Round { signs, perm, inverse, gather_scale }
            })
            .collect();
        Self { features, window, rounds, norm }
    }

    pub fn rounds(&self) -> usize {
        self.rounds.len()
    }

    /// The two window offsets (equal when `features` is a power of two: one window).
    fn windows(&self) -> [usize; 2] {
        [0, self.features - self.window]
    }

    /// Encode `src` into `dst` (whole images), blocks of [`LANES`] images, one run of images per core.
    pub fn encode_into(&self, src: &[f32], dst: &mut [f32]) {
        assert_eq!(src.len(), dst.len(), "fast-mix: source and destination differ in length");
        let d = self.features;
        on_image_runs(dst, d, |offset, run| {
            let (mut a, mut b) = (vec![0f32; d * LANES], vec![0f32; d * LANES]);
            for (k, out) in run.chunks_mut(d * LANES).enumerate() {
                let at = offset + k * d * LANES;
                self.encode_block(&src[at..at + out.len()], out, &mut a, &mut b);
            }
        });
    }

    /// Encode whole images in place.
    pub fn encode(&self, images: &mut [f32]) {
        let d = self.features;
        on_image_runs(images, d, |_, run| {
            let (mut a, mut b) = (vec![0f32; d * LANES], vec![0f32; d * LANES]);
            let mut copy = Vec::with_capacity(d * LANES);
            for block in run.chunks_mut(d * LANES) {
                copy.clear();
                copy.extend_from_slice(block);
                self.encode_block(&copy, block, &mut a, &mut b);
            }
        });
    }

    /// Encode up to [`LANES`] images of `src` into `dst`, through the feature-major buffers `a`, `b`.
    fn encode_block(&self, src: &[f32], dst: &mut [f32], a: &mut [f32], b: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports the feature the function is compiled for (checked above).
            unsafe { self.encode_block_avx2(src, dst, a, b) };
            return;
        }
        self.encode_block_portable::<false>(src, dst, a, b);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn encode_block_avx2(&self, src: &[f32], dst: &mut [f32], a: &mut [f32], b: &mut [f32]) {
        self.encode_block_portable::<true>(src, dst, a, b);
    }

    /// `AVX`: only where the caller is compiled for AVX2 (the tile transposes use its shuffles).
    #[inline(always)]
    fn encode_block_portable<const AVX: bool>(&self, src: &[f32], dst: &mut [f32], a: &mut [f32], b: &mut [f32]) {
        let d = self.features;
        let images = src.len() / d;
        // Round 1: permute and sign each image in image-major order (contiguous writes, reads within
        // one image), then turn the block feature-major. Missing lanes of a last, partial block are zero.
        let first = &self.rounds[0];
        if images < LANES {
            b.fill(0.0);
        }
        for (img, out) in src.chunks_exact(d).zip(b.chunks_exact_mut(d)) {
            for ((y, &from), _) in out.iter_mut().zip(&first.perm).zip(0..d) {
                *y = first.gather_scale[from as usize] * img[from as usize];
            }
        }
        transpose_tiles::<AVX>(b, d, a, LANES, d);
        self.hadamard_rows(a);
        // Later rounds gather whole rows: one vector of LANES values each.
        let (mut cur, mut next) = (a, b);
        for round in &self.rounds[1..] {
            let (from_rows, _) = cur.as_chunks::<LANES>();
            let (to_rows, _) = next.as_chunks_mut::<LANES>();
            for ((to, &from), _) in to_rows.iter_mut().zip(&round.perm).zip(0..d) {
                let c = round.gather_scale[from as usize];
                *to = from_rows[from as usize].map(|x| c * x);
            }
            self.hadamard_rows(next);
            std::mem::swap(&mut cur, &mut next);
        }
        // Back to image-major order, with the last round's normalisation.
        for v in cur.iter_mut() {
            *v *= self.norm;
        }
        if images == LANES {
            transpose_tiles::<AVX>(cur, LANES, dst, d, d);
        } else {
            transpose_tiles::<AVX>(cur, LANES, next, d, d);
            dst.copy_from_slice(&next[..dst.len()]);
        }
    }

    /// Walsh–Hadamard transforms on window A then window B of a feature-major block, leaving every
    /// row owing the same factor 1/sqrt(W). After A, its rows owe the factor and the rest do not, so
    /// the rows B shares with A pay it before B mixes them with rows that owe nothing; B then leaves
    /// all of its rows owing it once.
    #[inline(always)]
    fn hadamard_rows(&self, rows: &mut [f32]) {
        let [a, b] = self.windows();
        let w = self.window * LANES;
        walsh_hadamard_rows(&mut rows[a * LANES..a * LANES + w]);
        if b != a {
            for v in &mut rows[b * LANES..(a + self.window) * LANES] {
                *v *= self.norm;
            }
            walsh_hadamard_rows(&mut rows[b * LANES..b * LANES + w]);
        }
    }

    /// Decode whole images in place: per image, each round undone in reverse order.
    pub fn decode(&self, images: &mut [f32]) {
        let d = self.features;
        let [a, b] = self.windows();
        on_image_runs(images, d, |_, run| {
            let mut scratch = vec![0f32; d];
            for img in run.chunks_exact_mut(d) {
                for round in self.rounds.iter().rev() {
                    if b != a {
                        walsh_hadamard(&mut img[b..b + self.window]);
                    }
                    walsh_hadamard(&mut img[a..a + self.window]);
                    // x[i] = s[i] * y[inverse[i]].
                    for (i, &at) in round.inverse.iter().enumerate() {
                        scratch[i] = round.signs[i] * img[at as usize];
                    }
                    img.copy_from_slice(&scratch);
                }
            }
        });
    }

    /// log2 of the number of keys: per round 2^d sign patterns times d! permutations (an upper
    /// bound on distinct maps: some products coincide).
    pub fn key_bits(&self) -> f64 {
        let d = self.features as f64;
        let log2_factorial: f64 = (2..=self.features).map(|k| (k as f64).log2()).sum();
        self.rounds.len() as f64 * (d + log2_factorial)
    }
}

impl Transform for FastMix {
    fn encode(&self, images: &mut [f32], _fresh: &mut ChaCha20Rng) {
        FastMix::encode(self, images);
    }

    fn encode_into(&self, src: &[f32], dst: &mut [f32], _fresh: &mut ChaCha20Rng) {
        FastMix::encode_into(self, src, dst);
    }

    fn decode(&self, images: &mut [f32]) -> bool {
        FastMix::decode(self, images);
        true
    }
}

/// Transpose between image-major (`LANES` images of `d` values, row stride `d`) and feature-major
/// (`d` rows of `LANES`, row stride `LANES`) blocks: `dst[r * dst_stride + c] = src[c * src_stride + r]`
/// for the LANES x d (or d x LANES) block, by 8 x 8 tiles, with AVX2 shuffles where `AVX`.
#[inline(always)]
fn transpose_tiles<const AVX: bool>(src: &[f32], src_stride: usize, dst: &mut [f32], dst_stride: usize, d: usize) {
    // Which side is the long one: image-major sources step through features along a row.
    let image_major_src = src_stride == d && dst_stride == LANES;
    let at = |major: usize, minor: usize, stride: usize| major * stride + minor;
    let tiles = d / LANES;
    for t in 0..tiles {
        // The tile's top-left corner in each layout.
        let (s0, d0) = if image_major_src {
            (at(0, t * LANES, src_stride), at(t * LANES, 0, dst_stride))
        } else {
            (at(t * LANES, 0, src_stride), at(0, t * LANES, dst_stride))
        };
        assert!(s0 + 7 * src_stride + LANES <= src.len() && d0 + 7 * dst_stride + LANES <= dst.len());
        #[cfg(target_arch = "x86_64")]
        if AVX {
            // SAFETY: AVX is true only in code compiled for AVX2 (see `encode_block`); both tiles are
            // in bounds (asserted above).
            unsafe { transpose8x8_avx2(src.as_ptr().add(s0), src_stride, dst.as_mut_ptr().add(d0), dst_stride) };
            continue;
        }
        for r in 0..LANES {
            for c in 0..LANES {
                dst[d0 + r * dst_stride + c] = src[s0 + c * src_stride + r];
            }
        }
    }
    // Features beyond the last whole tile.
    for j in tiles * LANES..d {
        for l in 0..LANES {
            if image_major_src {
                dst[j * dst_stride + l] = src[l * src_stride + j];
            } else {
                dst[l * dst_stride + j] = src[j * src_stride + l];
            }
        }
    }
}

/// One 8 x 8 transpose in registers (the usual unpack / shuffle / permute sequence).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn transpose8x8_avx2(src: *const f32, src_stride: usize, dst: *mut f32, dst_stride: usize) {
    use std::arch::x86_64::*;
    let r: [__m256; 8] = std::array::from_fn(|i| _mm256_loadu_ps(src.add(i * src_stride)));
    let t = [
        _mm256_unpacklo_ps(r[0], r[1]),
        _mm256_unpackhi_ps(r[0], r[1]),
        _mm256_unpacklo_ps(r[2], r[3]),
        _mm256_unpackhi_ps(r[2], r[3]),
        _mm256_unpacklo_ps(r[4], r[5]),
        _mm256_unpackhi_ps(r[4], r[5]),
        _mm256_unpacklo_ps(r[6], r[7]),
        _mm256_unpackhi_ps(r[6], r[7]),
    ];
    let u = [
        _mm256_shuffle_ps::<0x44>(t[0], t[2]),
        _mm256_shuffle_ps::<0xEE>(t[0], t[2]),
        _mm256_shuffle_ps::<0x44>(t[1], t[3]),
        _mm256_shuffle_ps::<0xEE>(t[1], t[3]),
        _mm256_shuffle_ps::<0x44>(t[4], t[6]),
        _mm256_shuffle_ps::<0xEE>(t[4], t[6]),
        _mm256_shuffle_ps::<0x44>(t[5], t[7]),
        _mm256_shuffle_ps::<0xEE>(t[5], t[7]),
    ];
    let out = [
        _mm256_permute2f128_ps::<0x20>(u[0], u[4]),
        _mm256_permute2f128_ps::<0x20>(u[1], u[5]),
        _mm256_permute2f128_ps::<0x20>(u[2], u[6]),
        _mm256_permute2f128_ps::<0x20>(u[3], u[7]),
        _mm256_permute2f128_ps::<0x31>(u[0], u[4]),
        _mm256_permute2f128_ps::<0x31>(u[1], u[5]),
        _mm256_permute2f128_ps::<0x31>(u[2], u[6]),
        _mm256_permute2f128_ps::<0x31>(u[3], u[7]),
    ];
    for (i, v) in out.iter().enumerate() {
        _mm256_storeu_ps(dst.add(i * dst_stride), *v);
    }
}

/// Unnormalised fast Walsh–Hadamard transform over the rows of `v` (each [`LANES`] values wide; the
/// number of rows a power of two): butterflies between whole rows (one vector each), two stages per
/// pass (radix 4) so each value is loaded and stored half as often. (Rows as arrays took 12% fewer
/// instructions than flat slices under callgrind.)
#[inline(always)]
fn walsh_hadamard_rows(v: &mut [f32]) {
    let (rows, _) = v.as_chunks_mut::<LANES>();
    let n = rows.len();
    debug_assert!(n.is_power_of_two());
    let add = |a: [f32; LANES], b: [f32; LANES]| std::array::from_fn::<f32, LANES, _>(|l| a[l] + b[l]);
    let sub = |a: [f32; LANES], b: [f32; LANES]| std::array::from_fn::<f32, LANES, _>(|l| a[l] - b[l]);
    let mut h = 1;
    while 4 * h <= n {
        for group in rows.chunks_exact_mut(4 * h) {
            let (r01, r23) = group.split_at_mut(2 * h);
            let (r0, r1) = r01.split_at_mut(h);
            let (r2, r3) = r23.split_at_mut(h);
            for (((x0, x1), x2), x3) in r0.iter_mut().zip(r1.iter_mut()).zip(r2.iter_mut()).zip(r3.iter_mut()) {
                let (a, b) = (add(*x0, *x1), sub(*x0, *x1));
                let (c, d) = (add(*x2, *x3), sub(*x2, *x3));
                (*x0, *x1, *x2, *x3) = (add(a, c), add(b, d), sub(a, c), sub(b, d));
            }
        }
        h *= 4;
    }
    if 2 * h <= n {
        for block in rows.chunks_exact_mut(2 * h) {
            let (lo, hi) = block.split_at_mut(h);
            for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
                (*x, *y) = (add(*x, *y), sub(*x, *y));
            }
        }
    }
}

/// The same on a plain vector (one value per row), for decoding one image at a time.
fn walsh_hadamard_unscaled(v: &mut [f32]) {
    let n = v.len();
    debug_assert!(n.is_power_of_two());
    let mut h = 1;
    while h < n {
        for block in v.chunks_exact_mut(2 * h) {
            let (lo, hi) = block.split_at_mut(h);
            for (x, y) in lo.iter_mut().zip(hi.iter_mut()) {
                (*x, *y) = (*x + *y, *x - *y);
            }
        }
        h *= 2;
    }
}

/// In-place fast Walsh–Hadamard transform of a power-of-two-long slice, scaled by 1/sqrt(len) so
/// it is orthogonal (and its own inverse).
pub fn walsh_hadamard(v: &mut [f32]) {
    walsh_hadamard_unscaled(v);
    let scale = 1.0 / (v.len() as f32).sqrt();
    for x in v.iter_mut() {
        *x *= scale;
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn mix(features: usize, rounds: usize) -> FastMix {
        FastMix::random(features, rounds, &mut ChaCha20Rng::seed_from_u64(9))
    }

    /// Column j of the (linear) map: the encoding of the j-th unit vector.
    fn matrix(m: &FastMix) -> Vec<f32> {
        let d = m.features;
        let mut basis = vec![0f32; d * d];
        for j in 0..d {
            basis[j * d + j] = 1.0;
        }
        m.encode(&mut basis);
        basis
    }

    #[test]
    fn walsh_hadamard_is_orthogonal_and_its_own_inverse() {
        let x: Vec<f32> = (0..16).map(|i| (i as f32 * 0.37).sin()).collect();
        let mut y = x.clone();
        walsh_hadamard(&mut y);
        let norm = |v: &[f32]| v.iter().map(|a| a * a).sum::<f32>();
        assert!((norm(&x) - norm(&y)).abs() < 1e-5);
        walsh_hadamard(&mut y);
        assert!(x.iter().zip(&y).all(|(a, b)| (a - b).abs() < 1e-6));
    }

    #[test]
    fn the_map_is_orthogonal_for_power_of_two_and_other_sizes() {
        for d in [16, 28, 784] {
            let m = mix(d, DEFAULT_ROUNDS);
            let q = matrix(&m);
            // Rows of Q (each encoded unit vector is a row here): Q Q^T = I.
            for i in (0..d).step_by(d / 8 + 1) {
                for j in (0..d).step_by(d / 7 + 1) {
                    let dot: f32 = (0..d).map(|k| q[i * d + k] * q[j * d + k]).sum();
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((dot - want).abs() < 1e-4, "d={d} ({i},{j}): {dot}");
                }
            }
        }
    }

    #[test]
    fn the_blocked_encoder_is_the_composition_of_the_documented_rounds() {
        // Reference: per image, y = H_B H_A P S x per round with normalised transforms.
        let d = 28;
        let m = mix(d, DEFAULT_ROUNDS);
        let images: Vec<f32> = (0..11 * d).map(|i| ((i * 31) % 17) as f32 / 17.0).collect();
        let mut reference = images.clone();
        for img in reference.chunks_exact_mut(d) {
            for round in &m.rounds {
                let x = img.to_vec();
                for (j, &from) in round.perm.iter().enumerate() {
                    img[j] = round.signs[from as usize] * x[from as usize];
                }
                walsh_hadamard(&mut img[..m.window]);
                walsh_hadamard(&mut img[d - m.window..]);
            }
        }
        let mut enc = images.clone();
        m.encode(&mut enc);
        let worst = reference.iter().zip(&enc).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(worst < 1e-5, "blocked encoder differs from the reference by {worst}");
    }

    #[test]
    fn decoding_undoes_encoding_and_encode_into_matches_encode() {
        let d = 784;
        let m = mix(d, DEFAULT_ROUNDS);
        let images: Vec<f32> = (0..3 * d).map(|i| ((i * 7919) % 256) as f32 / 255.0).collect();
        let mut enc = images.clone();
        m.encode(&mut enc);
        let mut into = vec![0f32; images.len()];
        m.encode_into(&images, &mut into);
        assert_eq!(enc, into);
        assert!(images.iter().zip(&enc).filter(|(a, b)| (*a - *b).abs() > 1e-3).count() > 2 * d);
        m.decode(&mut enc);
        let worst = images.iter().zip(&enc).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(worst < 1e-5, "round trip error {worst}");
    }

    #[test]
    fn the_default_rounds_make_every_output_depend_on_almost_every_input() {
        // Entries are sums of ±1 products over W, so a few cancel exactly; measured on this key:
        // 1 round 319,744 zero entries of 614,656, 2 rounds 1,449, 3 rounds 1, 4 rounds 0.
        let d = 784;
        let zeros = |m: &FastMix| matrix(m).iter().filter(|v| v.abs() < 1e-9).count();
        assert!(zeros(&mix(d, 1)) > d * d / 3, "one round leaves the first window unmixed with the rest");
        assert!(zeros(&mix(d, DEFAULT_ROUNDS)) <= d * d / 100_000);
        assert_eq!(zeros(&mix(d, 4)), 0);
    }

    #[test]
    fn different_key_streams_give_different_maps() {
        let a = FastMix::random(64, 3, &mut ChaCha20Rng::seed_from_u64(1));
        let b = FastMix::random(64, 3, &mut ChaCha20Rng::seed_from_u64(2));
        assert_ne!(a, b);
        assert!(a.key_bits() > 3.0 * 64.0);
    }
}
