//! The TOML experiment schema: serde defaults, validation, and errors that name the file, the field
//! path, the line and what was expected.

use std::path::{Path, PathBuf};

pub mod overrides;

use serde::{Deserialize, Serialize};

use crate::data::load::{DatasetKind, FormatOptions, Layout};
use crate::data::ImageShape;
use crate::error::{closest, did_you_mean, InputError};

/// One experiment: what data, which model, how to train, how to protect, what to attack, where to write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Short name; the run folder is `OUTPUT_DIR/NAME-TIMESTAMP`.
    pub name: String,
    /// Fixes data order and initialisation for every arm (not the keys, unless an arm fixes its key).
    #[serde(default = "default_seed")]
    pub seed: u64,
    pub data: DataConfig,
    #[serde(default)]
    pub model: ModelConfig,
    #[serde(default)]
    pub train: TrainConfig,
    /// The two-arm form: the baseline plus one keyed arm (`private`) with these settings. A config
    /// has this or `[[arms]]`; with neither, the keyed arm has the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<PrivacyConfig>,
    /// The arms of the run, all trained on the same seed, initialisation and batch order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arms: Option<Vec<ArmConfig>>,
    #[serde(default)]
    pub attacks: AttacksConfig,
    #[serde(default)]
    pub output: OutputConfig,
}

fn default_seed() -> u64 {
    42
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    pub dataset: DatasetKind,
    /// Folder with the dataset files; defaults to `data/<dataset>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// Use only the first N training samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_limit: Option<usize>,
    /// Use only the first N test samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_limit: Option<usize>,
    /// The dataset's name in every output (default: the preset's, or the folder's / file's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Class names by label (`idx`, `npz`); default: the labels' numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<String>>,
    /// `[height, width]` every image is resized to (`image-folder`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resize: Option<[usize; 2]>,
    /// Layout of an `.npz`'s image arrays (`npz`; default nhwc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<Layout>,
}

impl DataConfig {
    /// Load the configured dataset (limits applied).
    pub fn load(&self) -> anyhow::Result<crate::data::Dataset> {
        crate::data::load::load_dataset_with(
            self.dataset,
            self.dir.as_deref(),
            self.train_limit,
            self.test_limit,
            self.format_options(),
        )
    }

    fn format_options(&self) -> FormatOptions<'_> {
        FormatOptions {
            name: self.name.as_deref(),
            classes: self.classes.as_deref(),
            resize: self.resize,
            layout: self.layout.unwrap_or_default(),
        }
    }

    /// The image shape, from the preset or by peeking at the files; `None` when they cannot be read
    /// (loading them then fails with the reason).
    pub fn image_shape(&self) -> Option<ImageShape> {
        crate::data::load::peek_shape(self.dataset, self.dir.as_deref(), self.format_options()).ok()
    }

    /// The field that does not fit the dataset kind, and what was expected.
    fn check_format_fields(&self) -> Result<(), (String, String)> {
        let kind = self.dataset;
        let only = |field: &str, kinds: &str| {
            Err((format!("data.{field}"), format!("no `{field}` for dataset \"{kind}\" (it is for {kinds})")))
        };
        if kind.is_format() && self.dir.is_none() {
            let what = if kind == DatasetKind::Npz { "the .npz file" } else { "the dataset folder" };
            return Err(("data.dir".into(), format!("{what} (dataset \"{kind}\" has no default)")));
        }
        if self.classes.is_some() && !matches!(kind, DatasetKind::Idx | DatasetKind::Npz) {
            return only("classes", "idx and npz; image folders take them from the folder names");
        }
        if let Some(names) = &self.classes {
            if names.len() < 2 || names.len() > 256 {
                return Err(("data.classes".into(), format!("2 to 256 class names, got {}", names.len())));
            }
        }
        if self.resize.is_some() && kind != DatasetKind::ImageFolder {
            return only("resize", "image-folder");
        }
        if let Some([h, w]) = self.resize {
            if h == 0 || w == 0 || h > 4096 || w > 4096 {
                return Err(("data.resize".into(), format!("[height, width] from 1 to 4096, got [{h}, {w}]")));
            }
        }
        if self.layout.is_some() && kind != DatasetKind::Npz {
            return only("layout", "npz");
        }
        if let Some(name) = &self.name {
            if name.trim().is_empty() {
                return Err(("data.name".into(), "a non-empty name".into()));
            }
        }
        Ok(())
    }
}

/// The architecture menu. Layer sizes are runtime values, so every entry works for every dataset shape
/// and every label-splitting factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Arch {
    /// d -> 256 -> C
    #[serde(rename = "mlp-256")]
    Mlp256,
    /// d -> 512 -> 256 -> C
    #[serde(rename = "mlp-512-256")]
    Mlp512x256,
    /// d -> 1024 -> 512 -> C
    #[serde(rename = "mlp-1024-512")]
    Mlp1024x512,
    /// conv3x3(16) -> pool -> conv3x3(32) -> pool -> 128 -> C (padding 1)
    #[serde(rename = "cnn-small")]
    CnnSmall,
    /// LeNet-like: conv5x5(6, pad 2) -> pool -> conv5x5(16, pad 2) -> pool -> 120 -> C
    #[serde(rename = "lenet")]
    Lenet,
    /// A set model over the image's positions (H x W vectors of C values): the same 128 -> 128
    /// MLP on each position (1x1 convolutions), the mean over positions, a dense layer to C outputs.
    /// The same output for any order of the positions: the provider's model for `neuracrypt`.
    #[serde(rename = "patch-set")]
    PatchSet,
}

impl Arch {
    pub const ALL: [Arch; 6] =
        [Arch::Mlp256, Arch::Mlp512x256, Arch::Mlp1024x512, Arch::CnnSmall, Arch::Lenet, Arch::PatchSet];

