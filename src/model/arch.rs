//! The architecture menu as concrete dfdx modules, and a way to run generic code on whichever one the
//! config picked.

use dfdx::nn::{Module, ModuleMut, ModuleVisitor, TensorCollection};
use dfdx::prelude::*;

use super::conv::{Conv2d, ConvGeometry};
use super::linear::DynLinear;
use super::pool::MaxPool2x2;
use super::split::{per_position, pool_dense, Layer};
use crate::config::Arch;
use crate::data::ImageShape;

use super::Act;

/// Everything a trainer needs from a model: forward with and without a tape, and its tensors visible
/// to optimizers, `zero_grads` and safetensors.
pub trait Net<D: Device<f32>>:
    TensorCollection<f32, D>
    + Module<Act<D, NoneTape>, Output = Act<D, NoneTape>, Error = D::Err>
    + ModuleMut<Act<D, OwnedTape<f32, D>>, Output = Act<D, OwnedTape<f32, D>>, Error = D::Err>
    + Clone
{
    /// The first fully connected layer that sees the input (for MLPs), e.g. to absorb a permutation.
    fn input_layer_mut(&mut self) -> Option<&mut DynLinear<D>>;

    /// The network as its layers in forward order, as split learning counts them
    /// (`model::split::layer_names`).
    fn into_layers(self) -> Vec<Layer<D>>;
}

/// Generic code to run on the concrete model type the config chose.
pub trait WithNet<D: Device<f32>> {
    type Output;
    fn run<M: Net<D>>(self, model: M) -> Self::Output;
}

/// Build `arch` for `shape` inputs and `outputs` classes (or codes) on `dev`, then hand it to `job`.
/// Building draws from the device's seeded generator: same seed, same initialisation.
pub fn with_net<D: Device<f32>, J: WithNet<D>>(
    arch: Arch,
    dev: &D,
    shape: ImageShape,
    outputs: usize,
    job: J,
) -> J::Output
where
    Conv2d<D>: Clone,
{
    let d = shape.features();
    match arch {
        Arch::Mlp256 => job.run(Mlp1::new(dev, d, 256, outputs)),
        Arch::Mlp512x256 => job.run(Mlp2::new(dev, d, 512, 256, outputs)),
        Arch::Mlp1024x512 => job.run(Mlp2::new(dev, d, 1024, 512, outputs)),
        Arch::CnnSmall => job.run(Cnn::new(dev, shape, 3, 1, 16, 32, 128, outputs)),
        Arch::Lenet => job.run(Cnn::new(dev, shape, 5, 2, 6, 16, 120, outputs)),
        Arch::PatchSet => job.run(PatchSet::new(dev, shape, PATCH_SET_HIDDEN, outputs)),
    }
}

/// Multiply-adds per sample of a network: the forward pass, and a training step (forward, weight
/// gradients, and input gradients of every layer but the first, whose input is data and needs none:
/// what ppdl's CPU trainer and PyTorch compute). Element-wise work (bias, ReLU, pooling, loss, Adam)
/// is not counted: it is a few operations per value, not per weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultiplyAdds {
    pub forward: u64,
    pub training: u64,
}

/// The multiply-adds of `arch` for `shape` inputs and `outputs` classes, counted from the layers it is
/// built of (so the figure follows the network, not a second table of its sizes).
pub fn multiply_adds(arch: Arch, shape: ImageShape, outputs: usize) -> MultiplyAdds {
    struct Count;
    impl WithNet<Cpu> for Count {
        type Output = MultiplyAdds;
        fn run<M: Net<Cpu>>(self, model: M) -> MultiplyAdds {
            let per_layer: Vec<u64> = model.into_layers().iter().map(Layer::multiply_adds).collect();
            let forward: u64 = per_layer.iter().sum();
            let first = per_layer.first().copied().unwrap_or(0);
            MultiplyAdds { forward, training: 3 * forward - first }
        }
    }
    with_net(arch, &Cpu::default(), shape, outputs, Count)
}

