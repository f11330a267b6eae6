//! Dialogs over the cockpit: rollback (scope, reason, typed version for a full
//! rollback; forced after the rollback window closed), report issue, emergency,
//! abort (reason and typed version), skip wait, resume, and quit.
//! The confirm button is never focused when a dialog opens: Cancel is. The focused
//! button is reversed *and* marked with the pointer, so focus reads without colour
//! (and in a `tmux capture-pane`).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::{overlay, put};
use crate::domain::escape;
use crate::engine::ReleaseState;
use crate::tui::app::{Dialog, DialogKind, Field};
use crate::tui::strings;
use crate::tui::theme::{Symbols, Theme};
use crate::tui::wrap::wrap;

/// The dialog's title and the label of its confirm button.
fn title_and_confirm(d: &Dialog) -> (&'static str, &'static str) {
    match &d.kind {
        DialogKind::Rollback if d.force => {
            (strings::DIALOG_ROLLBACK, strings::BUTTON_FORCE_ROLLBACK)
        }
        DialogKind::Rollback => (strings::DIALOG_ROLLBACK, strings::BUTTON_ROLLBACK),
        DialogKind::Approve => (strings::DIALOG_APPROVE, strings::BUTTON_APPROVE),
        DialogKind::Untick { .. } => (strings::DIALOG_UNTICK, strings::BUTTON_UNTICK),
        DialogKind::ReportIssue { .. } => (strings::DIALOG_ISSUE, strings::BUTTON_REPORT),
        DialogKind::Emergency => (strings::DIALOG_EMERGENCY, strings::BUTTON_EMERGENCY),
        DialogKind::Abort => (strings::DIALOG_ABORT, strings::BUTTON_ABORT),
        DialogKind::SkipWait { .. } => (strings::DIALOG_SKIP, strings::BUTTON_SKIP),
        DialogKind::Resume { after_stop: true } => (strings::DIALOG_RESUME, strings::BUTTON_RESUME),
        DialogKind::Resume { after_stop: false } => {
            (strings::DIALOG_RESUME_PAUSE, strings::BUTTON_RESUME)
        }
        DialogKind::Quit { .. } => (strings::DIALOG_QUIT, strings::BUTTON_QUIT),
    }
}

