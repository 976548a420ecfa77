//! 2x2 max pooling (stride 2) on the CPU, per chunk of images in parallel. The forward pass records
//! which of the four window pixels won (one byte per output); the backward pass sends each output
//! gradient to that pixel only. Ties go to the first pixel in window order (row-major), as in
//! PyTorch; a NaN wins its window, so NaNs propagate.

use dfdx::prelude::*;
use rayon::prelude::*;

use super::{chunks_per_task, contiguous_data, images_per_chunk, CpuBackward, Scratch};
use crate::model::pool::MaxPool2x2;

/// Input offset of window pixel `which` (0..4, row-major) relative to the window's top-left pixel.
fn window_offset(p: &MaxPool2x2, which: u8) -> usize {
    let (row, col) = ((which / 2) as usize, (which % 2) as usize);
    (row * p.width + col) * p.channels
}

/// Pools one image into `out`, recording the winning window pixel of every output in `winner`.
fn pool_image(p: &MaxPool2x2, image: &[f32], out: &mut [f32], winner: &mut [u8]) {
    let c = p.channels;
    let w2 = p.out_width();
    for (o, (ov, wv)) in out.chunks_exact_mut(c).zip(winner.chunks_exact_mut(c)).enumerate() {
        let (y2, x2) = (o / w2, o % w2);
        let top = (2 * y2 * p.width + 2 * x2) * c;
        let bottom = top + p.width * c;
        let (a, b) = (&image[top..top + c], &image[top + c..top + 2 * c]);
        let (d, e) = (&image[bottom..bottom + c], &image[bottom + c..bottom + 2 * c]);
        for i in 0..c {
            // Branch-free so that the channel loop vectorises; the NaN test lets a NaN win.
            let (mut best, mut win) = (a[i], 0u8);
            for (which, v) in [(1u8, b[i]), (2, d[i]), (3, e[i])] {
                let take = v > best || (v.is_nan() & !best.is_nan());
                best = if take { v } else { best };
                win = if take { which } else { win };
            }
            ov[i] = best;
            wv[i] = win;
        }
    }
}

/// Pools `x` (`(B, H*W*C)` channel-last) into `out` (`(B, H/2*W/2*C)`); with `track`, returns the
/// backward pass (it keeps one byte per output until it runs).
pub(crate) fn forward(
    p: MaxPool2x2,
    x: &Tensor<(usize, usize), f32, Cpu>,
    out: &mut Tensor<(usize, usize), f32, Cpu>,
    track: bool,
) -> Option<CpuBackward> {
    let b = x.shape().0;
    let (fi, fo) = (p.in_features(), p.out_features());
    let xs = contiguous_data(x);
    let ipc = images_per_chunk(b);
    let mut y = Scratch::take(b * fo);
    let mut winner = vec![0u8; b * fo];
    y.par_chunks_mut(ipc * fo)
        .zip(winner.par_chunks_mut(ipc * fo))
        .zip(xs.par_chunks(ipc * fi))
        .with_min_len(chunks_per_task())
        .for_each(|((yc, wc), xc)| {
            for ((img, yi), wi) in xc.chunks_exact(fi).zip(yc.chunks_exact_mut(fo)).zip(wc.chunks_exact_mut(fo)) {
                pool_image(&p, img, yi, wi);
            }
        });
    out.copy_from(&y);
    if !track {
        return None;
    }

    let (x_ghost, out_ghost) = (x.ghost(), out.ghost());
    Some(Box::new(move |grads: &mut Gradients<f32, Cpu>| {
        // Taken out (and put back below) so it can be read while other gradients are written.
        let dy = std::mem::take(&mut **grads.get_or_alloc_mut(&out_ghost)?);
        let dx: &mut [f32] = grads.get_or_alloc_mut(&x_ghost)?;
        let (c, w2) = (p.channels, p.out_width());
        let offsets = [0u8, 1, 2, 3].map(|which| window_offset(&p, which));
        dx.par_chunks_mut(ipc * fi)
            .zip(dy.par_chunks(ipc * fo))
            .zip(winner.par_chunks(ipc * fo))
            .with_min_len(chunks_per_task())
            .for_each(|((dxc, dyc), wc)| {
                for ((dxi, dyi), wi) in dxc.chunks_exact_mut(fi).zip(dyc.chunks_exact(fo)).zip(wc.chunks_exact(fo)) {
                    for (o, (g, w)) in dyi.chunks_exact(c).zip(wi.chunks_exact(c)).enumerate() {
                        let (y2, x2) = (o / w2, o % w2);
                        let base = (2 * y2 * p.width + 2 * x2) * c;
                        for (ch, (&gv, &which)) in g.iter().zip(w).enumerate() {
                            dxi[base + offsets[which as usize] + ch] += gv;
                        }
                    }
                }
            });
        **grads.get_or_alloc_mut(&out_ghost)? = dy;
        Ok(())
    }))
}
