//! Rollback triggers as pure arithmetic over recent health samples.
//!
//! Only real failures count: an inconclusive check (no data) neither counts toward a
//! trigger nor resets one. Thresholds must hold over the policy's window of samples,
//! so a single outlier never rolls a customer back.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::promql::{self, Subject};
use crate::domain::{HealthSample, HealthSource, ProbeOutcome, TriggerPolicy};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    ConsecutiveFailures,
    ErrorRate,
    Latency,
    CustomerReported,
}

impl TriggerKind {
    pub fn describe(self) -> &'static str {
        match self {
            TriggerKind::ConsecutiveFailures => "consecutive failed health checks",
            TriggerKind::ErrorRate => "error rate above baseline",
            TriggerKind::Latency => "p95 latency above baseline",
            TriggerKind::CustomerReported => "customer-reported critical issue",
        }
    }
}

/// What tripped a trigger: the baseline, the threshold and the samples themselves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<HealthSample>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<ProbeOutcome>,
    /// Where the figures were read, for sources that can say (prometheus): the
    /// queries as judged for this customer and the values they gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceEvidence>,
}

/// A queried source's part of a trigger's evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceEvidence {
    /// `prometheus`.
    pub kind: String,
    /// The server's base URL.
    pub server: String,
    /// The instant the baseline figures were read at (`time=`), when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_at: Option<DateTime<Utc>>,
    pub queries: Vec<QueryEvidence>,
}

/// One query, expanded for the customer (paste it into Prometheus to see the same),
/// and the value it gave in each of the evidence's samples, oldest first: the number
/// received, exact, in its shortest decimal form (`-` where that sample had no such
/// figure, `down` or `no data` where the check gave none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryEvidence {
    pub name: String,
    pub query: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// The source part of the evidence for a customer read from `source` (as planned),
/// identified by `subject`, over `samples`; `baseline_at` when a baseline was read.
pub fn source_evidence(
    source: &HealthSource,
    subject: &Subject<'_>,
    samples: &[ProbeOutcome],
    baseline_at: Option<DateTime<Utc>>,
) -> Option<SourceEvidence> {
    let HealthSource::Prometheus(p) = source else {
        return None;
    };
    let value = |o: &ProbeOutcome, figure: fn(&HealthSample) -> Option<f64>| match o {
        // `{}` prints the shortest text that reads back as the same double: the text
        // Prometheus sent (it writes values the same way, with an exponent below 1e-6).
        ProbeOutcome::Up { sample } => {
            figure(sample).map_or_else(|| "-".to_string(), |v| v.to_string())
        }
        ProbeOutcome::Down { .. } => "down".to_string(),
        ProbeOutcome::Inconclusive { .. } => "no data".to_string(),
    };
    let queries = p
        .queries()
        .into_iter()
        .map(|(name, template)| {
            let figure: Option<fn(&HealthSample) -> Option<f64>> = match name {
                "error_rate" => Some(|s| s.error_rate),
                "latency_p95" => Some(|s| s.latency_p95_ms),
                _ => None,
            };
            QueryEvidence {
                name: name.to_string(),
                query: promql::expand(template, subject),
                values: figure
                    .map(|f| samples.iter().map(|o| value(o, f)).collect())
                    .unwrap_or_default(),
            }
        })
        .collect();
    Some(SourceEvidence {
        kind: "prometheus".to_string(),
        server: p.url.clone(),
        baseline_at,
        queries,
    })
}

/// Latency baselines below this count as this much: a service answering in 0 ms
/// before a deploy and 1 ms after is not "+∞ %" slower. Percentages need an
/// absolute floor under them.
pub const LATENCY_FLOOR_MS: f64 = 10.0;

/// A baseline figure usable as one: finite and not negative (journals written
/// before sentinels were refused may hold -1).
fn figure(v: Option<f64>) -> Option<f64> {
    v.filter(|v| v.is_finite() && *v >= 0.0)
}

/// Whether `sample` stays inside every threshold the rules hold it to against
/// `baseline` (a rule whose baseline figure is missing does not apply; a sample
/// missing a figure its baseline has is not judged inside).
pub fn within_limits(
    policy: &TriggerPolicy,
    baseline: Option<&HealthSample>,
    sample: &HealthSample,
) -> bool {
    let Some(base) = baseline else {
        return true;
    };
    let error_ok = match figure(base.error_rate) {
        Some(b) => sample
            .error_rate
            .is_some_and(|e| e <= b + policy.error_rate_points),
        None => true,
    };
    let latency_ok = match figure(base.latency_p95_ms) {
        Some(b) => {
            let limit = b.max(LATENCY_FLOOR_MS) * (1.0 + policy.latency_p95_percent / 100.0);
            sample.latency_p95_ms.is_some_and(|l| l <= limit)
        }
        None => true,
    };
    error_ok && latency_ok
}

