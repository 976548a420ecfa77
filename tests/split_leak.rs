//! The attacks on what a split arm's provider receives and holds: label leakage from the gradients,
//! model theft around the middle, the middle between random parts (wrong-key), and the keyed
//! family's label-frequency attack recorded as not applicable.

use serde_json::Value;

const CONFIG: &str = r#"
name = "split-leak"
seed = 5
[data]
dataset = "embedded"
train_limit = 1000
test_limit = 400
[model]
arch = "mlp-512-256"
[train]
epochs = 2
batch_size = 50
[[arms]]
name = "baseline"
scheme = "none"
[[arms]]
name = "permutation"
scheme = "keyed"
transforms = [{ kind = "pixel-permutation" }]
[[arms]]
name = "split-1"
scheme = "split"
cut = 1
[attacks]
enabled = ["wrong-key", "model-theft", "label-frequency", "label-leakage"]
[attacks.wrong_key]
keys = 2
[attacks.model_theft]
n = [100]
epochs = 2
min_steps = 20
[output]
figures = false
"#;

fn ppdl(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_ppdl")).args(args).current_dir(dir).output().unwrap();
    (o.status.code(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

fn record<'a>(file: &'a Value, arm: &str, name: &str) -> Option<&'a Value> {
    file["records"].as_array().unwrap().iter().find(|r| r["arm"] == arm && r["name"] == name)
}

fn not_applicable<'a>(file: &'a Value, arm: &str, name: &str) -> Option<&'a str> {
    file["not_applicable"].as_array()?.iter().find(|r| r["arm"] == arm && r["name"] == name)?["reason"].as_str()
}

fn figure(r: &Value, label: &str) -> f64 {
    r["figures"].as_array().unwrap().iter().find(|f| f["metric"] == label).unwrap_or_else(|| panic!("{label}: {r}"))
        ["value"]
        .as_f64()
        .unwrap()
}

#[test]
fn a_split_arm_is_attacked_through_what_its_provider_receives_and_holds() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("c.toml"), CONFIG).unwrap();
    let (code, text) = ppdl(tmp.path(), &["run", "c.toml", "--out", "run"]);
    assert_eq!(code, Some(0), "{text}");
    let path = tmp.path().join("run/attacks.json");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();

    // Label leakage: a real record with a verdict; a tail of one layer reads most labels (well above
    // the most frequent class), UnSplit's figures are there, and the curve has both epochs.
    let leak = record(&file, "split-1", "label-leakage").unwrap_or_else(|| panic!("{file}"));
    assert!(leak["level"].is_string() && leak["rule"].is_object(), "{leak}");
    let (headline, chance) = (leak["headline"]["value"].as_f64().unwrap(), leak["chance"].as_f64().unwrap());
    assert!(chance > 0.05 && chance < 0.2, "{chance}");
    assert!(figure(leak, "direction clustering, best naming (upper bound)") > 0.5, "{leak}");
    assert!(headline > chance, "{leak}");
    figure(leak, "UnSplit label inference, named by frequencies");
    assert_eq!(leak["parameters"]["rows"], 2000, "{leak}");
    assert_eq!(leak["curves"][0]["points"].as_array().unwrap().len(), 2, "{leak}");

    // Model theft: both networks scored at n = 100, the advantage is the headline.
    let theft = record(&file, "split-1", "model-theft").unwrap_or_else(|| panic!("{file}"));
    assert_eq!(theft["parameters"]["n"], serde_json::json!([100]), "{theft}");
    let stolen = figure(theft, "stolen middle at n=100");
    let scratch = figure(theft, "from scratch at n=100");
    assert!((theft["headline"]["value"].as_f64().unwrap() - (stolen - scratch)).abs() < 1e-9, "{theft}");
    assert!(theft["level"].is_string(), "{theft}");

    // Wrong key on a split arm: the middle between random parts, against the customer's own parts.
    let wrong = record(&file, "split-1", "wrong-key").unwrap_or_else(|| panic!("{file}"));
    assert_eq!(wrong["baseline_label"], "accuracy with the customer's head and tail", "{wrong}");
    assert!(wrong["baseline"].as_f64().unwrap() > 0.5, "{wrong}");
    assert!(record(&file, "permutation", "wrong-key").is_some());

    // Not applicable, saying why: label frequency on the split arm, the split attacks on the keyed one.
    let why = not_applicable(&file, "split-1", "label-frequency").unwrap_or_else(|| panic!("{file}"));
    assert!(why.contains("sees no labels"), "{why}");
    for name in ["label-leakage", "model-theft"] {
        assert!(not_applicable(&file, "permutation", name).is_some(), "{name}: {file}");
    }

    // A run folder from before the sample was kept: the attack is skipped, saying why.
    std::fs::remove_file(tmp.path().join("run/provider/split-1/received-gradients.safetensors")).unwrap();
    let (code, text) = ppdl(tmp.path(), &["attack", "run", "--only", "label-leakage", "--arm", "split-1"]);
    assert!(code.is_some() && !text.contains("panicked"), "{text}");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let failure = file["failures"].as_array().unwrap().iter().find(|f| f["arm"] == "split-1").expect("a failure");
    let reason = failure["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("skipped: it needs the sample of gradients") && reason.contains("received-gradients"),
        "{reason}"
    );
}

#[test]
fn bad_label_leakage_parameters_exit_2_naming_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    for (table, field) in [
        ("[attacks.label_leakage]\niterations = 0\n", "attacks.label_leakage.iterations"),
        ("[attacks.label_leakage]\nclone_learning_rate = -1.0\n", "attacks.label_leakage.clone_learning_rate"),
        ("", "attacks.model_theft.n"),
    ] {
        let config = if table.is_empty() {
            CONFIG.replace("n = [100]", "n = []")
        } else {
            CONFIG.replace("[output]", &format!("{table}[output]"))
        };
        std::fs::write(tmp.path().join("c.toml"), config).unwrap();
        let (code, text) = ppdl(tmp.path(), &["validate", "c.toml"]);
        assert_eq!(code, Some(2), "{text}");
        assert!(text.contains(field) && !text.contains("panicked"), "{field}: {text}");
    }
}
