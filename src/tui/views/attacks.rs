//! The attacks view: one row per attack (metric, value, verdict) as results arrive, and the
//! selected attack's curve and detail.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Cell, Chart, Dataset, GraphType, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use crate::tui::analysis::{AttackRow, Attacks, Availability, Verdict};
use crate::tui::theme;

use super::block;

pub fn verdict_style(v: &Verdict) -> Style {
    match v {
        Verdict::Resists => theme::good(),
        Verdict::Partial => theme::warn(),
        Verdict::Broken => theme::bad(),
        Verdict::Info(_) => theme::muted(),
    }
}

pub fn draw(frame: &mut Frame, area: Rect, attacks: &Attacks, selected: usize, source: Option<&str>) {
    let title = match source {
        Some(s) => format!("Attacks · {s}"),
        None => "Attacks".into(),
    };
    if attacks.rows.is_empty() {
        let lines = super::availability_lines("attack results", &attacks.status, "attacks.json")
            .unwrap_or_else(|| vec![Line::from(""), Line::styled(" attacks.json lists no attacks.", theme::muted())]);
        super::notice(frame, area, &title, lines);
        return;
    }
    let table_h = (attacks.rows.len() as u16 + 4).min(area.height / 2).max(5);
    let [top, bottom] = Layout::vertical([Constraint::Length(table_h), Constraint::Min(0)]).areas(area);
    draw_table(frame, top, attacks, selected, &title);
    if let Some(row) = attacks.rows.get(selected) {
        let [curve, detail] = Layout::horizontal([Constraint::Fill(3), Constraint::Fill(2)]).areas(bottom);
        draw_curve(frame, curve, row);
        draw_detail(frame, detail, row);
    }
}

fn draw_table(frame: &mut Frame, area: Rect, attacks: &Attacks, selected: usize, title: &str) {
    let header = Row::new(["attack", "metric", "value", "verdict"]).style(theme::title());
    let rows = attacks.rows.iter().map(|r| {
        Row::new([
            Cell::from(r.name.clone()),
            Cell::from(r.metric.clone()),
            Cell::from(r.value_text()),
            Cell::from(Span::styled(r.verdict.label().to_string(), verdict_style(&r.verdict))),
        ])
    });
    let widths = [Constraint::Fill(2), Constraint::Fill(2), Constraint::Length(12), Constraint::Length(10)];
    let mut t = Table::new(rows, widths).header(header).row_highlight_style(theme::selected()).highlight_symbol("> ");
    let status = match &attacks.status {
        Availability::Running(s) => format!(" (running: {s})"),
        _ => String::new(),
    };
    t = t.block(block(format!("{title}{status}")));
    let mut state = TableState::default().with_selected(Some(selected));
    frame.render_stateful_widget(t, area, &mut state);
}

fn bounds(values: impl Iterator<Item = f64> + Clone) -> [f64; 2] {
    let lo = values.clone().fold(f64::INFINITY, f64::min);
    let hi = values.fold(f64::NEG_INFINITY, f64::max);
    if !(lo.is_finite() && hi.is_finite()) {
        [0.0, 1.0]
    } else if hi - lo < 1e-12 {
        [lo - 0.5, hi + 0.5]
    } else {
        [lo, hi]
    }
}

/// Short axis labels: "16", "0.31", "2.5k".
fn axis_number(v: f64) -> String {
    if v.abs() >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn draw_curve(frame: &mut Frame, area: Rect, row: &AttackRow) {
    let title = if row.y_label.is_empty() { row.name.clone() } else { format!("{}: {}", row.name, row.y_label) };
    if row.series.len() < 2 {
        let text = Line::styled(" no curve for this attack", theme::muted());
        frame.render_widget(Paragraph::new(text).block(block(title)), area);
        return;
    }
    let xb = bounds(row.series.iter().map(|p| p.0));
    let yb = bounds(row.series.iter().map(|p| p.1));
    let colour = verdict_style(&row.verdict).fg.unwrap_or(Color::White);
    let data = Dataset::default()
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .style(Style::new().fg(colour))
        .data(&row.series);
    let axis = |b: [f64; 2], name: &str| {
        Axis::default()
            .title(Span::styled(name.to_string(), theme::muted()))
            .bounds(b)
            .labels([axis_number(b[0]), axis_number(b[1])])
            .style(theme::muted())
    };
    let chart = Chart::new(vec![data]).block(block(title)).x_axis(axis(xb, &row.x_label)).y_axis(axis(yb, ""));
    frame.render_widget(chart, area);
}

fn draw_detail(frame: &mut Frame, area: Rect, row: &AttackRow) {
    let mut lines = vec![
        Line::from(vec![
            Span::styled("verdict ", theme::muted()),
            Span::styled(row.verdict.label().to_string(), verdict_style(&row.verdict)),
        ]),
        Line::from(vec![Span::styled(format!("{} ", row.metric), theme::muted()), Span::raw(row.value_text())]),
    ];
    if !row.detail.is_empty() {
        lines.push(Line::from(""));
        lines.push(Line::from(row.detail.clone()));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }).block(block("Detail")), area);
}
