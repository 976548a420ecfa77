//! Standard normal f32 values for per-sample noise, by the Box-Muller transform (Box & Muller, "A Note
//! on the Generation of Random Normal Deviates", Ann. Math. Stat. 29(2), 1958): two 32-bit words give
//! two independent normals `sqrt(-2 ln u) (cos, sin)(2 pi v)`.
//!
//! Why not `rand_distr` or a ziggurat: per-sample noise draws one value per pixel of the training
//! set (47 million for MNIST), and its cost counts against the customer's encoding budget. A
//! ziggurat needs table lookups and a rejection branch per value, which do not vectorise (AVX2
//! gathers were slower than scalar code on the benchmark machine); Box-Muller with the logarithm and
//! sine/cosine as short polynomials is straight-line arithmetic that runs 8 lanes wide. It is exact
//! up to the polynomials' error (below 1e-7) and the resolution of `u` (31 bits: |z| < 6.66, a
//! tail of probability 3e-11 left out), and it is bit-for-bit the same on every x86-64 machine
//! (no FMA contraction, no libm).

use rand::{Rng, RngCore};

/// Values drawn and transformed per block: 8 pairs, one AVX2 register of lanes per step.
const PAIRS: usize = 8;

/// `out[i] += sigma * z_i` for standard normal `z_i`.
pub fn add_scaled_normals<G: RngCore>(out: &mut [f32], sigma: f32, rng: &mut G) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked above).
        return unsafe { add_scaled_normals_avx2(out, sigma, rng) };
    }
    add_scaled_normals_generic(out, sigma, rng)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn add_scaled_normals_avx2<G: RngCore>(out: &mut [f32], sigma: f32, rng: &mut G) {
    add_scaled_normals_generic(out, sigma, rng)
}

#[inline(always)]
fn add_scaled_normals_generic<G: RngCore>(out: &mut [f32], sigma: f32, rng: &mut G) {
    // Random words are drawn 256 at a time: per call, `fill` costs about as much as the arithmetic
    // of a whole block.
    let mut words = [0u32; 16 * 2 * PAIRS];
    let mut z = [0f32; 2 * PAIRS];
    for run in out.chunks_mut(words.len()) {
        let used = run.len().next_multiple_of(2 * PAIRS);
        rng.fill(&mut words[..used]);
        for (chunk, block) in run.chunks_mut(2 * PAIRS).zip(words.chunks_exact(2 * PAIRS)) {
            box_muller(block.try_into().expect("a block of 2 * PAIRS words"), &mut z);
            for (v, zi) in chunk.iter_mut().zip(&z) {
                *v += sigma * zi;
            }
        }
    }
}

/// Box-Muller: words `0..8` give the radii, `8..16` the angles; `z[l] = r_l cos(theta_l)`,
/// `z[8 + l] = r_l sin(theta_l)`. Straight-line code over fixed-size arrays, so it vectorises.
#[inline(always)]
fn box_muller(words: &[u32; 2 * PAIRS], z: &mut [f32; 2 * PAIRS]) {
    const FRAC_1_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
    for l in 0..PAIRS {
        // u in (0, 1]: 31 random bits plus half a step, so ln(u) is finite (|z| up to 6.66).
        let u = ((words[l] >> 1) as i32 as f32 + 0.5) * (1.0 / 2147483648.0);
        let r = (-2.0 * ln(u)).sqrt();
        // Angle: quadrant from the top 2 bits, then 24 bits for the position inside it, centred so
        // that the polynomials only see [-pi/4, pi/4).
        let w = words[PAIRS + l];
        let quadrant = w >> 30;
        let f = ((w >> 6) & 0xff_ffff) as i32 as f32 * (1.0 / 16777216.0);
        let phi = (f - 0.5) * std::f32::consts::FRAC_PI_2;
        let (s0, c0) = sin_cos_small(phi);
        // (cos, sin) of phi + pi/4, the angle inside the quadrant.
        let (c, s) = ((c0 - s0) * FRAC_1_SQRT_2, (s0 + c0) * FRAC_1_SQRT_2);
        // Rotate by quadrant * 90 degrees.
        let (c, s) = if quadrant & 1 == 1 { (-s, c) } else { (c, s) };
        let (c, s) = if quadrant >= 2 { (-c, -s) } else { (c, s) };
        z[l] = r * c;
        z[PAIRS + l] = r * s;
    }
}

