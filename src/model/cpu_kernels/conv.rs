//! Convolution on the CPU, per chunk of images in parallel, in one of two [Lowering]s:
//!
//! - Layers with at most 32 output channels on AVX-512 run the direct kernels of `conv_avx512`
//!   over zero-padded images ([Lowering::Padded]).
//! - Every other layer lowers each image by im2col into `(Ho*Wo, K*K*C)` patch rows, then one
//!   matrix product with the `(K*K*C, Co)` weight ([Lowering::Patches]). Backward: the weight
//!   gradient is `patches^T @ dy`, the input gradient scatters `dy @ W^T` back through the same
//!   patch layout (col2im), each chunk into its own images' slice of the input gradient.
//!
//! Either way the weight gradient is summed per chunk, then over chunks.
//!
//! Channel-last layout makes every patch row a few contiguous runs: for a fixed kernel row `ky`, the
//! `K` pixels under the kernel are adjacent in memory, so im2col and col2im copy/add `K*C`-long slices.

use dfdx::prelude::*;
use rayon::prelude::*;

use super::{chunks_per_task, contiguous_data, images_per_chunk, CpuBackward, Scratch};
use crate::gemm_f32::{matmul, MatRef, Threads};
use crate::model::conv::ConvGeometry;

/// For output column `ox`: the kernel columns `kx` that land inside the image, and the image column of
/// the first of them (padding columns are the ones left out).
fn valid_kx(g: &ConvGeometry, ox: usize) -> (usize, usize, usize) {
    let x0 = ox as isize - g.padding as isize;
    let lo = (-x0).max(0) as usize;
    let hi = ((g.width as isize - x0).max(0) as usize).min(g.kernel);
    (lo, hi.max(lo), (x0 + lo as isize).max(0) as usize)
}

/// The image row under kernel row `ky` for output row `oy`, if it is not padding.
fn image_row(g: &ConvGeometry, oy: usize, ky: usize) -> Option<usize> {
    let y = (oy + ky) as isize - g.padding as isize;
    (y >= 0 && (y as usize) < g.height).then_some(y as usize)
}

/// Patch rows of one image: `patches[(oy*Wo + ox), (ky, kx, c)] = x[oy+ky-p, ox+kx-p, c]` (0 outside).
fn im2col(g: &ConvGeometry, image: &[f32], patches: &mut [f32]) {
    let (c, k, w, wo) = (g.in_channels, g.kernel, g.width, g.out_width());
    let kc = k * c;
    for (r, row) in patches.chunks_exact_mut(k * kc).enumerate() {
        let (oy, ox) = (r / wo, r % wo);
        let (lo, hi, x) = valid_kx(g, ox);
        for (ky, seg) in row.chunks_exact_mut(kc).enumerate() {
            match image_row(g, oy, ky) {
                None => seg.fill(0.0),
                Some(y) => {
                    seg[..lo * c].fill(0.0);
                    let start = (y * w + x) * c;
                    seg[lo * c..hi * c].copy_from_slice(&image[start..start + (hi - lo) * c]);
                    seg[hi * c..].fill(0.0);
                }
            }
        }
    }
}

/// The adjoint of [im2col]: adds every patch-row gradient into the image pixels it was copied from.
fn col2im_add(g: &ConvGeometry, patch_grads: &[f32], image_grad: &mut [f32]) {
    let (c, k, w, wo) = (g.in_channels, g.kernel, g.width, g.out_width());
    let kc = k * c;
    for (r, row) in patch_grads.chunks_exact(k * kc).enumerate() {
        let (oy, ox) = (r / wo, r % wo);
        let (lo, hi, x) = valid_kx(g, ox);
        for (ky, seg) in row.chunks_exact(kc).enumerate() {
            if let Some(y) = image_row(g, oy, ky) {
                let start = (y * w + x) * c;
                let dst = &mut image_grad[start..start + (hi - lo) * c];
                for (d, s) in dst.iter_mut().zip(&seg[lo * c..hi * c]) {
                    *d += s;
                }
            }
        }
    }
}

/// How a convolution meets its weight on the CPU.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Lowering {
    /// im2col patch rows multiplied by the weight matrix; the input gradient scatters
    /// `dy @ W^T` back through the patches (col2im).
    Patches,
    /// At most 32 output channels on AVX-512: the direct kernels slide over zero-padded images
    /// (`conv_avx512`). The input gradient is the flipped convolution when the input's channels
    /// fit a vector too, else it is the patch path's.
    Padded,
}

impl Lowering {
    /// The fastest lowering this CPU has for `g`.
    pub fn choose(g: &ConvGeometry) -> Lowering {
        #[cfg(target_arch = "x86_64")]
        if super::conv_avx512::applies(g) {
            return Lowering::Padded;
        }
        let _ = g;
        Lowering::Patches
    }

