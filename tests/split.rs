//! Split learning (`scheme = "split"`): training across the cut equals training the unsplit
//! network, NoPeek's distance correlation, the config's checks, and a real run.

use dfdx::optim::{Adam, AdamConfig};
use dfdx::prelude::*;
use ppdl::config::{Arch, SplitConfig, TrainConfig};
use ppdl::data::ImageShape;
use ppdl::model::arch::{with_net, Net, WithNet};
use ppdl::model::split::{Layer, SplitPlan};
use ppdl::train::fit::{ModelStep, TrainStep};
use ppdl::train::split::nopeek::distance_correlation;
use ppdl::train::split::{initial_layers, SplitStep};
use ppdl::train::TrainSpec;

const SEED: u64 = 11;

/// Two batches of `rows` rows of `features` inputs with one-hot targets over 10 classes.
fn batches(features: usize, rows: usize) -> Vec<(Vec<f32>, Vec<f32>)> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    use rand::{Rng, SeedableRng};
    (0..2)
        .map(|_| {
            let x: Vec<f32> = (0..rows * features).map(|_| rng.gen::<f32>()).collect();
            let mut y = vec![0.0; rows * 10];
            for r in 0..rows {
                y[r * 10 + rng.gen_range(0..10)] = 1.0;
            }
            (x, y)
        })
        .collect()
}

/// The unsplit network trained by the ordinary step (as the baseline arm trains), then taken apart.
struct Unsplit<'a> {
    dev: &'a Cpu,
    batches: &'a [(Vec<f32>, Vec<f32>)],
    rows: usize,
}

impl WithNet<Cpu> for Unsplit<'_> {
    type Output = Vec<Layer<Cpu>>;
    fn run<M: Net<Cpu>>(self, mut model: M) -> Vec<Layer<Cpu>> {
        let opt = Adam::new(&model, AdamConfig { lr: 1e-3, ..Default::default() });
        let mut step = ModelStep::new(
            self.dev,
            &mut model,
            opt,
            |o: &mut Adam<M, f32, Cpu>, lr| o.cfg.lr = lr,
            cross_entropy_with_logits_loss,
        );
        for (x, y) in self.batches {
            step.step(x, y, self.rows, false).unwrap();
        }
        drop(step);
        model.into_layers()
    }
}

fn spec(arch: Arch, shape: ImageShape) -> TrainSpec {
    TrainSpec { arm: "split".into(), arch, shape, train: TrainConfig::default(), seed: SEED, save_to: None }
}

fn split(cut: usize, tail: usize) -> SplitConfig {
    SplitConfig { cut, tail, noise_sigma: 0.0, nopeek_alpha: 0.0 }
}

/// Every parameter of `a` and `b`, layer by layer, within `tol`; the largest difference.
fn max_difference(a: &[Layer<Cpu>], b: &[Layer<Cpu>]) -> f32 {
    assert_eq!(a.len(), b.len());
    let mut worst = 0.0f32;
    for (la, lb) in a.iter().zip(b) {
        assert_eq!(la.name(), lb.name());
        for (u, v) in [(la.weight().as_vec(), lb.weight().as_vec()), (la.bias().as_vec(), lb.bias().as_vec())] {
            assert_eq!(u.len(), v.len());
            worst = u.iter().zip(&v).map(|(p, q)| (p - q).abs()).fold(worst, f32::max);
        }
    }
    worst
}

fn check_equivalence(arch: Arch, shape: ImageShape, cut: usize, tail: usize) {
    let rows = 16;
    let data = batches(shape.features(), rows);
    let dev = ppdl::model::cpu_training_device(SEED);
    let initial = with_net(arch, &dev, shape, 10, Unsplit { dev: &dev, batches: &[], rows });
    let dev = ppdl::model::cpu_training_device(SEED);
    let trained = with_net(arch, &dev, shape, 10, Unsplit { dev: &dev, batches: &data, rows });

    let dev = ppdl::model::cpu_training_device(SEED);
    let layers = initial_layers(&dev, &spec(arch, shape), 10);
    assert_eq!(max_difference(&layers, &initial), 0.0, "the split network starts from the unsplit initialisation");
    let plan = SplitPlan::new(arch, cut, tail).unwrap();
    let mut step = SplitStep::new(&dev, layers, plan, &split(cut, tail), &TrainConfig::default(), SEED, 2 * rows);
    for (x, y) in &data {
        step.step(x, y, rows, false).unwrap();
    }
    let mut after: Vec<Layer<Cpu>> = step.customer.head().layers.clone();
    after.extend(step.provider.middle().layers.iter().cloned());
    after.extend(step.customer.tail().layers.iter().cloned());
    let moved = max_difference(&after, &initial);
    assert!(moved > 1e-4, "training moved the parameters ({moved})");
    let diff = max_difference(&after, &trained);
    assert!(diff < 1e-6, "{}: split and unsplit training differ by {diff} (cut {cut}, tail {tail})", arch.name());
}

