//! Inside-dataset InstaHide (Huang, Song, Li and Arora, "InstaHide: Instance-hiding Schemes for
//! Private Distributed Learning", ICML 2020, arXiv 2010.02772), as its published training code does
//! it (github.com/Hazelsuko07/InstaHide, `train_inside.py`, functions `mixup_data` and
//! `generate_sample`):
//!
//! - **Mixing.** Encoding i is `lambda_1 x_i + lambda_2 x_p2(i) + ... + lambda_k x_pk(i)`: the image
//!   itself and one image from each of k - 1 fresh random permutations of the private training set
//!   (a permutation may map i to itself, as `torch.randperm` may).
//! - **Weights.** Per encoding, k draws of N(0, 1), absolute values, normalised to sum to 1; redrawn
//!   while the largest exceeds `upper` (`--upper 0.65`; `--klam 4` is k).
//! - **Labels.** The one-hot labels mixed with the same weights: soft targets, trained with
//!   cross-entropy against them (`mixup_criterion`).
//! - **Sign mask.** Every pixel of every encoding multiplied by a fresh random sign.
//! - **When.** The whole training set is re-mixed at the start of every epoch (`generate_sample` is
//!   called once per epoch), so the provider sees epochs x n encodings, each private image in about k
//!   of every epoch's.
//! - **Test set.** Not encoded: `test()` feeds the normalised raw test images to the model.
//!
//! One difference, said in README: the published code mixes mean/std-normalised CIFAR-10 images
//! (values of either sign); here every arm works on pixels in [0, 1], so |encoding| is exactly the
//! unsigned mix and the absolute value undoes the sign mask completely (Carlini et al. take it
//! as their first step either way).
//!
//! Every draw comes from the arm's secret (`SecretKey::stream`, one stream per epoch): the same
//! secret gives the same encodings, and `ppdl attack` replays what the provider received.

use rand::Rng;
use rand_chacha::ChaCha20Rng;

use super::SecretKey;
use crate::config::InstaHideConfig;

/// One round of mixing: the encodings, their soft targets and what made them (for the attacks'
/// ground truth and the tests).
#[derive(Debug, Clone, PartialEq)]
pub struct Mix {
    /// n rows of `features`: the sign-masked mixes.
    pub inputs: Vec<f32>,
    /// n rows of `classes`: the labels mixed with the same weights.
    pub targets: Vec<f32>,
    /// n rows of k: the images mixed into each encoding (the first is the row's own image).
    pub members: Vec<u32>,
    /// n rows of k: their weights, in the order of `members`.
    pub weights: Vec<f32>,
    pub k: usize,
}

/// k weights: |N(0, 1)| draws normalised to sum to 1, redrawn until none exceeds `upper`
/// (`mixup_data`). `upper` > 1/k (checked by the config) so that the loop ends.
pub fn draw_weights<R: Rng>(rng: &mut R, k: usize, upper: f64) -> Vec<f64> {
    loop {
        let w: Vec<f64> = (0..k).map(|_| rng.sample::<f64, _>(rand_distr::StandardNormal).abs()).collect();
        let sum: f64 = w.iter().sum();
        if sum <= 0.0 {
            continue;
        }
        let w: Vec<f64> = w.into_iter().map(|v| v / sum).collect();
        if k == 1 || w.iter().all(|&v| v <= upper) {
            return w;
        }
    }
}

/// Mix n images (rows of `features`) with their labels by the published recipe, drawing everything
/// from `rng`: the customer's keyed stream, or an adversary's own for encodings of public data.
pub fn mix<R: Rng>(
    rng: &mut R,
    images: &[f32],
    labels: &[u16],
    features: usize,
    classes: usize,
    k: usize,
    upper: f64,
) -> Mix {
    use rand::seq::SliceRandom;
    let n = labels.len();
    let weights: Vec<f32> = (0..n).flat_map(|_| draw_weights(rng, k, upper)).map(|w| w as f32).collect();
    let mut members = vec![0u32; n * k];
    for i in 0..n {
        members[i * k] = i as u32;
    }
    let mut perm: Vec<u32> = (0..n as u32).collect();
    for j in 1..k {
        perm.shuffle(rng);
        for (i, &p) in perm.iter().enumerate() {
            members[i * k + j] = p;
        }
    }
    let mut inputs = vec![0f32; n * features];
    let mut targets = vec![0f32; n * classes];
    for i in 0..n {
        let out = &mut inputs[i * features..(i + 1) * features];
        for j in 0..k {
            let (m, w) = (members[i * k + j] as usize, weights[i * k + j]);
            for (o, &x) in out.iter_mut().zip(&images[m * features..(m + 1) * features]) {
                *o += w * x;
            }
            targets[i * classes + labels[m] as usize] += w;
        }
    }
    // The sign mask: one fresh random sign per value (`torch.randint(2) * 2 - 1`).
    let mut bits = 0u64;
    for (t, v) in inputs.iter_mut().enumerate() {
        if t % 64 == 0 {
            bits = rng.gen();
        }
        if bits & 1 == 1 {
            *v = -*v;
        }
        bits >>= 1;
    }
    Mix { inputs, targets, members, weights, k }
}