    pub fn name(self) -> &'static str {
        match self {
            Arch::Mlp256 => "mlp-256",
            Arch::Mlp512x256 => "mlp-512-256",
            Arch::Mlp1024x512 => "mlp-1024-512",
            Arch::CnnSmall => "cnn-small",
            Arch::Lenet => "lenet",
            Arch::PatchSet => "patch-set",
        }
    }

    pub fn is_cnn(self) -> bool {
        matches!(self, Arch::CnnSmall | Arch::Lenet)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    #[serde(default = "default_arch")]
    pub arch: Arch,
}

fn default_arch() -> Arch {
    Arch::Mlp256
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self { arch: default_arch() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    Adam,
    Sgd,
}

/// How the two arms share the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    /// Both arms train at the same time on their own threads (side by side).
    Parallel,
    /// One arm after the other, so each is timed alone (clean timings).
    Sequential,
}

impl Schedule {
    pub fn name(self) -> &'static str {
        match self {
            Schedule::Parallel => "parallel",
            Schedule::Sequential => "sequential",
        }
    }
}

/// Why `cuda` is refused by a build without the `cuda` feature (after the setting's name).
pub const CUDA_NOT_BUILT: &str = "needs a build with `--features cuda` (and the CUDA toolkit); this binary is CPU-only";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceKind {
    Cpu,
    Cuda,
}

impl DeviceKind {
    pub const ALL: [DeviceKind; 2] = [DeviceKind::Cpu, DeviceKind::Cuda];

    /// The name in configs and on the command line (serde's kebab-case name).
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::Cpu => "cpu",
            DeviceKind::Cuda => "cuda",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    #[serde(default = "default_optimizer")]
    pub optimizer: OptimizerKind,
    #[serde(default = "default_learning_rate")]
    pub learning_rate: f64,
    /// Multiply the learning rate by this after every epoch (1 = constant).
    #[serde(default = "default_lr_decay")]
    pub lr_decay: f64,
    /// L2 weight decay (AdamW-style decoupled for Adam).
    #[serde(default)]
    pub weight_decay: f64,
    /// SGD momentum (ignored by Adam).
    #[serde(default = "default_momentum")]
    pub momentum: f64,
    #[serde(default = "default_schedule")]
    pub schedule: Schedule,
    #[serde(default = "default_device")]
    pub device: DeviceKind,
    /// Emit a training-progress event every this many steps.
    #[serde(default = "default_log_every")]
    pub log_every: usize,
}

fn default_epochs() -> usize {
    5
}
fn default_batch_size() -> usize {
    64
}
fn default_optimizer() -> OptimizerKind {
    OptimizerKind::Adam
}
fn default_learning_rate() -> f64 {
    1e-3
}
fn default_lr_decay() -> f64 {
    1.0
}
fn default_momentum() -> f64 {
    0.9
}
fn default_schedule() -> Schedule {
    Schedule::Parallel
}
fn default_device() -> DeviceKind {
    DeviceKind::Cpu
}
fn default_log_every() -> usize {
    50
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: default_epochs(),
            batch_size: default_batch_size(),
            optimizer: default_optimizer(),
            learning_rate: default_learning_rate(),
            lr_decay: default_lr_decay(),
            weight_decay: 0.0,
            momentum: default_momentum(),
            schedule: default_schedule(),
            device: default_device(),
            log_every: default_log_every(),
        }
    }
}

/// One keyed input transform, applied by the customer in list order: a kind and its parameters, as
/// written in TOML (`{ kind = "block-shuffle", block = 4, flip = true }`). The kinds, their parameters
/// and what they mean belong to the transform registry (`scheme::transforms`, which sits above
/// config); `validate::check` checks them and fills their defaults. Parameters keep their order, so a
/// resolved config prints them as the kind declares them.
#[derive(Debug, Clone)]
pub struct TransformSpec {
    pub kind: String,
    pub params: Vec<(String, toml::Value)>,
}

/// The same kind with the same parameters, in any order (a table's order carries no meaning; JSON
/// records may hold them sorted).
impl PartialEq for TransformSpec {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.params.len() == other.params.len()
            && self.params.iter().all(|(k, v)| other.params.iter().any(|(k2, v2)| k == k2 && v == v2))
    }
}

impl TransformSpec {
    /// A transform of `kind` with no parameters given (defaults apply).
    pub fn new(kind: &str) -> Self {
        TransformSpec { kind: kind.to_string(), params: Vec::new() }
    }

    /// The same transform with parameter `name` set to `value`.
    pub fn with(mut self, name: &str, value: impl Into<toml::Value>) -> Self {
        self.set(name, value.into());
        self
    }

    /// The value given for parameter `name`, if any.
    pub fn get(&self, name: &str) -> Option<&toml::Value> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Set parameter `name` (in place if given, else appended).
    pub fn set(&mut self, name: &str, value: toml::Value) {
        match self.params.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = value,
            None => self.params.push((name.to_string(), value)),
        }
    }
}

impl Serialize for TransformSpec {
    /// `kind` first, then the parameters in order: the table as a config file writes it.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(1 + self.params.len()))?;
        map.serialize_entry("kind", &self.kind)?;
        for (name, value) in &self.params {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for TransformSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Table;
        impl<'de> serde::de::Visitor<'de> for Table {
            type Value = TransformSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a transform table such as { kind = \"pixel-permutation\" }")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<TransformSpec, A::Error> {
                let mut kind = None;
                let mut params = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    if name == "kind" {
                        kind = Some(map.next_value::<String>()?);
                    } else {
                        params.push((name, map.next_value::<toml::Value>()?));
                    }
                }
                let kind = kind.ok_or_else(|| serde::de::Error::missing_field("kind"))?;
                Ok(TransformSpec { kind, params })
            }
        }
        d.deserialize_map(Table)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    #[serde(default = "default_transforms")]
    pub transforms: Vec<TransformSpec>,
    /// Train on a secret permutation of the classes.
    #[serde(default = "default_true")]
    pub label_permutation: bool,
    /// Label splitting: each class owns this many secret output codes (1 = off).
    #[serde(default = "default_codes_per_class")]
    pub codes_per_class: usize,
    /// A 64-hex-digit (256-bit) secret for a reproducible key (figures, tests). Absent: a fresh secret
    /// from the operating system for every run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_key: Option<String>,
}

