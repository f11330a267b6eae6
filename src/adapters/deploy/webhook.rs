//! The `webhook` deployer: POST a JSON body to a deploy hook, retrying connection
//! errors, 429 and 5xx with a backoff that honours `Retry-After`, then (optionally)
//! poll a status URL until the remote deploy reports success or failure, like
//! Spinnaker's monitored webhook — enough for a Render deploy hook or a GitHub
//! Deployments flow.
//!
//! Every request carries an `Idempotency-Key` header (and the same key in the
//! default body) that stays the same when the deploy is re-issued after a crash,
//! so the receiving end can tell a repeat from a new deploy. Headers come from
//! environment variables and are marked sensitive; a hook URL that is itself the
//! secret (`url_env`) is shown as `$VAR`. Redirects are not followed (a hook that
//! redirects is misconfigured, or a login page). No response, however broken,
//! panics: each is a reason.
//!
//! Why one file (~700 lines of code): the POST, its retries and the status poll share
//! the request builder, the idempotency key and the error mapping; apart, each half
//! would have to re-derive them.

use std::io;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

use super::verify::secret_headers;
use super::{
    DeployContext, DeployLog, MAX_DETAIL_CHARS, Verification, action, attempt_note, backoff,
    printable, render,
};
use crate::adapters::health::{error_chain, fmt_duration, truncate_chars};
use crate::domain::deploy::render_template;
use crate::domain::{HeaderFromEnv, WebhookTarget};
use crate::runtime::effects::{BoxFuture, DeployRequest, Deployer, Outcome};

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_RETRIES: u32 = 2;
pub const DEFAULT_BACKOFF: Duration = Duration::from_secs(2);
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);
pub const DEFAULT_POLL_DEADLINE: Duration = Duration::from_secs(30 * 60);
/// The longest `Retry-After` honoured; a server asking for more fails the deploy.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);
/// Bytes of a response body read (for status pointers and reasons).
const MAX_BODY: usize = 64 * 1024;

/// Where the hook's URL comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum UrlSource {
    /// A template from the config (shown as written).
    Template(String),
    /// The name of the variable holding the whole (secret) URL.
    Env(String),
}

