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
        format!(
            "{} ({} older hidden above)",
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
    // and shows without an actor, muted.
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
        let line = if take_note {
            let Some(note) = notes.next() else { break };
            Line::from(vec![
                Span::styled(format!("{} ", note.at.format("%H:%M:%S")), theme.muted),
                Span::styled(note.text.clone(), theme.muted),
            ])
        } else {
            let Some(d) = decisions.next() else { break };
            let mut spans = vec![
                Span::styled(format!("{} ", d.at.format("%H:%M:%S")), theme.muted),
                Span::styled(d.actor.clone(), theme.accent),
                Span::raw(format!(" {}", d.what)),
            ];
            if !d.reason.is_empty() {
                spans.push(Span::styled(format!(" — {}", d.reason), theme.muted));
            }
            Line::from(spans)
        };
        if skipped < app.log_scroll {
            skipped += 1;
            continue;
        }
        lines.push(line);
    }
    for (row, line) in lines.iter().enumerate() {
        put(buf, inner, row as u16, line);
    }
}
