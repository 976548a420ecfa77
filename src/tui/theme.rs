//! Colours and styles used across every view. The two arms keep the same colour everywhere
//! (gauges, chart lines, legends, tables).

use ratatui::style::{Color, Modifier, Style};

use crate::train::Arm;

/// The baseline arm (raw data).
pub const BASELINE: Color = Color::Cyan;
/// The private arm (keyed data).
pub const PRIVATE: Color = Color::Magenta;

pub const GOOD: Color = Color::Green;
pub const BAD: Color = Color::Red;
pub const WARN: Color = Color::Yellow;
pub const MUTED: Color = Color::DarkGray;
pub const ACCENT: Color = Color::Yellow;

pub fn arm_color(arm: Arm) -> Color {
    match arm {
        Arm::Baseline => BASELINE,
        Arm::Private => PRIVATE,
    }
}

pub fn arm_style(arm: Arm) -> Style {
    Style::new().fg(arm_color(arm))
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
