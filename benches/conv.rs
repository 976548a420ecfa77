//! Training throughput of small CNNs built from `Conv2d` / `MaxPool2x2`, plus per-layer timings, for
//! the CPU kernel (`Direct`, the default) against the portable dfdx formulation (`Gather`: im2col by
//! one `gather`, one matmul; what CUDA runs, and the straightforward stable-dfdx convolution).
//!
//! `cargo bench --bench conv` runs `layers` and `train`; pass either name to run only that part.
//!
//! Times are wall clock by default (the kernels and gemm use all cores via rayon). On a shared
//! machine wall clock mostly measures the other load; `CPU_TIME=1` reports the CPU time of the whole
//! process (all threads) instead, which depends much less on it. Layers report the best of `REPS`
//! (default 10) runs; training steps the median and the best.

mod common;

use std::time::Instant;

use dfdx::nn::ZeroGrads;
use dfdx::optim::{Adam, AdamConfig, Optimizer};
use dfdx::prelude::*;
use ppdl::model::conv::{Conv2d, ConvGeometry, ConvScheme};
use ppdl::model::pool::MaxPool2x2;

type Act<T = NoneTape> = Tensor<(usize, usize), f32, Cpu, T>;

const SCHEMES: [ConvScheme; 2] = [ConvScheme::Direct, ConvScheme::Gather];

/// conv -> pool -> relu -> conv -> pool -> relu -> linear, on 28x28x1 inputs (ppdl's CNN layout).
#[derive(Clone)]
struct Net<const F: usize> {
    c1: Conv2d<Cpu>,
    p1: MaxPool2x2,
    c2: Conv2d<Cpu>,
    p2: MaxPool2x2,
    fc: dfdx::nn::modules::Linear<F, 10, f32, Cpu>,
}

impl<const F: usize> Net<F> {
    fn new(dev: &Cpu, k: usize, pad: usize, c1: usize, c2: usize, scheme: ConvScheme) -> Self {
        let g1 = ConvGeometry { height: 28, width: 28, in_channels: 1, out_channels: c1, kernel: k, padding: pad };
        let p1 = MaxPool2x2 { height: g1.out_height(), width: g1.out_width(), channels: c1 };
        let (height, width) = (p1.out_height(), p1.out_width());
        let g2 = ConvGeometry { height, width, in_channels: c1, out_channels: c2, kernel: k, padding: pad };
        let p2 = MaxPool2x2 { height: g2.out_height(), width: g2.out_width(), channels: c2 };
        assert_eq!(p2.out_features(), F);
        Self {
            c1: Conv2d::new(dev, g1).with_input_grad(false).with_scheme(Some(scheme)),
            p1,
            c2: Conv2d::new(dev, g2).with_scheme(Some(scheme)),
            p2,
            fc: dev.build_module::<Linear<F, 10>, f32>(),
        }
    }

    fn forward<T: Tape<f32, Cpu> + 'static>(&self, x: Act<T>) -> Tensor<(usize, Const<10>), f32, Cpu, T> {
        let h = self.p1.forward(self.c1.forward(x)).relu();
        let h = self.p2.forward(self.c2.forward(h)).relu();
        let b = h.shape().0;
        self.fc.forward(h.reshape_like(&(b, Const::<F>)))
    }
}

// The optimizer needs a TensorCollection over the whole net.
impl<const F: usize> dfdx::nn::TensorCollection<f32, Cpu> for Net<F> {
    type To<E2: Dtype, D2: Device<E2>> = ();
    fn iter_tensors<V: dfdx::nn::ModuleVisitor<Self, f32, Cpu>>(v: &mut V) -> Result<Option<()>, V::Err> {
        v.visit_fields(
            (
                Self::module("c1", |s| &s.c1, |s| &mut s.c1),
                Self::module("c2", |s| &s.c2, |s| &mut s.c2),
                Self::module("fc", |s| &s.fc, |s| &mut s.fc),
            ),
            |_| (),
        )
    }
}

