//! Reconstruction quality: MSE, PSNR and SSIM on the image grid (pixel values in [0, 1]).

use crate::data::ImageShape;

/// PSNR of an exact reconstruction (MSE below 1e-10) is reported as this, so JSON stays finite.
pub const PSNR_CAP_DB: f64 = 100.0;

/// SSIM constants (Wang, Bovik, Sheikh & Simoncelli 2004) for data range L = 1.
const K1: f64 = 0.01;
const K2: f64 = 0.03;
/// Gaussian window: 7 x 7 (smaller for smaller images), sigma 1.5, "valid" positions only.
pub const SSIM_WINDOW: usize = 7;
pub const SSIM_SIGMA: f64 = 1.5;

/// Quality of a set of reconstructions against the truth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quality {
    /// Mean squared error per value over the whole set.
    pub mse: f64,
    /// 10 log10(1 / mse), from the set's mean MSE, capped at [`PSNR_CAP_DB`].
    pub psnr_db: f64,
    /// Mean SSIM over images (and channels).
    pub ssim: f64,
}

pub fn mse(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    if a.is_empty() {
        return 0.0;
    }
    a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).powi(2)).sum::<f64>() / a.len() as f64
}

/// PSNR in dB for data range 1.
pub fn psnr_from_mse(mse: f64) -> f64 {
    if mse <= 1e-10 {
        PSNR_CAP_DB
    } else {
        (10.0 * (1.0 / mse).log10()).min(PSNR_CAP_DB)
    }
}

/// Normalised 1-D Gaussian taps of the SSIM window for an image of `h x w`.
fn window(h: usize, w: usize) -> Vec<f64> {
    let mut size = SSIM_WINDOW.min(h).min(w);
    if size.is_multiple_of(2) {
        size -= 1;
    }
    let size = size.max(1);
    let c = (size / 2) as f64;
    let taps: Vec<f64> =
        (0..size).map(|i| (-((i as f64 - c).powi(2)) / (2.0 * SSIM_SIGMA * SSIM_SIGMA)).exp()).collect();
    let total: f64 = taps.iter().sum();
    taps.into_iter().map(|t| t / total).collect()
}

/// Separable "valid" filtering of an h x w plane. Each output adds its taps' products in tap order,
/// as a plain sum would; looping over the outputs innermost lets the compiler vectorise across them.
fn filter(plane: &[f64], h: usize, w: usize, taps: &[f64]) -> Vec<f64> {
    let k = taps.len();
    let (oh, ow) = (h + 1 - k, w + 1 - k);
    let mut rows = vec![0f64; h * ow];
    for (src, dst) in plane.chunks_exact(w).zip(rows.chunks_exact_mut(ow)) {
        for (t, &g) in taps.iter().enumerate() {
            for (d, s) in dst.iter_mut().zip(&src[t..t + ow]) {
                *d += g * s;
            }
        }
    }
    let mut out = vec![0f64; oh * ow];
    for (r, dst) in out.chunks_exact_mut(ow).enumerate() {
        for (t, &g) in taps.iter().enumerate() {
            for (d, s) in dst.iter_mut().zip(&rows[(r + t) * ow..(r + t + 1) * ow]) {
                *d += g * s;
            }
        }
    }
    out
}

/// SSIM of each image pair of `a` and `b` (n images of `shape` each), in order: the same values as
/// [`ssim`] of each pair, eight pairs at a time where the CPU has AVX-512 ([`lanes8::ssim_each`]).
fn ssim_each(a: &[f32], b: &[f32], shape: ImageShape) -> Vec<f64> {
    let d = shape.features();
    let mut out = Vec::with_capacity(a.len() / d.max(1));
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if crate::gemm_f32::avx512_available() {
        let whole = a.len() / (8 * d) * 8 * d;
        // SAFETY: the CPU has AVX-512F, the only feature the function is compiled for.
        out.extend(unsafe { lanes8::ssim_each(&a[..whole], &b[..whole], shape, &window(shape.height, shape.width)) });
        done = whole;
    }
    out.extend(a[done..].chunks_exact(d).zip(b[done..].chunks_exact(d)).map(|(x, y)| ssim(x, y, shape)));
    out
}

/// SSIM of eight image pairs at once, one per lane of a 512-bit vector: each lane performs exactly the
/// operations [`ssim`](super::ssim) performs for its pair, in the same order (IEEE arithmetic gives
/// the same bits at any vector width; no fused multiply-adds), so each value is the same to the bit.
#[cfg(target_arch = "x86_64")]
mod lanes8 {
    use std::arch::x86_64::*;

    use super::{ImageShape, K1, K2};

