//! Bring your own data: the embedded Fashion-MNIST subset written out as an image folder (PNG) and as
//! an `.npz`, each run end to end through `ppdl run`; `ppdl export` of both views read back; bad files
//! refused with exit 2 naming the file and the place.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ppdl::data::npz::{self, Array};
use sha2::{Digest, Sha256};

const TRAIN: usize = 2000;
const TEST: usize = 500;
const CLASSES: [&str; 10] =
    ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"];

fn ppdl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ppdl")).args(args).output().expect("run ppdl")
}

fn real_data() -> ppdl::data::Dataset {
    let d = ppdl::data::embedded::load().unwrap();
    ppdl::data::Dataset { train: d.train.truncated(TRAIN), test: d.test.truncated(TEST), ..d }
}

fn pixels(split: &ppdl::data::Split, i: usize) -> Vec<u8> {
    split.image(i).iter().map(|&v| (v * 255.0).round() as u8).collect()
}

fn write_png(path: &Path, px: &[u8]) {
    let file = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), 28, 28);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header().unwrap().write_image_data(px).unwrap();
}

fn image_folder(root: &Path) -> PathBuf {
    let d = real_data();
    let dir = root.join("fashion-png");
    for (split, data) in [("train", &d.train), ("test", &d.test)] {
        for (i, &label) in data.labels.iter().enumerate() {
            let class = dir.join(split).join(CLASSES[label as usize]);
            std::fs::create_dir_all(&class).unwrap();
            write_png(&class.join(format!("{i:05}.png")), &pixels(data, i));
        }
    }
    dir
}

/// uint8 images in NCHW (N, 1, 28, 28) and int64 labels, as `np.savez` would hold them.
fn npz_file(root: &Path) -> PathBuf {
    let d = real_data();
    let x = |s: &ppdl::data::Split| {
        Array::from_u8(vec![s.len(), 1, 28, 28], &(0..s.len()).flat_map(|i| pixels(s, i)).collect::<Vec<_>>())
    };
    let y = |s: &ppdl::data::Split| {
        Array::from_i64(vec![s.len()], &s.labels.iter().map(|&l| i64::from(l)).collect::<Vec<_>>())
    };
    let (xt, yt, xs, ys) = (x(&d.train), y(&d.train), x(&d.test), y(&d.test));
    let bytes = npz::write_npz(&[("x_train", &xt), ("y_train", &yt), ("x_test", &xs), ("y_test", &ys)]).unwrap();
    let path = root.join("fashion.npz");
    std::fs::write(&path, bytes).unwrap();
    path
}

