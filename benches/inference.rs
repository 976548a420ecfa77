//! Inference: the plain forward against the protocol (customer encode + provider forward + customer
//! decode), one sample and a batch of 256. `cargo bench --bench inference`.

mod common;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use dfdx::prelude::*;

use ppdl::config::{Arch, PrivacyConfig, TransformSpec};
use ppdl::model::arch::{with_net, Net, WithNet};
use ppdl::scheme::{Customer, SecretKey};
use ppdl::train::trainer::predict;

struct Serve<'a> {
    c: &'a mut Criterion,
    arch: Arch,
    dev: &'a Cpu,
    images: &'a [f32],
    d: usize,
    customers: &'a [(String, Customer)],
}

impl WithNet<Cpu> for Serve<'_> {
    type Output = ();
    fn run<M: Net<Cpu>>(self, model: M) {
        let (dev, d) = (self.dev, self.d);
        let mut group = self.c.benchmark_group(format!("inference_{}", self.arch.name()));
        for n in [1usize, 256] {
            let raw = &self.images[..n * d];
            group.bench_with_input(BenchmarkId::new("plain_forward", n), &raw, |b, raw| {
                b.iter(|| predict(&model, dev, raw, d).unwrap())
            });
            for (name, customer) in self.customers {
                group.bench_with_input(BenchmarkId::new(format!("protocol_{name}"), n), &raw, |b, raw| {
                    b.iter(|| {
                        let enc = customer.encode_inputs(raw);
                        let scores = predict(&model, dev, enc.images(), d).unwrap();
                        customer.decode_scores(&scores)
                    })
                });
            }
        }
        group.finish();
    }
}

fn inference(c: &mut Criterion) {
    let data = ppdl::data::embedded::load().expect("embedded dataset");
    let d = data.shape.features();
    let key = || SecretKey::from_hex(&"07".repeat(32)).unwrap();
    let customers: Vec<(String, Customer)> = [
        ("pixel-permutation", TransformSpec::new("pixel-permutation")),
        ("orthogonal-mix", TransformSpec::new("orthogonal-mix")),
    ]
    .into_iter()
    .map(|(name, spec)| {
        let privacy = PrivacyConfig { transforms: vec![spec], ..PrivacyConfig::default() };
        (name.to_string(), Customer::new(key(), &privacy, "embedded", data.shape, 10))
    })
    .collect();
    for arch in [Arch::Mlp256, Arch::CnnSmall] {
        let dev = Cpu::seed_from_u64(1);
        let job = Serve { c: &mut *c, arch, dev: &dev, images: &data.test.images, d, customers: &customers };
        with_net(arch, &dev, data.shape, 10, job);
    }
}

fn quick() -> Criterion {
    common::quick(Duration::from_millis(300), Duration::from_secs(1))
}

criterion_group! { name = benches; config = quick(); targets = inference }
criterion_main!(benches);
