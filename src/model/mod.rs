//! Neural network architectures built from runtime-sized layers (so one binary serves every dataset and
//! label-splitting factor), all visible to dfdx optimizers and safetensors through `TensorCollection`.

pub mod arch;
pub mod conv;
mod cpu_kernels;
pub mod frozen;
pub mod io;
pub mod linear;
pub mod pool;
pub mod split;

use dfdx::prelude::*;

/// A batch of flattened inputs or activations, `(batch, features)`: what every layer here takes.
pub(crate) type Act<D, T = NoneTape> = Tensor<(usize, usize), f32, D, T>;

/// The CPU device every training and benchmark run uses: seeded, denormals flushed to zero (they slow
/// training down a lot and change nothing visible), and freed buffers reused (avoiding page faults
/// that cost about a fifth of a CNN step).
pub fn cpu_training_device(seed: u64) -> Cpu {
    flush_denormals_on_every_thread();
    let dev = Cpu::seed_from_u64(seed);
    dev.enable_cache();
    dev
}

/// Flush denormal floats to zero on this thread and on every rayon worker: the layers' products and
/// kernels (and, on the CPU, whole training steps) run on the workers, and a product must not depend
/// on which thread ran it.
pub fn flush_denormals_on_every_thread() {
    dfdx::flush_denormals_to_zero();
    rayon::broadcast(|_| dfdx::flush_denormals_to_zero());
}

/// A (rows, cols) tensor holding `data`, allocated through the device's buffer cache.
///
/// Not `tensor_from_vec`: that hands the cache, when the tensor drops, a buffer it never took from
/// it, so with the cache on every training step grew it by one input batch (about 0.2 GB per MNIST
/// epoch and arm).
pub fn tensor_from_slice<D: Device<f32>>(
    dev: &D,
    data: &[f32],
    shape: (usize, usize),
) -> Result<Tensor<(usize, usize), f32, D>, D::Err> {
    let mut t = dev.try_zeros_like(&shape)?;
    t.copy_from(data);
    Ok(t)
}
