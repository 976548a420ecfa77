//! The keyed scheme: inverses, key determinism, label codec, key files, and the "innate property"
//! (a permuted-input MLP follows the baseline's training trajectory).

use std::path::Path;

use dfdx::nn::ZeroGrads;
use dfdx::optim::{Adam, AdamConfig, Optimizer};
use dfdx::prelude::*;
use ppdl::config::{PrivacyConfig, TransformSpec};
use ppdl::data::{ImageShape, Split};
use ppdl::model::arch::Mlp1;
use ppdl::scheme::key::{KeyContext, KeyFile};
use ppdl::scheme::labels::LabelCodec;
use ppdl::scheme::transforms::{self, BlockShuffle, PixelPermutation, SeparableMix};
use ppdl::scheme::{Customer, SecretKey};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

const SHAPE: ImageShape = ImageShape { height: 8, width: 8, channels: 1 };

fn key(n: u8) -> SecretKey {
    SecretKey::from_hex(&format!("{:02x}", n).repeat(32)).unwrap()
}

fn images(n: usize, features: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..n * features).map(|_| rng.gen::<f32>()).collect()
}

fn all_specs() -> Vec<TransformSpec> {
    vec![
        TransformSpec::new("pixel-permutation"),
        TransformSpec::new("block-shuffle").with("block", 2).with("flip", false),
        TransformSpec::new("block-shuffle").with("block", 4).with("flip", true),
        TransformSpec::new("orthogonal-mix"),
        TransformSpec::new("separable-mix"),
        TransformSpec::new("fast-mix").with("rounds", 3),
        TransformSpec::new("noise").with("sigma", 0.1).with("per_sample", false),
        TransformSpec::new("noise").with("sigma", 0.1).with("per_sample", true),
    ]
}

#[test]
fn every_transform_inverts_where_it_can_and_changes_the_data() {
    let x = images(5, SHAPE.features(), 1);
    for spec in all_specs() {
        let t = transforms::build(&spec, 0, &key(7), SHAPE);
        let mut y = x.clone();
        t.encode(&mut y, &mut ChaCha20Rng::seed_from_u64(3));
        let changed = y.iter().zip(&x).filter(|(a, b)| (*a - *b).abs() > 1e-6).count();
        assert!(changed > x.len() / 2, "{spec:?} left most values in place");
        let invertible = t.decode(&mut y);
        if spec.get("per_sample") == Some(&true.into()) {
            assert!(!invertible, "per-sample noise cannot be inverted")
        } else {
            assert!(invertible, "{spec:?} should invert");
            let err = y.iter().zip(&x).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(err < 1e-4, "{spec:?} round trip error {err}");
        }
    }
}

#[test]
fn encode_into_equals_copy_then_encode() {
    // 2,100 images take the multi-threaded paths; 28x28 the fixed-size mixing kernels; 6x10x3 the
    // general ones, with channels.
    for shape in
        [SHAPE, ImageShape { height: 28, width: 28, channels: 1 }, ImageShape { height: 6, width: 10, channels: 3 }]
    {
        for n in [3, 2100] {
            let x = images(n, shape.features(), 5);
            for spec in all_specs() {
                let t = transforms::build(&spec, 0, &key(9), shape);
                let mut copied = x.clone();
                t.encode(&mut copied, &mut ChaCha20Rng::seed_from_u64(4));
                let mut into = vec![f32::NAN; x.len()];
                t.encode_into(&x, &mut into, &mut ChaCha20Rng::seed_from_u64(4));
                let err = copied.iter().zip(&into).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
                // The same arithmetic in the same order, except the dense mix (one gemm instead of
                // chunks of 2,048 rows), which may sum in another order.
                assert!(err <= 1e-6, "{spec:?} {shape:?} n={n}: encode_into differs by {err}");
            }
        }
    }
}

#[test]
fn transforms_are_determined_by_the_key_and_differ_across_keys() {
    let x = images(3, SHAPE.features(), 2);
    for spec in all_specs() {
        let encode = |k: u8| {
            let t = transforms::build(&spec, 0, &key(k), SHAPE);
            let mut y = x.clone();
            t.encode(&mut y, &mut ChaCha20Rng::seed_from_u64(9));
            y
        };
        assert_eq!(encode(1), encode(1), "{spec:?} not deterministic for one key");
        // Per-sample noise draws from the customer's own keyed stream (`fresh`), not the transform key.
        if spec.get("per_sample") != Some(&true.into()) {
            assert_ne!(encode(1), encode(2), "{spec:?} ignores the key");
        }
    }
}

