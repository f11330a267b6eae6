//! The cockpit's styles and symbols, chosen once at startup from flags and
//! environment.
//!
//! Views ask for a *role* (`theme.failed`, `symbols.ok`), never for a colour, so that
//! three situations an operator may be in all work:
//!
//! - `--no-color` or `NO_COLOR` (<https://no-color.org>): no foreground or background
//!   colour at all; roles differ by bold / reversed / underlined only.
//! - the default: the 16 named ANSI colours, which every terminal and tmux renders and
//!   which follow the operator's own palette (light or dark).
//! - `COLORTERM=truecolor|24bit`: RGB colours, tuned to stay readable on dark and
//!   light backgrounds.
//!
//! Colour never carries meaning alone: every status is also a word ("ok", "failed",
//! "paused"), usually with a symbol. Symbols are single-width characters present in
//! every terminal font (ASCII, box drawing and shades); no emoji, whose width differs
//! between terminals and breaks column alignment over ssh.

use ratatui::style::{Color, Modifier, Style};

/// How much colour the terminal gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    /// No colours: modifiers only.
    Monochrome,
    /// The 16 named ANSI colours.
    Ansi16,
    /// 24-bit RGB.
    TrueColor,
}

impl ColorMode {
    /// Picks the mode from the `--no-color` flag and the environment (`env` is
    /// `std::env::var(..).ok()` in production, a closure over a map in tests).
    ///
    /// `NO_COLOR` counts only when non-empty, as the convention says.
    pub fn detect(no_color_flag: bool, env: impl Fn(&str) -> Option<String>) -> Self {
        let set = |name: &str| env(name).is_some_and(|value| !value.is_empty());
        if no_color_flag || set("NO_COLOR") {
            return Self::Monochrome;
        }
        match env("COLORTERM").as_deref().map(str::to_ascii_lowercase) {
            Some(value) if value == "truecolor" || value == "24bit" => Self::TrueColor,
            _ => Self::Ansi16,
        }
    }
}

/// Style slots, one per role a view may need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    /// The mode these styles were built for.
    pub mode: ColorMode,
    /// Healthy, done, passed.
    pub ok: Style,
    /// Waiting on a gate, degraded, needs attention soon.
    pub warning: Style,
    /// Failed, error, trigger fired.
    pub failed: Style,
    /// Deploying, verifying, running now.
    pub in_progress: Style,
    /// Secondary text: timestamps, hints, pending items.
    pub muted: Style,
    /// Emphasis that is not a status: key hints, the "now" marker, the operator name.
    pub accent: Style,
    /// The selected row or focused item.
    pub selected: Style,
    /// Title bar and pane headers.
    pub header: Style,
    /// The full-width PAUSED / ROLLING BACK banner: must be impossible to miss.
    pub banner: Style,
}

impl Theme {
    /// The theme for the flag and environment; see [`ColorMode::detect`].
    pub fn from_env(no_color_flag: bool, env: impl Fn(&str) -> Option<String>) -> Self {
        Self::for_mode(ColorMode::detect(no_color_flag, env))
    }

    /// The theme for a given mode.
    pub fn for_mode(mode: ColorMode) -> Self {
        match mode {
            ColorMode::Monochrome => Self::monochrome(),
            ColorMode::Ansi16 => Self::ansi16(),
            ColorMode::TrueColor => Self::truecolor(),
        }
    }

    /// No colours; roles told apart by modifiers. `ok` and `muted` are plain: their
    /// words ("ok", timestamps) carry them, and the eye should go to the rest.
    pub fn monochrome() -> Self {
        let plain = Style::new();
        let bold = Style::new().add_modifier(Modifier::BOLD);
        Self {
            mode: ColorMode::Monochrome,
            ok: plain,
            warning: bold,
            failed: bold.add_modifier(Modifier::UNDERLINED),
            in_progress: bold,
            muted: plain,
            accent: bold,
            selected: Style::new().add_modifier(Modifier::REVERSED),
            header: bold,
            banner: bold.add_modifier(Modifier::REVERSED),
        }
    }

