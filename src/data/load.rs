//! Loading a whole dataset by kind: [`load_dataset`]; [`check_present`] tells, without reading them,
//! whether its files are there (what `ppdl validate` warns about).
//!
//! | kind | default folder | files | split |
//! |---|---|---|---|
//! | `embedded` | (in the binary) | Fashion-MNIST subset, see [`super::embedded`] | 6,000 / 1,000 |
//! | `mnist` | `data/mnist` | `{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]` | 60,000 / 10,000 |
//! | `fashion-mnist` | `data/fashion-mnist` | same names as MNIST | 60,000 / 10,000 |
//! | `digits` | `data/digits` | `digits.csv.gz` or `digits.csv` | first 1,437 rows / last 360 rows |
//! | `cifar10` | `data/cifar10` | `data_batch_1..5.bin`, `test_batch.bin` | 50,000 / 10,000 |
//!
//! Default folders are relative to the current directory. For IDX files, the raw name is used when
//! both it and the `.gz` name exist. For CIFAR-10, a `cifar-10-batches-bin` subfolder (as the official
//! archive extracts) is also looked in. Digits has no official split: the fixed, unshuffled split puts
//! the last `ceil(n / 5)` rows in test (see [`digits::split_sizes`]). All datasets have 10 classes; pixels are scaled to `[0, 1]`
//! (`/255`, digits `/16`). Limits keep the first N samples of a split.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::Result;

use super::{cifar, digits, embedded, idx, image_folder, npz_dataset, Dataset, ImageShape, Split};
use crate::error::InputError;

/// Which dataset to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum DatasetKind {
    /// The Fashion-MNIST subset compiled into the binary (the default).
    #[serde(rename = "embedded")]
    Embedded,
    #[serde(rename = "mnist")]
    Mnist,
    #[serde(rename = "fashion-mnist")]
    FashionMnist,
    /// scikit-learn's 8x8 digits.
    #[serde(rename = "digits")]
    Digits,
    #[serde(rename = "cifar10")]
    Cifar10,
    /// Any IDX image/label set with the MNIST file names (`data.dir`, optional `data.classes`).
    #[serde(rename = "idx")]
    Idx,
    /// `train/CLASS/*.png|jpg` and `test/CLASS/*` ([`super::image_folder`]).
    #[serde(rename = "image-folder")]
    ImageFolder,
    /// A NumPy `.npz` with `x_train`, `y_train`, `x_test`, `y_test` ([`super::npz`]).
    #[serde(rename = "npz")]
    Npz,
}

impl DatasetKind {
    pub const ALL: [DatasetKind; 8] = [
        DatasetKind::Embedded,
        DatasetKind::Mnist,
        DatasetKind::FashionMnist,
        DatasetKind::Digits,
        DatasetKind::Cifar10,
        DatasetKind::Idx,
        DatasetKind::ImageFolder,
        DatasetKind::Npz,
    ];

    /// The kinds read by format from a user's `data.dir` (no preset shape, classes or folder).
    pub fn is_format(self) -> bool {
        matches!(self, DatasetKind::Idx | DatasetKind::ImageFolder | DatasetKind::Npz)
    }

