//! The runs view: previous run folders with their headline figures; one opened shows its curves and
//! summary.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use crate::overhead::TrainingTimeRatio;
use crate::results::status::{RunStatus, Training};
use crate::results::{ArmRecord, Summary};
use crate::tui::actions::{RunDetail, RunEntry};
use crate::tui::app::{App, RunsMode};
use crate::tui::arms::Arms;
use crate::tui::curves::Quantity;
use crate::tui::runs_table::{Column, TableRow};
use crate::tui::theme;

use super::{block, chart, delta_points, duration, pct, rate};

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    match &app.runs_mode {
        RunsMode::List => draw_list(frame, area, app),
        RunsMode::Detail(d) => draw_detail(frame, area, d),
        RunsMode::Compare(c) => super::compare::draw(frame, area, c),
        RunsMode::Tradeoff(t) => super::tradeoff::draw(frame, area, t),
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

/// The run name's least width: enough for "quickstart…0102-090000".
const NAME_MIN: usize = 22;

/// The widths of the columns shown in `width` columns: each as wide as its widest cell (capped), the
/// name taking what is left; columns are added by [`Column::PRIORITY`] while the name keeps [`NAME_MIN`].
/// Also whether the accuracy column is compact (no arm names: they did not fit).
fn column_widths(app: &App, rows: &[TableRow], width: usize) -> (Vec<(Column, usize)>, bool) {
    let cap = |c: Column| match c {
        Column::Name => 48,
        Column::Arms | Column::Attack | Column::Tags => 40,
        Column::Accuracy => 70,
        _ => 17,
    };
    let widest = |c: Column, compact: bool| {
        let cells = rows.iter().filter_map(|r| match r {
            TableRow::Run { index, .. } => Some(cell_text(&app.runs[*index], c, compact).chars().count()),
            TableRow::Group { .. } => None,
        });
        // A sweep's row puts "12/15 finished" in the status column.
        let group = if c == Column::Status { 14 } else { 0 };
        cells.max().unwrap_or(0).max(group).max(c.title().chars().count().min(12)).min(cap(c))
    };
    // Borders, the mark column and the highlight symbol.
    let room = width.saturating_sub(2 + 2 + 2);
    let mut chosen: Vec<(Column, usize)> = vec![];
    let mut used = NAME_MIN;
    // The arm names in the accuracy cells only when every column fits with them.
    let all: usize = Column::PRIORITY.into_iter().skip(1).map(|c| widest(c, false) + 1).sum();
    let compact = used + all > room;
    for c in Column::PRIORITY.into_iter().skip(1) {
        let w = widest(c, compact);
        if used + w < room {
            used += w + 1;
            chosen.push((c, w));
        }
    }
    chosen.push((Column::Name, room.saturating_sub(used) + NAME_MIN));
    // Display order; the name absorbs the slack.
    chosen.sort_by_key(|(c, _)| Column::ALL.iter().position(|x| x == c));
    (chosen, compact)
}

/// A cell's text; the compact accuracy leaves the arm names out (the header says so).
fn cell_text(run: &RunEntry, c: Column, compact: bool) -> String {
    match (&run.summary, c) {
        (Ok(s), Column::Accuracy) if compact => crate::tui::runs_table::accuracy_text(s, false),
        _ => c.cell(run),
    }
}

fn draw_list(frame: &mut Frame, area: Rect, app: &App) {
    let dirs: Vec<String> = app.results_dirs().iter().map(|d| d.display().to_string()).collect();
    let marked = match app.run_marked.len() {
        0 => String::new(),
        n => format!(" · {n} marked"),
    };
    let title = format!("Runs in {} · {}{marked}", dirs.join(", "), app.runs_table.describe());
    let rows = app.runs_rows();
    if app.runs.is_empty() || rows.is_empty() {
        let text = if app.runs.is_empty() {
            " No run folders yet: finished runs appear here."
        } else {
            " No run matches the filter (/ to change it, Esc while typing clears it)."
        };
        super::notice(frame, area, &title, vec![Line::from(""), Line::styled(text, theme::muted())]);
        return;
    }
    let (columns, compact) = column_widths(app, &rows, area.width as usize);
    let hidden = Column::ALL.len() - columns.len();
    let title =
        if hidden > 0 { format!("{title} · {hidden} more columns when wider (e: all in the CSV)") } else { title };
    let header = Row::new(
        std::iter::once(Cell::from(" "))
            .chain(columns.iter().map(|(c, _)| match c {
                Column::Accuracy if compact => Cell::from("test acc % [95% CI], arms in order"),
                _ => Cell::from(c.title()),
            }))
            .collect::<Vec<_>>(),
    )
    .style(theme::title());
    let table_rows = rows.iter().map(|row| match row {
        TableRow::Group { name, shown, total, expanded } => {
            let arrow = if *expanded { "▾" } else { "▸" };
            let runs = if *total == 1 { "run" } else { "runs" };
            let count = if shown == total { format!("{total} {runs}") } else { format!("{shown} of {total} match") };
            let mut cells = vec![Cell::from(" ")];
            for (c, w) in &columns {
                cells.push(match c {
                    Column::Name => Cell::from(Span::styled(
                        super::experiments::fit_middle(&format!("{arrow} {name} ({count})"), *w),
                        theme::title(),
                    )),
                    Column::Status => Cell::from(group_status(app, name)),
                    _ => Cell::from(""),
                });
            }
            Row::new(cells)
        }
        TableRow::Run { index, grouped } => {
            let r = &app.runs[*index];
            // The mark's number is the run's column in the comparison.
            let mark = match app.run_marked.iter().position(|m| *m == r.dir) {
                Some(i) if i < 9 => (i + 1).to_string(),
                Some(_) => "*".into(),
                None => " ".into(),
            };
            let mut cells = vec![Cell::from(Span::styled(mark, theme::key()))];
            for (c, w) in &columns {
                let text = cell_text(r, *c, compact);
                cells.push(match c {
                    Column::Name => {
                        let indent = if *grouped { "  " } else { "" };
                        Cell::from(format!(
                            "{indent}{}",
                            super::experiments::fit_middle(&text, w.saturating_sub(indent.len()))
                        ))
                    }
                    Column::Status => match (&r.status, &r.summary) {
                        (Some(st), _) => status_cell(st),
                        (None, _) => Cell::from(Span::styled(text, theme::bad())),
                    },
                    _ => Cell::from(super::experiments::fit_middle(&text, *w)),
                });
            }
            Row::new(cells)
        }
    });
    let widths: Vec<Constraint> = std::iter::once(Constraint::Length(1))
        .chain(
            columns
                .iter()
                .map(|(c, w)| if *c == Column::Name { Constraint::Fill(1) } else { Constraint::Length(*w as u16) }),
        )
        .collect();
    let selected = app.selected_run();
    // Two more lines when the selected run is not finished (its status, wrapped), one for a note.
    let unfinished = selected.and_then(|r| r.status.as_ref()).is_some_and(|s| !s.is_finished());
    let noted = selected.is_some_and(|r| !matches!(&r.notes, Ok(n) if n.note.is_empty() && n.tags.is_empty()));
    let arm_lines = selected.and_then(|r| r.summary.as_ref().ok()).map_or(1, |s| s.arms.len().max(1));
    let info_height = (arm_lines as u16 + 2 + if unfinished { 2 } else { 0 } + u16::from(noted)).min(area.height / 2);
    let [table_area, info] = Layout::vertical([Constraint::Min(4), Constraint::Length(info_height)]).areas(area);
    let table = Table::new(table_rows, widths)
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
                lines.extend(notes_line(r));
                lines.extend(r.status.as_ref().and_then(status_line));
                lines
            }
            Err(e) => vec![Line::styled(e.clone(), theme::bad())],
        },
        None => match rows.get(app.run_selected) {
            Some(TableRow::Group { name, expanded, .. }) => vec![Line::styled(
                format!("sweep {name}: Enter {} its runs", if *expanded { "hides" } else { "shows" }),
                theme::muted(),
            )],
            _ => vec![],
        },
    };
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }).block(block("Selected")), info);
}

/// How many of a sweep's runs are finished: "12/15 finished".
fn group_status(app: &App, group: &str) -> Span<'static> {
    let runs: Vec<&RunEntry> = app.runs.iter().filter(|r| r.group.as_deref() == Some(group)).collect();
    let finished = runs.iter().filter(|r| r.status.as_ref().is_some_and(|s| s.is_finished())).count();
    let style = if finished == runs.len() { theme::good() } else { theme::warn() };
    Span::styled(format!("{finished}/{} finished", runs.len()), style)
}

/// The run's note and tags, or why its notes.json does not read (None when it has neither).
fn notes_line(r: &RunEntry) -> Option<Line<'static>> {
    match &r.notes {
        Ok(n) if n.note.is_empty() && n.tags.is_empty() => None,
        Ok(n) => {
            let tags = if n.tags.is_empty() { String::new() } else { format!("[{}] ", n.tags.join(", ")) };
            Some(Line::from(vec![Span::styled("note ", theme::muted()), Span::raw(format!("{tags}{}", n.note))]))
        }
        Err(e) => Some(Line::styled(e.clone(), theme::bad())),
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
            Span::raw(format!("{}  seed {}", s.archs_label(), s.seed)),
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
