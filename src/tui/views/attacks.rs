//! The attacks view: one attacked arm at a time (←/→ switch): one row per attack (headline, verdict
//! with its deciding metric) as results arrive, and the selected attack's curves (with the no-attack
//! reference in range) and what it found.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Cell, Chart, Dataset, GraphType, LegendPosition, Paragraph, Row, Table, TableState, Wrap,
};
use ratatui::Frame;

use crate::tui::analysis::{AttackRow, Attacks, Availability, Verdict};
use crate::tui::arms::Arms;
use crate::tui::theme;

use super::block;

/// Curve colours of an attack chart (not the arm colours: these series are not arms).
const PALETTE: [Color; 5] = [Color::Yellow, Color::Green, Color::LightBlue, Color::LightRed, Color::White];

pub fn verdict_style(v: &Verdict) -> Style {
    match v {
        Verdict::Protects => theme::good(),
        Verdict::PartialLeak => theme::warn(),
        Verdict::Broken | Verdict::Failed(_) => theme::bad(),
        Verdict::Info(_) => theme::muted(),
    }
}

/// What the view shows: the results, which arm's, the selected row of that arm, and the run.
pub struct Shown<'a> {
    pub attacks: &'a Attacks,
    /// The attacked arm shown (None when no arm has results yet).
    pub arm: Option<&'a str>,
    /// The run's arms, for their colours.
    pub arms: &'a Arms,
    pub selected: usize,
    pub source: Option<&'a str>,
}

pub fn draw(frame: &mut Frame, area: Rect, shown: &Shown<'_>) {
    let attacks = shown.attacks;
    let title = match shown.source {
        Some(s) => format!("Attacks · {s}"),
        None => "Attacks".into(),
    };
    let (Some(arm), false) = (shown.arm, attacks.rows.is_empty()) else {
        let lines = super::availability_lines("attack results", &attacks.status, "attacks.json")
            .unwrap_or_else(|| vec![Line::from(""), Line::styled(" attacks.json lists no attacks.", theme::muted())]);
        super::notice(frame, area, &title, lines);
        return;
    };
    let rows: Vec<&AttackRow> = attacks.of_arm(arm).collect();
    let table_h = (rows.len() as u16 + 4).min(area.height / 2).max(6);
    let [top, bottom] = Layout::vertical([Constraint::Length(table_h), Constraint::Min(0)]).areas(area);
    draw_table(frame, top, shown, &rows, &title);
    if let Some(row) = rows.get(shown.selected) {
        let [curve, detail] = Layout::horizontal([Constraint::Fill(3), Constraint::Fill(2)]).areas(bottom);
        draw_curves(frame, curve, row);
        draw_detail(frame, detail, row);
    }
}

fn progress_text(attacks: &Attacks) -> String {
    match &attacks.status {
        Availability::Running(_) if !attacks.running.is_empty() => format!(" (running {})", attacks.running.text()),
        Availability::Running(s) => format!(" (running {s})"),
        _ => String::new(),
    }
}

