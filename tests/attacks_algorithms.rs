//! The attacks' building blocks on small data: each test pins an expected truth and can fail.

use ppdl::attacks::assignment::{assign, total_cost};
use ppdl::attacks::key_space::{label_component, log2_factorial, transform_components};
use ppdl::attacks::known_plaintext::{
    functional_fraction, key_fraction, least_squares, match_features, varying_features,
};
use ppdl::attacks::label_frequency::{group_codes, match_frequencies, match_groups, score_map};
use ppdl::attacks::metrics::{mse, psnr_from_mse, quality, ssim, PSNR_CAP_DB};
use ppdl::attacks::oracle::TrueMap;
use ppdl::attacks::{Family, Oracle};
use ppdl::config::{PrivacyConfig, TransformSpec};
use ppdl::data::ImageShape;
use ppdl::scheme::labels::LabelCodec;
use ppdl::scheme::SecretKey;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SHAPE: ImageShape = ImageShape { height: 8, width: 8, channels: 1 };

fn key(n: u8) -> SecretKey {
    SecretKey::from_hex(&format!("{n:02x}").repeat(32)).unwrap()
}

fn oracle(transforms: Vec<TransformSpec>) -> Oracle {
    let privacy = PrivacyConfig { transforms, ..Default::default() };
    Oracle::new(key(9), &privacy, "test", SHAPE, 10)
}

/// Binary images: few samples leave many pixels indistinguishable, many samples do not.
fn binary_images(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n * SHAPE.features()).map(|_| if rng.gen::<f32>() < 0.3 { 1.0 } else { 0.0 }).collect()
}

fn uniform_images(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n * SHAPE.features()).map(|_| rng.gen::<f32>()).collect()
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for pos in 0..=p.len() {
            let mut q = p.clone();
            q.insert(pos, n - 1);
            out.push(q);
        }
    }
    out
}

#[test]
fn hungarian_is_optimal_on_small_random_matrices() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for trial in 0..60 {
        let n = 1 + trial % 7;
        let m = n + (trial / 7) % 3; // square and rectangular (n <= m)
                                     // Integer costs make ties common, which the algorithm must still handle.
        let cost: Vec<f64> = (0..n * m).map(|_| rng.gen_range(0..10) as f64 - 3.0).collect();
        let got = assign(&cost, n, m);
        let mut seen = vec![false; m];
        for &j in &got {
            assert!(j < m && !seen[j], "trial {trial}: not an assignment: {got:?}");
            seen[j] = true;
        }
        // Brute force over injective maps: permutations of m columns, first n used.
        let best = permutations(m)
            .iter()
            .map(|p| (0..n).map(|i| cost[i * m + p[i]]).sum::<f64>())
            .fold(f64::INFINITY, f64::min);
        let value = total_cost(&cost, m, &got);
        assert!((value - best).abs() < 1e-9, "trial {trial} ({n}x{m}): got {value}, optimum {best}");
    }
}

#[test]
fn ssim_and_psnr_behave() {
    let x = uniform_images(3, 1);
    let d = SHAPE.features();
    for img in x.chunks_exact(d) {
        assert!((ssim(img, img, SHAPE) - 1.0).abs() < 1e-12, "SSIM(x, x) must be 1");
    }
    let q = quality(&x, &x, SHAPE);
    assert_eq!(q.mse, 0.0);
    assert_eq!(q.psnr_db, PSNR_CAP_DB);
    assert!((q.ssim - 1.0).abs() < 1e-12);
    // PSNR: 10 log10(1 / MSE) for data range 1.
    assert!((psnr_from_mse(0.01) - 20.0).abs() < 1e-9);
    assert!((psnr_from_mse(0.001) - 30.0).abs() < 1e-9);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut last_psnr = f64::INFINITY;
    let mut last_ssim = 1.0;
    for sigma in [0.01f32, 0.05, 0.1, 0.3] {
        let noisy: Vec<f32> = x.iter().map(|v| (v + sigma * (rng.gen::<f32>() - 0.5) * 3.46).clamp(0.0, 1.0)).collect();
        let q = quality(&noisy, &x, SHAPE);
        assert!((q.mse - mse(&noisy, &x)).abs() < 1e-12);
        assert!(q.psnr_db < last_psnr, "PSNR must fall as noise grows");
        assert!(q.ssim < last_ssim, "SSIM must fall as noise grows");
        assert!(q.ssim > -1.0 && q.ssim < 1.0);
        last_psnr = q.psnr_db;
        last_ssim = q.ssim;
    }
    // Unrelated images score far lower than the image itself.
    let other = uniform_images(3, 99);
    assert!(quality(&other, &x, SHAPE).ssim < 0.2);
}

