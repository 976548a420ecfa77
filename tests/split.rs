//! Split learning (`scheme = "split"`): training across the cut equals training the unsplit
//! network, NoPeek's distance correlation, the config's checks, and a real run.

use dfdx::optim::{Adam, AdamConfig};
use dfdx::prelude::*;
use ppdl::config::{Arch, SplitConfig, TrainConfig};
use ppdl::data::ImageShape;
use ppdl::model::arch::{with_net, Net, WithNet};
use ppdl::model::split::{Layer, SplitPlan};
use ppdl::train::fit::{ModelStep, TrainStep};
use ppdl::train::split::nopeek::distance_correlation;
use ppdl::train::split::{initial_layers, SplitStep};
use ppdl::train::TrainSpec;

const SEED: u64 = 11;

/// Two batches of `rows` rows of `features` inputs with one-hot targets over 10 classes.
fn batches(features: usize, rows: usize) -> Vec<(Vec<f32>, Vec<f32>)> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    use rand::{Rng, SeedableRng};
    (0..2)
        .map(|_| {
            let x: Vec<f32> = (0..rows * features).map(|_| rng.gen::<f32>()).collect();
            let mut y = vec![0.0; rows * 10];
            for r in 0..rows {
                y[r * 10 + rng.gen_range(0..10)] = 1.0;
            }
            (x, y)
        })
        .collect()
}

/// The unsplit network trained by the ordinary step (as the baseline arm trains), then taken apart.
struct Unsplit<'a> {
    dev: &'a Cpu,
    batches: &'a [(Vec<f32>, Vec<f32>)],
    rows: usize,
}

impl WithNet<Cpu> for Unsplit<'_> {
    type Output = Vec<Layer<Cpu>>;
    fn run<M: Net<Cpu>>(self, mut model: M) -> Vec<Layer<Cpu>> {
        let opt = Adam::new(&model, AdamConfig { lr: 1e-3, ..Default::default() });
        let mut step = ModelStep::new(
            self.dev,
            &mut model,
            opt,
            |o: &mut Adam<M, f32, Cpu>, lr| o.cfg.lr = lr,
            |out, y| cross_entropy_with_logits_loss(out, y),
        );
        for (x, y) in self.batches {
            step.step(x, y, self.rows, false).unwrap();
        }
        drop(step);
        model.into_layers()
    }
}

fn spec(arch: Arch, shape: ImageShape) -> TrainSpec {
    TrainSpec { arm: "split".into(), arch, shape, train: TrainConfig::default(), seed: SEED, save_to: None }
}

fn split(cut: usize, tail: usize) -> SplitConfig {
    SplitConfig { cut, tail, noise_sigma: 0.0, nopeek_alpha: 0.0 }
}

/// Every parameter of `a` and `b`, layer by layer, within `tol`; the largest difference.
fn max_difference(a: &[Layer<Cpu>], b: &[Layer<Cpu>]) -> f32 {
    assert_eq!(a.len(), b.len());
    let mut worst = 0.0f32;
    for (la, lb) in a.iter().zip(b) {
        assert_eq!(la.name(), lb.name());
        for (u, v) in [(la.weight().as_vec(), lb.weight().as_vec()), (la.bias().as_vec(), lb.bias().as_vec())] {
            assert_eq!(u.len(), v.len());
            worst = u.iter().zip(&v).map(|(p, q)| (p - q).abs()).fold(worst, f32::max);
        }
    }
    worst
}

fn check_equivalence(arch: Arch, shape: ImageShape, cut: usize, tail: usize) {
    let rows = 16;
    let data = batches(shape.features(), rows);
    let dev = ppdl::model::cpu_training_device(SEED);
    let initial = with_net(arch, &dev, shape, 10, Unsplit { dev: &dev, batches: &[], rows });
    let dev = ppdl::model::cpu_training_device(SEED);
    let trained = with_net(arch, &dev, shape, 10, Unsplit { dev: &dev, batches: &data, rows });

    let dev = ppdl::model::cpu_training_device(SEED);
    let layers = initial_layers(&dev, &spec(arch, shape), 10);
    assert_eq!(max_difference(&layers, &initial), 0.0, "the split network starts from the unsplit initialisation");
    let plan = SplitPlan::new(arch, cut, tail).unwrap();
    let mut step = SplitStep::new(&dev, layers, plan, &split(cut, tail), &TrainConfig::default(), SEED, 2 * rows);
    for (x, y) in &data {
        step.step(x, y, rows, false).unwrap();
    }
    let mut after: Vec<Layer<Cpu>> = step.customer.head().layers.clone();
    after.extend(step.provider.middle().layers.iter().cloned());
    after.extend(step.customer.tail().layers.iter().cloned());
    let moved = max_difference(&after, &initial);
    assert!(moved > 1e-4, "training moved the parameters ({moved})");
    let diff = max_difference(&after, &trained);
    assert!(diff < 1e-6, "{}: split and unsplit training differ by {diff} (cut {cut}, tail {tail})", arch.name());
}

