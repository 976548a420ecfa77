//! TEMP stub until the conv branch lands.
use dfdx::nn::{Module, ModuleVisitor, TensorCollection};
use dfdx::prelude::*;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    pub height: usize,
    pub width: usize,
    pub in_channels: usize,
    pub out_channels: usize,
    pub kernel: usize,
    pub padding: usize,
}
impl ConvGeometry {
    pub fn out_height(&self) -> usize {
        self.height
    }
    pub fn out_width(&self) -> usize {
        self.width
    }
}
#[derive(Debug, Clone)]
pub struct Conv2d<D: Storage<E>, E: Dtype = f32> {
    pub weight: Tensor<(usize, usize), E, D>,
}
impl<D: Device<f32>> Conv2d<D> {
    pub fn new(dev: &D, _g: ConvGeometry) -> Self {
        Self { weight: dev.zeros_like(&(1, 1)) }
    }
}
impl<D: Device<f32>> TensorCollection<f32, D> for Conv2d<D> {
    type To<E2: Dtype, D2: Device<E2>> = Conv2d<D2, E2>;
    fn iter_tensors<V: ModuleVisitor<Self, f32, D>>(v: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        v.visit_fields(
            Self::tensor(
                "weight",
                |s| &s.weight,
                |s| &mut s.weight,
                super::linear::runtime_options((0, 0), |t| t.try_fill_with_zeros()),
            ),
            |weight| Conv2d { weight },
        )
    }
}
impl<D: Device<f32>, T: Tape<f32, D>> Module<Tensor<(usize, usize), f32, D, T>> for Conv2d<D> {
    type Output = Tensor<(usize, usize), f32, D, T>;
    type Error = D::Err;
    fn try_forward(&self, x: Tensor<(usize, usize), f32, D, T>) -> Result<Self::Output, D::Err> {
        Ok(x)
    }
}
