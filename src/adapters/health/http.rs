//! The `http` health source: GET a URL under a deadline; 2xx is up.
//!
//! The whole exchange (connect, headers, every body chunk) runs under one deadline, so
//! a server that accepts and then trickles or stalls fails the check like one that
//! never answers. The body is read chunk by chunk and abandoned as soon as it passes
//! the size limit: a misrouted health URL that serves a multi-megabyte page (or an
//! endless stream) costs at most that limit.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use reqwest::header::{ACCEPT, HeaderMap, HeaderName, HeaderValue, USER_AGENT};

use super::pointer::{self, Pointers, Read};
use super::{Prober, error_chain, fmt_bytes, fmt_duration};
use crate::domain::{HeaderFromEnv, HealthSample, ProbeOutcome};

/// hyper's own client, for plain-HTTP probes: reqwest is built on it, and its layers
/// (redirect and retry policies, a client and connector clone per request) cost a
/// third of a probe on loopback (a round over 10,000 customers: about 70,000 requests
/// a second through reqwest, 110,000 through this, warm). Redirects are not followed
/// by either; TLS, proxies and credentials in URLs stay with reqwest.
pub(crate) type PlainClient = hyper_util::client::legacy::Client<HttpConnector, Empty<Bytes>>;

/// The plain client, unless the environment names a proxy (which reqwest honours and
/// this client would not).
pub(super) fn plain_client() -> Option<PlainClient> {
    let proxied = ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()));
    if proxied {
        return None;
    }
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Some(
        hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector),
    )
}

/// What every probe request says of itself.
pub(super) const PROBE_AGENT: &str =
    concat!("shipdeck/", env!("CARGO_PKG_VERSION"), " health-probe");

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
    if let (Some(plain), Url::Parsed(parsed)) = (&prober.plain, &url)
        && parsed.scheme() == "http"
        && parsed.username().is_empty()
        && parsed.password().is_none()
        && let Ok(uri) = parsed.as_str().parse::<hyper::Uri>()
    {
        return fetch_plain(plain, uri, headers, max).await;
    }
    let request = match url {
        Url::Text(text) => prober.client.get(text),
        Url::Parsed(parsed) => prober.client.get(parsed.clone()),
    };
    let mut response = request.headers(headers).send().await.map_err(describe)?;
    answered(response.status(), response.content_length(), max)?;
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(describe)? {
        if body.len() + chunk.len() > max {
            return Err(too_big(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// [`fetch`] through hyper's client.
async fn fetch_plain(
    client: &PlainClient,
    uri: hyper::Uri,
    headers: HeaderMap,
    max: usize,
) -> Result<Vec<u8>, String> {
    let mut request = hyper::Request::new(Empty::<Bytes>::new());
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    // What reqwest sends by default (a configured header of the same name wins, as
    // there), so that a server sees the same request.
    request
        .headers_mut()
        .entry(USER_AGENT)
        .or_insert(HeaderValue::from_static(PROBE_AGENT));
    request
        .headers_mut()
        .entry(ACCEPT)
        .or_insert(HeaderValue::from_static("*/*"));
    // Reasons worded as reqwest words them, so that a release reads the same
    // whichever client probed (a test holds the two to it).
    let response = client.request(request).await.map_err(|e| {
        known_failure(&e).unwrap_or_else(|| {
            let chain = format!("error sending request: {}", error_chain(&e));
            if e.is_connect() {
                format!("cannot connect: {chain}")
            } else {
                chain
            }
        })
    })?;
    let declared = response
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    answered(response.status(), declared, max)?;
    let mut body = Vec::new();
    let mut incoming = response.into_body();
    while let Some(frame) = incoming.frame().await {
        let frame = frame.map_err(|e| {
            known_failure(&e)
                .unwrap_or_else(|| format!("error decoding response body: {}", error_chain(&e)))
        })?;
        if let Ok(chunk) = frame.into_data() {
            if body.len() + chunk.len() > max {
                return Err(too_big(max));
            }
            body.extend_from_slice(&chunk);
        }
    }
    Ok(body)
}

/// A response's status and declared length, judged before its body is read.
fn answered(status: reqwest::StatusCode, declared: Option<u64>, max: usize) -> Result<(), String> {
    if status.is_redirection() {
        return Err(format!(
            "HTTP {status}: redirects are not followed; point the health URL at where it redirects"
        ));
    }
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    // A declared length over the limit fails without reading a byte of it.
    if declared.is_some_and(|len| usize::try_from(len).map_or(true, |len| len > max)) {
        return Err(too_big(max));
    }
    Ok(())
}

/// The failures named the same way whichever client met them.
fn known_failure(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    crate::adapters::known_transport_failure(err).map(str::to_string)
}

fn too_big(max: usize) -> String {
    format!("body exceeds {}", fmt_bytes(max))
}

/// A transport error as an operator reads it: the common network failures by name,
/// anything else as its cause chain. The URL is left out: it is config the caller
/// already knows, and some URLs carry credentials.
pub(super) fn describe(err: reqwest::Error) -> String {
    let err = err.without_url();
    if let Some(known) = known_failure(&err) {
        return known;
    }
    if err.is_builder() {
        return format!("invalid health URL: {}", error_chain(&err));
    }
    if err.is_connect() {
        return format!("cannot connect: {}", error_chain(&err));
    }
    error_chain(&err)
}
