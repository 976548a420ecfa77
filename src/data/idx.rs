//! IDX files (the MNIST / Fashion-MNIST format), raw or gzip-compressed.
//!
//! Images: big-endian `u32` magic `0x00000803`, `u32` count, `u32` rows, `u32` cols, then
//! `count * rows * cols` pixel bytes, row-major. Labels: magic `0x00000801`, `u32` count, then `count`
//! label bytes. A file that starts with `1f 8b` is gunzipped first; byte offsets in error messages then
//! refer to the decompressed data (and say so).
//!
//! Every problem with a file is an [`InputError`](crate::error::InputError) naming the file, the byte
//! offset and what was expected. Parsing never panics, and the counts in a header are checked against
//! the actual length before anything is allocated from them.

use std::path::Path;

use anyhow::Result;

use super::{gunzip_if_needed, is_gzip, offset_error, read_file, ImageShape};
use crate::error::InputError;

/// Magic number of an IDX file of unsigned bytes with 3 dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with 1 dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Header size of an images file: magic, count, rows, cols.
pub const IMAGES_HEADER_BYTES: usize = 16;
/// Header size of a labels file: magic, count.
pub const LABELS_HEADER_BYTES: usize = 8;

/// Reads an IDX images file (raw or gzip): the shape (`channels == 1`) and `count * rows * cols` pixels.
pub fn read_images(path: &Path) -> Result<(ImageShape, Vec<u8>)> {
    parse_images(&read_file(path)?, path)
}

/// The image shape in an IDX images file's header, reading only its first 16 (decompressed) bytes.
pub fn peek_shape(path: &Path) -> Result<ImageShape> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| InputError::in_file(path, format!("cannot read file: {e}")))?;
    let mut start = Vec::new();
    file.take(2).read_to_end(&mut start).map_err(|e| InputError::in_file(path, format!("cannot read file: {e}")))?;
    let file = std::fs::File::open(path).map_err(|e| InputError::in_file(path, format!("cannot read file: {e}")))?;
    let mut header = Vec::new();
    let read = if is_gzip(&start) {
        flate2::read::MultiGzDecoder::new(file).take(IMAGES_HEADER_BYTES as u64).read_to_end(&mut header)
    } else {
        file.take(IMAGES_HEADER_BYTES as u64).read_to_end(&mut header)
    };
    read.map_err(|e| InputError::in_file(path, format!("cannot read the IDX header: {e}")))?;
    let field = |i: usize| header.get(4 * i..4 * i + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    match (field(0), field(2), field(3)) {
        (Some(IMAGES_MAGIC), Some(rows), Some(cols)) if rows > 0 && cols > 0 => {
            Ok(ImageShape { height: rows as usize, width: cols as usize, channels: 1 })
        }
        _ => Err(offset_error(
            path,
            is_gzip(&start),
            0,
            "expected an IDX images header (magic 0x00000803, count, rows >= 1, cols >= 1)",
        )),
    }
}

/// Reads an IDX labels file (raw or gzip). Label values are not range-checked here (see [`read_pair`]).
pub fn read_labels(path: &Path) -> Result<Vec<u8>> {
    parse_labels(&read_file(path)?, path)
}

/// Reads an images file and its labels file, and checks that the counts match and that every label is
/// below `classes`. Returns the shape, the pixels and the labels.
pub fn read_pair(images_path: &Path, labels_path: &Path, classes: usize) -> Result<(ImageShape, Vec<u8>, Vec<u8>)> {
    let images = read_file(images_path)?;
    let labels = read_file(labels_path)?;
    parse_pair(&images, images_path, &labels, labels_path, classes)
}

/// [`read_pair`] on in-memory bytes; the paths are only used in messages.
pub fn parse_pair(
    images: &[u8],
    images_path: &Path,
    labels: &[u8],
    labels_path: &Path,
    classes: usize,
) -> Result<(ImageShape, Vec<u8>, Vec<u8>)> {
    let (shape, pixels) = parse_images(images, images_path)?;
    let label_values = parse_labels(labels, labels_path)?;
    let n_images = pixels.len() / shape.features();
    if label_values.len() != n_images {
        return Err(anyhow::Error::new(InputError::in_file(
            labels_path,
            format!(
                "has {} labels but {} has {} images; expected one label per image",
                label_values.len(),
                images_path.display(),
                n_images
            ),
        )));
    }
    if let Some(i) = label_values.iter().position(|&l| usize::from(l) >= classes) {
        return Err(offset_error(
            labels_path,
            is_gzip(labels),
            (LABELS_HEADER_BYTES + i) as u64,
            format!(
                "label {} of sample {i} (counting from 0) is out of range: expected a class index 0..={}",
                label_values[i],
                classes.saturating_sub(1)
            ),
        ));
    }
    Ok((shape, pixels, label_values))
}