#[test]
fn split_training_equals_unsplit_training_mlp() {
    check_equivalence(Arch::Mlp512x256, ImageShape { height: 8, width: 8, channels: 1 }, 1, 1);
}

#[test]
fn split_training_equals_unsplit_training_cnn_at_both_cuts() {
    let shape = ImageShape { height: 8, width: 8, channels: 1 };
    check_equivalence(Arch::CnnSmall, shape, 1, 1);
    check_equivalence(Arch::CnnSmall, shape, 2, 1);
    check_equivalence(Arch::Lenet, shape, 1, 2);
}

/// Distance correlation computed directly in f64 (Székely et al. 2007, V-statistic).
fn dcor_f64(x: &[f64], z: &[f64], n: usize) -> f64 {
    let centred = |v: &[f64]| {
        let d = v.len() / n;
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..d).map(|k| (v[i * d + k] - v[j * d + k]).powi(2)).sum::<f64>().sqrt();
            }
        }
        let row: Vec<f64> = (0..n).map(|i| (0..n).map(|j| a[i * n + j]).sum::<f64>() / n as f64).collect();
        let all = row.iter().sum::<f64>() / n as f64;
        (0..n * n).map(|k| a[k] - row[k / n] - row[k % n] + all).collect::<Vec<f64>>()
    };
    let (a, b) = (centred(x), centred(z));
    let mean = |p: &[f64], q: &[f64]| p.iter().zip(q).map(|(u, v)| u * v).sum::<f64>() / (n * n) as f64;
    (mean(&a, &b) / (mean(&a, &a) * mean(&b, &b)).sqrt()).sqrt()
}

#[test]
fn distance_correlation_matches_f64_and_its_gradient_matches_finite_differences() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let (n, dx, dz) = (12, 20, 6);
    let x: Vec<f32> = (0..n * dx).map(|_| rng.gen::<f32>()).collect();
    // Activations partly determined by the inputs, so the correlation is neither 0 nor 1.
    let z: Vec<f32> = (0..n * dz).map(|k| x[(k / dz) * dx + k % dz] + 0.5 * rng.gen::<f32>()).collect();
    let dev = Cpu::seed_from_u64(0);
    let xt = dev.tensor_from_vec(x.clone(), (n, dx));
    let zt = dev.tensor_from_vec(z.clone(), (n, dz));
    let d = distance_correlation(xt.clone(), zt.clone().leaky_traced()).unwrap();
    let got = d.with_empty_tape().as_vec()[0] as f64;
    let (x64, z64): (Vec<f64>, Vec<f64>) =
        (x.iter().map(|&v| v as f64).collect(), z.iter().map(|&v| v as f64).collect());
    let want = dcor_f64(&x64, &z64, n);
    assert!(want > 0.2 && want < 0.95, "{want}");
    assert!((got - want).abs() < 1e-4, "dfdx {got} vs f64 {want}");
    // Identical inputs and activations correlate perfectly.
    let same = distance_correlation(xt.clone(), xt.clone()).unwrap().as_vec()[0] as f64;
    assert!((same - 1.0).abs() < 1e-4, "{same}");

    // The gradient flows to the activations: the directional derivative along it matches f64 finite
    // differences.
    let grads = d.backward();
    let g: Vec<f64> = grads.get(&zt).as_vec().iter().map(|&v| v as f64).collect();
    let norm2: f64 = g.iter().map(|v| v * v).sum();
    assert!(norm2 > 0.0);
    let h = 1e-4;
    let shifted = |s: f64| z64.iter().zip(&g).map(|(v, gv)| v + s * h * gv).collect::<Vec<f64>>();
    let fd = (dcor_f64(&x64, &shifted(1.0), n) - dcor_f64(&x64, &shifted(-1.0), n)) / (2.0 * h);
    assert!((fd - norm2).abs() < 1e-2 * norm2, "finite difference {fd} vs |grad|^2 {norm2}");
}

