//! `dataset = "npz"`: a NumPy `.npz` holding `x_train`, `y_train`, `x_test`, `y_test`.
//!
//! Images: uint8 (scaled by 1/255) or float32/float64 already in `[0, 1]`, shaped `(N, H, W)`,
//! `(N, H, W, C)` (layout `nhwc`) or `(N, C, H, W)` (layout `nchw`), C = 1 or 3. Labels: any integer
//! dtype, shape `(N,)`, values `0..classes` (classes = the configured names' count, else the largest
//! label + 1, at most 256). Other arrays in the archive are ignored.

use std::path::Path;

use anyhow::Result;

use super::load::Layout;
use super::npz::{self, Array};
use super::{Dataset, ImageShape, Split};
use crate::error::InputError;

/// The names of the four arrays.
pub const ARRAYS: [&str; 4] = ["x_train", "y_train", "x_test", "y_test"];

/// Reads the file and builds the dataset (name left empty for the caller).
pub fn load(path: &Path, layout: Layout, names: Option<&[String]>) -> Result<Dataset> {
    from_arrays(npz::read_npz(path)?, path, layout, names)
}

/// [`load`] on parsed arrays; `path` is used in messages.
pub fn from_arrays(
    arrays: Vec<(String, Array)>,
    path: &Path,
    layout: Layout,
    names: Option<&[String]>,
) -> Result<Dataset> {
    let get = |name: &str| -> Result<&Array> {
        arrays.iter().find(|(n, _)| n == name).map(|(_, a)| a).ok_or_else(|| {
            let found: Vec<&str> = arrays.iter().map(|(n, _)| n.as_str()).collect();
            InputError::in_file(
                path,
                format!(
                    "has no array {name}: expected {} (found {})",
                    ARRAYS.join(", "),
                    if found.is_empty() { "none".to_string() } else { found.join(", ") }
                ),
            )
            .into()
        })
    };
    let entry = |name: &str, what: String| -> anyhow::Error {
        InputError::in_file(path, format!("entry {name}.npy: {what}")).into()
    };
    let (train_shape, train_x) = images(get("x_train")?, layout).map_err(|w| entry("x_train", w))?;
    let (test_shape, test_x) = images(get("x_test")?, layout).map_err(|w| entry("x_test", w))?;
    if test_shape != train_shape {
        return Err(entry(
            "x_test",
            format!("images are {test_shape:?} but x_train's are {train_shape:?}: expected the same shape"),
        ));
    }
    let limit = names.map_or(256, <[String]>::len);
    let train_y =
        labels(get("y_train")?, train_x.len() / train_shape.features(), limit).map_err(|w| entry("y_train", w))?;
    let test_y = labels(get("y_test")?, test_x.len() / test_shape.features(), limit).map_err(|w| entry("y_test", w))?;
    let (classes, class_names) = match names {
        Some(n) => (n.len(), n.to_vec()),
        None => {
            let n = train_y.iter().chain(&test_y).map(|&l| usize::from(l) + 1).max().unwrap_or(0);
            if n < 2 {
                return Err(entry("y_train", "every label is 0: expected at least 2 classes".into()));
            }
            (n, Vec::new())
        }
    };
    let features = train_shape.features();
    Ok(Dataset {
        name: String::new(),
        shape: train_shape,
        classes,
        class_names,
        train: Split { images: train_x, labels: train_y, features },
        test: Split { images: test_x, labels: test_y, features },
    })
}

/// The images of one array, channel-last, in `[0, 1]`. Err(what was expected).
fn images(a: &Array, layout: Layout) -> Result<(ImageShape, Vec<f32>), String> {
    let (n, shape) = match (a.shape.as_slice(), layout) {
        (&[n, h, w], _) => (n, ImageShape { height: h, width: w, channels: 1 }),
        (&[n, h, w, c], Layout::Nhwc) => (n, ImageShape { height: h, width: w, channels: c }),
        (&[n, c, h, w], Layout::Nchw) => (n, ImageShape { height: h, width: w, channels: c }),
        (s, _) => {
            return Err(format!(
                "shape {s:?}: expected (N, H, W) or {} ",
                if layout == Layout::Nhwc { "(N, H, W, C) (layout nhwc)" } else { "(N, C, H, W) (layout nchw)" }
            ))
        }
    };
    if n == 0 || shape.height == 0 || shape.width == 0 || !matches!(shape.channels, 1 | 3) {
        return Err(format!("shape {:?}: expected at least one image, H, W >= 1 and 1 or 3 channels", a.shape));
    }
    let scale = match a.dtype {
        npz::DType::U8 => 1.0 / 255.0,
        npz::DType::F32 | npz::DType::F64 => 1.0,
        d => return Err(format!("dtype {}: expected uint8 (|u1) or float (<f4, <f8) pixels", d.descr())),
    };
    let (h, w, c) = (shape.height, shape.width, shape.channels);
    let mut out = vec![0f32; a.len()];
    for (i, slot) in out.iter_mut().enumerate() {
        // `i` is the channel-last index; find the source index in the array's own layout.
        let src = match layout {
            Layout::Nchw if c > 1 => {
                let (img, rest) = (i / (h * w * c), i % (h * w * c));
                let (pixel, ch) = (rest / c, rest % c);
                img * h * w * c + ch * h * w + pixel
            }
            _ => i,
        };
        let v = a.get_f64(src) * scale;
        if !(0.0..=1.0).contains(&v) {
            return Err(format!(
                "element {src} (counting from 0, in the array's own order) is {}: expected pixels in [0, 1] for \
                 float arrays",
                a.get_f64(src)
            ));
        }
        *slot = v as f32;
    }
    Ok((shape, out))
}

/// The labels of one array. Err(what was expected).
fn labels(a: &Array, n: usize, limit: usize) -> Result<Vec<u8>, String> {
    if a.dtype.is_float() {
        return Err(format!("dtype {}: expected integer class labels", a.dtype.descr()));
    }
    if a.shape != [n] {
        return Err(format!("shape {:?}: expected ({n},), one label per image", a.shape));
    }
    (0..n)
        .map(|i| {
            let v = a.get_f64(i);
            if v >= 0.0 && v < limit as f64 {
                Ok(v as u8)
            } else {
                Err(format!("label {v} at index {i} is out of range: expected a class index 0..={}", limit - 1))
            }
        })
        .collect()
}