/// Where the status URL comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum StatusUrl {
    /// The hook response's `Location` header.
    Location,
    /// A JSON pointer to it in the hook's response.
    Pointer(String),
    /// A template: placeholders and `{/pointer}` into the hook's response.
    Template(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct PollSpec {
    pub url: StatusUrl,
    pub headers: Vec<HeaderFromEnv>,
    pub field: String,
    pub success: Vec<String>,
    pub failure: Vec<String>,
    /// Release time between polls.
    pub interval: Duration,
    /// Release time the remote deploy may take.
    pub deadline: Duration,
}

/// A webhook target, resolved (durations as `std` ones; tests use milliseconds).
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookDeploy {
    pub url: UrlSource,
    pub query: Vec<(String, String)>,
    pub headers: Vec<HeaderFromEnv>,
    pub body: Option<Value>,
    /// Real time one request may take.
    pub timeout: Duration,
    pub retries: u32,
    /// Release time before the first retry (doubling).
    pub backoff: Duration,
    pub poll: Option<PollSpec>,
}

fn secs(d: Option<crate::domain::HumanDuration>, default: Duration) -> Duration {
    d.filter(|d| !d.is_zero())
        .map_or(default, |d| Duration::from_secs(d.as_secs()))
}

impl WebhookDeploy {
    pub fn from_target(t: &WebhookTarget) -> WebhookDeploy {
        WebhookDeploy {
            url: match (&t.url, &t.url_env) {
                (Some(u), _) => UrlSource::Template(u.clone()),
                (None, Some(env)) => UrlSource::Env(env.clone()),
                (None, None) => UrlSource::Template(String::new()),
            },
            query: t
                .query
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            headers: t.headers.clone(),
            body: t.body.clone(),
            timeout: secs(t.timeout, DEFAULT_TIMEOUT),
            retries: t.retries.unwrap_or(DEFAULT_RETRIES),
            backoff: secs(t.backoff, DEFAULT_BACKOFF),
            poll: t.status.as_ref().map(|p| PollSpec {
                url: match (&p.url, &p.url_pointer) {
                    (Some(u), _) => StatusUrl::Template(u.clone()),
                    (None, Some(ptr)) => StatusUrl::Pointer(ptr.clone()),
                    (None, None) => StatusUrl::Location,
                },
                headers: p.headers.clone().unwrap_or_else(|| t.headers.clone()),
                field: p.field.clone(),
                success: p.success.clone(),
                failure: p.failure.clone(),
                interval: secs(p.interval, DEFAULT_POLL_INTERVAL),
                deadline: secs(p.deadline, DEFAULT_POLL_DEADLINE),
            }),
        }
    }
}

#[derive(Debug, Clone)]
pub struct WebhookDeployer {
    pub spec: WebhookDeploy,
    pub verify: Option<Verification>,
    pub ctx: DeployContext,
}

impl Deployer for WebhookDeployer {
    fn deploy(&self, request: DeployRequest) -> BoxFuture<Outcome> {
        let this = self.clone();
        Box::pin(async move {
            let detached = request.control.detached().clone();
            tokio::select! {
                biased;
                // Dropping the exchange is all leaving takes: the remote deploy
                // goes on, and a resume asks again with the same key.
                _ = detached.cancelled() => Outcome::failed("left running (detached)"),
                outcome = this.run(request) => outcome,
            }
        })
    }
}

/// What the hook answered.
struct Reply {
    status: StatusCode,
    location: Option<String>,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

/// The URL as reasons show it: scheme, host, port and path; no query (it may hold
/// a key), no user info.
fn shown(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port() {
        Some(p) => format!("{}://{host}:{p}{}", url.scheme(), url.path()),
        None => format!("{}://{host}{}", url.scheme(), url.path()),
    }
}

impl WebhookDeployer {
    async fn run(&self, mut request: DeployRequest) -> Outcome {
        let log = self.ctx.log_for(&request);
        let total = self.spec.retries + 1;
        let first = request.attempt.clamp(1, total);
        let (url, url_shown) = match self.hook_url(&request) {
            Ok(u) => u,
            Err(why) => return fail(&log, why),
        };
        let headers = match secret_headers(&self.ctx, &self.spec.headers) {
            Ok(h) => h,
            Err(why) => return fail(&log, why),
        };
        let mut attempt = first;
        let reply = loop {
            request.attempt = attempt;
            let note = attempt_note(attempt, total);
            log.line(&format!(
                "=== {}: {}{}: POST {url_shown} (idempotency key {})",
                request.customer,
                action(&request),
                note,
                request.idempotency_key
            ));
            let body = self.body(&request, attempt);
            let (reason, retry_after) = match self.post(&url, &headers, &request, &body).await {
                Err(why) => (format!("POST {url_shown}: {why}"), None),
                Ok(r) => {
                    let code = r.status;
                    log.line(&format!("HTTP {code} from {url_shown}"));
                    if code.is_success() {
                        break r;
                    }
                    let detail = reason_in(&r.body);
                    if code.is_redirection() {
                        return fail(
                            &log,
                            format!(
                                "HTTP {} from {url_shown}: redirects are not followed; point the hook's url at where it redirects",
                                code.as_u16()
                            ),
                        );
                    }
                    let retryable = code == StatusCode::TOO_MANY_REQUESTS || code.is_server_error();
                    let text = format!("HTTP {} from {url_shown}{detail}", code.as_u16());
                    if !retryable {
                        let note = if attempt > 1 { note.as_str() } else { "" };
                        return fail(&log, format!("{text}{note}"));
                    }
                    (text, r.retry_after)
                }
            };
            if attempt >= total {
                return fail(&log, format!("{reason}{note}"));
            }
            let mut wait = self
                .ctx
                .clock
                .real_for(backoff(self.spec.backoff, attempt - first + 1));
            if let Some(after) = retry_after {
                if after > MAX_RETRY_AFTER {
                    return fail(
                        &log,
                        format!(
                            "{reason}{note}: the hook asks to retry after {}, longer than shipdeck waits ({})",
                            fmt_duration(after),
                            fmt_duration(MAX_RETRY_AFTER)
                        ),
                    );
                }
                // Retry-After is the server's instruction, in real time.
                wait = wait.max(after);
            }
            attempt += 1;
            request.control.retrying(attempt, &reason);
            log.line(&format!(
                "{reason}; retrying in {}: attempt {attempt} of {total}",
                fmt_duration(wait)
            ));
            tokio::time::sleep(wait).await;
        };
        let mut detail = format!(
            "HTTP {} from {url_shown}{}",
            reply.status.as_u16(),
            if attempt > 1 {
                attempt_note(attempt, total)
            } else {
                String::new()
            }
        );
        if let Some(poll) = &self.spec.poll {
            match self.poll(poll, &url, &reply, &request, &log).await {
                Ok(done) => detail = done,
                Err(why) => return fail(&log, why),
            }
        }
        if let Some(v) = &self.verify {
            match v.run(&self.ctx, &request, &log).await {
                None => return Outcome::failed("left running (detached)"),
                Some(Ok(seen)) => detail = format!("{detail}; {seen}"),
                Some(Err(why)) => return fail(&log, why),
            }
        }
        log.line(&format!("done: {detail}"));
        Outcome::ok(detail)
    }

    /// The hook's URL with its query, and how reasons show it.
    fn hook_url(&self, request: &DeployRequest) -> Result<(Url, String), String> {
        let (text, secret) = match &self.spec.url {
            UrlSource::Template(t) => (render(t, request, request.attempt), None),
            UrlSource::Env(var) => match (self.ctx.env)(var) {
                Ok(v) => (v, Some(var)),
                Err(_) => {
                    return Err(format!(
                        "environment variable {var} is not set (it holds the deploy hook's URL)"
                    ));
                }
            },
        };
        let mut url = match Url::parse(text.trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            _ => {
                return Err(match secret {
                    Some(var) => format!("environment variable {var} does not hold an http(s) URL"),
                    None => format!("`{}` is not an http(s) URL", printable(&text)),
                });
            }
        };
        if !self.spec.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &self.spec.query {
                pairs.append_pair(k, &render(v, request, request.attempt));
            }
        }
        let label = match secret {
            Some(var) => format!("${var}"),
            None => shown(&url),
        };
        Ok((url, label))
    }

    fn body(&self, request: &DeployRequest, attempt: u32) -> Value {
        match &self.spec.body {
            Some(template) => render_json(template, request, attempt),
            None => json!({
                "release": request.release,
                "action": if request.rollback { "rollback" } else { "deploy" },
                "version": request.version.to_string(),
                "previous_version": request.previous_version.to_string(),
                "customer": request.customer.as_str(),
                "customer_name": request.customer_name,
                "tier": request.tier.as_str(),
                "attempt": attempt,
                "idempotency_key": request.idempotency_key,
                "operator": request.operator,
            }),
        }
    }

    async fn post(
        &self,
        url: &Url,
        headers: &HeaderMap,
        request: &DeployRequest,
        body: &Value,
    ) -> Result<Reply, String> {
        let mut headers = headers.clone();
        if let Ok(v) = HeaderValue::from_str(&request.idempotency_key) {
            headers.insert("idempotency-key", v);
        }
        let exchange = async {
            let resp = self
                .ctx
                .http
                .post(url.clone())
                .headers(headers)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(body).unwrap_or_default())
                .send()
                .await
                .map_err(|e| describe_transport(&e))?;
            let status = resp.status();
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            // The verdict is the status; a body that breaks off is only less to read.
            let body = read_body(resp, MAX_BODY).await.unwrap_or_default();
            Ok(Reply {
                status,
                location,
                retry_after,
                body,
            })
        };
        match tokio::time::timeout(self.spec.timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "no answer within {}",
                fmt_duration(self.spec.timeout)
            )),
        }
    }

    /// Polls the status URL until a success or failure value, or the deadline.
    async fn poll(
        &self,
        poll: &PollSpec,
        hook: &Url,
        reply: &Reply,
        request: &DeployRequest,
        log: &DeployLog,
    ) -> Result<String, String> {
        let doc: Option<Value> = serde_json::from_slice(&reply.body).ok();
        let code = reply.status.as_u16();
        let target = match &poll.url {
            StatusUrl::Location => reply.location.clone().ok_or_else(|| {
                format!("HTTP {code} from the hook, but no Location header to poll for its status")
            })?,
            StatusUrl::Pointer(ptr) => match doc.as_ref().map(|d| d.pointer(ptr)) {
                None => {
                    return Err(format!(
                        "HTTP {code} from the hook, but its body is not JSON, so there is no status URL at {ptr}"
                    ));
                }
                Some(Some(Value::String(s))) => s.clone(),
                Some(_) => {
                    return Err(format!(
                        "HTTP {code} from the hook, but its body has no status URL at {ptr}"
                    ));
                }
            },
            StatusUrl::Template(t) => {
                let missing = std::cell::RefCell::new(None);
                let text = render_template(t, &|name: &str| {
                    if name.starts_with('/') {
                        let v = doc
                            .as_ref()
                            .and_then(|d| d.pointer(name))
                            .and_then(|v| match v {
                                Value::String(s) => Some(s.clone()),
                                Value::Number(n) => Some(n.to_string()),
                                _ => None,
                            });
                        if v.is_none() {
                            *missing.borrow_mut() = Some(name.to_string());
                        }
                        v
                    } else {
                        super::placeholder(request, request.attempt, name)
                    }
                });
                if let Some(ptr) = missing.into_inner() {
                    return Err(format!(
                        "HTTP {code} from the hook, but its body has nothing at {ptr} for the status URL"
                    ));
                }
                text
            }
        };
        let url = hook
            .join(target.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                format!(
                    "the status URL `{}` is not an http(s) URL",
                    truncate_chars(&printable(&target), 100)
                )
            })?;
        let at = url.path().to_string();
        let headers = secret_headers(&self.ctx, &poll.headers)?;
        let until =
            self.ctx.clock.now() + chrono::TimeDelta::from_std(poll.deadline).unwrap_or_default();
        log.line(&format!(
            "polling {} for {} every {}",
            shown(&url),
            poll.field,
            fmt_duration(poll.interval)
        ));
        let mut last_status: Option<String> = None;
        let mut last_problem: Option<String> = None;
        loop {
            match self.get_status(&url, &headers).await {
                Err(why) => {
                    if last_problem.as_deref() != Some(&why) {
                        log.line(&format!("status: {why}"));
                    }
                    last_problem = Some(why);
                }
                Ok((status, body)) => {
                    let code = status.as_u16();
                    if status.is_redirection() {
                        return Err(format!(
                            "HTTP {code} from {at}: redirects are not followed; point the status URL at where it redirects"
                        ));
                    }
                    if status.is_client_error()
                        && status != StatusCode::TOO_MANY_REQUESTS
                        && status != StatusCode::REQUEST_TIMEOUT
                    {
                        return Err(format!("HTTP {code} from {at}{}", reason_in(&body)));
                    }
                    if !status.is_success() {
                        last_problem = Some(format!("HTTP {code} from {at}"));
                    } else {
                        match serde_json::from_slice::<Value>(&body) {
                            Err(_) => {
                                last_problem =
                                    Some(format!("the status response from {at} is not JSON"));
                            }
                            Ok(doc) => {
                                let value = match doc.pointer(&poll.field) {
                                    Some(Value::String(s)) => Some(s.clone()),
                                    Some(Value::Null) | None => None,
                                    Some(other) => Some(other.to_string()),
                                };
                                match value {
                                    None => {
                                        last_problem = Some(format!(
                                            "no status at {} in the response from {at}",
                                            poll.field
                                        ));
                                    }
                                    Some(v) => {
                                        let shown_v = truncate_chars(&printable(&v), 60);
                                        if last_status.as_deref() != Some(&shown_v) {
                                            log.line(&format!("status \"{shown_v}\" at {at}"));
                                        }
                                        if poll.success.contains(&v) {
                                            return Ok(format!("status \"{shown_v}\" at {at}"));
                                        }
                                        if poll.failure.contains(&v) {
                                            return Err(format!("status \"{shown_v}\" at {at}"));
                                        }
                                        last_status = Some(shown_v);
                                        last_problem = None;
                                    }
                                }
                            }
                        }
                    }
                    if let Some(p) = &last_problem {
                        log.line(&format!("status: {p}"));
                    }
                }
            }
            if self.ctx.clock.now() >= until {
                let after = fmt_duration(poll.deadline);
                return Err(match (last_status, last_problem) {
                    (_, Some(p)) => format!("no final status after {after}: {p}"),
                    (Some(s), None) => format!("status still \"{s}\" at {at} after {after}"),
                    (None, None) => format!("no final status from {at} after {after}"),
                });
            }
            if !self.ctx.pause(poll.interval, request).await {
                return Err("left running (detached)".into());
            }
        }
    }

    async fn get_status(
        &self,
        url: &Url,
        headers: &HeaderMap,
    ) -> Result<(StatusCode, Vec<u8>), String> {
        let exchange = async {
            let resp = self
                .ctx
                .http
                .get(url.clone())
                .headers(headers.clone())
                .send()
                .await
                .map_err(|e| describe_transport(&e))?;
            let status = resp.status();
            let body = read_body(resp, MAX_BODY).await?;
            Ok((status, body))
        };
        match tokio::time::timeout(self.spec.timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "no answer within {}",
                fmt_duration(self.spec.timeout)
            )),
        }
    }
}

