//! The TOML experiment schema: serde defaults, validation, and errors that name the file, the field
//! path, the line and what was expected.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::load::DatasetKind;
use crate::data::ImageShape;
use crate::error::{closest, InputError};

/// One experiment: what data, which model, how to train, how to protect, what to attack, where to write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Short name; the run folder is `OUTPUT_DIR/NAME-TIMESTAMP`.
    pub name: String,
    /// Fixes data order and initialisation for both arms (not the key, unless `privacy.fixed_key` is set).
    #[serde(default = "default_seed")]
    pub seed: u64,
    pub data: DataConfig,
    #[serde(default)]
    pub model: ModelConfig,
    #[serde(default)]
    pub train: TrainConfig,
    #[serde(default)]
    pub privacy: PrivacyConfig,
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
}

impl DataConfig {
    /// Load the configured dataset (limits applied).
    pub fn load(&self) -> anyhow::Result<crate::data::Dataset> {
        crate::data::load::load_dataset(self.dataset, self.dir.as_deref(), self.train_limit, self.test_limit)
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
}

impl Arch {
    pub const ALL: [Arch; 5] = [Arch::Mlp256, Arch::Mlp512x256, Arch::Mlp1024x512, Arch::CnnSmall, Arch::Lenet];

    pub fn name(self) -> &'static str {
        match self {
            Arch::Mlp256 => "mlp-256",
            Arch::Mlp512x256 => "mlp-512-256",
            Arch::Mlp1024x512 => "mlp-1024-512",
            Arch::CnnSmall => "cnn-small",
            Arch::Lenet => "lenet",
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceKind {
    Cpu,
    Cuda,
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

/// One keyed input transform, applied by the customer in list order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum TransformSpec {
    /// One secret permutation of all input features.
    PixelPermutation,
    /// Secret permutation of b x b blocks and of the pixels inside each block (optionally a keyed
    /// negative/positive flip per block).
    BlockShuffle {
        block: usize,
        #[serde(default)]
        flip: bool,
    },
    /// x -> Q x with a secret random orthogonal matrix.
    OrthogonalMix,
    /// x -> (Q_rows (x) Q_cols (x) Q_channels) x: one secret orthogonal matrix per image axis. Orthogonal
    /// like `orthogonal-mix` but O(d (h + w + c)) to apply instead of O(d^2), with a far smaller key.
    SeparableMix,
    /// Rounds of keyed sign flips, a keyed permutation and Walsh–Hadamard transforms: mixes every
    /// feature with every other like `orthogonal-mix`, in O(d log d) (`scheme::fast_mix`).
    FastMix {
        #[serde(default = "default_fast_mix_rounds")]
        rounds: usize,
    },
    /// Keyed additive Gaussian noise: a fixed secret pattern, or fresh per sample when `per_sample`.
    Noise {
        sigma: f64,
        #[serde(default)]
        per_sample: bool,
    },
}

impl TransformSpec {
    pub fn label(&self) -> String {
        match self {
            TransformSpec::PixelPermutation => "pixel-permutation".into(),
            TransformSpec::BlockShuffle { block, flip } => {
                format!("block-shuffle(b={block}{})", if *flip { ",flip" } else { "" })
            }
            TransformSpec::OrthogonalMix => "orthogonal-mix".into(),
            TransformSpec::SeparableMix => "separable-mix".into(),
            TransformSpec::FastMix { rounds } => format!("fast-mix(rounds={rounds})"),
            TransformSpec::Noise { sigma, per_sample } => {
                format!("noise(sigma={sigma}{})", if *per_sample { ",per-sample" } else { "" })
            }
        }
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

/// Rounds of `fast-mix` when the config does not say: three sign-flip/Hadamard blocks, as in the
/// orthogonal-random-features papers (`scheme::fast_mix` measures how well 1 to 4 rounds mix).
pub const FAST_MIX_DEFAULT_ROUNDS: usize = 3;

fn default_fast_mix_rounds() -> usize {
    FAST_MIX_DEFAULT_ROUNDS
}

fn default_transforms() -> Vec<TransformSpec> {
    vec![TransformSpec::PixelPermutation]
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

impl PrivacyConfig {
    /// "pixel-permutation + noise(sigma=0.1); labels: permuted, m=3"
    pub fn describe(&self) -> String {
        let t = if self.transforms.is_empty() {
            "identity".to_string()
        } else {
            self.transforms.iter().map(|t| t.label()).collect::<Vec<_>>().join(" + ")
        };
        let l = if self.label_permutation { "permuted" } else { "plain" };
        format!("{t}; labels: {l}, m={}", self.codes_per_class)
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
            let line = inner.span().map(|s| line_of(text, s.start));
            InputError::new(describe_parse_error(path, &field, line, inner.message()))
        })?;
        config.validate_fields().map_err(|(field, expected)| field_error(text, path, &field, &expected))?;
        Ok(config)
    }

    /// The resolved config (every default filled in) as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serialises to TOML")
    }

    /// Image shape of the configured dataset, known without loading it.
    pub fn image_shape(&self) -> ImageShape {
        self.data.dataset.shape()
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
        let shape = self.image_shape();
        if self.model.arch.is_cnn() && (shape.height < 8 || shape.width < 8) {
            return err(
                "model.arch",
                format!(
                    "an MLP for {} ({}x{} images are too small for {}'s two 2x2 poolings)",
                    self.data.dataset.name(),
                    shape.height,
                    shape.width,
                    self.model.arch.name()
                ),
            );
        }
        let p = &self.privacy;
        if p.codes_per_class == 0 {
            return err("privacy.codes_per_class", "an integer >= 1, got 0".into());
        }
        if p.codes_per_class > 64 {
            return err("privacy.codes_per_class", format!("an integer <= 64, got {}", p.codes_per_class));
        }
        for (i, tr) in p.transforms.iter().enumerate() {
            let field = format!("privacy.transforms[{i}]");
            match tr {
                TransformSpec::BlockShuffle { block, .. } => {
                    if *block == 0 || !shape.height.is_multiple_of(*block) || !shape.width.is_multiple_of(*block) {
                        return err(
                            &format!("{field}.block"),
                            format!(
                                "a block size >= 1 that divides the {}x{} image, got {block}",
                                shape.height, shape.width
                            ),
                        );
                    }
                }
                TransformSpec::Noise { sigma, .. } => {
                    if !(*sigma >= 0.0 && sigma.is_finite()) {
                        return err(&format!("{field}.sigma"), format!("a number >= 0, got {sigma}"));
                    }
                }
                TransformSpec::OrthogonalMix => {
                    if shape.features() > 4096 {
                        return err(
                            &field,
                            format!(
                                "a dataset with <= 4096 features for orthogonal-mix, {} has {}",
                                self.data.dataset.name(),
                                shape.features()
                            ),
                        );
                    }
                }
                TransformSpec::FastMix { rounds } => {
                    if !(1..=16).contains(rounds) {
                        return err(&format!("{field}.rounds"), format!("an integer from 1 to 16, got {rounds}"));
                    }
                }
                TransformSpec::PixelPermutation | TransformSpec::SeparableMix => {}
            }
        }
        if let Some(k) = &p.fixed_key {
            if k.len() != 64 || !k.chars().all(|c| c.is_ascii_hexdigit()) {
                return err("privacy.fixed_key", "64 hexadecimal digits (a 256-bit secret)".into());
            }
        }
        self.attacks.validate()?;
        Ok(())
    }
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

/// Best-effort line of a dotted field path such as `train.batch_size` or `privacy.transforms[1].block`:
/// the `[table]` header the path names (`attacks.inversoin`), else its key under its parent's header
/// (`attacks.inversion.hidden`), else the first line that sets the key.
fn find_field_line(text: &str, field: &str) -> Option<usize> {
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
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.starts_with(key) && l[key.len()..].trim_start().starts_with('=')
                || l.contains(&format!("{key} ="))
                || l.contains(&format!("{key}="))
        })
        .map(|i| i + 1)
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
        "train.device" => quoted(&["cpu", "cuda"]),
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
