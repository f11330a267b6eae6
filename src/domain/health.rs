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
