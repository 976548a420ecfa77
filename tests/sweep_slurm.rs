//! `ppdl sweep --slurm`, `sweep status` and `sweep collect`: against a real Slurm cluster where
//! `sbatch` is on PATH (CI starts one with scripts/slurm-local.sh), and with sbatch missing, failing,
//! or faked together with squeue / scontrol.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn ppdl_env(args: &[&str], cwd: &Path, path_env: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ppdl"));
    cmd.args(args).current_dir(cwd);
    if let Some(p) = path_env {
        cmd.env("PATH", p);
    }
    cmd.output().expect("run ppdl")
}

fn ppdl(args: &[&str], cwd: &Path) -> Output {
    ppdl_env(args, cwd, None)
}

fn text(o: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A tiny base (embedded data, 300 train / 100 test, 1 epoch, no attacks) with a fixed key, so runs
/// are deterministic, and a sweep of 2 cells x `repeats` over it.
fn tiny_sweep(dir: &Path, repeats: usize) -> PathBuf {
    let base = "name = \"tiny\"\nseed = 5\n[data]\ndataset = \"embedded\"\ntrain_limit = 300\ntest_limit = 100\n\
                [model]\narch = \"mlp-256\"\n[train]\nepochs = 1\nbatch_size = 64\n\
                [privacy]\ntransforms = [{ kind = \"noise\", sigma = 0.1 }]\n\
                fixed_key = \"5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed\"\n\
                [attacks]\nenabled = []\n[output]\nfigures = false\n";
    std::fs::write(dir.join("base.toml"), base).unwrap();
    let sweep = dir.join("tiny.toml");
    std::fs::write(
        &sweep,
        format!(
            "base = \"base.toml\"\nrepeats = {repeats}\n[[axes]]\npath = \"privacy.transforms.0.sigma\"\n\
             values = [0.05, 0.2]\n"
        ),
    )
    .unwrap();
    sweep
}

/// A folder holding executable shell scripts named after programs.
fn fake_bin(dir: &Path, programs: &[(&str, &str)]) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for (name, body) in programs {
        let p = bin.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// Local sweep of the same file into `out`; its sweep.csv and sweep.json.
fn local_tables(sweep: &Path, out: &Path, cwd: &Path) -> (String, String) {
    let o = ppdl(&["sweep", sweep.to_str().unwrap(), "--jobs", "2", "--out", out.to_str().unwrap()], cwd);
    assert!(o.status.success(), "{}", text(&o));
    (std::fs::read_to_string(out.join("sweep.csv")).unwrap(), std::fs::read_to_string(out.join("sweep.json")).unwrap())
}

#[test]
fn a_real_job_array_runs_the_sweep_and_aggregates_as_a_local_sweep() {
    if !on_path("sbatch") {
        eprintln!("skipped: `sbatch` is not on PATH (start a local cluster with scripts/slurm-local.sh start)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let sweep = tiny_sweep(tmp.path(), 2);
    let out = tmp.path().join("slurm sweep");
    let s = sweep.to_str().unwrap();
    let o =
        ppdl(&["sweep", s, "--slurm", "--max-parallel", "2", "--time", "10:00", "--out", "slurm sweep"], tmp.path());
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("4 runs (0 finished, 0 still queued, 4 submitted)") && t.contains("submitted job array"), "{t}");
    let script = std::fs::read_to_string(out.join("slurm/submit-1.sh")).unwrap();
    assert!(script.contains("#SBATCH --array=0-3%2\n") && script.contains("#SBATCH --time=10:00\n"), "{script}");
    assert!(script.contains(&format!("#SBATCH --output=\"{}/slurm/logs/%A_%a.out\"", out.display())), "{script}");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("slurm.json")).unwrap()).unwrap();
    let job = record["submissions"][0]["job_id"].as_str().unwrap().to_string();
    assert_eq!(record["submissions"][0]["runs"], serde_json::json!([0, 1, 2, 3]));

    // Poll `sweep status` until nothing is queued or running.
    let start = Instant::now();
    let status = loop {
        let o = ppdl(&["sweep", "status", out.to_str().unwrap()], tmp.path());
        let t = text(&o);
        assert!(o.status.success(), "{t}");
        let last = t.trim_end().lines().last().unwrap_or("").to_string();
        if !last.contains("running") && !last.contains("pending") {
            break t;
        }
        assert!(start.elapsed() < Duration::from_secs(300), "the job array did not end in 300 s:\n{t}");
        std::thread::sleep(Duration::from_millis(500));
    };
    // A run's folder is finished a moment before its task writes its record and last log line.
    let ended = |i: usize| {
        std::fs::read_to_string(out.join(format!("slurm/tasks/{i}.json")))
            .is_ok_and(|t| t.contains("finished_at\": \""))
    };
    while !(0..4).all(ended) && start.elapsed() < Duration::from_secs(330) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let logs: Vec<String> = (0..4)
        .map(|i| std::fs::read_to_string(out.join(format!("slurm/logs/{job}_{i}.out"))).unwrap_or_default())
        .collect();
    assert!(status.contains("4 finished of 4 runs"), "{status}\nlogs:\n{}", logs.join("\n"));
    assert!(status.contains(&format!("slurm jobs: {job}")), "{status}");
    for (i, log) in logs.iter().enumerate() {
        assert!(log.contains("finished in") && log.contains("start-up"), "task {i}: {log}");
        let task: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join(format!("slurm/tasks/{i}.json"))).unwrap()).unwrap();
        assert_eq!(task["job_id"].as_str(), Some(job.as_str()));
        let startup = task["startup_seconds"].as_f64().unwrap();
        assert!(startup > 0.0 && startup <= task["seconds"].as_f64().unwrap(), "{task}");
    }

    let o = ppdl(&["sweep", "collect", out.to_str().unwrap()], tmp.path());
    assert!(o.status.success() && text(&o).contains("collected 4 finished of 4 runs"), "{}", text(&o));
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 2 * 2, "{csv}");
    assert!(lines[1..].iter().all(|l| l.split(',').nth(5) == Some("2")), "n = 2 per cell and arm:\n{csv}");
    // Fixed key and seeds: the same numbers as the same sweep run here.
    let (local_csv, local_json) = local_tables(&sweep, &tmp.path().join("local"), tmp.path());
    assert_eq!(csv, local_csv);
    assert_eq!(std::fs::read_to_string(out.join("sweep.json")).unwrap(), local_json);

    // Nothing left: a second submission submits nothing and records nothing.
    let o = ppdl(&["sweep", s, "--slurm", "--out", "slurm sweep"], tmp.path());
    assert!(text(&o).contains("nothing to submit (4 finished, 0 still queued or running of 4 runs)"), "{}", text(&o));
    assert!(!out.join("slurm/submit-2.sh").exists());
}

