//! The `?` overlay: every key, by where it works.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

use crate::tui::theme;

use super::block;

/// (section, [(keys, what)]) in display order.
pub const KEYS: &[(&str, &[(&str, &str)])] = &[
    (
        "Everywhere",
        &[
            ("?", "this help"),
            ("q  Ctrl-C", "quit (asks if running)"),
            ("Tab  S-Tab", "next / previous view"),
            ("1-6", "go to view (not in form)"),
        ],
    ),
    (
        "Experiments",
        &[
            ("↑↓  j k", "select a config"),
            ("Enter  e", "edit the config in a form"),
            ("s", "start; queue if one runs"),
            ("r", "rescan configs folder"),
        ],
    ),
    (
        "Edit form",
        &[
            ("↑↓  j k", "move between settings"),
            ("PgUp PgDn", "previous / next section"),
            ("t", "next transform row"),
            ("←→  h l", "change (valid only)"),
            ("0-9 .  ⌫", "type a number"),
            ("Space", "toggle on/off"),
            ("a  x", "add / remove a transform"),
            ("letter", "kind with that initial"),
            ("[  ]", "move transform up / down"),
            ("A", "add a keyed arm"),
            ("x", "remove arm (on its row)"),
            ("Enter", "rename arm / type key"),
            ("s  w  Esc", "start / save as / back"),
        ],
    ),
    (
        "Live",
        &[
            ("p  Space", "pause / resume training, attacks"),
            ("x", "stop run (keeps epochs)"),
            ("↑↓ PgUp PgDn", "scroll the log"),
            ("End  G", "follow the newest log line"),
        ],
    ),
    ("Attacks", &[("↑↓  j k", "select an attack (curve)"), ("←→  h l", "attacks of another arm")]),
    ("Overhead", &[("←→  h l", "costs of another arm")]),
    (
        "Runs",
        &[
            ("↑↓  j k", "select a run"),
            ("Enter", "open a run; open/close a sweep"),
            ("/", "filter (Enter keeps, Esc clears)"),
            ("s  S", "sort by next column / reverse"),
            ("n  t", "note / tags (notes.json)"),
            ("e", "export the table as CSV"),
            ("m  u", "mark (a sweep: its runs) / clear"),
            ("c", "compare the marked runs"),
            ("p", "trade-off: marked runs or sweep"),
            ("f", "export figures (PNG+SVG)"),
            ("r", "rescan run folders"),
            ("Esc", "back to the list"),
            ("↑↓ PgUp PgDn", "scroll the compare table"),
            ("y  g  ←→", "compare: curve/colour by/runs"),
            ("a  g  e", "trade-off: attack/group/export"),
        ],
    ),
    (
        "Queue",
        &[
            ("←→  h l", "sweep files / queue"),
            ("↑↓  j k", "select"),
            ("Enter", "queue a sweep's unfinished runs"),
            ("d  D", "remove pending run / all pending"),
            ("[  ]", "move a pending run up / down"),
            ("r", "rescan sweep files"),
        ],
    ),
    ("Quit dialog", &[("s", "stop gracefully, quit"), ("k", "kill: abandon run, quit"), ("c  Esc", "cancel")]),
];

fn section_lines(sections: &[(&str, &[(&str, &str)])]) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for (name, keys) in sections {
        lines.push(Line::styled(name.to_string(), theme::title()));
        for (k, what) in keys.iter() {
            lines.push(Line::from(vec![Span::styled(format!(" {k:<13}"), theme::key()), Span::raw(what.to_string())]));
        }
    }
    lines
}

pub fn draw(frame: &mut Frame, area: Rect, scroll: u16) {
    let popup = super::centered(area, 100, 30);
    frame.render_widget(Clear, popup);
    let outer = block("Keys (↑↓ scroll, any other key closes)");
    let inner = outer.inner(popup);
    frame.render_widget(outer, popup);
    let [left, right] = Layout::horizontal([Constraint::Fill(1); 2]).spacing(1).areas(inner);
    let split = 3;
    frame.render_widget(Paragraph::new(section_lines(&KEYS[..split])).scroll((scroll, 0)), left);
    frame.render_widget(Paragraph::new(section_lines(&KEYS[split..])).scroll((scroll, 0)), right);
}