/// Whether the trigger window is armed: a failed check, or a sample past a
/// threshold, is in it. While it is, every sample counts toward a decision.
pub fn armed(
    policy: &TriggerPolicy,
    baseline: Option<&HealthSample>,
    recent: &VecDeque<ProbeOutcome>,
) -> bool {
    recent.iter().any(|o| match o {
        ProbeOutcome::Up { sample } => !within_limits(policy, baseline, sample),
        ProbeOutcome::Down { .. } => true,
        ProbeOutcome::Inconclusive { .. } => false,
    })
}

/// The conclusive outcomes kept per customer: enough for the longest rule.
pub fn history_len(policy: &TriggerPolicy) -> usize {
    policy.window.max(policy.consecutive_failures).max(1) as usize
}

/// Evaluates the rules over `recent` (oldest first, conclusive outcomes only).
pub fn evaluate(
    policy: &TriggerPolicy,
    baseline: Option<&HealthSample>,
    recent: &VecDeque<ProbeOutcome>,
) -> Option<(TriggerKind, Evidence)> {
    let need = policy.consecutive_failures.max(1) as usize;
    let trailing_down = recent.iter().rev().take_while(|o| o.is_down()).count();
    if trailing_down >= need {
        let samples: Vec<ProbeOutcome> = recent.iter().rev().take(need).rev().cloned().collect();
        let last_reason = match samples.last() {
            Some(ProbeOutcome::Down { reason }) => reason.clone(),
            _ => String::new(),
        };
        return Some((
            TriggerKind::ConsecutiveFailures,
            Evidence {
                summary: format!("{need} consecutive failed checks; last: {last_reason}"),
                baseline: baseline.copied(),
                samples,
                source: None,
            },
        ));
    }
    let base = baseline?;
    let window = policy.window.max(1) as usize;
    let last_up: Vec<&HealthSample> = recent
        .iter()
        .rev()
        .take(window)
        .filter_map(|o| match o {
            ProbeOutcome::Up { sample } => Some(sample),
            _ => None,
        })
        .collect();
    if last_up.len() < window {
        return None;
    }
    let evidence = |summary: String| Evidence {
        summary,
        baseline: Some(*base),
        samples: recent.iter().rev().take(window).rev().cloned().collect(),
        source: None,
    };
    if let Some(b) = figure(base.error_rate) {
        let limit = b + policy.error_rate_points;
        let observed: Option<Vec<f64>> = last_up.iter().map(|s| s.error_rate).collect();
        if let Some(obs) = observed {
            if obs.iter().all(|e| *e > limit) {
                let worst = obs.iter().copied().fold(f64::MIN, f64::max);
                return Some((
                    TriggerKind::ErrorRate,
                    // The figures first: a line cut short still shows them.
                    evidence(format!(
                        "error rate {worst:.1}% > limit {limit:.1}% (baseline {b:.1}% + {:.1} points) on {window} checks",
                        policy.error_rate_points
                    )),
                ));
            }
        }
    }
    if let Some(b) = figure(base.latency_p95_ms) {
        let floored = b.max(LATENCY_FLOOR_MS);
        let limit = floored * (1.0 + policy.latency_p95_percent / 100.0);
        let observed: Option<Vec<f64>> = last_up.iter().map(|s| s.latency_p95_ms).collect();
        if let Some(obs) = observed {
            if obs.iter().all(|l| *l > limit) {
                let worst = obs.iter().copied().fold(f64::MIN, f64::max);
                return Some((
                    TriggerKind::Latency,
                    evidence(format!(
                        "p95 {worst:.0} ms > limit {limit:.0} ms (baseline {b:.0} ms{} + {:.0}%) on {window} checks",
                        if b < LATENCY_FLOOR_MS {
                            format!(" (counted as {LATENCY_FLOOR_MS:.0} ms)")
                        } else {
                            String::new()
                        },
                        policy.latency_p95_percent
                    )),
                ));
            }
        }
    }
    None
}

