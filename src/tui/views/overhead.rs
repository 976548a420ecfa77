//! The overhead view: what one protected arm's scheme costs against the baseline (←/→ switch arm; a
//! table whose last column is a small bar chart of the extra cost, and a bar chart when there is
//! room), and published figures of cryptographic approaches, marked as literature values.

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Cell, Paragraph, Row, Table};
use ratatui::Frame;

use crate::tui::analysis::{format_number, ArmCosts, Availability, LiteratureRow, Overhead, OverheadRow};
use crate::tui::arms::Arms;
use crate::tui::theme;

use super::block;

/// Width of the in-table extra-cost bar.
const BAR_CELLS: usize = 6;

/// Draw the costs of arm `arm` (the first measured arm when None or not measured).
pub fn draw(frame: &mut Frame, area: Rect, overhead: &Overhead, arm: Option<&str>, arms: &Arms, source: Option<&str>) {
    let title = match source {
        Some(s) => format!("Overhead · {s}"),
        None => "Overhead".into(),
    };
    let costs = arm.and_then(|a| overhead.arm(a)).or(overhead.arms.first());
    let Some(costs) = costs else {
        let lines =
            super::availability_lines("overhead results", &overhead.status, "overhead.json").unwrap_or_else(|| {
                vec![Line::from(""), Line::styled(" overhead.json has no measurements.", theme::muted())]
            });
        super::notice(frame, area, &title, lines);
        return;
    };
    let table_h = (costs.rows.len() as u16 + 3).min(area.height.saturating_sub(4));
    let notes_h = (costs.notes.len() as u16).min(area.height.saturating_sub(table_h));
    let literature = literature_rows(overhead, area.width.saturating_sub(2) as usize);
    let lit_h =
        if overhead.literature.is_empty() { 0 } else { literature.iter().map(Vec::len).sum::<usize>() as u16 + 2 };
    let [top, notes, lit, rest] = Layout::vertical([
        Constraint::Length(table_h),
        Constraint::Length(notes_h),
        Constraint::Length(lit_h),
        Constraint::Min(0),
    ])
    .areas(area);
    let title = match overhead.arms.len() {
        0 | 1 => title,
        n => {
            let i = overhead.arms.iter().position(|a| a.arm == costs.arm).unwrap_or(0);
            format!("{title} · arm {} of {n} (←/→ switch)", i + 1)
        }
    };
    draw_table(frame, top, overhead, costs, arms, &title);
    let note_lines: Vec<Line> = costs.notes.iter().map(|n| Line::styled(format!(" {n}"), theme::warn())).collect();
    frame.render_widget(Paragraph::new(note_lines), notes);
    if lit_h > 0 {
        draw_literature(frame, lit, &literature);
    }
    let extra = cost_rows(costs);
    if !extra.is_empty() && rest.height as usize >= extra.len() + 2 {
        draw_extra_cost(frame, rest, &extra, &costs.arm, arms);
    }
}

fn cell(v: Option<f64>, unit: &str) -> String {
    match v {
        Some(x) if unit == "B" => format!("{x:.0}"),
        Some(x) => format_number(x),
        None => "-".into(),
    }
}

/// (quantity, extra cost in percent) of the rows that are costs measured on both arms.
fn cost_rows(costs: &ArmCosts) -> Vec<(&OverheadRow, f64)> {
    costs.rows.iter().filter(|r| r.cost).filter_map(|r| Some((r, 100.0 * (r.ratio()? - 1.0)))).collect()
}

/// "+4.1% ██▌" scaled so the largest extra cost fills the bar.
fn extra_cell(extra: f64, max: f64) -> String {
    const EIGHTHS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
    let eighths = if max > 0.0 { ((extra.max(0.0) / max) * (BAR_CELLS * 8) as f64).round() as usize } else { 0 };
    let bar = format!("{}{}", "█".repeat(eighths / 8), EIGHTHS[eighths % 8]);
    format!("{:>7} {bar}", format!("{extra:+.1}%"))
}

