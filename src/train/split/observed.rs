//! What the provider of a split arm received during training, kept: a bounded sample of the
//! gradient rows that arrived at the middle's output (the label-leakage attacks' observation), with
//! the middle's own output for the same rows (the provider computed it). The sample is whole
//! batches of every k-th training step, from the first step on, so it spreads over all of training.
//!
//! The true labels of those rows stay with the customer (a second file in its folder), for scoring
//! only: the kept rows are the same rows of the same steps on both sides (batch order is seeded).
//!
//! Files: `provider/ARM/received-gradients.safetensors` (tensors `gradient` and `middle_output`,
//! f32 rows x width; `step` and `epoch`, u32 per row, 1-based) and
//! `customer/ARM/received-labels.safetensors` (`label`, u32 per row). Run folders written before
//! this sample existed have neither; the attacks that need it say so.

use std::path::Path;

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::error::InputError;

/// About this many gradient rows are kept over a whole training run.
pub const SAMPLE_ROWS: usize = 4096;

/// Which training steps are kept: step 1 and every `every`-th after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sampling {
    pub every: usize,
}

impl Sampling {
    /// For `total_steps` steps of `batch` rows, keeping about `budget_rows` rows.
    pub fn new(total_steps: usize, batch: usize, budget_rows: usize) -> Sampling {
        let steps_kept = (budget_rows / batch.max(1)).max(1);
        Sampling { every: total_steps.div_ceil(steps_kept).max(1) }
    }

    /// Whether step `step` (1-based) is kept.
    pub fn keeps(&self, step: usize) -> bool {
        step >= 1 && (step - 1).is_multiple_of(self.every)
    }
}

/// The provider's sample: gradient rows received and its middle's output for the same rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReceivedGradients {
    /// Values per row of `gradient` and `middle_output` (the middle's output width).
    pub width: usize,
    pub gradient: Vec<f32>,
    pub middle_output: Vec<f32>,
    /// The training step (1-based, over all epochs) and epoch (1-based) of each row.
    pub step: Vec<u32>,
    pub epoch: Vec<u32>,
}

impl ReceivedGradients {
    pub fn rows(&self) -> usize {
        self.step.len()
    }

    /// Keep one step's rows: the gradient received and the middle's output sent.
    pub fn keep(&mut self, gradient: &[f32], middle_output: &[f32], rows: usize, step: usize, epoch: usize) {
        debug_assert_eq!(gradient.len(), middle_output.len());
        self.width = gradient.len() / rows.max(1);
        self.gradient.extend_from_slice(gradient);
        self.middle_output.extend_from_slice(middle_output);
        self.step.extend(std::iter::repeat_n(step as u32, rows));
        self.epoch.extend(std::iter::repeat_n(epoch as u32, rows));
    }

