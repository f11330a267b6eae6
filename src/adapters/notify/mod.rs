//! Notifiers: where the engine's notices go, behind the runtime's `Notifier` port.
//!
//! [`Outbox`] is the one notifier a release uses: it renders each delivery's
//! [`message::Message`] from the plan, picks the channel its destination names
//! (`slack`, `webhook`, `command`, `file`), and retries with backoff — doubling from
//! the policy's first wait, or what a receiver's `Retry-After` asks — on 429, 5xx,
//! timeouts and broken connections. It never holds the release: each delivery is a
//! task of its own, and its outcome comes back as a result the engine journals.
//!
//! Waits count on the release clock, so a drill at `--speed N` retries N times
//! sooner and tests on a paused or scaled clock need no real time.
//!
//! Secrets stay out of everything printed: URLs come from environment variables
//! at send time; errors are stripped of the URL (`without_url`) and any trace of
//! it is redacted from answers; answers are capped and control characters escaped.

pub mod file;
pub mod message;
pub mod slack;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;

pub use file::FileNotifier;
pub use message::{Message, Renderer, sanitize};

use crate::adapters::process::{self, ProcessSpec};
use crate::domain::notify::split_destination;
use crate::domain::{Channel, HeaderFromEnv, RetryPolicy};
use crate::runtime::clock::Clock;
use crate::runtime::effects::{BoxFuture, Delivery, Notice, Notifier};

/// Longest answer kept from a receiver.
const ANSWER_MAX: usize = 200;
/// Per-attempt timeout when a channel sets none.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Delivered(String),
    /// Worth trying again (429, 5xx, timeout, connection), after `after` if the
    /// receiver said (`Retry-After`).
    Retry {
        answer: String,
        after: Option<Duration>,
    },
    /// Trying again will not help (404, 400, a missing environment variable).
    Refused(String),
}

/// Delivers notices of one release to its configured channels (cheap to clone).
#[derive(Clone)]
pub struct Outbox {
    channels: HashMap<String, Channel>,
    retry: RetryPolicy,
    clock: Clock,
    renderer: Arc<Renderer>,
    /// The notification log (the `file` channel).
    log: PathBuf,
    client: Option<reqwest::Client>,
    /// Reads secrets by variable name (the process environment; tests give a map,
    /// since setting a process's environment while threads run is unsound).
    env: EnvLookup,
}

/// How an outbox reads environment variables.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

