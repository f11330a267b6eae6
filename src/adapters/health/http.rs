//! The `http` health source: GET a URL under a deadline; 2xx is up.
//!
//! The whole exchange (connect, headers, every body chunk) runs under one deadline, so
//! a server that accepts and then trickles or stalls fails the check like one that
//! never answers. The body is read chunk by chunk and abandoned as soon as it passes
//! the size limit: a misrouted health URL that serves a multi-megabyte page (or an
//! endless stream) costs at most that limit.

use std::io;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::pointer::{self, Pointers, Read};
use super::{Prober, error_chain, fmt_bytes, fmt_duration};
use crate::domain::{HeaderFromEnv, HealthSample, ProbeOutcome};

/// The URL to GET: as configured, or parsed once ahead of a round.
pub(super) enum Url<'a> {
    Text(&'a str),
    Parsed(&'a reqwest::Url),
}

pub(super) async fn probe(
    prober: &Prober,
    url: Url<'_>,
    headers: &[HeaderFromEnv],
    timeout: Duration,
    pointers: Pointers<'_>,
) -> ProbeOutcome {
    let header_map = match secret_headers(prober, headers) {
        Ok(map) => map,
        Err(reason) => return ProbeOutcome::Down { reason },
    };
    let started = Instant::now();
    // Boxed: the exchange is reqwest's whole request future (kilobytes), and each
    // layer it is handed through (the deadline, the round's set) would copy it.
    let exchange = Box::pin(fetch(prober, url, header_map, prober.limits.max_body_bytes));
    let body = match tokio::time::timeout(timeout, exchange).await {
        Err(_) => {
            return ProbeOutcome::Down {
                reason: format!("timed out after {}", fmt_duration(timeout)),
            };
        }
        Ok(Err(reason)) => return ProbeOutcome::Down { reason },
        Ok(Ok(body)) => body,
    };
    // The response time as the caller saw it, body included.
    let measured_ms = started.elapsed().as_secs_f64() * 1000.0;

    if !pointers.any() {
        return ProbeOutcome::Up {
            sample: HealthSample {
                error_rate: None,
                latency_p95_ms: Some(measured_ms),
            },
        };
    }
    match pointer::read_figures(&body, "body", pointers) {
        Err(reason) => ProbeOutcome::Down { reason },
        Ok(Read::NoData(reason)) => ProbeOutcome::Inconclusive { reason },
        Ok(Read::Figures(f)) => ProbeOutcome::Up {
            sample: HealthSample {
                error_rate: f.error_rate,
                latency_p95_ms: if pointers.latency.is_some() {
                    f.latency_p95_ms
                } else {
                    Some(measured_ms)
                },
            },
        },
    }
}

/// Builds the configured headers from the environment, now (so a rotated token is
/// picked up without a restart). Values are marked sensitive so that no `Debug` of the
/// request prints them, and no reason here ever quotes one.
pub(super) fn secret_headers(
    prober: &Prober,
    headers: &[HeaderFromEnv],
) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for h in headers {
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| format!("`{}` is not a valid HTTP header name", h.name))?;
        let value = match (prober.env)(&h.env) {
            Ok(v) => v,
            Err(std::env::VarError::NotPresent) => {
                return Err(format!(
                    "environment variable {} is not set (it holds header {})",
                    h.env, h.name
                ));
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(format!(
                    "environment variable {} is not valid UTF-8 (it holds header {})",
                    h.env, h.name
                ));
            }
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            format!(
                "environment variable {} does not hold a valid value for header {} \
                 (a newline or control character?)",
                h.env, h.name
            )
        })?;
        value.set_sensitive(true);
        map.append(name, value);
    }
    Ok(map)
}

/// Sends the request and reads a 2xx body up to `max` bytes; `Err` is the reason the
/// check failed.
async fn fetch(
    prober: &Prober,
    url: Url<'_>,
    headers: HeaderMap,
    max: usize,
) -> Result<Vec<u8>, String> {
    let request = match url {
        Url::Text(text) => prober.client.get(text),
        Url::Parsed(parsed) => prober.client.get(parsed.clone()),
    };
    let mut response = request.headers(headers).send().await.map_err(describe)?;
    let status = response.status();
    if status.is_redirection() {
        return Err(format!(
            "HTTP {status}: redirects are not followed; point the health URL at where it redirects"
        ));
    }
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    let too_big = || format!("body exceeds {}", fmt_bytes(max));
    // A declared length over the limit fails without reading a byte of it.
    if response
        .content_length()
        .is_some_and(|len| usize::try_from(len).map_or(true, |len| len > max))
    {
        return Err(too_big());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(describe)? {
        if body.len() + chunk.len() > max {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A transport error as an operator reads it: the common network failures by name,
/// anything else as its cause chain. The URL is left out: it is config the caller
/// already knows, and some URLs carry credentials.
pub(super) fn describe(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            match io.kind() {
                io::ErrorKind::ConnectionRefused => return "connection refused".into(),
                io::ErrorKind::ConnectionReset => return "connection reset by peer".into(),
                io::ErrorKind::ConnectionAborted => return "connection aborted".into(),
                io::ErrorKind::TimedOut => return "connection timed out".into(),
                _ => {}
            }
        }
        source = cause.source();
    }
    if crate::adapters::is_unparsable_status_line(&err) {
        return crate::adapters::STATUS_LINE_UNPARSABLE.into();
    }
    if err.is_builder() {
        return format!("invalid health URL: {}", error_chain(&err));
    }
    if err.is_connect() {
        return format!("cannot connect: {}", error_chain(&err));
    }
    error_chain(&err)
}
