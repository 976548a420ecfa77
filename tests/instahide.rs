//! InstaHide end to end: configs/peers-quickstart.toml (embedded data) runs its InstaHide arm beside the
//! others, Carlini et al.'s attack records a verdict on it, every other attack says why it does not
//! apply, and `ppdl attack` replays the attack from the saved key.

mod run_common;

use run_common::{json, ppdl, text};

#[test]
fn the_peers_quickstart_runs_instahide_and_carlini_et_al_attack_it() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let o = ppdl(&[
        "run",
        "configs/peers-quickstart.toml",
        "--out",
        run.to_str().unwrap(),
        "--set",
        "train.epochs=2",
        "--set",
        r#"attacks.enabled=["key-space", "carlini-instahide"]"#,
        "--set",
        "attacks.carlini_instahide.private_images=60",
        // A fixed mixing secret: InstaHide's accuracy on this subset moves by 10 points and more with
        // the secret (README), so a fresh one would make the threshold below a coin toss.
        "--set",
        r#"arms.7.fixed_key="000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f""#,
    ]);
    assert!(o.status.success(), "{}", text(&o));

    let summary = json(&run.join("summary.json"));
    let arms = summary["arms"].as_array().unwrap();
    assert_eq!(arms[7]["name"], "instahide", "the fixed_key override above names arm 7");
    let arm = &arms[7];
    assert_eq!(arm["scheme"]["scheme"], "instahide", "{arm}");
    assert_eq!(arm["scheme"]["k"], 4);
    assert_eq!(arm["status"], "finished");
    // Trained on sign-masked mixes, tested on clean images: far below the baseline (81.5%) after 2
    // epochs but above chance (10 classes; 95% of chance runs stay below 12% on 1,000 test images).
    // Measured with this secret: 30.8%, the same in two runs.
    let accuracy = arm["test_accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.2 && accuracy < 0.6, "InstaHide arm accuracy {accuracy}");
    assert!(arm["key_fingerprint"].is_string(), "{arm}");
    assert!(run.join("customer/instahide/key.json").is_file());

    let attacks = json(&run.join("attacks.json"));
    let records = attacks["records"].as_array().unwrap();
    let carlini = records
        .iter()
        .find(|r| r["arm"] == "instahide" && r["name"] == "carlini-instahide")
        .expect("Carlini et al.'s record on the InstaHide arm");
    assert!(carlini["level"].is_string(), "a verdict: {carlini}");
    assert_eq!(carlini["parameters"]["private_images"], 60);
    assert_eq!(carlini["parameters"]["encodings"], 120, "2 epochs of 60 encodings");
    let figures = carlini["figures"].as_array().unwrap();
    assert!(figures.iter().any(|f| f["metric"].as_str().unwrap().starts_with("literature:") && f["value"] == 0.9));
    // Every other attack says why it does not apply to the InstaHide arm, and the InstaHide attack why
    // it does not apply to the keyed arms.
    let na = attacks["not_applicable"].as_array().unwrap();
    let key_space = na.iter().find(|r| r["arm"] == "instahide" && r["name"] == "key-space").expect("key-space n/a");
    assert!(key_space["reason"].as_str().unwrap().starts_with("InstaHide arm:"), "{key_space}");
    for keyed in ["pixel-permutation", "etc", "pe", "le", "ele", "block-shuffle"] {
        assert!(
            na.iter().any(|r| r["arm"] == keyed && r["name"] == "carlini-instahide"),
            "carlini-instahide not applicable to {keyed}: {na:?}"
        );
    }
    assert!(attacks.get("failures").is_none(), "{}", attacks["failures"]);
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(report.contains("instahide"), "report.md names the arm");

    // The saved key replays the encodings the provider received: the same figures again.
    let o = ppdl(&["attack", run.to_str().unwrap(), "--arm", "instahide", "--only", "carlini-instahide"]);
    assert!(o.status.success(), "{}", text(&o));
    let again = json(&run.join("attacks.json"));
    let replayed = again["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["arm"] == "instahide" && r["name"] == "carlini-instahide")
        .unwrap()
        .clone();
    assert_eq!(replayed["headline"], carlini["headline"]);
    assert_eq!(replayed["figures"], carlini["figures"]);
}
