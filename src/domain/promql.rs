//! PromQL query templates: which placeholders a `prometheus` health source may use,
//! how a template becomes one customer's query, and how the customers that share a
//! template become one query.
//!
//! Why it is shaped so:
//! - Values go into a query quoted for a PromQL string literal (a customer name with
//!   a `"` in it cannot end the string and change the query).
//! - Batching is decided from the template's text, without parsing PromQL: when every
//!   per-customer placeholder sits in an equality matcher `label="{customer}"`, the
//!   query for many customers is the same text with `label=~"a|b|c"`, and each
//!   result series names its customer by that label. Any other use of a per-customer
//!   placeholder (a regex, a string function) keeps the query per customer: correct
//!   first, fast where the template allows it.
//! - Pure string work: the engine expands the same templates to show, in a trigger's
//!   evidence, the exact query that was judged.

/// The placeholders a query template may use.
pub const PLACEHOLDERS: [&str; 3] = ["customer", "customer_name", "tier"];

/// Who a query is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub tier: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("the query is empty")]
    Empty,
    #[error(
        "unknown placeholder `{{{name}}}` at character {at}; the placeholders are {{customer}}, {{customer_name}} and {{tier}}"
    )]
    Unknown { name: String, at: usize },
}

/// Which value identifies a customer in a batched query's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    /// `{customer}`: the series' label holds the customer id.
    Id,
    /// `{customer_name}`: the label holds the customer name.
    Name,
}

impl Key {
    pub fn placeholder(self) -> &'static str {
        match self {
            Key::Id => "customer",
            Key::Name => "customer_name",
        }
    }

    pub fn of<'a>(self, s: &Subject<'a>) -> &'a str {
        match self {
            Key::Id => s.id,
            Key::Name => s.name,
        }
    }
}

/// How customers that share a template can be answered.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Shape {
    /// No per-customer placeholder: one query answers every customer alike.
    Shared,
    /// Every per-customer placeholder sits in `label="{…}"`: one query with
    /// `label=~"a|b|c"` answers many customers, told apart by `label`.
    ByLabel { label: String, key: Key },
    /// Each customer needs a query of its own.
    PerCustomer,
}

/// A `{name}` in a template: byte range (braces included) and the name.
#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    start: usize,
    end: usize,
    name: &'a str,
}

/// Every `{identifier}` in `t`. A label selector (`{job="x"}`) or an empty one
/// (`{}`) is never a token: it holds more than an identifier.
fn tokens(t: &str) -> Vec<Token<'_>> {
    let b = t.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'{' {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
            j += 1;
        }
        let ident = &t[i + 1..j];
        let starts_well = ident
            .as_bytes()
            .first()
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_');
        if j < b.len() && b[j] == b'}' && starts_well {
            out.push(Token {
                start: i,
                end: j + 1,
                name: ident,
            });
            i = j + 1;
        } else {
            i += 1;
        }
    }
    out
}

/// Checks that `t` is a query with known placeholders only.
pub fn check(t: &str) -> Result<(), TemplateError> {
    if t.trim().is_empty() {
        return Err(TemplateError::Empty);
    }
    for tok in tokens(t) {
        if !PLACEHOLDERS.contains(&tok.name) {
            return Err(TemplateError::Unknown {
                name: tok.name.to_string(),
                at: t[..tok.start].chars().count() + 1,
            });
        }
    }
    Ok(())
}

/// Escapes `s` for the inside of a double-quoted PromQL string.
pub fn quote_inner(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// Escapes the regular-expression metacharacters of `s` (RE2 syntax), so that it
/// matches itself only.
pub fn regex_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn value_of<'a>(name: &str, s: &Subject<'a>) -> Option<&'a str> {
    match name {
        "customer" => Some(s.id),
        "customer_name" => Some(s.name),
        "tier" => Some(s.tier),
        _ => None,
    }
}