/// The mean of the samples that carry each figure.
pub fn baseline_of(samples: &[HealthSample]) -> HealthSample {
    let mean = |f: &dyn Fn(&HealthSample) -> Option<f64>| {
        let vals: Vec<f64> = samples.iter().filter_map(f).collect();
        if vals.is_empty() {
            None
        } else {
            Some(vals.iter().sum::<f64>() / vals.len() as f64)
        }
    };
    HealthSample {
        error_rate: mean(&|s| s.error_rate),
        latency_p95_ms: mean(&|s| s.latency_p95_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TriggerAction;

    fn policy() -> TriggerPolicy {
        TriggerPolicy {
            consecutive_failures: 3,
            error_rate_points: 5.0,
            latency_p95_percent: 20.0,
            window: 3,
            baseline_samples: 5,
            action: TriggerAction::RollbackCustomerAndPause,
        }
    }
    fn up(err: f64, lat: f64) -> ProbeOutcome {
        ProbeOutcome::Up {
            sample: HealthSample {
                error_rate: Some(err),
                latency_p95_ms: Some(lat),
            },
        }
    }
    fn down() -> ProbeOutcome {
        ProbeOutcome::Down {
            reason: "HTTP 500".into(),
        }
    }
    fn base() -> HealthSample {
        HealthSample {
            error_rate: Some(1.0),
            latency_p95_ms: Some(100.0),
        }
    }

    #[test]
    fn three_consecutive_failures_fire_two_do_not() {
        let mut r: VecDeque<_> = [up(1.0, 100.0), down(), down()].into();
        assert_eq!(evaluate(&policy(), Some(&base()), &r), None);
        r.push_back(down());
        let (kind, ev) = evaluate(&policy(), Some(&base()), &r).unwrap();
        assert_eq!(kind, TriggerKind::ConsecutiveFailures);
        assert_eq!(ev.samples.len(), 3);
        assert!(ev.summary.contains("HTTP 500"));
    }

    #[test]
    fn error_rate_must_hold_over_the_window() {
        // 6.0 is exactly baseline + 5: not more than 5 points up.
        let r: VecDeque<_> = [up(6.0, 100.0), up(6.0, 100.0), up(6.0, 100.0)].into();
        assert_eq!(evaluate(&policy(), Some(&base()), &r), None);
        let r: VecDeque<_> = [up(1.0, 100.0), up(6.5, 100.0), up(6.5, 100.0)].into();
        assert_eq!(
            evaluate(&policy(), Some(&base()), &r),
            None,
            "one good sample in the window holds"
        );
        let r: VecDeque<_> = [up(6.1, 100.0), up(7.0, 100.0), up(12.0, 100.0)].into();
        let (kind, ev) = evaluate(&policy(), Some(&base()), &r).unwrap();
        assert_eq!(kind, TriggerKind::ErrorRate);
        assert!(ev.summary.contains("12.0%"), "{}", ev.summary);
    }

    #[test]
    fn latency_over_twenty_percent_fires() {
        let r: VecDeque<_> = [up(1.0, 119.0), up(1.0, 125.0), up(1.0, 130.0)].into();
        assert_eq!(evaluate(&policy(), Some(&base()), &r), None);
        let r: VecDeque<_> = [up(1.0, 121.0), up(1.0, 125.0), up(1.0, 130.0)].into();
        assert_eq!(
            evaluate(&policy(), Some(&base()), &r).unwrap().0,
            TriggerKind::Latency
        );
    }

    #[test]
    fn a_near_zero_latency_baseline_has_an_absolute_floor() {
        let zero = HealthSample {
            error_rate: Some(0.0),
            latency_p95_ms: Some(0.0),
        };
        let r: VecDeque<_> = [up(0.0, 1.0), up(0.0, 1.0), up(0.0, 11.0)].into();
        assert_eq!(
            evaluate(&policy(), Some(&zero), &r),
            None,
            "0 -> 1 ms is not +inf %"
        );
        let r: VecDeque<_> = [up(0.0, 13.0), up(0.0, 13.0), up(0.0, 13.0)].into();
        let (kind, ev) = evaluate(&policy(), Some(&zero), &r).unwrap();
        assert_eq!(kind, TriggerKind::Latency);
        assert!(ev.summary.contains("counted as 10 ms"), "{}", ev.summary);
        // A sentinel baseline from an old journal judges nothing.
        let sentinel = HealthSample {
            error_rate: Some(-50.0),
            latency_p95_ms: Some(-1.0),
        };
        let r: VecDeque<_> = [up(-1.0, -1.0), up(-1.0, -1.0), up(-1.0, -1.0)].into();
        assert_eq!(evaluate(&policy(), Some(&sentinel), &r), None);
    }

    #[test]
    fn latency_exactly_at_the_limit_does_not_fire() {
        // Baseline 50 ms + 100 % = a limit of exactly 100 ms: "above" means above.
        let p = TriggerPolicy {
            latency_p95_percent: 100.0,
            ..policy()
        };
        let b = HealthSample {
            error_rate: None,
            latency_p95_ms: Some(50.0),
        };
        let at = |lat: f64| -> VecDeque<ProbeOutcome> {
            (0..3)
                .map(|_| ProbeOutcome::Up {
                    sample: HealthSample {
                        error_rate: None,
                        latency_p95_ms: Some(lat),
                    },
                })
                .collect()
        };
        assert_eq!(evaluate(&p, Some(&b), &at(100.0)), None);
        let (kind, _) = evaluate(&p, Some(&b), &at(100.5)).unwrap();
        assert_eq!(kind, TriggerKind::Latency);
    }

    #[test]
    fn each_kind_says_what_tripped_in_words() {
        // Printed in TRIGGER lines, notices and the decision log.
        assert_eq!(
            TriggerKind::ConsecutiveFailures.describe(),
            "consecutive failed health checks"
        );
        assert_eq!(
            TriggerKind::ErrorRate.describe(),
            "error rate above baseline"
        );
        assert_eq!(
            TriggerKind::Latency.describe(),
            "p95 latency above baseline"
        );
        assert_eq!(
            TriggerKind::CustomerReported.describe(),
            "customer-reported critical issue"
        );
    }

    #[test]
    fn no_baseline_means_only_failures_count() {
        let r: VecDeque<_> = [up(50.0, 900.0), up(50.0, 900.0), up(50.0, 900.0)].into();
        assert_eq!(evaluate(&policy(), None, &r), None);
    }

    #[test]
    fn prometheus_evidence_names_the_queries_and_the_values_judged() {
        let source = HealthSource::Prometheus(crate::domain::PrometheusSource {
            url: "http://prom:9090".into(),
            error_rate: Some(
                r#"sum by (customer) (rate(x{customer="{customer}",code=~"5.."}[1m]))"#.into(),
            ),
            latency_p95: Some(r#"p95{customer="{customer}",tier="{tier}"}"#.into()),
            min_traffic: None,
            headers: Vec::new(),
            timeout: None,
        });
        let subject = Subject {
            id: "acme-corp",
            name: "ACME Corp",
            tier: "enterprise",
        };
        let at: DateTime<Utc> = "2026-12-01T10:00:00Z".parse().unwrap();
        let samples = [
            up(5.263157894736842, 120.0),
            down(),
            ProbeOutcome::Inconclusive {
                reason: "no data".into(),
            },
        ];
        let ev = source_evidence(&source, &subject, &samples, Some(at)).unwrap();
        assert_eq!(ev.kind, "prometheus");
        assert_eq!(ev.server, "http://prom:9090");
        assert_eq!(ev.baseline_at, Some(at));
        assert_eq!(ev.queries.len(), 2);
        assert_eq!(
            ev.queries[0].query,
            r#"sum by (customer) (rate(x{customer="acme-corp",code=~"5.."}[1m]))"#
        );
        assert_eq!(
            ev.queries[0].values,
            ["5.263157894736842", "down", "no data"]
        );
        assert_eq!(
            ev.queries[1].query,
            r#"p95{customer="acme-corp",tier="enterprise"}"#
        );
        assert_eq!(ev.queries[1].values[0], "120");
        let http = HealthSource::Simulated {
            baseline_error_rate: 1.0,
            baseline_latency_ms: 1.0,
        };
        assert_eq!(source_evidence(&http, &subject, &samples, None), None);
    }

    #[test]
    fn baseline_is_the_mean_of_present_figures() {
        let b = baseline_of(&[
            HealthSample {
                error_rate: Some(1.0),
                latency_p95_ms: None,
            },
            HealthSample {
                error_rate: Some(3.0),
                latency_p95_ms: Some(100.0),
            },
        ]);
        assert_eq!(b.error_rate, Some(2.0));
        assert_eq!(b.latency_p95_ms, Some(100.0));
    }
}
