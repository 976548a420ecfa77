//! The experiments view: every config in the configs folder with its key settings, and the selected
//! one's details.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use crate::config::{AttacksConfig, Config, OptimizerKind, PrivacyConfig, Schedule, SchemeConfig};
use crate::scheme::transforms::TransformLabel;
use crate::tui::app::App;
use crate::tui::arms::Arms;
use crate::tui::theme;

use super::block;

/// The dataset's name as every output of a run will give it: `data.name`, a format dataset's folder or
/// file name, or the preset's config spelling ("fashion-mnist").
pub fn dataset_name(config: &Config) -> String {
    crate::data::load::dataset_name(config.data.dataset, config.data.name.as_deref(), config.data.dir.as_deref())
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    if let Some(form) = &app.form {
        super::form::draw(frame, area, form);
        return;
    }
    let list_h = (app.configs.len() as u16 + 3).max(5).min(area.height.saturating_sub(8));
    let [list, details] = Layout::vertical([Constraint::Length(list_h), Constraint::Min(8)]).areas(area);
    draw_list(frame, list, app);
    draw_details(frame, details, app);
}

fn draw_list(frame: &mut Frame, area: Rect, app: &App) {
    let title = format!("Configs in {}", app.configs_dir.display());
    if app.configs.is_empty() {
        let text = vec![
            Line::from(""),
            Line::styled(format!(" No *.toml configs in {}.", app.configs_dir.display()), theme::muted()),
            Line::styled(
                " Start the workbench with `ppdl tui --configs DIR`, or add a config and press r.",
                theme::muted(),
            ),
        ];
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }).block(block(title)), area);
        return;
    }
    let header = Row::new(["config", "dataset", "arch", "ep", "attacks", "protection"]).style(theme::title());
    let longest = app.configs.iter().map(|e| display_name(&e.rel).chars().count()).max().unwrap_or(6);
    let name_w = longest.clamp(12, (area.width as usize / 3).max(12));
    // What the protection column has left: borders, the highlight symbol and five column gaps.
    let protection_w = (area.width as usize).saturating_sub(2 + 2 + name_w + 13 + 12 + 3 + 7 + 5);
    let rows = app.configs.iter().map(|e| match &e.config {
        Ok(c) => Row::new([
            Cell::from(fit_left(&display_name(&e.rel), name_w)),
            Cell::from(dataset_name(c)),
            Cell::from(c.archs_label()),
            Cell::from(c.train.epochs.to_string()),
            Cell::from(attacks_short(&c.attacks)),
            Cell::from(protection_fitted(c, protection_w)),
        ]),
        Err(_) => Row::new([
            Cell::from(fit_left(&display_name(&e.rel), name_w)),
            Cell::from(Span::styled("invalid", theme::bad())),
        ]),
    });
    let widths = [
        Constraint::Length(name_w as u16),
        Constraint::Length(13),
        Constraint::Length(12),
        Constraint::Length(3),
        Constraint::Length(7),
        Constraint::Fill(1),
    ];
    let table = Table::new(rows, widths)
        .header(header)
        .block(block(title))
        .row_highlight_style(theme::selected())
        .highlight_symbol("> ");
    let mut state = TableState::default().with_selected(Some(app.config_selected));
    frame.render_stateful_widget(table, area, &mut state);
}

/// A config's name in the list: its path under the configs folder, without `.toml`.
fn display_name(rel: &str) -> String {
    rel.strip_suffix(".toml").unwrap_or(rel).to_string()
}

/// `text` in `width` columns, cut on the left ("…cnn-block4") so the distinctive end stays.
pub fn fit_left(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width || width == 0 {
        return text.to_string();
    }
    let tail: String = text.chars().skip(n - (width - 1)).collect();
    format!("…{tail}")
}

/// A config's protection in a table cell: the keyed settings of a two-arm config ("pixel-perm,
/// labels perm, m=3"), or the arm count and each protected arm's transforms for `[[arms]]`
/// ("4 arms: pixel-perm · block(4,flip) · fast-mix").
pub fn protection_short(c: &Config) -> String {
    match &c.arms {
        None => privacy_short(&c.privacy.clone().unwrap_or_default()),
        Some(arms) => {
            let keyed: Vec<String> = arms
                .iter()
                .map(|a| match &a.scheme {
                    SchemeConfig::Keyed(p) => transforms_short(p),
                    SchemeConfig::Split(s) => s.short_label(),
                    SchemeConfig::InstaHide(h) => h.short_label(),
                    SchemeConfig::None => String::new(),
                })
                .filter(|t| !t.is_empty())
                .collect();
            format!("{} arms: {}", arms.len(), keyed.join(" · "))
        }
    }
}

/// [`protection_short`] in `width` columns: whole where it fits, else the transforms alone (the label
/// settings are in the details), cut in the middle so that both ends, where two configs usually
/// differ (`block(7,flip)+noise(0.05)` against `+noise(0.2)`), stay readable.
pub fn protection_fitted(c: &Config, width: usize) -> String {
    let full = protection_short(c);
    if full.chars().count() <= width {
        return full;
    }
    let transforms = match &c.arms {
        None => transforms_short(&c.privacy.clone().unwrap_or_default()),
        Some(_) => full,
    };
    fit_middle(&transforms, width)
}

