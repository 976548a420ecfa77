//! `ppdl run` ends with the figures and the report (output.figures = true), and keeps a samples.json
//! from which the sample panel can be redrawn.

use std::path::Path;
use std::process::Command;

const CONFIG: &str = r#"
name = "plotted"
seed = 3
[data]
dataset = "embedded"
train_limit = 300
test_limit = 100
[model]
arch = "mlp-256"
[train]
epochs = 2
batch_size = 50
log_every = 2
[privacy]
transforms = [{ kind = "pixel-permutation" }]
fixed_key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
[output]
figures = true
[attacks]
# Off: this test counts the training figures exactly (attack figures are tested in tests/cli.rs).
enabled = []
"#;

/// `ppdl run` on `config` (written into `dir`) into `dir/run`, which must succeed; the run folder and
/// the printed output.
fn run_config(dir: &Path, config: &str) -> (std::path::PathBuf, String) {
    let cfg = dir.join("c.toml");
    std::fs::write(&cfg, config).unwrap();
    let out = dir.join("run");
    let o = Command::new(env!("CARGO_BIN_EXE_ppdl"))
        .args(["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "{text}");
    (out, text)
}

#[test]
fn run_writes_samples_figures_and_report() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, text) = run_config(tmp.path(), CONFIG);
    assert!(text.contains("== figures and report"), "{text}");
    assert!(!text.contains("figures failed"), "{text}");
    // Every run now writes overhead.json, so its two figures are expected too.
    let expected = ["accuracy", "loss", "throughput", "training-time", "inference-latency", "samples"];
    for name in expected {
        for ext in ["png", "svg"] {
            assert!(out.join("figures").join(format!("{name}.{ext}")).is_file(), "missing {name}.{ext}: {text}");
        }
    }
    assert!(out.join("report.md").is_file());

    // samples.json: distinct classes, the provider's encoding, and the customer's exact inverse.
    let s = ppdl::results::samples::SamplesFile::load(&out.join("samples/private.json"))
        .unwrap()
        .expect("samples/private.json");
    assert_eq!(s.raw.len(), ppdl::results::samples::DEFAULT_SAMPLE_COUNT);
    assert_eq!(s.encoded.len(), s.raw.len());
    let mut classes = s.labels.clone();
    classes.sort_unstable();
    classes.dedup();
    assert_eq!(classes.len(), s.labels.len(), "one image per class: {:?}", s.labels);
    let decoded = s.decoded.as_ref().expect("pixel permutation is invertible");
    for (i, ((raw, enc), dec)) in s.raw.iter().zip(&s.encoded).zip(decoded).enumerate() {
        assert_ne!(raw, enc, "image {i} not encoded");
        let mut a = raw.clone();
        let mut b = enc.clone();
        a.sort_by(f32::total_cmp);
        b.sort_by(f32::total_cmp);
        assert_eq!(a, b, "a permutation keeps the pixel values");
        assert_eq!(dec, raw, "customer decodes exactly");
    }

    // Regenerating from the folder alone gives the same figure set.
    std::fs::remove_dir_all(out.join("figures")).unwrap();
    let r = ppdl::plot::render_run(Path::new(&out)).unwrap();
    let names: Vec<&str> = r.figures.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names.len(), expected.len(), "{names:?}");
    for name in expected {
        assert!(names.contains(&name), "{name} not regenerated: {names:?}");
    }
}

#[test]
fn reconstructions_can_be_added_and_are_drawn() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    std::fs::create_dir_all(&dir).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run-pixel-permutation");
    for f in ["summary.json", "metrics.csv", "config.toml", "samples.json"] {
        std::fs::copy(fixture.join(f), dir.join(f)).unwrap();
    }
    let folder = ppdl::results::RunFolder::open(&dir).unwrap();
    let s = ppdl::results::samples::SamplesFile::load(&dir.join("samples.json")).unwrap().unwrap();
    let recon = ppdl::results::samples::Reconstruction {
        attack: "known-plaintext".into(),
        label: "feature matching, n=20".into(),
        psnr_db: Some(100.0),
        ssim: Some(1.0),
        images: s.raw.clone(),
    };
    ppdl::results::samples::add_reconstructions(&folder, "private", vec![recon.clone()]).unwrap();
    ppdl::results::samples::add_reconstructions(&folder, "private", vec![recon]).unwrap(); // replaces, does not duplicate
    let s2 = ppdl::results::samples::SamplesFile::load(&dir.join("samples.json")).unwrap().unwrap();
    assert_eq!(s2.reconstructions.iter().filter(|r| r.attack == "known-plaintext").count(), 1);
    // A reconstruction of the wrong size is refused.
    let bad = ppdl::results::samples::Reconstruction {
        attack: "inversion".into(),
        images: vec![vec![0.0; 3]; s.raw.len()],
        ..Default::default()
    };
    let err = ppdl::results::samples::add_reconstructions(&folder, "private", vec![bad]).unwrap_err();
    assert_eq!(ppdl::error::exit_code(&err), 2, "{err:#}");
    let r = ppdl::plot::render_run(&dir).unwrap();
    let samples = r.figures.iter().find(|f| f.name == "samples").expect("samples figure");
    assert!(samples.caption.contains("known-plaintext"), "{}", samples.caption);
}

/// A run with several keyed arms draws every per-arm figure once per arm (named NAME-ARM), the arms'
/// trade-off, and a report with every arm and the verdicts side by side.
#[test]
fn a_run_with_several_keyed_arms_draws_each_arm_and_their_tradeoff() {
    let config = r#"
name = "arms"
seed = 3
[data]
dataset = "embedded"
train_limit = 300
test_limit = 100
[model]
arch = "mlp-256"
[train]
epochs = 1
batch_size = 50
[[arms]]
name = "baseline"
scheme = "none"
[[arms]]
name = "perm"
scheme = "keyed"
transforms = [{ kind = "pixel-permutation" }]
[[arms]]
name = "mix"
scheme = "keyed"
transforms = [{ kind = "fast-mix" }]
[attacks]
enabled = ["key-space", "known-plaintext"]
[attacks.known_plaintext]
n = [5, 50]
"#;
    let tmp = tempfile::tempdir().unwrap();
    let (out, _) = run_config(tmp.path(), config);
    let attacks = ppdl::attacks::load_file(&out.join("attacks.json")).unwrap();
    assert_eq!(attacks.arms(), ["perm", "mix"]);
    for arm in ["perm", "mix"] {
        for name in ["key-space", "known-plaintext"] {
            assert!(attacks.record(arm, name).is_some(), "{name} on {arm}");
        }
        for figure in [format!("key-space-{arm}"), format!("attack-known-plaintext-{arm}"), format!("samples-{arm}")] {
            for ext in ["png", "svg"] {
                assert!(out.join("figures").join(format!("{figure}.{ext}")).is_file(), "missing {figure}.{ext}");
            }
        }
    }
    assert!(out.join("figures/tradeoff.png").is_file() && out.join("figures/tradeoff.svg").is_file());
    assert!(!out.join("figures/key-space.png").exists(), "one key-space figure per arm, none unnamed");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("| attack | perm | mix |"), "verdicts side by side: {report}");
    for arm in ["| baseline |", "| perm |", "| mix |", "on `perm`", "on `mix`"] {
        assert!(report.contains(arm), "report lacks {arm:?}");
    }
}
