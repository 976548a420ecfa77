//! `neuracrypt`: NeuraCrypt (Yala, Esfahanizadeh, D'Oliveira, Duffy, Ghobadi, Jaakkola,
//! Vaikuntanathan, Barzilay and Médard, "NeuraCrypt: hiding private health data via random neural
//! networks for public training", arXiv 2106.02484, 2021). The secret key is a randomly initialised
//! network, never trained; each image is run through it and the provider trains on the output.
//!
//! The encoder follows the published code (github.com/yala/NeuraCrypt,
//! `sandstone/learn/lightning/private.py`, `PrivateEncoder`), layer for layer:
//! 1. a `patch` x `patch` convolution with stride `patch` (each patch's C p p values to `dim`), ReLU;
//! 2. `depth` blocks of a 1x1 convolution (`dim` -> `dim`), batch normalisation, ReLU;
//! 3. a random positional embedding per patch position (standard normal), added;
//! 4. ReLU, a linear map `dim` -> `dim` (the code's `mixer`);
//! 5. the patches of each image permuted independently, with fresh randomness for every encoding.
//!
//! Weights and biases are drawn as PyTorch initialises `Conv2d` and `Linear` (uniform in
//! ±1/sqrt(fan_in)), the embedding as `torch.randn`. The code's `BatchNorm2d(track_running_stats=False)`
//! normalises each channel with the statistics of the batch being encoded (and no learnt scale or
//! shift); here every image is encoded as a batch of one (mean and variance of each channel over its
//! patch positions), so that an encoding never depends on which other images share its batch.
//!
//! Patch size: the paper uses 16 x 16 patches on 256 x 256 chest X-rays (`private_kernel_size` 16,
//! `private_depth` 4, `hidden_dim` 2048 in configs/cxr/neuracrypt.json). 16 does not divide 28, so the
//! default here is 4 (a 7 x 7 grid of 49 patches on MNIST); 7 gives a 4 x 4 grid. `dim` defaults to
//! 64 (2048 per 16 x 16 x 1 = 256 values is 8 per input value; 64 per 4 x 4 patch is 4 per value,
//! which keeps encoding the 60,000 MNIST images to seconds on two cores).
//!
//! The encoded image is the patch grid as height x width with the embedding as channels (channel-last
//! like every image here: value `k` of the patch in slot `s` is at `s * dim + k`). Since the slots are
//! shuffled per image, the grid position means nothing: the provider's model should treat the slots as
//! a set (`model.arch = "patch-set"`). Not invertible: nothing decodes it, the customer included.

use rand::Rng;
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, StandardNormal, Uniform};

use super::etc::{block_choices, check_block};
use super::kind::{FamilyStyle, KeySpace, Param, ParamType, Params, Shape, Structure, TransformKind};
use super::{on_image_runs, Transform};
use crate::data::ImageShape;
use crate::gemm_f32::{matmul, MatRef, Threads};

pub struct Kind;

/// Patch side when the config does not say (16 in the paper does not divide 28).
pub const DEFAULT_PATCH: usize = 4;
/// Embedding width per patch.
pub const DEFAULT_DIM: usize = 64;
/// 1x1 convolution blocks (the paper's `private_depth` 4).
pub const DEFAULT_DEPTH: usize = 4;

/// Batch normalisation's epsilon (PyTorch's default).
const NORM_EPS: f32 = 1e-5;

const PARAMS: &[Param] = &[
    Param {
        name: "patch",
        title: "patch size",
        doc: "side p of the square patches in pixels (the paper's 16 does not divide 28: 4 gives a 7 x 7 grid); must \
              divide the image height and width",
        ty: ParamType::Integer,
        default: Some(toml::Value::Integer(DEFAULT_PATCH as i64)),
        initial: toml::Value::Integer(DEFAULT_PATCH as i64),
    },
    Param {
        name: "dim",
        title: "embedding dim",
        doc: "width of each patch's encoding, >= 1 (the paper: 2048 for 16 x 16 patches)",
        ty: ParamType::Integer,
        default: Some(toml::Value::Integer(DEFAULT_DIM as i64)),
        initial: toml::Value::Integer(DEFAULT_DIM as i64),
    },
    Param {
        name: "depth",
        title: "depth",
        doc: "random 1x1 convolution blocks (conv, batch norm, ReLU) after the patch encoder (the paper's 4)",
        ty: ParamType::Integer,
        default: Some(toml::Value::Integer(DEFAULT_DEPTH as i64)),
        initial: toml::Value::Integer(DEFAULT_DEPTH as i64),
    },
];

