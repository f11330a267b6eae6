//! One probe round over 10,000 customers through a real Prometheus, batched, beside
//! the per-customer HTTP round over the same fleet, and the same Prometheus round
//! unbatched (a template whose customer placeholder sits in a regex matcher, so each
//! customer is one request per query). Prints the figures; no criterion: a round
//! against a live server is measured a few times, not thousands.
//!
//!     cargo bench --bench prometheus_round
//!
//! Needs Debian's `prometheus` (apt-get install --no-install-recommends prometheus);
//! says SKIPPED without it. The demo fleet serves 10,000 customers' `/metrics`
//! (about 160,000 series); Prometheus scrapes it every 5 s into a throwaway
//! directory and is killed by pid at the end. Requests are counted by Prometheus
//! itself (`prometheus_http_requests_total{handler="/api/v1/query"}`).

#[path = "../tests/all/support/prometheus.rs"]
#[allow(dead_code)]
mod prometheus;

use std::time::{Duration, Instant};

use shipdeck::adapters::health::{PROMETHEUS_MAX_BATCH, ProbeLimits, ProbeTarget, Prober};
use shipdeck::domain::{HealthSource, HumanDuration, MinTraffic, ProbeOutcome, PrometheusSource};
use shipdeck::sim;

const CUSTOMERS: usize = 10_000;
/// The probe scheduler's default concurrency.
const CONCURRENCY: usize = 64;
const ROUNDS: usize = 3;

fn source(url: &str, matcher: &str) -> HealthSource {
    let sel = format!(r#"customer{matcher}"{{customer}}""#);
    HealthSource::Prometheus(PrometheusSource {
        url: url.to_string(),
        error_rate: Some(format!(
            r#"sum by (customer) (rate(http_requests_total{{{sel},code=~"5.."}}[30s])) / sum by (customer) (rate(http_requests_total{{{sel}}}[30s])) * 100"#
        )),
        latency_p95: Some(format!(
            r#"histogram_quantile(0.95, sum by (customer, le) (rate(http_request_duration_seconds_bucket{{{sel}}}[30s]))) * 1000"#
        )),
        min_traffic: Some(MinTraffic {
            query: format!(r#"sum by (customer) (increase(http_requests_total{{{sel}}}[30s]))"#),
            at_least: 1.0,
        }),
        headers: Vec::new(),
        timeout: Some(HumanDuration::from_secs(30)),
    })
}

/// Queries Prometheus has answered so far, by its own count.
async fn queries_served(server: &prometheus::PrometheusServer) -> f64 {
    let Some((200, text)) = prometheus::http_get(server.addr, "/metrics").await else {
        return f64::NAN;
    };
    text.lines()
        .filter(|l| {
            l.starts_with("prometheus_http_requests_total{")
                && l.contains(r#"handler="/api/v1/query""#)
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

struct Round {
    requests: f64,
    wall: Duration,
    up: usize,
}

async fn round(
    prober: &Prober,
    targets: &[ProbeTarget],
    server: Option<&prometheus::PrometheusServer>,
) -> Round {
    let before = match server {
        Some(s) => queries_served(s).await,
        None => 0.0,
    };
    let started = Instant::now();
    let results = prober.probe_targets(targets, CONCURRENCY).await;
    let wall = started.elapsed();
    let requests = match server {
        Some(s) => queries_served(s).await - before,
        None => targets.len() as f64,
    };
    let up = results
        .iter()
        .filter(|(_, o, _)| matches!(o, ProbeOutcome::Up { .. }))
        .count();
    if up < results.len() {
        let sample = results
            .iter()
            .find(|(_, o, _)| !matches!(o, ProbeOutcome::Up { .. }));
        println!("  (not all up; e.g. {sample:?})");
    }
    Round { requests, wall, up }
}

fn report(name: &str, rounds: &[Round]) {
    let mut walls: Vec<f64> = rounds.iter().map(|r| r.wall.as_secs_f64()).collect();
    walls.sort_by(f64::total_cmp);
    let median = walls[walls.len() / 2];
    let up = rounds.iter().map(|r| r.up).min().unwrap_or(0);
    let requests = rounds.iter().map(|r| r.requests).fold(0.0, f64::max);
    println!(
        "{name:<44} requests {requests:>6}  wall median {median:>7.3} s (min {:.3}, max {:.3})  up {up}/{CUSTOMERS} (worst round)",
        walls[0],
        walls[walls.len() - 1],
    );
}

fn main() {
    let Some(bin) = prometheus::prometheus_binary() else {
        println!(
            "SKIPPED: prometheus not installed (apt-get install --no-install-recommends prometheus)"
        );
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let customers = sim::synthetic_customers(CUSTOMERS);
        let fleet = sim::serve(
            &customers,
            "127.0.0.1:0".parse().expect("loopback"),
            sim::system_clock(),
        )
        .await
        .expect("fleet");
        // Every 5 s: a scrape of 10 MB takes about 0.6 s on 2 idle cores, and a scrape
        // that overruns its interval marks every series stale (empty results).
        let server = prometheus::PrometheusServer::start(&bin, fleet.addr(), "5s").await;
        let started = Instant::now();
        server
            .wait_for(
                "rates for every customer",
                "count(sum by (customer) (rate(http_requests_total[30s])))",
                Duration::from_secs(180),
                |r| {
                    r.first()
                        .and_then(|s| s["value"][1].as_str())
                        .and_then(|v| v.parse::<usize>().ok())
                        == Some(CUSTOMERS)
                },
            )
            .await;
        println!(
            "{CUSTOMERS} customers, {} series scraped every 5 s; data ready after {:.1} s; batch size {PROMETHEUS_MAX_BATCH}, concurrency {CONCURRENCY}, {ROUNDS} rounds each",
            fleet.metrics_text().map(|t| t.lines().filter(|l| !l.starts_with('#')).count()).unwrap_or(0),
            started.elapsed().as_secs_f64()
        );
        let prober = Prober::new(ProbeLimits::default()).expect("prober");
        let targets = |s: HealthSource| -> Vec<ProbeTarget> {
            customers
                .iter()
                .map(|c| ProbeTarget::new(c.id.clone(), c.name.as_str(), c.tier.as_str(), s.clone()))
                .collect()
        };

        let batched = targets(source(&server.url(), "="));
        let mut rounds = Vec::new();
        for _ in 0..ROUNDS {
            rounds.push(round(&prober, &batched, Some(&server)).await);
        }
        report("prometheus, batched (3 queries)", &rounds);

        let http: Vec<ProbeTarget> = customers
            .iter()
            .map(|c| ProbeTarget::new(c.id.clone(), c.name.as_str(), c.tier.as_str(), fleet.http_source(&c.id)))
            .collect();
        let mut rounds = Vec::new();
        for _ in 0..ROUNDS {
            rounds.push(round(&prober, &http, None).await);
        }
        report("per-customer HTTP (/health/{id})", &rounds);

        let unbatched = targets(source(&server.url(), "=~"));
        let rounds = vec![round(&prober, &unbatched, Some(&server)).await];
        report("prometheus, per customer (3 queries each)", &rounds);
        fleet.shutdown().await;
    });
}
