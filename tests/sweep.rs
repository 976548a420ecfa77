//! Overrides, sweep expansion, its errors, and one real tiny sweep end to end.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ppdl(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ppdl")).args(args).current_dir(cwd).output().expect("run ppdl")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A tiny base config: embedded data, 300 train / 100 test, 1 epoch, no attacks, no figures.
fn tiny_base(dir: &Path) -> PathBuf {
    let text = "name = \"tiny\"\nseed = 5\n[data]\ndataset = \"embedded\"\ntrain_limit = 300\ntest_limit = 100\n\
                [model]\narch = \"mlp-256\"\n[train]\nepochs = 1\nbatch_size = 64\n\
                [privacy]\ntransforms = [{ kind = \"noise\", sigma = 0.1 }]\n[attacks]\nenabled = []\n\
                [output]\nfigures = false\n";
    let path = dir.join("base.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn grid_zip_and_repeats_expand() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_base(tmp.path());
    let grid = write(
        tmp.path(),
        "grid.toml",
        "base = \"base.toml\"\nrepeats = 2\n[[axes]]\npath = \"privacy.transforms.0.sigma\"\nvalues = [0.05, 0.2]\n\
         [[axes]]\npath = \"train.batch_size\"\nvalues = [32, 64, 128]\n",
    );
    let s = ppdl::sweep::load(&grid).unwrap();
    assert_eq!(s.runs.len(), 2 * 3 * 2);
    assert_eq!(s.runs[0].name, "tiny-sigma0.05-batch_size32-seed5");
    assert_eq!(s.runs[1].seed, 6);
    assert_eq!(s.runs[11].name, "tiny-sigma0.2-batch_size128-seed6");
    assert_eq!(s.configs[11].train.batch_size, 128);
    assert_eq!(s.configs[11].seed, 6);
    assert_eq!(s.configs[11].name, "tiny-sigma0.2-batch_size128-seed6");
    assert_eq!(s.runs.iter().map(|r| r.cell).max(), Some(5));

    let zip = write(
        tmp.path(),
        "zip.toml",
        "base = \"base.toml\"\nrepeats = 3\nseed = 100\nmode = \"zip\"\n[[axes]]\npath = \"privacy.transforms.0.sigma\"\n\
         values = [0.05, 0.2]\n[[axes]]\npath = \"train.batch_size\"\nvalues = [32, 64]\n",
    );
    let s = ppdl::sweep::load(&zip).unwrap();
    assert_eq!(s.runs.len(), 2 * 3);
    assert_eq!(s.runs[5].name, "tiny-sigma0.2-batch_size64-seed102");
    let bad = write(
        tmp.path(),
        "zipbad.toml",
        "base = \"base.toml\"\nmode = \"zip\"\n[[axes]]\npath = \"train.epochs\"\nvalues = [1, 2]\n\
         [[axes]]\npath = \"train.batch_size\"\nvalues = [32]\n",
    );
    let e = format!("{:#}", ppdl::sweep::load(&bad).err().unwrap());
    assert!(e.contains("zipbad.toml") && e.contains("one length"), "{e}");
}

#[test]
fn a_name_set_for_every_run_names_the_runs() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_base(tmp.path());
    let named = write(
        tmp.path(),
        "named.toml",
        "base = \"base.toml\"\nrepeats = 2\n[set]\nname = \"noisy\"\n[[axes]]\npath = \"train.batch_size\"\n\
         values = [32]\n",
    );
    let s = ppdl::sweep::load(&named).unwrap();
    let names: Vec<&str> = s.runs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["noisy-batch_size32-seed5", "noisy-batch_size32-seed6"]);
    assert_eq!(s.configs[1].name, "noisy-batch_size32-seed6");
    assert_eq!(s.runs[1].folder, Path::new("runs").join("noisy-batch_size32-seed6"));
}

#[test]
fn bad_axis_path_or_value_is_exit_2_naming_file_line_and_path_before_any_run() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_base(tmp.path());
    let out = tmp.path().join("out");
    let path =
        write(tmp.path(), "s.toml", "base = \"base.toml\"\n\n[[axes]]\npath = \"train.epocs\"\nvalues = [1, 2]\n");
    let o = ppdl(&["sweep", path.to_str().unwrap(), "--out", out.to_str().unwrap()], tmp.path());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("s.toml:4: axis `train.epocs`") && err.contains("did you mean `epochs`"), "{err}");
    assert!(!out.exists(), "nothing is written before the check passes");

    let path =
        write(tmp.path(), "t.toml", "base = \"base.toml\"\n[[axes]]\npath = \"train.epochs\"\nvalues = [1, \"two\"]\n");
    let o = ppdl(&["sweep", path.to_str().unwrap(), "--out", out.to_str().unwrap()], tmp.path());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("field `train.epochs`") && err.contains("t.toml:3: axis `train.epochs`"), "{err}");
    assert!(!out.exists());

    let path =
        write(tmp.path(), "u.toml", "base = \"base.toml\"\n[[axes]]\npath = \"arms.3.name\"\nvalues = [\"x\"]\n");
    let o = ppdl(&["sweep", path.to_str().unwrap()], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("u.toml:3: axis `arms.3.name`: no field `arms`"));
}