impl TransformKind for Kind {
    fn name(&self) -> &'static str {
        "neuracrypt"
    }

    fn about(&self) -> &'static str {
        "NeuraCrypt (Yala et al. 2021): a secret random network over p x p patches (patch conv, ReLU, depth x (1x1 \
         conv, norm, ReLU), positional embedding, ReLU, linear), then the patches of each image shuffled afresh; \
         H x W x C -> H/p x W/p x dim; not invertible"
    }

    fn params(&self) -> &'static [Param] {
        PARAMS
    }

    fn check(&self, p: &Params, shape: ImageShape) -> Result<(), (&'static str, String)> {
        let patch = p.integer("patch");
        if let Err((_, expected)) = check_block(patch, shape) {
            return Err(("patch", expected.replace("block size", "patch size")));
        }
        if p.integer("dim") == 0 {
            return Err(("dim", "an embedding width >= 1, got 0".into()));
        }
        Ok(())
    }

    fn choices(&self, param: &str, shape: ImageShape) -> Option<Vec<i64>> {
        match param {
            "patch" => Some(block_choices(shape)),
            "dim" => Some(vec![16, 32, 64, 128, 256]),
            _ => None,
        }
    }

    fn label(&self, p: &Params) -> String {
        format!("neuracrypt(p={},dim={},depth={})", p.integer("patch"), p.integer("dim"), p.integer("depth"))
    }

    fn short_label(&self, p: &Params) -> String {
        format!("neura({},{},{})", p.integer("patch"), p.integer("dim"), p.integer("depth"))
    }

    fn encoded_shape(&self, p: &Params, shape: ImageShape) -> ImageShape {
        let patch = p.integer("patch").max(1);
        ImageShape { height: shape.height / patch, width: shape.width / patch, channels: p.integer("dim") }
    }

    fn build(&self, p: &Params, shape: ImageShape, rng: &mut ChaCha20Rng) -> Box<dyn Transform> {
        Box::new(NeuraCrypt::of(p, shape, rng))
    }

    fn key_space(&self, p: &Params, shape: ImageShape) -> KeySpace {
        let (patch, dim, depth) = (p.integer("patch"), p.integer("dim"), p.integer("depth"));
        let inputs = patch * patch * shape.channels;
        let positions = (shape.height / patch.max(1)) * (shape.width / patch.max(1));
        let weights = (inputs + 1) * dim + depth * (dim + 1) * dim + positions * dim + (dim + 1) * dim;
        KeySpace {
            bits: 0.0,
            continuous_dim: weights as u64,
            note: format!("continuous: {weights} random weights of the encoder network"),
        }
    }

    fn structure(&self, _p: &Params) -> Structure {
        Structure::Network
    }

    fn draws_fresh(&self, _p: &Params) -> bool {
        true // the per-image patch shuffle
    }

    fn style(&self) -> FamilyStyle {
        FamilyStyle { color: (136, 34, 85), marker: Shape::Square } // wine (Tol's muted palette)
    }
}

/// One dense layer of the encoder: `y = x W + b`, `W` row-major (inputs x outputs).
#[derive(Debug, Clone, PartialEq)]
struct Dense {
    weight: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
}

impl Dense {
    /// PyTorch's default initialisation of `Conv2d` and `Linear`: weight and bias uniform in
    /// ±1/sqrt(fan_in).
    fn random(inputs: usize, outputs: usize, rng: &mut ChaCha20Rng) -> Self {
        let bound = 1.0 / (inputs.max(1) as f32).sqrt();
        let u = Uniform::new_inclusive(-bound, bound);
        let weight = (0..inputs * outputs).map(|_| u.sample(rng)).collect();
        let bias = (0..outputs).map(|_| u.sample(rng)).collect();
        Dense { weight, bias, inputs, outputs }
    }