fn default_transforms() -> Vec<TransformSpec> {
    vec![TransformSpec::new("pixel-permutation")]
}
fn default_true() -> bool {
    true
}
fn default_codes_per_class() -> usize {
    1
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self { transforms: default_transforms(), label_permutation: true, codes_per_class: 1, fixed_key: None }
    }
}

/// The arm names of the two-arm form (`[privacy]`, or neither `[privacy]` nor `[[arms]]`).
pub const BASELINE_ARM: &str = "baseline";
pub const PRIVATE_ARM: &str = "private";

/// One arm of a run: a unique name (it names the arm in every output and its folders), its protection
/// scheme and, where it is not `model.arch`, its own architecture. In TOML: `[[arms]]` with `name`,
/// `scheme`, the scheme's own fields and optionally `arch`.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmConfig {
    pub name: String,
    /// This arm's architecture when it differs from `model.arch` (e.g. `patch-set` for a NeuraCrypt
    /// arm beside MLP arms); `Config::arch_of` resolves it.
    pub arch: Option<Arch>,
    pub scheme: SchemeConfig,
}

/// What kind of protection an arm has (`scheme = "..."`).
#[derive(Debug, Clone, PartialEq)]
pub enum SchemeConfig {
    /// No protection: the baseline, trained on raw inputs and true labels.
    None,
    /// Keyed input transforms with label protection, the fields of `[privacy]`.
    Keyed(PrivacyConfig),
    /// U-shaped split learning: the customer keeps the first and last layers, the provider trains
    /// the middle.
    Split(SplitConfig),
    /// Inside-dataset InstaHide (Huang, Song, Li and Arora, ICML 2020): every training image mixed
    /// with k - 1 others of the private set, labels mixed alike, a fresh sign mask on every pixel
    /// (`scheme::instahide`).
    InstaHide(InstaHideConfig),
}

/// An InstaHide arm's settings (`scheme = "instahide"`), with the published code's defaults
/// (github.com/Hazelsuko07/InstaHide, train_inside.py: `--klam 4`, `--upper 0.65`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstaHideConfig {
    /// Images mixed into each encoding (the image itself and k - 1 others), k >= 2.
    #[serde(default = "default_instahide_k")]
    pub k: usize,
    /// The largest weight any one image may get (weights are redrawn until none exceeds it).
    #[serde(default = "default_instahide_upper")]
    pub upper: f64,
    /// A 64-hex-digit secret seeding the mixing and the sign masks (figures, tests). Absent: a fresh
    /// secret from the operating system for every run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_key: Option<String>,
}

fn default_instahide_k() -> usize {
    4
}
fn default_instahide_upper() -> f64 {
    0.65
}

impl Default for InstaHideConfig {
    fn default() -> Self {
        Self { k: default_instahide_k(), upper: default_instahide_upper(), fixed_key: None }
    }
}

impl InstaHideConfig {
    /// A short label for tables: `instahide(k=4)`.
    pub fn short_label(&self) -> String {
        format!("instahide(k={})", self.k)
    }

    /// The parameters' ranges. Err((field, what was expected)).
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.k < 2 {
            return Err(("k".into(), format!("an integer >= 2 (the image and at least one other), got {}", self.k)));
        }
        // Weights sum to 1, so one of k is at least 1/k: a cap of 1/k or below is never met (weights are
        // redrawn until they meet it, the closer to 1/k the longer).
        let least = 1.0 / self.k as f64;
        if !(self.upper > least && self.upper <= 1.0) {
            return Err(("upper".into(), format!("a number in (1/k, 1] = ({least:.4}, 1], got {}", self.upper)));
        }
        if let Some(key) = &self.fixed_key {
            if key.len() != 64 || !key.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(("fixed_key".into(), "64 hexadecimal digits (a 256-bit secret)".into()));
            }
        }
        Ok(())
    }
}

/// A split arm's settings (`scheme = "split"`). Layers are counted as `model::split` defines them;
/// `validate::check` checks `cut` and `tail` against the architecture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitConfig {
    /// Layers the customer's head keeps (the cut is after layer `cut`).
    pub cut: usize,
    /// Final layers the customer keeps (the tail; raw labels never leave the customer).
    #[serde(default = "default_tail")]
    pub tail: usize,
    /// Standard deviation of the Gaussian noise added to every activation the customer sends.
    #[serde(default)]
    pub noise_sigma: f64,
    /// NoPeek: weight of the distance correlation between a batch's inputs and its cut activations
    /// in the customer's loss (0 = off).
    #[serde(default)]
    pub nopeek_alpha: f64,
}

fn default_tail() -> usize {
    1
}

impl SplitConfig {
    /// A short label for tables: `split(1)`, `split(1,nopeek 0.5)`, `split(2,noise 0.1)`.
    pub fn short_label(&self) -> String {
        let mut extras = Vec::new();
        if self.nopeek_alpha > 0.0 {
            extras.push(format!("nopeek {}", self.nopeek_alpha));
        }
        if self.noise_sigma > 0.0 {
            extras.push(format!("noise {}", self.noise_sigma));
        }
        let extras: String = extras.iter().map(|e| format!(",{e}")).collect();
        format!("split({}{extras})", self.cut)
    }
}

impl SchemeConfig {
    /// Accepted values of `scheme`, in the order of the variants.
    pub const KINDS: [&'static str; 4] = ["none", "keyed", "split", "instahide"];

    pub fn kind(&self) -> &'static str {
        match self {
            SchemeConfig::None => "none",
            SchemeConfig::Keyed(_) => "keyed",
            SchemeConfig::Split(_) => "split",
            SchemeConfig::InstaHide(_) => "instahide",
        }
    }

    /// The InstaHide settings, for InstaHide arms.
    pub fn instahide(&self) -> Option<&InstaHideConfig> {
        match self {
            SchemeConfig::InstaHide(h) => Some(h),
            _ => None,
        }
    }

