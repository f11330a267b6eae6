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
    let n = state.decisions.len();
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
    // The top line is the selected one (Enter shows it in full).
    let focused = app.focus == Focus::Log;
    for (row, d) in state
        .decisions
        .iter()
        .rev()
        .skip(app.log_scroll)
        .take(rows)
        .enumerate()
    {
        let rs = super::row_style(row == 0, focused, theme);
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
        let line = Line::from(spans);
        // A line longer than the pane ends with a mark saying there is more.
        let width = usize::from(inner.width);
        if line.width() > width && width > 1 {
            put(buf, inner, row as u16, &line);
            let x = inner.x + inner.width - 1;
            buf.set_string(x, inner.y + row as u16, "…", theme.muted.patch(rs));
        } else {
            put(buf, inner, row as u16, &line);
        }
    }
}
