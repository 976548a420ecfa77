//! Keyed input transforms `T_K`. Each kind is one file here implementing [`TransformKind`] (its
//! parameters, label, key space, how the attacks treat it, its figure style) next to the
//! [`Transform`] it builds from its own key stream, which encodes a batch in place and decodes where
//! the mathematics allows it. [`ALL`] lists the kinds (docs/ARCHITECTURE.md, "A new input transform").

use rand::seq::SliceRandom;
use rand_chacha::ChaCha20Rng;

use crate::config::TransformSpec;
use crate::data::ImageShape;

use super::key::SecretKey;

pub mod kind;

pub use block_shuffle::BlockShuffle;
pub use kind::{
    check_config_transforms, check_transforms, draws_fresh_noise, find, initial_spec, log2_factorial, reference_table,
    resolve_config_transforms, resolve_transforms, BlockScramble, DescribePrivacy, FamilyStyle, FeatureMap, KeySpace,
    Param, ParamType, Params, Shape, Structure, TransformKind, TransformLabel,
};
pub use noise::Noise;
pub use orthogonal_mix::{random_orthogonal, OrthogonalMix};
pub use pixel_permutation::PixelPermutation;
pub use separable_mix::SeparableMix;

/// Declares each kind's module and lists its `Kind` in [`ALL`].
macro_rules! registry {
    ($($module:ident),* $(,)?) => {
        $(pub mod $module;)*
        /// Every transform kind, in the order the TUI form cycles through them and figures list them.
        pub static ALL: &[&dyn TransformKind] = &[$(&$module::Kind),*];
    };
}

registry!(
    pixel_permutation,
    block_shuffle,
    orthogonal_mix,
    separable_mix,
    fast_mix,
    noise,
    etc,
    pe,
    le,
    ele,
    neuracrypt
);

/// One keyed transform over flattened channel-last images of `features` values.
///
/// Most kinds keep the image's shape; one that changes it (`le`, `ele`: twice the channels; `neuracrypt`:
/// the patch grid) says so
/// in [`TransformKind::encoded_shape`], and is then only ever called through
/// [`encode_into`](Self::encode_into) and [`decode_into`](Self::decode_into) with buffers of the two
/// shapes (the customer does that, `Customer::encode_inputs`).
pub trait Transform: Send + Sync {
    /// Encode `n = images.len() / features` images in place. `fresh` supplies per-sample randomness.
    fn encode(&self, images: &mut [f32], fresh: &mut ChaCha20Rng);
    /// Encode `src` into `dst` (`dst` holds the same images in the encoded shape: the same length
    /// unless the kind changes the shape): exactly what copying and then [`encode`](Self::encode)
    /// gives. The default does just that; transforms override it to read each input once, so that
    /// encoding a dataset is one pass over memory instead of two.
    fn encode_into(&self, src: &[f32], dst: &mut [f32], fresh: &mut ChaCha20Rng) {
        copy_images(src, dst, 1);
        self.encode(dst, fresh);
    }
    /// Undo `encode` in place; false (and data untouched) where the transform is not invertible.
    fn decode(&self, images: &mut [f32]) -> bool;
    /// Undo `encode` from `src` (encoded shape) into `dst` (input shape); false where the transform
    /// is not invertible. The default copies and decodes in place.
    fn decode_into(&self, src: &[f32], dst: &mut [f32]) -> bool {
        if src.len() != dst.len() {
            return false;
        }
        dst.copy_from_slice(src);
        self.decode(dst)
    }
}

/// The shape of the images each transform of `specs` receives, in list order, then the encoded
/// shape (what the provider receives and its model takes): `specs.len() + 1` shapes.
pub fn shapes(specs: &[TransformSpec], shape: ImageShape) -> Vec<ImageShape> {
    let mut out = vec![shape];
    for spec in specs {
        let (kind, p) = kind::params(spec);
        let last = *out.last().expect("starts with the raw shape");
        out.push(kind.encoded_shape(&p, last));
    }
    out
}

/// The shape of what `specs` encode images of `shape` into.
pub fn encoded_shape(specs: &[TransformSpec], shape: ImageShape) -> ImageShape {
    *shapes(specs, shape).last().expect("never empty")
}

/// The key stream of the transform at position `index` of a list: named by its label, so a fixed key
/// gives the same transform for the same settings.
pub fn key_stream(spec: &TransformSpec, index: usize, key: &SecretKey) -> ChaCha20Rng {
    key.stream(&format!("transform/{index}/{}", spec.label()))
}

