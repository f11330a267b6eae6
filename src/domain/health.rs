//! What one health check says about a customer.

use serde::{Deserialize, Serialize};

/// Figures read from one check. Either may be missing: no data is not failure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct HealthSample {
    /// Error rate in percent (0.4 means 0.4 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_p95_ms: Option<f64>,
}

/// The verdict of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ProbeOutcome {
    /// The service answered as healthy, with whatever figures it gave.
    Up { sample: HealthSample },
    /// A failed check, with the reason a person can act on.
    Down { reason: String },
    /// Nothing to judge by (no traffic, empty metrics): holds, never rolls back.
    Inconclusive { reason: String },
}

impl ProbeOutcome {
    pub fn is_down(&self) -> bool {
        matches!(self, ProbeOutcome::Down { .. })
    }
}

impl HealthSample {
    /// Why a figure here is not data, if one is not: a negative, NaN or infinite
    /// figure, or an error rate over 100 %, is what an endpoint says when it has
    /// nothing to say (-1 is a common "no data"), never a measurement.
    pub fn not_data(&self) -> Option<String> {
        if let Some(e) = self.error_rate {
            if !e.is_finite() || !(0.0..=100.0).contains(&e) {
                return Some(format!(
                    "no data: error rate {e} is not a percentage from 0 to 100"
                ));
            }
        }
        if let Some(l) = self.latency_p95_ms {
            if !l.is_finite() || l < 0.0 {
                return Some(format!("no data: p95 {l} ms is not a latency"));
            }
        }
        None
    }
}

impl ProbeOutcome {
    /// The outcome with sentinel figures judged: an `Up` whose figures are not data
    /// is `Inconclusive`, with the reason; everything else is unchanged.
    pub fn judged(self) -> ProbeOutcome {
        match &self {
            ProbeOutcome::Up { sample } => match sample.not_data() {
                Some(reason) => ProbeOutcome::Inconclusive { reason },
                None => self,
            },
            _ => self,
        }
    }
}

/// Steady healthy samples of one customer over a period, summarised instead of
/// journaled one by one: how many, and the range and mean of each figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthSummary {
    pub customer: super::CustomerId,
    pub count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<FigureRange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_p95_ms: Option<FigureRange>,
}

/// Min, mean and max of a figure over a period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FigureRange {
    pub min: f64,
    pub mean: f64,
    pub max: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(e: Option<f64>, l: Option<f64>) -> ProbeOutcome {
        ProbeOutcome::Up {
            sample: HealthSample {
                error_rate: e,
                latency_p95_ms: l,
            },
        }
    }

    #[test]
    fn sentinel_figures_are_not_data() {
        for (e, l) in [
            (Some(-50.0), Some(100.0)),
            (Some(150.0), None),
            (Some(f64::NAN), None),
            (None, Some(-1.0)),
            (None, Some(f64::INFINITY)),
        ] {
            assert!(
                matches!(up(e, l).judged(), ProbeOutcome::Inconclusive { reason } if reason.starts_with("no data: ")),
                "{e:?} {l:?}"
            );
        }
        assert_eq!(up(Some(0.0), Some(0.0)).judged(), up(Some(0.0), Some(0.0)));
        assert_eq!(up(Some(100.0), None).judged(), up(Some(100.0), None));
    }
}
