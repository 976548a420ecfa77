//! All seven attacks end to end on a small synthetic run (8x8 images, a provider model trained on the
//! encoded data): records, events, attacks.json, config, early stop.

use std::path::Path;
use std::sync::mpsc;
use std::sync::Arc;

use dfdx::prelude::*;
use ppdl::attacks::fine_tune::FineTune;
use ppdl::attacks::nn::{train_classifier, Plan};
use ppdl::attacks::wrong_key::WrongKey;
use ppdl::attacks::Event;
use ppdl::attacks::{registry, run_attacks, AnyAttack, AttackInputs, AttacksFile, ATTACKS};
use ppdl::config::{AttacksConfig, Config};
use ppdl::data::{Dataset, ImageShape, Split};
use ppdl::model::arch::Mlp1;
use ppdl::scheme::{Customer, SecretKey};
use ppdl::train::Control;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SHAPE: ImageShape = ImageShape { height: 8, width: 8, channels: 1 };
const KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// Class prototypes plus noise; class c is drawn with weight c + 1 (imbalanced priors).
fn synthetic(n: usize, seed: u64) -> Split {
    let d = SHAPE.features();
    let mut proto_rng = ChaCha8Rng::seed_from_u64(1000);
    let protos: Vec<Vec<f32>> = (0..10).map(|_| (0..d).map(|_| proto_rng.gen::<f32>()).collect()).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut images = Vec::with_capacity(n * d);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let mut u = rng.gen_range(0..55);
        let mut c = 0;
        while u > c {
            u -= c + 1;
            c += 1;
        }
        labels.push(c as u8);
        images.extend(protos[c].iter().map(|p| (p + rng.gen_range(-0.25f32..0.25)).clamp(0.0, 1.0)));
    }
    Split { images, labels, features: d }
}

fn config(extra: &str) -> Config {
    let text = format!(
        r#"
name = "synthetic"
seed = 5
[data]
dataset = "digits"
[model]
arch = "mlp-256"
[privacy]
transforms = [{{ kind = "pixel-permutation" }}]
fixed_key = "{KEY}"
[attacks]
enabled = ["all"]
[attacks.wrong_key]
keys = 5
[attacks.fine_tune]
n = [20, 100, 400]
epochs = 3
min_steps = 20
[attacks.known_plaintext]
n = [1, 4, 40, 100]
[attacks.statistical]
n = [200, 3000]
refine_rounds = 2
[attacks.label_frequency]
n = [100, 3000]
group_samples = 500
[attacks.inversion]
n = [50, 400]
hidden = 32
epochs = 2
min_steps = 20
{extra}
"#
    );
    ppdl::validate::parse_config(&text, Path::new("synthetic.toml")).unwrap()
}

/// Train the provider's model on the encoded training set and save it where a run would.
fn provider_model(config: &Config, data: &Dataset, dir: &Path) -> std::path::PathBuf {
    let key = SecretKey::from_hex(KEY).unwrap();
    let privacy = config.keyed_settings().remove(0).1;
    let customer = Customer::new(key, &privacy, &data.name, data.shape, data.classes);
    let enc = customer.encode_training_set(&data.train);
    let dev = Cpu::seed_from_u64(1);
    let mut model = Mlp1::new(&dev, SHAPE.features(), 256, customer.outputs());
    let plan = Plan { epochs: 8, min_steps: 0, batch_size: 32, learning_rate: 1e-3, seed: 2 };
    assert!(train_classifier(
        &dev,
        &mut model,
        enc.inputs().images(),
        SHAPE.features(),
        enc.codes(),
        customer.outputs(),
        &plan,
        &Control::default()
    )
    .unwrap());
    let path = dir.join("model.safetensors");
    ppdl::model::io::save(&model, &path).unwrap();
    path
}

/// The names of the attacks `enabled` selects, in the order they run.
fn selected(a: &AttacksConfig) -> Vec<&'static str> {
    registry::selected(a).iter().map(|a| a.name()).collect()
}

fn dataset() -> Dataset {
    Dataset {
        name: "digits".into(),
        shape: SHAPE,
        classes: 10,
        class_names: Vec::new(),
        train: synthetic(3000, 1),
        test: synthetic(1200, 2),
    }
}

