//! The live view: every arm side by side while they train: progress gauges with ETA (one row per
//! arm, two columns when the arms do not fit), accuracy and loss charts overlaid in the arms'
//! colours, samples/s, status and the latest log lines.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Paragraph};
use ratatui::Frame;

use crate::tui::arms::Arms;
use crate::tui::curves::Quantity;
use crate::tui::live::{ArmLive, ArmState, LiveRun, RunStatus};
use crate::tui::theme;

use super::{block, chart, duration, pct, rate};

pub fn draw(frame: &mut Frame, area: Rect, live: Option<&LiveRun>) {
    let Some(live) = live else {
        let text = vec![
            Line::from(""),
            Line::styled(
                " No run yet. In Experiments (1) select a config and press s (or Enter to edit it first).",
                theme::muted(),
            ),
        ];
        super::notice(frame, area, "Live", text);
        return;
    };
    let (columns, rows) = gauge_grid(live.arms.len(), area.height);
    let [header, gauges, charts, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(rows as u16),
        Constraint::Fill(3),
        Constraint::Fill(2),
    ])
    .areas(area);
    draw_header(frame, header, live);
    draw_gauges(frame, gauges, live, columns, rows);
    let [acc, loss] = Layout::horizontal([Constraint::Fill(1); 2]).areas(charts);
    let x_max = live.curves.max_x().max(live.max_epochs() as f64);
    let arms = &live.legend;
    chart::draw(frame, acc, "Accuracy (line train, • test)", &live.curves, arms, Quantity::Accuracy, x_max);
    chart::draw(frame, loss, "Loss", &live.curves, arms, Quantity::Loss, x_max);
    let [speed, log] = Layout::horizontal([Constraint::Fill(1); 2]).areas(bottom);
    chart::draw(frame, speed, "Samples/s", &live.curves, arms, Quantity::Speed, x_max);
    draw_log(frame, log, live);
}

/// (columns, rows) of the gauge grid: one arm a row while they take at most a quarter of the height
/// (and at least two rows), otherwise two columns.
pub fn gauge_grid(arms: usize, height: u16) -> (usize, usize) {
    let fits = (height.saturating_sub(1) as usize / 4).max(2);
    if arms <= fits {
        (1, arms.max(1))
    } else {
        (2, arms.div_ceil(2))
    }
}

fn draw_gauges(frame: &mut Frame, area: Rect, live: &LiveRun, columns: usize, rows: usize) {
    // A space either side of the name.
    let name_w = live.legend.name_width(8).min(if columns == 1 { 18 } else { 11 }) as u16 + 2;
    let cols = Layout::horizontal(vec![Constraint::Fill(1); columns]).split(area);
    for (c, col) in cols.iter().enumerate() {
        let lines = Layout::vertical(vec![Constraint::Length(1); rows]).split(*col);
        for (r, line) in lines.iter().enumerate() {
            if let Some(a) = live.arms.get(c * rows + r) {
                draw_gauge(frame, *line, &live.legend, a, name_w, columns == 1);
            }
        }
    }
}

pub fn status_style(status: RunStatus) -> Style {
    match status {
        RunStatus::Running => theme::good(),
        RunStatus::Paused | RunStatus::Stopping | RunStatus::Stopped => theme::warn(),
        RunStatus::Done => theme::good(),
        RunStatus::Failed => theme::bad(),
    }
}

fn draw_header(frame: &mut Frame, area: Rect, live: &LiveRun) {
    let stage = if live.status.is_active() { format!(" {}", live.stage) } else { String::new() };
    let line = Line::from(vec![
        Span::styled(format!(" {} ", live.name), theme::title()),
        Span::styled(format!("[{}]", live.status.label()), status_style(live.status)),
        Span::raw(stage),
        Span::styled(
            if live.folder_missing {
                " → no run folder written".to_string()
            } else {
                format!(" → {}", live.dir.display())
            },
            theme::muted(),
        ),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

/// The figures beside a gauge; `full` adds the epoch and speed (one arm a row).
fn arm_info(a: &ArmLive, full: bool) -> String {
    let test = a.test_accuracy().map(pct).unwrap_or_else(|| "-".into());
    let when = match &a.state {
        ArmState::Training => a.eta_s().map(|s| format!("ETA {}", duration(s))).unwrap_or_else(|| "ETA -".into()),
        other => other.label().to_string(),
    };
    if full {
        let speed = a.samples_per_s().map(|v| format!("{}/s", rate(v))).unwrap_or_default();
        format!(" ep {}/{} acc {test} {speed:>7} {when}", a.epoch, a.epochs)
    } else {
        format!(" {test:>6} {when}")
    }
}

fn draw_gauge(frame: &mut Frame, area: Rect, arms: &Arms, a: &ArmLive, name_w: u16, full: bool) {
    let info_w = if full { 38 } else { 15 };
    let [name, gauge, info] =
        Layout::horizontal([Constraint::Length(name_w), Constraint::Fill(1), Constraint::Length(info_w)]).areas(area);
    let shown = super::experiments::fit_left(&a.name, name_w as usize - 2);
    frame.render_widget(Paragraph::new(Span::styled(format!(" {shown}"), arms.style(&a.name))), name);
    let ratio = a.progress();
    let label = format!("{:.0}%", 100.0 * ratio);
    frame.render_widget(
        Gauge::default().gauge_style(arms.style(&a.name)).ratio(ratio).label(label).use_unicode(true),
        gauge,
    );
    let style = if matches!(a.state, ArmState::Failed(_)) { theme::bad() } else { Style::new() };
    frame.render_widget(Paragraph::new(Span::styled(arm_info(a, full), style)), info);
}

fn draw_log(frame: &mut Frame, area: Rect, live: &LiveRun) {
    let width = area.width.saturating_sub(2) as usize;
    let height = area.height.saturating_sub(2) as usize;
    // Every line wrapped to the pane (an error's fix is at its end), the newest at the bottom unless
    // scrolled back.
    let end = live.log.len().saturating_sub(live.log_back);
    let mut rows: Vec<Line> = Vec::new();
    for l in live.log.iter().take(end) {
        // Lines about one arm start with "[NAME]": in that arm's colour.
        let arm = l.strip_prefix('[').and_then(|r| r.split_once(']')).map(|(name, _)| name);
        let style = if l.contains("FAILED") || l.starts_with("error") {
            theme::bad()
        } else if let Some(name) = arm.filter(|n| live.legend.get(n).is_some()) {
            live.legend.style(name)
        } else {
            Style::new()
        };
        rows.extend(wrap_chars(l, width).into_iter().map(|part| Line::styled(part, style)));
    }
    let shown: Vec<Line> = rows.split_off(rows.len().saturating_sub(height));
    let title = if live.log_back > 0 {
        format!("Log · {} newer lines below (End: follow)", live.log_back)
    } else {
        "Log".to_string()
    };
    frame.render_widget(Paragraph::new(shown).block(block(title)), area);
}

/// `text` cut into pieces of at most `width` characters (at a space where there is one), so that a
/// long line is read whole.
pub fn wrap_chars(text: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if width == 0 || chars.len() <= width {
        return vec![text.to_string()];
    }
    let mut out = Vec::new();
    let mut start = 0;
    while chars.len() - start > width {
        let window = &chars[start..start + width];
        // Break after the last space in the window unless that leaves most of it empty.
        let cut = match window.iter().rposition(|c| *c == ' ') {
            Some(i) if i >= width / 2 => i + 1,
            _ => width,
        };
        out.push(chars[start..start + cut].iter().collect());
        start += cut;
    }
    out.push(chars[start..].iter().collect());
    out
}
