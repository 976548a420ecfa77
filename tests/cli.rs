//! The binary end to end: run folder contents, determinism, and clear exit-code-2 errors for bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ppdl(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ppdl")).args(args).current_dir(cwd).output().expect("run ppdl")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

const SMALL: &str = r#"
name = "small"
seed = 7
[data]
dataset = "embedded"
train_limit = 600
test_limit = 200
[model]
arch = "mlp-256"
[train]
epochs = 2
batch_size = 50
log_every = 4
[privacy]
transforms = [{ kind = "pixel-permutation" }, { kind = "noise", sigma = 0.05 }]
codes_per_class = 2
fixed_key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
[output]
figures = false
"#;

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

fn assert_input_error(o: &Output, needles: &[&str]) {
    let t = text(o);
    assert_eq!(o.status.code(), Some(2), "expected exit 2, got {:?}: {t}", o.status.code());
    for n in needles {
        assert!(t.contains(n), "message should mention {n:?}: {t}");
    }
    assert!(!t.contains("panicked"), "panic text: {t}");
}

#[test]
fn run_writes_the_run_folder_as_documented() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write(tmp.path(), "small.toml", SMALL);
    let out = tmp.path().join("run");
    let o = ppdl(&["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    // Plain progress lines when stdout is not a terminal.
    assert!(text(&o).contains("[private] epoch 2/2 test accuracy"), "{}", text(&o));

    for f in [
        "config.toml",
        "metrics.csv",
        "summary.json",
        "provider/model.safetensors",
        "provider/encoded-data.json",
        "baseline/model.safetensors",
        "customer/key.json",
    ] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    let leftovers: Vec<_> = walk(&out).into_iter().filter(|p| p.to_string_lossy().ends_with(".tmp")).collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out.join("customer/key.json")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert!(!walk(&out.join("provider")).iter().any(|p| p.ends_with("key.json")), "key inside provider/");

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["name"], "small");
    assert_eq!(summary["seed"], 7);
    assert_eq!(summary["dataset"]["name"], "embedded");
    assert_eq!(summary["dataset"]["train"], 600);
    assert_eq!(summary["dataset"]["test"], 200);
    for arm in ["baseline", "private"] {
        let acc = summary[arm]["test_accuracy"].as_f64().unwrap();
        assert!(acc > 0.3 && acc <= 1.0, "{arm} accuracy {acc} should beat chance (0.1) clearly");
        assert!(summary[arm]["train_seconds"].as_f64().unwrap() > 0.0);
        assert!(summary[arm]["samples_per_second"].as_f64().unwrap() > 0.0);
    }
    let delta = summary["accuracy_delta"].as_f64().unwrap();
    let want =
        summary["private"]["test_accuracy"].as_f64().unwrap() - summary["baseline"]["test_accuracy"].as_f64().unwrap();
    assert!((delta - want).abs() < 1e-12);
    assert!(summary["crate_versions"]["dfdx"].as_str().unwrap().starts_with("0.13"));

    let metrics = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert!(metrics.starts_with("arm,epoch,step,split,loss,accuracy,samples_per_s,wall_s\n"));
    let tests: Vec<&str> = metrics.lines().filter(|l| l.contains(",test,")).collect();
    assert_eq!(tests.len(), 4, "one test row per arm per epoch: {metrics}");
    // The last test row of each arm is the summary's accuracy.
    let last_private = tests.iter().rev().find(|l| l.starts_with("private")).unwrap();
    let acc: f64 = last_private.split(',').nth(5).unwrap().parse().unwrap();
    assert!((acc - summary["private"]["test_accuracy"].as_f64().unwrap()).abs() < 1e-6);

    // The resolved config re-validates and carries the defaults.
    let resolved = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(resolved.contains("learning_rate"), "{resolved}");
    let v = ppdl(&["validate", out.join("config.toml").to_str().unwrap()], tmp.path());
    assert!(v.status.success(), "{}", text(&v));
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Same config, seed and fixed key: identical losses and accuracies (timing columns are measurements)
/// and identical weights.
#[test]
fn same_seed_gives_same_metrics_and_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write(tmp.path(), "small.toml", SMALL);
    let mut runs = Vec::new();
    for k in 0..2 {
        let out = tmp.path().join(format!("run{k}"));
        let o = ppdl(&["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()], tmp.path());
        assert!(o.status.success(), "{}", text(&o));
        runs.push(out);
    }
    let metrics = |p: &Path| -> Vec<String> {
        std::fs::read_to_string(p.join("metrics.csv"))
            .unwrap()
            .lines()
            .map(|l| l.split(',').take(6).collect::<Vec<_>>().join(","))
            .collect()
    };
    let (a, b) = (metrics(&runs[0]), metrics(&runs[1]));
    assert!(a.len() > 5);
    assert_eq!(a, b);
    for f in ["provider/model.safetensors", "baseline/model.safetensors", "customer/key.json"] {
        assert_eq!(std::fs::read(runs[0].join(f)).unwrap(), std::fs::read(runs[1].join(f)).unwrap(), "{f} differs");
    }
}

#[test]
fn malformed_toml_names_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write(tmp.path(), "bad.toml", "name = \"x\"\n[data\ndataset = \"embedded\"\n");
    let o = ppdl(&["validate", cfg.to_str().unwrap()], tmp.path());
    assert_input_error(&o, &["bad.toml:2"]);
}

#[test]
fn unknown_field_is_named_with_a_suggestion() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write(tmp.path(), "typo.toml", &SMALL.replace("batch_size = 50", "batchsize = 50"));
    let o = ppdl(&["run", cfg.to_str().unwrap(), "--out", tmp.path().join("r").to_str().unwrap()], tmp.path());
    assert_input_error(&o, &["typo.toml:", "batchsize", "did you mean `batch_size`"]);
    assert!(!tmp.path().join("r").exists(), "nothing may be written for a bad config");
}

