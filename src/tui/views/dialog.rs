//! Small dialogs over the current view: quit while a run is active, "save as", and discarding the
//! form's edits.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::theme;

use super::{block, centered, key_hints};

/// `pending`: queued runs that will not start.
pub fn draw_quit(frame: &mut Frame, area: Rect, pending: usize) {
    let popup = centered(area, 60, if pending > 0 { 9 } else { 8 });
    frame.render_widget(Clear, popup);
    let mut lines = vec![
        Line::from("A run is active. What should happen to it?"),
        Line::from(""),
        key_hints(&[("s", "stop gracefully (keeps finished epochs), then quit")]),
        key_hints(&[("k", "kill: abandon the run and quit now")]),
        key_hints(&[("c", "cancel (Esc)")]),
    ];
    if pending > 0 {
        let runs = if pending == 1 { "run" } else { "runs" };
        let text = format!("{pending} queued {runs} will not start (a sweep resumes with ppdl sweep)");
        lines.insert(1, Line::styled(text, theme::warn()));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block("Quit")), popup);
}

pub fn draw_save_as(frame: &mut Frame, area: Rect, dir: &str, input: &str, error: Option<&str>) {
    let popup = centered(area, 64, 8);
    frame.render_widget(Clear, popup);
    let mut lines = vec![
        Line::from(format!("Save the edited config in {dir}/ as:")),
        Line::from(vec![Span::styled(format!("{input}▏"), theme::title()), Span::styled(".toml", theme::muted())]),
        Line::from(""),
    ];
    match error {
        Some(e) => lines.push(Line::styled(e.to_string(), theme::bad())),
        None => lines.push(key_hints(&[("Enter", "save (never overwrites)"), ("Esc", "cancel")])),
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block("Save as")), popup);
}

/// Edit a run's note or tags (stored in its notes.json).
pub fn draw_run_notes(frame: &mut Frame, area: Rect, run: &str, tags: bool, input: &str, error: Option<&str>) {
    let popup = centered(area, 72, 9);
    frame.render_widget(Clear, popup);
    let what = if tags { "Tags, separated by commas," } else { "A note" };
    let mut lines = vec![
        Line::from(format!("{what} for {run}:")),
        Line::styled(format!("{input}▏"), theme::title()),
        Line::from(""),
    ];
    match error {
        Some(e) => lines.push(Line::styled(e.to_string(), theme::bad())),
        None => lines.push(key_hints(&[("Enter", "save in the run's notes.json"), ("Esc", "cancel")])),
    }
    let title = if tags { "Run tags" } else { "Run note" };
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block(title)), popup);
}

/// Esc in the form with unsaved edits: discard them?
pub fn draw_discard(frame: &mut Frame, area: Rect, source: &str) {
    let popup = centered(area, 56, 7);
    frame.render_widget(Clear, popup);
    let lines = vec![
        Line::from(format!("Discard the unsaved edits of {source}?")),
        Line::from(""),
        key_hints(&[("y", "discard and leave the form"), ("n  Esc", "keep editing")]),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block("Unsaved edits")), popup);
}
