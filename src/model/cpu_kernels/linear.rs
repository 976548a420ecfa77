//! A fully connected layer `y = x W + b` on the CPU as one tape operation.
//!
//! dfdx's formulation (a matmul, a broadcast of the bias, an add) records three operations whose
//! backward passes are single-threaded index loops over the whole activation (the broadcast's sum
//! over the batch, the add's two gradient copies) besides the two matrix products, and the
//! no-input-gradient variant copied the weight gradient out of a fresh tensor. Here the forward
//! product is ppdl's (`gemm_f32`: AVX-512 tiles, one band per thread) on copies of the input and the weight
//! (kept for the backward pass), written over rows holding the bias, and the backward pass
//! accumulates both products straight into the gradient buffers (`dW += x^T dy`, `dx += dy W^T`)
//! and sums `dy`'s rows for the bias. Untracked passes of a few rows use dfdx's product instead.

use dfdx::prelude::*;

use super::{contiguous_data, CpuBackward, Scratch};
use crate::gemm_f32::{matmul, MatRef, Threads};

/// Below this many rows an untracked forward pass multiplies with dfdx's product (no copy of the
/// weight): a batch-1 query of mlp-1024-512 took 0.25 ms with the copy (PyTorch: 0.13 ms).
const OWN_PRODUCT_MIN_ROWS: usize = 32;

/// `out = x @ weight + bias` (`x`: `(B, I)`, `weight`: `(I, O)`, `out`: `(B, O)`); with `track`, the
/// backward pass (the input gradient only with `input_grad`).
pub(crate) fn forward(
    input_grad: bool,
    weight: &Tensor<(usize, usize), f32, Cpu>,
    bias: &Tensor<(usize,), f32, Cpu>,
    x: &Tensor<(usize, usize), f32, Cpu>,
    out: &mut Tensor<(usize, usize), f32, Cpu>,
    track: bool,
) -> Option<CpuBackward> {
    let (b, i) = *x.shape();
    let o = weight.shape().1;
    let mut y = Scratch::take(b * o);
    let bias_v = bias.as_vec();
    if !track && b < OWN_PRODUCT_MIN_ROWS {
        // A few rows without gradients (a served query): dfdx's product reads the weight in place,
        // where ppdl's would first copy all of it.
        x.clone().matmul(weight.clone()).copy_into(&mut y);
        for row in y.chunks_exact_mut(o) {
            row.iter_mut().zip(&bias_v).for_each(|(v, c)| *v += c);
        }
        out.copy_from(&y);
        return None;
    }
    // Copies of the input and the weight: dfdx lends no view of a tensor's buffer. The backward pass
    // keeps them (it needs both), so each is copied once per step.
    let (xs, ws) = (contiguous_data(x), contiguous_data(weight));
    for row in y.chunks_exact_mut(o) {
        row.copy_from_slice(&bias_v);
    }
    matmul(&mut y, b, o, i, MatRef::rows(&xs, i), MatRef::rows(&ws, o), true, Threads::All);
    out.copy_from(&y);
    if !track {
        return None;
    }
    let (x_ghost, out_ghost, w_ghost, b_ghost) = (x.ghost(), out.ghost(), weight.ghost(), bias.ghost());
    Some(Box::new(move |grads: &mut Gradients<f32, Cpu>| {
        // Taken out (and put back below) so it can be read while other gradients are written.
        let dy = std::mem::take(&mut **grads.get_or_alloc_mut(&out_ghost)?);
        let dw: &mut [f32] = grads.get_or_alloc_mut(&w_ghost)?;
        matmul(dw, i, o, b, MatRef::transposed(&xs, i), MatRef::rows(&dy, o), true, Threads::All);
        drop(xs);
        let db: &mut [f32] = grads.get_or_alloc_mut(&b_ghost)?;
        for row in dy.chunks_exact(o) {
            for (s, v) in db.iter_mut().zip(row) {
                *s += v;
            }
        }
        if input_grad {
            let dx: &mut [f32] = grads.get_or_alloc_mut(&x_ghost)?;
            matmul(dx, b, i, o, MatRef::rows(&dy, o), MatRef::transposed(&ws, o), true, Threads::All);
        }
        **grads.get_or_alloc_mut(&out_ghost)? = dy;
        Ok(())
    }))
}
