//! Direct convolution for layers with at most 32 output channels (LeNet's 6 and 16, cnn-small's 16
//! and 32) on CPUs with AVX-512F: the kernels slide over zero-padded images instead of multiplying
//! im2col patch rows.
//!
//! Why: a patch matrix holds `kernel^2` copies of every pixel (25 for a 5x5 kernel); for LeNet's
//! first layer a batch of 128 writes 10 MB of patches, reads them for the product and again for
//! the weight gradient, while the product itself is 15 M multiply-adds. The padded images of the
//! same batch are 0.5 MB.
//!
//! Layout: one or two vectors of 16 lanes hold a pixel's output channels (lanes past
//! `out_channels` are computed on zero weights and never stored). A register tile is up to [ROWS]
//! neighbouring pixels of one output row; per depth step it loads one packed weight row and
//! broadcasts one input value per pixel. Depth steps run in im2col's order (kernel row, kernel
//! column, channel), and the weight gradient sums its pixels in the blocks of the product the patch
//! path would use ([depth_block]), so where that product is `gemm_f32`'s own (at most 16 columns,
//! or 24-32) the forward pass and the weight gradient give the patch path's bits (for a depth of
//! at most one block). The input gradient is the convolution of the padded output gradient with
//! the flipped, transposed weight, which needs the input's channels to fit one vector.

use std::arch::x86_64::*;

use crate::gemm_f32::{lane_mask, NARROW_DEPTH_BLOCK, TILE_DEPTH_BLOCK};
use crate::model::conv::ConvGeometry;

/// Lanes of one vector.
const LANES: usize = 16;
/// Vectors per pixel at most: the most output channels these kernels compute is `LANES *` this.
const MOST_VECTORS: usize = 2;
/// Pixels of a register tile.
const ROWS: usize = 8;
// The tiles are picked by `tile_of_height`, which has kernels of up to 8 rows.
const _: () = assert!(ROWS <= 8);

/// Whether the forward pass and weight gradient of `g` run here.
pub(super) fn applies(g: &ConvGeometry) -> bool {
    crate::gemm_f32::avx512_available() && g.out_channels <= LANES * MOST_VECTORS
}

/// Vectors per pixel for `channels` outputs.
fn vectors(channels: usize) -> usize {
    channels.div_ceil(LANES)
}

/// How many pixels the weight gradient sums before adding to what it has: the depth block of the
/// product the patch path runs (`gemm_f32`: its narrow kernel up to 16 columns, its tile above).
fn depth_block(out_channels: usize) -> usize {
    if out_channels <= LANES {
        NARROW_DEPTH_BLOCK
    } else {
        TILE_DEPTH_BLOCK
    }
}

/// Whether the input gradient of `g` runs here: the flipped convolution's outputs (the input's
/// channels) fit one vector, and its padding `kernel - 1 - padding` is not negative.
pub(super) fn input_grad_applies(g: &ConvGeometry) -> bool {
    crate::gemm_f32::avx512_available() && g.in_channels <= LANES && g.padding < g.kernel
}

/// Floats of one zero-padded image of `g`.
pub(super) fn padded_len(g: &ConvGeometry) -> usize {
    (g.height + 2 * g.padding) * (g.width + 2 * g.padding) * g.in_channels
}

/// `image` (`height x width x channels`) inside a zero border of `g.padding` pixels.
pub(super) fn pad_image(g: &ConvGeometry, image: &[f32], padded: &mut [f32]) {
    let (c, p, w) = (g.in_channels, g.padding, g.width);
    let row = (w + 2 * p) * c;
    assert_eq!((image.len(), padded.len()), (g.in_features(), padded_len(g)), "pad_image sizes");
    padded[..p * row].fill(0.0);
    for (y, src) in image.chunks_exact(w * c).enumerate() {
        let dst = &mut padded[(y + p) * row..(y + p + 1) * row];
        dst[..p * c].fill(0.0);
        dst[p * c..(p + w) * c].copy_from_slice(src);
        dst[(p + w) * c..].fill(0.0);
    }
    padded[(g.height + p) * row..].fill(0.0);
}

/// The weight (`fan_in x out_channels`, row-major) as rows of whole vectors, zero past the channels.
pub(super) fn pack_weight(weight: &[f32], fan_in: usize, out_channels: usize) -> Vec<f32> {
    assert!(out_channels <= LANES * MOST_VECTORS && weight.len() == fan_in * out_channels, "pack_weight sizes");
    let width = vectors(out_channels) * LANES;
    let mut packed = vec![0f32; fan_in * width];
    for (dst, src) in packed.chunks_exact_mut(width).zip(weight.chunks_exact(out_channels)) {
        dst[..out_channels].copy_from_slice(src);
    }
    packed
}

