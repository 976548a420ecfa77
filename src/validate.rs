//! The full check of an experiment config. `config` owns the schema and checks its own fields; the
//! parameters of input transforms and attacks belong to their registries (`scheme`, `attacks`), which
//! sit above config, so the check that needs both lives here, above them. Every front end loads configs
//! through this module.

use std::path::Path;

use crate::config::overrides::{self, Override};
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

/// Read a config file, apply `overrides` to its document, then fully check the result.
pub fn load_config_with(path: &Path, overrides: &[Override]) -> anyhow::Result<Config> {
    let text =
        std::fs::read_to_string(path).map_err(|e| InputError::in_file(path, format!("cannot read config: {e}")))?;
    parse_config_with(&text, path, overrides)
}

/// [`parse_config`] after applying `overrides` (in order) to the document. The file itself must be
/// valid; an override of a field the file leaves out sets it (the schema's default is what it
/// replaces). Errors name the file and, for a field an override set, the override.
pub fn parse_config_with(text: &str, path: &Path, overrides: &[Override]) -> anyhow::Result<Config> {
    let base = parse_config(text, path)?;
    if overrides.is_empty() {
        return Ok(base);
    }
    let defaults: toml::Table = toml::from_str(&base.to_toml())?;
    let mut doc: toml::Table = toml::from_str(text)?;
    for o in overrides {
        overrides::apply(&mut doc, &defaults, o)
            .map_err(|e| InputError::in_file(path, format!("{}: {e}", o.origin)))?;
    }
    let changed = toml::to_string(&doc)?;
    parse_config(&changed, path).map_err(|e| blame_override(&e, text, path, overrides).into())
}

/// Rewrite an error about the overridden document: a field an override set names the override
/// (no line: the file does not hold that value); any other field gets its line in the file as written.
fn blame_override(err: &anyhow::Error, original: &str, path: &Path, overrides: &[Override]) -> InputError {
    let message = format!("{err:#}");
    let file = path.display().to_string();
    let rest = message.strip_prefix(&file).unwrap_or(&message);
    let rest = match rest.strip_prefix(':') {
        Some(r) if r.starts_with(|c: char| c.is_ascii_digit()) => r.trim_start_matches(|c: char| c.is_ascii_digit()),
        _ => rest,
    };
    let field = rest.split("field `").nth(1).and_then(|r| r.split('`').next()).unwrap_or("");
    let dotted = field.replace('[', ".").replace(']', "");
    let related = |o: &&Override| {
        dotted == o.path || dotted.starts_with(&format!("{}.", o.path)) || o.path.starts_with(&format!("{dotted}."))
    };
    match overrides.iter().rev().find(related) {
        Some(o) => InputError::new(format!("{file}{rest} (the value came from {})", o.origin)),
        None => match crate::config::find_field_line(original, field).filter(|_| !field.is_empty()) {
            Some(line) => InputError::new(format!("{file}:{line}{rest}")),
            None => InputError::new(format!("{file}{rest}")),
        },
    }
}

/// Every check of a parsed config (the TUI form runs it on each edit). Err((field path, what was
/// expected)).
pub fn check(config: &Config) -> Result<(), (String, String)> {
    config.validate_fields()?;
    check_split_arms(config)?;
    transforms::check_config_transforms(config)?;
    crate::attacks::registry::check(&config.attacks)?;
    Ok(())
}

/// Each split arm's `cut` and `tail` against the architecture's layers (`model::split`).
fn check_split_arms(config: &Config) -> Result<(), (String, String)> {
    for (i, arm) in config.arms().iter().enumerate() {
        if let Some(s) = arm.scheme.split() {
            crate::model::split::SplitPlan::new(config.arch_of(arm), s.cut, s.tail)
                .map_err(|(field, expected)| (format!("{}.{field}", config.arm_field(i)), expected))?;
        }
    }
    Ok(())
}
