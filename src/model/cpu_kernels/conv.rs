//! Convolution on the CPU: im2col per image into `(Ho*Wo, K*K*C)` patch rows, then one matrix product
//! with the `(K*K*C, Co)` weight, per chunk of images in parallel. Backward: the weight gradient is
//! `patches^T @ dy` (summed over chunks), the input gradient scatters `dy @ W^T` back through the
//! same patch layout (col2im), each chunk into its own images' slice of the input gradient.
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

/// Forward pass of one chunk of images: patches into `patches`, then `y = bias + patches @ W`.
fn forward_chunk(g: &ConvGeometry, weight: &[f32], bias: &[f32], x: &[f32], patches: &mut [f32], y: &mut [f32]) {
    let (fan_in, co) = (g.fan_in(), g.out_channels);
    let rows_per_image = g.out_height() * g.out_width();
    for (image, p) in x.chunks_exact(g.in_features()).zip(patches.chunks_exact_mut(rows_per_image * fan_in)) {
        im2col(g, image, p);
    }
    for row in y.chunks_exact_mut(co) {
        row.copy_from_slice(bias);
    }
    let rows = y.len() / co;
    matmul(y, rows, co, fan_in, MatRef::rows(patches, fan_in), MatRef::rows(weight, co), true, Threads::One);
}

/// Runs the convolution of `x` (`(B, H*W*C)` channel-last) into `out` (`(B, Ho*Wo*Co)`); with
/// `track`, returns the backward pass (it keeps the patches of this batch until it runs).
pub(crate) fn forward(
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
    let rows_per_image = g.out_height() * g.out_width();
    let xs = contiguous_data(x);
    let w = weight.as_vec();
    let bias_v = bias.as_vec();
    let ipc = images_per_chunk(b);
    let (x_chunk, p_chunk, y_chunk) = (ipc * g.in_features(), ipc * rows_per_image * fan_in, ipc * rows_per_image * co);

    let mut y = Scratch::take(b * rows_per_image * co);
    let patches = if track {
        // Kept for the weight gradient.
        let mut patches = Scratch::take(b * rows_per_image * fan_in);
        y.par_chunks_mut(y_chunk)
            .zip(patches.par_chunks_mut(p_chunk))
            .zip(xs.par_chunks(x_chunk))
            .with_min_len(chunks_per_task())
            .for_each(|((yc, pc), xc)| forward_chunk(&g, &w, &bias_v, xc, pc, yc));
        patches
    } else {
        y.par_chunks_mut(y_chunk).zip(xs.par_chunks(x_chunk)).with_min_len(chunks_per_task()).for_each(|(yc, xc)| {
            let mut pc = Scratch::take(xc.len() / g.in_features() * rows_per_image * fan_in);
            forward_chunk(&g, &w, &bias_v, xc, &mut pc, yc)
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
        let param_grads = |dyc: &[f32], pc: &[f32], part: &mut [f32]| {
            let rows = dyc.len() / co;
            let (gw, gb) = part.split_at_mut(fan_in * co);
            matmul(gw, fan_in, co, rows, MatRef::transposed(pc, fan_in), MatRef::rows(dyc, co), false, Threads::One);
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
                .zip(patches.par_chunks(p_chunk))
                .zip(partial.par_chunks_mut(per_chunk))
                .with_min_len(chunks_per_task())
                .for_each(|(((dxc, dyc), pc), part)| {
                    param_grads(dyc, pc, part);
                    let rows = dyc.len() / co;
                    let mut dpatches = Scratch::take(rows * fan_in);
                    matmul(
                        &mut dpatches,
                        rows,
                        fan_in,
                        co,
                        MatRef::rows(dyc, co),
                        MatRef::transposed(&w, co),
                        false,
                        Threads::One,
                    );
                    for (img, dp) in
                        dxc.chunks_exact_mut(g.in_features()).zip(dpatches.chunks_exact(rows_per_image * fan_in))
                    {
                        col2im_add(&g, dp, img);
                    }
                });
        } else {
            dy.par_chunks(y_chunk)
                .zip(patches.par_chunks(p_chunk))
                .zip(partial.par_chunks_mut(per_chunk))
                .with_min_len(chunks_per_task())
                .for_each(|((dyc, pc), part)| param_grads(dyc, pc, part));
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
