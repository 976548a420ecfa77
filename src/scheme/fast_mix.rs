//! `fast-mix`: a keyed structured orthogonal mix that mixes every feature with every other in
//! O(d log d) per image, where the dense `orthogonal-mix` costs d^2.
//!
//! Each round is `x -> H_B H_A P S x`: keyed sign flips `S` (a random ±1 per feature), a keyed
//! permutation `P` of the d features, then a normalised fast Walsh–Hadamard transform on a window `A`
//! of the first W features and one on a window `B` of the last W, with W the largest power of two
//! <= d. Products of random sign diagonals and Hadamard matrices are the structured random orthogonal
//! matrices of the orthogonal-random-features literature (Yu et al., "Orthogonal Random Features",
//! NeurIPS 2016: three `HD` blocks behave like a Haar-random rotation for kernel approximation).
//!
//! Why two overlapping windows instead of zero-padding to the next power of two: padding would make
//! the encoded vector longer than the image (1,024 values for 784 pixels), so the provider's model,
//! the attacks and the key file would all have to handle a second shape. Two windows cover all d
//! features and overlap (2W > d), so one round already makes every feature of window B depend on
//! every input; with a fresh permutation in the next round every output depends on every input. Each
//! window transform is orthogonal on its coordinates, so the whole map is orthogonal and the customer
//! inverts it exactly (`H` normalised is its own inverse; the rounds are undone in reverse order).
//!
//! Cost per image and round: d sign flips and gathers plus 2 W log2 W additions (784 pixels, W = 512:
//! about 10 k operations; three rounds about 32 k, against 615 k multiply-adds for the dense mix).

use rand::Rng;
use rand_chacha::ChaCha20Rng;

use super::transforms::{on_image_runs, random_permutation};

/// Rounds when the config does not say: three `HD` blocks, as in the orthogonal-random-features papers.
pub const DEFAULT_ROUNDS: usize = 3;

/// One round's key: which features change sign, then where each output position reads from.
#[derive(Debug, Clone, PartialEq)]
struct Round {
    /// +1 or -1 per feature (applied before the permutation).
    signs: Vec<f32>,
    /// Source feature of each position after the permutation.
    perm: Vec<u32>,
    /// The inverse permutation (for decoding).
    inverse: Vec<u32>,
}

/// The keyed structured mix over images of `features` values.
#[derive(Debug, Clone, PartialEq)]
pub struct FastMix {
    features: usize,
    /// Width of each Walsh–Hadamard window: the largest power of two <= features.
    window: usize,
    rounds: Vec<Round>,
}

impl FastMix {
    /// Draw `rounds` rounds for `features` values from the key stream.
    pub fn random(features: usize, rounds: usize, rng: &mut ChaCha20Rng) -> Self {
        assert!(features >= 1 && rounds >= 1, "fast-mix: needs at least one feature and one round");
        let window = 1usize << (usize::BITS - 1 - features.leading_zeros());
        let rounds = (0..rounds)
            .map(|_| {
                let signs = (0..features).map(|_| if rng.gen::<bool>() { 1.0 } else { -1.0 }).collect();
                let perm = random_permutation(features, rng);
                let mut inverse = vec![0u32; features];
                for (j, &src) in perm.iter().enumerate() {
                    inverse[src as usize] = j as u32;
                }
                Round { signs, perm, inverse }
            })
            .collect();
        Self { features, window, rounds }
    }

    pub fn rounds(&self) -> usize {
        self.rounds.len()
    }

    /// The two window offsets (equal when `features` is a power of two: one window).
    fn windows(&self) -> [usize; 2] {
        [0, self.features - self.window]
    }

    /// Encode one image from `src` into `dst` (both `features` long).
    fn encode_image(&self, src: &[f32], dst: &mut [f32], scratch: &mut [f32]) {
        for (r, round) in self.rounds.iter().enumerate() {
            let input: &[f32] = if r == 0 { src } else { dst };
            // y[j] = s[perm[j]] * x[perm[j]]: the sign flip and the permutation in one gather.
            for (j, &from) in round.perm.iter().enumerate() {
                let from = from as usize;
                scratch[j] = round.signs[from] * input[from];
            }
            self.hadamard_windows(scratch, false);
            dst.copy_from_slice(scratch);
        }
    }

    /// Undo [`encode_image`] on one image in place.
    fn decode_image(&self, image: &mut [f32], scratch: &mut [f32]) {
        for round in self.rounds.iter().rev() {
            self.hadamard_windows(image, true);
            // x[i] = s[i] * y[inverse[i]].
            for (i, &at) in round.inverse.iter().enumerate() {
                scratch[i] = round.signs[i] * image[at as usize];
            }
            image.copy_from_slice(scratch);
        }
    }

    /// The normalised Walsh–Hadamard transform on window A then window B (`inverse`: B then A).
    fn hadamard_windows(&self, v: &mut [f32], inverse: bool) {
        let [a, b] = self.windows();
        let order = if inverse { [b, a] } else { [a, b] };
        for (k, &start) in order.iter().enumerate() {
            if k == 1 && a == b {
                break;
            }
            walsh_hadamard(&mut v[start..start + self.window]);
        }
    }

    /// Encode `src` into `dst` (whole images), one run of images per core.
    pub fn encode_into(&self, src: &[f32], dst: &mut [f32]) {
        assert_eq!(src.len(), dst.len(), "fast-mix: source and destination differ in length");
        let d = self.features;
        on_image_runs(dst, d, |offset, run| {
            let mut scratch = vec![0f32; d];
            for (i, img) in run.chunks_exact_mut(d).enumerate() {
                let at = offset + i * d;
                self.encode_image(&src[at..at + d], img, &mut scratch);
            }
        });
    }

