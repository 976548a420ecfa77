//! The attack suite's own kernels at full-MNIST sizes: SSIM and PSNR of 5,000 reconstructions (every
//! point of a reconstruction curve scores the evaluation half), the Gram matrix of a 4,096-row chunk
//! of 784 features (the statistical attack's covariances) against the general product, and one
//! 784 x 784 assignment (each refinement round of the statistical attack solves one).
//!
//! `cargo bench --bench attack_ops`; figures are medians over `REPS` (default 7) runs, wall clock.
//! The inputs are random (a kernel's time does not depend on what the pixels show).

mod common;

use rand::{Rng, SeedableRng};

use ppdl::attacks::assignment::assign;
use ppdl::attacks::linalg::{at_b, gram};
use ppdl::attacks::metrics::quality;
use ppdl::data::ImageShape;

fn reps() -> usize {
    std::env::var("REPS").ok().and_then(|v| v.parse().ok()).unwrap_or(7)
}

/// Median wall seconds of `f` over [`reps`] runs, after one warm-up.
fn median_seconds(f: impl FnMut()) -> f64 {
    common::median_seconds(1, reps(), f)
}

fn main() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let shape = ImageShape { height: 28, width: 28, channels: 1 };
    let d = shape.features();

    let n = 5000;
    let truth: Vec<f32> = (0..n * d).map(|_| rng.gen()).collect();
    let recon: Vec<f32> = truth.iter().map(|v| v + rng.gen_range(-0.1f32..0.1)).collect();
    let s = median_seconds(|| {
        std::hint::black_box(quality(&recon, &truth, shape));
    });
    println!("quality (PSNR, SSIM) of {n} images 28x28: {:.1} ms ({:.1} us per image)", 1e3 * s, 1e6 * s / n as f64);

    let rows = 4096;
    let a: Vec<f64> = (0..rows * d).map(|_| rng.gen_range(-1.0..1.0)).collect();
    let full = median_seconds(|| {
        std::hint::black_box(at_b(&a, &a, rows, d, d));
    });
    let sym = median_seconds(|| {
        std::hint::black_box(gram(&a, rows, d));
    });
    let macs = (rows * d * d) as f64;
    println!(
        "a^T a, {rows} x {d} f64: at_b {:.1} ms ({:.1} GMAC/s), gram {:.1} ms ({:.2}x)",
        1e3 * full,
        macs / full / 1e9,
        1e3 * sym,
        full / sym
    );

    let cost: Vec<f64> = (0..d * d).map(|_| rng.gen()).collect();
    let s = median_seconds(|| {
        std::hint::black_box(assign(&cost, d, d));
    });
    println!("assignment {d} x {d} (uniform random costs): {:.1} ms", 1e3 * s);
}
