//! `le`: learnable image encryption (Tanaka, "Learnable image encryption", IEEE ICCE-TW 2018,
//! arXiv 1804.00490), the block-wise scheme made for training on encrypted images; compared with
//! EtC and ELE by Madono, Tanaka, Onishi and Ogawa, "Block-wise scrambled image recognition using
//! adaptation network", AAAI workshop 2020 / arXiv 2001.07761.
//!
//! The image is cut into M x M blocks. Each 8-bit value is split into its high and low 4-bit halves,
//! so a pixel of C channels becomes 2C values (the encoding has twice the features: the encoded
//! image is H x W x 2C, channel `2c` the high and `2c + 1` the low half of channel `c` before
//! scrambling). One keyed permutation of the 2 M M C sub-pixel positions of a block, shared by all
//! blocks, moves the halves; a keyed half of those positions is inverted (v -> 15 - v). The blocks
//! stay where they are. `ele` ([`super::ele`]) draws that key per block and then shuffles the blocks.
//!
//! Inputs in ppdl are f32 in [0, 1] made from 8-bit values, so each is quantised back to its 8-bit
//! value exactly (round(255 x)); the halves are emitted as v / 15, in [0, 1] like every other
//! encoding, so that training is comparable. Decoding with the key gives the 8-bit image back
//! exactly ((16 h + l) / 255).
//!
//! Default M = 4: Madono et al.'s block size for LE, ELE and EtC on 32 x 32 CIFAR images (Tanaka used
//! 4 as well); it divides 28, the side of MNIST and Fashion-MNIST. M must divide the image height and
//! width.

use rand_chacha::ChaCha20Rng;

use super::etc::{block_choices, check_block};
use super::kind::{log2_factorial, FamilyStyle, KeySpace, Param, ParamType, Params, Shape, Structure, TransformKind};
use super::{on_image_runs, random_permutation, Transform};
use crate::data::ImageShape;

pub struct Kind;

/// Block size when the config does not say (Madono et al.'s M = 4).
pub const DEFAULT_BLOCK: usize = 4;

/// Largest 4-bit value.
const HALF_MAX: u8 = 15;

pub(crate) const PARAMS: &[Param] = &[Param {
    name: "block",
    title: "block size",
    doc: "side M of the square blocks in pixels (4 as in Tanaka 2018 and Madono et al. 2020); must divide the image \
          height and width",
    ty: ParamType::Integer,
    default: Some(toml::Value::Integer(DEFAULT_BLOCK as i64)),
    initial: toml::Value::Integer(DEFAULT_BLOCK as i64),
}];

impl TransformKind for Kind {
    fn name(&self) -> &'static str {
        "le"
    }

    fn about(&self) -> &'static str {
        "learnable encryption LE (Tanaka 2018): each 8-bit value split into 4-bit halves (C -> 2C channels), one \
         keyed permutation of the 2MMC halves of an M x M block shared by all blocks, a keyed half of them inverted \
         (v -> 15 - v); blocks stay in place; invertible"
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
        format!("le(b={})", p.integer("block"))
    }

    fn short_label(&self, p: &Params) -> String {
        format!("le({})", p.integer("block"))
    }

    fn encoded_shape(&self, _p: &Params, shape: ImageShape) -> ImageShape {
        halves_shape(shape)
    }

    fn build(&self, p: &Params, shape: ImageShape, rng: &mut ChaCha20Rng) -> Box<dyn Transform> {
        Box::new(HalvesScramble::random(shape, p.integer("block"), false, rng))
    }

    fn key_space(&self, p: &Params, shape: ImageShape) -> KeySpace {
        let n = sub_pixels(p.integer("block"), shape);
        KeySpace { bits: block_key_bits(n), continuous_dim: 0, note: format!("log2({n}! * C({n},{}))", n / 2) }
    }

    fn structure(&self, _p: &Params) -> Structure {
        Structure::Splits
    }

    fn style(&self) -> FamilyStyle {
        FamilyStyle { color: (0, 95, 95), marker: Shape::Circle } // dark teal (Okabe-Ito has no colour left)
    }
}

/// Each value as two: twice the channels.
pub(crate) fn halves_shape(shape: ImageShape) -> ImageShape {
    ImageShape { channels: 2 * shape.channels, ..shape }
}

