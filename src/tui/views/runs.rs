//! The runs view: previous run folders with their headline figures; one opened shows its curves and
//! summary.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use crate::overhead::TrainingTimeRatio;
use crate::results::status::{RunStatus, Training};
use crate::results::Summary;
use crate::train::Arm;
use crate::tui::actions::RunDetail;
use crate::tui::app::{App, RunsMode};
use crate::tui::curves::Quantity;
use crate::tui::theme;

use super::{block, chart, delta_points, duration, pct, rate};

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    match &app.runs_mode {
        RunsMode::List => draw_list(frame, area, app),
        RunsMode::Detail(d) => draw_detail(frame, area, d),
        RunsMode::Compare(c) => super::compare::draw(frame, area, c),
    }
}

/// The status cell: plain when finished, a warning otherwise, an error for a failed arm.
fn status_cell(status: &RunStatus) -> Cell<'static> {
    let style = match status.training {
        Training::Failed { .. } => theme::bad(),
        _ if status.is_finished() => theme::good(),
        _ => theme::warn(),
    };
    Cell::from(Span::styled(status.short(), style))
}

fn draw_list(frame: &mut Frame, area: Rect, app: &App) {
    let dirs: Vec<String> = app.results_dirs().iter().map(|d| d.display().to_string()).collect();
    let title = format!("Runs in {}", dirs.join(", "));
    if app.runs.is_empty() {
        let text =
            vec![Line::from(""), Line::styled(" No run folders yet: finished runs appear here.", theme::muted())];
        super::notice(frame, area, &title, text);
        return;
    }
    let header = Row::new([
        Cell::from(" "),
        Cell::from("run"),
        Cell::from("dataset"),
        Cell::from(Span::styled("baseline", theme::arm_style(Arm::Baseline))),
        Cell::from(Span::styled("private", theme::arm_style(Arm::Private))),
        Cell::from("Δ pts"),
        Cell::from("status"),
    ])
    .style(theme::title());
    // The status column as wide as its longest entry, so finished runs leave the names room.
    let status_width = app.runs.iter().filter_map(|r| r.status.as_ref()).map(|s| s.short().len()).max().unwrap_or(0);
    let rows = app.runs.iter().enumerate().map(|(i, r)| {
        let mark = if app.run_marked == Some(i) { "*" } else { " " };
        match &r.summary {
            Ok(s) => Row::new([
                Cell::from(Span::styled(mark, theme::key())),
                Cell::from(r.label.clone()),
                Cell::from(s.dataset.name.clone()),
                Cell::from(pct(s.baseline.test_accuracy)),
                Cell::from(pct(s.private.test_accuracy)),
                Cell::from(format!("{:+.2}", 100.0 * s.accuracy_delta)),
                r.status.as_ref().map(status_cell).unwrap_or_else(|| Cell::from("-")),
            ]),
            Err(_) => Row::new([
                Cell::from(mark),
                Cell::from(r.label.clone()),
                Cell::from("-"),
                Cell::from("-"),
                Cell::from("-"),
                Cell::from("-"),
                Cell::from(Span::styled("error", theme::bad())),
            ]),
        }
    });
    let widths = [
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(13),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(6),
        Constraint::Length(status_width.max("status".len()) as u16),
    ];
    let selected = app.runs.get(app.run_selected);
    // Two more lines when the selected run is not finished: its status, wrapped.
    let unfinished = selected.and_then(|r| r.status.as_ref()).is_some_and(|s| !s.is_finished());
    let info_height = if unfinished { 5 } else { 3 };
    let [table_area, info] = Layout::vertical([Constraint::Min(4), Constraint::Length(info_height)]).areas(area);
    let table = Table::new(rows, widths)
        .header(header)
        .block(block(title))
        .row_highlight_style(theme::selected())
        .highlight_symbol("> ");
    let mut state = TableState::default().with_selected(Some(app.run_selected));
    frame.render_stateful_widget(table, table_area, &mut state);
    let text = match selected {
        Some(r) => match &r.summary {
            Ok(s) => {
                let mut lines =
                    vec![Line::from(vec![Span::styled("privacy ", theme::muted()), Span::raw(s.privacy.clone())])];
                lines.extend(r.status.as_ref().and_then(status_line));
                lines
            }
            Err(e) => vec![Line::styled(e.clone(), theme::bad())],
        },
        None => vec![],
    };
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }).block(block("Selected")), info);
}

fn arm_line(arm: Arm, r: &crate::results::ArmRecord) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{:<9}", arm.name()), theme::arm_style(arm)),
        Span::raw(format!(
            "{:>8} {:>8} {:>8}/s  {:>2} ep  {}",
            pct(r.test_accuracy),
            duration(r.train_seconds),
            rate(r.samples_per_second),
            r.epochs_completed,
            r.status
        )),
    ])
}

/// What is not finished about a run, in words (None when it is finished).
fn status_line(status: &RunStatus) -> Option<Line<'static>> {
    (!status.is_finished()).then(|| {
        Line::from(vec![Span::styled("status ", theme::muted()), Span::styled(status.detail(), theme::warn())])
    })
}

/// Headline lines of a summary (used by the detail and compare views).
pub fn summary_lines(s: &Summary) -> Vec<Line<'static>> {
    let key = if s.fixed_key { "fixed key" } else { "fresh key" };
    vec![
        Line::from(vec![
            Span::styled("data ", theme::muted()),
            Span::raw(format!("{}  ", crate::data::display_name(&s.dataset.name, s.dataset.train, s.dataset.test))),
            Span::styled("model ", theme::muted()),
            Span::raw(format!("{}  seed {}", s.arch, s.seed)),
        ]),
        Line::from(vec![Span::styled("privacy ", theme::muted()), Span::raw(format!("{} ({key})", s.privacy))]),
        Line::styled(
            format!("{:<9}{:>8} {:>8} {:>10}  {:>5}", "arm", "test acc", "train", "speed", "epochs"),
            theme::muted(),
        ),
        arm_line(Arm::Baseline, &s.baseline),
        arm_line(Arm::Private, &s.private),
        Line::from(vec![Span::styled("accuracy delta ", theme::muted()), Span::raw(delta_points(s.accuracy_delta))]),
        ratio_line(s),
    ]
}

/// The one private/baseline training-time ratio ([`TrainingTimeRatio`]).
fn ratio_line(s: &Summary) -> Line<'static> {
    let r = TrainingTimeRatio::of(s);
    Line::from(vec![
        Span::styled(format!("{} ", TrainingTimeRatio::NAME), theme::muted()),
        Span::raw(format!("{} (medians; {})", r.value_text(2), r.timing())),
    ])
}

fn draw_detail(frame: &mut Frame, area: Rect, d: &RunDetail) {
    let mut lines = summary_lines(&d.summary);
    lines.extend(status_line(&d.status));
    if let Some(e) = &d.metrics_error {
        lines.push(Line::styled(format!("curves unavailable: {e}"), theme::bad()));
    }
    let height = lines.len() as u16 + 2;
    let [summary, charts] = Layout::vertical([Constraint::Length(height), Constraint::Min(0)]).areas(area);
    let title = format!("Run {} [{}]", d.label, d.status.label());
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block(title)), summary);
    let [acc, loss] = Layout::horizontal([Constraint::Fill(1); 2]).areas(charts);
    let x_max = d.curves.max_x().ceil();
    chart::draw(frame, acc, "Accuracy (line train, • test)", &d.curves, Quantity::Accuracy, x_max);
    chart::draw(frame, loss, "Loss", &d.curves, Quantity::Loss, x_max);
}
