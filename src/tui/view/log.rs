//! The decision log, newest first: who did what, when and why — straight from the
//! journal's decisions, so it reads the same here, in `status` and in the audit.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Borders, Widget};

use super::{pane, put};
use crate::engine::ReleaseState;
use crate::tui::app::{App, Focus};
use crate::tui::strings;
use crate::tui::theme::Theme;

pub fn render(buf: &mut Buffer, area: Rect, state: &ReleaseState, app: &App, theme: &Theme) {
    let n = state.decisions.len() + app.notes.len();
    let title = if app.log_scroll > 0 {
        // Newest first: what scrolled off the top is newer.
        format!(
            "{} ({} newer above; g for the newest)",
            strings::PANE_LOG,
            app.log_scroll
        )
    } else {
        strings::PANE_LOG.to_string()
    };
    let block = pane(title, Focus::Log, app, theme, Borders::TOP);
    let inner = block.inner(area);
    block.render(area, buf);
    if n == 0 {
        put(
            buf,
            inner,
            0,
            &Line::styled(strings::LOG_EMPTY, theme.muted),
        );
        return;
    }
    let rows = usize::from(inner.height);
    // Decisions and notes (joins, leaves), newest first; a note is not a decision
    // and shows without an actor, muted. The top line is the selected one (Enter
    // shows it in full).
    let focused = app.focus == Focus::Log;
    let mut lines: Vec<Line> = Vec::with_capacity(rows);
    let mut decisions = state.decisions.iter().rev().peekable();
    let mut notes = app.notes.iter().rev().peekable();
    let mut skipped = 0;
    while lines.len() < rows {
        let take_note = match (decisions.peek(), notes.peek()) {
            (Some(d), Some(n)) => n.at > d.at,
            (None, Some(_)) => true,
            (Some(_), None) => false,
            (None, None) => break,
        };
        if skipped < app.log_scroll {
            if take_note {
                notes.next();
            } else {
                decisions.next();
            }
            skipped += 1;
            continue;
        }
        let rs = super::row_style(lines.is_empty(), focused, theme);
        let line = if take_note {
            let Some(note) = notes.next() else { break };
            Line::from(vec![
                Span::styled(
                    format!("{} ", note.at.format("%H:%M:%S")),
                    theme.muted.patch(rs),
                ),
                Span::styled(note.text.clone(), theme.muted.patch(rs)),
            ])
        } else {
            let Some(d) = decisions.next() else { break };
            let mut spans = vec![
                Span::styled(
                    format!("{} ", d.at.format("%H:%M:%S")),
                    theme.muted.patch(rs),
                ),
                Span::styled(d.actor.clone(), theme.accent.patch(rs)),
                Span::styled(format!(" {}", d.what), rs),
            ];
            if !d.reason.is_empty() {
                spans.push(Span::styled(
                    format!(" — {}", d.reason),
                    theme.muted.patch(rs),
                ));
            }
            Line::from(spans)
        };
        lines.push(line);
    }
    // A line longer than the pane ends with a mark saying there is more.
    let width = usize::from(inner.width);
    for (row, line) in lines.iter().enumerate() {
        put(buf, inner, row as u16, line);
        if line.width() > width && width > 1 {
            let rs = super::row_style(row == 0, focused, theme);
            let x = inner.x + inner.width - 1;
            buf.set_string(x, inner.y + row as u16, "…", theme.muted.patch(rs));
        }
    }
}
