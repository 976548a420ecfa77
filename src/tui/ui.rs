//! Draw dispatch: the tab bar, the current view, the footer and any overlay.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Tabs};
use ratatui::Frame;

use super::app::{App, Overlay, RunsMode, View};
use super::theme;
use super::views::{self, key_hints};

pub fn draw(frame: &mut Frame, app: &App) {
    let [top, body, footer] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0), Constraint::Length(1)]).areas(frame.area());
    draw_tabs(frame, top, app);
    match app.view {
        View::Experiments => views::experiments::draw(frame, body, app),
        View::Live => views::live::draw(frame, body, app.live.as_ref()),
        View::Attacks => {
            let arm = app.attack_arm();
            let shown = views::attacks::Shown {
                attacks: &app.attacks,
                arm: arm.as_deref(),
                arms: &app.analysis_arms,
                selected: app.attack_selected,
                source: app.analysis_source.as_deref(),
            };
            views::attacks::draw(frame, body, &shown)
        }
        View::Overhead => {
            let arm = app.overhead_arm();
            let source = app.analysis_source.as_deref();
            views::overhead::draw(frame, body, &app.overhead, arm.as_deref(), &app.analysis_arms, source)
        }
        View::Runs => views::runs::draw(frame, body, app),
        View::Queue => views::queue::draw(frame, body, app),
    }
    draw_footer(frame, footer, app);
    match &app.overlay {
        Some(Overlay::Help { scroll }) => views::help::draw(frame, frame.area(), *scroll),
        Some(Overlay::Quit) => views::dialog::draw_quit(frame, frame.area(), app.queue.pending()),
        Some(Overlay::SaveAs { input, error }) => views::dialog::draw_save_as(
            frame,
            frame.area(),
            &app.configs_dir.display().to_string(),
            input,
            error.as_deref(),
        ),
        Some(Overlay::RunNotes { dir, tags, input, error }) => {
            let run = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            views::dialog::draw_run_notes(frame, frame.area(), &run, *tags, input, error.as_deref())
        }
        None => {}
    }
}

fn draw_tabs(frame: &mut Frame, area: Rect, app: &App) {
    let titles: Vec<String> = View::ALL.iter().enumerate().map(|(i, v)| format!("{} {}", i + 1, v.title())).collect();
    // Each tab is padded by a space on either side; a divider between tabs.
    let tabs_w = titles.iter().map(|t| t.chars().count() + 3).sum::<usize>() as u16;
    let badge = app.live.as_ref().map(|l| {
        let status = Span::styled(l.status.label(), views::live::status_style(l.status));
        let progress = Span::styled(format!(" {} ", l.progress_label()), theme::muted());
        let queued = Span::styled(format!("+{} queued ", app.queue.pending()), theme::muted());
        let run = Span::styled("run ", theme::muted());
        let mut candidates = vec![];
        if app.queue.pending() > 0 {
            candidates.push(Line::from(vec![run.clone(), status.clone(), progress.clone(), queued]));
        }
        candidates.push(Line::from(vec![run, status.clone(), progress.clone()]));
        // Narrow terminals: every tab first, the badge without its "run " label.
        let compact = Line::from(vec![status, progress]);
        let room = area.width.saturating_sub(tabs_w) as usize;
        candidates.into_iter().find(|c| c.width() <= room).unwrap_or(compact)
    });
    let badge_w = badge.as_ref().map(|b| b.width() as u16).unwrap_or(0);
    let [tabs_area, badge_area] = Layout::horizontal([Constraint::Min(0), Constraint::Length(badge_w)]).areas(area);
    let tabs = Tabs::new(titles)
        .select(app.view.index())
        .highlight_style(theme::selected().add_modifier(Modifier::BOLD))
        .divider("│")
        .padding(" ", " ");
    frame.render_widget(tabs, tabs_area);
    if let Some(b) = badge {
        frame.render_widget(Paragraph::new(b), badge_area);
    }
}

fn hints(app: &App) -> Vec<(&'static str, &'static str)> {
    let mut h: Vec<(&str, &str)> = match app.view {
        View::Experiments if app.form.is_some() => {
            vec![("↑↓", "move"), ("←→", "change"), ("s", "start"), ("w", "save as"), ("Esc", "back")]
        }
        View::Experiments => vec![("↑↓", "select"), ("Enter", "edit"), ("s", "start/queue"), ("r", "rescan")],
        View::Live if app.run_active() => vec![("p", "pause/resume"), ("x", "stop"), ("↑↓", "log"), ("End", "follow")],
        View::Live if app.live.is_some() => vec![("↑↓ PgUp PgDn", "scroll log"), ("End", "follow")],
        View::Live => vec![("1", "experiments")],
        View::Attacks if app.attacks.arms().len() > 1 => vec![("↑↓", "select"), ("←→", "arm")],
        View::Attacks => vec![("↑↓", "select")],
        View::Overhead if app.overhead.arms.len() > 1 => vec![("←→", "arm")],
        View::Overhead => vec![],
        View::Runs => match app.runs_mode {
            RunsMode::List if app.runs_table.editing_filter => {
                vec![("type", "filter"), ("Enter", "keep"), ("Esc", "clear")]
            }
            // The rest (n t note and tags, f figures, S reverse, r rescan) is in the help: 80 columns
            // hold no more.
            RunsMode::List => {
                vec![("Enter", "open"), ("/", "filter"), ("s", "sort"), ("m", "mark"), ("c", "compare"), ("e", "csv")]
            }
            RunsMode::Detail(_) => vec![("f", "export figures"), ("Esc", "back")],
            RunsMode::Compare(_) => {
                vec![("y", "curve"), ("g", "colour by"), ("←→", "runs"), ("↑↓", "scroll"), ("Esc", "back")]
            }
            RunsMode::Tradeoff(_) => {
                vec![("a", "attack"), ("g", "group by"), ("e", "PNG+SVG"), ("↑↓", "scroll"), ("Esc", "back")]
            }
        },
        View::Queue if app.queue_on_sweeps() => vec![("↑↓", "select"), ("Enter", "queue sweep"), ("→", "queue")],
        View::Queue => vec![("↑↓", "select"), ("d", "remove"), ("[ ]", "move"), ("←", "sweep files")],
    };
    let runs_list = app.view == View::Runs && matches!(app.runs_mode, RunsMode::List);
    if (app.form.is_none() || app.view != View::Experiments) && !runs_list {
        h.push(("Tab", "view"));
    }
    h.extend([("?", "help"), ("q", "quit")]);
    h
}

fn draw_footer(frame: &mut Frame, area: Rect, app: &App) {
    let line = match &app.message {
        Some(m) => Line::styled(format!(" {}", m.text), if m.error { theme::bad() } else { theme::good() }),
        None => {
            let mut l = key_hints(&hints(app));
            l.spans.insert(0, Span::raw(" "));
            l
        }
    };
    frame.render_widget(Paragraph::new(line), area);
}
