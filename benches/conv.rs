//! Training throughput of small CNNs built from `Conv2d` / `MaxPool2x2`, plus per-layer timings.
//!
//! `cargo bench --bench conv` runs `layers` and `train`; pass names to pick parts:
//! `layers` (every scheme per geometry, and the naive gather baseline), `train` (samples/s for the
//! 5x5 net and LeNet at batch 64 and 128, and the naive baseline), `big`, `lenet`, `naive`, `choices`
//! (the scheme the cost model picks), `stages` (the stages of the 16->32 5x5 layer).
//!
//! Times are wall clock by default (gemm uses all cores via rayon). On a shared machine wall clock
//! mostly measures the other load; `CPU_TIME=1 RAYON_NUM_THREADS=1` measures the CPU time of a single
//! thread doing all the work instead, which does not depend on the load. Steps report the median and
//! the best of N. The device's allocation cache is enabled (`NO_CACHE=1` disables it).
//!
//! The baseline ("naive gather") is the straightforward stable-dfdx conv: pixel rows, one `gather`
//! with a cached index, one matmul, bias add.

use std::time::Instant;

use dfdx::nn::ZeroGrads;
use dfdx::optim::{Adam, AdamConfig, Optimizer};
use dfdx::prelude::*;
use ppdl::model::conv::{Conv2d, ConvGeometry, ConvScheme};
use ppdl::model::pool::MaxPool2x2;

type Act<T = NoneTape> = Tensor<(usize, usize), f32, Cpu, T>;
/// Im2col index of the naive baseline, for the batch size it was built for.
type IdxCache = std::sync::Mutex<Option<(usize, Tensor<(usize,), usize, Cpu>)>>;

/// conv -> relu -> pool -> conv -> relu -> pool -> linear, on 28x28x1 inputs.
#[derive(Clone)]
struct Net<const F: usize> {
    c1: Conv2d<Cpu>,
    p1: MaxPool2x2,
    c2: Conv2d<Cpu>,
    p2: MaxPool2x2,
    fc: dfdx::nn::modules::Linear<F, 10, f32, Cpu>,
    /// Baseline: im2col by one `gather` per layer (index cached per batch size) + one matmul.
    naive: Option<[std::sync::Arc<IdxCache>; 2]>,
}

/// The straightforward stable-dfdx convolution this crate's `Conv2d` replaces: pixels as rows
/// `(B*H*W + 1, C)` (last row zero, for padding), one `gather` into `(B*Ho*Wo*K*K, C)`, reshape to
/// `(B*Ho*Wo, K*K*C)`, matmul with the weight, add the bias.
fn naive_conv<T: Tape<f32, Cpu>>(conv: &Conv2d<Cpu>, cache: &IdxCache, x: Act<T>) -> Act<T> {
    let g = conv.geometry;
    let (h, w, c, co, k, p) = (g.height, g.width, g.in_channels, g.out_channels, g.kernel, g.padding);
    let (ho, wo) = (g.out_height(), g.out_width());
    let b = x.shape().0;
    let dev = x.device().clone();
    let mut slot = cache.lock().unwrap();
    if slot.as_ref().map(|(n, _)| *n) != Some(b) {
        let zero = b * h * w;
        let mut idx = Vec::with_capacity(b * ho * wo * k * k);
        for bi in 0..b {
            for oy in 0..ho {
                for ox in 0..wo {
                    for ky in 0..k {
                        for kx in 0..k {
                            let (y, xx) = ((oy + ky) as isize - p as isize, (ox + kx) as isize - p as isize);
                            let inside = y >= 0 && xx >= 0 && y < h as isize && xx < w as isize;
                            idx.push(if inside { (bi * h + y as usize) * w + xx as usize } else { zero });
                        }
                    }
                }
            }
        }
        let n = idx.len();
        *slot = Some((b, dev.tensor_from_vec(idx, (n,))));
    }
    let idx = slot.as_ref().unwrap().1.clone();
    let zeros: Act = dev.zeros_like(&(1, c));
    let rows = (x.reshape_like(&(b * h * w, c)), zeros).concat_along(Axis::<0>);
    let cols: Act<T> = rows.gather(idx);
    let out = cols.reshape_like(&(b * ho * wo, k * k * c)).matmul(conv.weight.retaped::<T>());
    let out = out + conv.bias.retaped::<T>().broadcast_like::<_, Axis<0>>(&(b * ho * wo, co));
    out.reshape_like(&(b, ho * wo * co))
}

