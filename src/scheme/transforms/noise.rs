//! `noise`: keyed additive Gaussian noise, a fixed secret pattern or fresh per sample.

use rand::Rng;
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, StandardNormal};

use super::kind::{FamilyStyle, FeatureMap, KeySpace, Param, ParamType, Params, Shape, Structure, TransformKind};
use super::{on_image_runs, Transform};
use crate::data::ImageShape;

pub struct Kind;

const PARAMS: &[Param] = &[
    Param {
        name: "sigma",
        title: "sigma",
        doc: "standard deviation of the noise, >= 0 (images are in [0, 1])",
        ty: ParamType::Number,
        default: None,
        initial: toml::Value::Float(0.1),
    },
    Param {
        name: "per_sample",
        title: "per sample",
        doc: "fresh noise for every sample (not invertible) instead of one fixed secret pattern",
        ty: ParamType::Flag,
        default: Some(toml::Value::Boolean(false)),
        initial: toml::Value::Boolean(false),
    },
];

impl TransformKind for Kind {
    fn name(&self) -> &'static str {
        "noise"
    }

    fn about(&self) -> &'static str {
        "keyed additive Gaussian noise: a fixed secret pattern, or fresh per sample"
    }

    fn params(&self) -> &'static [Param] {
        PARAMS
    }

    fn check(&self, p: &Params, _shape: ImageShape) -> Result<(), (&'static str, String)> {
        let sigma = p.number("sigma");
        if !(sigma >= 0.0 && sigma.is_finite()) {
            return Err(("sigma", format!("a number >= 0, got {sigma}")));
        }
        Ok(())
    }

    fn label(&self, p: &Params) -> String {
        format!("noise(sigma={}{})", p.number("sigma"), if p.flag("per_sample") { ",per-sample" } else { "" })
    }

    fn short_label(&self, p: &Params) -> String {
        format!("noise({}{})", p.number("sigma"), if p.flag("per_sample") { ",ps" } else { "" })
    }

    fn build(&self, p: &Params, shape: ImageShape, rng: &mut ChaCha20Rng) -> Box<dyn Transform> {
        Box::new(Noise::random(shape.features(), p.number("sigma") as f32, p.flag("per_sample"), rng))
    }

    fn key_space(&self, p: &Params, shape: ImageShape) -> KeySpace {
        let d = shape.features() as u64;
        if p.flag("per_sample") {
            KeySpace {
                bits: 0.0,
                continuous_dim: 0,
                note: "no key: fresh noise per sample (not invertible by anyone)".into(),
            }
        } else {
            KeySpace { bits: 0.0, continuous_dim: d, note: format!("continuous: a fixed pattern in R^{d}") }
        }
    }

    fn structure(&self, p: &Params) -> Structure {
        Structure::Noise { sigma: p.number("sigma"), per_sample: p.flag("per_sample") }
    }

    fn feature_map(&self, p: &Params, shape: ImageShape, rng: &mut ChaCha20Rng) -> Option<FeatureMap> {
        let n = Noise::random(shape.features(), p.number("sigma") as f32, p.flag("per_sample"), rng);
        let mut map = FeatureMap::identity(shape.features());
        if n.per_sample {
            map.noise_var = n.sigma * n.sigma;
        } else {
            map.offset = n.pattern;
        }
        Some(map)
    }

    fn style(&self) -> FamilyStyle {
        FamilyStyle { color: (230, 159, 0), marker: Shape::TriangleDown } // orange
    }
}

/// Keyed additive Gaussian noise: a fixed secret pattern (subtractable by the customer), or fresh
/// noise per sample (not invertible: a utility/privacy knob).
#[derive(Debug, Clone, PartialEq)]
pub struct Noise {
    pub sigma: f32,
    pub per_sample: bool,
    /// sigma-scaled fixed pattern (unused when per_sample).
    pub pattern: Vec<f32>,
}

impl Noise {
    pub fn random(features: usize, sigma: f32, per_sample: bool, rng: &mut ChaCha20Rng) -> Self {
        let pattern = (0..features)
            .map(|_| {
                let z: f32 = StandardNormal.sample(rng);
                sigma * z
            })
            .collect();
        Self { sigma, per_sample, pattern }
    }
}

impl Transform for Noise {
    fn encode(&self, images: &mut [f32], fresh: &mut ChaCha20Rng) {
        self.add_noise(None, images, fresh);
    }

    fn encode_into(&self, src: &[f32], dst: &mut [f32], fresh: &mut ChaCha20Rng) {
        assert_eq!(src.len(), dst.len(), "encode_into: source and destination differ in length");
        self.add_noise(Some(src), dst, fresh);
    }

    fn decode(&self, images: &mut [f32]) -> bool {
        if self.per_sample {
            return false;
        }
        for img in images.chunks_exact_mut(self.pattern.len()) {
            for (v, p) in img.iter_mut().zip(&self.pattern) {
                *v -= p;
            }
        }
        true
    }
}

impl Noise {
    /// `images (= src, if given) + noise`.
    fn add_noise(&self, src: Option<&[f32]>, images: &mut [f32], fresh: &mut ChaCha20Rng) {
        let d = self.pattern.len();
        if self.per_sample {
            return add_fresh_noise(src, images, d, self.sigma, fresh);
        }
        on_image_runs(images, d, |offset, run| {
            for (i, img) in run.chunks_exact_mut(d).enumerate() {
                let base = src.map(|s| &s[offset + i * d..offset + (i + 1) * d]);
                match base {
                    Some(x) => img.iter_mut().zip(x).zip(&self.pattern).for_each(|((v, x), p)| *v = x + p),
                    None => img.iter_mut().zip(&self.pattern).for_each(|(v, p)| *v += p),
                }
            }
        });
    }
}

/// `images (= src, if given) += sigma * z`, z standard normal and fresh for every value. One 256-bit seed is drawn from
/// `fresh`; image k of the batch takes its noise from ChaCha8 stream k of that seed, so the noise
/// depends on the key alone, never on how the batch is split over cores. ChaCha8 rather than ChaCha20,
/// and a 32-bit ziggurat rather than `rand_distr`'s 64-bit one: this noise is a utility/privacy knob,
/// not key material, drawing the random bits was most of its cost, and 8 rounds still have no known
/// distinguisher.
fn add_fresh_noise(src: Option<&[f32]>, images: &mut [f32], features: usize, sigma: f32, fresh: &mut ChaCha20Rng) {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    if features == 0 || images.is_empty() {
        return;
    }
    let seed: [u8; 32] = fresh.gen();
    on_image_runs(images, features, |offset, run| {
        let mut rng = ChaCha8Rng::from_seed(seed);
        for (k, img) in run.chunks_exact_mut(features).enumerate() {
            if let Some(src) = src {
                let start = offset + k * features;
                img.copy_from_slice(&src[start..start + features]);
            }
            rng.set_stream((offset / features + k) as u64);
            rng.set_word_pos(0);
            crate::scheme::gaussian::add_scaled_normals(img, sigma, &mut rng);
        }
    });
}