    /// Floats per image that the forward pass lowers the input to (and keeps for the backward pass).
    fn lowered_len(self, g: &ConvGeometry) -> usize {
        match self {
            Lowering::Patches => g.out_height() * g.out_width() * g.fan_in(),
            #[cfg(target_arch = "x86_64")]
            Lowering::Padded => super::conv_avx512::padded_len(g),
            #[cfg(not(target_arch = "x86_64"))]
            Lowering::Padded => unreachable!("Padded is only chosen on x86_64"),
        }
    }
}

/// The weight as each step of one lowering reads it.
struct Weights {
    /// `fan_in x out_channels`, row-major (the layer's own layout).
    plain: Vec<f32>,
    /// [Lowering::Padded]: the weight rows packed to vector width.
    packed: Vec<f32>,
    /// [Lowering::Padded] with the flipped input gradient, when a backward pass will want an input
    /// gradient: its packed weight.
    flipped: Vec<f32>,
}

impl Weights {
    /// `input_grad`: a backward pass will compute the input gradient (else `flipped` is not made).
    fn new(g: &ConvGeometry, lowering: Lowering, plain: Vec<f32>, input_grad: bool) -> Weights {
        let (mut packed, mut flipped) = (Vec::new(), Vec::new());
        #[cfg(target_arch = "x86_64")]
        if lowering == Lowering::Padded {
            use super::conv_avx512 as direct;
            packed = direct::pack_weight(&plain, g.fan_in(), g.out_channels);
            if input_grad && direct::input_grad_applies(g) {
                flipped = direct::pack_flipped_weight(g, &plain);
            }
        }
        let _ = (g, lowering, input_grad);
        Weights { plain, packed, flipped }
    }
}

