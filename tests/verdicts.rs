//! Three-level verdicts with their deciding metric in every front end: format-1 run folders still load
//! with sensible verdicts, report.md and `summarize --attacks` show the deciding metric next to each
//! verdict, and README quotes the one rule set the code applies.

#[path = "tui_common/mod.rs"]
mod tui_common;

use std::path::{Path, PathBuf};
use std::process::Command;

use ppdl::attacks::{AttacksFile, Level, ATTACKS_FORMAT_VERSION};
use ppdl::tui::analysis::{Attacks, Verdict};

const FIXTURE: &str = "tests/fixtures/run-pixel-permutation";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE)
}

/// A copy of the format-1 fixture (figures are never written into the repository).
fn fixture_copy(tmp: &Path) -> PathBuf {
    let dir = tmp.join("run");
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(fixture()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
        }
    }
    dir
}

fn ppdl(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_ppdl")).args(args).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "{text}");
    text
}

#[test]
fn format_1_fixture_loads_with_sensible_verdicts() {
    let path = fixture().join("attacks.json");
    let before = std::fs::read(&path).unwrap();
    assert!(String::from_utf8_lossy(&before).contains("\"format_version\": 1"));
    let file = ppdl::attacks::load_file(&path).unwrap();
    assert_eq!(file.format_version, ATTACKS_FORMAT_VERSION);
    let level = |name: &str| file.record("private", name).unwrap().level;
    // Re-decided by the rule from the figures the records hold ...
    assert_eq!(level("key-space"), Some(Level::Protects));
    assert_eq!(level("wrong-key"), Some(Level::Protects), "19% against chance 10% and the right key's 73.2%");
    assert_eq!(level("fine-tune"), Some(Level::Protects), "+0.75 points");
    assert_eq!(level("label-frequency"), Some(Level::PartialLeak), "40% of the classes against chance 10%");
    for name in ["key-space", "wrong-key", "fine-tune", "label-frequency"] {
        assert!(file.record("private", name).unwrap().rule.is_some(), "{name}");
    }
    // ... or, where they lack the deciding figures, from the recorded `broken` and its words.
    assert_eq!(level("known-plaintext"), Some(Level::Broken));
    assert_eq!(level("statistical"), Some(Level::PartialLeak), "its verdict said \"partial\"");
    assert_eq!(level("inversion"), Some(Level::Protects));
    assert!(file.record("private", "inversion").unwrap().rule.is_none());
    // Reconstructions' no-attack reference is the mean image's PSNR (format 1 recorded 0 dB).
    let inv = file.record("private", "inversion").unwrap();
    assert_eq!(inv.chance, Some(11.2));
    assert!(inv.chance_label.as_deref().unwrap().contains("mean public image"));
    assert_eq!(
        file.record("private", "label-frequency").unwrap().verdict_cell(),
        "partial leak (classes recovered 40.0% ≥ 32.5%)"
    );

    // The TUI shows the same verdicts.
    let tui = Attacks::load(&path);
    let row = |name: &str| tui.rows.iter().find(|r| r.name == name).unwrap();
    assert_eq!(row("known-plaintext").verdict, Verdict::Broken);
    assert_eq!(row("statistical").verdict, Verdict::PartialLeak);
    assert_eq!(row("wrong-key").verdict, Verdict::Protects);
    assert!(row("wrong-key").verdict_text().starts_with("protects (keyless accuracy 19.0% < "));

    // Plots, report and summarize read it too, and nothing rewrites the fixture.
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture_copy(tmp.path());
    ppdl::plot::render_run(&dir).unwrap();
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    for needle in [
        "| **broken (format-1 record: its own `broken_if`)** |",
        "partial leak (classes recovered 40.0% ≥ 32.5%)",
        "11.2 dB (no attack: the adversary's mean public image)",
        "### How verdicts are decided",
        "from its format-1 record's `broken` and verdict words (its criterion: unseen-data SSIM >= 0.8",
    ] {
        assert!(report.contains(needle), "report lacks {needle:?}:\n{report}");
    }
    assert!(!report.contains("0.0 dB (chance)"), "no zero chance for PSNR");
    let table = ppdl(&["summarize", "--attacks", dir.to_str().unwrap()]);
    assert!(
        table.contains("| statistical | PSNR of unseen data at n=600 (moment matching): 14.0 dB; partial leak ("),
        "{table}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before, "the fixture is read, never rewritten");
}

/// A format-2 attacks.json (records decided by the attacks module's rule) in a copy of the fixture.
fn run_with_fresh_records(tmp: &Path) -> PathBuf {
    let dir = fixture_copy(tmp);
    let file = AttacksFile {
        format_version: ATTACKS_FORMAT_VERSION,
        records: tui_common::attack_records(),
        failures: vec![],
        not_applicable: vec![],
    };
    file.save(&dir.join("attacks.json")).unwrap();
    dir
}

#[test]
fn report_shows_the_deciding_metric_next_to_each_verdict_and_the_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = run_with_fresh_records(tmp.path());
    ppdl::plot::render_run(&dir).unwrap();
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    for needle in [
        "| verdict (deciding metric) |",
        "| **broken (recognised 78.0% ≥ 61.0%)** |",
        "| partial leak (recognised 40.0% ≥ 27.0%) |",
        "| protects (key 6615 bits ≥ 128 bits) |",
        "16.1 dB | 10.6 dB (no attack: the adversary's mean public image) |",
        "- **Inversion**: partial leak: some content survives",
        "  - deciding: recognised 40.0% (95% interval",
        "partial leak ≥ 27.0%, broken ≥ 61.0% (a quarter / three quarters of the way from the mean image's rate (10.0%) to the true images' rate (78.0%))",
        "  - SSIM 0.480: partial leak;",
    ] {
        assert!(report.contains(needle), "report lacks {needle:?}:\n{report}");
    }
    // Each attack figure carries its verdict and deciding metric in its title, like the report.
    let file = ppdl::attacks::load_file(&dir.join("attacks.json")).unwrap();
    let mut checked = 0;
    for r in file.records.iter().filter(|r| r.level.is_some()) {
        let svg = dir.join("figures").join(format!("attack-{}.svg", r.name));
        let Ok(text) = std::fs::read_to_string(&svg) else { continue };
        let verdict = r.verdict_cell().replace('≥', "&#8805;").replace('<', "&lt;");
        let plain = r.verdict_cell();
        assert!(
            text.contains(&format!("verdict: {plain}")) || text.contains(&format!("verdict: {verdict}")),
            "{} lacks `verdict: {plain}`",
            svg.display()
        );
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} attack figures checked");
}