    /// The name used in configs, on the command line and as `Dataset::name`.
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Embedded => "embedded",
            DatasetKind::Mnist => "mnist",
            DatasetKind::FashionMnist => "fashion-mnist",
            DatasetKind::Digits => "digits",
            DatasetKind::Cifar10 => "cifar10",
            DatasetKind::Idx => "idx",
            DatasetKind::ImageFolder => "image-folder",
            DatasetKind::Npz => "npz",
        }
    }

    /// The folder used when none is given (relative to the current directory); `None` for `embedded`
    /// and the format kinds, which need `data.dir`.
    pub fn default_dir(self) -> Option<PathBuf> {
        match self {
            DatasetKind::Embedded => None,
            DatasetKind::Mnist => Some(PathBuf::from("data/mnist")),
            DatasetKind::FashionMnist => Some(PathBuf::from("data/fashion-mnist")),
            DatasetKind::Digits => Some(PathBuf::from("data/digits")),
            DatasetKind::Cifar10 => Some(PathBuf::from("data/cifar10")),
            DatasetKind::Idx | DatasetKind::ImageFolder | DatasetKind::Npz => None,
        }
    }

    /// Image shape of a preset kind; `None` for the format kinds (see [`peek_shape`]).
    pub fn shape(self) -> Option<ImageShape> {
        match self {
            DatasetKind::Embedded | DatasetKind::Mnist | DatasetKind::FashionMnist => {
                Some(ImageShape { height: 28, width: 28, channels: 1 })
            }
            DatasetKind::Digits => Some(digits::SHAPE),
            DatasetKind::Cifar10 => Some(cifar::SHAPE),
            DatasetKind::Idx | DatasetKind::ImageFolder | DatasetKind::Npz => None,
        }
    }

    /// How to get the files, for messages.
    fn how_to_get(self, dir: &Path) -> String {
        match self {
            DatasetKind::Embedded => String::new(),
            DatasetKind::Mnist => format!(
                "fetch it with `scripts/fetch-data.sh mnist` (run from the repository root; it writes data/mnist), \
                 or use a folder holding {}",
                IDX_FILES.map(|f| format!("{f}[.gz]")).join(", ")
            ),
            DatasetKind::FashionMnist => format!(
                "fetch it with `scripts/fetch-data.sh fashion` (run from the repository root; it writes \
                 data/fashion-mnist), or use a folder holding {}",
                IDX_FILES.map(|f| format!("{f}[.gz]")).join(", ")
            ),
            DatasetKind::Digits => "fetch it with `scripts/fetch-data.sh digits` (run from the repository root; \
                 it writes data/digits/digits.csv.gz), or use a folder holding digits.csv.gz or digits.csv"
                .to_string(),
            DatasetKind::Cifar10 => format!(
                "CIFAR-10 cannot be fetched on this machine (no reachable package registry ships it): download \
                 the binary version (cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html) \
                 elsewhere and put {}, {} and {} into {} (or its subfolder cifar-10-batches-bin)",
                cifar::TRAIN_FILES[..4].join(", "),
                cifar::TRAIN_FILES[4],
                cifar::TEST_FILE,
                dir.display()
            ),
            DatasetKind::Idx => {
                format!("expected a folder holding {}", IDX_FILES.map(|f| format!("{f}[.gz]")).join(", "))
            }
            DatasetKind::ImageFolder => {
                "expected a folder holding train/CLASS/*.png|jpg and test/CLASS/*.png|jpg".to_string()
            }
            DatasetKind::Npz => "expected a NumPy .npz file holding x_train, y_train, x_test and y_test".to_string(),
        }
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DatasetKind {
    type Err = InputError;

    fn from_str(s: &str) -> Result<Self, InputError> {
        DatasetKind::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| {
            InputError::new(format!(
                "unknown dataset {s:?}: expected one of {}{}",
                DatasetKind::ALL.map(|k| k.name()).join(", "),
                crate::error::did_you_mean(s, DatasetKind::ALL.map(|k| k.name()))
            ))
        })
    }
}

/// Classes of every preset dataset kind.
pub const CLASSES: usize = 10;

/// Base names of the four IDX files: train images, train labels, test images, test labels.
pub const IDX_FILES: [&str; 4] =
    ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

/// How the numbers of an `.npz`'s image arrays are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// `(N, H, W, C)` (or `(N, H, W)` for one channel): NumPy's and TensorFlow's usual order.
    #[default]
    Nhwc,
    /// `(N, C, H, W)`: PyTorch's.
    Nchw,
}

/// What the format kinds take beyond the folder (the config's `[data]` fields); presets ignore it
/// except for `name`.
#[derive(Debug, Clone, Copy, Default)]
pub struct FormatOptions<'a> {
    /// The dataset's name in every output (default: the folder or file name; a preset's own name).
    pub name: Option<&'a str>,
    /// Class names (`idx`, `npz`); their count is the number of classes.
    pub classes: Option<&'a [String]>,
    /// `[height, width]` every image is resized to (`image-folder`).
    pub resize: Option<[usize; 2]>,
    /// `npz` image arrays' layout.
    pub layout: Layout,
}

/// Loads a preset dataset (see [`load_dataset_with`]).
pub fn load_dataset(
    kind: DatasetKind,
    dir: Option<&Path>,
    train_limit: Option<usize>,
    test_limit: Option<usize>,
) -> Result<Dataset> {
    load_dataset_with(kind, dir, train_limit, test_limit, FormatOptions::default())
}