#[test]
fn set_overrides_on_validate_name_the_run_and_report_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tiny_base(tmp.path());
    let b = base.to_str().unwrap();
    let o = ppdl(
        &["validate", b, "--set", "train.epochs=3", "--set", "privacy.transforms.0.sigma=1", "--seed", "7"],
        tmp.path(),
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(text.contains("name = \"tiny-epochs3-sigma1-seed7\""), "{text}");
    assert!(text.contains("epochs = 3") && text.contains("seed = 7") && text.contains("sigma = 1.0"), "{text}");
    let o = ppdl(&["validate", b, "--set", "train.epochs=3", "--name", "mine"], tmp.path());
    assert!(String::from_utf8_lossy(&o.stdout).contains("name = \"mine\""));

    for (arg, want) in [
        ("train.batchsize=3", "--set train.batchsize=3: no field `batchsize` in `train` (did you mean `batch_size`?)"),
        ("privacy.transforms.4.sigma=1", "`privacy.transforms` has 1 entry: index 4 is out of range"),
        ("train.epochs=0", "(the value came from --set train.epochs=0)"),
        ("train.epochs", "expected PATH=VALUE"),
    ] {
        let o = ppdl(&["run", b, "--set", arg], tmp.path());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{arg}: {err}");
        assert!(err.contains(want), "{arg}: {err}");
    }
    // A field the override leaves alone keeps its line in the file.
    std::fs::write(&base, std::fs::read_to_string(&base).unwrap().replace("batch_size = 64", "batch_size = 0"))
        .unwrap();
    let o = ppdl(&["validate", b, "--set", "train.epochs=2"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("base.toml:11: field `train.batch_size`"));
}

#[test]
fn older_summaries_get_their_intervals_on_read() {
    let s = ppdl::results::Summary::load(&repo().join("tests/fixtures/run-pixel-permutation/summary.json")).unwrap();
    let n = s.dataset.test;
    for arm in &s.arms {
        assert_eq!(arm.accuracy_interval, Some(ppdl::results::stats::wilson(arm.test_accuracy, n)));
    }
    let base = s.baseline().unwrap().test_accuracy;
    let private = s.protected().next().unwrap();
    assert_eq!(
        private.delta_interval,
        Some(ppdl::results::stats::difference_unpaired(private.test_accuracy, n, base, n))
    );
}

#[test]
fn tiny_sweep_end_to_end_and_resumed() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_base(tmp.path());
    let sweep = write(
        tmp.path(),
        "tiny.toml",
        "base = \"base.toml\"\nrepeats = 2\n[[axes]]\npath = \"privacy.transforms.0.sigma\"\nvalues = [0.05, 0.2]\n",
    );
    let out = tmp.path().join("sw");
    let args = ["sweep", sweep.to_str().unwrap(), "--jobs", "2", "--out", out.to_str().unwrap()];
    let o = ppdl(&args, tmp.path());
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("4 runs (0 finished before, 4 to run), 2 at a time"), "{stdout}");
    for f in ["sweep.toml", "runs.json", "sweep.csv", "sweep.json"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let runs: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(out.join("runs.json")).unwrap()).unwrap();
    assert_eq!(runs.len(), 4);
    for run in &runs {
        let folder = out.join(run["folder"].as_str().unwrap());
        assert!(folder.join("summary.json").is_file(), "{}", folder.display());
    }
    // The run folder's config.toml holds the overridden values.
    let config = std::fs::read_to_string(out.join("runs/tiny-sigma0.2-seed6/config.toml")).unwrap();
    assert!(
        config.contains("sigma = 0.2")
            && config.contains("seed = 6")
            && config.contains("name = \"tiny-sigma0.2-seed6\"")
    );

    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("cell,privacy.transforms.0.sigma,arm,metric,unit,n,mean,sd,ci_lo,ci_hi,delta_n"),
        "{csv}"
    );
    assert_eq!(lines.len(), 1 + 2 * 2, "{csv}");
    for line in &lines[1..] {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f[5], "2", "n = 2 per cell: {line}");
        let (mean, lo, hi): (f64, f64, f64) = (f[6].parse().unwrap(), f[8].parse().unwrap(), f[9].parse().unwrap());
        assert!(lo <= mean && mean <= hi && (0.0..=1.0).contains(&mean), "{line}");
        if f[2] == "private" {
            assert_eq!(f[10], "2", "paired delta over 2 seeds: {line}");
        } else {
            assert_eq!(f[10], "", "{line}");
        }
    }
    // The mean is that of the two runs' summaries.
    let acc = |name: &str| {
        ppdl::results::Summary::load(&out.join("runs").join(name).join("summary.json"))
            .unwrap()
            .arm("private")
            .unwrap()
            .test_accuracy
    };
    let mean = (acc("tiny-sigma0.05-seed5") + acc("tiny-sigma0.05-seed6")) / 2.0;
    let row = lines.iter().find(|l| l.starts_with("0,0.05,private,")).unwrap();
    assert!((row.split(',').nth(6).unwrap().parse::<f64>().unwrap() - mean).abs() < 1e-6);

    let o = ppdl(&args, tmp.path());
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    assert!(stdout.contains("4 runs (4 finished before, 0 to run)"), "{stdout}");
    assert!(!stdout.contains("] tiny-"), "nothing reran: {stdout}");

    // An interrupted run (no summary.json) is rerun, and only it.
    std::fs::remove_file(out.join("runs/tiny-sigma0.2-seed5/summary.json")).unwrap();
    let o = ppdl(&args, tmp.path());
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("(3 finished before, 1 to run)") && stdout.contains("tiny-sigma0.2-seed5 finished"),
        "{stdout}"
    );

    let o = ppdl(&["summarize", out.to_str().unwrap()], tmp.path());
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("| n |")
            && table.contains("| privacy.transforms.0.sigma=0.05 | private | test accuracy (%) | 2 |"),
        "{table}"
    );
}