#[test]
fn wrong_type_names_field_and_expectation() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write(tmp.path(), "type.toml", &SMALL.replace("epochs = 2", "epochs = \"two\""));
    let o = ppdl(&["validate", cfg.to_str().unwrap()], tmp.path());
    assert_input_error(&o, &["type.toml:11", "train.epochs", "integer"]);
}

#[test]
fn out_of_range_value_names_field() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write(tmp.path(), "range.toml", &SMALL.replace("batch_size = 50", "batch_size = 0"));
    let o = ppdl(&["validate", cfg.to_str().unwrap()], tmp.path());
    assert_input_error(&o, &["range.toml:12", "train.batch_size", ">= 1"]);
}

#[test]
fn missing_data_folder_says_how_to_fetch_it() {
    let tmp = tempfile::tempdir().unwrap();
    let body = SMALL.replace("dataset = \"embedded\"", "dataset = \"mnist\"\ndir = \"nowhere/mnist\"");
    let cfg = write(tmp.path(), "mnist.toml", &body);
    let out = tmp.path().join("r");
    let o = ppdl(&["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()], tmp.path());
    assert_input_error(&o, &["nowhere/mnist", "fetch-data.sh"]);
    assert!(!out.exists(), "nothing may be written when the data is missing");
}

#[test]
fn truncated_idx_file_names_file_and_offset() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("mnist");
    std::fs::create_dir(&data).unwrap();
    let idx = |magic: u32, dims: &[u32], payload: usize| -> Vec<u8> {
        let mut v = magic.to_be_bytes().to_vec();
        for d in dims {
            v.extend(d.to_be_bytes());
        }
        v.extend(std::iter::repeat_n(1u8, payload));
        v
    };
    // 10 images declared, only 3.5 present.
    std::fs::write(data.join("train-images-idx3-ubyte"), idx(0x803, &[10, 28, 28], 784 * 3 + 392)).unwrap();
    std::fs::write(data.join("train-labels-idx1-ubyte"), idx(0x801, &[10], 10)).unwrap();
    std::fs::write(data.join("t10k-images-idx3-ubyte"), idx(0x803, &[2, 28, 28], 784 * 2)).unwrap();
    std::fs::write(data.join("t10k-labels-idx1-ubyte"), idx(0x801, &[2], 2)).unwrap();
    let body =
        SMALL.replace("dataset = \"embedded\"", &format!("dataset = \"mnist\"\ndir = {:?}", data.to_str().unwrap()));
    let cfg = write(tmp.path(), "trunc.toml", &body);
    let out = tmp.path().join("r");
    let o = ppdl(&["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()], tmp.path());
    assert_input_error(&o, &["train-images-idx3-ubyte", "byte", "truncated"]);
    assert!(!out.exists());
}

#[test]
fn unknown_subcommand_and_missing_file_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(ppdl(&["frobnicate"], tmp.path()).status.code(), Some(2));
    let o = ppdl(&["validate", "does-not-exist.toml"], tmp.path());
    assert_input_error(&o, &["does-not-exist.toml"]);
}

#[test]
fn every_shipped_config_validates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for p in walk(&root.join("configs")) {
        if p.extension().is_some_and(|e| e == "toml") {
            let o = ppdl(&["validate", p.to_str().unwrap()], root);
            assert!(o.status.success(), "{}: {}", p.display(), text(&o));
            n += 1;
        }
    }
    assert!(n >= 5);
}

#[test]
fn infer_round_trip_matches_the_run_and_refuses_a_foreign_key() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write(tmp.path(), "small.toml", SMALL);
    let other = write(tmp.path(), "other.toml", &SMALL.replace("000102", "ff0102"));
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for (c, out) in [(&cfg, &a), (&other, &b)] {
        let o = ppdl(&["run", c.to_str().unwrap(), "--out", out.to_str().unwrap()], tmp.path());
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = ppdl(&["infer", a.to_str().unwrap(), "--json"], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("summary.json")).unwrap()).unwrap();
    // Fixed-pattern noise is deterministic, so serving the stored model reproduces the run's accuracy.
    assert_eq!(report["accuracy"].as_f64(), summary["private"]["test_accuracy"].as_f64());
    assert_eq!(report["samples"], 200);
    assert_eq!(report["bytes_to_provider_per_sample"], 784 * 4);
    assert_eq!(report["bytes_to_customer_per_sample"], 20 * 4, "m = 2 codes per class, 10 classes");

    std::fs::copy(b.join("customer/key.json"), a.join("customer/key.json")).unwrap();
    let o = ppdl(&["infer", a.to_str().unwrap()], tmp.path());
    assert_input_error(&o, &["key.json", "another run"]);
}

