//! `block-shuffle`: the image cut into b x b blocks, the blocks and the pixels inside each block
//! permuted, optionally a keyed negative/positive flip per block.

use rand::Rng;
use rand_chacha::ChaCha20Rng;

use super::kind::{
    log2_factorial, BlockScramble, FamilyStyle, FeatureMap, KeySpace, Param, ParamType, Params, Shape, Structure, TransformKind,
};
use super::{gather_rows, gather_rows_into, on_image_runs, random_permutation, scatter_rows, Transform};
use crate::data::ImageShape;

pub struct Kind;

const PARAMS: &[Param] = &[
    Param {
        name: "block",
        title: "block size",
        doc: "side of the square blocks in pixels; must divide the image height and width",
        ty: ParamType::Integer,
        default: None,
        initial: toml::Value::Integer(4),
    },
    Param {
        name: "flip",
        title: "flip",
        doc: "also flip each block, x -> 1 - x, on a keyed coin toss (about half of them)",
        ty: ParamType::Flag,
        default: Some(toml::Value::Boolean(false)),
        initial: toml::Value::Boolean(false),
    },
];

impl TransformKind for Kind {
    fn name(&self) -> &'static str {
        "block-shuffle"
    }

    fn about(&self) -> &'static str {
        "secret permutation of b x b blocks and of the pixels inside each block, optionally a keyed flip per block"
    }

    fn params(&self) -> &'static [Param] {
        PARAMS
    }

    fn check(&self, p: &Params, shape: ImageShape) -> Result<(), (&'static str, String)> {
        let block = p.integer("block");
        if block == 0 || !shape.height.is_multiple_of(block) || !shape.width.is_multiple_of(block) {
            return Err((
                "block",
                format!("a block size >= 1 that divides the {}x{} image, got {block}", shape.height, shape.width),
            ));
        }
        Ok(())
    }

    fn choices(&self, param: &str, shape: ImageShape) -> Option<Vec<i64>> {
        (param == "block").then(|| {
            (1..=shape.height.min(shape.width))
                .filter(|b| shape.height.is_multiple_of(*b) && shape.width.is_multiple_of(*b))
                .map(|b| b as i64)
                .collect()
        })
    }

    fn label(&self, p: &Params) -> String {
        format!("block-shuffle(b={}{})", p.integer("block"), if p.flag("flip") { ",flip" } else { "" })
    }

    fn short_label(&self, p: &Params) -> String {
        format!("block({}{})", p.integer("block"), if p.flag("flip") { ",flip" } else { "" })
    }

    fn build(&self, p: &Params, shape: ImageShape, rng: &mut ChaCha20Rng) -> Box<dyn Transform> {
        Box::new(BlockShuffle::random(shape, p.integer("block"), p.flag("flip"), rng))
    }

    fn key_space(&self, p: &Params, shape: ImageShape) -> KeySpace {
        let (block, flip) = (p.integer("block"), p.flag("flip"));
        let blocks = ((shape.height / block) * (shape.width / block)) as u64;
        let inner = (block * block) as u64;
        let bits =
            log2_factorial(blocks) + blocks as f64 * log2_factorial(inner) + if flip { blocks as f64 } else { 0.0 };
        let flips = if flip { format!(" * 2^{blocks}") } else { String::new() };
        KeySpace { bits, continuous_dim: 0, note: format!("log2({blocks}! * ({inner}!)^{blocks}{flips})") }
    }

    fn structure(&self, p: &Params) -> Structure {
        Structure::Permutes { flips: p.flag("flip") }
    }

    fn feature_map(&self, p: &Params, shape: ImageShape, rng: &mut ChaCha20Rng) -> Option<FeatureMap> {
        let b = BlockShuffle::random(shape, p.integer("block"), p.flag("flip"), rng);
        let flipped = |j: usize| b.flip && b.flipped[j];
        Some(FeatureMap {
            sign: (0..b.src.len()).map(|j| if flipped(j) { -1.0 } else { 1.0 }).collect(),
            offset: (0..b.src.len()).map(|j| if flipped(j) { 1.0 } else { 0.0 }).collect(),
            src: b.src,
            noise_var: 0.0,
        })
    }

    fn style(&self) -> FamilyStyle {
        FamilyStyle { color: (0, 114, 178), marker: Shape::Square } // blue
    }

    fn block_scramble(&self, p: &Params) -> Option<BlockScramble> {
        Some(BlockScramble {
            block: p.integer("block"),
            inner_shuffle: p.integer("block") > 1,
            orientations: false,
            negative_positive: p.flag("flip"),
            channel_shuffle: false,
        })
    }
}

