//! Attack 1, key space: log2 of the number of keys, per transform and for the label assignment,
//! analytically. Nothing is observed and nothing is recovered: a brute-force adversary's work factor.
//! A large key space is necessary, not sufficient: attacks 4-7 exploit structure instead.

use serde_json::json;

use super::registry::{Attack, NoParams, ResultKind};
use super::verdict::Spec;
use super::{AttackContext, AttackRecord, Figure, Progress, ThreatModel};
use crate::config::TransformSpec;
use crate::data::ImageShape;
use crate::results::attacks::{Criterion, Level};
use crate::scheme::transforms::{self, TransformLabel};

/// Key space: below this many discrete bits, a partial leak (under the 128-bit margin of modern
/// ciphers: within reach of a determined search in the foreseeable future).
pub const KEY_BITS_PARTIAL_LEAK: f64 = 128.0;
/// Key space: below this many discrete bits, broken (2^80 trials is within today's reach).
pub const KEY_BITS_BROKEN: f64 = 80.0;

/// The key-space analysis (no parameters).
pub struct KeySpace;

impl Attack for KeySpace {
    const NAME: &'static str = "key-space";
    const TITLE: &'static str = "Key space (brute force)";
    const RESULT: ResultKind = ResultKind::KeySearch;
    type Params = NoParams;

    fn rule() -> Spec {
        Spec {
            decided_by: format!(
                "discrete key bits (input transforms + label assignment): partial leak below {KEY_BITS_PARTIAL_LEAK:.0}, \
                 broken below {KEY_BITS_BROKEN:.0}; a key with a continuous component cannot be enumerated and protects"
            ),
            protects: "exhaustive search over the key is out of reach (which says nothing about the structural attacks)",
            partial_leak: "below the 128-bit margin of modern ciphers: a determined adversary may search the key in the foreseeable future",
            broken: "below 2^80 trials: an exhaustive search over the key is feasible today",
            criteria,
        }
    }

    fn run(&self, ctx: &AttackContext<'_>, _: &NoParams, _: &Progress<'_>) -> anyhow::Result<AttackRecord> {
        run(ctx)
    }
}

/// The figure the verdict rule reads: a key with a continuous component cannot be enumerated.
pub const CONTINUOUS_DIM: &str = "continuous key dimension";

pub use crate::scheme::transforms::log2_factorial;

/// The key space of one transform.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    pub what: String,
    /// log2 of the number of discrete keys (0 for a continuous or keyless component).
    pub bits: f64,
    /// Dimension of a continuous key (0 if discrete).
    pub continuous_dim: u64,
    pub note: String,
}

/// Key space of each transform of the list (each kind counts its own).
pub fn transform_components(transforms: &[TransformSpec], shape: ImageShape) -> Vec<Component> {
    // Each transform's key is counted on the shape it receives (`le` doubles the channels).
    let shapes = transforms::shapes(transforms, shape);
    transforms
        .iter()
        .zip(shapes)
        .map(|(t, shape)| {
            let (kind, p) = transforms::kind::params(t);
            let transforms::KeySpace { bits, continuous_dim, note } = kind.key_space(&p, shape);
            Component { what: t.label(), bits, continuous_dim, note }
        })
        .collect()
}

/// Key space of the label assignment: log2((C m)! / (m!)^C) when permuted.
pub fn label_component(classes: usize, m: usize, permuted: bool) -> Component {
    let bits =
        if permuted { log2_factorial((classes * m) as u64) - classes as f64 * log2_factorial(m as u64) } else { 0.0 };
    Component {
        what: format!("labels (C={classes}, m={m})"),
        bits,
        continuous_dim: 0,
        note: if permuted {
            format!("log2(({classes}*{m})! / ({m}!)^{classes})")
        } else {
            "no secret: codes in class order".into()
        },
    }
}