/// Loads a dataset.
///
/// `dir` overrides the default folder (it must be `None` for `embedded`, and is needed by the format
/// kinds). `train_limit` / `test_limit` keep the first N samples of each split (all when N is larger);
/// a limit of 0 is an error. Every problem with the user's files or arguments is an [`InputError`].
pub fn load_dataset_with(
    kind: DatasetKind,
    dir: Option<&Path>,
    train_limit: Option<usize>,
    test_limit: Option<usize>,
    opts: FormatOptions<'_>,
) -> Result<Dataset> {
    for (name, limit) in [("train_limit", train_limit), ("test_limit", test_limit)] {
        if limit == Some(0) {
            return Err(anyhow::Error::new(InputError::new(format!(
                "{name} is 0: expected at least 1 sample per split (or no limit)"
            ))));
        }
    }
    let train_limit = train_limit.unwrap_or(usize::MAX);
    let test_limit = test_limit.unwrap_or(usize::MAX);
    let mut dataset = match locate(kind, dir)? {
        Located::Embedded => embedded::load()?,
        Located::Idx(paths) => load_idx(kind, paths, train_limit, test_limit, opts.classes)?,
        Located::Digits(path) => load_digits(&path)?,
        Located::Cifar(base) => load_cifar(&base, train_limit, test_limit)?,
        Located::ImageFolder(dir) => {
            let (class_names, shape, train, test) = image_folder::load(&dir, opts.resize, train_limit, test_limit)?;
            Dataset { name: String::new(), shape, classes: class_names.len(), class_names, train, test }
        }
        Located::Npz(path) => npz_dataset::load(&path, opts.layout, opts.classes)?,
    };
    dataset.name = dataset_name(kind, opts.name, dir);
    dataset.train = dataset.train.truncated(train_limit);
    dataset.test = dataset.test.truncated(test_limit);
    Ok(dataset)
}

/// The name a dataset goes by in every output: `data.name` when set, else a format dataset's folder
/// (or `.npz` file) name, else the preset's name. Also what the TUI lists for a config, before loading.
pub fn dataset_name(kind: DatasetKind, name: Option<&str>, dir: Option<&Path>) -> String {
    match (name, dir) {
        (Some(name), _) => name.to_string(),
        (None, Some(dir)) if kind.is_format() => source_name(dir),
        _ => kind.name().to_string(),
    }
}

/// The name a format dataset gets when `data.name` is not set: its folder's (or `.npz` file's) name.
pub fn source_name(dir: &Path) -> String {
    let stem = if dir.is_file() { dir.file_stem() } else { dir.file_name() };
    stem.map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| dir.display().to_string())
}

/// The image shape a dataset will have, reading as little as possible of its files (an IDX header,
/// the first image of a folder, an `.npz`'s arrays); presets know it without files.
pub fn peek_shape(kind: DatasetKind, dir: Option<&Path>, opts: FormatOptions<'_>) -> Result<ImageShape> {
    if let Some(shape) = kind.shape() {
        return Ok(shape);
    }
    Ok(match locate(kind, dir)? {
        Located::Idx(paths) => idx::peek_shape(&paths[0])?,
        Located::ImageFolder(dir) => image_folder::peek_shape(&dir, opts.resize)?,
        Located::Npz(path) => npz_dataset::load(&path, opts.layout, opts.classes)?.shape,
        _ => unreachable!("presets have a shape"),
    })
}

/// Checks, without reading them, that the files [`load_dataset`] needs for `kind` are in `dir` (the
/// default folder when `None`). The error is the one a run would stop with: what is missing, where,
/// and how to get it (the fetch command). `embedded` is always present.
pub fn check_present(kind: DatasetKind, dir: Option<&Path>) -> Result<()> {
    locate(kind, dir).map(|_| ())
}

/// Where a dataset's files are.
enum Located {
    Embedded,
    /// Train images, train labels, test images, test labels.
    Idx([PathBuf; 4]),
    Digits(PathBuf),
    /// The folder holding the CIFAR-10 batch files.
    Cifar(PathBuf),
    ImageFolder(PathBuf),
    Npz(PathBuf),
}