    /// The keyed settings, for arms that have them.
    pub fn keyed(&self) -> Option<&PrivacyConfig> {
        match self {
            SchemeConfig::Keyed(p) => Some(p),
            SchemeConfig::None | SchemeConfig::Split(_) | SchemeConfig::InstaHide(_) => None,
        }
    }

    /// The split settings, for split arms.
    pub fn split(&self) -> Option<&SplitConfig> {
        match self {
            SchemeConfig::Split(s) => Some(s),
            SchemeConfig::None | SchemeConfig::Keyed(_) | SchemeConfig::InstaHide(_) => None,
        }
    }

    /// The scheme with any fixed key removed (for records that must not hold secrets).
    pub fn without_key(&self) -> SchemeConfig {
        match self {
            SchemeConfig::Keyed(p) => SchemeConfig::Keyed(PrivacyConfig { fixed_key: None, ..p.clone() }),
            SchemeConfig::InstaHide(h) => SchemeConfig::InstaHide(InstaHideConfig { fixed_key: None, ..h.clone() }),
            other => other.clone(),
        }
    }
}

impl ArmConfig {
    pub fn is_baseline(&self) -> bool {
        matches!(self.scheme, SchemeConfig::None)
    }
}

impl SchemeConfig {
    /// The kind's own fields (everything but `scheme`).
    fn fields(&self) -> Result<toml::Table, String> {
        let mut table = toml::Table::new();
        let value = match self {
            SchemeConfig::None => return Ok(table),
            SchemeConfig::Keyed(p) => toml::Value::try_from(p),
            SchemeConfig::Split(s) => toml::Value::try_from(s),
            SchemeConfig::InstaHide(h) => toml::Value::try_from(h),
        };
        match value.map_err(|e| e.to_string())? {
            toml::Value::Table(fields) => table.extend(fields),
            _ => return Err("scheme settings serialise to a table".into()),
        }
        Ok(table)
    }

    /// Read a scheme from a table holding `scheme` and the kind's fields (`arm` names it in messages).
    pub fn from_table(mut table: toml::Table, arm: &str) -> Result<SchemeConfig, String> {
        let kinds = SchemeConfig::KINDS.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
        let kind = match table.remove("scheme") {
            Some(toml::Value::String(k)) => k,
            Some(other) => {
                return Err(format!("arm `{arm}`: field `scheme`: expected a string, one of {kinds}, got {other}"))
            }
            None => return Err(format!("arm `{arm}`: missing field `scheme`, one of {kinds}")),
        };
        match kind.as_str() {
            "none" => match table.keys().next() {
                None => Ok(SchemeConfig::None),
                Some(extra) => Err(format!("arm `{arm}`: unknown field `{extra}` (scheme \"none\" takes only `name`)")),
            },
            "keyed" => toml::Value::Table(table)
                .try_into()
                .map(SchemeConfig::Keyed)
                .map_err(|e: toml::de::Error| format!("arm `{arm}`: {}", e.message().trim())),
            "split" => toml::Value::Table(table)
                .try_into()
                .map(SchemeConfig::Split)
                .map_err(|e: toml::de::Error| format!("arm `{arm}`: {}", e.message().trim())),
            "instahide" => toml::Value::Table(table)
                .try_into()
                .map(SchemeConfig::InstaHide)
                .map_err(|e: toml::de::Error| format!("arm `{arm}`: {}", e.message().trim())),
            other => Err(format!(
                "arm `{arm}`: field `scheme`: unknown scheme `{other}`, expected one of {kinds}{}",
                did_you_mean(other, SchemeConfig::KINDS)
            )),
        }
    }
}

fn serialize_table<S: serde::Serializer>(
    entries: &[(&str, toml::Value)],
    rest: &toml::Table,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(entries.len() + rest.len()))?;
    for (k, v) in entries {
        map.serialize_entry(k, v)?;
    }
    for (k, v) in rest {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

impl Serialize for SchemeConfig {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fields = self.fields().map_err(serde::ser::Error::custom)?;
        serialize_table(&[("scheme", toml::Value::String(self.kind().into()))], &fields, s)
    }
}

impl<'de> Deserialize<'de> for SchemeConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        SchemeConfig::from_table(toml::Table::deserialize(d)?, "?").map_err(serde::de::Error::custom)
    }
}

impl Serialize for ArmConfig {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fields = self.scheme.fields().map_err(serde::ser::Error::custom)?;
        let mut head = vec![("name", toml::Value::String(self.name.clone()))];
        if let Some(arch) = self.arch {
            head.push(("arch", toml::Value::String(arch.name().into())));
        }
        head.push(("scheme", toml::Value::String(self.scheme.kind().into())));
        serialize_table(&head, &fields, s)
    }
}

impl<'de> Deserialize<'de> for ArmConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut table = toml::Table::deserialize(d)?;
        let name = match table.remove("name") {
            Some(toml::Value::String(n)) => n,
            Some(other) => return Err(D::Error::custom(format!("field `name`: expected a string, got {other}"))),
            None => return Err(D::Error::custom("missing field `name` (every arm needs a unique name)")),
        };
        let arch = match table.remove("arch") {
            None => None,
            Some(value) => Some(Arch::deserialize(value.clone()).map_err(|_| {
                let choices = enum_choices("model.arch").unwrap_or_default();
                let hint = value.as_str().map_or(String::new(), |v| did_you_mean(v, Arch::ALL.map(Arch::name)));
                D::Error::custom(format!("arm `{name}`: field `arch`: expected one of {choices}, got {value}{hint}"))
            })?),
        };
        let scheme = SchemeConfig::from_table(table, &name).map_err(D::Error::custom)?;
        Ok(ArmConfig { name, arch, scheme })
    }
}

