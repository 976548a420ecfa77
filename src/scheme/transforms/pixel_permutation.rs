//! `pixel-permutation`: one secret permutation of all input features.

use rand_chacha::ChaCha20Rng;

use super::kind::{log2_factorial, FamilyStyle, FeatureMap, KeySpace, Params, Shape, Structure, TransformKind};
use super::{gather_rows, gather_rows_into, random_permutation, scatter_rows, Transform};
use crate::data::ImageShape;

pub struct Kind;

impl TransformKind for Kind {
    fn name(&self) -> &'static str {
        "pixel-permutation"
    }

    fn about(&self) -> &'static str {
        "one secret permutation of all input features"
    }

    fn label(&self, _p: &Params) -> String {
        "pixel-permutation".into()
    }

    fn short_label(&self, _p: &Params) -> String {
        "pixel-perm".into()
    }

    fn build(&self, _p: &Params, shape: ImageShape, rng: &mut ChaCha20Rng) -> Box<dyn Transform> {
        Box::new(PixelPermutation::random(shape.features(), rng))
    }

    fn key_space(&self, _p: &Params, shape: ImageShape) -> KeySpace {
        let d = shape.features() as u64;
        KeySpace { bits: log2_factorial(d), continuous_dim: 0, note: format!("log2({d}!)") }
    }

    fn structure(&self, _p: &Params) -> Structure {
        Structure::Permutes { flips: false }
    }

    fn feature_map(&self, _p: &Params, shape: ImageShape, rng: &mut ChaCha20Rng) -> Option<FeatureMap> {
        let perm = PixelPermutation::random(shape.features(), rng).perm;
        Some(FeatureMap { src: perm, ..FeatureMap::identity(shape.features()) })
    }

    fn style(&self) -> FamilyStyle {
        FamilyStyle { color: (213, 94, 0), marker: Shape::Circle } // vermilion
    }
}

/// `y[j] = x[perm[j]]`: one secret permutation of all features.
#[derive(Debug, Clone, PartialEq)]
pub struct PixelPermutation {
    /// Source feature of each output position.
    pub perm: Vec<u32>,
}

impl PixelPermutation {
    pub fn random(features: usize, rng: &mut ChaCha20Rng) -> Self {
        Self { perm: random_permutation(features, rng) }
    }
}

impl Transform for PixelPermutation {
    fn encode(&self, images: &mut [f32], _fresh: &mut ChaCha20Rng) {
        gather_rows(images, &self.perm);
    }

    fn encode_into(&self, src: &[f32], dst: &mut [f32], _fresh: &mut ChaCha20Rng) {
        gather_rows_into(src, dst, &self.perm, None);
    }

    fn decode(&self, images: &mut [f32]) -> bool {
        scatter_rows(images, &self.perm);
        true
    }
}
