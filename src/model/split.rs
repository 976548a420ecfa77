//! The layers of an architecture as split learning counts them, and the three parts of a U-shaped
//! split (the customer's head, the provider's middle, the customer's tail).
//!
//! THE definition of a "layer" (README, "Split learning"): for the MLPs, each fully connected layer
//! with the ReLU after it (none after the output layer); for the CNNs, each convolution block
//! (convolution, 2x2 max pool, ReLU) and then each dense layer with its ReLU. [`layer_names`] lists
//! them per architecture and `Net::into_layers` (src/model/arch.rs) takes a built network apart in
//! that order, so a split network starts from exactly the unsplit network's initialisation.

use dfdx::nn::{Module, ModuleVisitor, TensorCollection};
use dfdx::prelude::*;

use super::conv::Conv2d;
use super::cpu_kernels;
use super::linear::{runtime_options, DynLinear};
use super::pool::MaxPool2x2;
use super::Act;
use crate::config::Arch;

/// The layers of `arch` in forward order, named as in the unsplit network's weight files.
pub fn layer_names(arch: Arch) -> &'static [&'static str] {
    match arch {
        Arch::Mlp256 => &["fc1", "fc2"],
        Arch::Mlp512x256 | Arch::Mlp1024x512 => &["fc1", "fc2", "fc3"],
        Arch::CnnSmall | Arch::Lenet => &["conv1", "conv2", "fc1", "fc2"],
        Arch::PatchSet => &["fc1", "fc2", "head"],
    }
}

/// Where a U-shaped split cuts `arch`: layers `[0, cut)` are the head, `[cut, layers - tail)` the
/// provider's middle, `[layers - tail, layers)` the tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitPlan {
    pub layers: usize,
    pub cut: usize,
    pub tail: usize,
}

impl SplitPlan {
    /// The plan, or which field is wrong (`cut` or `tail`) and what was expected.
    pub fn new(arch: Arch, cut: usize, tail: usize) -> Result<SplitPlan, (&'static str, String)> {
        let names = layer_names(arch);
        let layers = names.len();
        let listing = format!("{} has {layers} layers ({})", arch.name(), names.join(", "));
        if layers < 3 {
            return Err((
                "cut",
                format!(
                    "an architecture with at least 3 layers (head, middle, tail): {listing}; use mlp-512-256, \
                     mlp-1024-512, cnn-small or lenet"
                ),
            ));
        }
        if tail == 0 || tail > layers - 2 {
            return Err((
                "tail",
                format!("from 1 to {} (the layers the customer keeps at the end; {listing}), got {tail}", layers - 2),
            ));
        }
        let max_cut = layers - tail - 1;
        if cut == 0 || cut > max_cut {
            return Err((
                "cut",
                format!(
                    "from 1 to {max_cut} (the head's layers, leaving the provider at least one layer with \
                     tail = {tail}; {listing}), got {cut}"
                ),
            ));
        }
        Ok(SplitPlan { layers, cut, tail })
    }

    pub fn head(&self) -> std::ops::Range<usize> {
        0..self.cut
    }
    pub fn middle(&self) -> std::ops::Range<usize> {
        self.cut..self.layers - self.tail
    }
    pub fn tail_layers(&self) -> std::ops::Range<usize> {
        self.layers - self.tail..self.layers
    }
}

/// One layer (see the module docs): a dense layer with or without its ReLU, or a convolution block.
#[derive(Debug, Clone)]
pub enum Layer<D: Storage<E>, E: Dtype = f32> {
    Dense {
        name: &'static str,
        linear: DynLinear<D, E>,
        relu: bool,
    },
    Conv {
        name: &'static str,
        conv: Conv2d<D, E>,
        pool: MaxPool2x2,
    },
    /// A dense layer applied to each of `positions` vectors of an input (a 1x1 convolution over the
    /// positions of `patch-set`), with its ReLU.
    PerPosition {
        name: &'static str,
        linear: DynLinear<D, E>,
        positions: usize,
    },
    /// The mean of `positions` vectors, then a dense layer (the head of `patch-set`; no ReLU).
    PoolDense {
        name: &'static str,
        linear: DynLinear<D, E>,
        positions: usize,
    },
}

