//! The one word wrap, measured in terminal cells (a CJK character or an emoji takes
//! two, a combining mark none), so that a wrapped line never overflows its box.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Terminal cells `text` takes.
pub fn cells(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// Greedy word wrap into lines of at most `width` cells. Explicit line breaks are
/// kept; a word wider than the line is cut at the cell boundary.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut rows = Vec::new();
    for paragraph in text.lines() {
        let mut row = String::new();
        let mut used = 0;
        for word in paragraph.split_whitespace() {
            let w = cells(word);
            if used > 0 && used + 1 + w > width {
                rows.push(std::mem::take(&mut row));
                used = 0;
            }
            if used > 0 {
                row.push(' ');
                used += 1;
            }
            if w <= width - used {
                row.push_str(word);
                used += w;
                continue;
            }
            // Wider than what is left of an empty line: cut it.
            for c in word.chars() {
                let cw = c.width().unwrap_or(0);
                if used + cw > width {
                    rows.push(std::mem::take(&mut row));
                    used = 0;
                }
                row.push(c);
                used += cw;
            }
        }
        if !row.is_empty() {
            rows.push(row);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaks_between_words_and_cuts_long_ones() {
        assert_eq!(wrap("a bb ccc dd", 6), ["a bb", "ccc dd"]);
        assert_eq!(wrap("one two three", 10), ["one two", "three"]);
        assert_eq!(wrap("abcdefghijklmno", 10), ["abcdefghij", "klmno"]);
        assert_eq!(wrap("short", 40), ["short"]);
        assert_eq!(wrap("", 6), Vec::<String>::new());
        assert_eq!(wrap("one\ntwo", 40), ["one", "two"]);
    }

    #[test]
    fn counts_cells_not_chars() {
        // Each ideograph is two cells: four of them fill an 8-cell line.
        let rows = wrap("発表 準備完了です", 8);
        assert_eq!(rows, ["発表", "準備完了", "です"]);
        for r in &rows {
            assert!(cells(r) <= 8, "{r}");
        }
        // Chars would say 5 fit in 5; cells say only 2 (4 cells).
        assert_eq!(wrap("ドイツ語", 5), ["ドイ", "ツ語"]);
    }
}
