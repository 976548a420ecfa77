//! A fully connected layer whose sizes are runtime values.

use dfdx::nn::{Module, ModuleVisitor, TensorCollection, TensorOptions};
use dfdx::prelude::*;
use rand_distr::Uniform;

use super::cpu_kernels::{self, as_cpu};
use super::Act;

/// `y = x W + b` with `W` stored as (inputs, outputs), so no transpose is needed in forward.
#[derive(Debug, Clone)]
pub struct DynLinear<D: Storage<E>, E: Dtype = f32> {
    pub weight: Tensor<(usize, usize), E, D>,
    pub bias: Tensor<(usize,), E, D>,
    /// False when nothing needs the gradient of this layer's input (the first layer of a network that
    /// is being trained): on the CPU device (one fused tape operation, `cpu_kernels::linear`) the
    /// backward pass then computes only the weight and bias gradients, which saves the
    /// `batch x inputs x outputs` product of the input gradient (a quarter of an MLP's training work).
    /// Other devices compute it anyway. Default true.
    pub input_grad: bool,
}

impl<D: Device<f32>> DynLinear<D> {
    /// Kaiming-uniform initialisation as dfdx's `Linear` (bound 1/sqrt(inputs)), drawn from the device's
    /// seeded generator so a seeded device makes it deterministic.
    pub fn new(dev: &D, inputs: usize, outputs: usize) -> Self {
        let mut layer =
            Self { weight: dev.zeros_like(&(inputs, outputs)), bias: dev.zeros_like(&(outputs,)), input_grad: true };
        Self::reset_weight(&mut layer.weight).expect("linear init");
        let b = 1.0 / (inputs as f32).sqrt();
        layer.bias.fill_with_distr(Uniform::new(-b, b));
        layer
    }

    pub fn inputs(&self) -> usize {
        self.weight.shape().0
    }

    pub fn outputs(&self) -> usize {
        self.weight.shape().1
    }

    /// `relu(x W + b)`: the layer and a ReLU, on the CPU as one tape operation
    /// (`cpu_kernels::linear`), elsewhere the layer then dfdx's ReLU. Same values either way.
    pub fn try_forward_relu<T: Tape<f32, D> + 'static>(&self, x: Act<D, T>) -> Result<Act<D, T>, D::Err> {
        self.forward_then(x, true)
    }

    /// The layer on `x`, then a ReLU with `relu`.
    fn forward_then<T: Tape<f32, D> + 'static>(&self, x: Act<D, T>, relu: bool) -> Result<Act<D, T>, D::Err> {
        let (b, o) = (x.shape().0, self.outputs());
        let (weight, bias, input_grad) = (as_cpu(&self.weight), as_cpu(&self.bias), self.input_grad);
        let x = match cpu_kernels::run_on_cpu(x, (b, o), |x, out, track| {
            let (weight, bias) = (weight.expect("D is Cpu"), bias.expect("D is Cpu"));
            cpu_kernels::linear::forward(input_grad, relu, weight, bias, x, out, track)
        })? {
            Ok(y) => return Ok(y),
            Err(x) => x, // not on the CPU: dfdx's formulation below
        };
        let y = x.try_matmul(self.weight.retaped::<T>())?;
        let shape = *y.shape();
        let y = y.try_add(self.bias.retaped::<T>().try_broadcast_like::<_, Axis<0>>(&shape)?)?;
        if relu {
            y.try_relu()
        } else {
            Ok(y)
        }
    }

    fn reset_weight(t: &mut Tensor<(usize, usize), f32, D>) -> Result<(), D::Err> {
        let b = 1.0 / (t.shape().0 as f32).sqrt();
        t.try_fill_with_distr(Uniform::new(-b, b))
    }
}

impl<D: Device<f32>> TensorCollection<f32, D> for DynLinear<D> {
    type To<E2: Dtype, D2: Device<E2>> = DynLinear<D2, E2>;

    fn iter_tensors<V: ModuleVisitor<Self, f32, D>>(visitor: &mut V) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::tensor("weight", |s| &s.weight, |s| &mut s.weight, runtime_options((0, 0), Self::reset_weight)),
                // The bias bound depends on the fan-in, which a bias alone does not know: reset it to zero.
                Self::tensor("bias", |s| &s.bias, |s| &mut s.bias, runtime_options((0,), |t| t.try_fill_with_zeros())),
            ),
            // Only used by visitors that build new modules (device/dtype conversion); shapes travel with the tensors.
            |(weight, bias)| DynLinear { weight, bias, input_grad: true },
        )
    }
}

