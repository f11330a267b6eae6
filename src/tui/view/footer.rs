//! The message line (refusals and confirmations: the cockpit is never silent about
//! a key) and the footer (keys that work in the focused pane, and the state).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{fit, put};
use crate::engine::ReleaseState;
use crate::tui::app::{App, Focus, MessageKind};
use crate::tui::strings;
use crate::tui::theme::{Symbols, Theme};

pub fn render_message(buf: &mut Buffer, area: Rect, app: &App, theme: &Theme, sym: &Symbols) {
    let width = usize::from(area.width);
    let line = if let Some(m) = &app.message {
        let (mark, style) = match m.kind {
            MessageKind::Info => (sym.ok, theme.ok),
            MessageKind::Refused => (sym.warning, theme.failed),
        };
        Line::from(Span::styled(
            fit(&format!(" {mark} {}", m.text), width),
            style,
        ))
    } else if app.filter_editing {
        Line::from(Span::styled(
            fit(&format!(" / {}_", app.filter), width),
            theme.accent,
        ))
    } else {
        return;
    };
    put(buf, area, 0, &line);
}

pub fn render(buf: &mut Buffer, area: Rect, state: &ReleaseState, app: &App, theme: &Theme) {
    let keys = if app.dialog.is_some() {
        strings::FOOTER_DIALOG
    } else if app.filter_editing {
        strings::FOOTER_FILTER
    } else {
        match app.focus {
            Focus::Timeline => strings::FOOTER_TIMELINE,
            Focus::Checklist => strings::FOOTER_CHECKLIST,
            Focus::Health if app.demo => strings::FOOTER_HEALTH_DEMO,
            Focus::Health => strings::FOOTER_HEALTH,
            Focus::Log => strings::FOOTER_LOG,
        }
    };
    let mut status = state.phase.as_str().to_string();
    if state.is_paused() {
        status.push_str(" · paused");
    }
    if app.readonly {
        status.push_str(" · read-only");
    }
    let status = format!(" {status} ");
    let width = usize::from(area.width);
    let room = width.saturating_sub(status.chars().count());
    let mut full = format!(" {keys}  {}", strings::FOOTER_GLOBAL);
    if full.chars().count() > room {
        full = format!(" {keys}  {}", strings::FOOTER_GLOBAL_SHORT);
    }
    let left = fit(&full, room);
    buf.set_style(area, theme.muted);
    put(buf, area, 0, &Line::from(Span::styled(left, theme.muted)));
    let sw = status.chars().count() as u16;
    if sw <= area.width {
        buf.set_line(
            area.x + area.width - sw,
            area.y,
            &Line::from(Span::styled(status, theme.header)),
            sw,
        );
    }
}