pub fn render(
    buf: &mut Buffer,
    area: Rect,
    d: &Dialog,
    state: &ReleaseState,
    theme: &Theme,
    sym: &Symbols,
    background: bool,
) {
    let (title, confirm) = title_and_confirm(d);
    let field_style = |f: Field| {
        if d.field == f {
            theme.accent.add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        }
    };
    let cursor = |f: Field| if d.field == f { "_" } else { "" };
    let mut lines: Vec<Line<'static>> = Vec::new();
    let width = area.width.saturating_sub(4).min(70);
    let text_w = usize::from(width.saturating_sub(4));
    match &d.kind {
        DialogKind::Approve => {
            for note in &d.notes {
                lines.push(Line::raw(escape(note).into_owned()));
            }
            if d.choices.len() > 1 {
                lines.push(Line::styled(
                    strings::LABEL_CHOICE,
                    field_style(Field::Choice),
                ));
            }
            for (i, c) in d.choices.iter().enumerate() {
                let sel = i == d.choice_sel;
                let style = if sel && d.field == Field::Choice {
                    theme.selected
                } else {
                    Style::new()
                };
                let mark = if sel { sym.pointer } else { " " };
                for (n, chunk) in wrap(&c.label, text_w.saturating_sub(4))
                    .into_iter()
                    .enumerate()
                {
                    let lead = if n == 0 { mark } else { " " };
                    lines.push(Line::from(Span::styled(format!("  {lead} {chunk}"), style)));
                }
            }
        }
        DialogKind::Rollback => {
            if d.force {
                lines.push(Line::styled(strings::FORCE_INTRO, theme.warning));
            }
            lines.push(Line::styled(
                strings::LABEL_SCOPE,
                field_style(Field::Scope),
            ));
            for (i, (_, label)) in d.scopes.iter().enumerate() {
                let sel = i == d.scope_sel;
                let style = if sel && d.field == Field::Scope {
                    theme.selected
                } else {
                    Style::new()
                };
                let mark = if sel { sym.pointer } else { " " };
                lines.push(Line::from(Span::styled(format!("  {mark} {label}"), style)));
            }
            lines.push(Line::raw(""));
        }
        DialogKind::ReportIssue { name, .. } => lines.push(Line::raw(strings::issue_intro(name))),
        DialogKind::Untick { checklist, item } => {
            for chunk in wrap(
                &strings::untick_intro(&format!("{checklist}/{item}")),
                text_w,
            ) {
                lines.push(Line::raw(chunk));
            }
        }
        DialogKind::Emergency => {
            lines.push(Line::raw(strings::EMERGENCY_INTRO));
            for note in &d.notes {
                for chunk in wrap(&format!("{} {}", sym.warning, escape(note)), text_w) {
                    lines.push(Line::styled(chunk, theme.warning));
                }
            }
            if !d.choices.is_empty() {
                lines.push(Line::styled(
                    strings::LABEL_OVERRIDE,
                    field_style(Field::Choice),
                ));
            }
            for (i, c) in d.choices.iter().enumerate() {
                let sel = i == d.choice_sel && d.field == Field::Choice;
                let style = if sel { theme.selected } else { Style::new() };
                let mark = if sel { sym.pointer } else { " " };
                let (box_, what) = if c.checked {
                    ("[x]", strings::OVERRIDE_ON)
                } else {
                    ("[ ]", strings::OVERRIDE_OFF)
                };
                let text = format!("{box_} {}: {what}", c.label);
                for (n, chunk) in wrap(&text, text_w.saturating_sub(2))
                    .into_iter()
                    .enumerate()
                {
                    let lead = if n == 0 { mark } else { " " };
                    lines.push(Line::from(Span::styled(format!("{lead} {chunk}"), style)));
                }
            }
        }
        DialogKind::Abort => lines.push(Line::raw(strings::ABORT_INTRO)),
        DialogKind::SkipWait { wave } => lines.push(Line::raw(strings::skip_intro(
            wave.as_ref().map(|w| w.as_str()),
        ))),
        DialogKind::Resume { after_stop: true } => lines.push(Line::raw(strings::RESUME_INTRO)),
        DialogKind::Resume { after_stop: false } => {
            lines.push(Line::raw(strings::RESUME_PAUSE_INTRO))
        }
        DialogKind::Quit { running } => {
            let question = if *running && background {
                strings::quit_question_background()
            } else {
                strings::quit_question(*running)
            };
            for q in question {
                lines.push(Line::raw(q));
            }
        }
    }
    if d.kind.has_reason() {
        let label = if d.kind.reason_required() {
            strings::LABEL_REASON
        } else {
            strings::LABEL_REASON_OPTIONAL
        };
        lines.push(Line::from(vec![
            Span::styled(label, field_style(Field::Reason)),
            Span::raw(format!("{}{}", d.reason, cursor(Field::Reason))),
        ]));
    }
    if d.needs_version() {
        let v = state.plan.version.to_string();
        lines.push(Line::from(vec![
            Span::styled(strings::label_type_version(&v), field_style(Field::Version)),
            Span::raw(format!("{}{}", d.version, cursor(Field::Version))),
        ]));
    }
    if let Some(e) = &d.error {
        // Errors (the engine's refusal, for a forced rollback) can be long: wrap.
        let text = format!("{} {e}", sym.warning);
        for chunk in wrap(&text, usize::from(width.saturating_sub(4)).max(10)) {
            lines.push(Line::styled(chunk, theme.failed));
        }
    }
    lines.push(Line::raw(""));
    let on_buttons = d.field == Field::Buttons;
    let button = |label: &str, focused: bool| {
        let focused = focused && on_buttons;
        let style = if focused {
            theme.selected
        } else {
            Style::new()
        };
        let mark = if focused { sym.pointer } else { " " };
        vec![
            Span::raw(mark.to_string()),
            Span::styled(format!("[ {label} ]"), style),
        ]
    };
    let mut row = vec![Span::raw("  ")];
    row.extend(button(strings::BUTTON_CANCEL, !d.confirm_focused));
    row.push(Span::raw("  "));
    row.extend(button(confirm, d.confirm_focused));
    lines.push(Line::from(row));
    let hint = if matches!(d.kind, DialogKind::Quit { running: true }) && background {
        strings::QUIT_HINT_BACKGROUND.to_string()
    } else if matches!(d.kind, DialogKind::Quit { .. }) {
        strings::QUIT_HINT.to_string()
    } else if on_buttons {
        strings::DIALOG_HINT.to_string()
    } else if d.field == Field::Reason && !d.kind.destructive() {
        strings::dialog_hint_submit(confirm)
    } else {
        strings::DIALOG_HINT_FIELD.to_string()
    };
    lines.push(Line::styled(hint, theme.muted));

    let height = (lines.len() as u16 + 2).min(area.height);
    let inner = overlay(
        buf,
        area,
        width,
        height,
        theme.warning,
        Line::styled(title, theme.header),
    );
    for (i, line) in lines.iter().enumerate() {
        put(
            buf,
            Rect {
                x: inner.x + 1,
                width: inner.width.saturating_sub(1),
                ..inner
            },
            i as u16,
            line,
        );
    }
}