/// `[attacks]`: which attack-resistance analyses run after training and their parameters. The attacks
/// themselves, their names and their parameters belong to the attack registry (`attacks::registry`,
/// above config; docs/ARCHITECTURE.md, "Attacks"): this layer keeps `enabled` and the `[attacks.NAME]`
/// tables as written, `validate::check` checks them against the registry and `validate::parse_config`
/// fills every table with its defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttacksConfig {
    /// Attacks to run after training: their names, or `all` (the default; an empty list turns them
    /// off).
    pub enabled: Vec<String>,
    /// Fraction of the test split given to the adversary as auxiliary (public) data; the rest is the
    /// evaluation half that scores every attack. Both are disjoint from the customer's training data.
    pub aux_fraction: f64,
    /// Each attack's parameter table `[attacks.NAME]` (NAME in snake case, e.g. `known_plaintext`).
    #[serde(flatten)]
    pub tables: toml::Table,
}

/// The entry of `attacks.enabled` that stands for every attack.
pub const ALL_ATTACKS: &str = "all";

fn default_enabled() -> Vec<String> {
    vec![ALL_ATTACKS.to_string()]
}
fn default_aux_fraction() -> f64 {
    0.5
}

impl Default for AttacksConfig {
    fn default() -> Self {
        Self { enabled: default_enabled(), aux_fraction: default_aux_fraction(), tables: toml::Table::new() }
    }
}

/// By hand so that the fields keep their paths and lines in errors (serde's `flatten` loses both);
/// every key other than `enabled` and `aux_fraction` is a table for the registry to check.
impl<'de> Deserialize<'de> for AttacksConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = AttacksConfig;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("the [attacks] table")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, mut map: M) -> Result<AttacksConfig, M::Error> {
                let mut config = AttacksConfig::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "enabled" => config.enabled = map.next_value()?,
                        "aux_fraction" => config.aux_fraction = map.next_value()?,
                        _ => {
                            let value: toml::Value = map.next_value()?;
                            config.tables.insert(key, value);
                        }
                    }
                }
                Ok(config)
            }
        }
        d.deserialize_map(Fields)
    }
}

impl AttacksConfig {
    /// The range of the field this layer checks. Err((field path, what was expected)); the names and
    /// the tables are checked by `attacks::registry::check`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if !(self.aux_fraction > 0.0 && self.aux_fraction < 1.0) {
            return Err((
                "attacks.aux_fraction".into(),
                format!("a number strictly between 0 and 1, got {}", self.aux_fraction),
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// Parent folder of run folders.
    #[serde(default = "default_output_dir")]
    pub dir: PathBuf,
    /// Render figures and the report at the end of the run.
    #[serde(default = "default_true")]
    pub figures: bool,
}

fn default_output_dir() -> PathBuf {
    PathBuf::from("results")
}

impl Default for OutputConfig {
    fn default() -> Self {
        Self { dir: default_output_dir(), figures: true }
    }
}

impl Config {
    /// Read and parse a config file, checking the fields the config layer owns. The full check, with
    /// the parameters the transform and attack registries own, is `validate::load_config`.
    pub fn load_fields(path: &Path) -> anyhow::Result<Config> {
        let text =
            std::fs::read_to_string(path).map_err(|e| InputError::in_file(path, format!("cannot read config: {e}")))?;
        Config::parse_fields(&text, path)
    }

    /// Parse config text and check the fields the config layer owns (`validate::parse_config` checks
    /// everything); `path` is only used in messages.
    pub fn parse_fields(text: &str, path: &Path) -> anyhow::Result<Config> {
        let de = toml::Deserializer::new(text);
        let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner();
            if let Some((field, message)) = arm_field_message(&field, inner.message()) {
                let line = find_field_line(text, &field);
                return InputError::new(describe_parse_error(path, &field, line, message));
            }
            let line = inner.span().map(|s| line_of(text, s.start));
            InputError::new(describe_parse_error(path, &field, line, inner.message()))
        })?;
        config.validate_fields().map_err(|(field, expected)| field_error(text, path, &field, &expected))?;
        Ok(config)
    }

    /// The arms of the run, in order: `[[arms]]` as written, or for the two-arm form the baseline and
    /// the keyed arm `private`.
    pub fn arms(&self) -> Vec<ArmConfig> {
        match &self.arms {
            Some(arms) => arms.clone(),
            None => vec![
                ArmConfig { name: BASELINE_ARM.into(), arch: None, scheme: SchemeConfig::None },
                ArmConfig {
                    name: PRIVATE_ARM.into(),
                    arch: None,
                    scheme: SchemeConfig::Keyed(self.privacy.clone().unwrap_or_default()),
                },
            ],
        }
    }

    /// The architecture `arm` trains: its own `arch`, else `model.arch`.
    pub fn arch_of(&self, arm: &ArmConfig) -> Arch {
        arm.arch.unwrap_or(self.model.arch)
    }

    /// The architectures in words: `model.arch`, then any other an arm trains ([`archs_label`]).
    pub fn archs_label(&self) -> String {
        archs_label(self.model.arch.name(), self.arms().iter().filter_map(|a| a.arch.map(Arch::name)))
    }

    /// The architecture of the arm named `name` (`model.arch` for a name no arm has).
    pub fn arm_arch(&self, name: &str) -> Arch {
        self.arms().iter().find(|a| a.name == name).map_or(self.model.arch, |a| self.arch_of(a))
    }

    /// The config path of arm `i`'s own settings (of `arms()`): `arms[i]`, or `privacy` for the keyed
    /// arm of the two-arm form.
    pub fn arm_field(&self, i: usize) -> String {
        match &self.arms {
            Some(_) => format!("arms[{i}]"),
            None => "privacy".into(),
        }
    }

    /// The keyed arms' settings with their field prefix ([`Config::arm_field`]).
    pub fn keyed_settings(&self) -> Vec<(String, PrivacyConfig)> {
        self.arms()
            .into_iter()
            .enumerate()
            .filter_map(|(i, a)| a.scheme.keyed().map(|p| (self.arm_field(i), p.clone())))
            .collect()
    }

