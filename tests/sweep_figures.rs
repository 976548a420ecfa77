//! A real small sweep on the embedded data, then its figures and report.md: written at the end of
//! `ppdl sweep` and by `ppdl plot SWEEP_DIR`, a bad --metric refused naming the choices, and a sweep
//! with a run missing plotted with the n that finished.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ppdl(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ppdl")).args(args).current_dir(cwd).output().expect("run ppdl")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Two sigmas x two seeds on 600/200 embedded samples, one epoch, two reconstruction attacks.
fn small_sweep(dir: &Path) -> PathBuf {
    let base = "name = \"fig\"\nseed = 3\n[data]\ndataset = \"embedded\"\ntrain_limit = 600\ntest_limit = 200\n\
                [model]\narch = \"mlp-256\"\n[train]\nepochs = 1\nbatch_size = 64\n\
                [privacy]\ntransforms = [{ kind = \"noise\", sigma = 0.1, per_sample = true }]\n\
                [attacks]\nenabled = [\"known-plaintext\", \"statistical\"]\n";
    std::fs::write(dir.join("base.toml"), base).unwrap();
    let sweep = dir.join("fig.toml");
    std::fs::write(
        &sweep,
        "base = \"base.toml\"\nrepeats = 2\n[[axes]]\npath = \"privacy.transforms.0.sigma\"\nvalues = [0.05, 0.3]\n",
    )
    .unwrap();
    sweep
}

#[test]
fn a_sweep_draws_its_figures_and_report_and_replots_what_finished() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = small_sweep(tmp.path());
    let out = tmp.path().join("sw");
    let o = ppdl(&["sweep", sweep.to_str().unwrap(), "--out", out.to_str().unwrap()], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("figures: 2 (PNG + SVG)") && text(&o).contains("from 4 of 4 runs"), "{}", text(&o));
    for stem in ["delta-vs-privacy-transforms-0-sigma", "frontier"] {
        for ext in ["png", "svg"] {
            let f = out.join("figures").join(format!("{stem}.{ext}"));
            assert!(std::fs::metadata(&f).map(|m| m.len() > 1000).unwrap_or(false), "{}", f.display());
        }
    }
    let svg = std::fs::read_to_string(out.join("figures/frontier.svg")).unwrap();
    assert!(svg.contains("n = 2 seeds per point"), "n in the title");
    assert!(svg.contains("accuracy delta, arm − baseline") && svg.contains("PSNR of unseen data"), "axis labels");
    assert!(svg.contains("sigma = 0.05") && svg.contains("sigma = 0.3"), "groups in the legend");
    assert!(svg.contains("1 point accuracy cost") && svg.contains("no attack"), "reference lines");
    let axis = std::fs::read_to_string(out.join("figures/delta-vs-privacy-transforms-0-sigma.svg")).unwrap();
    assert!(axis.contains("privacy.transforms.0.sigma (swept)") && axis.contains("n = 2"));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    for needle in ["`privacy.transforms.0.sigma`: 0.05, 0.3", "4 finished", "delta ≠ 0?", "| n |", "(n = 2)"] {
        assert!(report.contains(needle), "{needle}: {report}");
    }
    // The arms side by side: what crossed in training (600 encoded images of 784 f32, sent once: 1.9 MB),
    // the epoch-time ratio, and each attack's verdict in how many of the 2 runs.
    let side = report.split("## Arms side by side").nth(1).expect("a side-by-side section");
    let private = side.lines().find(|l| l.starts_with("| sigma=0.05 | private |")).expect(side);
    assert!(private.contains("| 1.9 | 0.0 |") && private.contains("/2 |") && private.contains("n = 2)"), "{private}");
    assert!(side.contains("| known-plaintext |") && side.contains("| statistical |"), "{side}");
    for link in ["figures/frontier.png", "figures/frontier.svg", "figures/delta-vs-privacy-transforms-0-sigma.png"] {
        assert!(report.contains(&format!("({link})")) && out.join(link).is_file(), "{link}");
    }

    // A frontier metric the sweep does not have: exit 2, naming the ones it has.
    let o = ppdl(&["plot", out.to_str().unwrap(), "--metric", "ssim"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--metric `ssim`") && err.contains("known-plaintext") && err.contains("statistical:"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
    let o = ppdl(&["plot", out.to_str().unwrap(), "--group-by", "lr"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // An attack's name picks its headline.
    let o = ppdl(&["plot", out.to_str().unwrap(), "--metric", "statistical", "--group-by", "arm"], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::fs::read_to_string(out.join("figures/frontier.svg")).unwrap().contains("statistical: PSNR"));

    // A run that did not finish (its summary gone, as after a failure): plotted from the 3 that did.
    let runs: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(out.join("runs.json")).unwrap()).unwrap();
    let lost = runs[3]["name"].as_str().unwrap().to_string();
    std::fs::remove_file(out.join(runs[3]["folder"].as_str().unwrap()).join("summary.json")).unwrap();
    let o = ppdl(&["plot", out.to_str().unwrap()], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("3 of 4 runs finished"), "{}", text(&o));
    let axis = std::fs::read_to_string(out.join("figures/delta-vs-privacy-transforms-0-sigma.svg")).unwrap();
    assert!(axis.contains("n = 1–2 seeds per point"), "the n that finished");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("3 finished") && report.contains(&lost) && report.contains("n < 2"), "{report}");
    let o = ppdl(&["summarize", out.to_str().unwrap()], tmp.path());
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("| sigma=0.05 | private |") && table.contains("Not finished (left out): "), "{table}");
}