    /// Encode whole images in place.
    pub fn encode(&self, images: &mut [f32]) {
        let d = self.features;
        on_image_runs(images, d, |_, run| {
            let (mut scratch, mut copy) = (vec![0f32; d], vec![0f32; d]);
            for img in run.chunks_exact_mut(d) {
                copy.copy_from_slice(img);
                self.encode_image(&copy, img, &mut scratch);
            }
        });
    }

    /// Decode whole images in place.
    pub fn decode(&self, images: &mut [f32]) {
        let d = self.features;
        on_image_runs(images, d, |_, run| {
            let mut scratch = vec![0f32; d];
            for img in run.chunks_exact_mut(d) {
                self.decode_image(img, &mut scratch);
            }
        });
    }

    /// log2 of the number of keys: per round 2^d sign patterns times d! permutations (an upper
    /// bound on distinct maps: some products coincide).
    pub fn key_bits(&self) -> f64 {
        let d = self.features as f64;
        let log2_factorial: f64 = (2..=self.features).map(|k| (k as f64).log2()).sum();
        self.rounds.len() as f64 * (d + log2_factorial)
    }
}

/// In-place fast Walsh–Hadamard transform of a power-of-two-long slice, scaled by 1/sqrt(len) so
/// it is orthogonal (and its own inverse).
pub fn walsh_hadamard(v: &mut [f32]) {
    let n = v.len();
    debug_assert!(n.is_power_of_two());
    let mut h = 1;
    while h < n {
        for block in v.chunks_exact_mut(2 * h) {
            let (lo, hi) = block.split_at_mut(h);
            for (a, b) in lo.iter_mut().zip(hi.iter_mut()) {
                let (x, y) = (*a, *b);
                *a = x + y;
                *b = x - y;
            }
        }
        h *= 2;
    }
    let scale = 1.0 / (n as f32).sqrt();
    for x in v.iter_mut() {
        *x *= scale;
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn mix(features: usize, rounds: usize) -> FastMix {
        FastMix::random(features, rounds, &mut ChaCha20Rng::seed_from_u64(9))
    }

    /// Column j of the (linear) map: the encoding of the j-th unit vector.
    fn matrix(m: &FastMix) -> Vec<f32> {
        let d = m.features;
        let mut basis = vec![0f32; d * d];
        for j in 0..d {
            basis[j * d + j] = 1.0;
        }
        m.encode(&mut basis);
        basis
    }

    #[test]
    fn walsh_hadamard_is_orthogonal_and_its_own_inverse() {
        let x: Vec<f32> = (0..16).map(|i| (i as f32 * 0.37).sin()).collect();
        let mut y = x.clone();
        walsh_hadamard(&mut y);
        let norm = |v: &[f32]| v.iter().map(|a| a * a).sum::<f32>();
        assert!((norm(&x) - norm(&y)).abs() < 1e-5);
        walsh_hadamard(&mut y);
        assert!(x.iter().zip(&y).all(|(a, b)| (a - b).abs() < 1e-6));
    }

    #[test]
    fn the_map_is_orthogonal_for_power_of_two_and_other_sizes() {
        for d in [16, 28, 784] {
            let m = mix(d, DEFAULT_ROUNDS);
            let q = matrix(&m);
            // Rows of Q (each encoded unit vector is a row here): Q Q^T = I.
            for i in (0..d).step_by(d / 8 + 1) {
                for j in (0..d).step_by(d / 7 + 1) {
                    let dot: f32 = (0..d).map(|k| q[i * d + k] * q[j * d + k]).sum();
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((dot - want).abs() < 1e-4, "d={d} ({i},{j}): {dot}");
                }
            }
        }
    }

    #[test]
    fn decoding_undoes_encoding_and_encode_into_matches_encode() {
        let d = 784;
        let m = mix(d, DEFAULT_ROUNDS);
        let images: Vec<f32> = (0..3 * d).map(|i| ((i * 7919) % 256) as f32 / 255.0).collect();
        let mut enc = images.clone();
        m.encode(&mut enc);
        let mut into = vec![0f32; images.len()];
        m.encode_into(&images, &mut into);
        assert_eq!(enc, into);
        assert!(images.iter().zip(&enc).filter(|(a, b)| (*a - *b).abs() > 1e-3).count() > 2 * d);
        m.decode(&mut enc);
        let worst = images.iter().zip(&enc).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(worst < 1e-5, "round trip error {worst}");
    }

    #[test]
    fn the_default_rounds_make_every_output_depend_on_almost_every_input() {
        // Entries are sums of ±1 products over W, so a few cancel exactly; measured on this key:
        // 1 round 319,744 zero entries of 614,656, 2 rounds 1,449, 3 rounds 1, 4 rounds 0.
        let d = 784;
        let zeros = |m: &FastMix| matrix(m).iter().filter(|v| v.abs() < 1e-9).count();
        assert!(zeros(&mix(d, 1)) > d * d / 3, "one round leaves the first window unmixed with the rest");
        assert!(zeros(&mix(d, DEFAULT_ROUNDS)) <= d * d / 100_000);
        assert_eq!(zeros(&mix(d, 4)), 0);
    }

    #[test]
    fn different_key_streams_give_different_maps() {
        let a = FastMix::random(64, 3, &mut ChaCha20Rng::seed_from_u64(1));
        let b = FastMix::random(64, 3, &mut ChaCha20Rng::seed_from_u64(2));
        assert_ne!(a, b);
        assert!(a.key_bits() > 3.0 * 64.0);
    }
}