    /// What decides the baseline arm's training, as text: two configs with the same identity train
    /// the same baseline (arms are independent: same seed, initialisation and batch order whatever the
    /// other arms), so a sweep trains it once (`run::reused_baseline`). The name, the other arms, the
    /// attacks and the output settings are left out; the data, model, training settings, seed and the
    /// baseline arm's name are in. None without a baseline arm.
    pub fn baseline_identity(&self) -> Option<String> {
        let baseline = self.arms().into_iter().find(|a| matches!(a.scheme, SchemeConfig::None))?;
        let only = Config {
            name: String::new(),
            privacy: None,
            arms: Some(vec![baseline]),
            attacks: AttacksConfig::default(),
            output: OutputConfig::default(),
            ..self.clone()
        };
        Some(only.to_toml())
    }

    /// The resolved config (every default filled in) as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serialises to TOML")
    }

    /// Image shape of the configured dataset: a preset's, or peeked at in the files of a format
    /// dataset (`None` when they cannot be read; the shape checks then wait for the run to load them).
    pub fn image_shape(&self) -> Option<ImageShape> {
        self.data.image_shape()
    }

    /// Check the ranges and cross-field rules of the fields the config layer owns. Err((field path,
    /// what was expected)). `validate::check` adds the registries' parameters.
    pub fn validate_fields(&self) -> Result<(), (String, String)> {
        let err = |f: &str, m: String| Err((f.to_string(), m));
        if self.name.trim().is_empty() {
            return err("name", "a non-empty name".into());
        }
        if !self.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.') {
            return err(
                "name",
                format!("letters, digits, '-', '_' or '.' only (it names the run folder), got {:?}", self.name),
            );
        }
        if self.data.dataset == DatasetKind::Embedded && self.data.dir.is_some() {
            return err(
                "data.dir",
                "no `dir` for dataset \"embedded\" (it is built into the program): remove `dir`, or pick a \
                 dataset read from a folder"
                    .into(),
            );
        }
        self.data.check_format_fields()?;
        if self.data.train_limit == Some(0) {
            return err("data.train_limit", "an integer >= 1, got 0".into());
        }
        if self.data.test_limit == Some(0) {
            return err("data.test_limit", "an integer >= 1, got 0".into());
        }
        let t = &self.train;
        if t.epochs == 0 {
            return err("train.epochs", "an integer >= 1, got 0".into());
        }
        if t.batch_size == 0 {
            return err("train.batch_size", "an integer >= 1, got 0".into());
        }
        if !(t.learning_rate > 0.0 && t.learning_rate.is_finite()) {
            return err("train.learning_rate", format!("a positive number, got {}", t.learning_rate));
        }
        if !(t.lr_decay > 0.0 && t.lr_decay <= 1.0) {
            return err("train.lr_decay", format!("a number in (0, 1], got {}", t.lr_decay));
        }
        if !(t.weight_decay >= 0.0 && t.weight_decay.is_finite()) {
            return err("train.weight_decay", format!("a number >= 0, got {}", t.weight_decay));
        }
        if !(0.0..1.0).contains(&t.momentum) {
            return err("train.momentum", format!("a number in [0, 1), got {}", t.momentum));
        }
        if t.log_every == 0 {
            return err("train.log_every", "an integer >= 1, got 0".into());
        }
        if let Some(shape) = self.image_shape() {
            self.check_archs_fit(shape)?;
        }
        if self.privacy.is_some() && self.arms.is_some() {
            return err(
                "arms",
                "either `[privacy]` (the baseline plus one keyed arm) or `[[arms]]`, not both: move the \
                 `[privacy]` settings into a `[[arms]]` entry with `scheme = \"keyed\"`"
                    .into(),
            );
        }
        if let Some(arms) = &self.arms {
            check_arm_list(arms)?;
        }
        for (prefix, p) in self.keyed_settings() {
            check_keyed(&p, &prefix)?;
        }
        for (i, arm) in self.arms().iter().enumerate() {
            if let Some(s) = arm.scheme.split() {
                check_split(s, &self.arm_field(i))?;
            }
            if let Some(h) = arm.scheme.instahide() {
                h.validate().map_err(|(field, expected)| (format!("{}.{field}", self.arm_field(i)), expected))?;
            }
        }
        self.attacks.validate()?;
        Ok(())
    }

    /// Every architecture the arms train takes images of `shape`: the CNNs pool twice by 2, so need 8 x 8
    /// at least. Err((field path of the first that does not fit, what was expected)).
    fn check_archs_fit(&self, shape: ImageShape) -> Result<(), (String, String)> {
        if shape.height >= 8 && shape.width >= 8 {
            return Ok(());
        }
        let arms = self.arms();
        let own = arms
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.arch.map(|arch| (format!("{}.arch", self.arm_field(i)), arch)));
        match std::iter::once(("model.arch".to_string(), self.model.arch)).chain(own).find(|(_, arch)| arch.is_cnn()) {
            Some((field, arch)) => Err((
                field,
                format!(
                    "an MLP for {} ({}x{} images are too small for {}'s two 2x2 poolings)",
                    self.data.dataset.name(),
                    shape.height,
                    shape.width,
                    arch.name()
                ),
            )),
            None => Ok(()),
        }
    }
}

/// The checks of one keyed arm's own fields (`prefix` is `privacy` or `arms[i]`); its transform list
/// is checked by the transform registry (`validate::check`).
fn check_keyed(p: &PrivacyConfig, prefix: &str) -> Result<(), (String, String)> {
    let err = |f: &str, m: String| Err((f.to_string(), m));
    if p.codes_per_class == 0 {
        return err(&format!("{prefix}.codes_per_class"), "an integer >= 1, got 0".into());
    }
    if p.codes_per_class > 64 {
        return err(&format!("{prefix}.codes_per_class"), format!("an integer <= 64, got {}", p.codes_per_class));
    }
    if let Some(k) = &p.fixed_key {
        if k.len() != 64 || !k.chars().all(|c| c.is_ascii_hexdigit()) {
            return err(&format!("{prefix}.fixed_key"), "64 hexadecimal digits (a 256-bit secret)".into());
        }
    }
    Ok(())
}

