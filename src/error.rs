//! Error kinds that decide the process exit code.
//!
//! Everything a user can get wrong (config, data files, arguments, key files) is an [`InputError`]:
//! `main` prints it without a backtrace and exits with code 2. Anything else is a bug or an
//! environment failure and exits with code 1.

use std::fmt;
use std::path::Path;

/// A problem with what the user gave us: names the file, the field or byte offset, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub message: String,
}

impl InputError {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }

    /// `FILE: MESSAGE`
    pub fn in_file(path: &Path, message: impl fmt::Display) -> Self {
        Self::new(format!("{}: {}", path.display(), message))
    }

    /// `FILE: at byte OFFSET: MESSAGE`
    pub fn at_offset(path: &Path, offset: u64, message: impl fmt::Display) -> Self {
        Self::new(format!("{}: at byte {}: {}", path.display(), offset, message))
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for InputError {}

/// The candidate closest to `word` (Jaro-Winkler similarity above 0.75, ignoring case), for "did you
/// mean" hints on unknown field names and near-miss enum values.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&word, &c.to_lowercase()), c))
        .filter(|(score, _)| *score > 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// " (did you mean `NAME`?)" for the closest candidate, or "" when none is close.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, candidates).map(|c| format!(" (did you mean `{c}`?)")).unwrap_or_default()
}

/// Returned when the user interrupted (Ctrl-C); the process exits with 130.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// Exit code for an error chain: 2 for bad input, 130 for an interruption, 1 otherwise.
pub fn exit_code(err: &anyhow::Error) -> i32 {
    for cause in err.chain() {
        if cause.downcast_ref::<InputError>().is_some() {
            return 2;
        }
        if cause.downcast_ref::<Interrupted>().is_some() {
            return 130;
        }
    }
    1
}

/// Shorthand for returning an [`InputError`] from a function that returns `anyhow::Result`.
#[macro_export]
macro_rules! input_bail {
    ($($arg:tt)*) => {
        return Err(anyhow::Error::new($crate::error::InputError::new(format!($($arg)*))))
    };
}