/// The attack inputs of the synthetic run's keyed arm `private` (its fixed key, no run folder).
fn inputs<'a>(
    config: &'a Config,
    privacy: &'a ppdl::config::PrivacyConfig,
    data: &'a Dataset,
    provider_model: std::path::PathBuf,
) -> AttackInputs<'a> {
    AttackInputs {
        config,
        arm: "private",
        privacy,
        dataset: data,
        key: SecretKey::from_hex(KEY).unwrap(),
        provider_model,
        provider_digests: None,
        provider_train: None,
        folder: None,
    }
}

#[test]
fn all_attacks_run_report_and_tell_the_expected_truths() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config("");
    assert_eq!(selected(&config.attacks), registry::names());
    let data = dataset();
    let model = provider_model(&config, &data, tmp.path());
    let (tx, rx) = mpsc::channel();
    let privacy = config.keyed_settings().remove(0).1;
    let inputs = inputs(&config, &privacy, &data, model);
    let file = run_attacks(inputs, ATTACKS, &tx, &Control::default());
    drop(tx);
    assert!(file.failures.is_empty(), "failures: {:?}", file.failures);
    // The jigsaw solver applies to block scrambles only, split learning's attacks to split arms: not
    // applicable here, saying why, no failure.
    let names: Vec<&str> = file.records.iter().map(|r| r.name.as_str()).collect();
    let elsewhere = [
        "jigsaw",
        "model-theft",
        "label-leakage",
        "split-inversion",
        "split-known-pairs",
        "carlini-instahide",
        "carlini-neuracrypt",
    ];
    let applicable: Vec<&str> = registry::names().into_iter().filter(|n| !elsewhere.contains(n)).collect();
    assert_eq!(names, applicable);
    let na = file.not_applicable("private", "jigsaw").expect("jigsaw recorded as not applicable");
    assert!(na.reason.contains("block scramble") && na.reason.contains("pixel-permutation"), "{}", na.reason);
    let na = file.not_applicable("private", "split-inversion").expect("split-inversion recorded as not applicable");
    assert!(na.reason.starts_with("keyed arm:"), "{}", na.reason);
    let na = file.not_applicable("private", "carlini-instahide").expect("carlini-instahide recorded as not applicable");
    assert!(na.reason.starts_with("keyed arm:") && na.reason.contains("InstaHide"), "{}", na.reason);
    let na =
        file.not_applicable("private", "carlini-neuracrypt").expect("carlini-neuracrypt recorded as not applicable");
    assert!(na.reason.contains("NeuraCrypt") && na.reason.contains("pixel-permutation"), "{}", na.reason);
    assert_eq!(file.not_applicable.len(), 7);

    // Events: each attack starts, may progress, and finishes with the record that attacks.json holds.
    let events: Vec<Event> = rx.iter().collect();
    for r in &file.records {
        let started =
            events.iter().position(|e| matches!(e, Event::AttackStarted { name, .. } if *name == r.name)).unwrap();
        let finished =
            events.iter().position(|e| matches!(e, Event::AttackFinished { record } if record.name == r.name)).unwrap();
        assert!(started < finished);
        if let Event::AttackFinished { record } = &events[finished] {
            assert_eq!(**record, *r);
        }
    }
    assert!(events.iter().any(|e| matches!(e, Event::AttackProgress { name, .. } if name == "known-plaintext")));

    for r in &file.records {
        assert!(r.complete, "{} incomplete", r.name);
        assert!(!r.verdict.is_empty() && !r.threat_model.adversary.is_empty() && !r.aux_data.is_empty());
        assert!(r.headline.value.is_finite());
        for c in &r.curves {
            assert!(c.points.iter().all(|p| p[0].is_finite() && p[1].is_finite()), "{}: {}", r.name, c.label);
        }
    }
    let get = |name: &str| file.record("private", name).unwrap();

    // Key space: log2(64!) + log2(10!).
    let ks = get("key-space").headline.value;
    assert!((ks - (296.0 + 21.79)).abs() < 1.0, "key space {ks}");

    // Wrong keys (each with its own label map) and raw inputs (identity map) are near chance; the
    // right key is not.
    let wk = get("wrong-key");
    assert!(wk.figure("right key (the customer)").unwrap() > 0.8, "{:?}", wk.figures);
    assert!(wk.figure("wrong keys, own label map (mean)").unwrap() < 0.25, "{:?}", wk.figures);
    assert!(wk.figure("raw inputs, identity label map").unwrap() < 0.3, "{:?}", wk.figures);
    assert_eq!(wk.chance, Some(0.1));

    // Known plaintext breaks a pixel permutation.
    let kp = get("known-plaintext");
    assert_eq!(kp.figure("key recovered at the largest n (feature matching)"), Some(1.0));
    assert!(kp.level == Some(ppdl::attacks::Level::Broken) && kp.headline.value > 40.0, "{}", kp.verdict);
    let kp_key = kp.curve("feature matching: key recovered").unwrap();
    assert_eq!(kp_key.points.iter().map(|p| p[0]).collect::<Vec<_>>(), vec![1.0, 4.0, 40.0, 100.0]);
    assert!(kp_key.points[0][1] < 1.0);
    // The content of the reconstructions survives: a classifier trained on public raw data reads them
    // as well as the true images.
    let truth = kp.figure("reference: true images, recognised (the classifier's ceiling)").unwrap();
    let recognised = kp.figure("reconstructions recognised at the largest n").unwrap();
    assert!(truth > 0.8 && (recognised - truth).abs() < 1e-9, "{recognised} vs {truth}");
    let mean_image = kp.figure("reference: adversary's mean image, recognised").unwrap();
    assert!(mean_image < 0.35, "the mean image is one class: {mean_image}");

    // Label frequency on imbalanced classes without splitting: most of the permutation comes out.
    let lf = get("label-frequency");
    assert!(lf.headline.value >= 0.6, "{}", lf.verdict);

    // Every record states a three-level verdict decided by its rule, and every table shows the
    // deciding metric next to it.
    let table = ppdl::headless::attack_table(&file);
    for r in &file.records {
        let rule = r.rule.as_ref().unwrap_or_else(|| panic!("{}: no rule", r.name));
        assert_eq!(r.level, Some(rule.level()), "{}", r.name);
        let deciding = rule.deciding().unwrap();
        assert!(!rule.meaning(rule.level()).is_empty());
        let cell = r.verdict_cell();
        assert!(cell.starts_with(rule.level().label()) && cell.contains(&deciding.comparison()), "{cell}");
        let line = table.lines().find(|l| l.split_whitespace().take(2).eq([r.arm.as_str(), r.name.as_str()])).unwrap();
        assert!(line.ends_with(&cell), "{line}");
    }
    assert_eq!(get("key-space").level, Some(ppdl::attacks::Level::Protects));
    assert!(lf.level >= Some(ppdl::attacks::Level::PartialLeak), "{}", lf.verdict_cell());
    // Reconstructions: the no-attack reference is the mean image's PSNR, not 0 dB.
    let mean_psnr = kp.figure("reference: adversary's mean image, PSNR").unwrap();
    assert!(mean_psnr > 3.0 && kp.chance == Some(mean_psnr), "{:?}", kp.chance);

    // The adversary's data came from the test split, disjoint from training, and says so.
    assert!(kp.aux_data.contains("test split") && kp.aux_data.contains("disjoint"));

    // attacks.json round trip and merge.
    let path = tmp.path().join("attacks.json");
    file.save(&path).unwrap();
    let back = ppdl::attacks::load_file(&path).unwrap();
    // (serde_json's float parsing may move the last bit of a number.)
    assert_eq!(back.records.len(), file.records.len());
    for (a, b) in back.records.iter().zip(&file.records) {
        assert_eq!((&a.name, &a.verdict, a.level, a.curves.len()), (&b.name, &b.verdict, b.level, b.curves.len()));
        assert_eq!(a.rule.as_ref().map(|r| r.deciding), b.rule.as_ref().map(|r| r.deciding));
        assert!((a.headline.value - b.headline.value).abs() <= 1e-12 * b.headline.value.abs().max(1.0));
    }
    let mut merged = back.clone();
    let mut newer = AttacksFile::default();
    let mut kp2 = kp.clone();
    kp2.verdict = "replaced".into();
    newer.records.push(kp2);
    merged.merge(newer, registry::rank);
    assert_eq!(merged.records.len(), 7);
    assert_eq!(merged.record("private", "known-plaintext").unwrap().verdict, "replaced");
    assert_eq!(merged.records[3].name, "known-plaintext", "canonical order kept");
}

