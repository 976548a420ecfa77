//! 95% confidence intervals: Wilson for one run's test accuracy (a binomial proportion over the test
//! samples), a normal interval for the difference of two arms' accuracies, Student's t for means over
//! repeated runs (and for paired per-seed differences).

use serde::{Deserialize, Serialize};

/// The 97.5% quantile of the standard normal distribution (two-sided 95%).
pub const Z95: f64 = 1.959_963_984_540_054;

/// A closed interval [lo, hi] in the unit of the statistic it bounds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub lo: f64,
    pub hi: f64,
}

impl Interval {
    /// A fraction's interval in percentage points, e.g. "[75.6, 80.8]".
    pub fn points(&self) -> String {
        format!("[{:.1}, {:.1}]", 100.0 * self.lo, 100.0 * self.hi)
    }
}

/// How a single run's intervals were made, for the tables that show them.
pub fn single_run_note(test_samples: usize) -> String {
    format!(
        "95% intervals: accuracy Wilson over n = {test_samples} test samples; delta unpaired normal \
         (conservative: ignores that both arms see the same test samples)"
    )
}

/// Wilson score interval (95%) of a proportion `p` observed on `n` trials; [0, 1] when n = 0.
pub fn wilson(p: f64, n: usize) -> Interval {
    if n == 0 {
        return Interval { lo: 0.0, hi: 1.0 };
    }
    let n = n as f64;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    Interval { lo: (centre - half).max(0.0), hi: (centre + half).min(1.0) }
}

/// 95% normal interval of p1 - p0 treating the two proportions as independent. Both arms are judged on
/// the same test samples, whose errors are positively correlated, so this is wider than a paired
/// interval would be: conservative.
pub fn difference_unpaired(p1: f64, n1: usize, p0: f64, n0: usize) -> Interval {
    let d = p1 - p0;
    if n1 == 0 || n0 == 0 {
        return Interval { lo: -1.0, hi: 1.0 };
    }
    let se = (p1 * (1.0 - p1) / n1 as f64 + p0 * (1.0 - p0) / n0 as f64).sqrt();
    Interval { lo: d - Z95 * se, hi: d + Z95 * se }
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom (exact table to 30, then the
/// Cornish-Fisher expansion, good to 1e-4).
pub fn t975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157, 2.228139, 2.200985,
        2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922, 2.093024, 2.085963, 2.079614, 2.073873,
        2.068658, 2.063899, 2.059539, 2.055529, 2.051831, 2.048407, 2.045230, 2.042272,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => TABLE[df - 1],
        _ => {
            let (z, v) = (Z95, df as f64);
            z + (z.powi(3) + z) / (4.0 * v) + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * v * v)
        }
    }
}

/// n, mean, sample standard deviation and 95% t-interval of the mean of repeated measurements (sd and
/// interval need n >= 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeanStats {
    pub n: usize,
    pub mean: f64,
    pub sd: Option<f64>,
    pub ci: Option<Interval>,
}

pub fn mean_interval(xs: &[f64]) -> MeanStats {
    let n = xs.len();
    let mean = if n == 0 { f64::NAN } else { xs.iter().sum::<f64>() / n as f64 };
    if n < 2 {
        return MeanStats { n, mean, sd: None, ci: None };
    }
    let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    let half = t975(n - 1) * sd / (n as f64).sqrt();
    MeanStats { n, mean, sd: Some(sd), ci: Some(Interval { lo: mean - half, hi: mean + half }) }
}

/// Paired differences `a - b` over the keys (seeds) both have, then their mean interval.
pub fn paired_difference(a: &[(u64, f64)], b: &[(u64, f64)]) -> MeanStats {
    let diffs: Vec<f64> = a.iter().filter_map(|(k, x)| b.iter().find(|(kb, _)| kb == k).map(|(_, y)| x - y)).collect();
    mean_interval(&diffs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() < tol
    }

    #[test]
    fn wilson_matches_known_values() {
        // 78.3% of 1,000 (by hand: centre 0.781917, half-width 0.025522).
        let i = wilson(0.783, 1000);
        assert!(close(i.lo, 0.756395, 1e-5) && close(i.hi, 0.807439, 1e-5), "{i:?}");
        // 8 of 10: the textbook Wilson interval [0.4902, 0.9433].
        let i = wilson(0.8, 10);
        assert!(close(i.lo, 0.49016, 1e-4) && close(i.hi, 0.94332, 1e-4), "{i:?}");
        // 0 of 20 keeps a non-zero upper bound (the Wald interval would be [0, 0]).
        let i = wilson(0.0, 20);
        assert!(i.lo == 0.0 && close(i.hi, 0.16113, 1e-4), "{i:?}");
    }

    #[test]
    fn unpaired_difference_by_hand() {
        // 0.768 - 0.783 on 1,000 each: se = sqrt(.768*.232/1000 + .783*.217/1000) = 0.018659.
        let i = difference_unpaired(0.768, 1000, 0.783, 1000);
        assert!(close(i.lo, -0.015 - 1.959964 * 0.018659, 1e-5), "{i:?}");
        assert!(close(i.hi, -0.015 + 1.959964 * 0.018659, 1e-5), "{i:?}");
    }

    #[test]
    fn t_interval_and_paired_difference_by_hand() {
        // 1, 2, 3, 4: mean 2.5, sd sqrt(5/3) = 1.290994, half = 3.182446 * 1.290994 / 2 = 2.054260.
        let s = mean_interval(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(s.n, 4);
        assert!(close(s.mean, 2.5, 1e-12) && close(s.sd.unwrap(), 1.290994, 1e-6));
        let ci = s.ci.unwrap();
        assert!(close(ci.lo, 2.5 - 2.054260, 1e-5) && close(ci.hi, 2.5 + 2.054260, 1e-5), "{ci:?}");
        // One value: a mean, no spread and no interval.
        let one = mean_interval(&[0.7]);
        assert!(one.sd.is_none() && one.ci.is_none());
        // Paired by seed, whatever the order: differences 0.02 and 0.04 (seed 9 has no partner).
        let a = [(1, 0.80), (2, 0.84), (9, 0.5)];
        let b = [(2, 0.80), (1, 0.78)];
        let d = paired_difference(&a, &b);
        assert_eq!(d.n, 2);
        assert!(close(d.mean, 0.03, 1e-12));
        // sd = 0.014142, half = 12.706205 * 0.014142 / sqrt(2) = 0.127062.
        let ci = d.ci.unwrap();
        assert!(close(ci.lo, 0.03 - 0.127062, 1e-5) && close(ci.hi, 0.03 + 0.127062, 1e-5), "{ci:?}");
        assert!(close(t975(100), 1.983972, 1e-4));
    }
}
