//! `plot`: every figure in both formats from a stored run folder, a report that links only files that
//! exist, skipped figures when optional inputs are missing, and exit-code-2 errors for bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FIXTURE: &str = "tests/fixtures/run-pixel-permutation";

/// Every figure the fixture (with attacks.json, overhead.json and samples.json) must produce.
const ALL_FIGURES: [&str; 13] = [
    "accuracy",
    "loss",
    "throughput",
    "training-time",
    "inference-latency",
    "key-space",
    "attack-wrong-key",
    "attack-fine-tune",
    "attack-known-plaintext",
    "attack-statistical",
    "attack-label-frequency",
    "attack-inversion",
    "samples",
];

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A fresh copy of the fixture (figures are never written into the repository).
fn fixture_copy(tmp: &Path, name: &str) -> PathBuf {
    let dir = tmp.join(name);
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE), &dir);
    dir
}

fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{} is not a PNG", path.display());
    let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    (be(16), be(20))
}

fn assert_figure(dir: &Path, name: &str) {
    let png = dir.join("figures").join(format!("{name}.png"));
    let svg = dir.join("figures").join(format!("{name}.svg"));
    assert!(png.is_file(), "missing {}", png.display());
    assert!(svg.is_file(), "missing {}", svg.display());
    let (w, h) = png_size(&png);
    assert_eq!(w, 800, "{name}.png width");
    assert!((300..=2000).contains(&h), "{name}.png height {h}");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"), "{name}.svg is not a whole SVG document");
    assert!(text.contains("<text"), "{name}.svg has no text");
}

/// Targets of markdown links and images: `](target)`.
fn link_targets(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = markdown;
    while let Some(i) = rest.find("](") {
        let after = &rest[i + 2..];
        let end = after.find(')').expect("closed link");
        out.push(after[..end].to_string());
        rest = &after[end..];
    }
    out
}

#[test]
fn every_figure_in_both_formats_and_a_report_that_links_only_existing_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture_copy(tmp.path(), "run");
    let rendered = ppdl::plot::render_run(&dir).expect("render the fixture");
    let names: Vec<&str> = rendered.figures.iter().map(|f| f.name.as_str()).collect();
    for name in ALL_FIGURES {
        assert!(names.contains(&name), "figure {name} not rendered; got {names:?} (skipped: {:?})", rendered.skipped);
        assert_figure(&dir, name);
    }
    assert_eq!(names.len(), ALL_FIGURES.len(), "unexpected figures: {names:?}");
    assert!(rendered.skipped.is_empty(), "{:?}", rendered.skipped);
    // No temporary files left behind.
    for entry in std::fs::read_dir(dir.join("figures")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with('.'), "left over: {name}");
    }

    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    let links = link_targets(&report);
    assert!(!links.is_empty());
    for target in &links {
        assert!(!target.contains("://") && !target.starts_with('/'), "report links outside the run folder: {target}");
        assert!(dir.join(target).is_file(), "report links a missing file: {target}");
    }
    for name in ALL_FIGURES {
        for ext in ["png", "svg"] {
            let f = format!("figures/{name}.{ext}");
            assert!(links.contains(&f), "report does not link {f}");
        }
    }
    // Tables the report promises.
    for needle in [
        "## Summary",
        "| 1 | 59.40% (",
        "Known-plaintext attack",
        "**broken (format-1 record",
        "NOT measured here",
        "Gilad-Bachrach et al., ICML 2016",
        "```toml",
        "seed = 7",
        "| dfdx | 0.13.0 |",
        "# Run report: fixture on Fashion-MNIST (600 train / 500 test subset)",
    ] {
        assert!(report.contains(needle), "report lacks {needle:?}");
    }
}

#[test]
fn missing_optional_inputs_skip_their_figures_and_say_so() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture_copy(tmp.path(), "run");
    for f in ["attacks.json", "overhead.json", "samples.json"] {
        std::fs::remove_file(dir.join(f)).unwrap();
    }
    let rendered = ppdl::plot::render_run(&dir).unwrap();
    let names: Vec<&str> = rendered.figures.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["accuracy", "loss", "throughput", "training-time"]);
    for name in &names {
        assert_figure(&dir, name);
    }
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(report.contains("attacks.json not found"), "{report}");
    assert!(report.contains("overhead.json not found"), "{report}");
    for target in link_targets(&report) {
        assert!(dir.join(&target).is_file(), "report links a missing file: {target}");
    }
    assert!(!report.contains("attack-known-plaintext"), "links a figure that was not drawn");
}

