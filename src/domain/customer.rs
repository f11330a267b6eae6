//! Customers: who gets a release, in which tier, how their health is read and how a
//! version reaches them.

use std::fmt;

use serde::{Deserialize, Serialize};

pub use super::deploy::DeployTarget;
use super::{HumanDuration, MaintenanceWindow, TierName, Version};

/// A customer's stable id (`acme-corp`), used on the command line and in journals.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CustomerId(pub String);

impl CustomerId {
    pub fn new(s: impl Into<String>) -> Self {
        CustomerId(s.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    pub id: CustomerId,
    pub name: String,
    pub tier: TierName,
    /// The version the customer runs before any release shipdeck knows of.
    pub version: Version,
    pub health: HealthSource,
    pub deploy: DeployTarget,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance_window: Option<MaintenanceWindow>,
    #[serde(default)]
    pub contacts: Vec<Contact>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<String>,
}

/// A header whose value is read from an environment variable at probe time, so that
/// tokens never sit in config, journals or logs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderFromEnv {
    pub name: String,
    pub env: String,
}

/// Where a customer's health is read from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum HealthSource {
    /// A simulated service with these baseline figures (the demo, tests).
    Simulated {
        /// Error rate in percent (0.4 means 0.4 %).
        baseline_error_rate: f64,
        baseline_latency_ms: f64,
    },
    /// GET a URL; 2xx is up. JSON pointers read figures from the body.
    Http {
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<HumanDuration>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        headers: Vec<HeaderFromEnv>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_rate_pointer: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        latency_pointer: Option<String>,
    },
    /// Run a program (no shell); exit 0 is up; optional JSON on stdout.
    Command {
        program: String,
        #[serde(default)]
        args: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<HumanDuration>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_rate_pointer: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        latency_pointer: Option<String>,
    },
    /// Instant queries to a Prometheus server; customers that share a server and a
    /// query shape are answered together (see [`PrometheusSource`]).
    Prometheus(PrometheusSource),
}

/// A Prometheus server and the PromQL that reads one customer's health from it.
///
/// Queries are templates: `{customer}` (the id), `{customer_name}` and `{tier}` are
/// replaced, quoted for a PromQL string, before the query is sent (see
/// [`crate::domain::promql`]). `error_rate` must yield percent (`… * 100`) and
/// `latency_p95` milliseconds (`… * 1000` over a `_seconds` histogram).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusSource {
    /// The server's base URL (`http://prometheus:9090`); `/api/v1/query` is appended.
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_p95: Option<String>,
    /// Below this much traffic the figures mean nothing: the check is inconclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_traffic: Option<MinTraffic>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderFromEnv>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<HumanDuration>,
}

impl PrometheusSource {
    /// The configured queries by name (`error_rate`, `latency_p95`, `min_traffic`),
    /// in the order they are judged: the traffic guard first.
    pub fn queries(&self) -> Vec<(&'static str, &str)> {
        let mut out = Vec::with_capacity(3);
        if let Some(m) = &self.min_traffic {
            out.push(("min_traffic", m.query.as_str()));
        }
        if let Some(q) = &self.error_rate {
            out.push(("error_rate", q.as_str()));
        }
        if let Some(q) = &self.latency_p95 {
            out.push(("latency_p95", q.as_str()));
        }
        out
    }
}

/// A traffic guard: `query` (e.g. requests in the last 5 minutes) must reach
/// `at_least` for the figures to be judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinTraffic {
    pub query: String,
    pub at_least: f64,
}

// `at_least` is validated finite, so equality is total in practice; sources are
// grouped by equality (and hashed) when customers share one.
impl Eq for MinTraffic {}

impl std::hash::Hash for MinTraffic {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Equal guards have equal queries; `at_least` stays out (0.0 == -0.0).
        self.query.hash(state);
    }
}