impl<D: Device<f32>> Layer<D> {
    /// The name in the unsplit network (`fc2`, `conv1`).
    pub fn name(&self) -> &'static str {
        match self {
            Layer::Dense { name, .. }
            | Layer::Conv { name, .. }
            | Layer::PerPosition { name, .. }
            | Layer::PoolDense { name, .. } => name,
        }
    }

    /// Values per sample this layer takes and gives.
    pub fn in_width(&self) -> usize {
        match self {
            Layer::Dense { linear, .. } => linear.inputs(),
            Layer::Conv { conv, .. } => conv.geometry.in_features(),
            Layer::PerPosition { linear, positions, .. } | Layer::PoolDense { linear, positions, .. } => {
                positions * linear.inputs()
            }
        }
    }
    pub fn out_width(&self) -> usize {
        match self {
            Layer::Dense { linear, .. } => linear.outputs(),
            Layer::Conv { pool, .. } => pool.out_features(),
            Layer::PerPosition { linear, positions, .. } => positions * linear.outputs(),
            Layer::PoolDense { linear, .. } => linear.outputs(),
        }
    }

    /// Multiply-adds of this layer's forward pass for one sample (a matrix product's `inputs x
    /// outputs`; a convolution's `kernel^2 x in_channels` per output value, before pooling). Its
    /// backward pass costs as much again for the weight gradient and, where the input gradient is
    /// computed, once more.
    pub fn multiply_adds(&self) -> u64 {
        match self {
            Layer::Dense { linear, .. } | Layer::PoolDense { linear, .. } => {
                (linear.inputs() * linear.outputs()) as u64
            }
            Layer::PerPosition { linear, positions, .. } => (positions * linear.inputs() * linear.outputs()) as u64,
            Layer::Conv { conv, .. } => {
                let g = &conv.geometry;
                (g.out_features() * g.kernel * g.kernel * g.in_channels) as u64
            }
        }
    }

    /// Whether the backward pass computes the gradient of this layer's input (false for a layer
    /// whose input is data).
    pub fn set_input_grad(&mut self, on: bool) {
        match self {
            Layer::Dense { linear, .. } | Layer::PerPosition { linear, .. } | Layer::PoolDense { linear, .. } => {
                linear.input_grad = on
            }
            Layer::Conv { conv, .. } => conv.input_grad = on,
        }
    }

    pub fn weight(&self) -> &Tensor<(usize, usize), f32, D> {
        match self {
            Layer::Dense { linear, .. } | Layer::PerPosition { linear, .. } | Layer::PoolDense { linear, .. } => {
                &linear.weight
            }
            Layer::Conv { conv, .. } => &conv.weight,
        }
    }
    fn weight_mut(&mut self) -> &mut Tensor<(usize, usize), f32, D> {
        match self {
            Layer::Dense { linear, .. } | Layer::PerPosition { linear, .. } | Layer::PoolDense { linear, .. } => {
                &mut linear.weight
            }
            Layer::Conv { conv, .. } => &mut conv.weight,
        }
    }
    pub fn bias(&self) -> &Tensor<(usize,), f32, D> {
        match self {
            Layer::Dense { linear, .. } | Layer::PerPosition { linear, .. } | Layer::PoolDense { linear, .. } => {
                &linear.bias
            }
            Layer::Conv { conv, .. } => &conv.bias,
        }
    }
    fn bias_mut(&mut self) -> &mut Tensor<(usize,), f32, D> {
        match self {
            Layer::Dense { linear, .. } | Layer::PerPosition { linear, .. } | Layer::PoolDense { linear, .. } => {
                &mut linear.bias
            }
            Layer::Conv { conv, .. } => &mut conv.bias,
        }
    }

    /// The layer's forward pass, exactly as the unsplit network computes it (ReLU after pooling).
    pub fn try_forward<T: Tape<f32, D> + 'static>(&self, x: Act<D, T>) -> Result<Act<D, T>, D::Err> {
        match self {
            Layer::Dense { linear, relu: true, .. } => linear.try_forward_relu(x),
            Layer::Dense { linear, relu: false, .. } => linear.try_forward(x),
            Layer::Conv { conv, pool, .. } => pool.try_forward(conv.try_forward(x)?)?.try_relu(),
            Layer::PerPosition { linear, positions, .. } => per_position(linear, *positions, x),
            Layer::PoolDense { linear, positions, .. } => pool_dense(linear, *positions, x),
        }
    }
}

/// `linear` and a ReLU on each of the `positions` vectors of every row of `x` (batch x positions
/// x inputs, flattened).
pub(crate) fn per_position<D: Device<f32>, T: Tape<f32, D> + 'static>(
    linear: &DynLinear<D>,
    positions: usize,
    x: Act<D, T>,
) -> Result<Act<D, T>, D::Err> {
    let b = x.shape().0;
    let rows = x.try_reshape_like(&(b * positions, linear.inputs()))?;
    let y = linear.try_forward_relu(rows)?;
    y.try_reshape_like(&(b, positions * linear.outputs()))
}