/// attacks.json has one reader, its typed schema: fields it does not know are ignored (newer
/// writers), a record missing what the schema needs is an input error naming the file and place.
#[test]
fn attack_records_are_read_through_their_one_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture_copy(tmp.path(), "run");
    let path = dir.join("attacks.json");
    let mut doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    doc["extra"] = true.into();
    doc["records"][0]["future"] = serde_json::json!([1, 2]);
    std::fs::write(&path, serde_json::to_string(&doc).unwrap()).unwrap();
    let rendered = ppdl::plot::render_run(&dir).unwrap();
    assert!(rendered.figures.iter().any(|f| f.name == "attack-known-plaintext"));

    doc["records"][3].as_object_mut().unwrap().remove("headline");
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let o = ppdl(&["plot", dir.to_str().unwrap()], tmp.path());
    assert_input_error(&o, &["attacks.json", "line", "unexpected content", "headline"]);
}

fn ppdl(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ppdl")).args(args).current_dir(cwd).output().expect("run ppdl")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn assert_input_error(o: &Output, needles: &[&str]) {
    let t = text(o);
    assert_eq!(o.status.code(), Some(2), "expected exit 2, got {:?}: {t}", o.status.code());
    for n in needles {
        assert!(t.contains(n), "message should mention {n:?}: {t}");
    }
    assert!(!t.contains("panicked"), "panic text: {t}");
}

#[test]
fn bad_input_exits_2_naming_the_file_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();

    // Not a run folder.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let o = ppdl(&["plot", empty.to_str().unwrap()], tmp.path());
    assert_input_error(&o, &["empty", "not a ppdl run folder", "summary.json"]);
    let o = ppdl(&["plot", tmp.path().join("nowhere").to_str().unwrap()], tmp.path());
    assert_input_error(&o, &["nowhere", "not a folder"]);

    // Corrupt files, one at a time: (file, replacement, words the message must contain).
    let cases: [(&str, &str, &[&str]); 6] = [
        ("attacks.json", "{\"records\": [", &["attacks.json", "invalid JSON", "line 1"]),
        ("attacks.json", "{\"records\": 3}", &["attacks.json", "unexpected content"]),
        ("overhead.json", "not json", &["overhead.json", "invalid JSON"]),
        ("summary.json", "{}", &["summary.json"]),
        ("metrics.csv", "arm,epoch,step,split,loss,accuracy,samples_per_s,wall_s\nbaseline,1,x,test,1,1,1,1\n", &["metrics.csv", "line 2", "column 3"]),
        ("samples.json", "{\"format_version\": 1, \"shape\": {\"height\": 2, \"width\": 2, \"channels\": 1}, \"raw\": [[0.1]], \"encoded\": [[0.1, 0.2, 0.3, 0.4]]}", &["samples.json", "raw", "expected 4 values"]),
    ];
    for (i, (file, body, needles)) in cases.iter().enumerate() {
        let dir = fixture_copy(tmp.path(), &format!("bad{i}"));
        std::fs::write(dir.join(file), body).unwrap();
        let o = ppdl(&["plot", dir.to_str().unwrap()], tmp.path());
        assert_input_error(&o, needles);
        assert!(!dir.join("figures").exists(), "figures written despite bad input ({file})");
        assert!(!dir.join("report.md").exists(), "report written despite bad input ({file})");
    }

    // One bad folder among good ones: nothing is written anywhere.
    let good = fixture_copy(tmp.path(), "good");
    let bad = fixture_copy(tmp.path(), "bad-metrics");
    std::fs::remove_file(bad.join("metrics.csv")).unwrap();
    let o = ppdl(&["plot", good.to_str().unwrap(), bad.to_str().unwrap()], tmp.path());
    assert_input_error(&o, &["metrics.csv", "missing"]);
    assert!(!good.join("figures").exists() && !good.join("report.md").exists());
}

#[test]
fn plot_command_with_several_runs_writes_the_tradeoff_scatter() {
    let tmp = tempfile::tempdir().unwrap();
    let a = fixture_copy(tmp.path(), "a");
    let b = fixture_copy(tmp.path(), "b");
    // A second run with less accuracy kept and a weaker attack.
    let summary = std::fs::read_to_string(b.join("summary.json")).unwrap();
    std::fs::write(
        b.join("summary.json"),
        summary
            .replace("\"name\": \"fixture\"", "\"name\": \"other\"")
            .replace("\"test_accuracy\": 0.732", "\"test_accuracy\": 0.65"),
    )
    .unwrap();
    let attacks = std::fs::read_to_string(b.join("attacks.json")).unwrap();
    std::fs::write(b.join("attacks.json"), attacks.replace("\"value\": 100.0", "\"value\": 12.5")).unwrap();
    let out = tmp.path().join("cross");
    let o = ppdl(&["plot", a.to_str().unwrap(), b.to_str().unwrap(), "--out", out.to_str().unwrap()], tmp.path());
    assert!(o.status.success(), "{}", text(&o));
    for d in [&a, &b] {
        assert!(d.join("report.md").is_file());
        assert_figure(d, "accuracy");
    }
    let (w, _) = png_size(&out.join("tradeoff.png"));
    assert_eq!(w, 800);
    assert!(std::fs::read_to_string(out.join("tradeoff.svg")).unwrap().starts_with("<svg"));
    let md = std::fs::read_to_string(out.join("tradeoff.md")).unwrap();
    assert!(md.contains("| fixture |") && md.contains("| other |"), "{md}");
    assert!(md.contains("| 0.8953 |"), "accuracy kept 0.65/0.726: {md}");
    assert!(md.contains("| -7.60 ± "), "accuracy change in points with its interval: {md}");
    assert!(
        md.contains("| pixel-permutation | Fashion-MNIST (600 train / 500 test subset) |"),
        "family and dataset: {md}"
    );
    for target in link_targets(&md) {
        assert!(out.join(&target).is_file(), "tradeoff.md links a missing file: {target}");
    }
}

