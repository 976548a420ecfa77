//! The simulation's key holder.
//!
//! An attack simulation needs the customer's key for two things only: to produce what the adversary
//! observes (the encoded versions of samples, the provider's training codes) and to score what the
//! adversary recovered. Both go through an [`Oracle`]. Recovery code never receives one: every
//! attack's recovery function takes plain observations (slices, counts) and returns an estimate, and
//! its signature shows that it cannot reach the key.

use rand_chacha::ChaCha20Rng;

use crate::config::{PrivacyConfig, TransformSpec};
use crate::data::{ImageShape, Split};
use crate::scheme::labels::LabelCodec;
use crate::scheme::transforms::{BlockShuffle, Noise, OrthogonalMix, PixelPermutation};
use crate::scheme::{Customer, EncodedTrainingSet, SecretKey};

/// The ground truth of the input transform, for scoring.
#[derive(Debug, Clone, PartialEq)]
pub enum TrueMap {
    /// `y[j] = sign[j] * x[src[j]] + offset[j]` (+ fresh Gaussian noise of `noise_sigma` per value):
    /// what any composition of pixel permutations, block shuffles (with flips) and noise is.
    FeatureWise { src: Vec<u32>, sign: Vec<f32>, offset: Vec<f32>, noise_sigma: f32 },
    /// The composition mixes features (orthogonal mix): no feature-level key to compare with.
    Mixing,
}

impl TrueMap {
    /// Compose the concrete transforms in list order.
    fn compose(transforms: &[Concrete], d: usize) -> TrueMap {
        let mut src: Vec<u32> = (0..d as u32).collect();
        let mut sign = vec![1f32; d];
        let mut offset = vec![0f32; d];
        let mut var = 0f32;
        for t in transforms {
            match t {
                Concrete::Perm(p) => {
                    src = p.perm.iter().map(|&s| src[s as usize]).collect();
                    sign = p.perm.iter().map(|&s| sign[s as usize]).collect();
                    offset = p.perm.iter().map(|&s| offset[s as usize]).collect();
                }
                Concrete::Block(b) => {
                    let (s0, g0, o0) = (src.clone(), sign.clone(), offset.clone());
                    for j in 0..d {
                        let s = b.src[j] as usize;
                        src[j] = s0[s];
                        if b.flip && b.flipped[j] {
                            sign[j] = -g0[s];
                            offset[j] = 1.0 - o0[s];
                        } else {
                            sign[j] = g0[s];
                            offset[j] = o0[s];
                        }
                    }
                }
                Concrete::Noise(n) => {
                    if n.per_sample {
                        var += n.sigma * n.sigma;
                    } else {
                        for (o, p) in offset.iter_mut().zip(&n.pattern) {
                            *o += p;
                        }
                    }
                }
                Concrete::Mix(_) => return TrueMap::Mixing,
            }
        }
        TrueMap::FeatureWise { src, sign, offset, noise_sigma: var.sqrt() }
    }
}

/// The transforms as concrete values (the customer keeps them boxed), rebuilt from the key exactly as
/// [`crate::scheme::transforms::build`] does; `tests` checks that both encode alike.
#[derive(Debug, Clone)]
enum Concrete {
    Perm(PixelPermutation),
    Block(BlockShuffle),
    Mix(#[allow(dead_code)] OrthogonalMix),
    Noise(Noise),
}

fn concrete(spec: &TransformSpec, index: usize, key: &SecretKey, shape: ImageShape) -> Concrete {
    let mut rng: ChaCha20Rng = key.stream(&format!("transform/{index}/{}", spec.label()));
    match *spec {
        TransformSpec::PixelPermutation => Concrete::Perm(PixelPermutation::random(shape.features(), &mut rng)),
        TransformSpec::BlockShuffle { block, flip } => {
            Concrete::Block(BlockShuffle::random(shape, block, flip, &mut rng))
        }
        // Building Q is O(d^3); only its presence matters for scoring.
        TransformSpec::OrthogonalMix | TransformSpec::SeparableMix | TransformSpec::FastMix { .. } => {
            Concrete::Mix(OrthogonalMix { features: 0, q: Vec::new() })
        }
        TransformSpec::Noise { sigma, per_sample } => {
            Concrete::Noise(Noise::random(shape.features(), sigma as f32, per_sample, &mut rng))
        }
    }
}

/// Holds the key (through a [`Customer`]) for the simulation. See the module doc.
pub struct Oracle {
    customer: Customer,
    truth: TrueMap,
}

impl Oracle {
    pub fn new(key: SecretKey, privacy: &PrivacyConfig, dataset: &str, shape: ImageShape, classes: usize) -> Self {
        let transforms: Vec<Concrete> =
            privacy.transforms.iter().enumerate().map(|(i, t)| concrete(t, i, &key, shape)).collect();
        let truth = TrueMap::compose(&transforms, shape.features());
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
        check(vec![TransformSpec::PixelPermutation]);
        check(vec![TransformSpec::BlockShuffle { block: 2, flip: true }]);
        check(vec![TransformSpec::Noise { sigma: 0.1, per_sample: false }]);
        check(vec![
            TransformSpec::BlockShuffle { block: 4, flip: true },
            TransformSpec::Noise { sigma: 0.2, per_sample: false },
            TransformSpec::PixelPermutation,
        ]);
    }
}
