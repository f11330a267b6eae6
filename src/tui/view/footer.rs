//! The message line (refusals and confirmations: the cockpit is never silent about
//! a key) and the footer (keys that work in the focused pane, and the state).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{fit, put};
use crate::engine::ReleaseState;
use crate::tui::app::{App, DialogKind, Focus, MessageKind};
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
    let keys: &[&str] = if let Some(d) = &app.dialog {
        if matches!(d.kind, DialogKind::Quit { running: true }) && app.background {
            strings::FOOTER_QUIT_BACKGROUND
        } else if matches!(d.kind, DialogKind::Quit { .. }) {
            strings::FOOTER_QUIT
        } else {
            strings::FOOTER_DIALOG
        }
    } else if app.help {
        strings::FOOTER_HELP
    } else if app.log_detail.is_some() {
        strings::FOOTER_LOG_DETAIL
    } else if app.evidence.is_some() {
        strings::FOOTER_EVIDENCE
    } else if app.filter_editing {
        strings::FOOTER_FILTER
    } else {
        match app.focus {
            // Once the release has ended, only the keys that still work.
            _ if state.phase.is_final() => final_keys(state, app),
            Focus::Timeline if state.is_paused() => strings::FOOTER_TIMELINE_PAUSED,
            Focus::Timeline => strings::FOOTER_TIMELINE,
            Focus::Checklist => strings::FOOTER_CHECKLIST,
            Focus::Health if app.demo => strings::FOOTER_HEALTH_DEMO,
            Focus::Health => strings::FOOTER_HEALTH,
            Focus::Log => strings::FOOTER_LOG,
        }
    };
    // A dialog or the help has its own way out: no global keys there.
    let modal = app.dialog.is_some()
        || app.help
        || app.filter_editing
        || app.log_detail.is_some()
        || app.evidence.is_some();
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
    let left = if modal {
        fit(&format!(" {}", keys.join("  ")), room)
    } else {
        footer_keys(keys, room)
    };
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

/// The keys that still do something after the release ended: a completed
/// release can be rolled back (forced past its window), follow-up checklist items
/// ticked; a rolled-back or aborted one, only the checklist.
fn final_keys(state: &ReleaseState, app: &App) -> &'static [&'static str] {
    let completed = state.phase == crate::engine::Phase::Completed;
    match (app.focus, completed) {
        (Focus::Checklist, _) => strings::FOOTER_CHECKLIST_ENDED,
        (Focus::Timeline, true) => strings::FOOTER_TIMELINE_COMPLETED,
        (Focus::Health, true) => strings::FOOTER_HEALTH_COMPLETED,
        (Focus::Health, false) => strings::FOOTER_HEALTH_ENDED,
        (Focus::Log, _) => strings::FOOTER_LOG,
        (Focus::Timeline, false) => strings::FOOTER_ENDED,
    }
}

/// The pane's keys and the global ones in `room` characters. `? help` and
/// `q quit` always show; pane keys are dropped from the end (the rarer ones come
/// last) rather than cut mid-word. `tab focus` is worth more than the pane's last
/// (rarest) key, but not more than the others.
pub fn footer_keys(pane: &[&str], room: usize) -> String {
    let line = |n: usize, global: &[&str]| {
        let mut all: Vec<&str> = pane[..n].to_vec();
        all.extend_from_slice(global);
        format!(" {}", all.join("  "))
    };
    let n = pane.len();
    let full = [n, n.saturating_sub(1)]
        .into_iter()
        .map(|k| line(k, strings::FOOTER_GLOBAL));
    let short = (0..=n).rev().map(|k| line(k, strings::FOOTER_GLOBAL_SHORT));
    full.chain(short)
        .find(|text| text.chars().count() <= room)
        .unwrap_or_else(|| fit(&line(0, strings::FOOTER_GLOBAL_SHORT), room))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_footers_drop_pane_keys_but_keep_help_and_quit() {
        let wide = footer_keys(strings::FOOTER_TIMELINE, 200);
        assert!(
            wide.contains("A abort") && wide.contains("tab focus"),
            "{wide}"
        );
        // 80 columns less the status: the rare abort goes first, tab focus stays.
        let at80 = footer_keys(strings::FOOTER_TIMELINE, 67);
        assert_eq!(
            at80,
            " a approve  p pause  r rollback  s skip  tab focus  ? help  q quit"
        );
        let narrow = footer_keys(strings::FOOTER_TIMELINE, 58);
        assert!(narrow.ends_with("? help  q quit"), "{narrow}");
        assert!(narrow.chars().count() <= 58, "{narrow}");
        assert!(!narrow.contains('…'), "{narrow}");
        let tiny = footer_keys(strings::FOOTER_TIMELINE, 16);
        assert_eq!(tiny, " ? help  q quit");
    }
}