#[test]
fn a_stop_request_ends_the_attacks_early_with_partial_records() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config("");
    let data = dataset();
    let model = provider_model(&config, &data, tmp.path());
    let privacy = config.keyed_settings().remove(0).1;
    // Stop once known-plaintext has started and key-space has finished (side by side they start
    // together, and an attack that finishes after the stop is incomplete); `threads` is the pool the
    // suite starts from (how many attacks run side by side).
    let run = |threads: usize| {
        let control = Arc::new(Control::default());
        let (tx, rx) = mpsc::channel();
        let watcher = {
            let control = Arc::clone(&control);
            std::thread::spawn(move || {
                let (mut key_space_done, mut known_plaintext_started) = (false, false);
                for e in rx {
                    match &e {
                        Event::AttackStarted { name, .. } if name == "known-plaintext" => {
                            known_plaintext_started = true
                        }
                        Event::AttackFinished { record } if record.name == "key-space" => key_space_done = true,
                        _ => {}
                    }
                    if key_space_done && known_plaintext_started {
                        control.request_stop();
                    }
                }
            })
        };
        let inputs = inputs(&config, &privacy, &data, model.clone());
        let kinds: Vec<&dyn AnyAttack> =
            ["key-space", "known-plaintext", "inversion"].map(|n| registry::by_name(n).unwrap()).to_vec();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let file = pool.install(|| run_attacks(inputs, &kinds, &tx, &control));
        drop(tx);
        watcher.join().unwrap();
        file
    };

    let file = run(1);
    let names: Vec<&str> = file.records.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, vec!["key-space", "known-plaintext"], "nothing runs after the stop");
    assert!(file.records[0].complete);
    let kp = &file.records[1];
    assert!(!kp.complete, "the stopped attack says so");
    assert!(kp.curves[0].points.len() < 4, "and keeps only the points it finished");

    // Side by side, inversion may have started beside known-plaintext: then it ends early too.
    let file = run(3);
    let names: Vec<&str> = file.records.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(&names[..2], ["key-space", "known-plaintext"], "{names:?}");
    assert!(file.records[0].complete);
    assert!(file.records[1..].iter().all(|r| !r.complete), "every attack running at the stop says so: {names:?}");
}