/// `t` for one customer: every placeholder replaced by its value, quoted.
pub fn expand(t: &str, s: &Subject<'_>) -> String {
    let mut out = String::with_capacity(t.len() + 32);
    let mut at = 0;
    for tok in tokens(t) {
        if let Some(v) = value_of(tok.name, s) {
            out.push_str(&t[at..tok.start]);
            out.push_str(&quote_inner(v));
            at = tok.end;
        }
    }
    out.push_str(&t[at..]);
    out
}

/// Where `tok` sits in `label="{…}"`: the byte offset of the `=` and the label.
fn equality_matcher<'a>(t: &'a str, tok: &Token<'_>) -> Option<(usize, &'a str)> {
    let b = t.as_bytes();
    if tok.start == 0 || b[tok.start - 1] != b'"' || b.get(tok.end) != Some(&b'"') {
        return None;
    }
    let mut i = tok.start - 1;
    while i > 0 && b[i - 1] == b' ' {
        i -= 1;
    }
    if i == 0 || b[i - 1] != b'=' {
        return None;
    }
    let eq = i - 1;
    // `!="{customer}"` is a negative matcher; `=~` never gets here (a `~` precedes
    // the quote).
    let mut j = eq;
    while j > 0 && b[j - 1] == b' ' {
        j -= 1;
    }
    let label_end = j;
    while j > 0 && (b[j - 1].is_ascii_alphanumeric() || b[j - 1] == b'_') {
        j -= 1;
    }
    let label = &t[j..label_end];
    let ok = label
        .as_bytes()
        .first()
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_');
    let negated = j > 0 && b[j - 1] == b'!';
    (ok && !negated && eq > 0 && b[eq - 1] != b'!').then_some((eq, label))
}

/// How customers sharing `t` can be answered.
pub fn shape(t: &str) -> Shape {
    let mut found: Option<(String, Key)> = None;
    for tok in tokens(t) {
        let key = match tok.name {
            "customer" => Key::Id,
            "customer_name" => Key::Name,
            _ => continue,
        };
        let Some((_, label)) = equality_matcher(t, &tok) else {
            return Shape::PerCustomer;
        };
        match &found {
            None => found = Some((label.to_string(), key)),
            Some((l, k)) if l == label && *k == key => {}
            Some(_) => return Shape::PerCustomer,
        }
    }
    match found {
        None => Shape::Shared,
        Some((label, key)) => Shape::ByLabel { label, key },
    }
}

/// `t` for many customers of one tier, where `shape(t)` is `ByLabel` with `key`:
/// each `label="{key}"` becomes `label=~"v1|v2|…"` (each value matching only
/// itself), other placeholders are expanded for `tier`. `values` are the customers'
/// ids or names, as `key` says.
pub fn expand_many(t: &str, key: Key, tier: &str, values: &[&str]) -> String {
    let alternatives: Vec<String> = values.iter().map(|v| regex_literal(v)).collect();
    let set = quote_inner(&alternatives.join("|"));
    let subject = Subject {
        id: "",
        name: "",
        tier,
    };
    let mut out = String::with_capacity(t.len() + set.len() * 2);
    let mut at = 0;
    for tok in tokens(t) {
        if tok.name == key.placeholder() {
            if let Some((eq, _)) = equality_matcher(t, &tok) {
                out.push_str(&t[at..eq]);
                out.push_str("=~\"");
                out.push_str(&set);
                out.push('"');
                at = tok.end + 1;
            }
        } else if let Some(v) = value_of(tok.name, &subject) {
            out.push_str(&t[at..tok.start]);
            out.push_str(&quote_inner(v));
            at = tok.end;
        }
    }
    out.push_str(&t[at..]);
    out
}

/// Whether `t` names `placeholder`.
pub fn uses(t: &str, placeholder: &str) -> bool {
    tokens(t).iter().any(|tok| tok.name == placeholder)
}

