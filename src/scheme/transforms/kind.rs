//! What every kind of input transform tells the rest of the program (`TransformKind`), and the
//! generic handling of a config's transform tables: parameter parsing with defaults, their check
//! against the image shape, labels. Each kind implements the trait in its own file; `super::ALL`
//! lists them (docs/ARCHITECTURE.md, "A new input transform").

use rand_chacha::ChaCha20Rng;

use super::Transform;
use crate::config::{Config, PrivacyConfig, SchemeConfig, TransformSpec};
use crate::data::ImageShape;
use crate::error::did_you_mean;

/// One kind of keyed input transform.
pub trait TransformKind: Sync {
    /// The `kind` of its config table, e.g. "block-shuffle".
    fn name(&self) -> &'static str;
    /// One sentence for README's transform list.
    fn about(&self) -> &'static str;
    /// Its parameters, in the order a resolved config writes them.
    fn params(&self) -> &'static [Param] {
        &[]
    }
    /// Check the parameters against the image shape (their types are already checked).
    /// Err((parameter name, or "" for the transform as a whole; what was expected)).
    fn check(&self, _p: &Params, _shape: ImageShape) -> Result<(), (&'static str, String)> {
        Ok(())
    }
    /// The integer values the TUI form steps through for `param` with ←/→ (None: any value, by one).
    fn choices(&self, _param: &str, _shape: ImageShape) -> Option<Vec<i64>> {
        None
    }
    /// Its label, e.g. "block-shuffle(b=4,flip)". Names its key stream (`transform/INDEX/LABEL`), so
    /// a label never changes once released: a fixed key would give other encodings.
    fn label(&self, p: &Params) -> String;
    /// A short label for the TUI's experiments table, e.g. "block(4,flip)".
    fn short_label(&self, p: &Params) -> String;
    /// The shape of what it outputs for images of `shape` (checked parameters). Most kinds move or
    /// mix values and keep it; `le` and `ele` double the channels (each value's two 4-bit halves).
    fn encoded_shape(&self, _p: &Params, shape: ImageShape) -> ImageShape {
        shape
    }
    /// Build the transform from its own key stream.
    fn build(&self, p: &Params, shape: ImageShape, rng: &mut ChaCha20Rng) -> Box<dyn Transform>;
    /// Size of its key, for the key-space attack.
    fn key_space(&self, p: &Params, shape: ImageShape) -> KeySpace;
    /// How the attacks treat it (public knowledge: what the scheme description reveals).
    fn structure(&self, p: &Params) -> Structure;
    /// The ground truth of a feature-wise transform, drawn from the same key stream as `build`, for
    /// scoring attacks; None for a transform that mixes features.
    fn feature_map(&self, _p: &Params, _shape: ImageShape, _rng: &mut ChaCha20Rng) -> Option<FeatureMap> {
        None
    }
    /// Colour and marker of its family in figures (colour-blind-safe, distinct from the others').
    fn style(&self) -> FamilyStyle;
    /// Whether encoding draws fresh randomness per sample (from the customer's keyed fresh stream).
    fn draws_fresh(&self, p: &Params) -> bool {
        matches!(self.structure(p), Structure::Noise { per_sample: true, .. })
    }
    /// Its public block structure, if it is a block scramble (the jigsaw-puzzle attack applies).
    fn block_scramble(&self, _p: &Params) -> Option<BlockScramble> {
        None
    }
    /// For a block scramble, the ground truth of its puzzle, drawn from the same key stream as
    /// `build`: for each block of the encoding (row-major), the raw block it holds. By default read
    /// off the feature map; a kind without one (`ele`, whose blocks hold 4-bit halves) says it itself.
    fn block_origins(&self, p: &Params, shape: ImageShape, rng: &mut ChaCha20Rng) -> Option<Vec<usize>> {
        let block = self.block_scramble(p)?.block;
        let map = self.feature_map(p, shape, rng)?;
        Some(block_origins(&map.src, shape, self.encoded_shape(p, shape), block))
    }
}

/// For each block of an encoded image (`encoded` shape), the index of the raw block (`raw` shape)
/// its values come from, given for each encoded value the raw value it reads (`src`). Every value of
/// an encoded block of a block scramble reads the same raw block; its first one tells.
pub fn block_origins(src: &[u32], raw: ImageShape, encoded: ImageShape, block: usize) -> Vec<usize> {
    let bw = encoded.width / block;
    let blocks = (encoded.height / block) * bw;
    (0..blocks)
        .map(|e| {
            let (r, c) = ((e / bw) * block, (e % bw) * block);
            let pixel = src[(r * encoded.width + c) * encoded.channels] as usize / raw.channels;
            (pixel / raw.width / block) * bw + (pixel % raw.width) / block
        })
        .collect()
}

