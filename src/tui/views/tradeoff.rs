//! The trade-off view: the frontier figure of the chosen runs drawn in the terminal (the same chart
//! `e` exports as PNG + SVG: points per group, their 95% interval bars, the no-change, cost, chance
//! and no-attack lines) and the points as a table below.

use plotters::style::RGBColor;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, LegendPosition, Paragraph};
use ratatui::Frame;

use crate::plot::draw::{LineKind, XyChart};
use crate::plot::style;
use crate::tui::compare::short_field;
use crate::tui::theme;
use crate::tui::tradeoff::Tradeoff;

use super::block;

/// The figure's colour in the terminal: the arm palette's slot where it is one (the same colour on
/// screen and on paper), the terminal's grey for the muted and black lines.
fn color(c: RGBColor) -> Color {
    if let Some(i) = (0..8).find(|i| style::arm_color(false, *i) == c) {
        return theme::arm_color(i + 1);
    }
    if c == style::BASELINE {
        return theme::BASELINE;
    }
    if c == style::REFERENCE || c == style::MUTED || c == style::CHANCE {
        return Color::Gray;
    }
    Color::Rgb(c.0, c.1, c.2)
}

pub fn draw(frame: &mut Frame, area: Rect, t: &Tradeoff) {
    let points = t.points();
    let table_h = (points.len() as u16 + 5).min(area.height / 2).max(4);
    let [top, bottom] = Layout::vertical([Constraint::Min(6), Constraint::Length(table_h)]).areas(area);
    let attack = t.attacks.get(t.attack).map_or("no attack", String::as_str);
    let group = short_field(t.groups.get(t.group).map_or("arm", String::as_str));
    let title = format!("Trade-off · {} · y: {attack} (a) · by {group} (g)", t.title);
    match t.chart() {
        Some(c) => draw_chart(frame, top, &title, &c),
        None => {
            let why = if t.attacks.is_empty() {
                "no attack results in these runs: run attacks to plot them against the accuracy delta"
            } else {
                "no protected arm has both an accuracy delta and this attack's metric"
            };
            frame.render_widget(
                Paragraph::new(Line::styled(format!(" {why}"), theme::muted())).block(block(title)),
                top,
            );
        }
    }
    draw_points(frame, bottom, t);
}

fn draw_chart(frame: &mut Frame, area: Rect, title: &str, c: &XyChart) {
    let xr = c.x_range();
    let yr = c.y_range();
    // Owned point lists first: the datasets borrow them.
    let hlines: Vec<(Color, [(f64, f64); 2])> =
        c.hlines.iter().map(|h| (color(h.color), [(xr.start, h.y), (xr.end, h.y)])).collect();
    let vlines: Vec<(Color, [(f64, f64); 2])> =
        c.vlines.iter().map(|v| (color(v.color), [(v.x, yr.start), (v.x, yr.end)])).collect();
    let mut datasets: Vec<Dataset> = Vec::new();
    // The reference lines are named in the table below (the legend keeps to the groups).
    for (col, pts) in hlines.iter().chain(&vlines) {
        datasets.push(
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::new().fg(*col))
                .data(pts),
        );
    }
    // Interval bars (unlabelled segments), then the points of each group (named for the legend).
    for s in c.series.iter().filter(|s| s.marker.is_none() && s.line != LineKind::None) {
        datasets.push(
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::new().fg(color(s.color)))
                .data(&s.points),
        );
    }
    for s in c.series.iter().filter(|s| s.marker.is_some()) {
        datasets.push(
            Dataset::default()
                .name(s.label.clone())
                .marker(Marker::Dot)
                .graph_type(GraphType::Scatter)
                .style(Style::new().fg(color(s.color)))
                .data(&s.points),
        );
    }
    let f = |v: f64| format!("{v:.1}");
    let chart = Chart::new(datasets)
        .block(block(title.to_string()))
        .x_axis(
            Axis::default()
                .title(Span::styled("Δ acc (pts)", theme::muted()))
                .bounds([xr.start, xr.end])
                .labels([f(xr.start), f((xr.start + xr.end) / 2.0), f(xr.end)])
                .style(Style::new().fg(theme::MUTED)),
        )
        .y_axis(
            Axis::default()
                .bounds([yr.start, yr.end])
                .labels([f(yr.start), f((yr.start + yr.end) / 2.0), f(yr.end)])
                .style(Style::new().fg(theme::MUTED)),
        )
        .legend_position(Some(LegendPosition::TopLeft))
        .hidden_legend_constraints((Constraint::Ratio(2, 3), Constraint::Ratio(2, 3)));
    frame.render_widget(chart, area);
}

/// "-1.23 [-2.10, -0.36]" (scaled), or the bare mean without an interval (n < 2: the n column says).
fn stat(m: &crate::results::stats::MeanStats, scale: f64, signed: bool) -> String {
    let f = |x: f64| if signed { format!("{:+.2}", scale * x) } else { format!("{:.2}", scale * x) };
    match m.ci {
        Some(c) => format!("{} [{}, {}]", f(m.mean), f(c.lo), f(c.hi)),
        None => f(m.mean),
    }
}

fn draw_points(frame: &mut Frame, area: Rect, t: &Tradeoff) {
    let points = t.points();
    let metric = t.metric();
    let scale = metric.as_ref().map_or(1.0, |m| if m.unit == "fraction" { 100.0 } else { 1.0 });
    let unit =
        metric.as_ref().map_or(String::new(), |m| if m.unit == "fraction" { "%".into() } else { m.unit.clone() });
    let y_name = metric.as_ref().map_or("metric".to_string(), |m| m.label.clone());
    let y_head = super::experiments::fit_left(&format!("{y_name} ({unit})"), 24);
    let mut lines = vec![Line::styled(
        format!("{:<22} {:>22} {:>24} {:>3}", "point", "Δ acc pts [95% CI]", y_head, "n"),
        theme::muted(),
    )];
    for p in &points {
        lines.push(Line::raw(format!(
            "{:<22} {:>22} {:>24} {:>3}",
            super::experiments::fit_middle(&p.label, 22),
            stat(&p.delta, 100.0, true),
            stat(&p.metric, scale, false),
            p.delta.n.min(p.metric.n)
        )));
    }
    // What the chart's lines are (its legend names the groups only).
    if let Some(c) = t.chart() {
        let mut refs: Vec<String> = c.vlines.iter().map(|v| format!("│ {} (x = {:.0})", v.label, v.x)).collect();
        refs.extend(c.hlines.iter().map(|h| format!("─ {}", h.label)));
        lines.push(Line::styled(format!("lines: {}", refs.join(" · ")), theme::muted()));
    }
    if !t.table.missing.is_empty() {
        lines.push(Line::styled(format!("left out (not finished): {}", t.table.missing.join(", ")), theme::warn()));
    }
    let title = format!(
        "{} {} (n: runs per point; intervals need n ≥ 2) ↑↓",
        points.len(),
        if points.len() == 1 { "point" } else { "points" }
    );
    let text = Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: false }).scroll((t.scroll, 0));
    frame.render_widget(text.block(block(title)), area);
}