#[test]
fn known_plaintext_recovers_a_pixel_permutation_once_enough_pairs_are_seen() {
    let o = oracle(vec![TransformSpec::new("pixel-permutation")]);
    let TrueMap::FeatureWise { src, sign, .. } = o.truth().clone() else { panic!("feature-wise") };
    let family = Family::of(&[TransformSpec::new("pixel-permutation")]);
    let d = SHAPE.features();
    let pairs = binary_images(64, 3);
    let encoded = o.encode(&pairs);
    let unseen = binary_images(200, 4);
    let unseen_enc = o.encode(&unseen);
    // Two binary pairs: at most 4 distinguishable value sequences for 64 pixels.
    let few = match_features(&pairs[..2 * d], &encoded[..2 * d], d, family);
    let k_few = key_fraction(&few, &src, &sign, &varying_features(&pairs[..2 * d], d));
    assert!(k_few < 0.5, "2 pairs cannot pin a permutation of 64 pixels, got {k_few}");
    let all = match_features(&pairs, &encoded, d, family);
    let varying = varying_features(&pairs, d);
    assert!(varying.iter().filter(|v| **v).count() > 60);
    assert_eq!(key_fraction(&all, &src, &sign, &varying), 1.0, "64 pairs identify every varying pixel");
    let recon = all.decode(&unseen_enc);
    assert!(quality(&recon, &unseen, SHAPE).mse < 1e-12, "unseen data decodes exactly");
}

#[test]
fn known_plaintext_recovers_block_shuffle_with_flips_and_fixed_noise() {
    let specs = vec![
        TransformSpec::new("block-shuffle").with("block", 4).with("flip", true),
        TransformSpec::new("noise").with("sigma", 0.2).with("per_sample", false),
    ];
    let o = oracle(specs.clone());
    let TrueMap::FeatureWise { src, sign, .. } = o.truth().clone() else { panic!("feature-wise") };
    assert!(sign.iter().any(|&s| s < 0.0), "this key flips some blocks");
    let d = SHAPE.features();
    let pairs = uniform_images(40, 5);
    let est = match_features(&pairs, &o.encode(&pairs), d, Family::of(&specs));
    assert_eq!(key_fraction(&est, &src, &sign, &vec![true; d]), 1.0);
    let unseen = uniform_images(50, 6);
    let recon = est.decode(&o.encode(&unseen));
    let worst = recon.iter().zip(&unseen).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst < 1e-4, "flip and noise pattern removed exactly, worst error {worst}");
}

#[test]
fn least_squares_recovers_an_orthogonal_mix_once_n_reaches_d() {
    let o = oracle(vec![TransformSpec::new("orthogonal-mix")]);
    assert_eq!(*o.truth(), TrueMap::Mixing);
    let d = SHAPE.features();
    let pairs = uniform_images(2 * d, 7);
    let encoded = o.encode(&pairs);
    let unseen = uniform_images(300, 8);
    let unseen_enc = o.encode(&unseen);
    let all = vec![true; d];
    let at = |n: usize| {
        let dec = least_squares(&pairs[..n * d], d, &encoded[..n * d], d, 1e-9);
        let recon = dec.decode(&unseen_enc);
        (functional_fraction(&recon, &unseen, d, &all, 0.5 / 255.0), quality(&recon, &unseen, SHAPE))
    };
    let (half, q_half) = at(d / 2);
    assert!(half < 0.1, "n = d/2 pairs cannot determine a {d}x{d} mix ({half} of features within 0.5/255)");
    assert!(q_half.psnr_db < 25.0);
    let (full, q_full) = at(d + 8);
    assert_eq!(full, 1.0, "n >= d pairs recover every feature");
    assert!(q_full.psnr_db > 60.0, "PSNR {} dB", q_full.psnr_db);
}

#[test]
fn label_frequency_recovers_an_unsplit_permutation_on_imbalanced_classes() {
    let c = 10;
    let weights: Vec<f64> = (1..=c).map(|v| v as f64).collect();
    let total: f64 = weights.iter().sum();
    let priors: Vec<f64> = weights.iter().map(|w| w / total).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let codec = LabelCodec::random(c, 1, true, &mut key(3).stream("labels/assignment"));
    let mut fresh = key(3).stream("fresh");
    let mut counts = vec![0usize; c];
    for _ in 0..20_000 {
        let y = sample(&priors, &mut rng);
        counts[codec.encode(y as u8, &mut fresh) as usize] += 1;
    }
    let map = match_frequencies(&counts, &priors, 1);
    let (classes, codes) = score_map(&map, &codec);
    assert_eq!((classes, codes), (1.0, 1.0), "distinct priors give the whole permutation away");
}

