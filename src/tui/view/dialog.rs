//! Dialogs over the cockpit: rollback (scope, reason, typed version for a full
//! rollback), report issue, emergency, skip wait, resume after a stop, and quit.
//! The confirm button is never focused when a dialog opens: Cancel is.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Widget};

use super::put;
use crate::engine::{ReleaseState, RollbackScope};
use crate::tui::app::{Dialog, DialogKind, Field};
use crate::tui::strings;
use crate::tui::theme::{Symbols, Theme};

pub fn render(
    buf: &mut Buffer,
    area: Rect,
    d: &Dialog,
    state: &ReleaseState,
    theme: &Theme,
    sym: &Symbols,
) {
    let (title, confirm) = match &d.kind {
        DialogKind::Rollback => (strings::DIALOG_ROLLBACK, strings::BUTTON_ROLLBACK),
        DialogKind::ReportIssue { .. } => (strings::DIALOG_ISSUE, strings::BUTTON_REPORT),
        DialogKind::Emergency => (strings::DIALOG_EMERGENCY, strings::BUTTON_EMERGENCY),
        DialogKind::SkipWait { .. } => (strings::DIALOG_SKIP, strings::BUTTON_SKIP),
        DialogKind::Resume => (strings::DIALOG_RESUME, strings::BUTTON_RESUME),
        DialogKind::Quit { .. } => (strings::DIALOG_QUIT, strings::BUTTON_QUIT),
    };
    let field_style = |f: Field| {
        if d.field == f {
            theme.accent.add_modifier(Modifier::BOLD)
        } else {
            Style::new()
        }
    };
    let cursor = |f: Field| if d.field == f { "_" } else { "" };
    let mut lines: Vec<Line<'static>> = Vec::new();
    match &d.kind {
        DialogKind::Rollback => {
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
        DialogKind::Emergency => lines.push(Line::raw(strings::EMERGENCY_INTRO)),
        DialogKind::SkipWait { .. } => lines.push(Line::raw(strings::SKIP_INTRO)),
        DialogKind::Resume => lines.push(Line::raw(strings::RESUME_INTRO)),
        DialogKind::Quit { running } => {
            for q in strings::quit_question(*running) {
                lines.push(Line::raw(q));
            }
        }
    }
    if !matches!(d.kind, DialogKind::Quit { .. }) {
        lines.push(Line::from(vec![
            Span::styled(strings::LABEL_REASON, field_style(Field::Reason)),
            Span::raw(format!("{}{}", d.reason, cursor(Field::Reason))),
        ]));
    }
    if d.kind == DialogKind::Rollback && d.selected_scope() == Some(&RollbackScope::All) {
        let v = state.plan.version.to_string();
        lines.push(Line::from(vec![
            Span::styled(strings::label_type_version(&v), field_style(Field::Version)),
            Span::raw(format!("{}{}", d.version, cursor(Field::Version))),
        ]));
    }
    if let Some(e) = &d.error {
        lines.push(Line::styled(format!("{} {e}", sym.warning), theme.failed));
    }
    lines.push(Line::raw(""));
    let on_buttons = d.field == Field::Buttons;
    let button = |label: &str, focused: bool| {
        let style = if focused && on_buttons {
            theme.selected
        } else {
            Style::new()
        };
        Span::styled(format!("[ {label} ]"), style)
    };
    lines.push(Line::from(vec![
        Span::raw("   "),
        button(strings::BUTTON_CANCEL, !d.confirm_focused),
        Span::raw("   "),
        button(confirm, d.confirm_focused),
    ]));
    let hint = if matches!(d.kind, DialogKind::Quit { .. }) {
        "q again quits · enter chooses · esc stays"
    } else {
        strings::FOOTER_DIALOG
    };
    lines.push(Line::styled(hint, theme.muted));

    let width = area.width.saturating_sub(4).min(70);
    let height = (lines.len() as u16 + 2).min(area.height);
    let rect = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    Clear.render(rect, buf);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.warning)
        .title(Line::styled(title, theme.header));
    let inner = block.inner(rect);
    block.render(rect, buf);
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
