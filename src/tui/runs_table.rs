//! The runs table: one row per run folder with its config and headline figures (MLflow-like), sorted
//! by a column, filtered by text, sweep runs grouped under their sweep; exported as CSV. State and
//! text only; the runs view draws it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::results::attacks::AttacksFile;
use crate::results::Summary;

use super::actions::RunEntry;

/// The table's columns, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Name,
    Status,
    Dataset,
    Arch,
    Arms,
    Epochs,
    Seed,
    Accuracy,
    Attack,
    Tags,
}

impl Column {
    pub const ALL: [Column; 10] = [
        Column::Name,
        Column::Status,
        Column::Dataset,
        Column::Arch,
        Column::Arms,
        Column::Epochs,
        Column::Seed,
        Column::Accuracy,
        Column::Attack,
        Column::Tags,
    ];

    /// Which columns stay when the table is narrow, most wanted first (the name always stays).
    pub const PRIORITY: [Column; 10] = [
        Column::Name,
        Column::Status,
        Column::Accuracy,
        Column::Arms,
        Column::Attack,
        Column::Dataset,
        Column::Seed,
        Column::Epochs,
        Column::Arch,
        Column::Tags,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Column::Name => "run",
            Column::Status => "status",
            Column::Dataset => "dataset",
            Column::Arch => "arch",
            Column::Arms => "protected arms",
            Column::Epochs => "epochs",
            Column::Seed => "seed",
            Column::Accuracy => "test accuracy % [95% CI] of each arm",
            Column::Attack => "strongest attack",
            Column::Tags => "tags",
        }
    }

    /// The column's name in the sort note of the title and the help.
    pub fn short(self) -> &'static str {
        match self {
            Column::Arms => "arms",
            Column::Accuracy => "accuracy",
            Column::Attack => "attack",
            other => other.title(),
        }
    }

    /// The text of this column for `run`.
    pub fn cell(self, run: &RunEntry) -> String {
        let Ok(s) = &run.summary else {
            return match self {
                Column::Name => run.label.clone(),
                Column::Status => "unreadable".into(),
                Column::Tags => run.tags_text(),
                _ => "-".into(),
            };
        };
        match self {
            Column::Name => run.label.clone(),
            Column::Status => run.status.as_ref().map(|st| st.short()).unwrap_or_else(|| "-".into()),
            Column::Dataset => s.dataset.name.clone(),
            Column::Arch => s.archs_label(),
            Column::Arms => arms_text(s),
            Column::Epochs => run.status.as_ref().map(|st| st.epochs()).unwrap_or_else(|| "-".into()),
            Column::Seed => s.seed.to_string(),
            Column::Accuracy => accuracy_text(s, true),
            Column::Attack => run.strongest_attack.clone().unwrap_or_else(|| "-".into()),
            Column::Tags => run.tags_text(),
        }
    }

    /// The next sort column after `self` (`s` in the runs view); None after the last: newest first.
    pub fn next(current: Option<Column>) -> Option<Column> {
        match current {
            None => Some(Column::ALL[0]),
            Some(c) => Column::ALL.iter().position(|x| *x == c).and_then(|i| Column::ALL.get(i + 1)).copied(),
        }
    }
}

/// Each protected arm and its scheme: "private: pixel-perm", "3 arms: pixel-perm · block(4,flip) · fast-mix".
pub fn arms_text(s: &Summary) -> String {
    use crate::config::SchemeConfig;
    let schemes: Vec<String> = s
        .protected()
        .map(|a| match &a.scheme {
            SchemeConfig::Keyed(p) => super::views::experiments::transforms_short(p),
            SchemeConfig::Split(sp) => sp.short_label(),
            SchemeConfig::InstaHide(h) => h.short_label(),
            SchemeConfig::None => "none".into(),
        })
        .collect();
    match schemes.len() {
        0 => "baseline only".into(),
        1 => format!("{}: {}", s.protected().next().map_or("", |a| a.name.as_str()), schemes[0]),
        n => format!("{n} arms: {}", schemes.join(" · ")),
    }
}

