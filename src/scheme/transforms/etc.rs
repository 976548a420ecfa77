//! `etc`: the block scrambling of Encryption-then-Compression (EtC) systems as used for
//! privacy-preserving learning (Chuman, Sirichotedumrong and Kiya, "Encryption-then-compression
//! systems using grayscale-based image encryption for JPEG images", IEEE TIFS 2019 / arXiv 1811.00236;
//! Kurihara, Kikuchi, Imaizumi, Shiota and Kiya, "An encryption-then-compression system for JPEG
//! standard", IEICE 2015; the learnable-encryption comparison of Madono, Tanaka, Onishi and Ogawa,
//! "Block-wise scrambled image recognition using adaptation network", arXiv 2001.07761).
//!
//! The image is cut into M x M blocks; by key, the blocks are moved (one permutation), each block is
//! rotated (0/90/180/270 degrees) and flipped (or not) — the 8 orientations of a square — negative-
//! positive transformed (or not) and, for colour images, its channels shuffled. Values in ppdl are
//! f32 in [0, 1], so negative-positive is x -> 1 - x (255 - p on 8-bit values). Unlike
//! `block-shuffle`, the pixels inside a block keep their neighbours: this is what makes EtC images
//! compressible and what the jigsaw-puzzle attack exploits. Default M = 4, the block size Madono et
//! al. used for EtC, LE and ELE on 32 x 32 CIFAR images; it divides 28 and 32.
//!
//! Every operation moves or negates single values, so the whole map is feature-wise: it is built as
//! the gather-and-flip of [`BlockShuffle`] (which runs it and inverts it exactly).

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha20Rng;

use super::kind::{
    log2_factorial, BlockScramble, FamilyStyle, FeatureMap, KeySpace, Param, ParamType, Params, Shape, Structure,
    TransformKind,
};
use super::{random_permutation, BlockShuffle, Transform};
use crate::data::ImageShape;

pub struct Kind;

/// Block size when the config does not say (Madono et al.'s M = 4).
pub const DEFAULT_BLOCK: usize = 4;

const PARAMS: &[Param] = &[Param {
    name: "block",
    title: "block size",
    doc: "side M of the square blocks in pixels (4 as in Madono et al. 2020); must divide the image height and width",
    ty: ParamType::Integer,
    default: Some(toml::Value::Integer(DEFAULT_BLOCK as i64)),
    initial: toml::Value::Integer(DEFAULT_BLOCK as i64),
}];

impl TransformKind for Kind {
    fn name(&self) -> &'static str {
        "etc"
    }

    fn about(&self) -> &'static str {
        "EtC block scrambling (Chuman et al. 2018): M x M blocks moved, rotated, flipped, negative-positive \
         transformed (x -> 1 - x) and channel-shuffled by key; invertible"
    }

    fn params(&self) -> &'static [Param] {
        PARAMS
    }

    fn check(&self, p: &Params, shape: ImageShape) -> Result<(), (&'static str, String)> {
        check_block(p.integer("block"), shape)
    }

    fn choices(&self, param: &str, shape: ImageShape) -> Option<Vec<i64>> {
        (param == "block").then(|| block_choices(shape))
    }

    fn label(&self, p: &Params) -> String {
        format!("etc(b={})", p.integer("block"))
    }

    fn short_label(&self, p: &Params) -> String {
        format!("etc({})", p.integer("block"))
    }

    fn build(&self, p: &Params, shape: ImageShape, rng: &mut ChaCha20Rng) -> Box<dyn Transform> {
        Box::new(etc_map(shape, p.integer("block"), rng))
    }

    fn key_space(&self, p: &Params, shape: ImageShape) -> KeySpace {
        let block = p.integer("block");
        let n = ((shape.height / block) * (shape.width / block)) as u64;
        let channels = shape.channels as u64;
        let bits = log2_factorial(n) + n as f64 * (3.0 + 1.0 + log2_factorial(channels));
        let colour = if channels > 1 { format!(" * ({channels}!)^{n}") } else { String::new() };
        KeySpace { bits, continuous_dim: 0, note: format!("log2({n}! * 8^{n} * 2^{n}{colour})") }
    }

    fn structure(&self, _p: &Params) -> Structure {
        Structure::Permutes { flips: true }
    }

    fn feature_map(&self, p: &Params, shape: ImageShape, rng: &mut ChaCha20Rng) -> Option<FeatureMap> {
        Some(feature_map_of(&etc_map(shape, p.integer("block"), rng)))
    }

    fn style(&self) -> FamilyStyle {
        FamilyStyle { color: (120, 40, 140), marker: Shape::Diamond } // dark purple (Okabe-Ito has no colour left)
    }

    fn block_scramble(&self, p: &Params) -> Option<BlockScramble> {
        Some(BlockScramble {
            block: p.integer("block"),
            inner_shuffle: false,
            orientations: true,
            negative_positive: true,
            channel_shuffle: true,
        })
    }
}

/// A block size >= 1 that divides the image.
pub(crate) fn check_block(block: usize, shape: ImageShape) -> Result<(), (&'static str, String)> {
    if block == 0 || !shape.height.is_multiple_of(block) || !shape.width.is_multiple_of(block) {
        return Err((
            "block",
            format!("a block size >= 1 that divides the {}x{} image, got {block}", shape.height, shape.width),
        ));
    }
    Ok(())
}