/// The mean of the `positions` vectors of every row of `x`, then `linear`: the same output for any
/// order of the positions.
pub(crate) fn pool_dense<D: Device<f32>, T: Tape<f32, D> + 'static>(
    linear: &DynLinear<D>,
    positions: usize,
    x: Act<D, T>,
) -> Result<Act<D, T>, D::Err> {
    let (b, f) = (x.shape().0, linear.inputs());
    let pooled = match cpu_kernels::run_on_cpu(x, (b, f), |x, out, track| {
        cpu_kernels::mean_positions::forward(positions, x, out, track)
    })? {
        Ok(pooled) => pooled,
        // Not on the CPU: dfdx's formulation (the same values).
        Err(x) => x.try_reshape_like(&(b, positions, f))?.try_mean::<(usize, usize), Axis<1>>()?,
    };
    linear.try_forward(pooled)
}

/// The two tensors of every layer, `weight` and `bias`, so that dfdx's optimisers and `zero_grads`
/// work on a layer. The builder (device/dtype conversions only, unused here) gives a plain dense
/// layer: the kind and its geometry are not tensors.
impl<D: Device<f32>> TensorCollection<f32, D> for Layer<D> {
    type To<E2: Dtype, D2: Device<E2>> = Layer<D2, E2>;

    fn iter_tensors<V: ModuleVisitor<Self, f32, D>>(visitor: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::tensor(
                    "weight",
                    Self::weight,
                    Self::weight_mut,
                    runtime_options((0, 0), |t| t.try_fill_with_zeros()),
                ),
                Self::tensor("bias", Self::bias, Self::bias_mut, runtime_options((0,), |t| t.try_fill_with_zeros())),
            ),
            |(weight, bias)| Layer::Dense {
                name: "",
                linear: DynLinear { weight, bias, input_grad: true },
                relu: false,
            },
        )
    }
}

/// Consecutive layers of one party, applied in order.
#[derive(Debug, Clone)]
pub struct Part<D: Storage<f32>> {
    pub layers: Vec<Layer<D>>,
}