/// `text` in `width` columns, cut in the middle ("block(7,…noise(0.2)") so that both ends stay.
pub fn fit_middle(text: &str, width: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= width || width < 3 {
        return chars.into_iter().take(width.max(1)).collect();
    }
    let head = (width - 1) / 2;
    let tail = width - 1 - head;
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// The transforms in a table cell: "block(4,flip)+noise(0.1)", or "no transform".
pub fn transforms_short(p: &PrivacyConfig) -> String {
    let parts: Vec<String> = p.transforms.iter().map(|t| t.short_label()).collect();
    if parts.is_empty() {
        "no transform".into()
    } else {
        parts.join("+")
    }
}

/// The privacy settings in a table cell: "pixel-perm, labels perm, m=3".
pub fn privacy_short(p: &PrivacyConfig) -> String {
    let mut s = transforms_short(p);
    s.push_str(if p.label_permutation { ", labels perm" } else { ", labels plain" });
    if p.codes_per_class > 1 {
        s.push_str(&format!(", m={}", p.codes_per_class));
    }
    s
}

/// How many attacks a config runs after training, in a table cell: "all 7", "3 of 7" or "none".
pub fn attacks_short(a: &AttacksConfig) -> String {
    crate::attacks::registry::count(a)
}

fn field(name: &str, value: String) -> Vec<Span<'static>> {
    vec![Span::styled(format!("{name} "), theme::muted()), Span::raw(value), Span::raw("   ")]
}

/// The settings of one config, a few lines long.
pub fn summary_lines(c: &Config) -> Vec<Line<'static>> {
    let limit = |l: Option<usize>| l.map(|n| n.to_string()).unwrap_or_else(|| "all".into());
    let optimizer = match c.train.optimizer {
        OptimizerKind::Adam => "adam",
        OptimizerKind::Sgd => "sgd",
    };
    let schedule = match c.train.schedule {
        Schedule::Parallel => "parallel",
        Schedule::Sequential => "sequential",
    };
    vec![
        Line::from(
            [field("name", c.name.clone()), field("seed", c.seed.to_string()), field("model", c.archs_label())]
                .concat(),
        ),
        Line::from(
            [
                field("data", dataset_name(c)),
                field("train", limit(c.data.train_limit)),
                field("test", limit(c.data.test_limit)),
            ]
            .concat(),
        ),
        Line::from(
            [
                field("epochs", c.train.epochs.to_string()),
                field("batch", c.train.batch_size.to_string()),
                field(optimizer, format!("lr {}", c.train.learning_rate)),
                field("schedule", schedule.into()),
            ]
            .concat(),
        ),
    ]
    .into_iter()
    .chain(arm_lines(c))
    .chain([
        Line::from(field("attacks", crate::attacks::registry::describe(&c.attacks))),
        Line::from(field("output", c.output.dir.display().to_string())),
    ])
    .collect()
}

/// One line per arm, its name in its colour and its scheme in words.
fn arm_lines(c: &Config) -> Vec<Line<'static>> {
    let configs = c.arms();
    let arms = Arms::from_config(&configs);
    let w = arms.name_width(8);
    arms.list
        .iter()
        .map(|a| {
            Line::from(vec![
                Span::styled("arm ", theme::muted()),
                Span::styled(format!("{:<w$} ", a.name), arms.style(&a.name)),
                Span::raw(a.description.clone()),
            ])
        })
        .collect()
}

fn draw_details(frame: &mut Frame, area: Rect, app: &App) {
    let Some(entry) = app.selected_config() else {
        frame.render_widget(block("Details"), area);
        return;
    };
    let lines = match &entry.config {
        Ok(c) => {
            let mut l = summary_lines(c);
            l.push(Line::from(vec![
                Span::styled("valid", theme::good()),
                Span::styled("  (Enter: edit the protection settings, s: start)", theme::muted()),
            ]));
            l
        }
        Err(e) => vec![Line::styled(e.clone(), theme::bad())],
    };
    let widget = Paragraph::new(lines).wrap(Wrap { trim: false }).block(block(format!("Details: {}", entry.rel)));
    frame.render_widget(widget, area);
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::dataset_name;

    fn config(data: &str) -> crate::config::Config {
        crate::validate::parse_config(&format!("name = \"t\"\n[data]\n{data}\n"), Path::new("t.toml")).unwrap()
    }

    #[test]
    fn the_list_names_a_dataset_as_its_runs_will() {
        assert_eq!(dataset_name(&config("dataset = \"npz\"\ndir = \"scans.npz\"\nname = \"my-scans\"")), "my-scans");
        assert_eq!(dataset_name(&config("dataset = \"image-folder\"\ndir = \"photos/pets\"")), "pets");
        assert_eq!(dataset_name(&config("dataset = \"mnist\"\nname = \"digits-2\"")), "digits-2");
        assert_eq!(dataset_name(&config("dataset = \"fashion-mnist\"")), "fashion-mnist");
    }
}
