//! One decision of the log in full (Enter on the log): when, who, what and why,
//! wrapped to the screen, so a long reason (a trigger's figures, a rollback's
//! why) is read whole at any width.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{overlay, put};
use crate::engine::ReleaseState;
use crate::tui::strings;
use crate::tui::theme::Theme;
use crate::tui::wrap::wrap as wrap_words;

pub fn render(buf: &mut Buffer, area: Rect, state: &ReleaseState, index: usize, theme: &Theme) {
    let Some(d) = state.decisions.get(index) else {
        return;
    };
    let width = area.width.saturating_sub(4).min(100);
    let text_w = usize::from(width.saturating_sub(12));
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut field = |label: &'static str, text: &str| {
        for (i, row) in wrap_words(text, text_w).into_iter().enumerate() {
            let head = if i == 0 { label } else { "" };
            lines.push(Line::from(vec![
                Span::styled(format!(" {head:<8} "), theme.muted),
                Span::raw(row),
            ]));
        }
    };
    field("when", &d.at.format("%Y-%m-%d %H:%M:%S UTC").to_string());
    field("who", &d.actor);
    field("what", &d.what);
    if !d.reason.is_empty() {
        field("why", &d.reason);
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(" {}", strings::LOG_DETAIL_HINT),
        theme.muted,
    ));
    let height = (lines.len() as u16 + 2).min(area.height);
    let inner = overlay(
        buf,
        area,
        width,
        height,
        theme.accent,
        Line::styled(strings::LOG_DETAIL_TITLE, theme.header),
    );
    for (i, line) in lines.iter().enumerate() {
        put(buf, inner, i as u16, line);
    }
}
