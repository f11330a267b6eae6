//! A map from JSON paths (`customers[3].tier`) to where their values sit in the
//! file text (line and column).
//!
//! serde tells us *what* is wrong and, for syntax errors, where the parser stopped;
//! but cross-file rules ("unknown tier", "role not in the roster") are checked after
//! deserializing, when positions are gone. This small scanner walks the same text
//! once and remembers the position of every value and every object key, so those
//! errors can point at the exact spot too. It also notices duplicate object keys,
//! which serde silently resolves (last one wins) for maps such as `policies`.
//!
//! Paths use the same spelling as `serde_path_to_error`: keys joined with `.`,
//! indexes in brackets, the root is the empty string. The scanner is lenient: on
//! text that is not valid JSON it stops and keeps what it has seen; serde reports
//! the syntax error itself.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::HashMap;

/// A 1-based line and column; the column counts characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    /// Member keys in file order.
    Object(Vec<String>),
    Array(usize),
    /// A string (decoded) or the raw text of a number, `true`, `false`, `null`.
    Scalar(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Where the value starts.
    pub value: Pos,
    /// Where its key starts, for object members.
    pub key: Option<Pos>,
    pub kind: NodeKind,
}

/// An object key written twice in the same object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    pub path: String,
    pub at: Pos,
    pub first: Pos,
}

/// The index of one file's text, built the first time a position is asked for: a
/// valid file (the common case, and 10,000 customers long at scale) only pays for
/// the quick duplicate-key scan, never for a node per value.
#[derive(Debug, Clone, Default)]
pub struct PositionIndex {
    text: String,
    /// Whether the quick scan saw a key written twice in one object.
    may_have_duplicates: OnceCell<bool>,
    built: OnceCell<Built>,
}

#[derive(Debug, Clone, Default)]
struct Built {
    nodes: HashMap<String, Node>,
    duplicates: Vec<DuplicateKey>,
}

