//! The customer's secret key: a 256-bit secret from which every keyed component draws its own
//! ChaCha20 stream. The key file records what the key was made for, so a mismatched key is caught.

use std::path::Path;

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::TransformSpec;
use crate::data::ImageShape;
use crate::error::InputError;

pub const KEY_FILE_VERSION: u32 = 1;

/// 256 secret bits. Not `Serialize`, and `Debug` shows only the fingerprint: the secret leaves memory
/// only through [`KeyFile`].
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey(fingerprint {})", self.fingerprint())
    }
}

impl SecretKey {
    /// A fresh secret from the operating system's CSPRNG.
    pub fn fresh() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        SecretKey(bytes)
    }

    /// A fixed secret from 64 hex digits (config `privacy.fixed_key`), for reproducible figures and tests.
    pub fn from_hex(hex_digits: &str) -> Result<Self, InputError> {
        let bytes = hex::decode(hex_digits)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| InputError::new(format!("a key must be 64 hex digits, got {:?}", hex_digits)))?;
        Ok(SecretKey(bytes))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// An independent ChaCha20 stream for one named component (domain separation by SHA-256).
    pub fn stream(&self, component: &str) -> ChaCha20Rng {
        let mut h = Sha256::new();
        h.update(b"ppdl/key/v1\0");
        h.update(component.as_bytes());
        h.update([0u8]);
        h.update(self.0);
        ChaCha20Rng::from_seed(h.finalize().into())
    }

    /// A short public fingerprint (not the secret) to tell keys apart in reports.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"ppdl/fingerprint\0");
        h.update(self.0);
        hex::encode(&h.finalize()[..8])
    }
}

/// What `customer/key.json` holds: the secret plus what it was made for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    pub version: u32,
    pub secret: String,
    pub fingerprint: String,
    pub dataset: String,
    pub shape: ImageShape,
    pub classes: usize,
    pub transforms: Vec<TransformSpec>,
    pub label_permutation: bool,
    pub codes_per_class: usize,
    /// Keys made by `ppdl customer keygen`: the resolved config the key was made from (TOML), so that
    /// `ppdl customer encode` and `decode` need only the key file. Run keys leave it out (the run
    /// folder has its config.toml).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// With `config`: the keyed arm of that config the key is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arm: Option<String>,
}

/// What a key must match to be used on a run.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyContext<'a> {
    pub dataset: &'a str,
    pub shape: ImageShape,
    pub classes: usize,
    pub transforms: &'a [TransformSpec],
    pub label_permutation: bool,
    pub codes_per_class: usize,
}

impl<'a> KeyContext<'a> {
    /// What a key for `privacy` on `dataset` must match.
    pub fn of(dataset: &'a crate::data::Dataset, privacy: &'a crate::config::PrivacyConfig) -> Self {
        KeyContext {
            dataset: &dataset.name,
            shape: dataset.shape,
            classes: dataset.classes,
            transforms: &privacy.transforms,
            label_permutation: privacy.label_permutation,
            codes_per_class: privacy.codes_per_class,
        }
    }
}

impl KeyFile {
    pub fn new(key: &SecretKey, ctx: &KeyContext) -> Self {
        KeyFile {
            version: KEY_FILE_VERSION,
            secret: key.to_hex(),
            fingerprint: key.fingerprint(),
            dataset: ctx.dataset.to_string(),
            shape: ctx.shape,
            classes: ctx.classes,
            transforms: ctx.transforms.to_vec(),
            label_permutation: ctx.label_permutation,
            codes_per_class: ctx.codes_per_class,
            config: None,
            arm: None,
        }
    }

    /// Read a key file without checking what it was made for (its mode, format and fingerprint are
    /// checked): for the customer commands, which learn the setup from the file itself.
    pub fn peek(path: &Path) -> anyhow::Result<KeyFile> {
        check_private_permissions(path)?;
        let text = std::fs::read_to_string(path)
            .map_err(|e| InputError::in_file(path, format!("cannot read key file: {e}")))?;
        let file: KeyFile = serde_json::from_str(&text).map_err(|e| {
            InputError::in_file(path, format!("line {} column {}: not a ppdl key file: {e}", e.line(), e.column()))
        })?;
        if file.version != KEY_FILE_VERSION {
            return Err(InputError::in_file(
                path,
                format!(
                    "field `version`: expected {KEY_FILE_VERSION}, found {} (a key from another ppdl format)",
                    file.version
                ),
            )
            .into());
        }
        let key =
            SecretKey::from_hex(&file.secret).map_err(|e| InputError::in_file(path, format!("field `secret`: {e}")))?;
        if key.fingerprint() != file.fingerprint {
            return Err(InputError::in_file(
                path,
                "field `fingerprint` does not match the secret (corrupted key file)",
            )
            .into());
        }
        Ok(file)
    }

    /// Read a key file, refusing one readable by others, from another format, or made for another setup.
    pub fn load(path: &Path, ctx: &KeyContext) -> anyhow::Result<SecretKey> {
        let file = Self::peek(path)?;
        let key = SecretKey::from_hex(&file.secret)?;
        let mismatch = |field: &str, want: String, got: String| -> anyhow::Error {
            InputError::in_file(
                path,
                format!(
                    "field `{field}`: this key was made for {got}, but the run needs {want} (a key from another run?)"
                ),
            )
            .into()
        };
        if file.dataset != ctx.dataset {
            return Err(mismatch("dataset", ctx.dataset.to_string(), file.dataset));
        }
        if file.shape != ctx.shape {
            return Err(mismatch("shape", format!("{:?}", ctx.shape), format!("{:?}", file.shape)));
        }
        if file.classes != ctx.classes {
            return Err(mismatch("classes", ctx.classes.to_string(), file.classes.to_string()));
        }
        if file.transforms != ctx.transforms {
            let labels = |specs: &[TransformSpec]| {
                use crate::scheme::transforms::TransformLabel;
                format!("[{}]", specs.iter().map(|t| t.label()).collect::<Vec<_>>().join(", "))
            };
            return Err(mismatch("transforms", labels(ctx.transforms), labels(&file.transforms)));
        }
        if file.label_permutation != ctx.label_permutation || file.codes_per_class != ctx.codes_per_class {
            return Err(mismatch(
                "label_permutation/codes_per_class",
                format!("{}/{}", ctx.label_permutation, ctx.codes_per_class),
                format!("{}/{}", file.label_permutation, file.codes_per_class),
            ));
        }
        Ok(key)
    }

    /// Write with mode 0600 (atomically: temp file, then rename).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        crate::atomic::write_private(path, text.as_bytes())
    }
}

#[cfg(unix)]
fn check_private_permissions(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| InputError::in_file(path, format!("cannot read key file: {e}")))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(InputError::in_file(
            path,
            format!(
                "key file has mode {mode:o}; expected 600 (readable by its owner only): run `chmod 600 {}`",
                path.display()
            ),
        )
        .into());
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private_permissions(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}