pub(crate) fn block_choices(shape: ImageShape) -> Vec<i64> {
    (1..=shape.height.min(shape.width))
        .filter(|b| shape.height.is_multiple_of(*b) && shape.width.is_multiple_of(*b))
        .map(|b| b as i64)
        .collect()
}

/// Where orientation `o` (0..8: rotation `o % 4` quarter turns, then a mirror if `o >= 4`) reads the
/// value for position (r, c) of a b x b block.
pub fn oriented_source(o: usize, r: usize, c: usize, b: usize) -> (usize, usize) {
    let (r, c) = if o >= 4 { (r, b - 1 - c) } else { (r, c) };
    match o % 4 {
        0 => (r, c),
        1 => (b - 1 - c, r),
        2 => (b - 1 - r, b - 1 - c),
        _ => (c, b - 1 - r),
    }
}

/// The EtC map drawn from the key stream: block permutation, then per output block its orientation,
/// negative-positive bit and channel order.
fn etc_map(shape: ImageShape, block: usize, rng: &mut ChaCha20Rng) -> BlockShuffle {
    let (bh, bw) = (shape.height / block, shape.width / block);
    let blocks = bh * bw;
    let c = shape.channels;
    let block_perm = random_permutation(blocks, rng);
    let mut src = vec![0u32; shape.features()];
    let mut flipped = vec![false; shape.features()];
    for (out_block, &in_block) in block_perm.iter().enumerate() {
        let orientation = rng.gen_range(0..8usize);
        let negative = rng.gen::<bool>();
        let mut channels: Vec<usize> = (0..c).collect();
        if c > 1 {
            channels.shuffle(rng);
        }
        let (obr, obc) = (out_block / bw, out_block % bw);
        let (ibr, ibc) = (in_block as usize / bw, in_block as usize % bw);
        for r in 0..block {
            for col in 0..block {
                let (sr, sc) = oriented_source(orientation, r, col, block);
                let (or, oc) = (obr * block + r, obc * block + col);
                let (ir, ic) = (ibr * block + sr, ibc * block + sc);
                for (ch, &from) in channels.iter().enumerate() {
                    let o = (or * shape.width + oc) * c + ch;
                    src[o] = ((ir * shape.width + ic) * c + from) as u32;
                    flipped[o] = negative;
                }
            }
        }
    }
    BlockShuffle { block, shape, src, flipped, flip: true }
}

/// The feature map of a gather-and-flip.
pub(crate) fn feature_map_of(b: &BlockShuffle) -> FeatureMap {
    let flipped = |j: usize| b.flip && b.flipped[j];
    FeatureMap {
        sign: (0..b.src.len()).map(|j| if flipped(j) { -1.0 } else { 1.0 }).collect(),
        offset: (0..b.src.len()).map(|j| if flipped(j) { 1.0 } else { 0.0 }).collect(),
        src: b.src.clone(),
        noise_var: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_block_that_does_not_divide_the_image_is_refused_naming_the_field() {
        let shape = ImageShape { height: 28, width: 28, channels: 1 };
        let spec = crate::config::TransformSpec::new("etc").with("block", 5i64);
        let (field, expected) = super::super::check_transforms(&[spec], shape, "arms[1].transforms").unwrap_err();
        assert_eq!(field, "arms[1].transforms[0].block");
        assert!(expected.contains("divides the 28x28 image, got 5"), "{expected}");
        let ok = crate::config::TransformSpec::new("etc");
        assert!(super::super::check_transforms(&[ok], shape, "t").is_ok(), "the default block divides 28");
    }

    #[test]
    fn orientations_are_the_eight_symmetries_of_a_square() {
        let b = 3;
        let mut seen = std::collections::HashSet::new();
        for o in 0..8 {
            let map: Vec<(usize, usize)> =
                (0..b * b).map(|i| oriented_source(o, i / b, i % b, b)).collect();
            let mut sorted = map.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), b * b, "orientation {o} is a bijection");
            assert!(seen.insert(map), "orientation {o} differs from the others");
        }
    }

    #[test]
    fn keeps_blocks_whole_and_inverts_exactly() {
        let shape = ImageShape { height: 8, width: 8, channels: 3 };
        let map = etc_map(shape, 4, &mut ChaCha20Rng::seed_from_u64(5));
        // Every output block reads from one input block.
        for ob in 0..4 {
            let (obr, obc) = (ob / 2, ob % 2);
            let sources: std::collections::HashSet<usize> = (0..16 * 3)
                .map(|k| {
                    let (r, c, ch) = (obr * 4 + k / 12, obc * 4 + (k / 3) % 4, k % 3);
                    let s = map.src[(r * 8 + c) * 3 + ch] as usize / 3;
                    (s / 8 / 4) * 2 + (s % 8) / 4
                })
                .collect();
            assert_eq!(sources.len(), 1, "block {ob}");
        }
        let raw: Vec<f32> = (0..2 * shape.features()).map(|i| (i % 97) as f32 / 96.0).collect();
        let mut x = raw.clone();
        map.encode(&mut x, &mut ChaCha20Rng::seed_from_u64(0));
        assert_ne!(x, raw);
        assert!(map.decode(&mut x));
        assert!(x.iter().zip(&raw).all(|(a, b)| (a - b).abs() < 1e-6));
    }
}