const RUN_CONFIG: &str = r#"
name = "split-run"
seed = 3
[data]
dataset = "embedded"
train_limit = 1000
test_limit = 300
[model]
arch = "mlp-512-256"
[train]
epochs = 2
batch_size = 50
log_every = 5
[[arms]]
name = "baseline"
scheme = "none"
[[arms]]
name = "split-1"
scheme = "split"
cut = 1
[[arms]]
name = "split-noisy"
scheme = "split"
cut = 1
noise_sigma = 0.1
nopeek_alpha = 0.2
[attacks]
enabled = ["label-frequency"]
[output]
figures = false
"#;

/// `ppdl run` (or `validate`) on `config` written into `dir`: exit code and printed output.
fn ppdl(dir: &std::path::Path, command: &str, config: &str) -> (Option<i32>, String) {
    let cfg = dir.join("c.toml");
    std::fs::write(&cfg, config).unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ppdl"));
    cmd.args([command, cfg.to_str().unwrap()]).current_dir(dir);
    if command == "run" {
        cmd.args(["--out", dir.join("run").to_str().unwrap()]);
    }
    let o = cmd.output().unwrap();
    (o.status.code(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

#[test]
fn a_run_with_split_arms_learns_counts_its_bytes_and_saves_each_partys_layers() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, text) = ppdl(tmp.path(), "run", RUN_CONFIG);
    assert_eq!(code, Some(0), "{text}");
    let run = tmp.path().join("run");
    let summary = ppdl::results::Summary::load(&run.join("summary.json")).unwrap();
    for name in ["split-1", "split-noisy"] {
        let arm = summary.arm(name).unwrap();
        assert_eq!(arm.scheme.kind(), "split");
        assert!(arm.test_accuracy > 0.5, "{name}: {} is not well above chance (0.1)", arm.test_accuracy);
        assert!(arm.accuracy_delta.is_some() && arm.delta_interval.is_some());
        let t = arm.split.as_ref().expect("the split record");
        assert_eq!(
            (t.head.clone(), t.middle.clone(), t.tail.clone()),
            (vec!["fc1".into()], vec!["fc2".into()], vec!["fc3".into()])
        );
        // A step of 50 rows sends 50 x 512 activations (4 bytes each) and gets 50 x 512 gradients
        // back; the middle's 256-wide output and its gradient cross the other way.
        assert_eq!((t.cut_width, t.middle_width, t.batch_rows), (512, 256, 50));
        assert_eq!(t.per_step.activations_to_provider, 50 * 512 * 4);
        assert_eq!(t.per_step.gradients_to_customer, 50 * 512 * 4);
        assert_eq!(t.per_step.activations_to_customer, 50 * 256 * 4);
        assert_eq!(t.per_step.gradients_to_provider, 50 * 256 * 4);
        let epoch = t.per_epoch.unwrap();
        assert_eq!(epoch.activations_to_provider, 1000 * 512 * 4, "every training sample once per epoch");
        assert_eq!(t.inference_per_sample.activations_to_provider, 512 * 4);
        assert_eq!(t.inference_per_sample.gradients_to_customer, 0);
        // The provider keeps the middle, the customer the head and the tail, and no key.
        assert!(run.join("provider").join(name).join("model.safetensors").is_file());
        for part in ["head", "tail"] {
            assert!(run.join("customer").join(name).join(format!("{part}.safetensors")).is_file());
        }
        assert!(!run.join("customer").join(name).join("key.json").exists());
    }
    // Same seed, initialisation and batch order, no defence: split training is the baseline's.
    let (b, s) = (summary.arm("baseline").unwrap(), summary.arm("split-1").unwrap());
    assert!((b.test_accuracy - s.test_accuracy).abs() < 0.02, "{} vs {}", b.test_accuracy, s.test_accuracy);
    // The provider's file holds the middle under the unsplit network's names.
    let bytes = std::fs::read(run.join("provider/split-1/model.safetensors")).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + header_len]).unwrap();
    assert!(header.contains("\"fc2.weight\"") && !header.contains("fc1") && !header.contains("fc3"), "{header}");
    // Metrics rows, overhead and the keyed-arm attacks: split arms appear in the first two, and the
    // attacks for keyed arms are recorded as not applicable to them, saying why.
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert!(metrics.lines().any(|l| l.starts_with("split-noisy,")));
    let overhead = ppdl::overhead::OverheadReport::load(&run.join("overhead.json")).unwrap().unwrap();
    let names: Vec<&str> = overhead.split_arms.iter().map(|s| s.arm.as_str()).collect();
    assert_eq!(names, ["split-1", "split-noisy"]);
    assert!(overhead.split_arms[0].training.ratio.is_some());
    // Inference across the cut timed on the trained parts, at a batch and one sample, against the
    // baseline's forward; the plain service's bytes beside the split arm's.
    for s in &overhead.split_arms {
        let inf = s.inference.as_ref().expect("split inference timed");
        assert_eq!(inf.weights, "trained");
        assert_eq!(inf.single_sample.batch_size, 1);
        for r in [&inf.batch, &inf.single_sample] {
            assert!(r.repeats >= 5 && r.split_ms > 0.0 && r.baseline_forward_ms > 0.0, "{r:?}");
            assert!((r.overhead_ratio - r.split_ms / r.baseline_forward_ms).abs() < 1e-9, "{r:?}");
        }
        let plain = s.plain.expect("the plain service's bytes");
        assert_eq!((plain.input_per_sample, plain.output_per_sample), (4 * 28 * 28, 4 * 10));
    }
    // The TUI's overhead view lists the split arms after the keyed ones, with those rows.
    let view = ppdl::tui::analysis::Overhead::load(&run.join("overhead.json"));
    assert_eq!(view.arm_names(), ["split-1", "split-noisy"]);
    let rows: Vec<&str> = view.arms[0].rows.iter().map(|r| r.quantity.as_str()).collect();
    for quantity in ["inference, 1 sample", "bytes to provider/sample", "to provider, whole training"] {
        assert!(rows.contains(&quantity), "{quantity}: {rows:?}");
    }
    let up = view.arms[0].rows.iter().find(|r| r.quantity == "to provider, whole training").unwrap();
    let per_epoch = overhead.split_arms[0].traffic.per_epoch.unwrap().to_provider() as f64;
    assert_eq!(up.arm, Some(2.0 * per_epoch / 1e6), "two epochs of the first epoch's bytes");
    let attacks = ppdl::attacks::load_file(&run.join("attacks.json")).unwrap();
    assert!(attacks.records.is_empty() && attacks.failures.is_empty(), "{attacks:?}");
    for name in ["split-1", "split-noisy"] {
        let na = attacks.not_applicable(name, "label-frequency").expect("recorded as not applicable");
        assert!(na.reason.contains("split arm") && na.reason.contains("sees no labels"), "{}", na.reason);
    }
    // The provider kept the gradients it received (40 steps of 50 rows fit the sample: all kept) and
    // the customer the true labels of those rows, identified by the seeded batch order.
    use ppdl::train::split::observed::{load_labels, ReceivedGradients};
    let folder = ppdl::results::RunFolder::open(&run).unwrap();
    let received = ReceivedGradients::load(&folder.received_gradients_path("split-1")).unwrap().unwrap();
    assert_eq!((received.rows(), received.width), (2000, 256));
    assert_eq!((received.step[0], received.epoch[0], received.step[1999], received.epoch[1999]), (1, 1, 40, 2));
    assert!(received.gradient.iter().any(|&v| v != 0.0) && received.middle_output.iter().any(|&v| v > 0.0));
    assert!(run.join("provider/split-1/received-gradients.safetensors").is_file());
    let labels = load_labels(&folder.received_labels_path("split-1")).unwrap().unwrap();
    assert!(folder.received_labels_path("split-1").starts_with(run.join("customer")));
    let train = folder.load_config().unwrap().data.load().unwrap().train;
    let order = ppdl::train::fit::epoch_order(3, 1, 1000);
    let want: Vec<u32> = order.iter().map(|&i| train.labels[i] as u32).collect();
    assert_eq!(labels[..1000], want[..], "the kept labels are the first epoch's rows in batch order");
    assert!(text.contains("split-1") && text.contains("per epoch"), "{text}");

    // `ppdl attack --arm` takes a split arm, and refuses the baseline naming the arms it takes.
    let attack = |arm: &str| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_ppdl"))
            .args(["attack", run.to_str().unwrap(), "--arm", arm])
            .output()
            .unwrap();
        (o.status.code(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
    };
    let (code, out) = attack("split-noisy");
    assert_eq!(code, Some(0), "{out}");
    assert!(ppdl::attacks::load_file(&run.join("attacks.json")).unwrap().not_applicable.len() == 2);
    let (code, out) = attack("baseline");
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("expected a keyed, split or InstaHide arm of this run, one of `split-1`, `split-noisy`"),
        "{out}"
    );
}

