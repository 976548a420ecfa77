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

use rayon::prelude::*;

use super::{chunks_per_task, contiguous_data, CpuBackward, Scratch};
use crate::gemm_f32::{matmul, MatRef, Threads};

/// Below this many rows an untracked forward pass multiplies with dfdx's product (no copy of the
/// weight): a batch-1 query of mlp-1024-512 took 0.25 ms with the copy (PyTorch: 0.13 ms).
const OWN_PRODUCT_MIN_ROWS: usize = 32;

/// `out = x @ weight + bias` (`x`: `(B, I)`, `weight`: `(I, O)`, `out`: `(B, O)`), then its ReLU with
/// `relu`; with `track`, the backward pass (the input gradient only with `input_grad`).
///
/// The ReLU here rather than dfdx's saves a pass that allocates and writes a new activation and,
/// backward, one that allocates the pre-activation's gradient and reads three arrays to fill it:
/// the output gradient is masked in place. Same values as dfdx's (`max(y, 0)`; the gradient
/// `0 + g * [y > 0]`).
#[allow(clippy::too_many_arguments)] // a layer's tensors and its two switches
pub(crate) fn forward(
    input_grad: bool,
    relu: bool,
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
        if relu {
            relu_in_place(&mut y);
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
    if relu {
        relu_in_place(&mut y);
    }
    out.copy_from(&y);
    if !track {
        return None;
    }
    // The ReLU's output is kept for its gradient mask (it is positive exactly where its input is).
    let activation = relu.then_some(y);
    let (x_ghost, out_ghost, w_ghost, b_ghost) = (x.ghost(), out.ghost(), weight.ghost(), bias.ghost());
    Some(Box::new(move |grads: &mut Gradients<f32, Cpu>| {
        // Taken out (and put back below) so it can be read while other gradients are written.
        let mut dy = std::mem::take(&mut **grads.get_or_alloc_mut(&out_ghost)?);
        if let Some(activation) = activation {
            relu_gradient_in_place(&mut dy, &activation);
        }
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

/// `v = max(v, 0)` (dfdx's ReLU), in parallel when there are many.
fn relu_in_place(values: &mut [f32]) {
    let relu = |chunk: &mut [f32]| chunk.iter_mut().for_each(|v| *v = v.max(0.0));
    if values.len() < ELEMENTWISE_PARALLEL_MIN {
        return relu(values);
    }
    values.par_chunks_mut(ELEMENTWISE_CHUNK).with_min_len(chunks_per_task()).for_each(relu);
}

/// The gradient through a ReLU whose output was `activation`, in place of the output gradient `dy`:
/// `0 + dy * [y > 0]`, as dfdx's backward pass accumulates it into a zeroed gradient, in parallel
/// when there are many.
fn relu_gradient_in_place(dy: &mut [f32], activation: &[f32]) {
    let mask = |(g, a): (&mut [f32], &[f32])| {
        g.iter_mut().zip(a).for_each(|(g, a)| *g = 0.0 + *g * if *a > 0.0 { 1.0 } else { 0.0 })
    };
    if dy.len() < ELEMENTWISE_PARALLEL_MIN {
        return mask((dy, activation));
    }
    dy.par_chunks_mut(ELEMENTWISE_CHUNK)
        .zip(activation.par_chunks(ELEMENTWISE_CHUNK))
        .with_min_len(chunks_per_task())
        .for_each(mask);
}

/// Values per parallel task of an element-wise pass (64 KiB).
const ELEMENTWISE_CHUNK: usize = 1 << 14;
/// Fewer values than this (256 KiB: an MLP's hidden layer at batch 128 or less) are one pass on this
/// thread: a fork-join would cost about what the pass does.
const ELEMENTWISE_PARALLEL_MIN: usize = 1 << 16;