/// d -> hidden -> outputs
#[derive(Debug, Clone)]
pub struct Mlp1<D: Storage<E>, E: Dtype = f32> {
    pub fc1: DynLinear<D, E>,
    pub fc2: DynLinear<D, E>,
}

impl<D: Device<f32>> Mlp1<D> {
    pub fn new(dev: &D, inputs: usize, hidden: usize, outputs: usize) -> Self {
        Self { fc1: DynLinear::new(dev, inputs, hidden), fc2: DynLinear::new(dev, hidden, outputs) }
    }
}

/// d -> h1 -> h2 -> outputs
#[derive(Debug, Clone)]
pub struct Mlp2<D: Storage<E>, E: Dtype = f32> {
    pub fc1: DynLinear<D, E>,
    pub fc2: DynLinear<D, E>,
    pub fc3: DynLinear<D, E>,
}

impl<D: Device<f32>> Mlp2<D> {
    pub fn new(dev: &D, inputs: usize, h1: usize, h2: usize, outputs: usize) -> Self {
        Self {
            fc1: DynLinear::new(dev, inputs, h1),
            fc2: DynLinear::new(dev, h1, h2),
            fc3: DynLinear::new(dev, h2, outputs),
        }
    }
}

/// Width of `patch-set`'s per-position layers.
pub const PATCH_SET_HIDDEN: usize = 128;

/// Per position (H x W vectors of C values): C -> h -> h (ReLU each); mean over positions; h -> outputs.
/// Invariant to any permutation of the positions (a Deep Sets network, Zaheer et al. 2017).
#[derive(Debug, Clone)]
pub struct PatchSet<D: Storage<E>, E: Dtype = f32> {
    pub fc1: DynLinear<D, E>,
    pub fc2: DynLinear<D, E>,
    pub head: DynLinear<D, E>,
    pub positions: usize,
}

impl<D: Device<f32>> PatchSet<D> {
    pub fn new(dev: &D, shape: ImageShape, hidden: usize, outputs: usize) -> Self {
        Self {
            // The first layer's input is data: skip its input gradient.
            fc1: DynLinear { input_grad: false, ..DynLinear::new(dev, shape.channels, hidden) },
            fc2: DynLinear::new(dev, hidden, hidden),
            head: DynLinear::new(dev, hidden, outputs),
            positions: shape.height * shape.width,
        }
    }
}

/// conv(k) -> relu -> pool -> conv(k) -> relu -> pool -> dense -> relu -> outputs
#[derive(Debug, Clone)]
pub struct Cnn<D: Storage<E>, E: Dtype = f32> {
    pub conv1: Conv2d<D, E>,
    pub pool1: MaxPool2x2,
    pub conv2: Conv2d<D, E>,
    pub pool2: MaxPool2x2,
    pub fc1: DynLinear<D, E>,
    pub fc2: DynLinear<D, E>,
}

impl<D: Device<f32>> Cnn<D> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        dev: &D,
        shape: ImageShape,
        kernel: usize,
        padding: usize,
        c1: usize,
        c2: usize,
        dense: usize,
        outputs: usize,
    ) -> Self {
        let g1 = ConvGeometry {
            height: shape.height,
            width: shape.width,
            in_channels: shape.channels,
            out_channels: c1,
            kernel,
            padding,
        };
        let pool1 = MaxPool2x2 { height: g1.out_height(), width: g1.out_width(), channels: c1 };
        let g2 = ConvGeometry {
            height: g1.out_height() / 2,
            width: g1.out_width() / 2,
            in_channels: c1,
            out_channels: c2,
            kernel,
            padding,
        };
        let pool2 = MaxPool2x2 { height: g2.out_height(), width: g2.out_width(), channels: c2 };
        let flat = (g2.out_height() / 2) * (g2.out_width() / 2) * c2;
        Self {
            // The first layer's input is data, not an activation: skip its input gradient.
            conv1: Conv2d::new(dev, g1).with_input_grad(false),
            pool1,
            conv2: Conv2d::new(dev, g2),
            pool2,
            fc1: DynLinear::new(dev, flat, dense),
            fc2: DynLinear::new(dev, dense, outputs),
        }
    }
}

