//! A runtime-sized 2-D convolution (stride 1, zero padding) for dfdx, with its weights in a
//! `TensorCollection` (dfdx optimizers, `zero_grads` and safetensors work on it as on `Linear`).
//!
//! Activations are 2-D `(batch, features)` tensors whose features are an image flattened channel-last:
//! `index = (row * width + col) * channels + channel`.
//!
//! # How it is computed (and why)
//!
//! dfdx 0.13's own `Conv2D` needs nightly Rust. On the CPU the layer runs a hand-written kernel
//! (`cpu_kernels::conv`): im2col by slice copies and one matrix product per chunk of images, all chunks
//! in parallel, with a hand-written backward pass (the weight gradient as `patches^T @ dy`, the input
//! gradient scattered back through the patch layout) recorded on dfdx's tape. On any other device
//! (CUDA) it is plain dfdx ops that dfdx differentiates itself: im2col by one `gather` of pixel rows
//! (plus a zero row for the padding), one `matmul` with the weight, a broadcast bias add.
//!
//! The history, for the record: a first version built from dfdx ops only (the `gather` im2col above,
//! then four schemes that moved data with 0/1 matrix products, chosen per layer by a cost model)
//! trained `cnn-small` at 0.30x PyTorch's CPU speed, because dfdx's CPU `gather` and reductions run on
//! one thread and every op copies. The kernel trains it at 1.0-1.2x (see bench/README.md), and
//! `cargo bench --bench conv -- layers` shows it 2.5-5x faster than the best of those schemes per layer.
//! `ConvScheme::Gather` can still be forced on the CPU, which is how the CUDA path is tested without
//! a GPU.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use dfdx::nn::{Module, ModuleMut, ModuleVisitor, ScalarOptions, TensorCollection};
use dfdx::prelude::*;

use super::cpu_kernels::{self, as_cpu};
use super::linear::runtime_options;
use super::Act;
use rand::distributions::Uniform;

/// Shape of a stride-1 convolution with square kernel and symmetric zero padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ConvGeometry {
    pub height: usize,
    pub width: usize,
    pub in_channels: usize,
    pub out_channels: usize,
    pub kernel: usize,
    pub padding: usize,
}

impl ConvGeometry {
    /// `height + 2 * padding - kernel + 1`
    pub fn out_height(&self) -> usize {
        (self.height + 2 * self.padding + 1).saturating_sub(self.kernel)
    }
    /// `width + 2 * padding - kernel + 1`
    pub fn out_width(&self) -> usize {
        (self.width + 2 * self.padding + 1).saturating_sub(self.kernel)
    }
    /// `height * width * in_channels`
    pub fn in_features(&self) -> usize {
        self.height * self.width * self.in_channels
    }
    /// `out_height * out_width * out_channels`
    pub fn out_features(&self) -> usize {
        self.out_height() * self.out_width() * self.out_channels
    }
    /// Rows of the weight matrix: `kernel * kernel * in_channels`.
    pub fn fan_in(&self) -> usize {
        self.kernel * self.kernel * self.in_channels
    }

    fn validate(&self) {
        assert!(
            self.height > 0 && self.width > 0 && self.in_channels > 0 && self.out_channels > 0 && self.kernel > 0,
            "conv geometry has a zero size: {self:?}"
        );
        assert!(self.out_height() > 0 && self.out_width() > 0, "conv kernel larger than the padded image: {self:?}");
    }
}

/// 2-D convolution over channel-last flattened images (see the module docs for the algorithm).
///
/// `E` defaults to `f32`; only `f32` has a forward pass. The other dtypes exist so that dfdx's
/// `TensorCollection::To<E2, D2>` (dtype/device conversion) has a type to produce.
pub struct Conv2d<D: Storage<E>, E: Dtype = f32> {
    /// `(kernel * kernel * in_channels, out_channels)`, rows ordered `(ky, kx, c_in)`.
    pub weight: Tensor<(usize, usize), E, D>,
    /// `(out_channels,)`
    pub bias: Tensor<(usize,), E, D>,
    pub geometry: ConvGeometry,
    /// Whether to propagate gradients to the input (default `true`). Set it to `false` on a first layer
    /// whose input is data: the forward result and the weight/bias gradients are unchanged, but the
    /// input gradient is not computed (it stays zero), which saves the col2im half of the backward
    /// pass.
    pub input_grad: bool,
    /// `Gather` only: the im2col index per (geometry, batch size), type-erased (`Index<D>`) because
    /// the struct is generic over the dtype.
    gather_index: Mutex<HashMap<(ConvGeometry, usize), Arc<dyn Any>>>,
    /// Forced scheme (benchmarks/tests); `None` picks the device's default.
    scheme: Option<ConvScheme>,
}