#[test]
fn a_failing_task_shows_as_failed_and_collect_counts_what_finished() {
    if !on_path("sbatch") {
        eprintln!("skipped: `sbatch` is not on PATH (start a local cluster with scripts/slurm-local.sh start)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    tiny_sweep(tmp.path(), 1);
    // A learning rate of 1e30 makes every arm diverge: that run fails, the other finishes.
    let sweep = tmp.path().join("f.toml");
    std::fs::write(&sweep, "base = \"base.toml\"\n[[axes]]\npath = \"train.learning_rate\"\nvalues = [1e30, 0.001]\n")
        .unwrap();
    let out = tmp.path().join("f");
    let o = ppdl(&["sweep", sweep.to_str().unwrap(), "--slurm", "--out", out.to_str().unwrap()], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    let start = Instant::now();
    let status = loop {
        let t = text(&ppdl(&["sweep", "status", out.to_str().unwrap()], tmp.path()));
        let last = t.trim_end().lines().last().unwrap_or("").to_string();
        if !last.contains("running") && !last.contains("pending") {
            break t;
        }
        assert!(start.elapsed() < Duration::from_secs(300), "{t}");
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(status.contains("1 finished of 2 runs, 1 failed"), "{status}");
    let failed = status.lines().find(|l| l.starts_with("tiny-learning_rate1000")).unwrap();
    assert!(failed.contains("failed") && failed.contains("FAILED exit 1:0") && failed.contains("diverged"), "{failed}");
    let o = ppdl(&["sweep", "collect", out.to_str().unwrap()], tmp.path());
    let t = text(&o);
    assert!(
        t.contains("collected 1 finished of 2 runs") && t.contains("Not finished (left out): tiny-learning_rate1000"),
        "{t}"
    );
}

#[test]
fn sbatch_missing_is_exit_2_with_nothing_written_and_the_sweep_still_runs_here() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = tiny_sweep(tmp.path(), 1);
    let out = tmp.path().join("sw");
    let empty = fake_bin(tmp.path(), &[]);
    let path = empty.to_str().unwrap();
    let s = sweep.to_str().unwrap();
    let o = ppdl_env(&["sweep", s, "--slurm", "--out", out.to_str().unwrap()], tmp.path(), Some(path));
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("--slurm: `sbatch` is not on PATH") && t.contains("nothing was submitted"), "{t}");
    assert!(!t.contains("panicked"), "{t}");
    assert!(!out.exists(), "nothing written, no job record");

    let o = ppdl_env(&["sweep", s, "--out", out.to_str().unwrap()], tmp.path(), Some(path));
    assert!(o.status.success(), "{}", text(&o));
    // Each run's line gives its time and its start-up (start to first training step).
    let starts: Vec<f64> = text(&o)
        .lines()
        .filter(|l| l.contains(" finished ("))
        .filter_map(|l| l.split("start-up ").nth(1)?.trim_end_matches(" s)").parse().ok())
        .collect();
    assert!(starts.len() == 2 && starts.iter().all(|&s| s > 0.0 && s < 60.0), "{}", text(&o));
    let t = text(&ppdl_env(&["sweep", "status", out.to_str().unwrap()], tmp.path(), Some(path)));
    assert!(t.contains("2 finished of 2 runs") && !t.contains("slurm jobs"), "{t}");
}

#[test]
fn a_failing_sbatch_shows_its_message_records_nothing_and_the_folder_still_runs_here() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = tiny_sweep(tmp.path(), 1);
    let out = tmp.path().join("sw");
    let bin = fake_bin(
        tmp.path(),
        &[(
            "sbatch",
            "echo 'sbatch: error: Batch job submission failed: Invalid partition name specified' >&2\nexit 1",
        )],
    );
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let s = sweep.to_str().unwrap();
    let args = ["sweep", s, "--slurm", "--partition", "nope", "--out", out.to_str().unwrap()];
    let o = ppdl_env(&args, tmp.path(), Some(&path));
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("Batch job submission failed: Invalid partition name specified"), "{t}");
    assert!(t.contains("nothing was submitted") && t.contains("can still run here"), "{t}");
    assert!(!out.join("slurm.json").exists(), "no job record after a refused submission");
    assert!(std::fs::read_to_string(out.join("slurm/submit-1.sh")).unwrap().contains("#SBATCH --partition=nope\n"));

    // An exit 0 without a job id is no submission either.
    let bin = fake_bin(tmp.path(), &[("sbatch", "echo 'not a job id'")]);
    let path2 = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let o = ppdl_env(&args, tmp.path(), Some(&path2));
    assert!(o.status.code() == Some(1) && text(&o).contains("unexpected output `not a job id`"), "{}", text(&o));
    assert!(!out.join("slurm.json").exists());

    let o = ppdl(&["sweep", s, "--jobs", "2", "--out", out.to_str().unwrap()], tmp.path());
    assert!(o.status.success() && text(&o).contains("2 runs (0 finished before, 2 to run)"), "{}", text(&o));
    assert!(text(&ppdl(&["sweep", "status", out.to_str().unwrap()], tmp.path())).contains("2 finished of 2 runs"));
}