impl<D: Device<f32>, T: Tape<f32, D> + 'static> Module<Tensor<(usize, usize), f32, D, T>> for DynLinear<D> {
    type Output = Tensor<(usize, usize), f32, D, T>;
    type Error = D::Err;

    fn try_forward(&self, x: Tensor<(usize, usize), f32, D, T>) -> Result<Self::Output, D::Err> {
        self.forward_then(x, false)
    }
}

impl<D: Device<f32>, T: Tape<f32, D> + 'static> ModuleMut<Tensor<(usize, usize), f32, D, T>> for DynLinear<D> {
    type Output = Tensor<(usize, usize), f32, D, T>;
    type Error = D::Err;

    fn try_forward_mut(&mut self, x: Tensor<(usize, usize), f32, D, T>) -> Result<Self::Output, D::Err> {
        self.try_forward(x)
    }
}

/// How `reset_params` re-initialises one tensor.
pub type ResetFn<S, D> = fn(&mut Tensor<S, f32, D>) -> Result<(), <D as HasErr>::Err>;

/// Options for a runtime-shaped tensor.
///
/// dfdx 0.13's `TensorOptions` is `#[non_exhaustive]` and its constructors all require a compile-time
/// shape, so a runtime-shaped tensor cannot get options the normal way. Its three fields are public and
/// it has no others in the pinned version (`=0.13.0`; `runtime_options_layout` in the tests checks the
/// size), so we initialise every field in place. `shape` is only read by `build_module`, which these
/// modules never use: they are constructed with `new`.
pub fn runtime_options<S: Shape, D: Device<f32>>(shape: S, reset: ResetFn<S, D>) -> TensorOptions<S, f32, D> {
    let mut opts = std::mem::MaybeUninit::<TensorOptions<S, f32, D>>::uninit();
    let p = opts.as_mut_ptr();
    // SAFETY: every field of the struct is written before `assume_init`; all are plain values.
    unsafe {
        std::ptr::addr_of_mut!((*p).do_gradient_update).write(true);
        std::ptr::addr_of_mut!((*p).reset).write(reset);
        std::ptr::addr_of_mut!((*p).shape).write(shape);
        opts.assume_init()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_options_layout() {
        type Opts = TensorOptions<(usize, usize), f32, Cpu>;
        #[allow(dead_code)]
        struct Mirror {
            a: bool,
            b: ResetFn<(usize, usize), Cpu>,
            c: (usize, usize),
        }
        assert_eq!(std::mem::size_of::<Opts>(), std::mem::size_of::<Mirror>(), "dfdx's TensorOptions gained fields");
        let o: Opts = runtime_options((3, 4), |t| t.try_fill_with_zeros());
        assert!(o.do_gradient_update);
        assert_eq!(o.shape, (3, 4));
    }

    #[test]
    fn no_input_grad_gives_the_same_output_and_parameter_gradients() {
        use dfdx::nn::ZeroGrads;
        let dev = Cpu::seed_from_u64(3);
        let plain = DynLinear::new(&dev, 7, 5);
        let mut fast = plain.clone();
        fast.input_grad = false;
        let x: Tensor<(usize, usize), f32, Cpu> = dev.sample_normal_like(&(4, 7));
        let mut results = Vec::new();
        for layer in [&plain, &fast] {
            let grads = layer.alloc_grads();
            let y = layer.forward(x.clone().traced(grads)).relu();
            let out = y.with_empty_tape().as_vec();
            let g = y.square().sum().backward();
            results.push((out, g.get(&layer.weight).as_vec(), g.get(&layer.bias).as_vec()));
        }
        for (a, b) in [(&results[0].0, &results[1].0), (&results[0].1, &results[1].1), (&results[0].2, &results[1].2)] {
            assert_eq!(a.len(), b.len());
            for (u, v) in a.iter().zip(b.iter()) {
                assert!((u - v).abs() < 1e-5, "{u} vs {v}");
            }
        }
        assert!(results[1].1.iter().any(|v| *v != 0.0));
    }

    #[test]
    fn cpu_layer_matches_the_dfdx_formulation_in_output_and_every_gradient() {
        let dev = Cpu::seed_from_u64(5);
        let layer = DynLinear::new(&dev, 9, 6);
        let x: Tensor<(usize, usize), f32, Cpu> = dev.sample_normal_like(&(5, 9));
        let fused = layer.forward(x.clone().traced(Gradients::leaky())).relu();
        let reference = {
            type T = OwnedTape<f32, Cpu>;
            let y = x.clone().traced(Gradients::leaky()).matmul(layer.weight.retaped::<T>());
            let shape = *y.shape();
            (y + layer.bias.retaped::<T>().broadcast_like::<_, Axis<0>>(&shape)).relu()
        };
        let close = |a: Vec<f32>, b: Vec<f32>, what: &str| {
            assert_eq!(a.len(), b.len(), "{what}");
            for (u, v) in a.iter().zip(&b) {
                assert!((u - v).abs() < 1e-5, "{what}: {u} vs {v}");
            }
            assert!(a.iter().any(|v| *v != 0.0), "{what} is all zero");
        };
        close(fused.with_empty_tape().as_vec(), reference.with_empty_tape().as_vec(), "output");
        let (gf, gr) = (fused.square().sum().backward(), reference.square().sum().backward());
        close(gf.get(&layer.weight).as_vec(), gr.get(&layer.weight).as_vec(), "weight gradient");
        close(gf.get(&layer.bias).as_vec(), gr.get(&layer.bias).as_vec(), "bias gradient");
        close(gf.get(&x).as_vec(), gr.get(&x).as_vec(), "input gradient");
    }

    /// The fused ReLU gives the layer-then-ReLU's bits: output and every gradient, on a batch with
    /// the own product and one with dfdx's (under 32 rows, untracked).
    #[test]
    fn the_fused_relu_gives_the_layer_then_relus_bits() {
        let dev = Cpu::seed_from_u64(9);
        let layer = DynLinear::new(&dev, 40, 37);
        let bits = |t: Vec<f32>| t.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        for rows in [5, 64] {
            let x: Tensor<(usize, usize), f32, Cpu> = dev.sample_normal_like(&(rows, 40));
            let coeffs: Tensor<(usize, usize), f32, Cpu> = dev.sample_normal_like(&(rows, 37));
            let fused = layer.try_forward_relu(x.clone().traced(Gradients::leaky())).unwrap();
            let separate = layer.forward(x.clone().traced(Gradients::leaky())).relu();
            assert!(bits(fused.with_empty_tape().as_vec()) == bits(separate.with_empty_tape().as_vec()), "{rows}");
            // Some units are cut off, so the gradient's mask is exercised.
            assert!(fused.with_empty_tape().as_vec().contains(&0.0), "{rows}: no unit is cut off");
            let untracked = layer.try_forward_relu(x.clone()).unwrap().as_vec();
            assert!(bits(untracked) == bits(layer.forward(x.clone()).relu().as_vec()), "{rows} untracked");
            let (gf, gs) = ((fused * coeffs.clone()).sum().backward(), (separate * coeffs).sum().backward());
            for (what, a, b) in [
                ("weight", gf.get(&layer.weight).as_vec(), gs.get(&layer.weight).as_vec()),
                ("bias", gf.get(&layer.bias).as_vec(), gs.get(&layer.bias).as_vec()),
                ("input", gf.get(&x).as_vec(), gs.get(&x).as_vec()),
            ] {
                assert!(bits(a) == bits(b), "{rows} rows: {what} gradient");
            }
        }
    }

    #[test]
    fn forward_matches_manual_affine_map() {
        let dev = Cpu::seed_from_u64(0);
        let layer = DynLinear::new(&dev, 3, 2);
        let x: Tensor<(usize, usize), f32, Cpu> = dev.tensor_from_vec(vec![1.0, 2.0, 3.0, -1.0, 0.5, 0.0], (2, 3));
        let y = layer.forward(x).as_vec();
        let (w, b) = (layer.weight.as_vec(), layer.bias.as_vec());
        for r in 0..2 {
            let xr = [[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]][r];
            for o in 0..2 {
                let want: f32 = (0..3).map(|i| xr[i] * w[i * 2 + o]).sum::<f32>() + b[o];
                assert!((y[r * 2 + o] - want).abs() < 1e-5);
            }
        }
    }
}
