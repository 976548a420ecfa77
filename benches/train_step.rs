//! One training step (forward, cross-entropy, backward, Adam update) of the MLPs and the CNN on a
//! batch of 64 embedded images, as the trainer does it. `cargo bench --bench train_step`.

mod common;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use dfdx::nn::ZeroGrads;
use dfdx::optim::{Adam, AdamConfig, Optimizer};
use dfdx::prelude::*;

use ppdl::config::Arch;
use ppdl::model::arch::{with_net, Net, WithNet};

const BATCH: usize = 64;

struct Step<'a> {
    c: &'a mut Criterion,
    arch: Arch,
    dev: &'a Cpu,
    x: &'a [f32],
    y: &'a [f32],
    d: usize,
}

impl WithNet<Cpu> for Step<'_> {
    type Output = ();
    fn run<M: Net<Cpu>>(self, mut model: M) {
        let dev = self.dev;
        // As the trainer does: the data needs no gradient, so the first layer skips its input gradient.
        if let Some(first) = model.input_layer_mut() {
            first.input_grad = false;
        }
        let mut opt = Adam::new(&model, AdamConfig { lr: 1e-3, ..Default::default() });
        let mut grads = Some(model.alloc_grads());
        let mut group = self.c.benchmark_group("train_step_b64");
        group.throughput(Throughput::Elements(BATCH as u64));
        group.bench_function(BenchmarkId::from_parameter(self.arch.name()), |b| {
            b.iter(|| {
                let x: Tensor<(usize, usize), f32, Cpu> = dev.tensor_from_vec(self.x.to_vec(), (BATCH, self.d));
                let y: Tensor<(usize, usize), f32, Cpu> = dev.tensor_from_vec(self.y.to_vec(), (BATCH, 10));
                let logits = model.forward_mut(x.traced(grads.take().expect("gradients")));
                let loss = cross_entropy_with_logits_loss(logits, y);
                let mut g = loss.backward();
                opt.update(&mut model, &g).unwrap();
                model.zero_grads(&mut g);
                grads = Some(g);
            })
        });
        group.finish();
    }
}

fn train_step(c: &mut Criterion) {
    let data = ppdl::data::embedded::load().expect("embedded dataset");
    let d = data.shape.features();
    let x = &data.train.images[..BATCH * d];
    let mut y = vec![0f32; BATCH * 10];
    for (i, &l) in data.train.labels[..BATCH].iter().enumerate() {
        y[i * 10 + l as usize] = 1.0;
    }
    for arch in [Arch::Mlp256, Arch::Mlp512x256, Arch::CnnSmall] {
        // The device training uses (denormals flushed, freed buffers reused), so a step costs here
        // what it costs in a run.
        let dev = ppdl::model::cpu_training_device(1);
        with_net(arch, &dev, data.shape, 10, Step { c: &mut *c, arch, dev: &dev, x, y: &y, d });
    }
}

fn quick() -> Criterion {
    common::quick(Duration::from_millis(500), Duration::from_secs(3))
}

criterion_group! { name = benches; config = quick(); targets = train_step }
criterion_main!(benches);