// SAFETY: the only field that is not automatically Send/Sync is the index cache, and it only ever
// holds `Index<D>` tensors (see `Conv2d::gather_index`), which are Send/Sync whenever `D` is. (A plain
// `dyn Any + Send + Sync` would need `D: Send + Sync` bounds on every impl, which the generic model
// code does not carry.)
unsafe impl<D: Storage<E> + Send + Sync, E: Dtype> Send for Conv2d<D, E> {}
unsafe impl<D: Storage<E> + Send + Sync, E: Dtype> Sync for Conv2d<D, E> {}

impl<D: Storage<E>, E: Dtype> Clone for Conv2d<D, E> {
    fn clone(&self) -> Self {
        Self {
            weight: self.weight.clone(),
            bias: self.bias.clone(),
            geometry: self.geometry,
            input_grad: self.input_grad,
            gather_index: Mutex::new(self.gather_index.lock().unwrap().clone()),
            scheme: self.scheme,
        }
    }
}

impl<D: Storage<E>, E: Dtype> std::fmt::Debug for Conv2d<D, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conv2d")
            .field("geometry", &self.geometry)
            .field("weight", &self.weight.shape())
            .field("bias", &self.bias.shape())
            .field("input_grad", &self.input_grad)
            .finish()
    }
}

impl<D: Device<f32>> Conv2d<D> {
    /// Kaiming-uniform initialisation like dfdx's `Linear`: weight and bias uniform in
    /// `±1/sqrt(kernel² · in_channels)`, drawn from the device's generator (a seeded device,
    /// e.g. `Cpu::seed_from_u64`, makes it deterministic).
    pub fn new(dev: &D, geometry: ConvGeometry) -> Self {
        geometry.validate();
        let mut conv = Self {
            weight: dev.zeros_like(&(geometry.fan_in(), geometry.out_channels)),
            bias: dev.zeros_like(&(geometry.out_channels,)),
            geometry,
            input_grad: true,
            gather_index: Mutex::new(HashMap::new()),
            scheme: None,
        };
        Self::reset_weight(&mut conv.weight).expect("conv weight init");
        Self::reset_bias(&mut conv.bias, geometry.fan_in()).expect("conv bias init");
        conv
    }

    /// Builder form of [Conv2d::input_grad].
    pub fn with_input_grad(mut self, input_grad: bool) -> Self {
        self.input_grad = input_grad;
        self
    }

    /// Forces a computation scheme (`None`: the device's default). Meant for benchmarks and tests;
    /// both schemes give the same result up to rounding. `Direct` falls back to `Gather` off the CPU.
    #[doc(hidden)]
    pub fn with_scheme(mut self, scheme: Option<ConvScheme>) -> Self {
        self.scheme = scheme;
        self
    }

    /// The scheme used when none is forced: `Direct` on the CPU, else `Gather`.
    #[doc(hidden)]
    pub fn auto_scheme(&self) -> ConvScheme {
        if is_cpu::<D>() {
            ConvScheme::Direct
        } else {
            ConvScheme::Gather
        }
    }

    /// The reset used by `reset_params`: weight uniform in `±1/sqrt(rows)`. Usable as a
    /// `TensorOptions` reset fn.
    pub fn reset_weight(t: &mut Tensor<(usize, usize), f32, D>) -> Result<(), D::Err> {
        let b = 1.0 / (t.shape().0 as f32).sqrt();
        t.try_fill_with_distr(Uniform::new(-b, b))
    }

    fn reset_bias(t: &mut Tensor<(usize,), f32, D>, fan_in: usize) -> Result<(), D::Err> {
        let b = 1.0 / (fan_in as f32).sqrt();
        t.try_fill_with_distr(Uniform::new(-b, b))
    }

    /// Re-draws weight and bias as [Conv2d::new] does.
    pub fn reset(&mut self) -> Result<(), D::Err> {
        Self::reset_weight(&mut self.weight)?;
        Self::reset_bias(&mut self.bias, self.geometry.fan_in())
    }

