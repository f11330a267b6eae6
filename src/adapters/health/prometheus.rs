//! The `prometheus` health source: instant queries (`POST /api/v1/query`) against a
//! Prometheus server, many customers per request.
//!
//! Why it is shaped so:
//! - **Batched.** Customers that share a source (server, headers, queries, and tier
//!   when a query names it) are answered by one request per query and chunk: their
//!   `label="{customer}"` matchers become `label=~"a|b|c"` and the result series are
//!   told apart by that label ([`crate::domain::promql`]). A query that loses the
//!   label (`sum(…)` without `by (customer)`) cannot be split by customer: it is
//!   re-asked per customer (correct, slower), and a warning says how to batch it.
//!   Queries go in a form body, so a chunk of thousands of ids is never a URL.
//! - **Three-way verdict, every case named.** A number is a figure; an empty result,
//!   `NaN` or `±Inf` is *no data* (inconclusive, with which and why); a refused query
//!   (HTTP 400/422) is a config error, logged once and a failed check with
//!   Prometheus's own `error` text; an unreachable or overloaded server (503, a
//!   timeout, a reset) is a failed check with the reason. Nothing in a response can
//!   panic this code: the body is capped, parsed into types, and anything off is a
//!   reason.
//! - **Exact values.** Prometheus sends sample values as strings; they are checked
//!   against the float grammar and parsed with a correctly rounded parser, so the
//!   figure judged (and journaled) is exactly the number sent.
//! - **External text is escaped.** Prometheus's error and warning texts end up on
//!   screens and in journals: control characters are escaped and length is capped.
//!
//! Why one file (~870 lines of code, then its tests): batching, query expansion and the
//! three-way verdict are one protocol with Prometheus; the tests exercise them together
//! against canned responses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use futures_util::stream;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::Deserialize;

use super::http::{describe, secret_headers};
use super::{Prober, fmt_bytes, fmt_duration, truncate_chars};
use crate::domain::promql::{self, Key, Shape, Subject};
use crate::domain::{HealthSample, ProbeOutcome, PrometheusSource};

/// Customers per request at most: 2,000 ids make a body of some 30 KB and a
/// response of some 150 KB; 10,000 customers are 5 requests per query.
pub const MAX_BATCH: usize = 2_000;

/// Per-customer queries (templates that do not batch) in flight at once, per batch.
const PER_CUSTOMER_CONCURRENCY: usize = 16;

/// Chunks of one query in flight at once.
const CHUNK_CONCURRENCY: usize = 4;

/// The most of Prometheus's error text a reason keeps.
const ERROR_TEXT_CHARS: usize = 600;

/// Response bytes allowed per customer in a request, over the base body limit.
const BODY_BYTES_PER_CUSTOMER: usize = 512;

/// One customer in a batch.
#[derive(Debug, Clone, Copy)]
pub(super) struct Member<'a> {
    pub subject: Subject<'a>,
}

/// What Prometheus's instant-query API answered (a success envelope).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answer {
    pub data: Data,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Data {
    /// One series per label set.
    Vector(Vec<Series>),
    Scalar(Raw),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    pub labels: HashMap<String, String>,
    pub value: Raw,
}

/// A sample value as sent, and what it reads as.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Raw {
    pub text: String,
    pub value: Result<Value, String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value {
    Number(f64),
    NaN,
    PosInf,
    NegInf,
}

/// Why a request gave no answer. `config`: the query itself is wrong (fix the
/// configuration), as opposed to the server being unwell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub reason: String,
    pub config: bool,
}

impl Failure {
    fn down(reason: impl Into<String>) -> Failure {
        Failure {
            reason: reason.into(),
            config: false,
        }
    }
    fn config(reason: impl Into<String>) -> Failure {
        Failure {
            reason: reason.into(),
            config: true,
        }
    }
}

/// One query's reading for one customer.
#[derive(Debug, Clone, PartialEq)]
enum Reading {
    Value(Raw),
    Empty,
    Failed(Failure),
}

/// Which messages were already logged at full volume (config errors, warnings, the
/// templates found not to batch): a round over 10,000 customers says each once.
/// Bounded: past [`Said::CAP`] distinct messages (a server whose warnings carry a
/// timestamp), new ones are no longer remembered, and are logged at debug level.
#[derive(Debug, Default)]
pub(super) struct Said {
    seen: Mutex<std::collections::HashSet<String>>,
}

impl Said {
    const CAP: usize = 1024;