#[test]
fn attacks_config_has_defaults_and_errors_name_the_field() {
    let base = "name = \"x\"\n[data]\ndataset = \"mnist\"\n";
    let c = ppdl::validate::parse_config(base, Path::new("c.toml")).unwrap();
    assert_eq!(selected(&c.attacks), registry::names(), "every attack runs unless turned off");
    assert_eq!(c.attacks.enabled, vec!["all"]);
    let off = ppdl::validate::parse_config(&format!("{base}[attacks]\nenabled = []\n"), Path::new("c.toml")).unwrap();
    assert!(selected(&off.attacks).is_empty(), "an empty list turns them off");
    assert_eq!(registry::describe(&off.attacks), "none: attacks are off (attacks.enabled = [])");
    assert_eq!(registry::params::<WrongKey>(&c.attacks).unwrap().keys, 10);
    assert_eq!(registry::params::<FineTune>(&c.attacks).unwrap().n, vec![50, 100, 500, 1000, 2000]);
    // The resolved config holds every attack's table with its defaults (none for key-space).
    let tables: Vec<&str> = c.attacks.tables.keys().map(String::as_str).collect();
    assert_eq!(
        tables,
        [
            "wrong_key",
            "fine_tune",
            "model_theft",
            "known_plaintext",
            "statistical",
            "label_frequency",
            "label_leakage",
            "inversion",
            "jigsaw",
            "split_inversion",
            "split_known_pairs",
            "carlini_instahide",
            "carlini_neuracrypt"
        ],
        "in canonical order"
    );
    assert_eq!(c.attacks.tables["inversion"]["hidden"].as_integer(), Some(256));
    assert_eq!(c.attacks.aux_fraction, 0.5);
    let c = ppdl::validate::parse_config(
        &format!("{base}[attacks]\nenabled = [\"inversion\", \"key-space\", \"inversion\"]\n"),
        Path::new("c.toml"),
    )
    .unwrap();
    assert_eq!(selected(&c.attacks), ["key-space", "inversion"]);
    assert_eq!(c.attacks.enabled[0], "inversion");
    // The resolved config round-trips.
    let again = ppdl::validate::parse_config(&c.to_toml(), Path::new("resolved.toml")).unwrap();
    assert_eq!(again, c);

    let err = |text: &str| {
        format!("{:#}", ppdl::validate::parse_config(&format!("{base}{text}"), Path::new("c.toml")).unwrap_err())
    };
    let e = err("[attacks]\nenabled = [\"all\", \"known-plaintxt\"]\n");
    assert!(e.contains("attacks.enabled[1]") && e.contains("did you mean `known-plaintext`"), "{e}");
    let e = err("[attacks.fine_tune]\nn = [10, 0]\n");
    assert!(e.contains("attacks.fine_tune.n[1]") && e.contains(">= 1"), "{e}");
    let e = err("[attacks]\naux_fraction = 1.5\n");
    assert!(e.contains("attacks.aux_fraction"), "{e}");
    let e = err("[attacks.inversion]\nhiden = 3\n");
    assert!(e.contains("hiden") && e.contains("did you mean `hidden`"), "{e}");
    let e = err("[attacks.statistical]\npca_variance = 0\n");
    assert!(e.contains("attacks.statistical.pca_variance"), "{e}");
    // Each error names the file and line (the header of a table, the key inside it), the field and what
    // was expected; the registry supplies the names and parameters.
    for (text, needles) in [
        ("[attacks.inversion]\nhiden = 3\n", &["c.toml:5:", "`attacks.inversion.hiden`", "did you mean `hidden`"][..]),
        ("[attacks.fine_tune]\nepochs = 2\nn = [10, 0]\n", &["c.toml:6:", "`attacks.fine_tune.n[1]`", ">= 1"]),
        ("[attacks.inversoin]\nn = [3]\n", &["c.toml:4:", "`attacks.inversoin`", "did you mean `inversion`"]),
        ("[attacks]\nenabld = [\"all\"]\n", &["c.toml:5:", "`attacks.enabld`", "did you mean `enabled`"]),
        (
            "[attacks]\nenabled = [\"key-space\", \"inverson\"]\n",
            &["c.toml:5:", "`attacks.enabled[1]`", "did you mean `inversion`"],
        ),
        ("[attacks]\nenabled = \"all\"\n", &["c.toml:5:", "`attacks.enabled`", "sequence"]),
        (
            "[attacks.inversion]\nhidden = 8\nn = \"many\"\n",
            &["c.toml:6:", "`attacks.inversion.n`", "a list, got string"],
        ),
        ("[attacks.wrong_key]\nkeys = -1\n", &["c.toml:5:", "`attacks.wrong_key.keys`", "a non-negative integer"]),
        ("[attacks.key_space]\nbits = 3\n", &["c.toml:5:", "`attacks.key_space.bits`", "`key-space` has none"]),
        ("[attacks]\nwrong_key = 3\n", &["c.toml:5:", "`attacks.wrong_key`", "a table of `wrong-key` parameters"]),
    ] {
        let e = err(text);
        for n in needles {
            assert!(e.contains(n), "{text:?}: {n:?} missing from {e}");
        }
    }
    // An attack without parameters shows no table once resolved, and an empty one is accepted.
    let c = ppdl::validate::parse_config(&format!("{base}[attacks.key_space]\n"), Path::new("c.toml")).unwrap();
    assert!(!c.attacks.tables.contains_key("key_space") && !c.to_toml().contains("key_space"));
}

