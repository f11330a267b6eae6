//! The `?` overlay: every key and what it does, from `strings::KEY_HELP`, so the
//! help cannot drift from the bindings (a unit test checks every binding is listed).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{fit, overlay, pad, put};
use crate::tui::strings;
use crate::tui::theme::Theme;

pub fn render(buf: &mut Buffer, area: Rect, theme: &Theme) {
    let width = area.width.saturating_sub(2).min(84);
    key_table(
        buf,
        area,
        width,
        strings::HELP_TITLE,
        strings::KEY_HELP,
        16,
        strings::HELP_FOOTER,
        theme,
    );
}

/// A help overlay `width` wide, centred in `area`: one row per `(keys, what)` with
/// the keys in a column `key_width` wide, then `footer`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn key_table(
    buf: &mut Buffer,
    area: Rect,
    width: u16,
    title: &str,
    rows: &[(&str, &str)],
    key_width: usize,
    footer: &str,
    theme: &Theme,
) {
    let height = (rows.len() as u16 + 3).min(area.height);
    let inner = overlay(
        buf,
        area,
        width,
        height,
        theme.accent,
        Line::styled(title.to_string(), theme.header),
    );
    let w = usize::from(inner.width);
    for (i, (keys, what)) in rows.iter().enumerate() {
        let line = Line::from(vec![
            Span::styled(pad(&format!(" {keys}"), key_width), theme.accent),
            Span::raw(fit(what, w.saturating_sub(key_width))),
        ]);
        put(buf, inner, i as u16, &line);
    }
    put(
        buf,
        inner,
        rows.len() as u16,
        &Line::styled(format!(" {footer}"), theme.muted),
    );
}