#[test]
fn pixel_permutation_is_a_permutation_and_block_shuffle_keeps_blocks_together() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let p = PixelPermutation::random(64, &mut rng);
    let mut sorted = p.perm.clone();
    sorted.sort();
    assert_eq!(sorted, (0..64).collect::<Vec<u32>>());

    let b = BlockShuffle::random(SHAPE, 4, false, &mut rng);
    // Every output 4x4 block draws all its pixels from one input 4x4 block.
    for ob in 0..4 {
        let (obr, obc) = (ob / 2, ob % 2);
        let sources: std::collections::BTreeSet<usize> = (0..16)
            .map(|k| {
                let (r, c) = (obr * 4 + k / 4, obc * 4 + k % 4);
                let s = b.src[r * 8 + c] as usize;
                (s / 8 / 4) * 2 + (s % 8) / 4
            })
            .collect();
        assert_eq!(sources.len(), 1, "output block {ob} mixes input blocks {sources:?}");
    }
}

#[test]
fn orthogonal_mix_preserves_norms() {
    let t = transforms::build(&TransformSpec::new("orthogonal-mix"), 0, &key(3), SHAPE);
    let x = images(4, 64, 4);
    let mut y = x.clone();
    t.encode(&mut y, &mut ChaCha20Rng::seed_from_u64(0));
    for (a, b) in x.chunks(64).zip(y.chunks(64)) {
        let na: f32 = a.iter().map(|v| v * v).sum();
        let nb: f32 = b.iter().map(|v| v * v).sum();
        assert!((na - nb).abs() < 1e-3 * na, "norm {na} -> {nb}");
    }
}

#[test]
fn separable_mix_is_the_kronecker_product_of_its_axis_factors() {
    // A non-square, multi-channel shape pins the index convention (channel-last) and, with 3,000
    // images, takes the multi-threaded path; 28x28 and 32x32 take the fixed-size kernels.
    for (shape, n) in [
        (ImageShape { height: 4, width: 6, channels: 3 }, 3000),
        (ImageShape { height: 28, width: 28, channels: 1 }, 3),
        (ImageShape { height: 32, width: 32, channels: 1 }, 3),
        // An axis longer than the small-matrix kernels take: that axis is one gemm, and the axes are
        // mixed one after the other instead of fused.
        (ImageShape { height: 3, width: 70, channels: 1 }, 5),
    ] {
        let (h, w, c) = (shape.height, shape.width, shape.channels);
        let d = shape.features();
        let t = SeparableMix::random(shape, &mut ChaCha20Rng::seed_from_u64(11));
        let [qr, qc, qch] = &t.factors;
        let dense = |i: usize, j: usize| {
            let (ih, iw, ic) = (i / (w * c), (i / c) % w, i % c);
            let (jh, jw, jc) = (j / (w * c), (j / c) % w, j % c);
            qr[ih * h + jh] * qc[iw * w + jw] * qch[ic * c + jc]
        };
        let x = images(n, d, 12);
        let mut y = x.clone();
        transforms::Transform::encode(&t, &mut y, &mut ChaCha20Rng::seed_from_u64(0));
        for (xs, ys) in x.chunks(d).zip(y.chunks(d)) {
            for (i, &got) in ys.iter().enumerate() {
                let want: f32 = (0..d).map(|j| dense(i, j) * xs[j]).sum();
                assert!((got - want).abs() < 1e-4, "{shape:?} feature {i}: {got} vs {want}");
            }
        }
        assert!(transforms::Transform::decode(&t, &mut y));
        let err = y.iter().zip(&x).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(err < 1e-5, "{shape:?} round trip error {err}");
    }
}

#[test]
fn label_codec_without_splitting_is_a_permutation_and_decodes_exactly() {
    let codec = LabelCodec::random(10, 1, true, &mut ChaCha20Rng::seed_from_u64(1));
    let mut codes: Vec<u16> = codec.codes_of_class.iter().map(|c| c[0]).collect();
    assert_ne!(codes, (0..10).collect::<Vec<u16>>(), "a random permutation of 10 should move something");
    codes.sort();
    assert_eq!(codes, (0..10).collect::<Vec<u16>>());
    // A one-hot score on code pi(c) decodes to class c.
    for c in 0..10u8 {
        let mut scores = vec![-10.0f32; 10];
        scores[codec.codes_of_class[c as usize][0] as usize] = 10.0;
        assert_eq!(codec.predict(&scores), vec![c as usize]);
    }
}

