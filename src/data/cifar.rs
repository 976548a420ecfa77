//! CIFAR-10 binary batches (`data_batch_1.bin` .. `data_batch_5.bin`, `test_batch.bin`).
//!
//! Each file is a sequence of 3,073-byte records: one label byte (0..=9), then the 32x32 red plane,
//! the green plane and the blue plane (1,024 bytes each, row-major). The loader converts each image to
//! channel-last (`(row * 32 + col) * 3 + channel`). The official files hold 10,000 records each, but
//! any whole number of records is accepted. A gzip-compressed batch (starting `1f 8b`) is accepted too;
//! offsets then refer to the decompressed data.

use std::path::Path;

use anyhow::Result;

use super::{gunzip_if_needed, is_gzip, offset_error, read_file, ImageShape};
use crate::error::InputError;

/// Bytes per record: 1 label + 3 * 32 * 32 pixels.
pub const RECORD_BYTES: usize = 1 + PIXELS_PER_IMAGE;
/// Bytes of pixel data per record.
pub const PIXELS_PER_IMAGE: usize = 3 * PLANE;
const PLANE: usize = 32 * 32;
/// 32x32 RGB.
pub const SHAPE: ImageShape = ImageShape { height: 32, width: 32, channels: 3 };
/// Number of classes (labels 0..=9).
pub const CLASSES: usize = 10;
/// The training batches, in the order they are concatenated.
pub const TRAIN_FILES: [&str; 5] =
    ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"];
/// The test batch.
pub const TEST_FILE: &str = "test_batch.bin";

/// Reads one batch file: channel-last pixels (`records * 3072` bytes) and labels.
pub fn read_batch(path: &Path) -> Result<(Vec<u8>, Vec<u8>)> {
    parse_batch(&read_file(path)?, path)
}

/// Parses one batch held in memory (raw or gzip); `path` is only used in messages.
/// Returns channel-last pixels (`records * 3072` bytes) and labels.
pub fn parse_batch(bytes: &[u8], path: &Path) -> Result<(Vec<u8>, Vec<u8>)> {
    let gz = is_gzip(bytes);
    let data = gunzip_if_needed(bytes, path)?;
    if data.is_empty() {
        return Err(anyhow::Error::new(InputError::in_file(
            path,
            format!(
                "file is empty: expected CIFAR-10 records of {RECORD_BYTES} bytes (1 label byte, 3072 pixel bytes)"
            ),
        )));
    }
    let records = data.len() / RECORD_BYTES;
    let rest = data.len() % RECORD_BYTES;
    if rest != 0 {
        let offset = records * RECORD_BYTES;
        return Err(offset_error(
            path,
            gz,
            offset as u64,
            format!(
                "incomplete record {records} (counting from 0): expected {RECORD_BYTES} bytes (1 label byte, \
                 1024 red, 1024 green, 1024 blue), found {rest}; the size {} is not a multiple of {RECORD_BYTES}",
                data.len()
            ),
        ));
    }
    let mut labels = Vec::with_capacity(records);
    let mut pixels = vec![0u8; records * PIXELS_PER_IMAGE];
    for (i, (record, out)) in data.chunks_exact(RECORD_BYTES).zip(pixels.chunks_exact_mut(PIXELS_PER_IMAGE)).enumerate()
    {
        let label = record[0];
        if usize::from(label) >= CLASSES {
            return Err(offset_error(
                path,
                gz,
                (i * RECORD_BYTES) as u64,
                format!("label {label} of record {i} (counting from 0) is out of range: expected 0..=9"),
            ));
        }
        labels.push(label);
        let planes = &record[1..];
        for (p, px) in out.chunks_exact_mut(3).enumerate() {
            px[0] = planes[p];
            px[1] = planes[PLANE + p];
            px[2] = planes[2 * PLANE + p];
        }
    }
    Ok((pixels, labels))
}
