//! Steady health, summarised: healthy samples that no rule needs one by one
//! (`engine::query::steady_sample`) are counted here and journaled once a period as
//! one summary per customer (count, min/mean/max of each figure), instead of one
//! journal line per probe. This is what keeps a week of monitoring a large fleet to
//! a bounded journal. A crash loses the open period's tallies (never a decision:
//! every sample a rule reads is journaled exactly).

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};

use crate::domain::{CustomerId, FigureRange, HealthSample, HealthSummary};

/// Release time a summary covers.
pub const PERIOD: TimeDelta = TimeDelta::hours(1);

#[derive(Debug, Default)]
struct Tally {
    count: u64,
    error: Range,
    latency: Range,
}

#[derive(Debug, Default)]
struct Range {
    n: u64,
    min: f64,
    max: f64,
    sum: f64,
}

impl Range {
    fn add(&mut self, v: Option<f64>) {
        let Some(v) = v else { return };
        if self.n == 0 {
            self.min = v;
            self.max = v;
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.n += 1;
        self.sum += v;
    }

    fn figure(&self) -> Option<FigureRange> {
        // The mean to a thousandth: the figures come with a decimal or two, and a
        // float sum's last digits (0.09999999999999981) would only lengthen the
        // journal line, ten thousand times an hour.
        (self.n > 0).then(|| FigureRange {
            min: self.min,
            mean: (self.sum / self.n as f64 * 1000.0).round() / 1000.0,
            max: self.max,
        })
    }
}

/// Tallies of the open period.
#[derive(Debug)]
pub struct Summaries {
    since: DateTime<Utc>,
    tallies: HashMap<CustomerId, Tally>,
}

impl Summaries {
    pub fn new(since: DateTime<Utc>) -> Summaries {
        Summaries {
            since,
            tallies: HashMap::new(),
        }
    }

    pub fn add(&mut self, customer: &CustomerId, sample: &HealthSample) {
        let t = self.tallies.entry(customer.clone()).or_default();
        t.count += 1;
        t.error.add(sample.error_rate);
        t.latency.add(sample.latency_p95_ms);
    }

    /// Whether anything was tallied in the open period.
    pub fn any(&self) -> bool {
        !self.tallies.is_empty()
    }

    /// Whether the open period has run its course at `now`.
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        !self.tallies.is_empty() && now - self.since >= PERIOD
    }

    /// Closes the period at `now`: its span and one summary per customer seen
    /// (sorted by id, so the journal line is reproducible).
    pub fn close(
        &mut self,
        now: DateTime<Utc>,
    ) -> (DateTime<Utc>, DateTime<Utc>, Vec<HealthSummary>) {
        let from = self.since;
        self.since = now;
        let mut out: Vec<HealthSummary> = self
            .tallies
            .drain()
            .map(|(customer, t)| HealthSummary {
                customer,
                count: t.count,
                error_rate: t.error.figure(),
                latency_p95_ms: t.latency.figure(),
            })
            .collect();
        out.sort_by(|a, b| a.customer.cmp(&b.customer));
        (from, now, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_tallies_count_range_and_mean_per_customer() {
        let t0: DateTime<Utc> = "2026-11-16T10:00:00Z".parse().unwrap();
        let mut s = Summaries::new(t0);
        let acme = CustomerId::new("acme");
        for (e, l) in [(0.2, 100.0), (0.4, 140.0), (0.3, 120.0)] {
            s.add(
                &acme,
                &HealthSample {
                    error_rate: Some(e),
                    latency_p95_ms: Some(l),
                },
            );
        }
        assert!(!s.due(t0 + TimeDelta::minutes(59)));
        assert!(s.due(t0 + PERIOD));
        let (from, to, list) = s.close(t0 + PERIOD);
        assert_eq!((from, to), (t0, t0 + PERIOD));
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].count, 3);
        let e = list[0].error_rate.unwrap();
        assert!((e.min - 0.2).abs() < 1e-9 && (e.max - 0.4).abs() < 1e-9);
        assert!((e.mean - 0.3).abs() < 1e-9);
        assert_eq!(list[0].latency_p95_ms.unwrap().max, 140.0);
        assert!(!s.due(t0 + PERIOD * 3), "nothing tallied since");
    }
}
