//! overhead.json: a short run on the embedded dataset writes a complete, sane report (no timing
//! thresholds: only that every figure is there, positive and consistent), and the faster Q generation
//! gives the same orthogonal matrix as plain Gram-Schmidt.

use std::path::Path;
use std::process::Command;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, StandardNormal};
use serde_json::Value;

const CONFIG: &str = r#"
name = "overhead"
seed = 3
[data]
dataset = "embedded"
train_limit = 500
test_limit = 300
[model]
arch = "mlp-256"
[train]
epochs = 2
batch_size = 50
schedule = "sequential"
log_every = 5
[privacy]
transforms = [
  { kind = "pixel-permutation" },
  { kind = "block-shuffle", block = 4, flip = true },
  { kind = "orthogonal-mix" },
  { kind = "noise", sigma = 0.05 },
]
codes_per_class = 3
fixed_key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
[output]
figures = false
[attacks]
# Off: this test measures the overhead analysis, which does not depend on the attacks.
enabled = []
"#;

fn num(v: &Value, path: &str) -> f64 {
    let mut cur = v;
    for part in path.split('.') {
        cur = &cur[part];
    }
    cur.as_f64().unwrap_or_else(|| panic!("{path} is not a number: {cur}"))
}

fn positive(v: &Value, path: &str) -> f64 {
    let x = num(v, path);
    assert!(x.is_finite() && x > 0.0, "{path} = {x}");
    x
}