macro_rules! forward_impls {
    ($ty:ident, |$s:ident, $x:ident| $body:expr) => {
        impl<D: Device<f32>, T: Tape<f32, D> + 'static> Module<Act<D, T>> for $ty<D>
        where
            Conv2d<D>: Module<Act<D, T>, Output = Act<D, T>, Error = D::Err>,
        {
            type Output = Act<D, T>;
            type Error = D::Err;
            fn try_forward(&self, $x: Act<D, T>) -> Result<Act<D, T>, D::Err> {
                let $s = self;
                $body
            }
        }
        impl<D: Device<f32>, T: Tape<f32, D> + 'static> ModuleMut<Act<D, T>> for $ty<D>
        where
            Conv2d<D>: Module<Act<D, T>, Output = Act<D, T>, Error = D::Err>,
        {
            type Output = Act<D, T>;
            type Error = D::Err;
            fn try_forward_mut(&mut self, x: Act<D, T>) -> Result<Act<D, T>, D::Err> {
                self.try_forward(x)
            }
        }
    };
}

forward_impls!(Mlp1, |s, x| {
    let h = s.fc1.try_forward_relu(x)?;
    s.fc2.try_forward(h)
});

forward_impls!(Mlp2, |s, x| {
    let h = s.fc1.try_forward_relu(x)?;
    let h = s.fc2.try_forward_relu(h)?;
    s.fc3.try_forward(h)
});

forward_impls!(PatchSet, |s, x| {
    let h = per_position(&s.fc1, s.positions, x)?;
    let h = per_position(&s.fc2, s.positions, h)?;
    pool_dense(&s.head, s.positions, h)
});

// ReLU after pooling: relu(maxpool(x)) = maxpool(relu(x)), gradients included (the pool's winner is
// the same pixel whenever the maximum is positive, and no gradient passes otherwise), at a quarter
// of the ReLU work.
forward_impls!(Cnn, |s, x| {
    let h = s.pool1.try_forward(s.conv1.try_forward(x)?)?.try_relu()?;
    let h = s.pool2.try_forward(s.conv2.try_forward(h)?)?.try_relu()?;
    let h = s.fc1.try_forward_relu(h)?;
    s.fc2.try_forward(h)
});

impl<D: Device<f32>> TensorCollection<f32, D> for Mlp1<D> {
    type To<E2: Dtype, D2: Device<E2>> = Mlp1<D2, E2>;
    fn iter_tensors<V: ModuleVisitor<Self, f32, D>>(v: &mut V) -> Result<Option<Mlp1<V::D2, V::E2>>, V::Err> {
        v.visit_fields(
            (Self::module("fc1", |s| &s.fc1, |s| &mut s.fc1), Self::module("fc2", |s| &s.fc2, |s| &mut s.fc2)),
            |(fc1, fc2)| Mlp1 { fc1, fc2 },
        )
    }
}

impl<D: Device<f32>> TensorCollection<f32, D> for Mlp2<D> {
    type To<E2: Dtype, D2: Device<E2>> = Mlp2<D2, E2>;
    fn iter_tensors<V: ModuleVisitor<Self, f32, D>>(v: &mut V) -> Result<Option<Mlp2<V::D2, V::E2>>, V::Err> {
        v.visit_fields(
            (
                Self::module("fc1", |s| &s.fc1, |s| &mut s.fc1),
                Self::module("fc2", |s| &s.fc2, |s| &mut s.fc2),
                Self::module("fc3", |s| &s.fc3, |s| &mut s.fc3),
            ),
            |(fc1, fc2, fc3)| Mlp2 { fc1, fc2, fc3 },
        )
    }
}

