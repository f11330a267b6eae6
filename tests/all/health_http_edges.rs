//! HTTP probe cases the demo fleet does not serve, each against a tiny axum server on
//! 127.0.0.1: secret headers from the environment, redirects, stalled bodies.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use shipdeck::adapters::health::{EnvLookup, ProbeLimits, Prober};
use shipdeck::domain::{HeaderFromEnv, HealthSource, ProbeOutcome};

const SECRET: &str = "s3cret-t0ken-4711";

async fn start(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn app() -> Router {
    Router::new()
        .route(
            "/secured",
            get(|headers: HeaderMap| async move {
                let want = format!("Bearer {SECRET}");
                if headers
                    .get(header::AUTHORIZATION)
                    .is_some_and(|v| v.as_bytes() == want.as_bytes())
                {
                    (StatusCode::OK, r#"{"error_rate":0.1}"#)
                } else {
                    (StatusCode::UNAUTHORIZED, "{}")
                }
            }),
        )
        .route(
            "/moved",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/login")], "") }),
        )
        .route(
            "/stall",
            get(|| async {
                // Headers and a first chunk at once, then nothing.
                let first = futures_util::stream::once(async {
                    Ok::<_, std::convert::Infallible>(Bytes::from_static(b"{\"error_rate\":"))
                });
                let never = futures_util::stream::once(async {
                    std::future::pending::<()>().await;
                    Ok::<_, std::convert::Infallible>(Bytes::new())
                });
                Body::from_stream(futures_util::StreamExt::chain(first, never)).into_response()
            }),
        )
}

fn env_with(vars: &[(&str, &str)]) -> EnvLookup {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Arc::new(move |name: &str| {
        vars.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .ok_or(std::env::VarError::NotPresent)
    })
}

fn source(addr: SocketAddr, path: &str, headers: Vec<HeaderFromEnv>) -> HealthSource {
    HealthSource::Http {
        url: format!("http://{addr}{path}"),
        timeout: None,
        headers,
        error_rate_pointer: Some("/error_rate".into()),
        latency_pointer: None,
    }
}

fn auth_header() -> Vec<HeaderFromEnv> {
    vec![HeaderFromEnv {
        name: "Authorization".into(),
        env: "HEALTH_TOKEN".into(),
    }]
}

fn prober(timeout: Duration) -> Prober {
    Prober::new(ProbeLimits {
        default_timeout: timeout,
        ..ProbeLimits::default()
    })
    .unwrap()
}

/// Collects every log line at every level, to show no secret reaches the logs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn header_from_env_is_sent_and_never_printed() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let addr = start(app()).await;
    let right = format!("Bearer {SECRET}");
    let p = prober(Duration::from_secs(5)).with_env_lookup(env_with(&[("HEALTH_TOKEN", &right)]));
    let src = source(addr, "/secured", auth_header());
    let up = p
        .probe_customer(&shipdeck::domain::CustomerId::new("acme-corp"), &src)
        .await;
    assert!(
        matches!(&up, ProbeOutcome::Up { sample } if sample.error_rate == Some(0.1)),
        "{up:?}"
    );

    let wrong = format!("Bearer {SECRET}-rotated");
    let p = prober(Duration::from_secs(5)).with_env_lookup(env_with(&[("HEALTH_TOKEN", &wrong)]));
    let down = p
        .probe_customer(&shipdeck::domain::CustomerId::new("acme-corp"), &src)
        .await;
    assert_eq!(
        down,
        ProbeOutcome::Down {
            reason: "HTTP 401 Unauthorized".into()
        }
    );

    let printed = format!(
        "{up:?} {down:?} {} {} {p:?} {src:?}",
        serde_json::to_string(&up).unwrap(),
        serde_json::to_string(&down).unwrap()
    );
    assert!(!printed.contains(SECRET), "{printed}");
    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("probe"), "the capture works: {logged}");
    assert!(!logged.contains(SECRET), "{logged}");
}

#[tokio::test]
async fn a_missing_env_var_is_down_and_names_only_the_variable() {
    let addr = start(app()).await;
    let p = prober(Duration::from_secs(5)).with_env_lookup(env_with(&[]));
    let outcome = p.probe(&source(addr, "/secured", auth_header())).await;
    assert_eq!(
        outcome,
        ProbeOutcome::Down {
            reason: "environment variable HEALTH_TOKEN is not set (it holds header Authorization)"
                .into()
        }
    );
}