fn train<const F: usize>(name: &str, dev: &Cpu, mut net: Net<F>, batch: usize, steps: usize) {
    let mut opt = Adam::new(&net, AdamConfig { lr: 1e-3, ..Default::default() });
    let x: Act = dev.sample_normal_like(&(batch, 28 * 28));
    let mut onehot = vec![0f32; batch * 10];
    for i in 0..batch {
        onehot[i * 10 + i % 10] = 1.0;
    }
    let y: Tensor<(usize, Const<10>), f32, Cpu> = dev.tensor_from_vec(onehot, (batch, Const::<10>));
    let mut grads = Some(net.alloc_grads());
    let mut step = |net: &mut Net<F>, grads: &mut Option<Gradients<f32, Cpu>>| {
        let logits = net.forward(x.clone().traced(grads.take().unwrap()));
        let loss = cross_entropy_with_logits_loss(logits, y.clone());
        let mut g = loss.backward();
        opt.update(net, &g).unwrap();
        net.zero_grads(&mut g);
        *grads = Some(g);
    };
    for _ in 0..3 {
        step(&mut net, &mut grads);
    }
    let mut times: Vec<f64> = (0..steps)
        .map(|_| {
            let t = now_s();
            step(&mut net, &mut grads);
            now_s() - t
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let (best, median) = (times[0], times[steps / 2]);
    println!(
        "train {name:<40} batch {batch:>3}: median {:>7.2} ms/step = {:>6.0} samples/s; best {:>7.2} ms/step = {:>6.0} samples/s",
        median * 1e3,
        batch as f64 / median,
        best * 1e3,
        batch as f64 / best
    );
}

/// With `CPU_TIME=1`, clocks report process CPU time instead of wall time.
fn now_s() -> f64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    if std::env::var_os("CPU_TIME").is_some() {
        return common::process_cpu_s();
    }
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

/// Fastest of `REPS` runs, in ms (the machine may be shared: the minimum is the least disturbed).
fn time_ms<F: FnMut()>(mut f: F) -> f64 {
    let reps: usize = std::env::var("REPS").ok().and_then(|r| r.parse().ok()).unwrap_or(10);
    f();
    (0..reps)
        .map(|_| {
            let t = now_s();
            f();
            (now_s() - t) * 1e3
        })
        .fold(f64::INFINITY, f64::min)
}

fn layer(dev: &Cpu, g: ConvGeometry, batch: usize) {
    println!("conv {g:?} batch {batch}");
    let x: Act = dev.sample_normal_like(&(batch, g.in_features()));
    for scheme in SCHEMES {
        for input_grad in [true, false] {
            let conv = Conv2d::new(dev, g).with_input_grad(input_grad).with_scheme(Some(scheme));
            let fwd = time_ms(|| {
                let _ = conv.forward(x.clone());
            });
            let both = time_ms(|| {
                let y = conv.forward(x.clone().traced(Gradients::leaky()));
                let _ = y.sum().backward();
            });
            let name = format!("{scheme:?}");
            println!("  {name:<7} input_grad {input_grad:<5}: forward {fwd:>6.2} ms, forward+backward {both:>6.2} ms");
        }
    }
}

fn pool(dev: &Cpu, p: MaxPool2x2, batch: usize) {
    let x: Act = dev.sample_normal_like(&(batch, p.in_features()));
    let fwd = time_ms(|| {
        let _ = p.forward(x.clone());
    });
    let both = time_ms(|| {
        let y = p.forward(x.clone().traced(Gradients::leaky()));
        let _ = y.sum().backward();
    });
    println!("pool {p:?} batch {batch}: forward {fwd:.2} ms, forward+backward {both:.2} ms");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let want = |what: &str| args.is_empty() || args.iter().any(|a| a == what);
    // As in training: denormals flushed, freed buffers reused.
    let dev = ppdl::model::cpu_training_device(0);
    if want("layers") {
        for (h, c, co, k, p) in
            [(28, 1, 16, 3, 1), (14, 16, 32, 3, 1), (28, 1, 6, 5, 2), (14, 6, 16, 5, 2), (14, 16, 32, 5, 2)]
        {
            let g = ConvGeometry { height: h, width: h, in_channels: c, out_channels: co, kernel: k, padding: p };
            layer(&dev, g, 128);
        }
        pool(&dev, MaxPool2x2 { height: 28, width: 28, channels: 16 }, 128);
        pool(&dev, MaxPool2x2 { height: 11, width: 11, channels: 16 }, 128);
    }
    if want("train") {
        for scheme in SCHEMES {
            let net: Net<1568> = Net::new(&dev, 3, 1, 16, 32, scheme);
            train(&format!("cnn-small layers, {scheme:?}"), &dev, net, 128, 20);
            let net: Net<784> = Net::new(&dev, 5, 2, 6, 16, scheme);
            train(&format!("lenet layers, {scheme:?}"), &dev, net, 128, 20);
        }
    }
}