/// Finds every file the loader of `kind` needs, or says what is missing and how to get it.
fn locate(kind: DatasetKind, dir: Option<&Path>) -> Result<Located> {
    if kind == DatasetKind::Embedded {
        if let Some(dir) = dir {
            return Err(anyhow::Error::new(InputError::new(format!(
                "dataset \"embedded\" is built into the program and reads no folder, but the folder {} was \
                 given: expected no folder, or another dataset ({})",
                dir.display(),
                DatasetKind::ALL[1..].iter().map(|k| k.name()).collect::<Vec<_>>().join(", ")
            ))));
        }
        return Ok(Located::Embedded);
    }
    let default = kind.default_dir();
    let Some(dir) = dir.or(default.as_deref()) else {
        return Err(anyhow::Error::new(InputError::new(format!(
            "dataset \"{}\" needs data.dir: {}",
            kind.name(),
            kind.how_to_get(Path::new("."))
        ))));
    };
    if kind == DatasetKind::Npz {
        if !dir.is_file() {
            let what = if dir.exists() { "is not a file" } else { "not found" };
            return Err(anyhow::Error::new(InputError::in_file(dir, format!("{what}: {}", kind.how_to_get(dir)))));
        }
        return Ok(Located::Npz(dir.to_path_buf()));
    }
    check_dir(kind, dir)?;
    Ok(match kind {
        DatasetKind::Mnist | DatasetKind::FashionMnist | DatasetKind::Idx => {
            let [a, b, c, d] = IDX_FILES.map(|base| find_idx(kind, dir, base));
            Located::Idx([a?, b?, c?, d?])
        }
        DatasetKind::Digits => Located::Digits(find_digits(dir)?),
        DatasetKind::Cifar10 => Located::Cifar(find_cifar(dir)?),
        DatasetKind::ImageFolder => {
            for split in ["train", "test"] {
                if !dir.join(split).is_dir() {
                    return Err(anyhow::Error::new(InputError::new(format!(
                        "{}: missing folder {split}/ in dataset folder {} (dataset \"image-folder\"); {}",
                        dir.join(split).display(),
                        dir.display(),
                        kind.how_to_get(dir)
                    ))));
                }
            }
            Located::ImageFolder(dir.to_path_buf())
        }
        DatasetKind::Embedded | DatasetKind::Npz => unreachable!("handled above"),
    })
}

/// `pixels[i] / max` as `f32`.
pub fn scale_pixels(pixels: &[u8], max: u8) -> Vec<f32> {
    let max = f32::from(max);
    pixels.iter().map(|&p| f32::from(p) / max).collect()
}

fn check_dir(kind: DatasetKind, dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let what = if dir.exists() { "is not a folder" } else { "not found" };
    Err(anyhow::Error::new(InputError::new(format!(
        "dataset folder {} {what} (dataset \"{}\"); {}",
        dir.display(),
        kind.name(),
        kind.how_to_get(dir)
    ))))
}

/// `dir/base` if it exists, else `dir/base.gz`, else an error.
fn find_idx(kind: DatasetKind, dir: &Path, base: &str) -> Result<PathBuf> {
    let raw = dir.join(base);
    if raw.is_file() {
        return Ok(raw);
    }
    let gz = dir.join(format!("{base}.gz"));
    if gz.is_file() {
        return Ok(gz);
    }
    Err(anyhow::Error::new(InputError::new(format!(
        "{}: missing {base} (or {base}.gz) in dataset folder {} (dataset \"{}\"); {}",
        raw.display(),
        dir.display(),
        kind.name(),
        kind.how_to_get(dir)
    ))))
}

/// Scales only the first `limit` samples of each split.
/// `idx` takes its classes from `names` (their count), or else from the largest label + 1.
fn load_idx(
    kind: DatasetKind,
    paths: [PathBuf; 4],
    train_limit: usize,
    test_limit: usize,
    names: Option<&[String]>,
) -> Result<Dataset> {
    let [train_images, train_labels, test_images, test_labels] = paths;
    let limit = match (kind, names) {
        (DatasetKind::Idx, Some(names)) => names.len(),
        (DatasetKind::Idx, None) => 256,
        _ => CLASSES,
    };
    let (shape, train_px, train_y) = idx::read_pair(&train_images, &train_labels, limit)?;
    let (test_shape, test_px, test_y) = idx::read_pair(&test_images, &test_labels, limit)?;
    if test_shape != shape {
        return Err(anyhow::Error::new(InputError::in_file(
            &test_images,
            format!(
                "images are {}x{} but those in {} are {}x{}; expected the same size in both splits",
                test_shape.height,
                test_shape.width,
                train_images.display(),
                shape.height,
                shape.width
            ),
        )));
    }
    non_empty(&train_images, train_y.len())?;
    non_empty(&test_images, test_y.len())?;
    let features = shape.features();
    let split = |px: &[u8], mut y: Vec<u8>, limit: usize| {
        y.truncate(limit);
        Split { images: scale_pixels(&px[..y.len() * features], 255), labels: y, features }
    };
    let (classes, class_names) = match (kind, names) {
        (DatasetKind::Idx, Some(names)) => (names.len(), names.to_vec()),
        (DatasetKind::Idx, None) => {
            let n = train_y.iter().chain(&test_y).map(|&l| usize::from(l) + 1).max().unwrap_or(0);
            if n < 2 {
                return Err(anyhow::Error::new(InputError::in_file(
                    &train_labels,
                    "every label is 0: expected at least 2 classes",
                )));
            }
            (n, Vec::new())
        }
        _ => (CLASSES, Vec::new()),
    };
    Ok(Dataset {
        name: kind.name().to_string(),
        shape,
        classes,
        class_names,
        train: split(&train_px, train_y, train_limit),
        test: split(&test_px, test_y, test_limit),
    })
}

