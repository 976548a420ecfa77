//! The scikit-learn "digits" CSV (`sklearn/datasets/data/digits.csv.gz`): 1,797 images of 8x8.
//!
//! Plain text or gzip (detected by `1f 8b`), no header line, one sample per line with 65 comma-separated
//! integers: 64 pixels (0..=16, row-major 8x8), then the label (0..=9). Blank lines are skipped and a
//! trailing `\r` is ignored. Pixels are returned as their raw 0..=16 values; the loader divides by 16.
//!
//! There is no official train/test split. [`split_sizes`] fixes a deterministic one: the **last
//! `ceil(n / 5)` rows are the test split and the rest the training split** (no shuffling): for the
//! 1,797-row file, rows 1..=1,437 train and rows 1,438..=1,797 test.

use std::path::Path;

use anyhow::Result;

use super::{gunzip_if_needed, read_file, ImageShape};
use crate::error::InputError;

/// 8x8 grey-scale.
pub const SHAPE: ImageShape = ImageShape { height: 8, width: 8, channels: 1 };
/// Largest pixel value.
pub const MAX_PIXEL: u8 = 16;
/// Number of classes (labels 0..=9).
pub const CLASSES: usize = 10;
/// Columns per line: 64 pixels and the label.
pub const COLUMNS: usize = 65;
/// File names looked for in a digits folder, in order.
pub const FILE_NAMES: [&str; 2] = ["digits.csv.gz", "digits.csv"];
/// Rows of the scikit-learn file.
pub const ROWS: usize = 1797;

/// `(train, test)` sizes of the fixed split of a file of `rows` samples: the last `ceil(rows / 5)` rows
/// are the test split. `split_sizes(1797) == (1437, 360)`.
pub fn split_sizes(rows: usize) -> (usize, usize) {
    let test = rows.div_ceil(5);
    (rows - test, test)
}

/// Reads a digits CSV (plain or gzip): raw pixels (0..=16, 64 per sample) and labels.
pub fn read_csv(path: &Path) -> Result<(Vec<u8>, Vec<u8>)> {
    parse_csv(&read_file(path)?, path)
}

/// Parses a digits CSV held in memory (plain or gzip); `path` is only used in messages.
/// Returns raw pixels (0..=16, 64 per sample) and labels.
pub fn parse_csv(bytes: &[u8], path: &Path) -> Result<(Vec<u8>, Vec<u8>)> {
    let data = gunzip_if_needed(bytes, path)?;
    let err = |msg: String| anyhow::Error::new(InputError::in_file(path, msg));
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for (index, raw_line) in data.split(|&b| b == b'\n').enumerate() {
        let line_no = index + 1;
        let raw_line = raw_line.strip_suffix(b"\r").unwrap_or(raw_line);
        let line = std::str::from_utf8(raw_line).map_err(|e| {
            err(format!(
                "line {line_no}, byte {} of the line: not valid UTF-8 text; expected {COLUMNS} comma-separated integers",
                e.valid_up_to() + 1
            ))
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != COLUMNS {
            return Err(err(format!(
                "line {line_no}: expected {COLUMNS} comma-separated columns (64 pixels 0..=16, then the label \
                 0..=9), found {}",
                fields.len()
            )));
        }
        for (c, field) in fields.iter().enumerate() {
            let column = c + 1;
            let (max, what) = if c < 64 { (MAX_PIXEL, "a pixel value") } else { (9, "a label") };
            let value = field.trim().parse::<u8>().ok().filter(|&v| v <= max);
            let Some(value) = value else {
                let hint = if line_no == 1 && c == 0 && field.trim().parse::<f64>().is_err() {
                    " (the file must have no header line)"
                } else {
                    ""
                };
                return Err(err(format!(
                    "line {line_no}, column {column}: expected {what}, an integer 0..={max}, found {:?}{hint}",
                    shorten(field.trim())
                )));
            };
            if c < 64 {
                pixels.push(value);
            } else {
                labels.push(value);
            }
        }
    }
    if labels.is_empty() {
        return Err(err(format!(
            "no samples: expected lines of {COLUMNS} comma-separated integers (64 pixels, then the label)"
        )));
    }
    Ok((pixels, labels))
}

fn shorten(s: &str) -> String {
    const MAX: usize = 24;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        format!("{}...", s.chars().take(MAX).collect::<String>())
    }
}