/// Block scrambling: the image is cut into b x b blocks; the blocks are permuted, the pixel positions
/// inside each block are permuted (each block its own permutation), and, with `flip`, a keyed subset of
/// blocks is negative/positive flipped (x -> 1 - x). Channels of a pixel move together.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockShuffle {
    pub block: usize,
    pub shape: ImageShape,
    /// Feature-level source index of every output feature (the composed block + in-block permutation).
    pub src: Vec<u32>,
    /// Per output feature: flipped or not.
    pub flipped: Vec<bool>,
    pub flip: bool,
}

impl BlockShuffle {
    pub fn random(shape: ImageShape, block: usize, flip: bool, rng: &mut ChaCha20Rng) -> Self {
        let (bh, bw) = (shape.height / block, shape.width / block);
        let blocks = bh * bw;
        let block_perm = random_permutation(blocks, rng);
        let inner: Vec<Vec<u32>> = (0..blocks).map(|_| random_permutation(block * block, rng)).collect();
        let flips: Vec<bool> = (0..blocks).map(|_| flip && rng.gen::<bool>()).collect();
        let c = shape.channels;
        let mut src = vec![0u32; shape.features()];
        let mut flipped = vec![false; shape.features()];
        for out_block in 0..blocks {
            let in_block = block_perm[out_block] as usize;
            let (obr, obc) = (out_block / bw, out_block % bw);
            let (ibr, ibc) = (in_block / bw, in_block % bw);
            for (out_pos, &in_pos) in inner[out_block].iter().enumerate() {
                let in_pos = in_pos as usize;
                let (or, oc) = (obr * block + out_pos / block, obc * block + out_pos % block);
                let (ir, ic) = (ibr * block + in_pos / block, ibc * block + in_pos % block);
                for ch in 0..c {
                    let o = (or * shape.width + oc) * c + ch;
                    src[o] = ((ir * shape.width + ic) * c + ch) as u32;
                    flipped[o] = flips[out_block];
                }
            }
        }
        Self { block, shape, src, flipped, flip }
    }
}

impl Transform for BlockShuffle {
    fn encode(&self, images: &mut [f32], _fresh: &mut ChaCha20Rng) {
        gather_rows(images, &self.src);
        if self.flip {
            flip_marked(images, &self.flipped);
        }
    }

    fn encode_into(&self, src: &[f32], dst: &mut [f32], _fresh: &mut ChaCha20Rng) {
        let flips = self.flip.then(|| flip_coefficients(&self.flipped));
        gather_rows_into(src, dst, &self.src, flips.as_ref());
    }

    fn decode(&self, images: &mut [f32]) -> bool {
        if self.flip {
            flip_marked(images, &self.flipped);
        }
        scatter_rows(images, &self.src);
        true
    }
}

/// The flip as `x -> offset + scale * x`: (1, -1) where flipped and (0, 1) elsewhere, which is
/// branch-free and vectorises.
fn flip_coefficients(flipped: &[bool]) -> (Vec<f32>, Vec<f32>) {
    let offset = flipped.iter().map(|&f| if f { 1.0 } else { 0.0 }).collect();
    let scale = flipped.iter().map(|&f| if f { -1.0 } else { 1.0 }).collect();
    (offset, scale)
}

fn flip_marked(images: &mut [f32], flipped: &[bool]) {
    let (offset, scale) = flip_coefficients(flipped);
    on_image_runs(images, flipped.len(), |_, run| {
        for img in run.chunks_exact_mut(flipped.len()) {
            for ((v, o), s) in img.iter_mut().zip(&offset).zip(&scale) {
                *v = o + s * *v;
            }
        }
    });
}