/// An InstaHide arm's secret and public parameters: what encodes each epoch.
#[derive(Debug, Clone)]
pub struct InstaHide {
    key: SecretKey,
    pub k: usize,
    pub upper: f64,
}

impl InstaHide {
    pub fn new(key: SecretKey, settings: &InstaHideConfig) -> Self {
        InstaHide { key, k: settings.k, upper: settings.upper }
    }

    /// The key's fingerprint (summary.json), never the key.
    pub fn fingerprint(&self) -> String {
        self.key.fingerprint()
    }

    /// The secret, for the customer's key file.
    pub fn key(&self) -> &SecretKey {
        &self.key
    }

    /// The keyed stream of epoch `epoch` (1-based).
    fn stream(&self, epoch: usize) -> ChaCha20Rng {
        self.key.stream(&format!("instahide/epoch/{epoch}"))
    }

    /// The encodings of epoch `epoch` (1-based) of the training images (rows of `features`) and
    /// their labels: what the provider receives for that epoch.
    pub fn epoch(&self, epoch: usize, images: &[f32], labels: &[u16], features: usize, classes: usize) -> Mix {
        mix(&mut self.stream(epoch), images, labels, features, classes, self.k, self.upper)
    }
}

/// What an InstaHide arm's key file (`customer/ARM/key.json`, the secret of its mixing and sign
/// masks) must match: the dataset; no transforms, labels not permuted.
pub fn key_context(dataset: &crate::data::Dataset) -> super::key::KeyContext<'_> {
    super::key::KeyContext {
        dataset: &dataset.name,
        shape: dataset.shape,
        classes: dataset.classes,
        transforms: &[],
        label_permutation: false,
        codes_per_class: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn key(byte: &str) -> SecretKey {
        SecretKey::from_hex(&byte.repeat(32)).unwrap()
    }

    /// 12 images of 6 values, each image's values distinct and positive, 3 classes.
    fn data() -> (Vec<f32>, Vec<u16>) {
        let images = (0..72).map(|v| 0.01 + v as f32 / 100.0).collect();
        let labels = (0..12).map(|i| (i % 3) as u16).collect();
        (images, labels)
    }

    #[test]
    fn weights_sum_to_one_and_respect_the_cap() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for (k, upper) in [(2, 0.65), (4, 0.65), (6, 0.3), (4, 0.35)] {
            for _ in 0..500 {
                let w = draw_weights(&mut rng, k, upper);
                assert_eq!(w.len(), k);
                assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-9);
                assert!(w.iter().all(|&v| v >= 0.0 && v <= upper + 1e-12), "{w:?} over {upper}");
            }
        }
    }

    #[test]
    fn an_encoding_is_the_sign_masked_weighted_mix_of_its_members_and_its_label_the_same_mix() {
        let (images, labels) = data();
        let h = InstaHide::new(key("3c"), &InstaHideConfig::default());
        let m = h.epoch(1, &images, &labels, 6, 3);
        let (n, k) = (12, 4);
        let mut flipped = 0;
        for i in 0..n {
            assert_eq!(m.members[i * k], i as u32, "the first member is the row's own image");
            let w = &m.weights[i * k..(i + 1) * k];
            assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-5 && w.iter().all(|&v| v <= 0.65 + 1e-6));
            let mut target = [0f32; 3];
            for f in 0..6 {
                let unsigned: f32 = (0..k).map(|j| w[j] * images[m.members[i * k + j] as usize * 6 + f]).sum();
                let v = m.inputs[i * 6 + f];
                assert!((v.abs() - unsigned).abs() < 1e-5, "row {i} value {f}: {v} vs {unsigned}");
                flipped += (v < 0.0) as usize;
            }
            for j in 0..k {
                target[labels[m.members[i * k + j] as usize] as usize] += w[j];
            }
            for (c, t) in target.iter().enumerate() {
                assert!((m.targets[i * 3 + c] - t).abs() < 1e-6, "row {i}: soft label {c}");
            }
        }
        // A fair coin per value: 72 values, about half negative.
        assert!((20..=52).contains(&flipped), "{flipped} of 72 values flipped");
    }

    #[test]
    fn the_same_secret_gives_the_same_encoding_and_each_epoch_is_mixed_afresh() {
        let (images, labels) = data();
        let s = InstaHideConfig::default();
        let a = InstaHide::new(key("3c"), &s).epoch(1, &images, &labels, 6, 3);
        assert_eq!(a, InstaHide::new(key("3c"), &s).epoch(1, &images, &labels, 6, 3));
        assert_ne!(a.inputs, InstaHide::new(key("3d"), &s).epoch(1, &images, &labels, 6, 3).inputs);
        let second = InstaHide::new(key("3c"), &s).epoch(2, &images, &labels, 6, 3);
        assert_ne!(a.weights, second.weights);
        assert_ne!(a.members, second.members);
    }
}
