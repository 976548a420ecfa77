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
[attacks]
# Off here: these tests check training and the run folder; attacks get runs of their own below.
enabled = []
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
        "provider/private/model.safetensors",
        "provider/private/encoded-data.json",
        "provider/baseline/model.safetensors",
        "customer/private/key.json",
        "samples/private.json",
    ] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    let leftovers: Vec<_> = walk(&out).into_iter().filter(|p| p.to_string_lossy().ends_with(".tmp")).collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out.join("customer/private/key.json")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let mode = std::fs::metadata(out.join("customer")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }
    assert!(!walk(&out.join("provider")).iter().any(|p| p.ends_with("key.json")), "key inside provider/");

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["name"], "small");
    assert_eq!(summary["seed"], 7);
    assert_eq!(summary["dataset"]["name"], "embedded");
    assert_eq!(summary["dataset"]["train"], 600);
    assert_eq!(summary["dataset"]["test"], 200);
    assert_eq!(summary["format_version"], 2);
    // The two-arm form (`[privacy]`) runs as the arms `baseline` and `private`, in that order.
    let arms = summary["arms"].as_array().unwrap();
    let names: Vec<&str> = arms.iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["baseline", "private"]);
    assert_eq!(arms[0]["scheme"]["scheme"], "none");
    assert_eq!(arms[1]["scheme"]["scheme"], "keyed");
    assert!(arms[1]["scheme"].get("fixed_key").is_none(), "no key material in summary.json: {}", arms[1]);
    for arm in arms {
        let acc = arm["test_accuracy"].as_f64().unwrap();
        assert!(acc > 0.3 && acc <= 1.0, "{} accuracy {acc} should beat chance (0.1) clearly", arm["name"]);
        assert!(arm["train_seconds"].as_f64().unwrap() > 0.0);
        assert!(arm["samples_per_second"].as_f64().unwrap() > 0.0);
    }
    let delta = arms[1]["accuracy_delta"].as_f64().unwrap();
    let want = arms[1]["test_accuracy"].as_f64().unwrap() - arms[0]["test_accuracy"].as_f64().unwrap();
    assert!((delta - want).abs() < 1e-12);
    assert!(arms[0].get("accuracy_delta").is_none(), "the baseline has no delta against itself");
    assert!(summary["crate_versions"]["dfdx"].as_str().unwrap().starts_with("0.13"));

    let metrics = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert!(metrics.starts_with("arm,epoch,step,split,loss,accuracy,samples_per_s,wall_s\n"));
    let tests: Vec<&str> = metrics.lines().filter(|l| l.contains(",test,")).collect();
    assert_eq!(tests.len(), 4, "one test row per arm per epoch: {metrics}");
    // The last test row of each arm is the summary's accuracy.
    let last_private = tests.iter().rev().find(|l| l.starts_with("private")).unwrap();
    let acc: f64 = last_private.split(',').nth(5).unwrap().parse().unwrap();
    assert!((acc - arms[1]["test_accuracy"].as_f64().unwrap()).abs() < 1e-6);

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
    for f in ["provider/private/model.safetensors", "provider/baseline/model.safetensors", "customer/private/key.json"]
    {
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
        // Sweep files are checked by expanding them (every run's config fully checked); their base
        // configs (configs/sweeps/base/) validate like any config.
        if p.starts_with(root.join("configs/sweeps")) && !p.starts_with(root.join("configs/sweeps/base")) {
            ppdl::sweep::load(&p).unwrap_or_else(|e| panic!("{}: {e:#}", p.display()));
            continue;
        }
        if p.extension().is_some_and(|e| e == "toml") {
            let o = ppdl(&["validate", p.to_str().unwrap()], root);
            assert!(o.status.success(), "{}: {}", p.display(), text(&o));
            // Every shipped config attacks the scheme after training.
            assert!(
                text(&o).contains("# attacks that will run after training: all 14:"),
                "{}: {}",
                p.display(),
                text(&o)
            );
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
    let summary = ppdl::results::Summary::load(&a.join("summary.json")).unwrap();
    let recorded = Some(summary.arm("private").unwrap().test_accuracy);
    // Fixed-pattern noise is deterministic, so serving the stored model reproduces the run's accuracy.
    assert_eq!(report["accuracy"].as_f64(), recorded);
    assert_eq!(report["recorded_accuracy"].as_f64(), recorded);
    assert_eq!(report["arm"], "private");
    assert_eq!(report["matches_run"], true);
    assert!(report.get("fresh_noise").is_none(), "no fresh draws without per-sample noise: {report}");
    assert!(report["explanation"].as_str().unwrap().contains("deterministic"), "{report}");
    assert_eq!(report["samples"], 200);
    assert_eq!(report["bytes_to_provider_per_sample"], 784 * 4);
    assert_eq!(report["bytes_to_customer_per_sample"], 20 * 4, "m = 2 codes per class, 10 classes");

    std::fs::copy(b.join("customer/private/key.json"), a.join("customer/private/key.json")).unwrap();
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
        // le and ele (learnable encryption): the block size must divide the image.
        (
            &[("{ kind = \"pixel-permutation\" }", "{ kind = \"le\", block = 5 }")],
            &["bad.toml:15", "privacy.transforms[0].block", "divides the 28x28 image, got 5"],
        ),
        (
            &[("{ kind = \"pixel-permutation\" }", "{ kind = \"ele\", block = 0 }")],
            &["bad.toml:15", "privacy.transforms[0].block", "divides the 28x28 image, got 0"],
        ),
        // neuracrypt: the patch size must divide the image (the paper's 16 does not divide 28).
        (
            &[("{ kind = \"pixel-permutation\" }", "{ kind = \"neuracrypt\", patch = 16 }")],
            &["bad.toml:15", "privacy.transforms[0].patch", "patch size >= 1 that divides the 28x28 image, got 16"],
        ),
        (&[("codes_per_class = 2", "codes_per_class = 0")], &["bad.toml:16", "privacy.codes_per_class", ">= 1"]),
        // Transform parameters are checked by their kind (the registry): names, types, ranges.
        (
            &[("sigma = 0.05", "sigam = 0.05")],
            &["bad.toml:15", "privacy.transforms[1].sigam", "`sigma`, `per_sample`", "(did you mean `sigma`?)"],
        ),
        (&[("sigma = 0.05", "sigma = \"0.05\"")], &["bad.toml:15", "privacy.transforms[1].sigma", "a number"]),
        (&[(", sigma = 0.05", "")], &["bad.toml:15", "privacy.transforms[1]`", "`sigma` for noise"]),
        (
            &[("{ kind = \"pixel-permutation\" }", "{ kind = \"pixel-permutation\", block = 4 }")],
            &["bad.toml:15", "privacy.transforms[0].block", "no parameters for pixel-permutation"],
        ),
        (
            &[("{ kind = \"pixel-permutation\" }", "{ kind = \"fast-mix\", rounds = 17 }")],
            &["bad.toml:15", "privacy.transforms[0].rounds", "from 1 to 16, got 17"],
        ),
        (
            &[("{ kind = \"pixel-permutation\" }", "{ kind = \"block-shuffle\", block = 4, flip = 1 }")],
            &["bad.toml:15", "privacy.transforms[0].flip", "true or false, got 1"],
        ),
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

const NOISY: &str = r#"
name = "noisy"
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
[privacy]
transforms = [{ kind = "pixel-permutation" }, { kind = "noise", sigma = 0.5, per_sample = true }]
codes_per_class = 2
fixed_key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
[attacks]
enabled = []
[output]
figures = false
"#;

/// Per-sample noise: the run encoded its test set with the draws that follow the training set's on the
/// key's stream. infer replays them and reproduces the recorded accuracy exactly, and reports the
/// spread over fresh draws (what a new query gets); a first draw without the replay (what infer did
/// before) is a different encoding, which is why it disagreed with the run.
#[test]
fn infer_replays_per_sample_noise_and_reports_fresh_draws() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write(tmp.path(), "noisy.toml", NOISY);
    let run = tmp.path().join("run");
    let o = ppdl(&["run", cfg.to_str().unwrap(), "--out", run.to_str().unwrap()], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    let o = ppdl(&["infer", run.to_str().unwrap(), "--json"], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let summary = ppdl::results::Summary::load(&run.join("summary.json")).unwrap();
    assert_eq!(report["accuracy"].as_f64(), Some(summary.arm("private").unwrap().test_accuracy), "{report}");
    assert_eq!(report["matches_run"], true);
    let fresh = &report["fresh_noise"];
    let accs: Vec<f64> = fresh["accuracies"].as_array().unwrap().iter().map(|a| a.as_f64().unwrap()).collect();
    assert_eq!(accs.len(), ppdl::infer::FRESH_DRAWS);
    let (min, max) = (fresh["min"].as_f64().unwrap(), fresh["max"].as_f64().unwrap());
    assert!(accs.iter().all(|a| (min..=max).contains(a)), "{fresh}");
    assert!((fresh["mean"].as_f64().unwrap() - accs.iter().sum::<f64>() / accs.len() as f64).abs() < 1e-12);
    assert!(report["explanation"].as_str().unwrap().contains("fresh noise"), "{report}");
    // The human form says both numbers and why.
    let o = ppdl(&["infer", run.to_str().unwrap()], tmp.path());
    let t = text(&o);
    assert!(t.contains("equals the run's recorded") && t.contains("fresh noise, 5 draws"), "{t}");

    // The reason: the test set's first draw on a new customer is not the run's encoding; the replay is.
    let config = ppdl::validate::load_config(&run.join("config.toml")).unwrap();
    let data = config.data.load().unwrap();
    let customer = || {
        ppdl::scheme::Customer::new(
            ppdl::run::make_key(&config.keyed_settings()[0].1, "privacy").unwrap(),
            &config.keyed_settings()[0].1,
            &data.name,
            data.shape,
            data.classes,
        )
    };
    let first_draw = customer().encode_inputs(&data.test.images);
    let replayed = ppdl::run::encode_run_data(&customer(), &data).2;
    let again = ppdl::run::encode_run_data(&customer(), &data).2;
    assert_ne!(first_draw.images(), replayed.images());
    assert_eq!(replayed.images(), again.images(), "the replay is deterministic given the key");
}

/// A copy of the committed version-1 fixture run folder as `dir/name`.
fn fixture_copy(dir: &Path, name: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run-pixel-permutation");
    let dst = dir.join(name);
    std::fs::create_dir_all(&dst).unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
    }
    dst
}

/// Mark a run folder as stopped by the user after `epochs` epochs, renamed `name`.
fn mark_interrupted(run: &Path, name: &str, epochs: usize) {
    let path = run.join("summary.json");
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    v["name"] = name.into();
    v["interrupted"] = true.into();
    for arm in ["baseline", "private"] {
        v[arm]["status"] = "stopped".into();
        v[arm]["epochs_completed"] = epochs.into();
        v[arm]["epoch_seconds"].as_array_mut().unwrap().truncate(epochs);
    }
    std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

#[test]
fn summarize_shows_status_and_epochs_and_takes_a_folder_of_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run-pixel-permutation");
    let o = ppdl(&["summarize", fixture.to_str().unwrap()], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    let table = String::from_utf8_lossy(&o.stdout).to_string();
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("| run | arm | status | epochs |"), "{table}");
    // The fixture's ratio of median epoch times (0.084263382 / 0.079297498), its arms side by side.
    assert!(
        lines[2].starts_with("| fixture | private | finished | 3/3 |")
            && lines[2].ends_with("| 1.063 (side by side) |"),
        "{table}"
    );
    // The dataset as the figures and papers name it, not its config key.
    assert!(lines[2].contains("| Fashion-MNIST (600 train / 500 test subset) |"), "{table}");
    // The intervals' note says n; no "not finished" notes for a finished run.
    assert_eq!(lines.len(), 5, "{table}");
    assert!(lines[4].starts_with("95% intervals: accuracy Wilson over n = 500 test samples"), "{table}");

    let results = tmp.path().join("results");
    fixture_copy(&results, "a-finished");
    mark_interrupted(&fixture_copy(&results, "b-stopped"), "stopped", 2);
    std::fs::create_dir_all(results.join("not-a-run")).unwrap();
    let o = ppdl(&["summarize", "results"], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    let table = String::from_utf8_lossy(&o.stdout).to_string();
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("| fixture") || l.starts_with("| stopped")).collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(rows[0].starts_with("| fixture | private | finished | 3/3 |"), "{table}");
    assert!(rows[1].starts_with("| stopped | private | interrupted 2/3 epochs | 2/3 |"), "{table}");
    assert!(table.contains("- stopped: training interrupted after 2/3 epochs"), "{table}");
    let o = ppdl(&["summarize", "--overhead", "results"], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("| stopped | private | interrupted 2/3 epochs | mlp-256 |"),
        "{}",
        text(&o)
    );

    // A folder with no run in it, or a path that does not exist: exit 2, naming it.
    std::fs::create_dir_all(tmp.path().join("empty/sub")).unwrap();
    for cmd in ["summarize", "plot"] {
        assert_input_error(&ppdl(&[cmd, "empty"], tmp.path()), &["empty", "no run folder inside"]);
        assert_input_error(&ppdl(&[cmd, "nowhere"], tmp.path()), &["nowhere", "not a folder"]);
    }
}

#[test]
fn plot_takes_a_folder_of_runs_and_marks_an_interrupted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let done = fixture_copy(&results, "a-finished");
    let stopped = fixture_copy(&results, "b-stopped");
    mark_interrupted(&stopped, "stopped", 2);
    let o = ppdl(&["plot", "results", "--out", "cross"], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    let report = |dir: &Path| std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(!report(&done).contains("**Status:"), "{}", report(&done));
    assert!(
        report(&stopped)
            .contains("**Status: interrupted 2/3 epochs.** Training interrupted after 2/3 epochs; accuracies are"),
        "{}",
        report(&stopped)
    );
    let md = std::fs::read_to_string(tmp.path().join("cross/tradeoff.md")).unwrap();
    assert!(md.contains("| fixture | finished |") && md.contains("| stopped | interrupted 2/3 epochs |"), "{md}");
    // The figure labels the interrupted point with its status and keys the hollow marker.
    let svg = std::fs::read_to_string(tmp.path().join("cross/tradeoff.svg")).unwrap();
    assert!(
        svg.contains("stopped (interrupted 2/3 epochs)") && svg.contains("run not finished"),
        "tradeoff.svg lacks the status"
    );
}

/// SMALL with `[attacks]` replaced by `attacks` (a TOML body, or "" for no table at all).
fn small_with_attacks(attacks: &str) -> String {
    let off = "[attacks]\n# Off here: these tests check training and the run folder; attacks get runs of their own below.\nenabled = []\n";
    assert!(SMALL.ends_with(off), "SMALL ends with its [attacks] table");
    format!("{}{attacks}", &SMALL[..SMALL.len() - off.len()])
}

fn attacks_json(run: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(run.join("attacks.json")).unwrap()).unwrap()
}

fn record_names(attacks: &serde_json::Value) -> Vec<String> {
    attacks["records"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_string()).collect()
}

const ALL_ATTACKS: [&str; 14] = [
    "key-space",
    "wrong-key",
    "fine-tune",
    "model-theft",
    "known-plaintext",
    "statistical",
    "label-frequency",
    "label-leakage",
    "inversion",
    "jigsaw",
    "split-inversion",
    "split-known-pairs",
    "carlini-instahide",
    "carlini-neuracrypt",
];

#[test]
fn a_config_without_an_attacks_table_runs_every_attack() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write(tmp.path(), "default.toml", &small_with_attacks(""));
    let v = ppdl(&["validate", cfg.to_str().unwrap()], tmp.path());
    assert!(v.status.success(), "{}", text(&v));
    assert!(text(&v).contains(&format!("# attacks that will run after training: all 14: {}", ALL_ATTACKS.join(", "))));
    assert!(text(&v).contains("enabled = [\"all\"]"), "the resolved config shows the default: {}", text(&v));
    let out = tmp.path().join("run");
    let o = ppdl(&["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    let file = attacks_json(&out);
    // Every attack but the jigsaw solver, which applies to block scrambles, and split learning's own
    // attacks; each says so.
    let not_applicable = [
        "model-theft",
        "label-leakage",
        "jigsaw",
        "split-inversion",
        "split-known-pairs",
        "carlini-instahide",
        "carlini-neuracrypt",
    ];
    let keyed: Vec<&str> = ALL_ATTACKS.iter().copied().filter(|a| !not_applicable.contains(a)).collect();
    assert_eq!(record_names(&file), keyed, "failures: {}", file["failures"]);
    let skipped: Vec<&str> =
        file["not_applicable"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(skipped, not_applicable, "{}", file["not_applicable"]);
    assert!(file.get("failures").is_none(), "{}", file["failures"]);
}

#[test]
fn validate_lists_the_attacks_that_will_run() {
    let tmp = tempfile::tempdir().unwrap();
    for (attacks, expected) in [
        ("[attacks]\nenabled = []\n", "none: attacks are off (attacks.enabled = [])"),
        ("[attacks]\nenabled = [\"inversion\", \"key-space\"]\n", "2 of 14: key-space, inversion"),
        ("[attacks]\nenabled = [\"all\"]\n", "all 14: key-space, wrong-key,"),
    ] {
        let cfg = write(tmp.path(), "a.toml", &small_with_attacks(attacks));
        let o = ppdl(&["validate", cfg.to_str().unwrap()], tmp.path());
        assert!(o.status.success(), "{}", text(&o));
        assert!(text(&o).contains(&format!("# attacks that will run after training: {expected}")), "{}", text(&o));
        assert!(!text(&o).contains("warning"), "the embedded data is always there: {}", text(&o));
    }
    // Per protected arm, the selected attacks of its family.
    let o = ppdl(&["validate", "configs/families-quickstart.toml"], Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("#   on `permutation` (keyed): key-space, wrong-key, fine-tune, known-plaintext"), "{t}");
    assert!(
        t.contains(
            "#   on `split-1` (split): wrong-key, model-theft, label-leakage, split-inversion, split-known-pairs"
        ),
        "{t}"
    );
}

#[test]
fn validate_warns_when_the_data_is_missing_and_says_how_to_fetch_it() {
    let tmp = tempfile::tempdir().unwrap();
    let partial = tmp.path().join("partial");
    std::fs::create_dir(&partial).unwrap();
    for f in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte.gz"] {
        std::fs::write(partial.join(f), b"only the names are checked").unwrap();
    }
    let partial_dir = format!("dataset = \"mnist\"\ndir = {:?}", partial.to_str().unwrap());
    let cases: [(&str, &[&str]); 4] = [
        // The default folder, relative to where ppdl runs (as for `ppdl run`).
        ("dataset = \"mnist\"", &["data/mnist not found", "`scripts/fetch-data.sh mnist`"]),
        ("dataset = \"fashion-mnist\"\ndir = \"nowhere/fm\"", &["nowhere/fm", "`scripts/fetch-data.sh fashion`"]),
        ("dataset = \"digits\"", &["data/digits", "`scripts/fetch-data.sh digits`"]),
        (&partial_dir, &["missing t10k-labels-idx1-ubyte", "`scripts/fetch-data.sh mnist`"]),
    ];
    for (data, needles) in cases {
        let cfg = write(tmp.path(), "data.toml", &SMALL.replace("dataset = \"embedded\"", data));
        let o = ppdl(&["validate", cfg.to_str().unwrap()], tmp.path());
        assert_eq!(o.status.code(), Some(0), "a valid config validates even without its data: {}", text(&o));
        let t = text(&o);
        assert!(t.contains("data.toml: valid"), "{t}");
        assert!(t.contains("# warning: the data is missing"), "{t}");
        for n in needles {
            assert!(t.contains(n), "{data}: the warning should mention {n:?}: {t}");
        }
        // `run` still refuses, with exit 2 and nothing written.
        let out = tmp.path().join("r");
        let o = ppdl(&["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()], tmp.path());
        assert_input_error(&o, needles);
        assert!(!out.exists());
    }
}

#[test]
fn near_miss_enum_values_get_a_suggestion_and_nothing_is_written() {
    // (edit of SMALL, line, field, suggestion)
    let cases = [
        (("dataset = \"embedded\"", "dataset = \"fashion\""), 5, "data.dataset", "fashion-mnist"),
        (("dataset = \"embedded\"", "dataset = \"MNIST\""), 5, "data.dataset", "mnist"),
        (("arch = \"mlp-256\"", "arch = \"mlp256\""), 9, "model.arch", "mlp-256"),
        (("epochs = 2", "epochs = 2\noptimizer = \"adma\""), 12, "train.optimizer", "adam"),
        (("epochs = 2", "epochs = 2\nschedule = \"sequental\""), 12, "train.schedule", "sequential"),
        (("epochs = 2", "epochs = 2\ndevice = \"cudaa\""), 12, "train.device", "cuda"),
        (
            ("{ kind = \"pixel-permutation\" }", "{ kind = \"pixel_permutation\" }"),
            15,
            "privacy.transforms[0].kind",
            "pixel-permutation",
        ),
        (("{ kind = \"noise\", sigma", "{ kind = \"nosie\", sigma"), 15, "privacy.transforms[1].kind", "noise"),
        (("enabled = []", "enabled = [\"key-space\", \"inverson\"]"), 22, "attacks.enabled[1]", "inversion"),
    ];
    let tmp = tempfile::tempdir().unwrap();
    for ((from, to), line, field, suggestion) in cases {
        assert!(SMALL.contains(from), "test edit `{from}` does not apply");
        let cfg = write(tmp.path(), "bad.toml", &SMALL.replace(from, to));
        let out = tmp.path().join("r");
        for args in [
            vec!["validate", cfg.to_str().unwrap()],
            vec!["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()],
        ] {
            let o = ppdl(&args, tmp.path());
            let line = format!("bad.toml:{line}:");
            let field = format!("field `{field}`");
            let hint = format!("(did you mean `{suggestion}`?)");
            assert_input_error(&o, &[&line, &field, &hint]);
        }
        assert!(!out.exists(), "{to}: nothing may be written for a bad config");
    }
    // Far from every accepted value: the list of values, no guess.
    let cfg = write(tmp.path(), "bad.toml", &SMALL.replace("dataset = \"embedded\"", "dataset = \"svhn\""));
    let o = ppdl(&["validate", cfg.to_str().unwrap()], tmp.path());
    assert_input_error(&o, &["bad.toml:5:", "field `data.dataset`", "`fashion-mnist`"]);
    assert!(!text(&o).contains("did you mean"), "{}", text(&o));
    // The same hint for `attack --only`, before anything is run or written.
    let run = tmp.path().join("fixture");
    std::fs::create_dir(&run).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run-pixel-permutation");
    for e in std::fs::read_dir(&fixture).unwrap().flatten() {
        std::fs::copy(e.path(), run.join(e.file_name())).unwrap();
    }
    let before = std::fs::read(run.join("attacks.json")).unwrap();
    let o = ppdl(&["attack", run.to_str().unwrap(), "--only", "fine_tune"], tmp.path());
    assert_input_error(&o, &["unknown attack `fine_tune`", "(did you mean `fine-tune`?)"]);
    assert_eq!(std::fs::read(run.join("attacks.json")).unwrap(), before);
}

#[test]
fn a_folder_for_the_embedded_dataset_is_a_config_error() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write(
        tmp.path(),
        "bad.toml",
        &SMALL.replace("dataset = \"embedded\"", "dataset = \"embedded\"\ndir = \"data/x\""),
    );
    let o = ppdl(&["validate", cfg.to_str().unwrap()], tmp.path());
    assert_input_error(&o, &["bad.toml:6:", "field `data.dir`", "built into the program"]);
}

/// Files under `dir` with their modification times.
fn mtimes(dir: &Path) -> std::collections::BTreeMap<PathBuf, std::time::SystemTime> {
    walk(dir).into_iter().map(|p| (p.clone(), std::fs::metadata(&p).unwrap().modified().unwrap())).collect()
}

#[test]
fn attack_only_regenerates_the_figures_and_report_or_says_they_are_stale() {
    let tmp = tempfile::tempdir().unwrap();
    let body =
        small_with_attacks("[attacks]\nenabled = [\"key-space\"]\n").replace("figures = false", "figures = true");
    let cfg = write(tmp.path(), "fig.toml", &body);
    let out = tmp.path().join("run");
    let o = ppdl(&["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    let figures = out.join("figures");
    assert!(figures.join("key-space.png").is_file());
    assert!(!figures.join("attack-wrong-key.png").exists());
    let report_before = std::fs::read_to_string(out.join("report.md")).unwrap();
    let times_before = mtimes(&figures);
    std::thread::sleep(std::time::Duration::from_millis(20));

    let o = ppdl(&["attack", out.to_str().unwrap(), "--only", "wrong-key"], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("== figures and report"), "{}", text(&o));
    let file = attacks_json(&out);
    assert_eq!(record_names(&file), ["key-space", "wrong-key"], "the record is merged into attacks.json");
    // The figure of the new record is drawn and every earlier figure is redrawn (the same path as `ppdl plot`).
    for ext in ["png", "svg"] {
        assert!(figures.join(format!("attack-wrong-key.{ext}")).is_file(), "attack-wrong-key.{ext} not drawn");
    }
    let times_after = mtimes(&figures);
    for (path, before) in &times_before {
        assert!(times_after[path] > *before, "{} not regenerated", path.display());
    }
    // report.md now describes what attacks.json holds, record by record.
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert_ne!(report, report_before);
    for r in file["records"].as_array().unwrap() {
        let title = r["title"].as_str().unwrap();
        let wall = format!("wall time: {:.2} s", r["seconds"].as_f64().unwrap());
        assert!(report.contains(title) && report.contains(&wall), "report.md lacks {title} / {wall}:\n{report}");
    }
    assert!(report.contains("attack-wrong-key.png"), "the report shows the new figure:\n{report}");

    // With figures off for this run, the report is left as it is and the command says it is stale.
    let resolved = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(resolved.contains("figures = true"));
    std::fs::write(out.join("config.toml"), resolved.replace("figures = true", "figures = false")).unwrap();
    let times_before = mtimes(&figures);
    let o = ppdl(&["attack", out.to_str().unwrap(), "--only", "key-space"], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("STALE") && t.contains(&format!("`ppdl plot {}`", out.display())), "{t}");
    assert_eq!(std::fs::read_to_string(out.join("report.md")).unwrap(), report, "report.md is not rewritten");
    assert_eq!(mtimes(&figures), times_before, "figures are not rewritten");

    // An older failure of another attack stays in attacks.json and the table, but is not this call's:
    // `--only key-space` succeeds; re-running the failed attack itself would report it.
    let mut file = attacks_json(&out);
    file["failures"] =
        serde_json::json!([{ "arm": "private", "name": "known-plaintext", "reason": "an older failure" }]);
    std::fs::write(out.join("attacks.json"), serde_json::to_string_pretty(&file).unwrap()).unwrap();
    let o = ppdl(&["attack", out.to_str().unwrap(), "--only", "key-space"], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(attacks_json(&out)["failures"][0]["reason"], "an older failure", "kept in attacks.json");
}

/// SMALL with `[[arms]]`: the baseline, the same keyed arm as SMALL's `[privacy]` (named `private`),
/// then `extra` (any further arms).
fn small_with_arms(extra: &str) -> String {
    let head = SMALL.split("[privacy]").next().unwrap();
    let tail = SMALL.split("[output]").nth(1).unwrap();
    format!(
        r#"{head}
[[arms]]
name = "baseline"
scheme = "none"

[[arms]]
name = "private"
scheme = "keyed"
transforms = [{{ kind = "pixel-permutation" }}, {{ kind = "noise", sigma = 0.05 }}]
codes_per_class = 2
fixed_key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
{extra}
[output]{tail}"#
    )
}

/// Any number of arms in one run: every arm trains on the same seed, initialisation and batch order,
/// so adding arms changes none of the others' numbers, and `[privacy]` runs exactly as the same arms
/// written out as `[[arms]]`.
#[test]
fn arms_as_data_train_side_by_side_with_the_same_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let two = write(tmp.path(), "two.toml", SMALL);
    let four = write(
        tmp.path(),
        "four.toml",
        &small_with_arms(
            r#"
[[arms]]
name = "blocks"
scheme = "keyed"
transforms = [{ kind = "block-shuffle", block = 4, flip = true }]

[[arms]]
name = "fast"
scheme = "keyed"
transforms = [{ kind = "fast-mix" }]
label_permutation = false
"#,
        ),
    );
    let (a, b) = (tmp.path().join("two"), tmp.path().join("four"));
    for (cfg, out) in [(&two, &a), (&four, &b)] {
        let o = ppdl(&["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()], tmp.path());
        assert!(o.status.success(), "{}", text(&o));
    }
    // Loss and accuracy columns (not the timings) of the arms both runs have are identical.
    let rows = |dir: &Path, arm: &str| -> Vec<String> {
        std::fs::read_to_string(dir.join("metrics.csv"))
            .unwrap()
            .lines()
            .filter(|l| l.starts_with(&format!("{arm},")))
            .map(|l| l.split(',').take(6).collect::<Vec<_>>().join(","))
            .collect()
    };
    for arm in ["baseline", "private"] {
        assert!(!rows(&a, arm).is_empty());
        assert_eq!(rows(&a, arm), rows(&b, arm), "{arm} changed when arms were added");
    }
    let s = ppdl::results::Summary::load(&b.join("summary.json")).unwrap();
    let names: Vec<&str> = s.arms.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["baseline", "private", "blocks", "fast"]);
    assert_eq!(s.baseline().unwrap().name, "baseline");
    for arm in s.protected() {
        assert_eq!(arm.epochs_completed, 2, "{}", arm.name);
        assert!(arm.test_accuracy > 0.3, "{}: {}", arm.name, arm.test_accuracy);
        let delta = arm.accuracy_delta.unwrap();
        assert!((delta - (arm.test_accuracy - s.arms[0].test_accuracy)).abs() < 1e-12);
        assert!(b.join("customer").join(&arm.name).join("key.json").is_file(), "{}", arm.name);
        assert!(b.join("provider").join(&arm.name).join("model.safetensors").is_file(), "{}", arm.name);
    }
    assert!(!b.join("customer/baseline").exists(), "the baseline has no key");
    // Each keyed arm has its own fresh key unless it fixes one.
    let prints: Vec<&str> = s.protected().map(|a| a.key_fingerprint.as_deref().unwrap()).collect();
    assert!(prints[0] != prints[1] && prints[1] != prints[2], "{prints:?}");
    assert_eq!(s.arm("fast").unwrap().description, "fast-mix(rounds=3); labels: plain, m=1");
    // overhead.json measures every keyed arm against the baseline.
    let o = ppdl::overhead::OverheadReport::load(&b.join("overhead.json")).unwrap().unwrap();
    assert_eq!(o.arms.iter().map(|a| a.arm.as_str()).collect::<Vec<_>>(), ["private", "blocks", "fast"]);
    // summarize: one row per protected arm; infer needs --arm when there are several keyed arms.
    let t = text(&ppdl(&["summarize", b.to_str().unwrap()], tmp.path()));
    for arm in ["private", "blocks", "fast"] {
        assert!(t.contains(&format!("| small | {arm} |")), "{t}");
    }
    assert_input_error(&ppdl(&["infer", b.to_str().unwrap()], tmp.path()), &["3 keyed arms", "--arm"]);
    assert_input_error(
        &ppdl(&["infer", b.to_str().unwrap(), "--arm", "blokcs"], tmp.path()),
        &["did you mean `blocks`"],
    );
    let o = ppdl(&["infer", b.to_str().unwrap(), "--arm", "blocks", "--json"], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["arm"], "blocks");
    assert_eq!(report["matches_run"], true, "{report}");
    // `attack --arm` attacks that keyed arm alone; an unknown name is an input error with a suggestion.
    assert_input_error(
        &ppdl(&["attack", b.to_str().unwrap(), "--only", "key-space", "--arm", "blokcs"], tmp.path()),
        &["--arm blokcs", "did you mean `blocks`"],
    );
    let o = ppdl(&["attack", b.to_str().unwrap(), "--only", "key-space", "--arm", "blocks"], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    let attacks = ppdl::attacks::load_file(&b.join("attacks.json")).unwrap();
    assert_eq!(attacks.arms(), ["blocks"]);
    assert!(attacks.record("blocks", "key-space").is_some());
}

#[test]
fn bad_arm_lists_are_input_errors_naming_file_line_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let keyed = "\n[[arms]]\nname = \"p\"\nscheme = \"keyed\"\n";
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            small_with_arms("").replace("[data]", "arms = []\n[data]").split("[[arms]]").next().unwrap().to_string()
                + "[output]"
                + SMALL.split("[output]").nth(1).unwrap(),
            vec!["field `arms`", "at least one arm"],
        ),
        (
            small_with_arms("[[arms]]\nname = \"private\"\nscheme = \"none\"\n"),
            vec!["arms[2].name", "unique", "bad1.toml:26:"],
        ),
        (
            small_with_arms("[[arms]]\nname = \"x\"\nscheme = \"keyd\"\n"),
            vec!["unknown scheme `keyd`", "did you mean `keyed`"],
        ),
        (
            small_with_arms("[[arms]]\nname = \"b2\"\nscheme = \"none\"\n"),
            vec!["arms[2].scheme", "exactly one baseline"],
        ),
        (
            small_with_arms(&format!("{keyed}transforms = [{{ kind = \"block-shuffle\", block = 5 }}]\n")),
            vec!["arms[2].transforms[0].block", "divides the 28x28 image"],
        ),
        (small_with_arms(&format!("{keyed}codes_per_class = 0\n")), vec!["arms[2].codes_per_class"]),
        (small_with_arms("[[arms]]\nname = \"a b\"\nscheme = \"keyed\"\n"), vec!["arms[2].name", "letters, digits"]),
        (small_with_arms("[[arms]]\nscheme = \"keyed\"\n"), vec!["missing field `name`"]),
        (
            format!("{SMALL}\n[[arms]]\nname = \"baseline\"\nscheme = \"none\"\n"),
            vec!["either `[privacy]`", "not both"],
        ),
    ];
    for (i, (body, needles)) in cases.iter().enumerate() {
        let cfg = write(tmp.path(), &format!("bad{i}.toml"), body);
        let out = tmp.path().join(format!("out{i}"));
        let o = ppdl(&["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()], tmp.path());
        let mut needles = needles.clone();
        let name = format!("bad{i}.toml");
        needles.push(&name);
        assert_input_error(&o, &needles);
        assert!(!out.exists(), "case {i}: something was written");
    }
}

#[test]
fn bad_instahide_parameters_exit_2_naming_file_line_field_and_range() {
    let tmp = tempfile::tempdir().unwrap();
    let arm = "[[arms]]\nname = \"mix\"\nscheme = \"instahide\"\n";
    let cases: &[(&str, &[&str])] = &[
        ("k = 1", &["arms[2].k", "an integer >= 2", "got 1"]),
        ("k = 4\nupper = 0.25", &["arms[2].upper", "(1/k, 1]", "got 0.25"]),
        ("upper = 1.5", &["arms[2].upper", "(1/k, 1]", "got 1.5"]),
        ("fixed_key = \"abc\"", &["arms[2].fixed_key", "64 hexadecimal digits"]),
        ("kk = 4", &["unknown field `kk`"]),
    ];
    for (i, (fields, needles)) in cases.iter().enumerate() {
        let body = small_with_arms(&format!("{arm}{fields}\n"));
        let name = format!("mix{i}.toml");
        let cfg = write(tmp.path(), &name, &body);
        let out = tmp.path().join(format!("out{i}"));
        let o = ppdl(&["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()], tmp.path());
        // The line of the offending field (the last line of the case's fields).
        let last = fields.lines().last().unwrap();
        let line = body.lines().position(|l| l == last).unwrap() + 1;
        let at = format!("{name}:{line}");
        let mut needles = needles.to_vec();
        if !last.starts_with("kk") {
            needles.push(&at);
        }
        assert_input_error(&o, &needles);
        assert!(!out.exists(), "case {i}: something was written");
    }
}

#[test]
fn a_saved_run_whose_config_names_a_bad_transform_is_refused_before_anything_runs() {
    // A run folder's config.toml rebuilds the scheme for `attack` and `infer`: it is checked like any
    // config, with the transform registry, instead of reaching the scheme with an unknown kind.
    let tmp = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run-pixel-permutation");
    for (from, to, needles) in [
        (
            "kind = \"pixel-permutation\"",
            "kind = \"pixel-permutaton\"",
            &["config.toml:30", "privacy.transforms[0].kind", "(did you mean `pixel-permutation`?)"][..],
        ),
        (
            "kind = \"pixel-permutation\"",
            "kind = \"block-shuffle\"\nblock = 5",
            &["config.toml:31", "privacy.transforms[0].block", "divides the 28x28 image, got 5"][..],
        ),
    ] {
        let run = tmp.path().join("run");
        let _ = std::fs::remove_dir_all(&run);
        std::fs::create_dir(&run).unwrap();
        for e in std::fs::read_dir(&fixture).unwrap().flatten() {
            std::fs::copy(e.path(), run.join(e.file_name())).unwrap();
        }
        let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
        assert!(config.contains(from));
        std::fs::write(run.join("config.toml"), config.replace(from, to)).unwrap();
        let before = std::fs::read(run.join("attacks.json")).unwrap();
        let o = ppdl(&["attack", run.to_str().unwrap(), "--only", "key-space"], tmp.path());
        assert_input_error(&o, needles);
        assert_eq!(std::fs::read(run.join("attacks.json")).unwrap(), before);
    }
}

/// Output into a pipe whose reader has gone (`ppdl validate CONFIG | head -0`) ends the program
/// quietly, as other command-line tools do, with no panic text.
#[cfg(unix)]
#[test]
fn a_closed_output_pipe_ends_quietly_without_a_panic() {
    use std::os::unix::process::ExitStatusExt;
    // The reader is gone before the program starts, so its first line meets a closed pipe.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_ppdl"))
        .args(["validate", "configs/quickstart.toml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{:?} {stderr}", out.status);
}

/// `ppdl bench --device`: an unknown device, and `cuda` in a CPU-only build, are input errors.
#[test]
fn bench_device_is_checked_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let o = ppdl(&["bench", "--device", "tpu", "--no-torch"], tmp.path());
    assert_input_error(&o, &["--device tpu", "expected cpu or cuda"]);
    if !cfg!(feature = "cuda") {
        let o = ppdl(&["bench", "--device", "cuda", "--no-torch"], tmp.path());
        assert_input_error(&o, &["--device cuda", "--features cuda"]);
    }
}

#[test]
fn an_le_arm_trains_a_conv_net_on_twice_the_channels_serves_it_and_records_every_attack() {
    // LE doubles the channels (28x28x1 -> 28x28x2): the model, the provider package, `infer`, the
    // overhead bytes and samples.json take the encoded shape; attacks that need one-to-one features
    // say why they do not apply.
    let tmp = tempfile::tempdir().unwrap();
    let body = small_with_attacks("[attacks]\nenabled = [\"all\"]\n[attacks.known_plaintext]\nn = [50]\n[attacks.inversion]\nn = [50]\nepochs = 2\n[attacks.fine_tune]\nn = [50]\n")
        .replace("arch = \"mlp-256\"", "arch = \"cnn-small\"")
        .replace("[{ kind = \"pixel-permutation\" }, { kind = \"noise\", sigma = 0.05 }]", "[{ kind = \"le\" }]");
    let cfg = write(tmp.path(), "le.toml", &body);
    let run = tmp.path().join("run");
    let o = ppdl(&["run", cfg.to_str().unwrap(), "--out", run.to_str().unwrap()], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    let summary = ppdl::results::Summary::load(&run.join("summary.json")).unwrap();
    let accuracy = summary.arm("private").unwrap().test_accuracy;
    assert!(accuracy > 0.3, "a conv net learns from the halves: {accuracy}");

    let o = ppdl(&["infer", run.to_str().unwrap(), "--json"], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["accuracy"].as_f64(), Some(accuracy), "the served model reproduces the run");
    assert_eq!(report["bytes_to_provider_per_sample"], 2 * 784 * 4, "twice the values cross");

    let overhead: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("overhead.json")).unwrap()).unwrap();
    let bytes = &overhead["arms"][0]["measured"]["bytes"];
    assert_eq!(bytes["input_expansion"], 2.0, "{bytes}");

    let samples = ppdl::results::samples::SamplesFile::load(&run.join("samples/private.json")).unwrap().unwrap();
    let two = ppdl::data::ImageShape { height: 28, width: 28, channels: 2 };
    assert_eq!(samples.encoded_shape, Some(two));
    assert_eq!(samples.encoded[0].len(), 2 * 784);
    assert_eq!(samples.decoded.as_ref().unwrap()[0], samples.raw[0], "the key decodes the samples exactly");

    let file = attacks_json(&run);
    let mut seen = record_names(&file);
    let skipped: Vec<String> =
        file["not_applicable"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_string()).collect();
    for r in file["not_applicable"].as_array().unwrap() {
        let (name, reason) = (r["name"].as_str().unwrap(), r["reason"].as_str().unwrap());
        if name == "statistical" {
            assert!(reason.contains("28x28x1 -> 28x28x2"), "{r}");
        }
        // LE is no puzzle (ELE, which shuffles its blocks, is attacked: src/attacks/jigsaw.rs).
        if name == "jigsaw" {
            assert!(reason.contains("keeps every block in place"), "{r}");
        }
    }
    assert!(skipped.contains(&"statistical".to_string()) && skipped.contains(&"jigsaw".to_string()), "{skipped:?}");
    for ran in ["key-space", "wrong-key", "fine-tune", "known-plaintext", "label-frequency", "inversion"] {
        assert!(seen.contains(&ran.to_string()), "{ran} ran on the LE arm: {seen:?}");
    }
    // Raw images do not fit the 2-channel model: wrong-key and fine-tune say how they fed it.
    for r in file["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| ["wrong-key", "fine-tune"].contains(&r["name"].as_str().unwrap()))
    {
        assert!(r["parameters"]["raw_inputs"].as_str().unwrap().contains("a key of the adversary's own"), "{r}");
    }
    seen.extend(skipped);
    seen.sort();
    let mut all: Vec<String> = ALL_ATTACKS.iter().map(|a| a.to_string()).collect();
    all.sort();
    assert_eq!(seen, all, "every attack has a record or a reason");
}
