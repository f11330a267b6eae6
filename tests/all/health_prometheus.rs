//! Prometheus as a health source, against a real Prometheus server (Debian's
//! `prometheus`, run directly) scraping the demo fleet's `/metrics` every second:
//! the real runtime and journal, the real probe scheduler (batched), real HTTP on
//! loopback throughout.
//!
//! One test walks a release through every case, so that the server starts once:
//! an error-rate climb fires the error-rate trigger through PromQL, with the queries
//! and values in the journaled evidence; a customer with no traffic is inconclusive,
//! not failed; a broken query is a clear error, logged once; killing Prometheus
//! mid-release gives down checks with a reason and no crash. Waits are bounded polls
//! (of snapshots, or of Prometheus itself); nothing sleeps a fixed time.
//!
//! Without the binary the test says SKIPPED loudly; CI sets
//! `SHIPDECK_REQUIRE_PROMETHEUS=1` so that a missing install fails instead.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use chrono::Utc;
use shipdeck::adapters::health::{ProbeLimits, ProbeTarget, Prober};
use shipdeck::cli::wiring::CliWiring;
use shipdeck::config;
use shipdeck::domain::{
    CustomerId, DeployTarget, HealthSource, HumanDuration, MinTraffic, ProbeOutcome,
    PrometheusSource, ReleaseType, Version,
};
use shipdeck::engine::triggers::TriggerKind;
use shipdeck::engine::{CustomerStatus, Event, EventKind, ReleasePlan, Selection};
use shipdeck::runtime::clock::Clock;
use shipdeck::runtime::driver::{self, RuntimeOptions, Snapshot};
use shipdeck::runtime::journal;
use shipdeck::runtime::probe_scheduler;
use shipdeck::runtime::state_dir::StateDir;
use shipdeck::sim::{self, Fault};

use crate::support::prometheus::{PrometheusServer, prometheus_or_skip};

/// Release seconds per real second: the release's waits pass quickly, while
/// Prometheus (real time) scrapes every second.
const SPEED: f64 = 4.0;
/// The most any wait may take; the whole test needs some 15 s.
const PATIENCE: Duration = Duration::from_secs(40);
const LABEL: &str = "v1.0.1";

const ERROR_RATE: &str = r#"sum by (customer) (rate(http_requests_total{customer="{customer}",code=~"5.."}[3s])) / sum by (customer) (rate(http_requests_total{customer="{customer}"}[3s])) * 100"#;
const LATENCY_P95: &str = r#"histogram_quantile(0.95, sum by (customer, le) (rate(http_request_duration_seconds_bucket{customer="{customer}"}[3s]))) * 1000"#;
const TRAFFIC: &str =
    r#"sum by (customer) (increase(http_requests_total{customer="{customer}"}[3s]))"#;

fn id(s: &str) -> CustomerId {
    CustomerId::new(s)
}

fn source(url: &str, error_rate: &str) -> HealthSource {
    HealthSource::Prometheus(PrometheusSource {
        url: url.to_string(),
        error_rate: Some(error_rate.to_string()),
        latency_p95: Some(LATENCY_P95.to_string()),
        min_traffic: Some(MinTraffic {
            query: TRAFFIC.to_string(),
            at_least: 5.0,
        }),
        headers: Vec::new(),
        timeout: Some(HumanDuration::from_secs(2)),
    })
}

fn last(s: &Snapshot, c: &str) -> Option<ProbeOutcome> {
    s.state.customer(&id(c)).and_then(|c| c.health.last.clone())
}

fn status(s: &Snapshot, c: &str) -> CustomerStatus {
    s.state
        .customer(&id(c))
        .map(|c| c.status)
        .expect("customer in plan")
}