/// Sub-pixel positions of one M x M block of the encoding (2 M M C).
pub(crate) fn sub_pixels(block: usize, shape: ImageShape) -> u64 {
    (2 * block * block * shape.channels) as u64
}

/// log2 of one block key's count: a permutation of `n` positions and which `n / 2` are inverted.
pub(crate) fn block_key_bits(n: u64) -> f64 {
    log2_factorial(n) + log2_factorial(n) - log2_factorial(n / 2) - log2_factorial(n - n / 2)
}

/// The keyed map of LE and ELE from H x W x C images of 8-bit values (as f32 in [0, 1]) to
/// H x W x 2C images of 4-bit halves (as v / 15).
#[derive(Debug, Clone, PartialEq)]
pub struct HalvesScramble {
    pub shape: ImageShape,
    /// Per encoded value: the raw value it takes a half of.
    pub src: Vec<u32>,
    /// Per encoded value: the high half (else the low one).
    pub high: Vec<bool>,
    /// Per encoded value: inverted (v -> 15 - v).
    pub inverted: Vec<bool>,
}

impl HalvesScramble {
    /// LE (`per_block = false`: one block key, blocks in place) or ELE (`per_block`: a key per block,
    /// then the blocks shuffled), drawn from the key stream in that order.
    pub fn random(shape: ImageShape, block: usize, per_block: bool, rng: &mut ChaCha20Rng) -> Self {
        let (bh, bw) = (shape.height / block, shape.width / block);
        let blocks = bh * bw;
        let c2 = 2 * shape.channels;
        let n = block * block * c2;
        let draw_key = |rng: &mut ChaCha20Rng| {
            let perm = random_permutation(n, rng);
            let chosen = random_permutation(n, rng);
            let mut inverted = vec![false; n];
            chosen[..n / 2].iter().for_each(|&k| inverted[k as usize] = true);
            (perm, inverted)
        };
        let shared = (!per_block).then(|| draw_key(rng));
        // A raw block's key is drawn in raw block order; ELE then moves whole encrypted blocks.
        let keys: Vec<(Vec<u32>, Vec<bool>)> =
            if per_block { (0..blocks).map(|_| draw_key(rng)).collect() } else { Vec::new() };
        let block_perm: Vec<u32> =
            if per_block { random_permutation(blocks, rng) } else { (0..blocks as u32).collect() };
        let encoded = halves_shape(shape).features();
        let (mut src, mut high, mut inverted) = (vec![0u32; encoded], vec![false; encoded], vec![false; encoded]);
        for (out_block, &in_block) in block_perm.iter().enumerate() {
            let in_block = in_block as usize;
            let (perm, inv) = shared.as_ref().unwrap_or_else(|| &keys[in_block]);
            let (obr, obc) = (out_block / bw, out_block % bw);
            let (ibr, ibc) = (in_block / bw, in_block % bw);
            for (k, &from) in perm.iter().enumerate() {
                // Position k of the encrypted block is sub-pixel `from` of the raw block's halves
                // (sub-pixel index: (row * M + col) * 2C + 2 channel + low).
                let from = from as usize;
                let (pixel, sub) = (from / c2, from % c2);
                let (ir, ic) = (ibr * block + pixel / block, ibc * block + pixel % block);
                let (or, oc) = (obr * block + (k / c2) / block, obc * block + (k / c2) % block);
                let o = (or * shape.width + oc) * c2 + k % c2;
                src[o] = ((ir * shape.width + ic) * shape.channels + sub / 2) as u32;
                high[o] = sub.is_multiple_of(2);
                inverted[o] = inv[k];
            }
        }
        HalvesScramble { shape, src, high, inverted }
    }
}

/// The 8-bit value of an input made from one (x = p / 255).
fn to_byte(x: f32) -> u8 {
    (x * 255.0).round().clamp(0.0, 255.0) as u8
}

impl Transform for HalvesScramble {
    /// Never called: the encoding has twice the values of its input, so the customer encodes with
    /// [`Transform::encode_into`] (see the trait's doc).
    fn encode(&self, _images: &mut [f32], _fresh: &mut ChaCha20Rng) {
        unreachable!("le/ele change the image size: encode with encode_into")
    }