/// The first range selector's duration (`5m` in `rate(x[5m])`), to say what a traffic
/// figure counts ("3 requests in 5m").
pub fn first_range(t: &str) -> Option<&str> {
    let open = t.find('[')?;
    let close = open + t[open..].find(']')?;
    let inner = t[open + 1..close].trim();
    (!inner.is_empty() && inner.chars().all(|c| c.is_ascii_alphanumeric())).then_some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ERR: &str = r#"sum by (customer) (rate(http_requests_total{customer="{customer}",code=~"5.."}[5m])) / sum by (customer) (rate(http_requests_total{customer="{customer}"}[5m])) * 100"#;

    fn acme() -> Subject<'static> {
        Subject {
            id: "acme-corp",
            name: "ACME \"Road\" Corp",
            tier: "enterprise",
        }
    }

    #[test]
    fn placeholders_are_checked_and_selectors_are_not_placeholders() {
        assert_eq!(check(ERR), Ok(()));
        assert_eq!(check("  "), Err(TemplateError::Empty));
        assert_eq!(check(r#"up{job="x"} + sum(x{})"#), Ok(()));
        let e = check(r#"x{customer="{custmer}"}"#).unwrap_err();
        assert_eq!(
            e,
            TemplateError::Unknown {
                name: "custmer".into(),
                at: 13
            }
        );
        assert!(
            e.to_string()
                .contains("{customer}, {customer_name} and {tier}")
        );
    }

    #[test]
    fn expansion_quotes_values() {
        let q = expand(
            r#"x{customer="{customer}",name="{customer_name}",tier="{tier}"}"#,
            &acme(),
        );
        assert_eq!(
            q,
            r#"x{customer="acme-corp",name="ACME \"Road\" Corp",tier="enterprise"}"#
        );
        assert_eq!(expand("a\\b {tier}", &acme()), "a\\b enterprise");
    }

    #[test]
    fn shapes() {
        assert_eq!(
            shape(ERR),
            Shape::ByLabel {
                label: "customer".into(),
                key: Key::Id
            }
        );
        assert_eq!(
            shape(r#"x{svc = "{customer_name}", tier="{tier}"}"#),
            Shape::ByLabel {
                label: "svc".into(),
                key: Key::Name
            }
        );
        assert_eq!(shape(r#"sum(rate(x{tier="{tier}"}[5m]))"#), Shape::Shared);
        assert_eq!(shape(r#"x{customer=~"{customer}.*"}"#), Shape::PerCustomer);
        assert_eq!(shape(r#"x{customer!="{customer}"}"#), Shape::PerCustomer);
        assert_eq!(
            shape(r#"x{customer="{customer}"} / y{name="{customer_name}"}"#),
            Shape::PerCustomer
        );
        assert_eq!(
            shape(r#"x{a="{customer}"} / y{b="{customer}"}"#),
            Shape::PerCustomer
        );
        assert_eq!(
            shape(r#"label_replace(x, "c", "{customer}", "", "")"#),
            Shape::PerCustomer
        );
    }

    #[test]
    fn many_customers_become_one_regex_matcher() {
        let q = expand_many(ERR, Key::Id, "startup", &["acme-corp", "a.b", "q\"x"]);
        assert_eq!(
            q,
            r#"sum by (customer) (rate(http_requests_total{customer=~"acme-corp|a\\.b|q\"x",code=~"5.."}[5m])) / sum by (customer) (rate(http_requests_total{customer=~"acme-corp|a\\.b|q\"x"}[5m])) * 100"#
        );
        let q = expand_many(
            r#"x{c = "{customer}", t="{tier}"}"#,
            Key::Id,
            "startup",
            &["a"],
        );
        assert_eq!(q, r#"x{c =~"a", t="startup"}"#);
    }

    #[test]
    fn first_range_reads_the_window() {
        assert_eq!(first_range(ERR), Some("5m"));
        assert_eq!(first_range("sum(x)"), None);
        assert_eq!(first_range("max_over_time(x[1h:5m])"), None);
    }
}
