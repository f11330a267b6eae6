//! Customer tiers. Their order is the rollout order and comes from config
//! (default: demo, startup, standard, enterprise).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The name of a tier as written in config (`startup`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TierName(pub String);

impl TierName {
    pub fn new(s: impl Into<String>) -> Self {
        TierName(s.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TierName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tier as defined in `policies.json`, in rollout order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub name: TierName,
    #[serde(default)]
    pub description: String,
}