    /// `out (rows x outputs) = x (rows x inputs) W + b`.
    fn apply(&self, x: &[f32], rows: usize, out: &mut [f32]) {
        for row in out.chunks_exact_mut(self.outputs) {
            row.copy_from_slice(&self.bias);
        }
        let (a, b) = (MatRef::rows(x, self.inputs), MatRef::rows(&self.weight, self.outputs));
        matmul(out, rows, self.outputs, self.inputs, a, b, true, Threads::One);
    }
}

/// The NeuraCrypt encoder drawn from a key stream (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct NeuraCrypt {
    pub shape: ImageShape,
    pub patch: usize,
    pub dim: usize,
    patch_encoder: Dense,
    blocks: Vec<Dense>,
    /// positions x dim.
    pos_embedding: Vec<f32>,
    mixer: Dense,
}

impl NeuraCrypt {
    /// Drawn in the published code's order: patch encoder, blocks, positional embedding, mixer.
    pub fn random(shape: ImageShape, patch: usize, dim: usize, depth: usize, rng: &mut ChaCha20Rng) -> Self {
        let patch_encoder = Dense::random(patch * patch * shape.channels, dim, rng);
        let blocks = (0..depth).map(|_| Dense::random(dim, dim, rng)).collect();
        let positions = (shape.height / patch) * (shape.width / patch);
        let pos_embedding = (0..positions * dim)
            .map(|_| {
                let z: f32 = StandardNormal.sample(rng);
                z
            })
            .collect();
        let mixer = Dense::random(dim, dim, rng);
        NeuraCrypt { shape, patch, dim, patch_encoder, blocks, pos_embedding, mixer }
    }

    /// The encoder of checked parameters `p`, from the transform's key stream.
    pub fn of(p: &Params, shape: ImageShape, rng: &mut ChaCha20Rng) -> Self {
        Self::random(shape, p.integer("patch"), p.integer("dim"), p.integer("depth"), rng)
    }

    /// Patch positions per image (the encoding's slots).
    pub fn positions(&self) -> usize {
        (self.shape.height / self.patch) * (self.shape.width / self.patch)
    }

    /// Values of one encoding.
    pub fn encoded_features(&self) -> usize {
        self.positions() * self.dim
    }

    /// The encoding of one image before the patch shuffle: row `q` is the patch at grid position `q`
    /// (row-major). `out` holds `positions x dim` values.
    pub fn encode_unshuffled(&self, image: &[f32], out: &mut [f32]) {
        let (p, c, w) = (self.patch, self.shape.channels, self.shape.width);
        let (grid_w, positions, dim) = (w / p, self.positions(), self.dim);
        let inputs = p * p * c;
        // The patches as rows (dy, dx, channel), as the stride-p convolution reads them.
        let mut patches = vec![0f32; positions * inputs];
        for (q, row) in patches.chunks_exact_mut(inputs).enumerate() {
            let (r0, c0) = ((q / grid_w) * p, (q % grid_w) * p);
            for dy in 0..p {
                let start = ((r0 + dy) * w + c0) * c;
                row[dy * p * c..(dy + 1) * p * c].copy_from_slice(&image[start..start + p * c]);
            }
        }
        let mut h = vec![0f32; positions * dim];
        self.patch_encoder.apply(&patches, positions, &mut h);
        h.iter_mut().for_each(|v| *v = v.max(0.0));
        let mut next = vec![0f32; positions * dim];
        for block in &self.blocks {
            block.apply(&h, positions, &mut next);
            normalize_channels(&mut next, dim);
            next.iter_mut().for_each(|v| *v = v.max(0.0));
            std::mem::swap(&mut h, &mut next);
        }
        for (v, e) in h.iter_mut().zip(&self.pos_embedding) {
            *v = (*v + e).max(0.0); // embedding added, then the mixer's ReLU
        }
        self.mixer.apply(&h, positions, out);
    }
}

