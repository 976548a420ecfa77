//! Two parties, two processes: `ppdl customer keygen | encode | decode` and `ppdl provider train |
//! predict` as separate processes give exactly an in-process run's decoded accuracy; the provider
//! commands open nothing but what they are given (strace) and their outputs hold no secret; bad inputs
//! exit 2 naming the file and what was expected.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ppdl::data::npz::{self, Array};

const FIXED_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const SEED: &str = "7";
const EPOCHS: &str = "2";

fn ppdl_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ppdl")).current_dir(cwd).args(args).output().expect("run ppdl")
}

fn ok(o: Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what} failed ({}): {}{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Exit 2 with every needle in stderr and no panic text.
fn refused(o: Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "expected exit 2, got {}: {err}", o.status);
    assert!(!err.contains("panicked"), "panic text: {err}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}: {err}");
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The quickstart's data and model with a fixed key, small limits and the two draws that depend on the
/// order of encoding (per-sample noise, label splitting), attacks and figures off.
fn config(root: &Path) -> PathBuf {
    let path = root.join("parties.toml");
    let text = format!(
        "name = \"parties\"\nseed = {SEED}\n[data]\ndataset = \"embedded\"\ntrain_limit = 2000\ntest_limit = 500\n\
         [model]\narch = \"mlp-256\"\n[train]\nepochs = {EPOCHS}\nbatch_size = 64\nlearning_rate = 0.001\n\
         [privacy]\ntransforms = [{{ kind = \"pixel-permutation\" }}, {{ kind = \"noise\", sigma = 0.05, per_sample = true }}]\n\
         codes_per_class = 2\nfixed_key = \"{FIXED_KEY}\"\n[attacks]\nenabled = []\n[output]\nfigures = false\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// The customer's side in `root/customer`: key.json and the package folder `pkg`.
fn customer_package(root: &Path, format: &str) -> (PathBuf, PathBuf) {
    let cfg = config(root);
    let dir = root.join("customer");
    std::fs::create_dir_all(&dir).unwrap();
    let (key, pkg) = (dir.join("key.json"), dir.join("pkg"));
    ok(ppdl_in(root, &["customer", "keygen", s(&cfg), "--out", s(&key)]), "customer keygen");
    ok(ppdl_in(root, &["customer", "encode", s(&key), "--out", s(&pkg), "--format", format]), "customer encode");
    (key, pkg)
}

fn provider_train_args<'a>(pkg: &'a str, model: &'a str) -> Vec<&'a str> {
    vec![
        "provider",
        "train",
        pkg,
        "--arch",
        "mlp-256",
        "--epochs",
        EPOCHS,
        "--batch-size",
        "64",
        "--learning-rate",
        "0.001",
        "--seed",
        SEED,
        "--out",
        model,
    ]
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn four_commands_as_separate_processes_match_an_in_process_run() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let cfg = config(root);
    let run = root.join("run");
    ok(ppdl_in(root, &["run", s(&cfg), "--out", s(&run)]), "ppdl run");
    let summary = json(&run.join("summary.json"));
    let private = summary["arms"].as_array().unwrap().iter().find(|a| a["name"] == "private").unwrap().clone();

    let (key, pkg) = customer_package(root, "npz");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // The config's fixed key: the run's fingerprint.
    let key_json = json(&key);
    assert_eq!(key_json["fingerprint"], private["key_fingerprint"]);
    // The package holds exactly what the run's provider received.
    let manifest = json(&pkg.join("manifest.json"));
    let run_digests = json(&run.join("provider/private/encoded-data.json"));
    for field in ["train_inputs_sha256", "train_codes_sha256", "test_inputs_sha256"] {
        assert_eq!(manifest["digests"][field], run_digests[field], "{field}");
    }
    assert_eq!(manifest["outputs"], 20);

    let model = root.join("provider/model");
    ok(ppdl_in(root, &provider_train_args(s(&pkg), s(&model))), "provider train");
    let scores = root.join("provider/scores.npz");
    ok(ppdl_in(root, &["provider", "predict", s(&model), s(&pkg.join("test.npz")), "--out", s(&scores)]), "predict");
    let out = ok(ppdl_in(root, &["customer", "decode", s(&key), s(&scores), "--json"]), "customer decode");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["samples"], 500);
    let decoded = report["accuracy"].as_f64().unwrap();
    let recorded = private["test_accuracy"].as_f64().unwrap();
    assert_eq!(decoded, recorded, "two processes: {decoded}, in-process run: {recorded}");
    assert!(decoded > 0.5, "a trained model decodes well above chance: {decoded}");

    // The same with the true labels from a file, writing the predictions; and without labels.
    let test = ppdl::data::embedded::load().unwrap().test.truncated(500);
    let labels = root.join("labels.npz");
    let y = Array::from_i64(vec![500], &test.labels.iter().map(|&l| i64::from(l)).collect::<Vec<_>>());
    std::fs::write(&labels, npz::write_npz(&[("y_test", &y)]).unwrap()).unwrap();
    let pred = root.join("pred.npz");
    let args = ["customer", "decode", s(&key), s(&scores), "--labels", s(&labels), "--out", s(&pred), "--json"];
    let with_file: serde_json::Value = serde_json::from_str(&ok(ppdl_in(root, &args), "decode --labels")).unwrap();
    assert_eq!(with_file["accuracy"].as_f64(), Some(recorded));
    let arrays = npz::read_npz(&pred).unwrap();
    let y_pred = &arrays.iter().find(|(n, _)| n == "y_pred").unwrap().1;
    let hits = (0..500).filter(|&i| y_pred.get_f64(i) as u8 == test.labels[i]).count();
    assert_eq!(hits as f64 / 500.0, recorded, "y_pred holds the decoded classes");
    let args = ["customer", "decode", s(&key), s(&scores), "--no-labels", "--json"];
    let unlabelled: serde_json::Value = serde_json::from_str(&ok(ppdl_in(root, &args), "decode --no-labels")).unwrap();
    assert!(unlabelled["accuracy"].is_null());

    // A second key file is not written over without --force.
    refused(ppdl_in(root, &["customer", "keygen", s(&cfg), "--out", s(&key)]), &[s(&key), "--force"]);
    ok(ppdl_in(root, &["customer", "keygen", s(&cfg), "--out", s(&key), "--force"]), "keygen --force");
}

/// The provider's view of the file system: every path it opened (strace), resolved against `cwd`.
fn opened_paths(log: &Path, cwd: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(log).unwrap();
    text.lines()
        .filter(|l| l.contains("open"))
        .filter_map(|l| {
            let start = l.find('"')? + 1;
            let end = start + l[start..].find('"')?;
            let p = PathBuf::from(&l[start..end]);
            Some(if p.is_relative() { cwd.join(p) } else { p })
        })
        .collect()
}

fn strace_available() -> bool {
    Command::new("strace").arg("-V").output().map(|o| o.status.success()).unwrap_or(false)
}

/// Every file's bytes under `path` (a file or a folder).
fn all_bytes(path: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    if path.is_file() {
        return vec![(path.to_path_buf(), std::fs::read(path).unwrap())];
    }
    std::fs::read_dir(path).unwrap().flat_map(|e| all_bytes(&e.unwrap().path())).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn provider_commands_open_only_what_they_are_given_and_write_no_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (key, pkg) = customer_package(root, "safetensors");
    let provider = root.join("provider");
    std::fs::create_dir_all(&provider).unwrap();
    let (model, scores) = (provider.join("model"), provider.join("scores.safetensors"));
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_ppdl"));

    let traced = strace_available();
    if !traced {
        println!("skipped the strace check: strace is not installed (.ci/run installs it)");
    }
    let run = |args: Vec<&str>, log: &Path| -> Output {
        if traced {
            let mut all = vec!["-f", "-e", "trace=open,openat,openat2", "-o", s(log), s(&exe)];
            all.extend(args);
            // `cargo test` puts its target folder on LD_LIBRARY_PATH, where the dynamic loader would then
            // look for libc first: run the binary as a user would.
            Command::new("strace").current_dir(&provider).env_remove("LD_LIBRARY_PATH").args(all).output().unwrap()
        } else {
            Command::new(&exe).current_dir(&provider).args(args).output().unwrap()
        }
    };
    let (train_log, predict_log) = (root.join("train.strace"), root.join("predict.strace"));
    let o = run(provider_train_args(s(&pkg), s(&model)), &train_log);
    if traced && !o.status.success() && String::from_utf8_lossy(&o.stderr).contains("ptrace") {
        println!("skipped the strace check: strace cannot trace here: {}", String::from_utf8_lossy(&o.stderr));
        return;
    }
    ok(o, "provider train");
    ok(run(vec!["provider", "predict", s(&model), s(&pkg), "--out", s(&scores)], &predict_log), "provider predict");

    if traced {
        let system = ["/proc/", "/sys/", "/dev/", "/etc/ld.so", "/lib", "/usr/lib"];
        let given = [&pkg, &model, &scores, &exe];
        for (log, what) in [(&train_log, "provider train"), (&predict_log, "provider predict")] {
            let paths = opened_paths(log, &provider);
            assert!(paths.iter().any(|p| p.starts_with(&pkg)), "{what}: the trace shows no package file: {paths:?}");
            for p in paths {
                let scores_tmp = p.parent() == scores.parent()
                    && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(".scores.safetensors."));
                let inside = given.iter().any(|g| p.starts_with(g))
                    || scores_tmp
                    || system.iter().any(|prefix| p.to_string_lossy().starts_with(prefix));
                assert!(
                    inside,
                    "{what} opened {} (outside the package, the model, the output and system files)",
                    p.display()
                );
            }
        }
    }

    // Nothing the provider holds or writes carries the key: not its path, not its secret.
    let secret = json(&key)["secret"].as_str().unwrap().to_string();
    let secret_bytes = hex_decode(&secret);
    let key_path = key.to_string_lossy().into_owned();
    let mut outputs = all_bytes(&pkg);
    outputs.extend(all_bytes(&provider));
    for log in [&train_log, &predict_log].into_iter().filter(|l| l.exists()) {
        outputs.extend(all_bytes(log));
    }
    assert!(outputs.len() >= 6, "package, model and scores: {:?}", outputs.iter().map(|o| &o.0).collect::<Vec<_>>());
    for (path, bytes) in &outputs {
        for (needle, what) in [
            (key_path.as_bytes(), "the key file's path"),
            (secret.as_bytes(), "the secret (hex)"),
            (&secret_bytes[..], "the secret"),
        ] {
            assert!(!contains(bytes, needle), "{} holds {what}", path.display());
        }
    }
}

fn hex_decode(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn bad_inputs_exit_2_naming_the_file_and_what_was_expected() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (key, pkg) = customer_package(root, "npz");
    let model = root.join("model");

    // A key file where the package belongs (the provider takes no key).
    refused(ppdl_in(root, &provider_train_args(s(&key), s(&model))), &[s(&key), "is a file", "provider package"]);
    assert!(!model.exists(), "nothing written");
    // A folder without a manifest.
    let empty = root.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    refused(ppdl_in(root, &provider_train_args(s(&empty), s(&model))), &["manifest.json", "ppdl customer encode"]);

    // A tampered digest in the manifest.
    let tampered = root.join("tampered");
    copy_dir(&pkg, &tampered);
    let manifest_path = tampered.join("manifest.json");
    let text = std::fs::read_to_string(&manifest_path).unwrap();
    let digest = json(&manifest_path)["digests"]["train_inputs_sha256"].as_str().unwrap().to_string();
    std::fs::write(&manifest_path, text.replace(&digest, &"0".repeat(64))).unwrap();
    refused(
        ppdl_in(root, &provider_train_args(s(&tampered), s(&model))),
        &[s(&manifest_path), "digests.train_inputs_sha256", "train.npz"],
    );

    // A missing array: train.npz without y_train.
    let missing = root.join("missing");
    copy_dir(&pkg, &missing);
    let train = missing.join("train.npz");
    let mut arrays = npz::read_npz(&train).unwrap();
    arrays.retain(|(n, _)| n != "y_train");
    let refs: Vec<(&str, &Array)> = arrays.iter().map(|(n, a)| (n.as_str(), a)).collect();
    std::fs::write(&train, npz::write_npz(&refs).unwrap()).unwrap();
    refused(ppdl_in(root, &provider_train_args(s(&missing), s(&model))), &[s(&train), "no array `y_train`"]);
    // A missing file: the package's test inputs, for predict.
    ok(ppdl_in(root, &provider_train_args(s(&pkg), s(&model))), "provider train");
    std::fs::remove_file(missing.join("test.npz")).unwrap();
    let scores = root.join("scores.npz");
    refused(ppdl_in(root, &["provider", "predict", s(&model), s(&missing), "--out", s(&scores)]), &["test.npz"]);
    assert!(!scores.exists(), "nothing written");
    // A package given where the model folder belongs.
    refused(
        ppdl_in(root, &["provider", "predict", s(&pkg), s(&pkg), "--out", s(&scores)]),
        &["model.json", "ppdl provider train"],
    );
    // Scores with the wrong number of outputs for the key.
    let wrong = root.join("wrong.npz");
    let a = Array::from_f32(vec![2, 3], &[0.0; 6]);
    std::fs::write(&wrong, npz::write_npz(&[("scores", &a)]).unwrap()).unwrap();
    refused(ppdl_in(root, &["customer", "decode", s(&key), s(&wrong)]), &[s(&wrong), "float32 (N, 20)"]);
    // A run's key file names no config: the customer commands say how to make one.
    let run_key = root.join("run-key.json");
    let mut run_key_json = json(&key);
    let obj = run_key_json.as_object_mut().unwrap();
    obj.remove("config");
    obj.remove("arm");
    write_private(&run_key, &serde_json::to_string(&run_key_json).unwrap());
    refused(
        ppdl_in(root, &["customer", "encode", s(&run_key), "--out", s(&root.join("pkg2"))]),
        &[s(&run_key), "ppdl customer keygen"],
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

#[test]
fn an_le_package_carries_twice_the_channels_and_the_provider_trains_and_serves_on_them() {
    // LE turns each 28x28x1 image into 28x28x2 (4-bit halves): the package's manifest says so, the
    // provider's model takes that shape, and the customer decodes its scores.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let cfg = config(root);
    let text = std::fs::read_to_string(&cfg).unwrap();
    let le = "transforms = [{ kind = \"le\" }]";
    let text = text.lines().map(|l| if l.starts_with("transforms = ") { le } else { l }).collect::<Vec<_>>().join("\n");
    std::fs::write(&cfg, text).unwrap();
    let dir = root.join("customer");
    std::fs::create_dir_all(&dir).unwrap();
    let (key, pkg) = (dir.join("key.json"), dir.join("pkg"));
    ok(ppdl_in(root, &["customer", "keygen", s(&cfg), "--out", s(&key)]), "customer keygen");
    ok(ppdl_in(root, &["customer", "encode", s(&key), "--out", s(&pkg)]), "customer encode");
    let manifest = json(&pkg.join("manifest.json"));
    assert_eq!(manifest["shape"], serde_json::json!({"height": 28, "width": 28, "channels": 2}), "{manifest}");
    let model = root.join("provider/model");
    ok(ppdl_in(root, &provider_train_args(s(&pkg), s(&model))), "provider train");
    assert_eq!(json(&model.join("model.json"))["shape"]["channels"], 2);
    let test_file = std::fs::read_dir(&pkg)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with("test"));
    let scores = root.join("provider/scores.npz");
    ok(ppdl_in(root, &["provider", "predict", s(&model), s(&test_file.unwrap()), "--out", s(&scores)]), "predict");
    let out = ok(ppdl_in(root, &["customer", "decode", s(&key), s(&scores), "--json"]), "customer decode");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(report["accuracy"].as_f64().unwrap() > 0.5, "{report}");
}
