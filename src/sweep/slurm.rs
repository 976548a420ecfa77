//! `ppdl sweep SWEEP.toml --slurm`: the same expanded, checked sweep folder as a local sweep, its
//! unfinished runs submitted as one Slurm job array (array task i runs entry i of runs.json through
//! `ppdl sweep run-one`, the local pool's own code path), and `ppdl sweep status` from the run folders
//! plus squeue / scontrol (clusters without accounting have no sacct).
//!
//! Files it adds to the sweep folder:
//! - `slurm/configs/I.toml`: run I's resolved config, as checked at submission (the task reads this,
//!   so edits to the sweep or base file after submitting change nothing queued);
//! - `slurm/submit-N.sh`: the batch script of submission N; `slurm/logs/JOB_I.out|err`: task logs;
//! - `slurm/tasks/I.json`: what task I did (job, host, start-up and total seconds, error);
//! - `slurm.json`: the submissions (job id, runs, script), written only after `sbatch` accepted one.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::{is_finished, load, run_one, sweep_root, threads_per_run, write_folder};
use crate::error::InputError;
use crate::results::sweep::load_runs;
use crate::results::sweep::SweepRun;
use crate::results::RunFolder;
use crate::train::Control;

/// `--slurm` and its options.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SlurmArgs {
    /// Submit the unfinished runs as a Slurm job array (sbatch) instead of running them here; follow
    /// with `ppdl sweep status DIR` and `ppdl sweep collect DIR`.
    #[arg(long)]
    pub slurm: bool,
    /// Slurm partition (sbatch --partition; default: the cluster's default partition).
    #[arg(long, requires = "slurm")]
    pub partition: Option<String>,
    /// Time limit per task (sbatch --time, e.g. 30:00 or 1-00:00:00).
    #[arg(long, requires = "slurm")]
    pub time: Option<String>,
    /// CPUs per task (default: the threads one run keeps busy, i.e. its arms when they train side by side).
    #[arg(long, requires = "slurm", value_parser = clap::value_parser!(u32).range(1..))]
    pub cpus_per_task: Option<u32>,
    /// At most K tasks of the array at once (the array's %K throttle; default: no limit).
    #[arg(long, requires = "slurm", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_parallel: Option<u32>,
}

/// slurm.json: every accepted submission of this sweep folder.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct JobRecord {
    /// The sweep's name (what the local path calls it), for `ppdl sweep collect`.
    #[serde(default)]
    pub sweep: String,
    #[serde(default)]
    pub submissions: Vec<Submission>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Submission {
    pub job_id: String,
    pub submitted_at: String,
    /// Indices into runs.json; array task ids are these indices.
    pub runs: Vec<usize>,
    /// The batch script, relative to the sweep folder.
    pub script: PathBuf,
    pub sbatch_args: Vec<String>,
}

/// slurm/tasks/I.json: what array task I did (written when it starts and again when it ends).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TaskRecord {
    pub index: usize,
    pub run: String,
    #[serde(default)]
    pub job_id: Option<String>,
    #[serde(default)]
    pub host: Option<String>,
    pub started_at: String,
    #[serde(default)]
    pub finished_at: Option<String>,
    /// From the task's process start to the run's first training step (reading the config, data
    /// load, keys, encoding): the per-task start-up overhead.
    #[serde(default)]
    pub startup_seconds: Option<f64>,
    #[serde(default)]
    pub seconds: Option<f64>,
    #[serde(default)]
    pub error: Option<String>,
}

fn record_path(root: &Path) -> PathBuf {
    root.join("slurm.json")
}

fn task_path(root: &Path, index: usize) -> PathBuf {
    root.join("slurm").join("tasks").join(format!("{index}.json"))
}

fn config_path(root: &Path, index: usize) -> PathBuf {
    root.join("slurm").join("configs").join(format!("{index}.toml"))
}

/// The folder's job record (an empty one when it was never submitted).
pub fn read_record(root: &Path) -> anyhow::Result<JobRecord> {
    let path = record_path(root);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            Ok(serde_json::from_str(&text)
                .map_err(|e| InputError::in_file(&path, format!("unexpected content: {e}")))?)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(JobRecord::default()),
        Err(e) => Err(InputError::in_file(&path, format!("cannot read: {e}")).into()),
    }
}