/// README documents every registered attack: its name among `enabled`'s choices, and its parameter
/// table with every field and its default (an attack without parameters says so).
#[test]
fn readme_documents_every_attack_and_its_parameters() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    // The `enabled` line of the config reference and its continuation lines.
    let mut lines = readme.lines().skip_while(|l| !l.starts_with("enabled = [\"all\"]"));
    let first = lines.next().unwrap_or_default();
    let continued = lines.take_while(|l| l.trim_start().starts_with("#   "));
    let enabled = std::iter::once(first).chain(continued).collect::<Vec<_>>().join(" ");
    // The rows of the parameter table: (table, fields, defaults), a blank table cell continuing the last.
    let start = readme.find("| table | field | default | meaning |").expect("README's attack parameter table");
    let mut rows: Vec<(String, Vec<String>, Vec<toml::Value>)> = Vec::new();
    for line in readme[start..].lines().skip(2).take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.split(" | ").map(|c| c.trim_matches(|c| c == '|' || c == ' ')).collect();
        let table = if cells[0].is_empty() { rows.last().unwrap().0.clone() } else { cells[0].to_string() };
        let fields: Vec<String> = cells[1].split(", ").map(|f| f.trim_matches('`').to_string()).collect();
        // Split the defaults at top-level commas ("64, 0.001"; "[1, 2]" is one value).
        let (mut defaults, mut depth, mut item) = (Vec::new(), 0, String::new());
        for ch in cells[2].chars().chain([',']) {
            match ch {
                '[' => depth += 1,
                ']' => depth -= 1,
                ',' if depth == 0 => {
                    defaults.push(std::mem::take(&mut item));
                    continue;
                }
                _ => {}
            }
            item.push(ch);
        }
        let defaults = defaults
            .iter()
            .filter_map(|d| toml::from_str::<toml::Table>(&format!("v = {}", d.trim())).ok().map(|t| t["v"].clone()))
            .collect();
        rows.push((table, fields, defaults));
    }
    for attack in ATTACKS {
        let name = attack.name();
        assert!(
            enabled.contains(&format!(" {name} ")) || enabled.contains(&format!(" {name},")),
            "{name} not among enabled's choices: {enabled}"
        );
        let defaults = attack.resolve_table(None).unwrap();
        let table = format!("`{}`", registry::table_name(name));
        if defaults.is_empty() {
            assert!(rows.iter().any(|r| r.0 == format!("({name})")), "README: no row saying {name} has no parameters");
            continue;
        }
        for (field, value) in &defaults {
            let row = rows
                .iter()
                .find(|r| r.0 == table && r.1.contains(field))
                .unwrap_or_else(|| panic!("README documents no `{field}` of {table}"));
            let i = row.1.iter().position(|f| f == field).unwrap();
            assert_eq!(row.2.get(i), Some(value), "README's default of {table}.{field}");
        }
    }
    // And nothing that is not there.
    for (table, fields, _) in &rows {
        let Some(attack) = ATTACKS.iter().find(|a| format!("`{}`", registry::table_name(a.name())) == *table) else {
            assert!(table.starts_with('('), "README documents a table no attack has: {table}");
            continue;
        };
        let defaults = attack.resolve_table(None).unwrap();
        for f in fields {
            assert!(defaults.contains_key(f), "README documents `{f}`, which {table} does not have");
        }
    }
}

