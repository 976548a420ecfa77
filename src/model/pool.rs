//! 2x2 max pooling (stride 2) over channel-last flattened images: a CPU kernel on the CPU, stable dfdx
//! ops elsewhere.

use dfdx::nn::{Module, ModuleMut, ModuleVisitor, TensorCollection};
use dfdx::prelude::*;

use super::Act;

/// 2x2 max pooling with stride 2. `height`, `width`, `channels` describe the *input* image; the output
/// is `(height / 2) x (width / 2) x channels`, flattened channel-last like the input. Odd sizes are
/// floored like PyTorch's `MaxPool2d(2)`: the last row / column is dropped.
///
/// On the CPU it runs `cpu_kernels::pool` (parallel over images; the gradient goes to the first
/// maximal pixel of each window, as in PyTorch). Elsewhere, even sizes are a free reshape to
/// `(b, h/2, 2, w/2, 2, c)` and a `max` over the two size-2 axes, and odd sizes first gather the kept
/// pixels into window order; dfdx's `max` sends the gradient to every pixel equal to the maximum, so
/// only windows with tied maxima differ between the two.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MaxPool2x2 {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
}

impl MaxPool2x2 {
    pub fn out_height(&self) -> usize {
        self.height / 2
    }
    pub fn out_width(&self) -> usize {
        self.width / 2
    }
    pub fn in_features(&self) -> usize {
        self.height * self.width * self.channels
    }
    pub fn out_features(&self) -> usize {
        self.out_height() * self.out_width() * self.channels
    }
}

impl<D: Device<f32>> TensorCollection<f32, D> for MaxPool2x2 {
    type To<E2: Dtype, D2: Device<E2>> = MaxPool2x2;
    fn iter_tensors<V: ModuleVisitor<Self, f32, D>>(v: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        // The geometry is not a parameter; conversions get a default pool (set the sizes again).
        v.visit_fields((), |_| MaxPool2x2::default())
    }
}

impl<D: Device<f32>, T: Tape<f32, D> + 'static> Module<Tensor<(usize, usize), f32, D, T>> for MaxPool2x2 {
    type Output = Tensor<(usize, usize), f32, D, T>;
    type Error = D::Err;

    fn try_forward(&self, x: Tensor<(usize, usize), f32, D, T>) -> Result<Self::Output, D::Err> {
        self.check_input(&x);
        let pool = *self;
        let b = x.shape().0;
        match super::cpu_kernels::run_on_cpu(x, (b, self.out_features()), |x, out, track| {
            super::cpu_kernels::pool::forward(pool, x, out, track)
        })? {
            Ok(out) => Ok(out),
            Err(x) => self.try_forward_portable(x), // not on the CPU
        }
    }
}

impl MaxPool2x2 {
    fn check_input<D: Device<f32>, T>(&self, x: &Tensor<(usize, usize), f32, D, T>) {
        let f = x.shape().1;
        assert_eq!(f, self.in_features(), "pool input has {f} features, {self:?} expects {}", self.in_features());
        assert!(self.out_height() > 0 && self.out_width() > 0, "pool input smaller than 2x2: {self:?}");
    }

    /// The pooling as stable dfdx ops, which dfdx differentiates: what non-CPU devices run. Public
    /// (hidden) so that the tests can check it on the CPU.
    #[doc(hidden)]
    pub fn try_forward_portable<D: Device<f32>, T: Tape<f32, D>>(&self, x: Act<D, T>) -> Result<Act<D, T>, D::Err> {
        self.check_input(&x);
        let (h, w, c) = (self.height, self.width, self.channels);
        let (h2, w2) = (self.out_height(), self.out_width());
        let b = x.shape().0;
        let out = if h % 2 == 0 && w % 2 == 0 {
            x.try_reshape_like(&(b, h2, 2, w2, 2, c))?.try_max::<(usize, usize, usize, usize), Axes2<2, 4>>()?
        } else {
            // pixel rows in window order (b, y2, x2, dy, dx)
            let mut idx = Vec::with_capacity(b * h2 * w2 * 4);
            for bi in 0..b {
                for y2 in 0..h2 {
                    for x2 in 0..w2 {
                        for dy in 0..2 {
                            for dx in 0..2 {
                                idx.push((bi * h + 2 * y2 + dy) * w + 2 * x2 + dx);
                            }
                        }
                    }
                }
            }
            let n = idx.len();
            let idx = x.device().try_tensor_from_vec(idx, (n,))?;
            let px: Tensor<(usize, usize), f32, D, T> = x.try_reshape_like(&(b * h * w, c))?.try_gather(idx)?;
            px.try_reshape_like(&(b, h2, w2, 4, c))?.try_max::<(usize, usize, usize, usize), Axis<3>>()?
        };
        out.try_reshape_like(&(b, h2 * w2 * c))
    }
}

impl<D: Device<f32>, T: Tape<f32, D> + 'static> ModuleMut<Tensor<(usize, usize), f32, D, T>> for MaxPool2x2 {
    type Output = Tensor<(usize, usize), f32, D, T>;
    type Error = D::Err;

    fn try_forward_mut(&mut self, x: Tensor<(usize, usize), f32, D, T>) -> Result<Self::Output, D::Err> {
        self.try_forward(x)
    }
}
