//! The queue view: the sweep files to queue (left), the queued, running and ended runs with their
//! status (right), the selected run's full status, and a progress grid of a queued sweep.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell as TableCell, List, ListItem, ListState, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use crate::tui::app::App;
use crate::tui::queue::{status_text, Cell, EntryState, QueuedSweep};
use crate::tui::theme;

use super::{block, experiments::fit_left};

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let left_w = (area.width / 3).clamp(20, 34);
    let [left, right] = Layout::horizontal([Constraint::Length(left_w), Constraint::Min(0)]).areas(area);
    draw_sweep_files(frame, left, app);
    let grid = app.shown_sweep().and_then(|i| Some((i, app.queue.sweeps.get(i)?)));
    // The grid: a row per cell, the legend (two lines when narrow), borders.
    let legend_lines = if right.width < 70 { 2 } else { 1 };
    let grid_h = grid.map_or(0, |(_, s)| (s.rows.len() as u16 + legend_lines + 2).min(area.height / 2));
    let [entries, detail, grid_area] =
        Layout::vertical([Constraint::Min(4), Constraint::Length(5), Constraint::Length(grid_h)]).areas(right);
    draw_entries(frame, entries, app);
    draw_detail(frame, detail, app);
    if let Some((i, sweep)) = grid {
        draw_grid(frame, grid_area, sweep, &app.queue.cells(i));
    }
}

fn focus_title(title: &str, focused: bool) -> String {
    if focused {
        format!("▶ {title}")
    } else {
        title.to_string()
    }
}

fn draw_sweep_files(frame: &mut Frame, area: Rect, app: &App) {
    let pane = &app.queue_pane;
    let focused = app.queue_on_sweeps();
    let b = block(focus_title("Sweep files", focused));
    if pane.sweep_files.is_empty() {
        let text = format!("No sweep files in {}.", app.configs_dir.join("sweeps").display());
        frame.render_widget(
            Paragraph::new(Line::styled(text, theme::muted())).wrap(Wrap { trim: false }).block(b),
            area,
        );
        return;
    }
    let inner_w = area.width.saturating_sub(4) as usize;
    let items: Vec<ListItem> =
        pane.sweep_files.iter().map(|f| ListItem::new(fit_left(f.trim_start_matches("sweeps/"), inner_w))).collect();
    let list = List::new(items).block(b).highlight_symbol("▶ ").highlight_style(if focused {
        theme::selected()
    } else {
        Style::new()
    });
    let mut state = ListState::default().with_selected(Some(pane.sweep_selected));
    frame.render_stateful_widget(list, area, &mut state);
}

fn state_style(state: &EntryState) -> Style {
    match state {
        EntryState::Pending => theme::muted(),
        EntryState::Running => theme::warn(),
        EntryState::Finished(_) => theme::good(),
        EntryState::Failed(_) => theme::bad(),
        EntryState::Stopped => theme::warn(),
    }
}

fn draw_entries(frame: &mut Frame, area: Rect, app: &App) {
    let q = &app.queue;
    let running = usize::from(q.active().is_some());
    let ended = q.entries.len() - q.pending() - running;
    let mut title = format!("Queue: {running} running, {} pending, {ended} ended", q.pending());
    if area.width >= 70 {
        title.push_str(" · one run at a time");
    }
    let focused = !app.queue_on_sweeps();
    let b = block(focus_title(&title, focused));
    if q.entries.is_empty() {
        let text = vec![
            Line::from(""),
            Line::styled(
                "Nothing queued. Press s on a config in Experiments (1): it starts at once, or waits here while \
                 another run is active. Enter on a sweep file (left) queues every run of it not finished yet.",
                theme::muted(),
            ),
        ];
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }).block(b), area);
        return;
    }
    let wide = area.width >= 90;
    // Inside the borders and the highlight symbol: "#", the name, the sweep, the status, 1-wide gaps.
    let inner = area.width.saturating_sub(4) as usize;
    let name_w = q.entries.iter().map(|e| e.name().chars().count()).max().unwrap_or(4).clamp(8, inner * 2 / 5);
    let sweep_w = if wide { 16 } else { 0 };
    let status_w = inner.saturating_sub(2 + 1 + name_w + 1 + if wide { sweep_w + 1 } else { 0 });
    let rows = q.entries.iter().enumerate().map(|(i, e)| {
        let status = status_text(e, app.live.as_ref());
        let mut cells = vec![TableCell::from(format!("{:>2}", i + 1)), TableCell::from(fit_left(e.name(), name_w))];
        if wide {
            let sweep = e.sweep.and_then(|s| q.sweeps.get(s)).map_or("-".to_string(), |s| s.name.clone());
            cells.push(TableCell::from(fit_left(&sweep, sweep_w)));
        }
        cells.push(TableCell::from(Span::styled(fit_right(&status, status_w), state_style(&e.state))));
        Row::new(cells)
    });
    let mut widths = vec![Constraint::Length(2), Constraint::Length(name_w as u16)];
    let mut header = vec!["#", "run"];
    if wide {
        widths.push(Constraint::Length(sweep_w as u16));
        header.push("sweep");
    }
    widths.push(Constraint::Min(6));
    header.push("status");
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme::title()))
        .block(b)
        .highlight_symbol("▶ ")
        .row_highlight_style(if focused { theme::selected() } else { Style::new() });
    let mut state = TableState::default().with_selected(Some(app.queue_pane.selected));
    frame.render_stateful_widget(table, area, &mut state);
}