/// Every arm's test accuracy with its 95% Wilson interval, in points: "baseline 84.1 [83.4,84.8] ·
/// private 83.9 [...]"; without `names`, the arms in the run's order only.
pub fn accuracy_text(s: &Summary, names: bool) -> String {
    let mut s = s.clone();
    s.fill_intervals();
    s.arms
        .iter()
        .map(|a| match a.accuracy_interval {
            Some(i) => format!("{:.1} [{:.1},{:.1}]", 100.0 * a.test_accuracy, 100.0 * i.lo, 100.0 * i.hi),
            None => format!("{:.1}", 100.0 * a.test_accuracy),
        })
        .zip(s.arms.iter())
        .map(|(text, a)| if names { format!("{} {text}", a.name) } else { text })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The attack that did best against the run's schemes (the worst verdict level; the first of equals),
/// with its headline figure: "known-plaintext: PSNR 31.2 dB broken".
pub fn strongest_attack(file: &AttacksFile) -> Option<String> {
    let best = file.records.iter().filter(|r| r.level.is_some()).max_by(|a, b| {
        // max_by keeps the last of equals: compare so that an earlier record wins ties.
        a.level.cmp(&b.level).then(std::cmp::Ordering::Greater)
    })?;
    let h = &best.headline;
    let value = super::analysis::format_with_unit(&h.metric, &h.unit, h.value);
    let level = best.level.map(|l| l.label()).unwrap_or_default();
    let arm = if file.records.iter().any(|r| r.arm != best.arm) { format!(" on {}", best.arm) } else { String::new() };
    Some(format!("{}{arm}: {} {value} {level}", best.name, h.metric))
}

/// A row of the shown table.
#[derive(Debug, Clone, PartialEq)]
pub enum TableRow {
    /// A sweep folder: its name, how many of its runs match the filter and how many it has.
    Group { name: String, shown: usize, total: usize, expanded: bool },
    /// `runs[index]`; `grouped` when it is shown under its sweep.
    Run { index: usize, grouped: bool },
}

/// How the table is sorted and filtered, and which sweep groups are open.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableView {
    /// None: newest first (the scan order).
    pub sort: Option<Column>,
    pub descending: bool,
    pub filter: String,
    /// `/` was pressed and the filter is being typed.
    pub editing_filter: bool,
    pub expanded: BTreeSet<String>,
}

impl TableView {
    /// Whether `run` matches every word of the filter (in any column, its note or its sweep's name).
    pub fn matches(&self, run: &RunEntry) -> bool {
        let words: Vec<String> = self.filter.split_whitespace().map(str::to_lowercase).collect();
        if words.is_empty() {
            return true;
        }
        let mut text: Vec<String> = Column::ALL.iter().map(|c| c.cell(run)).collect();
        text.push(run.notes.as_ref().map(|n| n.note.clone()).unwrap_or_default());
        text.push(run.group.clone().unwrap_or_default());
        let text = text.join("\n").to_lowercase();
        words.iter().all(|w| text.contains(w))
    }