/// Build the transform `spec` (at position `index` in the list) from its own key stream.
pub fn build(spec: &TransformSpec, index: usize, key: &SecretKey, shape: ImageShape) -> Box<dyn Transform> {
    let (kind, p) = kind::params(spec);
    kind.build(&p, shape, &mut key_stream(spec, index, key))
}

/// A uniformly random permutation of `0..n` (Fisher-Yates from the key stream).
pub fn random_permutation(n: usize, rng: &mut ChaCha20Rng) -> Vec<u32> {
    let mut p: Vec<u32> = (0..n as u32).collect();
    p.shuffle(rng);
    p
}

/// Images below which a batch is processed on the calling thread (thread start-up would dominate).
const PARALLEL_MIN_IMAGES: usize = 2048;

/// Run `f(offset, run)` on contiguous runs of whole images (of `features` values; `offset` is where the
/// run starts in `images`), one run per core for a large batch. Encoding a training set is
/// memory-bound, and two cores move about twice the bytes of one.
pub(crate) fn on_image_runs(images: &mut [f32], features: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    let n = images.len() / features.max(1);
    if n < PARALLEL_MIN_IMAGES {
        f(0, images);
        return;
    }
    // Asked once: `available_parallelism` reads cgroup files on Linux (about 15 us, as much as
    // encoding one image).
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let threads = *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |t| t.get()));
    if threads <= 1 {
        f(0, images);
        return;
    }
    let per_run = n.div_ceil(threads) * features;
    std::thread::scope(|scope| {
        for (i, run) in images.chunks_mut(per_run).enumerate() {
            let f = &f;
            scope.spawn(move || f(i * per_run, run));
        }
    });
}

/// `dst = src`, split over cores in runs of whole images of `features` values.
pub(crate) fn copy_images(src: &[f32], dst: &mut [f32], features: usize) {
    assert_eq!(src.len(), dst.len(), "encode_into: source and destination differ in length");
    on_image_runs(dst, features, |offset, run| run.copy_from_slice(&src[offset..offset + run.len()]));
}

/// `dst_img[j] = src_img[perm[j]]` for each image of `perm.len()` features, then, with `flips`
/// `(offset, scale)`, `dst_img[j] = offset[j] + scale[j] * dst_img[j]`.
pub(crate) fn gather_rows_into(src: &[f32], dst: &mut [f32], perm: &[u32], flips: Option<&(Vec<f32>, Vec<f32>)>) {
    let d = perm.len();
    assert_eq!(src.len(), dst.len(), "encode_into: source and destination differ in length");
    assert!(perm.iter().all(|&s| (s as usize) < d), "permutation index out of range");
    on_image_runs(dst, d, |offset, run| {
        let src_run = &src[offset..offset + run.len()];
        for (out, img) in run.chunks_exact_mut(d).zip(src_run.chunks_exact(d)) {
            for (o, &s) in out.iter_mut().zip(perm) {
                // SAFETY: every index was checked to be < d = img.len() above (hot loop: no bounds check).
                *o = unsafe { *img.get_unchecked(s as usize) };
            }
            if let Some((offset, scale)) = flips {
                for ((v, o), s) in out.iter_mut().zip(offset).zip(scale) {
                    *v = o + s * *v;
                }
            }
        }
    });
}

/// Apply `y[j] = x[src[j]]` to each image of `src.len()` features.
pub(crate) fn gather_rows(images: &mut [f32], src: &[u32]) {
    let d = src.len();
    assert!(src.iter().all(|&s| (s as usize) < d), "permutation index out of range");
    on_image_runs(images, d, |_, run| {
        let mut buf = vec![0f32; d];
        for img in run.chunks_exact_mut(d) {
            for (b, &s) in buf.iter_mut().zip(src) {
                // SAFETY: every index was checked to be < d = img.len() above (hot loop: no bounds check).
                *b = unsafe { *img.get_unchecked(s as usize) };
            }
            img.copy_from_slice(&buf);
        }
    });
}

/// Inverse of [`gather_rows`]: `x[src[j]] = y[j]`.
pub(crate) fn scatter_rows(images: &mut [f32], src: &[u32]) {
    let d = src.len();
    assert!(src.iter().all(|&s| (s as usize) < d), "permutation index out of range");
    on_image_runs(images, d, |_, run| {
        let mut buf = vec![0f32; d];
        for img in run.chunks_exact_mut(d) {
            for (&v, &s) in img.iter().zip(src) {
                // SAFETY: as in gather_rows.
                unsafe { *buf.get_unchecked_mut(s as usize) = v };
            }
            img.copy_from_slice(&buf);
        }
    });
}