impl Outbox {
    pub fn new(renderer: Renderer, clock: Clock, log: PathBuf) -> Outbox {
        crate::adapters::health::install_crypto_provider();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("shipdeck/", env!("CARGO_PKG_VERSION"), " notify"))
            .build()
            .map_err(|e| tracing::error!("notices over HTTP are off: {}", e.without_url()))
            .ok();
        Outbox {
            channels: renderer
                .plan
                .notifications
                .channels
                .clone()
                .into_iter()
                .collect(),
            retry: renderer.plan.notifications.retry,
            clock,
            renderer: Arc::new(renderer),
            log,
            client,
            env: Arc::new(|name: &str| std::env::var(name).ok()),
        }
    }

    /// Reads secrets through `env` instead of the process environment.
    pub fn with_env(mut self, env: EnvLookup) -> Outbox {
        self.env = env;
        self
    }

    /// One attempt at delivering `m` through `channel`.
    async fn attempt(&self, channel: &Channel, m: &Message, contact: Option<&str>) -> Attempt {
        match channel {
            Channel::File => {
                let line = FileNotifier::line_of(m);
                match (FileNotifier {
                    path: self.log.clone(),
                })
                .append(&line)
                {
                    Ok(()) => Attempt::Delivered("written to the notification log".into()),
                    Err(e) => Attempt::Retry {
                        answer: format!("cannot write the notification log: {e}"),
                        after: None,
                    },
                }
            }
            Channel::Slack { url_env, timeout } => {
                let body = slack::payload(m, contact);
                self.post(url_env, &[], body, timeout_of(*timeout), &m.dedupe_key)
                    .await
            }
            Channel::Webhook {
                url_env,
                headers,
                timeout,
            } => {
                let body = serde_json::to_value(m).unwrap_or_default();
                self.post(url_env, headers, body, timeout_of(*timeout), &m.dedupe_key)
                    .await
            }
            Channel::Command {
                program,
                args,
                timeout,
            } => {
                let spec = ProcessSpec {
                    program: program.clone(),
                    args: args.clone(),
                    env: vec![(
                        "SHIPDECK_DEDUPE_KEY".to_string(),
                        OsString::from(&m.dedupe_key),
                    )],
                    stdin: Some(serde_json::to_vec(m).unwrap_or_default()),
                    timeout: timeout_of(*timeout),
                    max_output: 4096,
                    drain_stdout: true,
                    ..ProcessSpec::default()
                };
                match process::run(&spec).await {
                    Ok(done) if done.status.success() => {
                        Attempt::Delivered(done.last_line().unwrap_or_else(|| "exit 0".to_string()))
                    }
                    Ok(done) => Attempt::Retry {
                        answer: format!(
                            "{}{}",
                            done.status_text(),
                            done.last_line()
                                .map(|l| format!(": {l}"))
                                .unwrap_or_default()
                        ),
                        after: None,
                    },
                    Err(process::ProcessError::Spawn { program, why }) => {
                        Attempt::Refused(format!("cannot run `{program}`: {why}"))
                    }
                    Err(e) => Attempt::Retry {
                        answer: e.to_string(),
                        after: None,
                    },
                }
            }
        }
    }

    async fn post(
        &self,
        url_env: &str,
        headers: &[HeaderFromEnv],
        body: serde_json::Value,
        timeout: Duration,
        key: &str,
    ) -> Attempt {
        let Some(client) = &self.client else {
            return Attempt::Refused("no HTTP client (see shipdeck.log)".into());
        };
        let url = match (self.env)(url_env) {
            Some(u) if !u.trim().is_empty() => u,
            _ => {
                return Attempt::Refused(format!(
                    "environment variable {url_env} (the webhook URL) is not set"
                ));
            }
        };
        let mut req = client
            .post(url.trim())
            .timeout(timeout)
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(body.to_string());
        let mut secrets = vec![url.trim().to_string()];
        for h in headers {
            match (self.env)(&h.env) {
                Some(v) => {
                    secrets.push(v.clone());
                    req = req.header(h.name.as_str(), v);
                }
                None => {
                    return Attempt::Refused(format!(
                        "environment variable {} (header {}) is not set",
                        h.env, h.name
                    ));
                }
            }
        }
        let redact = |s: String| redact(&s, &secrets);
        match req.send().await {
            Ok(resp) => {
                let status = resp.status();
                let retry_after = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, self.clock.now()));
                let text = resp.text().await.unwrap_or_default();
                let answer = redact(format!(
                    "HTTP {}{}",
                    status.as_u16(),
                    if text.trim().is_empty() {
                        String::new()
                    } else {
                        format!(" {}", sanitize(&text, ANSWER_MAX))
                    }
                ));
                if status.is_success() {
                    Attempt::Delivered(answer)
                } else if status.as_u16() == 429
                    || status.as_u16() == 408
                    || status.is_server_error()
                {
                    Attempt::Retry {
                        answer,
                        after: retry_after,
                    }
                } else {
                    Attempt::Refused(answer)
                }
            }
            Err(e) => {
                let why = if e.is_timeout() {
                    "timed out".to_string()
                } else if crate::adapters::is_unparsable_status_line(&e) {
                    crate::adapters::STATUS_LINE_UNPARSABLE.to_string()
                } else if e.is_connect() {
                    format!("cannot connect: {}", chain(&e.without_url()))
                } else {
                    chain(&e.without_url())
                };
                Attempt::Retry {
                    answer: redact(sanitize(&why, ANSWER_MAX)),
                    after: None,
                }
            }
        }
    }

    /// Delivers with retries: attempts until one is delivered or refused, or the
    /// policy's attempts are spent.
    pub async fn deliver(&self, notice: &Notice) -> Delivery {
        let m = self.renderer.message(notice);
        self.deliver_message(&m, &notice.to).await
    }

    /// Delivers a message already written (the weekly digest) to `to`.
    pub async fn deliver_message(&self, m: &Message, to: &str) -> Delivery {
        let (name, contact) = split_destination(to);
        let Some(channel) = self.channels.get(name).cloned() else {
            return Delivery {
                ok: false,
                attempts: 0,
                answer: format!("no channel `{name}` in this release's notifications"),
            };
        };
        let key = &m.dedupe_key;
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.attempt(&channel, m, contact).await {
                Attempt::Delivered(answer) => {
                    tracing::info!(key = %key, %to, attempts, "notice delivered");
                    return Delivery {
                        ok: true,
                        attempts,
                        answer,
                    };
                }
                Attempt::Refused(answer) => {
                    tracing::warn!(key = %key, %to, attempts, %answer, "notice refused");
                    return Delivery {
                        ok: false,
                        attempts,
                        answer,
                    };
                }
                Attempt::Retry { answer, after } => {
                    if attempts >= self.retry.attempts.max(1) {
                        tracing::warn!(key = %key, %to, attempts, %answer, "notice not delivered; giving up");
                        return Delivery {
                            ok: false,
                            attempts,
                            answer,
                        };
                    }
                    let wait = match after {
                        Some(a) => a.min(Duration::from_secs(self.retry.max_retry_after.as_secs())),
                        None => Duration::from_secs(self.retry.backoff(attempts).as_secs()),
                    };
                    tracing::info!(key = %key, %to, attempts, %answer, wait_s = wait.as_secs(), "notice not delivered yet; retrying");
                    let until =
                        self.clock.now() + TimeDelta::from_std(wait).unwrap_or(TimeDelta::zero());
                    self.clock.sleep_until(until).await;
                }
            }
        }
    }
}

