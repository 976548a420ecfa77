//! Standard normal f32 values from 32 random bits each: the ziggurat of Marsaglia & Tsang ("The
//! Ziggurat Method for Generating Random Variables", J. Stat. Software 5(8), 2000), 128 layers, with
//! the layer index and the value taken from *different* bits of the word (the original shares them,
//! which correlates the two; Doornik, "An Improved Ziggurat Method", 2005). `rand_distr`'s normal
//! spends 64 random bits per f32; per-sample noise is bound by drawing those bits, so this halves it.

use std::sync::OnceLock;

use rand::{Rng, RngCore};

const LAYERS: usize = 128;
/// Start of the tail (the rightmost layer's edge) and the area of each layer, for 128 layers.
const R: f64 = 3.442619855899;
const V: f64 = 9.91256303526217e-3;
/// The value is a signed 25-bit integer (bits 7..32 of the word); bits 0..7 pick the layer.
const SCALE: f64 = (1u64 << 24) as f64;

struct Tables {
    /// |j| < k[i] accepts at once (the point lies inside the layer's rectangle core).
    k: [u32; LAYERS],
    /// j * w[i] is the sample.
    w: [f32; LAYERS],
    /// exp(-x^2 / 2) at each layer's edge.
    f: [f32; LAYERS],
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let (mut k, mut w, mut f) = ([0u32; LAYERS], [0f32; LAYERS], [0f32; LAYERS]);
        let mut d = R;
        let mut t = d;
        let q = V / (-0.5 * d * d).exp();
        k[0] = ((d / q) * SCALE) as u32;
        k[1] = 0;
        w[0] = (q / SCALE) as f32;
        w[LAYERS - 1] = (d / SCALE) as f32;
        f[0] = 1.0;
        f[LAYERS - 1] = (-0.5 * d * d).exp() as f32;
        for i in (1..LAYERS - 1).rev() {
            d = (-2.0 * (V / d + (-0.5 * d * d).exp()).ln()).sqrt();
            k[i + 1] = ((d / t) * SCALE) as u32;
            t = d;
            f[i] = (-0.5 * d * d).exp() as f32;
            w[i] = (d / SCALE) as f32;
        }
        Tables { k, w, f }
    })
}

/// `out[i] += sigma * z_i` for standard normal `z_i`. Draws one 32-bit word per value up front (in
/// bulk, which is several times cheaper than one call per value), takes the ziggurat's fast path
/// branch-free over the whole slice, and finishes the few values (about 1.2%) whose word falls
/// outside its layer's rectangle with further draws from `rng`, as the sequential ziggurat would.
pub fn add_scaled_normals<G: RngCore>(out: &mut [f32], sigma: f32, rng: &mut G) {
    let t = tables();
    let mut words = vec![0u32; out.len()];
    rng.fill(&mut words[..]);
    let mut slow = Vec::new();
    for (idx, (v, &u)) in out.iter_mut().zip(&words).enumerate() {
        let (i, j) = split_word(u);
        let fast = j.unsigned_abs() < t.k[i];
        *v += if fast { sigma * (j as f32 * t.w[i]) } else { 0.0 };
        if !fast {
            slow.push(idx);
        }
    }
    for idx in slow {
        out[idx] += sigma * from_word(words[idx], rng);
    }
}

/// Layer index (bits 0..7) and signed value (bits 7..32) of a random word.
#[inline]
fn split_word(u: u32) -> (usize, i32) {
    ((u as usize) & (LAYERS - 1), (u as i32) >> 7)
}

/// The ziggurat sample that starts with word `u`, drawing more from `rng` only if `u` is rejected.
#[inline]
fn from_word<G: RngCore>(mut u: u32, rng: &mut G) -> f32 {
    let t = tables();
    loop {
        let (i, j) = split_word(u);
        let x = j as f32 * t.w[i];
        if j.unsigned_abs() < t.k[i] {
            return x;
        }
        if i == 0 {
            // The tail beyond R (Marsaglia's method).
            loop {
                let a = -(1.0 - rng.gen::<f64>()).ln() / R;
                let b = -(1.0 - rng.gen::<f64>()).ln();
                if b + b >= a * a {
                    let v = (R + a) as f32;
                    return if j < 0 { -v } else { v };
                }
            }
        }
        // The wedge between the rectangle core and the curve.
        let y = t.f[i] + rng.gen::<f32>() * (t.f[i - 1] - t.f[i]);
        if y < (-0.5 * x * x).exp() {
            return x;
        }
        u = rng.next_u32();
    }
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
        // The tail beyond the ziggurat's base layer (|x| > 3.4426) holds 2 * (1 - phi(R)) = 0.0576%.
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
}