    /// True the first time `what` is said.
    fn first(&self, what: &str) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= Self::CAP || seen.contains(what) {
            false
        } else {
            seen.insert(what.to_string())
        }
    }

    fn contains(&self, what: &str) -> bool {
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(what)
    }

    fn all(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        all.sort();
        all
    }
}

/// State shared by every clone of a prober: what was said, and the templates found
/// not to batch.
#[derive(Debug, Default)]
pub(super) struct Shared {
    pub config_errors: Said,
    pub warnings: Said,
    pub unbatchable: Said,
}

pub(super) type SharedState = Arc<Shared>;

// --- The API's JSON, as sent -------------------------------------------------------

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    data: Option<DataRepr>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Deserialize)]
struct DataRepr {
    #[serde(rename = "resultType")]
    result_type: String,
    #[serde(default)]
    result: serde_json::Value,
}

#[derive(Deserialize)]
struct SeriesRepr {
    #[serde(default)]
    metric: HashMap<String, String>,
    #[serde(default)]
    value: Option<(serde_json::Value, serde_json::Value)>,
    #[serde(default)]
    histogram: Option<serde::de::IgnoredAny>,
}

/// Escapes control characters (a terminal escape sequence in an error text stays
/// inert) and caps the length of text that came from the server.
pub(crate) fn clean(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars * 2));
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    truncate_chars(&out, max_chars)
}

/// Reads a sample value: the strings Prometheus writes (`"1.5"`, `"1e-07"`, `"NaN"`,
/// `"+Inf"`, `"-Inf"`), nothing else.
pub(crate) fn parse_value(text: &str) -> Result<Value, String> {
    match text {
        "NaN" => return Ok(Value::NaN),
        "+Inf" | "Inf" => return Ok(Value::PosInf),
        "-Inf" => return Ok(Value::NegInf),
        _ => {}
    }
    // The decimal float grammar: [+-] digits [. digits] [e [+-] digits]. Rust's parser
    // would also take "inf", "nan" and "infinity"; Prometheus never sends those.
    let b = text.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits > 0 && i < b.len() && matches!(b[i], b'e' | b'E') {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            digits = 0;
        }
    }
    if digits == 0 || i != b.len() {
        return Err(format!("`{}` is not a number", clean(text, 40)));
    }
    // Correctly rounded: the nearest double to the decimal sent, as Prometheus wrote
    // it from a double, so the round trip is exact.
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Value::Number(v)),
        Ok(v) if v > 0.0 => Ok(Value::PosInf),
        Ok(_) => Ok(Value::NegInf),
        Err(_) => Err(format!("`{}` is not a number", clean(text, 40))),
    }
}

fn raw(v: &serde_json::Value) -> Raw {
    match v {
        serde_json::Value::String(s) => Raw {
            text: s.clone(),
            value: parse_value(s),
        },
        other => {
            let text = clean(&other.to_string(), 40);
            Raw {
                value: Err(format!(
                    "the value {text} is not a string (the API sends values as strings)"
                )),
                text,
            }
        }
    }
}

/// Prometheus's `errorType: error`. Its texts put the useful part last ("…;
/// many-to-many matching not allowed"), so they get more room than other reasons.
fn error_text(env: &Envelope, max: usize) -> String {
    let max = max.max(ERROR_TEXT_CHARS);
    let kind = env.error_type.as_deref().map(|k| clean(k, 40));
    let msg = env.error.as_deref().map(|e| clean(e, max));
    match (kind, msg) {
        (Some(k), Some(m)) => format!("{k}: {m}"),
        (None, Some(m)) => m,
        (Some(k), None) => k,
        (None, None) => "no error text".to_string(),
    }
}