/// What the public description of a block scramble says: the block size and which keyed operations
/// act on each block (a jigsaw-puzzle solver tries every orientation, negation and channel order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockScramble {
    /// Side of the square blocks in pixels.
    pub block: usize,
    /// The pixels inside each block are permuted too (no edges left to match).
    pub inner_shuffle: bool,
    /// Blocks are rotated and flipped (the 8 orientations of a square).
    pub orientations: bool,
    /// Blocks may be negative-positive transformed (x -> 1 - x).
    pub negative_positive: bool,
    /// The channels of each block are shuffled.
    pub channel_shuffle: bool,
}

/// The type of a parameter's TOML value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// A non-negative integer.
    Integer,
    /// A number (an integer is accepted and stored as a float).
    Number,
    /// true or false.
    Flag,
}

impl ParamType {
    fn expected(self) -> &'static str {
        match self {
            ParamType::Integer => "a non-negative integer",
            ParamType::Number => "a number",
            ParamType::Flag => "true or false",
        }
    }
}

/// One parameter of a transform kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Its key in the config table.
    pub name: &'static str,
    /// Its row in the TUI form.
    pub title: &'static str,
    /// One phrase for README.
    pub doc: &'static str,
    pub ty: ParamType,
    /// The value when the config leaves it out; None: required.
    pub default: Option<toml::Value>,
    /// The value a transform of this kind starts with in the TUI form.
    pub initial: toml::Value,
}

/// A transform's parameters, read with their declared defaults.
pub struct Params<'a> {
    spec: &'a TransformSpec,
    decl: &'static [Param],
}

impl<'a> Params<'a> {
    pub fn new(spec: &'a TransformSpec, kind: &dyn TransformKind) -> Self {
        Params { spec, decl: kind.params() }
    }

    /// The given value, else the default. A checked spec has every required parameter; an unchecked
    /// one falls back to the form's initial value rather than fail.
    fn value(&self, name: &str) -> toml::Value {
        let decl = self.decl.iter().find(|p| p.name == name);
        let decl = decl.unwrap_or_else(|| panic!("transform parameter `{name}` is not declared"));
        self.spec.get(name).cloned().or_else(|| decl.default.clone()).unwrap_or_else(|| decl.initial.clone())
    }

    pub fn integer(&self, name: &str) -> usize {
        self.value(name).as_integer().map_or(0, |v| v.max(0) as usize)
    }

    pub fn number(&self, name: &str) -> f64 {
        match self.value(name) {
            toml::Value::Float(v) => v,
            toml::Value::Integer(v) => v as f64,
            _ => f64::NAN,
        }
    }

    pub fn flag(&self, name: &str) -> bool {
        self.value(name).as_bool().unwrap_or(false)
    }
}

/// Key space of one transform: log2 of its discrete keys, or the dimension of a continuous key.
#[derive(Debug, Clone, PartialEq)]
pub struct KeySpace {
    /// log2 of the number of discrete keys (0 for a continuous or keyless transform).
    pub bits: f64,
    /// Dimension of a continuous key (0 if discrete).
    pub continuous_dim: u64,
    /// How it was counted, e.g. "log2(784!)".
    pub note: String,
}

/// How the attacks treat a transform.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Structure {
    /// Moves features: every encoded feature is one raw feature (with `flips`, maybe x -> 1 - x).
    Permutes { flips: bool },
    /// Mixes features (an orthogonal map); `separable`: a Kronecker product of small per-axis matrices.
    Mixes { separable: bool },
    /// Adds keyed Gaussian noise: a fixed secret pattern, or fresh per sample (`sigma` public).
    Noise { sigma: f64, per_sample: bool },
    /// Splits each value into several encoded values (`le`, `ele`: its two 4-bit halves) and moves
    /// and negates those: more encoded than raw features, none of them a raw feature.
    Splits,
    /// Runs the image through a secret random non-linear network (`neuracrypt`): no encoded value is
    /// a raw value or a linear map of them, and the encoding has another shape.
    Network,
}

/// A feature-wise map `y[j] = sign[j] * x[src[j]] + offset[j]` (+ fresh Gaussian noise of variance
/// `noise_var` per value).
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMap {
    pub src: Vec<u32>,
    pub sign: Vec<f32>,
    pub offset: Vec<f32>,
    pub noise_var: f32,
}

impl FeatureMap {
    pub fn identity(d: usize) -> Self {
        FeatureMap { src: (0..d as u32).collect(), sign: vec![1.0; d], offset: vec![0.0; d], noise_var: 0.0 }
    }

    /// This map followed by `next`.
    pub fn then(&self, next: &FeatureMap) -> FeatureMap {
        let at = |j: usize| next.src[j] as usize;
        let d = next.src.len();
        FeatureMap {
            src: (0..d).map(|j| self.src[at(j)]).collect(),
            sign: (0..d).map(|j| next.sign[j] * self.sign[at(j)]).collect(),
            offset: (0..d).map(|j| next.sign[j] * self.offset[at(j)] + next.offset[j]).collect(),
            noise_var: self.noise_var + next.noise_var,
        }
    }
}

