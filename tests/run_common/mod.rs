//! What the end-to-end tests that run the `ppdl` binary on a shipped config share.
#![allow(dead_code)] // each test file uses only some of these

use std::path::Path;
use std::process::{Command, Output};

/// `ppdl ARGS` run from the repository root (so `configs/...` paths resolve).
pub fn ppdl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ppdl")).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap()
}

/// stdout and stderr together, for assertion messages.
pub fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}
