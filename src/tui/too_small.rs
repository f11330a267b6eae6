//! The screen shown instead of the cockpit when the terminal is smaller than 80×24.
//!
//! The cockpit's layout is designed for 80×24 and up. Squeezing it smaller would clip
//! columns (a "failed" cut to "fai", a customer name cut mid-word) and an operator
//! could misread the state of a release. So below the minimum the cockpit shows only
//! this message, which says exactly what is needed and how to get out: it wraps and
//! centres itself down to very small panes (a tmux split), and `q` still quits.

use ratatui::buffer::Buffer;
use ratatui::layout::{Rect, Size};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Widget;

use super::theme::Theme;
use super::wrap::wrap as wrap_words;

/// The narrowest terminal the cockpit draws in.
pub const MIN_WIDTH: u16 = 80;
/// The shortest terminal the cockpit draws in.
pub const MIN_HEIGHT: u16 = 24;

/// Whether an area is below the cockpit's minimum in either dimension.
pub fn is_too_small(size: Size) -> bool {
    size.width < MIN_WIDTH || size.height < MIN_HEIGHT
}

/// Renders "terminal too small (need 80×24, have W×H) — enlarge the window or press
/// q", centred, with W×H taken from the area it is rendered into.
#[derive(Debug, Clone, Copy)]
pub struct TooSmall {
    title: Style,
    body: Style,
}

impl TooSmall {
    /// The message styled with the theme's warning (title) and plain body text.
    pub fn new(theme: &Theme) -> Self {
        Self {
            title: theme.warning.patch(theme.header),
            body: Style::new(),
        }
    }

    /// The message's lines for a terminal of `have` cells (before wrapping).
    pub fn message(have: Size) -> [String; 3] {
        [
            "terminal too small".to_string(),
            format!(
                "(need {MIN_WIDTH}×{MIN_HEIGHT}, have {}×{})",
                have.width, have.height
            ),
            "— enlarge the window or press q".to_string(),
        ]
    }
}

impl Widget for TooSmall {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.is_empty() {
            return;
        }
        let width = usize::from(area.width);
        let mut lines: Vec<Line<'static>> = Vec::new();
        for (index, text) in Self::message(area.as_size()).into_iter().enumerate() {
            let style = if index == 0 { self.title } else { self.body };
            lines.extend(
                wrap_words(&text, width)
                    .into_iter()
                    .map(|row| Line::styled(row, style).centered()),
            );
        }
        // Centre vertically; when the pane is shorter than the message, keep its top
        // (the words "terminal too small") rather than its middle.
        let height = usize::from(area.height);
        let top = height.saturating_sub(lines.len()) / 2;
        for (offset, line) in lines.into_iter().take(height).enumerate() {
            let y = area.y + u16::try_from(top + offset).unwrap_or(u16::MAX);
            line.render(Rect::new(area.x, y, area.width, 1), buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn screen(width: u16, height: u16) -> Vec<String> {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal
            .draw(|frame| frame.render_widget(TooSmall::new(&Theme::monochrome()), frame.area()))
            .unwrap();
        let buffer = terminal.backend().buffer();
        (0..height)
            .map(|y| {
                (0..width)
                    .map(|x| buffer[(x, y)].symbol())
                    .collect::<String>()
            })
            .collect()
    }

    #[test]
    fn minimum_is_80_by_24() {
        assert!(!is_too_small(Size::new(80, 24)));
        assert!(is_too_small(Size::new(79, 24)));
        assert!(is_too_small(Size::new(80, 23)));
        assert!(!is_too_small(Size::new(200, 60)));
    }

    #[test]
    fn says_what_is_needed_and_what_there_is_centred() {
        let lines = screen(60, 7);
        assert_eq!(
            lines,
            [
                "                                                            ",
                "                                                            ",
                "                     terminal too small                     ",
                "                  (need 80×24, have 60×7)                   ",
                "              — enlarge the window or press q               ",
                "                                                            ",
                "                                                            ",
            ]
        );
    }

    #[test]
    fn wraps_in_a_narrow_tmux_split() {
        let lines: Vec<String> = screen(20, 10)
            .into_iter()
            .map(|line| line.trim().to_string())
            .filter(|line| !line.is_empty())
            .collect();
        assert_eq!(
            lines,
            [
                "terminal too small",
                "(need 80×24, have",
                "20×10)",
                "— enlarge the window",
                "or press q",
            ]
        );
    }

    #[test]
    fn keeps_the_title_when_the_pane_is_very_short() {
        let lines = screen(40, 1);
        assert_eq!(lines[0].trim(), "terminal too small");
    }

    /// A buffer of dots with the message rendered into `area` (inside it).
    fn dots_with_message_in(area: Rect) -> Buffer {
        let mut buf = Buffer::filled(Rect::new(0, 0, 12, 6), ratatui::buffer::Cell::new("."));
        TooSmall::new(&Theme::ansi16()).render(area, &mut buf);
        buf
    }

    #[test]
    fn renders_nothing_into_an_empty_area() {
        let untouched = Buffer::filled(Rect::new(0, 0, 12, 6), ratatui::buffer::Cell::new("."));
        // A pane with no columns, no rows, or neither, anywhere in the buffer.
        for area in [
            Rect::new(0, 0, 0, 0),
            Rect::new(3, 2, 0, 0),
            Rect::new(3, 2, 0, 4),
            Rect::new(3, 2, 9, 0),
        ] {
            assert_eq!(dots_with_message_in(area), untouched, "{area:?}");
        }
        // The same check sees a render: one cell gets the message's first letter.
        let one = dots_with_message_in(Rect::new(3, 2, 1, 1));
        assert_ne!(one, untouched);
        assert_eq!(one[(3, 2)].symbol(), "t");
    }
}
