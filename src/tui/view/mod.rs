//! The cockpit screen: one module per pane, all drawn from a snapshot of the
//! release state, the release time, the view state and the theme.
//!
//! Render functions take `(&ReleaseState, now, &App, &Theme)` and nothing else — no
//! clock, no runtime — so that snapshot tests can draw any state on a `TestBackend`
//! deterministically, and the loop decides alone when a frame is worth drawing.

pub mod checklist;
pub mod deploy_log;
pub mod dialog;
pub mod evidence;
pub mod footer;
pub mod header;
pub mod health;
pub mod help;
pub mod log;
pub mod log_detail;
pub mod page;
pub mod start;
pub mod timeline;

use chrono::{DateTime, TimeDelta, Utc};
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Widget};

use super::app::{App, Focus};
use super::theme::{Symbols, Theme};
use super::too_small::{TooSmall, is_too_small};
use crate::domain::escape;
use crate::engine::ReleaseState;

/// Draws the whole cockpit (or the too-small screen) into `frame`.
pub fn render(
    frame: &mut Frame,
    state: &ReleaseState,
    now: DateTime<Utc>,
    app: &App,
    theme: &Theme,
) {
    let area = frame.area();
    draw(frame.buffer_mut(), area, state, now, app, theme);
}

/// Same as [`render`], on a plain buffer (benchmarks and tests).
pub fn draw(
    buf: &mut Buffer,
    area: Rect,
    state: &ReleaseState,
    now: DateTime<Utc>,
    app: &App,
    theme: &Theme,
) {
    if is_too_small(area.as_size()) {
        TooSmall::new(theme).render(area, buf);
        return;
    }
    let sym = Symbols::DEFAULT;
    // Up to three rows: a pause or rollback reason is read whole, figures and all.
    let banner = header::banner_lines(state, theme, area.width, 3);
    let timeline_rows = 3 + state.waves.len() as u16;
    let log_rows = 1 + 3 + area.height.saturating_sub(24) / 3;
    let [head, ban, tl, middle, log_area, msg, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(banner.len() as u16),
        Constraint::Length(timeline_rows),
        Constraint::Fill(1),
        Constraint::Length(log_rows),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    header::render(buf, head, state, now, app, theme);
    buf.set_style(ban, theme.banner);
    for (i, line) in banner.iter().enumerate() {
        buf.set_line(ban.x, ban.y + i as u16, line, ban.width);
    }
    timeline::render(buf, tl, state, now, app, theme, &sym);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(middle);
    checklist::render(buf, left, state, app, theme, &sym);
    health::render(buf, right, state, app, theme, &sym);
    log::render(buf, log_area, state, app, theme);
    footer::render_message(buf, msg, app, theme, &sym);
    footer::render(buf, foot, state, app, theme);
    if let Some(view) = &app.deploy_log {
        deploy_log::render(buf, area, view, theme);
    }
    if let Some((customer, scroll)) = &app.evidence {
        evidence::render(buf, area, state, customer, *scroll, theme);
    }
    if let Some(page) = &app.page {
        page::render(buf, area, page, theme);
    }
    if app.help {
        help::render(buf, area, theme);
    }
    if let Some(i) = app.log_detail {
        log_detail::render(buf, area, state, i, theme);
    }
    if let Some(d) = &app.dialog {
        dialog::render(buf, area, d, state, theme, &sym, app.background);
    }
}

/// A pane's frame: a titled rule on top (and a rule on the right for the left
/// column); the focused pane's title is marked with the pointer and emphasis so
/// focus shows without colour.
pub(crate) fn pane(
    title: String,
    focus: Focus,
    app: &App,
    theme: &Theme,
    borders: Borders,
) -> Block<'static> {
    let focused = app.focus == focus;
    let style = if focused {
        theme.accent.add_modifier(Modifier::BOLD)
    } else {
        theme.muted
    };
    let mark = if focused { "> " } else { "" };
    let title = escape(&title);
    Block::new()
        .borders(borders)
        .border_style(theme.muted)
        .title(Line::from(Span::styled(format!(" {mark}{title} "), style)))
}

/// Cuts `s` to `width` characters, marking the cut with `…`.
///
/// `s` is escaped first (the one rule, [`escape`]): text from configuration or
/// from people may hold an ESC or a line break, which the buffer would drop or the
/// terminal obey; escaped, every character takes the cell it is counted for, so a
/// row is exactly as wide as computed and the pane's border stays put.
pub(crate) fn fit(s: &str, width: usize) -> String {
    let s = escape(s);
    let n = s.chars().count();
    if n <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// `s` cut or padded to exactly `width` characters.
pub(crate) fn pad(s: &str, width: usize) -> String {
    format!("{:<width$}", fit(s, width))
}

/// A countdown: `12:30`, `1:02:03`, or `2d 03h` beyond a day.
pub(crate) fn countdown(d: TimeDelta) -> String {
    let secs = d.num_seconds().max(0);
    let (days, h, m, s) = (
        secs / 86_400,
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60,
    );
    if days > 0 {
        format!("{days}d {h:02}h")
    } else if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// Clears a box `width`×`height` centred in `area`, frames it with a titled
/// border, and returns its inside: the frame of dialogs and help overlays.
pub(crate) fn overlay(
    buf: &mut Buffer,
    area: Rect,
    width: u16,
    height: u16,
    border: Style,
    title: Line<'static>,
) -> Rect {
    let rect = Rect::new(
        area.x + (area.width.saturating_sub(width)) / 2,
        area.y + (area.height.saturating_sub(height)) / 2,
        width.min(area.width),
        height.min(area.height),
    );
    Clear.render(rect, buf);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_style(border)
        .title(title);
    let inner = block.inner(rect);
    block.render(rect, buf);
    inner
}

/// Writes `line` at the start of `row` (one terminal row), clipped to it.
pub(crate) fn put(buf: &mut Buffer, row: Rect, y_offset: u16, line: &Line<'_>) {
    if y_offset < row.height {
        buf.set_line(row.x, row.y + y_offset, line, row.width);
    }
}

/// A style for selected rows when the pane has focus; a pointer marks them too.
pub(crate) fn row_style(selected: bool, focused: bool, theme: &Theme) -> Style {
    if selected && focused {
        theme.selected
    } else {
        Style::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdowns_read_naturally() {
        assert_eq!(countdown(TimeDelta::seconds(750)), "12:30");
        assert_eq!(countdown(TimeDelta::seconds(3723)), "1:02:03");
        assert_eq!(countdown(TimeDelta::hours(50)), "2d 02h");
        assert_eq!(countdown(TimeDelta::seconds(-5)), "0:00");
    }

    #[test]
    fn fit_marks_cuts() {
        assert_eq!(fit("ACME Corporation", 8), "ACME Co…");
        assert_eq!(pad("ab", 4), "ab  ");
    }
}
