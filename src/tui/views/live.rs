//! The live view: both arms side by side while they train: progress gauges with ETA, accuracy and
//! loss charts overlaid, samples/s, status and the latest log lines.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Paragraph};
use ratatui::Frame;

use crate::train::Arm;
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
    let [header, gauges, charts, bottom] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(2), Constraint::Fill(3), Constraint::Fill(2)])
            .areas(area);
    draw_header(frame, header, live);
    let [g0, g1] = Layout::vertical([Constraint::Length(1); 2]).areas(gauges);
    draw_gauge(frame, g0, Arm::Baseline, live.arm(Arm::Baseline));
    draw_gauge(frame, g1, Arm::Private, live.arm(Arm::Private));
    let [acc, loss] = Layout::horizontal([Constraint::Fill(1); 2]).areas(charts);
    let epochs = live.baseline.epochs.max(live.private.epochs) as f64;
    let x_max = live.curves.max_x().max(epochs);
    chart::draw(frame, acc, "Accuracy (line train, • test)", &live.curves, Quantity::Accuracy, x_max);
    chart::draw(frame, loss, "Loss", &live.curves, Quantity::Loss, x_max);
    let [speed, log] = Layout::horizontal([Constraint::Fill(1); 2]).areas(bottom);
    chart::draw(frame, speed, "Samples/s", &live.curves, Quantity::Speed, x_max);
    draw_log(frame, log, live);
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
        Span::styled(format!(" → {}", live.dir.display()), theme::muted()),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

fn arm_info(a: &ArmLive) -> String {
    let test = a.test_accuracy().map(|v| format!("acc {}", pct(v))).unwrap_or_else(|| "acc -".into());
    let speed = a.samples_per_s().map(|v| format!("{}/s", rate(v))).unwrap_or_default();
    let when = match &a.state {
        ArmState::Training => a.eta_s().map(|s| format!("ETA {}", duration(s))).unwrap_or_else(|| "ETA -".into()),
        other => other.label().to_string(),
    };
    format!(" ep {}/{} {test} {speed:>7} {when}", a.epoch, a.epochs)
}

fn draw_gauge(frame: &mut Frame, area: Rect, arm: Arm, a: &ArmLive) {
    let [name, gauge, info] =
        Layout::horizontal([Constraint::Length(10), Constraint::Fill(1), Constraint::Length(38)]).areas(area);
    frame.render_widget(Paragraph::new(Span::styled(format!(" {}", arm.name()), theme::arm_style(arm))), name);
    let ratio = a.progress();
    let label = format!("{:.0}%", 100.0 * ratio);
    frame.render_widget(
        Gauge::default().gauge_style(theme::arm_style(arm)).ratio(ratio).label(label).use_unicode(true),
        gauge,
    );
    let style = if matches!(a.state, ArmState::Failed(_)) { theme::bad() } else { Style::new() };
    frame.render_widget(Paragraph::new(Span::styled(arm_info(a), style)), info);
}

fn draw_log(frame: &mut Frame, area: Rect, live: &LiveRun) {
    let height = area.height.saturating_sub(2) as usize;
    let lines: Vec<Line> = live
        .log
        .iter()
        .skip(live.log.len().saturating_sub(height))
        .map(|l| {
            let style = if l.contains("FAILED") || l.starts_with("error") {
                theme::bad()
            } else if l.starts_with("[baseline]") {
                theme::arm_style(Arm::Baseline)
            } else if l.starts_with("[private]") {
                theme::arm_style(Arm::Private)
            } else {
                Style::new()
            };
            Line::styled(l.clone(), style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block("Log")), area);
}