impl<D: Device<f32>> TensorCollection<f32, D> for Cnn<D> {
    type To<E2: Dtype, D2: Device<E2>> = Cnn<D2, E2>;
    fn iter_tensors<V: ModuleVisitor<Self, f32, D>>(v: &mut V) -> Result<Option<Cnn<V::D2, V::E2>>, V::Err> {
        v.visit_fields(
            (
                Self::module("conv1", |s| &s.conv1, |s| &mut s.conv1),
                Self::module("pool1", |s| &s.pool1, |s| &mut s.pool1),
                Self::module("conv2", |s| &s.conv2, |s| &mut s.conv2),
                Self::module("pool2", |s| &s.pool2, |s| &mut s.pool2),
                Self::module("fc1", |s| &s.fc1, |s| &mut s.fc1),
                Self::module("fc2", |s| &s.fc2, |s| &mut s.fc2),
            ),
            |(conv1, pool1, conv2, pool2, fc1, fc2)| Cnn { conv1, pool1, conv2, pool2, fc1, fc2 },
        )
    }
}

impl<D: Device<f32>> TensorCollection<f32, D> for PatchSet<D> {
    type To<E2: Dtype, D2: Device<E2>> = PatchSet<D2, E2>;
    fn iter_tensors<V: ModuleVisitor<Self, f32, D>>(v: &mut V) -> Result<Option<PatchSet<V::D2, V::E2>>, V::Err> {
        v.visit_fields(
            (
                Self::module("fc1", |s| &s.fc1, |s| &mut s.fc1),
                Self::module("fc2", |s| &s.fc2, |s| &mut s.fc2),
                Self::module("head", |s| &s.head, |s| &mut s.head),
                Self::scalar("positions", |s| &s.positions, |s| &mut s.positions, ScalarOptions::from_default(0)),
            ),
            |(fc1, fc2, head, positions)| PatchSet { fc1, fc2, head, positions },
        )
    }
}

impl<D: Device<f32>> Net<D> for PatchSet<D> {
    fn input_layer_mut(&mut self) -> Option<&mut DynLinear<D>> {
        None // its first layer sees one position's channels, not the whole input
    }

    fn into_layers(self) -> Vec<Layer<D>> {
        let positions = self.positions;
        vec![
            Layer::PerPosition { name: "fc1", linear: self.fc1, positions },
            Layer::PerPosition { name: "fc2", linear: self.fc2, positions },
            Layer::PoolDense { name: "head", linear: self.head, positions },
        ]
    }
}

impl<D: Device<f32>> Net<D> for Mlp1<D> {
    fn input_layer_mut(&mut self) -> Option<&mut DynLinear<D>> {
        Some(&mut self.fc1)
    }

    fn into_layers(self) -> Vec<Layer<D>> {
        vec![
            Layer::Dense { name: "fc1", linear: self.fc1, relu: true },
            Layer::Dense { name: "fc2", linear: self.fc2, relu: false },
        ]
    }
}

impl<D: Device<f32>> Net<D> for Mlp2<D> {
    fn input_layer_mut(&mut self) -> Option<&mut DynLinear<D>> {
        Some(&mut self.fc1)
    }

    fn into_layers(self) -> Vec<Layer<D>> {
        vec![
            Layer::Dense { name: "fc1", linear: self.fc1, relu: true },
            Layer::Dense { name: "fc2", linear: self.fc2, relu: true },
            Layer::Dense { name: "fc3", linear: self.fc3, relu: false },
        ]
    }
}

