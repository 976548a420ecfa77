//! The full check of an experiment config. `config` owns the schema and checks its own fields; the
//! parameters of input transforms and attacks belong to their registries (`scheme`, `attacks`), which
//! sit above config, so the check that needs both lives here, above them. Every front end loads configs
//! through this module.

use std::path::Path;

use crate::config::{field_error, Config};
use crate::error::InputError;
use crate::scheme::transforms;

/// Read, parse and fully check a config file.
pub fn load_config(path: &Path) -> anyhow::Result<Config> {
    let text =
        std::fs::read_to_string(path).map_err(|e| InputError::in_file(path, format!("cannot read config: {e}")))?;
    parse_config(&text, path)
}

/// Parse and fully check config text, and fill every transform parameter and attack parameter table
/// with its defaults (as `ppdl validate` shows it); `path` is only used in messages.
pub fn parse_config(text: &str, path: &Path) -> anyhow::Result<Config> {
    let mut config = Config::parse_fields(text, path)?;
    let bad = |(field, expected): (String, String)| field_error(text, path, &field, &expected);
    check(&config).map_err(bad)?;
    transforms::resolve_config_transforms(&mut config);
    config.attacks = crate::attacks::registry::resolve(&config.attacks).map_err(bad)?;
    Ok(config)
}

/// Every check of a parsed config (the TUI form runs it on each edit). Err((field path, what was
/// expected)).
pub fn check(config: &Config) -> Result<(), (String, String)> {
    config.validate_fields()?;
    transforms::check_config_transforms(config)?;
    crate::attacks::registry::check(&config.attacks)?;
    Ok(())
}

