//! Scheme families: which kind of input transform a run used, for grouping runs (the trade-off
//! figure colours its points by family). The one place that maps transforms to families, from the
//! config's transform list or from a run's saved privacy description (`PrivacyConfig::describe`).

use crate::config::TransformSpec;

use super::transforms::{self, FamilyStyle, Shape};

/// The kind of keyed input transform, whatever its parameters (block size, sigma, ...).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// One registered transform kind (its position in `transforms::ALL`, which orders legends).
    Transform(usize),
    /// Two or more transforms of different families, applied in turn.
    Combined,
    /// No input transform (labels only).
    Identity,
    /// Split learning: no keyed transform; the customer keeps the first and last layers.
    Split,
    /// InstaHide: training images mixed with each other under a sign mask (`scheme::instahide`).
    InstaHide,
    /// A description this version does not know (a newer transform).
    Other,
}

impl std::fmt::Debug for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Family {
    /// Every family: each transform kind, then combined, identity and other.
    pub fn all() -> Vec<Family> {
        (0..transforms::ALL.len())
            .map(Family::Transform)
            .chain([Family::Combined, Family::Identity, Family::Split, Family::InstaHide, Family::Other])
            .collect()
    }

    /// The family of the transform kind called `name`.
    pub fn named(name: &str) -> Family {
        transforms::ALL.iter().position(|k| k.name() == name).map_or(Family::Other, Family::Transform)
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::Transform(i) => transforms::ALL[i].name(),
            Family::Combined => "combined",
            Family::Identity => "identity",
            Family::Split => "split learning",
            Family::InstaHide => "instahide",
            Family::Other => "other",
        }
    }

    /// Colour and marker in figures: a transform kind's own, Okabe-Ito for the rest.
    pub fn style(self) -> FamilyStyle {
        match self {
            Family::Transform(i) => transforms::ALL[i].style(),
            Family::Combined => FamilyStyle { color: (86, 180, 233), marker: Shape::Cross }, // sky blue
            Family::Identity => FamilyStyle { color: (0, 0, 0), marker: Shape::Diamond },    // black
            Family::Split => FamilyStyle { color: (25, 45, 110), marker: Shape::Circle },    // navy (ELE has dark red)
            Family::InstaHide => FamilyStyle { color: (200, 0, 120), marker: Shape::TriangleDown }, // magenta
            Family::Other => FamilyStyle { color: (120, 120, 120), marker: Shape::Cross },   // grey
        }
    }

    /// The family of an arm's scheme: its transforms' for a keyed arm, `Split` for a split arm,
    /// `Identity` for the baseline.
    pub fn of_scheme(scheme: &crate::config::SchemeConfig) -> Family {
        match scheme {
            crate::config::SchemeConfig::Keyed(p) => Family::of_transforms(&p.transforms),
            crate::config::SchemeConfig::Split(_) => Family::Split,
            crate::config::SchemeConfig::InstaHide(_) => Family::InstaHide,
            crate::config::SchemeConfig::None => Family::Identity,
        }
    }

    /// The family of one transform.
    pub fn of_transform(t: &TransformSpec) -> Family {
        Family::named(&t.kind)
    }

    /// The family of a transform list: its one family, `Combined` when they differ, `Identity` when empty.
    pub fn of_transforms(ts: &[TransformSpec]) -> Family {
        combine(ts.iter().map(Family::of_transform))
    }

    /// The family from a saved privacy description, "block-shuffle(b=4) + noise(sigma=0.1); labels: ...":
    /// the transform part is transform labels joined by " + ", or "identity".
    pub fn of_description(privacy: &str) -> Family {
        let transforms = privacy.split(';').next().unwrap_or("").trim();
        if transforms.starts_with("instahide") {
            return Family::InstaHide;
        }
        if transforms.is_empty() || transforms == "identity" {
            return Family::Identity;
        }
        combine(transforms.split(" + ").map(|label| Family::named(label.trim().split('(').next().unwrap_or("").trim())))
    }
}

fn combine(families: impl Iterator<Item = Family>) -> Family {
    let mut out = Family::Identity;
    for f in families {
        out = match out {
            Family::Identity => f,
            o if o == f => o,
            _ if f == Family::Other => Family::Other,
            Family::Other => Family::Other,
            _ => Family::Combined,
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PrivacyConfig;
    use crate::scheme::transforms::{DescribePrivacy, TransformLabel};

    #[test]
    fn the_description_gives_the_same_family_as_the_config() {
        let t = TransformSpec::new;
        let block = |b: i64| t("block-shuffle").with("block", b);
        let noise = |sigma: f64, per_sample: bool| t("noise").with("sigma", sigma).with("per_sample", per_sample);
        let specs = [
            vec![t("pixel-permutation")],
            vec![block(4).with("flip", true)],
            vec![t("orthogonal-mix")],
            vec![t("separable-mix")],
            vec![t("fast-mix").with("rounds", 3)],
            vec![noise(0.1, true)],
            vec![t("pixel-permutation"), noise(0.05, false)],
            vec![block(2), block(7)],
            vec![],
        ];
        let expected = [
            Family::named("pixel-permutation"),
            Family::named("block-shuffle"),
            Family::named("orthogonal-mix"),
            Family::named("separable-mix"),
            Family::named("fast-mix"),
            Family::named("noise"),
            Family::Combined,
            Family::named("block-shuffle"),
            Family::Identity,
        ];
        // Every registered kind is its own family, found again from its label.
        for kind in transforms::ALL {
            let spec = transforms::initial_spec(*kind);
            assert_eq!(Family::of_transform(&spec).name(), kind.name());
            assert_eq!(Family::of_description(&format!("{}; labels: plain, m=1", spec.label())).name(), kind.name());
        }
        for (ts, want) in specs.iter().zip(expected) {
            let p = PrivacyConfig { transforms: ts.clone(), codes_per_class: 3, ..PrivacyConfig::default() };
            assert_eq!(Family::of_transforms(ts), want, "{ts:?}");
            assert_eq!(Family::of_description(&p.describe()), want, "{}", p.describe());
        }
        assert_eq!(Family::of_description("rotate(deg=3); labels: plain, m=1"), Family::Other);
    }
}
