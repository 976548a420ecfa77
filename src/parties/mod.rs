//! The two parties as separate processes that exchange files (README "Two parties, two processes"):
//! `ppdl customer keygen | encode | decode` and `ppdl provider train | predict`. The same protocol
//! types as inside a run (`scheme::protocol`) cross the boundary as files: the customer's
//! [`package`] (encoded inputs, output codes, a manifest without secrets), the provider's model folder
//! and its scores. This module parses the subcommands and prints; [`customer`] and [`provider`] do the
//! work.

pub mod customer;
pub mod package;
pub mod provider;

use std::path::PathBuf;

use clap::Subcommand;

use crate::config::{Arch, OptimizerKind, TrainConfig};
use crate::data::arrays::ArrayFormat;
use crate::train::{Event, MetricSplit};

#[derive(Debug, Subcommand)]
pub enum CustomerCommand {
    /// Make a secret key for one keyed arm of a config (its fixed_key if it has one), mode 0600; the
    /// key file records the resolved config, so encode and decode need only the key.
    Keygen {
        config: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// The keyed arm (needed when the config has several).
        #[arg(long)]
        arm: Option<String>,
        /// Replace an existing key file.
        #[arg(long)]
        force: bool,
    },
    /// Encode the key's dataset (training set with output codes, test inputs) into the provider's package.
    Encode {
        key: PathBuf,
        /// Package folder to write (manifest.json, train.npz, test.npz).
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value = "npz")]
        format: ArrayFormat,
        /// Replace a package already in the folder.
        #[arg(long)]
        force: bool,
    },
    /// Decode the provider's scores into classes with the key; accuracy against the true labels (by
    /// default the test split of the key's dataset).
    Decode {
        key: PathBuf,
        /// Scores file written by `ppdl provider predict`.
        scores: PathBuf,
        /// True labels: an array file with `y_test` or `y` (default: the key's dataset's test split).
        #[arg(long, conflicts_with = "no_labels")]
        labels: Option<PathBuf>,
        /// Decode only (the scores are for inputs without known labels).
        #[arg(long)]
        no_labels: bool,
        /// Write the predicted classes (`y_pred`) and class probabilities (`probs`) here.
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "npz")]
        format: ArrayFormat,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProviderCommand {
    /// Train a model on a customer's package (encoded inputs and output codes); no key involved.
    Train {
        /// Package folder written by `ppdl customer encode`.
        dir: PathBuf,
        #[arg(long, value_parser = parse_arch)]
        arch: Arch,
        #[arg(long)]
        epochs: usize,
        #[arg(long, default_value_t = TrainConfig::default().batch_size)]
        batch_size: usize,
        #[arg(long, default_value_t = TrainConfig::default().learning_rate)]
        learning_rate: f64,
        /// adam | sgd
        #[arg(long, value_parser = parse_optimizer, default_value = "adam")]
        optimizer: OptimizerKind,
        #[arg(long, default_value_t = TrainConfig::default().lr_decay)]
        lr_decay: f64,
        #[arg(long, default_value_t = TrainConfig::default().weight_decay)]
        weight_decay: f64,
        #[arg(long, default_value_t = TrainConfig::default().momentum)]
        momentum: f64,
        /// Initialisation and batch order (a run's `seed`).
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Model folder to write (model.safetensors, model.json).
        #[arg(long)]
        out: PathBuf,
    },
    /// Score encoded inputs with a trained model: scores over output codes, for the customer to decode.
    Predict {
        /// Model folder written by `ppdl provider train`.
        model_dir: PathBuf,
        /// A package folder (its test inputs) or an array file with `x_test` or `x`.
        encoded: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value = "npz")]
        format: ArrayFormat,
    },
}

fn parse_arch(s: &str) -> Result<Arch, String> {
    Arch::ALL.into_iter().find(|a| a.name() == s).ok_or_else(|| {
        let names: Vec<&str> = Arch::ALL.iter().map(|a| a.name()).collect();
        format!("expected one of {}{}", names.join(", "), crate::error::did_you_mean(s, names.iter().copied()))
    })
}

fn parse_optimizer(s: &str) -> Result<OptimizerKind, String> {
    match s {
        "adam" => Ok(OptimizerKind::Adam),
        "sgd" => Ok(OptimizerKind::Sgd),
        _ => Err("expected adam or sgd".into()),
    }
}