/// The ranges of a split arm's own fields (`prefix` is `arms[i]`); `validate::check` checks `cut`
/// and `tail` against the architecture.
fn check_split(s: &SplitConfig, prefix: &str) -> Result<(), (String, String)> {
    if !(s.noise_sigma >= 0.0 && s.noise_sigma.is_finite()) {
        return Err((format!("{prefix}.noise_sigma"), format!("a number >= 0, got {}", s.noise_sigma)));
    }
    if !(s.nopeek_alpha >= 0.0 && s.nopeek_alpha.is_finite()) {
        return Err((format!("{prefix}.nopeek_alpha"), format!("a number >= 0, got {}", s.nopeek_alpha)));
    }
    Ok(())
}

/// `[[arms]]`: at least one arm, unique names that can name folders, exactly one baseline.
fn check_arm_list(arms: &[ArmConfig]) -> Result<(), (String, String)> {
    if arms.is_empty() {
        return Err((
            "arms".into(),
            "at least one arm: a baseline (`scheme = \"none\"`) and the protected arms to compare with it".into(),
        ));
    }
    for (i, arm) in arms.iter().enumerate() {
        let field = format!("arms[{i}].name");
        if arm.name.is_empty() || !arm.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err((
                field,
                format!("letters, digits, '-' or '_' only (it names the arm's folders), got {:?}", arm.name),
            ));
        }
        if let Some(j) = arms[..i].iter().position(|a| a.name == arm.name) {
            return Err((field, format!("a unique arm name: `{}` is also the name of arms[{j}]", arm.name)));
        }
    }
    let baselines: Vec<usize> = arms.iter().enumerate().filter(|(_, a)| a.is_baseline()).map(|(i, _)| i).collect();
    match baselines.as_slice() {
        [_] => Ok(()),
        [] => Err((
            "arms".into(),
            "exactly one arm with `scheme = \"none\"` (the baseline every delta is measured against), got none".into(),
        )),
        [_, second, ..] => Err((
            format!("arms[{second}].scheme"),
            format!("exactly one baseline arm (`scheme = \"none\"`), got {}", baselines.len()),
        )),
    }
}

/// An `[[arms]]` entry's own error naming one of its fields (`arm `x`: field `arch`: expected ...`,
/// from `ArmConfig`'s deserializer, which has no span): the field's full path (`arms[8].arch`, whose
/// line can then be found) and what was expected.
fn arm_field_message<'m>(path: &str, message: &'m str) -> Option<(String, &'m str)> {
    let index = path.strip_prefix("arms[")?.strip_suffix(']')?;
    let (_, rest) = message.split_once("field `")?;
    let (key, expected) = rest.split_once("`: ")?;
    Some((format!("arms[{index}].{key}"), expected))
}

/// A run's architectures in words: the model's, then each other one an arm trains, once
/// (`mlp-256 + patch-set`).
pub fn archs_label<'a>(model: &'a str, arms: impl Iterator<Item = &'a str>) -> String {
    let mut names = vec![model];
    for arch in arms {
        if !names.contains(&arch) {
            names.push(arch);
        }
    }
    names.join(" + ")
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

/// Best-effort line of a dotted field path such as `train.batch_size`, `privacy.transforms[1].block`
/// or `arms[2].name`: the `[table]` header the path names (`attacks.inversoin`), else its key under
/// its parent's header (`attacks.inversion.hidden`), else the first line that sets the key (for
/// `arms[i]...`, from the (i+1)-th `[[arms]]` header on).
pub fn find_field_line(text: &str, field: &str) -> Option<usize> {
    let last = field.rsplit('.').next()?;
    let key = last.split('[').next()?;
    let header = |l: &str| {
        let l = l.trim();
        (l.starts_with('[') && !l.starts_with("[[")).then(|| l[1..].split(']').next().unwrap_or("").trim().to_string())
    };
    let lines: Vec<&str> = text.lines().collect();
    if let Some(i) = lines.iter().position(|l| header(l).as_deref() == Some(field)) {
        return Some(i + 1);
    }
    if let Some((parent, _)) = field.rsplit_once('.') {
        if let Some(start) = lines.iter().position(|l| header(l).as_deref() == Some(parent)) {
            let sets_key = |l: &str| l.trim_start().strip_prefix(key).is_some_and(|r| r.trim_start().starts_with('='));
            let section = lines[start + 1..].iter().take_while(|l| header(l).is_none());
            if let Some(i) = section.into_iter().position(|l| sets_key(l)) {
                return Some(start + 2 + i);
            }
        }
    }
    let from = match field.strip_prefix("arms[").and_then(|r| r.split(']').next()).and_then(|i| i.parse().ok()) {
        Some(i) => lines.iter().enumerate().filter(|(_, l)| l.trim() == "[[arms]]").nth(i).map_or(0, |(n, _)| n),
        None => 0,
    };
    lines[from..]
        .iter()
        .position(|l| {
            let l = l.trim_start();
            l.starts_with(key) && l[key.len()..].trim_start().starts_with('=')
                || l.contains(&format!("{key} ="))
                || l.contains(&format!("{key}="))
        })
        .map(|i| from + i + 1)
        .or_else(|| (from > 0).then_some(from + 1))
}

/// The error for a field that failed a check: file, line (when the field can be found in `text`),
/// field path and what was expected.
pub fn field_error(text: &str, path: &Path, field: &str, expected: &str) -> InputError {
    InputError::new(format_field_error(path, field, find_field_line(text, field), expected))
}

fn format_field_error(path: &Path, field: &str, line: Option<usize>, expected: &str) -> String {
    match line {
        Some(l) => format!("{}:{l}: field `{field}`: expected {expected}", path.display()),
        None => format!("{}: field `{field}`: expected {expected}", path.display()),
    }
}