/// Forward pass of one chunk of images (`x`, `y` whole images): lowers each image into `lowered`,
/// then `y = bias + conv(x)`.
fn forward_chunk(
    g: &ConvGeometry,
    lowering: Lowering,
    w: &Weights,
    bias: &[f32],
    x: &[f32],
    lowered: &mut [f32],
    y: &mut [f32],
) {
    let (fan_in, co) = (g.fan_in(), g.out_channels);
    let images = x.chunks_exact(g.in_features()).zip(lowered.chunks_exact_mut(lowering.lowered_len(g)));
    match lowering {
        Lowering::Patches => {
            for (image, p) in images {
                im2col(g, image, p);
            }
            for row in y.chunks_exact_mut(co) {
                row.copy_from_slice(bias);
            }
            let rows = y.len() / co;
            matmul(y, rows, co, fan_in, MatRef::rows(lowered, fan_in), MatRef::rows(&w.plain, co), true, Threads::One);
        }
        #[cfg(target_arch = "x86_64")]
        Lowering::Padded => {
            use super::conv_avx512 as direct;
            for ((image, p), out) in images.zip(y.chunks_exact_mut(g.out_features())) {
                direct::pad_image(g, image, p);
                direct::forward_image(g, p, &w.packed, direct::Start::Bias(bias), out);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Lowering::Padded => unreachable!("Padded is only chosen on x86_64"),
    }
}

/// The weight gradient of one chunk, `gw (fan_in x out_channels) = patches^T @ dy` (overwritten).
fn weight_grad_chunk(g: &ConvGeometry, lowering: Lowering, lowered: &[f32], dy: &[f32], gw: &mut [f32]) {
    let (fan_in, co) = (g.fan_in(), g.out_channels);
    match lowering {
        Lowering::Patches => {
            let rows = dy.len() / co;
            matmul(
                gw,
                fan_in,
                co,
                rows,
                MatRef::transposed(lowered, fan_in),
                MatRef::rows(dy, co),
                false,
                Threads::One,
            );
        }
        #[cfg(target_arch = "x86_64")]
        Lowering::Padded => super::conv_avx512::weight_grad(g, lowered, dy, gw),
        #[cfg(not(target_arch = "x86_64"))]
        Lowering::Padded => unreachable!("Padded is only chosen on x86_64"),
    }
}

/// Adds the input gradient of one chunk of images into `dx`.
fn input_grad_chunk(g: &ConvGeometry, w: &Weights, dy: &[f32], dx: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if !w.flipped.is_empty() {
        use super::conv_avx512 as direct;
        let flipped = direct::input_grad_geometry(g);
        let mut padded = Scratch::take(direct::padded_len(&flipped));
        for (dyi, dxi) in dy.chunks_exact(g.out_features()).zip(dx.chunks_exact_mut(g.in_features())) {
            direct::pad_image(&flipped, dyi, &mut padded);
            direct::forward_image(&flipped, &padded, &w.flipped, direct::Start::Add, dxi);
        }
        return;
    }
    let (fan_in, co) = (g.fan_in(), g.out_channels);
    let rows = dy.len() / co;
    let mut dpatches = Scratch::take(rows * fan_in);
    matmul(
        &mut dpatches,
        rows,
        fan_in,
        co,
        MatRef::rows(dy, co),
        MatRef::transposed(&w.plain, co),
        false,
        Threads::One,
    );
    let patches_per_image = g.out_height() * g.out_width() * fan_in;
    for (img, dp) in dx.chunks_exact_mut(g.in_features()).zip(dpatches.chunks_exact(patches_per_image)) {
        col2im_add(g, dp, img);
    }
}

/// Runs the convolution of `x` (`(B, H*W*C)` channel-last) into `out` (`(B, Ho*Wo*Co)`); with
/// `track`, returns the backward pass (it keeps the lowered input of this batch until it runs).
pub(crate) fn forward(
    g: ConvGeometry,
    input_grad: bool,
    weight: &Tensor<(usize, usize), f32, Cpu>,
    bias: &Tensor<(usize,), f32, Cpu>,
    x: &Tensor<(usize, usize), f32, Cpu>,
    out: &mut Tensor<(usize, usize), f32, Cpu>,
    track: bool,
) -> Option<CpuBackward> {
    forward_lowered(Lowering::choose(&g), g, input_grad, weight, bias, x, out, track)
}

/// [forward] with the lowering given (tests compare them).
#[allow(clippy::too_many_arguments)] // forward's arguments and the lowering
pub(crate) fn forward_lowered(
    lowering: Lowering,
    g: ConvGeometry,
    input_grad: bool,
    weight: &Tensor<(usize, usize), f32, Cpu>,
    bias: &Tensor<(usize,), f32, Cpu>,
    x: &Tensor<(usize, usize), f32, Cpu>,
    out: &mut Tensor<(usize, usize), f32, Cpu>,
    track: bool,
) -> Option<CpuBackward> {
    let b = x.shape().0;
    let (fan_in, co) = (g.fan_in(), g.out_channels);
    let xs = contiguous_data(x);
    let w = Weights::new(&g, lowering, weight.as_vec(), track && input_grad);
    let bias_v = bias.as_vec();
    let ipc = images_per_chunk(b);
    let per_image = lowering.lowered_len(&g);
    let (x_chunk, l_chunk, y_chunk) = (ipc * g.in_features(), ipc * per_image, ipc * g.out_features());

    let mut y = Scratch::take(b * g.out_features());
    let lowered = if track {
        // Kept for the weight gradient.
        let mut lowered = Scratch::take(b * per_image);
        y.par_chunks_mut(y_chunk)
            .zip(lowered.par_chunks_mut(l_chunk))
            .zip(xs.par_chunks(x_chunk))
            .with_min_len(chunks_per_task())
            .for_each(|((yc, lc), xc)| forward_chunk(&g, lowering, &w, &bias_v, xc, lc, yc));
        lowered
    } else {
        y.par_chunks_mut(y_chunk).zip(xs.par_chunks(x_chunk)).with_min_len(chunks_per_task()).for_each(|(yc, xc)| {
            let mut lc = Scratch::take(xc.len() / g.in_features() * per_image);
            forward_chunk(&g, lowering, &w, &bias_v, xc, &mut lc, yc)
        });
        Scratch::take(0)
    };
    drop(xs);
    out.copy_from(&y);
    if !track {
        return None;
    }

    let (x_ghost, out_ghost, w_ghost, b_ghost) = (x.ghost(), out.ghost(), weight.ghost(), bias.ghost());
    Some(Box::new(move |grads: &mut Gradients<f32, Cpu>| {
        // Taken out (and put back below) so it can be read while other gradients are written.
        let dy = std::mem::take(&mut **grads.get_or_alloc_mut(&out_ghost)?);
        // Per chunk: weight gradient (fan_in x co) then bias gradient (co), summed afterwards.
        let per_chunk = fan_in * co + co;
        let mut partial = vec![0f32; b.div_ceil(ipc) * per_chunk];
        let param_grads = |dyc: &[f32], lc: &[f32], part: &mut [f32]| {
            let (gw, gb) = part.split_at_mut(fan_in * co);
            weight_grad_chunk(&g, lowering, lc, dyc, gw);
            for row in dyc.chunks_exact(co) {
                for (s, v) in gb.iter_mut().zip(row) {
                    *s += v;
                }
            }
        };
        if input_grad {
            let dx: &mut [f32] = grads.get_or_alloc_mut(&x_ghost)?;
            dx.par_chunks_mut(x_chunk)
                .zip(dy.par_chunks(y_chunk))
                .zip(lowered.par_chunks(l_chunk))
                .zip(partial.par_chunks_mut(per_chunk))
                .with_min_len(chunks_per_task())
                .for_each(|(((dxc, dyc), lc), part)| {
                    param_grads(dyc, lc, part);
                    input_grad_chunk(&g, &w, dyc, dxc);
                });
        } else {
            dy.par_chunks(y_chunk)
                .zip(lowered.par_chunks(l_chunk))
                .zip(partial.par_chunks_mut(per_chunk))
                .with_min_len(chunks_per_task())
                .for_each(|((dyc, lc), part)| param_grads(dyc, lc, part));
        }
        **grads.get_or_alloc_mut(&out_ghost)? = dy;
        add_chunk_sums(grads.get_or_alloc_mut(&w_ghost)?, &partial, per_chunk, 0);
        add_chunk_sums(grads.get_or_alloc_mut(&b_ghost)?, &partial, per_chunk, fan_in * co);
        Ok(())
    }))
}

/// `dst += sum over chunks of part[offset..offset + dst.len()]`, for partial sums laid out one
/// `per_chunk`-long block per chunk.
fn add_chunk_sums(dst: &mut [f32], partial: &[f32], per_chunk: usize, offset: usize) {
    let n = dst.len();
    for part in partial.chunks_exact(per_chunk) {
        for (s, v) in dst.iter_mut().zip(&part[offset..offset + n]) {
            *s += v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfdx::tensor::Gradients;
    use rand::{Rng, SeedableRng};

    /// Output, weight, bias and input gradients of one batch through `lowering`.
    fn run(lowering: Lowering, g: ConvGeometry, batch: usize, seed: u64) -> [Vec<f32>; 4] {
        let dev: Cpu = Default::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut values = |n: usize| (0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect::<Vec<_>>();
        let weight = dev.tensor_from_vec(values(g.fan_in() * g.out_channels), (g.fan_in(), g.out_channels));
        let bias = dev.tensor_from_vec(values(g.out_channels), (g.out_channels,));
        let x = dev.tensor_from_vec(values(batch * g.in_features()), (batch, g.in_features()));
        let dy = values(batch * g.out_features());
        let mut out = dev.zeros_like(&(batch, g.out_features()));
        let backward = forward_lowered(lowering, g, true, &weight, &bias, &x, &mut out, true).expect("tracked");
        let mut grads = Gradients::leaky();
        grads.get_or_alloc_mut(&out).unwrap().copy_from_slice(&dy);
        backward(&mut grads).unwrap();
        [out.as_vec(), grads.get(&weight).as_vec(), grads.get(&bias).as_vec(), grads.get(&x).as_vec()]
    }

    /// The direct kernels give the patch path's bits for the output and the parameter gradients
    /// (the same depth order and blocks), and its input gradient up to rounding (summed in another
    /// order); on geometries of LeNet, cnn-small, odd widths that leave partial tiles, one and two
    /// vectors of channels (16, 24, 32: where the patch path's product is `gemm_f32`'s own), and
    /// batches that span several depth blocks and chunks.
    #[test]
    fn the_direct_kernels_give_the_patch_paths_bits() {
        if !crate::gemm_f32::avx512_available() {
            eprintln!("no AVX-512F here: the direct kernels do not run on this CPU");
            return;
        }
        let g = |height, width, in_channels, out_channels, kernel, padding| ConvGeometry {
            height,
            width,
            in_channels,
            out_channels,
            kernel,
            padding,
        };
        let geometries = [
            g(28, 28, 1, 6, 5, 2),
            g(14, 14, 6, 16, 5, 2),
            g(28, 28, 1, 16, 3, 1),
            g(14, 14, 16, 32, 3, 1),
            g(9, 11, 3, 5, 3, 0),
            g(7, 9, 3, 24, 3, 1),
        ];
        for (i, g) in geometries.into_iter().enumerate() {
            assert_eq!(Lowering::choose(&g), Lowering::Padded, "{g:?}");
            for batch in [1, 7] {
                let [y0, w0, b0, x0] = run(Lowering::Patches, g, batch, i as u64);
                let [y1, w1, b1, x1] = run(Lowering::Padded, g, batch, i as u64);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert!(bits(&y0) == bits(&y1), "{g:?} batch {batch}: outputs");
                assert!(bits(&w0) == bits(&w1), "{g:?} batch {batch}: weight gradients");
                assert!(bits(&b0) == bits(&b1), "{g:?} batch {batch}: bias gradients");
                let scale = x0.iter().fold(1f32, |m, v| m.max(v.abs()));
                for (j, (a, b)) in x0.iter().zip(&x1).enumerate() {
                    assert!((a - b).abs() <= 1e-5 * scale, "{g:?} batch {batch}: input gradient {j}: {a} vs {b}");
                }
            }
        }
    }
}
