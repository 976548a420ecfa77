//! Command-line interface (clap).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "ppdl",
    version,
    about = "Privacy-preserving deep learning without cryptography: a terminal workbench"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a config's arms (the baseline, keyed and split arms) side by side, headless, from a TOML config.
    Run {
        /// Experiment config (see configs/).
        config: PathBuf,
        /// Run folder to create (default: OUTPUT_DIR/NAME-TIMESTAMP).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        overrides: OverrideArgs,
    },
    /// Check a config and print it with every default filled in, which attacks will run, and a
    /// warning (with the fetch command) when its dataset's files are not there.
    Validate {
        config: PathBuf,
        #[command(flatten)]
        overrides: OverrideArgs,
    },
    /// Run a sweep: a base config, axes of values for config paths (grid or zip) and repeats (seeds),
    /// each run in its own folder of one sweep folder, then sweep.csv / sweep.json with n, mean, sd and
    /// 95% intervals per cell and arm. A second invocation skips finished runs. With --slurm, the
    /// unfinished runs go to a Slurm job array instead; `sweep status` / `sweep collect` follow it.
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Sweep {
        #[command(subcommand)]
        action: Option<crate::sweep::SweepAction>,
        /// Sweep file (see configs/sweeps/).
        #[arg(required = true)]
        sweep: Option<PathBuf>,
        /// Runs at a time (default: the cores divided by the threads one run uses, at least 1).
        #[arg(long, conflicts_with = "slurm")]
        jobs: Option<usize>,
        /// Sweep folder (default: OUTPUT_DIR/sweep-NAME, from the base config's output.dir).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        slurm: crate::sweep::slurm::SlurmArgs,
    },
    /// Re-run the attack-resistance analyses on a saved run (no retraining), rewrite attacks.json, and
    /// regenerate the run's figures and report.md (or say they are stale when `output.figures` is off).
    Attack {
        /// A run folder written by `ppdl run`.
        run_dir: PathBuf,
        #[arg(long, help = crate::attacks::registry::only_help())]
        only: Option<String>,
        /// Attack only this arm (default: every protected arm of the run: keyed, split, InstaHide).
        #[arg(long)]
        arm: Option<String>,
    },
    /// Open the interactive workbench (also what `ppdl` with no arguments does).
    Tui {
        /// Folder of experiment configs (searched recursively for *.toml).
        #[arg(long, default_value = "configs")]
        configs: PathBuf,
    },
    /// Print a markdown table of saved runs' headline figures and status (from their summary.json).
    Summarize {
        /// Run folders, or folders holding run folders (e.g. `results`).
        #[arg(required = true)]
        run_dirs: Vec<PathBuf>,
        /// Tabulate the measured costs (overhead.json) instead of the accuracies.
        #[arg(long)]
        overhead: bool,
        /// Tabulate the attack verdicts (attacks.json): one row per attack, one column per run.
        #[arg(long, conflicts_with = "overhead")]
        attacks: bool,
    },
    /// Regenerate every figure (RUN_DIR/figures/*.png and *.svg) and RUN_DIR/report.md from saved
    /// results, without retraining. With several run folders (or --out), also write the cross-run
    /// privacy/utility scatter (tradeoff.png, .svg, .md) into --out (default: the current folder).
    /// A sweep folder gets its own figures (delta per axis, frontier) and report.md.
    Plot {
        /// Run folders, or folders holding run folders (e.g. `results`).
        #[arg(required = true)]
        run_dirs: Vec<PathBuf>,
        /// Folder for the cross-run trade-off figure and table.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Sweep folder: the frontier's y, an attack's name or ATTACK:METRIC of sweep.json (default: the
        /// strongest reconstruction attack's headline).
        #[arg(long)]
        metric: Option<String>,
        /// Sweep folder: colour the frontier's points by this axis path (default: the first axis) or `arm`.
        #[arg(long)]
        group_by: Option<String>,
    },
    /// Inference protocol on a saved run: customer encodes the test set, provider serves its stored
    /// model, customer decodes; prints decoded accuracy against the run's recorded one (and, with
    /// per-sample noise, its spread over fresh noise draws) and bytes exchanged.
    Infer {
        run_dir: PathBuf,
        /// The keyed arm to serve (needed when the run has several).
        #[arg(long)]
        arm: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write a saved run's arrays for outside tools: the provider's view of a keyed arm (encoded inputs
    /// and code labels, no key), the customer's view (raw inputs, true labels) or an arm's samples.
    Export {
        run_dir: PathBuf,
        #[arg(long, value_enum)]
        what: crate::export::What,
        /// The arm: a keyed one for the provider view, a keyed or split one for samples (needed when the run has several).
        #[arg(long)]
        arm: Option<String>,
        #[arg(long, value_enum, default_value = "npz")]
        format: crate::export::Format,
        #[arg(long)]
        out: PathBuf,
    },
    /// The data owner as its own process: make a key, encode the data for the provider, decode scores.
    #[command(subcommand)]
    Customer(crate::parties::CustomerCommand),
    /// The compute owner as its own process: train on a customer's package, score encoded inputs.
    #[command(subcommand)]
    Provider(crate::parties::ProviderCommand),
    /// Training throughput of ppdl's networks against the same networks in PyTorch (CPU), when
    /// `import torch` works; same data, batch, optimiser and threads.
    Bench(crate::overhead::bench::BenchArgs),
}

/// Changes to a config on the command line, applied before its full check.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OverrideArgs {
    /// Override a config field: PATH=VALUE, PATH dotted with list indices (train.epochs=3,
    /// arms.1.transforms.0.sigma=0.2); VALUE is TOML (a bare word is a string). Repeatable.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// The seed (same as --set seed=N).
    #[arg(long)]
    pub seed: Option<u64>,
    /// The run's name (default with overrides: the config's name and what changed, e.g. quickstart-epochs3-seed7).
    #[arg(long)]
    pub name: Option<String>,
}

