//! A runtime-sized 2-D convolution (stride 1, zero padding) built only from stable dfdx tensor ops.
//!
//! Activations are 2-D `(batch, features)` tensors whose features are an image flattened channel-last:
//! `index = (row * width + col) * channels + channel`.
//!
//! # How it is computed (and why)
//!
//! On dfdx's CPU device every op that moves data element by element (`gather`, `slice`, `concat`,
//! non-contiguous `reshape`, ...) costs 2-7 ns per element, while its matrix multiply (the `gemm` crate)
//! runs at 15-40 GMAC/s. A classic im2col by `gather` therefore spends most of its time copying (for a
//! 16->32 channel 5x5 layer on 14x14 images it copies 25 values per input value, forward and backward).
//! Here all data movement is done by matrix multiplies with constant 0/1 matrices, batched over
//! broadcast (stride-0) operands so that nothing depends on the batch size:
//!
//! 1. **rows** (`S1`): for every (image, column) `x`, `Sh (Ho*K, H) @ X[b, :, x, :] (H, C)` gives the K
//!    input rows each output row needs, laid out `(b, x, oy, ky, c)`; zero rows of `Sh` are the top and
//!    bottom padding.
//! 2. **columns** (`S2`): for every (image, output row) `oy`, `Dup (nT*Tin, W) @ S1[b, :, oy, :] (W, K*C)`
//!    cuts the row into `nT` overlapping tiles of `Tin = tile + K - 1` input columns each (zero rows
//!    are the left and right padding), laid out `(b, oy, t, xl, ky, c)`.
//! 3. **weights** (`S3`): one large multiply `(B*Ho*nT, Tin*K*C) @ T (Tin*K*C, tile*Co)`, where `T` is a
//!    block-Toeplitz arrangement of the kernel (gathered from the weight with a fixed index; batch
//!    independent and small), gives `(b, oy, t, oxl, co)`, which *is* the channel-last output layout.
//!
//! With `tile = 1` this is exactly im2col + one matmul. Larger tiles trade a few wasted multiply-adds in
//! `S3` (a factor `(tile+K-1)/K`) for a smaller `S2`. For a single input channel stage 1 is one
//! multiply per image, and when the whole output row is one tile (`Full` Toeplitz) stages 1 and 2
//! collapse into a single per-image multiply `(b, oy, ky, x, c)`.
//!
//! A third scheme (`Separable`) avoids the Toeplitz overhead: width patches `(b, y, ox, kx, c)` (one
//! multiply per image row), then per (image, `ky`) the multiply by the weight rows of `ky` into
//! `(b, ky, y, ox, co)`, then per image a 0/1 multiply `(Ho, K*H)` that shifts and sums the `ky` planes.
//!
//! The fourth scheme (`Gather`) is plain im2col by one `gather` + one matmul. It is the only one used
//! on non-CPU devices: dfdx's CUDA batched matmuls assert non-zero batch strides, i.e. reject the
//! broadcast constant operands the gemm schemes rely on (and a GPU gather is cheap). On the CPU it
//! wins for small layers, where per-call gemm overheads dominate.
//!
//! On the CPU, [Conv2d] picks a scheme per geometry with a cost model calibrated on dfdx's CPU device
//! (see `scheme_cost`); all schemes are exact (same result up to float rounding) and are tested
//! against a direct convolution. The plan (scheme, constant matrices, Toeplitz index) depends only on the
//! geometry and `input_grad`; it is built on first use and cached in the layer.
//!
//! The constant matrices receive (unused) gradients too, because dfdx's matmul always computes both
//! operand gradients; they are never leaf tensors, so `zero_grads`/optimizers ignore them.
//! If the input needs no gradient (the first layer of a network), [Conv2d::input_grad] = `false`
//! skips the backward pass of the data-movement stages entirely.
//!
//! Performance note for callers: dfdx's CPU allocation cache is off by default, so every large
//! intermediate is a fresh `mmap` (page faults + zeroing, about 20% of a training step of a small CNN).
//! Call `dev.enable_cache()` (trait `dfdx::tensor::Cache`) on the training device.

use std::any::Any;
use std::sync::{Arc, Mutex};

