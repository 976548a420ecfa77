//! Where a training step's time goes: per phase of the trainer's step (batch assembly, forward, loss,
//! backward, optimiser update, zeroing gradients) for every architecture at batch 128, and the single
//! operations of an mlp-512-256 step (its matrix products with gemm on one thread, on the rayon pool
//! called from outside the pool, and from inside it; Adam; element-wise ops).
//!
//! `cargo bench --bench step_ops` runs `phases` and `ops`; pass either name to run only that part.
//! `RAYON_NUM_THREADS` sets the pool size (run it once with 1 and once with 2 to compare). Figures are
//! medians over `REPS` (default 60) steps, wall clock; `phases` also reports the process CPU time per
//! step, so CPU / wall says how many cores the step kept busy.

mod common;

use std::time::Instant;

use dfdx::nn::{Module, ZeroGrads};
use dfdx::optim::{Adam, AdamConfig, Optimizer};
use dfdx::prelude::*;

use ppdl::config::Arch;
use ppdl::model::arch::{with_net, Net, WithNet};

const BATCH: usize = 128;

fn reps() -> usize {
    std::env::var("REPS").ok().and_then(|v| v.parse().ok()).unwrap_or(60)
}

const PHASES: [&str; 6] = ["batch", "forward", "loss", "backward", "adam", "zero_grads"];

struct Phases<'a> {
    arch: Arch,
    dev: &'a Cpu,
    x: &'a [f32],
    y: &'a [f32],
}

impl WithNet<Cpu> for Phases<'_> {
    type Output = ();
    fn run<M: Net<Cpu>>(self, mut model: M) {
        let dev = self.dev;
        if let Some(first) = model.input_layer_mut() {
            first.input_grad = false;
        }
        let d = self.x.len() / BATCH;
        let mut opt = Adam::new(&model, AdamConfig { lr: 1e-3, ..Default::default() });
        let mut grads = Some(model.alloc_grads());
        let n = reps();
        let mut times = vec![Vec::with_capacity(n); PHASES.len()];
        let mut cpu_times = vec![Vec::with_capacity(n); PHASES.len()];
        let (mut walls, mut cpus) = (Vec::new(), Vec::new());
        for rep in 0..n + 5 {
            let (w0, c0) = (Instant::now(), common::process_cpu_s());
            let (mut t, mut c) = (Instant::now(), common::process_cpu_s());
            let mut lap = |i: usize, times: &mut Vec<Vec<f64>>| {
                let now = common::process_cpu_s();
                if rep >= 5 {
                    times[i].push(t.elapsed().as_secs_f64());
                    cpu_times[i].push(now - c);
                }
                (t, c) = (Instant::now(), now);
            };
            let xt = ppdl::model::tensor_from_slice(dev, self.x, (BATCH, d)).unwrap();
            let yt = ppdl::model::tensor_from_slice(dev, self.y, (BATCH, 10)).unwrap();
            lap(0, &mut times);
            let out = model.forward_mut(xt.traced(grads.take().unwrap()));
            lap(1, &mut times);
            let loss = cross_entropy_with_logits_loss(out, yt);
            lap(2, &mut times);
            let mut g = loss.backward();
            lap(3, &mut times);
            opt.update(&mut model, &g).unwrap();
            lap(4, &mut times);
            model.zero_grads(&mut g);
            grads = Some(g);
            lap(5, &mut times);
            if rep >= 5 {
                walls.push(w0.elapsed().as_secs_f64());
                cpus.push(common::process_cpu_s() - c0);
            }
        }
        let mut line = format!("{:<13}", self.arch.name());
        for t in times.iter_mut() {
            line += &format!(" {:>9.3}", common::median(t) * 1e3);
        }
        let (w, c) = (common::median(&mut walls), common::median(&mut cpus));
        line += &format!(" {:>9.3} {:>9.3} {:>6.2} {:>9.0} |", w * 1e3, c * 1e3, c / w, BATCH as f64 / w);
        for t in cpu_times.iter_mut() {
            line += &format!(" {:>7.3}", common::median(t) * 1e3);
        }
        println!("{line}");
    }
}