#[test]
fn label_splitting_on_balanced_classes_defeats_frequency_matching() {
    let (c, m) = (10, 3);
    let priors = vec![0.1; c];
    let mut rng = ChaCha8Rng::seed_from_u64(22);
    let codec = LabelCodec::random(c, m, true, &mut key(4).stream("labels/assignment"));
    let mut fresh = key(4).stream("fresh");
    let mut counts = vec![0usize; c * m];
    for _ in 0..30_000 {
        let y = sample(&priors, &mut rng);
        counts[codec.encode(y as u8, &mut fresh) as usize] += 1;
    }
    let map = match_frequencies(&counts, &priors, m);
    let (classes, codes) = score_map(&map, &codec);
    assert!(classes <= 0.1, "balanced classes with splitting: {classes} of classes recovered");
    assert!(codes <= 0.3, "balanced classes with splitting: {codes} of codes right");
}

#[test]
fn label_splitting_does_not_hide_imbalanced_priors() {
    // A model trained on split codes cannot tell a class's codes apart: their scores move together,
    // so the provider can group the codes; either way the priors give the classes away.
    let (c, m) = (6, 3);
    let outputs = c * m;
    let weights: Vec<f64> = (1..=c).map(|v| v as f64).collect();
    let total: f64 = weights.iter().sum();
    let priors: Vec<f64> = weights.iter().map(|w| w / total).collect();
    let codec = LabelCodec::random(c, m, true, &mut key(5).stream("labels/assignment"));
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    let mut fresh = key(5).stream("fresh");
    let mut scores = Vec::new();
    let mut counts = vec![0usize; outputs];
    for _ in 0..20_000 {
        let y = sample(&priors, &mut rng);
        counts[codec.encode(y as u8, &mut fresh) as usize] += 1;
    }
    for _ in 0..600 {
        let y = sample(&priors, &mut rng);
        let confidence: f32 = rng.gen_range(1.0..4.0);
        for k in 0..outputs {
            let own = codec.class_of_code[k] as usize == y;
            scores.push(if own { confidence } else { 0.0 } + rng.gen_range(-0.2..0.2));
        }
    }
    let by_frequency = score_map(&match_frequencies(&counts, &priors, m), &codec).0;
    let groups = group_codes(&scores, outputs, m);
    assert_eq!(groups.len(), c);
    let grouped = score_map(&match_groups(&groups, &counts, &priors), &codec).0;
    assert_eq!(grouped, 1.0, "grouped codes + priors recover every class");
    // Splitting gives each of a class's m codes a frequency of prior/m: with distinct priors and
    // enough training labels, frequencies alone still give the classes away.
    assert_eq!(by_frequency, 1.0, "splitting does not hide distinct priors");
}

#[test]
fn key_space_formulas() {
    let mnist = ImageShape { height: 28, width: 28, channels: 1 };
    assert!((log2_factorial(784) - 6412.99).abs() < 0.01, "log2(784!) = {}", log2_factorial(784));
    assert!((log2_factorial(10) - (3_628_800f64).log2()).abs() < 1e-9);
    // Stirling's series above a million agrees with the exact sum.
    let exact: f64 = (2..=1_000_000u64).map(|k| (k as f64).log2()).sum();
    assert!((log2_factorial(1_000_000) - exact).abs() < 1e-3);
    let comps = transform_components(
        &[
            TransformSpec::new("block-shuffle").with("block", 4).with("flip", true),
            TransformSpec::new("orthogonal-mix"),
        ],
        mnist,
    );
    let want = log2_factorial(49) + 49.0 * log2_factorial(16) + 49.0;
    assert!((comps[0].bits - want).abs() < 1e-6);
    assert_eq!(comps[1].bits, 0.0);
    assert_eq!(comps[1].continuous_dim, 784 * 783 / 2);
    let labels = label_component(10, 3, true);
    assert!((labels.bits - (log2_factorial(30) - 10.0 * log2_factorial(3))).abs() < 1e-9);
    assert_eq!(label_component(10, 1, true).bits, (3_628_800f64).log2());
    assert_eq!(label_component(10, 3, false).bits, 0.0);
}

fn sample(priors: &[f64], rng: &mut ChaCha8Rng) -> usize {
    let u: f64 = rng.gen();
    let mut acc = 0.0;
    for (i, p) in priors.iter().enumerate() {
        acc += p;
        if u < acc {
            return i;
        }
    }
    priors.len() - 1
}