/// Judges one HTTP exchange with `/api/v1/query`: the status and the body. Pure, so
/// that recorded responses test it.
pub(crate) fn parse_response(
    status: u16,
    body: &[u8],
    max_reason: usize,
) -> Result<Answer, Failure> {
    let envelope: Option<Envelope> = serde_json::from_slice(body).ok();
    let not_api = |what: &str| {
        let snippet = clean(&String::from_utf8_lossy(&body[..body.len().min(120)]), 80);
        format!("{what}, with a body that is not Prometheus's API: {snippet}")
    };
    match status {
        200 => {}
        400 | 422 => {
            return Err(match &envelope {
                Some(env) => Failure::config(format!(
                    "bad query (HTTP {status}): {}",
                    error_text(env, max_reason)
                )),
                None => Failure::config(not_api(&format!("bad query? HTTP {status}"))),
            });
        }
        503 => {
            return Err(Failure::down(match &envelope {
                Some(env) => format!(
                    "Prometheus unavailable (HTTP 503): {}",
                    error_text(env, max_reason)
                ),
                None => "Prometheus unavailable (HTTP 503)".to_string(),
            }));
        }
        300..=399 => {
            return Err(Failure::config(format!(
                "HTTP {status}: redirects are not followed; set the source's url to where it redirects"
            )));
        }
        401 | 403 => {
            return Err(Failure::config(format!(
                "HTTP {status} from Prometheus: check the headers and the environment variables they read"
            )));
        }
        404 => {
            return Err(Failure::config(
                "HTTP 404 from Prometheus: is the source's url the server's base URL (without /api/v1)?",
            ));
        }
        other => {
            let text = envelope
                .as_ref()
                .map(|env| format!(": {}", error_text(env, max_reason)))
                .unwrap_or_default();
            return Err(Failure::down(format!("HTTP {other} from Prometheus{text}")));
        }
    }
    let Some(env) = envelope else {
        return Err(Failure::down(not_api("HTTP 200")));
    };
    if env.status.as_deref() != Some("success") {
        return Err(Failure::down(format!(
            "Prometheus answered status {}: {}",
            clean(env.status.as_deref().unwrap_or("(none)"), 20),
            error_text(&env, max_reason)
        )));
    }
    let warnings: Vec<String> = env.warnings.iter().map(|w| clean(w, max_reason)).collect();
    let Some(data) = env.data else {
        return Err(Failure::down("Prometheus answered success without data"));
    };
    let data = match data.result_type.as_str() {
        "vector" => {
            let series: Vec<SeriesRepr> = serde_json::from_value(data.result)
                .map_err(|e| Failure::down(format!("malformed vector result: {e}")))?;
            let mut out = Vec::with_capacity(series.len());
            for s in series {
                let value = match (s.value, s.histogram) {
                    (Some((_, v)), _) => raw(&v),
                    (None, Some(_)) => {
                        return Err(Failure::config(
                            "the query returns native histograms; health queries must return numbers (use histogram_quantile)",
                        ));
                    }
                    (None, None) => return Err(Failure::down("a result series has no value")),
                };
                out.push(Series {
                    labels: s.metric,
                    value,
                });
            }
            Data::Vector(out)
        }
        "scalar" => {
            let (_, v): (serde_json::Value, serde_json::Value) =
                serde_json::from_value(data.result)
                    .map_err(|e| Failure::down(format!("malformed scalar result: {e}")))?;
            Data::Scalar(raw(&v))
        }
        "matrix" => {
            return Err(Failure::config(
                "the query returns a range vector; health queries must return an instant vector (wrap the [range] selector in rate(), increase() or *_over_time())",
            ));
        }
        other => {
            return Err(Failure::config(format!(
                "the query returns a {}; health queries must return a number per customer",
                clean(other, 20)
            )));
        }
    };
    Ok(Answer { data, warnings })
}

/// `a=1&b=2`, percent-encoded for `application/x-www-form-urlencoded`.
fn form_encode(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        for (j, part) in [k, v].into_iter().enumerate() {
            if j == 1 {
                out.push('=');
            }
            for b in part.bytes() {
                match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        out.push(char::from(b))
                    }
                    b' ' => out.push('+'),
                    _ => out.push_str(&format!("%{b:02X}")),
                }
            }
        }
    }
    out
}