use dfdx::nn::{Module, ModuleMut, ModuleVisitor, ScalarOptions, TensorCollection};
use dfdx::prelude::*;

use super::cpu_kernels::{self, as_cpu};
use super::linear::runtime_options;
use rand::distributions::Uniform;

/// Shape of a stride-1 convolution with square kernel and symmetric zero padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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
    /// input gradient is not computed (it stays zero), which saves the backward pass of the data
    /// movement stages.
    pub input_grad: bool,
    /// Cached `Arc<Plan<D>>` (type-erased because the struct is generic over the dtype), keyed by
    /// geometry and `input_grad`.
    plan: Mutex<Option<CachedPlan>>,
    /// Forced scheme (benchmarks/tests); `None` picks one from a cost model.
    scheme: Option<ConvScheme>,
}

/// A type-erased `Arc<Plan<D>>` with the `(geometry, input_grad)` it was built for.
type CachedPlan = ((ConvGeometry, bool), Arc<dyn Any>);

// SAFETY: the only field that is not automatically Send/Sync is the plan cache, and it only ever holds
// a `Plan<D>` (built in `Conv2d::plan`), which consists of `Tensor<_, _, D>`s and plain data: those are
// Send/Sync whenever `D` is. (A plain `dyn Any + Send + Sync` would need `D: Send + Sync` bounds on
// every impl, which the generic model code does not carry.)
unsafe impl<D: Storage<E> + Send + Sync, E: Dtype> Send for Conv2d<D, E> {}
unsafe impl<D: Storage<E> + Send + Sync, E: Dtype> Sync for Conv2d<D, E> {}

impl<D: Storage<E>, E: Dtype> Clone for Conv2d<D, E> {
    fn clone(&self) -> Self {
        Self {
            weight: self.weight.clone(),
            bias: self.bias.clone(),
            geometry: self.geometry,
            input_grad: self.input_grad,
            plan: Mutex::new(self.plan.lock().unwrap().clone()),
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
            plan: Mutex::new(None),
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

    /// Forces a computation scheme (`None`: choose by the cost model). Meant for benchmarks and
    /// tests; every scheme gives the same result up to rounding. Ignored on non-CPU devices, which
    /// always use `Gather`.
    #[doc(hidden)]
    pub fn with_scheme(mut self, scheme: Option<ConvScheme>) -> Self {
        if let Some(ConvScheme::Tiled(t)) = scheme {
            assert!(t > 0 && self.geometry.out_width().is_multiple_of(t), "tile must divide out_width");
        }
        self.scheme = scheme;
        *self.plan.lock().unwrap() = None;
        self
    }

    /// The scheme used when none is forced: `Gather` on non-CPU devices, else the cost model's pick.
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

    fn plan(&self) -> Result<Arc<Plan<D>>, D::Err> {
        let g = self.geometry;
        let mut slot = self.plan.lock().unwrap();
        if let Some((cached, plan)) = slot.as_ref() {
            if *cached == (g, self.input_grad) {
                if let Some(plan) = plan.downcast_ref::<Arc<Plan<D>>>() {
                    return Ok(plan.clone());
                }
            }
        }
        g.validate();
        let plan = Arc::new(Plan::new(self.weight.device(), g, self.scheme, self.input_grad)?);
        *slot = Some(((g, self.input_grad), Arc::new(plan.clone()) as Arc<dyn Any>));
        Ok(plan)
    }
}

/// How a geometry is computed (see the module docs).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvScheme {
    /// Stages 1-2-3 with output tiles of this many columns (it divides `out_width`).
    Tiled(usize),
    /// One output tile spanning the whole row: stage 1 per image, no stage 2.
    Full,
    /// Width patches, then per (image, ky) a multiply by the weight rows of `ky`, then a per-image
    /// height shift-and-sum multiply.
    Separable,
    /// The hand-written CPU kernel (`cpu_kernels::conv`): im2col and col2im by slice copies and one
    /// matrix product per chunk of images, all in parallel. The default on the CPU; on other devices
    /// it falls back to `Gather`.
    Direct,
    /// Plain im2col: one `gather` of pixel rows (plus a zero row for the padding) into
    /// `(B*Ho*Wo, K*K*C)`, then one multiply by the weight. Used on every non-CPU device: dfdx's CUDA
    /// batched matmuls reject the broadcast (stride-0) operands the other schemes rely on, and a GPU
    /// gather is cheap anyway.
    Gather,
}

type Index<D> = Tensor<(usize,), usize, D>;
type Act<D, T> = Tensor<(usize, usize), f32, D, T>;

/// Whether `D` is dfdx's CPU device (the gemm-based schemes are tuned for, and only valid on, it).
fn is_cpu<D: 'static>() -> bool {
    std::any::TypeId::of::<D>() == std::any::TypeId::of::<Cpu>()
}
use ConvScheme as Scheme;