/// An attack whose needs the run lacks is recorded as skipped, saying what it needs; the others run.
#[test]
fn an_attack_without_what_it_needs_is_skipped_and_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config("");
    let data = dataset();
    let (tx, _rx) = mpsc::channel();
    let privacy = config.keyed_settings().remove(0).1;
    let inputs = inputs(&config, &privacy, &data, tmp.path().join("no-model.safetensors"));
    let kinds: Vec<&dyn AnyAttack> = ["key-space", "wrong-key"].map(|n| registry::by_name(n).unwrap()).to_vec();
    let file = run_attacks(inputs, &kinds, &tx, &Control::default());
    assert_eq!(file.records.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["key-space"]);
    assert_eq!(file.failures.len(), 1);
    let f = &file.failures[0];
    assert_eq!(f.name, "wrong-key");
    assert!(f.reason.starts_with("skipped: it needs the provider's trained model"), "{}", f.reason);
}

/// A pause holds the attacks: the next attack does not start while paused, an attack's network
/// training waits between its steps, and the time paused is left out of the attack's `seconds`.
#[test]
fn a_pause_holds_the_attacks_and_is_left_out_of_their_timing() {
    use std::time::{Duration, Instant};
    const PAUSE: Duration = Duration::from_millis(1200);
    let tmp = tempfile::tempdir().unwrap();
    let mut config = config("");
    // A long second size, so that the pause (set from the first size's progress report, on another
    // thread) lands while the inversion still trains.
    let inversion: toml::Table = toml::from_str("n = [50, 400]\nhidden = 32\nepochs = 30\nmin_steps = 600").unwrap();
    config.attacks.tables.insert("inversion".into(), toml::Value::Table(inversion));
    let data = dataset();
    let model = provider_model(&config, &data, tmp.path());
    let control = Arc::new(Control::default());
    let (tx, rx) = mpsc::channel();
    let resume_after = |control: &Arc<Control>| {
        let control = Arc::clone(control);
        std::thread::spawn(move || {
            std::thread::sleep(PAUSE);
            control.set_paused(false);
        })
    };
    // Paused before the attacks begin: the first one waits for the resume.
    control.set_paused(true);
    let started = Instant::now();
    let first_resume = resume_after(&control);
    let watcher = {
        let control = Arc::clone(&control);
        std::thread::spawn(move || {
            let mut first_start = None;
            // When the inversion started, was paused and finished.
            let mut inversion: [Option<Instant>; 3] = [None; 3];
            let mut resumer = None;
            for e in rx {
                match &e {
                    Event::AttackStarted { name, .. } => {
                        first_start.get_or_insert_with(Instant::now);
                        if name == "inversion" {
                            inversion[0] = Some(Instant::now());
                        }
                    }
                    // The inversion's first progress report (one of its two sizes done): pause it
                    // before the second size's training.
                    Event::AttackProgress { name, .. } if name == "inversion" && resumer.is_none() => {
                        inversion[1] = Some(Instant::now());
                        control.set_paused(true);
                        resumer = Some(resume_after(&control));
                    }
                    Event::AttackFinished { record } if record.name == "inversion" => {
                        inversion[2] = Some(Instant::now())
                    }
                    _ => {}
                }
            }
            resumer.expect("the inversion reported progress").join().unwrap();
            (first_start.unwrap(), inversion)
        })
    };
    let privacy = config.keyed_settings().remove(0).1;
    let inputs = inputs(&config, &privacy, &data, model);
    let kinds: Vec<&dyn AnyAttack> = ["key-space", "inversion"].map(|n| registry::by_name(n).unwrap()).to_vec();
    let file = run_attacks(inputs, &kinds, &tx, &control);
    drop(tx);
    first_resume.join().unwrap();
    let (first_start, inversion_at) = watcher.join().unwrap();
    let [begun, paused_at, finished_at] =
        inversion_at.map(|t| t.expect("the inversion started, reported and finished"));
    assert!(
        first_start - started >= PAUSE - Duration::from_millis(50),
        "the first attack started {:?} into a {PAUSE:?} pause",
        first_start - started
    );
    let inversion = file.records.iter().find(|r| r.name == "inversion").expect("the inversion ran");
    assert!(inversion.complete, "a pause is not a stop");
    let held = finished_at - paused_at;
    assert!(
        held >= PAUSE - Duration::from_millis(50),
        "the inversion went on while paused: done {held:?} after the pause"
    );
    let wall = (finished_at - begun).as_secs_f64();
    assert!(
        inversion.seconds < wall - 0.8 * PAUSE.as_secs_f64(),
        "the inversion's {} s counts the pause ({wall} s from its start to its end)",
        inversion.seconds
    );
}

