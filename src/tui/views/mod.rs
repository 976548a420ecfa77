//! One file per view or widget. Each exposes `draw(frame, area, &App)` (or takes the state it shows).

pub mod attacks;
pub mod chart;
pub mod compare;
pub mod dialog;
pub mod experiments;
pub mod form;
pub mod help;
pub mod live;
pub mod overhead;
pub mod queue;
pub mod runs;
pub mod tradeoff;

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use super::analysis::Availability;
use super::theme;

/// "84.12%"
pub fn pct(v: f64) -> String {
    format!("{:.2}%", 100.0 * v)
}

/// "+0.35 pts"
pub fn delta_points(v: f64) -> String {
    format!("{:+.2} pts", 100.0 * v)
}

/// "42s", "3m07s", "1h02m"
pub fn duration(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    }
}

/// "12.3k" for big rates.
pub fn rate(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1}k", v / 1000.0)
    } else {
        format!("{v:.0}")
    }
}

/// A bordered block with a bold title.
pub fn block(title: impl Into<String>) -> Block<'static> {
    Block::bordered().title(Span::styled(format!(" {} ", title.into()), theme::title()))
}

/// A rectangle of at most `w` x `h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    area.centered(Constraint::Length(w.min(area.width)), Constraint::Length(h.min(area.height)))
}

/// "key label" pairs as one footer-style line.
pub fn key_hints(pairs: &[(&str, &str)]) -> Line<'static> {
    let mut spans = Vec::new();
    for (i, (k, label)) in pairs.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(k.to_string(), theme::key()));
        spans.push(Span::raw(format!(" {label}")));
    }
    Line::from(spans)
}

/// A wrapped paragraph in a block: for empty states and errors.
pub fn notice(frame: &mut Frame, area: Rect, title: &str, lines: Vec<Line<'static>>) {
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block(title)), area);
}

/// The empty-state text of an analysis that has nothing to show, or None when it has rows.
pub fn availability_lines(what: &str, status: &Availability, file: &str) -> Option<Vec<Line<'static>>> {
    let (text, style): (String, Style) = match status {
        Availability::NoRun => (
            format!("No run selected. Start one in Experiments (1), or open one in Runs (5): its {what} appear here."),
            theme::muted(),
        ),
        Availability::NotRun => (format!("{what}: not run for this run (no {file})."), theme::muted()),
        Availability::Running(s) => (format!("{what}: {s} ..."), theme::warn()),
        Availability::NotEnabled => {
            (format!("{what}: not enabled in this run's config (e.g. [attacks] enabled = [\"all\"])."), theme::muted())
        }
        Availability::Unreadable(e) => (format!("{what}: cannot read {file}: {e}"), theme::bad()),
        Availability::Done => return None,
    };
    Some(vec![Line::from(""), Line::styled(format!(" {text}"), style)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(duration(7.4), "7s");
        assert_eq!(duration(187.0), "3m07s");
        assert_eq!(duration(3720.0), "1h02m");
        assert_eq!(pct(0.84123), "84.12%");
        assert_eq!(delta_points(-0.0005), "-0.05 pts");
        assert_eq!(rate(12345.0), "12.3k");
        assert_eq!(experiments::fit_left("scheme/fashion-cnn-block4", 12), "…-cnn-block4");
        assert_eq!(experiments::fit_left("quickstart", 12), "quickstart");
    }
}