/// Batch normalisation of one image's `rows x dim` activations: each channel to mean 0 and variance
/// 1 over the rows (biased variance, as PyTorch normalises).
fn normalize_channels(x: &mut [f32], dim: usize) {
    let rows = (x.len() / dim) as f32;
    let (mut mean, mut var) = (vec![0f32; dim], vec![0f32; dim]);
    for row in x.chunks_exact(dim) {
        mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
    }
    mean.iter_mut().for_each(|m| *m /= rows);
    for row in x.chunks_exact(dim) {
        var.iter_mut().zip(row).zip(&mean).for_each(|((s, v), m)| *s += (v - m) * (v - m));
    }
    let scale: Vec<f32> = var.iter().map(|s| 1.0 / (s / rows + NORM_EPS).sqrt()).collect();
    for row in x.chunks_exact_mut(dim) {
        row.iter_mut().zip(&mean).zip(&scale).for_each(|((v, m), s)| *v = (*v - m) * s);
    }
}

impl Transform for NeuraCrypt {
    /// Never called: the encoding has another size than its input, so the customer encodes with
    /// [`Transform::encode_into`] (see the trait's doc).
    fn encode(&self, _images: &mut [f32], _fresh: &mut ChaCha20Rng) {
        unreachable!("neuracrypt changes the image size: encode with encode_into")
    }

    /// Image `k` of the batch takes its patch shuffle from ChaCha8 stream `k` of one seed drawn from
    /// `fresh`, so the shuffle depends on the key and the batch alone, never on how the batch is split
    /// over cores.
    fn encode_into(&self, src: &[f32], dst: &mut [f32], fresh: &mut ChaCha20Rng) {
        use rand::seq::SliceRandom;
        use rand::SeedableRng;
        let (d_in, d_out, dim) = (self.shape.features(), self.encoded_features(), self.dim);
        assert_eq!(src.len() / d_in * d_out, dst.len(), "encode_into: destination is not the encoded size");
        let seed: [u8; 32] = fresh.gen();
        on_image_runs(dst, d_out, |offset, run| {
            let first = offset / d_out;
            let mut rng = rand_chacha::ChaCha8Rng::from_seed(seed);
            let mut plain = vec![0f32; d_out];
            let mut order: Vec<usize> = (0..self.positions()).collect();
            for (i, out) in run.chunks_exact_mut(d_out).enumerate() {
                let k = first + i;
                self.encode_unshuffled(&src[k * d_in..(k + 1) * d_in], &mut plain);
                rng.set_stream(k as u64);
                rng.set_word_pos(0);
                order.iter_mut().enumerate().for_each(|(j, o)| *o = j);
                order.shuffle(&mut rng);
                for (slot, &from) in out.chunks_exact_mut(dim).zip(&order) {
                    slot.copy_from_slice(&plain[from * dim..(from + 1) * dim]);
                }
            }
        });
    }

    /// Not invertible: a random non-linear network and a fresh shuffle.
    fn decode(&self, _images: &mut [f32]) -> bool {
        false
    }

    fn decode_into(&self, _src: &[f32], _dst: &mut [f32]) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn batch_norm_gives_each_channel_mean_zero_and_unit_variance() {
        let mut x: Vec<f32> = (0..12).map(|i| (i * i) as f32 * 0.1).collect();
        normalize_channels(&mut x, 3);
        for c in 0..3 {
            let col: Vec<f32> = x.iter().skip(c).step_by(3).copied().collect();
            let mean = col.iter().sum::<f32>() / 4.0;
            let var = col.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / 4.0;
            assert!(mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-3, "channel {c}: {mean} {var}");
        }
    }

    #[test]
    fn patches_are_encoded_independently_of_their_neighbours_before_the_norm() {
        // With depth 0 there is no normalisation: a patch's encoding depends on that patch and its
        // position alone, so changing another patch leaves it as it was.
        let shape = ImageShape { height: 8, width: 8, channels: 1 };
        let t = NeuraCrypt::random(shape, 4, 8, 0, &mut ChaCha20Rng::seed_from_u64(1));
        let a: Vec<f32> = (0..64).map(|i| (i % 7) as f32 / 7.0).collect();
        let mut b = a.clone();
        b[7] = 1.0 - b[7]; // pixel (0, 7): patch 1
        let (mut ea, mut eb) = (vec![0f32; 32], vec![0f32; 32]);
        t.encode_unshuffled(&a, &mut ea);
        t.encode_unshuffled(&b, &mut eb);
        assert_eq!(ea[..8], eb[..8]);
        assert_ne!(ea[8..16], eb[8..16]);
        assert_eq!(ea[16..], eb[16..]);
    }
}
