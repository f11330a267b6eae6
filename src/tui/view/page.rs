//! A page over the cockpit: the release notes (`n`), the signer's view of what
//! they sign (`a` on a release with notes), the release report (`R`). Text only,
//! scrolled with j/k; what it shows was written by the present layer.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::{fit, overlay, put};
use crate::tui::app::Page;
use crate::tui::theme::Theme;

pub fn render(buf: &mut Buffer, area: Rect, page: &Page, theme: &Theme) {
    let width = area.width.saturating_sub(2).min(100);
    let height = area.height.saturating_sub(2);
    let inner = overlay(
        buf,
        area,
        width,
        height,
        theme.accent,
        Line::styled(format!(" {} ", page.title), theme.header),
    );
    let w = usize::from(inner.width);
    let rows = inner.height.saturating_sub(1);
    let last = page.lines.len().saturating_sub(usize::from(rows));
    let top = page.scroll.min(last);
    for (i, line) in page
        .lines
        .iter()
        .skip(top)
        .take(usize::from(rows))
        .enumerate()
    {
        put(
            buf,
            inner,
            i as u16,
            &Line::raw(fit(&format!(" {line}"), w)),
        );
    }
    put(
        buf,
        inner,
        rows,
        &Line::styled(fit(&format!(" {}", page.footer), w), theme.muted),
    );
}
