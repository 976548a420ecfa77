//! The simulation's key holder.
//!
//! An attack simulation needs the customer's key for two things only: to produce what the adversary
//! observes (the encoded versions of samples, the provider's training codes) and to score what the
//! adversary recovered. Both go through an [`Oracle`]. Recovery code never receives one: every
//! attack's recovery function takes plain observations (slices, counts) and returns an estimate, and
//! its signature shows that it cannot reach the key.

use crate::config::{PrivacyConfig, TransformSpec};
use crate::data::{ImageShape, Split};
use crate::scheme::labels::LabelCodec;
use crate::scheme::transforms::neuracrypt::NeuraCrypt;
use crate::scheme::transforms::{self, FeatureMap};
use crate::scheme::{Customer, EncodedTrainingSet, SecretKey};

/// The ground truth of the input transform, for scoring.
#[derive(Debug, Clone, PartialEq)]
pub enum TrueMap {
    /// `y[j] = sign[j] * x[src[j]] + offset[j]` (+ fresh Gaussian noise of `noise_sigma` per value):
    /// what any composition of feature-wise transforms (permutations, block shuffles with flips,
    /// noise) is.
    FeatureWise { src: Vec<u32>, sign: Vec<f32>, offset: Vec<f32>, noise_sigma: f32 },
    /// The composition mixes features (orthogonal mix) or splits them (`le`'s 4-bit halves): no
    /// feature-level key to compare with.
    Mixing,
}

impl TrueMap {
    /// Each transform's feature map, drawn from its key stream exactly as
    /// [`crate::scheme::transforms::build`] draws the transform (`tests` checks that both encode
    /// alike), composed in list order; mixing transforms are not built (a dense Q is O(d^3)).
    fn of(transforms: &[TransformSpec], key: &SecretKey, shape: ImageShape) -> TrueMap {
        let mut map = FeatureMap::identity(shape.features());
        for (i, spec) in transforms.iter().enumerate() {
            let (kind, p) = transforms::kind::params(spec);
            match kind.feature_map(&p, shape, &mut transforms::key_stream(spec, i, key)) {
                Some(next) => map = map.then(&next),
                None => return TrueMap::Mixing,
            }
        }
        let FeatureMap { src, sign, offset, noise_var } = map;
        TrueMap::FeatureWise { src, sign, offset, noise_sigma: noise_var.sqrt() }
    }
}

/// Holds the key (through a [`Customer`]) for the simulation. See the module doc.
pub struct Oracle {
    customer: Customer,
    truth: TrueMap,
    blocks: Option<Vec<usize>>,
    /// A lone `neuracrypt` transform's encoder, for the true patch positions.
    neuracrypt: Option<NeuraCrypt>,
}

impl Oracle {
    pub fn new(key: SecretKey, privacy: &PrivacyConfig, dataset: &str, shape: ImageShape, classes: usize) -> Self {
        let truth = TrueMap::of(&privacy.transforms, &key, shape);
        // A lone block scramble's puzzle, as the kind itself reports it from its key stream.
        let blocks = match privacy.transforms.as_slice() {
            [one] => {
                let (kind, p) = transforms::kind::params(one);
                kind.block_origins(&p, shape, &mut transforms::key_stream(one, 0, &key))
            }
            _ => None,
        };
        let neuracrypt = match privacy.transforms.as_slice() {
            [one] if one.kind == "neuracrypt" => {
                Some(NeuraCrypt::of(&transforms::kind::params(one).1, shape, &mut transforms::key_stream(one, 0, &key)))
            }
            _ => None,
        };
        let customer = Customer::new(key, privacy, dataset, shape, classes);
        Oracle { customer, truth, blocks, neuracrypt }
    }

    /// Whether [`Self::encode`] draws from the customer's per-sample stream (per-sample noise): then
    /// what each call gets depends on the calls before it.
    pub fn draws_fresh_noise(&self) -> bool {
        self.customer.draws_fresh_input_noise()
    }

    /// Observation: `T_K(x)` of raw images, as the customer would send them.
    pub fn encode(&self, raw: &[f32]) -> Vec<f32> {
        self.customer.encode_inputs(raw).images().to_vec()
    }

    /// Observation: the provider's training set `(T_K(x), pi(y))` for `train`. Called first on a fresh
    /// oracle it reproduces the run's encoding exactly (the customer's per-sample stream is keyed).
    pub fn encode_training_set(&self, train: &Split) -> EncodedTrainingSet {
        self.customer.encode_training_set(train)
    }

    /// Scoring: the secret label assignment.
    pub fn codec(&self) -> &LabelCodec {
        self.customer.codec()
    }

    /// Scoring: the true input transform.
    pub fn truth(&self) -> &TrueMap {
        &self.truth
    }