/// `1700000000.123`: an instant as the API's `time` parameter.
fn unix_time(at: DateTime<Utc>) -> String {
    let ms = at.timestamp_millis();
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

/// The endpoint for `base` (the server's base URL).
pub(crate) fn endpoint(base: &str) -> String {
    format!("{}/api/v1/query", base.trim_end_matches('/'))
}

/// One request: the query at `at` (now when `None`), under `timeout`.
#[allow(clippy::too_many_arguments)]
async fn request(
    prober: &Prober,
    url: &str,
    headers: &HeaderMap,
    query: &str,
    at: Option<DateTime<Utc>>,
    timeout: Duration,
    max_body: usize,
) -> Result<Answer, Failure> {
    let timeout_param = format!("{}ms", timeout.as_millis().max(1));
    let time_param = at.map(unix_time);
    let mut pairs: Vec<(&str, &str)> = vec![("query", query), ("timeout", &timeout_param)];
    if let Some(t) = &time_param {
        pairs.push(("time", t));
    }
    let body = form_encode(&pairs);
    let exchange = async {
        let mut response = prober
            .client
            .post(url)
            .headers(headers.clone())
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| Failure::down(describe(e)))?;
        let status = response.status().as_u16();
        let too_big = || Failure::down(format!("response exceeds {}", fmt_bytes(max_body)));
        if response
            .content_length()
            .is_some_and(|len| usize::try_from(len).map_or(true, |len| len > max_body))
        {
            return Err(too_big());
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| Failure::down(describe(e)))?
        {
            if bytes.len() + chunk.len() > max_body {
                return Err(too_big());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok((status, bytes))
    };
    let (status, bytes) = match tokio::time::timeout(timeout, exchange).await {
        Err(_) => {
            return Err(Failure::down(format!(
                "timed out after {}",
                fmt_duration(timeout)
            )));
        }
        Ok(r) => r?,
    };
    parse_response(status, &bytes, prober.limits.max_reason_chars)
}

/// Checks `members`, who share `source` (and tier, where a query names it), with
/// queries evaluated at `at` (now when `None`). One outcome per member, in order.
pub(super) async fn probe_batch(
    prober: &Prober,
    source: &PrometheusSource,
    members: &[Member<'_>],
    at: Option<DateTime<Utc>>,
    timeout: Duration,
) -> Vec<ProbeOutcome> {
    if members.is_empty() {
        return Vec::new();
    }
    let headers = match secret_headers(prober, &source.headers) {
        Ok(h) => h,
        Err(reason) => {
            return members
                .iter()
                .map(|_| ProbeOutcome::Down {
                    reason: reason.clone(),
                })
                .collect();
        }
    };
    let url = endpoint(&source.url);
    let queries = source.queries();
    if queries.is_empty() {
        return members
            .iter()
            .map(|_| ProbeOutcome::Down {
                reason: "the prometheus source names no query (error_rate or latency_p95)".into(),
            })
            .collect();
    }
    let ctx = Ctx {
        prober,
        url: &url,
        headers: &headers,
        at,
        timeout,
    };
    let readings: Vec<Vec<Reading>> = futures_util::future::join_all(
        queries
            .iter()
            .map(|(name, template)| ctx.read(name, template, members)),
    )
    .await;
    members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let per_query: Vec<(&str, &str, &Reading)> = queries
                .iter()
                .zip(&readings)
                .map(|((name, template), r)| (*name, *template, &r[i]))
                .collect();
            verdict(source, &m.subject, &per_query)
        })
        .collect()
}

struct Ctx<'a> {
    prober: &'a Prober,
    url: &'a str,
    headers: &'a HeaderMap,
    at: Option<DateTime<Utc>>,
    timeout: Duration,
}