fn describe_parse_error(path: &Path, field: &str, line: Option<usize>, message: &str) -> String {
    let mut msg = message.trim().to_string();
    for (rust, plain) in [
        ("expected usize", "expected a non-negative integer"),
        ("expected u64", "expected a non-negative integer"),
        ("expected f64", "expected a number"),
        ("expected a boolean", "expected true or false"),
    ] {
        msg = msg.replace(rust, plain);
    }
    if let Some(suggestion) = suggest_name(&msg) {
        msg.push_str(&format!(" (did you mean `{suggestion}`?)"));
    }
    // toml's words for a non-string where an enum is expected name neither the type nor the choices.
    if msg.starts_with("wanted string or table") || msg.starts_with("wanted exactly 1 element") {
        msg = match enum_choices(field) {
            Some(choices) => format!("expected a string, one of {choices}"),
            None => "expected a string".to_string(),
        };
    }
    if msg.starts_with("number too large to fit in target type") {
        msg = format!("integer out of range: expected at most {} (TOML integers are 64-bit signed)", i64::MAX);
    }
    let place = match line {
        Some(l) => format!("{}:{l}", path.display()),
        None => path.display().to_string(),
    };
    if field.is_empty() || field == "." {
        format!("{place}: {msg}")
    } else {
        format!("{place}: field `{field}`: {msg}")
    }
}

/// The accepted values of the config's enum-valued fields, as serde would list them.
fn enum_choices(field: &str) -> Option<String> {
    let quoted = |names: &[&str]| names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    Some(match field {
        "model.arch" => quoted(&Arch::ALL.map(Arch::name)),
        "data.dataset" => quoted(&DatasetKind::ALL.map(DatasetKind::name)),
        "train.optimizer" => quoted(&["adam", "sgd"]),
        "train.schedule" => quoted(&["parallel", "sequential"]),
        "train.device" => quoted(&DeviceKind::ALL.map(DeviceKind::name)),
        _ => return None,
    })
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" (a misspelt key) and "unknown variant
/// `x`, expected `a` or `b`" (a near-miss value of an enum-valued field: dataset, arch, optimizer,
/// schedule, device, transform kind) pick the closest accepted name.
fn suggest_name(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `").or_else(|| message.strip_prefix("unknown variant `"))?;
    let (unknown, after) = rest.split_once('`')?;
    let (_, expected) = after.split_once("expected")?;
    closest(unknown, expected.split('`').skip(1).step_by(2)).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_are_the_names_configs_use() {
        for device in DeviceKind::ALL {
            let as_toml = toml::Value::try_from(device).unwrap();
            assert_eq!(as_toml.as_str(), Some(device.name()));
        }
    }

    #[test]
    fn split_labels_tell_defended_arms_from_plain_ones() {
        let split = |nopeek_alpha, noise_sigma| SplitConfig { cut: 1, tail: 1, noise_sigma, nopeek_alpha };
        assert_eq!(split(0.0, 0.0).short_label(), "split(1)");
        assert_eq!(split(0.5, 0.0).short_label(), "split(1,nopeek 0.5)");
        assert_eq!(split(2.0, 0.1).short_label(), "split(1,nopeek 2,noise 0.1)");
    }

    const TWO_ARCHS: &str = "name = \"t\"\n[data]\ndataset = \"embedded\"\n[model]\narch = \"mlp-256\"\n\n\
        [[arms]]\nname = \"baseline\"\nscheme = \"none\"\n\n\
        [[arms]]\nname = \"nc\"\narch = \"ARCH\"\nscheme = \"keyed\"\n";

    #[test]
    fn an_arm_trains_its_own_arch_and_the_others_the_models() {
        let config = Config::parse_fields(&TWO_ARCHS.replace("ARCH", "patch-set"), Path::new("t.toml")).unwrap();
        let arms = config.arms();
        assert_eq!(arms[1].arch, Some(Arch::PatchSet));
        assert_eq!(config.arch_of(&arms[0]), Arch::Mlp256);
        assert_eq!(config.arch_of(&arms[1]), Arch::PatchSet);
        assert_eq!(config.arm_arch("nc"), Arch::PatchSet);
        // The resolved config (run folders' config.toml) keeps it, so a saved run reads back the same.
        let again = Config::parse_fields(&config.to_toml(), Path::new("config.toml")).unwrap();
        assert_eq!(again, config);
        assert!(config.to_toml().contains("name = \"nc\"\narch = \"patch-set\""), "{}", config.to_toml());
        // Without `arch` the arm has none of its own, and writes none.
        let plain = Config::parse_fields(&TWO_ARCHS.replace("arch = \"ARCH\"\n", ""), Path::new("t.toml")).unwrap();
        assert_eq!(plain.arms()[1].arch, None);
        assert!(!plain.to_toml().contains("arch = \"mlp-256\"\nscheme"), "{}", plain.to_toml());
    }

    #[test]
    fn a_misspelt_arm_arch_names_its_line_field_and_the_choices() {
        let err = Config::parse_fields(&TWO_ARCHS.replace("ARCH", "patchset"), Path::new("t.toml")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.toml:13: field `arms[1].arch`: expected one of `mlp-256`, `mlp-512-256`, `mlp-1024-512`, \
             `cnn-small`, `lenet`, `patch-set`, got \"patchset\" (did you mean `patch-set`?)"
        );
    }

    #[test]
    fn a_cnn_arm_on_images_too_small_for_it_is_refused_at_its_arch() {
        let config = Config::parse_fields(&TWO_ARCHS.replace("ARCH", "lenet"), Path::new("t.toml")).unwrap();
        let small = ImageShape { height: 6, width: 6, channels: 1 };
        let (field, expected) = config.check_archs_fit(small).unwrap_err();
        assert_eq!(field, "arms[1].arch");
        assert!(expected.contains("6x6 images are too small for lenet's two 2x2 poolings"), "{expected}");
        assert!(config.check_archs_fit(ImageShape { height: 8, width: 8, channels: 1 }).is_ok());
        // An MLP arm beside an MLP model fits any size.
        let mlp = Config::parse_fields(&TWO_ARCHS.replace("ARCH", "mlp-512-256"), Path::new("t.toml")).unwrap();
        assert!(mlp.check_archs_fit(small).is_ok());
    }
}
