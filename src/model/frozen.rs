//! A trained network of dense layers (the MLPs, patch-set) frozen for inference: its layers' weights
//! copied out of dfdx once and packed for ppdl's product (`gemm_f32::PackedMatrix`), so that a served model's queries
//! neither copy nor pack them (the idea of PyTorch's `torch.jit.freeze` with prepacked weights).
//!
//! dfdx 0.13 lends no view of a tensor's buffer, so its forward pass copies every layer's input and
//! weight out of their tensors and its output into one; with the product's packing of the weight,
//! that was a quarter of a batch-256 query of an MLP (bench/README.md, "Session 14"). A frozen
//! network reads its input where it lies, keeps its activations in recycled buffers, and runs the
//! whole network on one band of rows per thread (one fork-join per query, not one per layer).
//!
//! Its scores have the network's bits wherever the network's forward pass ran ppdl's AVX-512 kernels
//! (on such CPUs, batches of 32 rows or more): each value sums in the same blocks and order.

use dfdx::prelude::*;

use super::cpu_kernels::mean_positions::mean_rows;
use super::cpu_kernels::{as_cpu, contiguous_data, Scratch};
use super::split::Layer;
use crate::gemm_f32::{matmul_packed, MatRef, PackedMatrix, Threads};

/// A network of dense layers with frozen weights.
pub struct FrozenNet {
    layers: Vec<FrozenLayer>,
}

/// One dense layer, `y = x W + b`, applied to each of `positions` vectors of a row (one for a plain
/// dense layer), after the mean over them where `pool` says so, with a ReLU where the network has
/// one.
struct FrozenLayer {
    weight: PackedMatrix,
    bias: Vec<f32>,
    positions: usize,
    pool: bool,
    relu: bool,
}

impl FrozenLayer {
    /// Values per row this layer takes and gives.
    fn widths(&self) -> (usize, usize) {
        let (k, n) = self.weight.shape();
        match self.pool {
            true => (self.positions * k, n),
            false => (self.positions * k, self.positions * n),
        }
    }

    /// Rows of its product per row of the network's input.
    fn product_rows(&self) -> usize {
        if self.pool {
            1
        } else {
            self.positions
        }
    }
}

/// A thread's band of a query makes products of at least this many rows (two of the product's
/// 12-row register tiles). A query too small for that (a batch of one) cuts its per-position layers'
/// positions into bands instead, and runs every other layer's product on the whole pool.
const BAND_MIN_PRODUCT_ROWS: usize = 24;

/// A band's activations hold at most this many values (256 rows of 1,024, 1 MiB), so that they
/// stay near the core; a long query (an evaluation's 10,000 rows) is many bands, which the pool
/// shares out.
const BAND_MAX_VALUES: usize = 256 * 1024;

impl FrozenNet {
    /// `layers` frozen, if they are all dense layers (plain, per position or after the mean over
    /// positions: the MLPs and patch-set) on the CPU; `None` for any other network or device, which
    /// the caller runs through dfdx.
    pub fn freeze<D: Device<f32>>(layers: &[Layer<D>]) -> Option<FrozenNet> {
        let frozen = layers.iter().map(|layer| {
            let (linear, positions, pool, relu) = match layer {
                Layer::Dense { linear, relu, .. } => (linear, 1, false, *relu),
                Layer::PerPosition { linear, positions, .. } => (linear, *positions, false, true),
                Layer::PoolDense { linear, positions, .. } => (linear, *positions, true, false),
                Layer::Conv { .. } => return None,
            };
            let (weight, bias) = (as_cpu(&linear.weight)?, as_cpu(&linear.bias)?);
            let (k, n) = *weight.shape();
            let w = contiguous_data(weight);
            let weight = PackedMatrix::new(MatRef::rows(&w, n), k, n);
            Some(FrozenLayer { weight, bias: bias.as_vec(), positions, pool, relu })
        });
        let layers: Vec<FrozenLayer> = frozen.collect::<Option<_>>()?;
        (!layers.is_empty()).then_some(FrozenNet { layers })
    }

    /// Values per input row.
    pub fn inputs(&self) -> usize {
        self.layers[0].widths().0
    }

    /// Scores per row.
    pub fn outputs(&self) -> usize {
        self.layers[self.layers.len() - 1].widths().1
    }

    /// The scores of `inputs` (rows of [inputs](Self::inputs) values), row after row.
    pub fn forward(&self, inputs: &[f32]) -> Vec<f32> {
        use rayon::prelude::*;
        let (d, o) = (self.inputs(), self.outputs());
        assert!(inputs.len().is_multiple_of(d), "{} input values are not rows of {d}", inputs.len());
        let rows = inputs.len() / d;
        let mut out = vec![0.0; rows * o];
        let threads = crate::pool_share::threads().max(1);
        // One band per thread at least, each with products of enough rows.
        let product_rows = self.layers.iter().map(FrozenLayer::product_rows).max().unwrap_or(1);
        if rows >= threads && (rows / threads) * product_rows >= BAND_MIN_PRODUCT_ROWS {
            let band = rows.div_ceil(threads).min((BAND_MAX_VALUES / self.widest()).max(1));
            inputs
                .par_chunks(band * d)
                .zip(out.par_chunks_mut(band * o))
                .for_each(|(x, y)| run_layers(&self.layers, x, y, Threads::One));
            return out;
        }
        // Fewer rows (a batch-1 query). Leading per-position layers treat every position alike, so
        // their positions are cut into one band per thread; the rest, and an MLP, runs each layer's
        // product on the pool.
        let per_position = self.layers.iter().take_while(|l| !l.pool && l.positions > 1).count();
        if per_position == 0 || threads == 1 {
            run_layers(&self.layers, inputs, &mut out, Threads::All);
            return out;
        }
        let (prefix, rest) = self.layers.split_at(per_position);
        let (k, n) = (prefix[0].weight.shape().0, prefix[per_position - 1].weight.shape().1);
        let vectors = inputs.len() / k;
        let band = vectors.div_ceil(threads);
        let mut activations = Scratch::take(vectors * n);
        inputs
            .par_chunks(band * k)
            .zip(activations.par_chunks_mut(band * n))
            .for_each(|(x, y)| run_layers(prefix, x, y, Threads::One));
        match rest.is_empty() {
            true => out.copy_from_slice(&activations),
            false => run_layers(rest, &activations, &mut out, Threads::All),
        }
        out
    }