/// Natural logarithm for positive normal f32 `x` (no NaN/inf/subnormal handling: the callers'
/// inputs are in (0, 1]). x = m 2^e with m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh(t),
/// t = (m - 1) / (m + 1), |t| < 0.172, by its series to t^9 (error below 1e-8).
#[inline(always)]
fn ln(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 127;
    let mut m = f32::from_bits((bits & 0x7f_ffff) | 0x3f80_0000);
    let big = m > std::f32::consts::SQRT_2;
    m = if big { m * 0.5 } else { m };
    e += big as i32;
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let series = 1.0 + t2 * (1.0 / 3.0 + t2 * (1.0 / 5.0 + t2 * (1.0 / 7.0 + t2 * (1.0 / 9.0))));
    e as f32 * std::f32::consts::LN_2 + 2.0 * t * series
}

/// (sin x, cos x) for |x| <= pi/4, Taylor polynomials to x^9 / x^10 (errors below 3e-9).
#[inline(always)]
fn sin_cos_small(x: f32) -> (f32, f32) {
    // Reciprocal factorials as constants: multiplications, not divisions.
    let x2 = x * x;
    let sin = x * (1.0 + x2 * (-1.0 / 6.0 + x2 * (1.0 / 120.0 + x2 * (-1.0 / 5040.0 + x2 * (1.0 / 362880.0)))));
    let cos = 1.0
        + x2 * (-1.0 / 2.0 + x2 * (1.0 / 24.0 + x2 * (-1.0 / 720.0 + x2 * (1.0 / 40320.0 + x2 * (-1.0 / 3628800.0)))));
    (sin, cos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Standard normal CDF (Abramowitz & Stegun 7.1.26 via erf, |error| < 1.5e-7).
    fn phi(x: f64) -> f64 {
        let z = x.abs() / std::f64::consts::SQRT_2;
        let t = 1.0 / (1.0 + 0.3275911 * z);
        let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
        let erf = 1.0 - poly * (-z * z).exp();
        0.5 * (1.0 + if x < 0.0 { -erf } else { erf })
    }

    #[test]
    fn samples_follow_the_standard_normal_distribution() {
        let n = 1_000_000;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        // In image-sized slices, as the noise transform calls it.
        let mut zs = vec![0f32; n];
        for img in zs.chunks_mut(784) {
            add_scaled_normals(img, 1.0, &mut rng);
        }
        let mut xs: Vec<f64> = zs.iter().map(|&z| z as f64).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let moment = |p: i32| xs.iter().map(|x| (x - mean).powi(p)).sum::<f64>() / n as f64;
        let var = moment(2);
        assert!(mean.abs() < 0.004, "mean {mean}");
        assert!((var - 1.0).abs() < 0.006, "variance {var}");
        assert!(moment(3).abs() < 0.015, "skewness {}", moment(3));
        assert!((moment(4) / (var * var) - 3.0).abs() < 0.03, "kurtosis {}", moment(4) / (var * var));
        // The tail beyond R = 3.4426 holds 2 * (1 - phi(R)) = 0.0576%.
        const R: f64 = 3.442619855899;
        let tail = xs.iter().filter(|x| x.abs() > R).count() as f64 / n as f64;
        assert!((tail - 2.0 * (1.0 - phi(R))).abs() < 0.00012, "tail fraction {tail}");
        // ... and has the right shape: E[|x| given |x| > R] = pdf(R) / (1 - phi(R)) = 3.70.
        let beyond: Vec<f64> = xs.iter().map(|x| x.abs()).filter(|&x| x > R).collect();
        let tail_mean = beyond.iter().sum::<f64>() / beyond.len() as f64;
        let want = (-0.5 * R * R).exp() / (2.0 * std::f64::consts::PI).sqrt() / (1.0 - phi(R));
        assert!((tail_mean - want).abs() < 0.05, "mean of the tail {tail_mean}, expected {want}");
        // Kolmogorov-Smirnov distance to the normal CDF; the 1% critical value is 1.63 / sqrt(n).
        xs.sort_by(f64::total_cmp);
        let ks = xs
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let c = phi(x);
                (c - i as f64 / n as f64).abs().max(((i + 1) as f64 / n as f64 - c).abs())
            })
            .fold(0.0, f64::max);
        assert!(ks < 1.63 / (n as f64).sqrt(), "KS distance {ks}");
    }

    #[test]
    fn noise_is_added_and_scaled_by_sigma() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut xs = vec![3.0f32; 200_000];
        add_scaled_normals(&mut xs, 0.5, &mut rng);
        let n = xs.len() as f64;
        let mean = xs.iter().map(|&x| x as f64).sum::<f64>() / n;
        let sd = (xs.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert!((mean - 3.0).abs() < 0.005, "mean {mean}");
        assert!((sd - 0.5).abs() < 0.005, "standard deviation {sd}");
    }

    #[test]
    fn polynomials_match_the_library_functions() {
        // ln over (0, 1]: every binade down to 2^-32, many mantissas each.
        for k in 0..=32u32 {
            for j in 0..1000u32 {
                let x = (1.0 + j as f64 / 1000.0) * 0.5f64.powi(k as i32 + 1);
                let got = ln(x as f32) as f64;
                let want = (x as f32 as f64).ln();
                assert!((got - want).abs() <= 2e-7 * want.abs().max(1.0), "ln({x}) = {got}, want {want}");
            }
        }
        for j in 0..=10_000 {
            let x = (j as f64 / 10_000.0 - 0.5) * std::f64::consts::FRAC_PI_2;
            let (s, c) = sin_cos_small(x as f32);
            let x = x as f32 as f64;
            assert!((s as f64 - x.sin()).abs() < 2e-7 && (c as f64 - x.cos()).abs() < 2e-7, "sin/cos({x})");
        }
    }

    #[test]
    fn pairs_and_neighbours_are_uncorrelated_and_every_code_path_agrees() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut zs = vec![0f32; 1_000_000];
        add_scaled_normals(&mut zs, 1.0, &mut rng);
        let corr = |lag: usize| {
            let n = (zs.len() - lag) as f64;
            zs.iter().zip(&zs[lag..]).map(|(&a, &b)| a as f64 * b as f64).sum::<f64>() / n
        };
        // lag 8: the cos and sin of one Box-Muller pair; 1: neighbouring pairs.
        for lag in [1, 8, 16] {
            assert!(corr(lag).abs() < 0.005, "lag-{lag} correlation {}", corr(lag));
        }
        // |z| and the next pair's |z| (a dependence the product moment above would miss).
        let abs_corr = zs
            .chunks_exact(16)
            .zip(zs.chunks_exact(16).skip(1))
            .map(|(a, b)| (a[0].abs() as f64 - 0.798) * (b[0].abs() as f64 - 0.798))
            .sum::<f64>()
            / (zs.len() / 16) as f64;
        assert!(abs_corr.abs() < 0.01, "|z| correlation {abs_corr}");
        // The dispatched (possibly AVX2) path and the portable one give identical bits.
        let (mut a, mut b) = (vec![0.5f32; 1000], vec![0.5f32; 1000]);
        add_scaled_normals(&mut a, 0.3, &mut ChaCha8Rng::seed_from_u64(5));
        add_scaled_normals_generic(&mut b, 0.3, &mut ChaCha8Rng::seed_from_u64(5));
        assert_eq!(a, b);
    }
}