fn non_empty(path: &Path, n: usize) -> Result<()> {
    if n == 0 {
        return Err(anyhow::Error::new(InputError::in_file(path, "holds 0 samples: expected at least 1")));
    }
    Ok(())
}

fn find_digits(dir: &Path) -> Result<PathBuf> {
    digits::FILE_NAMES.iter().map(|f| dir.join(f)).find(|p| p.is_file()).ok_or_else(|| {
        anyhow::Error::new(InputError::new(format!(
            "{}: missing digits.csv.gz (or digits.csv) in dataset folder {} (dataset \"digits\"); {}",
            dir.join(digits::FILE_NAMES[0]).display(),
            dir.display(),
            DatasetKind::Digits.how_to_get(dir)
        )))
    })
}

fn load_digits(path: &Path) -> Result<Dataset> {
    let (pixels, labels) = digits::read_csv(path)?;
    if labels.len() < 2 {
        return Err(anyhow::Error::new(InputError::in_file(
            path,
            format!("holds {} sample: expected at least 2 (one for each split)", labels.len()),
        )));
    }
    let (n_train, _) = digits::split_sizes(labels.len());
    let features = digits::SHAPE.features();
    let images = scale_pixels(&pixels, digits::MAX_PIXEL);
    let (train_images, test_images) = images.split_at(n_train * features);
    let (train_labels, test_labels) = labels.split_at(n_train);
    Ok(Dataset {
        name: DatasetKind::Digits.name().to_string(),
        shape: digits::SHAPE,
        classes: CLASSES,
        class_names: Vec::new(),
        train: Split { images: train_images.to_vec(), labels: train_labels.to_vec(), features },
        test: Split { images: test_images.to_vec(), labels: test_labels.to_vec(), features },
    })
}

/// `dir`, or its `cifar-10-batches-bin` subfolder, whichever holds every batch file.
fn find_cifar(dir: &Path) -> Result<PathBuf> {
    let sub = dir.join("cifar-10-batches-bin");
    let all_files = || cifar::TRAIN_FILES.iter().chain([&cifar::TEST_FILE]);
    if all_files().all(|f| dir.join(f).is_file()) {
        Ok(dir.to_path_buf())
    } else if all_files().all(|f| sub.join(f).is_file()) {
        Ok(sub)
    } else {
        let look = if sub.is_dir() { &sub } else { dir };
        let missing: Vec<&str> = all_files().filter(|f| !look.join(f).is_file()).copied().collect();
        Err(anyhow::Error::new(InputError::new(format!(
            "dataset folder {} (dataset \"cifar10\") lacks {}; {}",
            look.display(),
            missing.join(", "),
            DatasetKind::Cifar10.how_to_get(dir)
        ))))
    }
}

/// Reads the batches in order until `limit` samples are had (later batches are then not read).
fn load_cifar(base: &Path, train_limit: usize, test_limit: usize) -> Result<Dataset> {
    let read = |files: &[&str], limit: usize| -> Result<Split> {
        let mut split = Split { images: Vec::new(), labels: Vec::new(), features: cifar::SHAPE.features() };
        for f in files {
            if split.len() >= limit {
                break;
            }
            let (pixels, labels) = cifar::read_batch(&base.join(f))?;
            let take = labels.len().min(limit - split.len());
            split.images.extend(scale_pixels(&pixels[..take * cifar::PIXELS_PER_IMAGE], 255));
            split.labels.extend_from_slice(&labels[..take]);
        }
        Ok(split)
    };
    Ok(Dataset {
        name: DatasetKind::Cifar10.name().to_string(),
        shape: cifar::SHAPE,
        classes: CLASSES,
        class_names: Vec::new(),
        train: read(&cifar::TRAIN_FILES, train_limit)?,
        test: read(&[cifar::TEST_FILE], test_limit)?,
    })
}