/// "arm NAME (2 of 3 attacked arms, ←/→ switch)" in the arm's colour.
fn arm_line(shown: &Shown<'_>, arm: &str) -> Line<'static> {
    let arms = shown.attacks.arms();
    let mut spans = vec![Span::styled("arm ", theme::muted()), Span::styled(arm.to_string(), shown.arms.style(arm))];
    if arms.len() > 1 {
        let i = arms.iter().position(|a| a == arm).unwrap_or(0);
        spans.push(Span::styled(format!("  ({} of {} attacked arms, ←/→ switch)", i + 1, arms.len()), theme::muted()));
    }
    if let Some(d) = shown.arms.get(arm).map(|a| a.description.clone()).filter(|d| !d.is_empty()) {
        spans.push(Span::styled(format!("  {d}"), theme::muted()));
    }
    Line::from(spans)
}

fn draw_table(frame: &mut Frame, area: Rect, shown: &Shown<'_>, rows: &[&AttackRow], title: &str) {
    let arm = rows.first().map(|r| r.arm.as_str()).unwrap_or_default();
    let outer = block(format!("{title}{}", progress_text(shown.attacks)));
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let [which, table_area] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    frame.render_widget(Paragraph::new(arm_line(shown, arm)), which);
    let header = Row::new(["attack", "headline", "verdict (deciding metric)"]).style(theme::title());
    let rows = rows.iter().map(|r| {
        Row::new([
            Cell::from(r.name.clone()),
            Cell::from(r.value_text()),
            Cell::from(Span::styled(r.verdict_text(), verdict_style(&r.verdict))),
        ])
    });
    let widths = [Constraint::Length(16), Constraint::Length(14), Constraint::Fill(1)];
    let table = Table::new(rows, widths).header(header).row_highlight_style(theme::selected()).highlight_symbol("> ");
    let mut state = TableState::default().with_selected(Some(shown.selected));
    frame.render_stateful_widget(table, table_area, &mut state);
}

/// Data bounds of every point, widened when flat.
fn bounds(values: impl Iterator<Item = f64>) -> [f64; 2] {
    let (lo, hi) =
        values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
    if !(lo.is_finite() && hi.is_finite()) {
        [0.0, 1.0]
    } else if hi - lo < 1e-12 {
        [lo - 0.5, hi + 0.5]
    } else {
        [lo, hi]
    }
}

/// Bounds with a margin of a twentieth of the span on each side.
fn padded([lo, hi]: [f64; 2]) -> [f64; 2] {
    let m = (hi - lo) / 20.0;
    [lo - m, hi + m]
}

/// Short axis labels: "16", "0.31", "25k".
fn axis_number(v: f64) -> String {
    if v.abs() >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn draw_curves(frame: &mut Frame, area: Rect, row: &AttackRow) {
    let title = if row.y_label.is_empty() { row.name.clone() } else { format!("{}: {}", row.name, row.y_label) };
    let plotted: Vec<(String, Vec<(f64, f64)>)> = row
        .curves
        .iter()
        .map(|c| {
            let pts = c
                .points
                .iter()
                .filter(|p| !row.x_log || p.0 > 0.0)
                .map(|&(x, y)| (if row.x_log { x.log10() } else { x }, y))
                .collect();
            (c.label.clone(), pts)
        })
        .filter(|(_, p): &(String, Vec<(f64, f64)>)| !p.is_empty())
        .collect();
    if plotted.is_empty() {
        let text = Line::styled(" no curve for this attack", theme::muted());
        frame.render_widget(Paragraph::new(text).block(block(title)), area);
        return;
    }
    let xb = bounds(plotted.iter().flat_map(|(_, p)| p.iter().map(|q| q.0)));
    // The no-attack reference (chance, the mean image's PSNR) is in the headline's unit: drawn only
    // over curves in that unit, and always inside the y range, so that a gain over it is seen at scale.
    let chance = row.chart_reference();
    let ys = || plotted.iter().flat_map(|(_, p)| p.iter().map(|q| q.1)).chain(chance);
    // Fractions (accuracy, key recovered, SSIM) on their full 0..1 scale, so "at chance" looks like it.
    let yb = if ys().all(|y| (0.0..=1.0).contains(&y)) { [0.0, 1.0] } else { padded(bounds(ys())) };
    let chance_line = chance.map(|c| vec![(xb[0], c), (xb[1], c)]);
    let chance_name = if row.chance_label.starts_with("no attack") { "no attack" } else { "chance" };
    // The reference line first, so the curves are drawn over it.
    let mut datasets: Vec<Dataset> = chance_line
        .iter()
        .map(|line| {
            Dataset::default()
                .name(chance_name)
                .marker(Marker::Dot)
                .graph_type(GraphType::Line)
                .style(theme::muted())
                .data(line)
        })
        .collect();
    datasets.extend(plotted.iter().enumerate().map(|(i, (label, pts))| {
        let marker = if pts.len() == 1 { Marker::Dot } else { Marker::Braille };
        Dataset::default()
            .name(label.clone())
            .marker(marker)
            .graph_type(if pts.len() == 1 { GraphType::Scatter } else { GraphType::Line })
            .style(Style::new().fg(PALETTE[i % PALETTE.len()]))
            .data(pts)
    }));
    let x_labels =
        if row.x_log { [xb[0], xb[1]].map(|v| axis_number(10f64.powf(v))) } else { [xb[0], xb[1]].map(axis_number) };
    let x_title = if row.x_log { format!("{} (log)", row.x_label) } else { row.x_label.clone() };
    let chart = Chart::new(datasets)
        .block(block(title))
        .x_axis(
            Axis::default()
                .title(Span::styled(x_title, theme::muted()))
                .bounds(xb)
                .labels(x_labels)
                .style(theme::muted()),
        )
        .y_axis(
            Axis::default()
                .bounds(yb)
                .labels([axis_number(yb[0]), axis_number((yb[0] + yb[1]) / 2.0), axis_number(yb[1])])
                .style(theme::muted()),
        )
        .legend_position(Some(LegendPosition::TopLeft))
        .hidden_legend_constraints((Constraint::Ratio(2, 3), Constraint::Ratio(1, 2)));
    frame.render_widget(chart, area);
}

fn draw_detail(frame: &mut Frame, area: Rect, row: &AttackRow) {
    let mut lines = vec![Line::from(vec![
        Span::styled("verdict ", theme::muted()),
        Span::styled(row.verdict_text(), verdict_style(&row.verdict)),
    ])];
    if let Some(m) = &row.meaning {
        lines.push(Line::from(vec![Span::styled("meaning ", theme::muted()), Span::raw(m.clone())]));
    }
    if row.value.is_some() || row.display.is_some() {
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", row.metric), theme::muted()),
            Span::raw(row.value_text()),
        ]));
    }
    if let Some(c) = row.chance {
        let chance = crate::tui::analysis::format_with_unit(&row.metric, &row.unit, c);
        lines.push(Line::from(vec![Span::styled(format!("{} ", row.chance_label), theme::muted()), Span::raw(chance)]));
    }
    if let Some(t) = &row.thresholds {
        lines.push(Line::from(vec![Span::styled("rule ", theme::muted()), Span::raw(t.clone())]));
    }
    if !row.detail.is_empty() {
        lines.push(Line::from(""));
        lines.push(Line::from(row.detail.clone()));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }).block(block("Finding")), area);
}