    fn encode_into(&self, src: &[f32], dst: &mut [f32], _fresh: &mut ChaCha20Rng) {
        let (d_in, d_out) = (self.shape.features(), self.src.len());
        assert_eq!(src.len() / d_in * d_out, dst.len(), "encode_into: destination is not the encoded size");
        on_image_runs(dst, d_out, |offset, run| {
            let first = offset / d_out;
            for (i, out) in run.chunks_exact_mut(d_out).enumerate() {
                let img = &src[(first + i) * d_in..(first + i + 1) * d_in];
                for (j, o) in out.iter_mut().enumerate() {
                    let byte = to_byte(img[self.src[j] as usize]);
                    let half = if self.high[j] { byte >> 4 } else { byte & HALF_MAX };
                    let v = if self.inverted[j] { HALF_MAX - half } else { half };
                    *o = f32::from(v) / f32::from(HALF_MAX);
                }
            }
        });
    }

    /// Never called (see [`Self::encode`]): decoding halves the size.
    fn decode(&self, _images: &mut [f32]) -> bool {
        false
    }

    fn decode_into(&self, src: &[f32], dst: &mut [f32]) -> bool {
        let (d_raw, d_enc) = (self.shape.features(), self.src.len());
        if src.len() / d_enc * d_raw != dst.len() || !src.len().is_multiple_of(d_enc) {
            return false;
        }
        for (img, out) in src.chunks_exact(d_enc).zip(dst.chunks_exact_mut(d_raw)) {
            let mut bytes = vec![0u8; d_raw];
            for (j, &v) in img.iter().enumerate() {
                let half = (v * f32::from(HALF_MAX)).round().clamp(0.0, f32::from(HALF_MAX)) as u8;
                let half = if self.inverted[j] { HALF_MAX - half } else { half };
                bytes[self.src[j] as usize] |= if self.high[j] { half << 4 } else { half };
            }
            for (o, &b) in out.iter_mut().zip(&bytes) {
                *o = f32::from(b) / 255.0;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn bytes_image(shape: ImageShape, n: usize) -> Vec<f32> {
        (0..n * shape.features()).map(|i| f32::from(((i * 37 + 11) % 256) as u8) / 255.0).collect()
    }

    #[test]
    fn every_half_of_every_value_appears_once_and_decoding_restores_the_bytes() {
        for per_block in [false, true] {
            let shape = ImageShape { height: 8, width: 4, channels: 3 };
            let t = HalvesScramble::random(shape, 4, per_block, &mut ChaCha20Rng::seed_from_u64(3));
            let mut seen: Vec<(u32, bool)> = t.src.iter().copied().zip(t.high.iter().copied()).collect();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), 2 * shape.features(), "each (value, half) once");
            assert_eq!(t.inverted.iter().filter(|&&v| v).count(), shape.features(), "half the positions inverted");
            let raw = bytes_image(shape, 3);
            let mut enc = vec![0f32; 2 * raw.len()];
            t.encode_into(&raw, &mut enc, &mut ChaCha20Rng::seed_from_u64(0));
            assert!(enc.iter().all(|v| (v * 15.0 - (v * 15.0).round()).abs() < 1e-5 && (0.0..=1.0).contains(v)));
            let mut back = vec![0f32; raw.len()];
            assert!(t.decode_into(&enc, &mut back));
            assert_eq!(back, raw, "per_block = {per_block}");
        }
    }

    #[test]
    fn le_keeps_blocks_in_place_and_shares_one_key() {
        let shape = ImageShape { height: 8, width: 8, channels: 1 };
        let t = HalvesScramble::random(shape, 4, false, &mut ChaCha20Rng::seed_from_u64(8));
        let block_of = |pixel: usize| (pixel / 8 / 4) * 2 + (pixel % 8) / 4;
        for o in 0..t.src.len() {
            assert_eq!(block_of(t.src[o] as usize), block_of(o / 2), "encoded value {o} reads its own block");
        }
        // The same key in every block: block 0's map shifted to block 3 (rows 4.., cols 4..).
        let at = |r: usize, c: usize, h: usize| (r * 8 + c) * 2 + h;
        for (r, c, h) in (0..4).flat_map(|r| (0..4).flat_map(move |c| (0..2).map(move |h| (r, c, h)))) {
            let s0 = t.src[at(r, c, h)] as usize;
            let s3 = t.src[at(r + 4, c + 4, h)] as usize;
            assert_eq!(s3, s0 + 4 * 8 + 4);
            assert_eq!(t.inverted[at(r, c, h)], t.inverted[at(r + 4, c + 4, h)]);
        }
    }
}