impl Ctx<'_> {
    fn max_body(&self, customers: usize) -> usize {
        self.prober
            .limits
            .max_body_bytes
            .saturating_add(customers.saturating_mul(BODY_BYTES_PER_CUSTOMER))
    }

    async fn ask(&self, name: &str, query: &str, customers: usize) -> Result<Answer, Failure> {
        let answer = request(
            self.prober,
            self.url,
            self.headers,
            query,
            self.at,
            self.timeout,
            self.max_body(customers),
        )
        .await;
        match &answer {
            Ok(a) => {
                for w in &a.warnings {
                    if self.prober.prom.warnings.first(w) {
                        tracing::warn!(server = self.url, query = name, warning = %w, "Prometheus warning");
                    } else {
                        tracing::debug!(server = self.url, query = name, warning = %w, "Prometheus warning");
                    }
                }
            }
            Err(f) if f.config => {
                let said = format!("{name} query on {}: {}", self.url, f.reason);
                if self.prober.prom.config_errors.first(&said) {
                    tracing::error!(
                        server = self.url,
                        query = name,
                        error = %f.reason,
                        "a health query is refused; every customer it serves is down until the configuration is fixed"
                    );
                }
            }
            Err(f) => {
                tracing::debug!(server = self.url, query = name, reason = %f.reason, "Prometheus query failed")
            }
        }
        answer
    }

    /// One query's reading for every member.
    async fn read(&self, name: &str, template: &str, members: &[Member<'_>]) -> Vec<Reading> {
        let shape = promql::shape(template);
        let unbatchable = || self.prober.prom.unbatchable.contains(template);
        match shape {
            Shape::Shared => {
                let query = promql::expand(template, &members[0].subject);
                let answer = self.ask(name, &query, 1).await;
                let reading = one_reading(answer, None);
                vec![reading; members.len()]
            }
            Shape::ByLabel { label, key } if members.len() > 1 && !unbatchable() => {
                // Futures built first, then run a few at once: a stream of closures
                // over borrowed members trips the compiler's `Send` inference.
                let parts: Vec<_> = members
                    .chunks(MAX_BATCH)
                    .map(|chunk| self.read_chunk(name, template, &label, key, chunk))
                    .collect();
                let parts: Vec<Vec<Reading>> = stream::iter(parts)
                    .buffered(CHUNK_CONCURRENCY)
                    .collect()
                    .await;
                parts.into_iter().flatten().collect()
            }
            Shape::ByLabel { .. } | Shape::PerCustomer => {
                self.read_each(name, template, members).await
            }
        }
    }

    async fn read_each(&self, name: &str, template: &str, members: &[Member<'_>]) -> Vec<Reading> {
        let label = match promql::shape(template) {
            Shape::ByLabel { label, key } => Some((label, key)),
            _ => None,
        };
        let label = label.as_ref();
        let asks: Vec<_> = members
            .iter()
            .map(|m| async move {
                let query = promql::expand(template, &m.subject);
                let answer = self.ask(name, &query, 1).await;
                one_reading(
                    answer,
                    label.map(|(l, key)| (l.as_str(), key.of(&m.subject))),
                )
            })
            .collect();
        stream::iter(asks)
            .buffered(PER_CUSTOMER_CONCURRENCY)
            .collect()
            .await
    }

    async fn read_chunk(
        &self,
        name: &str,
        template: &str,
        label: &str,
        key: Key,
        chunk: &[Member<'_>],
    ) -> Vec<Reading> {
        let values: Vec<&str> = chunk.iter().map(|m| key.of(&m.subject)).collect();
        let query = promql::expand_many(template, key, chunk[0].subject.tier, &values);
        let answer = match self.ask(name, &query, chunk.len()).await {
            Ok(a) => a,
            Err(f) => return vec![Reading::Failed(f); chunk.len()],
        };
        let series = match answer.data {
            Data::Vector(s) if s.iter().all(|s| s.labels.contains_key(label)) => s,
            // A scalar, or series without the label: the query aggregates the label
            // away, so the batched answer is not per customer. Ask each.
            _ => {
                if self.prober.prom.unbatchable.first(template) {
                    tracing::warn!(
                        server = self.url,
                        query = name,
                        label,
                        "the query's result does not keep the `{label}` label, so customers are asked one request each; aggregate with `sum by ({label}) (…)` to answer them in one"
                    );
                }
                return self.read_each(name, template, chunk).await;
            }
        };
        let mut by_value: HashMap<&str, Vec<&Series>> = HashMap::with_capacity(series.len());
        for s in &series {
            if let Some(v) = s.labels.get(label) {
                by_value.entry(v.as_str()).or_default().push(s);
            }
        }
        values
            .iter()
            .map(|v| match by_value.get(v).map(Vec::as_slice) {
                None | Some([]) => Reading::Empty,
                Some([one]) => Reading::Value(one.value.clone()),
                Some(many) => Reading::Failed(Failure::config(format!(
                    "the query returns {} series for {label}={}; aggregate to one per customer (sum by ({label}) (…))",
                    many.len(),
                    clean(v, 60)
                ))),
            })
            .collect()
    }
}

/// A one-customer answer as a reading. `label`: the label and value that name the
/// customer, when the template has one, to pick its series out of several.
fn one_reading(answer: Result<Answer, Failure>, label: Option<(&str, &str)>) -> Reading {
    let answer = match answer {
        Ok(a) => a,
        Err(f) => return Reading::Failed(f),
    };
    match answer.data {
        Data::Scalar(raw) => Reading::Value(raw),
        Data::Vector(series) => match series.as_slice() {
            [] => Reading::Empty,
            [one] => Reading::Value(one.value.clone()),
            many => {
                let mine: Vec<&Series> = match label {
                    Some((l, v)) => many
                        .iter()
                        .filter(|s| s.labels.get(l).is_some_and(|x| x == v))
                        .collect(),
                    None => Vec::new(),
                };
                match mine.as_slice() {
                    [one] => Reading::Value(one.value.clone()),
                    _ => Reading::Failed(Failure::config(format!(
                        "the query returns {} series; it must return one number per customer (aggregate with sum(…) or sum by (customer) (…))",
                        many.len()
                    ))),
                }
            }
        },
    }
}

/// One customer's verdict from its readings, `(query name, template, reading)` in
/// the order of [`PrometheusSource::queries`].
fn verdict(
    source: &PrometheusSource,
    subject: &Subject<'_>,
    readings: &[(&str, &str, &Reading)],
) -> ProbeOutcome {
    // A failed request wins: the server or the query is broken, whatever else said.
    for (name, _, r) in readings {
        if let Reading::Failed(f) = r {
            return ProbeOutcome::Down {
                reason: format!("{name} query: {}", f.reason),
            };
        }
        if let Reading::Value(Raw {
            value: Err(why), ..
        }) = r
        {
            return ProbeOutcome::Down {
                reason: format!(
                    "{name} query: Prometheus answered {why} for customer={}",
                    clean(subject.id, 60)
                ),
            };
        }
    }
    let who = format!("customer={}", clean(subject.id, 60));
    let mut no_data: Vec<String> = Vec::new();
    let mut empty: Vec<&str> = Vec::new();
    let mut sample = HealthSample::default();
    for (name, template, r) in readings {
        let value = match r {
            Reading::Empty => {
                empty.push(name);
                continue;
            }
            Reading::Value(Raw { value: Ok(v), text }) => match v {
                Value::Number(x) => (*x, text),
                Value::NaN => {
                    no_data.push(format!(
                        "{name} is NaN for {who} (0/0: no requests in the window?)"
                    ));
                    continue;
                }
                Value::PosInf | Value::NegInf => {
                    no_data.push(format!(
                        "{name} is {} for {who} (a division by zero?)",
                        clean(text, 10)
                    ));
                    continue;
                }
            },
            _ => continue,
        };
        match *name {
            "min_traffic" => {
                let need = source.min_traffic.as_ref().map_or(0.0, |m| m.at_least);
                if value.0 < need {
                    let window = promql::first_range(template)
                        .map(|w| format!(" in {w}"))
                        .unwrap_or_default();
                    return ProbeOutcome::Inconclusive {
                        reason: format!(
                            "no data: {} requests{window}, need {need} (min_traffic, {who})",
                            clean(value.1, 30)
                        ),
                    };
                }
            }
            "error_rate" => sample.error_rate = Some(value.0),
            "latency_p95" => sample.latency_p95_ms = Some(value.0),
            _ => {}
        }
    }
    if !empty.is_empty() {
        no_data.insert(0, format!("empty result for {who} ({})", empty.join(", ")));
    }
    if !no_data.is_empty() {
        return ProbeOutcome::Inconclusive {
            reason: format!("no data: {}", no_data.join("; ")),
        };
    }
    ProbeOutcome::Up { sample }
}

/// The config errors seen so far (each once), sorted.
pub(super) fn config_errors(shared: &Shared) -> Vec<String> {
    shared.config_errors.all()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 200;

    fn ok(body: &str) -> Answer {
        parse_response(200, body.as_bytes(), MAX).expect("an answer")
    }

    fn num(a: &Raw) -> f64 {
        match a.value {
            Ok(Value::Number(x)) => x,
            ref other => panic!("{other:?}"),
        }
    }

    // The responses below were recorded from Prometheus 2.42 (Debian's package) with
    // curl, timestamps and all; the warnings one follows the API's documented shape
    // (2.42 sends warnings only for remote and federated reads).

    #[test]
    fn a_vector_is_read_series_by_series_with_exact_values() {
        let a = ok(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"customer":"acme-corp"},"value":[1796086425.561,"5.263157894736842"]},{"metric":{"customer":"techstart"},"value":[1796086430.580,"1"]}]}}"#,
        );
        let Data::Vector(series) = &a.data else {
            panic!("{a:?}")
        };
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].labels["customer"], "acme-corp");
        assert_eq!(
            num(&series[0].value).to_bits(),
            5.263157894736842f64.to_bits()
        );
        assert_eq!(series[1].value.text, "1");
        assert_eq!(num(&series[1].value), 1.0);
        assert!(a.warnings.is_empty());
        // `vector(0.0000001)`: Prometheus switches to exponent form below 1e-6.
        let a = ok(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1796086425.573,"1e-07"]}]}}"#,
        );
        let Data::Vector(series) = &a.data else {
            panic!("{a:?}")
        };
        assert_eq!(num(&series[0].value), 1e-7);
    }

    #[test]
    fn a_scalar_is_one_value() {
        // `scalar(sum(up))` before the first scrape.
        let a = ok(
            r#"{"status":"success","data":{"resultType":"scalar","result":[1796086425.434,"NaN"]}}"#,
        );
        let Data::Scalar(v) = &a.data else {
            panic!("{a:?}")
        };
        assert_eq!(v.value, Ok(Value::NaN));
        let a = ok(
            r#"{"status":"success","data":{"resultType":"scalar","result":[1796086425.459,"+Inf"]}}"#,
        );
        assert_eq!(
            a.data,
            Data::Scalar(Raw {
                text: "+Inf".into(),
                value: Ok(Value::PosInf)
            })
        );
    }

    #[test]
    fn an_empty_vector_is_an_empty_result() {
        let a = ok(r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#);
        assert_eq!(a.data, Data::Vector(Vec::new()));
    }

    #[test]
    fn nan_and_infinities_are_named_not_numbers() {
        // `sum by (quantile) (prometheus_engine_query_duration_seconds)` on an idle
        // server, and `vector(-1/0)`.
        let a = ok(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"quantile":"0.5"},"value":[1796086430.618,"NaN"]},{"metric":{"quantile":"0.9"},"value":[1796086430.618,"NaN"]}]}}"#,
        );
        let Data::Vector(s) = &a.data else {
            panic!("{a:?}")
        };
        assert_eq!(s[0].value.value, Ok(Value::NaN));
        assert_eq!(s[1].labels["quantile"], "0.9");
        let a = ok(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1796086425.490,"-Inf"]}]}}"#,
        );
        let Data::Vector(s) = &a.data else {
            panic!("{a:?}")
        };
        assert_eq!(s[0].value.value, Ok(Value::NegInf));
    }

    #[test]
    fn the_value_grammar_is_strict() {
        assert_eq!(parse_value("42"), Ok(Value::Number(42.0)));
        assert_eq!(parse_value("-0.5"), Ok(Value::Number(-0.5)));
        assert_eq!(parse_value("1.5e+300"), Ok(Value::Number(1.5e300)));
        assert_eq!(parse_value("1e999"), Ok(Value::PosInf));
        for bad in [
            "", "inf", "nan", "infinity", "1.2.3", "0x10", " 1", "1e", ".", "e5", "1,5",
        ] {
            assert!(parse_value(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_error_envelope_of_a_bad_query_is_a_config_error_with_its_text() {
        // `sum(rate(up[5m]`.
        let f = parse_response(
            400,
            br#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:16: parse error: unclosed left parenthesis"}"#,
            MAX,
        )
        .unwrap_err();
        assert!(f.config);
        assert_eq!(
            f.reason,
            r#"bad query (HTTP 400): bad_data: invalid parameter "query": 1:16: parse error: unclosed left parenthesis"#
        );
        // A many-to-many match.
        let f = parse_response(
            422,
            br#"{"status":"error","errorType":"execution","error":"found duplicate series for the match group {job=\"self\"} on the right hand-side of the operation: [{__name__=\"up\", a=\"2\", instance=\"127.0.0.1:19391\", job=\"self\"}, {__name__=\"up\", a=\"1\", instance=\"127.0.0.1:19391\", job=\"self\"}];many-to-many matching not allowed: matching labels must be unique on one side"}"#,
            MAX,
        )
        .unwrap_err();
        assert!(f.config && f.reason.contains("many-to-many"), "{f:?}");
        assert!(
            f.reason.chars().count() <= ERROR_TEXT_CHARS + 40,
            "capped: {}",
            f.reason
        );
        let f = parse_response(
            503,
            br#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#,
            MAX,
        )
        .unwrap_err();
        assert!(!f.config);
        assert_eq!(
            f.reason,
            "Prometheus unavailable (HTTP 503): timeout: query timed out in expression evaluation"
        );
    }

    #[test]
    fn warnings_are_kept_and_escaped() {
        let a = ok(
            "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]},\"warnings\":[\"remote read: partial response\\u001b[31m\"]}",
        );
        assert_eq!(a.warnings, ["remote read: partial response\\u{1b}[31m"]);
    }

    #[test]
    fn hostile_bodies_are_reasons_not_panics() {
        for (status, body) in [
            (200, &b"<html>nginx</html>"[..]),
            (200, br#"{"status":"success"}"#),
            (200, br#"{"status":"success","data":{"resultType":"vector","result":{}}}"#),
            (200, br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":1},"value":[1,"2"]}]}}"#),
            (200, br#"{"status":"success","data":{"resultType":"scalar","result":[1]}}"#),
            (200, br#"{"status":"error","error":"\u001b[2Jgone"}"#),
            (500, b""),
            (502, b"\xff\xfe"),
            (401, b""),
            (404, b"not found"),
            (301, b""),
        ] {
            let f = parse_response(status, body, MAX).unwrap_err();
            assert!(!f.reason.is_empty());
            assert!(!f.reason.contains('\u{1b}'), "{:?}", f.reason);
        }
        // `up[5m]` and `"a"`.
        let f = parse_response(
            200,
            br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#,
            MAX,
        )
        .unwrap_err();
        assert!(f.config && f.reason.contains("range vector"), "{f:?}");
        let f = parse_response(
            200,
            br#"{"status":"success","data":{"resultType":"string","result":[1796086425.517,"a"]}}"#,
            MAX,
        )
        .unwrap_err();
        assert!(f.config && f.reason.contains("a string"), "{f:?}");
        // A number where a string belongs is read, and refused per customer.
        let a = ok(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,2.5]}]}}"#,
        );
        let Data::Vector(s) = &a.data else { panic!() };
        assert!(s[0].value.value.is_err());
    }

    fn source() -> PrometheusSource {
        PrometheusSource {
            url: "http://127.0.0.1:9090".into(),
            error_rate: Some("e".into()),
            latency_p95: Some("l".into()),
            min_traffic: Some(crate::domain::MinTraffic {
                query: r#"sum(increase(x{customer="{customer}"}[5m]))"#.into(),
                at_least: 50.0,
            }),
            headers: Vec::new(),
            timeout: None,
        }
    }

    fn value(text: &str) -> Reading {
        Reading::Value(Raw {
            text: text.into(),
            value: parse_value(text),
        })
    }

    fn judge(traffic: Reading, err: Reading, lat: Reading) -> ProbeOutcome {
        let s = source();
        let subject = Subject {
            id: "acme-corp",
            name: "ACME Corp",
            tier: "enterprise",
        };
        let mt = s.min_traffic.clone().unwrap().query;
        verdict(
            &s,
            &subject,
            &[
                ("min_traffic", &mt, &traffic),
                ("error_rate", "e", &err),
                ("latency_p95", "l", &lat),
            ],
        )
    }

    #[test]
    fn every_case_has_its_verdict() {
        assert_eq!(
            judge(value("120"), value("5.5"), value("250")),
            ProbeOutcome::Up {
                sample: HealthSample {
                    error_rate: Some(5.5),
                    latency_p95_ms: Some(250.0)
                }
            }
        );
        assert_eq!(
            judge(value("3"), value("5.5"), value("250")),
            ProbeOutcome::Inconclusive {
                reason: "no data: 3 requests in 5m, need 50 (min_traffic, customer=acme-corp)"
                    .into()
            }
        );
        assert_eq!(
            judge(value("120"), Reading::Empty, value("250")),
            ProbeOutcome::Inconclusive {
                reason: "no data: empty result for customer=acme-corp (error_rate)".into()
            }
        );
        let ProbeOutcome::Inconclusive { reason } =
            judge(value("120"), value("NaN"), value("+Inf"))
        else {
            panic!()
        };
        assert_eq!(
            reason,
            "no data: error_rate is NaN for customer=acme-corp (0/0: no requests in the window?); latency_p95 is +Inf for customer=acme-corp (a division by zero?)"
        );
        let down = judge(
            value("120"),
            Reading::Failed(Failure::config(
                "bad query (HTTP 400): bad_data: parse error",
            )),
            value("250"),
        );
        assert_eq!(
            down,
            ProbeOutcome::Down {
                reason: "error_rate query: bad query (HTTP 400): bad_data: parse error".into()
            }
        );
        assert!(judge(value("120"), value("x1"), value("2")).is_down());
    }

    #[test]
    fn one_customer_answers_pick_the_customer_series() {
        let series = |c: &str, v: &str| Series {
            labels: HashMap::from([("customer".to_string(), c.to_string())]),
            value: Raw {
                text: v.into(),
                value: parse_value(v),
            },
        };
        let two = Ok(Answer {
            data: Data::Vector(vec![series("a", "1"), series("b", "2")]),
            warnings: Vec::new(),
        });
        assert_eq!(
            one_reading(two.clone(), Some(("customer", "b"))),
            value("2")
        );
        assert!(matches!(one_reading(two, None), Reading::Failed(f) if f.config));
    }

    #[test]
    fn forms_and_times_are_encoded() {
        assert_eq!(
            form_encode(&[("query", r#"x{a="b c"} / 2"#), ("time", "1.5")]),
            "query=x%7Ba%3D%22b+c%22%7D+%2F+2&time=1.5"
        );
        let at: DateTime<Utc> = "2026-12-01T00:00:00.045Z".parse().unwrap();
        assert_eq!(unix_time(at), "1796083200.045");
        assert_eq!(endpoint("http://p:9090/"), "http://p:9090/api/v1/query");
        assert_eq!(clean("a\u{1b}[31mb", 50), "a\\u{1b}[31mb");
    }
}
