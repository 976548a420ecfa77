//! Atomic file writes: a temporary file in the same folder, flushed, then renamed over the target, so a
//! reader (or a crash) never sees half a file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

fn write_with_mode(path: &Path, bytes: &[u8], mode: Option<u32>) -> anyhow::Result<()> {
    let tmp = temp_path(path);
    let result = (|| -> anyhow::Result<()> {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if let Some(m) = mode {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(m);
        }
        let mut f = opts.open(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        f.write_all(bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
        f.sync_all().ok();
        fs::rename(&tmp, path).with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Write `bytes` to `path` atomically.
pub fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_with_mode(path, bytes, None)
}

/// Write atomically with mode 0600 (secrets).
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_with_mode(path, bytes, Some(0o600))
}

/// Write a value as pretty JSON, atomically.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Figures saved in JSON read back to the bit (serde_json's `float_roundtrip`): without it,
    /// merging one attack's record into attacks.json changed other records' figures in the last digit
    /// (0.20265999999999998 read as 0.20266).
    #[test]
    fn every_f64_written_as_json_reads_back_to_the_bit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("values.json");
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut values: Vec<f64> = (0..20_000).map(|_| rng.gen::<f64>() * 10f64.powi(rng.gen_range(-12..12))).collect();
        values.extend([0.20265999999999998, 0.09795999999999999, 0.11592140921409211, f64::MIN_POSITIVE, 1e300]);
        write_json(&path, &values).unwrap();
        let back: Vec<f64> = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(&values));
    }
}