    /// [`super::filter`] of eight interleaved planes (`plane[i]` holds pixel i of each): every output
    /// adds its taps' products in tap order, starting from zero.
    #[target_feature(enable = "avx512f")]
    fn filter(plane: &[__m512d], h: usize, w: usize, taps: &[f64], rows: &mut Vec<__m512d>, out: &mut Vec<__m512d>) {
        let k = taps.len();
        let (oh, ow) = (h + 1 - k, w + 1 - k);
        rows.clear();
        rows.resize(h * ow, _mm512_setzero_pd());
        for (src, dst) in plane.chunks_exact(w).zip(rows.chunks_exact_mut(ow)) {
            for (t, &g) in taps.iter().enumerate() {
                let g = _mm512_set1_pd(g);
                for (d, &s) in dst.iter_mut().zip(&src[t..t + ow]) {
                    *d = _mm512_add_pd(*d, _mm512_mul_pd(g, s));
                }
            }
        }
        out.clear();
        out.resize(oh * ow, _mm512_setzero_pd());
        for (r, dst) in out.chunks_exact_mut(ow).enumerate() {
            for (t, &g) in taps.iter().enumerate() {
                let g = _mm512_set1_pd(g);
                for (d, &s) in dst.iter_mut().zip(&rows[(r + t) * ow..(r + t + 1) * ow]) {
                    *d = _mm512_add_pd(*d, _mm512_mul_pd(g, s));
                }
            }
        }
    }

    /// SSIM of each pair of `a` and `b`, whose image count is a multiple of eight.
    #[target_feature(enable = "avx512f")]
    pub(super) fn ssim_each(a: &[f32], b: &[f32], shape: ImageShape, taps: &[f64]) -> Vec<f64> {
        let (h, w, ch) = (shape.height, shape.width, shape.channels);
        let d = shape.features();
        let (c1, c2) = (_mm512_set1_pd((K1 * 1.0f64).powi(2)), _mm512_set1_pd((K2 * 1.0f64).powi(2)));
        let two = _mm512_set1_pd(2.0);
        // a, b, a², b², ab of one channel; the five filtered; the row pass.
        let mut planes: [Vec<__m512d>; 5] = Default::default();
        let mut filtered: [Vec<__m512d>; 5] = Default::default();
        let mut rows = Vec::new();
        let mut out = Vec::with_capacity(a.len() / d.max(1));
        for (ga, gb) in a.chunks_exact(8 * d).zip(b.chunks_exact(8 * d)) {
            let mut total = _mm512_setzero_pd();
            let mut count = 0usize;
            for c in 0..ch {
                for p in &mut planes {
                    p.clear();
                }
                for i in 0..h * w {
                    // Pixel i, channel c of each of the group's eight images, one per lane.
                    let pixels = |g: &[f32]| {
                        let each: [f64; 8] = std::array::from_fn(|l| g[l * d + i * ch + c] as f64);
                        // SAFETY: an unaligned load of the eight f64s of `each`.
                        unsafe { _mm512_loadu_pd(each.as_ptr()) }
                    };
                    let (x, y) = (pixels(ga), pixels(gb));
                    planes[0].push(x);
                    planes[1].push(y);
                    planes[2].push(_mm512_mul_pd(x, x));
                    planes[3].push(_mm512_mul_pd(y, y));
                    planes[4].push(_mm512_mul_pd(x, y));
                }
                for (plane, f) in planes.iter().zip(&mut filtered) {
                    filter(plane, h, w, taps, &mut rows, f);
                }
                let [mu_a, mu_b, aa, bb, ab] = &filtered;
                for i in 0..mu_a.len() {
                    let (ma, mb) = (mu_a[i], mu_b[i]);
                    let va = _mm512_sub_pd(aa[i], _mm512_mul_pd(ma, ma));
                    let vb = _mm512_sub_pd(bb[i], _mm512_mul_pd(mb, mb));
                    let cov = _mm512_sub_pd(ab[i], _mm512_mul_pd(ma, mb));
                    // ((2 ma mb + c1)(2 cov + c2)) / ((ma² + mb² + c1)(va + vb + c2)), as ssim groups it.
                    let num = _mm512_mul_pd(
                        _mm512_add_pd(_mm512_mul_pd(_mm512_mul_pd(two, ma), mb), c1),
                        _mm512_add_pd(_mm512_mul_pd(two, cov), c2),
                    );
                    let den = _mm512_mul_pd(
                        _mm512_add_pd(_mm512_add_pd(_mm512_mul_pd(ma, ma), _mm512_mul_pd(mb, mb)), c1),
                        _mm512_add_pd(_mm512_add_pd(va, vb), c2),
                    );
                    total = _mm512_add_pd(total, _mm512_div_pd(num, den));
                    count += 1;
                }
            }
            let mut each = [0f64; 8];
            // SAFETY: `each` holds eight f64s, the unaligned store's extent.
            unsafe { _mm512_storeu_pd(each.as_mut_ptr(), total) };
            out.extend(each.map(|t| t / count.max(1) as f64));
        }
        out
    }
}