impl OverrideArgs {
    /// Load `path` with these overrides applied and the run named.
    pub fn load(&self, path: &std::path::Path) -> anyhow::Result<crate::config::Config> {
        use crate::config::overrides::{derived_name, Override};
        let mut list = Vec::new();
        for arg in &self.set {
            list.push(Override::parse(arg).map_err(crate::error::InputError::new)?);
        }
        if let Some(seed) = self.seed {
            list.push(Override::new("seed", toml::Value::Integer(seed as i64), format!("--seed {seed}")));
        }
        let named = list.iter().any(|o| o.path == "name");
        let name = match &self.name {
            Some(n) => Some(n.clone()),
            None if !list.is_empty() && !named => {
                let base = crate::validate::load_config(path)?;
                Some(derived_name(&base.name, &list))
            }
            None => None,
        };
        if let Some(n) = name {
            list.push(Override::new("name", toml::Value::String(n.clone()), format!("--name {n}")));
        }
        crate::validate::load_config_with(path, &list)
    }
}

/// Run the parsed command; returns the process exit code on success.
pub fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::Run { config, out, overrides }) => {
            let cfg = overrides.load(&config)?;
            crate::headless::run(&config, &cfg, out.as_deref())?;
            Ok(())
        }
        Some(Command::Sweep { action, sweep, jobs, out, slurm }) => {
            crate::sweep::dispatch(action, sweep.as_deref(), jobs, out.as_deref(), &slurm)
        }
        Some(Command::Attack { run_dir, only, arm }) => {
            crate::headless::attack(&run_dir, only.as_deref(), arm.as_deref())
        }
        Some(Command::Validate { config, overrides }) => {
            let cfg = overrides.load(&config)?;
            println!("# {}: valid", config.display());
            println!("# attacks that will run after training: {}", crate::attacks::registry::describe(&cfg.attacks));
            for line in crate::attacks::registry::per_arm(&cfg) {
                println!("#   on {line}");
            }
            // The same check `ppdl run` makes before training, relative to the current folder.
            if let Err(e) = crate::data::load::check_present(cfg.data.dataset, cfg.data.dir.as_deref()) {
                println!("# warning: the data is missing, so `ppdl run` would stop here: {e:#}");
            }
            print!("{}", cfg.to_toml());
            Ok(())
        }
        Some(Command::Tui { configs }) => crate::tui::run(&configs),
        Some(Command::Export { run_dir, what, arm, format, out }) => {
            let r = crate::export::export(&run_dir, what, arm.as_deref(), format, &out)?;
            println!("wrote {}{}", out.display(), r.arm.map(|a| format!(" (arm `{a}`)")).unwrap_or_default());
            for (name, dtype, shape) in &r.arrays {
                println!("  {name:<24} {dtype} {shape:?}");
            }
            match r.digests_match {
                Some(true) => println!("  matches the provider's digests (provider/ARM/encoded-data.json)"),
                Some(false) => println!("  WARNING: differs from the provider's digests (data or key changed?)"),
                None => {}
            }
            Ok(())
        }
        Some(Command::Summarize { run_dirs, overhead, attacks }) => {
            let table = if attacks {
                crate::summarize::attacks_table
            } else if overhead {
                crate::summarize::overhead_table
            } else {
                crate::summarize::markdown_table
            };
            if let [dir] = run_dirs.as_slice() {
                if crate::sweep::is_sweep_folder(dir) && !overhead && !attacks {
                    print!("{}", crate::sweep::summarize(dir)?);
                    return Ok(());
                }
            }
            print!("{}", table(&run_dirs)?);
            Ok(())
        }
        Some(Command::Plot { run_dirs, out, metric, group_by }) => crate::plot::plot_command(
            &run_dirs,
            out.as_deref(),
            &crate::plot::sweep::SweepPlotOptions { metric, group_by },
        ),
        Some(Command::Infer { run_dir, arm, json }) => {
            let r = crate::infer::infer(&run_dir, arm.as_deref())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "inference round trip on {} test samples of {}, arm `{}`",
                    r.samples,
                    run_dir.display(),
                    r.arm
                );
                println!(
                    "  decoded accuracy        {:.2}% ({} the run's recorded {:.2}%)",
                    100.0 * r.accuracy,
                    if r.matches_run { "equals" } else { "differs from" },
                    100.0 * r.recorded_accuracy
                );
                if let Some(f) = &r.fresh_noise {
                    println!(
                        "  fresh noise, {} draws   mean {:.2}%, min {:.2}%, max {:.2}%",
                        f.accuracies.len(),
                        100.0 * f.mean,
                        100.0 * f.min,
                        100.0 * f.max
                    );
                }
                println!("  customer -> provider    {} bytes/sample", r.bytes_to_provider_per_sample);
                println!("  provider -> customer    {} bytes/sample", r.bytes_to_customer_per_sample);
                println!(
                    "  encode {:.4} s, provider forward {:.4} s, decode {:.4} s",
                    r.encode_seconds, r.provider_seconds, r.decode_seconds
                );
                println!("  {}", r.explanation);
            }
            Ok(())
        }
        Some(Command::Customer(cmd)) => crate::parties::customer_command(cmd),
        Some(Command::Provider(cmd)) => crate::parties::provider_command(cmd),
        Some(Command::Bench(args)) => {
            crate::overhead::bench::command(&args)?;
            Ok(())
        }
        None => crate::tui::run(std::path::Path::new("configs")),
    }
}