/// `ppdl validate` on the run config with `arm` as its second arm: exit code 2 and the message.
fn refused(arm: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let config = format!(
        "name = \"x\"\n[data]\ndataset = \"embedded\"\n[model]\narch = \"mlp-512-256\"\n\n[[arms]]\nname = \"baseline\"\nscheme = \"none\"\n\n{arm}"
    );
    let (code, text) = ppdl(tmp.path(), "validate", &config);
    assert_eq!(code, Some(2), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    text
}

#[test]
fn bad_split_settings_exit_2_naming_file_line_field_and_expectation() {
    let text = refused("[[arms]]\nname = \"s\"\nscheme = \"split\"\ncut = 2\n");
    assert!(text.contains("c.toml:14: field `arms[1].cut`: expected from 1 to 1"), "{text}");
    assert!(text.contains("mlp-512-256 has 3 layers (fc1, fc2, fc3)"), "{text}");
    let text = refused("[[arms]]\nname = \"s\"\nscheme = \"split\"\ncut = 0\n");
    assert!(text.contains("field `arms[1].cut`: expected from 1 to 1"), "{text}");
    let text = refused("[[arms]]\nname = \"s\"\nscheme = \"split\"\ncut = 1\ntail = 2\n");
    assert!(text.contains("c.toml:15: field `arms[1].tail`: expected from 1 to 1"), "{text}");
    let text = refused("[[arms]]\nname = \"s\"\nscheme = \"split\"\ncut = 1\nnopeek_alpha = -0.5\n");
    assert!(text.contains("c.toml:15: field `arms[1].nopeek_alpha`: expected a number >= 0, got -0.5"), "{text}");
    let text = refused("[[arms]]\nname = \"s\"\nscheme = \"split\"\ncut = 1\nnopeek_alpha = nan\n");
    assert!(text.contains("field `arms[1].nopeek_alpha`: expected a number >= 0, got NaN"), "{text}");
    let text = refused("[[arms]]\nname = \"s\"\nscheme = \"split\"\ncut = 1\nnoise_sigma = -1.0\n");
    assert!(text.contains("field `arms[1].noise_sigma`: expected a number >= 0"), "{text}");
    let text = refused("[[arms]]\nname = \"s\"\nscheme = \"split\"\ncut = 1\ncutt = 1\n");
    assert!(text.contains("unknown field `cutt`"), "{text}");
    let text = refused("[[arms]]\nname = \"s\"\nscheme = \"split\"\n");
    assert!(text.contains("missing field `cut`"), "{text}");
    // mlp-256 has two layers: no room for a head, a middle and a tail.
    let tmp = tempfile::tempdir().unwrap();
    let config = "name = \"x\"\n[data]\ndataset = \"embedded\"\n[[arms]]\nname = \"b\"\nscheme = \"none\"\n[[arms]]\nname = \"s\"\nscheme = \"split\"\ncut = 1\n";
    let (code, text) = ppdl(tmp.path(), "validate", config);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("field `arms[1].cut`: expected an architecture with at least 3 layers"), "{text}");
}