    /// The 16 named ANSI colours. Backgrounds are avoided (they clash with the
    /// operator's palette) except where reversed video or the banner needs one.
    pub fn ansi16() -> Self {
        let bold = Modifier::BOLD;
        Self {
            mode: ColorMode::Ansi16,
            ok: Style::new().fg(Color::Green),
            warning: Style::new().fg(Color::Yellow),
            failed: Style::new().fg(Color::Red).add_modifier(bold),
            in_progress: Style::new().fg(Color::Cyan),
            muted: Style::new().fg(Color::DarkGray),
            accent: Style::new().fg(Color::Magenta),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            header: Style::new().add_modifier(bold),
            banner: Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(bold),
        }
    }

    /// RGB colours, mid-luminance so they read on dark and light backgrounds.
    pub fn truecolor() -> Self {
        let bold = Modifier::BOLD;
        Self {
            mode: ColorMode::TrueColor,
            ok: Style::new().fg(Color::Rgb(46, 160, 67)),
            warning: Style::new().fg(Color::Rgb(210, 153, 34)),
            failed: Style::new().fg(Color::Rgb(218, 54, 51)).add_modifier(bold),
            in_progress: Style::new().fg(Color::Rgb(56, 139, 253)),
            muted: Style::new().fg(Color::Rgb(125, 133, 144)),
            accent: Style::new().fg(Color::Rgb(163, 113, 247)),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            header: Style::new().add_modifier(bold),
            banner: Style::new()
                .fg(Color::Rgb(20, 20, 20))
                .bg(Color::Rgb(230, 180, 40))
                .add_modifier(bold),
        }
    }

    /// Every slot, for tests and for a theme preview.
    pub fn slots(&self) -> [(&'static str, Style); 9] {
        [
            ("ok", self.ok),
            ("warning", self.warning),
            ("failed", self.failed),
            ("in_progress", self.in_progress),
            ("muted", self.muted),
            ("accent", self.accent),
            ("selected", self.selected),
            ("header", self.header),
            ("banner", self.banner),
        ]
    }
}

/// Status glyphs. Every one is a single cell wide; views always print a word next to
/// it ("+ ok", "x failed"), so a glyph a font lacks loses nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Symbols {
    /// Healthy / done.
    pub ok: &'static str,
    /// Failed / error.
    pub failed: &'static str,
    /// Warning / waiting on a gate.
    pub warning: &'static str,
    /// In progress.
    pub in_progress: &'static str,
    /// Not started yet.
    pub pending: &'static str,
    /// Paused.
    pub paused: &'static str,
    /// Marks the selected row.
    pub pointer: &'static str,
    /// A filled cell of a timeline or progress bar.
    pub bar_done: &'static str,
    /// An empty cell of a timeline or progress bar (scheduled, not started).
    pub bar_todo: &'static str,
    /// The running head of a bar.
    pub bar_head: &'static str,
    /// The "now" marker above the timeline.
    pub now: &'static str,
    /// Checklist item ticked / not ticked.
    pub checked: &'static str,
    /// Checklist item not ticked.
    pub unchecked: &'static str,
}

impl Symbols {
    /// ASCII status marks, with box-drawing shades for bars: present in every
    /// terminal font shipdeck is likely to meet (the same range ratatui's borders use).
    pub const DEFAULT: Self = Self {
        ok: "+",
        failed: "x",
        warning: "!",
        in_progress: "~",
        pending: ".",
        paused: "=",
        pointer: ">",
        bar_done: "█",
        bar_todo: "░",
        bar_head: "▶",
        now: "▼",
        checked: "[x]",
        unchecked: "[ ]",
    };

