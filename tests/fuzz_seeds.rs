//! Replays the committed fuzz corpus (fuzz/seeds/TARGET: hand-made seeds and every input that once
//! crashed a target) through the same checks the cargo-fuzz targets run. `scripts/fuzz.sh` does the
//! actual fuzzing; this keeps its findings fixed in the ordinary test suite, on stable, without libFuzzer.

use std::path::Path;

use ppdl::fuzz_checks::TARGETS;

#[test]
fn every_committed_fuzz_input_passes_its_target_check() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    for (target, check) in TARGETS {
        let dir = seeds.join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        assert!(files.len() >= 3, "{}: expected at least 3 seeds, found {}", dir.display(), files.len());
        for file in files {
            let bytes = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&bytes));
            assert!(outcome.is_ok(), "{target}: {} fails its check", file.display());
        }
    }
}

mod config_grammar {
    //! Structured fuzzing of the config parser: documents built from the schema's own keys with values
    //! of every type and range, so validation is reached far more often than by random bytes.
    use proptest::prelude::*;

    const SECTIONS: [(&str, &[&str]); 7] = [
        ("", &["name", "seed"]),
        ("data", &["dataset", "dir", "train_limit", "test_limit"]),
        ("model", &["arch"]),
        (
            "train",
            &[
                "epochs",
                "batch_size",
                "optimizer",
                "learning_rate",
                "lr_decay",
                "weight_decay",
                "momentum",
                "schedule",
                "device",
                "log_every",
            ],
        ),
        ("privacy", &["transforms", "label_permutation", "codes_per_class", "fixed_key"]),
        ("attacks", &["enabled", "aux_fraction"]),
        ("output", &["dir", "figures"]),
    ];

    const VALUES: &[&str] = &[
        "0",
        "1",
        "3",
        "-1",
        "7",
        "28",
        "1e308",
        "-0.0",
        "0.5",
        "1.5",
        "nan",
        "inf",
        "-inf",
        "18446744073709551615",
        "true",
        "false",
        "\"\"",
        "\"x\"",
        "\"a b\"",
        "\"quickstart\"",
        "\"embedded\"",
        "\"mnist\"",
        "\"digits\"",
        "\"cifar10\"",
        "\"mlp-256\"",
        "\"cnn-small\"",
        "\"lenet\"",
        "\"adam\"",
        "\"sgd\"",
        "\"sequential\"",
        "\"cuda\"",
        "\"cpu\"",
        "[]",
        "[\"all\"]",
        "[\"inversion\", \"nope\"]",
        "[1, 2]",
        "{}",
        "[{ kind = \"pixel-permutation\" }]",
        "[{ kind = \"block-shuffle\", block = 4, flip = true }]",
        "[{ kind = \"block-shuffle\", block = 5 }]",
        "[{ kind = \"noise\", sigma = -0.1, per_sample = true }]",
        "[{ kind = \"noise\", sigma = nan }]",
        "[{ kind = \"orthogonal-mix\" }, { kind = \"pixel-permutation\" }]",
        "[{ kind = \"rot13\" }]",
        "\"5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed\"",
        "\"5eed\"",
    ];

    /// Keys every document starts from, so that many documents are valid and reach the round trip.
    const BASE: [(&str, &str, &str); 3] =
        [("", "name", "\"g\""), ("data", "dataset", "\"embedded\""), ("model", "arch", "\"mlp-256\"")];

    fn document() -> impl Strategy<Value = String> {
        let edit = (0..SECTIONS.len(), any::<prop::sample::Index>(), 0..VALUES.len());
        (proptest::collection::vec(edit, 0..4), any::<bool>()).prop_map(|(edits, keep_base)| {
            let mut sections: Vec<std::collections::BTreeMap<&str, &str>> = vec![Default::default(); SECTIONS.len()];
            for (section, key, value) in BASE {
                if keep_base {
                    let i = SECTIONS.iter().position(|(name, _)| *name == section).unwrap();
                    sections[i].insert(key, value);
                }
            }
            for (i, key, value) in edits {
                let keys = SECTIONS[i].1;
                sections[i].insert(keys[key.index(keys.len())], VALUES[value]);
            }
            let mut text = String::new();
            for ((name, _), pairs) in SECTIONS.iter().zip(&sections) {
                if !name.is_empty() && !pairs.is_empty() {
                    text.push_str(&format!("[{name}]\n"));
                }
                for (key, value) in pairs {
                    text.push_str(&format!("{key} = {value}\n"));
                }
            }
            text
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn config_documents_parse_and_round_trip_or_fail_as_bad_input(text in document()) {
            ppdl::fuzz_checks::check_config(text.as_bytes());
        }
    }

    #[test]
    fn the_grammar_reaches_both_valid_configs_and_refusals() {
        // The property above only means something if many documents get through validation to the
        // round trip, and many are refused: count both on a fixed sample.
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let (mut valid, mut refused) = (0, 0);
        for _ in 0..1000 {
            let text = document().new_tree(&mut runner).unwrap().current();
            match ppdl::validate::parse_config(&text, std::path::Path::new("g.toml")) {
                Ok(_) => valid += 1,
                Err(_) => refused += 1,
            }
        }
        assert!(valid >= 100 && refused >= 100, "valid {valid}, refused {refused} of 1000");
    }
}