fn phases(inside_pool: bool) {
    let data = ppdl::data::embedded::load().expect("embedded dataset");
    let d = data.shape.features();
    let x = &data.train.images[..BATCH * d];
    let mut y = vec![0f32; BATCH * 10];
    for (i, &l) in data.train.labels[..BATCH].iter().enumerate() {
        y[i * 10 + l as usize] = 1.0;
    }
    println!(
        "phases, batch {BATCH}, {} rayon thread(s), step called {} the pool; ms per step (median of {})",
        rayon::current_num_threads(),
        if inside_pool { "inside" } else { "outside" },
        reps()
    );
    let mut head = format!("{:<13}", "arch");
    for p in PHASES {
        head += &format!(" {p:>9}");
    }
    println!(
        "{head} {:>9} {:>9} {:>6} {:>9} | process CPU ms per phase (same order)",
        "step", "cpu", "cores", "samples/s"
    );
    for arch in Arch::ALL {
        let dev = ppdl::model::cpu_training_device(1);
        let job = || with_net(arch, &dev, data.shape, 10, Phases { arch, dev: &dev, x, y: &y });
        if inside_pool {
            rayon::scope(|_| job());
        } else {
            job();
        }
    }
}

/// Median wall time of `f` over `reps()` calls after 5 warm-ups, in ms.
fn time(f: impl FnMut()) -> f64 {
    common::median_seconds(5, reps(), f) * 1e3
}

/// `c (m x n) = a (m x k) @ b (k x n)`, row-major, or with `a` read transposed from a (k x m) buffer.
fn gemm_call(c: &mut [f32], a: &[f32], b: &[f32], (m, k, n): (usize, usize, usize), a_t: bool, par: gemm::Parallelism) {
    let (a_cs, a_rs) = if a_t { (m as isize, 1) } else { (1, k as isize) };
    // SAFETY: the buffers are exactly the sizes of the views.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            par,
        )
    }
}