/// Everything about a convolution that depends only on its geometry.
struct Plan<D: Device<f32>> {
    scheme: Scheme,
    /// Stage 1 for several input channels: `(Ho*K, H)`, `[(oy, ky), y] = 1` iff `y = oy + ky - p`.
    /// For one input channel (tiled) it is stored transposed, `(H, Ho*K)`.
    rows: Tensor<(usize, usize), f32, D>,
    /// Stage 2: `(nT*Tin, W)`, `[(t, xl), x] = 1` iff `x = t*tile + xl - p`. Unused for `Full`.
    cols: Option<Tensor<(usize, usize), f32, D>>,
    /// Indices into `[weight (flattened) ++ 0]` that build the Toeplitz matrix `T` (not `Separable`).
    toeplitz_idx: Option<Tensor<(usize,), usize, D>>,
    /// `T`'s shape.
    toeplitz_shape: (usize, usize),
    /// Number of output tiles per row.
    tiles: usize,
    /// Input columns per tile.
    tile_in: usize,
    /// `Gather`: pixel-row index per batch size (`B*Ho*Wo*K*K` entries; row `B*H*W` is the zero row).
    gather_idx: Mutex<std::collections::HashMap<usize, Index<D>>>,
}

impl<D: Device<f32>> Plan<D> {
    /// The im2col pixel-row index for a batch of `b` (cached per batch size).
    fn gather_index(&self, dev: &D, g: ConvGeometry, b: usize) -> Result<Index<D>, D::Err> {
        let mut cache = self.gather_idx.lock().unwrap();
        if let Some(idx) = cache.get(&b) {
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
        cache.insert(b, idx.clone());
        Ok(idx)
    }

    fn new(dev: &D, g: ConvGeometry, forced: Option<Scheme>, input_grad: bool) -> Result<Self, D::Err> {
        let (h, w, c, co, k, p) = (g.height, g.width, g.in_channels, g.out_channels, g.kernel, g.padding);
        let (ho, wo) = (g.out_height(), g.out_width());
        let scheme = match forced.unwrap_or_else(|| choose_scheme(g, input_grad)) {
            _ if !is_cpu::<D>() => Scheme::Gather,
            Scheme::Direct => Scheme::Gather,
            Scheme::Tiled(t) if t == wo => Scheme::Full,
            s => s,
        };
        let zero = k * k * c * co; // index of the appended zero
        let widx = |ky: usize, kx: usize, ci: usize, o: usize| ((ky * k + kx) * c + ci) * co + o;

        // Stage 1 matrix, (Ho*K, H).
        let mut sh = vec![0f32; ho * k * h];
        for oy in 0..ho {
            for ky in 0..k {
                let y = (oy + ky) as isize - p as isize;
                if y >= 0 && (y as usize) < h {
                    sh[(oy * k + ky) * h + y as usize] = 1.0;
                }
            }
        }

        match scheme {
            Scheme::Gather | Scheme::Direct => Ok(Self {
                scheme,
                rows: dev.try_zeros_like(&(0, 0))?,
                cols: None,
                toeplitz_idx: None,
                toeplitz_shape: (0, 0),
                tiles: 1,
                tile_in: w,
                gather_idx: Default::default(),
            }),
            Scheme::Separable => {
                // width patches: [(ox, kx), x] = 1 iff x = ox + kx - p; stored (W, Wo*K) for one
                // input channel (a single multiply from the right), else (Wo*K, W).
                let mut sw = vec![0f32; wo * k * w];
                for ox in 0..wo {
                    for kx in 0..k {
                        let x = (ox + kx) as isize - p as isize;
                        if x >= 0 && (x as usize) < w {
                            let (r, col) = (ox * k + kx, x as usize);
                            if c == 1 {
                                sw[col * wo * k + r] = 1.0;
                            } else {
                                sw[r * w + col] = 1.0;
                            }
                        }
                    }
                }
                // height shift-and-sum: [oy, (ky, y)] = 1 iff y = oy + ky - p
                let mut hs = vec![0f32; ho * k * h];
                for oy in 0..ho {
                    for ky in 0..k {
                        let y = (oy + ky) as isize - p as isize;
                        if y >= 0 && (y as usize) < h {
                            hs[oy * k * h + ky * h + y as usize] = 1.0;
                        }
                    }
                }
                let sw_shape = if c == 1 { (w, wo * k) } else { (wo * k, w) };
                Ok(Self {
                    scheme,
                    rows: dev.try_tensor_from_vec(hs, (ho, k * h))?,
                    cols: Some(dev.try_tensor_from_vec(sw, sw_shape)?),
                    toeplitz_idx: None,
                    toeplitz_shape: (0, 0),
                    tiles: 1,
                    tile_in: w,
                    gather_idx: Default::default(),
                })
            }
            Scheme::Full => {
                // T[(ky, x, c), (ox, o)] = W[ky, x - ox + p, c, o]
                let rows_t = k * w * c;
                let cols_t = wo * co;
                let mut idx = vec![zero; rows_t * cols_t];
                for ky in 0..k {
                    for x in 0..w {
                        for ci in 0..c {
                            let r = (ky * w + x) * c + ci;
                            for ox in 0..wo {
                                let kx = (x + p) as isize - ox as isize;
                                if kx < 0 || kx as usize >= k {
                                    continue;
                                }
                                for o in 0..co {
                                    idx[r * cols_t + ox * co + o] = widx(ky, kx as usize, ci, o);
                                }
                            }
                        }
                    }
                }
                Ok(Self {
                    scheme,
                    rows: dev.try_tensor_from_vec(sh, (ho * k, h))?,
                    cols: None,
                    toeplitz_idx: Some(dev.try_tensor_from_vec(idx, (rows_t * cols_t,))?),
                    toeplitz_shape: (rows_t, cols_t),
                    tiles: 1,
                    tile_in: w,
                    gather_idx: Default::default(),
                })
            }
            Scheme::Tiled(tile) => {
                assert!(tile > 0 && wo % tile == 0);
                let nt = wo / tile;
                let tin = tile + k - 1;
                // Stage 2 matrix, (nT*Tin, W).
                let mut dup = vec![0f32; nt * tin * w];
                for t in 0..nt {
                    for xl in 0..tin {
                        let x = (t * tile + xl) as isize - p as isize;
                        if x >= 0 && (x as usize) < w {
                            dup[(t * tin + xl) * w + x as usize] = 1.0;
                        }
                    }
                }
                // T[(xl, ky, c), (oxl, o)] = W[ky, xl - oxl, c, o]
                let rows_t = tin * k * c;
                let cols_t = tile * co;
                let mut idx = vec![zero; rows_t * cols_t];
                for xl in 0..tin {
                    for ky in 0..k {
                        for ci in 0..c {
                            let r = (xl * k + ky) * c + ci;
                            for oxl in 0..tile {
                                if xl < oxl || xl - oxl >= k {
                                    continue;
                                }
                                for o in 0..co {
                                    idx[r * cols_t + oxl * co + o] = widx(ky, xl - oxl, ci, o);
                                }
                            }
                        }
                    }
                }
                let rows = if c == 1 {
                    // transposed: (H, Ho*K)
                    let mut sht = vec![0f32; h * ho * k];
                    for r in 0..ho * k {
                        for y in 0..h {
                            sht[y * ho * k + r] = sh[r * h + y];
                        }
                    }
                    dev.try_tensor_from_vec(sht, (h, ho * k))?
                } else {
                    dev.try_tensor_from_vec(sh, (ho * k, h))?
                };
                Ok(Self {
                    scheme,
                    rows,
                    cols: Some(dev.try_tensor_from_vec(dup, (nt * tin, w))?),
                    toeplitz_idx: Some(dev.try_tensor_from_vec(idx, (rows_t * cols_t,))?),
                    toeplitz_shape: (rows_t, cols_t),
                    tiles: nt,
                    tile_in: tin,
                    gather_idx: Default::default(),
                })
            }
        }
    }
}

/// Modelled cost of one training step (forward + backward) of a scheme, in units of one multiply-add
/// of a large matmul, for a nominal batch of 64. Calibrated on the dfdx CPU device (gemm crate):
/// small batched multiplies run single-threaded and in edge kernels (x2), every gemm call has a fixed
/// overhead (thread-local buffers, packing), gathered elements and intermediate buffers (zero-filled
/// on allocation, then written and read) cost per element. A backward pass issues two multiplies per
/// forward multiply; data-movement stages have no backward pass without an input gradient.
fn scheme_cost(g: ConvGeometry, scheme: Scheme, input_grad: bool) -> f64 {
    const SMALL: f64 = 2.0;
    const CALL: f64 = 20_000.0;
    const GATHER: f64 = 150.0;
    const BUFFER: f64 = 20.0;
    let f = |v: usize| v as f64;
    let (h, w, c, co, k) = (f(g.height), f(g.width), f(g.in_channels), f(g.out_channels), f(g.kernel));
    let (ho, wo) = (f(g.out_height()), f(g.out_width()));
    let b = 64.0;
    let mv = if input_grad { 3.0 } else { 1.0 }; // passes of a data-movement stage
                                                 // (calls, MACs per call, small?) -> cost over `passes` passes
    let mm = |passes: f64, calls: f64, macs: f64, small: bool| {
        passes * (calls * CALL + calls * macs * if small { SMALL } else { 1.0 })
    };
    match scheme {
        Scheme::Direct => 0.0,
        Scheme::Gather => {
            // ~3.5 ns per gathered element forward, ~4.5 backward; then the im2col multiply
            let n = b * ho * wo * k * k * c;
            let gather = if input_grad { 160.0 } else { 70.0 };
            n * gather + mm(3.0, 1.0, b * ho * wo * k * k * c * co, false) + BUFFER * 3.0 * n
        }
        Scheme::Full => {
            let s1 = mm(mv, b, ho * k * h * w * c, true);
            let s3 = mm(3.0, 1.0, b * ho * k * w * c * wo * co, false);
            let t = 2.0 * GATHER * k * w * c * wo * co;
            s1 + s3 + t + BUFFER * 3.0 * b * ho * k * w * c
        }
        Scheme::Tiled(tile) => {
            let (tl, nt) = (f(tile), wo / f(tile));
            let tin = tl + k - 1.0;
            let s1 =
                if g.in_channels == 1 { mm(mv, b, w * h * ho * k, true) } else { mm(mv, b * w, ho * k * h * c, true) };
            let s2 = mm(mv, b * ho, nt * tin * w * k * c, true);
            let s3 = mm(3.0, 1.0, b * ho * nt * tin * k * c * tl * co, false);
            let t = 2.0 * GATHER * tin * k * c * tl * co;
            s1 + s2 + s3 + t + BUFFER * 3.0 * (b * w * ho * k * c + b * ho * nt * tin * k * c)
        }
        Scheme::Separable => {
            let s1 = if g.in_channels == 1 {
                mm(mv, 1.0, b * h * w * wo * k, false)
            } else {
                mm(mv, b * h, wo * k * w * c, true)
            };
            let s2 = mm(3.0, b * k, h * wo * k * c * co, true);
            let s3 = mm(3.0, b, ho * k * h * wo * co, true);
            s1 + s2 + s3 + BUFFER * 3.0 * (b * h * wo * k * c + b * k * h * wo * co)
        }
    }
}

/// The scheme with the lowest [scheme_cost].
fn choose_scheme(g: ConvGeometry, input_grad: bool) -> Scheme {
    let mut candidates = vec![Scheme::Gather, Scheme::Full, Scheme::Separable];
    candidates.extend((1..g.out_width()).filter(|t| g.out_width().is_multiple_of(*t)).map(Scheme::Tiled));
    candidates
        .into_iter()
        .map(|s| (scheme_cost(g, s, input_grad), s))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, s)| s)
        .unwrap()
}