/// The geometry of the input gradient as a convolution: the output gradient, padded by
/// `kernel - 1 - padding`, convolved with the flipped weight gives back the input's shape.
pub(super) fn input_grad_geometry(g: &ConvGeometry) -> ConvGeometry {
    ConvGeometry {
        height: g.out_height(),
        width: g.out_width(),
        in_channels: g.out_channels,
        out_channels: g.in_channels,
        kernel: g.kernel,
        padding: g.kernel - 1 - g.padding,
    }
}

/// The weight of [input_grad_geometry], packed: row `(ky, kx, o)` holds, in lane `c`, the weight
/// of input channel `c`, output channel `o` at kernel position `(K-1-ky, K-1-kx)`.
pub(super) fn pack_flipped_weight(g: &ConvGeometry, weight: &[f32]) -> Vec<f32> {
    let (k, c, co) = (g.kernel, g.in_channels, g.out_channels);
    assert!(c <= LANES && weight.len() == g.fan_in() * co, "pack_flipped_weight sizes");
    let mut packed = vec![0f32; k * k * co * LANES];
    for ky in 0..k {
        for kx in 0..k {
            for o in 0..co {
                let dst = &mut packed[((ky * k + kx) * co + o) * LANES..][..c];
                let position = ((k - 1 - ky) * k + (k - 1 - kx)) * c;
                for (ci, d) in dst.iter_mut().enumerate() {
                    *d = weight[(position + ci) * co + o];
                }
            }
        }
    }
    packed
}

/// What a forward pass adds its sums to.
#[derive(Clone, Copy)]
pub(super) enum Start<'a> {
    /// The bias (one value per output channel): `out = bias + sum`.
    Bias(&'a [f32]),
    /// What `out` holds (an input gradient accumulates): `out = out + sum`.
    Add,
}

/// One image: `out (out_height x out_width x out_channels) = start + conv(padded, weight)`, with
/// `packed` from [pack_weight] (or [pack_flipped_weight] for [input_grad_geometry]).
pub(super) fn forward_image(g: &ConvGeometry, padded: &[f32], packed: &[f32], start: Start, out: &mut [f32]) {
    let (c, co, k) = (g.in_channels, g.out_channels, g.kernel);
    let (wo, ho) = (g.out_width(), g.out_height());
    let pitch = (g.width + 2 * g.padding) * c;
    assert!(applies(g), "forward_image needs AVX-512F and <= 32 outputs");
    let width = vectors(co) * LANES;
    assert_eq!((padded.len(), packed.len(), out.len()), (padded_len(g), g.fan_in() * width, g.out_features()));
    if let Start::Bias(bias) = start {
        assert_eq!(bias.len(), co, "bias length");
    }
    let bias = match start {
        Start::Bias(b) => b.as_ptr(),
        Start::Add => std::ptr::null(),
    };
    for oy in 0..ho {
        for ox in (0..wo).step_by(ROWS) {
            let tile = match vectors(co) {
                1 => crate::gemm_f32::tile_of_height!(forward_tile, wo - ox, 1),
                _ => crate::gemm_f32::tile_of_height!(forward_tile, wo - ox, 2),
            };
            // SAFETY: AVX-512F is available (asserted); the tile's pixels ox..ox + R of row oy
            // read padded rows oy..oy + k, columns up to (ox + R - 1 + k) * c, inside the padded
            // image; `packed` holds fan_in rows; the tile writes R pixels of `out`'s row oy.
            unsafe {
                let x = padded.as_ptr().add(oy * pitch + ox * c);
                let dst = out.as_mut_ptr().add((oy * wo + ox) * co);
                tile(x, c, pitch, k, packed.as_ptr(), dst, co, bias);
            }
        }
    }
}