#[test]
fn label_splitting_spreads_a_class_over_its_codes_and_sums_them_when_decoding() {
    let codec = LabelCodec::random(4, 3, true, &mut ChaCha20Rng::seed_from_u64(2));
    assert_eq!(codec.outputs(), 12);
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let used: std::collections::BTreeSet<u16> = (0..300).map(|_| codec.encode(2, &mut rng)).collect();
    assert_eq!(used, codec.codes_of_class[2].iter().copied().collect());
    // Class 1's three codes each hold 0.3 probability mass, class 0's single best code 0.4:
    // summing decides for class 1.
    let mut logits = vec![-30.0f32; 12];
    for &c in &codec.codes_of_class[1] {
        logits[c as usize] = (0.3f32).ln();
    }
    logits[codec.codes_of_class[0][0] as usize] = (0.4f32).ln();
    assert_eq!(codec.predict(&logits), vec![1]);
}

#[test]
fn customer_encodes_training_labels_into_codes_of_the_right_class() {
    let privacy = PrivacyConfig { codes_per_class: 2, ..PrivacyConfig::default() };
    let customer = Customer::new(key(4), &privacy, "test", SHAPE, 10);
    let split = Split { images: images(50, 64, 6), labels: (0..50).map(|i| (i % 10) as u8).collect(), features: 64 };
    let enc = customer.encode_training_set(&split);
    for (&code, &label) in enc.codes().iter().zip(&split.labels) {
        assert_eq!(customer.codec().class_of_code[code as usize], label as u16);
    }
    assert_eq!(enc.view().outputs, 20);
    assert_ne!(enc.inputs().images(), &split.images[..]);
    assert_eq!(customer.decode_inputs(enc.inputs().images()).map(|v| v.len()), Some(split.images.len()));
}

#[test]
fn key_file_round_trips_with_mode_0600_and_rejects_mismatches() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key.json");
    let privacy = PrivacyConfig::default();
    let customer = Customer::new(key(5), &privacy, "mnist", SHAPE, 10);
    customer.key_file().save(&path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let ctx = customer.key_context();
    let loaded = KeyFile::load(&path, &ctx).unwrap();
    assert_eq!(loaded.fingerprint(), key(5).fingerprint());

    let other = KeyContext { dataset: "fashion-mnist", ..ctx.clone() };
    let err = KeyFile::load(&path, &other).unwrap_err().to_string();
    assert!(err.contains("dataset") && err.contains("another run"), "{err}");
    let other_transforms = [TransformSpec::new("orthogonal-mix")];
    let other = KeyContext { transforms: &other_transforms, ..ctx.clone() };
    assert!(KeyFile::load(&path, &other).unwrap_err().to_string().contains("transforms"));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = KeyFile::load(&path, &ctx).unwrap_err().to_string();
        assert!(err.contains("mode 644"), "{err}");
        assert_eq!(ppdl::error::exit_code(&KeyFile::load(&path, &ctx).unwrap_err()), 2);
    }
    assert!(KeyFile::load(Path::new("/nonexistent/key.json"), &ctx).is_err());
}

#[test]
fn fresh_keys_differ() {
    assert_ne!(SecretKey::fresh().to_hex(), SecretKey::fresh().to_hex());
}