/// `ppdl customer ...`
pub fn customer_command(cmd: CustomerCommand) -> anyhow::Result<()> {
    match cmd {
        CustomerCommand::Keygen { config, out, arm, force } => {
            let r = customer::keygen(&config, arm.as_deref(), &out, force)?;
            println!(
                "wrote {} (mode 0600): key for arm `{}` of {} on {}, fingerprint {}{}",
                out.display(),
                r.arm,
                config.display(),
                r.dataset,
                r.fingerprint,
                if r.fixed { " (the config's fixed_key)" } else { " (a fresh secret)" }
            );
        }
        CustomerCommand::Encode { key, out, format, force } => {
            let r = customer::encode(&key, &out, format, force)?;
            let m = &r.manifest;
            println!(
                "wrote the provider's package {} (arm `{}`, {}): {} training and {} test samples, shape {}x{}x{}, {} output codes",
                out.display(),
                r.arm,
                r.dataset,
                m.train_samples,
                m.test_samples,
                m.shape.height,
                m.shape.width,
                m.shape.channels,
                m.outputs
            );
            for f in &r.files {
                println!("  {}", f.display());
            }
            println!("  hand this folder to the provider; the key file stays with you");
        }
        CustomerCommand::Decode { key, scores, labels, no_labels, out, format, json } => {
            let source = match (&labels, no_labels) {
                (Some(path), _) => customer::Labels::File(path),
                (None, true) => customer::Labels::None,
                (None, false) => customer::Labels::TestSplit,
            };
            let r = customer::decode(&key, &scores, source, out.as_deref().map(|p| (p, format)))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
                return Ok(());
            }
            println!(
                "decoded {} samples of {} (arm `{}`) into {} classes",
                r.samples,
                scores.display(),
                r.arm,
                r.classes
            );
            match (r.accuracy, r.accuracy_interval, &r.labels) {
                (Some(a), Some(i), Some(source)) => println!(
                    "  accuracy {:.2}% (95% interval {}, n = {}) against {source}",
                    100.0 * a,
                    i.points(),
                    r.samples
                ),
                _ => println!("  no true labels: no accuracy"),
            }
            println!("  predicted per class: {:?}", r.predicted_counts);
            if let Some(out) = &out {
                println!("  wrote {} (y_pred, probs)", out.display());
            }
        }
    }
    Ok(())
}

/// `ppdl provider ...`
pub fn provider_command(cmd: ProviderCommand) -> anyhow::Result<()> {
    match cmd {
        ProviderCommand::Train {
            dir,
            arch,
            epochs,
            batch_size,
            learning_rate,
            optimizer,
            lr_decay,
            weight_decay,
            momentum,
            seed,
            out,
        } => {
            let settings = TrainConfig {
                epochs,
                batch_size,
                learning_rate,
                optimizer,
                lr_decay,
                weight_decay,
                momentum,
                ..TrainConfig::default()
            };
            let mut last_train = None;
            let r = provider::train(&dir, arch, settings, seed, &out, |event| match event {
                Event::Metric(row) if row.split == MetricSplit::Train => last_train = Some((row.loss, row.accuracy)),
                Event::Metric(row) if row.split == MetricSplit::Test => {
                    if let Some((loss, acc)) = last_train {
                        println!(
                            "epoch {}/{epochs}: training loss {loss:.4}, accuracy over output codes {:.2}% \
                             (running figures of the epoch's last steps)",
                            row.epoch,
                            100.0 * acc
                        );
                    }
                }
                _ => {}
            })?;
            println!(
                "trained {} on {} encoded samples in {:.1} s ({:.0} samples/s); wrote {}",
                r.arch.name(),
                r.train_samples,
                r.train_seconds,
                r.samples_per_second,
                out.display()
            );
        }
        ProviderCommand::Predict { model_dir, encoded, out, format } => {
            let r = provider::predict(&model_dir, &encoded, &out, format)?;
            println!(
                "wrote {}: scores over {} output codes for {} samples ({:.3} s); the customer decodes them",
                r.out.display(),
                r.outputs,
                r.samples,
                r.seconds
            );
        }
    }
    Ok(())
}
