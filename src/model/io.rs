//! Saving and loading model weights (safetensors), atomically.

use std::path::Path;

use anyhow::Context;
use dfdx::nn::{LoadFromSafetensors, SaveToSafetensors, TensorCollection};
use dfdx::prelude::*;

pub fn save<D: Device<f32>, M: TensorCollection<f32, D>>(model: &M, path: &Path) -> anyhow::Result<()> {
    let tmp = path.with_extension("safetensors.tmp");
    model
        .save_safetensors(&tmp)
        .map_err(|e| anyhow::anyhow!("{e:?}"))
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

pub fn load<D: Device<f32>, M: TensorCollection<f32, D>>(model: &mut M, path: &Path) -> anyhow::Result<()> {
    model.load_safetensors(path).map_err(|e| {
        crate::error::InputError::in_file(path, format!("not a model for this run's architecture: {e:?}"))
    })?;
    Ok(())
}