#[test]
fn summarize_attacks_tabulates_one_column_per_run() {
    let tmp = tempfile::tempdir().unwrap();
    let fresh = run_with_fresh_records(tmp.path());
    let old = tmp.path().join("old");
    std::fs::rename(fixture_copy(&tmp.path().join("o")), &old).unwrap();
    let table = ppdl(&["summarize", "--attacks", fresh.to_str().unwrap(), old.to_str().unwrap()]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("| attack | ") && lines[0].matches(" | ").count() == 2, "{table}");
    assert_eq!(lines[1], "|---|---|---|");
    let row = |name: &str| *lines.iter().find(|l| l.starts_with(&format!("| {name} |"))).unwrap();
    assert!(row("known-plaintext").contains("key recovered: 100.0%; **broken (recognised 78.0% ≥ 61.0%)**"), "{table}");
    assert!(row("inversion").contains("PSNR of unseen data at n=500: 16.1 dB; partial leak (recognised 40.0% ≥ 27.0%)"));
    assert!(row("statistical").contains("| not run |"), "the fresh run has no statistical record: {table}");
    // The script prints the same table.
    let o = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/attack-tables.sh"))
        .args([fresh.to_str().unwrap(), old.to_str().unwrap()])
        .env("PPDL_BIN", env!("CARGO_BIN_EXE_ppdl"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout), table);
}

/// README's "How verdicts are decided" quotes the rule set the code applies, verbatim.
#[test]
fn readme_quotes_the_rule_set() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let rules = ppdl::attacks::verdict::rules_markdown();
    assert!(readme.contains(&rules), "README's rule table differs from verdict::rules_markdown():\n{rules}");
}