#[test]
fn every_bad_config_value_is_named_and_nothing_is_written() {
    // (edits of SMALL, what the message must contain); each goes through `run`, so "nothing written" is real.
    type Case = (&'static [(&'static str, &'static str)], &'static [&'static str]);
    let cases: &[Case] = &[
        (&[("epochs = 2", "epochs = -3")], &["bad.toml:11", "train.epochs", "non-negative integer"]),
        (&[("epochs = 2", "epochs = 0")], &["bad.toml:11", "train.epochs", ">= 1"]),
        (&[("batch_size = 50", "batch_size = 0")], &["bad.toml:12", "train.batch_size", ">= 1"]),
        (&[("batch_size = 50", "batch_size = 1e3")], &["bad.toml:12", "train.batch_size", "integer"]),
        (&[("sigma = 0.05", "sigma = -0.1")], &["bad.toml:15", "privacy.transforms[1].sigma", ">= 0"]),
        (&[("sigma = 0.05", "sigma = nan")], &["bad.toml:15", "privacy.transforms[1].sigma", ">= 0"]),
        (
            &[("{ kind = \"pixel-permutation\" }", "{ kind = \"block-shuffle\", block = 5 }")],
            &["privacy.transforms[0].block", "divides the 28x28 image, got 5"],
        ),
        (&[("{ kind = \"pixel-permutation\" }", "{ kind = \"rot13\" }")], &["privacy.transforms[0]", "rot13"]),
        (&[("codes_per_class = 2", "codes_per_class = 0")], &["bad.toml:16", "privacy.codes_per_class", ">= 1"]),
        (
            &[
                ("dataset = \"embedded\"", "dataset = \"digits\""),
                ("{ kind = \"pixel-permutation\" }", "{ kind = \"block-shuffle\", block = 3 }"),
            ],
            &["privacy.transforms[0].block", "divides the 8x8 image, got 3"],
        ),
        (&[("arch = \"mlp-256\"", "arch = \"mlp-256\"\nkernel = 3")], &["bad.toml:10", "kernel", "unknown field"]),
        (&[("arch = \"mlp-256\"", "arch = 5")], &["bad.toml:9", "model.arch", "one of `mlp-256`"]),
        (&[("seed = 7", "seed = 18446744073709551615")], &["bad.toml:3", "at most 9223372036854775807"]),
    ];
    let tmp = tempfile::tempdir().unwrap();
    for (edits, needles) in cases {
        let mut body = SMALL.to_string();
        for (from, to) in *edits {
            assert!(body.contains(from), "test edit `{from}` does not apply");
            body = body.replace(from, to);
        }
        let cfg = write(tmp.path(), "bad.toml", &body);
        let out = tmp.path().join("r");
        let o = ppdl(&["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()], tmp.path());
        assert_input_error(&o, needles);
        assert!(!out.exists(), "{edits:?}: nothing may be written for a bad config");
    }
}
