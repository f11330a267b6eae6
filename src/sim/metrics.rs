//! The demo fleet's `/metrics`: each customer's traffic as a Prometheus server would
//! scrape it from a real service, in the text format, with the `prometheus-client`
//! crate:
//!
//! - `http_requests_total{customer, code}`: requests by status code;
//! - `http_request_duration_seconds{customer}`: a latency histogram.
//!
//! Why it is shaped so:
//! - Traffic is a function of the fleet's clock, accrued when scraped: every customer
//!   serves [`REQUESTS_PER_SECOND`] (on the fleet's clock, so a scaled demo clock
//!   scales it) split by what its `/health` answers *now*, the same [`Reply`] from the
//!   same faults. An error-rate climb shows as a growing share of `500`s, a flapping
//!   service as `503`s while down, a hang as `504`s at the edge, a reset or garbage
//!   as `502`s, and `no_data` as no traffic at all (an idle customer: no series move).
//!   Deterministic: fractions carry over, so 0.4 % of errors is exactly that over
//!   time, and no random number is drawn.
//! - The `200` and `500` series of every customer exist from the start at 0, so that
//!   `rate(…{code=~"5.."}[1m])` is 0, not an empty result, for a customer that never
//!   failed (the usual pitfall of error-rate queries on lazily created series).
//! - Latencies are spread below the customer's p95 but inside the histogram bucket
//!   that holds it: `histogram_quantile(0.95, …)` then reads a steady figure in that
//!   bucket (at 95 % of its width), whatever number of requests a short `rate()`
//!   window happens to catch. A spread across buckets would make the estimate jump
//!   between bucket bounds from one window to the next: noise a latency trigger
//!   would take for a regression.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::fault::Reply;
use crate::domain::CustomerId;

/// Requests each customer serves per second of the fleet's clock.
pub const REQUESTS_PER_SECOND: f64 = 20.0;

/// Histogram buckets, in seconds: fine around the usual p95s (50 ms – 1 s).
const BUCKETS: [f64; 11] = [0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5, 10.0];

/// Where in the span from the bucket's lower bound to the p95 requests fall, in turn.
const SPREAD: [f64; 10] = [0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0];

/// The latency (seconds) of request number `k` for a p95 of `p95` seconds: between
/// the lower bound of the p95's bucket and the p95 itself.
fn latency_of(p95: f64, k: usize) -> f64 {
    let lower = BUCKETS
        .iter()
        .copied()
        .take_while(|b| *b < p95)
        .last()
        .unwrap_or(0.0);
    lower + (p95 - lower) * SPREAD[k % SPREAD.len()]
}

/// What a timed-out (hung) request is observed as: past the last bucket but one.
const HUNG_SECONDS: f64 = 5.0;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    customer: String,
    code: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CustomerLabels {
    customer: String,
}

/// One customer's accrual: when it was last brought up to date and the fractions
/// of a request (and of an error) not yet counted.
#[derive(Debug, Clone)]
struct Accrual {
    last: DateTime<Utc>,
    requests: f64,
    errors: f64,
    next_latency: usize,
}

/// The traffic of a fleet's customers, as metrics.
pub(super) struct Traffic {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<CustomerLabels, Histogram, fn() -> Histogram>,
    accruals: HashMap<CustomerId, Accrual>,
}

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