    /// Scoring: for an arm whose one transform is a block scramble, the raw block each encoded block
    /// holds (`TransformKind::block_origins`); None otherwise.
    pub fn block_origins(&self) -> Option<&[usize]> {
        self.blocks.as_deref()
    }

    /// Scoring: for an arm whose one transform is `neuracrypt`, the grid position of the patch in each
    /// slot of each encoding of `raw` (n x positions, row-major): the position whose unshuffled
    /// encoding it equals. None for other arms.
    pub fn true_patch_positions(&self, raw: &[f32], encoded: &[f32]) -> Option<Vec<usize>> {
        let t = self.neuracrypt.as_ref()?;
        let (d, per, dim) = (t.shape.features(), t.encoded_features(), t.dim);
        let mut plain = vec![0f32; per];
        let mut out = Vec::with_capacity(encoded.len() / dim);
        for (img, enc) in raw.chunks_exact(d).zip(encoded.chunks_exact(per)) {
            t.encode_unshuffled(img, &mut plain);
            for slot in enc.chunks_exact(dim) {
                let dist = |g: &usize| -> f32 {
                    plain[g * dim..(g + 1) * dim].iter().zip(slot).map(|(a, b)| (a - b) * (a - b)).sum()
                };
                out.push((0..t.positions()).min_by(|a, b| dist(a).total_cmp(&dist(b))).unwrap_or(0));
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(transforms: Vec<TransformSpec>) {
        let shape = ImageShape { height: 8, width: 8, channels: 1 };
        let privacy = PrivacyConfig { transforms, ..Default::default() };
        let key = SecretKey::from_hex(&"3c".repeat(32)).unwrap();
        let oracle = Oracle::new(key, &privacy, "t", shape, 10);
        let d = shape.features();
        let raw: Vec<f32> = (0..3 * d).map(|i| ((i * 37) % 101) as f32 / 100.0).collect();
        let enc = oracle.encode(&raw);
        let TrueMap::FeatureWise { src, sign, offset, .. } = oracle.truth() else { panic!("feature-wise") };
        for s in 0..3 {
            for j in 0..d {
                let want = sign[j] * raw[s * d + src[j] as usize] + offset[j];
                assert!((enc[s * d + j] - want).abs() < 1e-5, "sample {s} feature {j}");
            }
        }
    }

    /// ELE's reported block order is where the customer's encoding puts each raw block: raw blocks
    /// of distinct bytes, and every 4-bit value of an encoded block is a half (or inverted half) of
    /// the byte of the raw block said to be there.
    #[test]
    fn ele_block_origins_match_the_customer_encoding() {
        let shape = ImageShape { height: 8, width: 8, channels: 1 };
        let privacy =
            PrivacyConfig { transforms: vec![TransformSpec::new("ele").with("block", 2i64)], ..Default::default() };
        let key = SecretKey::from_hex(&"5d".repeat(32)).unwrap();
        let oracle = Oracle::new(key, &privacy, "t", shape, 10);
        let origin = oracle.block_origins().expect("ele reports its block order").to_vec();
        assert_eq!(origin.len(), 16);
        assert_ne!(origin, (0..16).collect::<Vec<_>>(), "the blocks are shuffled");
        // Raw block b holds the byte 16 b + (15 - b): high half b, low half 15 - b.
        let byte = |b: usize| 16 * b + 15 - b;
        let raw: Vec<f32> = (0..64).map(|i| byte((i / 8 / 2) * 4 + (i % 8) / 2) as f32 / 255.0).collect();
        let enc = oracle.encode(&raw);
        for (e, &from) in origin.iter().enumerate() {
            let (r0, c0) = ((e / 4) * 2, (e % 4) * 2);
            for (r, c, h) in (0..2).flat_map(|r| (0..2).flat_map(move |c| (0..2).map(move |h| (r, c, h)))) {
                let v = (enc[((r0 + r) * 8 + c0 + c) * 2 + h] * 15.0).round() as usize;
                assert!([from, 15 - from].contains(&v), "encoded block {e}: half {v} is not of raw block {from}");
            }
        }
    }

    #[test]
    fn true_map_matches_the_customer_encoding() {
        let block = |b: i64, flip: bool| TransformSpec::new("block-shuffle").with("block", b).with("flip", flip);
        let noise = |sigma: f64| TransformSpec::new("noise").with("sigma", sigma);
        check(vec![TransformSpec::new("pixel-permutation")]);
        check(vec![block(2, true)]);
        check(vec![noise(0.1)]);
        check(vec![block(4, true), noise(0.2), TransformSpec::new("pixel-permutation")]);
        check(vec![noise(0.1), block(2, true), block(4, false), TransformSpec::new("pixel-permutation")]);
    }
}
