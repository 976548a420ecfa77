//! The runs view: previous run folders with their headline figures; one opened shows its curves and
//! summary.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use crate::overhead::TrainingTimeRatio;
use crate::results::status::{RunStatus, Training};
use crate::results::{ArmRecord, Summary};
use crate::tui::actions::RunDetail;
use crate::tui::app::{App, RunsMode};
use crate::tui::arms::Arms;
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
        Cell::from(Span::styled("baseline", Style::new().fg(theme::BASELINE))),
        Cell::from("Δ pts of each arm"),
        Cell::from("status"),
    ])
    .style(theme::title());
    // The status column as wide as its longest entry, so finished runs leave the names room.
    let status_width = app.runs.iter().filter_map(|r| r.status.as_ref()).map(|s| s.short().len()).max().unwrap_or(0);
    let rows = app.runs.iter().map(|r| {
        let mark = if app.run_marked.as_ref() == Some(&r.dir) { "*" } else { " " };
        match &r.summary {
            Ok(s) => Row::new([
                Cell::from(Span::styled(mark, theme::key())),
                Cell::from(r.label.clone()),
                Cell::from(s.dataset.name.clone()),
                Cell::from(s.baseline().map(|b| pct(b.test_accuracy)).unwrap_or_else(|| "-".into())),
                Cell::from(deltas_line(s)),
                r.status.as_ref().map(status_cell).unwrap_or_else(|| Cell::from("-")),
            ]),
            Err(_) => Row::new([
                Cell::from(mark),
                Cell::from(r.label.clone()),
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
        Constraint::Length(17),
        Constraint::Length(status_width.max("status".len()) as u16),
    ];
    let selected = app.runs.get(app.run_selected);
    // Two more lines when the selected run is not finished: its status, wrapped.
    let unfinished = selected.and_then(|r| r.status.as_ref()).is_some_and(|s| !s.is_finished());
    let arm_lines = selected.and_then(|r| r.summary.as_ref().ok()).map_or(1, |s| s.arms.len().max(1));
    let info_height = (arm_lines as u16 + 2 + if unfinished { 2 } else { 0 }).min(area.height / 2);
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
                let arms = Arms::from_summary(s);
                let w = arms.name_width(8);
                let mut lines: Vec<Line> = s
                    .arms
                    .iter()
                    .map(|a| {
                        let acc = format!(
                            "{:>7} {:>11}",
                            pct(a.test_accuracy),
                            a.accuracy_delta.map(delta_points).unwrap_or_default()
                        );
                        // Cut to the panel's width: the wrapped status line below must keep its rows.
                        let room = (info.width as usize).saturating_sub(w + acc.chars().count() + 5);
                        let description: String = a.description.chars().take(room).collect();
                        Line::from(vec![
                            Span::styled(format!("{:<w$} ", a.name), arms.style(&a.name)),
                            Span::raw(acc),
                            Span::styled(format!("  {description}"), theme::muted()),
                        ])
                    })
                    .collect();
                lines.extend(r.status.as_ref().and_then(status_line));
                lines
            }
            Err(e) => vec![Line::styled(e.clone(), theme::bad())],
        },
        None => vec![],
    };
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }).block(block("Selected")), info);
}

/// Each protected arm's accuracy delta against the baseline, in points: "-0.07 -3.88 +0.12".
fn deltas_line(s: &Summary) -> String {
    let deltas: Vec<String> =
        s.protected().map(|a| a.accuracy_delta.map_or("-".into(), |d| format!("{:+.2}", 100.0 * d))).collect();
    if deltas.is_empty() {
        "-".into()
    } else {
        deltas.join(" ")
    }
}

