//! Reading health figures out of a JSON document with RFC 6901 pointers.
//!
//! Shared by the HTTP probe (the response body) and the command probe (stdout), so that
//! both kinds judge "missing", "null" and "wrong type" the same way: a missing or null
//! figure is *no data* (which holds a rollout but never rolls it back), a figure of the
//! wrong type is a broken health endpoint (which counts as a failed check).

use serde_json::Value;

/// The pointers a health source configures; `None` means "not read from the document".
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pointers<'a> {
    pub error_rate: Option<&'a str>,
    pub latency: Option<&'a str>,
}

impl Pointers<'_> {
    pub fn any(&self) -> bool {
        self.error_rate.is_some() || self.latency.is_some()
    }
}

/// Figures read from a document. `None` for a pointer that is configured but points at
/// nothing (or at `null`), and for a pointer that is not configured.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Figures {
    pub error_rate: Option<f64>,
    pub latency_p95_ms: Option<f64>,
}

/// What the document says: figures, or "no data" when every configured pointer is
/// missing. `Err` is the reason for a failed check.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Read {
    Figures(Figures),
    NoData(String),
}

/// Parses `doc` as JSON (`what` names it in reasons: "body", "stdout") and reads the
/// configured pointers.
pub(crate) fn read_figures(doc: &[u8], what: &str, pointers: Pointers<'_>) -> Result<Read, String> {
    let value: Value =
        serde_json::from_slice(doc).map_err(|e| format!("{what} is not JSON: {e}"))?;
    let error_rate = read_number(&value, "error_rate_pointer", pointers.error_rate)?;
    let latency_p95_ms = read_number(&value, "latency_pointer", pointers.latency)?;

    let missing: Vec<&str> = [
        (pointers.error_rate, error_rate),
        (pointers.latency, latency_p95_ms),
    ]
    .into_iter()
    .filter_map(|(p, v)| match (p, v) {
        (Some(p), None) => Some(p),
        _ => None,
    })
    .collect();
    let configured =
        usize::from(pointers.error_rate.is_some()) + usize::from(pointers.latency.is_some());
    if configured > 0 && missing.len() == configured {
        return Ok(Read::NoData(format!(
            "no data: {what} has nothing at {}",
            missing.join(" or ")
        )));
    }
    Ok(Read::Figures(Figures {
        error_rate,
        latency_p95_ms,
    }))
}

fn read_number(doc: &Value, field: &str, pointer: Option<&str>) -> Result<Option<f64>, String> {
    let Some(pointer) = pointer else {
        return Ok(None);
    };
    // serde_json answers `None` for a malformed pointer, which would read as "no data"
    // forever; say what is wrong instead so the config gets fixed.
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(format!(
            "{field} `{pointer}` is not a JSON pointer: it must start with / (e.g. /{pointer})"
        ));
    }
    match doc.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(format!(
            "{pointer} is {}, expected a number",
            kind_of(other)
        )),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: Pointers<'static> = Pointers {
        error_rate: Some("/error_rate"),
        latency: Some("/latency_p95_ms"),
    };

    #[test]
    fn reads_numbers() {
        let r = read_figures(br#"{"error_rate":0.4,"latency_p95_ms":120}"#, "body", BOTH).unwrap();
        assert_eq!(
            r,
            Read::Figures(Figures {
                error_rate: Some(0.4),
                latency_p95_ms: Some(120.0)
            })
        );
    }

    #[test]
    fn one_missing_is_partial_all_missing_is_no_data() {
        let r = read_figures(br#"{"error_rate":null,"latency_p95_ms":90}"#, "body", BOTH).unwrap();
        assert!(
            matches!(r, Read::Figures(f) if f.error_rate.is_none() && f.latency_p95_ms == Some(90.0))
        );
        let r = read_figures(b"{}", "body", BOTH).unwrap();
        assert!(
            matches!(&r, Read::NoData(why) if why.contains("/error_rate") && why.starts_with("no data")),
            "{r:?}"
        );
    }

    #[test]
    fn wrong_type_and_bad_pointer_are_failures() {
        let e = read_figures(br#"{"error_rate":"abc"}"#, "body", BOTH).unwrap_err();
        assert_eq!(e, "/error_rate is a string, expected a number");
        let p = Pointers {
            error_rate: Some("error_rate"),
            latency: None,
        };
        let e = read_figures(b"{}", "body", p).unwrap_err();
        assert!(e.contains("must start with /"), "{e}");
        let e = read_figures(b"<html>", "stdout", BOTH).unwrap_err();
        assert!(e.starts_with("stdout is not JSON: "), "{e}");
    }
}