/// Marker shapes for scheme families (the plot layer draws them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Circle,
    Square,
    Triangle,
    TriangleDown,
    Diamond,
    Cross,
}

/// How a family looks in figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilyStyle {
    /// sRGB.
    pub color: (u8, u8, u8),
    pub marker: Shape,
}

/// log2(n!) (exact sum below a million, Stirling's series above).
pub fn log2_factorial(n: u64) -> f64 {
    if n < 2 {
        return 0.0;
    }
    if n < 1_000_000 {
        return (2..=n).map(|k| (k as f64).log2()).sum();
    }
    let x = n as f64;
    (x * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI * x).ln() + 1.0 / (12.0 * x)) / std::f64::consts::LN_2
}

/// The registered kind called `name`.
pub fn find(name: &str) -> Option<&'static dyn TransformKind> {
    super::ALL.iter().copied().find(|k| k.name() == name)
}

/// The kind of a spec. Specs reach the program through `validate`, which refuses unknown kinds.
pub fn kind_of(spec: &TransformSpec) -> &'static dyn TransformKind {
    find(&spec.kind).unwrap_or_else(|| panic!("unknown transform kind `{}` (configs are checked first)", spec.kind))
}

/// A spec's parameters with its kind.
pub fn params(spec: &TransformSpec) -> (&'static dyn TransformKind, Params<'_>) {
    let kind = kind_of(spec);
    (kind, Params::new(spec, kind))
}

/// Check a transform list (kinds, parameter names and types, values against the image shape).
/// Err((field path under `prefix`, what was expected)).
pub fn check_transforms(specs: &[TransformSpec], shape: ImageShape, prefix: &str) -> Result<(), (String, String)> {
    check_transforms_for(specs, Some(shape), prefix)
}

/// [`check_transforms`], leaving out the checks against the image shape when it is not known (a
/// dataset whose files cannot be read yet: loading it then fails with the reason).
fn check_transforms_for(
    specs: &[TransformSpec],
    mut shape: Option<ImageShape>,
    prefix: &str,
) -> Result<(), (String, String)> {
    for (i, spec) in specs.iter().enumerate() {
        let field = format!("{prefix}[{i}]");
        let Some(kind) = find(&spec.kind) else {
            let names: Vec<&str> = super::ALL.iter().map(|k| k.name()).collect();
            let hint = did_you_mean(&spec.kind, names.iter().copied());
            let list = names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
            return Err((
                format!("{field}.kind"),
                format!("a transform kind, one of {list}; got `{}`{hint}", spec.kind),
            ));
        };
        for (name, value) in &spec.params {
            let Some(decl) = kind.params().iter().find(|p| p.name == name) else {
                let names: Vec<&str> = kind.params().iter().map(|p| p.name).collect();
                let hint = did_you_mean(name, names.iter().copied());
                let expected = if names.is_empty() {
                    format!("no parameters for {}, got `{name}`", kind.name())
                } else {
                    let list = names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
                    format!("a parameter of {}, one of {list}; got `{name}`{hint}", kind.name())
                };
                return Err((format!("{field}.{name}"), expected));
            };
            let fits = match decl.ty {
                ParamType::Integer => value.as_integer().is_some_and(|v| v >= 0),
                ParamType::Number => matches!(value, toml::Value::Float(_) | toml::Value::Integer(_)),
                ParamType::Flag => value.is_bool(),
            };
            if !fits {
                return Err((format!("{field}.{name}"), format!("{}, got {value}", decl.ty.expected())));
            }
        }
        if let Some(missing) = kind.params().iter().find(|p| p.default.is_none() && spec.get(p.name).is_none()) {
            // The transform's own path: the missing key has no line of its own to point at.
            return Err((field, format!("`{}` for {} ({})", missing.name, kind.name(), missing.doc)));
        }
        let Some(input) = shape else { continue };
        // Each transform receives what the ones before it output (`le` doubles the channels).
        let p = Params::new(spec, kind);
        kind.check(&p, input).map_err(|(param, expected)| {
            (if param.is_empty() { field.clone() } else { format!("{field}.{param}") }, expected)
        })?;
        shape = Some(kind.encoded_shape(&p, input));
    }
    Ok(())
}

/// Check the transform list of every keyed arm of `config` (`privacy.transforms` or
/// `arms[i].transforms`). Err((field path, what was expected)).
pub fn check_config_transforms(config: &Config) -> Result<(), (String, String)> {
    for (prefix, keyed) in config.keyed_settings() {
        check_transforms_for(&keyed.transforms, config.image_shape(), &format!("{prefix}.transforms"))?;
    }
    Ok(())
}