/// One arm's row of the detail table.
fn arm_line(s: &Summary, arms: &Arms, w: usize, r: &ArmRecord) -> Line<'static> {
    let delta = r.accuracy_delta.map(|d| format!("{:+.2}", 100.0 * d)).unwrap_or_default();
    let ratio = if r.is_baseline() { String::new() } else { TrainingTimeRatio::of(s, &r.name).value_text(2) };
    Line::from(vec![
        Span::styled(format!("{:<w$}", super::experiments::fit_left(&r.name, w - 1)), arms.style(&r.name)),
        Span::raw(format!(
            "{:>8} {:>6} {:>7} {:>5} {:>7}/s {:>3} ep {}",
            pct(r.test_accuracy),
            delta,
            duration(r.train_seconds),
            ratio,
            rate(r.samples_per_second),
            r.epochs_completed,
            r.status.name()
        )),
    ])
}

/// What is not finished about a run, in words (None when it is finished).
fn status_line(status: &RunStatus) -> Option<Line<'static>> {
    (!status.is_finished()).then(|| {
        Line::from(vec![Span::styled("status ", theme::muted()), Span::styled(status.detail(), theme::warn())])
    })
}

/// Headline lines of a summary (used by the detail view): the data and model, one row per arm
/// (accuracy, delta against the baseline in points, training time and its ratio to the baseline's),
/// and each protected arm's scheme.
pub fn summary_lines(s: &Summary) -> Vec<Line<'static>> {
    let arms = Arms::from_summary(s);
    let w = arms.name_width(8).min(18) + 1;
    let mut lines = vec![
        Line::from(vec![
            Span::styled("data ", theme::muted()),
            Span::raw(format!("{}  ", crate::data::display_name(&s.dataset.name, s.dataset.train, s.dataset.test))),
            Span::styled("model ", theme::muted()),
            Span::raw(format!("{}  seed {}", s.arch, s.seed)),
        ]),
        Line::styled(
            format!(
                "{:<w$}{:>8} {:>6} {:>7} {:>5} {:>9} {:>6}",
                "arm", "test acc", "Δ pts", "train", "time×", "speed", "epochs"
            ),
            theme::muted(),
        ),
    ];
    lines.extend(s.arms.iter().map(|r| arm_line(s, &arms, w, r)));
    for a in s.protected() {
        let key = match (&a.key_fingerprint, a.fixed_key) {
            (Some(_), true) => " (fixed key)",
            (Some(_), false) => " (fresh key)",
            (None, _) => "",
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", a.name), arms.style(&a.name)),
            Span::raw(format!("{}{key}", a.description)),
        ]));
    }
    let timing = TrainingTimeRatio::of(s, s.protected().next().map_or("", |a| a.name.as_str())).timing();
    lines.push(Line::styled(format!("time×: {} (medians; {timing})", TrainingTimeRatio::NAME), theme::muted()));
    // Records made in memory (not read from summary.json) may lack them.
    let mut filled = s.clone();
    filled.fill_intervals();
    let intervals: Vec<String> = filled
        .arms
        .iter()
        .map(|a| {
            let acc = a.accuracy_interval.map(|i| i.points()).unwrap_or_default();
            match a.delta_interval {
                Some(d) => format!("{} {acc} Δ{}", a.name, d.points()),
                None => format!("{} {acc}", a.name),
            }
        })
        .collect();
    lines.push(Line::styled(format!("95% CI (n = {}): {}", s.dataset.test, intervals.join("  ")), theme::muted()));
    lines
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
    // Not wrapped: the block is as high as the lines, a long one is cut at the border.
    frame.render_widget(Paragraph::new(lines).block(block(title)), summary);
    let [acc, loss] = Layout::horizontal([Constraint::Fill(1); 2]).areas(charts);
    let x_max = d.curves.max_x().ceil();
    let arms = Arms::from_summary(&d.summary);
    chart::draw(frame, acc, "Accuracy (line train, • test)", &d.curves, &arms, Quantity::Accuracy, x_max);
    chart::draw(frame, loss, "Loss", &d.curves, &arms, Quantity::Loss, x_max);
}
