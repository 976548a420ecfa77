//! The overhead view: what the scheme costs against the baseline (table and a bar chart of the extra
//! cost), and published figures of cryptographic approaches, marked as literature values.

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Cell, Row, Table};
use ratatui::Frame;

use crate::train::Arm;
use crate::tui::analysis::{format_number, Availability, Overhead};
use crate::tui::theme;

use super::block;

pub fn draw(frame: &mut Frame, area: Rect, overhead: &Overhead, source: Option<&str>) {
    let title = match source {
        Some(s) => format!("Overhead · {s}"),
        None => "Overhead".into(),
    };
    if overhead.rows.is_empty() && overhead.literature.is_empty() {
        let lines =
            super::availability_lines("overhead results", &overhead.status, "overhead.json").unwrap_or_else(|| {
                vec![Line::from(""), Line::styled(" overhead.json has no measurements.", theme::muted())]
            });
        super::notice(frame, area, &title, lines);
        return;
    }
    let table_h = (overhead.rows.len() as u16 + 3).min(area.height / 2);
    let lit_h =
        if overhead.literature.is_empty() { 0 } else { (overhead.literature.len() as u16 + 3).min(area.height / 4) };
    let [top, lit, bars] =
        Layout::vertical([Constraint::Length(table_h), Constraint::Length(lit_h), Constraint::Min(0)]).areas(area);
    draw_table(frame, top, overhead, &title);
    if lit_h > 0 {
        draw_literature(frame, lit, overhead);
    }
    draw_extra_cost(frame, bars, overhead);
}

fn cell(v: Option<f64>) -> String {
    v.map(format_number).unwrap_or_else(|| "-".into())
}

fn draw_table(frame: &mut Frame, area: Rect, overhead: &Overhead, title: &str) {
    let header = Row::new([
        Cell::from("quantity"),
        Cell::from("unit"),
        Cell::from(Span::styled("baseline", theme::arm_style(Arm::Baseline))),
        Cell::from(Span::styled("private", theme::arm_style(Arm::Private))),
        Cell::from("ratio"),
    ])
    .style(theme::title());
    let rows = overhead.rows.iter().map(|r| {
        let ratio = r.ratio().map(|x| format!("{x:.2}x")).unwrap_or_else(|| "-".into());
        Row::new([
            Cell::from(r.quantity.clone()),
            Cell::from(r.unit.clone()),
            Cell::from(cell(r.baseline)),
            Cell::from(cell(r.private)),
            Cell::from(ratio),
        ])
    });
    let widths = [
        Constraint::Fill(1),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(7),
    ];
    let status = match &overhead.status {
        Availability::Running(s) => format!(" (running: {s})"),
        _ => String::new(),
    };
    frame.render_widget(Table::new(rows, widths).header(header).block(block(format!("{title}{status}"))), area);
}

/// One horizontal bar per quantity measured on both arms: how much more the private arm costs.
fn draw_extra_cost(frame: &mut Frame, area: Rect, overhead: &Overhead) {
    let bars: Vec<Bar> = overhead
        .rows
        .iter()
        .filter_map(|r| {
            let extra = 100.0 * (r.ratio()? - 1.0);
            let label: String = r.quantity.chars().take(22).collect();
            Some(
                Bar::default()
                    .value(extra.max(0.0).round() as u64)
                    .text_value(format!("{extra:+.1}%"))
                    .label(Line::from(label)),
            )
        })
        .collect();
    let widget = BarChart::default()
        .block(block("private vs baseline: extra cost"))
        .direction(Direction::Horizontal)
        .data(BarGroup::default().bars(&bars))
        .bar_width(1)
        .bar_gap(0)
        .bar_style(theme::arm_style(Arm::Private))
        .value_style(theme::title());
    frame.render_widget(widget, area);
}

fn draw_literature(frame: &mut Frame, area: Rect, overhead: &Overhead) {
    let header = Row::new(["system", "quantity", "value", "source"]).style(theme::title());
    let rows = overhead
        .literature
        .iter()
        .map(|l| Row::new([l.system.clone(), l.quantity.clone(), l.value.clone(), l.source.clone()]));
    let widths = [Constraint::Length(12), Constraint::Fill(1), Constraint::Length(10), Constraint::Fill(1)];
    let widget = Table::new(rows, widths)
        .header(header)
        .block(block("Published figures of cryptographic approaches (literature, not measured here)"));
    frame.render_widget(widget, area);
}