#[tokio::test]
async fn a_header_value_with_a_newline_is_refused_without_quoting_it() {
    let addr = start(app()).await;
    let p = prober(Duration::from_secs(5))
        .with_env_lookup(env_with(&[("HEALTH_TOKEN", "abc\ninjected: 1")]));
    let outcome = p.probe(&source(addr, "/secured", auth_header())).await;
    let ProbeOutcome::Down { reason } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        reason.contains("HEALTH_TOKEN") && !reason.contains("abc"),
        "{reason}"
    );
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let addr = start(app()).await;
    let outcome = prober(Duration::from_secs(5))
        .probe(&source(addr, "/moved", vec![]))
        .await;
    let ProbeOutcome::Down { reason } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        reason.starts_with("HTTP 302 Found: redirects are not followed"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_body_that_stalls_times_out() {
    let addr = start(app()).await;
    let started = Instant::now();
    let outcome = prober(Duration::from_millis(200))
        .probe(&source(addr, "/stall", vec![]))
        .await;
    assert_eq!(
        outcome,
        ProbeOutcome::Down {
            reason: "timed out after 200ms".into()
        }
    );
    // The body never ends: only the probe's own 200 ms can have ended it, and
    // well before the 5 s default would have (a margin a busy machine cannot eat).
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// A loopback server that answers every connection with `response`, raw bytes.
async fn raw_server(response: &'static [u8]) -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf).await;
                let _ = conn.write_all(response).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    addr
}

/// QA, item 6: a control character in the reason phrase of a 200 read "invalid
/// HTTP status-code parsed" (hyper's words), though the code was fine.
#[tokio::test]
async fn a_control_character_in_the_reason_phrase_is_named_as_such() {
    let addr =
        raw_server(b"HTTP/1.1 200 O\x01K\r\nContent-Length: 18\r\n\r\n{\"error_rate\":0.1}").await;
    let outcome = prober(Duration::from_secs(5))
        .probe(&source(addr, "/", vec![]))
        .await;
    assert_eq!(
        outcome,
        ProbeOutcome::Down {
            reason: "the response's status line does not parse (control characters in its reason phrase?)"
                .into()
        }
    );
}

/// Plain `http://` probes go through hyper's client, everything else (and all of them
/// when a proxy is configured) through reqwest: both must say the same of every
/// hostile answer, word for word.
#[tokio::test]
async fn both_http_clients_say_the_same_of_every_answer() {
    let edges = start(app()).await;
    let raw = [
        raw_server(b"HTTP/1.1 200 O\x01K\r\nContent-Length: 18\r\n\r\n{\"error_rate\":0.1}").await,
        raw_server(b"garbage, not HTTP at all\r\n\r\n").await,
        raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n{}").await,
        raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n{\"error_rate\":").await,
        raw_server(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n").await,
        raw_server(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").await,
        raw_server(b"").await,
    ];
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut sources = vec![
        source(edges, "/secured", auth_header()),
        source(edges, "/moved", vec![]),
        source(edges, "/stall", vec![]),
        source(edges, "/nowhere", vec![]),
        source(refused, "/", vec![]),
    ];
    sources.extend(raw.iter().map(|&a| source(a, "/", vec![])));
    let env = env_with(&[("HEALTH_TOKEN", &format!("Bearer {SECRET}"))]);
    let plain = prober(Duration::from_millis(300)).with_env_lookup(env.clone());
    let reqwest = prober(Duration::from_millis(300))
        .with_env_lookup(env)
        .through_reqwest_only();
    // The response time each measured differs; everything else must not.
    let untimed = |o: ProbeOutcome| match o {
        ProbeOutcome::Up { mut sample } => {
            sample.latency_p95_ms = None;
            ProbeOutcome::Up { sample }
        }
        other => other,
    };
    let mut downs = 0;
    for s in &sources {
        let (a, b) = (
            untimed(plain.probe(s).await),
            untimed(reqwest.probe(s).await),
        );
        assert_eq!(a, b, "{s:?}");
        downs += usize::from(matches!(a, ProbeOutcome::Down { .. }));
    }
    // The secured endpoint is up (the header went out); every other one is down.
    assert_eq!(downs, sources.len() - 1);
}
