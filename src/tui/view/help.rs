//! The `?` overlay: every key and what it does, from `strings::KEY_HELP`, so the
//! help cannot drift from the bindings (a unit test checks every binding is listed).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Widget};

use super::{fit, pad, put};
use crate::tui::strings;
use crate::tui::theme::Theme;

pub fn render(buf: &mut Buffer, area: Rect, theme: &Theme) {
    let rows = strings::KEY_HELP.len() as u16 + 3;
    let width = area.width.saturating_sub(2).min(84);
    let height = rows.min(area.height);
    let rect = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    Clear.render(rect, buf);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(theme.accent)
        .title(Line::styled(strings::HELP_TITLE, theme.header));
    let inner = block.inner(rect);
    block.render(rect, buf);
    let w = usize::from(inner.width);
    for (i, (keys, what)) in strings::KEY_HELP.iter().enumerate() {
        let line = Line::from(vec![
            Span::styled(pad(&format!(" {keys}"), 16), theme.accent),
            Span::raw(fit(what, w.saturating_sub(16))),
        ]);
        put(buf, inner, i as u16, &line);
    }
    put(
        buf,
        inner,
        strings::KEY_HELP.len() as u16,
        &Line::styled(format!(" {}", strings::HELP_FOOTER), theme.muted),
    );
}