/// [`resolve_transforms`] on every keyed arm's list of a checked config.
pub fn resolve_config_transforms(config: &mut Config) {
    if let Some(p) = &mut config.privacy {
        resolve_transforms(&mut p.transforms);
    }
    for arm in config.arms.iter_mut().flatten() {
        if let SchemeConfig::Keyed(p) = &mut arm.scheme {
            resolve_transforms(&mut p.transforms);
        }
    }
}

/// Write every parameter of checked specs out, defaults included, in the kind's order and type (a
/// resolved config shows what ran: `fast-mix` gets its `rounds = 3`).
pub fn resolve_transforms(specs: &mut [TransformSpec]) {
    for spec in specs {
        let (kind, p) = params(spec);
        let resolved = kind
            .params()
            .iter()
            .map(|decl| {
                let value = match decl.ty {
                    ParamType::Integer => toml::Value::Integer(p.integer(decl.name) as i64),
                    ParamType::Number => toml::Value::Float(p.number(decl.name)),
                    ParamType::Flag => toml::Value::Boolean(p.flag(decl.name)),
                };
                (decl.name.to_string(), value)
            })
            .collect();
        spec.params = resolved;
    }
}

/// A new transform of `kind` as the TUI form starts it: every parameter at its initial value.
pub fn initial_spec(kind: &dyn TransformKind) -> TransformSpec {
    let mut spec = TransformSpec::new(kind.name());
    for p in kind.params() {
        spec.set(p.name, p.initial.clone());
    }
    spec
}

/// Labels of transform specs (`spec.label()`), from their kinds.
pub trait TransformLabel {
    /// E.g. "block-shuffle(b=4,flip)"; an unknown kind is shown by its name.
    fn label(&self) -> String;
    /// E.g. "block(4,flip)".
    fn short_label(&self) -> String;
}

impl TransformLabel for TransformSpec {
    fn label(&self) -> String {
        match find(&self.kind) {
            Some(kind) => kind.label(&Params::new(self, kind)),
            None => self.kind.clone(),
        }
    }

    fn short_label(&self) -> String {
        match find(&self.kind) {
            Some(kind) => kind.short_label(&Params::new(self, kind)),
            None => self.kind.clone(),
        }
    }
}

/// The privacy settings in words (`privacy.describe()`).
pub trait DescribePrivacy {
    /// "pixel-permutation + noise(sigma=0.1); labels: permuted, m=3"
    fn describe(&self) -> String;
}

impl DescribePrivacy for PrivacyConfig {
    fn describe(&self) -> String {
        let t = if self.transforms.is_empty() {
            "identity".to_string()
        } else {
            self.transforms.iter().map(|t| t.label()).collect::<Vec<_>>().join(" + ")
        };
        let l = if self.label_permutation { "permuted" } else { "plain" };
        format!("{t}; labels: {l}, m={}", self.codes_per_class)
    }
}

impl DescribePrivacy for SchemeConfig {
    /// One line for tables and legends: the baseline's, or the keyed settings.
    fn describe(&self) -> String {
        match self {
            SchemeConfig::None => "none (raw inputs, true labels)".into(),
            SchemeConfig::Keyed(p) => p.describe(),
            SchemeConfig::InstaHide(h) => {
                format!("instahide: k={}, weights <= {}, sign mask; labels: mixed; test set not encoded", h.k, h.upper)
            }
            SchemeConfig::Split(s) => {
                let mut text = format!("split: head {} layer(s), tail {} (U-shaped)", s.cut, s.tail);
                if s.noise_sigma > 0.0 {
                    text.push_str(&format!("; noise sigma {}", s.noise_sigma));
                }
                if s.nopeek_alpha > 0.0 {
                    text.push_str(&format!("; NoPeek alpha {}", s.nopeek_alpha));
                }
                text
            }
        }
    }
}

/// Whether encoding with these transforms draws fresh randomness per sample.
pub fn draws_fresh_noise(specs: &[TransformSpec]) -> bool {
    specs.iter().any(|s| find(&s.kind).is_some_and(|k| k.draws_fresh(&Params::new(s, k))))
}

/// README's table of transform kinds and their parameters, from the registry (a test keeps README's
/// copy equal to it).
pub fn reference_table() -> String {
    let mut out = String::from("| kind | parameter | default | meaning |\n|---|---|---|---|\n");
    for kind in super::ALL {
        out.push_str(&format!("| `{}` | | | {} |\n", kind.name(), kind.about()));
        for p in kind.params() {
            let default = p.default.as_ref().map_or("required".to_string(), |v| v.to_string());
            out.push_str(&format!("| | `{}` | {default} | {} |\n", p.name, p.doc));
        }
    }
    out
}
