//! Two runs compared: headline figures side by side and a diff of their config.toml.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::tui::actions::Compare;
use crate::tui::diff::{changes, DiffLine};
use crate::tui::theme;

use super::{block, delta_points, pct};

pub fn draw(frame: &mut Frame, area: Rect, c: &Compare) {
    let [heads, diff] = Layout::vertical([Constraint::Length(6), Constraint::Min(0)]).areas(area);
    draw_heads(frame, heads, c);
    draw_diff(frame, diff, c);
}

fn head_line(tag: &str, label: &str, s: Option<&crate::results::Summary>) -> Line<'static> {
    let figures = match s {
        Some(s) => format!(
            "baseline {}  private {}  Δ {}",
            pct(s.baseline.test_accuracy),
            pct(s.private.test_accuracy),
            delta_points(s.accuracy_delta)
        ),
        None => "summary unreadable".into(),
    };
    Line::from(vec![
        Span::styled(format!("{tag} "), theme::key()),
        Span::raw(label.to_string()),
        Span::styled(format!("  {figures}"), theme::muted()),
    ])
}

fn draw_heads(frame: &mut Frame, area: Rect, c: &Compare) {
    let mut lines =
        vec![head_line("-", &c.left, c.left_summary.as_ref()), head_line("+", &c.right, c.right_summary.as_ref())];
    if let (Some(a), Some(b)) = (&c.left_summary, &c.right_summary) {
        let d = |x: f64, y: f64| delta_points(y - x);
        lines.push(Line::from(vec![
            Span::styled("change (+ minus -) ", theme::muted()),
            Span::raw(format!(
                "baseline {}  private {}",
                d(a.baseline.test_accuracy, b.baseline.test_accuracy),
                d(a.private.test_accuracy, b.private.test_accuracy)
            )),
        ]));
    }
    let n = changes(&c.diff);
    lines.push(Line::styled(format!("config.toml: {n} changed lines"), theme::muted()));
    frame.render_widget(Paragraph::new(lines).block(block("Compare runs")), area);
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