impl<const F: usize> Net<F> {
    fn new(dev: &Cpu, k: usize, pad: usize, c1: usize, c2: usize) -> Self {
        let g1 = ConvGeometry { height: 28, width: 28, in_channels: 1, out_channels: c1, kernel: k, padding: pad };
        let p1 = MaxPool2x2 { height: g1.out_height(), width: g1.out_width(), channels: c1 };
        let g2 = ConvGeometry {
            height: p1.out_height(),
            width: p1.out_width(),
            in_channels: c1,
            out_channels: c2,
            kernel: k,
            padding: pad,
        };
        let p2 = MaxPool2x2 { height: g2.out_height(), width: g2.out_width(), channels: c2 };
        assert_eq!(p2.out_features(), F);
        Self {
            c1: Conv2d::new(dev, g1).with_input_grad(false),
            p1,
            c2: Conv2d::new(dev, g2),
            p2,
            fc: dev.build_module::<Linear<F, 10>, f32>(),
            naive: None,
        }
    }

    fn naive(mut self) -> Self {
        self.naive = Some([Default::default(), Default::default()]);
        self
    }

    fn forward<T: Tape<f32, Cpu>>(&self, x: Act<T>) -> Tensor<(usize, Const<10>), f32, Cpu, T> {
        let h = match &self.naive {
            None => self.p1.forward(self.c1.forward(x).relu()),
            Some(c) => self.p1.forward(naive_conv(&self.c1, &c[0], x).relu()),
        };
        let h = match &self.naive {
            None => self.p2.forward(self.c2.forward(h).relu()),
            Some(c) => self.p2.forward(naive_conv(&self.c2, &c[1], h).relu()),
        };
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
    let labels: Vec<usize> = (0..batch).map(|i| i % 10).collect();
    let mut onehot = vec![0f32; batch * 10];
    for (i, &l) in labels.iter().enumerate() {
        onehot[i * 10 + l] = 1.0;
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
        "train {name:<44} batch {batch:>3}: median {:>7.2} ms/step = {:>6.0} samples/s; best {:>7.2} ms/step = {:>6.0} samples/s",
        median * 1e3,
        batch as f64 / median,
        best * 1e3,
        batch as f64 / best
    );
}

/// CPU time of the calling thread in seconds (Linux), `None` elsewhere. With `RAYON_NUM_THREADS=1`
/// all the work runs on this thread, so this measures work regardless of other load on the machine.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn thread_cpu_s() -> Option<f64> {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut t = Timespec { sec: 0, nsec: 0 };
    // SAFETY: plain libc call writing into a properly laid out timespec.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut t) };
    (rc == 0).then_some(t.sec as f64 + t.nsec as f64 * 1e-9)
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn thread_cpu_s() -> Option<f64> {
    None
}

/// With `CPU_TIME=1` (and `RAYON_NUM_THREADS=1`), clocks report thread CPU time instead of wall time.
fn now_s() -> f64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    if std::env::var_os("CPU_TIME").is_some() {
        if let Some(t) = thread_cpu_s() {
            return t;
        }
    }
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

/// Fastest of `reps` runs, in ms (the machine may be shared: the minimum is the least disturbed).
fn time_ms<F: FnMut()>(reps: usize, mut f: F) -> f64 {
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
    let x: Act = dev.sample_normal_like(&(batch, g.in_features()));
    let mut schemes = vec![None, Some(ConvScheme::Gather), Some(ConvScheme::Full), Some(ConvScheme::Separable)];
    schemes.extend((1..g.out_width()).filter(|t| g.out_width().is_multiple_of(*t)).map(|t| Some(ConvScheme::Tiled(t))));
    println!("  (auto = {:?})", Conv2d::new(dev, g).auto_scheme());
    {
        let reps: usize = std::env::var("REPS").ok().and_then(|r| r.parse().ok()).unwrap_or(10);
        let conv = Conv2d::new(dev, g);
        let cache = std::sync::Mutex::new(None);
        let fwd = time_ms(reps, || {
            let _ = naive_conv(&conv, &cache, x.clone());
        });
        let both = time_ms(reps, || {
            let y = naive_conv(&conv, &cache, x.clone().traced(Gradients::leaky()));
            let _ = y.sum().backward();
        });
        println!(
            "  {:<12} input_grad {:<5}: forward {fwd:>6.2} ms, forward+backward {both:>6.2} ms",
            "naive gather", true
        );
    }
    for scheme in schemes {
        for input_grad in [true, false] {
            let conv = Conv2d::new(dev, g).with_input_grad(input_grad).with_scheme(scheme);
            let reps: usize = std::env::var("REPS").ok().and_then(|r| r.parse().ok()).unwrap_or(10);
            let fwd = time_ms(reps, || {
                let _ = conv.forward(x.clone());
            });
            let both = time_ms(reps, || {
                let y = conv.forward(x.clone().traced(Gradients::leaky()));
                let _ = y.sum().backward();
            });
            let name = scheme.map_or("auto".to_string(), |s| format!("{s:?}"));
            println!(
                "  {:<12} input_grad {:<5}: forward {fwd:>6.2} ms, forward+backward {both:>6.2} ms",
                name, input_grad
            );
        }
    }
}

fn pool(dev: &Cpu, p: MaxPool2x2, batch: usize) {
    let x: Act = dev.sample_normal_like(&(batch, p.in_features()));
    let fwd = time_ms(10, || {
        let _ = p.forward(x.clone());
    });
    let both = time_ms(10, || {
        let y = p.forward(x.clone().traced(Gradients::leaky()));
        let _ = y.sum().backward();
    });
    println!("pool {p:?} batch {batch}: forward {fwd:.2} ms, forward+backward {both:.2} ms");
}

fn main() {
    dfdx::flush_denormals_to_zero();
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let want = |what: &str| args.iter().any(|a| a == what) || (args.is_empty() && ["layers", "train"].contains(&what));
    let dev = Cpu::seed_from_u64(0);
    // dfdx's allocation cache is off by default; without it every large buffer is a fresh mmap
    // (page faults + zeroing), ~20% of a training step here.
    if std::env::var_os("NO_CACHE").is_none() {
        dev.enable_cache();
    }
    if want("layers") {
        let g1 = ConvGeometry { height: 28, width: 28, in_channels: 1, out_channels: 16, kernel: 5, padding: 2 };
        let g2 = ConvGeometry { height: 14, width: 14, in_channels: 16, out_channels: 32, kernel: 5, padding: 2 };
        let l1 = ConvGeometry { height: 28, width: 28, in_channels: 1, out_channels: 8, kernel: 3, padding: 0 };
        let l2 = ConvGeometry { height: 13, width: 13, in_channels: 8, out_channels: 16, kernel: 3, padding: 0 };
        for g in [g1, g2, l1, l2] {
            println!("conv {g:?} batch 64");
            layer(&dev, g, 64);
        }
        pool(&dev, MaxPool2x2 { height: 28, width: 28, channels: 16 }, 64);
        pool(&dev, MaxPool2x2 { height: 11, width: 11, channels: 16 }, 64);
    }
    if want("choices") {
        for (h, c, co, k, p) in [
            (28, 1, 16, 5, 2),
            (14, 16, 32, 5, 2),
            (28, 1, 8, 3, 0),
            (13, 8, 16, 3, 0),
            (32, 3, 32, 3, 1),
            (16, 32, 64, 3, 1),
            (28, 1, 6, 5, 2),
            (14, 6, 16, 5, 2),
        ] {
            let g = ConvGeometry { height: h, width: h, in_channels: c, out_channels: co, kernel: k, padding: p };
            let a = Conv2d::new(&dev, g).auto_scheme();
            let b = Conv2d::new(&dev, g).with_input_grad(false).auto_scheme();
            println!("{h}x{h} {c}->{co} k{k} p{p}: input_grad {a:?}, no input_grad {b:?}");
        }
    }
    if want("stages") {
        stages(&dev);
    }
    if want("big") {
        let net: Net<1568> = Net::new(&dev, 5, 2, 16, 32);
        train("conv(1>16,k5,p2) conv(16>32,k5,p2) fc 1568>10", &dev, net, 64, 40);
    }
    if want("lenet") {
        let net: Net<400> = Net::new(&dev, 3, 0, 8, 16);
        train("LeNet conv(1>8,k3) conv(8>16,k3) fc 400>10", &dev, net, 64, 100);
    }
    if want("naive") {
        let net: Net<400> = Net::new(&dev, 3, 0, 8, 16).naive();
        train("LeNet, naive gather im2col", &dev, net, 64, 40);
        let net: Net<1568> = Net::new(&dev, 5, 2, 16, 32).naive();
        train("conv(1>16,k5,p2) conv(16>32,k5,p2), naive gather", &dev, net, 64, 10);
    }
    if want("train") {
        for batch in [64, 128] {
            let net: Net<1568> = Net::new(&dev, 5, 2, 16, 32);
            train("conv(1>16,k5,p2) conv(16>32,k5,p2) fc 1568>10", &dev, net, batch, 20);
        }
        for batch in [64, 128] {
            let net: Net<400> = Net::new(&dev, 3, 0, 8, 16);
            train("LeNet conv(1>8,k3) conv(8>16,k3) fc 400>10", &dev, net, batch, 40);
        }
        let net: Net<400> = Net::new(&dev, 3, 0, 8, 16).naive();
        train("LeNet, naive gather im2col (baseline)", &dev, net, 64, 40);
        let net: Net<1568> = Net::new(&dev, 5, 2, 16, 32).naive();
        train("conv(1>16,k5,p2) conv(16>32,k5,p2), naive gather", &dev, net, 64, 10);
    }
}

#[allow(dead_code)]
pub fn stages(dev: &Cpu) {
    let (b, h, w, c, k, co) = (64usize, 14usize, 14usize, 16usize, 5usize, 32usize);
    let (ho, wo) = (h, w);
    let (tile, tin) = (2usize, 6usize);
    let nt = wo / tile;
    let x: Tensor<(usize, usize, usize, usize), f32, Cpu> = dev.sample_normal_like(&(b, h, w, c));
    let sh: Tensor<(usize, usize), f32, Cpu> = dev.sample_normal_like(&(ho * k, h));
    let f = |name: &str, ms: f64| println!("  {name:<40} {ms:>7.3} ms");
    f(
        "S1 fwd",
        time_ms(10, || {
            let xt = x.clone().permute::<_, Axes4<0, 2, 1, 3>>();
            let _ = sh.clone().broadcast_like::<_, Axes2<0, 1>>(&(b, w, ho * k, h)).matmul(xt);
        }),
    );
    f(
        "S1 fwd+bwd",
        time_ms(10, || {
            let (xt, t) = x.clone().traced(Gradients::leaky()).permute::<_, Axes4<0, 2, 1, 3>>().split_tape();
            let y = sh.clone().broadcast_like::<_, Axes2<0, 1>>(&(b, w, ho * k, h)).put_tape(t).matmul(xt);
            let _ = y.sum().backward();
        }),
    );
    let s1: Tensor<(usize, usize, usize, usize), f32, Cpu> = dev.sample_normal_like(&(b, w, ho, k * c));
    let dup: Tensor<(usize, usize), f32, Cpu> = dev.sample_normal_like(&(nt * tin, w));
    f(
        "S2 fwd",
        time_ms(10, || {
            let v = s1.clone().permute::<_, Axes4<0, 2, 1, 3>>();
            let _ = dup.clone().broadcast_like::<_, Axes2<0, 1>>(&(b, ho, nt * tin, w)).matmul(v);
        }),
    );
    f(
        "S2 fwd+bwd",
        time_ms(10, || {
            let (v, t) = s1.clone().traced(Gradients::leaky()).permute::<_, Axes4<0, 2, 1, 3>>().split_tape();
            let y = dup.clone().broadcast_like::<_, Axes2<0, 1>>(&(b, ho, nt * tin, w)).put_tape(t).matmul(v);
            let _ = y.sum().backward();
        }),
    );
    let p: Tensor<(usize, usize), f32, Cpu> = dev.sample_normal_like(&(b * ho * nt, tin * k * c));
    let tm: Tensor<(usize, usize), f32, Cpu> = dev.sample_normal_like(&(tin * k * c, tile * co));
    f(
        "S3 fwd",
        time_ms(10, || {
            let _ = p.clone().matmul(tm.clone());
        }),
    );
    f(
        "S3 fwd+bwd",
        time_ms(10, || {
            let y = p.clone().traced(Gradients::leaky()).matmul(tm.clone());
            let _ = y.sum().backward();
        }),
    );
    let o: Tensor<(usize, usize), f32, Cpu> = dev.sample_normal_like(&(b * ho * wo, co));
    let bias: Tensor<(usize,), f32, Cpu> = dev.sample_normal_like(&(co,));
    f(
        "bias fwd",
        time_ms(10, || {
            let _ = o.clone() + bias.clone().broadcast_like::<_, Axis<0>>(&(b * ho * wo, co));
        }),
    );
    f(
        "bias fwd+bwd",
        time_ms(10, || {
            let y =
                o.clone().traced(Gradients::leaky()) + bias.clone().broadcast_like::<_, Axis<0>>(&(b * ho * wo, co));
            let _ = y.sum().backward();
        }),
    );
    f(
        "relu fwd+bwd",
        time_ms(10, || {
            let y = o.clone().traced(Gradients::leaky()).relu();
            let _ = y.sum().backward();
        }),
    );
    f(
        "sum fwd+bwd",
        time_ms(10, || {
            let y = o.clone().traced(Gradients::leaky());
            let _ = y.sum().backward();
        }),
    );
}
