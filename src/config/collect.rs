//! Every type error in a file, not only the first.
//!
//! serde stops at the first value that does not fit its type. To find the next
//! one, the document (already read as a [`Value`]) is mended where it failed and
//! deserialized again, until it fits or nothing is left to mend:
//!
//! - the value that failed is taken out (an unknown field, a misspelt map key, a
//!   wrong value in an optional field: nothing more is needed);
//! - a field that is then missing (or was missing to begin with) is filled with
//!   the value a sibling has at the same place (another customer's `tier`, another
//!   policy's `soak`), so that the record it is in is read on and its other
//!   problems are found too;
//! - when no sibling has one that fits, the record is taken out whole (problems
//!   after the first in that record are then not found; the others are).
//!
//! Only the first problem at each place is reported: what was taken out or filled
//! in is never reported again. Array elements taken out are remembered, so that
//! every problem is still reported at its place in the file as written.

use std::collections::{HashMap, HashSet};

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ConfigError;
use super::position::{self, PositionIndex};

/// Rounds of mending before giving up on a file: far more than a real file needs
/// (a round is one problem), and it bounds what a hostile file can cost.
const MAX_ROUNDS: usize = 500;

/// Sibling values tried, at most, to fill one place.
const MAX_CANDIDATES: usize = 8;

/// One step of a path: a member of an object or an element of an array.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Seg {
    Key(String),
    Index(usize),
}

fn path_str(segs: &[Seg]) -> String {
    segs.iter().fold(String::new(), |p, s| match s {
        Seg::Key(k) => position::child_key(&p, k),
        Seg::Index(i) => position::child_index(&p, *i),
    })
}

/// The path serde_path_to_error reports, cut before a segment it could not name;
/// the flag says one was cut.
fn segs_of(path: &serde_path_to_error::Path) -> (Vec<Seg>, bool) {
    use serde_path_to_error::Segment;
    let mut out = Vec::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push(Seg::Index(*index)),
            Segment::Map { key } => out.push(Seg::Key(key.clone())),
            Segment::Enum { variant } => out.push(Seg::Key(variant.clone())),
            Segment::Unknown => return (out, true),
        }
    }
    (out, false)
}