#[test]
fn status_expects_every_enabled_attack_of_split_arms_recorded_or_not_applicable() {
    use ppdl::results::status::AttacksSeen;
    let tmp = tempfile::tempdir().unwrap();
    let (code, text) = ppdl(tmp.path(), "run", RUN_CONFIG);
    assert_eq!(code, Some(0), "{text}");
    let run = tmp.path().join("run");
    let summary = ppdl::results::Summary::load(&run.join("summary.json")).unwrap();
    let enabled = ["label-frequency".to_string()];
    let seen = AttacksSeen::load(&run.join("attacks.json"));
    let status = ppdl::results::RunStatus::derive(&summary, Some(2), &enabled, seen);
    assert_eq!(status.detail(), "", "the not-applicable entries complete the split arms");
    let status = ppdl::results::RunStatus::derive(&summary, Some(2), &enabled, Ok(None));
    assert!(status.detail().contains("split-1: label-frequency"), "{}", status.detail());
}

#[test]
fn unsplit_inversion_reconstructs_a_split_arms_queries_and_refuses_bad_parameters() {
    let tmp = tempfile::tempdir().unwrap();
    let config = RUN_CONFIG.replace(
        "enabled = [\"label-frequency\"]",
        "enabled = [\"split-inversion\"]\n[attacks.split_inversion]\nrounds = 4\nimages = 40",
    );
    let (code, text) = ppdl(tmp.path(), "run", &config);
    assert_eq!(code, Some(0), "{text}");
    let attacks = ppdl::attacks::load_file(&tmp.path().join("run/attacks.json")).unwrap();
    assert!(attacks.failures.is_empty(), "{:?}", attacks.failures);
    for arm in ["split-1", "split-noisy"] {
        let r = attacks.record(arm, "split-inversion").expect("a record for each split arm");
        assert!(r.complete && r.level.is_some() && r.headline.value.is_finite(), "{r:?}");
        assert_eq!(r.parameters["images"], 40);
        assert_eq!(r.curve("UnSplit: PSNR").unwrap().points.len(), 4, "one point per round");
        // Scored like the keyed reconstructions: recognition against the mean image and the truth.
        for figure in [
            "reconstructions recognised at the largest n",
            "reference: adversary's mean image, recognised",
            "reference: true images, recognised (the classifier's ceiling)",
        ] {
            assert!(r.figure(figure).is_some(), "{figure}: {:?}", r.figures);
        }
        assert!(r.rule.as_ref().is_some_and(|rule| rule.deciding().is_some()), "{r:?}");
    }
    // The noise the customer adds is part of what the provider observed.
    assert_eq!(attacks.record("split-noisy", "split-inversion").unwrap().parameters["noise_sigma"], 0.1);

    for (table, needle) in [
        ("rounds = 0", "field `attacks.split_inversion.rounds`: expected an integer >= 1, got 0"),
        ("tv_weight = -1.0", "field `attacks.split_inversion.tv_weight`: expected a number >= 0, got -1"),
        ("iterations = 3", "`attacks.split_inversion.iterations`"),
    ] {
        let text = refused(&format!("[attacks.split_inversion]\n{table}\n"));
        assert!(text.contains(needle), "{table}: {text}");
    }
}