impl<D: Device<f32>, T: Tape<f32, D> + 'static> Module<Tensor<(usize, usize), f32, D, T>> for Conv2d<D> {
    type Output = Tensor<(usize, usize), f32, D, T>;
    type Error = D::Err;

    fn try_forward(&self, x: Tensor<(usize, usize), f32, D, T>) -> Result<Self::Output, D::Err> {
        let g = self.geometry;
        let (b, f) = *x.shape();
        assert_eq!(f, g.in_features(), "conv input has {f} features, geometry {g:?} expects {}", g.in_features());
        g.validate();
        let x = if self.scheme.unwrap_or_else(|| self.auto_scheme()) == Scheme::Direct {
            let (weight, bias) = (as_cpu(&self.weight), as_cpu(&self.bias));
            let input_grad = self.input_grad;
            let ran = cpu_kernels::run_on_cpu(x, (b, g.out_features()), |x, out, track| {
                let (weight, bias) = (weight.expect("D is Cpu"), bias.expect("D is Cpu"));
                cpu_kernels::conv::forward(g, input_grad, weight, bias, x, out, track)
            })?;
            match ran {
                Ok(out) => return Ok(out),
                Err(x) => x, // not on the CPU: the portable path below (`Gather`)
            }
        } else {
            x
        };
        let plan = self.plan()?;
        let (c, co, k) = (g.in_channels, g.out_channels, g.kernel);
        let (ho, wo) = (g.out_height(), g.out_width());

        // Without an input gradient, the data-movement stages run untaped and the tape continues on
        // the weight path.
        let patches = if self.input_grad {
            patches(x, g, &plan)?
        } else {
            let (x, tape) = x.split_tape();
            patches(x, g, &plan)?.put_tape(tape)
        };

        let out = if plan.scheme == Scheme::Gather {
            patches.try_matmul(self.weight.retaped::<T>())?
        } else if plan.scheme == Scheme::Separable {
            let h = g.height;
            // (b, ky, y, ox, o) = Yw[b] (H*Wo, K*C) @ W[ky] (K*C, Co), batched over (b, ky)
            let yw = patches.try_reshape_like(&(b, h * wo, k * c))?.try_broadcast_like::<_, Axis<1>>(&(
                b,
                k,
                h * wo,
                k * c,
            ))?;
            let wk = self
                .weight
                .retaped::<T>()
                .try_reshape_like(&(k, k * c, co))?
                .try_broadcast_like::<_, Axis<0>>(&(b, k, k * c, co))?;
            let (z, t) = yw.try_matmul(wk)?.try_reshape_like(&(b, k * h, wo * co))?.split_tape();
            // out[b] (Ho, Wo*Co) = Hs (Ho, K*H) @ Z[b] (K*H, Wo*Co)
            let hs = plan.rows.clone().try_broadcast_like::<_, Axis<0>>(&(b, ho, k * h))?.put_tape(t);
            hs.try_matmul(z)?.try_reshape_like(&(b * ho * wo, co))?
        } else {
            // Stage 3: block-Toeplitz weight matrix, gathered from [weight ++ 0].
            let wt = self.weight.retaped::<T>().try_reshape_like(&(k * k * c * co,))?;
            let zero: Tensor<(usize,), f32, D> = self.weight.device().try_zeros_like(&(1,))?;
            let wt = (wt, zero).try_concat_along(Axis::<0>)?;
            let idx = plan.toeplitz_idx.clone().unwrap();
            let tmat = wt.try_gather(idx)?.try_reshape_like(&plan.toeplitz_shape)?;
            patches.try_matmul(tmat)?.try_reshape_like(&(b * ho * wo, co))?
        };
        let bias = self.bias.retaped::<T>().try_broadcast_like::<_, Axis<0>>(&(b * ho * wo, co))?;
        out.try_add(bias)?.try_reshape_like(&(b, ho * wo * co))
    }
}