/// The path of member `key` of the object at `parent`.
pub fn child_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// The path of element `index` of the array at `parent`.
pub fn child_index(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

impl PositionIndex {
    /// The index of `text`; nothing is scanned until a position is asked for.
    pub fn new(text: &str) -> PositionIndex {
        PositionIndex {
            text: text.to_string(),
            ..PositionIndex::default()
        }
    }

    fn built(&self) -> &Built {
        self.built.get_or_init(|| {
            let mut scanner = Scanner {
                bytes: self.text.as_bytes(),
                text: &self.text,
                at: 0,
                pos: Pos { line: 1, column: 1 },
                index: Built::default(),
            };
            scanner.skip_ws();
            // A failed scan leaves a partial index; that is all we promise.
            let _ = scanner.value(String::new(), None, 0);
            scanner.index
        })
    }

    pub fn get(&self, path: &str) -> Option<&Node> {
        self.built().nodes.get(path)
    }

    /// Where the value at `path` starts.
    pub fn value_pos(&self, path: &str) -> Option<Pos> {
        self.get(path).map(|n| n.value)
    }

    /// The closest known ancestor-or-self of `path`, with its path: a value that is
    /// missing (a missing field) is best shown at the object that should hold it.
    pub fn nearest<'a>(&self, mut path: &'a str) -> Option<(&'a str, &Node)> {
        loop {
            if let Some(n) = self.get(path) {
                return Some((path, n));
            }
            if path.is_empty() {
                return None;
            }
            path = parent_of(path);
        }
    }

    /// The direct members of the object at `path`, as (path, node), in file order.
    pub fn members(&self, path: &str) -> Vec<(String, &Node)> {
        match self.get(path).map(|n| &n.kind) {
            Some(NodeKind::Object(keys)) => keys
                .iter()
                .filter_map(|k| {
                    let p = child_key(path, k);
                    self.get(&p).map(|n| (p, n))
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Keys written twice in one object, with where; the full scan runs only when
    /// the quick one saw a candidate.
    pub fn duplicates(&self) -> &[DuplicateKey] {
        if *self
            .may_have_duplicates
            .get_or_init(|| has_duplicate_keys(&self.text))
        {
            &self.built().duplicates
        } else {
            &[]
        }
    }
}

/// Whether some object in `text` has a key twice: one pass over the bytes, no path
/// or node kept. Keys are compared decoded (`"a"` and `"\u0061"` are the same key).
/// Lenient like the scanner: text that is not JSON may answer either way, and the
/// full scan (which serde's syntax error accompanies) has the last word.
fn has_duplicate_keys(text: &str) -> bool {
    let bytes = text.as_bytes();
    // Per open container: the keys of an object so far, `None` for an array.
    let mut open: Vec<Option<Vec<Cow<'_, str>>>> = Vec::new();
    let mut key_next = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'{' => {
                open.push(Some(Vec::new()));
                key_next = true;
            }
            b'[' => {
                open.push(None);
                key_next = false;
            }
            b'}' | b']' => {
                if let Some(Some(mut keys)) = open.pop() {
                    keys.sort_unstable();
                    if keys.windows(2).any(|w| w[0] == w[1]) {
                        return true;
                    }
                }
                key_next = false;
            }
            b',' => key_next = matches!(open.last(), Some(Some(_))),
            b'"' => {
                let start = i + 1;
                let mut end = start;
                let mut escaped = false;
                while let Some(&c) = bytes.get(end) {
                    match c {
                        b'\\' => end += 2,
                        b'"' => break,
                        _ => end += 1,
                    }
                    escaped |= c == b'\\';
                }
                if key_next && let Some(Some(keys)) = open.last_mut() {
                    let raw = text.get(start..end).unwrap_or_default();
                    let key = if escaped {
                        let quoted = text.get(start - 1..=end).unwrap_or_default();
                        serde_json::from_str::<String>(quoted)
                            .map_or(Cow::Borrowed(raw), Cow::Owned)
                    } else {
                        Cow::Borrowed(raw)
                    };
                    keys.push(key);
                }
                key_next = false;
                i = end;
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// `a.b[2].c` → `a.b[2]` → `a.b` → `a` → ``.
pub fn parent_of(path: &str) -> &str {
    match path.rfind(['.', '[']) {
        Some(i) => &path[..i],
        None => "",
    }
}

struct Scanner<'t> {
    bytes: &'t [u8],
    text: &'t str,
    at: usize,
    /// Position of the byte at `at`.
    pos: Pos,
    index: Built,
}

/// serde_json refuses nesting deeper than this too; stopping here keeps a
/// hostile file from exhausting the stack.
const MAX_DEPTH: usize = 128;

/// The scan stopped: the text is not valid JSON (serde reports why).
struct Stop;

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn bump(&mut self) {
        if let Some(&b) = self.bytes.get(self.at) {
            self.at += 1;
            if b == b'\n' {
                self.pos.line += 1;
                self.pos.column = 1;
            } else if b & 0xC0 != 0x80 {
                // A character is counted once, at its first byte; UTF-8
                // continuation bytes belong to the character already counted.
                self.pos.column += 1;
            }
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.bump();
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), Stop> {
        if self.peek() == Some(b) {
            self.bump();
            Ok(())
        } else {
            Err(Stop)
        }
    }

    fn value(&mut self, path: String, key: Option<Pos>, depth: usize) -> Result<(), Stop> {
        if depth > MAX_DEPTH {
            return Err(Stop);
        }
        let start = self.pos;
        match self.peek().ok_or(Stop)? {
            b'{' => self.object(path, key, start, depth),
            b'[' => self.array(path, key, start, depth),
            b'"' => {
                let s = self.string()?;
                self.insert(path, key, start, NodeKind::Scalar(s));
                Ok(())
            }
            _ => {
                let from = self.at;
                while matches!(self.peek(), Some(b) if b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
                {
                    self.bump();
                }
                if self.at == from {
                    return Err(Stop);
                }
                let raw = self.text.get(from..self.at).unwrap_or_default().to_string();
                self.insert(path, key, start, NodeKind::Scalar(raw));
                Ok(())
            }
        }
    }

    fn insert(&mut self, path: String, key: Option<Pos>, value: Pos, kind: NodeKind) {
        self.index.nodes.insert(path, Node { value, key, kind });
    }

    fn object(
        &mut self,
        path: String,
        key: Option<Pos>,
        start: Pos,
        depth: usize,
    ) -> Result<(), Stop> {
        self.bump();
        self.skip_ws();
        // Insert first so that members found before a syntax error still have a
        // parent to be listed under.
        self.insert(path.clone(), key, start, NodeKind::Object(Vec::new()));
        let mut seen: HashMap<String, Pos> = HashMap::new();
        if self.peek() == Some(b'}') {
            self.bump();
            return Ok(());
        }
        loop {
            self.skip_ws();
            let key_pos = self.pos;
            if self.peek() != Some(b'"') {
                return Err(Stop);
            }
            let k = self.string()?;
            self.skip_ws();
            self.expect(b':')?;
            self.skip_ws();
            let child = child_key(&path, &k);
            if let Some(first) = seen.get(&k) {
                self.index.duplicates.push(DuplicateKey {
                    path: child.clone(),
                    at: key_pos,
                    first: *first,
                });
            } else {
                seen.insert(k.clone(), key_pos);
                if let Some(Node {
                    kind: NodeKind::Object(keys),
                    ..
                }) = self.index.nodes.get_mut(&path)
                {
                    keys.push(k);
                }
            }
            // For a duplicate the first occurrence keeps its entry: its later twin is
            // reported as the problem, the first is what a reader sees first.
            let keep = self.index.nodes.get(&child).cloned();
            self.value(child.clone(), Some(key_pos), depth + 1)?;
            if let Some(first) = keep {
                self.index.nodes.insert(child, first);
            }
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.bump(),
                Some(b'}') => {
                    self.bump();
                    return Ok(());
                }
                _ => return Err(Stop),
            }
        }
    }

    fn array(
        &mut self,
        path: String,
        key: Option<Pos>,
        start: Pos,
        depth: usize,
    ) -> Result<(), Stop> {
        self.bump();
        self.skip_ws();
        let mut n = 0;
        if self.peek() == Some(b']') {
            self.bump();
        } else {
            loop {
                self.skip_ws();
                self.value(child_index(&path, n), None, depth + 1)?;
                n += 1;
                self.skip_ws();
                match self.peek() {
                    Some(b',') => self.bump(),
                    Some(b']') => {
                        self.bump();
                        break;
                    }
                    _ => return Err(Stop),
                }
            }
        }
        self.insert(path, key, start, NodeKind::Array(n));
        Ok(())
    }

    /// Reads a string literal standing on its opening quote and decodes it.
    fn string(&mut self) -> Result<String, Stop> {
        self.expect(b'"')?;
        let mut out = String::new();
        loop {
            let from = self.at;
            while !matches!(self.peek(), None | Some(b'"' | b'\\')) {
                self.bump();
            }
            out.push_str(self.text.get(from..self.at).ok_or(Stop)?);
            match self.peek() {
                Some(b'"') => {
                    self.bump();
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.bump();
                    let c = self.peek().ok_or(Stop)?;
                    self.bump();
                    match c {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi)
                                && self.bytes.get(self.at..self.at + 2) == Some(b"\\u")
                            {
                                self.bump();
                                self.bump();
                                let lo = self.hex4()?;
                                0x10000 + ((hi - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3FF)
                            } else {
                                hi
                            };
                            out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                        }
                        _ => return Err(Stop),
                    }
                }
                _ => return Err(Stop),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, Stop> {
        let digits = self.text.get(self.at..self.at + 4).ok_or(Stop)?;
        let v = u32::from_str_radix(digits, 16).map_err(|_| Stop)?;
        for _ in 0..4 {
            self.bump();
        }
        Ok(v)
    }
}

/// Turns serde_json's 1-based line and *byte* column into a character column, so
/// that serde's positions and ours agree on lines with non-ASCII text.
pub fn char_column(text: &str, line: usize, byte_column: usize) -> usize {
    let Some(line_text) = text.split('\n').nth(line.saturating_sub(1)) else {
        return byte_column;
    };
    let end = byte_column.min(line_text.len());
    // Count characters that start within the first `end` bytes.
    line_text
        .as_bytes()
        .iter()
        .take(end)
        .filter(|b| *b & 0xC0 != 0x80)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"{
  "customers": [
    { "id": "acme", "tier": "gold" },
    {
      "id": "ü-corp",
      "tier": 5
    }
  ],
  "on": true
}"#;

    fn key_pos(ix: &PositionIndex, path: &str) -> Option<Pos> {
        ix.get(path).and_then(|n| n.key)
    }

    fn pos(line: usize, column: usize) -> Pos {
        Pos { line, column }
    }

    #[test]
    fn finds_values_and_keys_by_path() {
        let ix = PositionIndex::new(TEXT);
        assert_eq!(ix.value_pos(""), Some(pos(1, 1)));
        assert_eq!(ix.value_pos("customers"), Some(pos(2, 16)));
        assert_eq!(key_pos(&ix, "customers"), Some(pos(2, 3)));
        assert_eq!(ix.value_pos("customers[0]"), Some(pos(3, 5)));
        assert_eq!(ix.value_pos("customers[0].tier"), Some(pos(3, 29)));
        assert_eq!(key_pos(&ix, "customers[0].tier"), Some(pos(3, 21)));
        assert_eq!(ix.value_pos("customers[1].tier"), Some(pos(6, 15)));
        assert_eq!(ix.value_pos("on"), Some(pos(9, 9)));
        assert_eq!(
            ix.get("customers[0].tier").map(|n| &n.kind),
            Some(&NodeKind::Scalar("gold".into()))
        );
        assert_eq!(
            ix.get("customers").map(|n| &n.kind),
            Some(&NodeKind::Array(2))
        );
    }

    #[test]
    fn counts_columns_in_characters() {
        let text = "{\"ü\": \"é\", \"x\": 1}";
        let ix = PositionIndex::new(text);
        assert_eq!(ix.value_pos("x"), Some(pos(1, 17)));
        // serde_json would say byte column 19 for the `1`; that is character 17.
        assert_eq!(char_column(text, 1, 19), 17);
    }

    #[test]
    fn nearest_walks_up_to_a_known_ancestor() {
        let ix = PositionIndex::new(TEXT);
        let (p, n) = ix.nearest("customers[1].health.kind").expect("an ancestor");
        assert_eq!(p, "customers[1]");
        assert_eq!(n.value, pos(4, 5));
        assert_eq!(parent_of("a.b[2].c"), "a.b[2]");
        assert_eq!(parent_of("a"), "");
    }

    #[test]
    fn lists_members_in_file_order() {
        let ix = PositionIndex::new(TEXT);
        let keys: Vec<String> = ix
            .members("customers[1]")
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert_eq!(keys, ["customers[1].id", "customers[1].tier"]);
    }

    #[test]
    fn the_quick_duplicate_scan_agrees_with_the_full_one() {
        let cases = [
            (r#"{"a": [{"x": 1}, {"x": 2}], "b": {"x": 3}}"#, false),
            (r#"{"a": "}{\"a\":", "b": ["a", "a"], "c": 1}"#, false),
            (r#"{"a": 1, "\u0061": 2}"#, true),
            (r#"{"o": {"k": 1, "j": [], "k": {}}}"#, true),
            (
                r#"[{"a": 1}, {"a": 1}, {"b": {"a": 1, "c": {"a": 2}}}]"#,
                false,
            ),
            (r#"{"a\"b": 1, "a\u0022b": 2}"#, true),
        ];
        for (text, twice) in cases {
            assert_eq!(has_duplicate_keys(text), twice, "{text}");
            let full = PositionIndex::new(text);
            assert_eq!(!full.built().duplicates.is_empty(), twice, "{text}");
        }
        // A file without duplicates never builds the full index to say so.
        let ix = PositionIndex::new(r#"{"a": 1, "b": {"a": 2}}"#);
        assert!(ix.duplicates().is_empty());
        assert!(ix.built.get().is_none());
    }

    #[test]
    fn reports_duplicate_keys_and_keeps_the_first() {
        let ix = PositionIndex::new("{\"a\": 1,\n \"a\": 2}");
        assert_eq!(
            ix.duplicates(),
            &[DuplicateKey {
                path: "a".into(),
                at: pos(2, 2),
                first: pos(1, 2)
            }]
        );
        assert_eq!(ix.value_pos("a"), Some(pos(1, 7)));
    }

    #[test]
    fn keeps_what_it_saw_before_a_syntax_error() {
        let ix = PositionIndex::new("{\"a\": 1, \"b\": [1, }");
        assert_eq!(ix.value_pos("a"), Some(pos(1, 7)));
        assert!(ix.get("b[0]").is_some());
    }

    #[test]
    fn decodes_escapes_in_keys_and_strings() {
        let ix = PositionIndex::new(r#"{"a\"b": "\u00fc\n", "c": "\ud83d\ude00"}"#);
        assert_eq!(
            ix.get("a\"b").map(|n| &n.kind),
            Some(&NodeKind::Scalar("ü\n".into()))
        );
        assert_eq!(
            ix.get("c").map(|n| &n.kind),
            Some(&NodeKind::Scalar("😀".into()))
        );
    }

    #[test]
    fn survives_deep_nesting() {
        let text = "[".repeat(10_000);
        let ix = PositionIndex::new(&text);
        assert!(ix.get("").is_none());
    }
}