    /// The im2col pixel-row index for a batch of `b`: for every output pixel and kernel offset, the
    /// input pixel row, or row `b*H*W` (a zero row) in the padding. Cached per batch size.
    fn gather_index(&self, dev: &D, b: usize) -> Result<Index<D>, D::Err> {
        let g = self.geometry;
        let mut cache = self.gather_index.lock().unwrap();
        if let Some(idx) = cache.get(&(g, b)).and_then(|i| i.downcast_ref::<Index<D>>()) {
            return Ok(idx.clone());
        }
        let (h, w, k, p) = (g.height, g.width, g.kernel, g.padding);
        let (ho, wo) = (g.out_height(), g.out_width());
        let zero = b * h * w;
        let mut idx = Vec::with_capacity(b * ho * wo * k * k);
        for bi in 0..b {
            for oy in 0..ho {
                for ox in 0..wo {
                    for ky in 0..k {
                        for kx in 0..k {
                            let (y, x) = ((oy + ky) as isize - p as isize, (ox + kx) as isize - p as isize);
                            let inside = y >= 0 && x >= 0 && y < h as isize && x < w as isize;
                            idx.push(if inside { (bi * h + y as usize) * w + x as usize } else { zero });
                        }
                    }
                }
            }
        }
        let n = idx.len();
        let idx = dev.try_tensor_from_vec(idx, (n,))?;
        if cache.len() >= 4 {
            cache.clear();
        }
        cache.insert((g, b), Arc::new(idx.clone()));
        Ok(idx)
    }
}

/// How the convolution is computed (see the module docs).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvScheme {
    /// The hand-written CPU kernel (`cpu_kernels::conv`). The default on the CPU; elsewhere it falls
    /// back to `Gather`.
    Direct,
    /// Plain dfdx ops: im2col by one `gather` of pixel rows, one matmul, a bias add. The default on
    /// every non-CPU device.
    Gather,
}

type Index<D> = Tensor<(usize,), usize, D>;

/// Whether `D` is dfdx's CPU device.
fn is_cpu<D: 'static>() -> bool {
    std::any::TypeId::of::<D>() == std::any::TypeId::of::<Cpu>()
}

impl<D: Device<f32>, T: Tape<f32, D> + 'static> Module<Tensor<(usize, usize), f32, D, T>> for Conv2d<D> {
    type Output = Tensor<(usize, usize), f32, D, T>;
    type Error = D::Err;

    fn try_forward(&self, x: Tensor<(usize, usize), f32, D, T>) -> Result<Self::Output, D::Err> {
        let g = self.geometry;
        let (b, f) = *x.shape();
        assert_eq!(f, g.in_features(), "conv input has {f} features, geometry {g:?} expects {}", g.in_features());
        g.validate();
        let x = if self.scheme.unwrap_or_else(|| self.auto_scheme()) == ConvScheme::Direct {
            let (weight, bias) = (as_cpu(&self.weight), as_cpu(&self.bias));
            let input_grad = self.input_grad;
            let ran = cpu_kernels::run_on_cpu(x, (b, g.out_features()), |x, out, track| {
                let (weight, bias) = (weight.expect("D is Cpu"), bias.expect("D is Cpu"));
                cpu_kernels::conv::forward(g, input_grad, weight, bias, x, out, track)
            })?;
            match ran {
                Ok(out) => return Ok(out),
                Err(x) => x, // not on the CPU: the portable path below
            }
        } else {
            x
        };
        // Without an input gradient, im2col runs untaped and the tape continues on the weight path.
        let patches = if self.input_grad {
            self.gather_patches(x)?
        } else {
            let (x, tape) = x.split_tape();
            self.gather_patches(x)?.put_tape(tape)
        };
        let (ho, wo, co) = (g.out_height(), g.out_width(), g.out_channels);
        let out = patches.try_matmul(self.weight.retaped::<T>())?;
        let bias = self.bias.retaped::<T>().try_broadcast_like::<_, Axis<0>>(&(b * ho * wo, co))?;
        out.try_add(bias)?.try_reshape_like(&(b, ho * wo * co))
    }
}