/// `text` cut to `w` characters at its end ("…" marks the cut).
fn fit_right(text: &str, w: usize) -> String {
    if text.chars().count() <= w {
        return text.to_string();
    }
    let kept: String = text.chars().take(w.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// The selected entry in full: its folder and status (a failure's whole reason, wrapped).
fn draw_detail(frame: &mut Frame, area: Rect, app: &App) {
    let Some(e) = app.queue.entries.get(app.queue_pane.selected) else {
        let keys = super::key_hints(&[("←→", "sweep files / queue"), ("Enter", "queue a sweep")]);
        frame.render_widget(Paragraph::new(vec![Line::from(""), keys]).block(block("Selected")), area);
        return;
    };
    let folder = match &e.dir {
        Some(d) => d.display().to_string(),
        None => format!("{}/{}-TIMESTAMP (when it starts)", e.config.output.dir.display(), e.name()),
    };
    let folder_w = area.width.saturating_sub(2 + 7) as usize;
    let lines = vec![
        Line::from(vec![Span::styled("folder ", theme::muted()), Span::raw(fit_left(&folder, folder_w))]),
        Line::styled(status_text(e, app.live.as_ref()), state_style(&e.state)),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block(e.name())), area);
}

/// (glyph, what) for each cell state: the glyphs tell the states apart without colour too.
pub const LEGEND: [(Cell, &str, &str); 6] = [
    (Cell::FinishedBefore, "▓", "finished before"),
    (Cell::Finished, "█", "finished"),
    (Cell::Running, "▶", "running"),
    (Cell::Pending, "·", "pending"),
    (Cell::Failed, "✗", "failed"),
    (Cell::Stopped, "■", "stopped"),
];

fn cell_span(cell: Cell) -> Span<'static> {
    let glyph = LEGEND.iter().find(|(c, ..)| *c == cell).map_or("?", |(_, g, _)| *g);
    let style = match cell {
        Cell::FinishedBefore | Cell::Finished => theme::good(),
        Cell::Running | Cell::Stopped => theme::warn(),
        Cell::Pending => theme::muted(),
        Cell::Failed => theme::bad(),
    };
    Span::styled(glyph, style)
}

/// One row per cell of the sweep (its axis values), one mark per run (repeat), coloured by state.
fn draw_grid(frame: &mut Frame, area: Rect, sweep: &QueuedSweep, cells: &[Cell]) {
    if area.height < 3 {
        return;
    }
    let count = |c: Cell| cells.iter().filter(|x| **x == c).count();
    let done = count(Cell::Finished) + count(Cell::FinishedBefore);
    let mut title = format!("Sweep {}: {done} of {} runs finished", sweep.name, cells.len());
    let root = format!(" → {}", sweep.root.display());
    if title.chars().count() + root.chars().count() + 4 <= area.width as usize {
        title.push_str(&root);
    }
    let label_w = sweep.rows.iter().map(|(l, _)| l.chars().count()).max().unwrap_or(4).min(area.width as usize / 2);
    let mut lines: Vec<Line> = sweep
        .rows
        .iter()
        .map(|(label, members)| {
            let mut spans = vec![Span::styled(format!("{:<label_w$} ", fit_left(label, label_w)), theme::muted())];
            for &i in members {
                spans.push(cell_span(cells.get(i).copied().unwrap_or(Cell::Pending)));
                spans.push(Span::raw(" "));
            }
            Line::from(spans)
        })
        .collect();
    let mut legend = Vec::new();
    for (cell, _, what) in LEGEND.iter().filter(|(c, ..)| count(*c) > 0) {
        legend.push(cell_span(*cell));
        legend.push(Span::styled(format!(" {what} {}  ", count(*cell)), theme::muted()));
    }
    lines.push(Line::from(legend));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block(title)), area);
}
