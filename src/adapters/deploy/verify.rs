//! The verify step: after a deploy says it is done, read the customer's live
//! version until it is the one intended or the deadline passes. A deploy is only
//! `deployed` when the live version matches; otherwise it fails with both
//! versions in the reason. Shipit shows the live revision; shipdeck holds the wave
//! on it.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::{DeployContext, DeployLog, MAX_DETAIL_CHARS, env_vars, printable, render};
use crate::adapters::health::{fmt_duration, truncate_chars};
use crate::adapters::process::{self, ProcessError, ProcessSpec};
use crate::domain::{HeaderFromEnv, Version};
use crate::runtime::effects::DeployRequest;

/// How the live version is read.
#[derive(Debug, Clone, PartialEq)]
pub enum VerifyHow {
    /// GET `url` (a template) and read `pointer` in its JSON body.
    Pointer {
        url: String,
        headers: Vec<HeaderFromEnv>,
        pointer: String,
    },
    /// Run a program; its last non-empty line of stdout is the live version.
    Command { program: String, args: Vec<String> },
    /// Nowhere to read from (explained): every verify fails with this reason.
    Impossible(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    pub how: VerifyHow,
    /// Release time to wait for the right version.
    pub deadline: Duration,
    /// Release time between reads.
    pub interval: Duration,
    /// Real time one read may take.
    pub read_timeout: Duration,
}

pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(120);
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Versions match as semver (`v1.0.2` = `1.0.2`), else as trimmed text.
pub fn same_version(live: &str, want: &Version) -> bool {
    let live = live.trim();
    match live.parse::<Version>() {
        Ok(v) => &v == want,
        Err(_) => live == want.to_string(),
    }
}

impl Verification {
    /// Reads until the live version is `request.version`. `Ok` says what was seen;
    /// `Err` is the reason the deploy failed. `None` when the operator detached.
    pub async fn run(
        &self,
        ctx: &DeployContext,
        request: &DeployRequest,
        log: &DeployLog,
    ) -> Option<Result<String, String>> {
        let want = &request.version;
        let until =
            ctx.clock.now() + chrono::TimeDelta::from_std(self.deadline).unwrap_or_default();
        let mut last = String::new();
        let mut reads = 0u32;
        loop {
            reads += 1;
            let read = self.read(ctx, request).await;
            match &read {
                Ok(live) if same_version(live, want) => {
                    log.line(&format!(
                        "verify: live version {} (as intended)",
                        printable(live)
                    ));
                    return Some(Ok(format!("live version {}", printable(live.trim()))));
                }
                Ok(live) => {
                    let live = truncate_chars(&printable(live.trim()), 60);
                    if live != last {
                        log.line(&format!("verify: live version {live}, waiting for {want}"));
                    }
                    last = live;
                }
                Err(why) => {
                    log.line(&format!("verify: {why}"));
                    if let VerifyHow::Impossible(_) = self.how {
                        return Some(Err(format!("cannot verify: {why}")));
                    }
                }
            }
            if ctx.clock.now() >= until {
                let over = fmt_duration(self.deadline);
                return Some(Err(match read {
                    Ok(_) => format!(
                        "live version is {last}, expected {want} (still after {over} of verifying)"
                    ),
                    Err(why) => format!(
                        "could not read the live version, expected {want} ({why}; {reads} reads over {over})"
                    ),
                }));
            }
            if !ctx.pause(self.interval, request).await {
                return None;
            }
        }
    }

    async fn read(&self, ctx: &DeployContext, request: &DeployRequest) -> Result<String, String> {
        match &self.how {
            VerifyHow::Impossible(why) => Err(why.clone()),
            VerifyHow::Pointer {
                url,
                headers,
                pointer,
            } => {
                let url = render(url, request, request.attempt);
                let headers = secret_headers(ctx, headers)?;
                let exchange = async {
                    let resp = ctx
                        .http
                        .get(&url)
                        .headers(headers)
                        .send()
                        .await
                        .map_err(|e| super::webhook::describe_transport(&e))?;
                    let status = resp.status();
                    let body = super::webhook::read_body(resp, 64 * 1024).await?;
                    let doc: serde_json::Value = serde_json::from_slice(&body).map_err(|_| {
                        format!("the health response (HTTP {}) is not JSON", status.as_u16())
                    })?;
                    match doc.pointer(pointer) {
                        Some(serde_json::Value::String(s)) => Ok(s.clone()),
                        Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
                        Some(_) => {
                            Err(format!("{pointer} in the health response is not a version"))
                        }
                        None => Err(format!(
                            "the health response (HTTP {}) has nothing at {pointer}",
                            status.as_u16()
                        )),
                    }
                };
                match tokio::time::timeout(self.read_timeout, exchange).await {
                    Ok(r) => r,
                    Err(_) => Err(format!(
                        "no health response within {}",
                        fmt_duration(self.read_timeout)
                    )),
                }
            }
            VerifyHow::Command { program, args } => {
                let spec = ProcessSpec {
                    program: render(program, request, request.attempt),
                    args: args
                        .iter()
                        .map(|a| render(a, request, request.attempt))
                        .collect(),
                    env: env_vars(request, request.attempt),
                    timeout: self.read_timeout,
                    max_output: 16 * 1024,
                    drain_stdout: true,
                    ..ProcessSpec::default()
                };
                match process::run(&spec).await {
                    Ok(done) if done.status.success() => {
                        let out = String::from_utf8_lossy(&done.stdout.tail).into_owned();
                        out.lines()
                            .map(str::trim)
                            .rfind(|l| !l.is_empty())
                            .map(str::to_string)
                            .ok_or_else(|| format!("`{program}` printed no version"))
                    }
                    Ok(done) => Err(format!(
                        "`{program}` {}{}",
                        done.status_text(),
                        done.last_line()
                            .map(|l| format!(
                                ": {}",
                                truncate_chars(&printable(&l), MAX_DETAIL_CHARS)
                            ))
                            .unwrap_or_default()
                    )),
                    Err(e @ ProcessError::TimedOut(_)) => Err(format!("`{program}` {e}")),
                    Err(e) => Err(e.to_string()),
                }
            }
        }
    }
}

/// The configured headers with their values from the environment, marked
/// sensitive. The reason for a missing variable names it, never a value.
pub fn secret_headers(ctx: &DeployContext, headers: &[HeaderFromEnv]) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for h in headers {
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| format!("`{}` is not a valid HTTP header name", h.name))?;
        let value = (ctx.env)(&h.env).map_err(|_| {
            format!(
                "environment variable {} is not set (it holds header {})",
                h.env, h.name
            )
        })?;
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            format!(
                "environment variable {} does not hold a valid value for header {}",
                h.env, h.name
            )
        })?;
        value.set_sensitive(true);
        map.append(name, value);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_match_with_or_without_v() {
        let v = Version::new(1, 0, 2);
        assert!(same_version("v1.0.2", &v));
        assert!(same_version(" 1.0.2\n", &v));
        assert!(!same_version("v1.0.1", &v));
        assert!(!same_version("main", &v));
    }
}