#[test]
fn status_reads_squeue_and_scontrol_and_a_queued_sweep_is_not_run_here_too() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = tiny_sweep(tmp.path(), 2);
    let out = tmp.path().join("sw");
    let bin = fake_bin(
        tmp.path(),
        &[
            ("sbatch", "echo \"$@\" > \"$(dirname \"$0\")/sbatch-args\"\necho '77;cluster'"),
            ("squeue", "printf '77_0|RUNNING\\n77_1|PENDING\\n'"),
            (
                "scontrol",
                "echo 'JobId=80 ArrayJobId=77 ArrayTaskId=2 JobState=FAILED Reason=NonZeroExitCode ExitCode=1:0'\n\
                 echo 'JobId=77 ArrayJobId=77 ArrayTaskId=1 JobState=PENDING ExitCode=0:0'",
            ),
        ],
    );
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let s = sweep.to_str().unwrap();
    let o = ppdl_env(
        &["sweep", s, "--slurm", "--cpus-per-task", "3", "--out", out.to_str().unwrap()],
        tmp.path(),
        Some(&path),
    );
    assert!(o.status.success() && text(&o).contains("submitted job array 77 (tasks 0-3, 3 CPUs each)"), "{}", text(&o));
    let sbatch_args = std::fs::read_to_string(bin.join("sbatch-args")).unwrap();
    assert_eq!(sbatch_args.trim(), format!("--parsable {}/slurm/submit-1.sh", out.display()));
    // The task's resolved config reads back as the config the sweep checked.
    let expanded = ppdl::sweep::load(&sweep).unwrap();
    for i in 0..4 {
        let p = out.join(format!("slurm/configs/{i}.toml"));
        let config = ppdl::validate::parse_config(&std::fs::read_to_string(&p).unwrap(), &p).unwrap();
        assert_eq!(config, expanded.configs[i]);
    }

    // Run 2 was submitted, but Slurm no longer lists it and its folder is empty: failed.
    let o = ppdl_env(&["sweep", "status", out.to_str().unwrap()], tmp.path(), Some(&path));
    let t = text(&o);
    let state =
        |name: &str| t.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name}: {t}")).to_string();
    assert!(
        state("tiny-sigma0.05-seed5 ").contains("running")
            && state("tiny-sigma0.05-seed5 ").contains("job 77_0 RUNNING"),
        "{t}"
    );
    assert!(state("tiny-sigma0.05-seed6 ").contains("pending"), "{t}");
    assert!(
        state("tiny-sigma0.2-seed5 ").contains("failed")
            && state("tiny-sigma0.2-seed5 ").contains("77_2 FAILED exit 1:0"),
        "{t}"
    );
    assert!(t.contains("0 finished of 4 runs, 1 running, 1 pending, 2 failed"), "{t}");

    // A second --slurm submits only what is neither finished nor queued; a local sweep refuses while
    // Slurm holds runs of the folder.
    let o = ppdl_env(&["sweep", s, "--slurm", "--out", out.to_str().unwrap()], tmp.path(), Some(&path));
    assert!(
        text(&o).contains("(0 finished, 2 still queued, 2 submitted)") && text(&o).contains("tasks 2-3"),
        "{}",
        text(&o)
    );
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("slurm.json")).unwrap()).unwrap();
    assert_eq!(record["submissions"].as_array().unwrap().len(), 2);
    let o = ppdl_env(&["sweep", s, "--out", out.to_str().unwrap()], tmp.path(), Some(&path));
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("Slurm still holds 2 runs of this sweep: tiny-sigma0.05-seed5 (77_0 RUNNING)"), "{t}");

    // Without squeue on this machine the submitted runs are "submitted", not guessed.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let t = text(&ppdl_env(&["sweep", "status", out.to_str().unwrap()], tmp.path(), Some(empty.to_str().unwrap())));
    assert!(t.contains("0 finished of 4 runs, 4 submitted") && t.contains("cannot ask Slurm here"), "{t}");
}