impl Notifier for Outbox {
    fn notify(&self, notice: Notice) -> BoxFuture<Delivery> {
        let this = self.clone();
        Box::pin(async move { this.deliver(&notice).await })
    }
}

fn timeout_of(t: Option<crate::domain::HumanDuration>) -> Duration {
    t.map(|t| Duration::from_secs(t.as_secs().max(1)))
        .unwrap_or(DEFAULT_TIMEOUT)
}

fn chain(e: &reqwest::Error) -> String {
    crate::adapters::health::error_chain(e)
}

/// Replaces every secret (and a URL's path, which carries a webhook's token) with
/// `<redacted>`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if s.len() >= 4 {
            out = out.replace(s.as_str(), "<redacted>");
        }
        if let Some(rest) = s.split_once("://").map(|(_, r)| r) {
            if let Some((_, path)) = rest.split_once('/') {
                if path.len() >= 4 {
                    out = out.replace(path, "<redacted>");
                }
            }
        }
    }
    out
}

/// `Retry-After`: seconds, or an HTTP date.
pub fn parse_retry_after(v: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    (at.with_timezone(&chrono::Utc) - now).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now: chrono::DateTime<chrono::Utc> = "2015-10-21T07:28:00Z".parse().unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:30:00 GMT", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn secrets_are_redacted() {
        let secrets = vec!["https://hooks.example/T0/B0/SECRETTOKEN".to_string()];
        let s = redact(
            "error for https://hooks.example/T0/B0/SECRETTOKEN and T0/B0/SECRETTOKEN",
            &secrets,
        );
        assert!(!s.contains("SECRETTOKEN"), "{s}");
    }
}