/// The innate property: W x = (W P^T)(P x). An MLP trained on permuted inputs, whose first layer starts
/// as the baseline's with rows permuted, follows the baseline's trajectory step for step.
#[test]
fn permuted_mlp_follows_the_baseline_trajectory() {
    let (d, h, c, n, batch) = (64usize, 32usize, 10usize, 256usize, 32usize);
    let x = images(n, d, 11);
    let labels: Vec<usize> = (0..n).map(|i| (x[i * d] * 7.0 + x[i * d + 5] * 3.0) as usize % c).collect();
    let labels = &labels;
    let perm = PixelPermutation::random(d, &mut ChaCha20Rng::seed_from_u64(12));
    let mut y = x.clone();
    use ppdl::scheme::transforms::Transform;
    perm.encode(&mut y, &mut ChaCha20Rng::seed_from_u64(0));

    let dev = Cpu::seed_from_u64(0);
    let mut base = Mlp1::new(&dev, d, h, c);
    let mut private = base.clone();
    // Row j of the private first layer sees encoded feature j = raw feature perm[j].
    let w = base.fc1.weight.as_vec();
    let mut wp = vec![0f32; d * h];
    for j in 0..d {
        let src = perm.perm[j] as usize;
        wp[j * h..(j + 1) * h].copy_from_slice(&w[src * h..(src + 1) * h]);
    }
    private.fc1.weight = dev.tensor_from_vec(wp, (d, h));

    let cfg = AdamConfig { lr: 1e-2, ..Default::default() };
    let mut opt_b = Adam::new(&base, cfg);
    let mut opt_p = Adam::new(&private, cfg);
    let mut grads_b = base.alloc_grads();
    let mut grads_p = private.alloc_grads();
    let mut max_rel = 0.0f32;
    let mut losses = Vec::new();
    for step in 0..120 {
        let start = (step * batch) % n;
        let onehot: Vec<f32> =
            (start..start + batch).flat_map(|i| (0..c).map(move |k| if k == labels[i] { 1.0 } else { 0.0 })).collect();
        let t = |v: &[f32]| -> Tensor<(usize, usize), f32, Cpu> {
            dev.tensor_from_vec(v[start * d..(start + batch) * d].to_vec(), (batch, d))
        };
        let target: Tensor<(usize, usize), f32, Cpu> = dev.tensor_from_vec(onehot, (batch, c));
        let lb = cross_entropy_with_logits_loss(base.forward_mut(t(&x).traced(grads_b)), target.clone());
        let lp = cross_entropy_with_logits_loss(private.forward_mut(t(&y).traced(grads_p)), target);
        let (vb, vp) = (lb.with_empty_tape().as_vec()[0], lp.with_empty_tape().as_vec()[0]);
        max_rel = max_rel.max((vb - vp).abs() / vb.abs().max(1e-6));
        losses.push(vb);
        grads_b = lb.backward();
        grads_p = lp.backward();
        opt_b.update(&mut base, &grads_b).unwrap();
        opt_p.update(&mut private, &grads_p).unwrap();
        base.zero_grads(&mut grads_b);
        private.zero_grads(&mut grads_p);
    }
    assert!(losses[119] < 0.7 * losses[0], "training should make progress: {} -> {}", losses[0], losses[119]);
    assert!(max_rel < 1e-4, "trajectories diverged: max relative loss difference {max_rel}");
}

#[test]
fn per_sample_noise_is_gaussian_fresh_per_sample_and_independent_of_how_the_batch_is_split() {
    // 3,000 images are split over the cores; every image has its own noise stream, which must be
    // N(0, sigma^2) and unrelated to the others (a stream reused for two images repeats its noise).
    let d = SHAPE.features();
    let n = 3000;
    let t =
        transforms::build(&TransformSpec::new("noise").with("sigma", 0.5).with("per_sample", true), 0, &key(4), SHAPE);
    let mut y = vec![0f32; n * d];
    t.encode(&mut y, &mut ChaCha20Rng::seed_from_u64(9));
    let (mean, var) = {
        let m = y.iter().map(|&v| v as f64).sum::<f64>() / y.len() as f64;
        (m, y.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / y.len() as f64)
    };
    assert!(mean.abs() < 0.005, "mean {mean}");
    assert!((var.sqrt() - 0.5).abs() < 0.005, "std {}", var.sqrt());
    let images: Vec<&[f32]> = y.chunks_exact(d).collect();
    for (i, a) in images.iter().enumerate().step_by(97) {
        for b in images.iter().skip(i + 1).step_by(89) {
            assert_ne!(a, b, "two samples got the same noise");
        }
    }
    // Same fresh stream, same noise; a different one, different noise.
    let again = |seed| {
        let mut z = vec![0f32; n * d];
        t.encode(&mut z, &mut ChaCha20Rng::seed_from_u64(seed));
        z
    };
    assert_eq!(again(9), y);
    assert_ne!(again(10), y);
    // Image k's noise depends on k and the fresh stream only: a batch of 5 (one thread) gets exactly
    // the noise the first 5 images got in the batch of 3,000.
    let mut small = vec![0f32; 5 * d];
    t.encode(&mut small, &mut ChaCha20Rng::seed_from_u64(9));
    assert_eq!(small, y[..5 * d]);
}
