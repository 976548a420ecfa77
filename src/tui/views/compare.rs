//! Runs compared (any number): their curves overlaid in one chart, then one column per run with
//! accuracy per arm, attack headlines, the training-time ratio and the config fields that differ.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, LegendPosition, Paragraph};
use ratatui::Frame;

use crate::tui::actions::Compare;
use crate::tui::compare::{short_field, CompareRow};
use crate::tui::curves::Quantity;
use crate::tui::theme;

use super::experiments::fit_middle;

/// `text` cut to `width` characters, its start kept ("known-plaintext (private): PS…").
fn cut_end(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
    s.push('…');
    s
}
use super::{block, chart};

pub fn draw(frame: &mut Frame, area: Rect, c: &Compare) {
    let chart_h = (area.height * 9 / 20).max(8).min(area.height.saturating_sub(5));
    let [top, table] = Layout::vertical([Constraint::Length(chart_h), Constraint::Min(0)]).areas(area);
    draw_overlay(frame, top, c);
    draw_table(frame, table, c);
}

fn quantity_name(q: Quantity) -> &'static str {
    match q {
        Quantity::Accuracy => "accuracy (line train, • test)",
        Quantity::Loss => "loss (line train, • test)",
        Quantity::Speed => "samples/s",
    }
}

fn draw_overlay(frame: &mut Frame, area: Rect, c: &Compare) {
    let colour = match &c.color_by {
        None => "each run and arm".to_string(),
        Some(f) => format!("by {}", short_field(f)),
    };
    // The keys (y, g) are in the footer.
    let title = format!("{} of {} runs · colour: {colour}", quantity_name(c.quantity), c.runs.len());
    let series = c.series();
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    let mut max_x: f64 = 1.0;
    for r in &c.runs {
        if let Some((a, b)) = r.curves.y_range(c.quantity) {
            lo = lo.min(a);
            hi = hi.max(b);
        }
        max_x = max_x.max(r.curves.max_x());
    }
    if series.is_empty() || lo > hi {
        let text = Line::styled(" no curves: these runs have no metrics.csv rows", theme::muted());
        frame.render_widget(Paragraph::new(text).block(block(title)), area);
        return;
    }
    let mut datasets: Vec<Dataset> = Vec::new();
    for s in &series {
        let (line, points) = c.runs[s.run].curves.series(&s.arm, c.quantity);
        let d = Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(s.color))
            .data(line);
        datasets.push(match &s.legend {
            Some(name) => d.name(name.clone()),
            None => d,
        });
        if !points.is_empty() {
            datasets.push(
                Dataset::default()
                    .marker(Marker::Dot)
                    .graph_type(GraphType::Scatter)
                    .style(Style::new().fg(s.color))
                    .data(points),
            );
        }
    }
    let [y0, y1] = chart::y_bounds(c.quantity, lo, hi);
    let legend = match c.quantity {
        Quantity::Loss => LegendPosition::TopRight,
        _ => LegendPosition::BottomRight,
    };
    let widget = Chart::new(datasets)
        .block(block(title))
        .x_axis(
            Axis::default()
                .title(Span::styled("epoch", theme::muted()))
                .bounds([0.0, max_x])
                .labels([chart::x_label(0.0), chart::x_label(max_x / 2.0), chart::x_label(max_x)])
                .style(Style::new().fg(theme::MUTED)),
        )
        .y_axis(
            Axis::default()
                .bounds([y0, y1])
                .labels([
                    chart::y_label(c.quantity, y0),
                    chart::y_label(c.quantity, (y0 + y1) / 2.0),
                    chart::y_label(c.quantity, y1),
                ])
                .style(Style::new().fg(theme::MUTED)),
        )
        .legend_position(Some(legend))
        .hidden_legend_constraints((Constraint::Ratio(2, 3), Constraint::Ratio(3, 4)));
    frame.render_widget(widget, area);
}

fn draw_table(frame: &mut Frame, area: Rect, c: &Compare) {
    let rows = c.rows();
    let inner = area.width.saturating_sub(2) as usize;
    let widest_cell = rows
        .iter()
        .filter_map(|r| match r {
            CompareRow::Values { cells, .. } => cells.iter().map(|x| x.chars().count()).max(),
            CompareRow::Section(_) => None,
        })
        .max()
        .unwrap_or(8)
        .clamp(10, 22);
    let cell_w = widest_cell + 1;
    let n = c.runs.len();
    // Labels take what the run columns leave (at most 60 characters), down to 12.
    let widest_label = rows
        .iter()
        .filter_map(|r| match r {
            CompareRow::Values { label, .. } => Some(label.chars().count() + 1),
            CompareRow::Section(_) => None,
        })
        .max()
        .unwrap_or(8);
    let label_w = widest_label.min(60).min(inner.saturating_sub(n * cell_w)).max(12);
    let first = c.first_col.min(n.saturating_sub(1));
    let fit = ((inner.saturating_sub(label_w)) / cell_w).max(1);
    let shown: Vec<usize> = (first..n).take(fit).collect();
    let mut lines: Vec<Line> = Vec::new();
    let mut head = vec![Span::raw(format!("{:<label_w$}", ""))];
    for &i in &shown {
        let name = format!("{} {}", i + 1, c.runs[i].label);
        head.push(Span::styled(format!("{:>cell_w$}", fit_middle(&name, cell_w - 1)), theme::title()));
    }
    lines.push(Line::from(head));
    for e in &c.errors {
        lines.push(Line::styled(e.clone(), theme::bad()));
    }
    for r in &rows {
        match r {
            CompareRow::Section(t) => lines.push(Line::styled(t.clone(), theme::muted())),
            CompareRow::Values { label, cells } => {
                let mut spans = vec![Span::raw(format!("{:<label_w$}", cut_end(label, label_w - 1)))];
                for &i in &shown {
                    spans.push(Span::raw(format!("{:>cell_w$}", fit_middle(&cells[i], cell_w - 1))));
                }
                lines.push(Line::from(spans));
            }
        }
    }
    let hidden = n - shown.len();
    let cols = if hidden > 0 {
        format!(" · runs {}-{} of {n} (←/→)", first + 1, first + shown.len())
    } else {
        String::new()
    };
    let title = format!("Side by side{cols} (↑↓ scroll)");
    frame.render_widget(Paragraph::new(lines).scroll((c.scroll, 0)).block(block(title)), area);
}
