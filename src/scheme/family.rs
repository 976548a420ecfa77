//! Scheme families: which kind of input transform a run used, for grouping runs (the trade-off
//! figure colours its points by family). The one place that maps transforms to families, from the
//! config's transform list or from a run's saved privacy description (`PrivacyConfig::describe`).

use crate::config::TransformSpec;

/// The kind of keyed input transform, whatever its parameters (block size, sigma, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    PixelPermutation,
    BlockShuffle,
    OrthogonalMix,
    SeparableMix,
    FastMix,
    Noise,
    /// Two or more transforms of different families, applied in turn.
    Combined,
    /// No input transform (labels only).
    Identity,
    /// A description this version does not know (a newer transform).
    Other,
}

impl Family {
    pub const ALL: [Family; 9] = [
        Family::PixelPermutation,
        Family::BlockShuffle,
        Family::OrthogonalMix,
        Family::SeparableMix,
        Family::FastMix,
        Family::Noise,
        Family::Combined,
        Family::Identity,
        Family::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Family::PixelPermutation => "pixel-permutation",
            Family::BlockShuffle => "block-shuffle",
            Family::OrthogonalMix => "orthogonal-mix",
            Family::SeparableMix => "separable-mix",
            Family::FastMix => "fast-mix",
            Family::Noise => "noise",
            Family::Combined => "combined",
            Family::Identity => "identity",
            Family::Other => "other",
        }
    }

    /// The family of one transform.
    pub fn of_transform(t: &TransformSpec) -> Family {
        match t {
            TransformSpec::PixelPermutation => Family::PixelPermutation,
            TransformSpec::BlockShuffle { .. } => Family::BlockShuffle,
            TransformSpec::OrthogonalMix => Family::OrthogonalMix,
            TransformSpec::SeparableMix => Family::SeparableMix,
            TransformSpec::FastMix { .. } => Family::FastMix,
            TransformSpec::Noise { .. } => Family::Noise,
        }
    }

    /// The family of a transform list: its one family, `Combined` when they differ, `Identity` when empty.
    pub fn of_transforms(ts: &[TransformSpec]) -> Family {
        combine(ts.iter().map(Family::of_transform))
    }

    /// The family from a saved privacy description, "block-shuffle(b=4) + noise(sigma=0.1); labels: ...":
    /// the transform part is `TransformSpec::label`s joined by " + ", or "identity".
    pub fn of_description(privacy: &str) -> Family {
        let transforms = privacy.split(';').next().unwrap_or("").trim();
        if transforms.is_empty() || transforms == "identity" {
            return Family::Identity;
        }
        combine(transforms.split(" + ").map(|label| {
            let base = label.trim().split('(').next().unwrap_or("").trim();
            Family::ALL.into_iter().find(|f| f.name() == base && *f != Family::Other).unwrap_or(Family::Other)
        }))
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

    #[test]
    fn the_description_gives_the_same_family_as_the_config() {
        let specs = [
            vec![TransformSpec::PixelPermutation],
            vec![TransformSpec::BlockShuffle { block: 4, flip: true }],
            vec![TransformSpec::OrthogonalMix],
            vec![TransformSpec::SeparableMix],
            vec![TransformSpec::FastMix { rounds: 3 }],
            vec![TransformSpec::Noise { sigma: 0.1, per_sample: true }],
            vec![TransformSpec::PixelPermutation, TransformSpec::Noise { sigma: 0.05, per_sample: false }],
            vec![
                TransformSpec::BlockShuffle { block: 2, flip: false },
                TransformSpec::BlockShuffle { block: 7, flip: false },
            ],
            vec![],
        ];
        let expected = [
            Family::PixelPermutation,
            Family::BlockShuffle,
            Family::OrthogonalMix,
            Family::SeparableMix,
            Family::FastMix,
            Family::Noise,
            Family::Combined,
            Family::BlockShuffle,
            Family::Identity,
        ];
        for (ts, want) in specs.iter().zip(expected) {
            let p = PrivacyConfig { transforms: ts.clone(), codes_per_class: 3, ..PrivacyConfig::default() };
            assert_eq!(Family::of_transforms(ts), want, "{ts:?}");
            assert_eq!(Family::of_description(&p.describe()), want, "{}", p.describe());
        }
        assert_eq!(Family::of_description("rotate(deg=3); labels: plain, m=1"), Family::Other);
    }
}