/// Whether `program` is an executable file on PATH.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            let p = dir.join(program);
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                p.is_file() && p.metadata().is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
            }
            #[cfg(not(unix))]
            p.is_file()
        })
    })
}

/// `0-3,5,7-9`: sorted indices as a Slurm array range list.
pub fn array_ranges(indices: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < indices.len() {
        let mut j = i;
        while j + 1 < indices.len() && indices[j + 1] == indices[j] + 1 {
            j += 1;
        }
        parts.push(if j == i { indices[i].to_string() } else { format!("{}-{}", indices[i], indices[j]) });
        i = j + 1;
    }
    parts.join(",")
}

/// A word for a shell script, single-quoted.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(p).map_err(|e| anyhow::anyhow!("cannot make {} absolute: {e}", p.display()))
}

/// The job-array batch script: sbatch options as #SBATCH lines, then the ppdl binary on the task's run.
pub fn batch_script(
    name: &str,
    root: &Path,
    workdir: &Path,
    binary: &Path,
    indices: &[usize],
    cpus: u32,
    args: &SlurmArgs,
) -> anyhow::Result<String> {
    // #SBATCH values are double-quoted (paths may hold spaces); a quote or newline cannot be written.
    let quoted = |p: &Path| -> anyhow::Result<String> {
        let s = p.to_string_lossy();
        if s.contains(['"', '\n']) {
            return Err(InputError::new(format!(
                "--slurm: the path {s:?} holds a quote or newline, which a batch script's #SBATCH line cannot carry"
            ))
            .into());
        }
        Ok(format!("\"{s}\""))
    };
    let logs = root.join("slurm").join("logs");
    let mut array = array_ranges(indices);
    if let Some(k) = args.max_parallel {
        array.push_str(&format!("%{k}"));
    }
    let mut s = String::from("#!/bin/bash\n");
    s.push_str(&format!("#SBATCH --job-name=ppdl-{name}\n"));
    s.push_str(&format!("#SBATCH --array={array}\n"));
    s.push_str(&format!("#SBATCH --output={}\n", quoted(&logs.join("%A_%a.out"))?));
    s.push_str(&format!("#SBATCH --error={}\n", quoted(&logs.join("%A_%a.err"))?));
    s.push_str(&format!("#SBATCH --chdir={}\n", quoted(workdir)?));
    s.push_str(&format!("#SBATCH --cpus-per-task={cpus}\n"));
    s.push_str("#SBATCH --ntasks=1\n");
    if let Some(p) = &args.partition {
        s.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    if let Some(t) = &args.time {
        s.push_str(&format!("#SBATCH --time={t}\n"));
    }
    s.push_str(&format!(
        "# Written by `ppdl sweep --slurm`: array task I runs entry I of {}/runs.json\n\
         # (its config: slurm/configs/I.toml) into its run folder. Relative paths in the configs (data.dir,\n\
         # output.dir) resolve against --chdir, the folder the sweep was submitted from.\n",
        root.display()
    ));
    s.push_str(&format!(
        "exec {} sweep run-one {} \"$SLURM_ARRAY_TASK_ID\"\n",
        shell_quote(&binary.to_string_lossy()),
        shell_quote(&root.to_string_lossy())
    ));
    Ok(s)
}

/// `ppdl sweep SWEEP.toml --slurm ...`.
pub fn submit_command(file: &Path, out: Option<&Path>, args: &SlurmArgs) -> anyhow::Result<()> {
    let sweep = load(file)?;
    // Checked before anything is written: without sbatch the folder stays as it was.
    if !on_path("sbatch") {
        return Err(InputError::new(format!(
            "--slurm: `sbatch` is not on PATH (no Slurm client here); nothing was submitted. Run the sweep \
             here with `ppdl sweep {}`, or submit from a machine with Slurm",
            file.display()
        ))
        .into());
    }
    let root = absolute(&sweep_root(&sweep, out))?;
    write_folder(&sweep, &root)?;
    let mut record = read_record(&root)?;
    let view = SlurmView::query(&record);
    let queued: Vec<usize> = (0..sweep.runs.len()).filter(|&i| view.live_state(&record, i).is_some()).collect();
    let todo: Vec<usize> =
        (0..sweep.runs.len()).filter(|&i| !is_finished(&root, &sweep.runs[i]) && !queued.contains(&i)).collect();
    let finished = (0..sweep.runs.len()).filter(|&i| is_finished(&root, &sweep.runs[i])).count();
    if todo.is_empty() {
        println!(
            "ppdl sweep {} -> {}: nothing to submit ({} finished, {} still queued or running of {} runs)",
            file.display(),
            root.display(),
            finished,
            queued.len(),
            sweep.runs.len()
        );
        return Ok(());
    }
    for sub in ["configs", "logs", "tasks"] {
        let dir = root.join("slurm").join(sub);
        std::fs::create_dir_all(&dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    }
    for &i in &todo {
        crate::atomic::write(&config_path(&root, i), sweep.configs[i].to_toml().as_bytes())?;
    }
    let workdir = std::env::current_dir()?;
    let binary = std::env::current_exe()?;
    let cpus = args.cpus_per_task.unwrap_or(threads_per_run(&sweep.base) as u32);
    let script_rel = PathBuf::from("slurm").join(format!("submit-{}.sh", record.submissions.len() + 1));
    let script = batch_script(&sweep.name, &root, &workdir, &binary, &todo, cpus, args)?;
    crate::atomic::write(&root.join(&script_rel), script.as_bytes())?;

    let sbatch_args = vec!["--parsable".to_string(), root.join(&script_rel).to_string_lossy().into_owned()];
    let output = Command::new("sbatch")
        .args(&sbatch_args)
        .output()
        .map_err(|e| anyhow::anyhow!("--slurm: cannot start sbatch: {e}; nothing was submitted"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_string();
    // --parsable prints `JOBID` or `JOBID;CLUSTER`.
    let job_id = stdout.split(';').next().unwrap_or("").trim().to_string();
    if !output.status.success() || job_id.is_empty() || !job_id.chars().all(|c| c.is_ascii_digit()) {
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
        anyhow::bail!(
            "--slurm: sbatch {} ({}): {}\nnothing was submitted; the batch script is {} and the sweep folder \
             can still run here with `ppdl sweep {}{}`",
            sbatch_args.join(" "),
            output.status,
            if stderr.is_empty() { format!("unexpected output `{stdout}`") } else { stderr },
            root.join(&script_rel).display(),
            file.display(),
            out.map(|o| format!(" --out {}", o.display())).unwrap_or_default()
        );
    }
    record.sweep = sweep.name.clone();
    record.submissions.push(Submission {
        job_id: job_id.clone(),
        submitted_at: crate::results::utc_timestamp_iso(),
        runs: todo.clone(),
        script: script_rel.clone(),
        sbatch_args,
    });
    crate::atomic::write_json(&record_path(&root), &record)?;
    println!(
        "ppdl sweep {} -> {}: {} runs ({} finished, {} still queued, {} submitted)",
        file.display(),
        root.display(),
        sweep.runs.len(),
        finished,
        queued.len(),
        todo.len()
    );
    println!(
        "submitted job array {job_id} (tasks {}, {} CPUs each{}); batch script {}",
        array_ranges(&todo),
        cpus,
        args.max_parallel.map(|k| format!(", at most {k} at once")).unwrap_or_default(),
        root.join(&script_rel).display()
    );
    println!("follow it: ppdl sweep status {0}; then: ppdl sweep collect {0}", root.display());
    Ok(())
}

/// Refuse a local sweep into a folder whose Slurm job still has queued or running tasks.
pub fn refuse_if_queued(root: &Path) -> anyhow::Result<()> {
    let record = read_record(root)?;
    if record.submissions.is_empty() {
        return Ok(());
    }
    let view = SlurmView::query(&record);
    let runs = load_runs(root).unwrap_or_default();
    let live: Vec<String> = (0..runs.len())
        .filter_map(|i| view.live_state(&record, i).map(|(job, state)| format!("{} ({job}_{i} {state})", runs[i].name)))
        .collect();
    if !live.is_empty() {
        return Err(InputError::new(format!(
            "{}: Slurm still holds {} runs of this sweep: {}; wait for them (ppdl sweep status {}) or scancel them \
             before running it here",
            root.display(),
            live.len(),
            live.join(", "),
            root.display()
        ))
        .into());
    }
    Ok(())
}

/// What Slurm says about this folder's jobs: live tasks from squeue, ended ones from scontrol.
#[derive(Debug, Default)]
pub struct SlurmView {
    /// squeue could be asked.
    pub available: bool,
    /// (job id, task) -> state (PENDING, RUNNING, ...).
    live: HashMap<(String, usize), String>,
    /// (job id, task) -> (state, exit code) of an ended task, while Slurm keeps it (MinJobAge).
    ended: HashMap<(String, usize), (String, String)>,
}

impl SlurmView {
    pub fn query(record: &JobRecord) -> SlurmView {
        let mut view = SlurmView { available: on_path("squeue"), ..Default::default() };
        if !view.available {
            return view;
        }
        for sub in &record.submissions {
            let job = &sub.job_id;
            // One line per array task (-r), pending ones included: `JOB_TASK|STATE`. An unknown (purged)
            // job is exit 1 with nothing on stdout: nothing of it is queued.
            if let Ok(o) = Command::new("squeue").args(["-h", "-r", "-j", job, "-o", "%i|%T"]).output() {
                // Any other failure (controller down, no permission) means Slurm cannot be asked now.
                if !o.status.success() && !String::from_utf8_lossy(&o.stderr).contains("Invalid job id") {
                    view.available = false;
                    return view;
                }
                for line in String::from_utf8_lossy(&o.stdout).lines() {
                    if let Some((id, state)) = line.trim().split_once('|') {
                        if let Some(task) = id.strip_prefix(&format!("{job}_")).and_then(|t| t.parse().ok()) {
                            view.live.insert((job.clone(), task), state.to_string());
                        }
                    }
                }
            }
            // One line per task record (-o): `... ArrayJobId=J ArrayTaskId=I ... JobState=S ... ExitCode=E ...`.
            if let Ok(o) = Command::new("scontrol").args(["-o", "show", "job", job]).output() {
                for line in String::from_utf8_lossy(&o.stdout).lines() {
                    let fields: HashMap<&str, &str> =
                        line.split_whitespace().filter_map(|w| w.split_once('=')).collect();
                    let task = fields.get("ArrayTaskId").and_then(|t| t.parse::<usize>().ok());
                    if let (Some(task), Some(state)) = (task, fields.get("JobState")) {
                        let exit = fields.get("ExitCode").unwrap_or(&"").to_string();
                        view.ended.insert((job.clone(), task), (state.to_string(), exit));
                    }
                }
            }
        }
        view
    }

    /// The latest submission of run `index`.
    fn submission(record: &JobRecord, index: usize) -> Option<&Submission> {
        record.submissions.iter().rev().find(|s| s.runs.contains(&index))
    }

    /// (job id, state) when run `index`'s latest task is still queued or running.
    pub fn live_state(&self, record: &JobRecord, index: usize) -> Option<(String, String)> {
        let sub = Self::submission(record, index)?;
        self.live.get(&(sub.job_id.clone(), index)).map(|s| (sub.job_id.clone(), s.clone()))
    }
}

/// A run's state in `ppdl sweep status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RunState {
    Finished,
    Running,
    Pending,
    Failed,
    /// Submitted, but Slurm cannot be asked from here (no squeue, or it fails) and the run has not finished.
    Submitted,
    NotSubmitted,
}

impl RunState {
    pub fn word(self) -> &'static str {
        match self {
            RunState::Finished => "finished",
            RunState::Running => "running",
            RunState::Pending => "pending",
            RunState::Failed => "failed",
            RunState::Submitted => "submitted",
            RunState::NotSubmitted => "not started",
        }
    }
}

fn read_task(root: &Path, index: usize) -> Option<TaskRecord> {
    serde_json::from_str(&std::fs::read_to_string(task_path(root, index)).ok()?).ok()
}

/// Run `index`'s state and a detail line (job task, host, start-up, error, log).
pub fn run_state(
    root: &Path,
    run: &SweepRun,
    index: usize,
    record: &JobRecord,
    view: &SlurmView,
) -> (RunState, String) {
    let task = read_task(root, index);
    let startup =
        task.as_ref().and_then(|t| t.startup_seconds).map(|s| format!(", start-up {s:.2} s")).unwrap_or_default();
    if is_finished(root, run) {
        let took = task.as_ref().and_then(|t| t.seconds).map(|s| format!("{s:.1} s")).unwrap_or_default();
        return (RunState::Finished, format!("{took}{startup}").trim_start_matches(", ").to_string());
    }
    let Some(sub) = SlurmView::submission(record, index) else {
        let detail = if RunFolder::new(root.join(&run.folder)).load_summary().is_ok() {
            "unfinished run folder (failed or interrupted)"
        } else {
            ""
        };
        return (if detail.is_empty() { RunState::NotSubmitted } else { RunState::Failed }, detail.into());
    };
    let id = format!("{}_{index}", sub.job_id);
    let log = root.join("slurm").join("logs").join(format!("{id}.err"));
    if let Some(state) = view.live.get(&(sub.job_id.clone(), index)) {
        let on = task.as_ref().and_then(|t| t.host.clone()).map(|h| format!(" on {h}")).unwrap_or_default();
        let s = if state == "PENDING" { RunState::Pending } else { RunState::Running };
        return (s, format!("job {id} {state}{on}"));
    }
    if !view.available {
        return (RunState::Submitted, format!("job {id} (cannot ask Slurm here: no squeue, or it failed)"));
    }
    let slurm = view
        .ended
        .get(&(sub.job_id.clone(), index))
        .map(|(state, exit)| format!(" {state} exit {exit}"))
        .unwrap_or_default();
    let why = task.and_then(|t| t.error).unwrap_or_else(|| "ended without a finished run".into());
    (RunState::Failed, format!("job {id}{slurm}: {why}; log {}", log.display()))
}

/// `ppdl sweep status DIR`.
pub fn status_command(root: &Path) -> anyhow::Result<()> {
    let runs = load_runs(root)?;
    let record = read_record(root)?;
    let view = SlurmView::query(&record);
    let width = runs.iter().map(|r| r.name.len()).max().unwrap_or(0).max(3);
    let mut counts: BTreeMap<RunState, usize> = BTreeMap::new();
    println!("{:<width$}  {:<13}  detail", "run", "state");
    for (i, run) in runs.iter().enumerate() {
        let (state, detail) = run_state(root, run, i, &record, &view);
        *counts.entry(state).or_default() += 1;
        println!("{:<width$}  {:<13}  {detail}", run.name, state.word());
    }
    if let Some(sub) = record.submissions.last() {
        let jobs: Vec<&str> = record.submissions.iter().map(|s| s.job_id.as_str()).collect();
        println!("slurm jobs: {} (latest submitted {})", jobs.join(", "), sub.submitted_at);
    }
    let parts: Vec<String> =
        [RunState::Running, RunState::Pending, RunState::Failed, RunState::Submitted, RunState::NotSubmitted]
            .iter()
            .filter_map(|s| counts.get(s).map(|n| format!("{n} {}", s.word())))
            .collect();
    println!(
        "{} finished of {} runs{}{}",
        counts.get(&RunState::Finished).copied().unwrap_or(0),
        runs.len(),
        if parts.is_empty() { "" } else { ", " },
        parts.join(", ")
    );
    Ok(())
}

/// `ppdl sweep run-one DIR INDEX`: one Slurm array task.
pub fn run_one_command(root: &Path, index: usize) -> anyhow::Result<()> {
    let start = Instant::now();
    let runs = load_runs(root)?;
    let Some(run) = runs.get(index) else {
        return Err(InputError::new(format!(
            "{}: no run {index} (the sweep has {} runs, 0 to {})",
            root.join("runs.json").display(),
            runs.len(),
            runs.len().saturating_sub(1)
        ))
        .into());
    };
    if is_finished(root, run) {
        println!("{}: already finished; nothing to do", run.name);
        return Ok(());
    }
    let path = config_path(root, index);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| InputError::in_file(&path, format!("cannot read the run's config: {e}")))?;
    let config = crate::validate::parse_config(&text, &path)?;
    let mut task = TaskRecord {
        index,
        run: run.name.clone(),
        job_id: std::env::var("SLURM_ARRAY_JOB_ID").ok(),
        host: std::env::var("SLURMD_NODENAME").ok(),
        started_at: crate::results::utc_timestamp_iso(),
        ..Default::default()
    };
    crate::atomic::write_json(&task_path(root, index), &task)?;
    let control = Arc::new(Control::default());
    crate::headless::install_interrupt_handler(&control);
    let before_run = start.elapsed();
    let baseline_from = run.baseline_from.as_ref().map(|f| root.join(f));
    let report = run_one(&config, &root.join(&run.folder), baseline_from.as_deref(), &control);
    task.finished_at = Some(crate::results::utc_timestamp_iso());
    task.startup_seconds = report.startup.map(|d| (before_run + d).as_secs_f64());
    task.seconds = Some(start.elapsed().as_secs_f64());
    task.error = report.result.as_ref().err().cloned();
    crate::atomic::write_json(&task_path(root, index), &task)?;
    match report.result {
        Ok(()) => {
            println!(
                "{}: finished in {:.1} s; start-up {} ({:.3} s reading the run list and config, {} data, keys \
                 and encoding)",
                run.name,
                start.elapsed().as_secs_f64(),
                task.startup_seconds.map_or("-".into(), |s| format!("{s:.2} s")),
                before_run.as_secs_f64(),
                report.startup.map_or("-".into(), |d| format!("{:.3} s", d.as_secs_f64())),
            );
            Ok(())
        }
        Err(e) if control.stop_requested() => Err(anyhow::Error::new(crate::error::Interrupted).context(format!(
            "run {} ({index}) interrupted (SIGTERM from a time limit or scancel, or Ctrl-C): {e}",
            run.name
        ))),
        Err(e) => anyhow::bail!("run {} ({index}) failed: {e}", run.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_ranges_compress_runs_of_indices() {
        assert_eq!(array_ranges(&[0, 1, 2, 3]), "0-3");
        assert_eq!(array_ranges(&[0, 2, 3, 4, 7, 9, 10]), "0,2-4,7,9-10");
        assert_eq!(array_ranges(&[5]), "5");
        assert_eq!(array_ranges(&[]), "");
    }

    #[test]
    fn batch_script_has_the_array_throttle_and_absolute_logs() {
        let args = SlurmArgs {
            slurm: true,
            partition: Some("debug".into()),
            time: Some("10:00".into()),
            cpus_per_task: None,
            max_parallel: Some(3),
        };
        let s = batch_script(
            "q",
            Path::new("/abs/sw eep"),
            Path::new("/work"),
            Path::new("/bin/ppdl"),
            &[0, 1, 4],
            2,
            &args,
        )
        .unwrap();
        for line in [
            "#SBATCH --array=0-1,4%3\n",
            "#SBATCH --output=\"/abs/sw eep/slurm/logs/%A_%a.out\"\n",
            "#SBATCH --error=\"/abs/sw eep/slurm/logs/%A_%a.err\"\n",
            "#SBATCH --chdir=\"/work\"\n",
            "#SBATCH --cpus-per-task=2\n",
            "#SBATCH --partition=debug\n",
            "#SBATCH --time=10:00\n",
            "exec '/bin/ppdl' sweep run-one '/abs/sw eep' \"$SLURM_ARRAY_TASK_ID\"\n",
        ] {
            assert!(s.contains(line), "{line} in\n{s}");
        }
        assert!(s.starts_with("#!/bin/bash\n"));
        let bad = batch_script("q", Path::new("/a\"b"), Path::new("/w"), Path::new("/p"), &[0], 1, &args);
        assert!(format!("{:#}", bad.unwrap_err()).contains("quote or newline"));
    }
}