/// `R` neighbouring output pixels of `V` vectors each: `out[r][o] = start[o] + sum over (ky, kx,
/// ci) of x[ky * pitch + (r + kx) * c + ci] * w[(ky, kx, ci)][o]`, the depth in that order.
///
/// # Safety
/// AVX-512F; `x` covers `k` rows of `pitch` floats from the tile's first pixel; `w` holds
/// `k * k * c` rows of `V` vectors; `out` holds `R * co` floats, `co <= V * 16`; `bias` is null or
/// holds `co` floats.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)] // the shape of a tile
unsafe fn forward_tile<const R: usize, const V: usize>(
    x: *const f32,
    c: usize,
    pitch: usize,
    k: usize,
    w: *const f32,
    out: *mut f32,
    co: usize,
    bias: *const f32,
) {
    let mut acc = [[_mm512_setzero_ps(); V]; R];
    let mut wp = w;
    for ky in 0..k {
        let pixel: [*const f32; R] = std::array::from_fn(|r| x.add(ky * pitch + r * c));
        for j in 0..k * c {
            let wv: [__m512; V] = std::array::from_fn(|v| _mm512_loadu_ps(wp.add(v * LANES)));
            wp = wp.add(V * LANES);
            for (acc, px) in acc.iter_mut().zip(&pixel) {
                let xv = _mm512_set1_ps(*px.add(j));
                for (acc, wv) in acc.iter_mut().zip(&wv) {
                    *acc = _mm512_fmadd_ps(xv, *wv, *acc);
                }
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        for (v, acc) in acc.iter().enumerate() {
            let (mask, dst) = (lane_mask(co, v), out.add(r * co + v * LANES));
            let start = if bias.is_null() { dst.cast_const() } else { bias.add(v * LANES) };
            // Masked-off lanes are neither read nor written.
            _mm512_mask_storeu_ps(dst, mask, _mm512_add_ps(*acc, _mm512_maskz_loadu_ps(mask, start)));
        }
    }
}

/// The weight gradient of a chunk of images: `gw (fan_in x out_channels) = patches^T @ dy`, where
/// `padded` holds the chunk's padded images and `dy` its output gradient (pixel rows of
/// `out_channels`). Each value sums the chunk's pixels in order, in blocks of [depth_block] as the
/// patch path's product does.
pub(super) fn weight_grad(g: &ConvGeometry, padded: &[f32], dy: &[f32], gw: &mut [f32]) {
    let (c, co, k) = (g.in_channels, g.out_channels, g.kernel);
    let (image_len, kc, pitch) = (padded_len(g), k * c, (g.width + 2 * g.padding) * c);
    let images = padded.len() / image_len;
    let pixels = g.out_height() * g.out_width();
    assert!(applies(g), "weight_grad needs AVX-512F and <= 32 outputs");
    assert_eq!((padded.len(), dy.len(), gw.len()), (images * image_len, images * pixels * co, g.fan_in() * co));
    // Where each output pixel's patch starts in a padded image.
    let offsets: Vec<usize> = (0..pixels).map(|i| (i / g.out_width()) * pitch + (i % g.out_width()) * c).collect();
    let depth = images * pixels;
    if depth == 0 {
        // No images: the sum is empty (and no pointer below may be formed).
        gw.fill(0.0);
        return;
    }
    // Rows of the gradient in tiles within one kernel row: there a patch's values lie side by side.
    for ky in 0..k {
        for j in (0..kc).step_by(ROWS) {
            let tile = match vectors(co) {
                1 => crate::gemm_f32::tile_of_height!(weight_grad_tile, kc - j, 1),
                _ => crate::gemm_f32::tile_of_height!(weight_grad_tile, kc - j, 2),
            };
            let block = depth_block(co);
            for q in (0..depth).step_by(block) {
                let steps = block.min(depth - q);
                // SAFETY: AVX-512F is available (asserted); every pixel's patch row ky, values
                // j..j + R lies inside its padded image; `dy` holds `depth` rows of co; the tile
                // writes R rows of `gw` from row ky * kc + j.
                unsafe {
                    let x = padded.as_ptr().add(ky * pitch + j);
                    let dst = gw.as_mut_ptr().add((ky * kc + j) * co);
                    tile(x, image_len, &offsets, q, steps, dy.as_ptr(), co, dst, q > 0);
                }
            }
        }
    }
}

/// `R` rows of `V` vectors of a weight gradient over depth steps (pixels) `q..q + steps`:
/// `dst[r] (+)= sum over pixels of x[pixel][r] * dy[pixel]`, pixel `i` of image `n` at
/// `x + n * image_len + offsets[i]`.
///
/// # Safety
/// AVX-512F; every pixel's `R` values lie inside the padded images behind `x`; `dy` holds the
/// steps' rows of `co <= V * 16`; `dst` holds `R * co` floats.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)] // the shape of a tile
unsafe fn weight_grad_tile<const R: usize, const V: usize>(
    x: *const f32,
    image_len: usize,
    offsets: &[usize],
    q: usize,
    steps: usize,
    dy: *const f32,
    co: usize,
    dst: *mut f32,
    add: bool,
) {
    let masks: [__mmask16; V] = std::array::from_fn(|v| lane_mask(co, v));
    let mut acc = [[_mm512_setzero_ps(); V]; R];
    let (mut image, mut i) = (x.add(q / offsets.len() * image_len), q % offsets.len());
    let mut dyp = dy.add(q * co);
    for _ in 0..steps {
        let dv: [__m512; V] = std::array::from_fn(|v| _mm512_maskz_loadu_ps(masks[v], dyp.wrapping_add(v * LANES)));
        dyp = dyp.wrapping_add(co);
        let px = image.add(*offsets.get_unchecked(i));
        for (r, acc) in acc.iter_mut().enumerate() {
            let xv = _mm512_set1_ps(*px.add(r));
            for (acc, dv) in acc.iter_mut().zip(&dv) {
                *acc = _mm512_fmadd_ps(xv, *dv, *acc);
            }
        }
        i += 1;
        if i == offsets.len() {
            i = 0;
            image = image.wrapping_add(image_len);
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        for (v, (acc, mask)) in acc.iter().zip(masks).enumerate() {
            let row = dst.add(r * co + v * LANES);
            let sum = if add { _mm512_add_ps(*acc, _mm512_maskz_loadu_ps(mask, row)) } else { *acc };
            _mm512_mask_storeu_ps(row, mask, sum);
        }
    }
}