/// SSIM of two images (flattened channel-last), averaged over channels and window positions.
pub fn ssim(a: &[f32], b: &[f32], shape: ImageShape) -> f64 {
    let (h, w, ch) = (shape.height, shape.width, shape.channels);
    assert_eq!(a.len(), shape.features());
    assert_eq!(b.len(), shape.features());
    let taps = window(h, w);
    let (c1, c2) = ((K1 * 1.0f64).powi(2), (K2 * 1.0f64).powi(2));
    let mut total = 0.0;
    let mut count = 0usize;
    for c in 0..ch {
        let pa: Vec<f64> = (0..h * w).map(|i| a[i * ch + c] as f64).collect();
        let pb: Vec<f64> = (0..h * w).map(|i| b[i * ch + c] as f64).collect();
        let prod = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(p, q)| p * q).collect::<Vec<f64>>();
        let mu_a = filter(&pa, h, w, &taps);
        let mu_b = filter(&pb, h, w, &taps);
        let aa = filter(&prod(&pa, &pa), h, w, &taps);
        let bb = filter(&prod(&pb, &pb), h, w, &taps);
        let ab = filter(&prod(&pa, &pb), h, w, &taps);
        for i in 0..mu_a.len() {
            let (ma, mb) = (mu_a[i], mu_b[i]);
            let va = aa[i] - ma * ma;
            let vb = bb[i] - mb * mb;
            let cov = ab[i] - ma * mb;
            total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            count += 1;
        }
    }
    total / count.max(1) as f64
}

/// Quality of reconstructions `recon` of `truth` (both n images of `shape`); reconstructions are
/// clamped to [0, 1] first, as any decoder of images would.
pub fn quality(recon: &[f32], truth: &[f32], shape: ImageShape) -> Quality {
    let d = shape.features();
    assert_eq!(recon.len(), truth.len());
    let clamped: Vec<f32> = recon.iter().map(|v| if v.is_finite() { v.clamp(0.0, 1.0) } else { 0.0 }).collect();
    let m = mse(&clamped, truth);
    let n = truth.len() / d.max(1);
    let ssim_mean = if n == 0 {
        0.0
    } else {
        // Images are independent: split them over the available cores.
        let threads = std::thread::available_parallelism().map(|t| t.get()).unwrap_or(1).clamp(1, 8);
        let per = n.div_ceil(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = clamped
                .chunks(per * d)
                .zip(truth.chunks(per * d))
                .map(|(r, t)| s.spawn(move || ssim_each(r, t, shape).iter().sum::<f64>()))
                .collect();
            handles.into_iter().map(|h| h.join().expect("ssim thread")).sum::<f64>()
        }) / n as f64
    };
    Quality { mse: m, psnr_db: psnr_from_mse(m), ssim: ssim_mean }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_normalised_and_shrinks() {
        assert_eq!(window(28, 28).len(), 7);
        assert_eq!(window(4, 8).len(), 3);
        assert!((window(28, 28).iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn images_scored_side_by_side_get_their_own_ssim_to_the_bit() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        for shape in [
            ImageShape { height: 28, width: 28, channels: 1 },
            ImageShape { height: 8, width: 6, channels: 3 },
            ImageShape { height: 2, width: 2, channels: 1 },
        ] {
            // 2 groups of eight and a remainder; some pairs equal, some constant.
            let n = 2 * 8 + 3;
            let a: Vec<f32> = (0..n * shape.features()).map(|_| rng.gen()).collect();
            let mut b: Vec<f32> = a.iter().map(|v| (v + rng.gen_range(-0.2f32..0.2)).clamp(0.0, 1.0)).collect();
            let d = shape.features();
            b[..d].copy_from_slice(&a[..d]);
            b[3 * d..4 * d].fill(0.5);
            let one_by_one: Vec<f64> =
                a.chunks_exact(d).zip(b.chunks_exact(d)).map(|(x, y)| ssim(x, y, shape)).collect();
            let each = ssim_each(&a, &b, shape);
            assert_eq!(
                each.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                one_by_one.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "{shape:?}"
            );
        }
    }

    #[test]
    fn filtering_equals_the_per_output_sum_in_tap_order_bit_for_bit() {
        let (h, w) = (9, 12);
        let taps = window(h, w);
        let k = taps.len();
        let plane: Vec<f64> = (0..h * w).map(|i| ((i * 7919) % 101) as f64 / 101.0).collect();
        let (oh, ow) = (h + 1 - k, w + 1 - k);
        let rows: Vec<f64> = (0..h * ow)
            .map(|i| taps.iter().enumerate().map(|(t, &g)| g * plane[(i / ow) * w + i % ow + t]).sum())
            .collect();
        let naive: Vec<f64> = (0..oh * ow)
            .map(|i| taps.iter().enumerate().map(|(t, &g)| g * rows[(i / ow + t) * ow + i % ow]).sum())
            .collect();
        assert_eq!(filter(&plane, h, w, &taps), naive);
    }
}
