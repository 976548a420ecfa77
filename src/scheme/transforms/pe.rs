//! `pe`: pixel-based image encryption (Sirichotedumrong, Kinoshita and Kiya, "Pixel-based image
//! encryption without key management for privacy-preserving deep neural networks", ICIP 2019,
//! arXiv 1905.01827).
//!
//! Per pixel and channel a keyed negative-positive transformation (x -> 1 - x on values in [0, 1];
//! 255 - p on 8-bit values), then per pixel a keyed shuffle of its colour channels (nothing to shuffle
//! in a grayscale image). With one key for all images (the default) the map is feature-wise and the
//! customer inverts it exactly. With `per_image` every image gets its own key, drawn from the
//! customer's fresh keyed stream like per-sample noise (the paper's "without key management"
//! variant): nobody, the customer included, inverts an encoding without replaying that stream.

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha20Rng;

use super::etc::feature_map_of;
use super::kind::{
    log2_factorial, FamilyStyle, FeatureMap, KeySpace, Param, ParamType, Params, Shape, Structure, TransformKind,
};
use super::{on_image_runs, BlockShuffle, Transform};
use crate::data::ImageShape;

pub struct Kind;

const PARAMS: &[Param] = &[Param {
    name: "per_image",
    title: "per-image key",
    doc: "a fresh key for every image, from the customer's keyed per-sample stream (not invertible)",
    ty: ParamType::Flag,
    default: Some(toml::Value::Boolean(false)),
    initial: toml::Value::Boolean(false),
}];

impl TransformKind for Kind {
    fn name(&self) -> &'static str {
        "pe"
    }

    fn about(&self) -> &'static str {
        "pixel-based encryption (Sirichotedumrong et al., ICIP 2019): keyed negative-positive (x -> 1 - x) per \
         pixel and channel, then a keyed channel shuffle per pixel"
    }

    fn params(&self) -> &'static [Param] {
        PARAMS
    }

    fn label(&self, p: &Params) -> String {
        format!("pe{}", if p.flag("per_image") { "(per-image)" } else { "" })
    }

    fn short_label(&self, p: &Params) -> String {
        format!("pe{}", if p.flag("per_image") { "(pi)" } else { "" })
    }

    fn build(&self, p: &Params, shape: ImageShape, rng: &mut ChaCha20Rng) -> Box<dyn Transform> {
        if p.flag("per_image") {
            Box::new(PerImagePe { shape })
        } else {
            Box::new(pe_map(shape, rng))
        }
    }

    fn key_space(&self, p: &Params, shape: ImageShape) -> KeySpace {
        let pixels = (shape.height * shape.width) as u64;
        let c = shape.channels as u64;
        let bits = (pixels * c) as f64 + pixels as f64 * log2_factorial(c);
        let shuffle = if c > 1 { format!(" * ({c}!)^{pixels}") } else { String::new() };
        let per_image = if p.flag("per_image") { " per image (a fresh key each)" } else { "" };
        KeySpace { bits, continuous_dim: 0, note: format!("log2(2^{}{shuffle}){per_image}", pixels * c) }
    }

    fn structure(&self, p: &Params) -> Structure {
        if p.flag("per_image") {
            // No fixed feature map: each image is negated and shuffled differently.
            Structure::Mixes { separable: false }
        } else {
            Structure::Permutes { flips: true }
        }
    }

    fn feature_map(&self, p: &Params, shape: ImageShape, rng: &mut ChaCha20Rng) -> Option<FeatureMap> {
        (!p.flag("per_image")).then(|| feature_map_of(&pe_map(shape, rng)))
    }

    fn draws_fresh(&self, p: &Params) -> bool {
        p.flag("per_image")
    }

    fn style(&self) -> FamilyStyle {
        FamilyStyle { color: (120, 75, 30), marker: Shape::Cross } // brown (grey is "other")
    }
}

/// One PE key: per value a negative-positive bit, per pixel a channel order (output channel `ch`
/// reads input channel `order[ch]`).
fn draw(shape: ImageShape, rng: &mut ChaCha20Rng, negative: &mut [bool], order: &mut [u32]) {
    let c = shape.channels;
    for v in negative.iter_mut() {
        *v = rng.gen();
    }
    for (pixel, chans) in order.chunks_exact_mut(c).enumerate() {
        for (ch, o) in chans.iter_mut().enumerate() {
            *o = (pixel * c + ch) as u32;
        }
        if c > 1 {
            chans.shuffle(rng);
        }
    }
}

/// The fixed-key PE map as a gather-and-flip (exactly invertible).
fn pe_map(shape: ImageShape, rng: &mut ChaCha20Rng) -> BlockShuffle {
    let d = shape.features();
    let (mut flipped, mut src) = (vec![false; d], vec![0u32; d]);
    draw(shape, rng, &mut flipped, &mut src);
    BlockShuffle { block: 1, shape, src, flipped, flip: true }
}

/// PE with a fresh key per image, drawn from the customer's per-sample stream.
#[derive(Debug, Clone, PartialEq)]
pub struct PerImagePe {
    pub shape: ImageShape,
}

impl Transform for PerImagePe {
    fn encode(&self, images: &mut [f32], fresh: &mut ChaCha20Rng) {
        let d = self.shape.features();
        // Keys are drawn in image order on this thread (the stream is sequential), applied in parallel.
        let n = images.len() / d;
        let mut negative = vec![false; n * d];
        let mut order = vec![0u32; n * d];
        for (neg, ord) in negative.chunks_exact_mut(d).zip(order.chunks_exact_mut(d)) {
            draw(self.shape, fresh, neg, ord);
        }
        on_image_runs(images, d, |offset, run| {
            let mut buf = vec![0f32; d];
            for (i, img) in run.chunks_exact_mut(d).enumerate() {
                let at = offset + i * d;
                for (j, b) in buf.iter_mut().enumerate() {
                    let v = img[order[at + j] as usize];
                    *b = if negative[at + j] { 1.0 - v } else { v };
                }
                img.copy_from_slice(&buf);
            }
        });
    }

    fn decode(&self, _images: &mut [f32]) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn fixed_key_moves_values_only_within_their_pixel_and_inverts() {
        let shape = ImageShape { height: 4, width: 4, channels: 3 };
        let map = pe_map(shape, &mut ChaCha20Rng::seed_from_u64(3));
        assert!(map.src.iter().enumerate().all(|(j, &s)| s as usize / 3 == j / 3));
        assert!(map.flipped.iter().any(|&f| f) && map.flipped.iter().any(|&f| !f));
        let raw: Vec<f32> = (0..shape.features()).map(|i| i as f32 / 47.0).collect();
        let mut x = raw.clone();
        map.encode(&mut x, &mut ChaCha20Rng::seed_from_u64(0));
        assert!(map.decode(&mut x));
        assert!(x.iter().zip(&raw).all(|(a, b)| (a - b).abs() < 1e-6));
    }

    #[test]
    fn per_image_keys_differ_between_identical_images() {
        let shape = ImageShape { height: 4, width: 4, channels: 1 };
        let d = shape.features();
        let mut x = vec![0.25f32; 2 * d];
        let t = PerImagePe { shape };
        t.encode(&mut x, &mut ChaCha20Rng::seed_from_u64(9));
        assert_ne!(x[..d], x[d..], "two images, two keys");
        assert!(x.iter().all(|&v| v == 0.25 || v == 0.75));
        assert!(!t.decode(&mut x));
    }
}