#[test]
fn known_pair_inversion_gives_a_curve_over_n_on_split_arms_and_refuses_bad_parameters() {
    let tmp = tempfile::tempdir().unwrap();
    let config = RUN_CONFIG.replace(
        "enabled = [\"label-frequency\"]",
        "enabled = [\"split-known-pairs\"]\n[attacks.split_known_pairs]\nn = [20, 100]\nepochs = 2\nmin_steps = 20",
    );
    let (code, text) = ppdl(tmp.path(), "run", &config);
    assert_eq!(code, Some(0), "{text}");
    let attacks = ppdl::attacks::load_file(&tmp.path().join("run/attacks.json")).unwrap();
    assert!(attacks.failures.is_empty(), "{:?}", attacks.failures);
    for arm in ["split-1", "split-noisy"] {
        let r = attacks.record(arm, "split-known-pairs").expect("a record for each split arm");
        assert!(r.complete && r.level.is_some() && r.headline.value.is_finite(), "{r:?}");
        let xs: Vec<f64> = r.curve("activation decoder: PSNR").unwrap().points.iter().map(|p| p[0]).collect();
        assert_eq!(xs, [20.0, 100.0], "one point per n");
        assert!(r.figure("reconstructions recognised at the largest n").is_some(), "{:?}", r.figures);
    }
    for (table, needle) in [
        ("n = [10, 0]", "field `attacks.split_known_pairs.n[1]`: expected an integer >= 1, got 0"),
        ("hiden = 3", "did you mean `hidden`"),
    ] {
        let text = refused(&format!("[attacks.split_known_pairs]\n{table}\n"));
        assert!(text.contains(needle), "{table}: {text}");
    }
}