/// Parses an IDX images file held in memory (raw or gzip); `path` is only used in messages.
pub fn parse_images(bytes: &[u8], path: &Path) -> Result<(ImageShape, Vec<u8>)> {
    let gz = is_gzip(bytes);
    let data = gunzip_if_needed(bytes, path)?;
    let header = read_header(&data, path, gz, IMAGES_MAGIC, IMAGES_HEADER_BYTES)?;
    let (count, rows, cols) = (header[0], header[1], header[2]);
    if rows == 0 || cols == 0 {
        return Err(offset_error(
            path,
            gz,
            8,
            format!("image size is {rows}x{cols}: expected at least 1 row and 1 column"),
        ));
    }
    // u32^3 fits in u128; compare against the real length before allocating anything.
    let expected = u128::from(count) * u128::from(rows) * u128::from(cols);
    let found = (data.len() - IMAGES_HEADER_BYTES) as u128;
    check_body_len(
        path,
        gz,
        IMAGES_HEADER_BYTES,
        expected,
        found,
        &format!("pixel data ({count} images of {rows}x{cols})"),
    )?;
    let shape = ImageShape { height: rows as usize, width: cols as usize, channels: 1 };
    Ok((shape, strip_header(data, IMAGES_HEADER_BYTES)))
}

/// Parses an IDX labels file held in memory (raw or gzip); `path` is only used in messages.
pub fn parse_labels(bytes: &[u8], path: &Path) -> Result<Vec<u8>> {
    let gz = is_gzip(bytes);
    let data = gunzip_if_needed(bytes, path)?;
    let header = read_header(&data, path, gz, LABELS_MAGIC, LABELS_HEADER_BYTES)?;
    let count = header[0];
    let found = (data.len() - LABELS_HEADER_BYTES) as u128;
    check_body_len(path, gz, LABELS_HEADER_BYTES, u128::from(count), found, &format!("label data ({count} labels)"))?;
    Ok(strip_header(data, LABELS_HEADER_BYTES))
}

fn strip_header(data: std::borrow::Cow<'_, [u8]>, header: usize) -> Vec<u8> {
    match data {
        std::borrow::Cow::Owned(mut v) => {
            v.drain(..header);
            v
        }
        std::borrow::Cow::Borrowed(b) => b[header..].to_vec(),
    }
}

fn kind_name(magic: u32) -> &'static str {
    match magic {
        IMAGES_MAGIC => "IDX images: unsigned bytes, 3 dimensions",
        LABELS_MAGIC => "IDX labels: unsigned bytes, 1 dimension",
        _ => "IDX",
    }
}

/// Checks the magic and returns the header fields after it (`(header_len - 4) / 4` of them).
fn read_header(data: &[u8], path: &Path, gz: bool, magic: u32, header_len: usize) -> Result<Vec<u32>> {
    let what = kind_name(magic);
    let short = if magic == IMAGES_MAGIC { "IDX images" } else { "IDX labels" };
    if data.len() >= 4 {
        let found = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
        if found != magic {
            let hint = match found {
                IMAGES_MAGIC => " (that is the magic of an IDX images file: is this the images file?)",
                LABELS_MAGIC => " (that is the magic of an IDX labels file: is this the labels file?)",
                _ if found >> 8 == 0x08 || found >> 8 == 0x09 => {
                    " (an IDX file of another element type or number of dimensions, which is not supported)"
                }
                _ => "",
            };
            return Err(offset_error(
                path,
                gz,
                0,
                format!("wrong magic number: expected 0x{magic:08x} ({what}), found 0x{found:08x}{hint}"),
            ));
        }
    }
    if data.len() < header_len {
        let fields = if header_len == IMAGES_HEADER_BYTES { "magic, count, rows, cols" } else { "magic, count" };
        return Err(offset_error(
            path,
            gz,
            data.len() as u64,
            format!(
                "header truncated: expected a {header_len}-byte {short} header ({fields}, big-endian u32 each), \
                 found only {} bytes",
                data.len()
            ),
        ));
    }
    Ok(data[4..header_len].chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])).collect())
}

fn check_body_len(path: &Path, gz: bool, header: usize, expected: u128, found: u128, what: &str) -> Result<()> {
    if found < expected {
        return Err(offset_error(
            path,
            gz,
            header as u64 + found as u64,
            format!(
                "data truncated: expected {expected} bytes of {what} after the {header}-byte header, found {found}"
            ),
        ));
    }
    if found > expected {
        // expected < found <= usize::MAX here
        return Err(offset_error(
            path,
            gz,
            header as u64 + expected as u64,
            format!(
                "{} bytes of trailing garbage: expected the file to end after the {expected} bytes of {what} \
                 that the header declares",
                found - expected
            ),
        ));
    }
    Ok(())
}
