//! Hand-written CPU kernels (forward and backward) for the layers whose dfdx formulation is dominated
//! by single-threaded data movement: convolution (direct kernels or im2col), 2x2 max pooling, the
//! dense layer (its bias broadcast and add), and the mean over a set's positions.
//!
//! dfdx 0.13 has no public custom-op API, so a kernel is attached the way dfdx's own ops are: the
//! forward result is computed on plain slices, and a backward closure that reads the output gradient
//! and accumulates into the input and parameter gradients is pushed onto the tape
//! (`Tape::add_backward_op`). The layers stay generic over the device: they call these kernels only
//! when the device *is* `Cpu` (checked by `TypeId` at run time, see [as_cpu]) and keep their portable
//! dfdx formulation for every other device (CUDA).
//!
//! Work is split over images with rayon (the thread pool that gemm's parallel mode uses too), and every
//! per-chunk matrix product runs single-threaded inside its chunk, so one layer call keeps all cores
//! busy without nested parallelism.

pub(crate) mod conv;
#[cfg(target_arch = "x86_64")]
mod conv_avx512;
pub(crate) mod linear;
pub(crate) mod mean_positions;
pub(crate) mod pool;
mod scratch;

pub(crate) use scratch::Scratch;

use std::any::Any;

use dfdx::prelude::*;

/// `a` as a `B` when `A` and `B` are the same type (moves, no copy). The layers are generic over the
/// device; this turns a `Tensor<_, _, D>` into a `Tensor<_, _, Cpu>` (and back) when `D = Cpu`.
fn cast<A: 'static, B: 'static>(a: A) -> Result<B, A> {
    let mut slot = Some(a);
    match (&mut slot as &mut dyn Any).downcast_mut::<Option<B>>() {
        Some(b) => Ok(b.take().expect("slot is filled")),
        None => Err(slot.expect("slot is untouched")),
    }
}

/// [cast] where the types are known to be equal (checked by the caller).
fn same<A: 'static, B: 'static>(a: A) -> B {
    cast(a).unwrap_or_else(|_| unreachable!("the caller checked that the types are equal"))
}

pub(crate) use super::Act;

/// `t` viewed as a CPU tensor, if the device is `Cpu`.
pub(crate) fn as_cpu<S: Shape, D: Storage<f32>>(t: &Tensor<S, f32, D>) -> Option<&Tensor<S, f32, Cpu>> {
    (t as &dyn Any).downcast_ref()
}

/// A backward pass, as the CPU tape stores it.
pub(crate) type CpuBackward = Box<dyn FnOnce(&mut Gradients<f32, Cpu>) -> Result<(), CpuError>>;

/// Run `kernel` on the CPU view of `x` and give its output back as a `D` tensor on `x`'s tape, with
/// the backward pass `kernel` returns recorded on that tape: `Ok(Ok(output))`. When `D` is not `Cpu`,
/// `Ok(Err(x))` hands the input back untouched for the caller's portable formulation.
///
/// `kernel` gets the (untaped) input, a zeroed output of `out_shape` to fill, and whether gradients
/// are being tracked (when not, it should skip saving anything for the backward pass).
#[allow(clippy::type_complexity)] // Ok(kernel output) or Err(the input, untouched), or an allocation error
pub(crate) fn run_on_cpu<D, T, K>(
    x: Act<D, T>,
    out_shape: (usize, usize),
    kernel: K,
) -> Result<Result<Act<D, T>, Act<D, T>>, D::Err>
where
    D: Device<f32>,
    T: Tape<f32, D> + 'static,
    K: FnOnce(&Act<Cpu>, &mut Act<Cpu>, bool) -> Option<CpuBackward>,
{
    if std::any::TypeId::of::<D>() != std::any::TypeId::of::<Cpu>() {
        return Ok(Err(x));
    }
    // Allocate through the generic device so that an out-of-memory error has the caller's type.
    let out: Act<D> = x.device().try_zeros_like(&out_shape)?;
    let (x, mut tape) = x.split_tape();
    let x_cpu: Act<Cpu> = same(x);
    let mut out_cpu: Act<Cpu> = same(out);
    let backward = kernel(&x_cpu, &mut out_cpu, T::OWNS_TAPE);
    if let Some(op) = backward {
        // A tape that owns operations on a Cpu tensor is an `OwnedTape<f32, Cpu>`.
        let owned = (&mut tape as &mut dyn Any)
            .downcast_mut::<OwnedTape<f32, Cpu>>()
            .expect("a gradient-tracking tape on the CPU is an OwnedTape<f32, Cpu>");
        owned.add_backward_op(op);
    }
    let out: Act<D> = same(out_cpu);
    Ok(Ok(out.put_tape(tape)))
}

/// The contents of a dense, row-major CPU tensor (the layers' inputs always are: data batches or
/// outputs of other layers). dfdx does not expose strides; `copy_into` copies the raw buffer and
/// panics if its length is not `rows * cols` (a broadcast view).
pub(crate) fn contiguous_data(t: &Act<Cpu>) -> Scratch {
    let (rows, cols) = *t.shape();
    let mut v = Scratch::take(rows * cols);
    t.copy_into(&mut v);
    v
}

/// How many images each parallel chunk gets: a few chunks per thread for balance, whole images only.
/// The chunks follow the pool's size, not the work's share of it (`pool_share`): a convolution's
/// weight gradient sums per chunk, so its bits depend on the chunks.
pub(crate) fn images_per_chunk(batch: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    batch.div_ceil(threads * 2).max(1)
}

/// The fewest chunks one task takes (rayon's `with_min_len`): all of them, so they run one after
/// the other on this thread, where this work may use one thread of the pool; else one.
pub(crate) fn chunks_per_task() -> usize {
    if crate::pool_share::threads() == 1 {
        usize::MAX
    } else {
        1
    }
}