#[test]
fn long_titles_wrap_or_shorten_within_the_figure_width() {
    use ppdl::plot::style::{text_width, title_layout, TitleLayout, TITLE_PX};
    ppdl::plot::register_fonts().unwrap();
    let width = 800;
    let max = TitleLayout::max_width(width);
    let short = title_layout("Key space (pixel-permutation)", width);
    assert_eq!((short.lines.len(), short.px), (1, TITLE_PX));
    assert_eq!(short.extra_height(), 0);

    let long = "Test images through the scheme (block-shuffle(b=4,flip) + noise(sigma=0.1,per-sample) + \
                separable-mix + orthogonal-mix) — Fashion-MNIST (600 train / 500 test subset)";
    assert!(text_width(long, TITLE_PX) > max, "the test title must be too long for one line");
    let t = title_layout(long, width);
    assert!(t.lines.len() > 1, "{t:?}");
    for line in &t.lines {
        assert!(text_width(line, t.px) <= max, "line {line:?} is wider than {max} px: {t:?}");
    }
    // Parts start new lines; nothing is lost when it fits in three lines.
    assert_eq!(t.lines.last().unwrap(), "Fashion-MNIST (600 train / 500 test subset)");
    assert_eq!(t.lines.join(" ").replace(" — ", " "), long.replace(" — ", " "));
    assert!(t.extra_height() > 0, "the figure grows by the extra lines");

    // A title that cannot fit even in three lines of the smallest size is cut, never clipped.
    let huge = format!("{} {}", "x".repeat(200), "word ".repeat(80));
    let t = title_layout(&huge, width);
    assert!(t.lines.len() <= 3);
    for line in &t.lines {
        assert!(text_width(line, t.px) <= max, "line {line:?} is wider than {max} px");
    }
    assert!(t.lines.iter().any(|l| l.ends_with('…')), "{t:?}");
}

#[test]
fn datasets_have_the_names_papers_use() {
    use ppdl::data::display_name;
    assert_eq!(display_name("embedded", 6000, 1000), "Fashion-MNIST (6k/1k subset)");
    assert_eq!(display_name("embedded", 600, 500), "Fashion-MNIST (600 train / 500 test subset)");
    assert_eq!(display_name("mnist", 60_000, 10_000), "MNIST");
    assert_eq!(display_name("mnist", 6000, 1000), "MNIST (6k train / 1k test)");
    assert_eq!(display_name("fashion-mnist", 60_000, 10_000), "Fashion-MNIST");
    assert_eq!(display_name("digits", 1437, 360), "scikit-learn digits");
    assert_eq!(display_name("digits", 1000, 360), "scikit-learn digits (1k train / 360 test)");
    assert_eq!(display_name("cifar10", 50_000, 10_000), "CIFAR-10");
    assert_eq!(display_name("cifar10", 2500, 1437), "CIFAR-10 (2.5k train / 1,437 test)");
    assert_eq!(display_name("something-new", 5, 5), "something-new");
}

#[test]
fn every_scheme_family_has_its_own_colour() {
    use ppdl::plot::style::family_color;
    use ppdl::scheme::family::Family;
    let families = Family::all();
    let colours: Vec<_> = families.iter().map(|f| family_color(*f)).collect();
    for (i, a) in colours.iter().enumerate() {
        for (j, b) in colours.iter().enumerate().skip(i + 1) {
            assert_ne!(a, b, "{:?} and {:?} share a colour", families[i], families[j]);
        }
        // Not the arms' baseline blue or a near-white that vanishes on paper.
        assert!(u32::from(a.0) + u32::from(a.1) + u32::from(a.2) < 600, "{:?} is too light", families[i]);
    }
}
