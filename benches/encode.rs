//! Customer encode cost per transform (1,000 embedded images), and deriving Q from the key.
//! Quick by design: `cargo bench --bench encode`.

mod common;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use ppdl::config::{PrivacyConfig, TransformSpec};
use ppdl::scheme::transforms::TransformLabel;
use ppdl::scheme::{Customer, SecretKey};

fn transforms() -> Vec<TransformSpec> {
    vec![
        TransformSpec::new("pixel-permutation"),
        TransformSpec::new("block-shuffle").with("block", 4).with("flip", true),
        TransformSpec::new("orthogonal-mix"),
        TransformSpec::new("separable-mix"),
        TransformSpec::new("fast-mix").with("rounds", 3),
        TransformSpec::new("noise").with("sigma", 0.1).with("per_sample", true),
        TransformSpec::new("noise").with("sigma", 0.1).with("per_sample", false),
    ]
}

fn encode(c: &mut Criterion) {
    let data = ppdl::data::embedded::load().expect("embedded dataset");
    let n = 1000;
    let images = &data.train.images[..n * data.shape.features()];
    let mut group = c.benchmark_group("encode_1000");
    group.throughput(Throughput::Elements(n as u64));
    for spec in transforms() {
        let privacy = PrivacyConfig { transforms: vec![spec.clone()], ..PrivacyConfig::default() };
        let customer =
            Customer::new(SecretKey::from_hex(&"07".repeat(32)).unwrap(), &privacy, "embedded", data.shape, 10);
        group.bench_with_input(BenchmarkId::from_parameter(spec.label()), &images, |b, images| {
            b.iter(|| customer.encode_inputs(images))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("key_setup");
    group.sample_size(10);
    group.bench_function("orthogonal_q_784", |b| {
        b.iter(|| ppdl::scheme::transforms::random_orthogonal(784, &mut ChaCha20Rng::seed_from_u64(1)))
    });
    group.finish();
}

fn quick() -> Criterion {
    common::quick(Duration::from_millis(300), Duration::from_secs(2))
}

criterion_group! { name = benches; config = quick(); targets = encode }
criterion_main!(benches);