/// `ppdl sweep SWEEP --slurm --out OUT` with an `sbatch` that accepts the job (id 5) and runs nothing,
/// so the test runs the array tasks itself.
fn submit_to_fake_sbatch(dir: &Path, sweep: &Path, out: &Path) {
    let bin = fake_bin(dir, &[("sbatch", "echo 5")]);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let o = ppdl_env(&["sweep", sweep.to_str().unwrap(), "--slurm", "--out", out.to_str().unwrap()], dir, Some(&path));
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn run_one_rejects_an_index_outside_the_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = tiny_sweep(tmp.path(), 1);
    let out = tmp.path().join("sw");
    submit_to_fake_sbatch(tmp.path(), &sweep, &out);
    let o = ppdl(&["sweep", "run-one", out.to_str().unwrap(), "7"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("runs.json: no run 7 (the sweep has 2 runs, 0 to 1)"), "{}", text(&o));
    let o = ppdl(&["sweep", "status", tmp.path().join("nope").to_str().unwrap()], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("runs.json: cannot read (is this a sweep folder?)"), "{}", text(&o));
}

/// A task Slurm stops (SIGTERM at its time limit or on scancel) stops like Ctrl-C: the run folder
/// keeps the finished epochs and says interrupted, the task record has the reason, exit 130.
#[test]
fn a_terminated_task_keeps_what_finished_and_records_why() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = tiny_sweep(tmp.path(), 1);
    // Long enough to be mid-training when the signal comes.
    let base = std::fs::read_to_string(tmp.path().join("base.toml")).unwrap();
    std::fs::write(tmp.path().join("base.toml"), base.replace("epochs = 1", "epochs = 5000")).unwrap();
    let out = tmp.path().join("sw");
    submit_to_fake_sbatch(tmp.path(), &sweep, &out);
    let child = Command::new(env!("CARGO_BIN_EXE_ppdl"))
        .args(["sweep", "run-one", out.to_str().unwrap(), "0"])
        .current_dir(tmp.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let runs: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(out.join("runs.json")).unwrap()).unwrap();
    let run_dir = out.join(runs[0]["folder"].as_str().unwrap());
    let start = Instant::now();
    while !run_dir.join("metrics.csv").is_file() {
        assert!(start.elapsed() < Duration::from_secs(120), "training never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", text(&o));
    let task: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("slurm/tasks/0.json")).unwrap()).unwrap();
    assert!(task["error"].as_str().unwrap().contains("interrupted"), "{task}");
    let summary = ppdl::results::Summary::load(&run_dir.join("summary.json")).unwrap();
    assert!(summary.interrupted);
    assert!(summary.arms.iter().all(|a| a.epochs_completed < 5000));
    let o = ppdl(&["sweep", "status", out.to_str().unwrap()], tmp.path());
    assert!(text(&o).contains("interrupted"), "{}", text(&o));
}