#[test]
fn a_failed_run_does_not_stop_the_others_and_is_listed() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_base(tmp.path());
    // A learning rate of 1e30 makes every arm diverge: that run fails, the other finishes.
    let sweep = write(
        tmp.path(),
        "f.toml",
        "base = \"base.toml\"\n[[axes]]\npath = \"train.learning_rate\"\nvalues = [1e30, 0.001]\n",
    );
    let out = tmp.path().join("f");
    let o = ppdl(&["sweep", sweep.to_str().unwrap(), "--jobs", "1", "--out", out.to_str().unwrap()], tmp.path());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("1 of 2 runs failed") && stderr.contains("diverged"), "{stderr}");
    let ok = ppdl::results::Summary::load(&out.join("runs/tiny-learning_rate0.001-seed5/summary.json")).unwrap();
    assert!(ok.arms.iter().all(|a| a.status == ppdl::results::ArmStatus::Finished));
    assert!(out.join("sweep.csv").is_file());
}

/// Runs whose baselines are identical (same data, model, training and seed) train it once: the later
/// runs copy the first one's model, curves and record, which equal what training it again gives.
#[test]
fn identical_baselines_are_trained_once_and_equal_a_fresh_training() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_base(tmp.path());
    let sweep = write(
        tmp.path(),
        "share.toml",
        "base = \"base.toml\"\nrepeats = 2\n[[axes]]\npath = \"privacy.transforms.0.sigma\"\nvalues = [0.05, 0.2]\n",
    );
    let out = tmp.path().join("shared-out");
    // One at a time, so the first cell's runs have finished when the second cell's start.
    let args = ["sweep", sweep.to_str().unwrap(), "--jobs", "1", "--out", out.to_str().unwrap()];
    let o = ppdl(&args, tmp.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let runs = ppdl::results::sweep::load_runs(&out).unwrap();
    for run in &runs {
        let owner = runs.iter().find(|r| r.cell == 0 && r.seed == run.seed).unwrap();
        let expected = (run.cell == 1).then(|| owner.folder.clone());
        assert_eq!(run.baseline_from, expected, "{}", run.name);
    }
    let summary = |folder: &Path| ppdl::results::Summary::load(&out.join(folder).join("summary.json")).unwrap();
    let baseline_rows = |dir: &Path| -> Vec<String> {
        let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
        // arm,epoch,step,split,loss,accuracy (timings differ between runs, so they are left out)
        csv.lines()
            .filter(|l| l.starts_with("baseline,"))
            .map(|l| l.split(',').take(6).collect::<Vec<_>>().join(","))
            .collect()
    };
    for run in runs.iter().filter(|r| r.cell == 1) {
        let owner = run.baseline_from.as_ref().unwrap();
        let (ours, theirs) = (summary(&run.folder), summary(owner));
        let (b, ob) = (ours.arm("baseline").unwrap(), theirs.arm("baseline").unwrap());
        assert_eq!(b.reused_from.as_deref(), Some(owner.file_name().unwrap().to_str().unwrap()));
        assert_eq!((b.test_accuracy, &b.epoch_seconds), (ob.test_accuracy, &ob.epoch_seconds));
        assert!(ob.reused_from.is_none(), "the first run trained its own");
        assert_eq!(baseline_rows(&out.join(&run.folder)), baseline_rows(&out.join(owner)));
        let model = |f: &Path| std::fs::read(out.join(f).join("provider/baseline/model.safetensors")).unwrap();
        assert_eq!(model(&run.folder), model(owner));
        // The paired delta is against the copied baseline.
        let p = ours.arm("private").unwrap();
        assert!((p.accuracy_delta.unwrap() - (p.test_accuracy - b.test_accuracy)).abs() < 1e-12);
        let overhead: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join(&run.folder).join("overhead.json")).unwrap())
                .unwrap();
        assert_eq!(
            overhead["arms"][0]["measured"]["training"]["baseline_from"],
            owner.file_name().unwrap().to_str().unwrap()
        );
    }
    // Training the same config again from nothing gives the baseline that was copied.
    let reusing = runs.iter().find(|r| r.cell == 1).unwrap();
    let solo = tmp.path().join("solo");
    let config = out.join(&reusing.folder).join("config.toml");
    let o = ppdl(&["run", config.to_str().unwrap(), "--out", solo.to_str().unwrap()], tmp.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let fresh = ppdl::results::Summary::load(&solo.join("summary.json")).unwrap();
    let copied = summary(&reusing.folder);
    assert_eq!(fresh.arm("baseline").unwrap().test_accuracy, copied.arm("baseline").unwrap().test_accuracy);
    assert!(fresh.arm("baseline").unwrap().reused_from.is_none());
    assert_eq!(baseline_rows(&solo), baseline_rows(&out.join(&reusing.folder)));
    assert_eq!(
        std::fs::read(solo.join("provider/baseline/model.safetensors")).unwrap(),
        std::fs::read(out.join(&reusing.folder).join("provider/baseline/model.safetensors")).unwrap()
    );

    // An owner that no longer holds a finished baseline: the run trains its own.
    let owner = reusing.baseline_from.clone().unwrap();
    std::fs::remove_file(out.join(&owner).join("summary.json")).unwrap();
    std::fs::remove_file(out.join(&reusing.folder).join("summary.json")).unwrap();
    let o = ppdl(&["sweep", sweep.to_str().unwrap(), "--jobs", "1", "--out", out.to_str().unwrap()], tmp.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Both reran; the owner first (run order), so the reusing run found it finished again.
    assert!(summary(&owner).arm("baseline").unwrap().reused_from.is_none());
    assert!(summary(&reusing.folder).arm("baseline").unwrap().reused_from.is_some());

    // The sweep is named after its file wherever it is read: sweep.json, summarize, report.md.
    let table: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(table["name"], "share");
    let o = ppdl(&["sweep", "collect", out.to_str().unwrap()], tmp.path());
    assert!(o.status.success());
    let table: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(table["name"], "share", "collect names it as the sweep did");
    assert_eq!(ppdl::results::sweep::sweep_name(&out), "share");
}

/// A run whose baseline folder is unusable trains its own baseline and says why.
#[test]
fn a_baseline_that_cannot_be_reused_is_trained_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tiny_base(tmp.path());
    let config = ppdl::validate::parse_config(&std::fs::read_to_string(&base).unwrap(), &base).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let control = std::sync::Arc::new(ppdl::train::Control::default());
    let nowhere = tmp.path().join("no-such-run");
    let outcome =
        ppdl::run::run_experiment_reusing(&config, &tmp.path().join("r"), Some(&nowhere), &tx, &control).unwrap();
    drop(tx);
    assert!(outcome.summary.arm("baseline").unwrap().reused_from.is_none());
    let logs: Vec<String> = rx
        .iter()
        .filter_map(|e| match e {
            ppdl::attacks::Event::Log(l) => Some(l),
            _ => None,
        })
        .collect();
    assert!(
        logs.iter().any(|l| l.contains("baseline trained here, not reused from") && l.contains("no-such-run")),
        "{logs:?}"
    );

    // A different seed is a different baseline.
    let mut other = config.clone();
    other.seed += 1;
    assert_ne!(config.baseline_identity(), other.baseline_identity());
    // Attacks, output, the name and the keyed arm do not change it.
    let mut same = config.clone();
    same.name = "x".into();
    same.attacks.enabled = vec!["key-space".into()];
    same.output.figures = true;
    same.privacy = Some(Default::default());
    assert_eq!(config.baseline_identity(), same.baseline_identity());
}
