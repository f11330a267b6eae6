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
    for (row, d) in state
        .decisions
        .iter()
        .rev()
        .skip(app.log_scroll)
        .take(rows)
        .enumerate()
    {
        let mut spans = vec![
            Span::styled(format!("{} ", d.at.format("%H:%M:%S")), theme.muted),
            Span::styled(d.actor.clone(), theme.accent),
            Span::raw(format!(" {}", d.what)),
        ];
        if !d.reason.is_empty() {
            spans.push(Span::styled(format!(" — {}", d.reason), theme.muted));
        }
        put(buf, inner, row as u16, &Line::from(spans));
    }
}