impl<D: Device<f32>> Net<D> for Cnn<D>
where
    Conv2d<D>: Module<Act<D, NoneTape>, Output = Act<D, NoneTape>, Error = D::Err>
        + Module<Act<D, OwnedTape<f32, D>>, Output = Act<D, OwnedTape<f32, D>>, Error = D::Err>,
{
    fn input_layer_mut(&mut self) -> Option<&mut DynLinear<D>> {
        None
    }

    fn into_layers(self) -> Vec<Layer<D>> {
        vec![
            Layer::Conv { name: "conv1", conv: self.conv1, pool: self.pool1 },
            Layer::Conv { name: "conv2", conv: self.conv2, pool: self.pool2 },
            Layer::Dense { name: "fc1", linear: self.fc1, relu: true },
            Layer::Dense { name: "fc2", linear: self.fc2, relu: false },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_set_gives_the_same_logits_for_any_order_of_the_positions() {
        let dev = Cpu::seed_from_u64(5);
        let shape = ImageShape { height: 3, width: 3, channels: 4 };
        let model = PatchSet::new(&dev, shape, 16, 10);
        let x: Vec<f32> = (0..2 * 36).map(|i| ((i * 37 % 11) as f32 - 5.0) / 5.0).collect();
        // Each image's 9 positions in another order (a different one per image).
        let orders = [[4, 0, 8, 2, 6, 1, 3, 7, 5], [8, 7, 6, 5, 4, 3, 2, 1, 0]];
        let mut permuted = x.clone();
        for (img, order) in orders.iter().enumerate() {
            for (slot, &from) in order.iter().enumerate() {
                let (dst, src) = (img * 36 + slot * 4, img * 36 + from * 4);
                permuted[dst..dst + 4].copy_from_slice(&x[src..src + 4]);
            }
        }
        let logits = |v: &[f32]| model.forward(dev.tensor_from_vec(v.to_vec(), (2, 36))).as_vec();
        let (a, b) = (logits(&x), logits(&permuted));
        assert_eq!(a.len(), 20);
        for (u, v) in a.iter().zip(&b) {
            assert!((u - v).abs() < 1e-5, "{a:?} vs {b:?}");
        }
        // Not a constant: another image, other logits.
        let other: Vec<f32> = x.iter().map(|v| v * v).collect();
        assert!(logits(&other).iter().zip(&a).any(|(u, v)| (u - v).abs() > 1e-3));
        // And it trains: the tape version computes the same forward pass.
        let taped =
            model.clone().forward_mut(dev.tensor_from_vec(permuted.clone(), (2, 36)).traced(model.alloc_grads()));
        for (u, v) in taped.as_vec().iter().zip(&a) {
            assert!((u - v).abs() < 1e-5);
        }
    }

    #[test]
    fn multiply_adds_follow_the_layers() {
        let mnist = ImageShape { height: 28, width: 28, channels: 1 };
        let mlp = multiply_adds(Arch::Mlp512x256, mnist, 10);
        let fwd = 784 * 512 + 512 * 256 + 256 * 10;
        assert_eq!(mlp, MultiplyAdds { forward: fwd as u64, training: (3 * fwd - 784 * 512) as u64 });
        // LeNet: conv5x5 (6, pad 2) on 28x28, conv5x5 (16, pad 2) on 14x14, fc 7*7*16 -> 120 -> 10.
        let lenet = multiply_adds(Arch::Lenet, mnist, 10);
        let conv1 = 28 * 28 * 6 * 25;
        let fwd = conv1 + 14 * 14 * 16 * 25 * 6 + 7 * 7 * 16 * 120 + 120 * 10;
        assert_eq!(lenet.forward, fwd as u64);
        assert_eq!(lenet.training, (3 * fwd - conv1) as u64);
        // patch-set on a 7 x 7 x 64 encoding: 49 positions through 64 -> 128 -> 128, then 128 -> 10.
        let grid = ImageShape { height: 7, width: 7, channels: 64 };
        let set = multiply_adds(Arch::PatchSet, grid, 10);
        let first = 49 * 64 * 128;
        let fwd = first + 49 * 128 * 128 + 128 * 10;
        assert_eq!(set, MultiplyAdds { forward: fwd as u64, training: (3 * fwd - first) as u64 });
    }
}
