//! Image folders: `DIR/train/CLASS/*.png|jpg|jpeg` and `DIR/test/CLASS/*`, class names from the train
//! folder's subfolders (sorted). Every image is grayscale or every image is colour (RGB; alpha is
//! dropped), as the first one is; all have one size unless a resize is configured (then each is
//! resized to it with a triangle filter). Within a split the samples go round-robin over the classes
//! (file i of every class in turn, files sorted by name), so a limit keeps the classes balanced.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{ImageShape, Split};
use crate::error::InputError;

/// File extensions read as images (compared case-insensitively).
pub const EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// The sorted class folders of `DIR/train`.
pub fn class_names(dir: &Path) -> Result<Vec<String>> {
    let train = dir.join("train");
    let names: Vec<String> = sorted_entries(&train)?
        .into_iter()
        .filter(|p| p.is_dir())
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| !n.starts_with('.'))
        .collect();
    if names.len() < 2 || names.len() > 256 {
        return Err(InputError::in_file(
            &train,
            format!("holds {} class folders: expected 2 to 256 (train/CLASS/*.png)", names.len()),
        )
        .into());
    }
    Ok(names)
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let read = std::fs::read_dir(dir).map_err(|e| {
        InputError::in_file(
            dir,
            format!("cannot list the folder ({e}): expected train/CLASS/*.png and test/CLASS/*.png"),
        )
    })?;
    let mut out: Vec<PathBuf> = read.filter_map(|e| e.ok().map(|e| e.path())).collect();
    out.sort();
    Ok(out)
}

/// The image files of `split_dir/CLASS` for every class, round-robin over the classes.
fn files(split_dir: &Path, classes: &[String]) -> Result<Vec<(PathBuf, u8)>> {
    for entry in sorted_entries(split_dir)? {
        let name = entry.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if entry.is_dir() && !name.starts_with('.') && !classes.contains(&name) {
            return Err(InputError::in_file(
                &entry,
                format!("is not one of the classes of the train folder: expected one of {}", classes.join(", ")),
            )
            .into());
        }
    }
    let mut per_class = Vec::new();
    for (label, class) in classes.iter().enumerate() {
        let dir = split_dir.join(class);
        let mut list = Vec::new();
        if dir.is_dir() {
            for p in sorted_entries(&dir)? {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                if name.starts_with('.') {
                    continue;
                }
                let ext = p.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
                if !p.is_file() || !EXTENSIONS.contains(&ext.as_str()) {
                    return Err(InputError::in_file(&p, "expected a .png, .jpg or .jpeg image file").into());
                }
                list.push((p, label as u8));
            }
        }
        per_class.push(list);
    }
    let longest = per_class.iter().map(Vec::len).max().unwrap_or(0);
    let out: Vec<(PathBuf, u8)> =
        (0..longest).flat_map(|i| per_class.iter().filter_map(move |l| l.get(i).cloned())).collect();
    if out.is_empty() {
        return Err(InputError::in_file(split_dir, "holds no images: expected CLASS/*.png or CLASS/*.jpg").into());
    }
    Ok(out)
}

/// The first training image's shape (after `resize`): what the whole dataset will have.
pub fn peek_shape(dir: &Path, resize: Option<[usize; 2]>) -> Result<ImageShape> {
    let classes = class_names(dir)?;
    let (first, _) = files(&dir.join("train"), &classes)?.swap_remove(0);
    let (shape, _) = decode(&first, None, resize)?;
    Ok(shape)
}

/// Decodes one file into channel-last pixels; `expected` is the dataset's shape, set by the first image.
fn decode(path: &Path, expected: Option<ImageShape>, resize: Option<[usize; 2]>) -> Result<(ImageShape, Vec<u8>)> {
    let bytes = super::read_file(path)?;
    parse_image(&bytes, path, expected, resize)
}

/// [`decode`] on in-memory bytes; `path` is used in messages.
pub fn parse_image(
    bytes: &[u8],
    path: &Path,
    expected: Option<ImageShape>,
    resize: Option<[usize; 2]>,
) -> Result<(ImageShape, Vec<u8>)> {
    let format =
        image::guess_format(bytes).ok().filter(|f| matches!(f, image::ImageFormat::Png | image::ImageFormat::Jpeg));
    let Some(format) = format else {
        return Err(InputError::at_offset(path, 0, "expected a PNG or JPEG file (its signature is neither)").into());
    };
    let mut limits = image::io::Limits::default();
    limits.max_image_width = Some(16_384);
    limits.max_image_height = Some(16_384);
    limits.max_alloc = Some(1 << 30);
    let mut reader = image::io::Reader::with_format(std::io::Cursor::new(bytes), format);
    reader.limits(limits);
    let name = if format == image::ImageFormat::Png { "PNG" } else { "JPEG" };
    let img = reader.decode().map_err(|e| InputError::in_file(path, format!("cannot decode as {name}: {e}")))?;
    let colour = img.color().has_color();
    let channels = if colour { 3 } else { 1 };
    if let Some(want) = expected {
        if want.channels != channels {
            let (is, was) = if colour { ("colour", "grayscale") } else { ("grayscale", "colour") };
            return Err(InputError::in_file(
                path,
                format!("is {is} but the first training image is {was}: expected every image {was}"),
            )
            .into());
        }
    }
    let img = match resize {
        Some([h, w]) if (img.height() as usize, img.width() as usize) != (h, w) => {
            img.resize_exact(w as u32, h as u32, image::imageops::FilterType::Triangle)
        }
        _ => img,
    };
    let (height, width) = (img.height() as usize, img.width() as usize);
    if let Some(want) = expected {
        if (want.height, want.width) != (height, width) {
            return Err(InputError::in_file(
                path,
                format!(
                    "is {height}x{width} (height x width) but the first training image is {}x{}: expected one size \
                     (or set data.resize = [H, W])",
                    want.height, want.width
                ),
            )
            .into());
        }
    }
    let pixels = if colour { img.to_rgb8().into_raw() } else { img.to_luma8().into_raw() };
    Ok((ImageShape { height, width, channels }, pixels))
}

/// Both splits, the class names and the shape. Only the first `limit` files of each split are decoded.
pub fn load(
    dir: &Path,
    resize: Option<[usize; 2]>,
    train_limit: usize,
    test_limit: usize,
) -> Result<(Vec<String>, ImageShape, Split, Split)> {
    let classes = class_names(dir)?;
    let mut shape = None;
    let mut read = |split: &str, limit: usize| -> Result<Split> {
        let mut files = files(&dir.join(split), &classes)?;
        files.truncate(limit);
        let mut images = Vec::new();
        let mut labels = Vec::with_capacity(files.len());
        for (path, label) in files {
            let (s, px) = decode(&path, shape, resize)?;
            shape = Some(s);
            images.extend(px.iter().map(|&p| f32::from(p) / 255.0));
            labels.push(label);
        }
        let features = shape.map(|s| s.features()).unwrap_or(0);
        Ok(Split { images, labels, features })
    };
    let train = read("train", train_limit)?;
    let test = read("test", test_limit)?;
    let shape = shape.expect("a split with images sets the shape");
    Ok((classes, shape, train, test))
}