fn config(root: &Path, data: &str) -> PathBuf {
    let path = root.join("config.toml");
    let text = format!(
        "name = \"own\"\n[data]\n{data}\n[train]\nepochs = 1\n[privacy]\ntransforms = [{{ kind = \"pixel-permutation\" }}]\n\
         [attacks]\nenabled = []\n[output]\nfigures = false\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the config and returns the run folder and its summary.json.
fn run(root: &Path, cfg: &Path) -> (PathBuf, serde_json::Value) {
    let out = root.join("run");
    let o = ppdl(&["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "ppdl run failed: {}", String::from_utf8_lossy(&o.stderr));
    let summary = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    (out, summary)
}

fn check_learned(summary: &serde_json::Value, name: &str) {
    assert_eq!(summary["dataset"]["name"], name);
    assert_eq!(summary["dataset"]["train"], TRAIN);
    assert_eq!(summary["dataset"]["test"], TEST);
    for arm in summary["arms"].as_array().unwrap() {
        let acc = arm["test_accuracy"].as_f64().unwrap();
        assert!(acc > 0.6, "arm {} reached only {acc} (chance is 0.1)", arm["name"]);
    }
}

#[test]
fn an_image_folder_of_real_pngs_trains_well_above_chance() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = image_folder(tmp.path());
    let cfg = config(tmp.path(), &format!("dataset = \"image-folder\"\ndir = {:?}", dir));
    let (_, summary) = run(tmp.path(), &cfg);
    check_learned(&summary, "fashion-png");
    let sorted: Vec<&str> =
        summary["dataset"]["class_names"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let mut want = CLASSES.to_vec();
    want.sort();
    assert_eq!(sorted, want);
}

#[test]
fn an_npz_of_real_data_trains_and_exports_both_views() {
    let tmp = tempfile::tempdir().unwrap();
    let file = npz_file(tmp.path());
    let names = CLASSES.map(|c| format!("{c:?}")).join(", ");
    let cfg = config(
        tmp.path(),
        &format!(
            "dataset = \"npz\"\ndir = {:?}\nname = \"fashion-arrays\"\nlayout = \"nchw\"\nclasses = [{names}]",
            file
        ),
    );
    let (run_dir, summary) = run(tmp.path(), &cfg);
    check_learned(&summary, "fashion-arrays");

    // Provider view: the encoded arrays, matching the run's digests, with no key material.
    let provider = tmp.path().join("provider.npz");
    let o =
        ppdl(&["export", run_dir.to_str().unwrap(), "--what", "provider-view", "--out", provider.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("matches the provider's digests"));
    let bytes = std::fs::read(&provider).unwrap();
    let arrays = npz::parse_npz(&bytes, &provider).unwrap();
    let names: Vec<&str> = arrays.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["x_train", "y_train", "x_test"]);
    assert_eq!(arrays[0].1.shape, [TRAIN, 28, 28, 1]);
    let digests: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("provider/private/encoded-data.json")).unwrap())
            .unwrap();
    let sha = |a: &Array| hex::encode(Sha256::digest(&a.data));
    assert_eq!(sha(&arrays[0].1), digests["train_inputs_sha256"].as_str().unwrap());
    assert_eq!(sha(&arrays[2].1), digests["test_inputs_sha256"].as_str().unwrap());
    let codes: Vec<u8> = (0..TRAIN).flat_map(|i| (arrays[1].1.get_f64(i) as u16).to_le_bytes()).collect();
    assert_eq!(hex::encode(Sha256::digest(&codes)), digests["train_codes_sha256"].as_str().unwrap());
    let key: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("customer/private/key.json")).unwrap()).unwrap();
    let secret = key["secret"].as_str().unwrap();
    let raw_secret = hex::decode(secret).unwrap();
    assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "the key's hex is in the provider view");
    assert!(!bytes.windows(raw_secret.len()).any(|w| w == raw_secret.as_slice()), "the key's bytes are in it");

    // Customer view: raw inputs and true labels, the pairs of the provider view.
    let customer = tmp.path().join("customer.safetensors");
    let o = ppdl(&[
        "export",
        run_dir.to_str().unwrap(),
        "--what",
        "customer-view",
        "--format",
        "safetensors",
        "--out",
        customer.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let st = std::fs::read(&customer).unwrap();
    let n = u64::from_le_bytes(st[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&st[8..8 + n]).unwrap();
    assert_eq!(header["y_test"]["dtype"], "I64");
    assert_eq!(header["x_train"]["shape"], serde_json::json!([TRAIN, 28, 28, 1]));
    let [a, b] = [0, 1].map(|i| header["y_train"]["data_offsets"][i].as_u64().unwrap() as usize);
    let labels: Vec<i64> =
        st[8 + n + a..8 + n + b].chunks(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(labels, real_data().train.labels.iter().map(|&l| i64::from(l)).collect::<Vec<_>>());
}

fn assert_refused(o: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_image_folders_and_npz_files_are_refused_naming_file_and_place() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("imgs");
    for class in ["a", "b"] {
        std::fs::create_dir_all(dir.join("train").join(class)).unwrap();
        std::fs::create_dir_all(dir.join("test").join(class)).unwrap();
        write_png(&dir.join("train").join(class).join("0.png"), &[0; 784]);
        write_png(&dir.join("test").join(class).join("0.png"), &[0; 784]);
    }
    std::fs::write(dir.join("train/b/1.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let cfg = config(tmp.path(), &format!("dataset = \"image-folder\"\ndir = {:?}", dir));
    let out = tmp.path().join("never");
    assert_refused(&ppdl(&["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()]), &["train/b/1.png", "PNG"]);
    assert!(!out.exists(), "nothing is written");

    std::fs::write(dir.join("train/b/1.png"), b"").unwrap();
    std::fs::remove_file(dir.join("train/b/1.png")).unwrap();
    std::fs::create_dir_all(dir.join("test/c")).unwrap();
    assert_refused(&ppdl(&["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()]), &["test/c", "classes"]);

    let file = npz_file(tmp.path());
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() - 30]).unwrap();
    let cfg = config(tmp.path(), &format!("dataset = \"npz\"\ndir = {:?}", file));
    assert_refused(&ppdl(&["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()]), &["fashion.npz", "at byte"]);

    let y = Array::from_f32(vec![1], &[0.0]);
    let x = Array::from_u8(vec![1, 28, 28], &[0; 784]);
    std::fs::write(&file, npz::write_npz(&[("x_train", &x), ("y_train", &y), ("x_test", &x), ("y_test", &y)]).unwrap())
        .unwrap();
    assert_refused(
        &ppdl(&["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()]),
        &["fashion.npz", "entry y_train.npy", "integer class labels"],
    );
}

/// `ppdl export --what provider-view` on the committed format-1 run folder: it re-encodes from the key
/// file at the format-1 place (`customer/key.json`; the fixture keeps no key file, so the test writes the
/// one its run had, from the config's fixed key) and gives what that run's provider received: the
/// encoded test rows equal the encoded samples the run stored in `samples.json`.
#[test]
fn provider_view_of_a_format_1_run_folder_is_re_encoded_from_its_key_file() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run-pixel-permutation");
    let run = tmp.path().join("v1");
    std::fs::create_dir_all(run.join("customer")).unwrap();
    for e in std::fs::read_dir(&fixture).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), run.join(e.file_name())).unwrap();
    }
    let config = ppdl::validate::load_config(&run.join("config.toml")).unwrap();
    let privacy = config.arms()[1].scheme.keyed().unwrap().clone();
    let data = config.data.load().unwrap();
    let key = ppdl::scheme::SecretKey::from_hex(privacy.fixed_key.as_deref().unwrap()).unwrap();
    let customer = ppdl::scheme::Customer::new(key, &privacy, &data.name, data.shape, data.classes);
    let summary = read_json(&run.join("summary.json"));
    assert_eq!(summary["key_fingerprint"].as_str(), Some(customer.fingerprint().as_str()), "the run's key");
    customer.key_file().save(&run.join("customer/key.json")).unwrap();

    let out = tmp.path().join("provider.npz");
    let o = ppdl(&["export", run.to_str().unwrap(), "--what", "provider-view", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("(arm `private`)"));
    let arrays = npz::read_npz(&out).unwrap();
    let get = |name: &str| arrays.iter().find(|(n, _)| n == name).map(|(_, a)| a.clone()).unwrap();
    let (x_train, y_train, x_test) = (get("x_train"), get("y_train"), get("x_test"));
    assert_eq!(x_train.shape, [600, 28, 28, 1]);
    assert_eq!(x_test.shape, [500, 28, 28, 1]);
    assert_eq!(y_train.shape, [600]);
    let samples = read_json(&run.join("samples.json"));
    let indices = samples["indices"].as_array().unwrap();
    assert!(!indices.is_empty());
    for (row, index) in samples["encoded"].as_array().unwrap().iter().zip(indices) {
        let i = index.as_u64().unwrap() as usize;
        let stored: Vec<f32> = row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
        let exported: Vec<f32> = (0..784).map(|j| x_test.get_f64(i * 784 + j) as f32).collect();
        // samples.json keeps 4 decimals.
        let worst = exported.iter().zip(&stored).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(worst <= 0.5e-4 + 1e-6, "encoded test sample {i}: off by {worst} from the run's samples.json");
    }
    // A secret label permutation: one code per class, different classes different codes.
    let mut code_of = std::collections::HashMap::new();
    for (i, &label) in data.train.labels.iter().enumerate() {
        let code = y_train.get_f64(i) as i64;
        assert_eq!(*code_of.entry(label).or_insert(code), code, "class {label}");
    }
    let codes: std::collections::HashSet<i64> = code_of.values().copied().collect();
    assert_eq!(codes.len(), code_of.len());
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}