#[test]
fn split_training_equals_unsplit_training_mlp() {
    check_equivalence(Arch::Mlp512x256, ImageShape { height: 8, width: 8, channels: 1 }, 1, 1);
}

#[test]
fn split_training_equals_unsplit_training_cnn_at_both_cuts() {
    let shape = ImageShape { height: 8, width: 8, channels: 1 };
    check_equivalence(Arch::CnnSmall, shape, 1, 1);
    check_equivalence(Arch::CnnSmall, shape, 2, 1);
    check_equivalence(Arch::Lenet, shape, 1, 2);
}

/// Distance correlation computed directly in f64 (Székely et al. 2007, V-statistic).
fn dcor_f64(x: &[f64], z: &[f64], n: usize) -> f64 {
    let centred = |v: &[f64]| {
        let d = v.len() / n;
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..d).map(|k| (v[i * d + k] - v[j * d + k]).powi(2)).sum::<f64>().sqrt();
            }
        }
        let row: Vec<f64> = (0..n).map(|i| (0..n).map(|j| a[i * n + j]).sum::<f64>() / n as f64).collect();
        let all = row.iter().sum::<f64>() / n as f64;
        (0..n * n).map(|k| a[k] - row[k / n] - row[k % n] + all).collect::<Vec<f64>>()
    };
    let (a, b) = (centred(x), centred(z));
    let mean = |p: &[f64], q: &[f64]| p.iter().zip(q).map(|(u, v)| u * v).sum::<f64>() / (n * n) as f64;
    (mean(&a, &b) / (mean(&a, &a) * mean(&b, &b)).sqrt()).sqrt()
}

#[test]
fn distance_correlation_matches_f64_and_its_gradient_matches_finite_differences() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let (n, dx, dz) = (12, 20, 6);
    let x: Vec<f32> = (0..n * dx).map(|_| rng.gen::<f32>()).collect();
    // Activations partly determined by the inputs, so the correlation is neither 0 nor 1.
    let z: Vec<f32> = (0..n * dz).map(|k| x[(k / dz) * dx + k % dz] + 0.5 * rng.gen::<f32>()).collect();
    let dev = Cpu::seed_from_u64(0);
    let xt = dev.tensor_from_vec(x.clone(), (n, dx));
    let zt = dev.tensor_from_vec(z.clone(), (n, dz));
    let d = distance_correlation(xt.clone(), zt.clone().leaky_traced()).unwrap();
    let got = d.with_empty_tape().as_vec()[0] as f64;
    let (x64, z64): (Vec<f64>, Vec<f64>) =
        (x.iter().map(|&v| v as f64).collect(), z.iter().map(|&v| v as f64).collect());
    let want = dcor_f64(&x64, &z64, n);
    assert!(want > 0.2 && want < 0.95, "{want}");
    assert!((got - want).abs() < 1e-4, "dfdx {got} vs f64 {want}");
    // Identical inputs and activations correlate perfectly.
    let same = distance_correlation(xt.clone(), xt.clone()).unwrap().as_vec()[0] as f64;
    assert!((same - 1.0).abs() < 1e-4, "{same}");

    // The gradient flows to the activations: the directional derivative along it matches f64 finite
    // differences.
    let grads = d.backward();
    let g: Vec<f64> = grads.get(&zt).as_vec().iter().map(|&v| v as f64).collect();
    let norm2: f64 = g.iter().map(|v| v * v).sum();
    assert!(norm2 > 0.0);
    let h = 1e-4;
    let shifted = |s: f64| z64.iter().zip(&g).map(|(v, gv)| v + s * h * gv).collect::<Vec<f64>>();
    let fd = (dcor_f64(&x64, &shifted(1.0), n) - dcor_f64(&x64, &shifted(-1.0), n)) / (2.0 * h);
    assert!((fd - norm2).abs() < 1e-2 * norm2, "finite difference {fd} vs |grad|^2 {norm2}");
}
