//! Deserializing one file, and turning serde's error into a [`ConfigError`] that
//! names the field and points at it.
//!
//! serde_path_to_error knows the field path; serde_json knows where the parser was
//! when it gave up. That position is right for syntax errors, but for a wrong value
//! it is often the *end* of the enclosing object (values inside internally tagged
//! enums such as `health` are buffered before they are checked). So for data errors
//! the position comes from our own [`PositionIndex`], and the path is sharpened to
//! the member the message talks about when serde could not say which one it was.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::domain::text;

use super::error::ConfigError;
use super::position::{self, NodeKind, PositionIndex};

/// Deserializes `text` as a `T`. `file` is the name shown in errors.
///
/// The text is read as a JSON document first: a syntax error stops here, with the
/// parser's position. Then every string in the document (keys too) is checked for
/// control characters, whatever field it is in, so that a field added later cannot
/// slip past; then the document is deserialized into its types, reporting every
/// value that does not fit, not only the first (see [`super::collect`]). Returns
/// the value when it has the right shape (even if a string in it was refused, so
/// that the rules across values still run) and every problem found.
pub(crate) fn parse<T: DeserializeOwned>(
    file: &str,
    text: &str,
    index: &PositionIndex,
) -> (Option<T>, Vec<ConfigError>) {
    // A file without a single escape or unsafe character (JSON whitespace aside)
    // cannot hold a string the walk below would refuse: read it straight into its
    // type, with no document in between (a 10,000-customer file reads in a tenth
    // of the time and memory). Anything it does not fit takes the long way.
    let plain = !text.contains('\\')
        && !text
            .chars()
            .any(|c| text::is_unsafe_char(c) && !matches!(c, '\n' | '\r' | '\t'));
    if plain && let Ok(value) = serde_json::from_str::<T>(text) {
        return (Some(value), Vec::new());
    }
    // The common case, a well-formed file, is read without tracking paths; only a
    // file that does not read is read again through serde_path_to_error, so that
    // the syntax error names the field it is in (`roles[0]`).
    if let Ok(doc) = serde_json::from_str::<Value>(text) {
        return checked(file, text, index, doc);
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let doc: Value = match serde_path_to_error::deserialize(&mut de) {
        Ok(v) => match de.end() {
            // Trailing text after the top-level value ("}}" or a second object).
            Ok(()) => v,
            Err(e) => return (None, vec![at_parser(file, text, String::new(), &e)]),
        },
        // serde_json would say "EOF while parsing a value".
        Err(_) if text.trim().is_empty() => {
            let error = ConfigError {
                file: file.to_string(),
                line: 1,
                column: 1,
                field: String::new(),
                message: "the file is empty; it must hold a JSON object (copy the file from the repository's config/ to start)".into(),
            };
            return (None, vec![error]);
        }
        Err(e) => {
            let (path, _) = path_string(e.path());
            return (None, vec![at_parser(file, text, path, e.inner())]);
        }
    };
    checked(file, text, index, doc)
}

/// A document that read as JSON: its strings checked, then its types.
fn checked<T: DeserializeOwned>(
    file: &str,
    text: &str,
    index: &PositionIndex,
    doc: Value,
) -> (Option<T>, Vec<ConfigError>) {
    let mut errors = Vec::new();
    plain_strings(file, index, &doc, &mut errors);
    let (value, found) = super::collect::deserialize::<T>(file, text, index, doc);
    errors.extend(found);
    (value, errors)
}

/// Every string in `doc`, and every object key, refused when it holds a character
/// that must not reach a terminal (C0 and C1 controls, DEL, bidirectional
/// overrides): no configuration text is multi-line, and a newline or an escape
/// sequence in a note, a checklist item or an e-mail address would forge lines or
/// drive the terminal wherever it is shown. One walk over the whole document, so
/// a field added later is covered without a rule of its own.
fn plain_strings(file: &str, index: &PositionIndex, doc: &Value, errors: &mut Vec<ConfigError>) {
    let mut refused = Vec::new();
    walk_strings(doc, &mut Vec::new(), &mut refused);
    for r in refused {
        let error = if r.is_key {
            let pos = index.get(&r.path).map(|n| n.key.unwrap_or(n.value));
            unsafe_text(file, pos, &r.path, "the key ", r.text, r.char)
        } else {
            let pos = index.value_pos(&r.path);
            unsafe_text(file, pos, &r.path, "", r.text, r.char)
        };
        errors.push(error);
    }
}

/// One step of the path to a string: kept borrowed, and spelt out only for a
/// refused string, so that a valid file of 10,000 customers allocates nothing here.
enum Step<'v> {
    Key(&'v str),
    Index(usize),
}

/// A string (or key) holding an unsafe character, with its path.
struct Refused<'v> {
    path: String,
    is_key: bool,
    text: &'v str,
    char: char,
}