fn fail(log: &DeployLog, why: String) -> Outcome {
    log.line(&format!("FAILED: {why}"));
    Outcome::failed(why)
}

/// Fills the placeholders in every string of a body template.
fn render_json(v: &Value, request: &DeployRequest, attempt: u32) -> Value {
    match v {
        Value::String(s) => Value::String(render(s, request, attempt)),
        Value::Array(a) => {
            Value::Array(a.iter().map(|x| render_json(x, request, attempt)).collect())
        }
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), render_json(x, request, attempt)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `: <message>` from an error body (a JSON `message` or `error`, else its first
/// line), escaped and short; nothing when the body says nothing.
fn reason_in(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(d) => ["/message", "/error", "/error/message", "/detail"]
            .iter()
            .find_map(|p| d.pointer(p).and_then(Value::as_str).map(str::to_string)),
        Err(_) => {
            let s = String::from_utf8_lossy(body);
            s.lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(str::to_string)
        }
    };
    match text {
        Some(t) if !t.is_empty() => {
            format!(": {}", truncate_chars(&printable(&t), MAX_DETAIL_CHARS / 2))
        }
        _ => String::new(),
    }
}

/// `Retry-After` as seconds or an HTTP date.
fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or_default())
}

/// Reads a body up to `max` bytes; `Err` when it is bigger or breaks off.
pub(crate) async fn read_body(mut resp: reqwest::Response, max: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| describe_transport(&e))? {
        if body.len() + chunk.len() > max {
            return Err(format!("the response is larger than {} KiB", max / 1024));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A transport error as an operator reads it, without the URL (the caller names
/// it, and some URLs are secrets).
pub(crate) fn describe_transport(err: &reqwest::Error) -> String {
    if crate::adapters::io_kinds(err).any(|k| k == io::ErrorKind::UnexpectedEof) {
        return "the connection closed early".into();
    }
    if let Some(known) = crate::adapters::known_transport_failure(err) {
        return known.into();
    }
    let text = error_chain(&without_url(err));
    let text = if err.is_connect() {
        format!("cannot connect: {text}")
    } else {
        text
    };
    truncate_chars(&printable(&text), MAX_DETAIL_CHARS)
}

/// reqwest puts the URL into its message; the URL may be a secret.
fn without_url(err: &reqwest::Error) -> impl std::error::Error + 'static {
    #[derive(Debug)]
    struct Plain(String, Option<String>);
    impl std::fmt::Display for Plain {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match &self.1 {
                Some(cause) => write!(f, "{}: {cause}", self.0),
                None => f.write_str(&self.0),
            }
        }
    }
    impl std::error::Error for Plain {}
    let kind = if err.is_connect() {
        "connection failed"
    } else if err.is_timeout() {
        "timed out"
    } else if err.is_body() || err.is_decode() {
        "the response broke off"
    } else if err.is_request() {
        "the request failed"
    } else {
        "HTTP error"
    };
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(err);
    while let Some(c) = source {
        let msg = c.to_string();
        if !causes.contains(&msg) {
            causes.push(msg);
        }
        source = c.source();
    }
    Plain(
        kind.to_string(),
        if causes.is_empty() {
            None
        } else {
            Some(causes.join(": "))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn reasons_come_from_json_messages_or_the_first_line() {
        assert_eq!(
            reason_in(br#"{"message":"Bad credentials"}"#),
            ": Bad credentials"
        );
        assert_eq!(
            reason_in(b"\n<html>\x1b[2J oops\n"),
            ": <html>\\x1b[2J oops"
        );
        assert_eq!(reason_in(b""), "");
    }
}
