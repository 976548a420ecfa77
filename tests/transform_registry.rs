//! The transform registry is the one list of transform kinds: README documents each with its
//! parameters, and every kind's defaults and labels behave as configs expect.

use std::path::Path;

use ppdl::config::TransformSpec;
use ppdl::data::ImageShape;
use ppdl::scheme::transforms::{self, check_transforms, resolve_transforms, TransformLabel};

const BEGIN: &str = "<!-- transform kinds: generated from the registry (tests/transform_registry.rs) -->\n";
const END: &str = "<!-- end of transform kinds -->";

#[test]
fn readme_lists_every_registered_transform_with_its_parameters() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme.find(BEGIN).expect("README has the transform table markers") + BEGIN.len();
    let end = readme[start..].find(END).expect("README closes the transform table") + start;
    let want = transforms::reference_table();
    if std::env::var_os("UPDATE_README").is_some() && readme[start..end] != want {
        let updated = format!("{}{want}{}", &readme[..start], &readme[end..]);
        std::fs::write(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"), updated).unwrap();
        return;
    }
    assert_eq!(&readme[start..end], want, "README's transform table is out of date; it should read:\n{want}");
    for kind in transforms::ALL {
        assert!(want.contains(&format!("| `{}` |", kind.name())));
        for p in kind.params() {
            assert!(want.contains(&format!("| `{}` |", p.name)), "{}: {}", kind.name(), p.name);
        }
    }
}

#[test]
fn every_kind_starts_valid_resolves_its_defaults_and_round_trips() {
    let shape = ImageShape { height: 28, width: 28, channels: 1 };
    let mut names: Vec<&str> = transforms::ALL.iter().map(|k| k.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), transforms::ALL.len(), "two kinds share a name");
    for kind in transforms::ALL {
        // The form's starting values are valid and every parameter is declared once.
        let initial = transforms::initial_spec(*kind);
        check_transforms(std::slice::from_ref(&initial), shape, "t").unwrap();
        // Leaving out what has a default gives the same transform, label and resolved table.
        let mut bare = TransformSpec::new(kind.name());
        for p in kind.params().iter().filter(|p| p.default.is_none()) {
            bare.set(p.name, p.initial.clone());
        }
        check_transforms(std::slice::from_ref(&bare), shape, "t").unwrap();
        let mut resolved = vec![bare.clone()];
        resolve_transforms(&mut resolved);
        assert_eq!(resolved[0].label(), bare.label());
        assert_eq!(resolved[0].params.len(), kind.params().len(), "{}: every parameter written out", kind.name());
        // Serialised as config TOML and read back: the same spec, `kind` first.
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Holder {
            t: Vec<TransformSpec>,
        }
        let text = toml::to_string(&Holder { t: resolved.clone() }).unwrap();
        let back: Holder = toml::from_str(&text).unwrap();
        assert_eq!(back.t, resolved, "{text}");
        let json = serde_json::to_string(&resolved[0]).unwrap();
        assert!(json.starts_with(&format!("{{\"kind\":\"{}\"", kind.name())), "{json}");
        assert_eq!(serde_json::from_str::<TransformSpec>(&json).unwrap(), resolved[0]);
    }
}

#[test]
fn labels_are_the_released_ones() {
    // Labels name the key streams: these must never change (see tests/transform_encodings.rs).
    let t = TransformSpec::new;
    let cases = [
        (t("pixel-permutation"), "pixel-permutation"),
        (t("block-shuffle").with("block", 4), "block-shuffle(b=4)"),
        (t("block-shuffle").with("block", 7).with("flip", true), "block-shuffle(b=7,flip)"),
        (t("orthogonal-mix"), "orthogonal-mix"),
        (t("separable-mix"), "separable-mix"),
        (t("fast-mix"), "fast-mix(rounds=3)"),
        (t("fast-mix").with("rounds", 5), "fast-mix(rounds=5)"),
        (t("noise").with("sigma", 0.1), "noise(sigma=0.1)"),
        (t("noise").with("sigma", 1), "noise(sigma=1)"),
        (t("noise").with("sigma", 0.25).with("per_sample", true), "noise(sigma=0.25,per-sample)"),
        (t("le"), "le(b=4)"),
        (t("ele").with("block", 7), "ele(b=7)"),
    ];
    for (spec, label) in cases {
        assert_eq!(spec.label(), label);
    }
}

#[test]
fn bad_transform_tables_name_the_field_and_what_was_expected() {
    let shape = ImageShape { height: 8, width: 8, channels: 1 };
    let t = TransformSpec::new;
    let cases = [
        (t("nosie"), "p[0].kind", "did you mean `noise`"),
        (t("block-shuffle").with("blok", 2), "p[0].blok", "did you mean `block`"),
        (t("block-shuffle").with("block", 3), "p[0].block", "divides the 8x8 image, got 3"),
        (t("block-shuffle").with("block", -2), "p[0].block", "a non-negative integer, got -2"),
        (t("block-shuffle"), "p[0]", "`block` for block-shuffle"),
        (t("fast-mix").with("rounds", 0), "p[0].rounds", "from 1 to 16, got 0"),
        (t("noise").with("sigma", -0.5), "p[0].sigma", ">= 0, got -0.5"),
        (t("noise").with("sigma", f64::INFINITY), "p[0].sigma", ">= 0, got inf"),
        (t("noise").with("sigma", 0.1).with("per_sample", "yes"), "p[0].per_sample", "true or false"),
        (t("separable-mix").with("rounds", 2), "p[0].rounds", "no parameters for separable-mix"),
    ];
    for (spec, field, expected) in cases {
        let (f, e) = check_transforms(std::slice::from_ref(&spec), shape, "p").unwrap_err();
        assert_eq!(f, field, "{spec:?}");
        assert!(e.contains(expected), "{spec:?}: {e}");
    }
    // Orthogonal-mix's dense Q is refused above 4,096 features (CIFAR-10: 3,072 fits).
    let big = ImageShape { height: 64, width: 64, channels: 3 };
    let (f, e) = check_transforms(&[t("pixel-permutation"), t("orthogonal-mix")], big, "p").unwrap_err();
    assert_eq!(f, "p[1]");
    assert!(e.contains("<= 4096 features"), "{e}");
    check_transforms(&[t("orthogonal-mix")], ImageShape { height: 32, width: 32, channels: 3 }, "p").unwrap();
}