impl<D: Device<f32>> Conv2d<D> {
    /// im2col by dfdx ops: `(B*Ho*Wo, K*K*C)` patch rows gathered from the pixel rows of `x` and a
    /// zero row (the padding).
    fn gather_patches<T: Tape<f32, D>>(&self, x: Act<D, T>) -> Result<Act<D, T>, D::Err> {
        let g = self.geometry;
        let b = x.shape().0;
        let (h, w, c, k) = (g.height, g.width, g.in_channels, g.kernel);
        let dev = x.device().clone();
        let idx = self.gather_index(&dev, b)?;
        let zero: Tensor<(usize, usize), f32, D> = dev.try_zeros_like(&(1, c))?;
        let rows = (x.try_reshape_like(&(b * h * w, c))?, zero).try_concat_along(Axis::<0>)?;
        rows.try_gather(idx)?.try_reshape_like(&(b * g.out_height() * g.out_width(), k * k * c))
    }
}

impl<D: Device<f32>, T: Tape<f32, D> + 'static> ModuleMut<Tensor<(usize, usize), f32, D, T>> for Conv2d<D> {
    type Output = Tensor<(usize, usize), f32, D, T>;
    type Error = D::Err;

    fn try_forward_mut(&mut self, x: Tensor<(usize, usize), f32, D, T>) -> Result<Self::Output, D::Err> {
        self.try_forward(x)
    }
}

/// Fields: tensors `weight` and `bias`, and the geometry as scalar fields `height`, `width`,
/// `in_channels`, `out_channels`, `kernel`, `padding`.
///
/// Why scalars: the builder closure of `visit_fields` only sees what the fields produce, and the
/// geometry cannot be recovered from the weight shape `(K*K*C_in, C_out)` (height, width and padding
/// are not in it at all, and `K*K*C_in` does not factor uniquely). As scalar fields the geometry is
/// written to safetensors files beside the weights (self-describing files), `load_safetensors`
/// restores it (the cached gather index is keyed by geometry, so it follows), and it reaches the builder.
///
/// Limitation: dfdx's conversion visitors (`to_device`, `to_dtype`) do not read scalar fields and hand
/// the builder their `ScalarOptions` default (0) instead, so a converted layer has a zero geometry
/// except `out_channels` (taken from the bias length): set `geometry` again after such a conversion,
/// or build the layer on the target device with [Conv2d::new]. Optimizers, `zero_grads`,
/// `reset_params` and safetensors visit through `get_ref`/`get_mut` and are unaffected.
impl<D: Device<f32>> TensorCollection<f32, D> for Conv2d<D> {
    type To<E2: Dtype, D2: Device<E2>> = Conv2d<D2, E2>;

    fn iter_tensors<V: ModuleVisitor<Self, f32, D>>(visitor: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::tensor("weight", |s| &s.weight, |s| &mut s.weight, runtime_options((0, 0), Self::reset_weight)),
                Self::tensor(
                    "bias",
                    |s| &s.bias,
                    |s| &mut s.bias,
                    // The bias bound needs the fan-in, which a lone bias does not know; `reset_params`
                    // zeroes it (use `Conv2d::reset` for the Kaiming draw).
                    runtime_options((0,), |t| t.try_fill_with_zeros()),
                ),
                (
                    Self::scalar(
                        "height",
                        |s| &s.geometry.height,
                        |s| &mut s.geometry.height,
                        ScalarOptions::from_default(0),
                    ),
                    Self::scalar(
                        "width",
                        |s| &s.geometry.width,
                        |s| &mut s.geometry.width,
                        ScalarOptions::from_default(0),
                    ),
                    Self::scalar(
                        "in_channels",
                        |s| &s.geometry.in_channels,
                        |s| &mut s.geometry.in_channels,
                        ScalarOptions::from_default(0),
                    ),
                    Self::scalar(
                        "out_channels",
                        |s| &s.geometry.out_channels,
                        |s| &mut s.geometry.out_channels,
                        ScalarOptions::from_default(0),
                    ),
                    Self::scalar(
                        "kernel",
                        |s| &s.geometry.kernel,
                        |s| &mut s.geometry.kernel,
                        ScalarOptions::from_default(0),
                    ),
                    Self::scalar(
                        "padding",
                        |s| &s.geometry.padding,
                        |s| &mut s.geometry.padding,
                        ScalarOptions::from_default(0),
                    ),
                ),
            ),
            |(weight, bias, (height, width, in_channels, out_channels, kernel, padding))| {
                let out_channels = if out_channels == 0 { bias.shape().0 } else { out_channels };
                Conv2d {
                    weight,
                    bias,
                    geometry: ConvGeometry { height, width, in_channels, out_channels, kernel, padding },
                    input_grad: true,
                    gather_index: Mutex::new(HashMap::new()),
                    scheme: None,
                }
            },
        )
    }
}