#[test]
fn split_arms_keep_raw_samples_with_both_inversions_and_ppdl_plot_draws_their_panel() {
    let tmp = tempfile::tempdir().unwrap();
    let config = RUN_CONFIG.replace(
        "enabled = [\"label-frequency\"]",
        "enabled = [\"split-inversion\", \"split-known-pairs\"]\n[attacks.split_inversion]\nrounds = 2\nimages = 30\n\
         [attacks.split_known_pairs]\nn = [50]\nepochs = 1\nmin_steps = 10",
    );
    let (code, text) = ppdl(tmp.path(), "run", &config);
    assert_eq!(code, Some(0), "{text}");
    let run = tmp.path().join("run");
    let d = 28 * 28;
    for arm in ["split-1", "split-noisy"] {
        let path = run.join(format!("samples/{arm}.json"));
        let s = ppdl::results::samples::SamplesFile::load(&path).unwrap().expect("a split arm's samples file");
        // The raw images, no encoded ones (activations cross, not images), and the file says so.
        assert_eq!(s.raw.len(), ppdl::results::samples::DEFAULT_SAMPLE_COUNT);
        assert!(s.raw.iter().all(|img| img.len() == d) && s.encoded.is_empty() && s.decoded.is_none());
        assert!(s.provider_sees.as_deref().is_some_and(|p| p.contains("activations")), "{:?}", s.provider_sees);
        let attacks: Vec<&str> = s.reconstructions.iter().map(|r| r.attack.as_str()).collect();
        assert_eq!(attacks, ["split-inversion", "split-known-pairs"], "{arm}");
        for r in &s.reconstructions {
            assert_eq!(r.images.len(), s.raw.len(), "{arm} {}: one reconstruction per raw image", r.attack);
            assert!(r.images.iter().all(|img| img.len() == d && img.iter().all(|v| (0.0..=1.0).contains(v))));
            assert!(r.psnr_db.is_some_and(f64::is_finite), "{r:?}");
            assert_ne!(r.images, s.raw, "reconstructions, not copies of the raw images");
        }
    }
    // `ppdl plot RUN` draws each split arm's panel: raw images and the two attacks' rows.
    let o =
        std::process::Command::new(env!("CARGO_BIN_EXE_ppdl")).args(["plot", run.to_str().unwrap()]).output().unwrap();
    let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{out}");
    for arm in ["split-1", "split-noisy"] {
        let png = run.join(format!("figures/samples-{arm}.png"));
        assert!(std::fs::metadata(&png).is_ok_and(|m| m.len() > 1000), "{} missing: {out}", png.display());
    }
    let r = ppdl::plot::render_run(&run).unwrap();
    let f = r.figures.iter().find(|f| f.name == "samples-split-1").expect("the split arm's panel");
    assert!(f.caption.contains("activations") && !f.caption.contains("decoded by the customer"), "{}", f.caption);
    assert!(f.caption.contains("split-inversion, split-known-pairs"), "{}", f.caption);

    // `ppdl export --what samples` takes a split arm: raw images and both reconstructions, no `encoded`.
    let npz = tmp.path().join("split-1.npz");
    let export = |arm: &[&str]| {
        let mut args = vec!["export", run.to_str().unwrap(), "--what", "samples", "--out", npz.to_str().unwrap()];
        args.extend_from_slice(arm);
        std::process::Command::new(env!("CARGO_BIN_EXE_ppdl")).args(&args).output().unwrap()
    };
    let o = export(&["--arm", "split-1"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let arrays = ppdl::data::npz::read_npz(&npz).unwrap();
    let names: Vec<&str> = arrays.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["indices", "labels", "raw", "reconstructed_split_inversion", "reconstructed_split_known_pairs"],
        "{names:?}"
    );
    // Two split arms and no --arm: refused, naming both.
    let o = export(&[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("2 keyed or split arms") && err.contains("`split-noisy`"), "{err}");
}