fn draw_table(frame: &mut Frame, area: Rect, overhead: &Overhead, arm: &ArmCosts, arms: &Arms, title: &str) {
    let baseline = arms.baseline().map(|b| b.name.clone()).unwrap_or_else(|| crate::config::BASELINE_ARM.into());
    // The protected arm's column as wide as its name, up to 14.
    let arm_w = arm.arm.chars().count().clamp(9, 14);
    let header = Row::new([
        Cell::from("quantity"),
        Cell::from("unit"),
        Cell::from(Span::styled(super::experiments::fit_left(&baseline, 9), arms.style(&baseline))),
        Cell::from(Span::styled(super::experiments::fit_left(&arm.arm, arm_w), arms.style(&arm.arm))),
        Cell::from("ratio"),
        Cell::from("extra cost"),
    ])
    .style(theme::title());
    let costs = cost_rows(arm);
    let max = costs.iter().map(|c| c.1).fold(0.0, f64::max);
    let rows = arm.rows.iter().map(|r| {
        let ratio = r.ratio().map(|x| format!("{x:.2}x")).unwrap_or_else(|| "-".into());
        let extra = costs.iter().find(|c| std::ptr::eq(c.0, r)).map(|c| extra_cell(c.1, max)).unwrap_or_default();
        Row::new([
            Cell::from(r.quantity.clone()),
            Cell::from(r.unit.clone()),
            Cell::from(cell(r.baseline, &r.unit)),
            Cell::from(cell(r.arm, &r.unit)),
            Cell::from(ratio),
            Cell::from(Span::styled(extra, arms.style(&arm.arm))),
        ])
    });
    let widths = [
        Constraint::Fill(1),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(arm_w as u16),
        Constraint::Length(6),
        Constraint::Length(14),
    ];
    let status = match &overhead.status {
        Availability::Running(s) => format!(" (running: {s})"),
        _ => String::new(),
    };
    frame.render_widget(Table::new(rows, widths).header(header).block(block(format!("{title}{status}"))), area);
}

/// One horizontal bar per cost measured on both arms: how much more the protected arm pays.
fn draw_extra_cost(frame: &mut Frame, area: Rect, costs: &[(&OverheadRow, f64)], arm: &str, arms: &Arms) {
    let bars: Vec<Bar> = costs
        .iter()
        .map(|(r, extra)| {
            let label: String = r.quantity.chars().take(24).collect();
            Bar::default()
                .value((extra.max(0.0) * 10.0).round() as u64)
                .text_value(format!("{extra:+.1}%"))
                .label(Line::from(label))
        })
        .collect();
    let widget = BarChart::default()
        .block(block(format!("{arm} vs baseline: extra cost")))
        .direction(Direction::Horizontal)
        .data(BarGroup::default().bars(&bars))
        .bar_width(1)
        .bar_gap(0)
        .bar_style(arms.style(arm))
        .value_style(theme::title());
    frame.render_widget(widget, area);
}

/// The literature table's lines in `width` columns (one entry may take several): system, figure and
/// value as wide as their longest entry, the source in what is left, wrapped rather than cut.
fn literature_rows(overhead: &Overhead, width: usize) -> Vec<Vec<String>> {
    let lit = &overhead.literature;
    let widest = |title: &str, f: &dyn Fn(&LiteratureRow) -> &str| {
        lit.iter().map(|l| f(l).chars().count()).max().unwrap_or(0).max(title.len())
    };
    let sys_w = widest("system", &|l| &l.system);
    let fig_w = widest("figure", &|l| &l.quantity);
    let val_w = widest("value", &|l| &l.value);
    let source_w = width.saturating_sub(sys_w + fig_w + val_w + 3).max(12);
    let line = |a: &str, b: &str, c: &str, d: &str| format!("{a:<sys_w$} {b:<fig_w$} {c:<val_w$} {d}");
    let mut rows = vec![vec![line("system", "figure", "value", "source")]];
    rows.extend(lit.iter().map(|l| {
        let parts = super::live::wrap_chars(&l.source, source_w);
        parts
            .iter()
            .enumerate()
            .map(|(i, part)| match i {
                0 => line(&l.system, &l.quantity, &l.value, part),
                _ => line("", "", "", part),
            })
            .collect()
    }));
    rows
}

/// The header line first (bold), then each entry's lines.
fn draw_literature(frame: &mut Frame, area: Rect, rows: &[Vec<String>]) {
    let lines: Vec<Line> = rows
        .iter()
        .enumerate()
        .flat_map(|(i, r)| {
            r.iter().map(move |l| if i == 0 { Line::styled(l.clone(), theme::title()) } else { Line::raw(l.clone()) })
        })
        .collect();
    let widget = Paragraph::new(lines)
        .block(block("Published figures of cryptographic approaches (literature, not measured here)"));
    frame.render_widget(widget, area);
}