impl<D: Device<f32>> Part<D> {
    pub fn try_forward<T: Tape<f32, D> + 'static>(&self, mut x: Act<D, T>) -> Result<Act<D, T>, D::Err> {
        for layer in &self.layers {
            x = layer.try_forward(x)?;
        }
        Ok(x)
    }

    pub fn in_width(&self) -> usize {
        self.layers.first().map_or(0, Layer::in_width)
    }

    pub fn out_width(&self) -> usize {
        self.layers.last().map_or(0, Layer::out_width)
    }

    /// The weights as a safetensors file under the unsplit network's names (`fc2.weight`,
    /// `fc2.bias`, ...), written atomically.
    pub fn save(&self, path: &std::path::Path) -> anyhow::Result<()> {
        let tensors: Vec<(String, Vec<usize>, Vec<u8>)> = self
            .layers
            .iter()
            .flat_map(|l| {
                let (w, b) = (l.weight(), l.bias());
                let (r, c) = *w.shape();
                [
                    (format!("{}.weight", l.name()), vec![r, c], w.as_vec()),
                    (format!("{}.bias", l.name()), vec![c], b.as_vec()),
                ]
            })
            .map(|(name, shape, values)| (name, shape, values.iter().flat_map(|v| v.to_le_bytes()).collect()))
            .collect();
        let views = tensors
            .iter()
            .map(|(name, shape, bytes)| {
                ::safetensors::tensor::TensorView::new(::safetensors::Dtype::F32, shape.clone(), bytes)
                    .map(|v| (name.clone(), v))
                    .map_err(|e| anyhow::anyhow!("{e:?}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let bytes = ::safetensors::serialize(views, &None).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        crate::atomic::write(path, &bytes)
    }
}

impl<D: Device<f32>> Part<D> {
    /// Read weights written by [`Part::save`] into this part (built for the same architecture and
    /// cut): every layer's `NAME.weight` and `NAME.bias` with the shapes this part has.
    pub fn load(&mut self, path: &std::path::Path) -> anyhow::Result<()> {
        use crate::error::InputError;
        let bytes = std::fs::read(path).map_err(|e| InputError::in_file(path, format!("cannot read: {e}")))?;
        let file = ::safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| InputError::in_file(path, format!("expected a safetensors file: {e:?}")))?;
        let read = |name: String, shape: Vec<usize>| -> anyhow::Result<Vec<f32>> {
            let t = file.tensor(&name).map_err(|_| {
                InputError::in_file(
                    path,
                    format!("expected a tensor `{name}` (a split part of this run's architecture)"),
                )
            })?;
            if t.dtype() != ::safetensors::Dtype::F32 || t.shape() != shape.as_slice() {
                return Err(InputError::in_file(
                    path,
                    format!("tensor `{name}`: expected f32 of shape {shape:?}, found {:?} {:?}", t.dtype(), t.shape()),
                )
                .into());
            }
            Ok(t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
        };
        for layer in &mut self.layers {
            let (r, c) = *layer.weight().shape();
            let w = read(format!("{}.weight", layer.name()), vec![r, c])?;
            let b = read(format!("{}.bias", layer.name()), vec![c])?;
            layer.weight_mut().copy_from(&w);
            layer.bias_mut().copy_from(&b);
        }
        Ok(())
    }
}

/// The layers of the network `arch` builds on `dev` (initialised from the device's seed, as
/// `Net::into_layers` takes it apart), for `outputs` classes.
pub fn network_layers<D: Device<f32>>(
    arch: Arch,
    dev: &D,
    shape: crate::data::ImageShape,
    outputs: usize,
) -> Vec<Layer<D>> {
    struct IntoLayers;
    impl<D: Device<f32>> crate::model::arch::WithNet<D> for IntoLayers {
        type Output = Vec<Layer<D>>;
        fn run<M: crate::model::arch::Net<D>>(self, model: M) -> Vec<Layer<D>> {
            model.into_layers()
        }
    }
    crate::model::arch::with_net(arch, dev, shape, outputs, IntoLayers)
}

/// The three parts of a U-shaped split of `layers` (a network's `into_layers`), by `plan`. The head's
/// first layer computes no input gradient (its input is data), as in the unsplit network's training;
/// the middle's and the tail's first layers do (their input gradients cross the cut).
pub fn split_layers<D: Device<f32>>(mut layers: Vec<Layer<D>>, plan: SplitPlan) -> (Part<D>, Part<D>, Part<D>) {
    assert_eq!(layers.len(), plan.layers, "the plan was made for this architecture");
    let tail = layers.split_off(plan.layers - plan.tail);
    let middle = layers.split_off(plan.cut);
    let mut head = layers;
    head[0].set_input_grad(false);
    let (mut middle, mut tail) = (middle, tail);
    middle[0].set_input_grad(true);
    tail[0].set_input_grad(true);
    (Part { layers: head }, Part { layers: middle }, Part { layers: tail })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::ImageShape;
    use crate::model::arch::{with_net, Net, WithNet};

    struct Names;
    impl WithNet<Cpu> for Names {
        type Output = (Vec<&'static str>, Vec<usize>);
        fn run<M: Net<Cpu>>(self, model: M) -> Self::Output {
            let layers = model.into_layers();
            (layers.iter().map(|l| l.name()).collect(), layers.iter().map(|l| l.out_width()).collect())
        }
    }

    #[test]
    fn every_architecture_takes_apart_into_its_named_layers() {
        let dev = Cpu::seed_from_u64(0);
        let shape = ImageShape { height: 28, width: 28, channels: 1 };
        for arch in Arch::ALL {
            let (names, widths) = with_net(arch, &dev, shape, 10, Names);
            assert_eq!(names, layer_names(arch), "{}", arch.name());
            assert_eq!(*widths.last().unwrap(), 10);
        }
    }

    #[test]
    fn a_saved_part_loads_back_into_a_fresh_part_and_a_wrong_file_is_refused() {
        let shape = ImageShape { height: 8, width: 8, channels: 1 };
        let plan = SplitPlan::new(Arch::Lenet, 1, 1).unwrap();
        let parts = |seed| split_layers(network_layers(Arch::Lenet, &Cpu::seed_from_u64(seed), shape, 10), plan);
        let (head, middle, _) = parts(1);
        let (mut fresh, _, _) = parts(2);
        assert_ne!(head.layers[0].weight().as_vec(), fresh.layers[0].weight().as_vec());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("head.safetensors");
        head.save(&path).unwrap();
        fresh.load(&path).unwrap();
        for (a, b) in head.layers.iter().zip(&fresh.layers) {
            assert_eq!((a.weight().as_vec(), a.bias().as_vec()), (b.weight().as_vec(), b.bias().as_vec()));
        }
        // The middle's file has no `conv1`: loading it as a head names the tensor it lacks.
        middle.save(&path).unwrap();
        let e = fresh.load(&path).unwrap_err().to_string();
        assert!(e.contains("head.safetensors") && e.contains("`conv1.weight`"), "{e}");
    }

    #[test]
    fn plans_need_a_layer_for_each_party() {
        assert!(SplitPlan::new(Arch::Mlp256, 1, 1).is_err());
        assert_eq!(SplitPlan::new(Arch::Mlp512x256, 1, 1).unwrap().middle(), 1..2);
        assert_eq!(SplitPlan::new(Arch::Mlp512x256, 2, 1).unwrap_err().0, "cut");
        assert_eq!(SplitPlan::new(Arch::Lenet, 1, 3).unwrap_err().0, "tail");
        assert_eq!(SplitPlan::new(Arch::CnnSmall, 0, 1).unwrap_err().0, "cut");
        let p = SplitPlan::new(Arch::CnnSmall, 1, 2).unwrap();
        assert_eq!((p.head(), p.middle(), p.tail_layers()), (0..1, 1..2, 2..4));
    }
}
