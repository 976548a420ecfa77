//! `ppdl export RUN_DIR --what provider-view|customer-view|samples --format npz|safetensors --out FILE`:
//! a saved run's arrays for outside tools (README "Exporting arrays" lists names, dtypes and layouts).
//!
//! - provider view: what one keyed arm's provider received, re-encoded from the arm's key file and the
//!   run's config exactly as the run encoded it (training set first, then the test set, so per-sample
//!   noise replays the run's draws), and checked against `provider/ARM/encoded-data.json`; no key;
//! - customer view: the raw inputs and true labels of both splits;
//! - samples: the arrays of `samples/ARM.json`.
//!
//! Images are float32 `(N, H, W, C)` (channel-last, as ppdl holds them); labels int64 `(N,)`.

use std::path::Path;

use anyhow::Result;

use crate::data::npz::Array;
use crate::error::InputError;
use crate::infer::ArmKinds;
use crate::results::samples::SamplesFile;
use crate::results::RunFolder;
use crate::scheme::protocol::WireDigests;
use crate::scheme::{Customer, KeyFile, SecretKey};

/// Which arrays to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum What {
    ProviderView,
    CustomerView,
    Samples,
}

/// The file format written (one writer for every array file ppdl makes: `data::arrays`).
pub use crate::data::arrays::ArrayFormat as Format;

/// What was written, for the front end to print.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportReport {
    /// `(name, dtype, shape)` of every array, in file order.
    pub arrays: Vec<(String, String, Vec<usize>)>,
    /// The arm exported (provider view and samples).
    pub arm: Option<String>,
    /// Provider view: whether the re-encoding matches the run's digests (`None`: no digests file).
    pub digests_match: Option<bool>,
}

/// Export `what` of the run in `run_dir` to `out` (written atomically).
pub fn export(run_dir: &Path, what: What, arm: Option<&str>, format: Format, out: &Path) -> Result<ExportReport> {
    let folder = RunFolder::open(run_dir)?;
    let (arrays, arm, digests_match) = match what {
        What::ProviderView => provider_view(&folder, run_dir, arm)?,
        What::CustomerView => (customer_view(&folder)?, None, None),
        What::Samples => {
            let summary = folder.load_summary()?;
            let arm = crate::infer::pick_arm(&summary, arm, ArmKinds::Attacked, run_dir)?.name.clone();
            let path = folder.samples_path(&arm);
            let file = SamplesFile::load(&path)?
                .ok_or_else(|| InputError::in_file(&path, "missing: the run kept no samples for this arm"))?;
            (samples_arrays(&file), Some(arm), None)
        }
    };
    let refs: Vec<(&str, &Array)> = arrays.iter().map(|(n, a)| (n.as_str(), a)).collect();
    let bytes = crate::data::arrays::to_bytes(format, &refs)?;
    crate::atomic::write(out, &bytes)?;
    let arrays = arrays.iter().map(|(n, a)| (n.clone(), a.dtype.descr(), a.shape.clone())).collect();
    Ok(ExportReport { arrays, arm, digests_match })
}

type Named = Vec<(String, Array)>;

fn images(n: usize, shape: crate::data::ImageShape, values: &[f32]) -> Array {
    Array::from_f32(vec![n, shape.height, shape.width, shape.channels], values)
}

fn labels<T: Copy + Into<i64>>(values: &[T]) -> Array {
    Array::from_i64(vec![values.len()], &values.iter().map(|&v| v.into()).collect::<Vec<_>>())
}

fn provider_view(
    folder: &RunFolder,
    run_dir: &Path,
    arm: Option<&str>,
) -> Result<(Named, Option<String>, Option<bool>)> {
    let summary = folder.load_summary()?;
    let record = crate::infer::pick_arm(&summary, arm, ArmKinds::Keyed, run_dir)?;
    let privacy = record.scheme.keyed().expect("pick_arm returns keyed arms");
    let config = folder.load_config()?;
    let dataset = config.data.load()?;
    let probe = Customer::new(SecretKey::fresh(), privacy, &dataset.name, dataset.shape, dataset.classes);
    let key = KeyFile::load(&folder.key_path(&record.name), &probe.key_context())?;
    let customer = Customer::new(key, privacy, &dataset.name, dataset.shape, dataset.classes);
    let train = customer.encode_training_set(&dataset.train);
    let test = customer.encode_inputs(&dataset.test.images);
    let digests_match = digests_match(&folder.provider_digests_path(&record.name), &train, test.images());
    let arrays = vec![
        ("x_train".to_string(), images(dataset.train.len(), customer.encoded_shape(), train.inputs().images())),
        ("y_train".to_string(), labels(train.codes())),
        ("x_test".to_string(), images(dataset.test.len(), customer.encoded_shape(), test.images())),
    ];
    Ok((arrays, Some(record.name.clone()), digests_match))
}

/// Compares the re-encoding with the digests the run stored; `None` when there are none to compare.
fn digests_match(path: &Path, train: &crate::scheme::EncodedTrainingSet, test: &[f32]) -> Option<bool> {
    let stored: WireDigests = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    Some(stored == WireDigests::of_encoded(train, test))
}

fn customer_view(folder: &RunFolder) -> Result<Named> {
    let config = folder.load_config()?;
    let d = config.data.load()?;
    Ok(vec![
        ("x_train".into(), images(d.train.len(), d.shape, &d.train.images)),
        ("y_train".into(), labels(&d.train.labels)),
        ("x_test".into(), images(d.test.len(), d.shape, &d.test.images)),
        ("y_test".into(), labels(&d.test.labels)),
    ])
}

fn samples_arrays(file: &SamplesFile) -> Named {
    let shape = file.shape.expect("a loaded samples file has a shape");
    let stack = |rows: &[Vec<f32>]| images(rows.len(), shape, &rows.concat());
    let mut out = vec![
        (
            "indices".to_string(),
            Array::from_i64(vec![file.indices.len()], &file.indices.iter().map(|&i| i as i64).collect::<Vec<_>>()),
        ),
        ("labels".to_string(), labels(&file.labels.iter().map(|&l| i64::from(l)).collect::<Vec<_>>())),
        ("raw".to_string(), stack(&file.raw)),
    ];
    if file.provider_sees.is_none() {
        let encoded = images(file.encoded.len(), file.encoded_shape().unwrap_or(shape), &file.encoded.concat());
        out.push(("encoded".to_string(), encoded));
    }
    if let Some(decoded) = &file.decoded {
        out.push(("decoded".into(), stack(decoded)));
    }
    for r in &file.reconstructions {
        out.push((format!("reconstructed_{}", r.attack.replace('-', "_")), stack(&r.images)));
    }
    out
}
