//! External text made safe to print: names from config, `--as`, reasons people
//! type, probe and deploy output, HTTP reasons.
//!
//! A terminal obeys the control characters it is sent: an ESC in a customer name
//! can retitle the window or clear the screen, a newline in a reason forges a line
//! in a log. So plain output and log files show such characters escaped (`\n`,
//! `\x1b`, `\u{202e}`), never raw, as the cockpit does (it drops them). JSON output
//! needs nothing: serde escapes control characters in strings. One helper, used by
//! every face, so that no path prints raw text by accident.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal or a log line as itself: C0 and C1
/// controls, DEL, and the bidirectional overrides that reorder what is shown.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The first character of `s` that [`escape`] would escape, if any.
pub fn first_unsafe(s: &str) -> Option<char> {
    s.chars().find(|c| is_unsafe_char(*c))
}

/// `s` with every unsafe character written as an escape (`\n`, `\t`, `\r`,
/// `\x1b`, `\u{202e}`); borrowed, without copying, when there is none.
pub fn escape(s: &str) -> Cow<'_, str> {
    if first_unsafe(s).is_none() {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !is_unsafe_char(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    Cow::Owned(out)
}

/// How a character is named in an error message: `U+001B (ESC)`-like, plainly.
pub fn describe_char(c: char) -> String {
    format!("control character {}", escape(&c.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_and_controls_are_escaped() {
        assert!(matches!(escape("ACME Corp – Zürich"), Cow::Borrowed(_)));
        assert_eq!(
            escape("\x1b]0;PWNED\x07\x1b[2J"),
            "\\x1b]0;PWNED\\x07\\x1b[2J"
        );
        assert_eq!(escape("a\nb\tc\r"), "a\\nb\\tc\\r");
        assert_eq!(escape("\u{9b}x\u{202e}"), "\\u{9b}x\\u{202e}");
        assert_eq!(first_unsafe("ok"), None);
        assert_eq!(first_unsafe("o\u{7f}k"), Some('\u{7f}'));
    }
}
