//! Colours and styles used across every view. Each arm keeps one colour everywhere (gauges, chart
//! lines, legends, tables, log lines): see [`crate::tui::arms::Arms`] for which arm gets which.

use ratatui::style::{Color, Modifier, Style};

/// Arm colours: the Okabe–Ito colour-blind-safe palette in the order the figures use
/// (`plot::style::arm_color`), so an arm has one colour on screen and on paper, with the figures'
/// black as grey to show on dark backgrounds; the eighth, orange (the figures' encode colour), is
/// the terminal's own, where the figures wrap around. As xterm-256 colours (portable to terminals
/// without true colour). Slot 0 is the baseline's; the protected arms take the others in config
/// order.
pub const ARM_PALETTE: [Color; 8] = [
    Color::Indexed(32),  // blue: the baseline
    Color::Indexed(166), // vermilion
    Color::Indexed(36),  // bluish green
    Color::Indexed(175), // reddish purple
    Color::Indexed(178), // yellow
    Color::Indexed(74),  // sky blue
    Color::Indexed(246), // grey
    Color::Indexed(214), // orange
];

/// The baseline arm's colour.
pub const BASELINE: Color = ARM_PALETTE[0];

pub const GOOD: Color = Color::Green;
pub const BAD: Color = Color::Red;
pub const WARN: Color = Color::Yellow;
pub const MUTED: Color = Color::DarkGray;
pub const ACCENT: Color = Color::Yellow;

/// The colour of palette slot `slot` (wrapping past the last one).
pub fn arm_color(slot: usize) -> Color {
    ARM_PALETTE[slot % ARM_PALETTE.len()]
}

pub fn title() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

pub fn selected() -> Style {
    Style::new().fg(Color::Black).bg(ACCENT)
}

pub fn muted() -> Style {
    Style::new().fg(MUTED)
}

pub fn key() -> Style {
    Style::new().fg(ACCENT).add_modifier(Modifier::BOLD)
}

pub fn good() -> Style {
    Style::new().fg(GOOD)
}

pub fn bad() -> Style {
    Style::new().fg(BAD)
}

pub fn warn() -> Style {
    Style::new().fg(WARN)
}
