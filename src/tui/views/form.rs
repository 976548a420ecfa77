//! The experiment form: one row per setting under its heading (run, training, data, arms, attacks),
//! each arm's name in its colour, scrolled to the row being edited, and the live validation verdict
//! underneath; "discard the edits?" over it when Esc is pressed with unsaved edits.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState, Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::arms::Arms;
use crate::tui::form::{Edit, Field, Form};
use crate::tui::theme;

use super::block;

/// Width of the label column.
const LABEL: usize = 22;
/// Width of the value column (longer values push the hint right).
const VALUE: usize = 18;

fn label(form: &Form, field: Field) -> String {
    use Field::*;
    match field {
        RunName => "run name".into(),
        Seed => "seed".into(),
        Epochs => "epochs".into(),
        BatchSize => "batch size".into(),
        Optimizer => "optimizer".into(),
        LearningRate => "learning rate".into(),
        LrDecay => "lr decay".into(),
        Dataset => "dataset".into(),
        Arch => "arch".into(),
        TrainLimit => "train limit".into(),
        TestLimit => "test limit".into(),
        ArmName(a) => format!("arm {}", a + 1),
        Scheme(_) => "  scheme".into(),
        ArmArch(_) => "  arch".into(),
        LabelPermutation(_) => "  label permutation".into(),
        CodesPerClass(_) => "  codes per class".into(),
        FixedKey(_) => "  fixed key".into(),
        Kind(_, t) => format!("  transform {}", t + 1),
        Param(..) => format!("    {}", form.param(field).map_or("", |p| p.title)),
        Cut(_) => "  cut (head layers)".into(),
        Tail(_) => "  tail (last layers)".into(),
        SplitNoise(_) => "  noise sigma".into(),
        NopeekAlpha(_) => "  nopeek alpha".into(),
        MixK(_) => "  k (images mixed)".into(),
        MixUpper(_) => "  upper (largest weight)".into(),
        AuxFraction => "adversary's share".into(),
        Attack(k) => crate::attacks::registry::names().get(k).copied().unwrap_or("").to_string(),
        AttackParam(k, j) => format!("  {}", Form::attack_params(k).get(j).cloned().unwrap_or_default()),
    }
}

fn hint(form: &Form, field: Field) -> &'static str {
    if form.text.is_some() {
        return "type; Enter keeps, Esc cancels";
    }
    match field {
        Field::Kind(..) => "←/→ kind a add x del [ ] move",
        Field::ArmName(_) => "Enter rename  A add arm  x remove",
        Field::Scheme(_) if form.edit_kind(field) == Edit::Choice => "←/→ keyed, split or instahide  x remove",
        Field::FixedKey(_) => "Space on/off  Enter types the key",
        Field::TrainLimit | Field::TestLimit => "digits, ⌫ to all, or ←/→",
        Field::Attack(_) => "Space runs it or not",
        _ => match form.edit_kind(field) {
            Edit::Integer => "type digits or ←/→",
            Edit::Number => "type a number or ←/→",
            Edit::Toggle => "Space toggles",
            Edit::Choice => "←/→ valid values",
            Edit::Text => "Enter, then type",
            Edit::ReadOnly(_) => "follows your edits",
        },
    }
}

pub fn draw(frame: &mut Frame, area: Rect, form: &Form) {
    let [fields, verdict] = Layout::vertical([Constraint::Min(6), Constraint::Length(5)]).areas(area);
    draw_fields(frame, fields, form);
    draw_verdict(frame, verdict, form);
    if form.confirm_discard {
        super::dialog::draw_discard(frame, area, &form.source);
    }
}

fn draw_fields(frame: &mut Frame, area: Rect, form: &Form) {
    let bad = form.invalid_field();
    let current = form.current();
    let arms = Arms::from_config(&form.arms());
    let mut items: Vec<ListItem> = Vec::new();
    let mut selected = 0;
    let mut section = None;
    for (i, f) in form.fields().into_iter().enumerate() {
        if section != Some(f.section()) {
            section = Some(f.section());
            let title = format!("── {} ", f.section().title());
            items.push(ListItem::new(Line::styled(title, theme::muted())));
        }
        if i == form.cursor {
            selected = items.len();
        }
        let marker = if Some(f) == bad { Span::styled("✗ ", theme::bad()) } else { Span::raw("  ") };
        let value = form.value_text(f);
        let value_style = match f {
            _ if Some(f) == bad => theme::bad(),
            Field::ArmName(_) => arms.style(&value),
            Field::RunName => theme::muted(),
            _ => theme::title(),
        };
        let mut spans = vec![
            marker,
            Span::raw(format!("{:<LABEL$}", label(form, f))),
            Span::styled(format!("{value:<VALUE$}"), value_style),
        ];
        if f == current {
            spans.push(Span::styled(format!(" {}", hint(form, f)), theme::muted()));
        }
        items.push(ListItem::new(Line::from(spans)));
    }
    let changed = if form.dirty { " (edited, not saved)" } else { "" };
    let title = format!("Edit {}{changed}", form.source);
    let list = List::new(items).block(block(title)).highlight_style(theme::selected()).highlight_symbol("> ");
    let mut state = ListState::default().with_selected(Some(selected));
    frame.render_stateful_widget(list, area, &mut state);
}

fn draw_verdict(frame: &mut Frame, area: Rect, form: &Form) {
    let mut lines = vec![];
    match &form.invalid {
        None => {
            let arms = form.arms();
            let protected = arms.iter().filter(|a| !a.is_baseline()).count();
            lines.push(Line::from(vec![
                Span::styled("✓ valid  ", theme::good()),
                Span::raw(format!(
                    "{} arms ({protected} protected), attacks: {}",
                    arms.len(),
                    crate::attacks::registry::count(&form.config.attacks)
                )),
            ]))
        }
        Some((field, expected)) => lines.push(Line::from(vec![
            Span::styled("✗ ", theme::bad()),
            Span::styled(format!("{field}: expected {expected}"), theme::bad()),
        ])),
    }
    let keys = super::key_hints(&[
        ("s", "start"),
        ("w", "save as"),
        ("t", "transforms"),
        ("PgUp/Dn", "sections"),
        ("A", "add arm"),
        ("Esc", "back"),
    ]);
    lines.push(keys);
    let widget = Paragraph::new(lines).wrap(Wrap { trim: false }).block(block("Validation"));
    frame.render_widget(widget, area);
}