/// serde_json bounds the nesting (128), so the recursion is bounded too.
fn walk_strings<'v>(v: &'v Value, steps: &mut Vec<Step<'v>>, refused: &mut Vec<Refused<'v>>) {
    let spelt = |steps: &[Step<'_>]| {
        steps.iter().fold(String::new(), |p, s| match s {
            Step::Key(k) => position::child_key(&p, k),
            Step::Index(i) => position::child_index(&p, *i),
        })
    };
    match v {
        Value::String(s) => {
            if let Some(c) = text::first_unsafe(s) {
                refused.push(Refused {
                    path: spelt(steps),
                    is_key: false,
                    text: s,
                    char: c,
                });
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                steps.push(Step::Index(i));
                walk_strings(x, steps, refused);
                steps.pop();
            }
        }
        Value::Object(members) => {
            for (k, x) in members {
                steps.push(Step::Key(k));
                if let Some(c) = text::first_unsafe(k) {
                    refused.push(Refused {
                        path: spelt(steps),
                        is_key: true,
                        text: k,
                        char: c,
                    });
                }
                walk_strings(x, steps, refused);
                steps.pop();
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// The rule every string of every file follows, as the refusal says it.
const PLAIN_TEXT_RULE: &str = "configuration text must be plain text on one line";

/// Drops the problems found at a field that was refused for holding control
/// characters: that refusal is the one to fix, and a second line about the same
/// value ("unknown customer", "not a header name") would only repeat it.
pub(crate) fn drop_shadowed(errors: &mut Vec<ConfigError>) {
    let refused: std::collections::HashSet<(String, String)> = errors
        .iter()
        .filter(|e| e.message.contains(PLAIN_TEXT_RULE))
        .map(|e| (e.file.clone(), e.field.clone()))
        .collect();
    if refused.is_empty() {
        return;
    }
    errors.retain(|e| {
        e.message.contains(PLAIN_TEXT_RULE) || !refused.contains(&(e.file.clone(), e.field.clone()))
    });
}

fn unsafe_text(
    file: &str,
    pos: Option<position::Pos>,
    path: &str,
    what: &str,
    s: &str,
    c: char,
) -> ConfigError {
    ConfigError {
        file: file.to_string(),
        line: pos.map_or(0, |p| p.line),
        column: pos.map_or(0, |p| p.column),
        field: path.to_string(),
        message: format!(
            "{what}`{}` contains the {}; {PLAIN_TEXT_RULE} (no escape sequences, line breaks or tabs)",
            text::escape(s),
            text::describe_char(c)
        ),
    }
}

/// serde_json's message without its " at line L column C" tail: we print the
/// position ourselves, in front, the way compilers do.
pub(crate) fn bare_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let tail = format!(" at line {} column {}", e.line(), e.column());
    full.strip_suffix(&tail).map(str::to_string).unwrap_or(full)
}

/// The path in `serde_path_to_error`'s spelling, cut before the first segment it
/// could not name (a map key it had not read yet); the flag says one was cut.
fn path_string(path: &serde_path_to_error::Path) -> (String, bool) {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out = position::child_index(&out, *index),
            Segment::Map { key } => out = position::child_key(&out, key),
            Segment::Enum { variant } => out = position::child_key(&out, variant),
            Segment::Unknown => return (out, true),
        }
    }
    (out, false)
}

fn at_parser(file: &str, text: &str, field: String, e: &serde_json::Error) -> ConfigError {
    ConfigError {
        file: file.to_string(),
        // serde_json says column 0 at the very start of a line (an empty file, or
        // one cut short after a newline); columns here are 1-based.
        line: e.line().max(1),
        column: position::char_column(text, e.line(), e.column()).max(1),
        field,
        message: bare_message(e),
    }
}

pub(crate) fn data_error(
    file: &str,
    text: &str,
    index: &PositionIndex,
    mut path: String,
    unknown_tail: bool,
    e: &serde_json::Error,
) -> ConfigError {
    let message = bare_message(e);
    let mut at_key = false;

    if let Some(name) = quoted_after(&message, "unknown field ") {
        // serde names the field; point at its key, which is what is misspelt. Inside a
        // tagged enum the path stops at the enum, so add the field ourselves.
        if !path.ends_with(&format!(".{name}")) && path != name {
            let candidate = position::child_key(&path, &name);
            if index.get(&candidate).is_some() {
                path = candidate;
            } else if let [one] = descendant_keys(index, &path, &name).as_slice() {
                // Deeper inside a tagged enum (a header of a webhook target): the
                // one key of that name below it.
                path = one.clone();
            }
        }
        at_key = true;
    } else if let Some(name) = quoted_after(&message, "duplicate field ") {
        let candidate = position::child_key(&path, &name);
        if let Some(dup) = index.duplicates().iter().find(|d| d.path == candidate) {
            return ConfigError {
                file: file.to_string(),
                line: dup.at.line,
                column: dup.at.column,
                field: candidate,
                message,
            };
        }
    } else if index.get(&path).is_some_and(|n| n.key.is_some()) && quotes(&message, last_key(&path))
    {
        // A map key that is not accepted (`"docs": {...}` in policies): the key is
        // what is wrong, not the value after it.
        at_key = true;
    } else if !message.starts_with("missing field ") {
        // The path may stop at an object (a map key serde had not named yet, or a
        // tagged enum): find the one member whose key or value the message quotes.
        let is_object = matches!(index.get(&path).map(|n| &n.kind), Some(NodeKind::Object(_)));
        if (unknown_tail || is_object)
            && let Some((member, by_key)) = quoted_member(index, &path, &message)
        {
            path = member;
            at_key = by_key;
        }
    }

    match index.nearest(&path) {
        Some((_, node)) => {
            let pos = if at_key {
                node.key.unwrap_or(node.value)
            } else {
                node.value
            };
            ConfigError {
                file: file.to_string(),
                line: pos.line,
                column: pos.column,
                field: path,
                message,
            }
        }
        None => at_parser(file, text, path, e),
    }
}

/// Paths below `path` (objects and arrays, any depth) whose last key is `name`.
fn descendant_keys(index: &PositionIndex, path: &str, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![path.to_string()];
    while let Some(p) = stack.pop() {
        match index.get(&p).map(|n| &n.kind) {
            Some(NodeKind::Object(keys)) => {
                for k in keys {
                    let child = position::child_key(&p, k);
                    if k == name {
                        out.push(child.clone());
                    }
                    stack.push(child);
                }
            }
            Some(NodeKind::Array(len)) => {
                stack.extend((0..*len).map(|i| position::child_index(&p, i)));
            }
            _ => {}
        }
    }
    out
}

/// `unknown field `tierr`, expected ...` → `tierr`.
pub(crate) fn quoted_after(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?.strip_prefix('`')?;
    rest.split_once('`').map(|(name, _)| name.to_string())
}

/// Whether the message quotes `s` as `` `s` `` or `"s"`.
fn quotes(message: &str, s: &str) -> bool {
    message.contains(&format!("`{s}`")) || message.contains(&format!("\"{s}\""))
}

/// `policies.docs` → `docs`.
fn last_key(path: &str) -> &str {
    path.rsplit_once('.').map_or(path, |(_, k)| k)
}

/// The first value the message quotes, in `` `x` `` or `"x"`: serde and our own
/// parsers name the offending value first ("unknown variant `hotfix`, expected
/// one of `security`, ...").
fn first_quoted(message: &str) -> Option<&str> {
    let open = message.find(['`', '"'])?;
    let quote = message[open..].chars().next()?;
    let rest = &message[open + 1..];
    rest.find(quote).map(|end| &rest[..end])
}

/// The single direct member of `path` whose key, or else whose scalar value, is
/// the first thing the message quotes; with whether it matched by key.
fn quoted_member(index: &PositionIndex, path: &str, message: &str) -> Option<(String, bool)> {
    let wanted = first_quoted(message).filter(|w| !w.is_empty())?;
    let members = index.members(path);
    let by_key: Vec<&String> = members
        .iter()
        .map(|(p, _)| p)
        .filter(|p| last_key(p) == wanted)
        .collect();
    if let [one] = by_key.as_slice() {
        return Some(((*one).clone(), true));
    }
    let by_value: Vec<&String> = members
        .iter()
        .filter(|(_, n)| matches!(&n.kind, NodeKind::Scalar(s) if s == wanted))
        .map(|(p, _)| p)
        .collect();
    match by_value.as_slice() {
        [one] => Some(((*one).clone(), false)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::domain::{Customer, HumanDuration};

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct File {
        customers: Vec<Customer>,
        #[serde(default)]
        delays: std::collections::BTreeMap<crate::domain::ReleaseType, HumanDuration>,
    }

    fn customer(tail: &str) -> String {
        format!(
            r#"{{"customers": [
  {{"id": "a", "name": "A", "tier": "demo", "version": "v1.0.0",
    "health": {{"kind": "simulated", "baseline_error_rate": 0.1, "baseline_latency_ms": 90}},
    "deploy": {{"kind": "simulated", "duration": "5m"}}{tail}}}
]}}"#
        )
    }

    fn errs(text: &str) -> Vec<ConfigError> {
        let ix = PositionIndex::new(text);
        let (_, errors) = parse::<File>("c.json", text, &ix);
        assert!(!errors.is_empty(), "expected an error for {text}");
        errors
    }

    fn err(text: &str) -> ConfigError {
        let mut all = errs(text);
        assert_eq!(all.len(), 1, "expected one error: {all:?}");
        all.remove(0)
    }

    #[test]
    fn accepts_a_good_file() {
        let text = customer("");
        let ix = PositionIndex::new(&text);
        let (value, errors) = parse::<File>("c.json", &text, &ix);
        assert!(value.is_some() && errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn control_characters_anywhere_are_refused_at_their_string() {
        // A contact's e-mail and a key: fields no rule of their own checks.
        let text = customer(
            r#", "contacts": [{"name": "Ops", "email": "ops@a.example\r\nFORGED"}], "x\u001b": 1"#,
        );
        let ix = PositionIndex::new(&text);
        let (_, errors) = parse::<File>("c.json", &text, &ix);
        let email = errors
            .iter()
            .find(|e| e.field == "customers[0].contacts[0].email")
            .unwrap_or_else(|| panic!("{errors:?}"));
        assert_eq!(email.line, 4, "{email}");
        assert!(email.message.contains("control character \\r"), "{email}");
        assert!(!email.to_string().contains('\r'), "{email:?}");
        assert!(
            errors
                .iter()
                .any(|e| e.field == "customers[0].x\u{1b}"
                    && e.message.starts_with("the key `x\\x1b`")),
            "{errors:?}"
        );
    }

    #[test]
    fn unknown_field_points_at_its_key() {
        let e = err(&customer(r#", "tierr": "x""#));
        assert_eq!(e.field, "customers[0].tierr");
        assert_eq!((e.line, e.column), (4, 56));
        assert!(e.message.starts_with("unknown field `tierr`"), "{e}");
    }

    #[test]
    fn wrong_value_inside_a_tagged_enum_names_the_member() {
        let text = customer("").replace(r#""duration": "5m""#, r#""duration": "-5m""#);
        let e = err(&text);
        assert_eq!(e.field, "customers[0].deploy.duration");
        assert_eq!((e.line, e.column), (4, 49));
        assert!(e.message.contains("negative"), "{e}");
    }

    #[test]
    fn unknown_field_inside_a_tagged_enum_names_the_member() {
        let text = customer("").replace(r#""duration": "5m""#, r#""duration": "5m", "speed": 1"#);
        let e = err(&text);
        assert_eq!(e.field, "customers[0].deploy.speed");
        assert_eq!(e.line, 4);
    }

    #[test]
    fn unknown_map_key_is_found_by_name() {
        let text = format!(
            "{}, \"delays\": {{\"security\": \"1m\",\n \"hotfix\": \"2m\"}}}}",
            customer("").trim_end().trim_end_matches('}')
        );
        let e = err(&text);
        assert_eq!(e.field, "delays.hotfix");
        assert_eq!(e.column, 2);
        assert!(e.message.contains("unknown variant `hotfix`"), "{e}");
    }

    #[test]
    fn an_empty_file_is_called_empty() {
        for text in ["", "  \n\t\n"] {
            let e = err(text);
            assert_eq!((e.line, e.column), (1, 1), "{e}");
            assert!(e.message.starts_with("the file is empty"), "{e}");
            assert!(!e.message.contains("EOF"), "{e}");
        }
    }

    #[test]
    fn syntax_errors_use_the_parser_position() {
        // A missing colon on line 2.
        let e = err("{\"customers\": [\n  {\"id\" \"a\"}\n]}");
        assert_eq!((e.line, e.column), (2, 9));
        assert_eq!(e.message, "expected `:`");
        assert!(!e.message.contains(" at line "), "{e}");
    }

    #[test]
    fn trailing_text_is_refused() {
        let e = err("{\"customers\": []}\n}");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("trailing"), "{e}");
    }

    #[test]
    fn missing_field_points_at_the_object() {
        let text = customer("").replace(r#""tier": "demo", "#, "");
        let e = err(&text);
        assert_eq!(e.field, "customers[0]");
        assert_eq!((e.line, e.column), (2, 3));
        assert!(e.message.contains("missing field `tier`"), "{e}");
    }
}
