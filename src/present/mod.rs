//! Words and documents shared by the CLI and the cockpit: release notes, the
//! changelog, the release report. Pure functions of journaled data (no I/O), so
//! golden tests pin their output.

pub mod changelog;
pub mod notes;
pub mod report;
pub mod templates;

/// External text (notes files, commit subjects, receivers' answers) made safe to
/// print: control characters other than newline and tab are escaped, so a crafted
/// commit message cannot move the cursor or retitle the terminal.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn printable_escapes_terminal_control_but_keeps_lines() {
        assert_eq!(
            super::printable("a\x1b]0;pwned\x07\nb\tc"),
            "a\\u{1b}]0;pwned\\u{7}\nb\tc"
        );
    }
}