    /// The rows of each kept step: (start, end) row ranges in order.
    pub fn batches(&self) -> Vec<std::ops::Range<usize>> {
        let mut out = Vec::new();
        let mut start = 0;
        for i in 1..=self.step.len() {
            if i == self.step.len() || self.step[i] != self.step[start] {
                out.push(start..i);
                start = i;
            }
        }
        out
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let n = self.rows();
        let f32s = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let u32s = |v: &[u32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let tensors = [
            ("gradient", Dtype::F32, vec![n, self.width], f32s(&self.gradient)),
            ("middle_output", Dtype::F32, vec![n, self.width], f32s(&self.middle_output)),
            ("step", Dtype::U32, vec![n], u32s(&self.step)),
            ("epoch", Dtype::U32, vec![n], u32s(&self.epoch)),
        ];
        write(path, &tensors)
    }

    /// The sample in `path`: Ok(None) when the file does not exist (a run folder from before it was
    /// kept); an input error naming the file and what was expected when it is not such a sample.
    pub fn load(path: &Path) -> anyhow::Result<Option<ReceivedGradients>> {
        let Some(bytes) = read(path)? else { return Ok(None) };
        let st = parse(path, &bytes)?;
        let step = u32_tensor(path, &st, "step")?;
        let epoch = u32_tensor(path, &st, "epoch")?;
        let n = step.len();
        let (gradient, width) = f32_tensor(path, &st, "gradient", n)?;
        let (middle_output, w2) = f32_tensor(path, &st, "middle_output", n)?;
        if epoch.len() != n || w2 != width {
            return Err(bad(path, "`epoch` and `middle_output` with as many rows as `step` and `gradient`'s width"));
        }
        Ok(Some(ReceivedGradients { width, gradient, middle_output, step, epoch }))
    }
}

/// The customer's side of the sample: the true class of each kept row, in the same order.
pub fn save_labels(path: &Path, labels: &[u32]) -> anyhow::Result<()> {
    let bytes = labels.iter().flat_map(|x| x.to_le_bytes()).collect();
    write(path, &[("label", Dtype::U32, vec![labels.len()], bytes)])
}

/// The labels in `path`, Ok(None) when absent (see [`ReceivedGradients::load`]).
pub fn load_labels(path: &Path) -> anyhow::Result<Option<Vec<u32>>> {
    let Some(bytes) = read(path)? else { return Ok(None) };
    let st = parse(path, &bytes)?;
    Ok(Some(u32_tensor(path, &st, "label")?))
}

fn write(path: &Path, tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)]) -> anyhow::Result<()> {
    let views = tensors
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            TensorView::new(*dtype, shape.clone(), bytes)
                .map(|v| (name.to_string(), v))
                .map_err(|e| anyhow::anyhow!("{e:?}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let bytes = safetensors::serialize(views, &None).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    crate::atomic::write(path, &bytes)
}

fn read(path: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(InputError::new(format!("{}: cannot read: {e}", path.display())).into()),
    }
}

fn bad(path: &Path, expected: &str) -> anyhow::Error {
    InputError::new(format!("{}: expected {expected}", path.display())).into()
}

fn parse<'a>(path: &Path, bytes: &'a [u8]) -> anyhow::Result<SafeTensors<'a>> {
    SafeTensors::deserialize(bytes).map_err(|e| bad(path, &format!("a safetensors file ({e:?})")))
}

fn u32_tensor(path: &Path, st: &SafeTensors<'_>, name: &str) -> anyhow::Result<Vec<u32>> {
    let t = st.tensor(name).map_err(|_| bad(path, &format!("a tensor `{name}`")))?;
    if t.dtype() != Dtype::U32 || t.shape().len() != 1 {
        return Err(bad(path, &format!("`{name}` as u32 of one dimension, got {:?} {:?}", t.dtype(), t.shape())));
    }
    Ok(t.data().chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

fn f32_tensor(path: &Path, st: &SafeTensors<'_>, name: &str, rows: usize) -> anyhow::Result<(Vec<f32>, usize)> {
    let t = st.tensor(name).map_err(|_| bad(path, &format!("a tensor `{name}`")))?;
    if t.dtype() != Dtype::F32 || t.shape().len() != 2 || t.shape()[0] != rows {
        return Err(bad(
            path,
            &format!("`{name}` as f32 rows x width with {rows} rows, got {:?} {:?}", t.dtype(), t.shape()),
        ));
    }
    let values = t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    Ok((values, t.shape()[1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_keeps_the_first_step_and_about_the_budget() {
        // 3 epochs of 94 steps of 64 rows, 4096 rows wanted: 64 steps kept, every 5th.
        let s = Sampling::new(282, 64, 4096);
        assert_eq!(s.every, 5);
        let kept = (1..=282).filter(|&k| s.keeps(k)).count();
        assert_eq!(kept, 57);
        assert!(s.keeps(1) && !s.keeps(2) && s.keeps(6));
        // Fewer steps than the budget: every step.
        assert_eq!(Sampling::new(10, 64, 4096).every, 1);
    }

    #[test]
    fn a_sample_and_its_labels_round_trip_and_a_wrong_file_is_named() {
        let dir = std::env::temp_dir().join(format!("ppdl-observed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut r = ReceivedGradients::default();
        r.keep(&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0], 2, 1, 1);
        r.keep(&[9.0, 10.0], &[11.0, 12.0], 1, 6, 2);
        assert_eq!(r.batches(), vec![0..2, 2..3]);
        let path = dir.join("g.safetensors");
        r.save(&path).unwrap();
        assert_eq!(ReceivedGradients::load(&path).unwrap(), Some(r));
        let labels = dir.join("l.safetensors");
        save_labels(&labels, &[3, 1, 4]).unwrap();
        assert_eq!(load_labels(&labels).unwrap(), Some(vec![3, 1, 4]));
        assert_eq!(ReceivedGradients::load(&dir.join("absent")).unwrap(), None);
        let err = ReceivedGradients::load(&labels).unwrap_err().to_string();
        assert!(err.contains("l.safetensors") && err.contains("`step`"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
