//! Two runs compared: each arm's test accuracy in both runs (arms matched by name) and a diff of
//! their config.toml.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::results::Summary;
use crate::tui::actions::Compare;
use crate::tui::arms::Arms;
use crate::tui::diff::{changes, DiffLine};
use crate::tui::theme;

use super::{block, delta_points, pct};

pub fn draw(frame: &mut Frame, area: Rect, c: &Compare) {
    let heads_h = (head_lines(c).len() as u16 + 2).min(area.height / 2);
    let [heads, diff] = Layout::vertical([Constraint::Length(heads_h), Constraint::Min(0)]).areas(area);
    frame.render_widget(Paragraph::new(head_lines(c)).block(block("Compare runs")), heads);
    draw_diff(frame, diff, c);
}

fn head_line(tag: &str, label: &str, s: Option<&Summary>) -> Line<'static> {
    let figures = match s {
        Some(s) => format!("{} arms", s.arms.len()),
        None => "summary unreadable".into(),
    };
    Line::from(vec![
        Span::styled(format!("{tag} "), theme::key()),
        Span::raw(label.to_string()),
        Span::styled(format!("  {figures}"), theme::muted()),
    ])
}

/// The arms of both runs, matched by name: the left run's in order, then the right run's others.
fn arm_names(a: Option<&Summary>, b: Option<&Summary>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for s in [a, b].into_iter().flatten() {
        for arm in &s.arms {
            if !names.contains(&arm.name) {
                names.push(arm.name.clone());
            }
        }
    }
    names
}

/// Both runs, then one row per arm: test accuracy in each run (Δ against that run's baseline) and
/// the change from - to +.
fn head_lines(c: &Compare) -> Vec<Line<'static>> {
    let (a, b) = (c.left_summary.as_ref(), c.right_summary.as_ref());
    let mut lines = vec![head_line("-", &c.left, a), head_line("+", &c.right, b)];
    let names = arm_names(a, b);
    // Colours from the run that lists the arm (the left one first).
    let arms_a = a.map(Arms::from_summary).unwrap_or_default();
    let arms_b = b.map(Arms::from_summary).unwrap_or_default();
    let w = names.iter().map(|n| n.chars().count()).max().unwrap_or(3).clamp(8, 18) + 1;
    if !names.is_empty() {
        lines.push(Line::styled(
            format!("{:<w$}{:>18} {:>18} {:>11}", "arm", "- test (Δ)", "+ test (Δ)", "change"),
            theme::muted(),
        ));
    }
    let cell = |s: Option<&Summary>, name: &str| -> (String, Option<f64>) {
        match s.and_then(|s| s.arm(name)) {
            Some(r) => {
                let delta = r.accuracy_delta.map(|d| format!(" ({:+.2})", 100.0 * d)).unwrap_or_default();
                (format!("{}{delta}", pct(r.test_accuracy)), Some(r.test_accuracy))
            }
            None => ("-".into(), None),
        }
    };
    for name in &names {
        let style = if arms_a.get(name).is_some() { arms_a.style(name) } else { arms_b.style(name) };
        let (ta, va) = cell(a, name);
        let (tb, vb) = cell(b, name);
        let change = va.zip(vb).map(|(x, y)| delta_points(y - x)).unwrap_or_else(|| "-".into());
        lines.push(Line::from(vec![
            Span::styled(format!("{:<w$}", super::experiments::fit_left(name, w - 1)), style),
            Span::raw(format!("{ta:>18} {tb:>18} {change:>11}")),
        ]));
    }
    let n = changes(&c.diff);
    lines.push(Line::styled(
        format!("config.toml: {n} changed lines (Δ: points against the run's baseline)"),
        theme::muted(),
    ));
    lines
}

fn draw_diff(frame: &mut Frame, area: Rect, c: &Compare) {
    let mut lines: Vec<Line> = condensed(&c.diff)
        .into_iter()
        .map(|d| match d {
            None => Line::styled("  ⋯", theme::muted()),
            Some(DiffLine::Same(l)) => Line::styled(format!("  {l}"), theme::muted()),
            Some(DiffLine::Removed(l)) => Line::styled(format!("- {l}"), theme::bad()),
            Some(DiffLine::Added(l)) => Line::styled(format!("+ {l}"), theme::good()),
        })
        .collect();
    if c.diff.iter().all(|d| matches!(d, DiffLine::Same(_))) {
        lines = vec![Line::styled("  the two config.toml files are identical", theme::muted())];
    }
    if let Some(e) = &c.error {
        lines.insert(0, Line::styled(e.clone(), theme::bad()));
    }
    let widget = Paragraph::new(lines).scroll((c.scroll, 0)).block(block("config.toml diff (↑↓ PgUp PgDn scroll)"));
    frame.render_widget(widget, area);
}

/// Changed lines with one line of context and the `[section]` header of each section with a change;
/// `None` marks skipped lines.
fn condensed(diff: &[DiffLine]) -> Vec<Option<&DiffLine>> {
    let changed: Vec<bool> = diff.iter().map(|d| !matches!(d, DiffLine::Same(_))).collect();
    let near = |i: usize| changed[i.saturating_sub(1)..(i + 2).min(diff.len())].iter().any(|c| *c);
    let is_header = |d: &DiffLine| matches!(d, DiffLine::Same(l) if l.trim_start().starts_with('['));
    // Section number of each line, and whether that section has a change.
    let mut section = Vec::with_capacity(diff.len());
    let mut s = 0;
    for d in diff {
        if is_header(d) {
            s += 1;
        }
        section.push(s);
    }
    let mut section_changed = vec![false; s + 1];
    for (i, c) in changed.iter().enumerate() {
        section_changed[section[i]] |= *c;
    }
    let mut out = Vec::new();
    let mut skipped = false;
    for (i, d) in diff.iter().enumerate() {
        let header = is_header(d) && section_changed[section[i]];
        if near(i) || header {
            if skipped {
                out.push(None);
                skipped = false;
            }
            out.push(Some(d));
        } else {
            skipped = true;
        }
    }
    if skipped {
        out.push(None);
    }
    out
}
