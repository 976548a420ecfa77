//! The protection-settings form: for an `[[arms]]` config the arms in their colours and which one is
//! edited, one row per setting, the transform list in order, and the live validation verdict
//! underneath.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState, Paragraph, Wrap};
use ratatui::Frame;

use crate::scheme::transforms::{DescribePrivacy, ParamType};
use crate::tui::arms::Arms;
use crate::tui::form::{Field, Form};
use crate::tui::theme;

use super::block;

fn label(form: &Form, field: Field) -> String {
    match field {
        Field::Epochs => "epochs".into(),
        Field::Arm => "arm".into(),
        Field::LabelPermutation => "label permutation".into(),
        Field::CodesPerClass => "codes per class".into(),
        Field::Kind(i) => format!("transform {}", i + 1),
        Field::Param(..) => format!("  {}", form.param(field).map_or("", |p| p.title)),
    }
}

fn hint(form: &Form, field: Field) -> &'static str {
    match field {
        Field::Epochs | Field::CodesPerClass => "type digits or ←/→",
        Field::Arm => "←/→ which keyed arm to edit",
        Field::LabelPermutation => "Space toggles",
        Field::Kind(_) => "←/→ kind  [ ] move  x remove  a add",
        Field::Param(..) => match form.param(field).map(|p| p.ty) {
            Some(ParamType::Integer) => "type digits or ←/→",
            Some(ParamType::Number) => "type a number or ←/→ (±0.05)",
            _ => "Space toggles",
        },
    }
}

pub fn draw(frame: &mut Frame, area: Rect, form: &Form) {
    let [fields, verdict] = Layout::vertical([Constraint::Min(6), Constraint::Length(5)]).areas(area);
    draw_fields(frame, fields, form);
    draw_verdict(frame, verdict, form);
}

/// "arms: baseline · [pixel-permutation] · block-shuffle": every arm in its colour, the edited one
/// in brackets (None for a `[privacy]` config).
fn arms_line(form: &Form) -> Option<Line<'static>> {
    let configs = form.config.arms.as_ref()?;
    let arms = Arms::from_config(configs);
    let edited = form.arm_name();
    let mut spans = vec![Span::styled("  arms ", theme::muted())];
    for (i, a) in arms.list.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", theme::muted()));
        }
        let text = if a.name == edited { format!("[{}]", a.name) } else { a.name.clone() };
        spans.push(Span::styled(text, arms.style(&a.name)));
    }
    if form.arm.is_none() {
        spans.push(Span::styled("  (no keyed arm to edit)", theme::muted()));
    }
    Some(Line::from(spans))
}

fn draw_fields(frame: &mut Frame, area: Rect, form: &Form) {
    let bad = form.invalid_field();
    let current = form.current();
    let items: Vec<ListItem> = form
        .fields()
        .into_iter()
        .map(|f| {
            let marker = if Some(f) == bad { Span::styled("✗ ", theme::bad()) } else { Span::raw("  ") };
            let value = form.value_text(f);
            let value_style = if Some(f) == bad { theme::bad() } else { theme::title() };
            let mut spans = vec![
                marker,
                Span::raw(format!("{:<20}", label(form, f))),
                Span::styled(format!("{value:<18}"), value_style),
            ];
            if f == current {
                spans.push(Span::styled(hint(form, f), theme::muted()));
            }
            ListItem::new(Line::from(spans))
        })
        .collect();
    let changed = if form.dirty { " (edited, not saved)" } else { "" };
    let title = format!("Edit {}{changed}", form.source);
    let mut lines = items;
    if form.privacy().is_some_and(|p| p.transforms.is_empty()) {
        lines.push(ListItem::new(Line::styled("  no input transform: a adds one", theme::muted())));
    }
    let outer = block(title);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let arms = arms_line(form);
    let [head, list_area] =
        Layout::vertical([Constraint::Length(arms.is_some() as u16), Constraint::Min(0)]).areas(inner);
    if let Some(line) = arms {
        frame.render_widget(Paragraph::new(line), head);
    }
    let list = List::new(lines).highlight_style(theme::selected()).highlight_symbol("> ");
    let mut state = ListState::default().with_selected(Some(form.cursor));
    frame.render_stateful_widget(list, list_area, &mut state);
}

fn draw_verdict(frame: &mut Frame, area: Rect, form: &Form) {
    let mut lines = vec![];
    match &form.invalid {
        None => lines.push(Line::from(vec![
            Span::styled("✓ valid  ", theme::good()),
            Span::raw(match form.privacy() {
                Some(p) => format!("{}: {}", form.arm_name(), p.describe()),
                None => "no keyed arm".into(),
            }),
        ])),
        Some((field, expected)) => lines.push(Line::from(vec![
            Span::styled("✗ ", theme::bad()),
            Span::styled(format!("{field}: expected {expected}"), theme::bad()),
        ])),
    }
    let keys = super::key_hints(&[("s", "start"), ("w", "save as"), ("Esc", "back")]);
    lines.push(keys);
    let widget = Paragraph::new(lines).wrap(Wrap { trim: false }).block(block("Validation"));
    frame.render_widget(widget, area);
}