fn node<'a>(mut v: &'a Value, segs: &[Seg]) -> Option<&'a Value> {
    for s in segs {
        v = match (s, v) {
            (Seg::Key(k), Value::Object(m)) => m.get(k)?,
            (Seg::Index(i), Value::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

fn node_mut<'a>(mut v: &'a mut Value, segs: &[Seg]) -> Option<&'a mut Value> {
    for s in segs {
        v = match (s, v) {
            (Seg::Key(k), Value::Object(m)) => m.get_mut(k)?,
            (Seg::Index(i), Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

/// The document being mended. Paths kept here are *original*: as in the file, so
/// that positions come from the file's index.
struct Mend {
    doc: Value,
    /// For an array that lost elements (by its original path): the original index
    /// of each element left.
    kept: HashMap<String, Vec<usize>>,
    /// Places taken out or filled in, with how many candidates were tried there.
    ours: HashMap<Vec<Seg>, usize>,
}

impl Mend {
    fn original(&self, current: &[Seg]) -> Vec<Seg> {
        let mut out = Vec::with_capacity(current.len());
        for s in current {
            let s = match s {
                Seg::Index(i) => Seg::Index(
                    self.kept
                        .get(&path_str(&out))
                        .and_then(|k| k.get(*i).copied())
                        .unwrap_or(*i),
                ),
                key => key.clone(),
            };
            out.push(s);
        }
        out
    }

    fn current(&self, original: &[Seg]) -> Option<Vec<Seg>> {
        let mut out = Vec::with_capacity(original.len());
        for (n, s) in original.iter().enumerate() {
            out.push(match s {
                Seg::Index(o) => match self.kept.get(&path_str(&original[..n])) {
                    Some(k) => Seg::Index(k.iter().position(|x| x == o)?),
                    None => Seg::Index(*o),
                },
                key => key.clone(),
            });
        }
        Some(out)
    }

    /// Takes out the value at `original`; false when it is the root or not there.
    fn remove(&mut self, original: &[Seg]) -> bool {
        let Some((last, parent)) = original.split_last() else {
            return false;
        };
        let Some(cur) = self.current(original) else {
            return false;
        };
        let Some(cur_parent) = node_mut(&mut self.doc, &cur[..cur.len() - 1]) else {
            return false;
        };
        let removed = match (last, cur.last(), cur_parent) {
            (Seg::Key(k), _, Value::Object(m)) => m.remove(k).is_some(),
            (Seg::Index(_), Some(Seg::Index(at)), Value::Array(a)) if *at < a.len() => {
                let len = a.len();
                a.remove(*at);
                let kept = self
                    .kept
                    .entry(path_str(parent))
                    .or_insert_with(|| (0..len).collect());
                if *at < kept.len() {
                    kept.remove(*at);
                }
                true
            }
            _ => false,
        };
        if removed {
            self.ours.insert(original.to_vec(), 0);
        }
        removed
    }

    /// Takes out the value at `original`, or else the nearest ancestor that can be
    /// taken out; false when only the root is left.
    fn prune(&mut self, original: &[Seg]) -> bool {
        (1..=original.len())
            .rev()
            .any(|n| self.remove(&original[..n]))
    }

    /// Values that siblings hold at the place of `original`: the same path with one
    /// array index or object key changed, the deepest first.
    fn candidates(&self, original: &[Seg]) -> Vec<Value> {
        let Some(cur) = self.current(original) else {
            return Vec::new();
        };
        let mut out: Vec<Value> = Vec::new();
        for k in (0..cur.len().saturating_sub(1)).rev() {
            let tail = &cur[k + 1..];
            let Some(parent) = node(&self.doc, &cur[..k]) else {
                continue;
            };
            let siblings: Vec<&Value> = match (parent, &cur[k]) {
                (Value::Array(a), Seg::Index(me)) => a
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| j != me)
                    .map(|(_, v)| v)
                    .collect(),
                (Value::Object(m), Seg::Key(me)) => m
                    .iter()
                    .filter(|(key, _)| *key != me)
                    .map(|(_, v)| v)
                    .collect(),
                _ => continue,
            };
            for s in siblings {
                if let Some(v) = node(s, tail)
                    && !out.contains(v)
                {
                    out.push(v.clone());
                    if out.len() >= MAX_CANDIDATES {
                        return out;
                    }
                }
            }
        }
        out
    }

    /// Puts the next sibling's value at `original` (a member of an object); false
    /// when every candidate was tried.
    fn fill(&mut self, original: &[Seg]) -> bool {
        let tried = self.ours.get(original).copied().unwrap_or(0);
        let Some(value) = self.candidates(original).into_iter().nth(tried) else {
            return false;
        };
        self.ours.insert(original.to_vec(), tried + 1);
        let Some((Seg::Key(k), _)) = original.split_last() else {
            return false;
        };
        let Some(cur) = self.current(original) else {
            return false;
        };
        match node_mut(&mut self.doc, &cur[..cur.len() - 1]) {
            Some(Value::Object(m)) => {
                m.insert(k.clone(), value);
                true
            }
            _ => false,
        }
    }

    /// The place taken out or filled in that `original` is in, if any.
    fn ours_above(&self, original: &[Seg]) -> Option<Vec<Seg>> {
        (1..=original.len())
            .rev()
            .map(|n| &original[..n])
            .find(|p| self.ours.contains_key(*p))
            .map(<[Seg]>::to_vec)
    }
}

/// Deserializes `doc` as a `T`, reporting every value that does not fit (the
/// first at each place). `Some` only when the document fitted as written.
pub(crate) fn deserialize<T: DeserializeOwned>(
    file: &str,
    text: &str,
    index: &PositionIndex,
    doc: Value,
) -> (Option<T>, Vec<ConfigError>) {
    // A document that fits is read once, without tracking paths (the mending below
    // needs them, and costs an allocation per key it passes).
    if let Ok(value) = T::deserialize(&doc) {
        return (Some(value), Vec::new());
    }
    let mut m = Mend {
        doc,
        kept: HashMap::new(),
        ours: HashMap::new(),
    };
    let mut errors = Vec::new();
    let mut last: Option<(Vec<Seg>, String)> = None;
    // Never the same line twice, whatever the mending does.
    let mut reported: HashSet<(String, String)> = HashSet::new();
    for round in 0.. {
        if round == MAX_ROUNDS {
            errors.push(ConfigError {
                file: file.to_string(),
                line: 0,
                column: 0,
                field: String::new(),
                message: format!(
                    "stopped looking after {} problems in this file; fix these first",
                    errors.len()
                ),
            });
            break;
        }
        let e = match serde_path_to_error::deserialize::<_, T>(&m.doc) {
            Ok(value) if errors.is_empty() => return (Some(value), errors),
            Ok(_) => return (None, errors),
            Err(e) => e,
        };
        let (cur, unknown_tail) = segs_of(e.path());
        let at = m.original(&cur);
        let inner = e.into_inner();
        let message = super::parse::bare_message(&inner);
        // A problem with the whole document once parts of it were taken out ("invalid
        // length 0") is one the mending made: nothing more to learn.
        if at.is_empty() && !m.ours.is_empty() {
            break;
        }
        // The same problem again at the same place: what was done there did not
        // help; take out the record around it.
        if last.as_ref() == Some(&(at.clone(), message.clone())) {
            if !m.prune(&at[..at.len().saturating_sub(1)]) {
                break;
            }
            last = None;
            continue;
        }
        last = Some((at.clone(), message.clone()));

        if let Some(field) = super::parse::quoted_after(&message, "missing field ") {
            let mut missing = at.clone();
            missing.push(Seg::Key(field));
            match m.ours_above(&missing) {
                // Missing inside a value filled in from a sibling: the next one.
                Some(place) if place != missing => {
                    if !m.fill(&place) && !m.prune(&place[..place.len() - 1]) {
                        break;
                    }
                    continue;
                }
                // Taken out by us: filled in below.
                Some(_) => {}
                None => {
                    let error = super::parse::data_error(
                        file,
                        text,
                        index,
                        path_str(&at),
                        unknown_tail,
                        &inner,
                    );
                    if reported.insert((error.field.clone(), error.message.clone())) {
                        errors.push(error);
                    }
                    m.ours.insert(missing.clone(), 0);
                }
            }
            if !m.fill(&missing) && !m.prune(&at) {
                break;
            }
            continue;
        }
        let error =
            super::parse::data_error(file, text, index, path_str(&at), unknown_tail, &inner);
        // What the error is about: the member it names (an unknown field, a
        // misspelt key, a value inside a tagged object such as `health`), else the
        // value serde stopped at.
        let mut target = at.clone();
        if error.field != path_str(&at)
            && let Some(Value::Object(members)) = m.current(&at).and_then(|c| node(&m.doc, &c))
            && let Some(k) = members
                .keys()
                .find(|k| position::child_key(&path_str(&at), k) == error.field)
        {
            target.push(Seg::Key(k.clone()));
        }
        if let Some(place) = m.ours_above(&target) {
            // A value filled in from a sibling does not fit here either: the next.
            if !m.fill(&place) && !m.prune(&place[..place.len().saturating_sub(1)]) {
                break;
            }
            continue;
        }
        if reported.insert((error.field.clone(), error.message.clone())) {
            errors.push(error);
        }
        if !m.prune(&target) {
            break;
        }
    }
    if errors.is_empty() {
        // The document never fitted and nothing could be said about why: the
        // first error stands.
        if let Err(e) = serde_path_to_error::deserialize::<_, T>(&m.doc) {
            let (cur, unknown_tail) = segs_of(e.path());
            let at = path_str(&m.original(&cur));
            errors.push(super::parse::data_error(
                file,
                text,
                index,
                at,
                unknown_tail,
                &e.into_inner(),
            ));
        }
    }
    (None, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_back_to_the_file_after_elements_are_taken_out() {
        let mut m = Mend {
            doc: serde_json::json!({"a": [{"x": 1}, {"x": 2}, {"x": 3}]}),
            kept: HashMap::new(),
            ours: HashMap::new(),
        };
        let first = vec![Seg::Key("a".into()), Seg::Index(0)];
        assert!(m.remove(&first));
        // The element now first in the array is the file's a[1].
        let now = vec![Seg::Key("a".into()), Seg::Index(0), Seg::Key("x".into())];
        assert_eq!(path_str(&m.original(&now)), "a[1].x");
        assert_eq!(
            m.current(&[Seg::Key("a".into()), Seg::Index(2)]),
            Some(vec![Seg::Key("a".into()), Seg::Index(1)])
        );
        assert_eq!(m.current(&first), None);
    }

    #[test]
    fn a_missing_field_is_filled_from_a_sibling() {
        let m = Mend {
            doc: serde_json::json!({"c": [{"t": "a"}, {}, {"t": "b"}]}),
            kept: HashMap::new(),
            ours: HashMap::new(),
        };
        let place = [Seg::Key("c".into()), Seg::Index(1), Seg::Key("t".into())];
        assert_eq!(
            m.candidates(&place),
            vec![serde_json::json!("a"), serde_json::json!("b")]
        );
    }
}