async fn until(
    rx: &mut tokio::sync::watch::Receiver<Snapshot>,
    what: &str,
    pred: impl Fn(&Snapshot) -> bool,
) -> Snapshot {
    let waited = tokio::time::timeout(PATIENCE, async {
        loop {
            {
                let snap = rx.borrow_and_update();
                if pred(&snap) {
                    return Some(snap.clone());
                }
            }
            if rx.changed().await.is_err() {
                return None;
            }
        }
    })
    .await;
    match waited {
        Ok(Some(s)) => s,
        _ => {
            let s = rx.borrow().clone();
            let lines: Vec<String> = s
                .state
                .customers
                .iter()
                .map(|c| format!("{} {:?} last={:?}", c.id, c.status, c.health.last))
                .collect();
            panic!(
                "gave up waiting for {what}; phase {:?}, paused {:?}, {lines:#?}",
                s.state.phase, s.state.pause
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_health_through_a_release_against_a_real_server() {
    let Some(bin) = prometheus_or_skip("prometheus_health_through_a_release_against_a_real_server")
    else {
        return;
    };
    let mut cfg = config::load_builtin().expect("built-in config");
    cfg.customers.retain(|c| {
        ["demo-main", "techstart", "nimbus-analytics", "pixelforge"].contains(&c.id.as_str())
    });
    for c in &mut cfg.customers {
        c.deploy = DeployTarget::Simulated {
            duration: HumanDuration::from_secs(2),
            failure_rate: 0.0,
        };
    }
    cfg.checklists.clear();
    let policy = cfg
        .policies
        .get_mut(&ReleaseType::Security)
        .expect("security policy");
    policy.soak = HumanDuration::from_secs(8);
    policy.rollback_window = HumanDuration::from_mins(30);
    policy.monitoring.period = HumanDuration::from_mins(30);
    policy.monitoring.enhanced = false;
    policy.monitoring.probe_interval = HumanDuration::from_secs(1);
    for w in &mut policy.waves {
        if w.tier.as_str() != "demo" {
            w.delay = HumanDuration::from_secs(4);
        }
    }
    policy.triggers.baseline_samples = 3;
    policy.triggers.window = 3;
    policy.triggers.consecutive_failures = 3;

    // The fleet runs on the wall clock, as Prometheus does; pixelforge serves no
    // traffic at all (its series stay at 0).
    let bind = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let fleet = sim::serve(&cfg.customers, bind, sim::system_clock())
        .await
        .expect("fleet");
    fleet
        .inject(&id("pixelforge"), Fault::NoData)
        .expect("inject");
    let v101 = Version::new(1, 0, 1);
    fleet
        .inject_when(
            &id("techstart"),
            Fault::ErrorRateClimb {
                to: 30.0,
                over: HumanDuration::ZERO,
            },
            v101.clone(),
        )
        .expect("inject");

    let mut prom = PrometheusServer::start(&bin, fleet.addr(), "1s").await;
    let url = prom.url();
    // Rates need two scrapes in their window: wait until Prometheus has them.
    prom.wait_for(
        "rates of every customer",
        r#"sum by (customer) (rate(http_requests_total[3s]))"#,
        PATIENCE,
        |r| r.len() == 4,
    )
    .await;
    for c in &mut cfg.customers {
        c.health = source(&url, ERROR_RATE);
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let state_dir = StateDir::at(dir.path());
    let journal_path = state_dir.journal_path(LABEL);
    let plan = ReleasePlan::build(
        &cfg,
        v101.clone(),
        ReleaseType::Security,
        Selection::All,
        false,
    )
    .expect("plan");
    // The release clock starts now: its start instant (where baselines are read) is
    // a moment Prometheus has data for.
    let clock = Clock::scaled(Utc::now(), SPEED);
    let opts = RuntimeOptions {
        state_dir,
        clock,
        wiring: CliWiring::shared(&cfg.customers, Some(fleet.clone())),
    };
    let handle = driver::open(opts, LABEL, Some(plan), "alice").expect("open");
    let prober = Prober::new(ProbeLimits::default()).expect("prober");
    let wiring = CliWiring::new(&cfg.customers, Some(fleet.clone()));
    let sources = wiring.health_sources(&handle.snapshot().state.plan);
    assert!(matches!(
        sources.get(&id("techstart")),
        Some(HealthSource::Prometheus(_))
    ));
    let scheduler = probe_scheduler::start_probing(&handle, sources, prober.clone());
    let mut rx = handle.snapshots();

    // 1. The error-rate climb on TechStart fires the error-rate trigger through PromQL.
    let snap = until(&mut rx, "TechStart rolled back", |s| {
        status(s, "techstart") == CustomerStatus::RolledBack
    })
    .await;
    let events: Vec<Event> = journal::read_all::<Event>(&journal_path)
        .expect("journal")
        .into_events()
        .collect();
    let fired: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.event {
            EventKind::TriggerFired {
                customer,
                trigger,
                evidence,
            } => Some((customer.clone(), *trigger, evidence.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(fired.len(), 1, "one trigger, on TechStart: {fired:#?}");
    let (customer, kind, evidence) = &fired[0];
    assert_eq!(
        (customer.as_str(), *kind),
        ("techstart", TriggerKind::ErrorRate)
    );
    let baseline = evidence
        .baseline
        .and_then(|b| b.error_rate)
        .expect("a baseline error rate, read from Prometheus");
    assert!(baseline < 5.0, "baseline {baseline}");
    let from = evidence.source.as_ref().expect("the source's evidence");
    assert_eq!(from.kind, "prometheus");
    assert_eq!(from.server, url);
    assert_eq!(
        from.baseline_at,
        Some(snap.state.started_at),
        "baselines are read at the release's journaled start"
    );
    let q = from
        .queries
        .iter()
        .find(|q| q.name == "error_rate")
        .expect("the error_rate query");
    assert!(
        q.query
            .contains(r#"http_requests_total{customer="techstart",code=~"5.."}"#),
        "the query as judged, for TechStart: {}",
        q.query
    );
    assert_eq!(q.values.len(), 3, "{q:?}");
    for v in &q.values {
        let v: f64 = v.parse().expect("a raw value");
        assert!(v > baseline + 5.0, "{q:?}");
    }

    // 2. No traffic is inconclusive, with why: held, never failed.
    let snap = until(&mut rx, "pixelforge probed after deploy", |s| {
        status(s, "pixelforge") == CustomerStatus::Verifying && last(s, "pixelforge").is_some()
    })
    .await;
    match last(&snap, "pixelforge") {
        Some(ProbeOutcome::Inconclusive { reason }) => assert_eq!(
            reason,
            "no data: 0 requests in 3s, need 5 (min_traffic, customer=pixelforge)"
        ),
        other => panic!("pixelforge: {other:?}"),
    }
    assert!(
        !events
            .iter()
            .any(|e| matches!(&e.event, EventKind::TriggerFired { customer, .. } if customer.as_str() == "pixelforge")),
        "no data never fires a trigger"
    );
    let nimbus = snap
        .state
        .customer(&id("nimbus-analytics"))
        .expect("nimbus");
    assert!(
        matches!(nimbus.health.last, Some(ProbeOutcome::Up { sample }) if sample.error_rate.is_some() && sample.latency_p95_ms.is_some()),
        "a healthy customer reads both figures: {:?}",
        nimbus.health.last
    );

    // 3. A broken query is a clear error with Prometheus's own words, logged once.
    let broken = ProbeTarget::new(
        id("techstart"),
        "TechStart",
        "startup",
        source(
            &url,
            r#"sum(rate(http_requests_total{customer="{customer}"}[3s])"#,
        ),
    );
    let checker = Prober::new(ProbeLimits::default()).expect("prober");
    for _ in 0..2 {
        match checker.probe_target(&broken).await {
            ProbeOutcome::Down { reason } => {
                assert!(
                    reason.starts_with("error_rate query: bad query (HTTP 400): bad_data: ")
                        && reason.contains("parse error"),
                    "{reason}"
                );
            }
            other => panic!("a broken query: {other:?}"),
        }
    }
    assert_eq!(checker.config_errors().len(), 1, "said once");

    // 4. Prometheus dies mid-release: down checks with a reason, and no crash.
    let pid = prom.pid().expect("running");
    prom.kill();
    let snap = until(&mut rx, "down checks after Prometheus died", |s| {
        matches!(last(s, "nimbus-analytics"), Some(ProbeOutcome::Down { reason }) if reason.contains("connection refused"))
    })
    .await;
    match last(&snap, "nimbus-analytics") {
        Some(ProbeOutcome::Down { reason }) => assert_eq!(
            reason, "min_traffic query: connection refused",
            "(Prometheus was pid {pid})"
        ),
        other => panic!("{other:?}"),
    }
    scheduler.abort();
    let state = handle
        .stop()
        .await
        .expect("the runtime stops cleanly after Prometheus died");
    assert!(!state.phase.is_final() || state.ended_at.is_some());
    fleet.shutdown().await;
}

/// The transport cases against a loopback socket, no Prometheus needed: a server
/// that accepts and never answers is a timeout, a refused port is a refusal.
#[tokio::test]
async fn an_unresponsive_server_is_a_down_check_with_the_reason() {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let accepted = tokio::spawn(async move {
        // Hold connections open without a byte in reply.
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let mut s = source(&format!("http://{addr}"), ERROR_RATE);
    if let HealthSource::Prometheus(p) = &mut s {
        p.timeout = None;
    }
    let limits = ProbeLimits {
        default_timeout: Duration::from_millis(200),
        ..ProbeLimits::default()
    };
    let prober = Prober::new(limits).expect("prober");
    let target = ProbeTarget::new(id("acme-corp"), "ACME Corp", "enterprise", s.clone());
    assert_eq!(
        prober.probe_target(&target).await,
        ProbeOutcome::Down {
            reason: "min_traffic query: timed out after 200ms".into()
        }
    );
    accepted.abort();
    let _ = accepted.await;
    // Nobody listens there any more.
    assert_eq!(
        prober.probe_target(&target).await,
        ProbeOutcome::Down {
            reason: "min_traffic query: connection refused".into()
        }
    );
}

/// A stand-in for Prometheus's query endpoint that records every request, so that
/// the number of requests a round makes can be counted. It answers each customer
/// named in a `customer="…"` or `customer=~"a|b|…"` matcher with one series.
mod counting {
    use std::collections::HashMap;
    use std::net::{Ipv4Addr, SocketAddr};
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::routing::post;

    /// `(query, time, authorization header)` of each request, in arrival order.
    pub type Log = Arc<Mutex<Vec<(String, Option<String>, Option<String>)>>>;

    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len() => {
                    let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("3F");
                    out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The customers a query names.
    pub fn customers(query: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (marker, many) in [("customer=~\"", true), ("customer=\"", false)] {
            if let Some(start) = query.find(marker) {
                let rest = &query[start + marker.len()..];
                let end = rest.find('"').unwrap_or(rest.len());
                let set = &rest[..end];
                if many {
                    out.extend(set.split('|').map(str::to_string));
                } else {
                    out.push(set.to_string());
                }
                break;
            }
        }
        out
    }

    /// Answers like Prometheus: a query containing `BROKEN` is refused as a parse
    /// error (HTTP 400), anything else gets one series per customer it names.
    async fn query(
        State(log): State<Log>,
        headers: axum::http::HeaderMap,
        body: Bytes,
    ) -> (axum::http::StatusCode, String) {
        let form: HashMap<String, String> = String::from_utf8_lossy(&body)
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (decode(k), decode(v)))
            .collect();
        let q = form.get("query").cloned().unwrap_or_default();
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        log.lock()
            .expect("log")
            .push((q.clone(), form.get("time").cloned(), auth));
        if q.contains("BROKEN") {
            return (
                axum::http::StatusCode::BAD_REQUEST,
                r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:1: parse error: unexpected identifier \"BROKEN\""}"#.to_string(),
            );
        }
        let value = if q.contains("code=~") { "0.5" } else { "120" };
        let series: Vec<String> = customers(&q)
            .iter()
            .map(|c| {
                format!(r#"{{"metric":{{"customer":"{c}"}},"value":[1796086425.5,"{value}"]}}"#)
            })
            .collect();
        (
            axum::http::StatusCode::OK,
            format!(
                r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#,
                series.join(",")
            ),
        )
    }

    pub async fn serve() -> (SocketAddr, Log) {
        let log: Log = Arc::default();
        let app = Router::new()
            .route("/api/v1/query", post(query))
            .with_state(log.clone());
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (addr, log)
    }
}

/// The scheduler's seam: the customers due together that share a prometheus source
/// are one batch, answered by one request per query (not one per customer), each
/// member's verdict still reported on its own; baselines are read at the release's
/// start (`time=`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_asks_one_request_per_query_per_round_for_a_shared_source() {
    use shipdeck::engine::{self, EffectResult, Input, ReleaseState, WaveStatus};
    use shipdeck::runtime::probe_scheduler::{ProbeSchedule, spawn, targets};
    use std::collections::HashMap;

    let (addr, log) = counting::serve().await;
    let mut cfg = config::load_builtin().expect("built-in config");
    cfg.customers.extend(sim::synthetic_customers(500));
    cfg.checklists.clear();
    let shared = source(&format!("http://{addr}"), ERROR_RATE);
    if let HealthSource::Prometheus(p) = &shared {
        assert!(p.min_traffic.is_some());
    }
    for c in &mut cfg.customers {
        c.health = shared.clone();
    }
    let policy = cfg
        .policies
        .get_mut(&ReleaseType::BugFix)
        .expect("bug fix policy");
    policy.monitoring.probe_interval = HumanDuration::from_secs(1);
    let t0 = Utc::now();
    let plan = ReleasePlan::build(
        &cfg,
        Version::new(1, 0, 1),
        ReleaseType::BugFix,
        Selection::All,
        false,
    )
    .expect("plan");
    let mut state = ReleaseState::fold([&engine::plan_event(plan, "alice", t0)]).expect("fold");
    engine::step(&mut state, &Input::Tick, t0).expect("tick");
    assert_eq!(state.waves[0].status, WaveStatus::Running);
    // The startup wave is next: every one of its customers is probed for a baseline.
    let wanted: Vec<CustomerId> = targets(&state)
        .iter()
        .map(|&i| state.customers[i].id.clone())
        .collect();
    assert!(wanted.len() > 100, "{}", wanted.len());
    let sources: HashMap<CustomerId, HealthSource> = cfg
        .customers
        .iter()
        .map(|c| (c.id.clone(), c.health.clone()))
        .collect();

    let clock = Clock::scaled(t0, 1.0);
    let (_snap_tx, snap_rx) = tokio::sync::watch::channel(Snapshot {
        state: std::sync::Arc::new(state.clone()),
        now: t0,
        serial: 0,
        next_seq: 0,
    });
    let (results_tx, mut results_rx) = tokio::sync::mpsc::unbounded_channel();
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let prober = Prober::new(ProbeLimits::default()).expect("prober");
    let task = spawn(
        snap_rx,
        results_tx,
        clock,
        prober,
        sources,
        ProbeSchedule::default(),
        shutdown_rx,
    );

    // Two rounds: every wanted customer reported twice, each on its own.
    let mut seen: HashMap<CustomerId, usize> = HashMap::new();
    tokio::time::timeout(PATIENCE, async {
        while seen.values().filter(|n| **n >= 2).count() < wanted.len() {
            let Some(EffectResult::Probed { customer, outcome }) = results_rx.recv().await else {
                panic!("the scheduler stopped");
            };
            assert!(
                matches!(outcome, ProbeOutcome::Up { sample } if sample.error_rate == Some(0.5) && sample.latency_p95_ms == Some(120.0)),
                "{customer}: {outcome:?}"
            );
            *seen.entry(customer).or_default() += 1;
        }
    })
    .await
    .expect("two rounds within the patience");
    shutdown_tx.send_replace(true);
    tokio::time::timeout(PATIENCE, task)
        .await
        .expect("scheduler stops")
        .expect("no panic");
    assert_eq!(seen.len(), wanted.len(), "nobody else probed");

    let log = log.lock().expect("log").clone();
    // Two rounds of three queries (min_traffic, error_rate, latency_p95), one
    // request each for all the wave's customers. (A third round may have begun.)
    assert!(
        (6..=9).contains(&log.len()),
        "{} requests: {log:#?}",
        log.len()
    );
    for (query, time, _) in &log[..6] {
        let mut named = counting::customers(query);
        named.sort();
        let mut all: Vec<String> = wanted.iter().map(|c| c.to_string()).collect();
        all.sort();
        assert_eq!(named, all, "one request names every customer due");
        let expected = format!("{}.{:03}", t0.timestamp(), t0.timestamp_subsec_millis());
        assert_eq!(
            time.as_deref(),
            Some(expected.as_str()),
            "baseline at the release's start"
        );
    }
}

/// `shipdeck health` over customers that share a refused query: the config error is
/// printed once above the table, and each customer's row is down with the text.
#[tokio::test]
async fn shipdeck_health_says_a_refused_query_once() {
    let (addr, log) = counting::serve().await;
    let mut cfg = config::load_builtin().expect("built-in config");
    cfg.customers.truncate(3);
    for c in &mut cfg.customers {
        c.health = source(
            &format!("http://{addr}"),
            r#"BROKEN{customer="{customer}"}"#,
        );
    }
    let mut out = Vec::new();
    let code = shipdeck::cli::health::run(&cfg, None, false, &mut out)
        .await
        .expect("a report");
    let text = String::from_utf8(out).expect("utf-8");
    assert_eq!(code, 1, "{text}");
    assert_eq!(
        text.matches("config error: ").count(),
        1,
        "said once: {text}"
    );
    assert!(
        text.contains(&format!(
            "config error: error_rate query on http://{addr}/api/v1/query: bad query (HTTP 400)"
        )),
        "{text}"
    );
    assert!(
        text.contains(r#"error_rate query: bad query (HTTP 400): bad_data: invalid parameter "query": 1:1: parse error"#),
        "{text}"
    );
    assert_eq!(
        text.matches("down").count(),
        3,
        "every customer down with the reason: {text}"
    );
    // Three customers, one shared source: one request per query.
    assert_eq!(log.lock().expect("log").len(), 3, "{text}");
}

/// A bearer token from the environment reaches Prometheus as a header and appears
/// nowhere else; a missing variable is a down check that names the variable only.
#[tokio::test]
async fn a_header_secret_is_sent_and_never_shown() {
    const SECRET: &str = "Bearer s3cr3t-t0k3n";
    let (addr, log) = counting::serve().await;
    let mut s = source(&format!("http://{addr}"), ERROR_RATE);
    if let HealthSource::Prometheus(p) = &mut s {
        p.headers = vec![shipdeck::domain::HeaderFromEnv {
            name: "Authorization".into(),
            env: "PROM_TOKEN".into(),
        }];
    }
    let target = ProbeTarget::new(id("acme-corp"), "ACME Corp", "enterprise", s);
    let with_token = Prober::new(ProbeLimits::default())
        .expect("prober")
        .with_env_lookup(std::sync::Arc::new(|name: &str| {
            if name == "PROM_TOKEN" {
                Ok(SECRET.to_string())
            } else {
                Err(std::env::VarError::NotPresent)
            }
        }));
    let outcome = with_token.probe_target(&target).await;
    assert!(matches!(outcome, ProbeOutcome::Up { .. }), "{outcome:?}");
    assert!(!format!("{outcome:?} {with_token:?}").contains("s3cr3t"));
    let log = log.lock().expect("log").clone();
    assert_eq!(log.len(), 3);
    assert!(
        log.iter()
            .all(|(_, _, auth)| auth.as_deref() == Some(SECRET))
    );

    let without = Prober::new(ProbeLimits::default())
        .expect("prober")
        .with_env_lookup(std::sync::Arc::new(|_: &str| {
            Err(std::env::VarError::NotPresent)
        }));
    assert_eq!(
        without.probe_target(&target).await,
        ProbeOutcome::Down {
            reason: "environment variable PROM_TOKEN is not set (it holds header Authorization)"
                .into()
        }
    );
}
