//! The mean over positions of a set (`(B, P*F)` rows of P vectors of F values -> `(B, F)`), the
//! pooling of patch-set and of split learning's pool-dense layer, per chunk of rows in parallel.
//!
//! dfdx's formulation (a sum over an axis, then a scale) runs its generic index loop on one thread:
//! 13% of a patch-set training step and 16% of a batch-1 query went there. The values are those of
//! dfdx's: each feature sums its positions in order, then is multiplied by `1 / P` (rounded to f32,
//! as dfdx does); the backward pass sends `dy * (1 / P)` to every position.

use dfdx::prelude::*;
use rayon::prelude::*;

use super::{chunks_per_task, contiguous_data, images_per_chunk, CpuBackward, Scratch};

/// `y (rows, F) = mean over the P positions of x (rows, P*F)` on this thread: each feature sums its
/// positions in order, then is multiplied by `1 / P` rounded to f32 (dfdx's values).
pub(crate) fn mean_rows(positions: usize, f: usize, x: &[f32], y: &mut [f32]) {
    debug_assert_eq!(x.len() / (positions * f), y.len() / f);
    let scale = (1.0 / positions as f64) as f32;
    for (yr, xr) in y.chunks_exact_mut(f).zip(x.chunks_exact(positions * f)) {
        yr.fill(0.0);
        for vector in xr.chunks_exact(f) {
            yr.iter_mut().zip(vector).for_each(|(s, v)| *s += v);
        }
        yr.iter_mut().for_each(|s| *s *= scale);
    }
}

/// `out (B, F) = mean over the P positions of x (B, P*F)`; with `track`, the backward pass.
pub(crate) fn forward(
    positions: usize,
    x: &Tensor<(usize, usize), f32, Cpu>,
    out: &mut Tensor<(usize, usize), f32, Cpu>,
    track: bool,
) -> Option<CpuBackward> {
    let (b, f) = *out.shape();
    assert_eq!(*x.shape(), (b, positions * f), "mean over positions: input is not (B, P*F)");
    let scale = (1.0 / positions as f64) as f32;
    let xs = contiguous_data(x);
    let rows = images_per_chunk(b);
    let mut y = Scratch::take(b * f);
    y.par_chunks_mut(rows * f)
        .zip(xs.par_chunks(rows * positions * f))
        .with_min_len(chunks_per_task())
        .for_each(|(yc, xc)| mean_rows(positions, f, xc, yc));
    drop(xs);
    out.copy_from(&y);
    if !track {
        return None;
    }
    let (x_ghost, out_ghost) = (x.ghost(), out.ghost());
    Some(Box::new(move |grads: &mut Gradients<f32, Cpu>| {
        // Taken out (and put back below) so it can be read while the input's gradient is written.
        let dy = std::mem::take(&mut **grads.get_or_alloc_mut(&out_ghost)?);
        let dx: &mut [f32] = grads.get_or_alloc_mut(&x_ghost)?;
        dx.par_chunks_mut(rows * positions * f).zip(dy.par_chunks(rows * f)).with_min_len(chunks_per_task()).for_each(
            |(dxc, dyc)| {
                for (dxr, dyr) in dxc.chunks_exact_mut(positions * f).zip(dyc.chunks_exact(f)) {
                    for vector in dxr.chunks_exact_mut(f) {
                        vector.iter_mut().zip(dyr).for_each(|(d, g)| *d += g * scale);
                    }
                }
            },
        );
        **grads.get_or_alloc_mut(&out_ghost)? = dy;
        Ok(())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The kernel gives dfdx's bits, forward and backward (the docs say why), on batches that span
    /// several chunks.
    #[test]
    fn the_kernel_gives_dfdx_means_bits() {
        let dev: Cpu = Default::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for (b, p, f) in [(1, 784, 128), (7, 9, 5), (3, 1, 4)] {
            let mut values = |n: usize| (0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect::<Vec<_>>();
            let x = dev.tensor_from_vec(values(b * p * f), (b, p * f));
            let coeffs = dev.tensor_from_vec(values(b * f), (b, f));
            let by_dfdx = x.leaky_trace().reshape_like(&(b, p, f)).mean::<(usize, usize), Axis<1>>();
            let by_kernel =
                match super::super::run_on_cpu(x.leaky_trace(), (b, f), |x, out, track| forward(p, x, out, track)) {
                    Ok(Ok(y)) => y,
                    _ => unreachable!("the device is the CPU"),
                };
            let bits =
                |t: &Tensor<(usize, usize), f32, Cpu>| t.as_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert!(bits(&by_dfdx.retaped()) == bits(&by_kernel.retaped()), "{b}x{p}x{f}: means");
            let dx_dfdx = (by_dfdx * coeffs.clone()).sum().backward().get(&x);
            let dx_kernel = (by_kernel * coeffs).sum().backward().get(&x);
            assert!(bits(&dx_dfdx) == bits(&dx_kernel), "{b}x{p}x{f}: input gradients");
        }
    }
}