impl Traffic {
    /// Traffic for `customers`, counted from `now`.
    pub fn new<'a>(
        customers: impl IntoIterator<Item = &'a CustomerId>,
        now: DateTime<Utc>,
    ) -> Traffic {
        let requests = Family::<RequestLabels, Counter>::default();
        let latency =
            Family::<CustomerLabels, Histogram, fn() -> Histogram>::new_with_constructor(histogram);
        let mut registry = Registry::default();
        registry.register(
            "http_requests",
            "Requests served, by customer and status code",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Request latency, by customer",
            latency.clone(),
        );
        let mut accruals = HashMap::new();
        for id in customers {
            for code in ["200", "500"] {
                let _ = requests.get_or_create(&RequestLabels {
                    customer: id.to_string(),
                    code: code.to_string(),
                });
            }
            let _ = latency.get_or_create(&CustomerLabels {
                customer: id.to_string(),
            });
            accruals.insert(
                id.clone(),
                Accrual {
                    last: now,
                    requests: 0.0,
                    errors: 0.0,
                    next_latency: 0,
                },
            );
        }
        Traffic {
            registry,
            requests,
            latency,
            accruals,
        }
    }

    /// Counts `id`'s requests up to `now`, as `reply` (what its `/health` answers
    /// now) says they went; `baseline` is its error rate (percent) and p95 (ms) for
    /// replies that carry no figures.
    pub fn accrue(
        &mut self,
        id: &CustomerId,
        reply: &Reply,
        baseline: (f64, f64),
        now: DateTime<Utc>,
    ) {
        let Some(a) = self.accruals.get_mut(id) else {
            return;
        };
        let elapsed = (now - a.last).num_microseconds().unwrap_or(0).max(0) as f64 / 1e6;
        a.last = a.last.max(now);
        if matches!(reply, Reply::NoData) {
            // An idle customer: nothing moves, and no fraction piles up for later.
            a.requests = 0.0;
            return;
        }
        a.requests += elapsed * REQUESTS_PER_SECOND;
        let n = a.requests.floor();
        a.requests -= n;
        if n < 1.0 {
            return;
        }
        let (code, error_rate, p95_ms) = match reply {
            Reply::Health {
                up: true,
                error_rate,
                latency_p95_ms,
                ..
            } => ("200", *error_rate, *latency_p95_ms),
            Reply::Health {
                up: false,
                latency_p95_ms,
                ..
            } => ("503", 0.0, *latency_p95_ms),
            Reply::ServerError => ("500", 0.0, baseline.1),
            Reply::Hang => ("504", 0.0, HUNG_SECONDS * 1000.0),
            Reply::Reset | Reply::Garbage => ("502", 0.0, baseline.1),
            Reply::Flood => ("200", baseline.0, baseline.1),
            Reply::NoData => return,
        };
        a.errors += n * error_rate.clamp(0.0, 100.0) / 100.0;
        let errors = a.errors.floor();
        a.errors -= errors;
        let count = |code: &str, k: f64| {
            if k >= 1.0 {
                self.requests
                    .get_or_create(&RequestLabels {
                        customer: id.to_string(),
                        code: code.to_string(),
                    })
                    .inc_by(k as u64);
            }
        };
        count("500", errors);
        count(code, n - errors);
        let histogram = self.latency.get_or_create(&CustomerLabels {
            customer: id.to_string(),
        });
        // Every request observed, at most a few thousand per scrape and customer.
        for _ in 0..(n as u64).min(10_000) {
            histogram.observe(latency_of(p95_ms / 1000.0, a.next_latency));
            a.next_latency = a.next_latency.wrapping_add(1);
        }
    }

    /// The exposition, in the text format (OpenMetrics, which Prometheus reads).
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// The content type of [`Traffic::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Version;

    fn health(error_rate: f64) -> Reply {
        Reply::Health {
            up: true,
            error_rate,
            latency_p95_ms: 120.0,
            version: Version::new(1, 0, 0),
        }
    }

    fn line<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
    }

    #[test]
    fn requests_split_by_the_reply_and_carry_fractions() {
        let t0: DateTime<Utc> = "2026-12-01T00:00:00Z".parse().unwrap();
        let a = CustomerId::new("acme");
        let idle = CustomerId::new("idle");
        let mut t = Traffic::new([&a, &idle], t0);
        // 100 s at 20/s = 2000 requests, 2.5 % of them errors = 50.
        for s in 1..=100 {
            let now = t0 + chrono::TimeDelta::seconds(s);
            t.accrue(&a, &health(2.5), (0.5, 100.0), now);
            t.accrue(&idle, &Reply::NoData, (0.5, 100.0), now);
        }
        let text = t.encode().unwrap();
        assert_eq!(
            line(&text, r#"http_requests_total{customer="acme",code="500"}"#),
            Some("50"),
            "{text}"
        );
        assert_eq!(
            line(&text, r#"http_requests_total{customer="acme",code="200"}"#),
            Some("1950")
        );
        // The idle customer's series exist, at 0.
        assert_eq!(
            line(&text, r#"http_requests_total{customer="idle",code="200"}"#),
            Some("0")
        );
        assert_eq!(
            line(
                &text,
                r#"http_request_duration_seconds_count{customer="acme"}"#
            ),
            Some("2000")
        );
        // All in the p95's bucket (0.1 s, 0.15 s], none below it.
        assert_eq!(
            line(
                &text,
                r#"http_request_duration_seconds_bucket{le="0.15",customer="acme"}"#
            ),
            Some("2000")
        );
        assert_eq!(
            line(
                &text,
                r#"http_request_duration_seconds_bucket{le="0.1",customer="acme"}"#
            ),
            Some("0")
        );
        assert!(text.ends_with("# EOF\n"));

        let mut t = Traffic::new([&a], t0);
        t.accrue(
            &a,
            &Reply::ServerError,
            (0.5, 100.0),
            t0 + chrono::TimeDelta::seconds(2),
        );
        let text = t.encode().unwrap();
        assert_eq!(
            line(&text, r#"http_requests_total{customer="acme",code="500"}"#),
            Some("40")
        );
    }
}
