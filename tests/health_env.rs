//! The one test that reads a header secret from the real process environment (alone
//! in its binary, because setting a variable is unsafe while other threads read it).

use std::net::SocketAddr;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use shipdeck::adapters::health::{ProbeLimits, Prober};
use shipdeck::domain::{HeaderFromEnv, HealthSource, ProbeOutcome};

#[tokio::test(flavor = "current_thread")]
async fn header_value_comes_from_the_process_environment() {
    // SAFETY: set before the runtime spawns anything; this binary has no other test.
    unsafe { std::env::set_var("SHIPDECK_TEST_HEALTH_KEY", "k-991") };

    let app = Router::new().route(
        "/h",
        get(|h: HeaderMap| async move {
            if h.get("x-api-key").is_some_and(|v| v == "k-991") {
                StatusCode::NO_CONTENT
            } else {
                StatusCode::FORBIDDEN
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let source = HealthSource::Http {
        url: format!("http://{addr}/h"),
        timeout: Some("2s".parse().unwrap()),
        headers: vec![HeaderFromEnv {
            name: "X-Api-Key".into(),
            env: "SHIPDECK_TEST_HEALTH_KEY".into(),
        }],
        error_rate_pointer: None,
        latency_pointer: None,
    };
    let outcome = Prober::new(ProbeLimits::default())
        .unwrap()
        .probe(&source)
        .await;
    assert!(matches!(outcome, ProbeOutcome::Up { .. }), "{outcome:?}");
    assert!(!format!("{outcome:?}").contains("k-991"));
}
