//! The metric chart shared by the live view and the runs view: every arm overlaid in its colour,
//! train rows as a line, test rows (end of epoch) as dots.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, LegendPosition, Paragraph};
use ratatui::Frame;

use crate::tui::arms::Arms;
use crate::tui::curves::{Curves, Quantity};
use crate::tui::theme;

use super::{block, rate};

pub(super) fn y_bounds(q: Quantity, lo: f64, hi: f64) -> [f64; 2] {
    match q {
        Quantity::Accuracy => {
            let lo = ((lo * 10.0).floor() / 10.0).clamp(0.0, 0.9);
            let hi = ((hi * 10.0).ceil() / 10.0).clamp(lo + 0.1, 1.0);
            [lo, hi]
        }
        Quantity::Loss => [0.0, if hi > 0.0 { hi * 1.1 } else { 1.0 }],
        // Speeds of the two arms are close: zoom in so their difference shows (labels give the scale).
        Quantity::Speed => {
            let pad = ((hi - lo) * 0.2).max(hi * 0.05).max(1.0);
            [(lo - pad).max(0.0).floor(), (hi + pad).ceil()]
        }
    }
}

pub(super) fn y_label(q: Quantity, v: f64) -> String {
    match q {
        Quantity::Accuracy => format!("{:.0}%", 100.0 * v),
        Quantity::Loss => format!("{v:.2}"),
        Quantity::Speed => rate(v),
    }
}

pub(super) fn x_label(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Draw one quantity of every arm in `area`, titled `title`: the arms of `arms` in their order and
/// colours, then any arm with curves that `arms` does not list.
/// `x_max`: right end of the x axis in epochs (the run's epoch count while it trains).
pub fn draw(frame: &mut Frame, area: Rect, title: &str, curves: &Curves, arms: &Arms, q: Quantity, x_max: f64) {
    let Some((lo, hi)) = curves.y_range(q) else {
        let text = Paragraph::new(Line::styled(" waiting for metrics", theme::muted())).block(block(title));
        frame.render_widget(text, area);
        return;
    };
    let mut datasets = Vec::new();
    let extra = curves.names().filter(|n| arms.get(n).is_none());
    for arm in arms.names().chain(extra) {
        let (line, points) = curves.series(arm, q);
        if line.is_empty() && points.is_empty() {
            continue;
        }
        let style = arms.style(arm);
        datasets.push(
            Dataset::default()
                .name(arm.to_string())
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(style)
                .data(line),
        );
        if !points.is_empty() {
            datasets
                .push(Dataset::default().marker(Marker::Dot).graph_type(GraphType::Scatter).style(style).data(points));
        }
    }
    let max_x = x_max.max(curves.max_x());
    let [y0, y1] = y_bounds(q, lo, hi);
    let legend = match q {
        Quantity::Loss => LegendPosition::TopRight,
        _ => LegendPosition::BottomRight,
    };
    let chart = Chart::new(datasets)
        .block(block(title))
        .x_axis(
            Axis::default()
                .title(Span::styled("epoch", theme::muted()))
                .bounds([0.0, max_x])
                .labels([x_label(0.0), x_label(max_x / 2.0), x_label(max_x)])
                .style(Style::new().fg(theme::MUTED)),
        )
        .y_axis(
            Axis::default()
                .bounds([y0, y1])
                .labels([y_label(q, y0), y_label(q, (y0 + y1) / 2.0), y_label(q, y1)])
                .style(Style::new().fg(theme::MUTED)),
        )
        .legend_position(Some(legend))
        .hidden_legend_constraints((Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)));
    frame.render_widget(chart, area);
}