    /// The indices of `runs` that match, in the table's order.
    fn sorted(&self, runs: &[RunEntry], which: impl Fn(&RunEntry) -> bool) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..runs.len()).filter(|i| which(&runs[*i]) && self.matches(&runs[*i])).collect();
        if let Some(col) = self.sort {
            idx.sort_by(|a, b| compare(col, &runs[*a], &runs[*b]));
        }
        if self.descending {
            idx.reverse();
        }
        idx
    }

    /// The rows shown: runs outside sweeps, then each sweep (by name) as a group row followed, when
    /// open, by its runs. Groups with no matching run are left out.
    pub fn rows(&self, runs: &[RunEntry]) -> Vec<TableRow> {
        let mut rows: Vec<TableRow> = self
            .sorted(runs, |r| r.group.is_none())
            .into_iter()
            .map(|index| TableRow::Run { index, grouped: false })
            .collect();
        let groups: BTreeSet<&str> = runs.iter().filter_map(|r| r.group.as_deref()).collect();
        for g in groups {
            let members = self.sorted(runs, |r| r.group.as_deref() == Some(g));
            if members.is_empty() {
                continue;
            }
            let expanded = self.expanded.contains(g);
            let total = runs.iter().filter(|r| r.group.as_deref() == Some(g)).count();
            rows.push(TableRow::Group { name: g.to_string(), shown: members.len(), total, expanded });
            if expanded {
                rows.extend(members.into_iter().map(|index| TableRow::Run { index, grouped: true }));
            }
        }
        rows
    }

    /// Every run that matches the filter, in table order, whether or not its group is open (what
    /// the CSV export writes).
    pub fn matching(&self, runs: &[RunEntry]) -> Vec<usize> {
        let mut all = self.sorted(runs, |r| r.group.is_none());
        let groups: BTreeSet<&str> = runs.iter().filter_map(|r| r.group.as_deref()).collect();
        for g in groups {
            all.extend(self.sorted(runs, |r| r.group.as_deref() == Some(g)));
        }
        all
    }

    /// "sorted by seed ↑ · filter: noise" for the table's title.
    pub fn describe(&self) -> String {
        let mut parts = vec![match self.sort {
            None if self.descending => "oldest first".to_string(),
            None => "newest first".to_string(),
            Some(c) => format!("sorted by {} {}", c.short(), if self.descending { "↓" } else { "↑" }),
        }];
        if self.editing_filter || !self.filter.is_empty() {
            let cursor = if self.editing_filter { "▏" } else { "" };
            parts.push(format!("filter: {}{cursor}", self.filter));
        }
        parts.join(" · ")
    }
}

/// Order two runs by `col`: numbers as numbers (seed, the first protected arm's accuracy), the rest
/// as text.
fn compare(col: Column, a: &RunEntry, b: &RunEntry) -> std::cmp::Ordering {
    let acc = |r: &RunEntry| {
        r.summary.as_ref().ok().and_then(|s| s.protected().next().or(s.arms.first()).map(|a| a.test_accuracy))
    };
    let seed = |r: &RunEntry| r.summary.as_ref().ok().map(|s| s.seed);
    match col {
        Column::Accuracy => acc(a).partial_cmp(&acc(b)).unwrap_or(std::cmp::Ordering::Equal),
        Column::Seed => seed(a).cmp(&seed(b)),
        _ => col.cell(a).cmp(&col.cell(b)),
    }
    .then_with(|| a.label.cmp(&b.label))
}

/// The CSV of `runs[indices]`: every column (whole, not cut to the screen), the sweep, the note and
/// the run folder.
pub fn csv(runs: &[RunEntry], indices: &[usize]) -> String {
    let cell = crate::results::sweep::csv_cell;
    let mut header: Vec<&str> = vec!["sweep"];
    header.extend(Column::ALL.iter().map(|c| c.title()));
    header.extend(["note", "folder"]);
    let mut out = header.iter().map(|h| cell(h)).collect::<Vec<_>>().join(",");
    out.push('\n');
    for &i in indices {
        let r = &runs[i];
        let mut fields = vec![r.group.clone().unwrap_or_default()];
        fields.extend(Column::ALL.iter().map(|c| c.cell(r)));
        fields.push(r.notes.as_ref().map(|n| n.note.clone()).unwrap_or_default());
        fields.push(r.dir.display().to_string());
        out.push_str(&fields.iter().map(|f| cell(f)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// Write the CSV into `dir` as `runs-table-TIMESTAMP.csv`, atomically and never over another file; its
/// path.
pub fn export_csv(dir: &Path, text: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .map_err(|e| crate::error::InputError::new(format!("{}: cannot create folder: {e}", dir.display())))?;
    // Never over an earlier export (two in the same second get -2, -3, ...).
    let stem = format!("runs-table-{}", crate::results::utc_timestamp_compact());
    let path = (1..)
        .map(|i| dir.join(if i == 1 { format!("{stem}.csv") } else { format!("{stem}-{i}.csv") }))
        .find(|p| !p.exists())
        .expect("some numbered name is free");
    crate::atomic::write(&path, text.as_bytes())?;
    Ok(path)
}