    /// Pure ASCII, for terminals or fonts without block elements.
    pub const ASCII: Self = Self {
        bar_done: "#",
        bar_todo: ".",
        bar_head: ">",
        now: "v",
        ..Self::DEFAULT
    };

    /// Every glyph, for tests.
    pub fn all(&self) -> [&'static str; 13] {
        [
            self.ok,
            self.failed,
            self.warning,
            self.in_progress,
            self.pending,
            self.paused,
            self.pointer,
            self.bar_done,
            self.bar_todo,
            self.bar_head,
            self.now,
            self.checked,
            self.unchecked,
        ]
    }
}

impl Default for Symbols {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::text::Span;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn default_is_the_sixteen_named_colours() {
        let theme = Theme::from_env(false, env(&[]));
        assert_eq!(theme.mode, ColorMode::Ansi16);
        for (slot, style) in theme.slots() {
            for color in [style.fg, style.bg].into_iter().flatten() {
                assert!(
                    !matches!(color, Color::Rgb(..) | Color::Indexed(_)),
                    "{slot} uses {color:?}, not one of the 16 named colours"
                );
            }
        }
    }

    #[test]
    fn no_color_flag_or_non_empty_env_means_no_colours_at_all() {
        for theme in [
            Theme::from_env(true, env(&[("COLORTERM", "truecolor")])),
            Theme::from_env(false, env(&[("NO_COLOR", "1"), ("COLORTERM", "24bit")])),
        ] {
            assert_eq!(theme.mode, ColorMode::Monochrome);
            for (slot, style) in theme.slots() {
                assert_eq!(style.fg, None, "{slot} has a foreground colour");
                assert_eq!(style.bg, None, "{slot} has a background colour");
                assert_eq!(
                    style.underline_color, None,
                    "{slot} has an underline colour"
                );
            }
        }
    }

    #[test]
    fn an_empty_no_color_is_ignored() {
        let theme = Theme::from_env(false, env(&[("NO_COLOR", "")]));
        assert_eq!(theme.mode, ColorMode::Ansi16);
    }

    #[test]
    fn monochrome_still_tells_statuses_apart() {
        let theme = Theme::monochrome();
        assert_ne!(theme.failed, theme.ok);
        assert_ne!(theme.failed, theme.warning);
        assert_ne!(theme.selected, theme.ok);
        assert_ne!(theme.banner, theme.header);
        let allowed = Modifier::BOLD | Modifier::REVERSED | Modifier::UNDERLINED;
        for (slot, style) in theme.slots() {
            assert!(allowed.contains(style.add_modifier), "{slot}: {style:?}");
        }
    }

    #[test]
    fn rgb_only_when_colorterm_says_so() {
        for value in ["truecolor", "24bit", "TRUECOLOR"] {
            let theme = Theme::from_env(false, env(&[("COLORTERM", value)]));
            assert_eq!(theme.mode, ColorMode::TrueColor, "COLORTERM={value}");
        }
        for value in ["", "yes", "256color"] {
            let theme = Theme::from_env(false, env(&[("COLORTERM", value)]));
            assert_eq!(theme.mode, ColorMode::Ansi16, "COLORTERM={value}");
        }
    }

    #[test]
    fn symbols_are_single_width_and_never_emoji() {
        for symbols in [Symbols::DEFAULT, Symbols::ASCII] {
            for glyph in symbols.all() {
                let cells = Span::raw(glyph).width();
                assert_eq!(
                    cells,
                    glyph.chars().count(),
                    "{glyph:?} is not 1 cell per char"
                );
                // Emoji live at U+1F000 and above, or U+2600..U+27BF.
                assert!(
                    glyph
                        .chars()
                        .all(|c| (c as u32) < 0x2600 || (0x2580..0x25FF).contains(&(c as u32))),
                    "{glyph:?} is outside ASCII / box drawing / block elements / shapes"
                );
            }
        }
        assert!(Symbols::ASCII.all().iter().all(|glyph| glyph.is_ascii()));
    }
}