#[test]
fn attacks_side_by_side_give_the_records_they_give_one_at_a_time() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config("");
    let data = dataset();
    let model = provider_model(&config, &data, tmp.path());
    let privacy = config.keyed_settings().remove(0).1;
    // The pool an arm's suite starts from sets how many of its attacks run at once.
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let (tx, rx) = mpsc::channel();
        let inputs = inputs(&config, &privacy, &data, model.clone());
        let mut file = pool.install(|| run_attacks(inputs, ATTACKS, &tx, &Control::default()));
        drop(tx);
        let started: Vec<String> = rx
            .iter()
            .filter_map(|e| match e {
                Event::AttackStarted { name, .. } => Some(name),
                _ => None,
            })
            .collect();
        file.records.iter_mut().for_each(|r| r.seconds = 0.0);
        (serde_json::to_value(&file).unwrap(), started)
    };
    let (one_at_a_time, started_alone) = run(1);
    let (side_by_side, started_together) = run(3);
    assert_eq!(one_at_a_time, side_by_side);
    // Every attack started in both; the file lists them in the suite's order either way.
    let mut a = started_alone.clone();
    let mut b = started_together;
    a.sort();
    b.sort();
    assert_eq!(a, b);
    let listed: Vec<&str> =
        one_at_a_time["records"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(listed, started_alone, "one at a time, records come in the order the attacks started");
}
