//! Command-line interface (clap).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "ppdl", version, about = "Privacy-preserving deep learning without cryptography: a terminal workbench")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train the baseline and the keyed (private) model side by side, headless, from a TOML config.
    Run {
        /// Experiment config (see configs/).
        config: PathBuf,
        /// Run folder to create (default: OUTPUT_DIR/NAME-TIMESTAMP).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check a config and print it with every default filled in.
    Validate { config: PathBuf },
    /// Open the interactive workbench (also what `ppdl` with no arguments does).
    Tui {
        /// Folder of experiment configs (searched recursively for *.toml).
        #[arg(long, default_value = "configs")]
        configs: PathBuf,
    },
}

/// Run the parsed command; returns the process exit code on success.
pub fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::Run { config, out }) => {
            crate::headless::run(&config, out.as_deref())?;
            Ok(())
        }
        Some(Command::Validate { config }) => {
            let cfg = crate::config::Config::load(&config)?;
            println!("# {}: valid", config.display());
            print!("{}", cfg.to_toml());
            Ok(())
        }
        Some(Command::Tui { configs }) => crate::tui::run(&configs),
        None => crate::tui::run(std::path::Path::new("configs")),
    }
}
