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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
}
