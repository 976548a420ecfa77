//! `ele`: extended learnable image encryption (Madono, Tanaka, Onishi and Ogawa, "Block-wise
//! scrambled image recognition using adaptation network", AAAI workshop 2020 / arXiv 2001.07761):
//! LE ([`super::le`]) with a different key for every block (its own permutation of the block's
//! 2 M M C 4-bit halves and its own inverted half), then the blocks shuffled by key. The encoding is
//! H x W x 2C like LE's, values v / 15; decoding with the key gives the 8-bit image back exactly.
//! Default M = 4 (Madono et al. on 32 x 32 CIFAR images; it divides 28). M must divide the image
//! height and width.

use rand_chacha::ChaCha20Rng;

use super::etc::{block_choices, check_block};
use super::kind::{
    block_origins, log2_factorial, BlockScramble, FamilyStyle, KeySpace, Param, Params, Shape, Structure, TransformKind,
};
use super::le::{block_key_bits, halves_shape, sub_pixels, HalvesScramble};
use super::Transform;
use crate::data::ImageShape;

pub struct Kind;

impl TransformKind for Kind {
    fn name(&self) -> &'static str {
        "ele"
    }

    fn about(&self) -> &'static str {
        "extended learnable encryption ELE (Madono et al. 2020): LE with a different key per M x M block (C -> 2C \
         channels of 4-bit halves, permuted and half inverted within each block), then the blocks shuffled; \
         invertible"
    }

    fn params(&self) -> &'static [Param] {
        super::le::PARAMS
    }

    fn check(&self, p: &Params, shape: ImageShape) -> Result<(), (&'static str, String)> {
        check_block(p.integer("block"), shape)
    }

    fn choices(&self, param: &str, shape: ImageShape) -> Option<Vec<i64>> {
        (param == "block").then(|| block_choices(shape))
    }

    fn label(&self, p: &Params) -> String {
        format!("ele(b={})", p.integer("block"))
    }

    fn short_label(&self, p: &Params) -> String {
        format!("ele({})", p.integer("block"))
    }

    fn encoded_shape(&self, _p: &Params, shape: ImageShape) -> ImageShape {
        halves_shape(shape)
    }

    fn build(&self, p: &Params, shape: ImageShape, rng: &mut ChaCha20Rng) -> Box<dyn Transform> {
        Box::new(HalvesScramble::random(shape, p.integer("block"), true, rng))
    }

    fn key_space(&self, p: &Params, shape: ImageShape) -> KeySpace {
        let block = p.integer("block");
        let n = sub_pixels(block, shape);
        let blocks = ((shape.height / block) * (shape.width / block)) as u64;
        KeySpace {
            bits: blocks as f64 * block_key_bits(n) + log2_factorial(blocks),
            continuous_dim: 0,
            note: format!("log2(({n}! * C({n},{}))^{blocks} * {blocks}!)", n / 2),
        }
    }

    fn structure(&self, _p: &Params) -> Structure {
        Structure::Splits
    }

    fn style(&self) -> FamilyStyle {
        FamilyStyle { color: (150, 30, 30), marker: Shape::Square } // dark red (Okabe-Ito has no colour left)
    }

    /// The blocks are shuffled, so the jigsaw solver applies: its tiles are the encoding's M x M x 2C
    /// blocks, each scrambled inside by its own key (no orientation, negation or channel order to try).
    fn block_scramble(&self, p: &Params) -> Option<BlockScramble> {
        Some(BlockScramble {
            block: p.integer("block"),
            inner_shuffle: true,
            orientations: false,
            negative_positive: false,
            channel_shuffle: false,
        })
    }

    /// No feature map (a value splits into two halves), so the block order is read off the keyed map
    /// itself: every half in an encoded block comes from one raw block.
    fn block_origins(&self, p: &Params, shape: ImageShape, rng: &mut ChaCha20Rng) -> Option<Vec<usize>> {
        let block = p.integer("block");
        let t = HalvesScramble::random(shape, block, true, rng);
        Some(block_origins(&t.src, shape, halves_shape(shape), block))
    }
}