pub fn run(ctx: &AttackContext<'_>) -> anyhow::Result<AttackRecord> {
    let keyed = ctx.keyed()?;
    let p = keyed.privacy;
    let d = ctx.features() as u64;
    let inputs = transform_components(&p.transforms, ctx.shape);
    let labels = label_component(ctx.classes, p.codes_per_class, p.label_permutation);
    let discrete_sum: f64 = inputs.iter().map(|c| c.bits).sum();
    let continuous: u64 = inputs.iter().map(|c| c.continuous_dim).sum();
    // Composed permutations are one permutation (with flips, one signed permutation): the sum over
    // the list overstates the distinct input transforms.
    let fw = keyed.family().feature_wise;
    let cap = if fw && continuous == 0 {
        log2_factorial(d) + if keyed.family().flips { d as f64 } else { 0.0 }
    } else {
        f64::INFINITY
    };
    let input_bits = discrete_sum.min(cap);
    let total = input_bits + labels.bits;

    let mut r = ctx.new_record::<KeySpace>(
        ThreatModel {
            adversary: "anyone who tries keys one by one (brute force)".into(),
            holds: vec!["a way to test a key guess (e.g. a few known pairs or labelled samples)".into()],
            knowledge: "the scheme and its parameters (transform list, label splitting), not the key".into(),
        },
        "none (analytic)".into(),
    );
    let comps: Vec<_> = inputs
        .iter()
        .chain(std::iter::once(&labels))
        .map(|c| json!({"component": c.what, "bits": c.bits, "continuous_dim": c.continuous_dim, "formula": c.note}))
        .collect();
    r.parameters.insert("components".into(), json!(comps));
    r.parameters.insert("features".into(), json!(d));
    r.headline = Figure::new("discrete key bits (input transforms + labels)", total, "bits");
    for c in &inputs {
        r.figures.push(Figure::new(format!("{} bits", c.what), c.bits, "bits"));
        if c.continuous_dim > 0 {
            r.figures.push(Figure::new(
                format!("{} continuous dimension", c.what),
                c.continuous_dim as f64,
                "dimensions",
            ));
        }
    }
    r.figures.push(Figure::new("label assignment bits", labels.bits, "bits"));
    r.figures.push(Figure::new("input transform bits", input_bits, "bits"));
    r.figures.push(Figure::new(CONTINUOUS_DIM, continuous as f64, "dimensions"));
    super::verdict::decide(&mut r);
    let cont = if continuous > 0 { format!(" plus a continuous key of dimension {continuous}") } else { String::new() };
    r.verdict = match r.level.unwrap_or(Level::Protects) {
        Level::Broken => format!(
            "only {total:.1} bits{cont}: small enough to search exhaustively; the label assignment alone is {:.1} bits",
            labels.bits
        ),
        Level::PartialLeak => format!(
            "{total:.1} bits{cont}: below the 128-bit margin, within reach of a determined search; the label assignment alone is {:.1} bits",
            labels.bits
        ),
        Level::Protects => format!(
            "{total:.0} discrete bits{cont} (labels {:.1} bits): beyond exhaustive search, which says nothing about the structural attacks (known-plaintext, statistical, label frequency)",
            labels.bits
        ),
    };
    Ok(r)
}

/// The rule's criterion: the discrete bits, or the continuous dimension when there is one.
fn criteria(r: &AttackRecord) -> Vec<Criterion> {
    let bits = r.headline.value;
    match r.figure(CONTINUOUS_DIM) {
        Some(dim) if dim > 0.0 => {
            let mut c = Criterion::new(
                "continuous key dim",
                dim,
                "dimensions",
                1.0,
                1.0,
                "any continuous key component (dimension ≥ 1) cannot be enumerated".into(),
            );
            c.lower_is_worse = true;
            vec![c]
        }
        // Without the figure (hand-made or format-1 records) only a key large enough either way decides.
        None if bits < KEY_BITS_PARTIAL_LEAK => vec![],
        _ => {
            let mut c = Criterion::new(
                "key",
                bits,
                "bits",
                KEY_BITS_PARTIAL_LEAK,
                KEY_BITS_BROKEN,
                "the limits of exhaustive search: 2^80 trials feasible today, 2^128 the margin of modern ciphers"
                    .into(),
            );
            c.lower_is_worse = true;
            vec![c]
        }
    }
}
