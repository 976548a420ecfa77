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
}

impl Oracle {
    pub fn new(key: SecretKey, privacy: &PrivacyConfig, dataset: &str, shape: ImageShape, classes: usize) -> Self {
        let truth = TrueMap::of(&privacy.transforms, &key, shape);
        let customer = Customer::new(key, privacy, dataset, shape, classes);
        Oracle { customer, truth }
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