/// [gemm_call] with the output rows split in two halves, each half single-threaded, the halves on
/// the pool with `rayon::join`: one fork-join per product instead of gemm's two per depth block.
fn gemm_split(c: &mut [f32], a: &[f32], b: &[f32], (m, k, n): (usize, usize, usize), a_t: bool) {
    let h = m / 2;
    let (c0, c1) = c.split_at_mut(h * n);
    let (a_cs, a_rs) = if a_t { (m as isize, 1) } else { (1, k as isize) };
    let second = if a_t { h } else { h * k };
    let run = |c: &mut [f32], rows: usize, off: usize| unsafe {
        gemm::gemm(
            rows,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr().add(off),
            a_cs,
            a_rs,
            b.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    };
    rayon::join(|| run(c0, h, 0), || run(c1, m - h, second));
}

fn ops() {
    let threads = rayon::current_num_threads();
    println!(
        "ops of an mlp-512-256 step, batch {BATCH}, {threads} rayon thread(s); ms per call (median of {})",
        reps()
    );
    println!(
        "{:<34} {:>9} {:>12} {:>12} {:>12}",
        "matmul (m x k x n)", "1 thread", "pool, outside", "pool, inside", "2 halves, in"
    );
    let shapes: [(&str, (usize, usize, usize), bool); 7] = [
        ("fwd fc1 128x784x512", (BATCH, 784, 512), false),
        ("fwd fc2 128x512x256", (BATCH, 512, 256), false),
        ("fwd fc3 128x256x10", (BATCH, 256, 10), false),
        ("dW fc1 784x128x512 (x^T dy)", (784, BATCH, 512), true),
        ("dW fc2 512x128x256", (512, BATCH, 256), true),
        ("dx fc2 128x256x512 (dy W^T)", (BATCH, 256, 512), false),
        ("dx fc3 128x10x256", (BATCH, 10, 256), false),
    ];
    for (name, (m, k, n), a_t) in shapes {
        let a = vec![0.5f32; m * k];
        let b = vec![0.25f32; k * n];
        let mut c = vec![0f32; m * n];
        let one = time(|| gemm_call(&mut c, &a, &b, (m, k, n), a_t, gemm::Parallelism::None));
        let out = time(|| gemm_call(&mut c, &a, &b, (m, k, n), a_t, gemm::Parallelism::Rayon(threads)));
        let inside =
            rayon::scope(|_| time(|| gemm_call(&mut c, &a, &b, (m, k, n), a_t, gemm::Parallelism::Rayon(threads))));
        let halves = rayon::scope(|_| time(|| gemm_split(&mut c, &a, &b, (m, k, n), a_t)));
        println!("{name:<34} {one:>9.3} {out:>12.3} {inside:>12.3} {halves:>12.3}");
    }
    let dev = ppdl::model::cpu_training_device(1);
    for (i, o, input_grad) in [(784, 512, false), (512, 256, true)] {
        let mut layer = ppdl::model::linear::DynLinear::new(&dev, i, o);
        layer.input_grad = input_grad;
        let x: Tensor<(usize, usize), f32, Cpu> = dev.sample_normal_like(&(BATCH, i));
        let mut grads = Some(layer.alloc_grads());
        let ppdl = time(|| {
            let y = layer.forward(x.clone().traced(grads.take().unwrap())).relu();
            let mut g = y.sum().backward();
            layer.zero_grads(&mut g);
            grads = Some(g);
        });
        let dfdx_ops = time(|| {
            type T = OwnedTape<f32, Cpu>;
            let y = x.clone().traced(grads.take().unwrap()).matmul(layer.weight.retaped::<T>());
            let shape = *y.shape();
            let y = (y + layer.bias.retaped::<T>().broadcast_like::<_, Axis<0>>(&shape)).relu();
            let mut g = y.sum().backward();
            layer.zero_grads(&mut g);
            grads = Some(g);
        });
        let name = format!("layer {i}->{o}{} + relu, fwd+bwd", if input_grad { "" } else { " (no dx)" });
        println!("{name:<34} {ppdl:>9.3} (ppdl's DynLinear)  {dfdx_ops:>9.3} (dfdx matmul + broadcast add)");
    }
    let mut net = ppdl::model::arch::Mlp2::new(&dev, 784, 512, 256, 10);
    let params = 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10;
    let mut opt = Adam::new(&net, AdamConfig { lr: 1e-3, ..Default::default() });
    let x: Tensor<(usize, usize), f32, Cpu> = dev.sample_normal_like(&(BATCH, 784));
    let g = net.forward(x.traced(net.alloc_grads())).square().sum().backward();
    let adam = time(|| opt.update(&mut net, &g).unwrap());
    println!("{:<34} {adam:>9.3}", format!("adam, {params} parameters (dfdx)"));
    let h: Tensor<(usize, usize), f32, Cpu> = dev.sample_normal_like(&(BATCH, 512));
    let bias: Tensor<(usize,), f32, Cpu> = dev.sample_normal_like(&(512,));
    let relu = time(|| drop(h.clone().relu()));
    let add = time(|| drop(h.clone() + bias.clone().broadcast_like::<_, Axis<0>>(&(BATCH, 512))));
    let sum = time(|| drop(h.clone().sum::<(usize,), Axis<0>>()));
    println!("{:<34} {relu:>9.3}", "relu 128x512 (dfdx)");
    println!("{:<34} {add:>9.3}", "bias add 128x512 (dfdx broadcast)");
    println!("{:<34} {sum:>9.3}", "sum over batch 128x512 (bias grad)");
    let trace = time(|| {
        let y = (h.leaky_trace() + bias.clone().broadcast_like::<_, Axis<0>>(&(BATCH, 512))).relu();
        drop(y.sum().backward());
    });
    println!("{:<34} {trace:>9.3}", "bias add + relu fwd+bwd (dfdx)");
}

fn main() {
    let which: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let all = which.is_empty();
    dfdx::flush_denormals_to_zero();
    if all || which.iter().any(|w| w == "phases") {
        phases(false);
        phases(true);
    }
    if all || which.iter().any(|w| w == "ops") {
        ops();
    }
}
