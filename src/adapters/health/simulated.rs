//! The `simulated` health source: figures straight from the customer's configured
//! baseline, with no I/O, so tests and a fleet-less demo always have an answer.
//!
//! A running demo fleet can stand in for the baseline through [`SimulatedHealth`]:
//! then a simulated customer shows the faults injected into the fleet (a climbing
//! error rate, a flapping service) without a round trip over loopback. The trait
//! lives here, not in `sim`, so that probes do not depend on the demo fleet.

use std::time::Duration;

use crate::domain::{CustomerId, HealthSample, ProbeOutcome};

/// Something that knows the current simulated health of customers.
pub trait SimulatedHealth: Send + Sync {
    /// The verdict a check of `customer` would give now, or `None` when this context
    /// does not know the customer (the probe then falls back to the baseline).
    /// `timeout` is the deadline the check would run under, for "timed out" reasons.
    fn check(&self, customer: &CustomerId, timeout: Duration) -> Option<ProbeOutcome>;
}

pub(super) fn baseline(error_rate: f64, latency_ms: f64) -> ProbeOutcome {
    ProbeOutcome::Up {
        sample: HealthSample {
            error_rate: Some(error_rate),
            latency_p95_ms: Some(latency_ms),
        },
    }
}