#[test]
fn a_short_run_writes_a_complete_overhead_report() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("overhead.toml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let out = tmp.path().join("run");
    let o = Command::new(env!("CARGO_BIN_EXE_ppdl"))
        .args(["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "{text}");
    assert!(text.contains("overhead: encode"), "{text}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(out.join("overhead.json")).unwrap()).unwrap();
    check_report(&report, &out);
    // The figures of the one keyed arm, as format 1 held them under `measured`.
    let report = serde_json::json!({ "measured": report["arms"][0]["measured"].clone() });

    // `summarize --overhead` tabulates the same figures.
    let o = Command::new(env!("CARGO_BIN_EXE_ppdl"))
        .args(["summarize", "--overhead", out.to_str().unwrap()])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{table}");
    let row = table.lines().nth(2).expect("one row per run");
    let encode_pct = format!("{:.1}%", 100.0 * num(&report, "measured.encode.fraction_of_baseline_epoch"));
    let ratio = format!("| {:.3} (timed alone) |", num(&report, "measured.training.ratio"));
    assert!(
        row.starts_with("| overhead | private | finished | mlp-256 |")
            && row.contains(&encode_pct)
            && row.contains(&ratio),
        "{row}"
    );

    // One training-time ratio: plain `summarize` shows the figure overhead.json stores, and it is the
    // ratio of median epoch times (not of totals).
    let o = Command::new(env!("CARGO_BIN_EXE_ppdl")).args(["summarize", out.to_str().unwrap()]).output().unwrap();
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{table}");
    assert!(table.lines().nth(2).unwrap().ends_with(&ratio), "{table}");
    let median = |arm: &str| {
        let mut v: Vec<f64> =
            report["measured"]["training"][arm].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
        v.sort_by(f64::total_cmp);
        (v[0] + v[1]) / 2.0
    };
    let expected = median("private_epoch_seconds") / median("baseline_epoch_seconds");
    assert!((num(&report, "measured.training.ratio") - expected).abs() < 1e-12);
}

fn check_report(r: &Value, run: &Path) {
    assert_eq!(r["format_version"], 2);
    let arms = r["arms"].as_array().unwrap();
    assert_eq!(arms.len(), 1, "one keyed arm measured against the baseline");
    assert_eq!(arms[0]["arm"], "private");
    let m = &arms[0]["measured"];

    // Encode: the 500 training samples, every transform in order, each timed.
    assert_eq!(m["encode"]["samples"], 500);
    let total = positive(m, "encode.seconds");
    positive(m, "encode.samples_per_second");
    let per = m["encode"]["per_transform"].as_array().unwrap();
    let names: Vec<&str> = per.iter().map(|t| t["transform"].as_str().unwrap()).collect();
    assert_eq!(names, ["pixel-permutation", "block-shuffle(b=4,flip)", "orthogonal-mix", "noise(sigma=0.05)"]);
    let mut sum = 0.0;
    for t in per {
        sum += positive(t, "seconds");
        positive(t, "samples_per_second");
        assert!(num(t, "setup_seconds") >= 0.0);
    }
    assert!(sum <= total * 1.0001, "transforms {sum} s > total {total} s");

    // Training: both arms, every epoch, a finite ratio, clean (sequential) timings.
    let t = &m["training"];
    for arm in ["baseline_epoch_seconds", "private_epoch_seconds"] {
        let e = t[arm].as_array().unwrap();
        assert_eq!(e.len(), 2, "{arm}");
        assert!(e.iter().all(|x| x.as_f64().unwrap() > 0.0), "{arm}");
    }
    positive(t, "ratio");
    assert_eq!(t["clean"], true);
    assert_eq!(t["schedule"], "sequential");

    // Inference: batch and single sample, all components, total = at least the forward.
    let inf = &m["inference"];
    assert_eq!(inf["single_sample"]["batch_size"], 1);
    assert!(inf["batch_size"].as_u64().unwrap() > 1);
    for times in [inf, &inf["single_sample"]] {
        for f in
            ["baseline_forward_ms", "private_encode_ms", "private_forward_ms", "private_decode_ms", "private_total_ms"]
        {
            positive(times, f);
        }
        assert!(num(times, "private_total_ms") >= num(times, "private_forward_ms"));
        assert!(times["repeats"].as_u64().unwrap() >= 5);
    }
    assert_eq!(inf["weights"], "trained");

    // Bytes: f32 features up, f32 scores over 10 classes x 3 codes down.
    let b = &m["bytes"];
    assert_eq!(b["to_provider_per_sample"], 4 * 784);
    assert_eq!(b["to_customer_per_sample"], 4 * 30);
    assert_eq!(b["raw_input_per_sample"], 4 * 784);
    assert_eq!(b["raw_input_u8_per_sample"], 784);

    // Accuracy delta matches summary.json.
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    assert!((num(m, "accuracy_delta") - num(&summary["arms"][1], "accuracy_delta")).abs() < 1e-12);
    assert!(num(m, "accuracy_delta").abs() <= 1.0);
    if cfg!(unix) {
        assert!(num(m, "peak_memory_bytes") > 1e6, "peak memory {}", m["peak_memory_bytes"]);
    }

    // Literature: kept apart, every entry sourced.
    let lit = r["literature"].as_array().unwrap();
    assert!(lit.len() >= 4);
    for system in ["CryptoNets", "MiniONN", "GAZELLE", "MoLe"] {
        assert!(lit.iter().any(|e| e["system"] == system), "{system} missing");
    }
    for e in lit {
        for f in ["system", "task", "metric", "unit", "source"] {
            assert!(!e[f].as_str().unwrap_or("").is_empty(), "{f} empty in {e}");
        }
        assert!(e["value"].as_f64().unwrap() > 0.0);
        assert_eq!(e["kind"], "literature");
    }
}

/// Row-by-row modified Gram-Schmidt, twice, in f64: the previous implementation, as a reference.
fn reference_orthogonal(d: usize, rng: &mut ChaCha20Rng) -> Vec<f64> {
    let mut rows: Vec<Vec<f64>> = (0..d).map(|_| (0..d).map(|_| StandardNormal.sample(rng)).collect()).collect();
    for i in 0..d {
        for _ in 0..2 {
            for j in 0..i {
                let (done, rest) = rows.split_at_mut(i);
                let dot: f64 = rest[0].iter().zip(&done[j]).map(|(a, b)| a * b).sum();
                for (a, b) in rest[0].iter_mut().zip(&done[j]) {
                    *a -= dot * b;
                }
            }
        }
        let norm = rows[i].iter().map(|a| a * a).sum::<f64>().sqrt();
        rows[i].iter_mut().for_each(|a| *a /= norm);
    }
    rows.into_iter().flatten().collect()
}

#[test]
fn blocked_gram_schmidt_gives_the_same_orthogonal_matrix() {
    for d in [1, 7, 64, 150] {
        let q = ppdl::scheme::transforms::random_orthogonal(d, &mut ChaCha20Rng::seed_from_u64(d as u64));
        let want = reference_orthogonal(d, &mut ChaCha20Rng::seed_from_u64(d as u64));
        let worst = q.iter().zip(&want).map(|(a, b)| (*a as f64 - b).abs()).fold(0.0, f64::max);
        assert!(worst < 1e-6, "d = {d}: differs from row-by-row Gram-Schmidt by {worst}");
        // Q Q^T = I
        for i in 0..d {
            for j in 0..d {
                let dot: f64 = (0..d).map(|k| q[i * d + k] as f64 * q[j * d + k] as f64).sum();
                let expect = if i == j { 1.0 } else { 0.0 };
                assert!((dot - expect).abs() < 1e-5, "d = {d}: (Q Q^T)[{i}][{j}] = {dot}");
            }
        }
    }
}

#[test]
fn orthogonal_mix_gives_the_same_codes_one_sample_at_a_time() {
    use ppdl::config::{PrivacyConfig, TransformSpec};
    use ppdl::scheme::{Customer, SecretKey};
    let data = ppdl::data::embedded::load().unwrap();
    let d = data.shape.features();
    let privacy = PrivacyConfig { transforms: vec![TransformSpec::new("orthogonal-mix")], ..PrivacyConfig::default() };
    let key = || SecretKey::from_hex(&"5a".repeat(32)).unwrap();
    let customer = Customer::new(key(), &privacy, "embedded", data.shape, 10);
    let images = &data.test.images[..20 * d];
    let together = customer.encode_inputs(images); // matrix-product path
    for i in 0..3 {
        let alone = customer.encode_inputs(&images[i * d..(i + 1) * d]); // single-sample path
        let worst =
            alone.images().iter().zip(&together.images()[i * d..]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(worst < 1e-5, "sample {i}: {worst}");
        let back = customer.decode_inputs(alone.images()).unwrap();
        let worst = back.iter().zip(&images[i * d..]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(worst < 1e-4, "sample {i} decode: {worst}");
    }
}