/// Stages 1 and 2: `(B*Ho*nT, Tin*K*C)` patch rows for the Toeplitz multiply; for `Separable` the
/// width patches `(B*H*Wo, K*C)`.
fn patches<D: Device<f32>, T: Tape<f32, D>>(
    x: Tensor<(usize, usize), f32, D, T>,
    g: ConvGeometry,
    plan: &Plan<D>,
) -> Result<Act<D, T>, D::Err> {
    let b = x.shape().0;
    let (h, w, c, k) = (g.height, g.width, g.in_channels, g.kernel);
    let ho = g.out_height();
    match plan.scheme {
        Scheme::Gather | Scheme::Direct => {
            let dev = x.device().clone();
            let idx = plan.gather_index(&dev, g, b)?;
            let zero: Tensor<(usize, usize), f32, D> = dev.try_zeros_like(&(1, c))?;
            let rows = (x.try_reshape_like(&(b * h * w, c))?, zero).try_concat_along(Axis::<0>)?;
            let (ho, wo) = (g.out_height(), g.out_width());
            rows.try_gather(idx)?.try_reshape_like(&(b * ho * wo, k * k * c))
        }
        Scheme::Separable => {
            let sw = plan.cols.as_ref().unwrap();
            if c == 1 {
                // X (B*H, W) @ Sw (W, Wo*K)
                x.try_reshape_like(&(b * h, w))?.try_matmul(sw.clone())?.try_reshape_like(&(b * h * g.out_width(), k))
            } else {
                // per (b, y): Sw (Wo*K, W) @ X[b, y] (W, C)
                let (xr, t) = x.try_reshape_like(&(b * h, w, c))?.split_tape();
                let sw = sw.clone().try_broadcast_like::<_, Axis<0>>(&(b * h, g.out_width() * k, w))?.put_tape(t);
                sw.try_matmul(xr)?.try_reshape_like(&(b * h * g.out_width(), k * c))
            }
        }
        Scheme::Full => {
            // (b, oy, ky, x, c) = Sh (Ho*K, H) @ X[b] (H, W*C)
            let (x, t) = x.try_reshape_like(&(b, h, w * c))?.split_tape();
            let sh = plan.rows.clone().try_broadcast_like::<_, Axis<0>>(&(b, ho * k, h))?.put_tape(t);
            sh.try_matmul(x)?.try_reshape_like(&(b * ho, k * w * c))
        }
        Scheme::Tiled(_) => {
            let cols = plan.cols.as_ref().unwrap();
            let (nt, tin) = (plan.tiles, plan.tile_in);
            // Stage 1 -> (b, x, oy, ky, c)
            let s1: Tensor<(usize, usize, usize, usize), f32, D, T> = if c == 1 {
                // X[b] viewed (W, H) @ Sh^T (H, Ho*K)
                let xt = x.try_reshape_like(&(b, h, w))?.try_permute::<_, Axes3<0, 2, 1>>()?;
                xt.try_matmul(plan.rows.clone())?.try_reshape_like(&(b, w, ho * k, 1))?
            } else {
                let (xt, t) = x.try_reshape_like(&(b, h, w, c))?.try_permute::<_, Axes4<0, 2, 1, 3>>()?.split_tape();
                let sh = plan.rows.clone().try_broadcast_like::<_, Axes2<0, 1>>(&(b, w, ho * k, h))?.put_tape(t);
                sh.try_matmul(xt)?
            };
            // Stage 2 -> (b, oy, t, xl, ky, c)
            let (s1v, t) = s1.try_reshape_like(&(b, w, ho, k * c))?.try_permute::<_, Axes4<0, 2, 1, 3>>()?.split_tape();
            let dup = cols.clone().try_broadcast_like::<_, Axes2<0, 1>>(&(b, ho, nt * tin, w))?.put_tape(t);
            dup.try_matmul(s1v)?.try_reshape_like(&(b * ho * nt, tin * k * c))
        }
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
/// restores it (the cached plan is keyed by geometry, so it follows), and it reaches the builder.
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
                    plan: Mutex::new(None),
                    scheme: None,
                }
            },
        )
    }
}