    /// The most values per row that any layer gives.
    fn widest(&self) -> usize {
        self.layers.iter().map(|l| l.widths().1).max().unwrap_or(0)
    }
}

/// `layers` on `x`, their output into `out`. Each layer's product has as many rows as its input
/// holds vectors of its width (after the mean over positions, for a pooling layer), so a run may
/// start on whole rows or, for per-position layers, on any run of positions.
fn run_layers(layers: &[FrozenLayer], x: &[f32], out: &mut [f32], threads: Threads) {
    // The last layer's output, the next one's input; `x` before the first.
    let mut held: Option<Scratch> = None;
    let last = layers.len() - 1;
    for (i, layer) in layers.iter().enumerate() {
        let (k, n) = layer.weight.shape();
        let mut input: &[f32] = held.as_deref().unwrap_or(x);
        let pooled;
        if layer.pool {
            let mut means = Scratch::take(input.len() / layer.positions);
            mean_rows(layer.positions, k, input, &mut means);
            pooled = means;
            input = &pooled;
        }
        let m = input.len() / k;
        let mut fresh = if i == last { None } else { Some(Scratch::take(m * n)) };
        let output: &mut [f32] = match fresh.as_deref_mut() {
            Some(y) => y,
            None => &mut *out,
        };
        // The bias first, then the product added to it: the order the layer's forward pass sums in.
        for row in output.chunks_exact_mut(n) {
            row.copy_from_slice(&layer.bias);
        }
        matmul_packed(output, m, MatRef::rows(input, k), &layer.weight, true, threads);
        if layer.relu {
            output.iter_mut().for_each(|v| *v = v.max(0.0));
        }
        if fresh.is_some() {
            held = fresh;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::arch::{Mlp1, Mlp2, Net, PatchSet};
    use crate::model::Act;

    fn inputs(rows: usize, d: usize) -> Vec<f32> {
        (0..rows * d).map(|i| ((i * 7919) % 255) as f32 / 255.0 - 0.3).collect()
    }

    fn network_scores<M: Net<Cpu>>(model: &M, dev: &Cpu, x: &[f32], d: usize) -> Vec<f32> {
        let t: Act<Cpu> = crate::model::tensor_from_slice(dev, x, (x.len() / d, d)).unwrap();
        model.forward(t).as_vec()
    }

    /// The frozen network's scores are the network's forward pass's, bit for bit, at batches the
    /// forward pass multiplies with ppdl's kernels (one band, several bands, a last short band, an
    /// evaluation-sized query), and within float rounding of them at a batch of one (where the
    /// network multiplies with dfdx's product). MLPs, and patch-set (per-position layers and the
    /// mean over positions).
    #[test]
    fn a_frozen_network_scores_as_the_network_does() {
        fn check<M: Net<Cpu> + Sync>(model: M, dev: &Cpu, d: usize, batches: &[usize]) {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
            let frozen = FrozenNet::freeze(&model.clone().into_layers()).expect("a dense network freezes");
            assert_eq!((frozen.inputs(), frozen.outputs()), (d, 10));
            let bits = |v: &[f32]| v.iter().map(|s| s.to_bits()).collect::<Vec<_>>();
            for &rows in batches {
                let x = inputs(rows, d);
                let (want, got) = pool.install(|| (network_scores(&model, dev, &x, d), frozen.forward(&x)));
                assert!(bits(&got) == bits(&want), "{rows} rows");
            }
            let x = inputs(1, d);
            for (g, w) in frozen.forward(&x).iter().zip(network_scores(&model, dev, &x, d)) {
                assert!((g - w).abs() <= 1e-5 * w.abs().max(1.0), "one row: {g} against {w}");
            }
        }
        let dev = crate::model::cpu_training_device(7);
        let mlp_batches = [32, 48, 256, 300, 1000];
        check(Mlp1::new(&dev, 784, 256, 10), &dev, 784, &mlp_batches);
        check(Mlp2::new(&dev, 784, 512, 256, 10), &dev, 784, &mlp_batches);
        let shape = crate::data::ImageShape { height: 12, width: 12, channels: 3 };
        check(PatchSet::new(&dev, shape, 128, 10), &dev, shape.features(), &[32, 33, 100]);
    }

    #[test]
    fn a_network_with_convolutions_does_not_freeze() {
        let dev = Cpu::seed_from_u64(1);
        let shape = crate::data::ImageShape { height: 8, width: 8, channels: 1 };
        let cnn = crate::model::arch::Cnn::new(&dev, shape, 3, 1, 4, 8, 16, 10);
        assert!(FrozenNet::freeze(&cnn.into_layers()).is_none());
    }
}
